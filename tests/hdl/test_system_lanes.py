"""Multi-core systems whose cores have several lanes (CoreConfig.lanes > 1): SpikeforgeSystem
(hdl/system.py) in Amaranth's simulator against the golden network model and the system
cycle model (sim/system_cycle.py, built on the core model of sim/blocks/core.py).

Random networks and core splits as in tests/hdl/test_system.py, every layer given its own
lane count (N not a multiple of L included), random input gaps and output stalls, a FIFO or
not, several images back to back, every decision mode: every spike of every layer, the
decision and the cycle of every handshake, tick end and ``done`` must be exactly as
predicted. And the lanes make inferences faster than the one-lane cores.
"""

import dataclasses
import random

import pytest

from spikeforge.compiler.map import plan_network
from spikeforge.cosim.runner import CosimFailure
from spikeforge.cosim.system_cosim import (
    StallPattern,
    expected_run,
    expected_spikes,
    run_system_cosim,
    schedules_for,
)
from spikeforge.hdl.system import SpikeforgeSystem
from spikeforge.ir.params import Decision
from spikeforge.ir.plan import CorePlan
from spikeforge.ir.system import SystemConfig
from spikeforge.sim.cycle import core_busy_bound
from spikeforge.sim.network import run_network
from spikeforge.sim.system_cycle import dependency_bound, lower_bound_cycles, ticks_to_run
from tests.hdl.test_system import N_TICKS, simulate
from tests.util import assert_cycles_match, random_inputs, random_network


def check_lanes_system(seed, images=2, n_ticks=6, decision=None, lanes=None, fifo_depth=None,
                       p_ready=None, max_size=14, overlap=False):
    """Run one random system with lanes; returns (spikes compared, cycles per image)."""
    rng = random.Random(seed)
    network = random_network(seed, max_size=max_size, decision=decision)
    npc = [rng.randint(1, max(1, layer.n_neurons)) for layer in network.layers]
    if lanes is None:
        lanes = [rng.choice([2, 3, 4, 8]) for _ in network.layers]
    plan = plan_network(network, neurons_per_core=npc, lanes=lanes)
    fifo_depth = rng.choice([0, 1, 2, 4]) if fifo_depth is None else fifo_depth
    p_ready = rng.choice([1.0, 0.5, 0.3]) if p_ready is None else p_ready
    counts = random_inputs(seed, network, images, n_ticks, p=rng.choice([0.2, 0.4]))
    schedules = schedules_for(counts, seed, p_gap=0.3)
    system = SystemConfig(network.decision, fifo_depth=fifo_depth, overlap=overlap)
    ready = StallPattern(seed, p_ready)
    start_gaps = [rng.randint(0, 2) for _ in range(images)]
    trace, timings, items = expected_run(network, plan, counts, n_ticks, schedules=schedules,
                                         system=system, out_ready=ready, start_cycle=2,
                                         start_gaps=start_gaps)
    N_TICKS[0] = n_ticks  # the bench of test_system drives the system's n_ticks from it
    got = simulate(SpikeforgeSystem(plan, system), items, start_gaps, ready, start_cycle=2)
    assert len(got) == images
    n_layers = len(network.layers)
    spiked = 0
    stats = trace.statistics()
    for b, (obs, exp) in enumerate(zip(got, timings)):
        where = f"seed {seed} image {b} lanes {lanes}"
        ticks_run = ticks_to_run(trace, b, n_ticks)
        for l in range(n_layers):
            want = expected_spikes(trace, b, l, ticks_run, exp.monitor_events[l])
            assert sorted((n, t) for n, t, _ in obs["monitor"][l]) == want, \
                f"{where}: layer {l} spikes differ"
            spiked += len(want)
        out = sorted((n, t) for n, t, _ in obs["out"])
        assert out == expected_spikes(trace, b, n_layers - 1, ticks_run, exp.out_events), where
        assert obs["cls"] == int(trace.decision[b]), f"{where}: class"
        assert obs["ticks_run"] == ticks_run and obs["error"] == 0, where
        assert_cycles_match(obs, exp, n_layers, where)
        if network.decision is not Decision.FIRST_SPIKE:  # (early exit: fewer ticks)
            events = stats.input_events[b]
            bound = max(core_busy_bound(c.config, int(events[c.layer]), n_ticks)
                        for c in plan.cores)
            assert bound <= exp.cycles, (where, bound, exp.cycles)
        bounds = lower_bound_cycles(plan, trace, b, n_ticks)
        assert max(bounds["bound"], bounds["dependency_bound"]) <= exp.cycles, where
        pipelined = dependency_bound(plan, trace, b, bounds["ticks_run"], pipelined=True)
        assert bounds["dependency_bound"] <= pipelined <= exp.cycles, (where, pipelined)
    return spiked, [t.cycles for t in timings]


@pytest.mark.parametrize("seed", range(4))
def test_random_lanes_system_matches_golden_and_cycle_model(seed):
    spiked, _ = check_lanes_system(seed)
    assert spiked > 0 or seed == 3  # (a seed may stay silent; most must not)


@pytest.mark.parametrize("decision", list(Decision))
def test_every_decision_with_lanes_stalls_and_fifo(decision):
    check_lanes_system(300 + len(decision.value), decision=decision, fifo_depth=2, p_ready=0.4)


@pytest.mark.parametrize("seed, lanes, decision", [
    (310, 2, Decision.SPIKE_COUNT), (311, 4, Decision.SPIKE_COUNT), (312, 8, Decision.SPIKE_COUNT),
    (313, 4, Decision.FIRST_SPIKE), (314, 8, Decision.FIRST_SPIKE)])
def test_overlapped_input_with_lanes(seed, lanes, decision):
    """Overlapped input (tick t + 1's input during tick t's update) with 2, 4 and 8 lanes,
    stalls and no FIFO: the golden spikes and every cycle of the model."""
    spiked, _ = check_lanes_system(seed, decision=decision, lanes=lanes,
                                   fifo_depth=0, p_ready=0.5, overlap=True, max_size=16)
    assert spiked > 0


def test_lanes_make_the_same_inference_faster():
    """The same network, inputs and driver with 1 and 4 lanes: identical spikes (both
    checked against the golden model above), fewer cycles with lanes."""
    _, one = check_lanes_system(7, images=1, lanes=1, fifo_depth=0, p_ready=1.0, max_size=24)
    _, four = check_lanes_system(7, images=1, lanes=4, fifo_depth=0, p_ready=1.0, max_size=24)
    assert four[0] < one[0], (one, four)


# -- the same in Icarus / Verilator (cocotb), through spikeforge.cosim.system_cosim ----------

def lanes_case(seed, n_layers, lanes, split=True):
    rng = random.Random(seed)
    network = random_network(seed, n_layers=n_layers, max_size=14)
    npc = [rng.randint(1, l.n_neurons) for l in network.layers] if split else None
    plan = plan_network(network, neurons_per_core=npc, lanes=lanes)
    return network, plan, random_inputs(seed, network, images=3, ticks=8, p=0.3)


@pytest.mark.parametrize("simulator,lanes", [
    ("icarus", [4, 2, 3]), ("icarus", [8, 8, 8]),
    pytest.param("verilator", [2, 4, 8], marks=pytest.mark.slow)])
def test_system_cosim_with_lanes(simulator, lanes):
    """Every spike, class and handshake cycle of a 3-layer system with lanes, stalls and a
    FIFO, co-simulated, against the golden and cycle models."""
    network, plan, counts = lanes_case(22, 3, lanes)
    result = run_system_cosim(network, plan, counts, simulator,
                              system=SystemConfig(network.decision, fifo_depth=2),
                              p_ready=0.5, seed=22)
    report = result.report
    assert report["images_done"] == 3 and report["mismatch"] is None
    assert [r["class"] for r in report["results"]] == run_network(network, counts).decision.tolist()


def test_system_cosim_flipped_bit_in_a_packed_lane_is_reported():
    """One weight bit flipped in lane 2 of a packed word of a 4-lane core in the RTL only:
    the co-simulation must fail."""
    network, plan, counts = lanes_case(22, 3, 4, split=False)  # one core per layer
    core = next(c for c in plan.cores if c.n_neurons >= 3)
    w = core.config.weights.copy()
    w[:, 2] ^= 1 << 4  # every input's weight to local neuron 2: lane 2 of word 0
    flipped = dataclasses.replace(plan, cores=tuple(
        CorePlan(c.core_id, c.layer, c.index, c.neuron_offset, c.config.with_weights(w))
        if c.core_id == core.core_id else c for c in plan.cores))
    with pytest.raises(CosimFailure):
        run_system_cosim(network, plan, counts, "icarus", seed=22, rtl_plan=flipped,
                         system=SystemConfig(network.decision, fifo_depth=2))
