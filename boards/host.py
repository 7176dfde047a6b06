"""Host driver: talks to a spikeforge board top over a serial port (the protocol of
:mod:`spikeforge.boards.protocol`; the driver needs that codec and numpy, not Amaranth).

>>> board = SpikeforgeBoard.open_serial("/dev/ttyUSB1")          # doctest: +SKIP
>>> board.ping()                                                  # doctest: +SKIP
Info(version=3, n_inputs=64, n_classes=10, input_depth=1024, decision='first-spike', learns=False)
>>> board.infer(counts)          # counts: [ticks, n_inputs] events  # doctest: +SKIP
Result(cls=3, decision_tick=7, ticks_run=8, cycles=..., error=False, no_spike=False, counts=(...))

A learning build (``INFO.learns``) trains online, one sample at a time, and gives its stored
weights back:

>>> board.train(counts, n_ticks)     # a training inference   # doctest: +SKIP
>>> board.learn(label, lr_decay=0)   # the update's cycles    # doctest: +SKIP
>>> acc0, acc1 = board.read_stores(config)   # config: the LearningConfig  # doctest: +SKIP

The driver only needs a *transport* with ``write(bytes)`` and ``read(n) -> bytes`` (which may
return fewer bytes, or none, when its timeout expires): :class:`SerialTransport` wraps
pyserial; the co-simulation bench (:mod:`spikeforge.boards.board_tb`) plugs in a UART model.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from spikeforge.boards.protocol import (
    STORE_MAX_WORDS,
    Cmd,
    Frame,
    FrameDecoder,
    Info,
    ProtocolError,
    Result,
    encode_frame,
    encode_items,
    encode_learn,
    encode_store,
    items_payload,
    parse_ack,
    parse_info,
    parse_learned,
    parse_result,
    parse_weights,
)

__all__ = ["Transport", "SerialTransport", "SpikeforgeBoard"]


class Transport(Protocol):
    def write(self, data: bytes) -> None: ...

    def read(self, n: int) -> bytes: ...


class SerialTransport:
    """A pyserial port (8N1) as a transport."""

    def __init__(self, port: str, baud: int = 115200, timeout: float = 2.0):
        try:
            import serial  # pyserial: needed only for a real port, not by the driver itself
        except ImportError as error:  # pragma: no cover - pyserial is a dependency
            raise ProtocolError("pyserial is not installed (pip install pyserial)") from error
        self.port = serial.Serial(port, baudrate=baud, bytesize=8, parity="N", stopbits=1,
                                  timeout=timeout)

    def write(self, data: bytes) -> None:
        self.port.write(data)
        self.port.flush()

    def read(self, n: int) -> bytes:
        return self.port.read(n)

    def close(self) -> None:
        self.port.close()


class SpikeforgeBoard:
    """One board top behind ``transport``. Every method sends one request and waits for its
    reply; an ERROR reply raises :class:`ProtocolError` with ``.code`` set, and so does a
    reply no board top of this protocol version can send (:func:`parse_info`,
    :func:`parse_result`: another protocol version, no inputs, a class out of range, other
    classes than ``INFO`` said)."""

    def __init__(self, transport: Transport, *, items_per_frame: int = 256):
        self.transport = transport
        self.items_per_frame = items_per_frame
        self.decoder = FrameDecoder()
        self.pending: list[Frame] = []
        self._info: Info | None = None

    @classmethod
    def open_serial(cls, port: str, baud: int = 115200, timeout: float = 2.0) -> "SpikeforgeBoard":
        return cls(SerialTransport(port, baud, timeout))

    # -- frames
    def send_raw(self, data: bytes) -> None:
        self.transport.write(bytes(data))

    def read_reply(self) -> Frame:
        """The next reply frame; :class:`ProtocolError` if none arrives before the transport's
        timeout."""
        while not self.pending:
            needed = 5
            buffer = self.decoder.buffer
            if len(buffer) >= 4:
                needed = max(1, 5 + (buffer[2] | (buffer[3] << 8)) - len(buffer))
            data = self.transport.read(needed)
            if not data:
                raise ProtocolError("no reply from the board (timeout)")
            self.pending += self.decoder.feed(data)
        return self.pending.pop(0)

    def request(self, cmd: int, payload: bytes = b"") -> Frame:
        self.send_raw(encode_frame(cmd, payload))
        return self.read_reply()

    # -- commands
    def ping(self) -> Info:
        self._info = parse_info(self.request(Cmd.PING))
        return self._info

    @property
    def info(self) -> Info:
        return self._info or self.ping()

    def clear(self) -> int:
        return parse_ack(self.request(Cmd.CLEAR))

    def load(self, items) -> int:
        """Append input items (see :func:`encode_items`); returns the items buffered."""
        items = [int(x) for x in items]
        buffered = None
        for k in range(0, len(items), self.items_per_frame):
            chunk = items[k:k + self.items_per_frame]
            buffered = parse_ack(self.request(Cmd.LOAD, items_payload(chunk)))
        return buffered if buffered is not None else parse_ack(self.request(Cmd.LOAD))

    def _n_classes(self) -> int | None:
        return self._info.n_classes if self._info is not None else None

    def run(self, n_ticks: int, *, train: bool = False) -> Result:
        """Run the buffered items for ``n_ticks`` ticks (``train``: a training inference, the
        ``TRAIN`` command of a learning build)."""
        if not 1 <= int(n_ticks) <= 0xFFFF:
            raise ValueError(f"n_ticks: must be in 1..65535, got {n_ticks}")
        cmd = Cmd.TRAIN if train else Cmd.RUN
        result = parse_result(self.request(cmd, int(n_ticks).to_bytes(2, "little")),
                              self._n_classes())
        if result.ticks_run > int(n_ticks):
            raise ProtocolError(f"RESULT reply: {result.ticks_run} ticks run of the "
                                f"{int(n_ticks)} asked for")
        return result

    def read_result(self) -> Result:
        return parse_result(self.request(Cmd.READ), self._n_classes())

    def infer(self, counts, n_ticks: int | None = None, *, train: bool = False) -> Result:
        """One inference: ``counts`` ``[ticks, n_inputs]`` event counts (run for ``n_ticks``,
        default ``ticks``; ``train``: a training inference, see :meth:`train`)."""
        counts = np.asarray(counts, dtype=np.int64)
        if counts.ndim != 2:
            raise ValueError(f"counts: must be [ticks, n_inputs], got shape {counts.shape}")
        info = self.info
        if counts.shape[1] != info.n_inputs:
            raise ValueError(f"counts: the board has {info.n_inputs} inputs, got {counts.shape[1]}")
        items = encode_items(counts)
        if len(items) > info.input_depth:
            raise ValueError(f"counts: {len(items)} input items (events + one marker per tick) "
                             f"exceed the board's input buffer of {info.input_depth}; build the "
                             f"board with a larger input_depth or send fewer ticks")
        self.clear()
        self.load(items)
        return self.run(n_ticks or counts.shape[0], train=train)

    def classify(self, batch, n_ticks: int | None = None) -> list[Result]:
        """:meth:`infer` for every ``[ticks, n_inputs]`` entry of ``batch``."""
        return [self.infer(counts, n_ticks) for counts in batch]

    # -- learning builds
    def _require_learning(self, what: str) -> Info:
        info = self.info
        if not info.learns:
            raise ProtocolError(f"{what}: the board was built without the learning engine "
                                f"(INFO learns = 0)")
        return info

    def train(self, counts, n_ticks: int | None = None) -> Result:
        """A training inference of ``counts`` (``[ticks, n_inputs]``; ``n_ticks`` default
        ``ticks``): it runs every tick (the decision does not stop it) and the learning
        engine records its first spikes for the next :meth:`learn`. Returns its ``RESULT``."""
        self._require_learning("train")
        return self.infer(counts, n_ticks, train=True)

    def learn(self, label: int, lr_decay: int = 0) -> int:
        """Apply the rule to the last training inference with ``label`` (the true class) and
        the step's right shift ``lr_decay`` (0..31); returns the cycles the update took."""
        info = self._require_learning("learn")
        return parse_learned(self.request(Cmd.LEARN, encode_learn(label, lr_decay,
                                                                  info.n_classes)))

    def read_words(self, address: int, count: int) -> list[int]:
        """``count`` consecutive store words from ``address`` (``STORE`` requests of at most
        :data:`STORE_MAX_WORDS` words)."""
        self._require_learning("read_words")
        words: list[int] = []
        for k in range(0, int(count), STORE_MAX_WORDS):
            n = min(STORE_MAX_WORDS, int(count) - k)
            words += parse_weights(self.request(Cmd.STORE, encode_store(address + k, n)), n)
        return words

    def read_stores(self, config) -> tuple[np.ndarray, np.ndarray]:
        """Both stores of the learning engine ``config`` (a
        :class:`~spikeforge.ir.learning.LearningConfig`, the host's description of the
        board's engine): ``[n_inputs, n_hidden]`` and ``[n_hidden, n_outputs]`` int64, the
        ``acc`` whose ``>> frac_bits`` the forward pass reads."""
        info = self._require_learning("read_stores")
        if (info.n_inputs, info.n_classes) != (config.n_inputs, config.n_outputs):
            raise ValueError(f"config: a {config.n_inputs}-{config.n_hidden}-{config.n_outputs} "
                             f"engine, the board has {info.n_inputs} inputs and "
                             f"{info.n_classes} classes")
        # the address map of spikeforge.hdl.learning.StoreMap (not imported: no Amaranth here)
        shapes = ((config.n_inputs, config.n_hidden), (config.n_hidden, config.n_outputs))
        index_bits = max(1, (max(r * c for r, c in shapes) - 1).bit_length())
        stores = []
        for layer, (rows, cols) in enumerate(shapes):
            words = self.read_words(layer << index_bits, rows * cols)
            stores.append(np.array(words, dtype=np.int64).reshape(rows, cols))
        return stores[0], stores[1]
