"""A small real Amaranth design for the co-simulation harness self-test: a stream FIFO
(``amaranth.lib.fifo.SyncFIFOBuffered``) whose output payload is the input plus one."""

from amaranth import Module
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out


class PlusOneFifo(wiring.Component):
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
