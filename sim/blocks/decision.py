"""Cycle models of :class:`spikeforge.hdl.decision.DecisionUnit`, one class per
:class:`~spikeforge.ir.params.Decision` mode (:func:`decision_model` picks it)."""

from __future__ import annotations

from spikeforge.ir.params import Decision
from spikeforge.ir.plan import check_plan

__all__ = ["DecisionModel", "FirstSpikeDecision", "SpikeCountDecision",
           "MembraneMaxDecision", "decision_model", "decisive_classes", "stops_at_tick_end"]


def decisive_classes(plan) -> int:
    """The classes whose first spike of a tick decides a FIRST_SPIKE inference at once.

    The output core that owns the global output neurons ``0 .. N0 - 1`` (route
    ``source_offset`` 0) emits a tick's spikes in ascending order, and every other output core
    owns higher indices, so that core's first spike of a tick is the lowest index of the
    tick, whatever other cores sent before it: returns ``N0``. A spike of another core may
    still be undercut by a later spike of a lower core, so it decides only at the end of its
    tick. With one output core this is every class. 0 (never at a spike) if the output
    cores' ranges are not laid out that way.
    """
    layers, routes = check_plan(plan)
    last = len(layers) - 1
    ranges = [(routes[(last, c.index)].source_offset, c.n_neurons) for c in layers[-1]]
    first = [n for offset, n in ranges if offset == 0]
    if len(first) != 1 or any(0 < offset < first[0] for offset, _ in ranges):
        return 0
    return first[0]


def stops_at_tick_end(decision: Decision, plan) -> bool:
    """Whether ``decision`` may stop a run of ``plan`` at the end of a tick, not only at a
    spike: a FIRST_SPIKE decision with classes that :func:`decisive_classes` leaves to the
    tick's end (``tick_done``). The overlapped tick controller keeps a CHECK cycle after
    every tick for such a stop (``TickController(stops=True)``). Where every class decides
    at its spike (one output core), the stop always comes inside the update phase -- in the
    cycle after the deciding spike's handshake, while that spike still keeps the system from
    quiet -- so CHECK never ends a run and is left out: one cycle less per tick."""
    if decision is not Decision.FIRST_SPIKE:
        return False
    layers, _ = check_plan(plan)
    return decisive_classes(plan) < sum(c.n_neurons for c in layers[-1])


class DecisionModel:
    """What every mode of the :class:`~spikeforge.hdl.decision.DecisionUnit` shares:
    ``valid``/``cls``/``none`` registers that ``clear`` resets (and wins over everything
    else in its cycle; SPIKE_COUNT's a cycle later), a spike input that is always ready and
    ignores indices ``>= n_classes``, and ``result_tick`` = ``ticks_run - 1``."""

    def __init__(self, n_classes: int):
        self.n_classes = n_classes
        self.golden_class = -1  # the class a mode that is not simulated reports
        self.reset()

    def reset(self) -> None:
        self.valid, self.none, self.cls = False, False, 0

    @property
    def stop(self) -> bool:
        return False

    def clock(self, neuron: int | None, tick: int, tick_done: bool, finished: bool,
              clear: bool) -> None:
        """One edge: ``neuron`` = the spike handshaken on ``out_spikes`` in this cycle (or
        None), ``tick``/``tick_done``/``finished``/``clear`` from the tick controller."""
        hit = neuron if neuron is not None and neuron < self.n_classes else None
        self._update(hit, tick, tick_done, finished)
        self._clear(clear, finished)

    def _update(self, hit, tick, tick_done, finished) -> None:
        raise NotImplementedError

    def _clear(self, clear: bool, finished: bool) -> None:
        """``clear``'s part of the edge, after the mode's own (it wins)."""
        if clear:
            self.reset()

    def decision_tick(self, ticks_run: int) -> int:
        return ticks_run - 1


class FirstSpikeDecision(DecisionModel):
    """FIRST_SPIKE: the lowest index seen in the first tick with a spike; ``valid`` (and
    ``stop``) from the cycle after the first spike with an index ``< decisive_below``
    (:func:`decisive_classes`) or else after that tick's ``tick_done``, or after
    ``finished`` with class -1 and ``none`` when no spike came."""

    def __init__(self, n_classes: int, decisive_below: int = 0):
        self.decisive_below = decisive_below
        super().__init__(n_classes)

    def reset(self) -> None:
        super().reset()
        self.seen, self.best, self.first_tick = False, 0, 0

    @property
    def stop(self) -> bool:
        return self.valid and not self.none

    def _update(self, hit, tick, tick_done, finished) -> None:
        if self.valid:
            return
        if hit is not None and (not self.seen or hit < self.best):
            self.best = hit
        self.seen = self.seen or hit is not None
        decisive = hit is not None and hit < self.decisive_below
        if decisive or (tick_done and self.seen):
            self.valid, self.cls, self.first_tick = True, self.best, tick
        elif finished:
            self.valid, self.cls, self.none = True, -1, True

    def decision_tick(self, ticks_run: int) -> int:
        return ticks_run - 1 if self.none else self.first_tick


class SpikeCountDecision(DecisionModel):
    """SPIKE_COUNT: a counter per class; from the edge of ``finished`` an argmax scan of one
    class per cycle (ties to the lower index) in two stages -- read class ``scan_i``'s count,
    compare it with the best one cycle later --, ``valid`` ``n_classes + 2`` cycles after
    ``finished``; ``none`` when every count is 0. The scan runs once per ``clear``; a spike is
    counted in the cycle after its handshake, so one in ``finished``'s cycle or during the
    scan is not (the hardware's scan rotates the counters through class 0). ``counts`` is
    the hardware's ``counts`` output wherever ``valid``. ``clear`` masks the spike of its
    cycle at once; the counters, the scan and ``valid`` are cleared at the edge after (the
    hardware's ``clear_r``), where a ``finished`` starts the scan."""

    def __init__(self, n_classes: int):
        self.scan_i, self.best_i, self.best_c = 0, 0, 0
        self.clear_r = False
        super().__init__(n_classes)

    def _clear(self, clear: bool, finished: bool) -> None:
        if self.clear_r:  # (the spike handshaken now is counted: hit_r is not cleared)
            pending = self.pending
            self.reset()
            self.pending, self.scanning, self.scanned = pending, finished, finished
            self.scan_i = 0
        if clear:
            self.pending = None
        self.clear_r = clear

    def reset(self) -> None:
        super().reset()
        self.counts = [0] * self.n_classes
        self.scanning = False
        self.scanned = False  # a scan has begun since clear (once per clear)
        self.read = None  # stage 1 -> 2: (class, count) read in the last cycle
        self.pending = None  # a spike is counted in the cycle after its handshake

    def _update(self, hit, tick, tick_done, finished) -> None:
        if self.pending is not None and not self.scanning:  # the scan holds the counters
            self.counts[self.pending] += 1
        self.pending = hit
        if self.read is not None:
            self._compare(*self.read)
        self.read = None
        if self.scanning:
            self.read = (self.scan_i, self.counts[self.scan_i])
            self.scanning = self.scan_i != self.n_classes - 1
            self.scan_i += 1
        elif finished and not self.scanned:
            self.scanning, self.scanned, self.scan_i = True, True, 0

    def _compare(self, k: int, count: int) -> None:
        if k == 0 or count > self.best_c:
            self.best_i, self.best_c = k, count
        if k == self.n_classes - 1:
            self.valid, self.cls, self.none = True, self.best_i, self.best_c == 0


class MembraneMaxDecision(DecisionModel):
    """MEMBRANE_MAX: from the cycle after ``finished`` the system reads the output
    membranes one per cycle through the cores' host ports (read latency 1) into the unit;
    ``valid`` ``n_classes + 2`` cycles after ``finished``. The membranes are not simulated:
    the class is ``golden_class``."""

    def reset(self) -> None:
        super().reset()
        self.left = 0  # edges until valid

    def _update(self, hit, tick, tick_done, finished) -> None:
        if self.left:
            self.left -= 1
            if self.left == 0:
                self.valid, self.cls = True, self.golden_class
        elif finished:
            self.left = self.n_classes + 1


_MODELS = {Decision.FIRST_SPIKE: FirstSpikeDecision, Decision.SPIKE_COUNT: SpikeCountDecision,
           Decision.MEMBRANE_MAX: MembraneMaxDecision}


def decision_model(mode: Decision, n_classes: int, decisive_below: int = 0) -> DecisionModel:
    """The model of ``mode``; ``decisive_below`` as :class:`FirstSpikeDecision` (FIRST_SPIKE)."""
    if mode is Decision.FIRST_SPIKE:
        return FirstSpikeDecision(n_classes, decisive_below)
    return _MODELS[mode](n_classes)
