"""DecisionUnit against Python models of the contract's decisions."""

import random

import pytest

from spikeforge.hdl.decision import DecisionUnit
from spikeforge.ir.params import Decision
from tests.util import run

# -- Python models (the contract) -------------------------------------------------------------

def first_spike(ticks, n_classes):
    """``ticks[t]``: indices that spiked in tick t (any order). -> (class, tick), (-1, None)."""
    for t, spikes in enumerate(ticks):
        valid = [s for s in spikes if s < n_classes]
        if valid:
            return min(valid), t
    return -1, None


def spike_count(ticks, n_classes, count_bits):
    counts = [0] * n_classes
    for spikes in ticks:
        for s in spikes:
            if s < n_classes:
                counts[s] = min(counts[s] + 1, (1 << count_bits) - 1)
    best = max(range(n_classes), key=lambda k: (counts[k], -k))  # ties: lowest index
    return best, counts[best]


def first_arrival(ticks, n_classes):  # wrong on purpose: ignores ties within a tick
    for t, spikes in enumerate(ticks):
        valid = [s for s in spikes if s < n_classes]
        if valid:
            return valid[0], t
    return -1, None


def random_ticks(rng, n_classes, index_bits, n_ticks, n_cores=3, p_spike=0.15):
    """Spikes per tick as they would arrive from ``n_cores`` cores sharing the output layer:
    each core's spikes in ascending order, the cores' streams interleaved at random."""
    ticks = []
    for _ in range(n_ticks):
        streams = [[] for _ in range(n_cores)]
        for idx in range(1 << index_bits):
            if rng.random() < p_spike:
                streams[idx % n_cores].append(idx)
        arrival = []
        while any(streams):
            arrival.append(rng.choice([s for s in streams if s]).pop(0))
        ticks.append(arrival)
    return ticks


def simulate(dut, ticks, rng, *, finish=True, membrane=None):
    result = {}

    async def bench(ctx):
        ctx.set(dut.clear, 1)
        await ctx.tick()
        ctx.set(dut.clear, 0)
        stop_seen = []
        for t, spikes in enumerate(ticks):
            ctx.set(dut.tick, t)
            for s in spikes:
                while rng.random() < 0.3:
                    await ctx.tick()
                ctx.set(dut.spike.valid, 1)
                ctx.set(dut.spike.payload, s)
                await ctx.tick()
                ctx.set(dut.spike.valid, 0)
            await ctx.tick().repeat(rng.randrange(1, 3))
            ctx.set(dut.tick_done, 1)
            await ctx.tick()
            ctx.set(dut.tick_done, 0)
            stop_seen.append(ctx.get(dut.stop))  # the cycle after tick_done
        if membrane is not None:
            for v in membrane:
                while rng.random() < 0.3:
                    await ctx.tick()
                ctx.set(dut.membrane.valid, 1)
                ctx.set(dut.membrane.payload, v)
                await ctx.tick().until(dut.membrane.ready)
                ctx.set(dut.membrane.valid, 0)
        if finish:
            ctx.set(dut.finish, 1)
            await ctx.tick()
            ctx.set(dut.finish, 0)
        for _ in range(dut.n_classes + 5):
            await ctx.tick()
        result.update(valid=ctx.get(dut.valid), cls=ctx.get(dut.cls), none=ctx.get(dut.none),
                      first_tick=ctx.get(dut.first_tick), count=ctx.get(dut.count),
                      stop=stop_seen)
        # clear forgets everything
        ctx.set(dut.clear, 1)
        await ctx.tick()
        ctx.set(dut.clear, 0)
        await ctx.tick()
        result["after_clear"] = (ctx.get(dut.valid), ctx.get(dut.stop))

    run(dut, bench)
    return result


@pytest.mark.parametrize("seed", range(12))
def test_first_spike_matches_model(seed):
    rng = random.Random(seed)
    n_classes = 10
    dut = DecisionUnit(n_classes, Decision.FIRST_SPIKE, index_bits=4)
    p = [0.0, 0.02, 0.1, 0.3][seed % 4]
    ticks = random_ticks(rng, n_classes, 4, n_ticks=6, p_spike=p)
    cls, tick = first_spike(ticks, n_classes)
    r = simulate(dut, ticks, rng)
    assert r["valid"] == 1
    assert r["cls"] == cls
    assert r["none"] == (cls == -1)
    if cls >= 0:
        assert r["first_tick"] == tick
        assert r["stop"] == [int(t >= tick) for t in range(len(ticks))]  # early exit
    else:
        assert r["stop"] == [0] * len(ticks)
    assert r["after_clear"] == (0, 0)


def test_first_spike_ties_are_checked():
    # The random interleaving puts a higher index first in some deciding ticks: the naive
    # "first arrival" model must disagree with the contract (and the DUT) there.
    disagreements = 0
    for seed in range(40):
        rng = random.Random(seed)
        ticks = random_ticks(rng, 10, 4, n_ticks=6, p_spike=0.3)
        if first_arrival(ticks, 10) != first_spike(ticks, 10):
            disagreements += 1
            if disagreements == 1:
                r = simulate(DecisionUnit(10, Decision.FIRST_SPIKE, index_bits=4), ticks, rng)
                assert (r["cls"], r["first_tick"]) == first_spike(ticks, 10)
                assert (r["cls"], r["first_tick"]) != first_arrival(ticks, 10)
    assert disagreements > 5


def test_first_spike_without_finish_waits():
    rng = random.Random(0)
    dut = DecisionUnit(4, Decision.FIRST_SPIKE)
    r = simulate(dut, [[], []], rng, finish=False)
    assert r["valid"] == 0


@pytest.mark.parametrize("seed", range(8))
def test_spike_count_matches_model(seed):
    rng = random.Random(seed)
    n_classes, count_bits = 7, 3  # small counters: saturation is exercised
    dut = DecisionUnit(n_classes, Decision.SPIKE_COUNT, index_bits=3, count_bits=count_bits)
    ticks = random_ticks(rng, n_classes, 3, n_ticks=[0, 3, 8, 20][seed % 4], p_spike=0.25)
    cls, count = spike_count(ticks, n_classes, count_bits)
    r = simulate(dut, ticks, rng)
    assert r["valid"] == 1
    assert (r["cls"], r["count"]) == (cls, count)
    assert r["none"] == (count == 0)
    assert r["stop"] == [0] * len(ticks)
    assert r["after_clear"] == (0, 0)


def test_spike_count_tie_goes_to_lowest_index():
    rng = random.Random(5)
    dut = DecisionUnit(6, Decision.SPIKE_COUNT)
    ticks = [[5, 3], [3, 5, 1], [5, 3]]  # 3 and 5 tie with 3 spikes
    r = simulate(dut, ticks, rng)
    assert (r["cls"], r["count"]) == (3, 3)
    wrong = max(range(6), key=lambda k: (sum(t.count(k) for t in ticks), k))  # highest-index tie
    assert r["cls"] != wrong


@pytest.mark.parametrize("seed", range(6))
def test_membrane_max_matches_model(seed):
    rng = random.Random(seed)
    n_classes = 9
    values = [rng.randrange(-4, 4) for _ in range(n_classes)]  # many ties
    dut = DecisionUnit(n_classes, Decision.MEMBRANE_MAX, membrane_bits=8)
    r = simulate(dut, [], rng, finish=False, membrane=values)
    assert r["valid"] == 1
    assert r["cls"] == max(range(n_classes), key=lambda k: (values[k], -k))
