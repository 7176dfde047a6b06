"""Cycle-accurate timing model of the neuron core (:class:`spikeforge.hdl.core.NeuronCore`).

It predicts the exact clock cycle of every handshake of the core's streams, given a
deterministic driver, and gives closed forms for the no-stall case. It describes the
documented timing of the core; it does not simulate its logic (what the neurons compute is
the golden model's business: the caller passes in which neurons spike).

Cycle numbering
===============
Cycle ``c`` is the ``c``-th rising clock edge after reset is released: cycle 0 is the first
rising edge at which ``rst`` is sampled low (in Amaranth's simulator without a reset, the
first edge). Everything is *sampled* at an edge: a handshake "at cycle c" means ``valid``
and ``ready`` were both high just before edge ``c``; "``idle`` at cycle c" means ``idle``
was high just before edge ``c``. A driver that wants to offer something at cycle ``c``
drives ``valid`` high after edge ``c - 1`` (and before edge ``c``).

Timing of the core (N = ``n_neurons``, L = ``lanes``, G = ``ceil(N / L)`` words)
==========================================================================
The exact timing is :class:`spikeforge.sim.blocks.core.CoreModel`, the core's control
stepped one edge at a time; :func:`predict_tick` drives it with the driver convention below,
so there is one source of timing truth. Its consequences, with ``S`` =
:data:`~spikeforge.sim.blocks.core.UPDATE_STAGES` (8) and ``Q`` =
:data:`~spikeforge.sim.blocks.core.QUEUE_WORDS` (10):

* ``spike_in.ready`` = ``idle``, or an event's last word being read;
  ``command.ready`` = ``idle`` and not ``spike_in.valid``.
* An event accepted at cycle ``h``: the next event can be accepted at ``h + G``
  (:func:`cycles_per_event`; the write-back of its last words overlaps the next item, and
  with ``G = 1`` the core forwards it to the next event's sum); the core is idle again at
  cycle ``h + G + 1``.
* A CLEAR accepted at cycle ``h``: idle again at ``h + G + 1`` (:func:`clear_cycles`).
* A TICK accepted at cycle ``T``: word ``g`` (neurons ``g*L .. g*L + L - 1``) is read at
  the ``g``-th edge from ``T + 1`` at which the credit (words in flight + words queued,
  a register) is below ``Q``; without throttling, at ``T + 1 + g``. It is written, and
  its spiking neurons pushed into the spike queue, ``S`` edges later (``T + 1 + g + S``;
  ``S + 1`` with the core's ``tile_stage``, whose lane groups run a cycle behind it).
  The output register takes a spike at an edge where it is empty or handshakes: the next
  spiking lane of its word, else the lowest spiking lane of the queue's head word (a word
  pushed at edge X is popped at X + 1 at the earliest). Spikes leave in ascending order,
  one per cycle at most. The core is idle again at the first cycle after the last word's
  write edge with the queue and the output register empty.
* Closed forms with ``spike_out.ready`` always high and the output keeping up (every
  word's spikes gone before the next spiking word is popped): a silent update phase takes
  ``G + S + 1`` cycles (:func:`update_cycles`); if ``g`` is the last word with spikes and
  it has ``s`` of them, ``max(G + S + 1, g + S + 3 + s)``; the first spike of a tick,
  neuron ``n``, handshakes
  ``n // L + S + 3`` cycles after the TICK (:func:`output_latency`); a tick of ``E``
  events the driver never delays takes ``(E - 1) * G + G + 1`` + the update phase
  (:func:`tick_cycles`).

Driver convention (:class:`TickStimulus`)
=========================================
A tick starts at ``start_cycle`` (the core must be idle there; use the previous tick's
``idle_cycle``). Each item (event, then the command) has a *reference* cycle: the tick's
``start_cycle`` for the first item, ``previous handshake + 1`` for every later one. The
driver keeps ``valid`` low for ``gap`` cycles after the reference, raises it at cycle
``reference + gap`` and holds it (with the same payload) until the handshake.
``spike_out.ready`` follows ``out_ready(cycle)`` (the value sampled at that edge).

A core with ``double_buffer`` takes events while its update runs:
:func:`predict_stream` drives it without waiting for ``idle`` between ticks (tick t + 1's
first event ``gap`` cycles after TICK t's handshake + 1) and steps
:class:`~spikeforge.sim.blocks.core.DoubleBufferedCoreModel`; where the driver waits for
``idle`` (:func:`predict_tick`), its cycles are today's core's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from spikeforge.sim.blocks.core import (
    QUEUE_WORDS,
    UPDATE_STAGES,
    CoreModel,
    CorePhase,
    DoubleBufferedCoreModel,
)

__all__ = ["TickStimulus", "TickTiming", "predict_tick", "predict_ticks", "predict_stream",
           "predict_clear",
           "cycles_per_event", "lanes", "words", "update_cycles", "clear_cycles", "tick_cycles",
           "output_latency", "core_busy_bound", "UPDATE_STAGES", "QUEUE_WORDS"]


def lanes(config) -> int:
    """L of a :class:`~spikeforge.ir.core.CoreConfig` or a
    :class:`~spikeforge.ir.plan.CorePlan` (its ``config``'s)."""
    inner = getattr(config, "config", None)
    return int(getattr(config, "lanes", None) or getattr(inner, "lanes", None) or 1)


def words(config) -> int:
    """Memory words of the core's state: ``G = ceil(N / L)``."""
    return -(-int(config.n_neurons) // lanes(config))


def cycles_per_event(config) -> int:
    """Cycles from one event handshake to the earliest next event handshake:
    ``G`` (a command: ``G + 1``, when the core is idle again)."""
    return words(config)


def clear_cycles(config) -> int:
    """Cycles from a CLEAR handshake to the first idle cycle: ``G + 1``."""
    return words(config) + 1


def output_latency(config, neuron: int) -> int:
    """Cycles from the TICK handshake to the handshake of the tick's first spike, neuron
    ``neuron``, with ``spike_out.ready`` high: ``neuron // L + S + 3``."""
    return int(neuron) // lanes(config) + UPDATE_STAGES + 3


def update_cycles(config, spiking: Sequence[int] = ()) -> int:
    """Cycles from the TICK handshake to the first idle cycle, with ``spike_out.ready``
    always high and the output keeping up (a spiking word with ``s`` spikes is followed by
    at least ``s - 1`` words before the next spiking one; e.g. one spike per word):
    ``max(G + S + 1, g + S + 3 + s)`` for ``g`` the last word with spikes and ``s`` its
    spikes (``G + S + 1`` for a silent tick). ``spiking``: the spiking neurons."""
    G, L = words(config), lanes(config)
    cycles = G + UPDATE_STAGES + 1
    if len(spiking):
        g = max(int(n) for n in spiking) // L
        s = sum(1 for n in spiking if int(n) // L == g)
        cycles = max(cycles, g + UPDATE_STAGES + 3 + s)
    return cycles


def tick_cycles(config, n_events: int, spiking: Sequence[int] = ()) -> int:
    """Cycles from a tick's start to its idle cycle when the driver never waits and the
    output keeps up (:func:`update_cycles`): ``E`` events, the TICK ``G + 1`` cycles after
    the last (when the core is idle), then the update phase: ``(E - 1) * G + G + 1
    + update_cycles`` (``update_cycles`` alone for ``E = 0``)."""
    events = int(n_events)
    offer_tick = (events - 1) * cycles_per_event(config) + words(config) + 1 if events else 0
    return offer_tick + update_cycles(config, spiking)


def core_busy_bound(config, n_events: int, n_ticks: int) -> int:
    """A lower bound on the cycles a core is busy in an inference of ``n_ticks`` ticks that
    feeds it ``n_events`` events: ``G + 1`` (CLEAR) + ``n_events * G`` +
    ``n_ticks * (G + S + 1)`` (a silent update phase is the shortest)."""
    return (clear_cycles(config) + int(n_events) * cycles_per_event(config)
            + int(n_ticks) * update_cycles(config))


@dataclass
class TickStimulus:
    """What the driver does in one tick (see the module's driver convention).

    events: presynaptic indices in the order offered.
    event_gaps: cycles ``valid`` stays low before each event, counted from its reference
        cycle (default: all 0).
    command_gap: cycles before offering TICK, counted from its reference cycle.
    """

    events: list[int] = field(default_factory=list)
    event_gaps: list[int] | None = None
    command_gap: int = 0

    def __post_init__(self):
        if self.event_gaps is None:
            self.event_gaps = [0] * len(self.events)
        if len(self.event_gaps) != len(self.events):
            raise ValueError(f"event_gaps: expected {len(self.events)} gaps, got "
                             f"{len(self.event_gaps)}")
        if any(g < 0 for g in self.event_gaps) or self.command_gap < 0:
            raise ValueError("event_gaps/command_gap: gaps must be >= 0")


@dataclass
class TickTiming:
    """Predicted handshake cycles of one tick.

    event_cycles: handshake cycle of each event.
    command_cycle: handshake cycle of TICK.
    output_cycles: ``(neuron, handshake cycle)`` of each output spike, in order.
    idle_cycle: first cycle after the TICK handshake at which ``idle`` is high.
    offer_cycles: cycle each event (then the command) was first offered (valid raised).
    """

    event_cycles: list[int]
    command_cycle: int
    output_cycles: list[tuple[int, int]]
    idle_cycle: int
    offer_cycles: list[int] = field(default_factory=list)


def predict_tick(config, start_cycle: int, stimulus: TickStimulus,
                 spiking_neurons: Sequence[int],
                 out_ready: Callable[[int], bool] = lambda cycle: True,
                 limit: int = 10_000_000, tile_stage: bool = False) -> TickTiming:
    """Predict the handshake cycles of one tick by stepping
    :class:`~spikeforge.sim.blocks.core.CoreModel` edge by edge.

    ``config`` needs ``n_neurons`` (and ``lanes``, default 1). ``start_cycle``: a cycle at
    which the core is idle. ``spiking_neurons``: ascending indices of the neurons that spike
    in this tick (from the golden model). ``out_ready(cycle)``: the value of
    ``spike_out.ready`` the bench applies at that cycle. ``tile_stage``: the core's.
    """
    N = int(config.n_neurons)
    spiking = sorted(int(n) for n in spiking_neurons)
    if any(not 0 <= n < N for n in spiking):
        raise ValueError(f"spiking_neurons: indices must be in 0..{N - 1}, got {spiking}")
    core = CoreModel(config, tile_stage=tile_stage)
    core.golden = np.zeros((1, N), dtype=bool)
    core.golden[0, spiking] = True
    cycle, reference = start_cycle, start_cycle
    event_cycles, offers, outputs = [], [], []
    items = [(True, g) for g in stimulus.event_gaps] + [(False, stimulus.command_gap)]
    for is_event, gap in items:
        offer = reference + gap
        offers.append(offer)
        while not (cycle >= offer and (core.in_ready if is_event else core.idle)):
            cycle += _skip_or_step(core, cycle, offer, out_ready, outputs)
        core.clock(is_event, not is_event, True, 0, bool(out_ready(cycle)))
        if is_event:
            event_cycles.append(cycle)
        tick = cycle
        cycle += 1
        reference = cycle
    while not core.idle:
        if cycle > tick + limit:
            raise RuntimeError(f"core model: tick did not end within {limit} cycles")
        cycle += _skip_or_step(core, cycle, cycle, out_ready, outputs)
    return TickTiming(event_cycles, tick, outputs, cycle, offers)


def _skip_or_step(core: CoreModel, cycle: int, offer: int, out_ready, outputs: list) -> int:
    """Advance the model over cycle ``cycle`` (recording an output handshake) or, in an
    event or clear countdown, over as many cycles as change nothing else; returns how many."""
    k = core.skippable()
    if k is None:  # idle, waiting for the offer
        return max(1, offer - cycle)
    if k > 0 and core.phase is not CorePhase.UPDATE:
        core.skip(k)
        return k
    ready = bool(out_ready(cycle))
    if core.out_valid and ready:
        outputs.append((core.out_n, cycle))
    core.clock(False, False, True, 0, ready)
    return 1


def predict_ticks(config, stimuli: Sequence[TickStimulus], spikes_per_tick,
                  out_ready: Callable[[int], bool] = lambda cycle: True,
                  start_cycle: int = 0) -> list[TickTiming]:
    """Predict back-to-back ticks: tick 0 starts at ``start_cycle``, every later tick at the
    previous tick's ``idle_cycle`` (a driver that starts the next tick as soon as the core is
    idle, with no host accesses in between). ``spikes_per_tick[t]``: the spiking neurons of
    tick t (ascending indices, or a boolean row of the golden trace's ``spikes``)."""
    timings = []
    cycle = start_cycle
    for stimulus, spikes in zip(stimuli, spikes_per_tick, strict=True):
        row = np.asarray(spikes)
        spikes = np.flatnonzero(row).tolist() if row.dtype == bool else [int(n) for n in row]
        timing = predict_tick(config, cycle, stimulus, spikes, out_ready)
        timings.append(timing)
        cycle = timing.idle_cycle
    return timings


def predict_stream(config, stimuli: Sequence[TickStimulus], spikes_per_tick,
                   out_ready: Callable[[int], bool] = lambda cycle: True,
                   start_cycle: int = 0, limit: int = 10_000_000) -> list[TickTiming]:
    """Predict ticks driven without waiting for ``idle`` between them, for a core with
    ``double_buffer`` (:class:`~spikeforge.sim.blocks.core.DoubleBufferedCoreModel`): the
    items of every tick (its events, then TICK) follow the driver convention with one
    reference chain -- tick t + 1's first event is offered ``gap`` cycles after TICK t's
    handshake + 1, while tick t's update runs; only a TICK waits for ``idle``. Tick 0
    starts at ``start_cycle`` (the core idle there). Each tick's ``idle_cycle`` is the first
    cycle after its TICK with ``idle`` high (the next tick's events may keep it low)."""
    N = int(config.n_neurons)
    rows = [np.asarray(row) for row in spikes_per_tick]
    core = DoubleBufferedCoreModel(config)
    core.golden = np.zeros((len(rows), N), dtype=bool)
    for t, row in enumerate(rows):
        core.golden[t, row if row.dtype == bool else [int(n) for n in row]] = True
    outputs, commands, idles = [], [], []
    cycle = reference = start_cycle

    def edge(event: bool, command: bool, tick: int) -> None:
        nonlocal cycle
        ready = bool(out_ready(cycle))
        if core.out_valid and ready:
            outputs.append((core.out_n, cycle))
        # the first idle cycle after each TICK (a TICK is taken only at idle: in order)
        while core.idle and len(idles) < len(commands) and cycle > commands[len(idles)]:
            idles.append(cycle)
        core.clock(event, command, True, tick, ready)
        cycle += 1

    timings = []
    for t, stimulus in enumerate(stimuli):
        events, offers = [], []
        items = [(True, g) for g in stimulus.event_gaps] + [(False, stimulus.command_gap)]
        for is_event, gap in items:
            offers.append(reference + gap)
            while not (cycle >= offers[-1] and (core.in_ready if is_event else core.idle)):
                edge(False, False, t)
                if cycle > offers[-1] + limit:
                    raise RuntimeError(f"core model: tick {t} stalled for {limit} cycles")
            if is_event:
                events.append(cycle)
            else:
                commands.append(cycle)
            edge(is_event, not is_event, t)
            reference = cycle
        timings.append(TickTiming(events, commands[-1], [], -1, offers))
    while len(idles) < len(commands):
        if cycle > commands[-1] + limit:
            raise RuntimeError(f"core model: the last tick did not end within {limit} cycles")
        edge(False, False, len(commands) - 1)
    # tick t's spikes leave between its TICK and TICK t + 1 (taken only at idle)
    ends = commands[1:] + [cycle]
    for t, timing in enumerate(timings):
        timing.idle_cycle = idles[t]
        timing.output_cycles = [o for o in outputs if commands[t] < o[1] < ends[t]]
    return timings


def predict_clear(config, start_cycle: int, gap: int = 0) -> tuple[int, int]:
    """A CLEAR offered at ``start_cycle + gap`` to an idle core: returns
    ``(handshake cycle, first idle cycle after it)``."""
    handshake = start_cycle + gap
    return handshake, handshake + clear_cycles(config)
