"""The host protocol: framed request/response over a UART, as a pure-Python codec.

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
    reply ``INFO`` (0x81), 9 bytes: protocol version (1), ``n_inputs`` (2), ``n_classes``
    (2), input buffer depth in items (2), decision mode (1: 0 first-spike, 1 spike-count),
    learns (1: 1 for a build with the learning engine, which answers ``TRAIN``, ``LEARN``
    and ``STORE``; else 0). The host knows the engine's geometry and rule (its
    :class:`~spikeforge.ir.learning.LearningConfig`) from its side.
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
    Reply: the ``RESULT`` of the last RUN (or TRAIN) again (error ``NO_RESULT`` if there was
    none).

Learning builds only (a build without the learning engine answers these three with
``UNKNOWN_COMMAND``):

``TRAIN`` (0x06, LEN 2)
    Payload: ``n_ticks`` (2 bytes, >= 1). As ``RUN``, but a training inference (the
    system's ``train`` input high at its start): the decision does not stop it, so it runs
    all ``n_ticks`` ticks, every output spike is counted, and the learning engine records
    the first spikes of the inputs, hidden and output neurons. Reply: ``RESULT``.
``LEARN`` (0x07, LEN 2)
    Payload: ``label`` (1 byte, < ``n_classes``) and ``lr_decay`` (1 byte, 0..31; the
    step's right shift), else ``BAD_PARAM``. Offers the learn command to the engine, which
    applies the rule to the first spikes it recorded and writes the changed inference weights
    into the cores; the reply waits until the update is done. One LEARN per TRAIN, in that
    order: the update forgets the records, two TRAINs mix theirs, a LEARN without a TRAIN
    sees no spikes; the TRAIN's ``n_ticks`` is the engine's ``ticks``. Reply ``LEARNED``
    (0x87), 4 bytes: the cycles the update kept the engine busy
    (:func:`spikeforge.hdl.learning.update_cycles`).
``STORE`` (0x08, LEN 6)
    Payload: the first store address (4 bytes; ``StoreMap(config).address(layer, pre,
    post)``: ``(layer << index_bits) | index``, index ``pre * cols + post``) and ``count``
    (2 bytes, 1..:data:`STORE_MAX_WORDS`); ``BAD_PARAM`` if ``count`` is out of range, the
    address is outside the map or the words run past the end of the address's layer. Reply
    ``WEIGHTS`` (0x88), ``4 * count`` bytes: the stored weights (``acc``, whose ``>>
    frac_bits`` the forward pass reads) at the consecutive addresses, each signed, 4 bytes.
    The board streams them: each reply byte is taken from the store word at its position,
    read as the byte is formed (no register file holds the words).

``RESULT`` (0x85), ``14 + 2 * n_classes + 8 * n_layers`` bytes: class (2, signed; -1 = no
output spike in a first-spike inference), decision tick (2), ticks run (2), clock cycles of
the inference (4; ``SpikeforgeSystem.cycles``), flags (1: bit 0 the system's error flag --
more events in a tick than ``max_events_per_tick``; bit 1 no output spike at all),
``n_classes`` (2), the number of spikes of each output neuron in the inference (2 bytes
each, saturating), ``n_layers`` (1), then the system's work counters: each layer's input
events (4 bytes each; ``SpikeforgeSystem.events``: the weight rows read) and each layer's
spikes (4 bytes each; ``SpikeforgeSystem.spikes``).

Errors
------
A frame that cannot be executed is answered with ``ERROR`` (0xEE), 2 bytes: error code and
the request's CMD byte. The board reads every frame to its declared end (LEN + 1 bytes after
the header) before it decides, so a wrong command or length costs no resynchronisation; a
frame that stops early (or a LEN larger than what the host sends) is ended by the
inter-byte timeout (``TIMEOUT``), after which the board is idle again. Bytes outside a
frame that are not SYNC are ignored. Error codes, in order of precedence:
``BAD_CHECKSUM`` 1, ``UNKNOWN_COMMAND`` 2, ``BAD_LENGTH`` 3, ``BUFFER_FULL`` 5,
``BAD_INPUT`` 6 (an event index >= n_inputs), ``BAD_PARAM`` 7 (RUN or TRAIN with n_ticks =
0; LEARN, STORE: above),
``NO_RESULT`` 8; and ``TIMEOUT`` 4 (sent when the timeout fires, CMD byte as received so
far, 0 if none).

This module is the codec (:func:`encode_frame`, :class:`FrameDecoder`, :func:`encode_items`,
:func:`parse_result`, ...) and the constants both ends share; it needs only the standard
library, so that the host driver (:mod:`spikeforge.boards.host`) installs without Amaranth.
The RTL that speaks it on the board is :class:`spikeforge.boards.engine.ProtocolEngine`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from spikeforge.ir.errors import SpikeforgeError

__all__ = ["SYNC", "PROTOCOL_VERSION", "Cmd", "Reply", "ErrorCode", "ProtocolError",
           "checksum", "encode_frame", "FrameDecoder", "Frame", "encode_items", "items_payload",
           "Info", "Result", "parse_info", "parse_result", "parse_ack", "parse_error", "MARKER",
           "DECISIONS", "STORE_MAX_WORDS", "encode_learn", "encode_store", "parse_learned",
           "parse_weights", "MAX_LR_DECAY"]

SYNC = 0xA5
PROTOCOL_VERSION = 3  # 2: RESULT carries the work counters; 3: learning, INFO's learns byte
#: the most store words one ``STORE`` request reads (its ``WEIGHTS`` reply: 4 bytes each)
STORE_MAX_WORDS = 16
#: the largest ``lr_decay`` of a ``LEARN`` request (a 5-bit field of the learn command)
MAX_LR_DECAY = 31
MARKER = 0x8000  #: the item that closes a tick


class Cmd(enum.IntEnum):
    PING = 0x01
    LOAD = 0x02
    CLEAR = 0x03
    RUN = 0x04
    READ = 0x05
    TRAIN = 0x06  #: learning builds only
    LEARN = 0x07  #: learning builds only
    STORE = 0x08  #: learning builds only


class Reply(enum.IntEnum):
    INFO = 0x81
    ACK = 0x82
    RESULT = 0x85
    LEARNED = 0x87
    WEIGHTS = 0x88
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


class ProtocolError(SpikeforgeError):
    """A malformed or impossible reply, or an ``ERROR`` frame from the board (``code`` is
    set)."""

    def __init__(self, message: str, code: ErrorCode | None = None, cmd: int | None = None):
        super().__init__(message)
        self.code = code
        self.cmd = cmd


# -- codec ------------------------------------------------------------------------------------

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
    learns: bool = False  #: the build has the learning engine (TRAIN, LEARN, STORE)


@dataclass(frozen=True)
class Result:
    cls: int
    decision_tick: int
    ticks_run: int
    cycles: int
    error: bool
    no_spike: bool
    counts: tuple
    events: tuple  #: per layer: input events (weight rows read), the system's counter
    spikes: tuple  #: per layer: spikes, the system's counter


#: the decision mode byte of ``INFO``
DECISIONS = {0: "first-spike", 1: "spike-count"}


def parse_info(frame: Frame) -> Info:
    """The board's ``INFO``; :class:`ProtocolError` for a protocol version other than
    :data:`PROTOCOL_VERSION` or values no board top can have (no inputs or classes, an input
    buffer of fewer than 2 items, an unknown decision mode, a learns byte other than 0 or
    1)."""
    _expect(frame, Reply.INFO, 9)
    p = frame.payload
    version, n_inputs, n_classes, depth = p[0], _u(p, 1, 2), _u(p, 3, 2), _u(p, 5, 2)
    if version != PROTOCOL_VERSION:
        raise ProtocolError(f"INFO reply: protocol version {version}, this driver speaks "
                            f"version {PROTOCOL_VERSION} only (update spikeforge or the "
                            f"board's bitstream)")
    for name, value, lo in (("n_inputs", n_inputs, 1), ("n_classes", n_classes, 1),
                            ("input_depth", depth, 2)):
        if value < lo:
            raise ProtocolError(f"INFO reply: {name} {value}, no board top has fewer than {lo}")
    if n_inputs > MARKER:
        raise ProtocolError(f"INFO reply: n_inputs {n_inputs}, more than input items can "
                            f"address ({MARKER})")
    if p[7] not in DECISIONS:
        raise ProtocolError(f"INFO reply: unknown decision mode {p[7]} (known: "
                            f"{', '.join(f'{k} {v}' for k, v in DECISIONS.items())})")
    if p[8] not in (0, 1):
        raise ProtocolError(f"INFO reply: learns byte {p[8]}, must be 0 or 1")
    return Info(version, n_inputs, n_classes, depth, DECISIONS[p[7]], bool(p[8]))


def parse_ack(frame: Frame) -> int:
    _expect(frame, Reply.ACK, 2)
    return _u(frame.payload, 0, 2)


def parse_result(frame: Frame, n_classes: int | None = None) -> Result:
    """The ``RESULT`` of an inference; :class:`ProtocolError` if it is malformed, holds a
    class outside ``-1..n_classes-1`` or, given ``n_classes`` (from ``INFO``), another
    number of classes."""
    if (frame.cmd == Reply.RESULT and len(frame.payload) >= 13
            and len(frame.payload) >= 14 + 2 * _u(frame.payload, 11, 2)):
        n = _u(frame.payload, 11, 2)
        layers = frame.payload[13 + 2 * n]
        _expect(frame, Reply.RESULT, 14 + 2 * n + 8 * layers)
        p = frame.payload
        if n_classes is not None and n != n_classes:
            raise ProtocolError(f"RESULT reply: {n} classes, but the board said {n_classes} "
                                f"(INFO)")
        cls = _u(p, 0, 2, True)
        if not -1 <= cls < n:
            raise ProtocolError(f"RESULT reply: class {cls} outside -1..{n - 1}")
        counts = tuple(_u(p, 13 + 2 * k, 2) for k in range(n))
        work = [_u(p, 14 + 2 * n + 4 * k, 4) for k in range(2 * layers)]
        return Result(cls, _u(p, 2, 2), _u(p, 4, 2), _u(p, 6, 4),
                      bool(p[10] & 1), bool(p[10] & 2), counts, tuple(work[:layers]),
                      tuple(work[layers:]))
    _expect(frame, Reply.RESULT, 14)
    raise AssertionError("unreachable")


def encode_learn(label: int, lr_decay: int, n_classes: int | None = None) -> bytes:
    """The payload of a ``LEARN`` request; :class:`ValueError` naming the parameter for a
    label outside ``0..n_classes-1`` (given ``n_classes``; a byte otherwise) or an
    ``lr_decay`` outside ``0..31``."""
    limit = 256 if n_classes is None else min(256, int(n_classes))
    if isinstance(label, bool) or not 0 <= int(label) < limit:
        raise ValueError(f"label: must be in 0..{limit - 1}, got {label!r}")
    if isinstance(lr_decay, bool) or not 0 <= int(lr_decay) <= MAX_LR_DECAY:
        raise ValueError(f"lr_decay: must be in 0..{MAX_LR_DECAY}, got {lr_decay!r}")
    return bytes([int(label), int(lr_decay)])


def encode_store(address: int, count: int) -> bytes:
    """The payload of a ``STORE`` request: ``count`` (1..:data:`STORE_MAX_WORDS`) words from
    store ``address``."""
    if not 0 <= int(address) <= 0xFFFFFFFF:
        raise ValueError(f"address: must fit 4 bytes, got {address!r}")
    if not 1 <= int(count) <= STORE_MAX_WORDS:
        raise ValueError(f"count: must be in 1..{STORE_MAX_WORDS}, got {count!r}")
    return int(address).to_bytes(4, "little") + int(count).to_bytes(2, "little")


def parse_learned(frame: Frame) -> int:
    """The update's busy cycles of a ``LEARNED`` reply."""
    _expect(frame, Reply.LEARNED, 4)
    return _u(frame.payload, 0, 4)


def parse_weights(frame: Frame, count: int) -> list[int]:
    """The ``count`` signed store words of a ``WEIGHTS`` reply."""
    _expect(frame, Reply.WEIGHTS, 4 * int(count))
    return [_u(frame.payload, 4 * k, 4, True) for k in range(int(count))]


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
