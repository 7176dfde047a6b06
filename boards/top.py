"""Board tops: UART + protocol engine + the inference engine, and the pins of a board.

:class:`BoardCore` is everything but the pins (``rx``/``tx``/``leds`` ports): it is what the
co-simulation runs. :class:`BoardTop` puts it on a platform: it requests the board's UART
and LEDs and clocks the design either from the board clock directly (``pll=None``: 12 MHz
on the iCEBreaker, 25 MHz on the ULX3S, 100 MHz on the Arty A7) or from a PLL
(:class:`~spikeforge.boards.pll.PLLClock`, iCE40 and ECP5; ``spikeforge build --clk-mhz``);
the UART divisor, the heartbeat and the protocol timeout then count cycles of the PLL
clock, and nextpnr's Fmax is checked against the PLL frequency (see
:mod:`spikeforge.boards.build`).

LEDs: 0 heartbeat (about 1 Hz: 0.7-1.4 Hz), 1 an inference is running, 2 the last request
was answered with an ERROR frame, 3 UART receive activity (stretched to about 50 ms).
"""

from __future__ import annotations

import math

from amaranth.build import ResourceError
from amaranth.hdl import Cat, ClockDomain, Elaboratable, Module, Signal
from amaranth.lib import io, wiring
from amaranth.lib.wiring import In, Out

from spikeforge.boards.engine import ProtocolEngine
from spikeforge.boards.pll import ECP5PLLSetting, ICE40PLLSetting, PLLClock
from spikeforge.boards.uart import UARTRx, UARTTx, divisor_for
from spikeforge.ir.errors import ConfigError

__all__ = ["BoardCore", "BoardTop", "DEFAULT_BAUD"]

DEFAULT_BAUD = 115200


#: cycles per strobe of the LED prescaler: the LED counters count strobes, so that no long
#: carry chain limits the clock (a 23-bit down-counter with a load held the iCEBreaker's
#: digits top at 22 MHz: nextpnr split its carry chain into pieces of a few bits)
_PRESCALE = 4096


def _heartbeat(m: Module, clk_hz: float) -> tuple[Signal, Signal]:
    """``(heartbeat, strobe)``: a square wave of about 1 Hz (0.7-1.4 Hz: the top bit of a
    free-running counter of ``round(log2(clk_hz))`` bits) and a one-cycle strobe every
    :data:`_PRESCALE` cycles. The counter is split in two at the prescaler, the low part's
    carry registered into the high part, so each carry chain is short."""
    low_bits = _PRESCALE.bit_length() - 1
    high_bits = max(1, round(math.log2(clk_hz)) - low_bits)
    low = Signal(low_bits)
    high = Signal(high_bits)
    strobe = Signal()
    m.d.sync += [Cat(low, strobe).eq(low + 1), high.eq(high + strobe)]
    return high[-1], strobe


class BoardCore(wiring.Component):
    """UART RX -> :class:`ProtocolEngine` (with its ``SpikeforgeSystem``) -> UART TX.

    ``system``: a :class:`~spikeforge.hdl.system.SpikeforgeSystem`; ``divisor``: clock cycles
    per UART bit; ``clk_hz``: clock frequency (for the heartbeat and the default timeout of
    0.1 s); ``timeout_cycles``: the protocol's inter-byte timeout (default ``clk_hz / 10``).
    ``load_stage``: the engine's (:class:`ProtocolEngine`).
    Ports: ``rx`` (In 1), ``tx`` (Out 1), ``leds`` (Out 4).
    """

    def __init__(self, system, *, divisor: int, clk_hz: float = 12e6, input_depth: int = 1024,
                 timeout_cycles: int | None = None, load_stage: bool = False):
        self.system = system
        self.load_stage = load_stage
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
            self.system, input_depth=self.input_depth, timeout_cycles=self.timeout_cycles,
            load_stage=self.load_stage)
        wiring.connect(m, rx.o, engine.rx)
        wiring.connect(m, engine.tx, tx.i)
        m.d.comb += [rx.rx.eq(self.rx), self.tx.eq(tx.tx)]

        heartbeat, strobe = _heartbeat(m, self.clk_hz)
        # LED 3: stretched to about 50 ms, counted in strobes of the heartbeat's prescaler
        stretch = max(1, round(self.clk_hz / 20 / _PRESCALE))
        activity = Signal(range(stretch + 1))
        with m.If(rx.o.valid):
            m.d.sync += activity.eq(stretch)
        with m.Elif(strobe & (activity != 0)):
            m.d.sync += activity.eq(activity - 1)
        m.d.comb += self.leds.eq(
            heartbeat | (engine.running << 1) | (engine.error << 2) | ((activity != 0) << 3))
        return m


class BoardTop(Elaboratable):
    """:class:`BoardCore` on the pins of ``platform`` (an amaranth-boards platform): the
    ``uart`` resource 0 and up to four ``led`` resources.

    ``pll``: ``None`` runs the design from the board clock (the platform makes the ``sync``
    domain); a setting from :func:`~spikeforge.boards.pll.pll_for` (for the board's family
    and clock) puts that PLL in front of it (:class:`~spikeforge.boards.pll.PLLClock`).
    ``load_stage``: the engine's (:class:`ProtocolEngine`; the ECP5 builds set it)."""

    def __init__(self, system, *, baud: int = DEFAULT_BAUD, input_depth: int = 1024,
                 pll: ICE40PLLSetting | ECP5PLLSetting | None = None,
                 load_stage: bool = False):
        if pll is not None and not isinstance(pll, (ICE40PLLSetting, ECP5PLLSetting)):
            raise ConfigError(f"pll: expected a setting from pll_for(), got {pll!r}")
        self.system = system
        self.baud = baud
        self.input_depth = input_depth
        self.pll = pll
        self.load_stage = load_stage

    @property
    def clk_hz(self) -> float | None:
        """The PLL's achieved frequency, or ``None`` (the board clock)."""
        return self.pll.f_out_hz if self.pll is not None else None

    def design_clk_hz(self, platform) -> float:
        """The frequency of the design's ``sync`` clock on ``platform``: the PLL's achieved
        output, or the board clock."""
        board_hz = platform.default_clk_frequency
        if self.pll is None:
            return board_hz
        if abs(board_hz - self.pll.f_in_hz) > 1e-6 * board_hz:
            raise ConfigError(f"pll: the setting was planned for a {self.pll.f_in_hz / 1e6:g} "
                              f"MHz board clock, the platform's is {board_hz / 1e6:g} MHz")
        return self.pll.f_out_hz

    def uart_divisor(self, platform) -> int:
        """Clock cycles per UART bit at :meth:`design_clk_hz`."""
        try:
            return divisor_for(self.design_clk_hz(platform), self.baud)
        except ValueError as error:
            raise ConfigError(f"baud: {error}") from None

    def elaborate(self, platform):
        m = Module()
        clk_hz = self.design_clk_hz(platform)
        if self.pll is not None:
            # the domain is defined here, at the top, and driven by the PLL below it
            m.submodules.clocking = clocking = PLLClock(self.pll)
            m.domains.sync = ClockDomain("sync", reset_less=clocking.domain_reset_less)
        core = BoardCore(self.system, divisor=self.uart_divisor(platform), clk_hz=clk_hz,
                         input_depth=self.input_depth, load_stage=self.load_stage)
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
