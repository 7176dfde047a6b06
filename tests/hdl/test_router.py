"""Router blocks under random valid gaps and random ready stalls, checked by scoreboards."""

import gc
import random
import warnings
from collections import defaultdict

import pytest
from amaranth.hdl import Cat, Module, Signal, UnusedElaboratable, Value, unsigned
from amaranth.lib import wiring

from spikeforge.hdl.router import (
    Multicast,
    RoundRobinArbiter,
    SpikeMerger,
    SpikePacket,
    SpikeRouter,
    StreamFIFO,
)
from tests.util import check_multicast, check_per_source_order, drive, run, sink

# -- FIFO ---------------------------------------------------------------------------------

@pytest.mark.parametrize("depth", [1, 2, 5])
def test_fifo_preserves_order_under_stalls(depth):
    rng = random.Random(depth)
    layout = SpikePacket(3, 5)
    dut = StreamFIFO(layout, depth)
    items = [rng.randrange(256) for _ in range(300)]
    got = []
    levels = []

    async def source(ctx):
        await drive(ctx, dut.i, items, rng, p_gap=0.3)
        while len(got) < len(items):
            await ctx.tick()
        await ctx.tick().repeat(3)
        levels.append((ctx.get(dut.level), ctx.get(dut.idle)))

    async def out(ctx):
        await sink(ctx, dut.o, rng, 0.5, got)

    run(dut, source, background=[out])
    assert got == items
    assert levels == [(0, 1)]


# -- round-robin arbiter --------------------------------------------------------------------

def starvation_violations(trace, n_inputs):
    """``trace``: per clock edge, (tuple of input valids, granted input or None). An input
    that requests continuously must be granted before more than ``n_inputs - 1`` grants go
    to others. Returns the violations."""
    waiting = [0] * n_inputs  # grants to others while input k waits
    errors = []
    for cycle, (valids, granted) in enumerate(trace):
        for k in range(n_inputs):
            if granted == k:
                if waiting[k] > n_inputs - 1:
                    errors.append(f"cycle {cycle}: input {k} waited {waiting[k]} grants")
                waiting[k] = 0
            elif valids[k] and granted is not None:
                waiting[k] += 1
            elif not valids[k]:
                waiting[k] = 0
        for k in range(n_inputs):  # still waiting beyond the bound
            if waiting[k] > n_inputs - 1 and granted != k:
                errors.append(f"cycle {cycle}: input {k} starved ({waiting[k]} grants)")
                waiting[k] = 0
    return errors


def _input_monitor(dut, trace):
    async def monitor(ctx):
        sigs = [s for i in dut.i for s in (i.valid, i.ready)]
        async for _, _, *values in ctx.tick().sample(*sigs):
            valids = tuple(values[0::2])
            readys = values[1::2]
            granted = [k for k in range(len(dut.i)) if valids[k] and readys[k]]
            assert len(granted) <= 1, f"two inputs accepted at once: {granted}"
            trace.append((valids, granted[0] if granted else None))
    return monitor


def test_arbiter_rotates_when_all_request():
    K = 4
    dut = RoundRobinArbiter(unsigned(8), K)
    rng = random.Random(1)
    trace, got = [], []
    per_input = {k: [k * 50 + n for n in range(40)] for k in range(K)}

    def source(k):
        async def tb(ctx):
            await drive(ctx, dut.i[k], per_input[k], rng)
        return tb

    async def out(ctx):
        await sink(ctx, dut.o, rng, 1.0, got)

    run(dut, *[source(k) for k in range(K)], background=[out, _input_monitor(dut, trace)])
    grants = [g for _, g in trace if g is not None]
    assert grants == [n % K for n in range(K * 40)]
    cycles = [n for n, (_, g) in enumerate(trace) if g is not None]
    assert cycles == list(range(cycles[0], cycles[0] + len(cycles)))  # one packet per cycle
    assert starvation_violations(trace, K) == []


@pytest.mark.parametrize("seed", range(3))
def test_arbiter_random_traffic(seed):
    K = 3 + seed
    dut = RoundRobinArbiter(unsigned(10), K)
    rng = random.Random(seed)
    per_input = {k: [k * 100 + n for n in range(rng.randrange(20, 80))] for k in range(K)}
    trace, got = [], []
    grant_log = []

    def source(k):
        async def tb(ctx):
            await drive(ctx, dut.i[k], per_input[k], rng, p_gap=rng.choice([0.0, 0.3, 0.7]))
        return tb

    async def out(ctx):
        await sink(ctx, dut.o, rng, 0.6, got)

    async def grant_monitor(ctx):
        async for _, _, valid, ready, payload, grant in ctx.tick().sample(
                dut.o.valid, dut.o.ready, dut.o.payload, dut.grant):
            if valid and ready:
                grant_log.append((payload, grant))

    async def wait_all(ctx):
        total = sum(map(len, per_input.values()))
        while len(got) < total:
            await ctx.tick()
        await ctx.tick().repeat(5)

    run(dut, *[source(k) for k in range(K)], wait_all,
        background=[out, _input_monitor(dut, trace), grant_monitor])
    assert check_per_source_order(per_input, got, key=lambda p: p // 100) == []
    assert starvation_violations(trace, K) == []
    assert all(p // 100 == g for p, g in grant_log)  # `grant` names the packet's input


def test_fairness_checker_detects_fixed_priority():
    # A fixed-priority arbiter (always the lowest requesting input) starves input 2.
    K = 3
    trace = [((1, 1, 1), 0 if n % 2 == 0 else 1) for n in range(10)]
    assert starvation_violations(trace, K)
    rotating = [((1, 1, 1), n % K) for n in range(10)]
    assert starvation_violations(rotating, K) == []


# -- merger ---------------------------------------------------------------------------------

def test_merger_tags_sources_and_keeps_order():
    ids = [5, 2, 7]
    dut = SpikeMerger(3, 6, source_ids=ids)
    layout = dut.layout
    rng = random.Random(7)
    per_input = {k: [rng.randrange(64) for _ in range(60)] for k in range(3)}
    got = []

    def source(k):
        async def tb(ctx):
            await drive(ctx, dut.i[k], per_input[k], rng, p_gap=0.4)
        return tb

    async def out(ctx):
        await sink(ctx, dut.o, rng, 0.5, got)

    async def wait_all(ctx):
        while len(got) < 180:
            await ctx.tick()
        await ctx.tick().repeat(3)
        assert ctx.get(dut.idle)

    run(dut, *[source(k) for k in range(3)], wait_all, background=[out])
    sent = {ids[k]: per_input[k] for k in range(3)}
    by_source = defaultdict(list)
    for p in got:
        s, i = layout.unpack(p)
        by_source[s].append(i)
    assert dict(by_source) == sent  # exactly once, in order, right tag


# -- multicast ------------------------------------------------------------------------------

class NaiveMulticast(Multicast):
    """Deliberately broken: no record of which outputs already took the packet."""

    def elaborate(self, platform):
        m = Module()
        toggle = Signal()  # gives the design a sync domain for the simulator's clock
        m.d.sync += toggle.eq(~toggle)
        for d, o in enumerate(self.o):
            m.d.comb += [o.payload.eq(self.i.payload), o.valid.eq(self.i.valid & self.dest[d])]
        m.d.comb += self.i.ready.eq(
            Cat(o.ready | ~self.dest[d] for d, o in enumerate(self.o)).all())
        return m


def _run_multicast(cls, seed, n=200, M=3):
    rng = random.Random(seed)
    dut = cls(unsigned(12), M)
    # payload = (sequence number << 3) | mask: unique packets, mask travels with them
    items = [(k << 3) | rng.randrange(1 << M) for k in range(n)]
    received = {d: [] for d in range(M)}

    async def source(ctx):
        for item in items:
            while rng.random() < 0.3:
                await ctx.tick()
            ctx.set(dut.i.valid, 1)
            ctx.set(dut.i.payload, item)
            ctx.set(dut.dest, item & 7)
            await ctx.tick().until(dut.i.ready)
            ctx.set(dut.i.valid, 0)
        await ctx.tick().repeat(10)

    def out(d, p):
        async def tb(ctx):
            await sink(ctx, dut.o[d], rng, p, received[d], name=f"o[{d}]")
        return tb

    run(dut, source, background=[out(d, p) for d, p in zip(range(M), (0.9, 0.5, 0.2))])
    return check_multicast(items, received, lambda p: {d for d in range(M) if p >> d & 1})


def test_multicast_exactly_once_in_order():
    for seed in range(3):
        assert _run_multicast(Multicast, seed) == []


def test_broken_multicast_is_detected():
    errors = _run_multicast(NaiveMulticast, 0)
    assert any("duplicate" in e for e in errors), errors


def test_scoreboard_detects_errors():
    sent = [0x10, 0x21, 0x32]
    dests = lambda p: {p & 0xF}  # noqa: E731
    ok = {0: [0x10], 1: [0x21], 2: [0x32]}
    assert check_multicast(sent, ok, dests) == []
    assert any("duplicate" in e for e in check_multicast(sent, {**ok, 1: [0x21, 0x21]}, dests))
    assert any("missing" in e for e in check_multicast(sent, {**ok, 2: []}, dests))
    assert any("misrouted" in e for e in check_multicast(sent, {**ok, 0: [0x10, 0x21]}, dests))
    sent2 = [0x10, 0x20]
    assert any("order" in e for e in check_multicast(sent2, {0: [0x20, 0x10]}, lambda p: {0}))
    assert check_per_source_order({0: [1, 2]}, [2, 1], key=lambda p: 0) == [
        "source 0: order not preserved"]
    assert check_per_source_order({0: [1, 2]}, [1, 2, 2], key=lambda p: 0)


# -- router ---------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(3))
def test_router_random(seed):
    rng = random.Random(100 + seed)
    layout = SpikePacket(2, 6)
    M = 4
    routes = [rng.randrange(1, 1 << M) for _ in range(3)] + [0]  # source 3: no route
    dut = SpikeRouter(layout, M, routes)
    per_source = {s: list(range(60)) for s in range(4)}
    items = []
    while any(per_source.values()):
        s = rng.choice([s for s in per_source if per_source[s]])
        items.append(layout.pack(s, per_source[s].pop(0)))
    received = {d: [] for d in range(M)}
    unrouted = []

    async def source(ctx):
        await drive(ctx, dut.i, items, rng, p_gap=0.3)
        await ctx.tick().repeat(10)

    def out(d):
        p_ready = rng.choice([1.0, 0.6, 0.1])
        async def tb(ctx):
            await sink(ctx, dut.o[d], rng, p_ready, received[d], name=f"o[{d}]")
        return tb

    async def drops(ctx):
        async for _, _, flag, p in ctx.tick().sample(dut.unrouted, Value.cast(dut.i.payload)):
            if flag:
                unrouted.append(p)

    run(dut, source, background=[out(d) for d in range(M)] + [drops])
    errors = check_multicast(items, received,
                             lambda p: set(dut.destinations(layout.unpack(p)[0])))
    assert errors == []
    assert unrouted == [p for p in items if layout.unpack(p)[0] == 3]


def test_router_rejects_bad_tables():
    layout = SpikePacket(1, 4)
    with warnings.catch_warnings():  # the half-built components would warn when collected
        warnings.simplefilter("ignore", UnusedElaboratable)
        with pytest.raises(ValueError, match="routes"):
            SpikeRouter(layout, 2, [[0, 2]])
        with pytest.raises(ValueError, match="routes"):
            SpikeRouter(layout, 2, [0b100])
        with pytest.raises(ValueError, match="source 2"):
            SpikeRouter(layout, 2, [1, 1, 1])
        with pytest.raises(ValueError, match="out_index_bits"):
            SpikeRouter(layout, 2, [1], offsets={(0, 0): 3})
        gc.collect()


class _System(wiring.Component):
    """3 cores' outputs -> merger -> FIFO -> router (with translation) -> FIFO per output."""

    def __init__(self, routes, offsets):
        self.merger = SpikeMerger(3, 5)
        self.router = SpikeRouter(self.merger.layout, 3, routes, offsets=offsets,
                                  out_index_bits=8)
        self.fifos = [StreamFIFO(self.merger.layout, 4)] + [StreamFIFO(unsigned(8), 3)
                                                             for _ in range(3)]
        super().__init__({
            "i": self.merger.signature.members["i"],
            "o": self.router.signature.members["o"],
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.merger = self.merger
        m.submodules.router = self.router
        for k, f in enumerate(self.fifos):
            m.submodules[f"fifo{k}"] = f
        for k in range(3):
            wiring.connect(m, wiring.flipped(self.i[k]), self.merger.i[k])
        wiring.connect(m, self.merger.o, self.fifos[0].i)
        wiring.connect(m, self.fifos[0].o, self.router.i)
        for d in range(3):
            wiring.connect(m, self.router.o[d], self.fifos[1 + d].i)
            wiring.connect(m, self.fifos[1 + d].o, wiring.flipped(self.o[d]))
        return m


def test_merge_route_translate_system():
    rng = random.Random(42)
    routes = [0b011, 0b110, 0b101]
    # source s's neuron n arrives at destination d as presynaptic index 32*s + n + d
    offsets = {(s, d): 32 * s + d for s in range(3) for d in range(3)}
    dut = _System(routes, offsets)
    per_input = {k: [rng.randrange(32) for _ in range(50)] for k in range(3)}
    received = {d: [] for d in range(3)}

    expected_total = sum(len(per_input[s]) for d in range(3) for s in range(3)
                         if routes[s] >> d & 1)

    def source(k):
        async def tb(ctx):
            await drive(ctx, dut.i[k], per_input[k], rng, p_gap=0.2)
        return tb

    def out(d):
        async def tb(ctx):
            await sink(ctx, dut.o[d], rng, [0.8, 0.3, 0.5][d], received[d])
        return tb

    async def wait_all(ctx):
        for _ in range(20_000):
            if sum(map(len, received.values())) >= expected_total:
                break
            await ctx.tick()
        await ctx.tick().repeat(30)  # anything extra (a duplicate) would show up by now

    run(dut, *[source(k) for k in range(3)], wait_all, background=[out(d) for d in range(3)])
    for d in range(3):
        sent = {s: [32 * s + n + d for n in per_input[s]] for s in range(3) if routes[s] >> d & 1}
        assert check_per_source_order(sent, received[d], key=lambda p, d=d: (p - d) // 32) == []


@pytest.mark.parametrize("kind", ["fifo", "router"])
def test_full_throughput(kind):
    """With no gaps and every output always ready, one packet passes per cycle."""
    layout = SpikePacket(2, 6)
    if kind == "fifo":
        dut = StreamFIFO(layout, 3)
    else:
        dut = SpikeRouter(layout, 3, [0b111, 0b101, 0b010, 0b001])
    outs = [dut.o] if kind == "fifo" else list(dut.o)
    items = [layout.pack(n % 4, n) for n in range(50)]
    handshakes = []

    async def source(ctx):
        await drive(ctx, dut.i, items, random.Random(0))
        await ctx.tick().repeat(5)

    async def monitor(ctx):
        for o in outs:
            ctx.set(o.ready, 1)
        async for cycle_values in ctx.tick().sample(dut.i.valid, dut.i.ready):
            handshakes.append(bool(cycle_values[2] and cycle_values[3]))

    run(dut, source, background=[monitor])
    first = handshakes.index(True)
    assert handshakes[first:first + len(items)] == [True] * len(items)
