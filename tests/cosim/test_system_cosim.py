"""Co-simulation of the whole system (SpikeforgeSystem) on Icarus and Verilator against the
golden network model and the system cycle model: per image the class, decision tick, every
spike of every layer, every output spike's cycle, every tick end and the total cycles.
See spikeforge.cosim.system_cosim."""

import dataclasses
import random
import re

import numpy as np
import pytest

from spikeforge.compiler.map import plan_network
from spikeforge.cosim.runner import CosimFailure
from spikeforge.cosim.system_cosim import expected_run, run_system_cosim, schedules_for
from spikeforge.hdl.verilog import system_verilog
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.ir.params import Decision, NeuronParams, Reset
from spikeforge.ir.plan import CorePlan, HardwarePlan
from spikeforge.ir.system import SystemConfig
from spikeforge.sim.network import ERROR_UNDETERMINED, run_network
from tests.util import random_inputs, random_network, require_simulator

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


@pytest.mark.parametrize("weight_banks,stages,sums", [("", 1, False), ("ecp5", 1, False),
                                                      ("ice40", 0, True)])
def test_weight_stages_system_matches_models(weight_banks, stages, sums):
    """``weight_stages``: the cores of at least three words add a word to its current a
    stage later, the others keep their write-back; ``sum_stage``: the cores of at least three
    words write their sums back from a register; every spike, cycle and decision as the
    models say (which know nothing of the stages: they move no cycle)."""
    network, _, counts, fifo_depth, p_ready, seed = make_case("3-layers-nofifo")
    plan = plan_network(network, lanes=[1, 8, 1])  # one core per layer
    words = [c.config.words for c in plan.cores]
    assert max(words) >= 3 > min(words), words  # both kinds of core
    system = SystemConfig(network.decision, fifo_depth=fifo_depth, weight_banks=weight_banks,
                          weight_stages=stages, sum_stage=sums)
    # (a core of two words given a stage would refuse it: NeuronCore's ConfigError)
    staged = system_verilog(plan, system)
    bare = system_verilog(plan, dataclasses.replace(system, weight_stages=0, sum_stage=False))
    for name, asked in (("t_w_0", stages), ("s_sum", sums)):
        assert (name in staged) == bool(asked) and name not in bare
    result = run_system_cosim(network, plan, counts, "icarus", system=system, p_ready=0.5,
                              seed=seed)
    assert result.report["images_done"] == 3 and result.report["mismatch"] is None


@pytest.mark.parametrize("simulator", ["icarus", pytest.param("verilator", marks=pytest.mark.slow)])
def test_tile_stage_system_matches_models(simulator):
    """``tile_stage``: the first hidden layer's core of lane groups (10 neurons in 8 lanes:
    2 words, the closest write-back) with its groups a cycle behind its control, the
    others without (2 lanes have no groups; the output layer's membranes are read by the
    decision unit): every spike, cycle and decision as the models say, whose core model
    takes its update a stage longer. A weight bit flipped in the tiled core is a
    mismatch."""
    seed, fifo_depth, p_ready = 44, 2, 0.5
    network = random_network(seed, n_layers=3, max_size=16)  # 10-10-13, spike count
    plan = plan_network(network, lanes=[8, 2, 1])
    counts = random_inputs(seed, network, images=3, ticks=8, p=0.3)
    system = SystemConfig(network.decision, fifo_depth=fifo_depth, tile_stage=True)
    text = system_verilog(plan, system)
    tiled = [m for m in re.split(r"^module ", text, flags=re.M) if "s_waddr_t" in m]
    assert [m.split("(")[0].split(".")[-1].strip() for m in tiled] == ["core_0_0"]
    assert "s_waddr_t" not in system_verilog(plan, dataclasses.replace(system, tile_stage=False))
    result = run_system_cosim(network, plan, counts, simulator, system=system, p_ready=p_ready,
                              seed=seed)
    assert result.report["images_done"] == 3 and result.report["mismatch"] is None
    assert any(r["output_spikes"] for r in result.report["results"])
    trace = run_network(network, counts)
    (core,) = plan.cores_of_layer(0)
    from spikeforge.compiler.map import network_from_plan
    flips = ((j, n, bit) for bit in (6, 5, 4) for n in range(core.n_neurons)
             for j in range(core.n_inputs))
    for j, n, bit in flips:  # a flip that changes some spike of the run
        bad_plan = flip_weight(plan, core.core_id, j, n, bit)
        if first_difference(trace, run_network(network_from_plan(bad_plan, network.decision),
                                               counts)):
            break
    else:
        pytest.fail("no weight flip of the tiled core changes a spike")
    with pytest.raises(CosimFailure):
        run_system_cosim(network, plan, counts, simulator, rtl_plan=bad_plan, system=system,
                         seed=seed)


@pytest.mark.parametrize("simulator,decision", [
    ("icarus", Decision.SPIKE_COUNT), ("icarus", Decision.MEMBRANE_MAX),
    ("icarus", Decision.FIRST_SPIKE),
    pytest.param("verilator", Decision.SPIKE_COUNT, marks=pytest.mark.slow),
    pytest.param("verilator", Decision.FIRST_SPIKE, marks=pytest.mark.slow)])
def test_overlapped_system_matches_models(simulator, decision):
    """``overlap``: tick t + 1's input taken during tick t's update phase, three layers, no
    FIFO, input gaps and output stalls: every spike, cycle and decision as the models say."""
    seed = 24
    rng = random.Random(seed)
    network = random_network(seed, n_layers=3, max_size=14, decision=decision)
    plan = plan_network(network, neurons_per_core=[rng.randint(1, l.n_neurons)
                                                   for l in network.layers])
    counts = random_inputs(seed, network, images=3, ticks=8, p=0.4)
    result = run_system_cosim(network, plan, counts, simulator,
                              system=SystemConfig(decision, overlap=True), p_ready=0.5,
                              seed=seed)
    report = result.report
    assert report["images_done"] == 3 and report["mismatch"] is None
    assert sum(r["output_spikes"] for r in report["results"]) > 0
    trace = run_network(network, counts)
    assert [r["class"] for r in report["results"]] == trace.decision.tolist()


# The mutation campaign's TTFS design (cosim/mutate.py, "ttfs-one-word"): 10-7-4, non-leaky
# fire-once neurons, layer 0 in a two-word core (4 neurons, 3 lanes) and a one-word core (3
# neurons), overlapped input; inputs 0 and 1 inhibit
_WITHDRAW_W0 = [[-125, -58, -72, -86, -55, -57, -90], [-75, -61, -71, -86, -48, -51, -123],
                [-1, -21, 5, 13, 77, 66, -5], [21, 35, 70, -16, 54, 71, 70],
                [0, -16, 35, -22, -16, -23, -7], [65, 43, 39, 78, 24, -26, -13],
                [-2, 44, 9, 4, -18, 48, -28], [20, 51, 25, 45, 56, -6, -20],
                [-24, 33, -1, -9, 50, 58, 74], [23, 27, 78, 25, -10, -2, 75]]
_WITHDRAW_W1 = [[43, 2, -15, 3], [53, 2, -5, -11], [-18, 51, 9, -19], [-3, 58, -20, -4],
                [3, 2, 52, -5], [-3, 8, 57, 3], [-15, -10, 0, 59]]
_WITHDRAW_EVENTS = [  # per image and tick, the inputs that spike
    [[1, 2, 5, 7, 8, 9], [2, 3, 4, 5, 6], [0, 5, 6, 8, 9], [0, 2, 3, 5, 6, 8, 9],
     [0, 1, 3, 5, 8, 9], [0, 1, 3, 4, 6], [1, 2, 3, 4, 9], [0, 9], [0, 1, 9], [1, 3, 4, 7],
     [0, 3, 5, 6, 9], [0, 1, 2, 8]],
    [[1, 5], [2, 3, 4, 5, 6, 8, 9], [0, 2, 3, 7, 9], [2, 3, 5], [3, 4, 6, 8, 9],
     [0, 1, 2, 4, 5, 6, 7], [1, 3, 4, 5, 6, 7, 8, 9], [0, 7, 8], [1, 3, 9],
     [0, 1, 4, 5, 7, 8, 9], [0, 2, 4, 5, 7, 9], [0, 2, 4, 5, 6, 8, 9]]]


@pytest.mark.parametrize("simulator", ["icarus", pytest.param("verilator", marks=pytest.mark.slow)])
def test_a_first_spike_stop_forgets_an_input_event_half_delivered(simulator):
    """Overlapped, image 0 decides in tick 2 while tick 3's input event 8 is half delivered:
    the one-word core took it, the two-word core had not. The input multicast remembered
    that, and image 1's first event (input 1, inhibiting) then went to the two-word core
    only: neuron 5 spiked in tick 1 (stop 50, found by the mutation campaign's TTFS design;
    ``Multicast(withdraw=True)`` forgets a withdrawn packet)."""
    bits = dict(current_bits=12, membrane_bits=12, decay_bits=8, beta=256, fire_once=True)
    p0 = NeuronParams(threshold=118, alpha=182, reset=Reset.ZERO, **bits)
    p1 = NeuronParams(threshold=105, alpha=218, reset=Reset.SUBTRACT, **bits)
    network = IntegerNetwork((IntegerLayer(np.array(_WITHDRAW_W0), p0),
                              IntegerLayer(np.array(_WITHDRAW_W1), p1)), Decision.FIRST_SPIKE)
    plan = plan_network(network, neurons_per_core=[4, 4], lanes=[3, 4])
    assert [c.config.words for c in plan.cores] == [2, 1, 1]
    counts = np.zeros((2, 12, 10), dtype=np.int64)
    for b, ticks in enumerate(_WITHDRAW_EVENTS):
        for t, inputs in enumerate(ticks):
            counts[b, t, inputs] = 1
    trace = run_network(network, counts)
    assert trace.decision_tick.tolist() == [2, 3]
    result = run_system_cosim(network, plan, counts, simulator,
                              system=SystemConfig(Decision.FIRST_SPIKE, overlap=True),
                              seed=43, p_gap=0.0, p_ready=0.08)
    assert result.report["mismatch"] is None
    assert [r["class"] for r in result.report["results"]] == trace.decision.tolist()


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
@pytest.mark.parametrize("double_buffer", [False, True])
def test_flipped_weight_bit_is_reported(simulator, double_buffer):
    """One weight bit flipped in one core of the RTL; the models keep the original. The
    report must name the image, tick and neuron of the first spike difference (with
    double-buffered cores too)."""
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
        run_system_cosim(network, plan, counts, simulator, rtl_plan=bad_plan, seed=3,
                         system=SystemConfig(network.decision, double_buffer=double_buffer))
    message = str(info.value)
    assert f"image {image}" in message and f"tick {tick}" in message \
        and f"neuron {neuron}" in message, (diff, message)
    assert info.value.result.report["mismatch"]["tick"] == tick


# -- every event of every layer as a whole (tick, neuron, cycle) triple ------------------------

def swap_arbiter_priority(text: str, module: str = "merger_0.arbiter") -> str:
    """The Verilog ``text`` with inputs 0 and 1 of one round-robin arbiter swapped in its
    priority list (``casez (last)``: who wins when both request). Every grant still goes to
    a requesting input, so the same spikes leave in the same cycles; only two spikes of one
    tick may leave in swapped order."""
    start = text.index(f"module \\spikeforge_system.{module} ")
    case = text.index("casez (last)", start)
    end = text.index("endcase", case)

    def swap(m):
        if m.group(1) is not None:
            return f"i__{1 - int(m.group(1))}__valid"
        return f"sel = {m.group(2)}'h{1 - int(m.group(3))};"

    block = re.sub(r"i__([01])__valid|sel = (\d+)'h([01]);", swap, text[case:end])
    assert block != text[case:end]
    return text[:case] + block + text[end:]


def test_compare_image_compares_hidden_events_as_whole_triples():
    """The bench's comparison alone (no simulator): two layer-0 spikes of one tick that
    leave in swapped order, each in the other's cycle. Their (tick, neuron) set and their
    cycle list are both as predicted -- the old comparison passed this -- but the first
    triple differs, and the mismatch names layer, tick, neuron, expected and got."""
    from spikeforge.cosim.compare import compare_image

    monitor = [[[4, 0, 20], [1, 0, 21], [2, 1, 30]], [[0, 1, 25], [0, 2, 35]]]
    exp = {"class": 0, "decision_tick": 1, "ticks_run": 3, "none": False, "done": 50, "cycles": 49,
           "spikes": [sorted((n, t) for n, t, _ in layer) for layer in monitor],
           "out_spikes": sorted((n, t) for n, t, _ in monitor[-1]),
           "out": monitor[-1], "monitor": monitor, "inputs": [], "tick_done": [],
           "counters": {"events": [0, 3], "spikes": [3, 2]}}
    obs = {"cls": 0, "tick": 1, "ticks_run": 3, "none": 0, "error": 0, "done": 50,
           "cycles_port": 49, "level": None,
           "error_at_start": 0, "counters": {"events": [0, 3], "spikes": [3, 2]},
           "out": [tuple(e) for e in monitor[-1]], "inputs": [], "tick_done": [],
           "monitor": [[(1, 0, 20), (4, 0, 21), (2, 1, 30)], [tuple(e) for e in monitor[1]]]}
    assert compare_image(0, exp, obs, check_timing=False) == []  # same spikes
    found = compare_image(0, exp, obs)
    assert len(found) == 1
    m = found[0]
    assert (m.kind, m.tick, m.neuron, m.cycle) == ("image 0: monitor (layer 0)", 0, 4, 20)
    assert (m.expected, m.got) == ("(tick 0, neuron 4, cycle 20)", "(tick 0, neuron 1, cycle 20)")
    assert "neuron 1 instead of 4" in str(m)


def test_hidden_spikes_in_swapped_order_are_a_mismatch():
    """The shipped-text path (``verilog_text``) simulates an RTL variant whose layer-0
    merger grants inputs 0 and 1 in the other order. Every hidden spike, its tick and the
    list of cycles stay as predicted (values alone compare equal), so comparing the set of
    (tick, neuron) and the cycles apart reported it BIT-EXACT; as triples it is the first
    mismatch, naming layer 0 and the predicted event's tick and neuron."""
    network = random_network(41, n_layers=2, max_size=14)
    plan = plan_network(network, neurons_per_core=[l.n_neurons // 3 for l in network.layers])
    counts = random_inputs(41, network, images=2, ticks=6, p=0.4)
    system = SystemConfig(network.decision)
    mutant = swap_arbiter_priority(system_verilog(plan, system))
    values = run_system_cosim(network, plan, counts, "icarus", system=system,
                              verilog_text=mutant, check_timing=False)
    assert values.report["mismatch"] is None
    with pytest.raises(CosimFailure) as info:
        run_system_cosim(network, plan, counts, "icarus", system=system, verilog_text=mutant)
    report = info.value.result.report
    assert [m["kind"].split(": ")[1] for m in report["mismatches"]] == ["monitor (layer 0)"]
    m = report["mismatch"]
    _, timings, _ = expected_run(network, plan, counts, schedules=schedules_for(counts, 0, 0.3),
                                 system=system, out_ready=lambda c: True, start_cycle=1,
                                 start_gaps=[b % 3 for b in range(2)])
    b = int(m["kind"].split()[1].rstrip(":"))
    k = int(m["detail"].split("#")[1].split(":")[0])
    neuron, tick, cycle = timings[b].monitor_events[0][k]
    assert (m["tick"], m["neuron"], m["cycle"]) == (tick, neuron, cycle)
    assert m["expected"] == f"(tick {tick}, neuron {neuron}, cycle {cycle})"
    assert m["got"].startswith(f"(tick {tick}, neuron ") and m["got"].endswith(f"cycle {cycle})")
    assert m["got"] != m["expected"]
    message = str(info.value)
    assert "monitor (layer 0)" in message and f"neuron {neuron}" in message


def test_verilog_text_and_rtl_plan_exclude_each_other():
    network = random_network(41, n_layers=2, max_size=6)
    plan = plan_network(network)
    counts = random_inputs(41, network, images=1, ticks=2)
    with pytest.raises(ConfigError, match="rtl_plan, verilog_text"):
        run_system_cosim(network, plan, counts, rtl_plan=plan, verilog_text="module spikeforge_system")
    with pytest.raises(ConfigError, match="verilog_text"):
        run_system_cosim(network, plan, counts, verilog_text="spikeforge_system.v")



# -- deciding at the first output spike (issue 11, point 4) ---------------------------------

FIRST_SPIKE_CASES = {
    # name: (seed, output cores, fifo_depth, p_ready)
    "one-output-core": (51, 1, 0, 1.0),
    "three-output-cores-fifo-stalls": (53, 3, 2, 0.5),  # decides both ways (model)
}


def first_spike_case(name):
    seed, output_cores, fifo_depth, p_ready = FIRST_SPIKE_CASES[name]
    network = random_network(seed, n_layers=2, max_size=12, decision=Decision.FIRST_SPIKE)
    npc = [max(1, network.layers[0].n_neurons // 2), -(-network.n_outputs // output_cores)]
    plan = plan_network(network, neurons_per_core=npc)
    counts = random_inputs(seed, network, images=4, ticks=8, p=0.3)
    return network, plan, counts, SystemConfig(Decision.FIRST_SPIKE, fifo_depth=fifo_depth), \
        p_ready, seed


# Verilator builds take ~40-100 s: slow (the default Verilator system case is above).
@pytest.mark.parametrize("simulator,name", [
    pytest.param(sim, name, id=f"{sim}-{name}",
                 marks=() if sim == "icarus" else pytest.mark.slow)
    for sim in ("icarus", "verilator") for name in FIRST_SPIKE_CASES])
def test_first_spike_system_stops_at_the_spike(simulator, name):
    """Images back to back (start gaps 0..2): every event of every layer up to the stop as
    (tick, neuron, cycle), the decision, its tick and the done cycle -- the decision at the
    first output spike of the first output core (the rest of the decision tick cut off), or,
    with several output cores, at the end of a tick in which only the others spiked."""
    network, plan, counts, system, p_ready, seed = first_spike_case(name)
    _, timings, _ = expected_run(network, plan, counts, system=system,
                                 schedules=schedules_for(counts, seed, 0.3),
                                 out_ready=lambda c: True, start_cycle=1,
                                 start_gaps=[(seed + b) % 3 for b in range(4)])
    trace = run_network(network, counts)
    kinds = {t.stop_cycle >= 0 for b, t in enumerate(timings) if trace.decision[b] >= 0}
    assert kinds == ({True} if name == "one-output-core" else {True, False})
    result = run_system_cosim(network, plan, counts, simulator, system=system,
                              p_ready=p_ready, seed=seed)
    report = result.report
    assert report["images_done"] == 4 and report["mismatch"] is None
    assert [r["class"] for r in report["results"]] == trace.decision.tolist()


def test_a_design_deciding_at_the_tick_end_is_reported(monkeypatch):
    """The RTL of the old rule (decision at the end of the first tick with an output spike,
    i.e. no class decides at a spike) against the models of the new one: the first
    mismatch is named (an output spike or a monitor event past the stop, or the done cycle)."""
    network, plan, counts, system, p_ready, seed = first_spike_case("one-output-core")
    import spikeforge.hdl.system as hdl_system

    monkeypatch.setattr(hdl_system, "decisive_classes", lambda plan: 0)
    old_rule = system_verilog(plan, system)
    monkeypatch.undo()
    assert old_rule != system_verilog(plan, system)
    with pytest.raises(CosimFailure) as info:
        run_system_cosim(network, plan, counts, "icarus", system=system, seed=seed,
                         verilog_text=old_rule)
    m = info.value.result.report["mismatch"]
    assert m["kind"].startswith("image 0: ") and m["tick"] is not None, m


# -- overflow: the error flag, and the accumulator's wrap, co-simulated (issue 12, point 0) ----

def overflow_network(seed, decision):
    """6 -> 7 -> 4: the first layer takes at most 3 events a tick in a 11-bit accumulator
    (9-bit current), so a flooded tick (6..18 events of weights up to 127) wraps it."""
    rng = np.random.default_rng(seed)
    p0 = NeuronParams(weight_bits=8, current_bits=9, membrane_bits=12, decay_bits=8, alpha=128,
                      beta=200, threshold=300)
    p1 = NeuronParams(decay_bits=8, alpha=160, beta=230, threshold=150)
    return IntegerNetwork((IntegerLayer(rng.integers(-40, 128, (6, 7)), p0, max_events_per_tick=3),
                           IntegerLayer(rng.integers(-30, 90, (7, 4)), p1)), decision)


#: per image the tick whose input overflows (6..18 events), or None
OVERFLOW_AT = [0, None, 2, 5, None, 3]


def overflow_case(decision, seed=0, ticks=6):
    """Network, plan (2 cores per layer), input counts (0..3 events a tick, one tick per
    image flooded as :data:`OVERFLOW_AT` says) and the golden trace."""
    network = overflow_network(seed, decision)
    rng = np.random.default_rng(seed + 1)
    counts = np.zeros((len(OVERFLOW_AT), ticks, network.n_inputs), dtype=np.int64)
    for b, t_over in enumerate(OVERFLOW_AT):
        for t in range(ticks):
            counts[b, t, rng.permutation(network.n_inputs)[:rng.integers(0, 4)]] = 1
        if t_over is not None:
            counts[b, t_over] = rng.integers(1, 4, network.n_inputs)
    plan = plan_network(network, neurons_per_core=[4, 2])
    return network, plan, counts, run_network(network, counts)


def test_overflow_case_reaches_every_corner():
    """The stimulus below: overflow in the first, a middle and the last tick; FIRST_SPIKE
    runs that stop after an overflow (reported) and before one (not reported); the wrap
    changes spikes (an exact sum would not)."""
    spike_count = overflow_case(Decision.SPIKE_COUNT)[3]
    assert spike_count.error.tolist() == [1, 0, 1, 1, 0, 1]
    first = overflow_case(Decision.FIRST_SPIKE)[3]
    assert first.error.tolist() == [1, 0, 1, 0, 0, 1]
    assert first.decision_tick[0] > 0 and first.decision_tick[3] < OVERFLOW_AT[3]
    network, _, counts, trace = overflow_case(Decision.SPIKE_COUNT)
    roomy = IntegerNetwork((dataclasses.replace(network.layers[0], max_events_per_tick=18),)
                           + network.layers[1:], network.decision)
    assert (run_network(roomy, counts).spikes[0] != trace.spikes[0]).any()


@pytest.mark.parametrize("decision", [Decision.SPIKE_COUNT, Decision.FIRST_SPIKE])
def test_overflow_is_co_simulated_in_icarus(decision):
    """Images that overflow in the first, a middle and the last tick among normal ones, with
    input gaps, output stalls and a FIFO: every spike (of wrapped accumulators), cycle,
    decision and the error flag at done equal to the models (1 where the golden model
    says so, 0 for a FIRST_SPIKE run stopped before its overflowing tick)."""
    network, plan, counts, trace = overflow_case(decision)
    system = SystemConfig(decision, fifo_depth=2)
    result = run_system_cosim(network, plan, counts, "icarus", system=system, p_ready=0.6, seed=3)
    assert result.report["images_done"] == len(OVERFLOW_AT) and result.report["mismatch"] is None
    assert [r["class"] for r in result.report["results"]] == trace.decision.tolist()


def test_old_expectations_of_overflow_fail_in_icarus(monkeypatch):
    """The old behaviour, injected: the bench expecting error 0 always names the first
    overflowing image's flag (expected 0, got 1, with the layer, tick and events); a golden
    model that sums exactly instead of wrapping names a spike."""
    network, plan, counts, trace = overflow_case(Decision.SPIKE_COUNT)
    import spikeforge.cosim.system_cosim as system_cosim
    import spikeforge.sim.network as sim_network

    monkeypatch.setattr(system_cosim, "expected_error", lambda golden, timing: 0)
    with pytest.raises(CosimFailure) as info:
        run_system_cosim(network, plan, counts[:1], "icarus", check_timing=False)
    m = info.value.result.report["mismatch"]
    assert (m["kind"], m["tick"], m["expected"], m["got"]) == ("image 0: error flag", 0, 0, 1)
    assert "layer 0 takes" in m["detail"] and "max_events_per_tick = 3" in m["detail"]
    monkeypatch.undo()

    exact = sim_network._accumulate
    monkeypatch.setattr(sim_network, "_accumulate",
                        lambda state, synaptic, layer, wraps: exact(state, synaptic, layer, False))
    with pytest.raises(CosimFailure) as info:
        run_system_cosim(network, plan, counts, "icarus", check_timing=False)
    assert "spike" in info.value.result.report["mismatch"]["kind"]


@pytest.mark.parametrize("decision", [Decision.FIRST_SPIKE,
                                      pytest.param(Decision.MEMBRANE_MAX, marks=pytest.mark.slow)])
def test_overflow_is_co_simulated_in_the_fast_harness(decision, monkeypatch):
    """The same images in the compiled Verilator harness (one build, ~30-90 s): bit- and
    cycle-exact with the error flag; expecting 0 instead (the old bench) names the flag of
    the first overflowing image."""
    require_simulator("verilator")
    from spikeforge.cosim.fast import run_fast_cosim

    network, plan, counts, trace = overflow_case(decision)
    system = SystemConfig(decision, fifo_depth=1)
    result = run_fast_cosim(network, plan, counts, system=system, p_ready=0.6, seed=5,
                            check=False, all_images=True)
    assert result.report["mismatch"] is None and all(result.report["exact"])
    assert [r["class"] for r in result.report["results"]] == trace.decision.tolist()
    import spikeforge.cosim.system_cosim as system_cosim

    monkeypatch.setattr(system_cosim, "expected_error", lambda golden, timing: 0)
    old = run_fast_cosim(network, plan, counts, system=system, p_ready=0.6, seed=5,
                         check=False, all_images=True)
    flagged = [b for b, e in enumerate(trace.error.tolist()) if e == 1]
    assert [not x for x in old.report["exact"]] == [b in flagged for b in range(len(counts))]
    m = old.report["mismatch"]
    assert (m["kind"], m["expected"], m["got"]) == (f"image {flagged[0]}: error flag", 0, 1)


def wrap_case(weight_shift):
    """2 -> 3 -> 2 whose first layer takes one event a tick in a 9 + weight_shift-bit
    accumulator and never lets its current decay: 127 at tick 0, then two events of 127 at
    tick 1. The contract wraps 127 + 254 to -131 and saturates it to -128, so the membrane
    falls; a current saturated without the wrap (127) makes it cross the threshold at tick 3.
    ``(network, counts, the golden trace, the spikes a saturating core would give)``."""
    s = weight_shift
    p0 = NeuronParams(weight_bits=8, current_bits=8 + s, membrane_bits=16, decay_bits=8,
                      alpha=256, beta=256, threshold=500 << s, weight_shift=s)
    network = IntegerNetwork((IntegerLayer(np.full((2, 3), 127), p0, max_events_per_tick=1),
                              IntegerLayer(np.ones((3, 2), dtype=np.int64),
                                           NeuronParams(threshold=1))), Decision.SPIKE_COUNT)
    counts = np.zeros((1, 6, 2), dtype=np.int64)
    counts[0, 0, 0], counts[0, 1, 0] = 1, 2
    roomy = IntegerNetwork((dataclasses.replace(network.layers[0], max_events_per_tick=2),)
                           + network.layers[1:], network.decision)
    return network, counts, run_network(network, counts), run_network(roomy, counts).spikes


@pytest.mark.parametrize("weight_shift", [0, 2])
@pytest.mark.parametrize("double_buffer", [False, True])
def test_an_overflowing_tick_wraps_in_either_core(double_buffer, weight_shift):
    """The contract's event phase wraps ``i`` + the tick's events modulo
    2**accumulator_bits. A double-buffered core adds its event buffer to the carried current
    in the update, and until stop 69 saturated that sum without the wrap (none of the
    campaigns' random systems had met it). Every spike and the error flag, in both cores,
    with and without a weight shift, in the compiled Verilator harness."""
    require_simulator("verilator")
    from spikeforge.cosim.fast import run_fast_cosim

    network, counts, trace, saturating = wrap_case(weight_shift)
    assert not trace.spikes[0].any() and saturating[0][0, 3].all()  # the case tells them apart
    plan = plan_network(network, neurons_per_core=[3, 2])
    system = SystemConfig(Decision.SPIKE_COUNT, double_buffer=double_buffer)
    result = run_fast_cosim(network, plan, counts, system=system, check=False, all_images=True)
    assert result.report["mismatch"] is None and all(result.report["exact"])
    assert trace.error.tolist() == [1]


def hidden_overflow_case(decision, seed=1):
    """4 -> 6 -> 3 whose output layer takes at most 2 events a tick (fan-in 6) in a 10-bit
    accumulator: a tick with 3+ hidden spikes overflows it, and 6 events wrap it. Output
    layer on 2 cores (FIRST_SPIKE decides at a spike of classes 0-1, at the tick's end for
    class 2 alone). 8 random images and a silent one."""
    rng = np.random.default_rng(seed)
    p0 = NeuronParams(decay_bits=8, alpha=100, beta=180, threshold=120)
    p1 = NeuronParams(weight_bits=8, current_bits=9, membrane_bits=12, decay_bits=8, alpha=128,
                      beta=220, threshold=200)
    network = IntegerNetwork((IntegerLayer(rng.integers(-20, 110, (4, 6)), p0),
                              IntegerLayer(rng.integers(-40, 128, (6, 3)), p1,
                                           max_events_per_tick=2)), decision)
    counts = (np.random.default_rng(seed + 9).random((9, 6, 4)) < 0.35).astype(np.int64)
    counts[8] = 0
    plan = plan_network(network, neurons_per_core=[3, 2])
    return network, plan, counts, run_network(network, counts)


@pytest.mark.parametrize("decision", [Decision.SPIKE_COUNT, Decision.FIRST_SPIKE])
def test_hidden_layer_overflow_is_co_simulated_in_icarus(decision, monkeypatch):
    """A hidden layer's spikes overflow the output layer's bound: the RTL wraps its
    accumulator and raises error as the golden model says -- also for an image whose only
    overflow comes from the last tick's spikes (delivered, never consumed); FIRST_SPIKE
    images whose decision tick overflows the next layer are undetermined (not compared
    unless decided at the tick's end). A golden flag that ignores the spikes of the last
    tick (a plausible misreading, injected) names that image's error flag."""
    network, plan, counts, trace = hidden_overflow_case(decision)
    over = trace.overflow()
    assert not over[:, 0].any() and over[:, 1].any()  # only the hidden layer overflows
    errors = trace.error.tolist()
    assert errors[8] == 0 and 1 in errors
    only_last = [b for b in range(9) if over[b, 1, -1] and not over[b, 1, :-1].any()]
    if decision is Decision.SPIKE_COUNT:
        assert only_last and all(errors[b] == 1 for b in only_last)
    else:
        assert ERROR_UNDETERMINED in errors
    system = SystemConfig(decision, fifo_depth=1)
    result = run_system_cosim(network, plan, counts, "icarus", system=system, p_ready=0.7, seed=2)
    assert result.report["mismatch"] is None and result.report["images_done"] == 9
    if decision is Decision.SPIKE_COUNT:
        from spikeforge.sim.network import NetworkTrace

        real = NetworkTrace.overflow

        def no_last_tick(self):
            out = real(self)
            out[:, 1:, -1] = False
            return out
        monkeypatch.setattr(NetworkTrace, "overflow", no_last_tick)
        with pytest.raises(CosimFailure) as info:
            run_system_cosim(network, plan, counts[only_last[:1]], "icarus", system=system,
                             check_timing=False)
        m = info.value.result.report["mismatch"]
        assert (m["kind"], m["expected"], m["got"]) == ("image 0: error flag", 0, 1)


@pytest.mark.parametrize("simulator,name,overlap", [
    ("icarus", "2-layers-fifo2-stalls", False), ("icarus", "3-layers-nofifo", True),
    ("icarus", "4-layers-fifo4-stalls", True),
    # Verilator's cocotb bench builds in ~40 s: the default suite runs it on the plain
    # system (test_system_matches_models); double-buffered designs reach Verilator there
    # through the compiled harness (tests/e2e/test_flow.py::test_compile_double_buffered)
    pytest.param("verilator", "2-layers-fifo2-stalls", False, marks=pytest.mark.slow),
    pytest.param("verilator", "4-layers-fifo4-stalls", True, marks=pytest.mark.slow)])
def test_double_buffered_system_matches_models(simulator, name, overlap):
    """``double_buffer``: every core takes the next tick's events while its update runs.
    Every spike, cycle and decision as the models say (the system model's cores then
    :class:`~spikeforge.sim.blocks.core.DoubleBufferedCoreModel`), and the run shorter than
    the single-buffered system's (co-simulated beside it, in Icarus)."""
    network, plan, counts, fifo_depth, p_ready, seed = make_case(name)
    cycles = []
    for double_buffer, sim in ((False, "icarus"), (True, simulator)):
        system = SystemConfig(network.decision, fifo_depth=fifo_depth, overlap=overlap,
                              double_buffer=double_buffer)
        report = run_system_cosim(network, plan, counts, sim, system=system,
                                  p_ready=p_ready, seed=seed).report
        assert report["images_done"] == 3 and report["mismatch"] is None
        trace = run_network(network, counts)
        assert [r["class"] for r in report["results"]] == trace.decision.tolist()
        cycles.append([r["cycles"] for r in report["results"]])
    single, double = cycles
    assert all(d <= s for s, d in zip(single, double)) and sum(double) < sum(single), cycles


@pytest.mark.parametrize("simulator,name,overlap,layers", [
    ("icarus", "3-layers-nofifo", True, (0,)), ("icarus", "4-layers-fifo4-stalls", True, (1, 3)),
    ("icarus", "2-layers-fifo2-stalls", False, (1,)),
    pytest.param("verilator", "2-layers-fifo2-stalls", False, (0,), marks=pytest.mark.slow)])
def test_system_double_buffered_in_some_layers_matches_models(simulator, name, overlap, layers):
    """``double_buffer`` as layers: the cores of those layers double-buffered, the others
    not (event buffers in the Verilog of those cores only), every spike, cycle and decision
    as the models say -- the system model's cores of those layers
    :class:`~spikeforge.sim.blocks.core.DoubleBufferedCoreModel`, the others not."""
    network, plan, counts, fifo_depth, p_ready, seed = make_case(name)
    system = SystemConfig(network.decision, fifo_depth=fifo_depth, overlap=overlap,
                          double_buffer=layers)
    verilog = system_verilog(plan, system)
    buffered = {f"core_{l}_{c.index}" for l in range(plan.n_layers)
                for c in plan.cores_of_layer(l) if l in layers}
    modules = re.split(r"^module ", verilog, flags=re.M)[1:]
    assert buffered == {m.split("(")[0].split(".")[-1].strip() for m in modules if "mem_x1" in m}
    report = run_system_cosim(network, plan, counts, simulator, system=system,
                              p_ready=p_ready, seed=seed).report
    assert report["images_done"] == 3 and report["mismatch"] is None
    assert [r["class"] for r in report["results"]] == \
        run_network(network, counts).decision.tolist()
