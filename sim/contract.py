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

Parameters are integers (:class:`~spikeforge.ir.params.NeuronParams`): weights are signed ``weight_bits``-bit
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
   ``w[j, n] * 2**weight_shift`` to ``i`` of every neuron ``n`` of the core
   (``weight_shift``, 0 by default, gives the current bits below the weight's LSB: the
   memory stores ``weight_bits``, and the decay below rounds away a fraction of a weight
   step instead of a whole one; the weights below are these shifted values). ``i`` is held in an
   *accumulator* ``accumulator_bits(...)`` wide, wide enough for the current's range plus
   ``max_events_per_tick`` weights of either sign, so with at most that many events the sum
   is exact, and the result does not depend on the order in which events arrive (a
   multi-core router may deliver them in any order).
   **Overflow** (more than ``max_events_per_tick`` events in one tick) is not refused: the
   core takes every event, and the accumulator keeps the sum modulo ``2**accumulator_bits``
   (two's complement), i.e. after the event phase ::

       i = wrap(i + sum of the tick's weights, accumulator_bits)

   which is still independent of the order of the events (a modular sum). The update
   phase then saturates this wrapped ``i`` as usual. The core raises its sticky
   ``overflow`` flag at the ``max_events_per_tick + 1``-th event it takes between two TICK
   commands (or a CLEAR and the first TICK); CLEAR lowers it. The events a core counts for
   tick ``t``: the external events of tick ``t`` (layer 0), the previous layer's spikes of
   tick ``t - 1`` (layer ``l >= 1``; they arrive during the update phase of ``t - 1``).

   **The system's error flag** (``error``, read at ``done``; one per inference) is 1
   exactly when some core counted more than its ``max_events_per_tick`` events for a tick
   whose events all arrived before the inference ended: for layer 0 the ticks run
   (``0 .. ticks_run - 1``); for a layer ``l >= 1`` the events of ticks ``1 .. ticks_run``
   -- the spikes of layer ``l - 1`` in every tick run, *including the last one*, whose
   spikes still reach layer ``l`` in the last update phase although no tick consumes them.
   One case is left to timing: a ``FIRST_SPIKE`` inference stopped at its deciding spike
   (inside the update phase of the decision tick ``d``) reports an overflow of layer
   ``l >= 1``'s events for tick ``d + 1`` only if the offending event was taken at least
   two cycles before ``done`` (the core's flag is registered, and so is the system's);
   the golden model marks that flag *undetermined* (``NetworkTrace.error`` = -1). The
   co-simulation expects 1 where the cycle model shows that ``d`` was decided at the
   tick's end (several output cores, only higher classes spiked: every event arrived) and
   otherwise does not compare it. It needs a hidden layer with
   ``max_events_per_tick < n_inputs``, which the compiler never builds.
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
* Classification (:class:`~spikeforge.ir.params.Decision`): ``FIRST_SPIKE`` -- the class whose neuron spikes in
  the earliest tick, ties to the lowest index (no spike at all: class -1);
  ``SPIKE_COUNT`` -- most spikes, ties to the lowest index; ``MEMBRANE_MAX`` -- largest
  ``v`` after the last tick, ties to the lowest index.

Worked example
==============
``decay_bits = 8``, ``alpha = 192`` (0.75), ``beta = 256`` (no leak), ``threshold = 100``,
subtract reset, ``current_bits = membrane_bits = 16``. One neuron, one input with weight 80
that spikes in tick 0 only:

>>> from spikeforge.ir.params import NeuronParams
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

With more events than ``max_events_per_tick`` the accumulator wraps. A core with 8-bit
weights, ``current_bits = 16`` and ``max_events_per_tick = 1`` has a 17-bit accumulator
(``-65536 .. 65535``: the current's range plus one weight); 600 events of weight 127 on
``i = 0`` sum to 76200, which wraps to ``76200 - 2**17 = -54872`` and then saturates to -32768:

>>> from spikeforge.ir.params import accumulator_bits
>>> acc = accumulator_bits(NeuronParams(), 1)
>>> acc, wrap(600 * 127, acc), saturate(wrap(600 * 127, acc), 16)
(17, -54872, -32768)

With a negative current the rounding is toward zero too: ``decay(-45, 192) = -33``
(the floor of a plain shift would give -34), and ``decay(-1, 192) = 0``:

>>> decay(-45, 192, 8), decay(-1, 192, 8), decay(-1, 256, 8)
(-33, 0, -1)
"""

from __future__ import annotations

from spikeforge.ir.params import signed_range

# -- primitive operations (plain ints here; golden.py applies the same formulas to arrays) --

def saturate(x: int, bits: int) -> int:
    lo, hi = signed_range(bits)
    return min(max(x, lo), hi)


def wrap(x: int, bits: int) -> int:
    """``x`` modulo ``2**bits`` as a signed two's-complement number: what a ``bits``-wide
    register keeps of a sum (the accumulator on overflow)."""
    half = 1 << (bits - 1)
    return ((x + half) & ((1 << bits) - 1)) - half


def saturate_unsigned(x: int, bits: int) -> int:
    return min(max(x, 0), (1 << bits) - 1)


def decay(x: int, factor: int, decay_bits: int) -> int:
    """``x * factor / 2**decay_bits`` rounded toward zero, as an arithmetic shift."""
    product = x * factor
    bias = (1 << decay_bits) - 1 if product < 0 else 0
    return (product + bias) >> decay_bits


