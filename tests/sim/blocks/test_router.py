"""The routing block models (sim/blocks/router.py) against their RTL blocks (hdl/router.py).

Each model runs in lockstep with its RTL block in Amaranth's simulator: the same random
stimulus (valid with random gaps, held with its payload until the handshake, as the stream
rules say; random ``ready`` stalls) goes to both, and every cycle every output the model
states (``ready``, ``valid``, payload, ``level``, ``idle``) must be the RTL's (the router's
``i.ready`` only while a packet is offered: without one the RTL derives it from the idle
payload's route, the model from no destination, and no handshake can happen). The
documented timing (grant order, latency, capacity) is then checked with exact cycles, and a
merger's width (a design not built) by hand.
"""

import random

import pytest
from amaranth.hdl import ClockDomain, Module, Value, unsigned

from spikeforge.hdl.router import Multicast, SpikeMerger, SpikePacket, SpikeRouter, StreamFIFO
from spikeforge.sim.blocks.router import (
    FifoModel,
    MergerModel,
    MulticastModel,
    RouterModel,
    packets_of,
)
from tests.util import run


class Source:
    """A stream source that obeys the stream rules: after a random gap it offers its next
    item and holds it until :meth:`taken`."""

    def __init__(self, rng, items, p_gap):
        self.rng, self.items, self.p_gap = rng, list(items), p_gap
        self.current = None

    def offer(self):
        if self.current is None and self.items and self.rng.random() >= self.p_gap:
            self.current = self.items.pop(0)
        return self.current

    def taken(self):
        self.current = None


# -- merger -------------------------------------------------------------------------------

def merger_lockstep(seed, K, cycles=400):
    rng = random.Random(seed)
    index_bits = 4
    dut = SpikeMerger(K, index_bits)
    model = MergerModel(K)
    sources = [Source(rng, [rng.randrange(1 << index_bits) for _ in range(60)],
                      rng.choice([0.0, 0.5, 0.8])) for _ in range(K)]
    p_ready = rng.choice([1.0, 0.6, 0.3])
    grants = []

    async def bench(ctx):
        for c in range(cycles):
            spikes = [s.offer() for s in sources]
            for k, x in enumerate(spikes):
                ctx.set(dut.i[k].valid, int(x is not None))
                ctx.set(dut.i[k].payload, x or 0)
            o_ready = rng.random() < p_ready
            ctx.set(dut.o.ready, int(o_ready))
            model.arbitrate(spikes, o_ready)
            ready = [ctx.get(dut.i[k].ready) for k in range(K)]
            assert ready == [int(model.grant == k) for k in range(K)], (seed, c, spikes)
            assert ctx.get(dut.o.valid) == model.o_valid, (seed, c)
            assert ctx.get(dut.idle) == model.idle, (seed, c)
            if model.o_valid:
                got = dut.layout.unpack(ctx.get(Value.cast(dut.o.payload)))
                assert got == model.o_payload, (seed, c)
            if model.grant is not None:
                sources[model.grant].taken()
                grants.append(model.grant)
            model.clock()
            await ctx.tick()

    run(dut, bench)
    return grants


@pytest.mark.parametrize("seed,K", [(0, 1), (1, 2), (2, 3), (3, 4)])
def test_merger_matches_rtl_cycle_by_cycle(seed, K):
    grants = merger_lockstep(seed, K)
    assert len(set(grants)) == K  # every input was granted at some point


def test_merger_grants_round_robin_from_last_plus_one():
    m = MergerModel(4)
    # after reset last = K - 1: input 0 first, then 2 (the next requester after 0)
    m.arbitrate([5, None, 7, None], True)
    assert m.grant == 0
    m.clock()
    m.arbitrate([5, None, 7, None], True)
    assert m.grant == 2
    m.clock()
    # all four request: the order continues after the last grant (2): 3, 0, 1, 2, 3
    order = []
    for _ in range(5):
        m.arbitrate([1, 2, 3, 4], True)
        order.append(m.grant)
        m.clock()
    assert order == [3, 0, 1, 2, 3]


def test_a_wide_merger_grants_up_to_its_width_in_round_robin_order():
    """Width 2 (not built: the output layer's link of two events a cycle, sim/planned.py):
    the first two requesters from ``last + 1`` in one cycle, as one bundle in grant order,
    ``last`` the second; one requester alone is a bundle of one; routed to every
    destination of a packet in it."""
    m = MergerModel(4, width=2)
    m.arbitrate([5, None, 7, 8], True)
    assert (m.grant, m.grants) == (0, (0, 2))
    m.clock()
    assert m.o_valid and m.o_payload == ((0, 5), (2, 7)) and m.last == 2
    m.arbitrate([5, 6, 7, 8], False)  # not taken: nothing granted, the bundle stays
    assert m.grants == () and m.grant is None
    m.clock()
    m.arbitrate([5, 6, 7, 8], True)  # taken: 3 and 0 (after 2)
    assert m.grants == (3, 0)
    m.clock()
    m.arbitrate([None, 6, None, None], True)
    m.clock()
    assert m.o_payload == ((1, 6),) and packets_of(m.o_payload) == ((1, 6),)
    assert packets_of((1, 6)) == ((1, 6),)
    router = RouterModel([{0}, {1}, {0, 2}, set()], 3)
    assert router.dests(((0, 5), (2, 7))) == {0, 2} and router.dests((1, 4)) == {1}
    with pytest.raises(ValueError, match="width"):
        MergerModel(2, width=0)


def test_merger_output_register_timing():
    m = MergerModel(2)
    # granted at cycle 0 -> offered from cycle 1 (registered output), payload (input, index)
    m.arbitrate([None, 9], False)
    assert m.grant == 1 and not m.o_valid
    m.clock()
    assert m.o_valid and m.o_payload == (1, 9) and not m.idle
    # register full and not taken: no grant, the packet stays
    m.arbitrate([3, None], False)
    assert m.grant is None and not m.handshake
    m.clock()
    assert m.o_valid and m.o_payload == (1, 9)
    # taken in this cycle: the register is free, the next packet is granted in the same cycle
    m.arbitrate([3, None], True)
    assert m.handshake and m.grant == 0
    m.clock()
    assert m.o_payload == (0, 3)
    m.arbitrate([None, None], True)
    m.clock()
    assert m.idle


# -- FIFO ---------------------------------------------------------------------------------

def fifo_lockstep(seed, depth, cycles=500):
    rng = random.Random(seed)
    dut = StreamFIFO(unsigned(8), depth)
    model = FifoModel(depth)
    source = Source(rng, [rng.randrange(256) for _ in range(cycles)], rng.choice([0.0, 0.4]))
    p_ready = rng.choice([0.8, 0.5, 0.2])
    peak = []

    async def bench(ctx):
        for c in range(cycles):
            item = source.offer()
            ctx.set(dut.i.valid, int(item is not None))
            ctx.set(dut.i.payload, item or 0)
            o_ready = rng.random() < p_ready
            ctx.set(dut.o.ready, int(o_ready))
            assert ctx.get(dut.i.ready) == model.i_ready, (seed, depth, c)
            assert ctx.get(dut.o.valid) == model.o_valid, (seed, depth, c)
            assert ctx.get(dut.level) == model.level, (seed, depth, c)
            assert ctx.get(dut.idle) == model.idle, (seed, depth, c)
            if model.o_valid:
                assert ctx.get(dut.o.payload) == model.o_payload, (seed, depth, c)
            peak.append(model.level)
            write = item is not None and model.i_ready
            if write:
                source.taken()
            model.clock(write, item, o_ready)
            await ctx.tick()

    run(dut, bench)
    return max(peak)


@pytest.mark.parametrize("seed,depth", [(0, 1), (1, 2), (2, 3), (3, 5)])
def test_fifo_matches_rtl_cycle_by_cycle(seed, depth):
    assert fifo_lockstep(seed, depth) == depth  # the queue filled up at least once


@pytest.mark.parametrize("depth", [1, 2, 3, 5])
def test_fifo_latency_and_capacity(depth):
    f = FifoModel(depth)
    # a packet written into an empty queue at cycle 0 is offered from cycle 2 (depth 1: 1)
    f.clock(True, "p0", False)
    offered = 1
    while not f.o_valid:
        f.clock(False, None, False)
        offered += 1
    assert offered == (1 if depth == 1 else 2)
    assert f.o_payload == "p0" and f.level == 1
    # with o.ready low the queue takes exactly `depth` packets
    writes = 1
    while f.i_ready:
        f.clock(True, f"p{writes}", False)
        writes += 1
        assert writes <= depth
    assert writes == depth and f.level == depth and not f.idle
    # draining keeps the order
    out = []
    for _ in range(2 * depth + 2):
        if f.o_valid:
            out.append(f.o_payload)
        f.clock(False, None, True)
    assert out == [f"p{k}" for k in range(depth)] and f.idle


def test_fifo_full_throughput_from_depth_3():
    for depth, per_cycle in [(2, False), (3, True), (5, True)]:
        f = FifoModel(depth)
        taken = 0
        for c in range(40):
            write = f.i_ready
            out = f.o_valid
            taken += out
            f.clock(write, c, True)
        assert (taken >= 37) == per_cycle, (depth, taken)


# -- multicast and router -----------------------------------------------------------------

def multicast_lockstep(seed, M, cycles=400, withdraw=False):
    """Multicast and MulticastModel in lockstep; returns the cycles in which a packet was
    partly delivered. ``withdraw``: the source also drops (withdraws) a packet now and then
    while it is partly delivered, as the system's input port does at a first-spike stop."""
    rng = random.Random(seed)
    dut = Multicast(unsigned(8), M, withdraw=withdraw)
    model = MulticastModel(M, withdraw)
    source = Source(rng, [(n, rng.randrange(1 << M)) for n in range(cycles)], 0.3)
    p_ready = [rng.choice([1.0, 0.5, 0.2]) for _ in range(M)]
    partial = [0]

    async def bench(ctx):
        for c in range(cycles):
            item = source.offer()
            if withdraw and model.done and rng.random() < 0.3:
                source.taken()  # dropped: the next packet must reach every destination
                item = None
            valid = item is not None
            payload, mask = item if valid else (0, 0)
            dests = {d for d in range(M) if mask >> d & 1}
            ctx.set(dut.i.valid, int(valid))
            ctx.set(dut.i.payload, payload)
            ctx.set(dut.dest, mask)
            o_ready = [rng.random() < p for p in p_ready]
            for d in range(M):
                ctx.set(dut.o[d].ready, int(o_ready[d]))
            model.offer(valid, dests, o_ready)
            assert [ctx.get(dut.o[d].valid) for d in range(M)] == list(map(int, model.o_valid)), \
                (seed, c, item, model.done)
            assert ctx.get(dut.i.ready) == model.i_ready, (seed, c, item)
            assert ctx.get(dut.idle) == model.idle, (seed, c)
            partial[0] += bool(model.done)
            if model.handshake:
                source.taken()
            model.clock()
            await ctx.tick()

    top = Module()  # one output is combinational (no done register): a clock of its own
    top.submodules.dut = dut
    top.domains.sync = ClockDomain()
    run(top, bench)
    return partial[0]


@pytest.mark.parametrize("seed,M,withdraw", [(0, 1, False), (1, 3, False), (2, 4, False),
                                             (3, 3, True), (5, 2, True)])
def test_multicast_matches_rtl_cycle_by_cycle(seed, M, withdraw):
    partial = multicast_lockstep(seed, M, withdraw=withdraw)
    assert M == 1 or partial > 10  # deliveries spread over several cycles happened


def test_a_withdrawn_packet_is_forgotten_only_with_withdraw():
    """The system's input port withdraws an event at a first-spike stop; without
    ``withdraw`` the multicast remembered who had taken it and kept the next packet from
    those destinations (stop 50)."""
    for withdraw, first_reaches in ((True, [True, True]), (False, [False, True])):
        mc = MulticastModel(2, withdraw)
        mc.offer(True, {0, 1}, [True, False])  # 0 takes the packet, 1 stalls
        mc.clock()
        mc.offer(False, {0, 1}, [True, True])  # withdrawn
        mc.clock()
        mc.offer(True, {0, 1}, [False, False])  # the next packet
        assert mc.o_valid == first_reaches


def test_multicast_remembers_who_took_the_packet():
    mc = MulticastModel(3)
    mc.offer(True, {0, 2}, [True, True, False])  # 0 takes it, 2 stalls
    assert mc.o_valid == [True, False, True] and not mc.i_ready
    mc.clock()
    mc.offer(True, {0, 2}, [True, True, True])  # 0 is not offered it again
    assert mc.o_valid == [False, False, True] and mc.i_ready and mc.handshake
    mc.clock()
    mc.offer(True, {0}, [True, False, False])  # the next packet is offered to 0 again
    assert mc.o_valid == [True, False, False] and mc.i_ready
    mc.clock()
    mc.offer(True, set(), [False] * 3)  # no destination: accepted at once
    assert mc.i_ready and not any(mc.o_valid)


def router_lockstep(seed, cycles=400):
    rng = random.Random(seed)
    layout = SpikePacket(2, 4)
    M = 3
    table = [[0, 2], [1], [], [0, 1, 2]]  # source 2: no route (consumed, goes nowhere)
    rng.shuffle(table)
    dut = SpikeRouter(layout, M, table)
    model = RouterModel(table, M)
    source = Source(rng, [(rng.randrange(4), rng.randrange(16)) for _ in range(cycles)], 0.3)
    p_ready = [rng.choice([1.0, 0.5, 0.2]) for _ in range(M)]
    delivered = {d: [] for d in range(M)}

    async def bench(ctx):
        for c in range(cycles):
            item = source.offer()
            valid = item is not None
            ctx.set(dut.i.valid, int(valid))
            ctx.set(Value.cast(dut.i.payload), layout.pack(*item) if valid else 0)
            o_ready = [rng.random() < p for p in p_ready]
            for d in range(M):
                ctx.set(dut.o[d].ready, int(o_ready[d]))
            model.route(valid, item, o_ready)
            assert [ctx.get(dut.o[d].valid) for d in range(M)] == list(map(int, model.o_valid)), \
                (seed, c, item)
            if valid:  # without a packet the RTL's ready follows the idle payload's route
                assert ctx.get(dut.i.ready) == model.i_ready, (seed, c, item)
            assert ctx.get(dut.idle) == model.idle, (seed, c)
            assert ctx.get(dut.unrouted) == (valid and not table[item[0]]), (seed, c)
            for d in model.taken:
                delivered[d].append(item)
            if model.handshake:
                source.taken()
            model.clock()
            await ctx.tick()

    run(dut, bench)
    return table, delivered


@pytest.mark.parametrize("seed", range(2))
def test_router_matches_rtl_cycle_by_cycle(seed):
    table, delivered = router_lockstep(seed)
    for d, got in delivered.items():
        assert got and all(d in table[s] for s, _ in got)
