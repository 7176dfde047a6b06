"""Cores + merger + FIFOs + router + tick controller + decision unit against the golden model.

The blocks are wired together by hand here, without the system top; ``SpikeforgeSystem``
(hdl/system.py) is tested in test_system.py.

Network: 8 external inputs -> layer 1 split over cores A (6 neurons) and B (5 neurons) ->
layer 2 = core C (4 neurons, inputs = A's 6 then B's 5, via the router's offset table) ->
decision unit. Every spike of every core, with its tick, must be the golden model's, with
the one-tick delay per layer of the contract.
"""

import random

import numpy as np
import pytest
from amaranth.back import verilog
from amaranth.hdl import Cat, Module, unsigned
from amaranth.lib import stream, wiring

from spikeforge.hdl.core import NeuronCore
from spikeforge.hdl.decision import DecisionUnit
from spikeforge.hdl.router import SpikeMerger, SpikeRouter, StreamFIFO
from spikeforge.hdl.tick import TickController
from spikeforge.ir.core import CoreConfig
from spikeforge.ir.params import Decision, NeuronParams
from spikeforge.sim.golden import GoldenCore
from spikeforge.sim.network import decide
from tests.util import run

N_IN, N_A, N_B, N_C = 8, 6, 5, 4
EXT = 2  # source id of the external input port


class System(wiring.Component):
    def __init__(self, configs, mode, fifo_depth=4):
        self.cores = [NeuronCore(c) for c in configs]
        self.merger = SpikeMerger(3, 3)  # sources: 0 = A, 1 = B, 2 = external input
        routes = {0: [2], 1: [2], EXT: [0, 1]}
        offsets = {(0, 2): 0, (1, 2): N_A}
        self.router = SpikeRouter(self.merger.layout, 3, routes, offsets=offsets,
                                  out_index_bits=4)
        self.fifo_in = StreamFIFO(self.merger.layout, fifo_depth)
        self.fifos = [StreamFIFO(self.router.o[d].payload.shape(), fifo_depth) for d in range(3)]
        self.ctrl = TickController(3, n_links=7)  # merger, fifo_in, router, 3 FIFOs, ext
        self.decision = DecisionUnit(N_C, mode)
        super().__init__({
            "ext": wiring.In(stream.Signature(unsigned(3))),  # the external input port
            "ext_idle": wiring.In(1),
            "n_ticks": wiring.In(16),
            "start": wiring.In(1),
        })

    def elaborate(self, platform):
        m = Module()
        A, B, C = self.cores
        for name, sub in [("A", A), ("B", B), ("C", C), ("merger", self.merger),
                          ("router", self.router), ("fifo_in", self.fifo_in),
                          ("ctrl", self.ctrl), ("decision", self.decision)]:
            m.submodules[name] = sub
        for d, f in enumerate(self.fifos):
            m.submodules[f"fifo{d}"] = f
        wiring.connect(m, A.spike_out, self.merger.i[0])
        wiring.connect(m, B.spike_out, self.merger.i[1])
        wiring.connect(m, wiring.flipped(self.ext), self.merger.i[EXT])
        wiring.connect(m, self.merger.o, self.fifo_in.i)
        wiring.connect(m, self.fifo_in.o, self.router.i)
        for d, core in enumerate(self.cores):
            wiring.connect(m, self.router.o[d], self.fifos[d].i)
            m.d.comb += [
                core.spike_in.valid.eq(self.fifos[d].o.valid),
                core.spike_in.payload.eq(self.fifos[d].o.payload),
                self.fifos[d].o.ready.eq(core.spike_in.ready),
            ]
        wiring.connect(m, C.spike_out, self.decision.spike)
        ctrl = self.ctrl
        for k, core in enumerate(self.cores):
            wiring.connect(m, ctrl.command[k], core.command)
            m.d.comb += ctrl.core_idle[k].eq(core.idle)
        links = [self.merger.idle, self.fifo_in.idle, self.router.idle,
                 *[f.idle for f in self.fifos], self.ext_idle]
        m.d.comb += [
            ctrl.link_idle.eq(Cat(*links)),
            ctrl.start.eq(self.start),
            ctrl.n_ticks.eq(self.n_ticks),
            ctrl.stop.eq(self.decision.stop),
            self.decision.tick.eq(ctrl.tick),
            self.decision.tick_done.eq(ctrl.tick_done),
            self.decision.clear.eq(ctrl.clear),
            self.decision.finish.eq(ctrl.finished),
        ]
        return m


def make_configs(rng):
    params = NeuronParams(decay_bits=8, alpha=200, beta=230, threshold=60)
    nr = np.random.default_rng(rng.randrange(1 << 30))
    w1a = nr.integers(-20, 70, size=(N_IN, N_A))
    w1b = nr.integers(-20, 70, size=(N_IN, N_B))
    w2 = nr.integers(-30, 60, size=(N_A + N_B, N_C))
    return [CoreConfig(N_A, N_IN, params, w1a), CoreConfig(N_B, N_IN, params, w1b),
            CoreConfig(N_C, N_A + N_B, params, w2)]


def golden(configs, events, n_ticks):
    A, B, C = (GoldenCore.of(c) for c in configs)
    counts = A.counts_from_events(events + [[]] * (n_ticks - len(events)))
    sa, sb = A.run(counts).spikes, B.run(counts).spikes
    layer2 = np.zeros((n_ticks, N_A + N_B), dtype=np.int64)
    layer2[1:] = np.concatenate([sa, sb], axis=1)[:-1]  # one tick of delay per layer
    sc = C.run(layer2).spikes
    return sa, sb, sc, C.run(layer2).v[-1]


def simulate(configs, events, n_ticks, mode, rng, fifo_depth=4):
    dut = System(configs, mode, fifo_depth)
    spikes = {k: [] for k in range(3)}
    result = {}

    async def bench(ctx):
        ctx.set(dut.ext_idle, 1)
        ctx.set(dut.n_ticks, n_ticks)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        injected = set()
        for _ in range(200_000):
            if ctx.get(dut.ctrl.done):
                break
            t = ctx.get(dut.ctrl.tick)
            if ctx.get(dut.ctrl.event_phase) and t not in injected:
                injected.add(t)
                ctx.set(dut.ext_idle, 0)
                for j in (events[t] if t < len(events) else []):
                    while rng.random() < 0.3:
                        await ctx.tick()
                    ctx.set(dut.ext.valid, 1)
                    ctx.set(dut.ext.payload, j)
                    await ctx.tick().until(dut.ext.ready)
                    ctx.set(dut.ext.valid, 0)
                ctx.set(dut.ext_idle, 1)
            await ctx.tick()
        else:
            raise AssertionError("run did not finish")
        await ctx.tick().repeat(N_C + 3)
        result.update(ticks_run=ctx.get(dut.ctrl.ticks_run), cls=ctx.get(dut.decision.cls),
                      valid=ctx.get(dut.decision.valid), error=ctx.get(dut.ctrl.error),
                      first_tick=ctx.get(dut.decision.first_tick))

    async def monitor(ctx):
        sigs = []
        for core in dut.cores:
            sigs += [core.spike_out.valid, core.spike_out.ready, core.spike_out.payload]
        async for _, _, tick, *v in ctx.tick().sample(dut.ctrl.tick, *sigs):
            for k in range(3):
                if v[3 * k] and v[3 * k + 1]:
                    spikes[k].append((tick, v[3 * k + 2]))

    run(dut, bench, background=[monitor])
    return spikes, result


def events_of(spikes):
    return [(int(t), int(n)) for t, n in np.argwhere(spikes)]


@pytest.mark.parametrize("seed,fifo_depth", [(0, 4), (1, 1), (2, 2)])
def test_system_matches_golden_spike_count(seed, fifo_depth):
    rng = random.Random(seed)
    configs = make_configs(rng)
    n_ticks = 8
    events = [sorted(rng.sample(range(N_IN), rng.randrange(0, 5))) for _ in range(n_ticks)]
    sa, sb, sc, v_last = golden(configs, events, n_ticks)
    spikes, result = simulate(configs, events, n_ticks, Decision.SPIKE_COUNT, rng, fifo_depth)
    assert spikes[0] == events_of(sa)
    assert spikes[1] == events_of(sb)
    assert spikes[2] == events_of(sc)
    assert result["ticks_run"] == n_ticks and result["error"] == 0
    cls, _ = decide(sc[None].astype(bool), v_last[None], Decision.SPIKE_COUNT)
    assert (result["valid"], result["cls"]) == (1, int(cls[0]))


def test_system_first_spike_early_exit():
    rng = random.Random(11)
    configs = make_configs(rng)
    n_ticks = 12
    events = [sorted(rng.sample(range(N_IN), 4)) for _ in range(n_ticks)]
    sa, sb, sc, v_last = golden(configs, events, n_ticks)
    cls, tick = decide(sc[None].astype(bool), v_last[None], Decision.FIRST_SPIKE)
    assert cls[0] >= 0 and tick[0] < n_ticks - 1, "pick a seed whose output layer spikes early"
    spikes, result = simulate(configs, events, n_ticks, Decision.FIRST_SPIKE, rng)
    assert (result["cls"], result["first_tick"]) == (int(cls[0]), int(tick[0]))
    assert result["ticks_run"] == tick[0] + 1  # stopped after the deciding tick
    assert spikes[2] == [e for e in events_of(sc) if e[0] <= tick[0]]


def test_every_component_converts_to_verilog():
    rng = random.Random(0)
    text = verilog.convert(System(make_configs(rng), Decision.FIRST_SPIKE), name="system")
    assert "module system" in text
