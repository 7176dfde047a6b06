"""The neuron core with ``double_buffer`` (events taken while the update runs) in Amaranth's
simulator, driven without waiting for ``idle`` between ticks: every output event (tick,
neuron, cycle), every handshake, every tick's first idle cycle against
:func:`~spikeforge.sim.cycle.predict_stream`, and every neuron's state after each run of
ticks (read through the host port) against the golden model."""

from __future__ import annotations

import random

import numpy as np
import pytest

from spikeforge.hdl.core import Command, NeuronCore, Region
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.params import NeuronParams, Reset
from spikeforge.ir.core import CoreConfig
from spikeforge.sim.cycle import TickStimulus, predict_stream
from spikeforge.sim.golden import GoldenCore
from tests.hdl.test_core import (CASES, CoreBench, _offer_event_and_tick, compare_state,
                                 random_config, random_ready, random_stimuli, run_sim)


def segments(rng: random.Random, ticks: int) -> list[range]:
    """Ticks cut into runs of 1-5 driven back to back (state read between runs)."""
    cuts, t = [], 0
    while t < ticks:
        n = min(ticks - t, rng.randint(1, 5))
        cuts.append(range(t, t + n))
        t += n
    return cuts


def options(seed: int, words: int) -> dict:
    """NeuronCore options drawn per case: weight banks, transport stages, sum stage, the
    order of an event and a command offered together."""
    rng = random.Random(seed * 31 + 7)
    kw = {"weight_bank_words": rng.choice([0, 0, 2, 4]), "events_first": rng.random() < 0.7}
    stages = rng.choice([0, 0, 1, 2])
    if words >= 2 + stages:
        kw["weight_stages"] = stages
        kw["sum_stage"] = words >= 3 + stages and rng.random() < 0.4
    return kw


def check_case(seed, n_neurons, n_inputs, lanes, p_ready, overrides, ticks=20):
    rng = random.Random(seed)
    for _attempt in range(20):  # draw until the vector makes something spike
        config = random_config(rng, n_neurons, n_inputs, lanes, **overrides)
        stimuli = random_stimuli(rng, config, ticks=ticks)
        golden = GoldenCore.of(config)
        trace = golden.run(golden.counts_from_events([s.events for s in stimuli]))
        if trace.spikes.any():
            break
    kw = options(seed, config.words)
    out_ready = random_ready(seed, p_ready)
    label = f"seed {seed} (N={n_neurons}, inputs={n_inputs}, L={lanes}, {kw}, {config.params})"
    runs = segments(rng, ticks)
    observed, states = [], []

    async def bench_fn(bench: CoreBench):
        for run in runs:
            start = bench.cycle
            observed.append((start, await bench.run_stream([stimuli[t] for t in run])))
            states.append(await bench.read_state())
            assert not bench.ctx.get(bench.dut.overflow), f"{label}: unexpected overflow"

    run_sim(NeuronCore(config, double_buffer=True, **kw), bench_fn, out_ready)
    for run, (start, got), state in zip(runs, observed, states):
        want = predict_stream(config, [stimuli[t] for t in run], trace.spikes[run.start:run.stop],
                              out_ready, start_cycle=start)
        for t, o, p in zip(run, got, want):
            spiking = [int(n) for n in np.flatnonzero(trace.spikes[t])]
            assert [n for n, _ in o["output_cycles"]] == spiking, (
                f"{label}: tick {t}: neurons {[n for n, _ in o['output_cycles']]} spiked in "
                f"the RTL, {spiking} in the golden model")
            for key in ("event_cycles", "command_cycle", "output_cycles", "idle_cycle"):
                assert o[key] == getattr(p, key), (
                    f"{label}: tick {t}: {key} {o[key]} in the RTL, {getattr(p, key)} "
                    f"predicted")
        compare_state(state, trace, run[-1], label)
    assert trace.spikes.any(), f"{label}: test vector too weak, nothing spiked"
    return observed


@pytest.mark.parametrize("seed,n_neurons,n_inputs,lanes,p_ready,overrides", CASES)
def test_overlapped_ticks_against_golden_and_cycle_model(seed, n_neurons, n_inputs, lanes,
                                                         p_ready, overrides):
    check_case(seed, n_neurons, n_inputs, lanes, p_ready, overrides)


def test_events_are_taken_during_the_update():
    """The point of the buffers: with a TICK of a silent 40-word core followed by events,
    each event is taken in the cycle after the TICK's (gap 0), while the update runs, and
    its weights reach the next tick's update, not this one's."""
    config = CoreConfig(40, 2, NeuronParams(threshold=5, fire_once=False, reset=Reset.ZERO),
                        np.array([[3] * 40, [2] * 40]))
    stimuli = [TickStimulus([0]), TickStimulus([0, 1]), TickStimulus([])]
    golden = GoldenCore.of(config)
    trace = golden.run(golden.counts_from_events([s.events for s in stimuli]))
    observed = []

    async def bench_fn(bench):
        observed.append(await bench.run_stream(stimuli))
        observed.append(await bench.read_state())

    run_sim(NeuronCore(config, double_buffer=True), bench_fn)
    ticks, state = observed
    assert ticks[1]["event_cycles"][0] == ticks[0]["command_cycle"] + 1
    assert ticks[1]["event_cycles"][0] < ticks[0]["idle_cycle"]
    assert [[n for n, _ in t["output_cycles"]] for t in ticks] == \
        [np.flatnonzero(row).tolist() for row in trace.spikes]
    assert trace.spikes[1].all() and not trace.spikes[0].any()
    compare_state(state, trace, 2, "overlapped")


@pytest.mark.parametrize("bank_words", [2, 4])
def test_a_command_beside_an_event_leaves_the_next_events_bank_read_alone(bank_words):
    """Commands first, weight banks: an event and a TICK offered together take the TICK (the
    event is lost, as in the one-memory core), and the event offered in the next cycle is
    taken there, during the update. The banks read its first word at the TICK's edge
    whatever the read-ahead registers took from the lost event (the command taken masks
    them), so its weights reach the next tick's update."""
    weights = np.arange(1, 25).reshape(3, 8) * 5  # every word different
    config = CoreConfig(8, 3, NeuronParams(threshold=10_000), weights, lanes=2)  # G = 4
    log = {}

    async def bench_fn(bench: CoreBench):
        ctx, dut = bench.ctx, bench.dut
        log["together"], _ = await _offer_event_and_tick(bench)  # event 0 beside a TICK
        ctx.set(dut.command.valid, 0)
        ctx.set(dut.spike_in.payload, 2)  # the next event, at once
        ctx.set(dut.spike_in.valid, 1)
        sample = await bench.step()
        log["next"] = sample["in_hs"]
        ctx.set(dut.spike_in.valid, 0)
        ctx.set(dut.command.valid, 1)  # TICK again, held to its handshake
        while not (sample := await bench.step())["cmd_hs"]:
            pass
        ctx.set(dut.command.valid, 0)
        await bench.wait_idle_after(sample["cycle"])
        log["state"] = await bench.read_state()

    run_sim(NeuronCore(config, double_buffer=True, events_first=False,
                       weight_bank_words=bank_words), bench_fn)
    assert log["together"] == (1, 1) and log["next"] == 1
    golden = GoldenCore.of(config)
    compare_state(log["state"], golden.run(golden.counts_from_events([[], [2]])), 1,
                  f"banks of {bank_words} words: the event after a command beside one")


@pytest.mark.parametrize("value", [1, "yes"])
def test_double_buffer_must_be_a_flag(value):
    config = CoreConfig(4, 2)
    with pytest.raises(ConfigError, match=rf"^double_buffer: must be True or False, got "
                                          rf"{value!r}$"):
        NeuronCore(config, double_buffer=value)


def test_double_buffer_needs_few_transport_stages():
    config = CoreConfig(20, 2)
    with pytest.raises(ConfigError, match=r"^double_buffer: needs weight_stages \+ sum_stage "
                                          r"below 8, got 8 \+ 0$"):
        NeuronCore(config, double_buffer=True, weight_stages=8)


@pytest.mark.parametrize("lanes,neurons", [(1, 9), (3, 9), (8, 9), (6, 18)])
def test_host_and_clear_as_the_single_buffered_core(lanes, neurons):
    """What the host sees and writes while events wait in either buffer, and a CLEAR with an
    event offered behind it, on both cores: every read, handshake and output equal. (The
    double-buffered core's host reads ``i`` as the decayed current plus both buffers and
    zeroes the buffers where it writes ``i``; no event is taken while a CLEAR runs.) The
    host writes a neuron of every word; 6 lanes of 3 words: the buffers split per lane
    group (``_split_state``), each group's write address its own."""
    config = random_config(random.Random(3), neurons, 3, lanes, threshold=4, fire_once=False)
    N = config.n_neurons

    async def reads(bench, log):
        log.append(await bench.read_many([bench.dut.host_address(Region.CURRENT, n)
                                          for n in range(N)]))

    def bench_fn(log):
        async def run(bench):
            for t, events in enumerate([[0, 1], [1, 2, 0], [2], [0, 0]]):
                for j in events:
                    log.append(await bench._offer(bench.dut.spike_in, j, bench.cycle, 0))
                await bench.wait_idle_after(log[-1])
                await bench.wait_until(bench.cycle + 2)  # the write-back done (host_ok)
                await reads(bench, log)  # the pending events, in buffer t % 2
                await bench.write(Region.CURRENT, t * 7 % N, 5 - t)  # over them
                await reads(bench, log)
                log.append(await bench.run_tick(TickStimulus([])))
                await reads(bench, log)
            clear = await bench._offer(bench.dut.command, Command.CLEAR, bench.cycle, 0)
            log.append(clear)  # an event offered at once: taken when the CLEAR is done
            log.append(await bench._offer(bench.dut.spike_in, 0, clear + 1, 0))
            log.append(await bench.run_tick(TickStimulus([])))
            await reads(bench, log)
            log.append(bench.outputs)
        return run

    logs = []
    for double_buffer in (False, True):
        logs.append([])
        run_sim(NeuronCore(config, double_buffer=double_buffer), bench_fn(logs[-1]))
    for k, (single, double) in enumerate(zip(*logs)):
        assert single == double, f"L={lanes}: step {k}: {single} single-buffered, {double} " \
                                 f"double-buffered"
    assert len(logs[0]) == len(logs[1]) and any(o for o in logs[0][-1])


# -- every test of the single-buffered core, on the double-buffered one ---------------------
# (driven from idle, as those tests drive, it must behave and time exactly as today's core:
# test_back_to_back_ticks_match_predict_ticks, the random cases, host, CLEAR and overflow)

class DoubleBufferedCore(NeuronCore):
    def __init__(self, config, **kw):
        kw.setdefault("double_buffer", True)
        super().__init__(config, **kw)


@pytest.fixture(autouse=True)
def _double_buffered(request, monkeypatch):
    if request.function.__module__ == "tests.hdl.test_core":
        monkeypatch.setattr("tests.hdl.test_core.NeuronCore", DoubleBufferedCore)


from tests.hdl.test_core import *  # noqa: E402,F401,F403  (collected here: on the new core)
