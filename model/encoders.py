"""Spike encoders: images or signals to spike tensors ``[ticks, batch, features]`` (float32 0/1).

Every encoder is deterministic: the only randomness is the :class:`GaloisLFSR` of
:func:`rate_encode`, a generator simple enough for an on-chip encoder to reproduce bit for
bit (shifts and XORs on a ``width``-bit register), seeded by a documented schedule.

Inputs are integer pixel values ``p`` in ``0..max_value`` (as the datasets return them:
``max_value`` 255 for MNIST, 16 for digits); floats in ``[0, 1]`` are accepted with
``max_value=None`` and quantized to ``p = round(x * 255)`` first.

Encoders
========
* :func:`rate_encode` -- Bernoulli ("Poisson") rate code from the LFSR, rate ``p / max_value``.
* :func:`latency_encode` -- time to first spike, brighter is earlier:
  ``t = ((ticks - 1) * (max_value - p)) // max_value``, no spike where ``p < min_value``.
* :func:`rank_order_encode` -- one spike per feature, tick = rank by decreasing intensity.
* :func:`delta_encode` -- delta modulation of a temporal signal into ON/OFF channels.
* :func:`population_encode` -- Gaussian receptive fields, each response as a latency.
* :func:`spikes_to_counts` -- ``[ticks, batch, features]`` to the golden model's
  ``[batch, ticks, features]`` int64 event counts.
"""

from __future__ import annotations

import numpy as np
import torch

from spikeforge.ir.errors import ConfigError

#: maximal-length Galois taps (feedback masks): x^16+x^14+x^13+x^11+1 and
#: x^32+x^22+x^2+x+1 (Xilinx XAPP052), periods 2**16-1 and 2**32-1.
LFSR_TAPS = {16: 0xB400, 32: 0x80200003}
SEED_STRIDE = 0x9E3779B1  # golden-ratio stride of the per-feature seed schedule


class GaloisLFSR:
    """A ``width``-bit Galois LFSR (right-shifting).

    One step::

        lsb   = s & 1
        s     = s >> 1
        if lsb: s = s ^ taps

    A *draw* is ``width`` steps (every bit of the register renewed) and returns the register,
    a value in ``1 .. 2**width - 1`` (the state is never 0). The register of feature ``j`` of
    an encoder seeded with ``seed`` starts at :meth:`feature_seed`::

        s_j = ((seed + j * 0x9E3779B1) mod (2**width - 1)) + 1

    >>> r = GaloisLFSR(0xACE1)
    >>> [hex(r.step()) for _ in range(3)]
    ['0xe270', '0x7138', '0x389c']
    """

    def __init__(self, state: int, width: int = 16, taps: int | None = None):
        if width not in LFSR_TAPS and taps is None:
            raise ConfigError(f"width: no default taps for a {width}-bit LFSR "
                              f"(known: {sorted(LFSR_TAPS)}); pass taps=")
        self.width = width
        self.taps = LFSR_TAPS[width] if taps is None else taps
        mask = (1 << width) - 1
        if not (isinstance(state, int) and 0 < state <= mask):
            raise ConfigError(f"state: LFSR state must be an integer in 1..{mask}, got {state!r}")
        self.state = state

    @staticmethod
    def feature_seed(seed: int, j: int, width: int = 16) -> int:
        return ((seed + j * SEED_STRIDE) % ((1 << width) - 1)) + 1

    def step(self) -> int:
        lsb = self.state & 1
        self.state >>= 1
        if lsb:
            self.state ^= self.taps
        return self.state

    def draw(self) -> int:
        for _ in range(self.width):
            self.step()
        return self.state

    # -- vectorised: one register per element of a numpy uint64 array --------------------
    @staticmethod
    def seeds(seed: int, n: int, width: int = 16) -> np.ndarray:
        j = np.arange(n, dtype=np.uint64)
        period = np.uint64((1 << width) - 1)
        return ((np.uint64(seed % ((1 << width) - 1)) + (j * np.uint64(SEED_STRIDE % int(period)))
                 % period) % period + np.uint64(1))

    @staticmethod
    def step_array(states: np.ndarray, width: int = 16, taps: int | None = None) -> np.ndarray:
        taps = np.uint64(LFSR_TAPS[width] if taps is None else taps)
        lsb = states & np.uint64(1)
        return (states >> np.uint64(1)) ^ (lsb * taps)

    @classmethod
    def draw_array(cls, states: np.ndarray, width: int = 16, taps: int | None = None) -> np.ndarray:
        for _ in range(width):
            states = cls.step_array(states, width, taps)
        return states


# -- helpers ----------------------------------------------------------------------------

def _pixels(x, max_value):
    """Integer pixels ``[batch, features]`` (int64 numpy) and their ``max_value``."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2:
        raise ConfigError(f"x: expected [batch, features] (or [features]), got shape {list(x.shape)}")
    if max_value is None:
        if np.issubdtype(x.dtype, np.integer) or x.size and (x.min() < 0 or x.max() > 1):
            raise ConfigError("x: with max_value=None, x must hold floats in [0, 1]; pass "
                              "max_value= for integer pixels")
        return np.rint(x * 255).astype(np.int64), 255
    if not isinstance(max_value, (int, np.integer)) or max_value < 1:
        raise ConfigError(f"max_value: must be a positive integer, got {max_value!r}")
    if not np.issubdtype(x.dtype, np.integer):
        if np.any(x != np.rint(x)):
            raise ConfigError("x: pixels must be integers in 0..max_value (or pass max_value=None "
                              "with floats in [0, 1])")
        x = x.astype(np.int64)
    x = x.astype(np.int64)
    if x.size and (x.min() < 0 or x.max() > max_value):
        raise ConfigError(f"x: pixel values must be in 0..{max_value}, got {x.min()}..{x.max()}")
    return x, int(max_value)


def _check_ticks(ticks):
    if not isinstance(ticks, (int, np.integer)) or ticks < 1:
        raise ConfigError(f"ticks: must be a positive integer, got {ticks!r}")
    return int(ticks)


# -- encoders ---------------------------------------------------------------------------

def rate_levels(x, max_value=None, level_bits: int = 8) -> np.ndarray:
    """Integer firing levels ``L = (p << level_bits) // max_value`` in ``0..2**level_bits``."""
    p, m = _pixels(x, max_value)
    return (p << level_bits) // m


def rate_encode(x, ticks: int, max_value=None, seed: int = 0, width: int = 16,
                level_bits: int = 8) -> torch.Tensor:
    """Bernoulli rate code. Feature ``j`` owns an LFSR, seeded at the start of every
    inference (every image) with :meth:`GaloisLFSR.feature_seed` ``(seed, j)`` -- so an image's
    spikes do not depend on its position in the batch, as on the chip, where the encoder is
    re-seeded by the clear that starts an inference. In tick ``t`` each register makes one
    draw (``width`` LFSR steps) and::

        spike[t, j] = (draw_j(t) >> (width - level_bits)) < L_j,   L_j = (p_j << level_bits) // max_value

    so the firing probability is ``L_j / 2**level_bits`` (~``p_j / max_value``; exactly 1
    for ``p = max_value``, 0 for ``p = 0``). Vary ``seed`` (e.g. per epoch) for fresh noise."""
    ticks = _check_ticks(ticks)
    if not 1 <= level_bits <= width:
        raise ConfigError(f"level_bits: must be in 1..{width}, got {level_bits}")
    levels = rate_levels(x, max_value, level_bits)
    n = levels.shape[1]
    states = GaloisLFSR.seeds(seed, n, width)
    draws = np.empty((ticks, n), dtype=np.int64)
    for t in range(ticks):
        states = GaloisLFSR.draw_array(states, width)
        draws[t] = (states >> np.uint64(width - level_bits)).astype(np.int64)
    out = (draws[:, None, :] < levels[None]).astype(np.float32)
    return torch.from_numpy(out)


def latency_ticks(x, ticks: int, max_value=None, min_value: int = 1) -> np.ndarray:
    """Spike tick of each feature, ``-1`` for no spike:
    ``t = ((ticks - 1) * (max_value - p)) // max_value`` where ``p >= min_value``."""
    ticks = _check_ticks(ticks)
    p, m = _pixels(x, max_value)
    t = ((ticks - 1) * (m - p)) // m
    return np.where(p >= min_value, t, -1)


def latency_encode(x, ticks: int, max_value=None, min_value: int = 1) -> torch.Tensor:
    """Time-to-first-spike code: one spike per feature at :func:`latency_ticks` (brightest at
    tick 0, ``p = 1`` near tick ``ticks - 1``), none for pixels below ``min_value``."""
    t = latency_ticks(x, ticks, max_value, min_value)
    return _one_spike(t, ticks)


def _one_spike(t: np.ndarray, ticks: int) -> torch.Tensor:
    batch, n = t.shape
    out = np.zeros((ticks, batch, n), dtype=np.float32)
    b, j = np.nonzero(t >= 0)
    out[t[b, j], b, j] = 1
    return torch.from_numpy(out)


def rank_order_encode(x, ticks: int | None = None, max_value=None, min_value: int = 1) -> torch.Tensor:
    """Rank-order code (Thorpe): features with ``p >= min_value`` spike once, one per tick,
    in order of decreasing intensity, ties to the lower feature index; ``ticks`` defaults
    to the number of features (ranks ``>= ticks`` are dropped)."""
    p, _ = _pixels(x, max_value)
    ticks = p.shape[1] if ticks is None else _check_ticks(ticks)
    order = np.argsort(-p, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(p.shape[1])[None].repeat(len(p), 0), axis=1)
    t = np.where((p >= min_value) & (rank < ticks), rank, -1)
    return _one_spike(t, ticks)


def delta_encode(signal, threshold: float, off_spikes: bool = True) -> torch.Tensor:
    """Delta modulation of ``signal[ticks, batch, features]``. A reference ``r`` starts at
    ``signal[0]``; in each tick ``t >= 1``::

        on  = signal[t] - r >= threshold   ->  r += threshold
        off = r - signal[t] >= threshold   ->  r -= threshold

    (at most one spike per channel and tick; a large jump takes several ticks to follow).
    Returns ``[ticks, batch, 2 * features]`` (ON channels then OFF channels), or only the ON
    channels with ``off_spikes=False``."""
    s = torch.as_tensor(signal, dtype=torch.float64)
    if s.ndim == 2:
        s = s[:, None]
    if s.ndim != 3:
        raise ConfigError(f"signal: expected [ticks, batch, features], got shape {list(s.shape)}")
    if not threshold > 0:
        raise ConfigError(f"threshold: must be positive, got {threshold}")
    r = s[0].clone()
    on = torch.zeros_like(s)
    off = torch.zeros_like(s)
    for t in range(1, len(s)):
        on[t] = (s[t] - r >= threshold).double()
        off[t] = (r - s[t] >= threshold).double()
        r = r + threshold * (on[t] - off[t])
    out = torch.cat([on, off], dim=-1) if off_spikes else on
    return out.float()


def population_encode(x, n_fields: int, ticks: int, max_value=None, beta: float = 1.5,
                      cutoff: float = 0.1) -> torch.Tensor:
    """Gaussian receptive fields (Bohte et al. 2002). Each feature ``x = p / max_value`` in
    ``[0, 1]`` drives ``n_fields`` neurons with centres ``mu_k = k / (n_fields - 1)`` and width
    ``sigma = 1 / (beta * (n_fields - 1))``; response ``r_k = exp(-(x - mu_k)**2 / (2 sigma**2))``
    becomes a latency ``t = round((ticks - 1) * (1 - r_k))`` (no spike if ``r_k < cutoff``).
    Output ``[ticks, batch, features * n_fields]``, feature-major (``j * n_fields + k``)."""
    ticks = _check_ticks(ticks)
    if not isinstance(n_fields, int) or n_fields < 2:
        raise ConfigError(f"n_fields: must be an integer >= 2, got {n_fields!r}")
    p, m = _pixels(x, max_value)
    v = p.astype(np.float64) / m
    mu = np.arange(n_fields) / (n_fields - 1)
    sigma = 1.0 / (beta * (n_fields - 1))
    r = np.exp(-((v[..., None] - mu) ** 2) / (2 * sigma ** 2))
    t = np.rint((ticks - 1) * (1 - r)).astype(np.int64)
    t = np.where(r >= cutoff, t, -1).reshape(len(p), -1)
    return _one_spike(t, ticks)


def spikes_to_counts(spikes: torch.Tensor) -> np.ndarray:
    """``[ticks, batch, features]`` spikes to the golden model's ``[batch, ticks, features]``
    int64 event counts (:meth:`spikeforge.sim.golden.GoldenCore.run`)."""
    return spikes.detach().cpu().numpy().transpose(1, 0, 2).astype(np.int64)


ENCODERS = {"rate": rate_encode, "latency": latency_encode, "rank": rank_order_encode}


def encode(kind: str, x, ticks: int, **kwargs) -> torch.Tensor:
    """Dispatch to ``rate``, ``latency`` or ``rank`` by name."""
    if kind not in ENCODERS:
        raise ConfigError(f"encoder: unknown kind {kind!r} (known: {', '.join(ENCODERS)})")
    return ENCODERS[kind](x, ticks, **kwargs)

