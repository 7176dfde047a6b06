"""Shared helpers of the HDL tests: random stream drivers, checking sinks, scoreboards."""

from __future__ import annotations

from collections import defaultdict

from amaranth.hdl import Value
from amaranth.sim import Simulator


def run(dut, *testbenches, background=(), vcd=None, timeout_cycles=200_000):
    """Simulate ``dut`` with a 1-unit clock until every foreground testbench returns."""
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    for tb in testbenches:
        sim.add_testbench(tb)
    for tb in background:
        sim.add_testbench(tb, background=True)
    if vcd:
        with sim.write_vcd(vcd):
            sim.run()
    else:
        sim.run()


async def drive(ctx, stream, items, rng, p_gap=0.0, log=None):
    """Send ``items`` (ints) on ``stream`` in order, with random idle gaps (valid low) between
    them. Obeys the stream rules: valid and payload stay put until the handshake."""
    payload = Value.cast(stream.payload)
    for item in items:
        while rng.random() < p_gap:
            await ctx.tick()
        ctx.set(stream.valid, 1)
        ctx.set(payload, item)
        await ctx.tick().until(stream.ready)
        if log is not None:
            log.append(item)
        ctx.set(stream.valid, 0)


class StreamRuleError(AssertionError):
    pass


async def sink(ctx, stream, rng, p_ready, log, name="sink"):
    """Random-ready sink (background): records every handshake's payload in ``log`` and checks
    that valid never falls and payload never changes while a packet waits."""
    payload = Value.cast(stream.payload)
    has_ready = isinstance(stream.ready, Value) and not hasattr(stream.ready, "value")
    prev = None
    if has_ready:
        ctx.set(stream.ready, int(rng.random() < p_ready))
    async for _, _, valid, ready, data in ctx.tick().sample(stream.valid, stream.ready, payload):
        if prev is not None and prev[0] and not prev[1]:
            if not valid or data != prev[2]:
                raise StreamRuleError(f"{name}: valid/payload changed while waiting: "
                                      f"{prev} -> {(valid, ready, data)}")
        if valid and ready:
            log.append(data)
        prev = (valid, ready, data)
        if has_ready:
            ctx.set(stream.ready, int(rng.random() < p_ready))


def check_multicast(sent, received, destinations):
    """Scoreboard of a multicast delivery.

    ``sent``: packets in input order; ``received[d]``: packets that output d delivered, in
    order; ``destinations(packet)``: the outputs that must receive it. Returns a list of error
    strings (empty: every packet went to exactly its destinations, exactly once, in order)."""
    all_errors = []
    for d, got in received.items():
        errors = []
        expected = [p for p in sent if d in destinations(p)]
        seen = defaultdict(int)
        for p in got:
            seen[p] += 1
        for p, n in seen.items():
            if n > 1:
                errors.append(f"output {d}: packet {p:#x} delivered {n} times (duplicate)")
            if d not in destinations(p):
                errors.append(f"output {d}: packet {p:#x} misrouted")
        for p in expected:
            if p not in seen:
                errors.append(f"output {d}: packet {p:#x} missing")
        if not errors and got != expected:
            errors.append(f"output {d}: order differs from input order")
        all_errors += errors
    return all_errors


def check_per_source_order(sent_by_source, received, key):
    """``sent_by_source[s]``: packets of source s in order; ``received``: merged packets;
    ``key(p)``: the source of p. Exactly once, and order preserved per source."""
    errors = []
    by_source = defaultdict(list)
    for p in received:
        by_source[key(p)].append(p)
    for s in set(sent_by_source) | set(by_source):
        want, got = list(sent_by_source.get(s, [])), by_source.get(s, [])
        if sorted(got) != sorted(want):
            extra = len(got) - len(want)
            errors.append(f"source {s}: received {len(got)} packets, sent {len(want)}"
                          + (" (duplicate)" if extra > 0 else "")
                          + (" or wrong payloads" if extra == 0 else ""))
        elif got != want:
            errors.append(f"source {s}: order not preserved")
    return errors
