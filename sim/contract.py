"""The arithmetic contract: the integer semantics every spikeforge neuron obeys.

This module is the one place where the meaning of a spikeforge neuron is written down.
The scalar reference (:mod:`spikeforge.sim.reference`), the vectorised golden model
(:mod:`spikeforge.sim.golden`), the quantized forward pass used for training and the
Amaranth RTL (:mod:`spikeforge.hdl.core`) all implement exactly what follows, and the
test suite checks them against each other.

Neuron model
============
A discrete-time, current-based leaky integrate-and-fire neuron (CUBA LIF). Per neuron
the state is

* ``i`` -- synaptic current, signed, ``current_bits`` wide between ticks;
* ``v`` -- membrane potential, signed, ``membrane_bits`` wide;
* ``a`` -- threshold adaptation, unsigned, ``adapt_bits`` wide (only if ``adaptive``);
* ``fired`` -- one bit, set by the first spike (only used if ``fire_once``).

All four are zero after a clear (the start of an inference).

Parameters are integers (:class:`NeuronParams`): weights are signed ``weight_bits``-bit
integers (8 by default); ``alpha`` (current decay), ``beta`` (membrane decay) and ``rho``
(adaptation decay) are unsigned fixed-point factors with ``decay_bits`` fraction bits, so
``alpha = 2**decay_bits`` means "no decay". ``beta = 2**decay_bits`` with ``alpha < 2**decay_bits``
is the non-leaky integrate-and-fire neuron with exponentially decaying synaptic current of
the temporal-coding paper (Mostafa 2017).

Primitive operations
====================
``saturate(x, bits)``
    clamp to the signed range ``[-2**(bits-1), 2**(bits-1) - 1]``
    (``saturate_unsigned``: ``[0, 2**bits - 1]``).
``decay(x, k)``
    ``x * k / 2**decay_bits`` **rounded toward zero**, computed as the arithmetic shift
    ``(x*k + (2**decay_bits - 1 if x*k < 0 else 0)) >> decay_bits``. Rounding toward
    zero (rather than the floor of a plain shift) makes positive and negative values decay
    alike and lets every leaky state reach exactly 0; a floor would leave negative states
    stuck at -1. ``|decay(x, k)| <= |x|`` for every ``k <= 2**decay_bits``, so a decay
    never overflows.

One tick
========
A tick has two phases.

1. **Event phase.** Each input spike event with presynaptic index ``j`` adds the weight
   ``w[j, n]`` to ``i`` of every neuron ``n`` of the core. The sum is exact: ``i`` is held
   in an *accumulator* ``accumulator_bits(...)`` wide, wide enough for the current's range
   plus ``max_events_per_tick`` weights of either sign, so nothing wraps or saturates during
   the event phase and the result does not depend on the order in which events arrive
   (a multi-core router may deliver them in any order). More than ``max_events_per_tick``
   events in one tick is a contract violation (the core raises its ``overflow`` flag; the
   golden model refuses the input).
2. **Update phase**, for each neuron in ascending index order::

       i     = saturate(i, current_bits)                   # accumulated input, clamped once
       v     = saturate(decay(v, beta) + i, membrane_bits)
       theta = threshold + a                               # a = 0 unless adaptive
       spike = v >= theta and not (fire_once and fired)
       if spike:
           v = v - theta      (reset = SUBTRACT)   or   v = 0   (reset = ZERO)
           fired = 1
       a     = saturate_unsigned(decay(a, rho) + (adapt_step if spike else 0), adapt_bits)
       i     = decay(i, alpha)                             # current carried into the next tick

   A neuron that has fired in ``fire_once`` mode keeps integrating (``v`` still saturates)
   but never spikes or resets again until the next clear. ``v - theta`` cannot overflow
   because it is only taken when ``0 < theta <= v``.

Timing, ordering and decisions
==============================
* A spike emitted by a neuron in the update phase of tick ``t`` is an input event of the
  next layer in tick ``t + 1`` (one tick of delay per layer). External input events for
  tick ``t`` are delivered in the event phase of tick ``t``.
* Within a tick, output events leave a core in ascending neuron index.
* There is no refractory period; ``fire_once`` is the infinite refractory period of
  time-to-first-spike networks.
* Classification (:class:`Decision`): ``FIRST_SPIKE`` -- the class whose neuron spikes in
  the earliest tick, ties to the lowest index (no spike at all: class -1);
  ``SPIKE_COUNT`` -- most spikes, ties to the lowest index; ``MEMBRANE_MAX`` -- largest
  ``v`` after the last tick, ties to the lowest index.

Worked example
==============
``decay_bits = 8``, ``alpha = 192`` (0.75), ``beta = 256`` (no leak), ``threshold = 100``,
subtract reset, ``current_bits = membrane_bits = 16``. One neuron, one input with weight 80
that spikes in tick 0 only:

>>> p = NeuronParams(decay_bits=8, alpha=192, beta=256, threshold=100)
>>> from spikeforge.sim.reference import ScalarNeuron
>>> n = ScalarNeuron(p)
>>> n.receive(80)                 # tick 0, event phase: i = 80
>>> n.update(), n.v, n.i          # v = 0 + 80 = 80 < 100; i = 80*192/256 = 60
(False, 80, 60)
>>> n.update(), n.v, n.i          # v = 80 + 60 = 140 >= 100: spike, v = 40; i = 45
(True, 40, 45)
>>> n.update(), n.v, n.i          # v = 40 + 45 = 85; i = 45*0.75 = 33.75 -> 33 (toward zero)
(False, 85, 33)

With a negative current the rounding is toward zero too: ``decay(-45, 192) = -33``
(the floor of a plain shift would give -34), and ``decay(-1, 192) = 0``:

>>> decay(-45, 192, 8), decay(-1, 192, 8), decay(-1, 256, 8)
(-33, 0, -1)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class SpikeforgeError(Exception):
    """A user-facing error: bad input, named. The CLI prints it without a traceback."""


class ConfigError(SpikeforgeError, ValueError):
    """A parameter is out of range or inconsistent; the message names the parameter."""


class Reset(enum.Enum):
    """What a spike does to the membrane."""

    SUBTRACT = "subtract"  #: v -= theta (keeps the residue; rate coding)
    ZERO = "zero"  #: v = 0


class Decision(enum.Enum):
    """How a classification is read from the output layer."""

    FIRST_SPIKE = "first-spike"
    SPIKE_COUNT = "spike-count"
    MEMBRANE_MAX = "membrane-max"


MAX_STATE_BITS = 32  # widest current/membrane the contract (and the RTL datapath) supports


def _require(condition: bool, name: str, message: str) -> None:
    if not condition:
        raise ConfigError(f"{name}: {message}")


def _require_int(value, name: str) -> None:
    _require(isinstance(value, int) and not isinstance(value, bool), name,
             f"must be an integer, got {value!r}")


@dataclass(frozen=True)
class NeuronParams:
    """Integer parameters of one population of neurons (all neurons of a core share them).

    Attributes use the names of the literature: ``alpha`` (synaptic current decay),
    ``beta`` (membrane decay), ``threshold``; ``rho`` and ``adapt_step`` for the adaptive
    threshold (Bellec et al. 2018). Decay factors are fixed point with ``decay_bits``
    fraction bits: ``k / 2**decay_bits`` per tick.
    """

    weight_bits: int = 8
    current_bits: int = 16
    membrane_bits: int = 16
    decay_bits: int = 12
    alpha: int | None = None  # None: 2**decay_bits, no decay
    beta: int | None = None  # None: 2**decay_bits, no decay (integrate-and-fire)
    threshold: int = 64
    reset: Reset = Reset.SUBTRACT
    fire_once: bool = False
    adaptive: bool = False
    adapt_bits: int = 8
    rho: int | None = None  # None: 2**decay_bits, no decay
    adapt_step: int = 0

    def __post_init__(self):
        _require_int(self.decay_bits, "decay_bits")
        _require(1 <= self.decay_bits <= 16, "decay_bits",
                 f"must be in 1..16, got {self.decay_bits}")
        for name in ("alpha", "beta", "rho"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, 1 << self.decay_bits)
        for name in ("weight_bits", "current_bits", "membrane_bits", "decay_bits", "alpha",
                     "beta", "threshold", "adapt_bits", "rho", "adapt_step"):
            _require_int(getattr(self, name), name)
        _require(isinstance(self.reset, Reset), "reset",
                 f"must be one of {[r.value for r in Reset]}, got {self.reset!r}")
        for name in ("fire_once", "adaptive"):
            _require(isinstance(getattr(self, name), bool), name,
                     f"must be True or False, got {getattr(self, name)!r}")
        _require(2 <= self.weight_bits <= 16, "weight_bits",
                 f"must be in 2..16, got {self.weight_bits}")
        _require(self.weight_bits <= self.current_bits <= MAX_STATE_BITS, "current_bits",
                 f"must be in weight_bits..{MAX_STATE_BITS} ({self.weight_bits}..{MAX_STATE_BITS}),"
                 f" got {self.current_bits}")
        _require(2 <= self.membrane_bits <= MAX_STATE_BITS, "membrane_bits",
                 f"must be in 2..{MAX_STATE_BITS}, got {self.membrane_bits}")
        one = 1 << self.decay_bits
        for name in ("alpha", "beta", "rho"):
            value = getattr(self, name)
            _require(0 <= value <= one, name,
                     f"decay factor must be in 0..2**decay_bits = 0..{one}, got {value}")
        v_max = (1 << (self.membrane_bits - 1)) - 1
        _require(1 <= self.threshold <= v_max, "threshold",
                 f"must be in 1..{v_max} (positive and representable in membrane_bits="
                 f"{self.membrane_bits}), got {self.threshold}")
        _require(1 <= self.adapt_bits <= 24, "adapt_bits", f"must be in 1..24, got {self.adapt_bits}")
        _require(0 <= self.adapt_step < (1 << self.adapt_bits), "adapt_step",
                 f"must be in 0..{(1 << self.adapt_bits) - 1}, got {self.adapt_step}")

    @property
    def one(self) -> int:
        """The decay factor that means 'no decay': ``2**decay_bits``."""
        return 1 << self.decay_bits

    def theta_bits(self) -> int:
        """Unsigned width of ``threshold + a``."""
        a_max = (1 << self.adapt_bits) - 1 if self.adaptive else 0
        return max(1, (self.threshold + a_max).bit_length())


# -- primitive operations (plain ints here; golden.py applies the same formulas to arrays) --

def signed_range(bits: int) -> tuple[int, int]:
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def saturate(x: int, bits: int) -> int:
    lo, hi = signed_range(bits)
    return min(max(x, lo), hi)


def saturate_unsigned(x: int, bits: int) -> int:
    return min(max(x, 0), (1 << bits) - 1)


def decay(x: int, factor: int, decay_bits: int) -> int:
    """``x * factor / 2**decay_bits`` rounded toward zero, as an arithmetic shift."""
    product = x * factor
    bias = (1 << decay_bits) - 1 if product < 0 else 0
    return (product + bias) >> decay_bits


def accumulator_bits(params: NeuronParams, max_events_per_tick: int) -> int:
    """Width of ``i`` during the event phase: the current's range plus
    ``max_events_per_tick`` weights of either sign, so the event phase never wraps."""
    _require_int(max_events_per_tick, "max_events_per_tick")
    _require(max_events_per_tick >= 1, "max_events_per_tick",
             f"must be at least 1, got {max_events_per_tick}")
    w_lo, w_hi = signed_range(params.weight_bits)
    i_lo, i_hi = signed_range(params.current_bits)
    lo = i_lo + max_events_per_tick * w_lo
    hi = i_hi + max_events_per_tick * w_hi
    bits = params.current_bits
    while signed_range(bits)[0] > lo or signed_range(bits)[1] < hi:
        bits += 1
    return bits


def check_weights(weights, params: NeuronParams, name: str = "weights") -> None:
    """Raise :class:`ConfigError` unless every weight is a signed ``weight_bits`` integer."""
    import numpy as np

    array = np.asarray(weights)
    _require(array.ndim == 2, name, f"must be a 2-D array [inputs, neurons], got shape {array.shape}")
    _require(array.size > 0, name, f"must not be empty, got shape {array.shape}")
    _require(np.issubdtype(array.dtype, np.integer), name,
             f"must hold integers (quantize first), got dtype {array.dtype}")
    lo, hi = signed_range(params.weight_bits)
    bad = np.argwhere((array < lo) | (array > hi))
    if len(bad):
        j, n = (int(x) for x in bad[0])
        raise ConfigError(f"{name}[{j}, {n}] = {int(array[j, n])} is outside the signed "
                          f"{params.weight_bits}-bit range {lo}..{hi} "
                          f"({len(bad)} weight(s) out of range)")
