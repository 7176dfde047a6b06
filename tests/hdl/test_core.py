"""The neuron core in Amaranth's own simulator, against the golden model and the cycle model.

Every output event (tick, neuron), every neuron's ``i``/``v``/``a``/``fired`` after every
tick (read through the host port) and every handshake cycle is compared with
``GoldenCore.of(config)`` and :mod:`spikeforge.sim.cycle`.
"""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest
from amaranth.back import verilog
from amaranth.hdl import Elaboratable, Module, Signal
from amaranth.sim import Simulator

from spikeforge.hdl.core import Command, HostMap, NeuronCore, Param, Region, const_divmod
from spikeforge.ir.core import CoreConfig
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.params import NeuronParams, Reset
from spikeforge.sim.cycle import (
    UPDATE_STAGES,
    TickStimulus,
    clear_cycles,
    cycles_per_event,
    output_latency,
    predict_clear,
    predict_tick,
    predict_ticks,
    tick_cycles,
    update_cycles,
)
from spikeforge.sim.golden import CoreState, GoldenCore


def _signed32(x: int) -> int:
    return x - (1 << 32) if x & (1 << 31) else x


class CoreBench:
    """Drives a :class:`NeuronCore` cycle by cycle from an Amaranth testbench.

    ``self.cycle`` is the number of the next rising edge (the cycle numbering of
    :mod:`spikeforge.sim.cycle`): inputs set now are sampled at edge ``self.cycle``.
    """

    def __init__(self, dut: NeuronCore, ctx, out_ready=lambda c: True):
        self.dut, self.ctx, self.out_ready = dut, ctx, out_ready
        self.cycle = 0
        self.outputs: list[tuple[int, int]] = []  # (neuron, cycle) of every spike_out handshake
        self.overflow_trace: list[int] = []
        self.idle_cycles: list[int] = []  # every stepped cycle with idle high

    async def step(self) -> dict:
        """End the current cycle: sample everything at its edge, advance."""
        ctx, dut = self.ctx, self.dut
        ready = bool(self.out_ready(self.cycle))
        ctx.set(dut.spike_out.ready, ready)
        if ctx.get(dut.spike_out.valid) and ready:
            self.outputs.append((ctx.get(dut.spike_out.payload), self.cycle))
        sample = {
            "cycle": self.cycle,
            "idle": ctx.get(dut.idle),
            "in_hs": ctx.get(dut.spike_in.valid) and ctx.get(dut.spike_in.ready),
            "cmd_hs": ctx.get(dut.command.valid) and ctx.get(dut.command.ready),
            "r_valid": ctx.get(dut.host.r_valid),
            "r_data": ctx.get(dut.host.r_data),
            "overflow": ctx.get(dut.overflow),
        }
        if sample["idle"]:
            self.idle_cycles.append(self.cycle)
        await ctx.tick()
        self.cycle += 1
        return sample

    async def wait_until(self, cycle: int):
        while self.cycle < cycle:
            await self.step()

    async def _offer(self, stream, payload, reference: int, gap: int) -> int:
        """Offer one item at ``reference + gap`` and hold it to its handshake; returns the
        handshake cycle."""
        await self.wait_until(reference + gap)
        self.ctx.set(stream.payload, payload)
        self.ctx.set(stream.valid, 1)
        key = "in_hs" if stream is self.dut.spike_in else "cmd_hs"
        while True:
            sample = await self.step()
            if sample[key]:
                break
        self.ctx.set(stream.valid, 0)
        return sample["cycle"]

    async def wait_idle_after(self, cycle: int) -> int:
        """First cycle > ``cycle`` at which ``idle`` is high (the bench stops there: that
        cycle has not been stepped)."""
        limit = self.cycle + 100_000
        while True:
            if self.cycle > cycle and self.ctx.get(self.dut.idle):
                return self.cycle
            await self.step()
            assert self.cycle < limit, "core never became idle"

    async def run_tick(self, stimulus: TickStimulus) -> dict:
        """Run one tick from the current cycle; returns the observed timing."""
        start = self.cycle
        first_output = len(self.outputs)
        reference = start
        event_cycles = []
        for j, gap in zip(stimulus.events, stimulus.event_gaps):
            handshake = await self._offer(self.dut.spike_in, j, reference, gap)
            event_cycles.append(handshake)
            reference = handshake + 1
        command = await self._offer(self.dut.command, Command.TICK, reference, stimulus.command_gap)
        idle = await self.wait_idle_after(command)
        return {"start": start, "event_cycles": event_cycles, "command_cycle": command,
                "output_cycles": self.outputs[first_output:], "idle_cycle": idle}

    async def run_stream(self, stimuli: list[TickStimulus]) -> list[dict]:
        """Run ticks without waiting for ``idle`` between them (the driver of
        :func:`~spikeforge.sim.cycle.predict_stream`: tick t + 1's items follow TICK t's
        handshake); returns each tick's observed timing, as :meth:`run_tick`'s."""
        reference, ticks, first = self.cycle, [], len(self.outputs)
        for stimulus in stimuli:
            events = []
            for j, gap in zip(stimulus.events, stimulus.event_gaps):
                events.append(await self._offer(self.dut.spike_in, j, reference, gap))
                reference = events[-1] + 1
            command = await self._offer(self.dut.command, Command.TICK, reference,
                                        stimulus.command_gap)
            reference = command + 1
            ticks.append({"event_cycles": events, "command_cycle": command})
        last_idle = await self.wait_idle_after(ticks[-1]["command_cycle"])
        # tick t's spikes leave between its TICK and TICK t + 1 (taken only at idle)
        ends = [t["command_cycle"] for t in ticks[1:]] + [self.cycle]
        for tick, end in zip(ticks, ends):
            tick["output_cycles"] = [o for o in self.outputs[first:]
                                     if tick["command_cycle"] < o[1] < end]
            tick["idle_cycle"] = next((c for c in self.idle_cycles
                                       if c > tick["command_cycle"]), last_idle)
        return ticks

    async def clear(self, gap: int = 0) -> tuple[int, int]:
        command = await self._offer(self.dut.command, Command.CLEAR, self.cycle, gap)
        idle = await self.wait_idle_after(command)
        return command, idle

    async def read_many(self, addresses: list[int]) -> list[int]:
        """Pipelined host reads, one per cycle; checks the fixed latency (1, 2 with the
        core's ``tile_stage``)."""
        ctx, host = self.ctx, self.dut.host
        latency = 2 if self.dut.tile_stage else 1
        values = []
        for k in range(len(addresses) + latency):
            if k < len(addresses):
                ctx.set(host.addr, addresses[k])
                ctx.set(host.r_en, 1)
            else:
                ctx.set(host.r_en, 0)
            sample = await self.step()
            if k >= latency:
                assert sample["r_valid"] == 1, (
                    f"host read of {addresses[k - latency]:#x}: r_valid low {latency} "
                    f"cycle(s) after r_en (cycle {sample['cycle']})")
                values.append(sample["r_data"])
            else:
                assert sample["r_valid"] == 0, f"host: r_valid high without a read (cycle " \
                                               f"{sample['cycle']})"
        return values

    async def read(self, region: Region, index: int) -> int:
        return (await self.read_many([self.dut.host_address(region, index)]))[0]

    async def write(self, region: Region, index: int, value: int):
        ctx, host = self.ctx, self.dut.host
        ctx.set(host.addr, self.dut.host_address(region, index))
        ctx.set(host.w_data, value & 0xFFFF_FFFF)
        ctx.set(host.w_en, 1)
        await self.step()
        ctx.set(host.w_en, 0)

    async def read_state(self) -> dict[str, list[int]]:
        N = self.dut.config.n_neurons
        state = {}
        for name, region, signed in (("i", Region.CURRENT, True), ("v", Region.MEMBRANE, True),
                                     ("a", Region.ADAPT, False), ("fired", Region.FIRED, False)):
            raw = await self.read_many([self.dut.host_address(region, n) for n in range(N)])
            state[name] = [_signed32(x) if signed else x for x in raw]
        return state


def run_sim(dut, bench_fn, out_ready=lambda c: True):
    """Run ``bench_fn(bench)`` (async) in Amaranth's simulator; returns the bench."""
    holder = {}

    async def testbench(ctx):
        bench = CoreBench(dut, ctx, out_ready)
        holder["bench"] = bench
        await bench_fn(bench)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()
    return holder["bench"]


# -- comparison helpers ------------------------------------------------------------------

def compare_state(observed: dict, trace, t: int, label: str):
    for name in ("i", "v", "a", "fired"):
        expected = getattr(trace, name)[t]
        for n, value in enumerate(observed[name]):
            assert value == int(expected[n]), (
                f"{label}: tick {t}, neuron {n}: {name} = {value} in the RTL, "
                f"{int(expected[n])} in the golden model")


def compare_timing(config, observed: dict, stimulus: TickStimulus, spiking, out_ready, t: int,
                   label: str, tile_stage: bool = False):
    predicted = predict_tick(config, observed["start"], stimulus, spiking, out_ready,
                             tile_stage=tile_stage)
    assert observed["event_cycles"] == predicted.event_cycles, (
        f"{label}: tick {t}: event handshake cycles {observed['event_cycles']} in the RTL, "
        f"{predicted.event_cycles} predicted")
    assert observed["command_cycle"] == predicted.command_cycle, (
        f"{label}: tick {t}: TICK handshake at cycle {observed['command_cycle']} in the RTL, "
        f"{predicted.command_cycle} predicted")
    for k, (got, want) in enumerate(zip(observed["output_cycles"], predicted.output_cycles)):
        assert got == want, (f"{label}: tick {t}, output spike #{k}: (neuron, cycle) = {got} in "
                             f"the RTL, {want} predicted")
    assert len(observed["output_cycles"]) == len(predicted.output_cycles), (
        f"{label}: tick {t}: {len(observed['output_cycles'])} output spikes in the RTL, "
        f"{len(predicted.output_cycles)} predicted")
    assert observed["idle_cycle"] == predicted.idle_cycle, (
        f"{label}: tick {t}: idle again at cycle {observed['idle_cycle']} in the RTL, "
        f"{predicted.idle_cycle} predicted")


def random_config(rng: random.Random, n_neurons: int, n_inputs: int, lanes: int = 1,
                  **overrides) -> CoreConfig:
    """A random core of ``lanes`` lanes; ``overrides`` fix any :class:`NeuronParams` field."""
    kw = {}

    def pick(name, make):
        kw[name] = overrides[name] if name in overrides else make()
        return kw[name]

    weight_bits = pick("weight_bits", lambda: rng.randint(3, 8))
    pick("current_bits", lambda: rng.randint(weight_bits, weight_bits + 4))
    membrane_bits = pick("membrane_bits", lambda: rng.randint(6, 12))
    one = 1 << pick("decay_bits", lambda: rng.randint(2, 8))
    adapt_bits = pick("adapt_bits", lambda: rng.randint(2, 7))

    def factor():
        return rng.choice([one, one, rng.randint(0, one), rng.randint(one // 2, one)])

    for name in ("alpha", "beta", "rho"):
        pick(name, factor)
    v_max = (1 << (membrane_bits - 1)) - 1
    pick("threshold", lambda: rng.randint(1, max(1, min(v_max, 3 << (weight_bits - 1)))))
    pick("reset", lambda: rng.choice(list(Reset)))
    pick("fire_once", lambda: rng.random() < 0.3)
    pick("adaptive", lambda: rng.random() < 0.5)
    pick("adapt_step", lambda: rng.randint(0, min((1 << adapt_bits) - 1, 1 << weight_bits)))
    params = NeuronParams(**kw)
    lo, hi = -(1 << (weight_bits - 1)), (1 << (weight_bits - 1)) - 1
    np_rng = np.random.default_rng(rng.randint(0, 2**31))
    weights = np_rng.integers(lo, hi + 1, size=(n_inputs, n_neurons))
    # input 0 is strongly excitatory so that neurons spike
    weights[0, :] = np_rng.integers(max(1, hi // 2), hi + 1, size=n_neurons)
    return CoreConfig(n_neurons, n_inputs, params, weights,
                      max_events_per_tick=rng.randint(3, 8), lanes=lanes)


def random_stimuli(rng: random.Random, config: CoreConfig, ticks: int) -> list[TickStimulus]:
    stimuli = []
    for _ in range(ticks):
        count = rng.randint(0, config.max_events_per_tick)
        events = [rng.randrange(config.n_inputs) for _ in range(count)]
        gaps = [rng.choice([0, 0, 0, 1, 2, 5, config.n_neurons + 3]) for _ in events]
        stimuli.append(TickStimulus(events, gaps, command_gap=rng.choice([0, 0, 1, 3, 9])))
    return stimuli


def random_ready(seed: int, p_ready: float):
    rng = np.random.default_rng(seed)
    table = rng.random(1 << 16) < p_ready
    return lambda cycle: bool(table[cycle % len(table)])


LANES = [1, 2, 3, 4, 8]

CASES = [
    # (seed, n_neurons, n_inputs, lanes, p_ready, overrides)
    (1, 1, 1, 1, 1.0, {}),
    (2, 1, 3, 2, 0.5, dict(adaptive=True, reset=Reset.ZERO)),
    (3, 5, 4, 1, 0.6, dict(adaptive=True, fire_once=False, reset=Reset.SUBTRACT)),
    (4, 5, 3, 2, 0.3, dict(fire_once=True, reset=Reset.ZERO)),
    (5, 3, 2, 4, 1.0, dict(alpha=None, beta=None, adaptive=False)),  # non-leaky IF
    (6, 7, 5, 3, 0.7, {}),
    (7, 6, 2, 4, 0.4, dict(adaptive=True, fire_once=True, reset=Reset.SUBTRACT)),
    # widest datapath: 16-bit weights, 32-bit state, accumulator wider than 32 bits
    (8, 3, 4, 2, 0.5, dict(weight_bits=16, current_bits=32, membrane_bits=32, decay_bits=16,
                           adaptive=True, adapt_bits=24)),
    (9, 2, 2, 1, 0.8, dict(weight_bits=2, current_bits=2, membrane_bits=2, decay_bits=1,
                           threshold=1)),  # narrowest
    # several words per event, N not a multiple of L, every reset mode with adaptation
    (10, 13, 3, 8, 0.5, dict(adaptive=True, reset=Reset.SUBTRACT, fire_once=False)),
    (11, 11, 2, 3, 0.3, dict(adaptive=True, reset=Reset.ZERO, fire_once=True)),
    (12, 17, 2, 8, 0.9, dict(threshold=1, reset=Reset.ZERO, fire_once=False)),  # many spikes
    (13, 9, 3, 4, 0.2, dict(reset=Reset.SUBTRACT, fire_once=True)),
    (14, 24, 2, 8, 1.0, dict(threshold=1, adaptive=False, fire_once=False)),  # 8 spikes a word
    # words of several lane groups (the grouped queue head of cores wider than one LUT):
    # partial last groups (L = 6, 12), padding groups in the last word, stalls
    (15, 40, 2, 16, 0.5, dict(threshold=1, adaptive=False, fire_once=False)),
    (16, 30, 3, 12, 0.7, dict(threshold=1, reset=Reset.ZERO, fire_once=False)),
    (17, 13, 2, 6, 0.4, dict(threshold=2, reset=Reset.SUBTRACT, fire_once=False)),
    (18, 70, 2, 32, 0.6, dict(threshold=1, adaptive=False, fire_once=False)),
    # states wider than a multiplier block: products of two partial products each (the
    # TTFS 784-600-10 core's 21-bit current times alpha 3970), with saturation and decay
    (19, 5, 3, 2, 0.6, dict(weight_bits=8, current_bits=21, membrane_bits=28, decay_bits=12,
                            alpha=3970, beta=3277, rho=3001, adaptive=True, adapt_bits=20,
                            adapt_step=700)),
    (20, 9, 2, 4, 0.4, dict(weight_bits=12, current_bits=19, membrane_bits=19, decay_bits=12,
                            alpha=4095, beta=2049, fire_once=False, reset=Reset.SUBTRACT)),
] + [
    (seed, random.Random(seed).choice([1, 2, 3, 4, 5, 6, 7, 9, 12]),
     random.Random(seed + 1).randint(1, 5), LANES[seed % len(LANES)],
     random.Random(seed + 2).choice([1.0, 0.8, 0.5, 0.2]), {})
    for seed in range(100, 115)
]


@pytest.mark.parametrize("seed,n_neurons,n_inputs,lanes,p_ready,overrides", CASES)
def test_random_against_golden_and_cycle_model(seed, n_neurons, n_inputs, lanes, p_ready,
                                               overrides):
    check_random_case(seed, n_neurons, n_inputs, lanes, p_ready, overrides)


def check_random_case(seed, n_neurons, n_inputs, lanes, p_ready, overrides, **core_options):
    """20 random ticks of a random core (``core_options``: NeuronCore's) with random stalls:
    every spike, every state after every tick and every handshake cycle against the golden
    and cycle models."""
    rng = random.Random(seed)
    for _attempt in range(20):  # draw until the vector makes something spike
        config = random_config(rng, n_neurons, n_inputs, lanes, **overrides)
        stimuli = random_stimuli(rng, config, ticks=20)
        golden = GoldenCore.of(config)
        trace = golden.run(golden.counts_from_events([s.events for s in stimuli]))
        if trace.spikes.any():
            break
    out_ready = random_ready(seed, p_ready)
    label = f"seed {seed} (N={n_neurons}, inputs={n_inputs}, L={lanes}, {config.params})"
    observed_ticks, states = [], []

    async def bench_fn(bench: CoreBench):
        for stimulus in stimuli:
            observed_ticks.append(await bench.run_tick(stimulus))
            states.append(await bench.read_state())
            assert not bench.ctx.get(bench.dut.overflow), f"{label}: unexpected overflow"

    dut = NeuronCore(config, **core_options)
    run_sim(dut, bench_fn, out_ready)
    for t, (stimulus, observed, state) in enumerate(zip(stimuli, observed_ticks, states)):
        spiking = [int(n) for n in np.flatnonzero(trace.spikes[t])]
        got = [n for n, _ in observed["output_cycles"]]
        assert got == spiking, (f"{label}: tick {t}: neurons {got} spiked in the RTL, "
                                f"{spiking} in the golden model")
        compare_state(state, trace, t, label)
        compare_timing(config, observed, stimulus, spiking, out_ready, t, label,
                       tile_stage=dut.tile_stage)
    assert trace.spikes.any(), f"{label}: test vector too weak, nothing spiked"


@pytest.mark.parametrize("lanes", [1, 2, 4])
def test_no_stall_formulas(lanes):
    """The closed forms of sim.cycle (silent ticks, a spiking last word, the first output)
    against the RTL."""
    rng = random.Random(11)
    config = random_config(rng, 9, 3, lanes, threshold=1, reset=Reset.ZERO, fire_once=False,
                           adaptive=False, alpha=0, beta=None)  # alpha 0: i lasts one tick
    weights = np.zeros((3, 9), dtype=np.int64)
    weights[0, 8] = 1  # input 0 makes only the last neuron spike; 1 and 2 nothing
    weights[1, 2] = 1  # input 1 makes neuron 2 spike
    config = config.with_weights(weights)
    stimuli = [TickStimulus([1, 2, 2]), TickStimulus([]), TickStimulus([0, 2]),
               TickStimulus([2])]
    observed = []

    async def bench_fn(bench):
        await bench.clear()
        for s in stimuli:
            observed.append(await bench.run_tick(s))

    run_sim(NeuronCore(config), bench_fn)
    G = config.words
    assert [n for n, _ in observed[0]["output_cycles"]] == [2]
    first = observed[0]["output_cycles"][0][1] - observed[0]["command_cycle"]
    assert first == output_latency(config, 2) == 2 // lanes + UPDATE_STAGES + 3
    for t, (s, o) in enumerate(zip(stimuli, observed)):
        spiking = [n for n, _ in o["output_cycles"]]
        assert o["idle_cycle"] - o["start"] == tick_cycles(config, len(s.events), spiking)
        assert o["idle_cycle"] - o["command_cycle"] == update_cycles(config, spiking)
        diffs = np.diff(o["event_cycles"]).tolist()
        assert all(d == cycles_per_event(config) == G for d in diffs)
    assert update_cycles(config) == G + UPDATE_STAGES + 1


def test_overflow_and_clear():
    rng = random.Random(21)
    config = random_config(rng, 3, 2, fire_once=False)
    config = CoreConfig(3, 2, config.params, config.weights, max_events_per_tick=2)
    log = {}

    async def bench_fn(bench: CoreBench):
        await bench.run_tick(TickStimulus([0, 1]))
        log["after_two"] = bench.ctx.get(bench.dut.overflow)
        await bench.run_tick(TickStimulus([0, 1, 0]))
        log["after_three"] = bench.ctx.get(bench.dut.overflow)
        await bench.run_tick(TickStimulus([]))
        log["sticky"] = bench.ctx.get(bench.dut.overflow)
        start = bench.cycle
        command, idle = await bench.clear(gap=2)
        log["clear"] = (start, command, idle)
        log["after_clear"] = bench.ctx.get(bench.dut.overflow)
        log["state"] = await bench.read_state()
        # the core works normally after a clear
        stimulus = TickStimulus([1, 0])
        log["tick"] = await bench.run_tick(stimulus)
        log["tick_state"] = await bench.read_state()

    run_sim(NeuronCore(config), bench_fn)
    assert log["after_two"] == 0, "overflow raised by max_events_per_tick events"
    assert log["after_three"] == 1, "overflow not raised by max_events_per_tick + 1 events"
    assert log["sticky"] == 1, "overflow is not sticky across ticks"
    assert log["after_clear"] == 0, "CLEAR did not clear overflow"
    start, command, idle = log["clear"]
    assert (command, idle) == predict_clear(config, start, gap=2)
    assert idle - command == clear_cycles(config)
    for name, values in log["state"].items():
        assert values == [0] * 3, f"after CLEAR: {name} = {values}, expected zeros"
    golden = GoldenCore.of(config)
    trace = golden.run(golden.counts_from_events([[1, 0]]))
    compare_state(log["tick_state"], trace, 0, "after CLEAR")
    assert [n for n, _ in log["tick"]["output_cycles"]] == np.flatnonzero(trace.spikes[0]).tolist()


@pytest.mark.parametrize("neurons, lanes", [(5, 1), (19, 8)])
def test_clear_mid_inference_matches_fresh_start(neurons, lanes):
    """(19, 8): three words of two lane groups, each group with its own CLEAR select."""
    rng = random.Random(31)
    config = random_config(rng, neurons, 3, lanes, adaptive=True, fire_once=True)
    stimuli = random_stimuli(rng, config, ticks=6)
    golden = GoldenCore.of(config)
    trace = golden.run(golden.counts_from_events([s.events for s in stimuli]))
    states = []

    async def bench_fn(bench):
        for s in stimuli[:4]:
            await bench.run_tick(s)
        await bench.clear()
        for s in stimuli:
            await bench.run_tick(s)
            states.append(await bench.read_state())

    run_sim(NeuronCore(config), bench_fn)
    for t, state in enumerate(states):
        compare_state(state, trace, t, "after CLEAR")


@pytest.mark.parametrize("lanes", [1, 2, 3])
def test_host_weight_write_changes_behaviour(lanes):
    """One weight rewritten through the host: only its lane of the packed word changes."""
    config = CoreConfig(3, 2, NeuronParams(threshold=1000, membrane_bits=16),
                        np.array([[5, -7, 12], [3, 4, -2]]), lanes=lanes)
    j, n, bit = 1, 2, 3
    flipped = config.weights.copy()
    flipped[j, n] ^= (1 << bit)
    flipped = np.where(flipped >= 128, flipped - 256, flipped)
    events = [[1, 0], [1]]
    log = {}

    async def bench_fn(bench: CoreBench):
        addresses = [bench.dut.host_map.weight_address(jj, nn) for jj in range(2) for nn in range(3)]
        log["before"] = [_signed32(x) for x in await bench.read_many(addresses)]
        await bench.write(Region.WEIGHT, j * 3 + n, int(flipped[j, n]))
        log["after"] = [_signed32(x) for x in await bench.read_many(addresses)]
        log["states"] = []
        for e in events:
            await bench.run_tick(TickStimulus(e))
            log["states"].append(await bench.read_state())

    run_sim(NeuronCore(config), bench_fn)
    assert log["before"] == config.weights.reshape(-1).tolist()
    assert log["after"] == flipped.reshape(-1).tolist(), "a host write changed another lane"
    modified = GoldenCore.of(config.with_weights(flipped))
    trace = modified.run(modified.counts_from_events(events))
    for t, state in enumerate(log["states"]):
        compare_state(state, trace, t, "modified weights")
    original = GoldenCore.of(config)
    trace = original.run(original.counts_from_events(events))
    with pytest.raises(AssertionError, match=r"neuron 2: i"):
        compare_state(log["states"][0], trace, 0, "original weights")


@pytest.mark.parametrize("lanes", [1, 2, 3, 8])  # 3: one word per input (G = 1)
def test_banked_weights_read_back_between_events(lanes):
    """A core with weight banks (which read an event's words a cycle ahead) returns every
    weight to host reads between ticks, between a tick's events and its TICK, and after a
    host write, one cycle after r_en, and integrates the same currents as the golden
    model."""
    rng = np.random.default_rng(7)
    weights = rng.integers(-128, 128, size=(6, 3))
    config = CoreConfig(3, 6, NeuronParams(threshold=1000, membrane_bits=16), weights,
                        lanes=lanes)
    events = [[1, 5, 0], [4, 4, 2, 5], [3]]
    log = {"reads": []}

    async def bench_fn(bench: CoreBench):
        addresses = [bench.dut.host_map.weight_address(j, n) for j in range(6) for n in range(3)]
        log["reads"].append(await bench.read_many(addresses))
        log["states"] = []
        for e in events:
            await bench.run_tick(TickStimulus(e))
            log["states"].append(await bench.read_state())
            log["reads"].append(await bench.read_many(addresses))
        # events, then reads before their TICK (the core idle, its write-back done)
        handshake = 0
        for j in events[1]:
            handshake = await bench._offer(bench.dut.spike_in, j, handshake + 1, 0)
        await bench.wait_idle_after(handshake)
        for _ in range(2):
            await bench.step()
        log["reads"].append(await bench.read_many(addresses))
        await bench.write(Region.WEIGHT, 4 * 3 + 1, 77)
        log["reads"].append(await bench.read_many(addresses))

    core = NeuronCore(config, weight_bank_words=2)
    assert core.weight_bank_words == 2  # config.n_inputs * config.words > 2 banks
    run_sim(core, bench_fn)
    expected = weights.reshape(-1).tolist()
    when = ["before tick 0"] + [f"after tick {t}" for t in range(3)] + ["before a TICK"]
    for label, values in zip(when, log["reads"]):
        assert [_signed32(x) for x in values] == expected, f"weights read {label}"
    expected[4 * 3 + 1] = 77
    assert [_signed32(x) for x in log["reads"][-1]] == expected
    golden = GoldenCore.of(config)
    trace = golden.run(golden.counts_from_events(events))
    for t, state in enumerate(log["states"]):
        compare_state(state, trace, t, "banked weights")


def test_banked_wide_core_reads_every_word():
    """A banked core wider than one LUT (L > 4, several words per event) integrates the
    golden currents: each bank's address multiplexer, under its own read-ahead register,
    reads an event's later words from the read-ahead address, not the first word's."""
    rng = np.random.default_rng(11)
    weights = rng.integers(-128, 128, size=(6, 12))
    config = CoreConfig(12, 6, NeuronParams(threshold=1000, membrane_bits=16), weights,
                        lanes=5)  # G = 3 words per event, 18 words in 5 banks of 4
    events = [[1, 5, 0], [4, 4, 2, 5], [3], [0, 1, 2, 3, 4, 5]]
    log = {"states": []}

    async def bench_fn(bench: CoreBench):
        for e in events:
            await bench.run_tick(TickStimulus(e))
            log["states"].append(await bench.read_state())

    core = NeuronCore(config, weight_bank_words=4)
    assert core.weight_bank_words == 4
    run_sim(core, bench_fn)
    golden = GoldenCore.of(config)
    trace = golden.run(golden.counts_from_events(events))
    for t, state in enumerate(log["states"]):
        compare_state(state, trace, t, "banked weights, 5 lanes")


#: the weights of the "beside an event" tests: 5 inputs, 3 neurons
_BESIDE_WEIGHTS = np.array([[5, -7, 12], [3, 4, -2], [9, 1, -5], [2, 2, 2], [-8, 6, 1]])


def _event_beside_host(lanes: int, bank: int, j: int, host: dict):
    """Event ``j`` offered in the cycle of a host access (``host``: the bus signals held
    for that one cycle, e.g. ``w_en`` or ``r_en``; ``addr`` a weight index), then a
    TICK; checks that the event was taken then and returns the core's config and its
    state after the tick."""
    config = CoreConfig(3, 5, NeuronParams(threshold=1000, membrane_bits=16), _BESIDE_WEIGHTS,
                        lanes=lanes)
    log = {}

    async def bench_fn(bench: CoreBench):
        ctx, dut = bench.ctx, bench.dut
        for name, value in host.items():
            if name == "addr":
                value = dut.host_address(Region.WEIGHT, value)
            ctx.set(getattr(dut.host, name), value)
        ctx.set(dut.spike_in.payload, j)
        ctx.set(dut.spike_in.valid, 1)
        sample = await bench.step()
        log["handshake"] = sample["in_hs"]
        for name in ("w_en", "r_en"):
            ctx.set(getattr(dut.host, name), 0)
        ctx.set(dut.spike_in.valid, 0)
        await bench.run_tick(TickStimulus([]))
        log["state"] = await bench.read_state()

    core = NeuronCore(config, weight_bank_words=bank)
    assert core.weight_bank_words == bank
    run_sim(core, bench_fn)
    assert log["handshake"], "the event was not taken in the host's cycle"
    return config, log["state"]


@pytest.mark.parametrize("bank", [0, 2, 64])  # 64: one bank holds the memory
@pytest.mark.parametrize("lanes", [1, 2, 3, 8])  # 8: wider than one LUT
def test_weight_write_beside_an_event_reaches_it(lanes, bank):
    """A host write of a weight in the cycle an event that reads it is accepted takes
    effect for that event, as the write takes effect at that edge -- in a banked core too,
    whose banks read the event's first word at that very edge."""
    j, n, value = 3, 0, 100  # weight (3, 0): lane 0 of the event's first word
    config, state = _event_beside_host(lanes, bank, j,
                                       {"addr": j * 3 + n, "w_data": value, "w_en": 1})
    written = _BESIDE_WEIGHTS.copy()
    written[j, n] = value
    golden = GoldenCore.of(config.with_weights(written))
    compare_state(state, golden.run(golden.counts_from_events([[j]])), 0,
                  "weight written beside the event")


@pytest.mark.parametrize("bank", [0, 2, 64])  # 64: one bank holds the memory
@pytest.mark.parametrize("lanes", [1, 2, 8])
def test_weight_read_beside_an_event_leaves_it_alone(lanes, bank):
    """A host read of a weight in the cycle an event is accepted does not change what the
    event integrates: a banked core reads the event's first word then, not the host's
    (the host's address wins only where no event is taken)."""
    config, state = _event_beside_host(lanes, bank, 3, {"addr": 0, "r_en": 1})  # not row 3
    golden = GoldenCore.of(config)
    compare_state(state, golden.run(golden.counts_from_events([[3]])), 0,
                  "weight read beside the event")


def test_parameter_registers():
    params = NeuronParams(decay_bits=8, alpha=192, beta=230, threshold=40, adaptive=True,
                          adapt_bits=6, rho=200, adapt_step=5)
    rng = np.random.default_rng(5)
    config = CoreConfig(4, 3, params, rng.integers(-20, 60, size=(3, 4)))
    new = dataclasses.replace(params, threshold=25, alpha=100, beta=256, rho=128, adapt_step=9)
    values = {Param.THRESHOLD: 25, Param.ALPHA: 100, Param.BETA: 256, Param.RHO: 128,
              Param.ADAPT_STEP: 9}
    events = [[0, 1, 2], [1], [], [2, 2, 0], [0], [1, 1]]
    log = {}

    async def bench_fn(bench: CoreBench):
        addrs = [bench.dut.host_address(Region.PARAM, p) for p in Param]
        log["initial"] = await bench.read_many(addrs)
        for p, value in values.items():
            await bench.write(Region.PARAM, p, value)
        log["written"] = await bench.read_many(addrs)
        log["states"], log["spikes"] = [], []
        for e in events:
            tick = await bench.run_tick(TickStimulus(e))
            log["spikes"].append([n for n, _ in tick["output_cycles"]])
            log["states"].append(await bench.read_state())

    run_sim(NeuronCore(config), bench_fn)
    assert log["initial"] == [params.threshold, params.alpha, params.beta, params.rho,
                              params.adapt_step]
    assert log["written"] == [values[p] for p in Param]
    golden = GoldenCore.of(config.with_weights(config.weights))
    golden.params = new
    trace = golden.run(golden.counts_from_events(events))
    for t, state in enumerate(log["states"]):
        compare_state(state, trace, t, "rewritten parameters")
        assert log["spikes"][t] == np.flatnonzero(trace.spikes[t]).tolist(), f"tick {t}: spikes"


@pytest.mark.parametrize("lanes", [1, 2, 4])
def test_host_state_write(lanes):
    """Single-lane state writes (each neuron written alone: its word's other lanes keep
    theirs), read back, then ticks from that state."""
    rng = random.Random(41)
    config = random_config(rng, 5, 2, lanes, adaptive=True)
    p = config.params
    lo = -(1 << (p.membrane_bits - 1))
    init = CoreState(np.array([3, -4, 0, 7, -1]), np.array([lo, 5, -3, 9, 0]),
                     np.array([0, 1, 2, 3, (1 << p.adapt_bits) - 1]),
                     np.array([False, True, False, True, False]))
    events = [[0], [1, 0], []]
    states = []

    async def bench_fn(bench):
        for n in range(5):
            await bench.write(Region.CURRENT, n, int(init.i[n]))
            await bench.write(Region.MEMBRANE, n, int(init.v[n]))
            await bench.write(Region.ADAPT, n, int(init.a[n]))
            await bench.write(Region.FIRED, n, int(init.fired[n]))
        states.append(await bench.read_state())
        for e in events:
            await bench.run_tick(TickStimulus(e))
            states.append(await bench.read_state())

    run_sim(NeuronCore(config), bench_fn)
    assert states[0] == {"i": init.i.tolist(), "v": init.v.tolist(), "a": init.a.tolist(),
                         "fired": init.fired.astype(int).tolist()}
    golden = GoldenCore.of(config)
    trace = golden.run(golden.counts_from_events(events), state=init)
    for t, state in enumerate(states[1:]):
        compare_state(state, trace, t, "from written state")


@pytest.mark.parametrize("n_neurons", [2, 3])
def test_host_read_beside_a_write_of_the_same_state(n_neurons):
    """A host read and write of one membrane in the same cycle read the new value (the state
    read ports are transparent, as the host port's docstring says), for G = 2 and G = 3
    words alike (stop 37 tried transparency only where G <= 2, whose events need it: the
    same Fmax, 150 flip-flops more)."""
    config = random_config(random.Random(3), n_neurons, 2)

    async def bench_fn(bench):
        ctx, host = bench.ctx, bench.dut.host
        await bench.write(Region.MEMBRANE, 0, 5)
        ctx.set(host.addr, bench.dut.host_address(Region.MEMBRANE, 0))
        ctx.set(host.w_data, 9)
        ctx.set(host.w_en, 1)
        ctx.set(host.r_en, 1)
        await bench.step()
        ctx.set(host.w_en, 0)
        ctx.set(host.r_en, 0)
        sample = await bench.step()
        assert sample["r_valid"] == 1
        bench.seen = sample["r_data"], await bench.read(Region.MEMBRANE, 0)

    assert run_sim(NeuronCore(config), bench_fn).seen == (9, 9)


@pytest.mark.parametrize("n_neurons,adaptive,lanes", [(1, False, 1), (1, True, 4), (37, False, 1),
                                                      (37, True, 8)])
def test_verilog_converts(n_neurons, adaptive, lanes):
    config = CoreConfig(n_neurons, 3, NeuronParams(adaptive=adaptive, adapt_step=2),
                        np.ones((3, n_neurons), dtype=np.int64), lanes=lanes)
    text = verilog.convert(NeuronCore(config), name="spikeforge_core")
    for port in ("spike_in__valid", "spike_in__ready", "spike_in__payload", "command__payload",
                 "spike_out__payload", "idle", "overflow", "host__addr", "host__r_data",
                 "host__r_valid"):
        assert port in text, f"port {port} missing from the Verilog"


def test_host_address_map():
    host_map = HostMap(CoreConfig(5, 3))
    assert host_map.index_bits == 4
    assert host_map.address(Region.PARAM, Param.BETA) == (5 << 4) | 2
    assert host_map.weight_address(2, 4) == 14
    with pytest.raises(ValueError, match="outside region MEMBRANE"):
        host_map.address(Region.MEMBRANE, 5)


async def _offer_event_and_tick(bench: CoreBench) -> tuple[tuple[int, int], int]:
    """Offer event 0 and a TICK in the same cycle; ``((event handshake, command handshake),
    that cycle)``. The event's valid is dropped after it, the command's is left to the test."""
    ctx, dut = bench.ctx, bench.dut
    ctx.set(dut.spike_in.payload, 0)
    ctx.set(dut.spike_in.valid, 1)
    ctx.set(dut.command.payload, Command.TICK)
    ctx.set(dut.command.valid, 1)
    sample = await bench.step()
    ctx.set(dut.spike_in.valid, 0)
    return (sample["in_hs"], sample["cmd_hs"]), sample["cycle"]


@pytest.mark.parametrize("lanes,stages,sums", [(1, 0, False), (3, 0, False), (1, 1, False),
                                              (1, 2, False), (1, 0, True), (1, 1, True)])
def test_host_ignored_while_busy_and_event_priority(lanes, stages, sums):
    """... and while the write-back is pending, ``weight_stages`` cycles longer with the
    weight stages, one more with the sum stage."""
    config = CoreConfig(4, 2, NeuronParams(threshold=1000), np.array([[3, 4, 5, 6], [1, 1, 1, 1]]),
                        lanes=lanes)
    G = config.words
    log = {}

    async def bench_fn(bench: CoreBench):
        ctx, dut = bench.ctx, bench.dut
        # an event and a command offered together: the event goes first
        log["first"], _ = await _offer_event_and_tick(bench)
        # while the event is being processed and written back: host write and read ignored
        ctx.set(dut.host.addr, dut.host_address(Region.MEMBRANE, 1))
        ctx.set(dut.host.w_data, 77)
        ctx.set(dut.host.w_en, 1)
        ctx.set(dut.host.r_en, 1)
        ctx.set(dut.command.valid, 0)
        busy = []
        for _ in range(G + 2 + stages + sums):  # busy, then the last words' write-back
            sample = await bench.step()
            busy.append((sample["r_valid"], sample["idle"]))
        ctx.set(dut.host.w_en, 0)
        ctx.set(dut.host.r_en, 0)
        log["busy"] = busy
        # TICK offered again: accepted at once (the core is idle)
        ctx.set(dut.command.valid, 1)
        sample = await bench.step()
        log["tick"] = sample["cmd_hs"]
        ctx.set(dut.command.valid, 0)
        await bench.wait_idle_after(sample["cycle"])
        log["state"] = await bench.read_state()

    run_sim(NeuronCore(config, weight_stages=stages, sum_stage=sums), bench_fn)
    assert log["first"] == (1, 0), "event and command offered together: event must go first"
    assert [idle for _, idle in log["busy"]] == [0] * G + [1] * (2 + stages + sums), \
        f"idle must rise exactly G + 1 = {G + 1} cycles after the event"
    assert not any(rv for rv, _ in log["busy"]), "host read answered while busy or writing back"
    assert log["tick"]
    golden = GoldenCore.of(config)
    trace = golden.run(golden.counts_from_events([[0]]))
    compare_state(log["state"], trace, 0, "host write while busy must be ignored")


@pytest.mark.parametrize("stages", [-1, True, 1.0])
def test_weight_stages_must_be_a_count(stages):
    config = CoreConfig(4, 2, NeuronParams(), np.ones((2, 4), dtype=int))
    with pytest.raises(ConfigError, match=r"^weight_stages: must be an integer >= 0"):
        NeuronCore(config, weight_stages=stages)


def test_weight_stages_need_words_enough():
    """A stage more than ``G - 2`` would let the next event read a word before its
    write-back: refused, naming the words the core has."""
    config = CoreConfig(6, 2, NeuronParams(), np.ones((2, 6), dtype=int), lanes=2)  # G = 3
    NeuronCore(config, weight_stages=1)
    with pytest.raises(ConfigError, match=r"^weight_stages: 2 needs a core of at least 4 "
                                          r"words, this one has 3 \(6 neurons in 2 lanes\)"):
        NeuronCore(config, weight_stages=2)
    # the sum stage counts as one more
    NeuronCore(config, sum_stage=True)
    with pytest.raises(ConfigError, match=r"^sum_stage: behind 1 weight stages needs a core "
                                          r"of at least 4 words, this one has 3 \(6 neurons"):
        NeuronCore(config, weight_stages=1, sum_stage=True)
    with pytest.raises(ConfigError, match=r"^sum_stage: must be True or False, got 1$"):
        NeuronCore(config, sum_stage=1)


def test_commands_first_takes_the_command_beside_an_event():
    """``events_first=False`` (a system's cores): ``command.ready`` is ``idle`` alone, so an
    event and a TICK offered together take the TICK; the event's handshake still happens and
    the event is lost (a system's tick controller never offers both). The update then sees
    no event, and the cycle model's core does the same; the default core takes the event."""
    from spikeforge.sim.blocks.core import CorePhase, CoreModel

    config = CoreConfig(4, 2, NeuronParams(threshold=1000), np.array([[3, 4, 5, 6], [1, 1, 1, 1]]))
    log = {}

    async def bench_fn(bench: CoreBench):
        log["first"], cycle = await _offer_event_and_tick(bench)
        bench.ctx.set(bench.dut.command.valid, 0)
        await bench.wait_idle_after(cycle)
        log["state"] = await bench.read_state()

    run_sim(NeuronCore(config, events_first=False), bench_fn)
    assert log["first"] == (1, 1)
    golden = GoldenCore.of(config)
    compare_state(log["state"], golden.run(golden.counts_from_events([[]])), 0,
                  "commands first: the TICK, without the event")
    for events_first, phase in ((False, CorePhase.UPDATE), (True, CorePhase.EVENT)):
        model = CoreModel(config, events_first=events_first)
        model.load(np.zeros((1, config.n_neurons), dtype=bool))  # no neuron spikes
        assert model.command_ready(True) is not events_first
        model.clock(event=True, command=True, is_tick=True, tick=0, out_ready=True)
        assert model.phase is phase


@pytest.mark.parametrize("divisor", [1, 2, 3, 5, 7, 8, 12, 37, 64, 100])
def test_const_divmod_is_exact(divisor):
    """The reciprocal division of the host address decode, for every value of its range."""
    limit = 1 << 9

    class Div(Elaboratable):
        def __init__(self):
            self.value = Signal(9)
            self.q, self.r = Signal(9), Signal(9)

        def elaborate(self, platform):
            m = Module()
            q, r = const_divmod(m, self.value, divisor, limit)
            m.d.comb += [self.q.eq(q), self.r.eq(r)]
            return m

    dut = Div()
    wrong = []

    async def bench(ctx):
        for value in range(limit):
            ctx.set(dut.value, value)
            got = (ctx.get(dut.q), ctx.get(dut.r))
            if got != divmod(value, divisor):
                wrong.append((value, got))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    assert not wrong, f"const_divmod by {divisor}: {wrong[:5]}"


@pytest.mark.parametrize("lanes", [1, 2, 4])
def test_back_to_back_ticks_match_predict_ticks(lanes):
    rng = random.Random(51)
    config = random_config(rng, 6, 3, lanes, threshold=2, fire_once=False)
    stimuli = random_stimuli(rng, config, ticks=12)
    golden = GoldenCore.of(config)
    trace = golden.run(golden.counts_from_events([s.events for s in stimuli]))
    out_ready = random_ready(51, 0.5)
    observed = []

    async def bench_fn(bench):
        for s in stimuli:
            observed.append(await bench.run_tick(s))

    run_sim(NeuronCore(config), bench_fn, out_ready)
    predicted = predict_ticks(config, stimuli, trace.spikes, out_ready)
    assert trace.spikes.any()
    for t, (o, p) in enumerate(zip(observed, predicted)):
        assert (o["event_cycles"], o["command_cycle"], o["output_cycles"], o["idle_cycle"]) == \
            (p.event_cycles, p.command_cycle, p.output_cycles, p.idle_cycle), f"tick {t}"


@pytest.mark.parametrize("lanes", [3, 4])
def test_padding_lanes_never_spike(lanes):
    """N = 5 on 3 or 4 lanes leaves padding lanes in the last word (v = i = 0 forever).
    Rewritten through the host to 0 (below the contract's range), the threshold makes a
    padding lane's ``0 >= 0`` true in every tick: only the mask keeps it silent. Every
    spike must be a real neuron, ascending, and the real neurons still spike."""
    config = CoreConfig(5, 2, NeuronParams(threshold=5), np.array([[1, -3, 2, -1, 4],
                                                                   [2, 2, -5, 1, 0]]),
                        lanes=lanes)
    events = [[0], [1], [], [0, 1]]
    spikes = []

    async def bench_fn(bench: CoreBench):
        await bench.write(Region.PARAM, Param.THRESHOLD, 0)
        for e in events:
            tick = await bench.run_tick(TickStimulus(e))
            spikes.append([n for n, _ in tick["output_cycles"]])

    run_sim(NeuronCore(config), bench_fn)
    assert all(row == sorted(set(row)) and all(n < 5 for n in row) for row in spikes), spikes
    assert 4 in spikes[0], spikes  # v = 4 >= 0: the last real neuron of the last word spikes
