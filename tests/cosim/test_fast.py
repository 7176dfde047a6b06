"""The fast path of the system co-simulation (spikeforge.cosim.fast): the compiled Verilator
harness against the golden and cycle models, agreement with the cocotb bench on a sample,
and faults it must report (a flipped weight bit in the Verilog text, a reordered hidden
spike, an inference that does not finish), each by layer, tick, neuron and cycle."""

import functools
import os
import random
import re
import signal
import time

import numpy as np
import pytest

from spikeforge.compiler.map import plan_network
from spikeforge.cosim.fast import (
    build_harness,
    compare_run,
    held_harness,
    port_widths,
    read_trace,
    run_fast_cosim,
    run_harness,
    run_sharded,
    system_spec,
    write_stimulus,
)
from spikeforge.cosim.runner import LAST_USED, CosimFailure, _in_use
from spikeforge.cosim.system_cosim import run_system_cosim
from spikeforge.hdl.verilog import system_verilog
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.ir.params import Decision
from spikeforge.ir.system import SystemConfig
from spikeforge.sim.network import run_network
from tests.util import random_inputs, random_network

CASES = {
    # name: (seed, n_layers, fifo_depth, p_ready, p_gap, decision)
    "2-layers-fifo2-stalls": (21, 2, 2, 0.5, 0.3, None),
    "3-layers-first-spike-gaps": (31, 3, 0, 0.7, 0.5, Decision.FIRST_SPIKE),
    "4-layers-membrane-max-fifo4": (41, 4, 4, 0.3, 0.3, Decision.MEMBRANE_MAX),
}


def make_case(name, images=3):
    seed, n_layers, fifo_depth, p_ready, p_gap, decision = CASES[name]
    rng = random.Random(seed)
    network = random_network(seed, n_layers=n_layers, max_size=14, decision=decision)
    plan = plan_network(network, neurons_per_core=[rng.randint(1, l.n_neurons)
                                                   for l in network.layers])
    counts = random_inputs(seed, network, images=images, ticks=8, p=0.3)
    system = SystemConfig(network.decision, fifo_depth=fifo_depth)
    kwargs = dict(system=system, seed=seed, p_ready=p_ready, p_gap=p_gap)
    return network, plan, counts, kwargs


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=() if name != "4-layers-membrane-max-fifo4" else pytest.mark.slow)
    for name in CASES])
def test_fast_path_matches_the_models(name):
    network, plan, counts, kwargs = make_case(name)
    result = run_fast_cosim(network, plan, counts, **kwargs)
    report = result.report
    assert report["mismatch"] is None and report["exact"] == [True] * 3
    assert [r["class"] for r in report["results"]] == run_network(network, counts).decision.tolist()
    assert sum(r["output_spikes"] for r in report["results"]) > 0
    assert report["cycles_per_s"] > 0 and report["cycles"] > sum(r["cycles"] for r in report["results"])


_WORD = re.compile(r"(\s*mem_w\[\d+\] = )(\d+)'h([0-9a-f]+);")


def _first_core_words(lines) -> list[int]:
    """Line numbers of the first core's weight words (its ``mem_w`` initial block)."""
    words = [k for k, line in enumerate(lines) if _WORD.match(line)]
    block = [words[0]]
    for k in words[1:]:
        if k != block[-1] + 1:
            break
        block.append(k)
    return block


def _adds_a_spike(network, counts, j, n, weight) -> bool:
    """Layer 0 with weight (j, n) changed: its first spike difference is an extra spike."""
    layers = list(network.layers)
    w = layers[0].weights.copy()
    w[j, n] = weight
    layers[0] = IntegerLayer(w, layers[0].params, layers[0].max_events_per_tick)
    a = run_network(network, counts).spikes[0]
    b = run_network(IntegerNetwork(tuple(layers), network.decision), counts).spikes[0]
    diff = np.argwhere(a != b)
    return len(diff) > 0 and bool(b[tuple(diff[0])])


def flip_weight_bit(text: str, network, plan, counts, bit: int = 6) -> str:
    """The Verilog with one weight bit of the first core (layer 0, which every input reaches)
    flipped: the first word, busiest inputs first, whose flip the golden model says adds a
    layer-0 spike (so the first mismatch has a cycle). The memory is input-major, one
    neuron per word (word ``j * N + n``); each word is checked against the plan's weight."""
    lines = text.splitlines(keepends=True)
    block = _first_core_words(lines)
    core = plan.cores[0]
    weights = core.config.weights
    n_core, wb = weights.shape[1], core.config.params.weight_bits
    assert len(block) == weights.size, "not one weight per word"
    for j in np.argsort(-np.asarray(counts).sum(axis=(0, 1)), kind="stable"):
        for n in range(n_core):
            k = block[int(j) * n_core + n]
            m = _WORD.match(lines[k])
            value = int(m.group(3), 16)
            assert value == int(weights[j, n]) & ((1 << wb) - 1)
            flipped = value ^ (1 << min(bit, wb - 2))
            weight = flipped - (1 << wb) if flipped >> (wb - 1) else flipped
            if _adds_a_spike(network, counts, int(j), core.neuron_offset + n, weight):
                lines[k] = f"{m.group(1)}{m.group(2)}'h{flipped:0{len(m.group(3))}x};\n"
                return "".join(lines)
    raise AssertionError("no weight bit whose flip adds a spike")


def test_input_copies_match_the_models_and_each_core_reads_its_own():
    """SystemConfig.input_copies (what compile --board sets for an ECP5): each layer-0 core
    takes its events' index from a port of its own, which the harness and the cocotb bench
    drive with the index: the same spikes, cycles and decisions as the models in both. With
    core 1's port read off by one (its rows swapped in pairs: even rows excite, odd ones
    inhibit), both report a mismatch, so the core reads its own copy."""
    nrng = np.random.default_rng(5)
    params = random_network(5, n_layers=2, max_size=10).layers[0].params
    w0 = np.where(np.arange(64)[:, None] % 2 == 0, nrng.integers(20, 60, size=(64, 12)),
                  nrng.integers(-60, -20, size=(64, 12)))
    network = IntegerNetwork((IntegerLayer(w0, params),
                              IntegerLayer(nrng.integers(-25, 80, size=(12, 6)), params)),
                             Decision.SPIKE_COUNT)
    plan = plan_network(network, neurons_per_core=4, lanes=[2, 1])
    system = SystemConfig(network.decision, weight_banks="ecp5", input_copies=True)
    text = system_verilog(plan, system)
    port = ".spike_in__payload(inp_copies__1),"
    assert [f"inp_copies__{k}" in text for k in range(4)] == [True] * 3 + [False]
    assert text.count(port) == 1
    wrong = text.replace(port, ".spike_in__payload(inp_copies__1 ^ 6'd1),")
    counts = random_inputs(5, network, images=2, ticks=6, p=0.2)
    kwargs = dict(system=system, seed=5, p_gap=0.3, p_ready=0.6)
    for run in (run_fast_cosim, functools.partial(run_system_cosim, simulator="icarus")):
        report = run(network, plan, counts, verilog_text=text, **kwargs).report
        assert report["mismatch"] is None
        assert sum(r["spikes"][0] for r in report["results"]) > 0
        report = run(network, plan, counts, verilog_text=wrong, check=False, **kwargs).report
        assert report["mismatch"] is not None and "(layer 0)" in report["mismatch"]["kind"]


@pytest.fixture(scope="module")
def flipped():
    network, plan, counts, kwargs = make_case("2-layers-fifo2-stalls")
    text = flip_weight_bit(system_verilog(plan, kwargs["system"]), network, plan, counts)
    return network, plan, counts, kwargs, text


def _banked_case():
    """A 64-input, 20-neuron, 2-lane core (640 words: three 256-word iCE40 banks, the last
    one 128 words) before a 6-neuron one, and three images."""
    first = random_network(7, n_layers=2, max_size=10).layers
    nrng = np.random.default_rng(7)
    network = IntegerNetwork((IntegerLayer(nrng.integers(-25, 80, size=(64, 20)), first[0].params),
                              IntegerLayer(nrng.integers(-25, 80, size=(20, 6)), first[1].params)),
                             Decision.SPIKE_COUNT)
    return network, plan_network(network, lanes=[2, 1]), random_inputs(7, network, images=3,
                                                                        ticks=8, p=0.2)


def test_banked_weight_memories_match_the_models():
    """SystemConfig.weight_banks (what compile --board sets): the system's cores keep their
    weights in banks one iCE40 block RAM deep (a 64-input, 20-neuron, 2-lane core: 640 words
    in banks of 256); same spikes, cycles and decisions as the models."""
    rng = random.Random(7)
    network, plan, counts = _banked_case()
    system = SystemConfig(network.decision, weight_banks="ice40")
    text = system_verilog(plan, system)
    assert "mem_w_2" in text and "mem_w_3" not in text  # three banks in core 0
    report = run_fast_cosim(network, plan, counts, system=system, seed=rng.randint(0, 99),
                            p_gap=0.3, p_ready=0.6).report
    assert report["mismatch"] is None and report["exact"] == [True] * 3
    assert sum(r["output_spikes"] for r in report["results"]) > 0


def test_full_weight_banks_match_the_models_and_a_misplaced_word_is_reported():
    """SystemConfig.full_banks (compile --full-banks): the last bank declared as deep as the
    others (256 words, 128 of them padding) and the output core's one bank 512; same spikes,
    cycles and decisions as the models. The bank's words read from its padding (zeros in
    their place) are reported."""
    network, plan, counts = _banked_case()
    system = SystemConfig(network.decision, weight_banks="ice40", full_banks=True)
    text = system_verilog(plan, system)
    assert "reg [15:0] mem_w_2 [255:0];" in text and "reg [7:0] mem_w_0 [511:0];" in text
    kwargs = dict(system=system, seed=11, p_gap=0.3, p_ready=0.6)
    report = run_fast_cosim(network, plan, counts, verilog_text=text, **kwargs).report
    assert report["mismatch"] is None and report["exact"] == [True] * 3
    words = re.findall(r"mem_w_2\[(\d+)\] = 16'h([0-9a-f]+);", text)
    assert len(words) == 256 and any(int(v, 16) for k, v in words if int(k) < 128)
    assert not any(int(v, 16) for k, v in words if int(k) >= 128)
    wrong = re.sub(r"(mem_w_2\[\d+\] = 16'h)[0-9a-f]+;", r"\g<1>0000;", text)
    report = run_fast_cosim(network, plan, counts, verilog_text=wrong, check=False,
                            **kwargs).report
    assert report["mismatch"] is not None and "(layer 0)" in report["mismatch"]["kind"]


def test_lane_copies_match_the_models_and_a_stuck_copy_is_reported():
    """SystemConfig.lane_copies (compile --lane-copies): a one-word, 9-lane output core
    selects its write-back bypass with a register per group of 4 lanes (three copies of
    ``e_again``); same spikes, cycles and decisions as the models. One copy stuck at 0 (its
    lanes read the word before the last event's write-back) is reported."""
    network = random_network(10, n_layers=2, max_size=10, decision=Decision.SPIKE_COUNT)
    n_out = network.layers[1].n_neurons
    plan = plan_network(network, lanes=[1, n_out])
    system = SystemConfig(network.decision, lane_copies=True)
    text = system_verilog(plan, system)
    assert n_out == 9 and [f"e_again_c{k}" in text for k in range(4)] == [True] * 3 + [False]
    counts = random_inputs(10, network, images=4, ticks=8, p=0.4)
    kwargs = dict(system=system, seed=3, p_gap=0.0, p_ready=1.0)
    report = run_fast_cosim(network, plan, counts, verilog_text=text, **kwargs).report
    assert report["mismatch"] is None and report["exact"] == [True] * 4
    stuck, n = re.subn(r"(e_again_c1 <= )[^;]+;", r"\g<1>1'h0;", text)
    assert n == 1
    report = run_fast_cosim(network, plan, counts, verilog_text=stuck, check=False,
                            **kwargs).report
    assert report["mismatch"] is not None and "(layer 1)" in report["mismatch"]["kind"]


def test_a_flipped_weight_bit_in_the_verilog_is_reported_by_layer_tick_neuron_cycle(flipped):
    network, plan, counts, kwargs, text = flipped
    with pytest.raises(CosimFailure) as failure:
        run_fast_cosim(network, plan, counts, verilog_text=text, **kwargs)
    message = str(failure.value)
    assert re.search(r"image \d+: (spike|monitor) \(layer 0\) at tick \d+, neuron \d+: .*"
                     r"\(cycle \d+\)", message), message


def test_cocotb_bench_and_fast_harness_agree(flipped):
    """The same design and images through the cocotb bench (Icarus) and the harness: the same
    per-image results when they match the models, and the very same mismatches (kind, tick,
    neuron, expected, got, cycle) of the design with a flipped weight bit."""
    network, plan, counts, kwargs, text = flipped
    bench = run_system_cosim(network, plan, counts, "icarus", **kwargs).report
    fast = run_fast_cosim(network, plan, counts, **kwargs).report
    assert bench["mismatch"] is None and fast["mismatch"] is None
    assert fast["results"] == bench["results"]
    bench = run_system_cosim(network, plan, counts, "icarus", verilog_text=text, check=False,
                             **kwargs).report
    fast = run_fast_cosim(network, plan, counts, verilog_text=text, check=False, **kwargs).report
    assert bench["mismatch"] is not None
    assert fast["mismatch"] == bench["mismatch"]
    assert fast["mismatches"] == bench["mismatches"]


def _run_and_read(name, tmp_path):
    network, plan, counts, kwargs = make_case(name)
    system = kwargs.pop("system")
    build = build_harness(system_verilog(plan, system))
    spec, _ = system_spec(network, plan, counts, counts.shape[1], system, **kwargs)
    write_stimulus(tmp_path / "stimulus.bin", spec, build.index_bits)
    run_harness(build, tmp_path / "stimulus.bin", tmp_path / "trace.bin")
    results, end = read_trace(tmp_path / "trace.bin", build.n_layers)
    return spec, results, end


def test_two_hidden_spikes_of_one_tick_swapped_are_a_mismatch(tmp_path):
    """The hole of issue 12: the set of (tick, neuron) and the list of cycles of a hidden
    layer stay the same when two spikes of one tick leave in swapped order."""
    spec, results, end = _run_and_read("2-layers-fifo2-stalls", tmp_path)
    assert compare_run(spec, results, end) == ([], [True] * 3)
    b, events = next((b, r["monitor"][0]) for b, r in enumerate(results)
                     if any(e[1] == f[1] and e[0] != f[0]
                            for e, f in zip(r["monitor"][0], r["monitor"][0][1:])))
    k = next(k for k in range(len(events) - 1)
             if events[k][1] == events[k + 1][1] and events[k][0] != events[k + 1][0])
    (n0, t, c0), (n1, _, c1) = events[k], events[k + 1]
    events[k], events[k + 1] = [n1, t, c0], [n0, t, c1]
    found, exact = compare_run(spec, results, end)
    assert exact[b] is False
    m = found[0]
    assert (m.kind, m.tick, m.neuron, m.cycle) == (f"image {b}: monitor (layer 0)", t, n0, c0)
    assert f"neuron {n1} instead of {n0}" in str(m)


def test_an_inference_that_does_not_finish_is_reported(tmp_path):
    """The harness stops at the bench's limit (``done + max(2000, cycles)``) and the run
    reports the image as not done."""
    network, plan, counts, kwargs = make_case("2-layers-fifo2-stalls")
    system = kwargs.pop("system")
    build = build_harness(system_verilog(plan, system))
    spec, _ = system_spec(network, plan, counts, counts.shape[1], system, **kwargs)
    spec["images"][1]["done"] = spec["images"][1]["start"] - 2000  # the limit: its start
    write_stimulus(tmp_path / "stimulus.bin", spec, build.index_bits)
    run = run_harness(build, tmp_path / "stimulus.bin", tmp_path / "trace.bin")
    results, end = read_trace(tmp_path / "trace.bin", build.n_layers)
    assert run["timed_out"] and end["timed_out"] and end["image"] == 1 and len(results) == 1
    found, exact = compare_run(spec, results, end)
    assert exact == [True, False, False]
    assert found[0].kind == "image 1: done" and "did not finish" in found[0].detail


def test_sharded_runs_give_what_one_run_gives():
    network, plan, counts, kwargs = make_case("2-layers-fifo2-stalls", images=4)
    text = system_verilog(plan, kwargs["system"])
    one = run_sharded(network, plan, counts, system=kwargs["system"], verilog_text=text, jobs=1,
                      chunk=4)
    two = run_sharded(network, plan, counts, system=kwargs["system"], verilog_text=text, jobs=2,
                      chunk=2)
    assert [s.first for s in two] == [0, 2]
    golden = run_network(network, counts).decision.tolist()
    assert sum((s.classes for s in two), []) == one[0].classes == golden
    assert all(all(s.exact) for s in one + two) and one[0].mismatch is None
    assert sum((s.bounds for s in two), []) == one[0].bounds


def test_the_work_counters_are_the_golden_models_work(tmp_path):
    """The system's own counters, read before the next start: each layer's input events are
    the golden model's ``statistics().input_events`` (events x layer size = the weights read),
    each layer's spike count the spikes its monitor reported. In the first-spike case a
    stopped decision tick's hidden spikes are reported spikes but never events."""
    name = "3-layers-first-spike-gaps"
    network, plan, counts, _ = make_case(name)
    spec, results, end = _run_and_read(name, tmp_path)
    assert compare_run(spec, results, end) == ([], [True] * 3)
    stats = run_network(network, counts, early_exit=True).statistics()
    sizes = [layer.n_neurons for layer in network.layers]
    for b, r in enumerate(results):
        events, spikes = r["counters"]["events"], r["counters"]["spikes"]
        assert events == stats.input_events[b].tolist()
        assert [e * n for e, n in zip(events, sizes)] == stats.synaptic_events[b].tolist()
        assert spikes == [len(m) for m in r["monitor"]]
    assert min(r["counters"]["events"][2] for r in results) > 0
    assert any(r["counters"]["spikes"][1] > r["counters"]["events"][2] for r in results)


def _sub(pattern: str, replacement: str):
    """A fault made by one regular-expression substitution: text -> (text, substitutions)."""
    return lambda text: re.subn(pattern, replacement, text)


def _layer0_counters_clear_when_idle(text: str) -> tuple[str, int]:
    """``text`` with the condition that clears ``spikes__0`` (and ``events__0``, cleared in
    the same ``If``) turned from ``start & ~busy`` into ``start | ~busy``; and how many
    conditions changed."""
    block = re.search(r"(\\\$\d+)  = spikes__0;\n(?:.*\n)*?    if \((\\\$\d+) \) begin\n"
                      r"      \1  = 32'd0;", text)
    var = re.escape(block.group(2))
    return re.subn(rf"(assign {var}  = start) & ", r"\1 | ", text)


COUNTER_FAULTS = {
    # fault: (text -> (text, changes), how often it changes the Verilog, the kinds of its
    # mismatches)
    "hidden spikes never become events": (
        _sub(r"events__1 \+ spikes_this_tick_0;", "events__1;"), 1,
        ("image 0: events counter (layer 1)",)),
    # the handover of a tick's spikes (this_tick cleared, added to events) at every tick's
    # end instead of in the next tick's event phase
    "the last tick's spikes count as events": (
        _sub(r"end else if \(event_phase\) begin", "end else if (tick_done) begin"), 2,
        ("image 0: events counter (layer 1)",)),
    "a spike counts twice": (_sub(r"spikes__0 \+ 1'h1;", "spikes__0 + 2'h2;"), 1,
                             ("image 0: spikes counter (layer 0)",)),
    # layer 0's counters cleared whenever the system is idle (start | ~busy instead of
    # start & ~busy): right after done they still hold, so only a read later, before the
    # next start, sees it (a mutant the campaign found undetected while the benches read
    # them one cycle after done); image 0 is followed by no start gap, image 1 by one
    "the counters do not hold until the next start": (
        _layer0_counters_clear_when_idle, 1,
        ("image 1: events counter (layer 0)", "image 1: spikes counter (layer 0)")),
}


def _ctrl_error_reset_to_one(text: str) -> str:
    """The tick controller's sticky ``error`` register reset (and initialised) to 1 instead
    of 0 -- a mutant the campaign found undetected: the port is then high from the reset
    until the first start clears it."""
    [var] = re.findall(r"\n    error <= (\\\$\d+) ;", text)
    reset = f"if (rst) begin\n      {var}  = 1'h0;"
    assert text.count(reset) == 1 and text.count("  reg error = 1'h0;") == 1
    return (text.replace(reset, reset.replace("1'h0", "1'h1"))
            .replace("  reg error = 1'h0;", "  reg error = 1'h1;"))


def _idle_as(assign: str):
    """A fault of the system's ``idle`` port: its one assignment replaced by ``assign``."""
    return lambda text: (text.replace("  assign idle = ~ busy;\n", f"  assign {assign};\n"),
                         text.count("  assign idle = ~ busy;\n"))


def _sampled(expected, got, cycle):
    """The check of a port sampled at every cycle: its values and the cycle (given the first
    image's start cycle) of the first wrong sample."""
    def check(m, start):
        assert (m["expected"], m["got"], m["cycle"]) == (expected, got, cycle(start)), m
    return check


def _counted(m, start):
    """The check of a work counter: the expected and the counted value differ."""
    assert m["expected"] != m["got"], m


#: faults of the ports and counters the harness reads at every cycle or after each image:
#: fault -> (text -> (text, changes), how often it changes the Verilog, the kinds of the
#: mismatches it causes, a check of each given the first image's start cycle)
PORT_FAULTS = {
    # two mutation survivors before the harness read the ports: the first wrong sample is,
    # inverted, cycle 0; stuck, the first busy cycle, one after the start edge
    "idle inverted": (_idle_as("idle = busy"), 1, ("image 0: busy/idle",),
                      _sampled("busy=0 idle=1", "busy=0 idle=0", lambda start: 0)),
    "idle stuck at 1": (_idle_as("idle = 1'h1"), 1, ("image 0: busy/idle",),
                        _sampled("busy=1 idle=0", "busy=1 idle=1", lambda start: start + 1)),
    # the first image's start cycle sees the error port as the reset left it
    "the error flag is high after reset": (
        lambda text: (_ctrl_error_reset_to_one(text), 1), 1,
        ("image 0: error flag after reset",),
        _sampled(0, 1, lambda start: start)),
    **{fault: (inject, count, kinds, _counted)
       for fault, (inject, count, kinds) in COUNTER_FAULTS.items()},
}


#: the faults above, several to one design (one harness build, ~35 s, and one bench run for
#: them all), each of a group on its own port or counter: the two idle faults, the two that
#: change layer 1's events counter, and the one seen only in image 1 (a run reports its
#: first image with a difference) are in different groups
FAULT_GROUPS = [
    ("idle stuck at 1", "the error flag is high after reset",
     "hidden spikes never become events", "a spike counts twice"),
    ("idle inverted", "the last tick's spikes count as events"),
    ("the counters do not hold until the next start",),
]


@pytest.mark.parametrize("group", FAULT_GROUPS, ids=" + ".join)
def test_port_and_counter_faults_are_reported_by_harness_and_bench(group):
    """Each fault of a group is reported by the fast harness: exactly its own mismatches (one
    per port or counter it changes) with the expected and the observed value, and the cycle
    where the port is sampled at every cycle -- what each fault gives alone, so one does not
    hide or stand in for another -- and the cocotb bench reports the very same list."""
    network, plan, counts, kwargs = make_case("2-layers-fifo2-stalls", images=2)
    text = system_verilog(plan, kwargs["system"])
    for fault in group:
        text, n = PORT_FAULTS[fault][0](text)
        assert n == PORT_FAULTS[fault][1], fault
    fast = run_fast_cosim(network, plan, counts, verilog_text=text, check=False, **kwargs).report
    found = {m["kind"]: m for m in fast["mismatches"]}
    kinds = [kind for fault in group for kind in PORT_FAULTS[fault][2]]
    assert sorted(found) == sorted(kinds) and len(fast["mismatches"]) == len(kinds), \
        (group, fast["mismatches"])
    spec, _ = system_spec(network, plan, counts, counts.shape[1], **kwargs)
    for fault in group:
        for kind in PORT_FAULTS[fault][2]:
            PORT_FAULTS[fault][3](found[kind], spec["images"][0]["start"])
    if "hidden spikes never become events" in group:
        assert found["image 0: events counter (layer 1)"]["got"] == 0
    bench = run_system_cosim(network, plan, counts, "icarus", verilog_text=text, check=False,
                             **kwargs).report
    assert bench["mismatches"] == fast["mismatches"]


def test_port_widths_and_bad_verilog():
    network, plan, counts, kwargs = make_case("2-layers-fifo2-stalls")
    widths = port_widths(system_verilog(plan, kwargs["system"]))
    assert widths["clk"] == 1 and widths["tick"] == 16 and "monitor__1__neuron" in widths
    with pytest.raises(ConfigError, match="verilog_text"):
        port_widths("module other(a); input a; endmodule")
    with pytest.raises(ConfigError, match="verilog_text"):
        run_fast_cosim(network, plan, counts, verilog_text="nothing")



def test_shards_on_a_dask_cluster_merge_into_what_one_run_gives():
    """A LocalCluster on 127.0.0.1 (two worker processes): the shards run there, each worker
    finds the harness in its cache or builds it, and the results merge in image order."""
    distributed = pytest.importorskip("distributed")
    network, plan, counts, kwargs = make_case("2-layers-fifo2-stalls", images=4)
    text = system_verilog(plan, kwargs["system"])
    one = run_sharded(network, plan, counts, system=kwargs["system"], verilog_text=text, jobs=1,
                      chunk=4)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None, processes=True) as cluster:
        seen = []
        shards = run_sharded(network, plan, counts, system=kwargs["system"], verilog_text=text,
                             chunk=1, scheduler=cluster.scheduler_address,
                             on_shard=lambda r: seen.append(r.first))
    assert sorted(seen) == [0, 1, 2, 3] and [s.first for s in shards] == [0, 1, 2, 3]
    golden = run_network(network, counts).decision.tolist()
    assert sum((s.classes for s in shards), []) == one[0].classes == golden
    assert all(all(s.exact) for s in shards)


def test_the_shard_of_a_lost_worker_runs_again():
    """A worker dies (its process exits) while it runs a shard: the scheduler gives the
    shard to a worker again (the nanny restarts the dead one) and the merged report is
    complete and equal to one local run."""
    distributed = pytest.importorskip("distributed")
    network, plan, counts, kwargs = make_case("2-layers-fifo2-stalls", images=8)
    text = system_verilog(plan, kwargs["system"])
    one = run_sharded(network, plan, counts, system=kwargs["system"], verilog_text=text, jobs=1,
                      chunk=8)  # also builds the harness the workers find in the cache
    killed = []
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None, processes=True) as cluster, \
            distributed.Client(cluster) as client:
        pids = client.run(os.getpid)  # worker address -> process id

        def kill_a_busy_worker(result):
            busy = [w for w, keys in client.processing().items() if keys]
            if not killed and busy:
                killed.append((busy[0], list(client.processing()[busy[0]])))
                os.kill(pids[busy[0]], signal.SIGKILL)

        shards = run_sharded(network, plan, counts, system=kwargs["system"], verilog_text=text,
                             chunk=1, scheduler=client, on_shard=kill_a_busy_worker)
    assert killed and killed[0][1], "no worker was killed while it ran a shard"
    assert [s.first for s in shards] == list(range(8))
    assert sum((s.classes for s in shards), []) == one[0].classes
    assert all(all(s.exact) for s in shards)


def test_an_unreachable_scheduler_is_one_line(monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr("spikeforge.cosim.fast.DASK_CONNECT_TIMEOUT", "2s")  # not the default 30 s of retries
    network, plan, counts, kwargs = make_case("2-layers-fifo2-stalls")
    with pytest.raises(ConfigError, match="scheduler: cannot reach the Dask scheduler"):
        run_sharded(network, plan, counts, system=kwargs["system"],
                    verilog_text=system_verilog(plan, kwargs["system"]),
                    scheduler="tcp://127.0.0.1:9")


# -- waves of a mismatch ------------------------------------------------------------------------

def _assert_waves_show(note: dict, mismatch: dict) -> None:
    """The wave file shows, at the named time on the named signal, the event that differs
    from the expectation: a layer-0 spike (the flipped weight adds one) of the mismatch's
    neuron in its tick, which the golden model does not have."""
    from spikeforge.cosim.waves import sample_time_ps
    from tests.cosim.wavefile import value_at

    assert mismatch["expected"] == "no spike" and mismatch["got"] == "spike"
    path, t = note["file"], sample_time_ps(mismatch["cycle"])
    assert note["time_ns"] * 1000 == t
    assert note["signals"][:2] == ["spikeforge_system.monitor__0__valid",
                                   "spikeforge_system.monitor__0__neuron"]
    assert value_at(path, note["signals"][0], t) == 1
    assert value_at(path, note["signals"][1], t) == mismatch["neuron"]
    assert value_at(path, "spikeforge_system.tick", t) == mismatch["tick"]
    # one period earlier the port did not show that event (it is the cycle's own)
    before = (value_at(path, note["signals"][0], t - 10_000),
              value_at(path, note["signals"][1], t - 10_000))
    assert before != (1, mismatch["neuron"])


def test_a_missing_spike_is_timed_by_the_cycle_the_model_expected():
    """A spike the RTL never emitted has no cycle of its own: the note takes the expected
    cycle from the timing comparison of the same image and port (not another image's, nor
    another port's while that one has a cycle)."""
    from spikeforge.cosim.compare import Mismatch
    from spikeforge.cosim.waves import wave_note

    missing = Mismatch("image 1: spike (layer 1)", 2, 5, "spike", "no spike", None, "missing")
    other = Mismatch("image 0: done", 1, None, "cycle 40", "cycle 41", 41)
    out = Mismatch("image 1: out_spikes", 2, 1, "no spike", "spike", 130)
    timing = Mismatch("image 1: monitor (layer 1)", 2, 5, "(tick 2, neuron 5, cycle 116)",
                      "no event", None, "event #3: missing")
    note = wave_note(missing, "w.vcd", [missing, other, out, timing])
    assert (note.cycle, note.time_ns) == (116, 1185)
    assert note.signals[0] == "spikeforge_system.monitor__1__valid"
    assert str(note).startswith("waves: w.vcd at 1185 ns (cycle 116; clock period 10 ns")
    alone = wave_note(missing, "w.vcd", [other])
    assert alone.time_ns is None and str(alone) == (
        "waves: w.vcd, signal spikeforge_system.monitor__1__valid (with monitor__1__neuron, "
        "tick)")


def test_waves_of_a_mismatch_name_the_file_time_and_signal(flipped, tmp_path):
    """A flipped weight bit: the run is repeated in the traced harness, which writes a VCD of
    the failing image; the message names file, time and port, and the file shows the extra
    spike there. Without ``waves`` no file is written."""
    network, plan, counts, kwargs, text = flipped
    with pytest.raises(CosimFailure) as failure:
        run_fast_cosim(network, plan, counts, verilog_text=text, waves=tmp_path / "waves",
                       **kwargs)
    message = str(failure.value)
    files = list((tmp_path / "waves").iterdir())
    assert len(files) == 1 and re.fullmatch(r"image\d\.vcd", files[0].name)
    found = re.search(r"\(waves: (\S+) at (\d+) ns \(cycle (\d+); clock period 10 ns.*\), signal "
                      r"spikeforge_system\.monitor__0__valid", message)
    assert found and found.group(1) == str(files[0]), message
    report = run_fast_cosim(network, plan, counts, verilog_text=text, check=False,
                            waves=tmp_path / "again.vcd", **kwargs).report
    assert report["waves"]["file"] == str(tmp_path / "again.vcd")
    assert int(found.group(3)) == report["mismatch"]["cycle"]
    _assert_waves_show(report["waves"], report["mismatch"])

    plain = run_fast_cosim(network, plan, counts, verilog_text=text, check=False,
                           work_dir=tmp_path / "plain", **kwargs).report
    assert plain["waves"] is None and plain["mismatch"] == report["mismatch"]
    assert not list(tmp_path.rglob("*.vcd"))[2:]  # the two above, nothing else
    assert sorted(p.name for p in (tmp_path / "plain").iterdir()) == ["stimulus.bin", "trace.bin"]


# -- the build cache ------------------------------------------------------------------------------

def test_a_harness_build_is_held_in_use_while_it_runs(flipped):
    """The cache's pruner skips a build in use: ``held_harness`` (and ``run_harness``) hold
    ``use_build`` on it, as the cocotb runs do, and touch its ``.last-used``."""
    text = flipped[-1]
    with held_harness(text) as build:
        assert build.directory.parent.name == "fast" and _in_use(build.directory)
        assert time.time() - (build.directory / LAST_USED).stat().st_mtime < 60


@pytest.mark.slow  # a harness build of its own (~40 s)
def test_a_new_harness_build_prunes_the_cache(monkeypatch, tmp_path, flipped):
    """With a bound of 1 byte, a new build removes the least recently used builds (here an
    old harness build) but not itself."""
    monkeypatch.setenv("SPIKEFORGE_COSIM_BUILD", str(tmp_path))
    monkeypatch.setenv("SPIKEFORGE_CACHE_MAX", "1")
    old = tmp_path / "fast" / "spikeforge_system-0123456789abcdef"
    old.mkdir(parents=True)
    (old / "fast_harness").write_bytes(b"x" * 10_000)
    build = build_harness(flipped[-1])
    assert build.build_s > 0 and build.executable.exists() and not old.exists()
