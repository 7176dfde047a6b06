"""The engine's per-class spike counters of the reply (a system without the spike-count
decision) in Amaranth's simulator: each counts the output handshakes of its class a cycle
later and stops at 0xFFFF, as the counters of the spike-count decision do; where the output
layer fires once, one bit each (set by its class's spike). The board co-simulation
(tests/boards/test_cosim.py, its first-spike cases fire once) checks them in replies."""

import dataclasses
import gc
import warnings
from types import SimpleNamespace

import pytest
from amaranth.hdl import Module, Signal, UnusedElaboratable
from amaranth.sim import Simulator

from spikeforge.boards.engine import ProtocolEngine, reply_count_bits
from spikeforge.compiler.map import plan_network
from spikeforge.hdl.system import SpikeforgeSystem
from spikeforge.ir.network import IntegerNetwork
from spikeforge.ir.params import Decision
from spikeforge.ir.system import SystemConfig
from tests.util import random_network


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


def _counters(bits):
    spikes = SimpleNamespace(valid=Signal(), payload=SimpleNamespace(neuron=Signal(2)))
    counts = [Signal(bits, name=f"count_{c}") for c in range(3)]
    start = Signal()
    m = Module()
    ProtocolEngine._count_spikes(m, SimpleNamespace(out_spikes=spikes), counts, start)
    return m, spikes, counts, start


def test_one_bit_counters_are_set_by_their_class():
    m, spikes, counts, start = _counters(1)
    seen = []

    async def bench(ctx):
        for classes in ([2], [0, 0, 2]):  # two runs; class 0 twice in the second
            ctx.set(start, 1)
            await ctx.tick()
            ctx.set(start, 0)
            for c in classes:
                ctx.set(spikes.valid, 1)
                ctx.set(spikes.payload.neuron, c)
                await ctx.tick()
            ctx.set(spikes.valid, 0)
            await ctx.tick().repeat(2)
            seen.append([ctx.get(c) for c in counts])

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert seen == [[0, 0, 1], [1, 0, 1]]


@pytest.mark.parametrize("once", [False, True])
def test_count_width_follows_the_output_layer(once):
    """One bit only where every output core fires once: a network whose output neurons may
    spike again keeps the 16-bit saturating counters."""
    network = random_network(11, n_layers=2, max_size=10, decision=Decision.FIRST_SPIKE)
    last = network.layers[-1]
    layers = network.layers[:-1] + (dataclasses.replace(
        last, params=dataclasses.replace(last.params, fire_once=once)),)
    network = IntegerNetwork(layers, network.decision)
    plan = plan_network(network, neurons_per_core=3)  # output layer in several cores
    with warnings.catch_warnings():  # built only to be asked, never elaborated
        warnings.simplefilter("ignore", UnusedElaboratable)
        system = SpikeforgeSystem(plan, SystemConfig(Decision.FIRST_SPIKE))
        assert len(system.layers[-1]) > 1
        assert reply_count_bits(system) == (1 if once else 16)
        del system
        gc.collect()
