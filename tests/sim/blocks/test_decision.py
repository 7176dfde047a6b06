"""The decision models (sim/blocks/decision.py) against :class:`DecisionUnit`
(hdl/decision.py), and the documented decision timing of each mode with exact cycles.

Lockstep (FIRST_SPIKE, SPIKE_COUNT): random spikes (indices past ``n_classes`` included),
``tick``, ``tick_done``, ``finished`` and ``clear`` pulses in any combination; every cycle
``valid``, ``stop``, ``none``, ``cls`` and the FIRST_SPIKE tick must be the RTL's.
MEMBRANE_MAX: the model does not simulate the membranes; the unit is fed the values the
way the system reads them (one per cycle from ``finished + 2``: the read starts at the edge
of ``finished``, the host port's latency is 1) and must become valid in the same cycle as
the model, with the model's (golden) class.
"""

import random

import pytest

from spikeforge.compiler.map import plan_network
from spikeforge.hdl.decision import DecisionUnit
from spikeforge.ir.params import Decision
from spikeforge.sim.blocks.decision import (
    FirstSpikeDecision,
    MembraneMaxDecision,
    SpikeCountDecision,
    decision_model,
    decisive_classes,
    stops_at_tick_end,
)
from tests.util import random_network, run


def decision_lockstep(seed, mode, n_classes, cycles=1500, decisive_below=0):
    rng = random.Random(seed)
    dut = DecisionUnit(n_classes, mode, decisive_below=decisive_below)
    model = decision_model(mode, n_classes, decisive_below)
    n_index = 1 << dut.index_bits
    seen = {"valid": 0, "none": 0, "stop": 0, "counted": 0}

    async def bench(ctx):
        tick, p_spike = 0, 0.0
        for c in range(cycles):
            clear = c == 0 or rng.random() < 0.01
            if clear:  # some runs without spikes (none), some with
                p_spike = rng.choice([0.0, 0.03, 0.15])
            tick = 0 if clear else tick + (rng.random() < 0.05)
            neuron = rng.randrange(n_index) if rng.random() < p_spike else None
            tick_done = rng.random() < 0.06
            finished = rng.random() < 0.02
            ctx.set(dut.spike.valid, int(neuron is not None))
            ctx.set(dut.spike.payload, neuron or 0)
            ctx.set(dut.tick, tick)
            ctx.set(dut.tick_done, int(tick_done))
            ctx.set(dut.finish, int(finished))
            ctx.set(dut.clear, int(clear))
            where = (seed, c)
            assert ctx.get(dut.spike.ready) == 1
            assert ctx.get(dut.valid) == model.valid, where
            assert ctx.get(dut.stop) == model.stop, where
            if model.valid:
                assert ctx.get(dut.none) == model.none, where
                assert ctx.get(dut.cls) == model.cls, where
                if mode is Decision.FIRST_SPIKE and not model.none:
                    assert ctx.get(dut.first_tick) == model.decision_tick(0), where
                if mode is Decision.SPIKE_COUNT:  # the counters, back in place after the scan
                    got = [ctx.get(port) for port in dut.counts]
                    assert got == model.counts, (where, got)
                    seen["counted"] += sum(got) > 0
            seen["valid"] += model.valid
            seen["none"] += model.valid and model.none
            seen["stop"] += model.stop
            model.clock(neuron, tick, tick_done, finished, clear)
            await ctx.tick()

    run(dut, bench)
    return seen


@pytest.mark.parametrize("seed,mode,n_classes,decisive_below", [
    (0, Decision.FIRST_SPIKE, 3, 0), (1, Decision.FIRST_SPIKE, 8, 0),
    (2, Decision.FIRST_SPIKE, 1, 0), (6, Decision.FIRST_SPIKE, 8, 8),
    (7, Decision.FIRST_SPIKE, 8, 3), (8, Decision.FIRST_SPIKE, 1, 1),
    (3, Decision.SPIKE_COUNT, 3, 0), (10, Decision.SPIKE_COUNT, 5, 0),
    (5, Decision.SPIKE_COUNT, 1, 0)])
def test_decision_matches_rtl_cycle_by_cycle(seed, mode, n_classes, decisive_below):
    """``decisive_below``: FIRST_SPIKE decides at a spike below it (0: at tick_done only)."""
    seen = decision_lockstep(seed, mode, n_classes, decisive_below=decisive_below)
    # decisions with and without spikes (seed 4 at 5 classes, used until stop 36, saw none
    # with a spike: its runs ended before their first spike)
    assert seen["valid"] > 100 and 0 < seen["none"] < seen["valid"]
    assert (seen["stop"] > 0) == (mode is Decision.FIRST_SPIKE)
    assert (seen["counted"] > 50) == (mode is Decision.SPIKE_COUNT)


def membrane_lockstep(seed, n_classes, runs=6):
    rng = random.Random(seed)
    dut = DecisionUnit(n_classes, Decision.MEMBRANE_MAX, membrane_bits=8)
    model = decision_model(Decision.MEMBRANE_MAX, n_classes)
    results = []

    async def bench(ctx):
        for _ in range(runs):
            values = [rng.randint(-5, 5) for _ in range(n_classes)]  # ties likely
            model.golden_class = max(range(n_classes), key=lambda k: (values[k], -k))
            length = rng.randint(0, 4) + n_classes + 6
            finish_at = rng.randint(1, 3)
            for c in range(length):
                clear, finished = c == 0, c == finish_at
                k = c - finish_at - 2  # the value read into the unit in this cycle
                feed = 0 <= k < n_classes
                ctx.set(dut.clear, int(clear))
                ctx.set(dut.finish, int(finished))
                ctx.set(dut.membrane.valid, int(feed))
                ctx.set(dut.membrane.payload, values[k] if feed else 0)
                if feed:
                    assert ctx.get(dut.membrane.ready)
                assert ctx.get(dut.valid) == model.valid, (seed, c)
                assert ctx.get(dut.stop) == model.stop == 0
                if model.valid:
                    assert ctx.get(dut.cls) == model.cls, (seed, c, values)
                    if c > finish_at:
                        results.append(c - finish_at)
                model.clock(None, 0, False, finished, clear)
                await ctx.tick()

    run(dut, bench)
    return results


@pytest.mark.parametrize("seed,n_classes", [(0, 1), (1, 4), (2, 7)])
def test_membrane_max_matches_rtl_fed_as_the_system_reads(seed, n_classes):
    results = membrane_lockstep(seed, n_classes)
    assert min(results) == n_classes + 2


# -- documented timing, exact cycles -------------------------------------------------------

def drive(model, schedule, cycles):
    """``schedule[c]``: dict of the inputs of cycle c; returns per cycle (valid, stop)."""
    out = []
    for c in range(cycles):
        s = schedule.get(c, {})
        out.append((model.valid, model.stop))
        model.clock(s.get("neuron"), s.get("tick", 0), s.get("tick_done", False),
                    s.get("finished", False), s.get("clear", False))
    return out


def first_valid(trace):
    return next(c for c, (valid, _) in enumerate(trace) if valid)


def test_first_spike_decides_the_cycle_after_the_deciding_tick_done():
    m = FirstSpikeDecision(4)
    schedule = {0: {"clear": True}, 2: {"tick_done": True},  # tick 0: no spike
                3: {"neuron": 7, "tick": 1},  # index >= n_classes: ignored
                4: {"neuron": 3, "tick": 1}, 5: {"neuron": 1, "tick": 1},
                6: {"neuron": 2, "tick": 1}, 7: {"tick_done": True, "tick": 1},
                9: {"neuron": 0, "tick": 2}}  # after the decision: ignored
    trace = drive(m, schedule, 12)
    assert first_valid(trace) == 8 and trace[8] == (True, True)
    assert (m.cls, m.none, m.decision_tick(5)) == (1, False, 1)  # lowest index of tick 1


def test_first_spike_without_spike_is_none_after_finished():
    m = FirstSpikeDecision(3)
    trace = drive(m, {0: {"clear": True}, 3: {"tick_done": True, "tick": 0},
                      4: {"neuron": 5}, 6: {"finished": True}}, 9)
    assert first_valid(trace) == 7 and trace[7] == (True, False)  # no stop without a class
    assert (m.cls, m.none, m.decision_tick(4)) == (-1, True, 3)


def test_spike_count_scans_after_finished_ties_to_the_lower_index():
    n = 4
    m = SpikeCountDecision(n)
    spikes = [2, 1, 3, 1, 2, 9]  # classes 1 and 2 tie with 2 spikes; 9 is ignored
    schedule = {0: {"clear": True}, **{1 + k: {"neuron": s} for k, s in enumerate(spikes)},
                10: {"finished": True}}
    trace = drive(m, schedule, 10 + n + 3)
    assert first_valid(trace) == 10 + n + 2
    assert (m.cls, m.none) == (1, False) and not any(stop for _, stop in trace)


def test_spike_count_without_spikes_is_none():
    m = SpikeCountDecision(3)
    trace = drive(m, {0: {"clear": True}, 2: {"finished": True}}, 8)
    assert first_valid(trace) == 2 + 3 + 2
    assert (m.cls, m.none) == (0, True)


def test_membrane_max_is_valid_n_plus_2_after_finished_with_the_golden_class():
    n = 5
    m = MembraneMaxDecision(n)
    m.golden_class = 3
    trace = drive(m, {0: {"clear": True}, 4: {"finished": True}}, 4 + n + 4)
    assert first_valid(trace) == 4 + n + 2
    assert (m.cls, m.none, m.stop) == (3, False, False)
    assert m.decision_tick(6) == 5


@pytest.mark.parametrize("mode", list(Decision))
def test_clear_wins_over_everything_in_its_cycle(mode):
    m = decision_model(mode, 2)
    m.golden_class = 0
    drive(m, {0: {"clear": True}, 1: {"neuron": 0}, 2: {"tick_done": True, "finished": True}},
          12)
    assert m.valid
    m.clock(0, 3, True, True, True)  # a spike, tick_done and finished with clear
    if mode is Decision.SPIKE_COUNT:  # its scan and valid are cleared an edge later
        assert m.valid
        m.clock(None, 3, False, False, False)
    assert (m.valid, m.none, m.cls, m.stop) == (False, False, 0, False)
    # none of them was taken: nothing happens without a new finished
    assert not any(valid for valid, _ in drive(m, {}, 12))
    # and nothing of the old run survives: the next run without spikes decides none
    drive(m, {2: {"tick_done": True}, 3: {"finished": True}}, 12)
    assert m.valid and (m.none or mode is Decision.MEMBRANE_MAX)


def test_first_spike_decides_at_a_decisive_spike_with_the_lowest_index_of_its_tick():
    """Classes 0..2 belong to the first output core (decisive_below = 3). Tick 0: 5 (another
    core) arrives first -- not decisive, the tick could still bring a lower class; then 4;
    then 2 (the first core): decided at that spike, class 2, valid from the next cycle,
    before any tick_done."""
    m = FirstSpikeDecision(8, decisive_below=3)
    m.clock(None, 0, False, False, True)
    for neuron in (5, 4):
        m.clock(neuron, 0, False, False, False)
        assert not m.valid
    m.clock(2, 0, False, False, False)
    assert (m.valid, m.stop, m.cls, m.decision_tick(0)) == (True, True, 2, 0)
    m.clock(0, 0, True, False, False)  # later spikes and the tick's end change nothing
    assert m.cls == 2
    # only other cores spike in a tick: decided at its tick_done, lowest index seen
    m = FirstSpikeDecision(8, decisive_below=3)
    m.clock(None, 0, False, False, True)
    for neuron in (6, 4, 7):
        m.clock(neuron, 1, False, False, False)
    assert not m.valid
    m.clock(None, 1, True, False, False)
    assert (m.valid, m.cls, m.decision_tick(0)) == (True, 4, 1)


def test_a_run_stops_at_a_tick_end_only_where_some_class_decides_there():
    """``stops_at_tick_end`` (the tick controller's CHECK after every tick): a first-spike
    decision whose output layer is split over cores (the classes of the higher cores decide
    at the tick's end); not with one output core (every class decides at its spike) nor for
    the other decisions."""
    network = next(n for n in (random_network(s, max_size=16, decision=Decision.FIRST_SPIKE)
                                for s in range(100)) if n.n_outputs >= 4)
    n_hidden = [layer.n_neurons for layer in network.layers[:-1]]
    one = plan_network(network, neurons_per_core=[*n_hidden, network.n_outputs])
    two = plan_network(network, neurons_per_core=[*n_hidden, network.n_outputs // 2])
    assert decisive_classes(one) == network.n_outputs
    assert decisive_classes(two) == network.n_outputs // 2
    assert not stops_at_tick_end(Decision.FIRST_SPIKE, one)
    assert stops_at_tick_end(Decision.FIRST_SPIKE, two)
    for mode in (Decision.SPIKE_COUNT, Decision.MEMBRANE_MAX):
        assert not stops_at_tick_end(mode, two)
