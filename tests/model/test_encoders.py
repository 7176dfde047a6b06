"""Encoders: LFSR known sequence and period, scalar == vectorised, determinism, statistics."""

import numpy as np
import pytest
import torch

from spikeforge.ir.errors import ConfigError
from spikeforge.model.encoders import (
    GaloisLFSR,
    delta_encode,
    encode,
    latency_encode,
    latency_ticks,
    population_encode,
    rank_order_encode,
    rate_encode,
    rate_levels,
    spikes_to_counts,
)


def test_lfsr_known_sequence_and_period():
    r = GaloisLFSR(0xACE1)
    assert [r.step() for _ in range(4)] == [0xE270, 0x7138, 0x389C, 0x1C4E]
    r = GaloisLFSR(0xACE1)
    seen = set()
    for n in range(1, 70000):
        s = r.step()
        assert s != 0
        if s == 0xACE1:
            break
        seen.add(s)
    assert n == 65535 and len(seen) == 65534  # maximal length: every non-zero state once


def test_lfsr_32_bit_not_short_cycle():
    r = GaloisLFSR(1, width=32)
    states = {r.step() for _ in range(100000)}
    assert len(states) == 100000


@pytest.mark.parametrize("width", [16, 32])
def test_lfsr_scalar_equals_vectorised(width):
    seeds = GaloisLFSR.seeds(1234, 50, width)
    scalar = [GaloisLFSR(GaloisLFSR.feature_seed(1234, j, width), width) for j in range(50)]
    assert [int(s) for s in seeds] == [g.state for g in scalar]
    states = seeds
    for _ in range(20):
        states = GaloisLFSR.draw_array(states, width)
        assert [int(s) for s in states] == [g.draw() for g in scalar]


def test_lfsr_bad_state():
    with pytest.raises(ConfigError, match="state"):
        GaloisLFSR(0)
    with pytest.raises(ConfigError, match="width"):
        GaloisLFSR(1, width=12)


def test_rate_encode_reproduces_scalar_lfsr():
    """The documented formula, evaluated with the scalar generator, gives the same spikes."""
    x = np.array([[0, 3, 8, 16, 11]], dtype=np.uint8)
    s = rate_encode(x, 30, max_value=16, seed=7)
    regs = [GaloisLFSR(GaloisLFSR.feature_seed(7, j)) for j in range(5)]
    for t in range(30):
        for j in range(5):
            level = (int(x[0, j]) << 8) // 16
            assert s[t, 0, j] == float((regs[j].draw() >> 8) < level)


def test_rate_encode_deterministic_and_statistics():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(4, 300), dtype=np.uint8)
    a = rate_encode(x, 400, max_value=255, seed=3)
    b = rate_encode(x, 400, max_value=255, seed=3)
    c = rate_encode(x, 400, max_value=255, seed=4)
    assert a.shape == (400, 4, 300) and a.dtype == torch.float32
    assert torch.equal(a, b) and not torch.equal(a, c)
    # same image -> same spikes regardless of batch position
    assert torch.equal(rate_encode(x[2:3], 400, max_value=255, seed=3)[:, 0], a[:, 2])
    rate = a.mean(0).numpy()
    expected = rate_levels(x, 255) / 256
    # binomial standard error with 400 ticks <= 0.025; allow 5 sigma
    assert np.abs(rate - expected).max() < 0.125
    assert np.abs(rate - expected).mean() < 0.025
    assert (rate[x == 0] == 0).all() and (rate[x == 255] == 1).all()
    # floats in [0, 1] are accepted with max_value=None
    assert torch.equal(rate_encode(x / 255.0, 400, seed=3), a)


def test_latency_ordering_and_formula():
    x = np.array([[255, 128, 1, 0, 200]])
    t = latency_ticks(x, 10, max_value=255)
    assert t.tolist() == [[0, (9 * 127) // 255, (9 * 254) // 255, -1, (9 * 55) // 255]]
    s = latency_encode(x, 10, max_value=255)
    assert s.sum().item() == 4 and s[:, 0, 3].sum() == 0
    first = s[:, 0].argmax(0)
    assert first[0] <= first[4] <= first[1] <= first[2]
    rng = np.random.default_rng(1)
    p = rng.integers(1, 17, size=(3, 64))
    tt = latency_ticks(p, 16, max_value=16)
    for b in range(3):
        order = np.argsort(-p[b], kind="stable")
        assert (np.diff(tt[b][order]) >= 0).all()  # brighter never later


def test_rank_order():
    x = np.array([[5, 9, 0, 9, 1]])
    s = rank_order_encode(x, max_value=9)
    assert s.shape == (5, 1, 5)
    ticks = [int(s[:, 0, j].argmax()) if s[:, 0, j].any() else -1 for j in range(5)]
    assert ticks == [2, 0, -1, 1, 3]
    assert (s.sum(2) <= 1).all()
    assert rank_order_encode(x, ticks=2, max_value=9).sum() == 2


def test_delta_encode():
    sig = torch.tensor([0.0, 0.1, 0.6, 1.2, 1.2, 0.0, 0.0, 0.0])[:, None]
    s = delta_encode(sig, threshold=0.5)
    assert s.shape == (8, 1, 2)
    assert s[:, 0, 0].tolist() == [0, 0, 1, 1, 0, 0, 0, 0]
    assert s[:, 0, 1].tolist() == [0, 0, 0, 0, 0, 1, 1, 0]
    assert delta_encode(sig, 0.5, off_spikes=False).shape == (8, 1, 1)
    with pytest.raises(ConfigError, match="threshold"):
        delta_encode(sig, 0)


def test_population_encode():
    x = np.array([[0, 8, 16]])
    s = population_encode(x, n_fields=5, ticks=10, max_value=16)
    assert s.shape == (10, 1, 15)
    t = s[:, 0].argmax(0).view(3, 5)
    fired = s[:, 0].sum(0).view(3, 5)
    # the field centred on the value fires at tick 0
    assert t[0, 0] == 0 and t[1, 2] == 0 and t[2, 4] == 0
    assert fired[0, 4] == 0 and fired[2, 0] == 0  # far fields stay silent
    assert torch.equal(s, population_encode(x, 5, 10, max_value=16))


def test_counts_and_dispatch_and_errors():
    x = np.array([[16, 0, 8]])
    s = encode("latency", x, 5, max_value=16)
    c = spikes_to_counts(s)
    assert c.shape == (1, 5, 3) and c.dtype == np.int64 and c.sum() == 2
    with pytest.raises(ConfigError, match="unknown kind"):
        encode("burst", x, 5)
    with pytest.raises(ConfigError, match="0..16"):
        latency_encode(np.array([[17]]), 5, max_value=16)
    with pytest.raises(ConfigError, match="ticks"):
        latency_encode(x, 0, max_value=16)
    with pytest.raises(ConfigError, match="floats in"):
        rate_encode(np.array([[3]]), 5)
