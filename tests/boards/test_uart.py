"""UART RX/TX in Amaranth's simulator: loopback of random bytes, framing errors, glitches."""

import random

import pytest
from amaranth.hdl import Module
from amaranth.sim import Simulator

from spikeforge.boards.uart import UARTRx, UARTTx, _check_divisor, divisor_for


def test_divisor_for():
    assert divisor_for(12e6, 115200) == 104
    assert divisor_for(25e6, 115200) == 217
    with pytest.raises(ValueError, match="too fast"):
        divisor_for(12e6, 12_000_000)
    with pytest.raises(ValueError, match="off"):
        divisor_for(100, 23)
    with pytest.raises(ValueError, match="divisor"):
        _check_divisor(3)


def _bits(byte, stop=1):
    return [0] + [(byte >> i) & 1 for i in range(8)] + [stop]


@pytest.mark.parametrize("divisor", [4, 7])
def test_rx_receives_and_flags_framing_errors(divisor):
    rx = UARTRx(divisor)
    rng = random.Random(divisor)
    data = [rng.randrange(256) for _ in range(12)]
    got, framing = [], []

    async def drive(ctx):
        ctx.set(rx.rx, 1)
        await ctx.tick().repeat(5)
        # a glitch shorter than half a bit is not a start bit
        ctx.set(rx.rx, 0)
        await ctx.tick()
        ctx.set(rx.rx, 1)
        await ctx.tick().repeat(3 * divisor)
        for k, byte in enumerate(data):
            stop = 0 if k == 5 else 1
            for bit in _bits(byte, stop):
                ctx.set(rx.rx, bit)
                await ctx.tick().repeat(divisor)
            if not stop:
                ctx.set(rx.rx, 1)
                await ctx.tick().repeat(2 * divisor)
        await ctx.tick().repeat(4 * divisor)

    async def collect(ctx):
        ctx.set(rx.o.ready, 1)
        async for _, _, valid, payload, ferr in ctx.tick().sample(rx.o.valid, rx.o.payload,
                                                                   rx.framing_error):
            if valid:
                got.append(payload)
            if ferr:
                framing.append(1)

    sim = Simulator(rx)
    sim.add_clock(1e-6)
    sim.add_testbench(drive)
    sim.add_testbench(collect, background=True)
    sim.run()
    assert got == data[:5] + data[6:]
    assert framing == [1]


def test_tx_rx_loopback():
    divisor = 5
    m = Module()
    m.submodules.tx = tx = UARTTx(divisor)
    m.submodules.rx = rx = UARTRx(divisor)
    m.d.comb += rx.rx.eq(tx.tx)
    rng = random.Random(3)
    data = [rng.randrange(256) for _ in range(20)]
    got = []

    async def send(ctx):
        for byte in data:
            ctx.set(tx.i.valid, 1)
            ctx.set(tx.i.payload, byte)
            await ctx.tick().until(tx.i.ready)
            ctx.set(tx.i.valid, 0)
            if rng.random() < 0.3:
                await ctx.tick().repeat(rng.randint(1, 30))
        await ctx.tick().repeat(12 * divisor)

    async def collect(ctx):
        ctx.set(rx.o.ready, 1)
        async for _, _, valid, payload in ctx.tick().sample(rx.o.valid, rx.o.payload):
            if valid:
                got.append(payload)

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(send)
    sim.add_testbench(collect, background=True)
    sim.run()
    assert got == data
