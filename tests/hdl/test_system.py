"""SpikeforgeSystem (hdl/system.py) in Amaranth's simulator against the golden network model
and the system cycle model (sim/system_cycle.py).

Random networks of 2-4 layers (random sizes, leaky / non-leaky, subtract / zero reset,
fire_once, adaptive), random core splits, random input gaps and output stalls, a FIFO or
not; several images back to back. Every spike of every layer (neuron, tick), the decision
(class, tick) and the cycle of every input handshake, output spike, monitor event, tick end
and ``done`` must be exactly as predicted.

``SpikeforgeSystem.error`` across inferences run back to back: an image whose input
overflows a tick (more events than ``layers[0].max_events_per_tick``) must report ``error`` =
1 at its ``done``, wherever the overflowing tick is (the first, a middle one or the last of
the inference); the next, normal image must report ``error`` = 0 at its ``done`` -- the
cores' ``overflow`` (sticky until their CLEAR) must not leak into it -- and its result must
be the golden model's.
"""

import dataclasses
import random

import numpy as np
import pytest
from amaranth.sim import Simulator

from spikeforge.compiler.map import plan_network
from spikeforge.cosim.system_cosim import (
    StallPattern,
    expected_run,
    expected_spikes,
    schedules_for,
)
from spikeforge.hdl.system import SpikeforgeSystem
from spikeforge.ir.network import IntegerNetwork
from spikeforge.ir.params import Decision
from spikeforge.ir.system import SystemConfig
from spikeforge.sim import system_cycle
from spikeforge.sim.blocks.decision import stops_at_tick_end
from spikeforge.sim.network import run_network
from spikeforge.sim.system_cycle import (
    SystemModel,
    dependency_bound,
    lower_bound_cycles,
    ticks_to_run,
)
from tests.util import assert_cycles_match, random_inputs, random_network


def simulate(dut, items, start_gaps, out_ready, start_cycle=0, max_cycles=200_000):
    """Drive ``dut`` per the driver convention of sim/system_cycle.py; returns per image a
    dict of observed events and cycles."""
    images = []

    async def bench(ctx):
        cycle = 0
        b = 0
        start = start_cycle
        k, reference, offer_at = 0, None, None
        obs = None
        pending_cycles = None
        while b < len(items):
            if cycle > max_cycles:
                raise AssertionError(f"no done after {max_cycles} cycles (image {b})")
            if cycle == start:
                obs = {"start": cycle, "inputs": [], "out": [], "monitor": [[] for _ in dut.monitor],
                       "tick_done": []}
                k, reference, offer_at = 0, cycle + 1, None
            ctx.set(dut.start, int(cycle == start))
            ctx.set(dut.n_ticks, N_TICKS[0])
            offering = False
            if obs is not None and cycle > start and k < len(items[b]):
                if offer_at is None:
                    offer_at = reference + items[b][k][2]
                if cycle >= offer_at:
                    j, last, _ = items[b][k]
                    ctx.set(dut.inp.valid, 1)
                    ctx.set(dut.inp.payload.as_value(), dut.input_layout.pack(j, last))
                    offering = True
            if not offering:
                ctx.set(dut.inp.valid, 0)
            ctx.set(dut.out_spikes.ready, int(out_ready(cycle)))
            # sample (settled) values of this cycle
            if pending_cycles is not None:
                pending_cycles["cycles_port"] = ctx.get(dut.cycles)
                pending_cycles = None
            if obs is not None:
                if offering and ctx.get(dut.inp.ready):
                    obs["inputs"].append(cycle)
                    k += 1
                    reference, offer_at = cycle + 1, None
                if ctx.get(dut.out_spikes.valid) and ctx.get(dut.out_spikes.ready):
                    neuron, tick = dut.out_layout.unpack(ctx.get(dut.out_spikes.payload.as_value()))
                    obs["out"].append((neuron, tick, cycle))
                tick_now = ctx.get(dut.tick)
                for l, mon in enumerate(dut.monitor):
                    if ctx.get(mon.valid):
                        obs["monitor"][l].append((ctx.get(mon.neuron), tick_now, cycle))
                if ctx.get(dut.tick_done):
                    obs["tick_done"].append(cycle)
                if cycle > start and ctx.get(dut.done):
                    obs.update(done=cycle, cls=ctx.get(dut.result_class),
                               tick=ctx.get(dut.result_tick), none=ctx.get(dut.result_none),
                               ticks_run=ctx.get(dut.ticks_run), error=ctx.get(dut.error))
                    images.append(obs)
                    pending_cycles = obs
                    start = cycle + 1 + start_gaps[b]
                    obs = None
                    b += 1
            await ctx.tick()
            cycle += 1
        await ctx.tick()
        if pending_cycles is not None:
            pending_cycles["cycles_port"] = ctx.get(dut.cycles)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return images


N_TICKS = [0]  # n_ticks for the bench (set per test)


def system_case(seed, images=2, n_ticks=8, fifo_depth=None, p_ready=None, decision=None,
                max_size=14, output_cores=None, start_gaps=None, p_input=None, overlap=False):
    """The random system of :func:`check_system` and its stimulus: the network, the plan,
    the input counts and the keyword arguments of ``expected_run``."""
    rng = random.Random(seed)
    network = random_network(seed, max_size=max_size, decision=decision)
    npc = [rng.randint(1, max(1, layer.n_neurons)) for layer in network.layers]
    if output_cores is not None:
        npc[-1] = -(-network.n_outputs // output_cores)
    plan = plan_network(network, neurons_per_core=npc)
    if fifo_depth is None:
        fifo_depth = rng.choice([0, 1, 2, 4])
    if p_ready is None:
        p_ready = rng.choice([1.0, 0.5, 0.3])
    counts = random_inputs(seed, network, images, n_ticks, p=p_input or rng.choice([0.2, 0.4]))
    schedules = schedules_for(counts, seed, p_gap=0.3)
    system = SystemConfig(network.decision, fifo_depth=fifo_depth, overlap=overlap)
    ready = StallPattern(seed, p_ready)
    if start_gaps is None:
        start_gaps = [rng.randint(0, 2) for _ in range(images)]
    return network, plan, counts, {"schedules": schedules, "system": system, "out_ready": ready,
                                   "start_cycle": 2, "start_gaps": start_gaps}


def check_system(seed, images=2, n_ticks=8, **case):
    """Run ``images`` back to back and check everything; ``case``: :func:`system_case`'s
    settings (``output_cores``: split the output layer over this many cores, default random
    as every layer). Returns the golden trace, the predicted timings and the observations."""
    network, plan, counts, kwargs = system_case(seed, images, n_ticks, **case)
    trace, timings, items = expected_run(network, plan, counts, n_ticks, **kwargs)
    system, ready, start_gaps = kwargs["system"], kwargs["out_ready"], kwargs["start_gaps"]
    dut = SpikeforgeSystem(plan, system)
    N_TICKS[0] = n_ticks
    got = simulate(dut, items, start_gaps, ready, start_cycle=2)
    assert len(got) == images
    L = len(network.layers)
    spiked = 0
    for b, (obs, exp) in enumerate(zip(got, timings)):
        where = f"seed {seed} image {b}"
        ticks_run = ticks_to_run(trace, b, n_ticks)
        # values: every spike of every layer against the golden model
        for l in range(L):
            want = expected_spikes(trace, b, l, ticks_run, exp.monitor_events[l])
            mon = sorted((n, t) for n, t, _ in obs["monitor"][l])
            assert mon == want, f"{where}: layer {l} spikes differ"
            spiked += len(want)
        out = sorted((n, t) for n, t, _ in obs["out"])
        assert out == expected_spikes(trace, b, L - 1, ticks_run, exp.out_events), f"{where}: output spikes"
        assert obs["cls"] == int(trace.decision[b]), f"{where}: class"
        assert obs["tick"] == int(trace.decision_tick[b]) % (1 << 16), f"{where}: decision tick"
        assert obs["ticks_run"] == ticks_run and obs["error"] == 0, where
        # timing: exactly the cycle model
        assert_cycles_match(obs, exp, L, where)
        assert (exp.decision, exp.decision_tick) == (int(trace.decision[b]),
                                                     int(trace.decision_tick[b]))
        bound = lower_bound_cycles(plan, trace, b, n_ticks)
        assert max(bound["bound"], bound["dependency_bound"]) <= exp.cycles, (bound, exp.cycles)
        pipelined = dependency_bound(plan, trace, b, bound["ticks_run"], pipelined=True)
        assert bound["dependency_bound"] <= pipelined <= exp.cycles, (pipelined, exp.cycles)
    assert spiked > 0
    return trace, timings, got


@pytest.mark.parametrize("seed", range(8))
def test_random_system_matches_golden_and_cycle_model(seed):
    check_system(seed)


@pytest.mark.parametrize("seed", range(8))
def test_fast_forward_equals_plain_stepping_on_these_systems(seed, monkeypatch):
    """The system model's fast-forward (``SystemModel._skippable``) against stepping every
    cycle, on the systems above (stalled outputs behind blocked links: seed 6 caught a
    skip over a spike moving into a core's skid register, which the RTL runs showed as a
    monitor-cycle mismatch)."""
    assert_fast_forward_exact(monkeypatch, seed)


def assert_fast_forward_exact(monkeypatch, seed, **case):
    """The timings of :func:`system_case`'s system with the model's shortcuts (the skips and
    the closed-form input stream) equal those of stepping every cycle."""
    network, plan, counts, kwargs = system_case(seed, **case)
    fast = expected_run(network, plan, counts, 8, **kwargs)[1]
    monkeypatch.setattr(SystemModel, "_skippable", lambda self, item, start: 0)
    monkeypatch.setattr(SystemModel, "_streamable", lambda self, c, start: False)
    slow = expected_run(network, plan, counts, 8, **kwargs)[1]
    assert [vars(t) for t in slow] == [vars(t) for t in fast]


OVERLAPPED = [(seed, decision) for seed in range(200, 204) for decision in Decision]


@pytest.mark.parametrize("seed, decision", OVERLAPPED)
def test_overlapped_input_matches_golden_and_cycle_model(seed, decision):
    """``overlap``: tick t + 1's input taken during tick t's update phase -- the same spikes
    and classes as the golden model (the RTL computes them), every cycle as the model says.
    First-spike runs stop in the update phase with the next tick's input half taken (seeds
    201 and 202) or wholly taken (200), and once in CHECK (203); the work counters are
    compared by the co-simulation tests."""
    check_system(seed, decision=decision, overlap=True)


@pytest.mark.parametrize("seed, decision", OVERLAPPED)
def test_overlapped_fast_forward_equals_plain_stepping(seed, decision, monkeypatch):
    """The model's closed-form input stream, now also in an update phase, against stepping."""
    assert_fast_forward_exact(monkeypatch, seed, decision=decision, overlap=True)


def test_first_spike_and_spike_count_with_stalls_and_fifo():
    check_system(100, decision=Decision.FIRST_SPIKE, fifo_depth=3, p_ready=0.4)
    check_system(101, decision=Decision.SPIKE_COUNT, fifo_depth=0, p_ready=0.4)


SEVERAL = (326, 329, 337)  # seeds whose runs decide both ways (found with the model)


def first_spike_cases(seed, output_cores, images=4):
    """Back-to-back FIRST_SPIKE inferences (no gap between them) on a system whose output
    layer is split over ``output_cores`` cores; every event, the decision and every cycle
    checked by :func:`check_system`. Returns per decided image: (decided at a spike, the
    predicted timing)."""
    trace, timings, got = check_system(seed, images=images, n_ticks=10,
                                       decision=Decision.FIRST_SPIKE, max_size=16,
                                       output_cores=output_cores, start_gaps=[0] * images,
                                       p_input=0.3)
    cases = []
    for b, (exp, obs) in enumerate(zip(timings, got)):
        if trace.decision[b] < 0:
            continue
        at_spike = exp.stop_cycle >= 0
        if at_spike:  # done the cycle after the deciding handshake, before the tick's end
            deciding = [c for n, t, c in exp.out_events if t == exp.decision_tick]
            assert exp.done_cycle == exp.stop_cycle == deciding[-1] + 1
            assert len(exp.tick_done_cycles) == exp.decision_tick  # not the decision tick's
        else:  # several output cores, only higher ones spiked: decided at the tick's end
            assert output_cores > 1 and exp.done_cycle == exp.tick_done_cycles[-1] + 1
        cases.append((at_spike, exp))
    return cases


def test_first_spike_stops_at_the_spike_and_the_next_inference_waits_for_the_drain():
    """One output core: every decision is taken at the first output spike. The next
    inference starts while the stopped work still drains: its CLEAR waits for it (predicted
    by the model, met by the RTL cycle for cycle) and its result is unaffected
    (check_system compares every event of it with the golden model)."""
    cases = [c for seed in (300, 301) for c in first_spike_cases(seed, output_cores=1)]
    assert cases and all(at_spike for at_spike, _ in cases)
    assert any(exp.clear_cycle > exp.start_cycle + 1 for _, exp in cases)


@pytest.mark.parametrize("seed", (400, 402))
def test_one_output_core_overlapped_first_spike_runs_without_check(seed, monkeypatch):
    """One output core, overlapped input: every first-spike decision comes at a spike,
    inside an update phase, so the tick controller has no CHECK cycle after a tick
    (``stops_at_tick_end`` false). The RTL matches the model without it on every event and
    cycle (check_system); runs decided at a spike and runs through every tick without an
    output spike both occur; with the output always ready, each inference is as many cycles
    shorter than the model with CHECK says as it ended ticks (the CHECK after each)."""
    case = dict(images=3, n_ticks=6, decision=Decision.FIRST_SPIKE, overlap=True,
                output_cores=1, max_size=16, start_gaps=[0] * 3, p_input=0.05, p_ready=1.0)
    trace, timings, _ = check_system(seed, **case)
    network, plan, counts, kwargs = system_case(seed, **case)
    assert not stops_at_tick_end(Decision.FIRST_SPIKE, plan)
    assert {int(d) >= 0 for d in trace.decision} == {True, False}
    monkeypatch.setattr(system_cycle, "stops_at_tick_end", lambda decision, plan: True)
    checked = expected_run(network, plan, counts, case["n_ticks"], **kwargs)[1]
    assert [c.cycles - t.cycles for c, t in zip(checked, timings)] == [
        len(t.tick_done_cycles) for t in timings]


def test_first_spike_with_several_output_cores_stays_the_contract_s_class():
    """Output layers split over 2-3 cores: a spike of the first core decides at once, a
    tick with spikes of other cores only at its end; both occur, and the class is always the
    golden model's (check_system)."""
    for seed in SEVERAL:
        cases = first_spike_cases(seed, 2 + seed % 2)
        assert {at_spike for at_spike, _ in cases} == {True, False}, seed


def test_membrane_max_reads_out_the_membranes():
    for seed in (200, 201):
        check_system(seed, decision=Decision.MEMBRANE_MAX, images=2)


# -- the error flag across back-to-back inferences ------------------------------------------

def bounded_network(seed, decision):
    """A random 2-layer network whose first layer takes at most ``bound`` (< n_inputs)
    events per tick."""
    base = random_network(seed, n_layers=2, max_size=8, decision=decision)
    bound = max(2, base.n_inputs // 2)
    first = dataclasses.replace(base.layers[0], max_events_per_tick=bound)
    return IntegerNetwork((first,) + base.layers[1:], decision), bound


def tick_items(counts_tick, rng):
    """Items of one tick: every event (shuffled), then the marker; no gaps."""
    events = [int(j) for j in np.repeat(np.arange(len(counts_tick)), counts_tick)]
    rng.shuffle(events)
    return [(j, 0, 0) for j in events] + [(0, 1, 0)]


def run_images(seed, decision, overflow_at, n_ticks=4, fifo_depth=0, start_gaps=None):
    """Run one image per entry of ``overflow_at`` back to back on one system: an entry t
    (a tick) makes that image overflow in tick t, ``None`` makes it a normal image.
    Returns ``(network, observations, normal counts)``."""
    rng = random.Random(seed)
    network, bound = bounded_network(seed, decision)
    npc = [rng.randint(1, layer.n_neurons) for layer in network.layers]
    plan = plan_network(network, neurons_per_core=npc)
    counts = random_inputs(seed, network, len(overflow_at), n_ticks, p=0.4)
    # keep every tick within the bound: drop events beyond the first ``bound`` ones
    for b in range(counts.shape[0]):
        for t in range(n_ticks):
            active = np.flatnonzero(counts[b, t])
            counts[b, t, active[bound:]] = 0
    network.check_input(counts)  # the normal ticks are legal
    items = []
    for b, t_over in enumerate(overflow_at):
        image = []
        for t in range(n_ticks):
            row = counts[b, t].copy()
            if t == t_over:  # bound + 1 .. bound + 3 events, repeats allowed
                row[:] = 0
                for _ in range(bound + 1 + rng.randint(0, 2)):
                    row[rng.randrange(network.n_inputs)] += 1
                assert row.sum() > bound
            image += tick_items(row, rng)
        items.append(image)
    if start_gaps is None:
        start_gaps = [rng.choice([0, 0, 1, 3]) for _ in overflow_at]
    dut = SpikeforgeSystem(plan, SystemConfig(decision, fifo_depth=fifo_depth))
    N_TICKS[0] = n_ticks
    got = simulate(dut, items, start_gaps, lambda cycle: True, start_cycle=2)
    assert len(got) == len(overflow_at)
    return network, got, counts


def check_errors(seed, decision, overflow_at, **kwargs):
    n_ticks = kwargs.setdefault("n_ticks", 4)
    network, got, counts = run_images(seed, decision, overflow_at, **kwargs)
    trace = run_network(network, counts, n_ticks)
    for b, (t_over, obs) in enumerate(zip(overflow_at, got)):
        where = f"seed {seed} {decision.name} image {b} (overflow tick {t_over})"
        if t_over is not None:
            assert obs["ticks_run"] > t_over, f"{where}: the overflowing tick did not run"
            assert obs["error"] == 1, f"{where}: overflow not reported at done"
        else:
            assert obs["error"] == 0, f"{where}: error flag set at done of a normal image"
            # nothing of the overflowing image leaks into the result either
            ticks_run = ticks_to_run(trace, b, n_ticks)
            assert obs["ticks_run"] == ticks_run, where
            assert obs["cls"] == int(trace.decision[b]), f"{where}: class"
            assert obs["tick"] == int(trace.decision_tick[b]) % (1 << 16), f"{where}: decision tick"
            out = sorted((n, t) for n, t, _ in obs["out"])
            want = sorted((int(n), int(t)) for t, n in np.argwhere(
                trace.spikes[-1][b, :ticks_run]))
            if decision is Decision.FIRST_SPIKE and not obs["none"]:
                # stopped at the deciding spike: the decision tick's later spikes are dropped
                last = ticks_run - 1
                assert [e for e in out if e[1] < last] == [e for e in want if e[1] < last]
                assert (obs["cls"], last) in out and set(out) <= set(want), where
            else:
                assert out == want, f"{where}: output spikes"


N = 4  # ticks per image


@pytest.mark.parametrize("decision", [Decision.SPIKE_COUNT, Decision.MEMBRANE_MAX])
@pytest.mark.parametrize("where", ["last", "first", "middle"])
def test_overflow_reported_once_then_cleared(decision, where):
    """A (overflow) / B (normal) / A / B with no gap before B's start: error 1, 0, 1, 0."""
    t = {"last": N - 1, "first": 0, "middle": 1}[where]
    for seed in (1, 2):
        check_errors(seed, decision, [t, None, t, None], n_ticks=N, start_gaps=[0, 0, 0, 0],
                     fifo_depth=seed - 1)


def test_last_and_earlier_overflow_in_one_run():
    """Overflow in the last tick, then a normal image, then one in tick 0, two normal
    images, one in a middle tick and a normal one; random start gaps and a FIFO."""
    check_errors(7, Decision.SPIKE_COUNT, [N - 1, None, 0, None, None, 2, None], n_ticks=N,
                 fifo_depth=2)


def test_first_spike_overflow_in_tick_0():
    """FIRST_SPIKE may stop early, so its overflow is in tick 0 (always run)."""
    for seed in (3, 4):
        check_errors(seed, Decision.FIRST_SPIKE, [0, None, 0, None], n_ticks=N)
