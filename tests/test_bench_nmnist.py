"""benchmarks/bench_nmnist.py: V2, the validation split that chooses the N-MNIST net, is
made of test digits that no score is taken on, simulated with a seed of its own and cached
apart from the test split (docs/events.md, "V2"). The training itself is checked in
tests/model/test_event_train.py; the full runs are recorded in docs/events.md."""

import numpy as np
import pytest

from spikeforge.ir.errors import ConfigError
from spikeforge.model.event_train import TEST_SEED, TRAIN_SEED, chunk_path, simulate_counts
from tests.util import load_benchmark, needs_mnist


def _bench():
    return load_benchmark("bench_nmnist")


def test_val2_is_apart_from_every_digit_scored_or_trained():
    b = _bench()
    assert b.TEST_RESERVED >= b.FULL["test"] and b.VAL2_FIRST >= b.TEST_RESERVED
    seeds = {TRAIN_SEED, TEST_SEED, *b.FULL["seeds"], *b.DISTORTED_SEEDS}
    assert b.VAL2_SEED not in seeds
    firsts = range(b.VAL2_FIRST, b.VAL2_FIRST + b.VAL2_N, 500)
    names = {chunk_path("test", b.VAL2_SEED, f, 500).name for f in firsts}
    assert len(names) == b.VAL2_N // 500 and all(f"-s{b.VAL2_SEED}-" in n for n in names)
    assert not names & {chunk_path("test", TEST_SEED, f, 500).name for f in range(0, 10000, 500)}


def test_val2_overlapping_the_reserved_digits_is_refused(monkeypatch, tmp_path):
    b = _bench()
    monkeypatch.setattr(b, "VAL2_FIRST", b.TEST_RESERVED - 500)
    monkeypatch.setattr(b, "VAL2_N", 2)  # were it not refused: two digits, in tmp_path
    with pytest.raises(ConfigError, match=r"^VAL2_FIRST: 3500 overlaps the reserved test digits 0\.\.3999$"):
        b.load_val2(progress=False, cache_dir=tmp_path)
    assert not list(tmp_path.iterdir())


@needs_mnist
def test_val2_is_the_test_digits_simulated_with_its_seed(monkeypatch, tmp_path):
    from spikeforge.model.datasets import load_dataset

    b = _bench()
    ds = load_dataset("mnist")
    monkeypatch.setattr(b, "VAL2_N", 3)  # three digits: seconds, in tmp_path
    v2 = b.load_val2(progress=False, cache_dir=tmp_path)
    first = b.VAL2_FIRST
    assert np.array_equal(v2.labels, ds.test_y[first:first + 3])
    expected = simulate_counts(ds.test_x[first:first + 3], ds.test_y[first:first + 3], b.VAL2_SEED, first)
    assert np.array_equal(v2.dense(), expected.dense())
    assert [p.name for p in tmp_path.glob("*.npz")] == [chunk_path("test", b.VAL2_SEED, first, 3).name]
    monkeypatch.setattr(b, "VAL2_N", len(ds.test_x))
    with pytest.raises(ConfigError, match="^VAL2_N: "):
        b.load_val2(progress=False, cache_dir=tmp_path)
