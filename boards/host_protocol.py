"""The host protocol: framed request/response over a UART, and the on-chip engine that speaks it.

Frames
======
Both directions use the same frame::

    SYNC (0xA5) | CMD (1 byte) | LEN (2 bytes, little-endian) | PAYLOAD (LEN bytes) | CHK (1 byte)

``CHK`` makes the byte sum of ``CMD``, both ``LEN`` bytes, the payload and ``CHK`` itself
zero modulo 256 (``CHK = -sum & 0xFF``). Multi-byte fields are little-endian.

The host sends one request and waits for its reply before sending the next (the board does
not buffer a second request: bytes that arrive while the board executes or replies are
lost). Every request gets exactly one reply frame.

Requests (host -> board) and their replies
------------------------------------------
``PING`` (0x01, LEN 0)
    reply ``INFO`` (0x81), 8 bytes: protocol version (1), ``n_inputs`` (2), ``n_classes``
    (2), input buffer depth in items (2), decision mode (1: 0 first-spike, 1 spike-count).
``LOAD`` (0x02, LEN even)
    Appends LEN / 2 input *items* to the input buffer. An item is 16 bits: bit 15 = 1 is
    the marker that closes the current tick (bits 0..14 ignored, send 0x8000); bit 15 = 0
    is an input event of the current tick with input index bits 0..14 (< ``n_inputs``). The
    items of one inference are: tick 0's events, marker, tick 1's events, marker, ...
    (:func:`encode_items` builds them from per-tick event counts). Any number of LOAD
    frames may be sent before a RUN; a rejected frame adds nothing. Reply ``ACK`` (0x82),
    2 bytes: items now in the buffer.
``CLEAR`` (0x03, LEN 0)
    Empties the input buffer. Reply ``ACK`` (0).
``RUN`` (0x04, LEN 2)
    Payload: ``n_ticks`` (2 bytes, >= 1). Runs one inference of up to ``n_ticks`` ticks on
    the buffered items (ticks the buffer does not cover get no input; items left when the
    inference ends early -- first-spike -- are dropped) and empties the buffer. Reply:
    ``RESULT``.
``READ`` (0x05, LEN 0)
    Reply: the ``RESULT`` of the last RUN again (error ``NO_RESULT`` if there was none).

``RESULT`` (0x85), ``13 + 2 * n_classes`` bytes: class (2, signed; -1 = no output spike in
a first-spike inference), decision tick (2), ticks run (2), clock cycles of the inference
(4; ``SpikeforgeSystem.cycles``), flags (1: bit 0 the system's error flag -- more events in a
tick than ``max_events_per_tick``; bit 1 no output spike at all), ``n_classes`` (2), then
the number of spikes of each output neuron in the inference (2 bytes each, saturating).

Errors
------
A frame that cannot be executed is answered with ``ERROR`` (0xEE), 2 bytes: error code and
the request's CMD byte. The board reads every frame to its declared end (LEN + 1 bytes after
the header) before it decides, so a wrong command or length costs no resynchronisation; a
frame that stops early (or a LEN larger than what the host sends) is ended by the
inter-byte timeout (``TIMEOUT``), after which the board is idle again. Bytes outside a
frame that are not SYNC are ignored. Error codes, in order of precedence:
``BAD_CHECKSUM`` 1, ``UNKNOWN_COMMAND`` 2, ``BAD_LENGTH`` 3, ``BUFFER_FULL`` 5,
``BAD_INPUT`` 6 (an event index >= n_inputs), ``BAD_PARAM`` 7 (RUN with n_ticks = 0),
``NO_RESULT`` 8; and ``TIMEOUT`` 4 (sent when the timeout fires, CMD byte as received so
far, 0 if none).

The pure-Python half (:func:`encode_frame`, :class:`FrameDecoder`, :func:`encode_items`,
:func:`parse_result`, ...) is used by the host driver (:mod:`spikeforge.boards.host`) and
the co-simulation bench; :class:`ProtocolEngine` is the RTL.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

__all__ = ["SYNC", "PROTOCOL_VERSION", "Cmd", "Reply", "ErrorCode", "ProtocolError",
           "encode_frame", "FrameDecoder", "Frame", "encode_items", "Info", "Result",
           "parse_info", "parse_result", "parse_ack", "parse_error", "ProtocolEngine",
           "MARKER"]

SYNC = 0xA5
PROTOCOL_VERSION = 1
MARKER = 0x8000  #: the item that closes a tick


class Cmd(enum.IntEnum):
    PING = 0x01
    LOAD = 0x02
    CLEAR = 0x03
    RUN = 0x04
    READ = 0x05


class Reply(enum.IntEnum):
    INFO = 0x81
    ACK = 0x82
    RESULT = 0x85
    ERROR = 0xEE


class ErrorCode(enum.IntEnum):
    BAD_CHECKSUM = 1
    UNKNOWN_COMMAND = 2
    BAD_LENGTH = 3
    TIMEOUT = 4
    BUFFER_FULL = 5
    BAD_INPUT = 6
    BAD_PARAM = 7
    NO_RESULT = 8


class ProtocolError(Exception):
    """A malformed reply, or an ``ERROR`` frame from the board (``code`` is set)."""

    def __init__(self, message: str, code: ErrorCode | None = None, cmd: int | None = None):
        super().__init__(message)
        self.code = code
        self.cmd = cmd


# -- pure-Python codec ------------------------------------------------------------------------

def checksum(body: bytes) -> int:
    """``CHK`` for ``body`` = CMD, LEN and payload bytes."""
    return (-sum(body)) & 0xFF


def encode_frame(cmd: int, payload: bytes = b"") -> bytes:
    """A complete frame."""
    if not 0 <= int(cmd) <= 0xFF:
        raise ValueError(f"cmd: must be a byte, got {cmd!r}")
    if len(payload) > 0xFFFF:
        raise ValueError(f"payload: at most 65535 bytes, got {len(payload)}")
    body = bytes([int(cmd), len(payload) & 0xFF, len(payload) >> 8]) + bytes(payload)
    return bytes([SYNC]) + body + bytes([checksum(body)])


@dataclass(frozen=True)
class Frame:
    cmd: int
    payload: bytes


class FrameDecoder:
    """Incremental decoder: :meth:`feed` bytes, get complete :class:`Frame` s. Bytes before a
    SYNC are skipped; a frame with a bad checksum raises :class:`ProtocolError`."""

    def __init__(self):
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self.buffer += data
        frames = []
        while True:
            start = self.buffer.find(bytes([SYNC]))
            if start < 0:
                self.buffer.clear()
                return frames
            del self.buffer[:start]
            if len(self.buffer) < 4:
                return frames
            length = self.buffer[2] | (self.buffer[3] << 8)
            if len(self.buffer) < 5 + length:
                return frames
            raw = bytes(self.buffer[:5 + length])
            del self.buffer[:5 + length]
            if sum(raw[1:]) & 0xFF:
                raise ProtocolError(f"reply frame with a bad checksum: {raw.hex()}")
            frames.append(Frame(raw[1], raw[4:4 + length]))


def encode_items(counts_per_tick) -> list[int]:
    """The input items of one inference from ``[ticks, n_inputs]`` event counts: for each
    tick, input ``j`` repeated ``counts[t, j]`` times (ascending ``j``), then the marker."""
    items = []
    for row in counts_per_tick:
        for j, count in enumerate(row):
            if int(count) < 0:
                raise ValueError(f"counts: negative count {count} at input {j}")
            if int(count) and j >= MARKER:
                raise ValueError(f"input index {j} does not fit 15 bits")
            items += [j] * int(count)
        items.append(MARKER)
    return items


def items_payload(items) -> bytes:
    return b"".join(int(x).to_bytes(2, "little") for x in items)


def _u(data: bytes, offset: int, size: int, signed: bool = False) -> int:
    return int.from_bytes(data[offset:offset + size], "little", signed=signed)


@dataclass(frozen=True)
class Info:
    version: int
    n_inputs: int
    n_classes: int
    input_depth: int
    decision: str  # "first-spike" or "spike-count"


@dataclass(frozen=True)
class Result:
    cls: int
    decision_tick: int
    ticks_run: int
    cycles: int
    error: bool
    no_spike: bool
    counts: tuple


def parse_info(frame: Frame) -> Info:
    _expect(frame, Reply.INFO, 8)
    p = frame.payload
    return Info(p[0], _u(p, 1, 2), _u(p, 3, 2), _u(p, 5, 2),
                "spike-count" if p[7] else "first-spike")


def parse_ack(frame: Frame) -> int:
    _expect(frame, Reply.ACK, 2)
    return _u(frame.payload, 0, 2)


def parse_result(frame: Frame) -> Result:
    if frame.cmd == Reply.RESULT and len(frame.payload) >= 13:
        n = _u(frame.payload, 11, 2)
        _expect(frame, Reply.RESULT, 13 + 2 * n)
        p = frame.payload
        counts = tuple(_u(p, 13 + 2 * k, 2) for k in range(n))
        return Result(_u(p, 0, 2, True), _u(p, 2, 2), _u(p, 4, 2), _u(p, 6, 4),
                      bool(p[10] & 1), bool(p[10] & 2), counts)
    _expect(frame, Reply.RESULT, 13)
    raise AssertionError("unreachable")


def parse_error(frame: Frame) -> tuple[ErrorCode | int, int]:
    _expect(frame, Reply.ERROR, 2)
    code = frame.payload[0]
    try:
        code = ErrorCode(code)
    except ValueError:
        pass
    return code, frame.payload[1]


def _expect(frame: Frame, kind: Reply, length: int) -> None:
    if frame.cmd == Reply.ERROR and kind != Reply.ERROR and len(frame.payload) == 2:
        code, cmd = parse_error(frame)
        name = code.name if isinstance(code, ErrorCode) else str(code)
        raise ProtocolError(f"board answered ERROR {name} to command 0x{cmd:02x}", code, cmd)
    if frame.cmd != kind:
        raise ProtocolError(f"expected a {kind.name} reply (0x{int(kind):02x}), "
                            f"got 0x{frame.cmd:02x}")
    if len(frame.payload) != length:
        raise ProtocolError(f"{kind.name} reply: expected {length} payload bytes, got "
                            f"{len(frame.payload)}")


# -- the RTL engine ---------------------------------------------------------------------------

class ProtocolEngine(wiring.Component):
    """Parses request frames from ``rx``, drives a :class:`~spikeforge.hdl.system.SpikeforgeSystem`
    (instantiated inside as ``system``) and sends reply frames on ``tx``.

    Parameters: ``system`` (the payload), ``input_depth`` (items in the input buffer, a block
    RAM of 16-bit words), ``timeout_cycles`` (inter-byte timeout inside a frame).

    Ports: ``rx`` (In stream of bytes), ``tx`` (Out stream of bytes), ``running`` (Out 1,
    an inference is in progress), ``error`` (Out 1, the last request was answered with an
    ERROR; cleared by the next successful one), ``frame_ok`` (Out 1, pulse per executed
    request).
    """

    def __init__(self, system, *, input_depth: int = 1024, timeout_cycles: int = 1_000_000):
        if not isinstance(input_depth, int) or not 2 <= input_depth <= 32767:
            raise ValueError(f"input_depth: must be in 2..32767, got {input_depth!r}")
        if not isinstance(timeout_cycles, int) or timeout_cycles < 16:
            raise ValueError(f"timeout_cycles: must be an integer >= 16, got {timeout_cycles!r}")
        self.system = system
        self.input_depth = input_depth
        self.timeout_cycles = timeout_cycles
        self.n_inputs = system.plan.n_inputs
        self.n_classes = system.n_classes
        if self.n_inputs > 0x7FFF:
            raise ValueError(f"n_inputs {self.n_inputs}: the protocol carries 15-bit indices")
        if self.n_classes > 0x7FFF:
            raise ValueError(f"n_classes {self.n_classes}: too many for the result frame")
        super().__init__({
            "rx": In(stream.Signature(8)),
            "tx": Out(stream.Signature(8)),
            "running": Out(1),
            "error": Out(1),
            "frame_ok": Out(1),
        })

    def result_length(self) -> int:
        return 13 + 2 * self.n_classes

    def elaborate(self, platform):
        from spikeforge.ir.params import Decision

        m = Module()
        sysm = self.system
        m.submodules.system = sysm
        depth = self.input_depth
        C = self.n_classes

        m.submodules.buf = buf = Memory(shape=16, depth=depth, init=[])
        wp = buf.write_port()
        rp = buf.read_port()

        # -- receive state
        cmd = Signal(8)
        length = Signal(16)
        count = Signal(16)  # payload bytes received
        csum = Signal(8)
        lo_byte = Signal(8)
        wptr = Signal(range(depth + 1))  # committed items
        bad_input = Signal()
        param = Signal(16)
        timer = Signal(range(self.timeout_cycles + 1))
        n_items = Signal(17)
        m.d.comb += n_items.eq(length[1:])

        # -- reply state
        kind = Signal(8)  # reply CMD byte
        err_code = Signal(8)
        err_cmd = Signal(8)
        k = Signal(16)  # byte index of the reply frame
        tx_sum = Signal(8)

        # -- run state
        rptr = Signal(range(depth + 1))
        have_result = Signal()
        counts = [Signal(16, name=f"count_{c}") for c in range(C)]

        m.d.sync += self.frame_ok.eq(0)
        rx_take = self.rx.valid & self.rx.ready
        byte = self.rx.payload

        def reply(code_kind, code=None):
            m.d.sync += k.eq(0)
            m.d.sync += tx_sum.eq(0)
            if code is None:
                m.d.sync += [kind.eq(code_kind), self.error.eq(0), self.frame_ok.eq(1)]
            else:
                m.d.sync += [kind.eq(Reply.ERROR), err_code.eq(code), err_cmd.eq(cmd),
                             self.error.eq(1)]
            m.next = "SEND"

        # frame-level timeout (only inside a frame)
        def with_timeout():
            with m.If(rx_take):
                m.d.sync += timer.eq(0)
            with m.Elif(timer == self.timeout_cycles):
                reply(None, ErrorCode.TIMEOUT)
            with m.Else():
                m.d.sync += timer.eq(timer + 1)

        # -- reply bytes
        def le(value, n):
            if isinstance(value, int):
                return [Const((value >> (8 * i)) & 0xFF, 8) for i in range(n)]
            wide = Signal(8 * n)
            m.d.comb += wide.eq(value)  # sign-extends a signed value
            return [wide[8 * i:8 * i + 8] for i in range(n)]

        decision_code = 1 if sysm.decision_mode is Decision.SPIKE_COUNT else 0
        payloads = {
            Reply.ERROR: [err_code, err_cmd],
            Reply.ACK: le(wptr, 2),
            Reply.INFO: ([Const(PROTOCOL_VERSION, 8)] + le(self.n_inputs, 2) + le(C, 2)
                         + le(depth, 2) + [Const(decision_code, 8)]),
            Reply.RESULT: (le(sysm.result_class, 2) + le(sysm.result_tick, 2)
                           + le(sysm.ticks_run, 2) + le(sysm.cycles, 4)
                           + [Cat(sysm.error, sysm.result_none, Const(0, 6))]
                           + le(C, 2) + [b for c in counts for b in le(c, 2)]),
        }

        plen = Signal(16)
        pbyte = Signal(8)
        pidx = Signal(16)
        m.d.comb += pidx.eq(k - 4)
        with m.Switch(kind):
            for key, items in payloads.items():
                with m.Case(key):
                    m.d.comb += plen.eq(len(items))
                    with m.Switch(pidx):
                        for i, b in enumerate(items):
                            with m.Case(i):
                                m.d.comb += pbyte.eq(b)
        tx_byte = Signal(8)
        last_k = Signal(16)
        m.d.comb += last_k.eq(plen + 4)
        with m.If(k == 0):
            m.d.comb += tx_byte.eq(SYNC)
        with m.Elif(k == 1):
            m.d.comb += tx_byte.eq(kind)
        with m.Elif(k == 2):
            m.d.comb += tx_byte.eq(plen[:8])
        with m.Elif(k == 3):
            m.d.comb += tx_byte.eq(plen[8:])
        with m.Elif(k == last_k):
            m.d.comb += tx_byte.eq(-tx_sum)
        with m.Else():
            m.d.comb += tx_byte.eq(pbyte)

        # -- system inputs defaults
        m.d.comb += [
            sysm.out_spikes.ready.eq(1),
            sysm.n_ticks.eq(param),
            rp.addr.eq(rptr),
            rp.en.eq(1),
        ]
        item = rp.data

        with m.FSM():
            with m.State("SYNC"):
                m.d.comb += self.rx.ready.eq(1)
                m.d.sync += timer.eq(0)
                with m.If(rx_take & (byte == SYNC)):
                    m.d.sync += [cmd.eq(0), csum.eq(0)]
                    m.next = "CMD"
            with m.State("CMD"):
                m.d.comb += self.rx.ready.eq(1)
                with_timeout()
                with m.If(rx_take):
                    m.d.sync += [cmd.eq(byte), csum.eq(byte)]
                    m.next = "LEN0"
            with m.State("LEN0"):
                m.d.comb += self.rx.ready.eq(1)
                with_timeout()
                with m.If(rx_take):
                    m.d.sync += [length[:8].eq(byte), csum.eq(csum + byte)]
                    m.next = "LEN1"
            with m.State("LEN1"):
                m.d.comb += self.rx.ready.eq(1)
                with_timeout()
                with m.If(rx_take):
                    m.d.sync += [length[8:].eq(byte), csum.eq(csum + byte), count.eq(0),
                                 bad_input.eq(0), param.eq(0)]
                    with m.If(Cat(length[:8], byte) == 0):
                        m.next = "CHK"
                    with m.Else():
                        m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                m.d.comb += self.rx.ready.eq(1)
                with_timeout()
                with m.If(rx_take):
                    m.d.sync += [csum.eq(csum + byte), count.eq(count + 1)]
                    with m.If(count[0] == 0):
                        m.d.sync += lo_byte.eq(byte)
                    with m.Else():
                        value = Cat(lo_byte, byte)
                        with m.If(count[1:] == 0):
                            m.d.sync += param.eq(value)
                        # stage LOAD items past the committed ones; committed only at CHK
                        with m.If((cmd == Cmd.LOAD) & (wptr + count[1:] < depth)):
                            m.d.comb += [wp.addr.eq(wptr + count[1:]), wp.data.eq(value),
                                         wp.en.eq(1)]
                        with m.If(~value[15] & (value[:15] >= self.n_inputs)):
                            m.d.sync += bad_input.eq(1)
                    with m.If(count + 1 == length):
                        m.next = "CHK"
            with m.State("CHK"):
                m.d.comb += self.rx.ready.eq(1)
                with_timeout()
                with m.If(rx_take):
                    known = Signal()
                    good_len = Signal()
                    m.d.comb += known.eq((cmd >= Cmd.PING) & (cmd <= Cmd.READ))
                    with m.Switch(cmd):
                        with m.Case(Cmd.LOAD):
                            m.d.comb += good_len.eq(~length[0])
                        with m.Case(Cmd.RUN):
                            m.d.comb += good_len.eq(length == 2)
                        with m.Default():
                            m.d.comb += good_len.eq(length == 0)
                    with m.If((csum + byte)[:8] != 0):
                        reply(None, ErrorCode.BAD_CHECKSUM)
                    with m.Elif(~known):
                        reply(None, ErrorCode.UNKNOWN_COMMAND)
                    with m.Elif(~good_len):
                        reply(None, ErrorCode.BAD_LENGTH)
                    with m.Elif(cmd == Cmd.PING):
                        reply(Reply.INFO)
                    with m.Elif(cmd == Cmd.LOAD):
                        with m.If(wptr + n_items > depth):
                            reply(None, ErrorCode.BUFFER_FULL)
                        with m.Elif(bad_input):
                            reply(None, ErrorCode.BAD_INPUT)
                        with m.Else():
                            m.d.sync += wptr.eq(wptr + n_items)
                            reply(Reply.ACK)
                    with m.Elif(cmd == Cmd.CLEAR):
                        m.d.sync += wptr.eq(0)
                        reply(Reply.ACK)
                    with m.Elif(cmd == Cmd.RUN):
                        with m.If(param == 0):
                            reply(None, ErrorCode.BAD_PARAM)
                        with m.Else():
                            m.next = "RUN_START"
                    with m.Else():  # READ
                        with m.If(have_result):
                            reply(Reply.RESULT)
                        with m.Else():
                            reply(None, ErrorCode.NO_RESULT)
            with m.State("RUN_START"):
                with m.If(sysm.idle):
                    m.d.comb += sysm.start.eq(1)
                    m.d.sync += [rptr.eq(0)] + [c.eq(0) for c in counts]
                    m.next = "RUN_FETCH"
            with m.State("RUN_FETCH"):  # rp.data follows rptr one cycle later
                m.d.comb += self.running.eq(1)
                m.next = "RUN_FEED"
                with m.If(~sysm.busy):
                    m.next = "RUN_END"
            with m.State("RUN_FEED"):
                m.d.comb += self.running.eq(1)
                have = rptr < wptr
                m.d.comb += [
                    sysm.inp.valid.eq(sysm.busy),
                    sysm.inp.payload.index.eq(Mux(have, item[:15], 0)),
                    sysm.inp.payload.last.eq(Mux(have, item[15], 1)),
                ]
                with m.If(sysm.inp.valid & sysm.inp.ready & have):
                    m.d.sync += rptr.eq(rptr + 1)
                    m.next = "RUN_FETCH"
                with m.If(~sysm.busy):
                    m.next = "RUN_END"
            with m.State("RUN_END"):
                m.d.sync += [wptr.eq(0), have_result.eq(1)]
                reply(Reply.RESULT)
            with m.State("SEND"):
                m.d.comb += [self.tx.valid.eq(1), self.tx.payload.eq(tx_byte)]
                with m.If(self.tx.ready):
                    m.d.sync += k.eq(k + 1)
                    with m.If(k != 0):
                        m.d.sync += tx_sum.eq(tx_sum + tx_byte)
                    with m.If(k == last_k):
                        m.next = "SYNC"

        # per-class spike counters (saturating)
        with m.If(sysm.out_spikes.valid):
            with m.Switch(sysm.out_spikes.payload.neuron):
                for c, reg in enumerate(counts):
                    with m.Case(c):
                        with m.If(reg != 0xFFFF):
                            m.d.sync += reg.eq(reg + 1)
        return m
