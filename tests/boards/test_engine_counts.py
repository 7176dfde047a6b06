"""The engine's per-class spike counters of the reply (a system without the spike-count
decision) in Amaranth's simulator: each counts the output handshakes of its class a cycle
later and stops at 0xFFFF, as the counters of the spike-count decision do; where the output
layer fires once, one bit each (set by its class's spike). The board co-simulation
(tests/boards/test_cosim.py, its first-spike cases fire once) checks them in replies."""

import dataclasses
import gc
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from amaranth.hdl import Module, Signal, UnusedElaboratable
from amaranth.sim import Simulator

from spikeforge.boards.cosim import check_board_report, run_board_cosim
from spikeforge.boards.engine import ProtocolEngine, reply_count_bits, work_count_bits
from spikeforge.compiler.map import plan_network
from spikeforge.hdl.system import SpikeforgeSystem
from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.ir.params import Decision, NeuronParams
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


def _bits(network, input_depth, plan=None):
    """``work_count_bits`` of the system of ``network`` and its counters' width there."""
    with warnings.catch_warnings():  # built only to be asked, never elaborated
        warnings.simplefilter("ignore", UnusedElaboratable)
        system = SpikeforgeSystem(plan or plan_network(network), SystemConfig(network.decision))
        result = work_count_bits(system, input_depth), len(system.events[0])
        del system
        gc.collect()
    return result


def _fire_once(network, layers):
    return IntegerNetwork(tuple(dataclasses.replace(
        layer, params=dataclasses.replace(layer.params, fire_once=l in layers))
        for l, layer in enumerate(network.layers)), network.decision)


def test_work_counters_are_as_wide_as_a_run_can_count():
    """Layer 0's events up to the input buffer's depth, a fire-once layer's spikes up to its
    size, another layer's up to its size times the most ticks a RUN asks for (2**16 - 1),
    the next layer's events up to the spikes before it; never wider than the system's."""
    base = random_network(5, n_layers=3, max_size=10, decision=Decision.FIRST_SPIKE)
    sizes = [layer.n_neurons for layer in base.layers]
    for once in [(), (0,), (0, 1, 2)]:
        spikes = [n if l in once else n * 65535 for l, n in enumerate(sizes)]
        assert _bits(_fire_once(base, once), 100)[0] == {
            "events": [7] + [n.bit_length() for n in spikes[:-1]],
            "spikes": [n.bit_length() for n in spikes]}, once
    assert _bits(base, 32767)[0]["events"][0] == 15
    bits, width = _bits(base, 1 << 40)
    assert width == 32 and bits["events"][0] == 32


def test_work_counters_reach_their_bound_over_the_uart():
    """A board run whose counts need every bit the engine gives them: 5 input events in a
    7-item buffer (with the two ticks' markers: 3 bits), 8 hidden neurons that all fire once
    (4 bits), their 8 spikes the output layer's events; in Icarus through the UART, against
    the golden model. One bit fewer for each (``bit_length() - 1``) reports 1, 0, 0: red."""
    hidden = NeuronParams(threshold=50, fire_once=True)
    output = NeuronParams(threshold=200, fire_once=True)
    network = IntegerNetwork((IntegerLayer(np.full((5, 8), 60), hidden),
                              IntegerLayer(np.full((8, 4), 30), output)), Decision.FIRST_SPIKE)
    inputs = np.zeros((1, 2, 5), dtype=np.int64)
    inputs[0, 0] = 1
    plan = plan_network(network)
    assert _bits(network, 7, plan)[0] == {"events": [3, 4], "spikes": [4, 3]}
    report = run_board_cosim(network, plan, inputs, "icarus", input_depth=7).report
    check_board_report(report, network, inputs, input_depth=7, plan=plan)
    assert report["results"][0]["events"] == [5, 8] and report["results"][0]["spikes"][0] == 8
