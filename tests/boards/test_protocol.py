"""The host protocol's codec (boards/protocol.py): frames and their checksum, input items,
result and error frames."""

import numpy as np
import pytest

from spikeforge.boards.protocol import (
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
