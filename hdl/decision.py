"""The output decision unit: reads a class from the output layer (contract: :class:`Decision`).

* ``FIRST_SPIKE`` -- the class whose neuron spikes in the earliest tick; several spikes in
  that tick go to the lowest index; no spike at all gives class -1. Spikes from one core
  arrive in ascending index, but from several cores they may interleave, so the unit keeps
  the minimum index seen in the tick, and decides **at the spike** only when that spike is
  certainly the tick's minimum: a spike with index ``< decisive_below`` (the classes of the
  output core that owns neurons ``0 .. decisive_below - 1``: it emits in ascending order and
  every other core's indices are higher, so its first spike of a tick is that tick's lowest
  index, whatever arrived before it). Otherwise (only higher cores spiked in the tick) the
  decision is taken at the tick's end (``tick_done``). With a single output core
  (``decisive_below = n_classes``) every decision is taken at the first output spike.
  ``stop`` asks the tick controller for an early exit.
* ``SPIKE_COUNT`` -- the class with the most spikes, ties to the lowest index (all counts
  zero gives class 0, with ``none`` high). Per-class saturating counters; the argmax is a
  sequential scan of ``n_classes`` cycles started by the first ``finish`` after ``clear``
  (a later ``finish`` is ignored; a spike is counted in the cycle after its handshake, so
  one in ``finish``'s cycle or during the scan is not; in a system none comes then). The
  counters are an output (``counts``) and have no reset: ``clear`` zeroes them, and the
  scan's registers and ``valid``, at the edge after the next (a ``finish`` in between
  starts the scan).
* ``MEMBRANE_MAX`` -- the class with the largest membrane value, ties to the lowest index.
  The values are read from the ``membrane`` stream, neuron 0 first (the k-th value accepted
  after ``clear`` is neuron k's); the result is valid after the ``n_classes``-th value.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from spikeforge.ir.params import Decision

__all__ = ["DecisionUnit"]


class DecisionUnit(wiring.Component):
    """Watches the output layer's spikes and the tick counter and decides the class.

    Parameters
    ----------
    n_classes : int
        Number of output neurons (classes), numbered 0 .. n_classes - 1.
    mode : :class:`~spikeforge.ir.params.Decision`
        How the class is read.
    index_bits : int or None
        Width of the spike stream payload (default ``max(1, ceil_log2(n_classes))``, the width
        of a core's ``spike_out``). Indices >= ``n_classes`` are ignored.
    tick_bits : int
        Width of ``tick`` and ``first_tick``.
    count_bits : int
        Width of the per-class spike counters (SPIKE_COUNT; they saturate).
    membrane_bits : int
        Width of the signed membrane values (MEMBRANE_MAX).
    decisive_below : int
        FIRST_SPIKE: a spike with an index below this decides at once (default 0: every
        decision waits for ``tick_done``). Correct only if indices ``0 .. decisive_below - 1``
        come from one source in ascending order within a tick and every other index is
        higher (:func:`spikeforge.sim.blocks.decision.decisive_classes` of a plan).

    Attributes
    ----------
    spike : ``In(stream.Signature(unsigned(index_bits)))``
        Output-layer spikes (neuron index). Always ready: one spike per cycle.
    membrane : ``In(stream.Signature(signed(membrane_bits)))``
        Membrane readout in ascending neuron order (MEMBRANE_MAX only; otherwise never ready).
    tick : ``In(tick_bits)``
        The current tick (from :class:`~spikeforge.hdl.tick.TickController`).
    tick_done : ``In(1)``
        Pulse at the end of tick ``tick`` (all its spikes have arrived).
    clear : ``In(1)``
        Pulse: forget everything (start of an inference). Wins over all other inputs
        (SPIKE_COUNT: its spike at once, its scan and ``valid`` at the next edge, see above).
    finish : ``In(1)``
        Pulse: the run has ended (FIRST_SPIKE: no spike means class -1; SPIKE_COUNT: start
        the argmax scan).
    valid : ``Out(1)``
        The decision is available in ``cls`` (stays high until ``clear``; SPIKE_COUNT: a
        cycle longer).
    cls : ``Out(signed(ceil_log2(n_classes) + 1))``
        The class; -1 when FIRST_SPIKE saw no spike. Valid while ``valid``.
    none : ``Out(1)``
        No spike at all was seen (FIRST_SPIKE: ``cls`` is -1; SPIKE_COUNT: every count was 0).
    first_tick : ``Out(tick_bits)``
        FIRST_SPIKE: the tick of the first spike. Valid while ``valid`` and not ``none``
        (with ``none``: the tick in which ``finish`` came).
    count : ``Out(count_bits)``
        SPIKE_COUNT: the winning class's spike count. Valid while ``valid``.
    counts : ``Out(count_bits).array(n_classes)``
        SPIKE_COUNT only: every class's spike count (the counters themselves). Valid while
        ``valid`` (the scan rotates them through class 0 and leaves them where they were).
    stop : ``Out(1)``
        FIRST_SPIKE: high from the cycle after the deciding ``tick_done`` (early exit).

    Timing
    ------
    FIRST_SPIKE: ``valid``/``stop`` rise in the cycle after the deciding spike (index
    ``< decisive_below``; ``cls`` = the lowest index seen in the tick, that spike included), or
    else in the cycle after the ``tick_done`` of the first tick with a spike.
    SPIKE_COUNT: ``valid`` rises ``n_classes + 2`` cycles after ``finish``.
    MEMBRANE_MAX: ``valid`` rises in the cycle after the last value is accepted.
    """

    def __init__(self, n_classes: int, mode: Decision = Decision.FIRST_SPIKE, *,
                 index_bits: int | None = None, tick_bits: int = 16, count_bits: int = 16,
                 membrane_bits: int = 16, decisive_below: int = 0):
        if not isinstance(n_classes, int) or n_classes < 1:
            raise ValueError(f"n_classes: must be a positive integer, got {n_classes!r}")
        if not isinstance(mode, Decision):
            raise ValueError(f"mode: must be a Decision, got {mode!r}")
        if index_bits is None:
            index_bits = max(1, ceil_log2(n_classes))
        if (1 << index_bits) < n_classes:
            raise ValueError(f"index_bits: {index_bits} bits cannot number {n_classes} classes")
        if not isinstance(decisive_below, int) or not 0 <= decisive_below <= n_classes:
            raise ValueError(f"decisive_below: must be an integer in 0..{n_classes}, "
                             f"got {decisive_below!r}")
        self.n_classes = n_classes
        self.mode = mode
        self.decisive_below = decisive_below
        self.index_bits = index_bits
        self.count_bits = count_bits
        counts = ({"counts": Out(count_bits).array(n_classes)}
                  if mode is Decision.SPIKE_COUNT else {})
        super().__init__({
            **counts,
            "spike": In(stream.Signature(unsigned(index_bits))),
            "membrane": In(stream.Signature(signed(membrane_bits))),
            "tick": In(tick_bits),
            "tick_done": In(1),
            "clear": In(1),
            "finish": In(1),
            "valid": Out(1),
            "cls": Out(signed(max(1, ceil_log2(n_classes)) + 1)),
            "none": Out(1),
            "first_tick": Out(tick_bits),
            "count": Out(count_bits),
            "stop": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        n = self.n_classes
        spike = self.spike
        m.d.comb += spike.ready.eq(1)
        hit = Signal()
        m.d.comb += hit.eq(spike.valid & (spike.payload < n))

        if self.mode is Decision.FIRST_SPIKE:
            seen = Signal()  # a spike arrived in the current (first spiking) tick
            best = Signal(self.index_bits)  # lowest index seen in that tick
            n_seen = Signal()
            n_best = Signal(self.index_bits)
            m.d.comb += [
                n_seen.eq(seen | hit),
                n_best.eq(Mux(hit & (~seen | (spike.payload < best)), spike.payload, best)),
            ]
            decisive = Signal()  # this spike is certainly the lowest index of its tick
            m.d.comb += decisive.eq(hit & (spike.payload < self.decisive_below))
            decide = Signal()
            m.d.comb += decide.eq(decisive | (self.tick_done & n_seen))
            # cls and first_tick are loaded in every cycle before the decision (they are
            # read only while valid): with the decision as their enable, the path from none
            # through stop, the system's live (which gates the output spikes), hit and the
            # decision into their enables was the iCE40 TTFS demo build's critical path
            # (39.2 MHz; as data, 46.9: docs/boards.md, stop 53)
            with m.If(~self.valid):
                m.d.sync += [seen.eq(n_seen), best.eq(n_best),
                             self.cls.eq(Mux(decide, n_best, -1)), self.first_tick.eq(self.tick)]
                # stop = valid & ~none, a register of its own: it gates the system's output
                # spikes (live), and valid & ~none in front of that gate, the decision's hit
                # and the tick controller's finish into none's enable was the iCE40 TTFS
                # demo's critical path once stop 54 had shortened the cores' spike queues
                with m.If(decide):
                    m.d.sync += [self.valid.eq(1), self.stop.eq(1)]
                with m.Elif(self.finish):
                    m.d.sync += [self.valid.eq(1), self.none.eq(1)]
            with m.If(self.clear):
                m.d.sync += [seen.eq(0), best.eq(0), self.valid.eq(0), self.none.eq(0),
                             self.stop.eq(0), self.cls.eq(0), self.first_tick.eq(0)]

        elif self.mode is Decision.SPIKE_COUNT:
            limit = (1 << self.count_bits) - 1
            counts = [Signal(self.count_bits, name=f"count_{k}", reset_less=True)
                      for k in range(n)]
            m.d.comb += [port.eq(c) for port, c in zip(self.counts, counts)]
            scanning = Signal()
            scanned = Signal()  # a scan has begun since ``clear``: it ran on the counters
            # A spike is counted in the cycle after its handshake (``hit_r``/``hit_i``), and
            # the counters have no reset (``clear`` zeroes them before every run): each
            # counter's enable then ORs neither the domain reset nor the spike stream's
            # handshake and decode, which came from the output cores through the merger's
            # arbiter (six of stop 33's twelve iCE40 placements had their critical path end
            # in these enables, four of them from the reset, 22-24 ns). In a system no spike
            # comes in ``finish``'s cycle (``finish`` waits for the registered quiet), so no
            # count changes.
            hit_r = Signal()
            hit_i = Signal(self.index_bits)
            m.d.sync += [hit_r.eq(hit & ~self.clear), hit_i.eq(spike.payload)]
            with m.If(scanning):
                # no spike arrives once the run has finished; the rotation takes precedence.
                # After the scan's n cycles every counter is back in place (``counts``, which
                # the board engine's reply reads: it keeps no counters of its own)
                m.d.sync += [counts[k].eq(counts[(k + 1) % n]) for k in range(n)]
            with m.Elif(hit_r):
                with m.Switch(hit_i):
                    for k in range(n):
                        with m.Case(k):
                            with m.If(counts[k] != limit):
                                m.d.sync += counts[k].eq(counts[k] + 1)
            # Two-stage argmax scan: stage 1 registers class 0's counter (``cur``, and its
            # zero test), stage 2 compares it with the best so far one cycle later. Each
            # scan cycle rotates every counter down by one class, so class ``scan_i`` sits
            # at 0 when stage 1 reads it: there is no multiplexer indexed by ``scan_i``,
            # which was the critical path of the 64-class ECP5 build at stop 28 (scan_i ->
            # 64-way count multiplexer -> zero test -> cur_zero, 8.7 ns).
            scan_i = Signal(range(n))
            cur = Signal(self.count_bits)  # stage 1 -> 2: count of class cur_i
            cur_i = Signal(range(n))
            cur_valid = Signal()
            cur_first = Signal()  # cur_i == 0
            cur_last = Signal()  # cur_i == n - 1
            best_i = Signal(range(n))
            best_c = Signal(self.count_bits)
            cur_zero = Signal()  # cur == 0, tested in stage 1: none after the compare
            m.d.sync += [cur.eq(counts[0]), cur_i.eq(scan_i), cur_valid.eq(scanning),
                         cur_first.eq(scan_i == 0), cur_last.eq(scan_i == n - 1),
                         cur_zero.eq(counts[0] == 0)]
            # scan_i is 0 whenever no scan runs (the end of a scan and clear set it to 0), so
            # that ``finish`` only has to start ``scanning``: it arrives late in its cycle
            # (the tick controller's end of the run), and as an enable of scan_i it was the
            # iCE40 build's critical path
            with m.If(scanning):
                m.d.sync += scan_i.eq(scan_i + 1)
                with m.If(scan_i == n - 1):
                    m.d.sync += [scanning.eq(0), scan_i.eq(0)]
            with m.Elif(self.finish & ~scanned):
                m.d.sync += [scanning.eq(1), scanned.eq(1)]
            # ``cur > best_c`` (strict: ties keep the lower index) is computed a cycle ahead,
            # in stage 1, for both values best_c can take: the class being read is compared
            # with the best so far (``gt_best``) and with the class stage 2 holds now
            # (``gt_cur``), and stage 2 picks the one its own ``take`` chose (``took``). No
            # carry chain lies in the loop through ``take``, which was the critical path of
            # several iCE40 builds (a 16-bit compare, 19 logic elements, 22-23 ns).
            gt_best, gt_cur, took = Signal(), Signal(), Signal()
            take = Signal()
            m.d.sync += [gt_best.eq(counts[0] > best_c), gt_cur.eq(counts[0] > cur),
                         took.eq(take)]
            m.d.comb += take.eq(cur_first | Mux(took, gt_cur, gt_best))
            n_best_i = Mux(take, cur_i, best_i)
            n_best_c = Mux(take, cur, best_c)
            # ``none`` = the scan's maximum is 0 = every count it compared was 0: a running
            # AND of ``cur_zero`` instead of ``n_best_c == 0``, which put a 16-bit zero test
            # behind the compare and the ``take`` multiplexer (the iCE40 build's critical path)
            all_zero = Signal()  # every count compared so far in this scan was 0
            n_all_zero = Signal()
            m.d.comb += n_all_zero.eq(cur_zero & (cur_first | all_zero))
            with m.If(cur_valid):
                m.d.sync += [best_i.eq(n_best_i), best_c.eq(n_best_c), all_zero.eq(n_all_zero)]
                with m.If(cur_last):
                    m.d.sync += [self.valid.eq(1), self.cls.eq(n_best_i),
                                 self.count.eq(n_best_c), self.none.eq(n_all_zero)]
            # the counters are zeroed a cycle after ``clear`` (``clear_r``): from one
            # flip-flop, not from the start handshake behind ``clear``, which reached their
            # n * count_bits inputs through 14-15 ns of routing (stop 36: the critical path of
            # three of six iCE40 placements). Nothing reads them in that cycle: ``clear``
            # masks ``hit_r``, and a scan begun by a ``finish`` there reads them a cycle later.
            # The scan's registers too, a cycle after ``clear`` (a ``finish`` in that cycle
            # starts the scan, as it would have). Nothing else reads them there: the
            # system's ``done`` needs the tick controller's, which the start clears. From
            # ``clear`` itself -- the engine's start through the controller's state --
            # their enables were the iCE40 digits latency build's critical path in 3 of 7
            # placements (stop 70: start -> scanned, 3 LUTs behind 15 ns of routing)
            clear_r = Signal()
            m.d.sync += clear_r.eq(self.clear)
            with m.If(clear_r):
                m.d.sync += [c.eq(0) for c in counts]
                m.d.sync += [scanning.eq(self.finish), scanned.eq(self.finish), scan_i.eq(0),
                             cur_valid.eq(0), self.valid.eq(0), self.none.eq(0),
                             self.cls.eq(0), self.count.eq(0)]

        else:  # MEMBRANE_MAX
            k = Signal(range(n + 1))
            best_i = Signal(range(n))
            best_v = Signal.like(self.membrane.payload)
            m.d.comb += self.membrane.ready.eq(k < n)
            take = Signal()
            m.d.comb += take.eq((k == 0) | (self.membrane.payload > best_v))
            with m.If(self.membrane.valid & self.membrane.ready):
                m.d.sync += k.eq(k + 1)
                with m.If(take):
                    m.d.sync += [best_i.eq(k), best_v.eq(self.membrane.payload)]
                with m.If(k == n - 1):
                    m.d.sync += [self.valid.eq(1), self.cls.eq(Mux(take, k, best_i))]
            with m.If(self.clear):
                m.d.sync += [k.eq(0), self.valid.eq(0), self.cls.eq(0)]
        return m
