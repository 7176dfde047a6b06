"""Every block elaborates and converts to Verilog (through the bundled Yosys)."""

import pytest
from amaranth.back import verilog

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
from spikeforge.ir.params import Decision

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
