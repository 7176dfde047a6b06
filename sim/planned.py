"""The cycle model of per-layer ticks (:class:`LayerTicksModel`), a design for issue 10
point 3 that is not built in RTL, to say what it would give before it is built, alone or
with double-buffered cores (built since stop 59: a system of
:attr:`SystemConfig.double_buffer <spikeforge.ir.system.SystemConfig>` gives the models of
its double-buffered layers :class:`~spikeforge.sim.blocks.core.DoubleBufferedCoreModel` cores).
``scripts/where_cycles_go.py`` and ``scripts/per_core_ticks_estimate.py`` run them on
compiled artifacts.

Per-layer ticks
===============

One tick controller per layer, and each layer's spikes held at its cores' outputs while the
next layer has not begun their tick.

Today one controller offers TICK to every core at once when the whole system is quiet, so
a tick lasts as long as its busiest layer. Here layer l has a controller of its own
(:class:`LayerTickControllerModel`, the :class:`~spikeforge.sim.blocks.tick.TickControllerModel`
FSM with two more inputs) and ``b[l]`` = the ticks it has begun. The contract (a spike of
layer l in tick t is integrated by layer l + 1 between its updates of t and t + 1) holds by
three rules, each a few flip-flops in hardware:

* **upstream**: layer l offers TICK(t) once layer l - 1 has ended its update of tick t - 1
  and the links into layer l are quiet (its spikes of tick t - 1 are in layer l's cores);
* **gate**: layer l's spikes leave its cores only while ``b[l + 1] >= b[l]`` (layer l + 1
  has begun the tick they belong to); until then ``spike_out`` stalls, as under any
  backpressure, and layer l's update waits for it;
* **lookahead**: layer l offers TICK(t) only once ``b[l + 1] >= t`` (layer l + 1 has begun
  tick t - 1), so a layer is at most one tick ahead of the next and the gate is one bit.

A link then holds one tick's spikes at a time (layer l + 1 begins tick t + 1 only with its
links quiet, and layer l's spikes of t + 1 wait for that), so the monitor tags them with
the tick of the layer that sent them (``sent_tick``). What stays global: the CLEAR (all
layers at once, when the whole system is quiet, so that a stopped run's drain is not taken
as the next run's events), a first-spike ``stop`` (it ends every layer's run, and the gates
open so that everything drains), and the run's end (every layer has run ``n_ticks``).

Layer l's quiet is its cores' idle bits and the links into it (the input port for layer 0);
the output layer's includes its own merger and FIFO, so that its update ends with its spikes
at ``out_spikes``, as today. A layer's last update waits for the whole system's quiet, so
that the run ends with every link drained (the monitors report every spike of every tick
run), whichever layer ends last. :class:`LayerTicksModel` also checks the contract as it runs
(``violations``): every event a core of layer l >= 1 takes between its TICKs of t - 1 and t
must be a spike of layer l - 1 in tick t - 1 routed to it, and every such spike must come.

A link of k spikes a cycle into the output layer
================================================

(stop 75; ``output_reads`` of :class:`~spikeforge.sim.system_cycle.SystemModel` and so of
:class:`LayerTicksModel`.) The output core of MNIST-fast takes its ~400 hidden spikes one a
cycle, 95 % of its work bound; stop 67's bounds said that taking two a cycle leaves the
contract's order no reason to miss 1.2x (dependency / work 1.23x -> 1.03x). The model: the
merger of the layer before the output layer grants up to k of its cores a cycle
(:class:`~spikeforge.sim.blocks.router.MergerModel`'s ``width``), its FIFO and router carry
them as one bundle (to every destination of a packet in it), and an output core of one word
takes the bundle in one cycle, its k weight words read at once (two read ports of the weight
memory, or a copy of it; a modular sum of the k weights, so the contract does not change).
The same contract checks hold on random systems (``tests/sim/test_planned.py``).

Hidden cores that drain behind their next tick
==============================================

(stop 75; ``drain_behind`` and ``lookahead`` of :class:`LayerTicksModel`.) With the output
layer taking two spikes a cycle the busiest core of MNIST-fast is a hidden core, and its
next TICK waited for its spikes to leave, one a cycle. With ``drain_behind`` the cores of
the hidden layers take their next TICK once their update has ended, their spikes still
leaving (:class:`DrainBehindCoreModel`: every queue word, the output and the skid register
carry the tick of the update that made them; the credit still bounds the queue). The
contract then needs, in place of "the update has ended":

* **upstream**: layer l + 1 offers TICK(t) once layer l has ended its update of t - 1 and
  no spike of a tick before t is left in layer l's cores or link (:meth:`_older_spikes`:
  in hardware a count of a tick's spikes not yet delivered);
* **gate**: a spike of tick s leaves its core once layer l + 1 has taken TICK(s)
  (:meth:`_may_leave`: a compare of the spike's tick with the next layer's); with link
  FIFOs, whose gate is at their output, once no core of its layer holds a spike of an
  earlier tick, so that a link holds its spikes in tick order (else a spike of tick t + 1
  ahead of one of t blocks the FIFO's head for good);
* **lookahead** (``lookahead`` K, 1 by default): a layer offers TICK(t) once the next has
  begun tick t - K; above 1 only with ``drain_behind``, whose gate compares ticks.

Each rule is shown to be needed (tests/sim/test_planned.py: without it the contract check
fails or the model deadlocks). The output layer's cores keep today's TICK (its spikes end a
first-spike run).
"""

from __future__ import annotations

from collections import Counter, deque

import numpy as np

from spikeforge.ir.errors import ConfigError
from spikeforge.ir.params import Decision
from spikeforge.sim.blocks.decision import stops_at_tick_end
from spikeforge.sim.blocks.core import CoreModel, CorePhase, DoubleBufferedCoreModel
from spikeforge.sim.blocks.router import FifoModel, packets_of
from spikeforge.sim.blocks.tick import TickControllerModel, TickState
from spikeforge.sim.fuzz import random_schedules, stall_pattern
from spikeforge.sim.network import run_network
from spikeforge.sim.system_cycle import (InferenceTiming, SystemModel, check_count,
                                         dependency_bound, predict_run, ticks_to_run)

__all__ = ["LayerTickControllerModel", "LayerTicksModel", "check_layer_ticks"]

#: where ``stop`` ends a layer's run besides the update phase and CHECK (which the base FSM has)
_HALTS = frozenset({TickState.CLEARING, TickState.EVENT})
#: a layer's run between its CLEAR and its end
_SEQUENCING = frozenset({TickState.CLEARING, TickState.EVENT, TickState.UPDATE, TickState.CHECK})


class LayerTickControllerModel(TickControllerModel):
    """A layer's controller: :class:`TickControllerModel` whose CLEAR is offered only with
    ``clear_ok`` (every layer's controller ready to offer it), whose TICK is offered only with
    ``may_tick``, and which ``stop`` ends in any running state (a layer that is not in its
    update phase when the output layer decides ends its run too)."""

    def settle(self, start: bool, quiet: bool, stop: bool, may_tick: bool = True,
               clear_ok: bool = True) -> None:
        super().settle(start, quiet, stop)
        s = self.state
        self.offer = self.offer and not stop and (clear_ok if s is TickState.ISSUE_CLEAR
                                                  else may_tick)
        self.halted = stop and s in _HALTS
        self.finished = self.finished or self.halted

    def clock(self, n_ticks: int, accepted: int) -> None:
        if self.halted:
            if self.wait:
                self.wait -= 1
            self.quiet = self._quiet_now
            self.pending, self.wait = 0, self.guard
            self._finish()
            return
        super().clock(n_ticks, accepted)

    @property
    def updates_ended(self) -> int:
        """The ticks whose update phase has ended."""
        return self.ticks_run - (self.state is TickState.UPDATE)


class _Word(list):
    """A spike-queue word (its spiking neurons) and the tick of the update that made it."""

    tick = -1


class _DrainBehind:
    """A core that takes its next TICK while the spikes of its last update still leave:
    ``command.ready`` is the phase's idle (and the event engine's) alone, not the queue's
    and the output registers', so the next update runs while they drain, its words pushed
    behind theirs (the credit still bounds the queue). Each word, the output register and
    the skid register carry the tick of the update that made their spikes (``out_tick``;
    ``oldest_tick``: of the oldest spike still in the core). Used for the cores of
    :class:`LayerTicksModel`'s hidden layers with ``drain_behind``."""

    update_tick = o_tick = skid_tick = -1

    @property
    def tick_ready(self) -> bool:
        return self.phase is CorePhase.IDLE and not getattr(self, "ev_left", 0)

    def command_ready(self, spike_in_valid: bool) -> bool:
        return self.tick_ready and not (spike_in_valid and self.events_first)

    @property
    def out_tick(self) -> int:
        return self.skid_tick if self.skid_valid else self.o_tick

    def oldest_tick(self) -> int | None:
        if self.out_valid:
            return self.out_tick
        return self.queue[0].tick if self.queue else None

    def _accept(self, event, is_tick, tick) -> None:
        super()._accept(event, is_tick, tick)
        if not event and is_tick:
            self.update_tick = tick

    def _update(self):
        spikes = super()._update()
        if spikes is None:
            return None
        word = _Word(spikes)
        word.tick = self.update_tick
        return word

    def _output(self, out_ready: bool) -> int:
        if not self.skid_valid and self.o_valid and not out_ready:
            self.skid_tick = self.o_tick  # the skid register takes the output's spike
        head = self.queue[0] if self.queue else None
        popped = super()._output(out_ready)
        if popped:
            self.o_tick = head.tick
        return popped


class DrainBehindCoreModel(_DrainBehind, CoreModel):
    """:class:`~spikeforge.sim.blocks.core.CoreModel` taking its next TICK while its spikes
    leave (:class:`_DrainBehind`)."""


class DrainBehindDoubleBufferedCoreModel(_DrainBehind, DoubleBufferedCoreModel):
    """:class:`~spikeforge.sim.blocks.core.DoubleBufferedCoreModel` taking its next TICK
    while its spikes leave (:class:`_DrainBehind`)."""


class LayerTicksModel(SystemModel):
    """:class:`~spikeforge.sim.system_cycle.SystemModel` with a controller per layer (see the
    module docstring). Stepped cycle by cycle (no fast-forward)."""

    fast_forward = False

    def __init__(self, plan, system, *, link_fifo: int = 0, drain_behind: bool = False,
                 lookahead: int = 1, **kwargs):
        # drain_behind: the hidden layers' cores take their next TICK while their spikes
        # leave (see the module docstring); set before the cores are made
        self.drain_behind = drain_behind
        # lookahead: the most ticks a layer may have begun past the next; above 1 only with
        # drain_behind, whose spikes carry their tick (the gate is then a compare of ticks)
        if check_count("lookahead", lookahead) > 1 and not drain_behind:
            raise ConfigError(f"lookahead: {lookahead} needs drain_behind (the gate of one "
                              "bit holds one tick)")
        self.lookahead = lookahead
        super().__init__(plan, system, **kwargs)
        # link_fifo > 0: the links between layers are FIFOs of that depth, and the gate sits
        # at their output (a packet goes on once the next layer has begun its tick), so a
        # layer's update does not wait for the next layer to take its spikes
        self.link_fifo = link_fifo
        if link_fifo:
            for l in range(self.L - 1):
                self.fifos[l] = FifoModel(link_fifo)
            self.packets = [m if f is None else f for m, f in zip(self.mergers, self.fifos)]
        self.link_ticks = [deque() for _ in range(self.L)]  # the tick of each packet in a link
        # every layer's FSM as today's; the CHECK cycle after each tick, where a decision
        # may stop the run, only in the output layer's (a stop ends the other layers' runs
        # in any state), and only where it may stop at a tick's end
        stops = stops_at_tick_end(system.decision, plan)
        self.ctrls = [LayerTickControllerModel(len(layer), system.guard, system.overlap,
                                               stops=stops and l == self.L - 1)
                      for l, layer in enumerate(self.layers)]
        self.ctrl = None  # (the whole-system controller is not there)
        # the tick of each packet in each layer's merger register, by its source core
        self.sent_ticks = [{} for _ in range(self.L)]
        self.gate_open = [True] * self.L
        self.violations: list[str] = []
        self._window = {id(core): Counter() for core in self.cores}
        self._routed = [self._routing(l) for l in range(self.L)]
        self._pos = {id(core): n for n, core in enumerate(self.cores)}

    def _core_model(self, plan_core, system, l: int, n_layers: int):
        core = super()._core_model(plan_core, system, l, n_layers)
        if not self.drain_behind or l == n_layers - 1:
            return core
        if isinstance(core, DoubleBufferedCoreModel):
            return DrainBehindDoubleBufferedCoreModel(plan_core, events_first=False)
        return DrainBehindCoreModel(plan_core, events_first=False, tile_stage=core.tile_stage)

    @property
    def lookahead_ticks(self) -> int:
        """Ticks past the output layer's that layer 0 may take input for."""
        return (self.L - 1) * self.lookahead

    def _routing(self, l: int) -> dict:
        """Layer ``l - 1``'s neuron -> the layer-``l`` cores it reaches."""
        if l == 0:
            return {}
        out = {}
        for k, core in enumerate(self.layers[l - 1]):
            for n in range(core.offset, core.offset + core.N):
                out[n] = self.routers[l - 1].table[k]
        return out

    # -- the system's view of its controllers ---------------------------------------------
    @property
    def _ctrl_done(self) -> bool:
        return all(c.done for c in self.ctrls)

    @property
    def _ticks_run(self) -> int:
        return self.ctrls[-1].ticks_run

    # -- one cycle ---------------------------------------------------------------------
    def _quiet(self, idle) -> tuple[list[bool], bool]:
        """Each layer's quiet (its cores, the links into it; the output layer's own link
        too) and the whole system's."""
        links_in = [self.port.idle] + [self._link_idle(l) for l in range(self.L - 1)]
        local = [all(idle[l]) and links_in[l] for l in range(self.L)]
        local[-1] = local[-1] and self._link_idle(self.L - 1)
        whole = all(local) and all(links_in) and self._links_idle_but_port()
        if self.drain_behind:  # a hidden layer's tick ends with its updates, not its spikes
            local[:-1] = [all(core.tick_ready for core in self.layers[l]) and links_in[l]
                          for l in range(self.L - 1)]
        return local, whole

    def _link_idle(self, l: int) -> bool:
        """No packet in layer ``l``'s link that layer ``l + 1`` must take before its next
        tick (with ``link_fifo``, those of the tick it has not begun may wait there)."""
        if self.link_fifo and l < self.L - 1:
            begun = self.ctrls[l + 1].ticks_run
            return not any(t < begun for t in self.link_ticks[l])
        fifo = self.fifos[l]
        return (self.mergers[l].idle and (fifo is None or fifo.idle)
                and (l == self.L - 1 or self.routers[l].idle))

    def _deliverable(self, l: int) -> bool:
        """The head packet of layer ``l``'s link may go on (``link_fifo``: its tick begun)."""
        return (not self.link_fifo or l == self.L - 1 or not self.link_ticks[l]
                or self.link_ticks[l][0] < self.ctrls[l + 1].ticks_run)

    def _packets_ready(self, l: int) -> bool:
        return super()._packets_ready(l) and self._deliverable(l)

    def _may_tick(self, l: int) -> bool:
        """Layer ``l`` may offer TICK(t), t = its controller's tick (upstream, lookahead)."""
        t = self.ctrls[l].tick
        upstream = l == 0 or self.ctrls[l - 1].updates_ended >= t
        if upstream and l and self.drain_behind:  # and no spike of an earlier tick left
            upstream = not self._older_spikes(l - 1, t)
        ahead_ok = l == self.L - 1 or self.ctrls[l + 1].ticks_run >= t + 1 - self.lookahead
        return upstream and ahead_ok

    def _older_spikes(self, l: int, t: int) -> bool:
        """Layer ``l``'s cores or its link still hold a spike of a tick before ``t``."""
        return self._oldest(l) < t or any(0 <= s < t for s in self.link_ticks[l])

    def _oldest(self, l: int) -> float:
        """The tick of the oldest spike in layer ``l``'s cores (infinity: none)."""
        ticks = [core.oldest_tick() for core in self.layers[l]]
        return min((t for t in ticks if t is not None), default=float("inf"))

    def _gate_open(self, l: int) -> bool:
        """Layer ``l``'s spikes may leave its cores (in a run): the gate as the hardware
        would keep it, one bit, "layer l has begun one tick more than layer l + 1" (the
        lookahead rule keeps the difference at most 1); with ``link_fifo`` the gate is at the
        links' output instead (:meth:`_deliverable`)."""
        ctrls = self.ctrls
        return (l == self.L - 1 or bool(self.link_fifo)
                or ctrls[l].ticks_run != ctrls[l + 1].ticks_run + 1)

    def _may_leave(self, l: int, core, running: bool) -> bool:
        """The gate for ``core``'s spike: :meth:`_gate_open`'s, or with ``drain_behind`` a
        spike of tick s leaves once layer l + 1 has begun tick s + 1 (taken TICK(s)); with
        ``link_fifo`` (whose gate is at the link's output) once no core of its layer holds
        a spike of an earlier tick, so that the link holds its spikes in tick order."""
        if not self.drain_behind or l == self.L - 1 or not running:
            return self.gate_open[l]
        if self.link_fifo:
            return self._oldest(l) >= core.out_tick
        after = self.ctrls[l + 1]  # (outside its run: what is left drains)
        return (after.state not in _SEQUENCING or self._stop
                or after.ticks_run > core.out_tick)

    def _spike_tick(self, l: int, k: int) -> int:
        """The tick of the spike core ``(l, k)`` offers: the update that made it."""
        core = self.layers[l][k]
        return core.out_tick if isinstance(core, _DrainBehind) else self.ctrls[l].tick

    def _settle(self, begin: bool, item) -> None:
        ctrls = self.ctrls
        self.core_idle = idle = [[core.idle for core in layer] for layer in self.layers]
        ready = [[core.in_ready for core in layer] for layer in self.layers]
        self.core_ready = [r for row in ready for r in row]
        self.port.offer(item, ctrls[0].input_open, ready[0])
        for l, router in enumerate(self.routers):
            router.route(self.packets[l].o_valid and self._deliverable(l),
                         self.packets[l].o_payload, ready[l + 1])
        local, whole = self._quiet(idle)
        self.out_ready_now = bool(self.out_ready(self.cycle))
        running = any(c.state is not TickState.IDLE for c in ctrls)
        issuing = any(c.state is TickState.ISSUE_CLEAR for c in ctrls)
        self.live = running and not issuing and not self._stop
        self.gate_open = [not running or self._gate_open(l) for l in range(self.L)]
        for l in range(self.L - 1):
            if ctrls[l].ticks_run > ctrls[l + 1].ticks_run + self.lookahead:
                self.violations.append(f"cycle {self.cycle}: layer {l} has begun "
                                       f"{ctrls[l].ticks_run} ticks, layer {l + 1} "
                                       f"{ctrls[l + 1].ticks_run}")
        for l, layer in enumerate(self.layers):
            spikes = [core.out_n if core.out_valid and self._may_leave(l, core, running)
                      else None for core in layer]
            self.mergers[l].arbitrate(spikes, self._merger_ready(l))
        last = self.packets[-1]
        self.out_spike = (self._neuron(self.L - 1, last.o_payload)
                          if last.o_valid and self.out_ready_now and self.live else None)
        self.spike_in = [valid for feed in self.feeds for valid in feed.o_valid]
        # the CLEAR and each layer's last update wait for the whole system's quiet: so the
        # run ends with every link drained, as today, whichever layer ends last
        quiets = [whole if c.state is TickState.ISSUE_CLEAR or (
                      c.state is TickState.UPDATE and c.tick + 1 == c.n_ticks) else local[l]
                  for l, c in enumerate(ctrls)]
        clear_ok = all(c.state is TickState.ISSUE_CLEAR and c.wait == 0 and c.quiet
                       for c in ctrls)
        for l, c in enumerate(ctrls):
            c.settle(begin, quiets[l], self._stop, self._may_tick(l), clear_ok)
        self.accepted = [ctrls[core.layer].command_valid(core.index)
                         and core.command_ready(valid)
                         for core, valid in zip(self.cores, self.spike_in)]

    def _record(self, timing: InferenceTiming) -> None:
        out = self.ctrls[-1]
        if self.out_spike is not None:
            timing.out_events.append((self.out_spike, out.tick, self.cycle))
        for l, merger in enumerate(self.mergers):
            if merger.handshake and self.live:
                for packet in packets_of(merger.o_payload):
                    timing.monitor_events[l].append((self._neuron(l, packet),
                                                     self.sent_ticks[l][packet[0]], self.cycle))
        if out.tick_done:
            timing.tick_done_cycles.append(self.cycle)
        if self.ctrls[0].offer and self.ctrls[0].state is TickState.ISSUE_CLEAR:
            timing.clear_cycle = self.cycle
        if out.stopped:
            timing.stop_cycle = self.cycle

    def _clock(self, n_ticks: int) -> None:
        ctrls = self.ctrls
        grants = [merger.grants for merger in self.mergers]
        delivered = [router.handshake for router in self.routers]
        for l, grant in enumerate(grants):
            if grant:  # (a drain-behind core's spike: the tick of the update that made it)
                self.sent_ticks[l] = {k: self._spike_tick(l, k) for k in grant}
        self._check_events()
        for core, ready, spike_in, accepted in zip(self.cores, self.core_ready, self.spike_in,
                                                   self.accepted):
            ctrl = ctrls[core.layer]
            if accepted:
                self._check_window(core, ctrl)
                if not ctrl.is_tick:
                    core.load(self.spikes[core.layer])
            core.clock(spike_in and ready, accepted, ctrl.is_tick, ctrl.tick,
                       core.index in grants[core.layer])
        self._clock_links(ctrls[0].input_reopen)
        for l, ticks in enumerate(self.link_ticks[:-1]):  # (after the FIFOs read the heads)
            if delivered[l]:
                ticks.popleft()
            if grants[l]:  # (a stopped run's drain goes on whatever the ticks)
                ticks.append(max(self.sent_ticks[l].values())
                             if ctrls[l].state in _SEQUENCING else -1)
        # the run ends when the last layer's run ends (a stop ends them all at once)
        ended = (any(c.finished for c in ctrls)
                 and all(c.finished or c.state is TickState.IDLE for c in ctrls))
        # (the decision takes this cycle's values, which the controllers' edge changes)
        tick, tick_done, clear = ctrls[-1].tick, ctrls[-1].tick_done, ctrls[0].clear
        if ended:  # what is left in the links drains (and the next run's CLEAR waits)
            self.link_ticks = [deque([-1] * len(ticks)) for ticks in self.link_ticks]
        for l, layer in enumerate(self.layers):
            ctrls[l].clock(n_ticks, sum(1 << core.index for core in layer
                                        if self.accepted[self._pos[id(core)]]))
        self.decision.clock(self.out_spike, tick, tick_done, ended, clear)

    # -- the contract, checked as the model runs ---------------------------------------------
    def _check_events(self) -> None:
        """Note each event a core of a layer >= 1 takes in this cycle (its source neuron;
        of a bundle, the packets routed to the core)."""
        for l in range(1, self.L):
            head, router = self.packets[l - 1], self.routers[l - 1]
            if not head.o_valid:
                continue
            packets = packets_of(head.o_payload)
            for d, core in enumerate(self.layers[l]):
                if not (router.o_valid[d] and core.in_ready):
                    continue
                neurons = [self._neuron(l - 1, p) for p in packets if d in router.table[p[0]]]
                if self.accepted[self._pos[id(core)]]:  # the router lets go of it: lost
                    self.violations.append(f"cycle {self.cycle}: core ({l}, {d}) offered "
                                           f"neurons {neurons} beside a command")
                    continue
                self._window[id(core)].update(neurons)

    def _check_window(self, core, ctrl) -> None:
        """At a core's command: the events since its last one against the golden spikes of
        layer ``core.layer - 1`` in the tick before the TICK (none before TICK(0))."""
        window, self._window[id(core)] = self._window[id(core)], Counter()
        if core.layer == 0 or not ctrl.is_tick:
            return
        t = ctrl.tick - 1
        want = Counter()
        if t >= 0:
            spikes = self.spikes[core.layer - 1][t]
            want = Counter(int(n) for n in spikes.nonzero()[0]
                           if core.index in self._routed[core.layer][int(n)])
        if window != want:
            self.violations.append(
                f"cycle {self.cycle}: core ({core.layer}, {core.index}) took "
                f"{sorted(window.elements())} before TICK({ctrl.tick}), golden layer "
                f"{core.layer - 1} tick {t}: {sorted(want.elements())}")


def check_layer_ticks(case, plan, system, rng, link_fifo: int = 0,
                      model_class=None, output_reads: int = 1,
                      drain_behind: bool = False, lookahead: int = 1) -> str | None:
    """:func:`~spikeforge.sim.fuzz.check_cycle_model`'s check for :class:`LayerTicksModel`
    (random input gaps, output stalls and start gaps; the model's own contract check), with
    what per-layer ticks change where a first-spike decision in the output layer's tick T
    stops the run (at the deciding spike, or at the end of T): layer l < L - 1 has sent its
    spikes up to tick T - (L - 1 - l) (the output layer those of T, but for the deciding
    spike's tick where it stops there, as today), and may have sent spikes of later ticks,
    also after T (so the golden trace is the full run). ``link_fifo``, ``output_reads``,
    ``drain_behind``, ``lookahead``: the model's;
    ``model_class``: :class:`LayerTicksModel` or another system cycle model. None, or the
    first difference."""
    network, counts = case.network, case.counts
    n_ticks = counts.shape[1]
    trace = run_network(network, counts)
    p_gap, p_ready = rng.choice([0.0, 0.3]), rng.choice([1.0, 0.7, 0.3])
    out_ready = stall_pattern(rng.randrange(1 << 16), p_ready)
    model_class = model_class or LayerTicksModel
    kwargs = {"output_reads": output_reads}
    if issubclass(model_class, LayerTicksModel):
        kwargs.update(link_fifo=link_fifo, drain_behind=drain_behind, lookahead=lookahead)
    model = model_class(plan, system, out_ready=out_ready, **kwargs)
    timings = predict_run(plan, trace, random_schedules(trace.input_counts, rng, p_gap), n_ticks,
                          system=system, out_ready=out_ready, model=model, start_cycle=1,
                          start_gaps=[rng.randint(0, 3) for _ in range(len(counts))])
    if getattr(model, "violations", None):
        return f"{len(model.violations)} contract violations, the first: {model.violations[0]}"
    L = len(trace.spikes)
    for b, timing in enumerate(timings):
        run = ticks_to_run(trace, b, n_ticks)
        got = (timing.decision, timing.decision_tick, timing.ticks_run)
        want = (int(trace.decision[b]), int(trace.decision_tick[b]), run)
        if got != want:
            return f"image {b}: class, decision tick, ticks run {got}, golden {want}"
        bound = dependency_bound(plan, trace, b, run, {plan.n_layers - 1: output_reads},
                                 pipelined=True)
        if timing.cycles < bound:  # (no design of these cores is faster)
            return f"image {b}: {timing.cycles} cycles, below the pipelined bound {bound}"
        stopped = trace.decision_mode is Decision.FIRST_SPIKE and not timing.none
        cut = timing.stop_cycle >= 0  # at the deciding spike, in the output layer's update
        ports = [(f"monitor (layer {l})", l, timing.monitor_events[l]) for l in range(L)]
        ports.append(("out_spikes", L - 1, timing.out_events))
        for name, l, events in ports:
            golden = {(int(t), int(n)) for t, n in np.argwhere(trace.spikes[l][b])}
            if l == L - 1:
                complete = run - 1 if cut else run
            else:
                complete = run - (L - 1 - l) if stopped else run
            full = {e for e in golden if e[0] < complete}
            seen = [(int(t), int(n)) for n, t, _ in events]
            if not stopped:
                golden = {e for e in golden if e[0] < run}
            if len(seen) != len(set(seen)) or not full <= set(seen) <= golden:
                missing, extra = sorted(full - set(seen)), sorted(set(seen) - golden)
                return (f"image {b}: {name} (tick, neuron): missing {missing[:3]}, not golden "
                        f"{extra[:3]}, repeated {len(seen) - len(set(seen))}")
    return None
