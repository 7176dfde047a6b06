"""What the composition tests (tests/hdl/test_system.py, tests/cosim/test_system_cosim.py)
do not cover of sim/system_cycle.py: the input schedule, the refusal of settings that do
not fit the trace, the closed-form lower bound on random networks, the fast-forward
against plain stepping, and one inference worked out by hand from the block timings.
"""

import dataclasses
import math
import random
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest

from spikeforge.compiler.map import plan_network
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.ir.params import Decision, NeuronParams
from spikeforge.ir.system import SystemConfig
from spikeforge.sim.cycle import clear_cycles, cycles_per_event, update_cycles, words
from spikeforge.sim.network import NetworkTrace, run_network
from spikeforge.sim.system_cycle import (
    InputSchedule,
    SystemModel,
    dependency_bound,
    input_items,
    lower_bound_cycles,
    predict_run,
    ticks_to_run,
    work_bound,
)
from tests.sim.test_planned import partial_routes
from tests.util import random_inputs, random_network

# -- the input schedule ----------------------------------------------------------------------

def test_input_schedule_items_and_defaults():
    s = InputSchedule([np.array([3, 1]), [], [2]], [[0, 4], [], [1]], [2, 0, 5])
    assert s.events == [[3, 1], [], [2]] and all(type(j) is int for j in s.events[0])
    # per tick: its events (index, 0, gap, tick), then the marker (0, 1, gap, tick)
    assert s.items(3) == [(3, 0, 0, 0), (1, 0, 4, 0), (0, 1, 2, 0),
                          (0, 1, 0, 1),
                          (2, 0, 1, 2), (0, 1, 5, 2)]
    # fewer ticks: the later ones are left out; more ticks: just a marker, gap 0
    assert s.items(1) == [(3, 0, 0, 0), (1, 0, 4, 0), (0, 1, 2, 0)]
    assert s.items(5)[-2:] == [(0, 1, 0, 3), (0, 1, 0, 4)]
    assert input_items(s, 5) == s.items(5)
    d = InputSchedule([[1, 1], [0]])  # no gaps given: all 0
    assert d.event_gaps == [[0, 0], [0]] and d.marker_gaps == [0, 0]
    assert d.items(2) == [(1, 0, 0, 0), (1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 0, 1), (0, 1, 0, 1)]
    assert InputSchedule([]).items(2) == [(0, 1, 0, 0), (0, 1, 0, 1)]


# -- random systems ------------------------------------------------------------------------

def random_case(seed, images=2, n_ticks=6, decision=None, max_size=10):
    rng = random.Random(seed)
    network = random_network(seed, max_size=max_size, decision=decision)
    npc = [rng.randint(1, layer.n_neurons) for layer in network.layers]
    lanes = [rng.choice([1, 1, 2, 3]) for _ in network.layers]  # cores of unequal G
    plan = plan_network(network, neurons_per_core=npc, lanes=lanes)
    counts = random_inputs(seed, network, images, n_ticks, p=rng.choice([0.2, 0.5]))
    trace = run_network(network, counts, n_ticks)
    schedules = []
    for b in range(images):
        events = [[int(j) for j in np.repeat(np.arange(network.n_inputs), counts[b, t])]
                  for t in range(n_ticks)]
        for e in events:
            rng.shuffle(e)
        gaps = [[rng.choice([0, 0, 1, 3]) for _ in e] for e in events]
        schedules.append(InputSchedule(events, gaps, [rng.choice([0, 2]) for _ in events]))
    system = SystemConfig(network.decision, fifo_depth=rng.choice([0, 1, 2, 4]),
                          guard=rng.choice([1, 2, 3]))
    stalls = {c for c in range(200_000) if rng.random() < 0.3} if rng.random() < 0.5 else set()
    kwargs = {"system": system, "out_ready": lambda c: c not in stalls,
              "start_cycle": rng.randint(0, 3), "start_gaps": [rng.randint(0, 2)] * images}
    return network, plan, trace, schedules, n_ticks, kwargs


@pytest.fixture(autouse=True)
def bounded_runs(monkeypatch):
    """The runs here take a few thousand cycles: a model that hangs fails fast instead of
    stepping to run_inference's default limit of 50 million cycles."""
    run_inference = SystemModel.run_inference
    monkeypatch.setattr(SystemModel, "run_inference",
                        lambda self, *args: run_inference(self, *args, max_cycles=200_000))


@pytest.mark.parametrize("double", [False, True, (0,)])
@pytest.mark.parametrize("seed", range(10))
def test_lower_bound_holds_on_random_networks(seed, double):
    """The documented closed form, recomputed from the trace (events into each layer in the
    ticks run, one update phase per tick, the CLEAR), is below the predicted cycles; with
    double-buffered cores (events beside the updates) the larger of the two, not their
    sum -- per core where only the first layer's are."""
    _, plan, trace, schedules, n_ticks, kwargs = random_case(seed)
    kwargs["system"] = dataclasses.replace(kwargs["system"], double_buffer=double)
    timings = predict_run(plan, trace, schedules, n_ticks, **kwargs)

    def both(layer):
        return max if double is True or layer in (double or ()) else (lambda a, b: a + b)

    for b, timing in enumerate(timings):
        bound = lower_bound_cycles(plan, trace, b, n_ticks, double_buffer=double)
        ticks = timing.ticks_run
        assert bound["ticks_run"] == ticks == ticks_to_run(trace, b, n_ticks)
        events = [int(trace.layer_input_counts(l)[b, :ticks].sum())
                  for l in range(len(trace.spikes))]
        core = max(clear_cycles(c) + both(c.layer)(events[c.layer] * cycles_per_event(c),
                                                   ticks * update_cycles(c))
                   for c in plan.cores)
        synaptic = sum(e * n for e, (_, n) in zip(events, trace.layer_sizes))
        rate = sum(Fraction(c.n_neurons, cycles_per_event(c)) for c in plan.cores)
        update_min = min(update_cycles(c) for c in plan.cores)
        assert {k: v for k, v in bound.items() if k != "dependency_bound"} == {
                         "core_bound": core, "synaptic_events": synaptic,
                         "synaptic_bound": both(0)(math.ceil(synaptic / rate),
                                                   ticks * update_min),
                         "bound": max(core, bound["synaptic_bound"]), "ticks_run": ticks,
                         "work_bound": max(words(c) * (events[c.layer] + ticks)
                                           for c in plan.cores)}
        assert double or bound["work_bound"] <= bound["core_bound"]
        assert 0 < bound["bound"] <= timing.cycles, (seed, b, bound, timing.cycles)
        assert 0 < bound["dependency_bound"] <= timing.cycles, (seed, b, bound, timing.cycles)
        pipelined = dependency_bound(plan, trace, b, ticks, pipelined=True)
        assert bound["dependency_bound"] <= pipelined <= timing.cycles, (seed, b, pipelined)
        if trace.decision_mode is not Decision.FIRST_SPIKE:
            # at least each core's reads and its update chain, overlapped
            overlapped = max(words(c) * max(events[c.layer] + 1, ticks) for c in plan.cores)
            assert bound["dependency_bound"] >= overlapped, (seed, b, bound)


def _two_layers(decision, outputs):
    """The network, plan and trace of the by-hand bounds: 2 inputs -> 4 neurons (G = 4) -> 2 (G = 2),
    one lane each; one input event in each of 3 ticks, every hidden neuron spiking in every
    tick, the outputs (if ``outputs``) in tick 2."""
    network = IntegerNetwork((IntegerLayer(np.zeros((2, 4), dtype=np.int64), NeuronParams()),
                              IntegerLayer(np.zeros((4, 2), dtype=np.int64), NeuronParams())),
                             decision)
    plan = plan_network(network, neurons_per_core=[4, 2], lanes=[1, 1])
    counts = np.zeros((1, 3, 2), dtype=np.int64)
    counts[0, :, 0] = 1
    out = np.zeros((1, 3, 2), dtype=bool)
    out[0, 2] = outputs
    trace = NetworkTrace([np.ones((1, 3, 4), dtype=bool), out], counts,
                         np.zeros((1, 3, 2), dtype=np.int64), np.array([0 if outputs else -1]),
                         np.array([2]), decision, [(2, 4), (4, 2)])
    return network, plan, trace


@pytest.mark.parametrize("decision,outputs,expected", [
    (Decision.SPIKE_COUNT, True, 23), (Decision.FIRST_SPIKE, True, 22),
    (Decision.FIRST_SPIKE, False, 23)])
def test_dependency_bound_by_hand(decision, outputs, expected):
    """Two layers, one core each, one lane: 2 inputs -> 4 neurons (G = 4) -> 2 (G = 2); one
    input event in each of 3 ticks, every hidden neuron spiking in every tick, the outputs
    in tick 2. The hidden core reads a tick's event in 4 cycles and updates in 4 more,
    overlapped with the next tick's read: A = 4, 8, 12, S = 4, 8, 12, U = 8, 12, 16. The
    output core has nothing in tick 0 (S = 0, U = 2); tick 1's 4 events are released at
    S(hidden, 0) + 1 = 5: A = 5 + 4 * 2 = 13 = S, U = 15; tick 2's at 9: A = 13 + 8 = 21 =
    S, U = 23. So 23 cycles, or S + 1 = 22 at the first output spike (23 again for a
    first-spike run without one); the work bound is 4 * (3 + 3) = 24: the overlap of reads
    and updates goes below it."""
    network, plan, trace = _two_layers(decision, outputs)
    bound = lower_bound_cycles(plan, trace, 0, 3)
    assert bound["work_bound"] == 24 and bound["dependency_bound"] == expected
    # a layer's own work with nothing behind it: the hidden core alone, U(2) = 16
    assert dependency_bound(plan_network(IntegerNetwork(network.layers[:1], Decision.SPIKE_COUNT),
                                         neurons_per_core=[4], lanes=[1]),
                            dataclasses.replace(trace, spikes=trace.spikes[:1],
                                                decision_mode=Decision.SPIKE_COUNT,
                                                layer_sizes=[(2, 4)]), 0, 3) == 16
    # cores that read two event words a cycle (not built; 3 input events, 8 hidden spikes
    # taken in the 3 ticks). The output core: tick 1's 4 events in 4 cycles, A = 5 + 4 =
    # 9 = S, U = 11; tick 2's, A = 9 + 4 = 13 = S, U = 15, under the hidden core's 16 (S + 1
    # = 14 at a first output spike). The hidden core instead: A = 2, 4, 6, S = 2, 6, 10,
    # U = 6, 10, 14; the output core's events released at 3 and 7: A = 11 = S, U = 13;
    # A = 19 = S, U = 21 (S + 1 = 20)
    at_spike = decision is Decision.FIRST_SPIKE and outputs
    for reads, work, dependency in (({1: 2}, 24, 14 if at_spike else 16),
                                    ({0: 2}, 22, 20 if at_spike else 21)):
        assert work_bound(plan, [3, 8], 3, reads) == work, reads
        assert dependency_bound(plan, trace, 0, 3, reads) == dependency, reads
    with pytest.raises(ConfigError, match="reads: layer 1: must be an integer >= 1, got 0"):
        dependency_bound(plan, trace, 0, 3, {1: 0})


@pytest.mark.parametrize("decision,outputs,expected", [
    (Decision.SPIKE_COUNT, True, 37), (Decision.FIRST_SPIKE, True, 36),
    (Decision.FIRST_SPIKE, False, 37)])
def test_pipelined_dependency_bound_by_hand(decision, outputs, expected):
    """The network of the test above with the pipeline (P = 8) and one spike a cycle per
    core. The hidden core: A = 4, 8, 12; S = 4, 12, 20 (each update at least P after the
    last: max(G, P) = 8). Its 4 spikes of a tick leave from their word's write, S + n + 8,
    one a cycle: tick 0's at 12-15, tick 1's at 20-23. The output core (2 cycles an
    event): S(0) = 0; tick 1's events A = 14, 16, 18, 20 = S(1); tick 2's A = 22, ..., 28,
    S(2) = max(28, 20 + 8) = 28. The end is the last write, S + G - 1 + P: the output
    core's 28 + 1 + 8 = 37 (the hidden core's 31), or at a first output spike (word 0)
    28 + 8 = 36. Never below the bound without the pipeline (23, 22, 23)."""
    _, plan, trace = _two_layers(decision, outputs)
    assert dependency_bound(plan, trace, 0, 3, pipelined=True) == expected
    assert dependency_bound(plan, trace, 0, 3) < expected


def test_double_buffered_cores_beat_the_one_at_a_time_sum():
    """Why the bound of double-buffered cores differs: one core of 8 one-lane neurons
    (G = 8), all 4 inputs spiking in each of 10 ticks, overlapped input. One thing at a
    time it needs clear + 40 events * 8 + 10 updates; double-buffered it takes fewer cycles
    than that sum (and than the work bound), and its own bound, clear + max(320, 10 *
    update), holds."""
    network = IntegerNetwork((IntegerLayer(np.zeros((4, 8), dtype=np.int64), NeuronParams()),),
                             Decision.SPIKE_COUNT)
    plan = plan_network(network, neurons_per_core=[8])
    (core,) = plan.cores
    counts = np.ones((1, 10, 4), dtype=np.int64)
    trace = run_network(network, counts, 10)
    schedule = [InputSchedule([[0, 1, 2, 3]] * 10)]
    single, double = (predict_run(plan, trace, schedule, 10, system=SystemConfig(
        Decision.SPIKE_COUNT, overlap=True, double_buffer=d))[0].cycles for d in (False, True))
    summed = lower_bound_cycles(plan, trace, 0, 10)
    own = lower_bound_cycles(plan, trace, 0, 10, double_buffer=True)
    assert summed["core_bound"] == clear_cycles(core) + 320 + 10 * update_cycles(core) <= single
    assert own["core_bound"] == clear_cycles(core) + max(320, 10 * update_cycles(core))
    assert own["bound"] <= double < summed["bound"] and double < own["work_bound"] == 400


def fast_and_stepped(case, monkeypatch, output_reads=1):
    """``predict_run`` of a :func:`random_case` with the model's fast paths, counting each
    use of the skip and of the input stream's closed form, then with both switched off:
    ``(uses, fast, stepped)``, the timings as dicts (``output_reads``: the model's)."""
    _, plan, trace, schedules, n_ticks, kwargs = case
    used = Counter()

    def run():
        model = SystemModel(plan, kwargs["system"], out_ready=kwargs["out_ready"],
                            output_reads=output_reads)
        return predict_run(plan, trace, schedules, n_ticks, model=model, **kwargs)
    for name in ("_skip", "_stream"):
        original = getattr(SystemModel, name)
        monkeypatch.setattr(SystemModel, name, lambda self, *a, original=original, name=name:
                            (used.update([name]), original(self, *a))[1])
    fast = run()
    monkeypatch.setattr(SystemModel, "_streamable", lambda self, c, start: False)
    monkeypatch.setattr(SystemModel, "_skippable", lambda self, item, start: 0)
    stepped = run()
    return used, [vars(t) for t in fast], [vars(t) for t in stepped]


@pytest.mark.parametrize("seed", range(10, 16))
def test_fast_forward_equals_plain_stepping(seed, monkeypatch):
    """The stretches SystemModel skips in one step must change nothing: the same run with
    the fast-forward switched off gives the same cycle for every event."""
    used, fast, stepped = fast_and_stepped(random_case(seed), monkeypatch)
    assert used["_skip"]  # the fast-forward is used on this case
    assert stepped == fast


@pytest.mark.parametrize("seed", range(20, 40))
def test_streamed_input_equals_plain_stepping(seed, monkeypatch):
    """The event phase's input stream, computed in closed form (``SystemModel._stream``),
    must predict what stepping every cycle predicts: the same cycle for every event."""
    used, fast, stepped = fast_and_stepped(random_case(seed, images=3), monkeypatch)
    assert used["_stream"]  # the closed form is used on this case
    assert stepped == fast


@pytest.mark.parametrize("seed", range(40, 70))
def test_double_buffered_fast_forward_equals_plain_stepping(seed, monkeypatch):
    """Double-buffered cores (``SystemConfig.double_buffer``): the skips and the input
    stream's closed form predict what stepping every cycle predicts (a core's event engine
    counts down beside its phase), with and without overlapped input."""
    case = random_case(seed, images=3)
    case[-1]["system"] = dataclasses.replace(case[-1]["system"], double_buffer=True,
                                             overlap=seed % 2 == 0)
    used, fast, stepped = fast_and_stepped(case, monkeypatch)
    assert used  # a fast path is taken on this case
    assert stepped == fast


@pytest.mark.parametrize("seed", range(70, 90))
def test_wide_output_link_fast_forward_equals_plain_stepping(seed, monkeypatch):
    """A link of two spikes a cycle into one-word output cores (``output_reads``, not built):
    the skips, whose blocked-link test reads a bundle's destinations, predict what stepping
    every cycle predicts."""
    network, _, trace, schedules, n_ticks, kwargs = random_case(seed, images=3)
    if len(network.layers) < 2:
        pytest.skip("one layer: no link into the output layer")
    # two cores a layer, those of the output layer one word each, every other case with
    # partial routes into them (a bundle's packets to different cores)
    npc = [-(-layer.n_neurons // 2) for layer in network.layers]
    plan = plan_network(network, lanes=[1] * (len(npc) - 1) + [npc[-1]], neurons_per_core=npc)
    if seed % 2:
        plan = partial_routes(plan, random.Random(seed))
    case = (network, plan, trace, schedules, n_ticks, kwargs)
    used, fast, stepped = fast_and_stepped(case, monkeypatch, output_reads=2)
    assert used  # a fast path is taken on this case
    assert stepped == fast


def test_double_buffered_cores_take_fewer_cycles():
    """Over 20 random systems the double-buffered cores never take more cycles than today's,
    and fewer in some: a core's events no longer wait for its update (in cores this small a
    layer's spikes come at the end of its update, when the next layer's is nearly done:
    the gain is small; docs/boards.md has the benchmark designs')."""
    fewer = 0
    for seed in range(70, 90):
        _, plan, trace, schedules, n_ticks, kwargs = random_case(seed, images=3)
        runs = []
        for double_buffer in (False, True):
            kwargs["system"] = dataclasses.replace(kwargs["system"], double_buffer=double_buffer)
            runs.append([t.cycles for t in predict_run(plan, trace, schedules, n_ticks,
                                                       **kwargs)])
        assert all(d <= s for s, d in zip(*runs)), (seed, runs)
        fewer += sum(runs[1]) < sum(runs[0])
    assert fewer >= 3, fewer


def test_fast_forward_never_skips_the_cycle_done_rises(monkeypatch):
    """FIRST_SPIKE: ``done`` rises the cycle after the deciding spike, possibly while a core
    still counts a hidden event down -- a stretch the fast-forward once skipped (``done``
    one cycle late against the RTL; found by the RTL fuzz campaign). 120 random first-spike
    systems (three of them, seeds 1, 86 and 96, reach it) against plain stepping."""
    cases = [random_case(seed, images=3, decision=Decision.FIRST_SPIKE) for seed in range(120)]

    def run_all():
        return [[vars(t) for t in predict_run(plan, trace, schedules, n_ticks, **kwargs)]
                for _, plan, trace, schedules, n_ticks, kwargs in cases]

    fast = run_all()
    monkeypatch.setattr(SystemModel, "_skippable", lambda self, item, start: 0)
    monkeypatch.setattr(SystemModel, "_streamable", lambda self, c, start: False)
    assert run_all() == fast


def test_fast_forward_behind_a_blocked_link_while_a_core_updates(monkeypatch):
    """A long layer-0 core with a few spiking neurons feeds a short layer-1 core: the
    link waits for layer 1 while layer 0 still updates, a stretch the random cases above
    rarely reach. Skipping it must not freeze the updating core."""
    rng = random.Random(0)
    params = NeuronParams(weight_bits=8, threshold=50)
    cases = []
    for _ in range(60):
        n0, n1 = rng.randint(10, 60), rng.randint(2, 8)
        w0 = np.zeros((8, n0), dtype=np.int64)
        w0[:, rng.sample(range(n0), rng.randint(1, n0 // 3 + 1))] = 60
        network = IntegerNetwork((IntegerLayer(w0, params),
                                  IntegerLayer(np.full((n0, n1), 10), params)),
                                 Decision.SPIKE_COUNT)
        plan = plan_network(network, neurons_per_core=[n0, n1], lanes=[rng.choice([1, 2]), 1])
        trace = run_network(network, np.ones((1, 4, 8), dtype=np.int64), 4)
        system = SystemConfig(Decision.SPIKE_COUNT, fifo_depth=rng.choice([0, 0, 1, 2]))
        cases.append((plan, trace, system))

    def run_all():
        return [[vars(t) for t in predict_run(plan, trace, [InputSchedule([list(range(8))] * 4)],
                                              4, system=system)]
                for plan, trace, system in cases]

    fast = run_all()
    monkeypatch.setattr(SystemModel, "_skippable", lambda self, item, start: 0)
    assert run_all() == fast


def test_runs_follow_the_driver_convention():
    _, plan, trace, schedules, n_ticks, kwargs = random_case(3, images=3)
    timings = predict_run(plan, trace, schedules, n_ticks, **kwargs)
    assert timings[0].start_cycle == kwargs["start_cycle"]
    for b, t in enumerate(timings):
        items = schedules[b].items(ticks_to_run(trace, b, n_ticks))
        assert len(t.input_cycles) == len(items)
        assert all(a < b_ for a, b_ in zip(t.input_cycles, t.input_cycles[1:]))
        assert t.start_cycle < t.input_cycles[0] and t.input_cycles[-1] < t.done_cycle
        assert len(t.tick_done_cycles) == t.ticks_run and t.tick_done_cycles[-1] < t.done_cycle
        assert t.cycles == t.done_cycle - t.start_cycle
        assert (t.decision, t.decision_tick) == (int(trace.decision[b]),
                                                 int(trace.decision_tick[b]))
        if b + 1 < len(timings):
            assert timings[b + 1].start_cycle == t.done_cycle + 1 + kwargs["start_gaps"][b]


def test_predict_run_refuses_settings_that_do_not_fit_the_trace():
    _, plan, trace, schedules, n_ticks, _ = random_case(1, decision=Decision.SPIKE_COUNT)
    with pytest.raises(ConfigError, match="system.decision: first-spike .*spike-count"):
        predict_run(plan, trace, schedules, n_ticks,
                    system=SystemConfig(Decision.FIRST_SPIKE))
    with pytest.raises(ConfigError, match="schedules: expected 2"):
        predict_run(plan, trace, schedules[:1], n_ticks)
    # no system given: the trace's decision with the default settings
    default = predict_run(plan, trace, schedules, n_ticks)
    explicit = predict_run(plan, trace, schedules, n_ticks,
                           system=SystemConfig(Decision.SPIKE_COUNT))
    assert [vars(t) for t in default] == [vars(t) for t in explicit]


# -- one inference by hand -------------------------------------------------------------------

@pytest.mark.parametrize("guard", [1, 2])
@pytest.mark.parametrize("N", [2, 3])
def test_silent_one_core_inference_by_hand(N, guard):
    """One layer on one core of N neurons that never spike, one tick without events,
    SPIKE_COUNT, start at S = 0. Block by block (tick controller, core, input port,
    decision unit), with the core's own times C = ``clear_cycles`` and U = ``update_cycles``
    (sim/cycle.py; never hard-coded here, the core's timing is its own):

    * 0: ``start`` (controller IDLE, ``clear``); 1: CLEAR offered and taken (ISSUE_CLEAR);
    * the core is idle again at 1 + C, which the controller's registered quiet shows at
      2 + C; its guard (reloaded at 1) is 0 from 2 + guard: CLEARING ends at
      E = max(2 + C, 2 + guard), EVENT from E + 1 (wait = guard + 1);
    * the marker (offered from 1) is taken at E + 1, the port is closed from E + 2 (quiet
      registered at E + 3); the TICK is offered once the guard is 0: T = E + 2 + guard;
    * the core is idle at T + U, read at T + U + 1: the update phase ends at
      max(T + U + 1, T + 1 + guard) = tick_done; CHECK the cycle after gives ``finished``;
      the argmax scan makes the decision valid N + 2 cycles later, ``done`` at
      D = tick_done + 3 + N.
    """
    params = NeuronParams(threshold=100)
    network = IntegerNetwork((IntegerLayer(np.zeros((2, N), dtype=np.int64), params),),
                             Decision.SPIKE_COUNT)
    plan = plan_network(network, neurons_per_core=[N])
    trace = run_network(network, np.zeros((1, 1, 2), dtype=np.int64), 1)
    [t] = predict_run(plan, trace, [InputSchedule([[]])], 1,
                      system=SystemConfig(Decision.SPIKE_COUNT, guard=guard))
    C, U = clear_cycles(plan.cores[0]), update_cycles(plan.cores[0])
    E = max(2 + C, 2 + guard)
    T = E + 2 + guard
    tick_done = max(T + U + 1, T + 1 + guard)
    assert t.input_cycles == [E + 1]
    assert t.tick_done_cycles == [tick_done]
    assert t.done_cycle == tick_done + 3 + N and t.cycles == t.done_cycle
    assert (t.decision, t.none, t.ticks_run, t.out_events) == (0, True, 1, [])


def test_lower_bound_by_hand():
    """One layer of 3 neurons split 2 + 1 over two cores; events 2 in tick 0, 1 in tick 1:
    core_bound = max over cores of clear + 3 events * per_event + 2 ticks * update (the
    core's own times, sim/cycle.py); synaptic events = 3 * 3 = 9, synaptic_bound =
    ceil(9 / (2 / per_event(2) + 1 / per_event(1))) + 2 ticks * the smaller update."""
    network = IntegerNetwork((IntegerLayer(np.zeros((2, 3), dtype=np.int64), NeuronParams()),),
                             Decision.SPIKE_COUNT)
    plan = plan_network(network, neurons_per_core=[2])
    trace = run_network(network, np.array([[[1, 1], [0, 1]]]), 2)
    a, b = plan.cores
    core = max(clear_cycles(c) + 3 * cycles_per_event(c) + 2 * update_cycles(c) for c in (a, b))
    rate = Fraction(2, cycles_per_event(a)) + Fraction(1, cycles_per_event(b))
    synaptic = math.ceil(9 / rate) + 2 * min(update_cycles(a), update_cycles(b))
    assert lower_bound_cycles(plan, trace, 0, 2) == {
        "core_bound": core, "synaptic_bound": synaptic, "bound": max(core, synaptic),
        "work_bound": 2 * (3 + 2),  # core a: G = 2 words, 3 events + 2 ticks
        # core a: tick 0's 2 events read by 4, updated by 6 while tick 1's event is read
        # (by 6), tick 1's update from 6 to 8
        "dependency_bound": 8, "synaptic_events": 9, "ticks_run": 2}
