"""Vectorised golden model of the arithmetic contract.

The update phase is written once, with operators that numpy arrays and torch tensors share
(``*``, ``+``, ``>>``, ``&``, ``.clip``), so the same code runs in this fast integer
simulator and in the quantized forward pass used for training. Batched: every state array
has shape ``[..., n_neurons]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikeforge.ir.errors import ConfigError
from spikeforge.ir.params import (
    NeuronParams,
    Reset,
    accumulator_bits,
    check_weights,
    shifted_weights,
    signed_range,
)

# -- array versions of the contract's primitives (numpy or torch integer arrays) ----------

def saturate_array(x, bits: int):
    lo, hi = signed_range(bits)
    return x.clip(lo, hi)


def wrap_array(x, bits: int):
    """The contract's ``wrap``: ``x`` modulo ``2**bits``, signed (int64 numpy arrays or
    torch tensors)."""
    half = 1 << (bits - 1)
    return ((x + half) & ((1 << bits) - 1)) - half


def saturate_unsigned_array(x, bits: int):
    return x.clip(0, (1 << bits) - 1)


def decay_array(x, factor: int, decay_bits: int):
    """``x * factor / 2**decay_bits`` rounded toward zero (the contract's ``decay``);
    ``factor = 2**decay_bits`` (no decay) is ``x`` itself, returned without arithmetic."""
    if factor == 1 << decay_bits:
        return x
    product = x * factor
    return (product + (product < 0) * ((1 << decay_bits) - 1)) >> decay_bits


@dataclass
class CoreState:
    """State of a population, each array ``[..., n_neurons]`` (integers; ``fired`` bool)."""

    i: object
    v: object
    a: object
    fired: object

    @classmethod
    def zeros(cls, shape, like=None) -> "CoreState":
        if like is None:
            zeros = np.zeros(shape, dtype=np.int64)
            return cls(zeros, zeros.copy(), zeros.copy(), np.zeros(shape, dtype=bool))
        import torch  # torch tensors for the training forward pass
        zeros = torch.zeros(shape, dtype=torch.int64, device=like.device)
        return cls(zeros, zeros.clone(), zeros.clone(), torch.zeros(shape, dtype=torch.bool,
                                                                     device=like.device))


def update_phase(state: CoreState, params: NeuronParams):
    """The contract's update phase for every neuron at once; ``state.i`` holds the
    accumulated input of this tick. Returns ``(new_state, spikes)`` with ``spikes`` bool."""
    p = params
    i = saturate_array(state.i, p.current_bits)
    v = saturate_array(decay_array(state.v, p.beta, p.decay_bits) + i, p.membrane_bits)
    theta = p.threshold + state.a if p.adaptive else p.threshold
    spikes = v >= theta
    if p.fire_once:
        spikes = spikes & ~state.fired
    if p.reset is Reset.SUBTRACT:
        v = v - spikes * theta
    else:
        v = v * ~spikes
    a = state.a
    if p.adaptive:
        a = saturate_unsigned_array(decay_array(a, p.rho, p.decay_bits) + spikes * p.adapt_step,
                                    p.adapt_bits)
    fired = state.fired | spikes
    i = decay_array(i, p.alpha, p.decay_bits)
    return CoreState(i, v, a, fired), spikes


@dataclass
class Trace:
    """What a core did, tick by tick: every array is ``[ticks, n_neurons]`` (or with a
    leading batch axis). ``i``, ``v``, ``a``, ``fired`` are the state at the end of each tick;
    ``overflow`` (``[ticks]``, or ``[batch, ticks]``) the core's sticky ``overflow`` flag after
    each tick's event phase (more than ``max_events_per_tick`` events in this or an earlier
    tick since the clear; the accumulator wrapped, see the contract)."""

    spikes: np.ndarray
    i: np.ndarray
    v: np.ndarray
    a: np.ndarray
    fired: np.ndarray
    overflow: np.ndarray | None = None

    def spike_events(self) -> list[tuple[int, int]]:
        """Output events as (tick, neuron), in the order the hardware emits them."""
        if self.spikes.ndim != 2:
            raise ValueError("spike_events() needs an unbatched trace")
        return [(int(t), int(n)) for t, n in np.argwhere(self.spikes)]


class GoldenCore:
    """The integer network of one core: ``weights[j, n]`` from input j to neuron n.

    >>> import numpy as np
    >>> core = GoldenCore(np.array([[80]]), NeuronParams(decay_bits=8, alpha=192, threshold=100))
    >>> trace = core.run(core.counts_from_events([[0], [], []]))
    >>> trace.spike_events(), trace.v[:, 0].tolist()
    ([(1, 0)], [80, 40, 85])
    """

    def __init__(self, weights, params: NeuronParams, max_events_per_tick: int | None = None):
        if not isinstance(params, NeuronParams):
            raise ConfigError(f"params: must be a NeuronParams, got {type(params).__name__}")
        check_weights(weights, params)
        self.weights = np.asarray(weights, dtype=np.int64)
        # Integer matmul in numpy has no BLAS kernel; a float64 one is exact here because every
        # partial sum is an integer below 2**48 (the accumulator width is capped at 48 bits).
        self._added = shifted_weights(self.weights, params)  # what an event adds
        self._added_f64 = self._added.astype(np.float64)
        self.params = params
        self.n_inputs, self.n_neurons = self.weights.shape
        self.max_events_per_tick = self.n_inputs if max_events_per_tick is None else max_events_per_tick
        self.accumulator_bits = accumulator_bits(params, self.max_events_per_tick)

    @classmethod
    def of(cls, config) -> "GoldenCore":
        """The golden model of the core a :class:`~spikeforge.ir.core.CoreConfig` describes."""
        return cls(config.weights, config.params, config.max_events_per_tick)

    def counts_from_events(self, events_per_tick) -> np.ndarray:
        """``[ticks, n_inputs]`` event counts from a list (per tick) of presynaptic indices."""
        counts = np.zeros((len(events_per_tick), self.n_inputs), dtype=np.int64)
        for t, events in enumerate(events_per_tick):
            for j in events:
                if not 0 <= j < self.n_inputs:
                    raise ConfigError(f"input event: presynaptic index {j} in tick {t} is outside "
                                      f"0..{self.n_inputs - 1}")
                counts[t, j] += 1
        return counts

    def run(self, counts, state: CoreState | None = None) -> Trace:
        """Run ``counts[..., ticks, n_inputs]`` (event counts per tick and input) from a
        cleared core (or ``state``). A tick with more than ``max_events_per_tick`` events
        wraps the accumulator (the contract's overflow) and raises ``Trace.overflow``."""
        counts = np.asarray(counts, dtype=np.int64)
        if counts.ndim < 2 or counts.shape[-1] != self.n_inputs:
            raise ConfigError(f"counts: expected shape [..., ticks, {self.n_inputs}], got {counts.shape}")
        if counts.size and counts.min() < 0:
            raise ConfigError(f"counts: event counts cannot be negative, got {int(counts.min())}")
        per_tick = counts.sum(axis=-1)
        over = per_tick > self.max_events_per_tick  # [..., ticks]
        # float64 is exact while every partial sum stays below 2**53; past that, int64
        worst = int(per_tick.max(initial=0)) * int(np.abs(self._added).max(initial=0))
        weights = self._added_f64 if worst < (1 << 53) else self._added
        batch = counts.shape[:-2]
        state = state or CoreState.zeros(batch + (self.n_neurons,))
        spikes, i, v, a, fired = [], [], [], [], []
        for t in range(counts.shape[-2]):
            synaptic_input = counts[..., t, :].astype(weights.dtype) @ weights
            state.i = state.i + synaptic_input.astype(np.int64)
            if over[..., t].any():
                state.i = wrap_array(state.i, self.accumulator_bits)
            state, s = update_phase(state, self.params)
            for store, value in ((spikes, s), (i, state.i), (v, state.v), (a, state.a),
                                 (fired, state.fired)):
                store.append(value)
        stack = lambda xs: np.stack(xs, axis=-2)  # noqa: E731
        return Trace(stack(spikes), stack(i), stack(v), stack(a), stack(fired),
                     np.logical_or.accumulate(over, axis=-1))
