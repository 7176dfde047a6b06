"""Every block elaborates and converts to Verilog (through the bundled Yosys), and
:func:`~spikeforge.hdl.verilog.emit_core` writes a core's Verilog, memory image and manifest."""

import json

import numpy as np
import pytest
from amaranth.back import verilog

from spikeforge.hdl.core import HostMap, Region
from spikeforge.hdl.decision import DecisionUnit
from spikeforge.hdl.router import (
    Multicast,
    RoundRobinArbiter,
    SpikeMerger,
    SpikePacket,
    SpikeRouter,
    StreamFIFO,
)
from spikeforge.hdl.tick import TickController
from spikeforge.hdl.verilog import emit_core
from spikeforge.ir.core import CoreConfig
from spikeforge.ir.errors import SpikeforgeError
from spikeforge.ir.params import Decision, NeuronParams

LAYOUT = SpikePacket(2, 5)

COMPONENTS = {
    "fifo": lambda: StreamFIFO(LAYOUT, 8),
    "fifo_depth1": lambda: StreamFIFO(LAYOUT, 1),
    "arbiter": lambda: RoundRobinArbiter(LAYOUT, 4),
    "arbiter_1": lambda: RoundRobinArbiter(LAYOUT, 1),
    "merger": lambda: SpikeMerger(3, 5),
    "multicast": lambda: Multicast(LAYOUT, 3),
    "router": lambda: SpikeRouter(LAYOUT, 3, [0b011, [2], 0b111, 0]),
    "router_offsets": lambda: SpikeRouter(LAYOUT, 2, {0: [0, 1], 3: [1]},
                                          offsets={(0, 1): 32, (3, 1): 7}, out_index_bits=6),
    "tick": lambda: TickController(4, n_links=5),
    "tick_nolinks": lambda: TickController(1),
    "first_spike": lambda: DecisionUnit(10, Decision.FIRST_SPIKE),
    "spike_count": lambda: DecisionUnit(10, Decision.SPIKE_COUNT),
    "membrane_max": lambda: DecisionUnit(10, Decision.MEMBRANE_MAX),
    "one_class": lambda: DecisionUnit(1, Decision.SPIKE_COUNT),
}


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_converts_to_verilog(name):
    text = verilog.convert(COMPONENTS[name](), name="top")
    assert "module top" in text


def test_emit_core(tmp_path):
    config = CoreConfig(5, 3, NeuronParams(weight_bits=6, adaptive=True, adapt_step=3),
                        np.array([[1, -2, 3, -32, 31]] * 3))
    paths = emit_core(config, tmp_path / "out")
    assert "module spikeforge_core" in paths["verilog"].read_text()
    lines = paths["weights"].read_text().split()
    assert lines[:5] == ["01", "3e", "03", "20", "1f"] and len(lines) == 15
    manifest = json.loads(paths["manifest"].read_text())
    assert manifest["n_neurons"] == 5 and manifest["accumulator_bits"] == config.accumulator_bits
    assert manifest["params"]["reset"] == "subtract"
    assert manifest["host"]["regions"]["membrane"]["base"] == HostMap(config).address(
        Region.MEMBRANE, 0)
    names = [p["name"] for p in manifest["ports"]]
    assert "spike_out__payload" in names and "host__r_valid" in names
    (tmp_path / "file").write_text("x")
    with pytest.raises(SpikeforgeError, match="not a directory"):
        emit_core(config, tmp_path / "file")


def test_state_memories_in_block_ram_change_only_attributes():
    """SystemConfig.state_memories = "block" marks each core's four state memories
    ``ram_style = "block"`` and changes nothing else in the system's Verilog (a synthesis
    attribute: the simulated design is the same)."""
    import difflib
    from dataclasses import replace

    from spikeforge.compiler.map import plan_network
    from spikeforge.hdl.verilog import system_verilog
    from spikeforge.ir.network import IntegerLayer, IntegerNetwork
    from spikeforge.ir.params import NeuronParams
    from spikeforge.ir.system import SystemConfig

    rng = np.random.default_rng(0)
    p = NeuronParams(decay_bits=8, threshold=40)
    net = IntegerNetwork((IntegerLayer(rng.integers(-8, 20, (6, 5)), p),
                          IntegerLayer(rng.integers(-8, 20, (5, 3)), p)), "spike-count")
    plan = plan_network(net, lanes=[2, 1])
    system = SystemConfig("spike-count")
    plain = system_verilog(plan, system).splitlines()
    block = system_verilog(plan, replace(system, state_memories="block")).splitlines()
    changed = [line for line in difflib.ndiff(plain, block) if line[:2] in ("- ", "+ ")]
    assert changed == ['+   (* ram_style = "block" *)'] * 4 * len(plan.cores), changed[:6]
