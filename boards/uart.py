"""UART receiver and transmitter (8N1) with stream interfaces.

Both take ``divisor`` = clock cycles per bit (``round(f_clk / baud)``, at least 4). The
receiver synchronises ``rx`` through two flip-flops, waits for a falling edge (start bit),
samples the start bit again half a bit later (a glitch shorter than half a bit is ignored),
then samples the 8 data bits (LSB first) and the stop bit in the middle of each bit. A byte
with a low stop bit is dropped and pulses ``framing_error``; the receiver then waits for the
line to go high again before it looks for the next start bit. The transmitter sends start
bit, 8 data bits LSB first, stop bit (one bit time of idle high).

Streams follow :mod:`amaranth.lib.stream`: ``UARTRx.o`` has no backpressure buffer beyond one
byte (a byte not taken before the next byte's stop bit is overwritten and pulses
``overrun``); ``UARTTx.i`` is ready when the transmitter is idle.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["UARTRx", "UARTTx", "divisor_for"]


def divisor_for(clk_hz: float, baud: int) -> int:
    """Cycles per bit for ``baud`` at ``clk_hz``; raises ``ValueError`` if the rounding error
    exceeds 2 % (a UART tolerates about 4 % between both ends) or the divisor is below 4."""
    divisor = round(clk_hz / baud)
    if divisor < 4:
        raise ValueError(f"baud {baud} is too fast for a {clk_hz / 1e6:g} MHz clock "
                         f"(divisor {divisor} < 4)")
    error = abs(clk_hz / divisor - baud) / baud
    if error > 0.02:
        raise ValueError(f"baud {baud} at {clk_hz / 1e6:g} MHz: divisor {divisor} is "
                         f"{error:.1%} off (more than 2 %)")
    return divisor


def _check_divisor(divisor):
    if not isinstance(divisor, int) or divisor < 4:
        raise ValueError(f"divisor: must be an integer >= 4, got {divisor!r}")


class UARTRx(wiring.Component):
    """8N1 receiver. Ports: ``rx`` (In 1, the pin, idle high), ``o`` (Out stream of bytes),
    ``framing_error`` / ``overrun`` (Out 1, one-cycle pulses)."""

    def __init__(self, divisor: int):
        _check_divisor(divisor)
        self.divisor = divisor
        super().__init__({
            "rx": In(1, init=1),
            "o": Out(stream.Signature(8)),
            "framing_error": Out(1),
            "overrun": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        d = self.divisor
        sync1 = Signal(init=1)
        rx = Signal(init=1)
        m.d.sync += [sync1.eq(self.rx), rx.eq(sync1)]

        timer = Signal(range(d + 1))
        # ``timer == 0``, a register beside the counter (timer is assigned only through
        # ``load`` and ``count_down``): the compare in front of the state machine's and the
        # shift register's enables was on the iCE40 builds' near-critical paths
        timer_zero = Signal(init=1)
        bit = Signal(range(10))
        shreg = Signal(8)

        def load(value):  # a constant
            m.d.sync += [timer.eq(value), timer_zero.eq(int(value == 0))]

        def count_down():  # (not at zero)
            m.d.sync += [timer.eq(timer - 1), timer_zero.eq(timer == 1)]

        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        m.d.sync += [self.framing_error.eq(0), self.overrun.eq(0)]

        with m.FSM():
            with m.State("IDLE"):
                with m.If(~rx):
                    load(d // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                with m.If(timer_zero):
                    with m.If(rx):  # glitch, not a start bit
                        m.next = "IDLE"
                    with m.Else():
                        load(d - 1)
                        m.d.sync += bit.eq(0)
                        m.next = "DATA"
                with m.Else():
                    count_down()
            with m.State("DATA"):
                with m.If(timer_zero):
                    load(d - 1)
                    m.d.sync += [shreg.eq(Cat(shreg[1:], rx)), bit.eq(bit + 1)]
                    with m.If(bit == 7):
                        m.next = "STOP"
                with m.Else():
                    count_down()
            with m.State("STOP"):
                with m.If(timer_zero):
                    with m.If(rx):
                        with m.If(self.o.valid & ~self.o.ready):
                            m.d.sync += self.overrun.eq(1)
                        m.d.sync += [self.o.payload.eq(shreg), self.o.valid.eq(1)]
                        m.next = "IDLE"
                    with m.Else():
                        m.d.sync += self.framing_error.eq(1)
                        m.next = "BREAK"
                with m.Else():
                    count_down()
            with m.State("BREAK"):  # wait for the line to be idle (high) again
                with m.If(rx):
                    m.next = "IDLE"
        return m


class UARTTx(wiring.Component):
    """8N1 transmitter. Ports: ``i`` (In stream of bytes), ``tx`` (Out 1, the pin, idle
    high), ``busy`` (Out 1)."""

    def __init__(self, divisor: int):
        _check_divisor(divisor)
        self.divisor = divisor
        super().__init__({
            "i": In(stream.Signature(8)),
            "tx": Out(1, init=1),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        d = self.divisor
        timer = Signal(range(d))
        shreg = Signal(10, init=0x3FF)  # stop . data . start, shifted out LSB first
        bits = Signal(range(11))
        # ``timer == 0`` and ``bits == 0`` as registers beside their counters (as in the
        # receiver): the byte's handshake then enables the shift register from two
        # flip-flops, not from the compares (stop 36: the sender's state -> the handshake ->
        # the timer's compare -> the pin's register, an iCE40 critical path, 20.0 ns)
        timer_zero = Signal(init=1)
        idle = Signal(init=1)
        m.d.comb += [
            self.i.ready.eq(idle),
            self.busy.eq(~idle),
            self.tx.eq(shreg[0]),
        ]

        def next_bit(n_bits, done):  # the next bit is on the pin for d cycles (d >= 4)
            m.d.sync += [bits.eq(n_bits), idle.eq(done), timer.eq(d - 1), timer_zero.eq(0)]

        with m.If(idle):
            with m.If(self.i.valid):
                m.d.sync += shreg.eq(Cat(0, self.i.payload, 1))
                next_bit(10, 0)
        with m.Elif(timer_zero):
            m.d.sync += shreg.eq(Cat(shreg[1:], 1))
            next_bit(bits - 1, bits == 1)
        with m.Else():
            m.d.sync += [timer.eq(timer - 1), timer_zero.eq(timer == 1)]
        return m
