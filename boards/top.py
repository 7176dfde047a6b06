"""Board tops: UART + protocol engine + the inference engine, and the pins of a board.

:class:`BoardCore` is everything but the pins (``rx``/``tx``/``leds`` ports): it is what the
co-simulation runs. :class:`BoardTop` puts it on a platform: it requests the board's UART
and LEDs and clocks the design from the board clock directly (12 MHz on the iCEBreaker,
25 MHz on the ULX3S, 100 MHz on the Arty A7; no PLL yet -- the achieved Fmax is reported
against that constraint, see :mod:`spikeforge.boards.build`).

LEDs: 0 heartbeat (about 1 Hz), 1 an inference is running, 2 the last request was answered
with an ERROR frame, 3 UART receive activity (stretched).
"""

from __future__ import annotations

from amaranth.build import ResourceError
from amaranth.hdl import Elaboratable, Module, Signal
from amaranth.lib import io, wiring
from amaranth.lib.wiring import In, Out

from .host_protocol import ProtocolEngine
from .uart import UARTRx, UARTTx

__all__ = ["BoardCore", "BoardTop", "DEFAULT_BAUD"]

DEFAULT_BAUD = 115200


class BoardCore(wiring.Component):
    """UART RX -> :class:`ProtocolEngine` (with its ``SpikeforgeSystem``) -> UART TX.

    ``system``: a :class:`~spikeforge.hdl.system.SpikeforgeSystem`; ``divisor``: clock cycles
    per UART bit; ``clk_hz``: clock frequency (for the heartbeat and the default timeout of
    0.1 s); ``timeout_cycles``: the protocol's inter-byte timeout (default ``clk_hz / 10``).
    Ports: ``rx`` (In 1), ``tx`` (Out 1), ``leds`` (Out 4).
    """

    def __init__(self, system, *, divisor: int, clk_hz: float = 12e6, input_depth: int = 1024,
                 timeout_cycles: int | None = None):
        self.system = system
        self.divisor = divisor
        self.clk_hz = clk_hz
        self.input_depth = input_depth
        self.timeout_cycles = timeout_cycles or max(16, int(clk_hz / 10))
        super().__init__({"rx": In(1, init=1), "tx": Out(1, init=1), "leds": Out(4)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.uart_rx = rx = UARTRx(self.divisor)
        m.submodules.uart_tx = tx = UARTTx(self.divisor)
        m.submodules.engine = engine = ProtocolEngine(
            self.system, input_depth=self.input_depth, timeout_cycles=self.timeout_cycles)
        wiring.connect(m, rx.o, engine.rx)
        wiring.connect(m, engine.tx, tx.i)
        m.d.comb += [rx.rx.eq(self.rx), self.tx.eq(tx.tx)]

        beat = Signal(range(max(2, int(self.clk_hz // 2)) + 1))
        heartbeat = Signal()
        with m.If(beat == 0):
            m.d.sync += [beat.eq(max(1, int(self.clk_hz // 2))), heartbeat.eq(~heartbeat)]
        with m.Else():
            m.d.sync += beat.eq(beat - 1)
        activity = Signal(range(max(2, int(self.clk_hz // 20)) + 1))
        with m.If(rx.o.valid):
            m.d.sync += activity.eq(max(1, int(self.clk_hz // 20)))
        with m.Elif(activity != 0):
            m.d.sync += activity.eq(activity - 1)
        m.d.comb += self.leds.eq(
            heartbeat | (engine.running << 1) | (engine.error << 2) | ((activity != 0) << 3))
        return m


class BoardTop(Elaboratable):
    """:class:`BoardCore` on the pins of ``platform`` (an amaranth-boards platform): the
    ``uart`` resource 0 and up to four ``led`` resources."""

    def __init__(self, system, *, baud: int = DEFAULT_BAUD, input_depth: int = 1024):
        self.system = system
        self.baud = baud
        self.input_depth = input_depth

    def elaborate(self, platform):
        from .uart import divisor_for

        m = Module()
        clk_hz = platform.default_clk_frequency
        core = BoardCore(self.system, divisor=divisor_for(clk_hz, self.baud), clk_hz=clk_hz,
                         input_depth=self.input_depth)
        m.submodules.board = core
        uart = platform.request("uart", 0, dir="-")
        m.submodules.uart_rx_pin = rx_pin = io.Buffer("i", uart.rx)
        m.submodules.uart_tx_pin = tx_pin = io.Buffer("o", uart.tx)
        m.d.comb += [core.rx.eq(rx_pin.i), tx_pin.o.eq(core.tx)]
        for n in range(4):
            try:
                led = platform.request("led", n, dir="-")
            except ResourceError:  # the board has fewer LEDs
                break
            m.submodules[f"led_{n}"] = pin = io.Buffer("o", led)
            m.d.comb += pin.o.eq(core.leds[n])
        return m
