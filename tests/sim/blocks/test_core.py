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
from spikeforge.sim.blocks.core import CoreModel, CorePhase
from spikeforge.sim.cycle import TickStimulus, predict_ticks
from spikeforge.sim.golden import GoldenCore
from tests.util import random_params, run


def plan_core(config, layer=0, index=0, offset=0):
    return CorePlan(core_id=index, layer=layer, index=index, neuron_offset=offset, config=config)


def random_config(rng):
    n, j = rng.randint(1, 6), rng.randint(2, 6)
    nrng = np.random.default_rng(rng.randrange(1 << 30))
    return CoreConfig(n, j, random_params(rng), nrng.integers(-10, 90, size=(j, n)))


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


def core_lockstep(seed, cycles_limit=3000):
    rng = random.Random(seed)
    config = random_config(rng)
    dut = NeuronCore(config)
    model = CoreModel(plan_core(config))
    items, spikes = core_items(rng, config, GoldenCore.of(config))
    p_gap, p_ready, p_eager = rng.choice([0.0, 0.5]), rng.choice([1.0, 0.5, 0.25]), 0.4
    stats = {"outputs": 0, "stalls": 0, "skips": 0, "together": 0}

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
            where = (seed, c, model.phase, items[k] if k < len(items) else None)
            in_valid = event is not None
            assert ctx.get(dut.idle) == model.idle, where
            assert ctx.get(dut.spike_in.ready) == model.idle, where
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
            skip = model.skippable()
            if skip:
                other = copy.deepcopy(model)
                other.skip(skip)
                skipped.append((c + skip, other))
                stats["skips"] += 1
            accept_event = in_valid and model.idle
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


@pytest.mark.parametrize("seed", range(6))
def test_core_matches_rtl_cycle_by_cycle(seed):
    stats = core_lockstep(seed)
    assert stats["skips"] > 0


def test_lockstep_exercises_stalls_and_overlapping_offers():
    total = {"outputs": 0, "stalls": 0, "together": 0}
    for seed in range(6, 9):
        stats = core_lockstep(seed)
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


@pytest.mark.parametrize("N", [1, 2, 5])
def test_event_and_clear_busy_times(N):
    core = CoreModel(plan_core(CoreConfig(N, 3)))
    # an event accepted at cycle 0: idle again from N + 2
    trace = step(core, N + 4, event=True)
    assert [c for c, t in enumerate(trace) if t[0]] == [0, N + 2, N + 3]
    assert core.phase is CorePhase.IDLE
    # a CLEAR accepted at cycle 0: idle again from N + 1
    trace = step(core, N + 3, command=True)
    assert [c for c, t in enumerate(trace) if t[0]] == [0, N + 1, N + 2]
    # an event wins over a command offered in the same cycle
    assert not core.command_ready(True) and core.command_ready(False)
    core.clock(True, True, True, 0, True)
    assert core.phase is CorePhase.EVENT


@pytest.mark.parametrize("N", [1, 4])
def test_update_phase_without_stalls(N):
    core = CoreModel(plan_core(CoreConfig(N, 2)))
    core.load(np.ones((1, N), dtype=bool))  # every neuron spikes
    trace = step(core, N + 6, command=True, is_tick=True)
    # neuron n handshakes at T + 3 + n; idle from T + N + 3 (the last neuron spiked)
    assert [(t[2], c) for c, t in enumerate(trace) if t[3]] == [(n, 3 + n) for n in range(N)]
    assert [c for c, t in enumerate(trace) if t[0]][:2] == [0, N + 3]
    silent = CoreModel(plan_core(CoreConfig(N, 2)))
    silent.load(np.zeros((1, N), dtype=bool))
    trace = step(silent, N + 4, command=True, is_tick=True)
    assert [c for c, t in enumerate(trace) if t[0]][:2] == [0, N + 2]


def test_update_phase_stalls_on_a_full_output_register():
    core = CoreModel(plan_core(CoreConfig(3, 2)))
    core.load(np.ones((1, 3), dtype=bool))
    # spike_out.ready low until cycle 7: neuron 0 offered from 3, taken at 7; neuron 1 is
    # evaluated at 7 (same cycle), offered from 8; neuron 2 evaluated at 8, offered from 9
    trace = step(core, 12, command=True, is_tick=True, out_ready=lambda c: c >= 7)
    assert [(t[2], c) for c, t in enumerate(trace) if t[3]] == [(0, 7), (1, 8), (2, 9)]
    assert [c for c, t in enumerate(trace) if t[0]][:2] == [0, 10]


@pytest.mark.parametrize("seed", range(20))
def test_core_model_agrees_with_the_closed_form_core_timing(seed):
    """Random ticks (events, gaps, spikes, stalls) against sim.cycle.predict_ticks, which
    tests/hdl/test_core.py checks against the RTL."""
    rng = random.Random(seed)
    N = rng.randint(1, 6)
    config = CoreConfig(N, 4)
    ticks = rng.randint(1, 4)
    stimuli = [TickStimulus(evs := [rng.randrange(4) for _ in range(rng.randint(0, 3))],
                            [rng.choice([0, 0, 1, 3]) for _ in evs], rng.choice([0, 2]))
               for _ in range(ticks)]
    spikes = np.random.default_rng(seed).random((ticks, N)) < 0.5
    stall = {c for c in range(400) if rng.random() < 0.4}

    def out_ready(c):
        return c not in stall

    want = predict_ticks(config, stimuli, spikes, out_ready)

    core = CoreModel(plan_core(config))
    core.load(spikes)
    c = 0
    for t, (stim, timing) in enumerate(zip(stimuli, want)):
        reference, events, outputs = c, [], []
        todo = [("event", g) for g in stim.event_gaps] + [("tick", stim.command_gap)]
        for kind, gap in todo:
            offer = reference + gap
            while True:
                ready = out_ready(c)
                if core.out_valid and ready:
                    outputs.append((core.out_n, c))
                take = c >= offer and (core.idle if kind == "event"
                                       else core.command_ready(False))
                core.clock(take and kind == "event", take and kind == "tick", True, t, ready)
                c += 1
                if take:
                    events.append(c - 1)
                    reference = c
                    break
        while not (core.idle and c > events[-1]):
            ready = out_ready(c)
            if core.out_valid and ready:
                outputs.append((core.out_n, c))
            core.clock(False, False, True, t, ready)
            c += 1
        assert events == timing.event_cycles + [timing.command_cycle], (seed, t)
        assert outputs == timing.output_cycles, (seed, t)
        assert c == timing.idle_cycle, (seed, t)
