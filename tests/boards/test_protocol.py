"""The host protocol's Python half, the host driver against a scripted transport, the fit
estimate, the build command's argument handling and the Arty A7 export."""

import argparse
import json

import numpy as np
import pytest

from spikeforge.boards.build import (
    count_cells,
    parse_nextpnr_report,
    resolve_design,
    toolchain_environment,
)
from spikeforge.boards.fit import bram_tiles, check_fit, estimate
from spikeforge.boards.host import SpikeforgeBoard
from spikeforge.boards.host_protocol import (
    MARKER,
    SYNC,
    Cmd,
    ErrorCode,
    Frame,
    FrameDecoder,
    ProtocolError,
    Reply,
    encode_frame,
    encode_items,
    items_payload,
    parse_result,
)
from spikeforge.compiler.map import plan_network
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.ir.params import NeuronParams


def test_frame_round_trip_and_checksum():
    frame = encode_frame(Cmd.RUN, b"\x10\x00")
    assert frame[0] == SYNC and frame[1] == Cmd.RUN and frame[2:4] == b"\x02\x00"
    assert sum(frame[1:]) % 256 == 0
    dec = FrameDecoder()
    # garbage before SYNC is skipped; frames may arrive split anywhere
    stream = b"\x00\x13" + frame + encode_frame(Reply.ACK, b"\x05\x00")
    frames = []
    for k in range(len(stream)):
        frames += dec.feed(stream[k:k + 1])
    assert frames == [Frame(Cmd.RUN, b"\x10\x00"), Frame(Reply.ACK, b"\x05\x00")]
    bad = bytearray(frame)
    bad[-1] ^= 1
    with pytest.raises(ProtocolError, match="checksum"):
        FrameDecoder().feed(bytes(bad))


def test_encode_items():
    counts = np.array([[0, 2, 1], [0, 0, 0], [1, 0, 0]])
    assert encode_items(counts) == [1, 1, 2, MARKER, MARKER, 0, MARKER]
    assert items_payload([1, MARKER]) == b"\x01\x00\x00\x80"


def test_parse_result_and_error_frames():
    payload = ((-1).to_bytes(2, "little", signed=True) + (3).to_bytes(2, "little")
               + (4).to_bytes(2, "little") + (1234).to_bytes(4, "little") + bytes([2])
               + (2).to_bytes(2, "little") + (0).to_bytes(2, "little") + (7).to_bytes(2, "little"))
    r = parse_result(Frame(Reply.RESULT, payload))
    assert (r.cls, r.decision_tick, r.ticks_run, r.cycles, r.error, r.no_spike, r.counts) == \
        (-1, 3, 4, 1234, False, True, (0, 7))
    with pytest.raises(ProtocolError, match="BAD_CHECKSUM") as info:
        parse_result(Frame(Reply.ERROR, bytes([ErrorCode.BAD_CHECKSUM, Cmd.READ])))
    assert info.value.code is ErrorCode.BAD_CHECKSUM
    with pytest.raises(ProtocolError, match="payload bytes"):
        parse_result(Frame(Reply.RESULT, payload[:-1]))


class ScriptedTransport:
    """Answers each request with a canned reply; records what was written."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.written = []
        self.out = b""

    def write(self, data):
        self.written.append(bytes(data))
        if self.replies:
            self.out += self.replies.pop(0)

    def read(self, n):
        data, self.out = self.out[:n], self.out[n:]
        return data


def test_driver_chunks_loads_and_times_out():
    info = bytes([1, 3, 0, 2, 0, 16, 0, 0])
    result = (bytes(2) + bytes([1, 0, 2, 0]) + (99).to_bytes(4, "little") + bytes([0])
              + (2).to_bytes(2, "little") + bytes([1, 0, 0, 0]))
    replies = [encode_frame(Reply.INFO, info), encode_frame(Reply.ACK, b"\x00\x00"),
               encode_frame(Reply.ACK, b"\x04\x00"), encode_frame(Reply.ACK, b"\x06\x00"),
               encode_frame(Reply.RESULT, result)]
    t = ScriptedTransport(replies)
    board = SpikeforgeBoard(t, items_per_frame=4)
    r = board.infer(np.array([[1, 0, 2], [0, 1, 0]]))
    assert r.cycles == 99 and r.counts == (1, 0)
    assert [w[1] for w in t.written] == [Cmd.PING, Cmd.CLEAR, Cmd.LOAD, Cmd.LOAD, Cmd.RUN]
    with pytest.raises(ValueError, match="input buffer"):
        board.infer(np.ones((4, 3), dtype=int) * 2)
    with pytest.raises(ProtocolError, match="timeout"):
        board.read_result()


def _net(n_inputs, sizes, **params):
    p = NeuronParams(decay_bits=8, threshold=50, **params)
    layers, fan_in = [], n_inputs
    rng = np.random.default_rng(0)
    for n in sizes:
        layers.append(IntegerLayer(rng.integers(-10, 30, size=(fan_in, n)), p))
        fan_in = n
    return IntegerNetwork(tuple(layers), "spike-count")


def test_bram_tiles():
    assert bram_tiles(512, 8, "ice40") == 1
    assert bram_tiles(256, 17, "ice40") == 2
    assert bram_tiles(4, 8, "ice40") == 0
    assert bram_tiles(2048, 9, "ecp5") == 1
    assert bram_tiles(784 * 100, 8, "ecp5") == 39


def test_fit_accepts_small_and_refuses_large_with_advice():
    small = plan_network(_net(16, [8, 4]))
    est = check_fit(small, "icebreaker")
    assert est.fits and est.brams <= 30
    big = plan_network(_net(784, [100, 10]))  # 78400 8-bit weights: 154 EBR
    with pytest.raises(ConfigError) as info:
        check_fit(big, "icebreaker")
    message = str(info.value)
    assert "block RAM" in message and "of 30" in message
    assert "ulx3s-85f" in message and "smaller layers" in message
    assert check_fit(big, "ulx3s-85f").fits
    # many cores: logic does not fit the small board; advice: more neurons per core
    many = plan_network(_net(16, [64, 10]), neurons_per_core=2)
    with pytest.raises(ConfigError, match="more neurons per core"):
        check_fit(many, "icebreaker")
    assert not estimate(many, "icebreaker").fits


def test_resolve_design(tmp_path):
    name, artifact = resolve_design("core:8x12")
    network, plan = artifact.network, artifact.plan
    assert name == "core8x12" and network.n_inputs == 12 and len(plan.cores) == 1
    with pytest.raises(ConfigError, match="core:NEURONSxINPUTS"):
        resolve_design("core:8by12")
    with pytest.raises(ConfigError, match="neither"):
        resolve_design(str(tmp_path))


def test_report_parsers(tmp_path):
    (tmp_path / "r.json").write_text(json.dumps({
        "utilization": {"ICESTORM_LC": {"used": 10, "available": 5280}},
        "fmax": {"clk": {"achieved": 20.5, "constraint": 12.0}}}))
    r = parse_nextpnr_report(tmp_path / "r.json")
    assert r["fmax"]["clk"]["achieved"] == 20.5
    (tmp_path / "n.json").write_text(json.dumps({"modules": {"top": {
        "attributes": {"top": "00000000000000000000000000000001"},
        "cells": {"a": {"type": "SB_LUT4"}, "b": {"type": "SB_DFFE"}, "c": {"type": "SB_DFF"},
                  "d": {"type": "SB_RAM40_4K"}}}}}))
    cells = count_cells(tmp_path / "n.json", "ice40")
    assert (cells["luts"], cells["ffs"], cells["brams"], cells["dsps"]) == (1, 2, 1, 0)


def test_toolchain_environment_prefers_explicit(monkeypatch):
    monkeypatch.setenv("YOSYS", "/opt/my/yosys")
    assert "YOSYS" not in toolchain_environment(["yosys"])


def test_cli_register_and_fit(capsys):
    from spikeforge.boards.commands import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["fit", "core:8x8"])
    assert args.handler(args) == 0
    out = capsys.readouterr().out
    assert "icebreaker" in out and "ulx3s-85f" in out and "fits" in out
    args = parser.parse_args(["build", "core", "--board", "arty-a7"])
    assert args.board == "arty-a7"
    with pytest.raises(SystemExit):
        parser.parse_args(["build", "core", "--board", "de10"])


def test_arty_export(tmp_path):
    pytest.importorskip("amaranth_boards")
    from spikeforge.boards.build import build_board

    report = build_board("core:4x6", "arty-a7", tmp_path / "arty")
    assert report["bitstream"] is None
    files = set(report["exported"])
    assert {"top.v", "top.xdc"} <= files
    xdc = (tmp_path / "arty" / "top.xdc").read_text()
    assert "E3" in xdc  # the 100 MHz clock pin
    assert json.loads((tmp_path / "arty" / "report.json").read_text())["board"] == "arty-a7"
