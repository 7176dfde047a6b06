"""sim/planned.py: the cycle models of per-layer ticks (not built in RTL) and of
double-buffered cores (built since stop 59; their RTL co-simulated elsewhere) on random
systems -- the contract checked as they run and at the ports, one
layer exactly today's system model, each rule of per-layer ticks shown to be needed, and a
double-buffered core by hand."""

import dataclasses
import random

import numpy as np
import pytest

from spikeforge.commands.fuzz import random_plan
from spikeforge.compiler.map import plan_network
from spikeforge.sim.blocks.core import CorePhase, DoubleBufferedCoreModel
from spikeforge.sim.fuzz import random_case, random_schedules, stall_pattern
from spikeforge.sim.network import run_network
from spikeforge.sim.planned import LayerTicksModel, check_layer_ticks
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
