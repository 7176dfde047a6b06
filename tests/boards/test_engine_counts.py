"""The engine's per-class spike counters of the reply (a system without the spike-count
decision) in Amaranth's simulator: each counts the output handshakes of its class a cycle
later and stops at 0xFFFF, as the counters of the spike-count decision do."""

from types import SimpleNamespace

from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator

from spikeforge.boards.engine import ProtocolEngine


def test_counters_count_their_class_and_stop_at_0xffff():
    # the helper reads only the system's output stream: these are the signals it is given
    spikes = SimpleNamespace(valid=Signal(), payload=SimpleNamespace(neuron=Signal(2)))
    counts = [Signal(16, name=f"count_{c}") for c in range(3)]
    start = Signal()
    m = Module()
    ProtocolEngine._count_spikes(m, SimpleNamespace(out_spikes=spikes), counts, start)
    seen = {}

    async def bench(ctx):
        ctx.set(start, 1)
        await ctx.tick()
        ctx.set(start, 0)
        ctx.set(spikes.valid, 1)
        # 16 spikes of class 2, then 65,540 of class 1: 5 past its counter's top
        for cycle in range(16 + 65540):
            ctx.set(spikes.payload.neuron, 2 if cycle < 16 else 1)
            await ctx.tick()
        ctx.set(spikes.valid, 0)
        await ctx.tick().repeat(2)
        seen["end"] = [ctx.get(c) for c in counts]
        ctx.set(start, 1)
        await ctx.tick()
        seen["cleared"] = [ctx.get(c) for c in counts]

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert seen["end"] == [0, 0xFFFF, 16]
    assert seen["cleared"] == [0, 0, 0]
