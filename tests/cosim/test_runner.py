"""Self-test of the co-simulation harness (cosim/runner.py, cosim/drivers.py) on a small real
Amaranth design, in Icarus and Verilator: the drivers move every item exactly once under
random gaps and ready stalls, and a wrong expectation fails the cocotb test and thus the
pytest test."""

from pathlib import Path

import pytest
from amaranth import Module
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from spikeforge.cosim.runner import SIMULATORS, CosimFailure, run_cocotb

# the cocotb bench of this self-test (imported inside the simulator, from its own folder)
TB = Path(__file__).resolve().with_name("harness_tb.py")


class PlusOneFifo(wiring.Component):
    """A stream FIFO (``amaranth.lib.fifo.SyncFIFOBuffered``) whose output payload is the input
    plus one."""

    def __init__(self, width: int = 8, depth: int = 4):
        self.width, self.depth = width, depth
        super().__init__({
            "data_in": In(stream.Signature(width)),
            "data_out": Out(stream.Signature(width)),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.fifo = fifo = SyncFIFOBuffered(width=self.width, depth=self.depth)
        m.d.comb += [
            fifo.w_data.eq(self.data_in.payload),
            fifo.w_en.eq(self.data_in.valid),
            self.data_in.ready.eq(fifo.w_rdy),
            self.data_out.payload.eq(fifo.r_data + 1),
            self.data_out.valid.eq(fifo.r_rdy),
            fifo.r_en.eq(self.data_out.ready),
        ]
        return m


def _design():
    return PlusOneFifo(width=8, depth=4)


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_drivers_move_every_item_once(simulator):
    for seed in (1, 2):
        result = run_cocotb(_design(), "plus_one_fifo", TB, simulator,
                            extra_env={"SEED": seed, "N_ITEMS": 300})
        assert result.ok and result.tests == 1
        assert result.report["items_in"] == result.report["items_out"] == 300


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_mismatch_fails_the_test(simulator):
    with pytest.raises(CosimFailure) as info:
        run_cocotb(_design(), "plus_one_fifo", TB, simulator,
                   extra_env={"SEED": 3, "N_ITEMS": 100, "EXPECT_WRONG": 1})
    message = str(info.value)
    assert "fifo_moves_every_item_once failed" in message
    assert "first mismatch: payload" in message and "expected" in message
