"""The host protocol's codec (boards/protocol.py): frames and their checksum, input items,
result and error frames, and the replies no board top sends (refused, not believed)."""

import re

import numpy as np
import pytest

from spikeforge.boards.protocol import (
    MARKER,
    PROTOCOL_VERSION,
    STORE_MAX_WORDS,
    SYNC,
    Cmd,
    ErrorCode,
    Frame,
    FrameDecoder,
    ProtocolError,
    Reply,
    encode_frame,
    encode_items,
    encode_learn,
    encode_store,
    items_payload,
    parse_info,
    parse_learned,
    parse_result,
    parse_weights,
)
from spikeforge.ir.errors import SpikeforgeError


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
               + (2).to_bytes(2, "little") + (0).to_bytes(2, "little") + (7).to_bytes(2, "little")
               + bytes([2]) + b"".join(v.to_bytes(4, "little") for v in (90, 70000, 12, 3)))
    r = parse_result(Frame(Reply.RESULT, payload))
    assert (r.cls, r.decision_tick, r.ticks_run, r.cycles, r.error, r.no_spike, r.counts) == \
        (-1, 3, 4, 1234, False, True, (0, 7))
    assert (r.events, r.spikes) == ((90, 70000), (12, 3))
    with pytest.raises(ProtocolError, match="BAD_CHECKSUM") as info:
        parse_result(Frame(Reply.ERROR, bytes([ErrorCode.BAD_CHECKSUM, Cmd.READ])))
    assert info.value.code is ErrorCode.BAD_CHECKSUM
    for short in (payload[:-1], payload[:12], payload[:16]):  # also before n_classes, n_layers
        with pytest.raises(ProtocolError, match="payload bytes"):
            parse_result(Frame(Reply.RESULT, short))


def _info(version=PROTOCOL_VERSION, n_inputs=64, n_classes=10, depth=512, decision=0,
          learns=0) -> Frame:
    payload = (bytes([version]) + n_inputs.to_bytes(2, "little") + n_classes.to_bytes(2, "little")
               + depth.to_bytes(2, "little") + bytes([decision, learns]))
    return Frame(Reply.INFO, payload)


def test_parse_info_accepts_what_a_board_top_sends():
    info = parse_info(_info(decision=1))
    assert (info.version, info.n_inputs, info.n_classes, info.input_depth, info.decision,
            info.learns) == (PROTOCOL_VERSION, 64, 10, 512, "spike-count", False)
    assert parse_info(_info(n_inputs=MARKER, depth=2)).decision == "first-spike"
    assert parse_info(_info(learns=1)).learns is True


@pytest.mark.parametrize("fields, message", [
    ({"version": 2}, "INFO reply: protocol version 2, this driver speaks version 3 only"),
    ({"version": 1}, "INFO reply: protocol version 1"),
    ({"version": 0}, "INFO reply: protocol version 0"),
    ({"n_inputs": 0}, "INFO reply: n_inputs 0, no board top has fewer than 1"),
    ({"n_classes": 0}, "INFO reply: n_classes 0"),
    ({"depth": 1}, "INFO reply: input_depth 1, no board top has fewer than 2"),
    ({"n_inputs": MARKER + 1}, "more than input items can address"),
    ({"decision": 2}, "INFO reply: unknown decision mode 2"),
    ({"learns": 2}, "INFO reply: learns byte 2, must be 0 or 1"),
])
def test_parse_info_refuses_what_no_board_top_sends(fields, message):
    """An INFO of another protocol version, or with values no board top has, used to be
    accepted (and a driver then spoke a protocol the board does not)."""
    with pytest.raises(ProtocolError, match=re.escape(message)):
        parse_info(_info(**fields))


def _result(cls=3, n=4, counts=None) -> Frame:
    counts = counts if counts is not None else [0] * n
    return Frame(Reply.RESULT, cls.to_bytes(2, "little", signed=True) + bytes(8) + bytes([0])
                 + n.to_bytes(2, "little") + b"".join(c.to_bytes(2, "little") for c in counts)
                 + bytes([1]) + bytes(8))


def test_parse_result_refuses_a_class_out_of_range_or_other_classes():
    assert parse_result(_result(cls=3), n_classes=4).cls == 3
    assert parse_result(_result(cls=-1)).cls == -1
    with pytest.raises(ProtocolError, match=r"class 4 outside -1\.\.3"):
        parse_result(_result(cls=4))
    with pytest.raises(ProtocolError, match=r"class -2 outside"):
        parse_result(_result(cls=-2))
    with pytest.raises(ProtocolError, match=r"4 classes, but the board said 10 \(INFO\)"):
        parse_result(_result(), n_classes=10)


def test_info_of_protocol_version_2_is_refused():
    """Version 2's INFO had 8 bytes (no learns byte): a version-3 driver names the length."""
    with pytest.raises(ProtocolError, match="INFO reply: expected 9 payload bytes, got 8"):
        parse_info(Frame(Reply.INFO, _info(version=2).payload[:8]))


def test_learning_payloads_and_replies():
    assert encode_learn(9, 31, n_classes=10) == bytes([9, 31])
    assert encode_store(0x12345, STORE_MAX_WORDS) == b"\x45\x23\x01\x00\x10\x00"
    for args, message in [((10, 0, 10), "label: must be in 0..9, got 10"),
                          ((-1, 0), "label: must be in 0..255, got -1"),
                          ((0, 32), "lr_decay: must be in 0..31, got 32"),
                          ((0, -1), "lr_decay: must be in 0..31, got -1")]:
        with pytest.raises(ValueError, match=re.escape(message)):
            encode_learn(*args)
    for args, message in [((0, 0), "count: must be in 1..16, got 0"),
                          ((0, 17), "count: must be in 1..16, got 17"),
                          ((-1, 1), "address: must fit 4 bytes, got -1")]:
        with pytest.raises(ValueError, match=re.escape(message)):
            encode_store(*args)
    assert parse_learned(Frame(Reply.LEARNED, (70000).to_bytes(4, "little"))) == 70000
    words = [-1, 2 ** 31 - 1, -(2 ** 31), 0]
    payload = b"".join(w.to_bytes(4, "little", signed=True) for w in words)
    assert parse_weights(Frame(Reply.WEIGHTS, payload), 4) == words
    with pytest.raises(ProtocolError, match="WEIGHTS reply: expected 12 payload bytes, got 16"):
        parse_weights(Frame(Reply.WEIGHTS, payload), 3)
    with pytest.raises(ProtocolError, match="BAD_PARAM") as info:
        parse_learned(Frame(Reply.ERROR, bytes([ErrorCode.BAD_PARAM, Cmd.LEARN])))
    assert info.value.code is ErrorCode.BAD_PARAM and info.value.cmd == Cmd.LEARN


def test_protocol_errors_are_spikeforge_errors():
    """The command line prints them in one line, like every other error."""
    assert issubclass(ProtocolError, SpikeforgeError)
