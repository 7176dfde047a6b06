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

Timing of the core (N = ``n_neurons``)
======================================
* ``spike_in.ready`` = ``idle``; ``command.ready`` = ``idle`` and not ``spike_in.valid``.
* An event accepted at cycle ``h`` keeps the core busy: it is idle again at cycle
  ``h + N + 2`` (:func:`cycles_per_event`).
* A CLEAR accepted at cycle ``h``: idle again at ``h + N + 1`` (:func:`clear_cycles`).
* A TICK accepted at cycle ``T``: neuron ``n`` is evaluated at cycle ``e(n)`` with
  ``e(-1) = T + 1``, ``e(n) = e(n-1) + 1`` for a silent neuron and
  ``e(n) = max(e(n-1) + 1, h_prev)`` for a spiking one, ``h_prev`` being the handshake
  cycle of the previous spike of this tick (the single output register must be free or
  be emptied in that same cycle). A spike of neuron ``n`` is offered from ``e(n) + 1`` and
  handshakes at the first cycle ``>= e(n) + 1`` at which ``spike_out.ready`` is high. The
  core is idle again at ``max(e(N-1) + 1, h_last + 1)``.

Driver convention (:class:`TickStimulus`)
=========================================
A tick starts at ``start_cycle`` (the core must be idle there; use the previous tick's
``idle_cycle``). Each item (event, then the command) has a *reference* cycle: the tick's
``start_cycle`` for the first item, ``previous handshake + 1`` for every later one. The
driver keeps ``valid`` low for ``gap`` cycles after the reference, raises it at cycle
``reference + gap`` and holds it (with the same payload) until the handshake.
``spike_out.ready`` follows ``out_ready(cycle)`` (the value sampled at that edge).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

__all__ = ["TickStimulus", "TickTiming", "predict_tick", "predict_ticks", "predict_clear",
           "cycles_per_event",
           "update_cycles", "clear_cycles", "tick_cycles", "output_latency"]


def _n(config) -> int:
    return int(config.n_neurons)


def cycles_per_event(config) -> int:
    """Cycles from one event handshake to the earliest next handshake (event or command):
    ``N + 2``."""
    return _n(config) + 2


def clear_cycles(config) -> int:
    """Cycles from a CLEAR handshake to the first idle cycle: ``N + 1``."""
    return _n(config) + 1


def output_latency(config, neuron: int) -> int:
    """Cycles from the TICK handshake to the earliest handshake of neuron ``neuron``'s spike
    (no stalls): ``neuron + 3``."""
    return int(neuron) + 3


def update_cycles(config, last_neuron_spikes: bool = False) -> int:
    """Cycles from the TICK handshake to the first idle cycle with ``spike_out.ready``
    always high: ``N + 2``, or ``N + 3`` if neuron N-1 spikes."""
    return _n(config) + 2 + (1 if last_neuron_spikes else 0)


def tick_cycles(config, n_events: int, last_neuron_spikes: bool = False) -> int:
    """Cycles from a tick's start to its idle cycle when the driver never waits and
    ``spike_out.ready`` is always high: ``E * (N + 2) + N + 2 (+1)`` for ``E`` events."""
    return int(n_events) * cycles_per_event(config) + update_cycles(config, last_neuron_spikes)


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


def _first_ready(cycle: int, out_ready: Callable[[int], bool], limit: int = 1_000_000) -> int:
    for c in range(cycle, cycle + limit):
        if out_ready(c):
            return c
    raise RuntimeError(f"spike_out.ready never rose in {limit} cycles from cycle {cycle}")


def predict_tick(config, start_cycle: int, stimulus: TickStimulus,
                 spiking_neurons: Sequence[int],
                 out_ready: Callable[[int], bool] = lambda cycle: True) -> TickTiming:
    """Predict the handshake cycles of one tick.

    ``config`` needs only ``n_neurons``. ``start_cycle``: a cycle at which the core is idle.
    ``spiking_neurons``: ascending indices of the neurons that spike in this tick (from the
    golden model). ``out_ready(cycle)``: the value of ``spike_out.ready`` the bench applies at
    that cycle.
    """
    N = _n(config)
    spiking = sorted(int(n) for n in spiking_neurons)
    if any(not 0 <= n < N for n in spiking):
        raise ValueError(f"spiking_neurons: indices must be in 0..{N - 1}, got {spiking}")
    spiking_set = set(spiking)

    # event phase: the core accepts an offered item as soon as it is idle
    free = start_cycle  # first cycle at which the core is idle
    reference = start_cycle
    event_cycles, offers = [], []
    for gap in stimulus.event_gaps:
        offer = reference + gap
        handshake = max(offer, free)
        offers.append(offer)
        event_cycles.append(handshake)
        free = handshake + cycles_per_event(config)
        reference = handshake + 1
    offer = reference + stimulus.command_gap
    offers.append(offer)
    tick = max(offer, free)

    # update phase: evaluation cycles e(n) and output handshakes
    evaluated = tick + 1  # e(-1)
    previous_handshake = None
    outputs = []
    for n in range(N):
        evaluated += 1
        if n in spiking_set:
            if previous_handshake is not None:
                evaluated = max(evaluated, previous_handshake)
            previous_handshake = _first_ready(evaluated + 1, out_ready)
            outputs.append((n, previous_handshake))
    idle = evaluated + 1
    if previous_handshake is not None:
        idle = max(idle, previous_handshake + 1)
    return TickTiming(event_cycles, tick, outputs, idle, offers)


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


def predict_clear(config, start_cycle: int, gap: int = 0) -> tuple[int, int]:
    """A CLEAR offered at ``start_cycle + gap`` to an idle core: returns
    ``(handshake cycle, first idle cycle after it)``."""
    handshake = start_cycle + gap
    return handshake, handshake + clear_cycles(config)
