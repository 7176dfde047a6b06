"""The core model (sim/blocks/core.py) against :class:`NeuronCore` (hdl/core.py), and its
documented timing with exact cycles.

Lockstep: a random core (random size and neuron parameters, weights that make it spike)
runs two inferences (CLEAR, then ticks of random events and a TICK) with random gaps
between the items, sometimes a TICK offered together with the tick's last event, and random
``spike_out.ready`` stalls. The model is loaded with the golden spikes of each inference
(``GoldenCore``); every cycle its ``idle``, the two ``ready`` and the output register must
be the RTL's. The fast-forward (``skippable``/``skip``) is checked against plain stepping.
"""

import copy
import random

import numpy as np
import pytest

from spikeforge.hdl.core import Command, NeuronCore
from spikeforge.ir.core import CoreConfig
from spikeforge.ir.plan import CorePlan
from spikeforge.sim.blocks.core import QUEUE_WORDS, UPDATE_STAGES, CoreModel, CorePhase
from spikeforge.sim.cycle import (
    TickStimulus,
    clear_cycles,
    core_busy_bound,
    cycles_per_event,
    output_latency,
    predict_tick,
    tick_cycles,
    update_cycles,
)
from spikeforge.sim.golden import GoldenCore
from tests.util import random_params, run


def plan_core(config, layer=0, index=0, offset=0):
    return CorePlan(core_id=index, layer=layer, index=index, neuron_offset=offset, config=config)


def random_config(rng, lanes=1, words=(1, 6)):
    """A random core of ``words[0]`` to ``words[1]`` words."""
    n, j = rng.randint((words[0] - 1) * lanes + 1, words[1] * lanes), rng.randint(2, 6)
    nrng = np.random.default_rng(rng.randrange(1 << 30))
    return CoreConfig(n, j, random_params(rng), nrng.integers(-10, 90, size=(j, n)), lanes=lanes)


def core_items(rng, config, golden, inferences=2, ticks=4):
    """The driver's items: per inference CLEAR, then each tick's events and its TICK; and
    the golden spikes ``[ticks, N]`` of every inference."""
    items, spikes = [], []
    for _ in range(inferences):
        events = [rng.sample(range(config.n_inputs), rng.randint(0, config.n_inputs))
                  for _ in range(ticks)]
        spikes.append(golden.run(golden.counts_from_events(events)).spikes.astype(bool))
        items.append(("clear", len(spikes) - 1))
        for t, evs in enumerate(events):
            items += [("event", j) for j in evs] + [("tick", t)]
    return items, spikes


def core_lockstep(seed, lanes=1, cycles_limit=3000, words=(1, 6), p_ready=None):
    rng = random.Random(seed)
    config = random_config(rng, lanes, words)
    dut = NeuronCore(config)
    model = CoreModel(plan_core(config))
    items, spikes = core_items(rng, config, GoldenCore.of(config))
    p_gap, p_eager = rng.choice([0.0, 0.5]), 0.4
    p_ready = rng.choice([1.0, 0.5, 0.25]) if p_ready is None else p_ready
    # credit: the largest credit seen while the update phase has words left to issue
    # chained: events accepted at the previous event's last word (not idle)
    stats = {"outputs": 0, "stalls": 0, "skips": 0, "together": 0, "credit": 0, "chained": 0}

    async def bench(ctx):
        k = 0  # next item
        on = set()  # items being offered (their positions): held until their handshake
        skipped = []  # (cycle, model advanced with skip())
        for c in range(cycles_limit):
            if k == len(items) and model.idle:
                break
            if k < len(items) and not on and rng.random() >= p_gap:
                on.add(k)
                if (items[k][0] == "event" and k + 1 < len(items) and items[k + 1][0] == "tick"
                        and rng.random() < p_eager):
                    on.add(k + 1)  # the TICK offered together with the last event
                    stats["together"] += 1
                if items[k][0] == "clear":
                    model.load(spikes[items[k][1]])
            event = command = None
            for pos in sorted(on):
                kind, value = items[pos]
                if kind == "event":
                    event = (pos, value)
                else:
                    command = (pos, kind, value)
            ctx.set(dut.spike_in.valid, int(event is not None))
            ctx.set(dut.spike_in.payload, event[1] if event else 0)
            ctx.set(dut.command.valid, int(command is not None))
            ctx.set(dut.command.payload,
                    Command.TICK if command and command[1] == "tick" else Command.CLEAR)
            out_ready = rng.random() < p_ready
            ctx.set(dut.spike_out.ready, int(out_ready))
            where = (seed, lanes, c, model.phase, items[k] if k < len(items) else None)
            in_valid = event is not None
            assert ctx.get(dut.idle) == model.idle, where
            assert ctx.get(dut.spike_in.ready) == model.in_ready, where
            assert ctx.get(dut.command.ready) == model.command_ready(in_valid), where
            assert ctx.get(dut.spike_out.valid) == model.out_valid, where
            if model.out_valid:
                assert ctx.get(dut.spike_out.payload) == model.out_n, where
                stats["outputs"] += out_ready
                stats["stalls"] += not out_ready
            for at, other in skipped:
                if at == c:
                    assert (other.phase, other.left, other.out_valid) == \
                        (model.phase, model.left, model.out_valid), where
            if model.phase is CorePhase.UPDATE and model.cnt < model.G:
                stats["credit"] = max(stats["credit"], model.credit)
            skip = model.skippable()
            if skip:
                other = copy.deepcopy(model)
                other.skip(skip)
                skipped.append((c + skip, other))
                stats["skips"] += 1
            accept_event = in_valid and model.in_ready
            stats["chained"] += accept_event and not model.idle
            accept_command = command is not None and model.command_ready(in_valid)
            is_tick = command is not None and command[1] == "tick"
            model.clock(accept_event, accept_command, is_tick,
                        command[2] if is_tick else 0, out_ready)
            if accept_event:
                on.discard(event[0])
                k = max(k, event[0] + 1)
            if accept_command:
                on.discard(command[0])
                k = max(k, command[0] + 1)
            await ctx.tick()
        else:
            raise AssertionError(f"seed {seed}: the items were not all taken")

    run(dut, bench)
    return stats


@pytest.mark.parametrize("seed,lanes", [(0, 1), (1, 1), (2, 2), (3, 3), (4, 4), (5, 8), (6, 8)])
def test_core_matches_rtl_cycle_by_cycle(seed, lanes):
    core_lockstep(seed, lanes)


@pytest.mark.parametrize("seed,lanes,p_ready", [(20, 1, 0.9), (21, 1, 1.0), (23, 2, 0.25)])
def test_core_matches_rtl_while_the_credit_throttles(seed, lanes, p_ready):
    """Cores of 2Q to 3Q words (Q = QUEUE_WORDS): the issue credit reaches Q - 1 with words
    left to issue (Q under the slow spike_out), so the RTL's credit limit is pinned cycle by
    cycle (the other lockstep cores have at most 6 words, too few to fill the credit). An RTL
    limit of Q - 1 fails all three (stop 26): at full rate every spiking word needs a credit
    of S + 2 = Q."""
    words = (2 * QUEUE_WORDS, 3 * QUEUE_WORDS)
    stats = core_lockstep(seed, lanes, cycles_limit=6000, words=words, p_ready=p_ready)
    assert stats["credit"] >= QUEUE_WORDS - (p_ready > 0.5), stats


def test_lockstep_exercises_stalls_and_overlapping_offers():
    total = {"outputs": 0, "stalls": 0, "together": 0, "skips": 0, "chained": 0}
    for seed, lanes in ((6, 1), (7, 2), (8, 4)):
        stats = core_lockstep(seed, lanes)
        for key in total:
            total[key] += stats[key]
    assert all(v > 0 for v in total.values()), total


# -- documented timing, exact cycles -------------------------------------------------------

def step(core, cycles, event=False, command=False, is_tick=False, tick=0,
         out_ready=lambda c: True, start=0):
    """Clock ``core`` for ``cycles`` cycles from cycle ``start`` (the inputs in the first
    one only); returns per cycle (idle, out_valid, out_n, handshake)."""
    trace = []
    for c in range(start, start + cycles):
        first = c == start
        ready = out_ready(c)
        trace.append((core.idle, core.out_valid, core.out_n, core.out_valid and ready))
        core.clock(event and first, command and first, is_tick, tick, ready)
    return trace


@pytest.mark.parametrize("N,lanes", [(1, 1), (2, 1), (5, 1), (5, 2), (9, 4)])
def test_event_and_clear_busy_times(N, lanes):
    core = CoreModel(plan_core(CoreConfig(N, 3, lanes=lanes)))
    G = -(-N // lanes)
    # an event accepted at cycle 0: idle again from G + 1
    trace = step(core, G + 3, event=True)
    assert [c for c, t in enumerate(trace) if t[0]] == [0, G + 1, G + 2]
    assert core.phase is CorePhase.IDLE
    # a CLEAR accepted at cycle 0: idle again from G + 1
    trace = step(core, G + 3, command=True)
    assert [c for c, t in enumerate(trace) if t[0]] == [0, G + 1, G + 2]
    # an event wins over a command offered in the same cycle
    assert not core.command_ready(True) and core.command_ready(False)
    core.clock(True, True, True, 0, True)
    assert core.phase is CorePhase.EVENT


@pytest.mark.parametrize("N,lanes", [(1, 1), (2, 1), (3, 1), (5, 2), (9, 4)])
def test_events_follow_each_other_every_g_cycles(N, lanes):
    """spike_in.ready: an event accepted at cycle 0 lets the next in at G (at its last word,
    when the core is not idle; with one word, in every cycle); three in a row, then idle at
    2 * G + G + 1."""
    core = CoreModel(plan_core(CoreConfig(N, 3, lanes=lanes)))
    G = -(-N // lanes)
    period = G
    accepted, ready, idle = [], [], []
    for c in range(3 * period + G + 2):
        ready.append(core.in_ready)
        idle.append(core.idle)
        take = core.in_ready and len(accepted) < 3
        if take:
            accepted.append(c)
        core.clock(take, False, False, 0, True)
    assert accepted == [0, period, 2 * period]
    assert cycles_per_event(CoreConfig(N, 3, lanes=lanes)) == period
    assert ready[period - 1:period + 1] == ([True, True] if G == 1 else [False, True])
    assert not idle[period]  # ready while busy, at the last word
    assert idle.index(True, 2 * period + 1) == 2 * period + G + 1  # after the third


@pytest.mark.parametrize("N", [1, 4])
def test_update_phase_without_stalls(N):
    S = UPDATE_STAGES
    core = CoreModel(plan_core(CoreConfig(N, 2)))
    core.load(np.ones((1, N), dtype=bool))  # every neuron spikes
    trace = step(core, N + S + 6, command=True, is_tick=True)
    # neuron n: read at 1 + n, written and pushed at 1 + n + S, popped one edge later,
    # taken at 3 + n + S; idle from N + S + 3 (the last word spiked)
    assert [(t[2], c) for c, t in enumerate(trace) if t[3]] == [(n, S + 3 + n) for n in range(N)]
    assert [c for c, t in enumerate(trace) if t[0]][:2] == [0, N + S + 3]
    silent = CoreModel(plan_core(CoreConfig(N, 2)))
    silent.load(np.zeros((1, N), dtype=bool))
    trace = step(silent, N + S + 4, command=True, is_tick=True)
    assert [c for c, t in enumerate(trace) if t[0]][:2] == [0, N + S + 1]


def test_update_phase_emits_a_word_lane_by_lane():
    """Four lanes, neurons 1, 2 of word 0 and 5 of word 1 spike: 1 and 2 leave one cycle
    apart from word 0's pop; word 1 (pushed one edge after word 0) waits in the queue."""
    S = UPDATE_STAGES
    core = CoreModel(plan_core(CoreConfig(6, 2, lanes=4)))
    spikes = np.zeros((1, 6), dtype=bool)
    spikes[0, [1, 2, 5]] = True
    core.load(spikes)
    trace = step(core, 20, command=True, is_tick=True)
    assert [(t[2], c) for c, t in enumerate(trace) if t[3]] == [(1, S + 3), (2, S + 4), (5, S + 5)]
    assert [c for c, t in enumerate(trace) if t[0]][:2] == [0, S + 6]


def test_update_phase_stalls_on_a_full_output_register():
    S = UPDATE_STAGES
    core = CoreModel(plan_core(CoreConfig(3, 2)))
    core.load(np.ones((1, 3), dtype=bool))
    # spike_out.ready low until cycle S + 7: neuron 0 offered from S + 3, taken at S + 7;
    # neurons 1 and 2 wait in the queue and follow one per cycle
    trace = step(core, S + 12, command=True, is_tick=True, out_ready=lambda c: c >= S + 7)
    assert [(t[2], c) for c, t in enumerate(trace) if t[3]] == [(0, S + 7), (1, S + 8),
                                                                (2, S + 9)]
    assert [c for c, t in enumerate(trace) if t[0]][:2] == [0, S + 10]


def test_issue_is_throttled_by_the_credit():
    """A long stall: words stop being issued once words in flight + queued reach
    QUEUE_WORDS; nothing is lost, and the spikes follow one per cycle once ready rises."""
    N, release = 30, 60
    core = CoreModel(plan_core(CoreConfig(N, 2)))
    core.load(np.ones((1, N), dtype=bool))
    issued, credits = [], []

    def ready(c):
        issued.append(core.cnt)
        credits.append((core.credit, len(core.queue)))
        return c >= release

    trace = step(core, release + N + 10, command=True, is_tick=True, out_ready=ready)
    assert max(q for _, q in credits) == QUEUE_WORDS
    assert max(c for c, _ in credits) == QUEUE_WORDS
    # issue stopped until ready rose: QUEUE_WORDS words queued, one in the output register
    # and one in the skid register
    assert issued[release] == QUEUE_WORDS + 2
    assert [t[2] for t in trace if t[3]] == list(range(N))
    taken = [c for c, t in enumerate(trace) if t[3]]
    assert taken[:QUEUE_WORDS] == list(range(release, release + QUEUE_WORDS))


@pytest.mark.parametrize("seed", range(20))
def test_closed_forms_agree_with_the_model(seed):
    """sim.cycle's closed forms (tick_cycles, output_latency) against predict_tick, which
    steps the model, on ticks the output keeps up with (at most one spike per word)."""
    rng = random.Random(seed)
    lanes = rng.choice([1, 2, 3, 4, 8])
    N = rng.randint(1, 5 * lanes)
    config = CoreConfig(N, 4, lanes=lanes)
    G = config.words
    events = [rng.randrange(4) for _ in range(rng.randint(0, 4))]
    spiking = sorted(g * lanes + rng.randrange(min(lanes, N - g * lanes))
                     for g in range(G) if rng.random() < 0.5)
    start = rng.randint(0, 9)
    timing = predict_tick(config, start, TickStimulus(events), spiking)
    assert timing.idle_cycle - start == tick_cycles(config, len(events), spiking), (seed, spiking)
    assert timing.event_cycles == [start + k * cycles_per_event(config) for k in range(len(events))]
    if spiking:
        first = timing.output_cycles[0][1] - timing.command_cycle
        assert first == output_latency(config, spiking[0])
    assert [n for n, _ in timing.output_cycles] == spiking


def test_timing_of_a_core_plan_uses_its_config_lanes():
    """sim.cycle's functions and CoreModel take a CorePlan (as the system model does) or a
    CoreConfig alike: G = ceil(N / L) of the plan's config."""
    config = CoreConfig(10, 3, lanes=4)
    plan = plan_core(config)
    for f in (cycles_per_event, update_cycles, clear_cycles):
        assert f(plan) == f(config) == {cycles_per_event: 3, update_cycles: 3 + UPDATE_STAGES + 1,
                                        clear_cycles: 4}[f]
    assert CoreModel(plan).G == CoreModel(config).G == 3
    assert core_busy_bound(plan, 2, 1) == 4 + 2 * 3 + 3 + UPDATE_STAGES + 1
