"""Co-simulation of the whole system (SpikeforgeSystem) on Icarus and Verilator against the
golden network model and the system cycle model: per image the class, decision tick, every
spike of every layer, every output spike's cycle, every tick end and the total cycles.
See spikeforge.cosim.system_cosim."""

import random

import numpy as np
import pytest

from spikeforge.compiler.map import plan_network
from spikeforge.cosim.runner import CosimFailure
from spikeforge.cosim.system_cosim import run_system_cosim
from spikeforge.ir.params import Decision
from spikeforge.ir.plan import CorePlan, HardwarePlan
from spikeforge.ir.system import SystemConfig
from spikeforge.sim.network import run_network
from tests.util import random_inputs, random_network

CASES = {
    # seed: (n_layers, fifo_depth, p_ready)
    "2-layers-fifo2-stalls": (21, 2, 2, 0.5),
    "3-layers-nofifo": (22, 3, 0, 1.0),
    "4-layers-fifo4-stalls": (23, 4, 4, 0.3),
}


def make_case(name):
    seed, n_layers, fifo_depth, p_ready = CASES[name]
    rng = random.Random(seed)
    network = random_network(seed, n_layers=n_layers, max_size=14)
    plan = plan_network(network, neurons_per_core=[rng.randint(1, l.n_neurons)
                                                   for l in network.layers])
    counts = random_inputs(seed, network, images=3, ticks=8, p=0.3)
    return network, plan, counts, fifo_depth, p_ready, seed


# A Verilator build of a system takes ~40 s (every signal is VPI-public); one case runs by
# default, the others are slow.
RUNS = [pytest.param("icarus", name, id=f"icarus-{name}") for name in CASES] + [
    pytest.param("verilator", name, id=f"verilator-{name}",
                 marks=() if name == "2-layers-fifo2-stalls" else pytest.mark.slow)
    for name in CASES]


@pytest.mark.parametrize("simulator,name", RUNS)
def test_system_matches_models(simulator, name):
    network, plan, counts, fifo_depth, p_ready, seed = make_case(name)
    result = run_system_cosim(network, plan, counts, simulator,
                              system=SystemConfig(network.decision, fifo_depth=fifo_depth),
                              p_ready=p_ready, seed=seed)
    report = result.report
    assert report["images_done"] == 3 and report["mismatch"] is None
    assert sum(r["output_spikes"] for r in report["results"]) > 0 or \
        network.decision is Decision.FIRST_SPIKE
    trace = run_network(network, counts)
    assert [r["class"] for r in report["results"]] == trace.decision.tolist()


def flip_weight(plan: HardwarePlan, core_id: int, j: int, n: int, bit: int) -> HardwarePlan:
    cores = []
    for c in plan.cores:
        if c.core_id == core_id:
            w = c.config.weights.copy()
            wb = c.config.params.weight_bits
            raw = (int(w[j, n]) & ((1 << wb) - 1)) ^ (1 << bit)
            w[j, n] = raw - (1 << wb) if raw >> (wb - 1) else raw
            c = CorePlan(c.core_id, c.layer, c.index, c.neuron_offset, c.config.with_weights(w))
        cores.append(c)
    return HardwarePlan(plan.n_inputs, tuple(cores), plan.routes)


def first_difference(trace_a, trace_b):
    """(image, tick, layer, neuron) of the earliest spike difference (image, tick, layer)."""
    best = None
    for l, (a, b) in enumerate(zip(trace_a.spikes, trace_b.spikes)):
        for image, tick, neuron in np.argwhere(a != b):
            key = (int(image), int(tick), l, int(neuron))
            if best is None or key < best:
                best = key
            break
    return best


@pytest.mark.parametrize("simulator", ["icarus", pytest.param("verilator", marks=pytest.mark.slow)])
def test_flipped_weight_bit_is_reported(simulator):
    """One weight bit flipped in one core of the RTL; the models keep the original. The
    report must name the image, tick and neuron of the first spike difference."""
    network = random_network(31, n_layers=2, max_size=10, decision=Decision.SPIKE_COUNT)
    plan = plan_network(network, neurons_per_core=[3, 4])
    counts = random_inputs(31, network, images=2, ticks=6, p=0.4)
    trace = run_network(network, counts)
    for core in plan.cores:  # find a flip that changes some spike
        for j in range(core.n_inputs):
            for n in range(core.n_neurons):
                bad_plan = flip_weight(plan, core.core_id, j, n, 6)
                from spikeforge.compiler.map import network_from_plan
                bad = run_network(network_from_plan(bad_plan, network.decision), counts)
                diff = first_difference(trace, bad)
                if diff is not None:
                    break
            if diff is not None:
                break
        if diff is not None:
            break
    assert diff is not None
    image, tick, layer, neuron = diff
    with pytest.raises(CosimFailure) as info:
        run_system_cosim(network, plan, counts, simulator, rtl_plan=bad_plan, seed=3)
    message = str(info.value)
    assert f"image {image}" in message and f"tick {tick}" in message \
        and f"neuron {neuron}" in message, (diff, message)
    assert info.value.result.report["mismatch"]["tick"] == tick
