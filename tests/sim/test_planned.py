"""sim/planned.py: the cycle models of per-layer ticks (not built in RTL) and of
double-buffered cores (built since stop 59; their RTL co-simulated elsewhere) on random
systems -- the contract checked as they run and at the ports, one
layer exactly today's system model, each rule of per-layer ticks shown to be needed, a
double-buffered core by hand, and a link of k spikes a cycle into the output layer (not
built) under both controllers."""

import dataclasses
import random
from collections import Counter

import numpy as np
import pytest

from spikeforge.commands.fuzz import random_plan
from spikeforge.compiler.map import plan_network
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.network import IntegerNetwork
from spikeforge.ir.system import SystemConfig
from spikeforge.sim.blocks.router import MergerModel
from spikeforge.sim.blocks.core import CorePhase, DoubleBufferedCoreModel
from spikeforge.sim.fuzz import random_case, random_schedules, stall_pattern
from spikeforge.sim.network import run_network
from spikeforge.sim.planned import DrainBehindCoreModel, LayerTicksModel, check_layer_ticks
from spikeforge.sim import system_cycle
from spikeforge.sim.system_cycle import SystemModel, predict_run
from tests.boards.test_choose import network


def _system(seed):
    case = random_case(seed)
    rng = random.Random(seed)
    plan, system = random_plan(case.network, rng)
    return case, plan, dataclasses.replace(system, overlap=rng.random() < 0.5), rng


@pytest.mark.parametrize("link_fifo", [0, 2, 16])
def test_random_systems_keep_the_contract(link_fifo):
    """200 random systems (1-4 layers, every decision, random lanes, FIFOs, input gaps,
    output stalls): no core takes an event outside its tick's window, and the decisions,
    ticks run and spikes at every port are the golden trace's."""
    for seed in range(200):
        case, plan, system, rng = _system(seed)
        assert check_layer_ticks(case, plan, system, rng, link_fifo) is None, seed


def test_one_layer_is_todays_system_model():
    """With one layer there is one controller: every cycle of every port as the system model
    predicts it (the RTL's, co-simulated elsewhere)."""
    checked = 0
    for seed in range(150):
        case, plan, system, _ = _system(seed)
        if len(case.network.layers) != 1:
            continue
        trace = run_network(case.network, case.counts, early_exit=True)
        runs = []
        for model_class in (SystemModel, LayerTicksModel):
            rng = random.Random(seed)
            out_ready = stall_pattern(rng.randrange(1 << 16), rng.choice([1.0, 0.7, 0.3]))
            schedules = random_schedules(trace.input_counts, rng, rng.choice([0.0, 0.3]))
            gaps = [rng.randint(0, 3) for _ in range(len(case.counts))]
            runs.append(predict_run(plan, trace, schedules, case.counts.shape[1],
                                    system=system, out_ready=out_ready, start_cycle=1,
                                    start_gaps=gaps,
                                    model=model_class(plan, system, out_ready=out_ready)))
        assert runs[0] == runs[1], seed
        checked += 1
    assert checked >= 30


def _fails(monkeypatch, attr, fault, seeds, link_fifo):
    monkeypatch.setattr(LayerTicksModel, attr, fault)
    out = []
    for seed in seeds:
        case, plan, system, rng = _system(seed)
        out.append(check_layer_ticks(case, plan, system, rng, link_fifo))
    return out


def test_without_the_upstream_rule_events_cross_ticks(monkeypatch):
    found = _fails(monkeypatch, "_may_tick",
                   lambda self, l: l == self.L - 1
                   or self.ctrls[l + 1].ticks_run >= self.ctrls[l].tick, [1, 4, 5], 0)
    assert all(p and "contract violations" in p for p in found), found


def test_without_the_gate_spikes_reach_the_tick_before(monkeypatch):
    found = _fails(monkeypatch, "_gate_open", lambda self, l: True, range(120), 0)
    assert any(p and "contract violations" in p for p in found)


def test_without_the_lookahead_a_layer_runs_two_ticks_ahead(monkeypatch):
    found = _fails(monkeypatch, "_may_tick",
                   lambda self, l: l == 0
                   or self.ctrls[l - 1].updates_ended >= self.ctrls[l].tick, [106, 119], 0)
    assert all(p and "contract violations" in p for p in found), found


def test_without_the_fifo_gate_spikes_reach_the_tick_before(monkeypatch):
    found = _fails(monkeypatch, "_deliverable", lambda self, l: True, [5, 7, 12], 16)
    assert all(p is not None for p in found), found


# -- double-buffered input accumulators -----------------------------------------------------

def test_a_pingpong_core_takes_events_while_it_updates():
    """By hand, one core of G = 3 words: an event accepted in the update's first cycle issues
    its words beside the update's; the core is idle only once both are done, and a CLEAR
    takes no event."""
    plan = plan_network(network(n_in=4, hidden=6), lanes=[2, 10])
    core = DoubleBufferedCoreModel(plan.cores_of_layer(0)[0])
    core.load(np.zeros((2, 6), dtype=bool))
    assert core.G == 3 and core.in_ready and core.idle
    core.clock(False, True, True, 0, True)  # TICK(0)
    assert core.phase is CorePhase.UPDATE and core.in_ready and not core.idle
    core.clock(True, False, True, 0, True)  # an event of tick 1, beside the update
    assert core.ev_left == 3 and core.phase is CorePhase.UPDATE and not core.in_ready
    for _ in range(2):
        core.clock(False, False, True, 0, True)
    assert core.in_ready and core.ev_left == 1  # at the event's last word
    core.clock(True, False, True, 0, True)  # the next event, at that last word
    while core.phase is CorePhase.UPDATE:
        assert core.ev_left or core.in_ready
        core.clock(False, False, True, 0, True)
    assert core.ev_left == 0 and core.idle
    core.clock(False, True, True, 1, True)  # TICK(1), then events through the update
    core.clock(True, False, True, 1, True)
    while core.phase is CorePhase.UPDATE:
        core.clock(core.in_ready, False, True, 1, True)  # events back to back
    assert core.ev_left and not core.idle  # the update is done, the event is not
    while core.ev_left:
        core.clock(False, False, True, 1, True)
    assert core.idle
    core.clock(False, True, False, 0, True)  # CLEAR
    assert core.phase is CorePhase.CLEAR and not core.in_ready
    core.clock(True, False, False, 0, True)  # offered: not taken
    assert core.ev_left == 0


@pytest.mark.parametrize("layer_ticks", [False, True])
def test_pingpong_systems_keep_the_contract(layer_ticks):
    """200 random systems with double-buffered cores, under today's controller and with
    per-layer ticks: the decisions, ticks run and spikes at every port are the golden
    trace's (and, per layer, every core's events fall in their tick's window)."""
    model_class = LayerTicksModel if layer_ticks else SystemModel
    for seed in range(200):
        case, plan, system, rng = _system(seed)
        system = dataclasses.replace(system, double_buffer=True)
        assert check_layer_ticks(case, plan, system, rng, 16 if layer_ticks else 0,
                                 model_class) is None, seed


# -- a link of k spikes a cycle into the output layer (output_reads; not built) -------------

def partial_routes(plan, rng):
    """``plan`` with each core of the layer before the output layer routed to a random
    non-empty subset of the output cores, every output core reached (a plan ``check_plan``
    takes; the compiler's are all-to-all): a bundle's packets then go to different cores."""
    last = plan.n_layers - 1
    n_out = len(plan.cores_of_layer(last))
    sources = [r for r in plan.routes if r.destination_layer == last]
    subsets = [sorted(rng.sample(range(n_out), rng.randint(1, n_out))) for _ in sources]
    for d in range(n_out):  # every output core reached
        if not any(d in subset for subset in subsets):
            subsets[rng.randrange(len(subsets))].append(d)
    chosen = {id(r): tuple(sorted(set(c))) for r, c in zip(sources, subsets)}
    routes = tuple(dataclasses.replace(r, destination_cores=chosen[id(r)]) if id(r) in chosen
                   else r for r in plan.routes)
    return dataclasses.replace(plan, routes=routes)


def _wide_system(seed):
    """A random system of two layers or more whose output cores are one word each (lanes =
    neurons per core), every other one with :func:`partial_routes`; None for a case of one
    layer."""
    case = random_case(seed)
    layers = case.network.layers
    if len(layers) < 2:
        return None
    rng = random.Random(seed)
    npc = [rng.randint(1, layer.n_neurons) for layer in layers]
    lanes = [rng.choice([1, 1, 2, 4]) for _ in layers[:-1]] + [npc[-1]]
    plan = plan_network(case.network, neurons_per_core=npc, lanes=lanes)
    if seed % 2:
        plan = partial_routes(plan, rng)
    system = SystemConfig(case.network.decision, fifo_depth=rng.choice([0, 0, 1, 2, 4]),
                          overlap=rng.random() < 0.5)
    return case, plan, system, rng


WIDE_VARIANTS = {"today": (SystemModel, 0, False), "layer-ticks": (LayerTicksModel, 0, False),
                 "layer-ticks-fifo": (LayerTicksModel, 4, False),
                 "double-buffered": (SystemModel, 0, True),
                 "double-buffered-layer-ticks": (LayerTicksModel, 16, True)}


@pytest.mark.parametrize("variant", WIDE_VARIANTS)
def test_a_wide_output_link_keeps_the_contract(variant):
    """Random systems of 2-4 layers with a link of 2 or 3 spikes a cycle into one-word output
    cores, under today's controller and per-layer ticks, single- and double-buffered: the
    decisions, ticks run and spikes at every port are the golden trace's, and with per-layer
    ticks every core's events fall in their tick's window."""
    model_class, link_fifo, double = WIDE_VARIANTS[variant]
    checked = 0
    for seed in range(160):
        made = _wide_system(seed)
        if made is None:
            continue
        case, plan, system, rng = made
        system = dataclasses.replace(system, double_buffer=double)
        reads = 2 + seed // 2 % 2
        assert check_layer_ticks(case, plan, system, rng, link_fifo, model_class,
                                 output_reads=reads) is None, (seed, reads)
        checked += 1
    assert checked >= 80


def _wide_runs(seed, reads):
    case, plan, system, rng = _wide_system(seed)
    trace = run_network(case.network, case.counts, early_exit=True)
    model = SystemModel(plan, system, output_reads=reads)
    timings = predict_run(plan, trace, random_schedules(trace.input_counts, rng, 0.0),
                          case.counts.shape[1], system=system, model=model)
    return plan, timings


def test_a_wide_output_link_takes_several_spikes_in_a_cycle():
    """The monitor of the layer before the output layer sees up to k of its spikes in one
    cycle (never more); no random system takes more cycles than with one a cycle, and some
    take fewer (where the layer before has two cores or more and they spike together)."""
    seen, fewer = Counter(), 0
    for seed in range(60):
        if _wide_system(seed) is None:
            continue
        cycles = []
        for reads in (1, 2):
            plan, timings = _wide_runs(seed, reads)
            per_cycle = Counter(c for t in timings
                                for _, _, c in t.monitor_events[plan.n_layers - 2])
            seen[reads] = max(seen[reads], max(per_cycle.values(), default=0))
            cycles.append(sum(t.cycles for t in timings))
        assert cycles[1] <= cycles[0], seed
        fewer += cycles[1] < cycles[0]
    assert seen == {1: 1, 2: 2} and fewer >= 5


def test_a_wide_link_that_forwards_one_spike_of_its_bundle_fails(monkeypatch):
    """The fault: the merger grants two spikes a cycle but forwards only the first. The
    monitors miss spikes under today's controller, and with per-layer ticks the output
    cores' event windows come up short."""
    clock = MergerModel.clock

    def forward_one(self):
        clock(self)
        if self.width > 1 and self.o_valid:
            self.o_payload = self.o_payload[:1]
    monkeypatch.setattr(MergerModel, "clock", forward_one)
    found = {}
    for model_class in (SystemModel, LayerTicksModel):
        found[model_class.__name__] = [
            check_layer_ticks(*_wide_system(seed), 0, model_class, output_reads=2)
            for seed in range(40) if _wide_system(seed) is not None]
    assert any(p and "missing" in p for p in found["SystemModel"]), found
    assert any(p and "contract violations" in p for p in found["LayerTicksModel"]), found


@pytest.mark.parametrize("reads, lanes, message", [
    (0, [2, 10], "output_reads: must be an integer >= 1, got 0"),
    (2, [2, 5], r"output_reads: 2 needs output cores of one word; core \(1, 0\) has 2 "
                r"\(10 neurons, 5 lanes\)"),
    (2, [6], "output_reads: 2 needs a hidden layer"),
])
def test_a_wide_output_link_is_refused_where_it_cannot_be(reads, lanes, message):
    net = network(n_in=4, hidden=6)
    if len(lanes) == 1:
        net = IntegerNetwork(net.layers[:1], net.decision)
    with pytest.raises(ConfigError, match=message):
        SystemModel(plan_network(net, lanes=lanes), SystemConfig(), output_reads=reads)


# -- hidden cores that take their next TICK while their spikes leave (drain_behind) ----------

@pytest.mark.parametrize("link_fifo, double, lookahead", [
    (0, False, 1), (0, True, 2), (2, False, 3), (16, True, 1), (16, False, 16)])
def test_drain_behind_keeps_the_contract(link_fifo, double, lookahead):
    """200 random systems (1-4 layers, every decision, random lanes, FIFOs, stalls) whose
    hidden cores take their next TICK while their spikes still leave, a layer up to
    ``lookahead`` ticks ahead of the next: no core takes an event outside its tick's
    window, and the decisions, ticks run and spikes at every port (each tagged with the
    tick of the update that made it) are the golden trace's."""
    for seed in range(200):
        case, plan, system, rng = _system(seed)
        system = dataclasses.replace(system, double_buffer=double)
        assert check_layer_ticks(case, plan, system, rng, link_fifo, drain_behind=True,
                                 lookahead=lookahead) is None, seed


def test_drain_behind_with_a_wide_output_link_keeps_the_contract():
    for seed in range(160):
        made = _wide_system(seed)
        if made is not None:
            case, plan, system, rng = made
            system = dataclasses.replace(system, double_buffer=bool(seed % 3))
            assert check_layer_ticks(case, plan, system, rng, 16 * (seed % 2), drain_behind=True,
                                     lookahead=2, output_reads=2) is None, seed


def _drain_fails(monkeypatch, attr, fault, link_fifo, seeds=range(60), lookahead=1):
    monkeypatch.setattr(LayerTicksModel, attr, fault)
    run = SystemModel.run_inference  # a deadlock fails fast
    monkeypatch.setattr(SystemModel, "run_inference",
                        lambda self, *a: run(self, *a, max_cycles=20_000))
    found = []
    for seed in seeds:
        case, plan, system, rng = _system(seed)
        try:
            found.append(check_layer_ticks(case, plan, system, rng, link_fifo,
                                           drain_behind=True, lookahead=lookahead))
        except RuntimeError as e:  # the model's limit: a deadlock
            found.append(f"hangs: {e}")
    return found


def test_without_waiting_for_the_older_spikes_a_tick_misses_them(monkeypatch):
    """The next layer's TICK(t) must wait for every spike of tick t - 1 to have left its
    cores and its link, not only for their update to have ended."""
    found = _drain_fails(monkeypatch, "_older_spikes", lambda self, l, t: False, 0)
    assert any(p and "contract violations" in p for p in found), found


def test_without_the_tick_compare_spikes_reach_the_tick_before(monkeypatch):
    """A spike of tick s may leave only once the next layer has taken TICK(s)."""
    found = _drain_fails(monkeypatch, "_may_leave", lambda self, l, core, running: True, 0)
    assert any(p and "contract violations" in p for p in found), found


def test_without_tick_order_a_link_fifo_deadlocks(monkeypatch):
    """With link FIFOs (their gate at the output) a layer's spikes must enter the link in
    tick order: a spike of tick t + 1 ahead of one of tick t blocks the FIFO's head."""
    gate = LayerTicksModel._may_leave
    found = _drain_fails(monkeypatch, "_may_leave", lambda self, l, core, running:
                         True if self.link_fifo and running and l < self.L - 1
                         else gate(self, l, core, running), 2, range(80))
    assert any(p and "hangs" in p for p in found), found


def test_lookahead_needs_drain_behind():
    case, plan, system, _ = _system(3)
    with pytest.raises(ConfigError, match="lookahead: 2 needs drain_behind"):
        LayerTicksModel(plan, system, lookahead=2)
    with pytest.raises(ConfigError, match="lookahead: must be an integer >= 1, got 0"):
        LayerTicksModel(plan, system, drain_behind=True, lookahead=0)


def test_a_drain_behind_core_takes_its_tick_with_spikes_still_leaving(monkeypatch):
    """The hidden cores do take TICKs with spikes of the last update still in them, and
    over the random systems the runs take fewer cycles than without (the same runs)."""
    early = Counter()
    accept = DrainBehindCoreModel._accept

    def counting(self, event, is_tick, tick):
        early["ticks with spikes left"] += bool(not event and is_tick
                                                and (self.queue or self.out_valid))
        accept(self, event, is_tick, tick)
    monkeypatch.setattr(DrainBehindCoreModel, "_accept", counting)
    cycles = Counter()
    for seed in range(60):
        case, plan, system, _ = _system(seed)
        trace = run_network(case.network, case.counts)
        for drain in (False, True):
            model = LayerTicksModel(plan, system, drain_behind=drain)
            timings = predict_run(plan, trace, random_schedules(trace.input_counts,
                                                                random.Random(seed), 0.0),
                                  case.counts.shape[1], system=system, model=model)
            cycles[drain] += sum(t.cycles for t in timings)
    assert early["ticks with spikes left"] > 20
    assert cycles[True] < cycles[False], cycles


def test_a_pipelined_bound_six_stages_too_deep_is_above_some_run(monkeypatch):
    """Every run above is checked against the pipelined dependency bound (no design of these
    cores is faster). The check can fail: with a pipeline of 14 stages instead of 8 the
    bound is above the cycles of some run of the fastest models (drain behind, 16 ahead)."""
    monkeypatch.setattr(system_cycle, "UPDATE_STAGES", 14)
    found = []
    for seed in range(200):
        case, plan, system, rng = _system(seed)
        system = dataclasses.replace(system, double_buffer=True)
        found.append(check_layer_ticks(case, plan, system, rng, 16, drain_behind=True,
                                       lookahead=16))
    assert any(p and "below the pipelined bound" in p for p in found)
