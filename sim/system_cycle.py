"""Cycle-accurate model of :class:`spikeforge.hdl.system.SpikeforgeSystem`.

Given the plan, which neurons spike in which tick (the golden trace), the input events of
every tick and the driver's deterministic timing, :func:`predict_inference` predicts the
clock cycle of every handshake of the system's ports (input items, output spikes, monitor
events), the end of every tick, the cycle ``done`` rises and so the cycles per inference.
It is exact (tested against the RTL in Amaranth's simulator, Icarus and Verilator).

How: a cycle-stepped composition of the documented behaviour of each block -- the core's
control (:mod:`spikeforge.sim.cycle`: ``N + 2`` cycles per event, update pipeline with one
output register and its stall rule, ``N + 1`` cycles of CLEAR), the round-robin merger
(registered output, grant order ``last + 1 ...``), the ``SyncFIFOBuffered`` stream FIFO
(``depth - 1`` memory words + an output register: two cycles from an empty queue's input to
its output), the combinational multicast/router (a packet leaves when every destination has
taken it, each destination's ``ready`` = that core's ``idle``), the tick controller's FSM
(``guard`` cycles before quiet is trusted, CLEAR/TICK offered to all cores at once, one CHECK
cycle per tick) and the decision unit (FIRST_SPIKE: valid the cycle after the deciding
``tick_done``; SPIKE_COUNT: ``n_classes + 1`` cycles after ``finished``; MEMBRANE_MAX:
the membranes are read one per cycle from the cycle after ``finished``, valid
``n_classes + 2`` cycles after it). ``done`` = the controller's ``done`` and the decision's
``valid``. Arithmetic is not simulated: spikes come from the golden trace (and the
MEMBRANE_MAX class from its decision).

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

Closed-form lower bound (:func:`lower_bound_cycles`): every core must spend ``N + 2``
cycles per input event it receives and ``N + 2`` per update phase, so an inference needs at
least ``max over cores (events_in(core) * (N + 2) + ticks * (N + 2))`` cycles, and, summed
over the work, ``synaptic events / cores``-style bounds follow; see the function.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from spikeforge.ir.errors import ConfigError
from spikeforge.ir.params import Decision
from spikeforge.ir.plan import INPUT_PORT, check_plan
from spikeforge.ir.system import SystemConfig

__all__ = ["InputSchedule", "InferenceTiming", "predict_inference", "predict_run",
           "lower_bound_cycles", "input_items"]


def _always(cycle: int) -> bool:
    return True


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
    ``ticks_run``, ``decision`` (class), ``decision_tick``, ``none``.
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

    @property
    def cycles(self) -> int:
        return self.done_cycle - self.start_cycle


class _Core:
    __slots__ = ("N", "layer", "index", "offset", "phase", "cnt", "c_valid", "c_n",
                 "out_valid", "out_n", "spiking")

    def __init__(self, plan_core):
        self.N = plan_core.n_neurons
        self.layer = plan_core.layer
        self.index = plan_core.index
        self.offset = plan_core.neuron_offset
        self.phase = "IDLE"
        self.cnt = 0
        self.c_valid = False
        self.c_n = 0
        self.out_valid = False
        self.out_n = 0
        self.spiking = frozenset()


class _Fifo:
    def __init__(self, depth):
        self.depth = depth
        self.inner = []  # depth >= 2: the memory words
        self.r_rdy = False
        self.r_data = None

    @property
    def level(self):
        return len(self.inner) + int(self.r_rdy)

    def w_rdy(self):
        if self.depth == 1:
            return not self.r_rdy
        return len(self.inner) != self.depth - 1

    def step(self, write, data, r_en):
        if self.depth == 1:
            if write:
                self.r_data, self.r_rdy = data, True
            elif self.r_rdy and r_en:
                self.r_rdy = False
            return
        do_inner_read = bool(self.inner) and (not self.r_rdy or r_en)
        if do_inner_read:
            self.r_data = self.inner.pop(0)
            self.r_rdy = True
        elif r_en:
            self.r_rdy = False
        if write:
            self.inner.append(data)


class SystemModel:
    """The cycle-stepped model; :func:`predict_run` is the convenient entry point."""

    def __init__(self, plan, system: SystemConfig = SystemConfig(), *,
                 out_ready: Callable[[int], bool] = _always):
        fifo_depth = system.fifo_depth
        self.plan = plan
        self.mode = system.decision
        self.layers_plan, self.routes = check_plan(plan)
        self.L = len(self.layers_plan)
        self.layers = [[_Core(c) for c in cores] for cores in self.layers_plan]
        self.cores = [c for layer in self.layers for c in layer]
        self.fifo_depth = fifo_depth
        self.guard = system.guard
        self.out_ready = out_ready
        self.n_classes = sum(c.N for c in self.layers[-1])
        self.dest0 = set(self.routes[(INPUT_PORT, 0)].destination_cores)
        self.tables = [[set(self.routes[(l, k)].destination_cores) for k in range(len(layer))]
                       for l, layer in enumerate(self.layers)]
        self.offsets = [[self.routes[(l, k)].source_offset for k in range(len(layer))]
                        for l, layer in enumerate(self.layers)]
        # interconnect state
        self.mc_in_done = set()
        self.arb = [{"valid": False, "payload": None, "last": len(layer) - 1}
                    for layer in self.layers]
        self.fifos = [_Fifo(fifo_depth) if fifo_depth else None for _ in self.layers]
        self.router_done = [set() for _ in self.layers]
        self.closed = False
        # tick controller
        self.state = "IDLE"
        self.wait = 0
        self.pending = 0
        self.is_tick = False
        self.tick = 0
        self.n_ticks = 0
        self.ticks_run = 0
        self.ctrl_done = False
        # decision unit
        self.d_valid = False
        self.d_none = False
        self.d_cls = 0
        self.d_first_tick = 0
        self.d_seen = False
        self.d_best = 0
        self.counts = [0] * self.n_classes
        self.scanning = False
        self.mm_left = 0
        self.final_class = -1
        self.scan_i = 0
        self.best_i = 0
        self.best_c = 0
        # system
        self.busy = False
        self.cycle = 0
        self.spikes = None  # per layer [ticks, n] bool of the current inference

    # -- one inference -----------------------------------------------------------------
    def run_inference(self, spikes: Sequence[np.ndarray], items, n_ticks: int,
                      start_cycle: int, max_cycles: int = 50_000_000) -> InferenceTiming:
        """Advance from ``self.cycle`` (<= ``start_cycle``) through one inference whose start
        pulse is at ``start_cycle``; ``spikes[l]`` = ``[ticks, n_l]`` golden spikes;
        ``items`` = ``(index, last, gap)`` input items in order."""
        self.spikes = [np.asarray(s, dtype=bool) for s in spikes]
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
            start = c == start_cycle
            if k < len(items) and c >= start_cycle + 1:
                if offer_at is None:
                    offer_at = reference + items[k][2]
                inp = items[k] if c >= offer_at else None
            else:
                inp = None
            current = items[k] if k < len(items) and c >= start_cycle + 1 else None
            skip = self._skippable(current, start_cycle)
            if skip:
                self._skip(skip)
                continue
            res = self._step(start, inp, n_ticks, timing)
            if res["inp_hs"]:
                timing.input_cycles.append(c)
                k += 1
                reference = c + 1
                offer_at = None
            if res["done"] and c > start_cycle:
                timing.done_cycle = c
                timing.ticks_run = self.ticks_run
                timing.decision = self.d_cls
                timing.none = self.d_none
                if self.mode is Decision.FIRST_SPIKE and not self.d_none:
                    timing.decision_tick = self.d_first_tick
                else:
                    timing.decision_tick = self.ticks_run - 1
                self.cycle += 1
                return timing
            self.cycle += 1

    # -- fast-forward ------------------------------------------------------------------
    def _skippable(self, current_item, start_cycle) -> int:
        """Cycles that can be skipped from ``self.cycle`` because nothing but the cores'
        counters can change: every core is in an event or clear phase (no output pending),
        no merger holds a packet, no FIFO is about to move one, no output packet waits, and
        the input driver offers no marker while the input is open."""
        if self.state not in ("EVENT", "UPDATE", "CLEARING", "ISSUE_CLEAR") or self.pending:
            return 0
        accepting = self.state == "EVENT" and not self.closed
        if accepting and current_item is not None and current_item[1]:
            return 0
        k = 1 << 30
        busy = False
        for l in range(self.L):
            if self.arb[l]["valid"]:
                return 0
            fifo = self.fifos[l]
            if fifo is not None and ((fifo.inner and not fifo.r_rdy)
                                     or (l == self.L - 1 and fifo.r_rdy)):
                return 0
        for core in self.cores:
            if core.out_valid:
                return 0
            if core.phase in ("EVENT", "CLEAR"):
                busy = True
                k = min(k, core.N - 1 - core.cnt)
            elif core.phase == "IDLE":
                # nothing may reach an idle core during the window
                if core.layer == 0:
                    if accepting and current_item is not None:
                        return 0
                else:
                    fifo = self.fifos[core.layer - 1]
                    if fifo is not None and fifo.r_rdy:
                        return 0
            else:
                return 0
        if not busy:
            return 0
        c = self.cycle
        if c <= start_cycle <= c + k:
            k = start_cycle - c - 1
        return max(k, 0)

    def _skip(self, k: int) -> None:
        for core in self.cores:
            core.cnt += k
        self.wait = max(0, self.wait - k)
        self.cycle += k

    # -- one cycle ---------------------------------------------------------------------
    def _step(self, start, inp, n_ticks, timing):
        cores, L = self.cores, self.L
        done_now = self.ctrl_done and self.d_valid
        busy_before = self.busy
        tick0 = self.tick
        out_n_before = [[c.out_n for c in layer] for layer in self.layers]
        idle = {id(c): c.phase == "IDLE" and not c.out_valid for c in cores}
        event_phase = self.state == "EVENT"
        accepting = event_phase and not self.closed
        inp_valid = inp is not None
        mc_valid = inp_valid and accepting and not inp[1]
        # packet sources of each boundary (FIFO output or merger output)
        pk_valid, pk_payload = [], []
        for l in range(L):
            if self.fifos[l] is not None:
                pk_valid.append(self.fifos[l].r_rdy)
                pk_payload.append(self.fifos[l].r_data)
            else:
                pk_valid.append(self.arb[l]["valid"])
                pk_payload.append(self.arb[l]["payload"])
        links_idle = (self.closed or not event_phase) and not mc_valid
        for l in range(L):
            links_idle = links_idle and not self.arb[l]["valid"]
            if self.fifos[l] is not None:
                links_idle = links_idle and self.fifos[l].level == 0
            if l < L - 1:
                links_idle = links_idle and not pk_valid[l]
        quiet = links_idle and all(idle.values())
        gq = self.wait == 0 and quiet

        # spike_in valid per core (from the input multicast or a router), and takes
        spike_in = {}  # id(core) -> (valid)
        layer0 = self.layers[0]
        mc_taken = set()
        for d, core in enumerate(layer0):
            v = mc_valid and d in self.dest0 and d not in self.mc_in_done
            spike_in[id(core)] = v
            if v and idle[id(core)]:
                mc_taken.add(d)
        mc_ready = all(d in self.mc_in_done or d in mc_taken for d in self.dest0)
        inp_ready = accepting and (bool(inp and inp[1]) or mc_ready)
        inp_hs = inp_valid and inp_ready
        router_taken, router_ready = [], []
        for l in range(L - 1):
            taken = set()
            dests = self.tables[l][pk_payload[l][0]] if pk_valid[l] else set()
            for d, core in enumerate(self.layers[l + 1]):
                v = pk_valid[l] and d in dests and d not in self.router_done[l]
                spike_in[id(core)] = v
                if v and idle[id(core)]:
                    taken.add(d)
            router_taken.append(taken)
            router_ready.append(all(d in self.router_done[l] or d in taken for d in dests))
        out_ready = bool(self.out_ready(self.cycle))
        router_ready.append(out_ready)  # the output layer's "router" is out_spikes
        # arbiters
        grants = []
        arb_hs = []
        fifo_write = []
        for l in range(L):
            arb = self.arb[l]
            if self.fifos[l] is not None:
                o_ready = self.fifos[l].w_rdy()
            else:
                o_ready = router_ready[l]
            arb_hs.append(arb["valid"] and o_ready)
            fifo_write.append(arb["valid"] and o_ready)
            layer = self.layers[l]
            K = len(layer)
            sel = None
            if (not arb["valid"] or o_ready):
                for j in range(1, K + 1):
                    kk = (arb["last"] + j) % K
                    if layer[kk].out_valid:
                        sel = kk
                        break
            grants.append(sel)
        # out_spikes handshake
        pk_hs_out = pk_valid[L - 1] and out_ready
        # tick controller outputs
        offer = False
        if self.state in ("ISSUE_CLEAR", "EVENT") and gq:
            offer = True
        cmd_valid = offer or self.pending != 0
        accepted_all = True
        accepted = []
        for n, core in enumerate(cores):
            v = offer or bool(self.pending >> n & 1)
            a = v and idle[id(core)] and not spike_in.get(id(core), False)
            accepted.append(a)
            if v and not a:
                accepted_all = False
        del cmd_valid
        ctrl_start = start and not self.busy
        tick_done = False
        finished = False

        # -- records
        if pk_hs_out:
            src, idx = pk_payload[L - 1]
            timing.out_events.append((self.offsets[L - 1][src] + idx, self.tick, self.cycle))
        for l in range(L):
            if arb_hs[l]:
                src, idx = self.arb[l]["payload"]
                timing.monitor_events[l].append((self.offsets[l][src] + idx, self.tick, self.cycle))

        # -- edge: cores
        for n, core in enumerate(cores):
            l = core.layer
            so_ready = grants[l] == core.index
            so_hs = core.out_valid and so_ready
            ev = spike_in.get(id(core), False) and idle[id(core)]
            new_out_valid = core.out_valid and not so_hs
            if core.phase == "IDLE":
                if ev:
                    core.phase, core.cnt = "EVENT", 0
                elif accepted[n]:
                    core.cnt = 0
                    if self.is_tick:
                        core.phase, core.c_valid = "UPDATE", False
                        row = self.spikes[l][self.tick, core.offset:core.offset + core.N]
                        core.spiking = frozenset(np.flatnonzero(row).tolist())
                    else:
                        core.phase = "CLEAR"
            elif core.phase == "EVENT":
                if core.cnt == core.N - 1:
                    core.phase = "EVENT_LAST"
                core.cnt += 1
            elif core.phase == "EVENT_LAST":
                core.phase = "IDLE"
            elif core.phase == "UPDATE":
                spike = core.c_valid and core.c_n in core.spiking
                stall = spike and core.out_valid and not so_ready
                if not stall:
                    issue = core.cnt < core.N
                    was_valid, cn = core.c_valid, core.c_n
                    core.c_valid, core.c_n = issue, core.cnt
                    if issue:
                        core.cnt += 1
                    else:
                        core.phase = "IDLE"
                    if was_valid and cn in core.spiking:
                        new_out_valid, core.out_n = True, cn
            elif core.phase == "CLEAR":
                if core.cnt == core.N - 1:
                    core.phase = "IDLE"
                core.cnt += 1
            core.out_valid = new_out_valid
        # multicast / routers
        if mc_valid and mc_ready:
            self.mc_in_done = set()
        else:
            self.mc_in_done |= mc_taken
        for l in range(L - 1):
            if pk_valid[l] and router_ready[l]:
                self.router_done[l] = set()
            else:
                self.router_done[l] |= router_taken[l]
        # FIFOs and arbiters
        for l in range(L):
            arb = self.arb[l]
            if self.fifos[l] is not None:
                self.fifos[l].step(fifo_write[l], arb["payload"], router_ready[l])
            if arb_hs[l]:
                arb["valid"] = False
            sel = grants[l]
            if sel is not None:
                arb["valid"], arb["last"] = True, sel
                arb["payload"] = (sel, out_n_before[l][sel])
        # closed flag
        if inp_hs and inp[1]:
            self.closed = True
        # tick controller FSM
        wait = self.wait - 1 if self.wait else 0
        state = self.state
        clear = False
        acc_mask = sum(1 << n for n, a in enumerate(accepted) if a)
        all_mask = (1 << len(cores)) - 1
        if state == "IDLE":
            if ctrl_start:
                clear = True
                self.n_ticks, self.tick, self.ctrl_done, self.ticks_run = n_ticks, 0, False, 0
                self.is_tick, wait = False, 0
                self.state = "ISSUE_CLEAR"
        elif state == "ISSUE_CLEAR":
            if gq:
                self.pending = all_mask & ~acc_mask
                wait = self.guard
                self.state = "CLEARING"
        elif state == "CLEARING":
            pend = self.pending
            self.pending = pend & ~acc_mask
            if acc_mask:
                wait = self.guard
            if pend == 0 and gq:
                if self.n_ticks == 0:
                    finished = True
                    self.ctrl_done = True
                    self.state = "IDLE"
                else:
                    wait, self.is_tick = self.guard, True
                    self.state = "EVENT"
        elif state == "EVENT":
            if gq:
                self.pending = all_mask & ~acc_mask
                wait = self.guard
                self.state = "UPDATE"
        elif state == "UPDATE":
            pend = self.pending
            self.pending = pend & ~acc_mask
            if acc_mask:
                wait = self.guard
            if pend == 0 and gq:
                tick_done = True
                self.ticks_run += 1
                timing.tick_done_cycles.append(self.cycle)
                self.state = "CHECK"
        elif state == "CHECK":
            stop = self.mode is Decision.FIRST_SPIKE and self.d_valid and not self.d_none
            if stop or self.tick + 1 == self.n_ticks:
                finished = True
                self.ctrl_done = True
                self.state = "IDLE"
            else:
                self.tick += 1
                wait = self.guard
                self.state = "EVENT"
        self.wait = wait
        if tick_done or clear:
            self.closed = False
        # decision unit
        hit_n = None
        if pk_hs_out:
            src, idx = pk_payload[L - 1]
            hit_n = self.offsets[L - 1][src] + idx
        tick_now = tick0
        if self.mode is Decision.FIRST_SPIKE:
            if not self.d_valid:
                n_seen = self.d_seen or hit_n is not None
                n_best = hit_n if hit_n is not None and (not self.d_seen or hit_n < self.d_best) \
                    else self.d_best
                self.d_seen, self.d_best = n_seen, n_best
                if tick_done and n_seen:
                    self.d_valid, self.d_cls, self.d_first_tick = True, n_best, tick_now
                elif finished:
                    self.d_valid, self.d_cls, self.d_none = True, -1, True
        elif self.mode is Decision.MEMBRANE_MAX:
            # read-out: one membrane per cycle from the edge after `finished`; valid after n
            if self.mm_left:
                self.mm_left -= 1
                if self.mm_left == 0:
                    self.d_valid, self.d_cls = True, self.final_class
            elif finished:
                self.mm_left = self.n_classes + 1
        else:
            if hit_n is not None and hit_n < self.n_classes:
                self.counts[hit_n] += 1
            if self.scanning:
                cur = self.counts[self.scan_i]
                take = self.scan_i == 0 or cur > self.best_c
                nbi, nbc = (self.scan_i, cur) if take else (self.best_i, self.best_c)
                self.best_i, self.best_c = nbi, nbc
                if self.scan_i == self.n_classes - 1:
                    self.scanning = False
                    self.d_valid, self.d_cls, self.d_none = True, nbi, nbc == 0
                self.scan_i += 1
            elif finished and not self.d_valid:
                self.scanning, self.scan_i = True, 0
        if clear:
            self.d_seen, self.d_best, self.d_valid, self.d_none = False, 0, False, False
            self.d_cls, self.d_first_tick = 0, 0
            self.counts = [0] * self.n_classes
            self.scanning = False
            self.mm_left = 0
        # done (registers before this edge) and busy
        if busy_before and done_now:
            self.busy = False
        if start and not busy_before:
            self.busy = True
        return {"inp_hs": inp_hs, "done": done_now}


def ticks_to_run(trace, image: int, n_ticks: int) -> int:
    """Ticks the system runs for ``image`` of a golden :class:`NetworkTrace` of ``n_ticks``
    ticks: ``decision_tick + 1`` for FIRST_SPIKE (early exit), else ``n_ticks``."""
    if trace.decision_mode is Decision.FIRST_SPIKE:
        return int(trace.decision_tick[image]) + 1
    return n_ticks


def predict_run(plan, trace, schedules: Sequence[InputSchedule], n_ticks: int, *,
                system: SystemConfig | None = None, out_ready: Callable[[int], bool] = _always, start_cycle: int = 0,
                start_gaps: Sequence[int] | None = None) -> list[InferenceTiming]:
    """Predict back-to-back inferences of a batch (the driver convention of the module).

    ``trace``: the golden :class:`~spikeforge.sim.network.NetworkTrace` of the batch run for
    ``n_ticks`` ticks; ``system``: the system's settings (default: ``SystemConfig`` with the
    trace's ``decision_mode``; a different decision is refused); ``schedules[b]``:
    image b's input timing (its events must be those of ``trace.input_counts[b]``);
    ``start_gaps[b]``: extra idle cycles before image b + 1's start (default 0).
    Image 0 starts at ``start_cycle``; image b + 1 at ``D_b + 1 + start_gaps[b]``.
    """
    system = SystemConfig(trace.decision_mode) if system is None else system
    if system.decision is not trace.decision_mode:
        raise ConfigError(f"system.decision: {system.decision.value} but the golden trace was "
                          f"decided by {trace.decision_mode.value}")
    model = SystemModel(plan, system, out_ready=out_ready)
    timings = []
    start = start_cycle
    batch = trace.input_counts.shape[0]
    if len(schedules) != batch:
        raise ConfigError(f"schedules: expected {batch} (one per image), got {len(schedules)}")
    for b in range(batch):
        ticks = ticks_to_run(trace, b, n_ticks)
        items = [(j, last, gap) for j, last, gap, _ in schedules[b].items(ticks)]
        spikes = [s[b] for s in trace.spikes]
        model.final_class = int(trace.decision[b])  # MEMBRANE_MAX: the class is the golden one
        timing = model.run_inference(spikes, items, n_ticks, start)
        timings.append(timing)
        gap = start_gaps[b] if start_gaps is not None and b < len(start_gaps) else 0
        start = timing.done_cycle + 1 + int(gap)
    return timings


def lower_bound_cycles(plan, trace, image: int = 0, n_ticks: int | None = None) -> dict:
    """Closed-form lower bounds on the cycles of one inference (start to ``done``).

    A core of N neurons spends ``N + 2`` cycles on every input event it receives and at least
    ``N + 2`` on every update phase, and ``N + 1`` on the CLEAR, one thing at a time. So

    * ``core_bound`` = max over cores of ``N + 1 + (events_to_core + ticks_run) * (N + 2)``
      (a true lower bound on the busy time of the busiest core);
    * ``synaptic_bound`` = ``synaptic_events / n_cores + ticks_run * (N_min + 2)``: the
      network's synaptic operations (weights read, one per core per cycle at best) spread
      perfectly over all cores, plus one update phase per tick.

    ``bound`` is the larger. ``events_to_core`` counts the events of layer l in the ticks the
    system runs (``NetworkTrace.statistics()``, early exit included).
    """
    ticks = n_ticks if n_ticks is not None else trace.ticks
    stats = trace.statistics(until_decision=trace.decision_mode is Decision.FIRST_SPIKE)
    ticks_run = int(stats.ticks_run[image]) if trace.decision_mode is Decision.FIRST_SPIKE else ticks
    events = stats.input_events[image]  # per layer
    core_bound = max(c.n_neurons + 1 + (int(events[c.layer]) + ticks_run) * (c.n_neurons + 2)
                     for c in plan.cores)
    synaptic = int(stats.synaptic_events[image].sum())
    n_min = min(c.n_neurons for c in plan.cores)
    synaptic_bound = -(-synaptic // len(plan.cores)) + ticks_run * (n_min + 2)
    return {"core_bound": core_bound, "synaptic_bound": synaptic_bound,
            "bound": max(core_bound, synaptic_bound), "synaptic_events": synaptic,
            "ticks_run": ticks_run}
