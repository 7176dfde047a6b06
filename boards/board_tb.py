"""cocotb bench of the board top (:class:`~spikeforge.boards.top.BoardCore`): the real host
driver (:class:`~spikeforge.boards.host.SpikeforgeBoard`) talks to the RTL through a UART
model on the ``rx``/``tx`` pins (runs inside the simulator; see :mod:`.cosim`).

The spec (JSON, ``$SPIKEFORGE_BOARD_SPEC``): ``divisor``, ``n_ticks``, ``images`` (each
``[ticks, n_inputs]`` event counts), ``raw`` (malformed requests as hex strings, each
answered by one reply frame; sent before the images) and ``raw_after`` (sent after them);
for a learning build ``learn``: ``samples`` (each ``counts``, ``label``, ``lr_decay``),
``config`` (the engine's :class:`~spikeforge.ir.learning.LearningConfig` as a dict) and
``label_offset`` (a fault a test injects: the host sends ``label + label_offset`` modulo the
classes). The driver runs in a :func:`cocotb.task.bridge` thread; its transport's
``write``/``read`` block on the UART coroutines via :func:`cocotb.task.resume`.
The report (``$SPIKEFORGE_COSIM_REPORT``) holds the INFO, every image's RESULT and every raw
request's reply; for a learning run (after the raw requests, before the images) every
sample's training RESULT (``train``) and LEARNED cycles (``learned``) and both stores read
back at the end (``stores``). Pytest compares them with the golden model and the rule.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.task import bridge, resume
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge

from spikeforge.boards.cosim import SPEC_ENV
from spikeforge.boards.host import SpikeforgeBoard
from spikeforge.boards.protocol import ProtocolError
from spikeforge.ir.learning import LearningConfig
from spikeforge.cosim.runner import REPORT_ENV


class UARTModel:
    """Bit-level UART at ``divisor`` clock cycles per bit on the DUT's ``rx``/``tx`` pins."""

    def __init__(self, dut, divisor: int, read_timeout_cycles: int):
        self.dut, self.d = dut, divisor
        self.received = collections.deque()
        self.read_timeout_cycles = read_timeout_cycles
        self.bytes_sent = 0

    async def send(self, data: bytes) -> None:
        dut, d = self.dut, self.d
        for byte in data:
            bits = [0] + [(byte >> i) & 1 for i in range(8)] + [1]
            for bit in bits:
                dut.rx.value = bit
                await ClockCycles(dut.clk, d)
            self.bytes_sent += 1

    async def receive_forever(self) -> None:
        dut, d = self.dut, self.d
        while True:
            await FallingEdge(dut.tx)
            await ClockCycles(dut.clk, d // 2)
            if int(dut.tx.value):
                continue  # glitch
            value = 0
            for i in range(8):
                await ClockCycles(dut.clk, d)
                value |= int(dut.tx.value) << i
            await ClockCycles(dut.clk, d)
            if int(dut.tx.value) != 1:
                raise AssertionError("UART model: framing error on tx (stop bit low)")
            self.received.append(value)

    async def read(self, n: int) -> bytes:
        waited = 0
        while len(self.received) < n and waited < self.read_timeout_cycles:
            await ClockCycles(self.dut.clk, self.d)
            waited += self.d
        out = bytes(self.received.popleft() for _ in range(min(n, len(self.received))))
        return out


class SimTransport:
    """The host driver's transport, blocking on the simulation (call from a bridge thread)."""

    def __init__(self, uart: UARTModel):
        self._write = resume(uart.send)
        self._read = resume(uart.read)

    def write(self, data: bytes) -> None:
        self._write(bytes(data))

    def read(self, n: int) -> bytes:
        return self._read(n)


def _result_json(result) -> dict:
    out = dataclasses.asdict(result)
    for key in ("counts", "events", "spikes"):
        out[key] = list(out[key])
    return out


@cocotb.test()
async def board_end_to_end(dut):
    spec = json.loads(open(os.environ[SPEC_ENV]).read())
    d = spec["divisor"]
    dut.rx.value = 1
    dut.rst.value = 1
    Clock(dut.clk, 10, unit="ns").start()
    await ClockCycles(dut.clk, 3)
    await RisingEdge(dut.clk)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 2 * d)
    uart = UARTModel(dut, d, spec["read_timeout_cycles"])
    cocotb.start_soon(uart.receive_forever())
    report = {"results": [], "raw": [], "errors": []}
    board = SpikeforgeBoard(SimTransport(uart), items_per_frame=spec.get("items_per_frame", 64))

    def raw_request(hex_request):
        board.send_raw(bytes.fromhex(hex_request))
        try:
            frame = board.read_reply()
            return {"cmd": frame.cmd, "payload": frame.payload.hex()}
        except ProtocolError as error:
            return {"cmd": None, "payload": "", "error": str(error)}

    def learn(run):
        """Online training: per sample LOAD, TRAIN, LEARN; then every store word."""
        config = LearningConfig.from_dict(run["config"])
        report.update(train=[], learned=[], stores=None)
        try:
            for sample in run["samples"]:
                result = board.train(sample["counts"], config.ticks)
                report["train"].append(_result_json(result))
                label = (sample["label"] + run.get("label_offset", 0)) % config.n_outputs
                report["learned"].append(board.learn(label, sample["lr_decay"]))
            report["stores"] = [a.tolist() for a in board.read_stores(config)]
        except ProtocolError as error:
            report["errors"].append(f"learning sample {len(report['learned'])}: {error}")

    def scenario():
        report["info"] = dataclasses.asdict(board.ping())
        # malformed and erroneous requests first (READ before any RUN is one of them)
        report["raw"] = [raw_request(r) for r in spec["raw"]]
        if spec.get("learn"):
            learn(spec["learn"])
        for counts in spec["images"]:
            try:
                report["results"].append(_result_json(board.infer(counts, spec["n_ticks"])))
            except ProtocolError as error:
                report["results"].append(None)
                report["errors"].append(str(error))
        if spec["images"]:
            report["read_again"] = _result_json(board.read_result())
        report["raw_after"] = [raw_request(r) for r in spec.get("raw_after", [])]

    await bridge(scenario)()
    report["bytes_to_board"] = uart.bytes_sent
    report["sim_time_ns"] = float(get_sim_time("ns"))
    with open(os.environ[REPORT_ENV], "w") as f:
        json.dump(report, f)
