"""Cycle-accurate model of :class:`spikeforge.hdl.system.SpikeforgeSystem`.

Given the plan, which neurons spike in which tick (the golden trace), the input events of
every tick and the driver's deterministic timing, :class:`SystemModel` (through
:func:`predict_run`) predicts the clock cycle of every handshake of the system's ports
(input items, output spikes, monitor events), the end of every tick, the cycle ``done``
rises and so the cycles per inference. It is exact (tested against the RTL in Amaranth's
simulator, Icarus and Verilator).

How: one cycle model per RTL block (:mod:`spikeforge.sim.blocks`), composed and clocked
the way :mod:`spikeforge.hdl.system` wires the RTL. Every cycle, first every block's
combinational outputs are settled from the registers of the cycle, then every block takes
the clock edge. The blocks:

* :class:`~spikeforge.sim.blocks.core.CoreModel` -- the core's control
  (:mod:`spikeforge.sim.cycle`: ``G`` cycles per event, the update pipeline with
  its spike queue, output and skid registers, ``G + 1`` cycles of CLEAR; ``spike_in.ready``
  = ``idle`` or an event's last word, :attr:`~spikeforge.sim.blocks.core.CoreModel.in_ready`);
* :class:`~spikeforge.sim.blocks.router.MergerModel` -- the round-robin merger (registered
  output, grant order ``last + 1 ...``);
* :class:`~spikeforge.sim.blocks.router.FifoModel` -- the ``SyncFIFOBuffered`` stream FIFO
  (``depth - 1`` memory words + an output register: two cycles from an empty queue's input
  to its output);
* :class:`~spikeforge.sim.blocks.router.MulticastModel` /
  :class:`~spikeforge.sim.blocks.router.RouterModel` -- the combinational multicast (input
  port) and routers: a packet leaves when every destination has taken it, each
  destination's ``ready`` = that core's ``spike_in.ready``;
* :class:`~spikeforge.sim.blocks.tick.TickControllerModel` -- the tick controller's FSM
  (``guard`` cycles before quiet is trusted, CLEAR/TICK offered to all cores at once, one
  CHECK cycle per tick);
* :mod:`spikeforge.sim.blocks.decision` -- the decision unit (FIRST_SPIKE: valid the cycle
  after the deciding output spike -- one of the classes of
  :func:`~spikeforge.sim.blocks.decision.decisive_classes` -- or else after the deciding
  ``tick_done``; SPIKE_COUNT: ``n_classes + 2`` cycles after
  ``finished``; MEMBRANE_MAX: the membranes are read one per cycle from the cycle after
  ``finished``, valid ``n_classes + 2`` cycles after it).

The input port (``closed`` after the tick's marker, until ``tick_done`` or ``clear``),
``done`` = the decision's ``valid`` and (the controller's ``done`` or the decision's
``stop``), ``busy``, and ``live`` (event or update phase, no ``stop``: outside it output
packets are dropped and monitors are silent) are the system's own logic, here as in the RTL.

Deciding at the spike: a FIRST_SPIKE inference ends in the cycle after its deciding spike;
what is still in flight then drains while the system is idle or waits for the next
inference's CLEAR. The model keeps clocking every block between inferences, so the drain
and its effect on the next inference's timing are predicted too; each core switches to the
next inference's golden spikes when it accepts that inference's CLEAR. Events recorded for
an inference are exactly those before its stop (``live``). Arithmetic is not simulated: spikes come from the
golden trace (and the MEMBRANE_MAX class from its decision). Stretches in which only the
cores' event/clear countdowns and the controller's guard move are skipped in one step.

Cycle numbering and driver convention
=====================================
Cycle ``c`` is the ``c``-th rising edge (as in :mod:`spikeforge.sim.cycle`); a handshake "at
cycle c" has valid and ready both sampled high at edge c.

* ``start`` is high in exactly one cycle S (the system idle there); S of the first
  inference is ``start_cycle``; the next inference starts at ``D + 1 + start_gap`` where D
  is the first cycle ``done`` is sampled high.
* The input items of an inference (for each tick ``t < ticks_run``: its events, then the
  ``last`` marker) are offered one after another: item k is offered (valid raised) at
  ``reference_k + gap_k`` and held until its handshake; ``reference_0 = S + 1``,
  ``reference_{k+1} = handshake_k + 1``.
* ``out_spikes.ready`` at cycle c is ``out_ready(c)`` (absolute cycle).

Closed-form lower bound (:func:`lower_bound_cycles`): every core must spend its CLEAR time,
then its per-event time per input event it receives and at least a silent update phase per
tick (:mod:`spikeforge.sim.cycle`), so an inference needs at least the busiest core's sum;
summed over the work, a ``synaptic events / weight-read rate`` bound follows; see the
function. Its ``work_bound`` counts the work alone, none of the design's overheads: the
weight words the busiest core must read and the state words it must update.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import chain
from typing import Callable, Sequence

import numpy as np

from spikeforge.ir.errors import ConfigError
from spikeforge.ir.params import Decision
from spikeforge.ir.plan import INPUT_PORT, check_plan
from spikeforge.ir.system import (DoubleBuffer, SystemConfig, check_double_buffer,
                                  core_tile_stage, double_buffered, input_withdrawn)
from spikeforge.sim.blocks.core import (UPDATE_STAGES, CoreModel, CorePhase,
                                       DoubleBufferedCoreModel)
from spikeforge.sim.blocks.decision import decision_model, decisive_classes, stops_at_tick_end
from spikeforge.sim.blocks.router import (FifoModel, MergerModel, MulticastModel, RouterModel,
                                         packets_of)
from spikeforge.sim.blocks.tick import TickControllerModel, TickState
from spikeforge.sim.cycle import clear_cycles, cycles_per_event, update_cycles, words

__all__ = ["InputSchedule", "InferenceTiming", "SystemModel", "predict_run",
           "lower_bound_cycles", "dependency_bound", "ticks_to_run", "ticks_offered",
           "input_items"]


def _always(cycle: int) -> bool:
    return True


def check_count(name: str, k) -> int:
    """``k`` where it is an integer >= 1 (not a bool), else a ``ConfigError`` naming
    ``name``: the models' counts of a design not built (reads a cycle, ticks ahead)."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"{name}: must be an integer >= 1, got {k!r}")
    return k


def _check_output_reads(k: int, layers) -> None:
    """``output_reads``: an integer >= 1; above 1 the output layer needs a layer before
    it and cores of one word (each takes a bundle of k events in one cycle)."""
    if check_count("output_reads", k) == 1:
        return
    if len(layers) < 2:
        raise ConfigError(f"output_reads: {k} needs a hidden layer (the link into the output "
                          "layer carries them)")
    wide = [c for c in layers[-1] if c.G != 1]
    if wide:
        raise ConfigError(f"output_reads: {k} needs output cores of one word; core "
                          f"({wide[0].layer}, {wide[0].index}) has {wide[0].G} "
                          f"({wide[0].N} neurons, {wide[0].L} lanes)")


@dataclass
class InputSchedule:
    """The input of one inference: ``events[t]`` (input indices in the order offered),
    ``event_gaps[t]`` (gap before each), ``marker_gaps[t]`` (gap before tick t's marker).
    Ticks past ``len(events)`` have no events (just a marker, gap 0)."""

    events: list
    event_gaps: list | None = None
    marker_gaps: list | None = None

    def __post_init__(self):
        self.events = [list(map(int, e)) for e in self.events]
        if self.event_gaps is None:
            self.event_gaps = [[0] * len(e) for e in self.events]
        if self.marker_gaps is None:
            self.marker_gaps = [0] * len(self.events)

    def items(self, ticks: int) -> list[tuple[int, int, int, int]]:
        """``(index, last, gap, tick)`` of every item of ticks ``0 .. ticks - 1``."""
        out = []
        for t in range(ticks):
            if t < len(self.events):
                for j, g in zip(self.events[t], self.event_gaps[t]):
                    out.append((j, 0, int(g), t))
                out.append((0, 1, int(self.marker_gaps[t]), t))
            else:
                out.append((0, 1, 0, t))
        return out


def input_items(schedule: InputSchedule, ticks: int):
    return schedule.items(ticks)


@dataclass
class InferenceTiming:
    """Predicted timing of one inference (all cycles absolute).

    ``start_cycle`` S, ``done_cycle`` D (first cycle ``done`` sampled high), ``cycles`` =
    D - S (the value of the system's ``cycles`` port after the inference);
    ``tick_done_cycles[t]``; ``input_cycles``: handshake cycle of every input item;
    ``out_events``: ``(neuron, tick, cycle)`` of every ``out_spikes`` handshake in order;
    ``monitor_events[l]``: ``(neuron, tick, cycle)`` of layer l's monitor pulses;
    ``ticks_run``, ``decision`` (class), ``decision_tick``, ``none``; ``clear_cycle``: the
    cycle the CLEAR is first offered to the cores (S + 1 unless the previous inference's
    stopped work is still draining); ``stop_cycle``: the cycle the tick controller ended the
    run at a decision's ``stop`` in an update phase (-1: the run was not cut short there).
    """

    start_cycle: int
    done_cycle: int = -1
    tick_done_cycles: list = field(default_factory=list)
    input_cycles: list = field(default_factory=list)
    out_events: list = field(default_factory=list)
    monitor_events: list = field(default_factory=list)
    ticks_run: int = 0
    decision: int = -1
    decision_tick: int = -1
    none: bool = False
    clear_cycle: int = -1
    stop_cycle: int = -1

    @property
    def cycles(self) -> int:
        return self.done_cycle - self.start_cycle


class _InputPort:
    """The input port of :class:`~spikeforge.hdl.system.SpikeforgeSystem`: ``inp`` feeds the
    input multicast to the layer-0 cores while the controller's ``input_open`` is high and
    the tick's marker (``last``) has not been taken; the marker is taken at once and closes
    the input until the controller's ``input_reopen``. (The RTL keeps this window, the
    controller's ``input_accepting``, as one flip-flop set by the controller's transitions;
    ``tests/sim/blocks/test_tick.py`` checks it against this definition.)"""

    def __init__(self, dests, n_cores: int, withdraw: bool = False):
        self.dests = frozenset(dests)
        self.multicast = MulticastModel(n_cores, withdraw)
        self.closed = False
        self.item = None
        self.ready = self.idle = False

    def accepting(self, input_open: bool) -> bool:
        return input_open and not self.closed

    def offer(self, item, input_open: bool, core_idle: Sequence[bool]) -> None:
        """``item`` = the ``(index, last, gap)`` offered in this cycle, or None."""
        self.item = item
        accepting = self.accepting(input_open)
        marker = item is not None and bool(item[1])
        event = item is not None and accepting and not marker
        self.multicast.offer(event, self.dests, core_idle)
        self.ready = accepting and (marker or self.multicast.i_ready)
        self.idle = (self.closed or not input_open) and self.multicast.idle

    @property
    def handshake(self) -> bool:
        return self.item is not None and self.ready

    def clock(self, reopen: bool) -> None:
        if self.handshake and self.item[1]:
            self.closed = True
        self.multicast.clock()
        if reopen:  # wins over the marker, as in the RTL
            self.closed = False


class SystemModel:
    """The blocks of :class:`~spikeforge.hdl.system.SpikeforgeSystem` for ``plan`` and
    ``system``, wired the same way: per layer its cores, a merger, the optional FIFO and the
    router to the next layer (the output layer's packets go to ``out_spikes``); the input
    port; the tick controller; the decision unit. :func:`predict_run` is the convenient entry
    point.

    ``output_reads`` k > 1 models a design that is not built (:mod:`spikeforge.sim.planned`):
    the merger of the layer before the output layer grants up to k of its cores a cycle, its
    FIFO and router carry them as one bundle, and each output core, one word
    (``ConfigError`` otherwise), takes the bundle in one cycle, reading k weight words."""

    #: ticks past the output layer's that layer 0 may take input for (:func:`predict_run`
    #: offers them too; 0 here: the next tick's, with ``overlap``, is ``ticks_offered``'s)
    lookahead_ticks = 0
    #: skip the stretches in which only countdowns move and take the input stream in closed
    #: form (False: step every cycle, for models whose blocks the fast paths do not know)
    fast_forward = True

    def __init__(self, plan, system: SystemConfig = SystemConfig(), *,
                 out_ready: Callable[[int], bool] = _always, train: bool = False,
                 output_reads: int = 1):
        self.plan = plan
        self.train = train  # a training inference: the decision does not stop it
        self.mode = system.decision
        self.fifo_depth = system.fifo_depth
        self.guard = system.guard
        self.out_ready = out_ready
        layers, routes = check_plan(plan)
        self.L = len(layers)
        check_double_buffer(system, len(layers))
        self.layers = [[self._core_model(c, system, l, len(layers)) for c in cores]
                       for l, cores in enumerate(layers)]
        self.cores = [c for layer in self.layers for c in layer]  # the controller's order
        self.n_classes = sum(c.N for c in self.layers[-1])
        self.offsets = [[routes[(l, c.index)].source_offset for c in cores]
                        for l, cores in enumerate(layers)]
        self.port = _InputPort(routes[(INPUT_PORT, 0)].destination_cores, len(layers[0]),
                               input_withdrawn(system))
        # output_reads k > 1 (not built; sim/planned.py): the link into the output layer
        # carries up to k spikes a cycle, which its cores of one word take in one cycle
        _check_output_reads(output_reads, self.layers)
        self.mergers = [MergerModel(len(cores), output_reads if l == len(layers) - 2 else 1)
                        for l, cores in enumerate(layers)]
        self.fifos = [FifoModel(system.fifo_depth) if system.fifo_depth else None
                      for _ in layers]
        # each layer's packet stream: the FIFO's output, or the merger's without a FIFO
        self.packets = [m if f is None else f for m, f in zip(self.mergers, self.fifos)]
        self.routers = [RouterModel([routes[(l, c.index)].destination_cores for c in cores],
                                    len(layers[l + 1])) for l, cores in enumerate(layers[:-1])]
        self.feeds = [self.port.multicast, *self.routers]  # each layer's spike_in source
        self.ctrl = TickControllerModel(len(self.cores), system.guard, system.overlap,
                                        stops=stops_at_tick_end(system.decision, plan))
        self.decision = decision_model(system.decision, self.n_classes, decisive_classes(plan))
        self.final_class = -1  # MEMBRANE_MAX: the golden class of the next inference
        self.busy = False
        self.cycle = 0
        self.spikes = None  # per layer [ticks, n] bool of the current inference
        self.out_ready_now = True
        self.live = False
        self.out_spike = None
        self.core_idle = []  # per layer, per core: idle
        self.core_ready = []  # per core (flat): spike_in.ready
        self.spike_in = []  # per core (flat, the controller's order): spike_in.valid
        self._none_accepted = [False] * len(self.cores)
        self.accepted = self._none_accepted  # per core: its command is accepted

    def _core_model(self, plan_core, system: SystemConfig, l: int, n_layers: int) -> CoreModel:
        """The block model of a core of layer ``l`` (of ``n_layers``), as the system builds it."""
        if double_buffered(system.double_buffer, l):
            return DoubleBufferedCoreModel(plan_core, events_first=False)
        return CoreModel(plan_core, events_first=False, tile_stage=core_tile_stage(
            system, l, n_layers, plan_core.config.lanes, plan_core.config.words))

    # -- one inference -----------------------------------------------------------------
    def run_inference(self, spikes: Sequence[np.ndarray], items, n_ticks: int,
                      start_cycle: int, max_cycles: int = 50_000_000) -> InferenceTiming:
        """Advance from ``self.cycle`` (<= ``start_cycle``) through one inference whose start
        pulse is at ``start_cycle``; ``spikes[l]`` = ``[ticks, n_l]`` golden spikes;
        ``items`` = ``(index, last, gap)`` input items in order."""
        self._load(spikes)
        timing = InferenceTiming(start_cycle, monitor_events=[[] for _ in range(self.L)])
        items = list(items)
        k = 0  # next item
        offer_at = None  # cycle the current item is offered from
        reference = start_cycle + 1
        limit = start_cycle + max_cycles
        while True:
            c = self.cycle
            if c > limit:
                raise RuntimeError(f"system model: inference did not finish within {max_cycles} cycles")
            current = items[k] if k < len(items) and c >= start_cycle + 1 else None
            if current is not None and offer_at is None:
                offer_at = reference + current[2]
            if (self.fast_forward and current is not None and not current[1]
                    and self._streamable(c, start_cycle)):
                k, reference = self._stream(items, k, offer_at, timing)
                offer_at = None
                continue
            skip = self._skippable(current, start_cycle) if self.fast_forward else 0
            if skip:
                self._skip(skip)
                continue
            offered = current if current is not None and c >= offer_at else None
            taken, done = self._step(c == start_cycle, offered, n_ticks, timing)
            self.cycle += 1
            if taken:
                timing.input_cycles.append(c)
                k += 1
                reference = c + 1
                offer_at = None
            if done and c > start_cycle:
                self._result(timing, c)
                return timing

    def _load(self, spikes) -> None:
        """The next inference's golden spikes; each core takes them with its CLEAR (a core may
        still be finishing the previous inference's update phase)."""
        self.spikes = [np.asarray(s, dtype=bool) for s in spikes]
        self.decision.golden_class = self.final_class

    def _result(self, timing: InferenceTiming, done_cycle: int) -> None:
        timing.done_cycle = done_cycle
        timing.ticks_run = self._ticks_run
        timing.decision = self.decision.cls
        timing.none = self.decision.none
        timing.decision_tick = self.decision.decision_tick(self._ticks_run)

    @property
    def _ticks_run(self) -> int:
        """The ticks the run has begun (the output layer's, where layers tick apart)."""
        return self.ctrl.ticks_run

    @property
    def _ctrl_done(self) -> bool:
        """The tick control has ended the run."""
        return self.ctrl.done

    # -- one cycle ---------------------------------------------------------------------
    def _step(self, start: bool, item, n_ticks: int, timing: InferenceTiming):
        """Cycle ``self.cycle``; returns (input item taken, ``done`` sampled high)."""
        done = self.decision.valid and (self._ctrl_done or self._stop)
        begin = start and not self.busy
        self._settle(begin, item)
        taken = self.port.handshake
        self._record(timing)
        self._clock(n_ticks)
        if self.busy and done:
            self.busy = False
        if begin:
            self.busy = True
        return taken, done

    def _settle(self, begin: bool, item) -> None:
        """Every block's combinational outputs of this cycle, from the registers."""
        self.core_idle = idle = [[core.idle for core in layer] for layer in self.layers]
        ready = [[core.in_ready for core in layer] for layer in self.layers]  # spike_in.ready
        self.core_ready = list(chain.from_iterable(ready))
        self.port.offer(item, self.ctrl.input_open, ready[0])
        for l, router in enumerate(self.routers):
            router.route(self.packets[l].o_valid, self.packets[l].o_payload, ready[l + 1])
        quiet = self._links_idle() and all(all(row) for row in idle)
        self.out_ready_now = bool(self.out_ready(self.cycle))
        self.live = ((self.ctrl.event_phase or self.ctrl.update_phase)
                     and not self._stop)
        for l, layer in enumerate(self.layers):
            spikes = [core.out_n if core.out_valid else None for core in layer]
            self.mergers[l].arbitrate(spikes, self._merger_ready(l))
        last = self.packets[-1]
        self.out_spike = (self._neuron(self.L - 1, last.o_payload)
                          if last.o_valid and self.out_ready_now and self.live else None)
        self.spike_in = [valid for feed in self.feeds for valid in feed.o_valid]
        self.ctrl.settle(begin, quiet, self._stop)
        if self.ctrl.offer or self.ctrl.pending:
            self.accepted = [self.ctrl.command_valid(n) and core.command_ready(self.spike_in[n])
                             for n, core in enumerate(self.cores)]
        else:
            self.accepted = self._none_accepted

    @property
    def _stop(self) -> bool:
        """The decision's early exit, as the tick controller sees it (never in training)."""
        return self.decision.stop and not self.train

    def _links_idle(self) -> bool:
        """Every link's ``idle`` (the controller's quiet besides the cores)."""
        return self.port.idle and self._links_idle_but_port()

    def _packets_ready(self, l: int) -> bool:
        return self.routers[l].i_ready if l < self.L - 1 else self.out_ready_now or not self.live

    def _merger_ready(self, l: int) -> bool:
        fifo = self.fifos[l]
        return self._packets_ready(l) if fifo is None else fifo.i_ready

    def _neuron(self, l: int, packet) -> int:
        source, index = packet
        return self.offsets[l][source] + index

    def _record(self, timing: InferenceTiming) -> None:
        tick = self.ctrl.tick
        if self.out_spike is not None:
            timing.out_events.append((self.out_spike, tick, self.cycle))
        for l, merger in enumerate(self.mergers):
            if merger.handshake and self.live:
                for packet in packets_of(merger.o_payload):
                    timing.monitor_events[l].append((self._neuron(l, packet), tick, self.cycle))
        if self.ctrl.tick_done:
            timing.tick_done_cycles.append(self.cycle)
        if self.ctrl.offer and self.ctrl.state is TickState.ISSUE_CLEAR:
            timing.clear_cycle = self.cycle
        if self.ctrl.stopped:
            timing.stop_cycle = self.cycle

    def _clock(self, n_ticks: int) -> None:
        """The clock edge. Each block reads its own registers and this cycle's settled
        values; the FIFO reads the merger's register, so it takes the edge first."""
        ctrl, tick = self.ctrl, self.ctrl.tick
        grants = [merger.grants for merger in self.mergers]
        for core, idle, ready, spike_in, accepted in zip(
                self.cores, chain.from_iterable(self.core_idle), self.core_ready, self.spike_in,
                self.accepted):
            if idle and not (spike_in or accepted):
                continue  # an idle core offered nothing keeps its state (and it is most cores)
            if accepted and not ctrl.is_tick:  # its CLEAR: the new inference's spikes
                core.load(self.spikes[core.layer])
            core.clock(spike_in and ready, accepted, ctrl.is_tick, tick,
                       core.index in grants[core.layer])
        self._clock_links(ctrl.input_reopen)
        ctrl.clock(n_ticks, sum(1 << n for n, a in enumerate(self.accepted) if a))
        self.decision.clock(self.out_spike, tick, ctrl.tick_done, ctrl.finished, ctrl.clear)

    def _clock_links(self, input_reopen: bool) -> None:
        """The input port's, routers', FIFOs' and mergers' edge (each FIFO before its merger:
        it reads the merger's register)."""
        self.port.clock(input_reopen)
        for router in self.routers:
            router.clock()
        for l, merger in enumerate(self.mergers):
            if self.fifos[l] is not None:
                self.fifos[l].clock(merger.handshake, merger.o_payload, self._packets_ready(l))
            merger.clock()

    # -- fast-forward ------------------------------------------------------------------
    def _skippable(self, current_item, start_cycle: int) -> int:
        """Cycles that can be skipped from ``self.cycle`` because nothing but the cores'
        countdowns and the controller's guard can change: the controller waits for quiet
        with no command pending, no marker is offered to an open input, every link is
        either empty or blocked (:meth:`_link_state`), no idle core can be fed, and some
        core is busy (so quiet cannot be reached) for all of them."""
        if not self.ctrl.waiting() or self.decision.valid:
            return 0  # (a valid decision may raise done in this very cycle)
        feeding = self.port.accepting(self.ctrl.input_open) and current_item is not None
        if feeding and current_item[1]:
            return 0
        blocked = []
        for l in range(self.L):
            state = self._link_state(l)
            if state is None:
                return 0
            blocked.append(state)
        edges = []
        for core in self.cores:
            if (blocked[core.layer] and core.phase is CorePhase.IDLE and core.skid_valid
                    and not core.events_left()
                    and (core.o_valid or not core.queue) and not self._may_feed(core, feeding)):
                continue  # its spikes wait behind a blocked link and cannot move: the skid
                # register is full, and so is the output register or there is no word to pop;
                # and no event can reach it (it would take one: spike_in.ready is the phase's)
            k = core.skippable()
            if k is None and self._may_feed(core, feeding):
                return 0
            if k is not None:
                edges.append(k)
        if not edges:
            return 0
        k, c = min(edges), self.cycle
        if c <= start_cycle <= c + k:
            k = start_cycle - c - 1
        return max(k, 0)

    def _link_state(self, l: int) -> bool | None:
        """Layer ``l``'s link (merger, FIFO, router): False when empty, True when blocked,
        None when it may move in this cycle.

        Blocked: its head packet (the FIFO's output, else the merger's) waits for
        destination cores of the next layer that have not taken it (they must be busy:
        :meth:`_may_feed` refuses the skip for an idle one, and their own state bounds it);
        behind it, a FIFO is full whenever the merger holds a packet, and an empty merger
        has no core's spike to grant. The
        output layer's packets go to ``out_spikes``, whose ``ready`` is the driver's, so
        that link is never blocked."""
        merger, fifo = self.mergers[l], self.fifos[l]
        head = merger if fifo is None else fifo
        pending = any(core.out_valid or core.queue for core in self.layers[l])
        if fifo is not None and fifo.refilling:
            return None
        if not head.o_valid:
            return None if merger.o_valid or pending else False
        if l == self.L - 1:
            return None
        if fifo is not None and (merger.o_valid or pending) and fifo.i_ready:
            return None  # the merger writes into the FIFO, or grants into its free register
        if fifo is not None and not merger.o_valid and pending:
            return None  # an empty merger grants whatever its ready
        router = self.routers[l]
        waiting = [d for d in router.dests(head.o_payload) if d not in router.done]
        return True if waiting else None  # (an idle one among them: see _may_feed)

    def _links_settled(self) -> bool:
        for l, merger in enumerate(self.mergers):
            fifo = self.fifos[l]
            if merger.o_valid:
                return False
            if fifo is not None and (fifo.refilling or (l == self.L - 1 and fifo.o_valid)):
                return False
        return True

    def _may_feed(self, core: CoreModel, feeding: bool) -> bool:
        """Something may reach the idle ``core`` (the input, or a packet in front of its
        layer's router)."""
        if core.layer == 0:
            return feeding
        l = core.layer - 1
        head = self.mergers[l] if self.fifos[l] is None else self.fifos[l]
        return head.o_valid and core.index in self.routers[l].dests(head.o_payload)

    def _skip(self, k: int) -> None:
        for core in self.cores:
            core.skip(k)
        self.ctrl.skip(k)
        self.cycle += k

    # -- the input stream in closed form -------------------------------------------------
    def _streamable(self, c: int, start_cycle: int) -> bool:
        """The input stream in its steady state, where only the input port and the layer-0
        cores move: the input is open (an event phase, or an overlapped update phase), the
        controller waits (nothing pending, no decision to end the run),
        the multicast starts a fresh packet, every link is empty, every core of a later
        layer is idle and no layer-0 core has a spike queued, is updating or clearing."""
        ctrl = self.ctrl
        if (c <= start_cycle or not ctrl.input_open or ctrl.pending or self.port.closed
                or self.port.multicast.done or self._stop or self.decision.valid):
            return False
        if not self._links_settled() or not self._links_idle_but_port():
            return False
        for core in self.cores:
            if core.queue or core.out_valid or core.phase in (CorePhase.UPDATE, CorePhase.CLEAR):
                return False
            if core.layer and not core.idle:  # (a double-buffered core's events count down)
                return False
        return True

    def _links_idle_but_port(self) -> bool:
        """Every merger, FIFO and router idle."""
        for l in range(self.L):
            fifo = self.fifos[l]
            if not self.mergers[l].idle or (fifo is not None and not fifo.idle):
                return False
            if l < self.L - 1 and not self.routers[l].idle:
                return False
        return True

    def _stream(self, items, k: int, offer_at, timing: InferenceTiming):
        """The run of input events from ``items[k]`` up to the next marker, in closed form.

        A layer-0 core takes its next event ``G`` cycles after it takes one (it
        counts its G words down, :class:`CoreModel`); the multicast offers an event to every
        destination from its offer cycle on, each takes it in the first cycle it is free,
        and the handshake is the cycle the last one takes it. The next event is offered
        ``gap`` cycles after the cycle that follows. Nothing else moves meanwhile: no
        spike is produced in an event phase, the controller only counts its guard down
        (quiet needs a closed input). Returns the next item and its reference cycle; the
        model stands in the cycle after the last handshake."""
        c0 = self.cycle
        dests = sorted(self.port.dests)
        layer0 = self.layers[0]
        free = {d: c0 + layer0[d].edges_to_ready() for d in range(len(layer0))}
        taken_at = {}
        offer = c0 if offer_at is None else offer_at  # offer_at is set for items[k]
        while k < len(items) and not items[k][1]:
            takes = [max(offer, free[d]) for d in dests]
            handshake = max(takes)
            for d, t in zip(dests, takes):
                taken_at[d] = t
                free[d] = t + layer0[d].G
            timing.input_cycles.append(handshake)
            k += 1
            reference = handshake + 1
            if k < len(items):
                offer = reference + items[k][2]
        end = reference
        for d, core in enumerate(layer0):
            if d in taken_at:  # accepted at edge taken_at[d], counted down since
                left = core.G - (end - 1 - taken_at[d])
            else:
                left = core.events_left() - (end - c0)
            core.set_events_left(max(left, 0))
        self.ctrl.skip(end - c0)
        self.cycle = end
        return k, reference


def ticks_to_run(trace, image: int, n_ticks: int, train: bool = False) -> int:
    """Ticks the system runs for ``image`` of a golden :class:`NetworkTrace` of ``n_ticks``
    ticks: ``decision_tick + 1`` for FIRST_SPIKE (early exit), else (and for a training
    inference, ``train``) ``n_ticks``."""
    if trace.decision_mode is Decision.FIRST_SPIKE and not train:
        return int(trace.decision_tick[image]) + 1
    return n_ticks


def ticks_offered(trace, image: int, n_ticks: int, overlap: bool, train: bool = False) -> int:
    """Ticks whose input the host offers for ``image``: those it runs
    (:func:`ticks_to_run`), and with ``overlap`` the next one too where the run stops early:
    its input is taken during the deciding tick's update phase, until the stop. (A host
    offers its ticks in order until ``done``; no item of a later tick can be taken.)"""
    run = ticks_to_run(trace, image, n_ticks, train)
    return min(run + 1, n_ticks) if overlap else run


def predict_run(plan, trace, schedules: Sequence[InputSchedule], n_ticks: int, *,
                system: SystemConfig | None = None, out_ready: Callable[[int], bool] = _always, start_cycle: int = 0,
                start_gaps: Sequence[int] | None = None,
                train: bool = False, model: SystemModel | None = None) -> list[InferenceTiming]:
    """Predict back-to-back inferences of a batch (the driver convention of the module).

    ``trace``: the golden :class:`~spikeforge.sim.network.NetworkTrace` of the batch run for
    ``n_ticks`` ticks; ``system``: the system's settings (default: ``SystemConfig`` with the
    trace's ``decision_mode``; a different decision is refused); ``schedules[b]``:
    image b's input timing (its events must be those of ``trace.input_counts[b]``);
    ``start_gaps[b]``: extra idle cycles before image b + 1's start (default 0).
    Image 0 starts at ``start_cycle``; image b + 1 at ``D_b + 1 + start_gaps[b]``.
    ``train``: training inferences of a learning build (``train`` high at the start): the
    decision does not stop them, every one runs ``n_ticks`` ticks. ``model``: go on with
    this :class:`SystemModel` (its blocks keep their state from the inferences it ran, as
    the hardware's do, e.g. a merger's round-robin pointer), ``start_cycle`` at or after its
    ``cycle``; the run of a batch split into calls (a learning run changes the weights
    between images) is then predicted as one run.
    """
    system = SystemConfig(trace.decision_mode) if system is None else system
    if system.decision is not trace.decision_mode:
        raise ConfigError(f"system.decision: {system.decision.value} but the golden trace was "
                          f"decided by {trace.decision_mode.value}")
    if model is None:
        model = SystemModel(plan, system, out_ready=out_ready, train=train)
    elif model.train != train or model.plan is not plan:
        raise ConfigError("model: a SystemModel of this plan and train setting")
    timings = []
    start = start_cycle
    batch = trace.input_counts.shape[0]
    if len(schedules) != batch:
        raise ConfigError(f"schedules: expected {batch} (one per image), got {len(schedules)}")
    for b in range(batch):
        ticks = min(ticks_offered(trace, b, n_ticks, system.overlap, train)
                    + model.lookahead_ticks, n_ticks)
        items = [(j, last, gap) for j, last, gap, _ in schedules[b].items(ticks)]
        spikes = [s[b] for s in trace.spikes]
        model.final_class = int(trace.decision[b])  # MEMBRANE_MAX: the class is the golden one
        timing = model.run_inference(spikes, items, n_ticks, start)
        timings.append(timing)
        gap = start_gaps[b] if start_gaps is not None and b < len(start_gaps) else 0
        start = timing.done_cycle + 1 + int(gap)
    return timings


def lower_bound_cycles(plan, trace, image: int = 0, n_ticks: int | None = None,
                       double_buffer: DoubleBuffer = False, reads=None) -> dict:
    """Closed-form lower bounds on the cycles of one inference (start to ``done``).

    A core is busy ``clear_cycles`` on the CLEAR, ``cycles_per_event`` per input event it
    receives and at least ``update_cycles`` (a silent update phase) per tick, one thing at a
    time (:mod:`spikeforge.sim.cycle`, the core's own timing). So

    * ``core_bound`` = max over cores of ``clear + events_to_core * per_event + ticks_run *
      update`` (a true lower bound on the busy time of the busiest core);
    * ``synaptic_bound`` = ``synaptic_events / sum over cores of (N / per_event) + ticks_run *
      min update``: the network's synaptic operations (weights read; a core reads its N
      weights of an event in ``per_event`` cycles) spread perfectly over all cores, plus one
      update phase per tick.

    ``double_buffer`` (:attr:`SystemConfig.double_buffer
    <spikeforge.ir.system.SystemConfig>`): a double-buffered core takes events while it
    updates, so only the CLEAR excludes both -- ``clear + max(events_to_core * per_event,
    ticks_run * update)``, and where any core is, ``max(synaptic_events / rate, ticks_run *
    min update)``; the sums above are not bounds of such a core (the double-buffered demo:
    1,348 cycles against a core_bound of 1,436).

    ``bound`` is the larger. ``events_to_core`` counts the events of layer l in the ticks the
    system runs (``NetworkTrace.statistics()``, early exit included).

    ``work_bound`` (:func:`work_bound`) = max over cores of ``G * (events_to_core +
    ticks_run)``: the weight words the core must read (each event reads its ``G = ceil(N /
    L)`` words of L weights) plus the state words it must update (G per tick), at one word
    of each per cycle and nothing else -- no CLEAR, no pipeline fill or drain, no cycle
    between items, no tick barrier. It is the yardstick of issue 10's "1.2x a bound from
    the work alone": ``bound`` says how far the cores' own timing allows, ``work_bound``
    how far the work.
    It is the issue's definition, the same with ``double_buffer``, whose cores read the
    words of both at once and can go below it (the TTFS digits board design: 0.996x).

    ``dependency_bound`` (:func:`dependency_bound`) adds to the work the order the contract
    puts on it: a spike of tick t - 1 must exist before the next layer reads it. ``reads``:
    both bounds' (a design not built).
    """
    ticks = n_ticks if n_ticks is not None else trace.ticks
    stats = trace.statistics(until_decision=trace.decision_mode is Decision.FIRST_SPIKE)
    ticks_run = int(stats.ticks_run[image]) if trace.decision_mode is Decision.FIRST_SPIKE else ticks
    events = stats.input_events[image]  # per layer

    def both(layer):  # events beside the updates, or after them
        return max if double_buffered(double_buffer, layer) else operator.add

    core_bound = max(clear_cycles(c) + both(c.layer)(int(events[c.layer]) * cycles_per_event(c),
                                                     ticks_run * update_cycles(c))
                     for c in plan.cores)
    synaptic = int(stats.synaptic_events[image].sum())
    rate = sum(Fraction(c.n_neurons, cycles_per_event(c)) for c in plan.cores)
    update_min = min(update_cycles(c) for c in plan.cores)
    spread = max if any(double_buffered(double_buffer, c.layer) for c in plan.cores) \
        else operator.add
    synaptic_bound = spread(math.ceil(Fraction(synaptic) / rate), ticks_run * update_min)
    return {"core_bound": core_bound, "synaptic_bound": synaptic_bound,
            "bound": max(core_bound, synaptic_bound),
            "work_bound": work_bound(plan, events, ticks_run, reads),
            "dependency_bound": dependency_bound(plan, trace, image, ticks_run, reads),
            "synaptic_events": synaptic, "ticks_run": ticks_run}


def _reads(reads, layer: int) -> int:
    """Event words a core of ``layer`` reads a cycle: ``reads[layer]`` where given, else 1
    (the cores as built)."""
    return check_count(f"reads: layer {layer}", 1 if reads is None else reads.get(layer, 1))


def _whole(x):
    """``x`` as an ``int`` where it is one (every bound of the cores as built)."""
    return int(x) if Fraction(x).denominator == 1 else x


def work_bound(plan, events, ticks_run: int, reads=None):
    """Issue 10's yardstick (:func:`lower_bound_cycles`): max over cores of the weight words
    the core must read, ``G * events_to_core`` (``events``: each layer's input events), plus
    the state words it must update, ``G`` a tick, at one word of each per cycle.

    ``reads`` (a mapping layer -> k; for designs not built): the cores of that layer read k
    event words a cycle, so their events' words take ``G * events / k`` cycles (a
    :class:`~fractions.Fraction` where k does not divide them)."""
    return _whole(max(Fraction(words(c), _reads(reads, c.layer)) * int(events[c.layer])
                      + words(c) * ticks_run for c in plan.cores))


def dependency_bound(plan, trace, image: int, ticks_run: int, reads=None,
                     pipelined: bool = False):
    """Cycles that no design of ``plan``'s cores can beat, from the work and the contract's
    order alone (issue 10 point 3: how far below the work bound a schedule can go).

    Each core c (``G_c`` = :func:`~spikeforge.sim.cycle.words`) reads one weight word a
    cycle, ``G_c`` an event, and updates one state word a cycle, ``G_c`` a tick -- the two
    at once if it likes (double-buffered), nothing else costs a cycle (no CLEAR, no pipeline,
    no link, no barrier, input ready at cycle 0). For tick t = 0 .. ticks_run - 1:

    * its events are released at cycle 0 (layer 0: the external events of tick t) or at
      ``S(s, t - 1) + 1`` (a layer behind: source core s's spikes of tick t - 1 exist after
      the first cycle of s's update of tick t - 1);
    * ``A(c, t)``: it reads them in tick order, in order of release, none before its
      release: ``A = A(c, t - 1)``, then ``A = max(A, release) + events * G_c`` per source;
    * ``S(c, t) = max(A(c, t), U(c, t - 1))``: the update of tick t needs the tick's
      events and the state of tick t - 1; ``U(c, t) = S(c, t) + G_c``.

    The inference ends at ``max_c U(c, last)``; a first-spike one that has an output spike
    at its first output spike, ``min S(c, last) + 1`` over the output cores spiking in the
    last tick. With one layer it is the work of the busiest core with its reads and
    updates overlapped; behind a layer whose spikes come late in the run, more than the
    work bound (MNIST-fast: 1.23x, docs/architecture.md "What no schedule can beat").

    ``reads`` (as :func:`work_bound`'s; a design not built): the cores of a layer read k
    event words a cycle, so an event takes ``G_c / k`` cycles -- what an output core taking
    k events a cycle would allow.

    ``pipelined`` (stop 75): the same with two facts of these cores that no controller
    changes, P = :data:`~spikeforge.sim.blocks.core.UPDATE_STAGES` (8): a word updated at
    cycle X is written at X + P, so the update of tick t reads word g no sooner than tick t
    - 1's write of it (``U(c, t) = S(c, t) + max(G_c, P)``), and its spikes exist from
    there; a core sends one spike a cycle, in neuron order (neuron n, word ``n // L``, is
    released at ``max(S + n // L + P, the core's previous spike + 1)``), and a destination
    reads the spikes of a tick in order of release, one at a time. The end is the last
    write, ``max_c S(c, last) + G_c - 1 + P``; a first-spike run's first output spike
    ``S + g + P`` (its word g)."""
    per_cycle = {c.core_id: _reads(reads, c.layer) for c in plan.cores}
    stages = UPDATE_STAGES if pipelined else 0
    start: dict[int, int] = {}  # S(c, t - 1) while tick t is computed
    read: dict[int, int] = {}  # A(c, t - 1)
    done: dict[int, int] = {}  # U(c, t - 1)
    for t in range(ticks_run):
        now = {}
        for c in plan.cores:
            g = words(c.config)
            a = read.get(c.core_id, 0)
            for released, events in _releases(plan, trace, image, t, c, start, stages):
                if events:
                    a = max(a, released) + Fraction(events * g, per_cycle[c.core_id])
            read[c.core_id] = a
            now[c.core_id] = max(a, done.get(c.core_id, 0))
            done[c.core_id] = now[c.core_id] + max(g, stages)
        start = now
    last = stages - 1 if pipelined else 0  # the last word's write, or the update's end
    if trace.decision_mode is Decision.FIRST_SPIKE:
        out = trace.spikes[-1][image, ticks_run - 1]
        spiking = [start[c.core_id] + (np.flatnonzero(
                       out[c.neuron_offset:c.neuron_offset + c.n_neurons])[0]
                       // c.config.lanes + stages if pipelined else 1)
                   for c in plan.cores_of_layer(plan.n_layers - 1)
                   if out[c.neuron_offset:c.neuron_offset + c.n_neurons].any()]
        if spiking:
            return _whole(min(spiking))
    return _whole(max(start[c.core_id] + words(c.config) + last for c in plan.cores))


def _releases(plan, trace, image: int, t: int, core, start: dict, stages: int) -> list:
    """``(cycle, events)`` released to ``core`` for tick ``t``, in order of release
    (:func:`dependency_bound`; ``start``: each core's ``S(c, t - 1)``, ``stages`` its P,
    0 for the bound without the pipeline)."""
    if core.layer == 0:
        return [(0, int(trace.input_counts[image, t].sum()))]
    if t == 0:
        return []
    spikes = trace.spikes[core.layer - 1][image, t - 1]
    sources = plan.cores_of_layer(core.layer - 1)
    if not stages:
        return sorted((start[s.core_id] + 1,
                       int(spikes[s.neuron_offset:s.neuron_offset + s.n_neurons].sum()))
                      for s in sources)
    out = []
    for s in sources:  # one spike a cycle per source core, from its word's write
        at = -1
        for n in np.flatnonzero(spikes[s.neuron_offset:s.neuron_offset + s.n_neurons]):
            at = max(start[s.core_id] + int(n) // s.config.lanes + stages, at + 1)
            out.append((at, 1))
    return sorted(out)
