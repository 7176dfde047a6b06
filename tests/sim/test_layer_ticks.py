"""sim/layer_ticks.py: the cycle model of per-layer ticks (not built in RTL) on random
systems -- the contract checked as it runs and at the ports, one layer exactly today's
system model, and each of its rules shown to be needed."""

import dataclasses
import random

import pytest

from spikeforge.commands.fuzz import random_plan
from spikeforge.sim.fuzz import random_case, random_schedules, stall_pattern
from spikeforge.sim.layer_ticks import LayerTicksModel, check_layer_ticks
from spikeforge.sim.network import run_network
from spikeforge.sim.system_cycle import SystemModel, predict_run


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
