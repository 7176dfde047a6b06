"""DecisionUnit against Python models of the contract's decisions."""

import gc
import random
import warnings

import pytest
from amaranth.hdl import UnusedElaboratable

from spikeforge.hdl.decision import DecisionUnit
from spikeforge.ir.params import Decision
from spikeforge.sim.blocks.decision import SpikeCountDecision
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


@pytest.mark.parametrize("one_core", [False, True])
@pytest.mark.parametrize("seed", range(12))
def test_first_spike_matches_model(seed, one_core):
    """Three output cores interleaved (every decision at a tick's end), or one output core
    (``decisive_below = n_classes``: every decision at its first spike, without the unit's
    ``seen``/``best`` registers), with indices >= n_classes that must be ignored."""
    rng = random.Random(seed)
    n_classes = 10
    dut = DecisionUnit(n_classes, Decision.FIRST_SPIKE, index_bits=4,
                       decisive_below=n_classes if one_core else 0)
    p = [0.0, 0.02, 0.1, 0.3][seed % 4]
    ticks = random_ticks(rng, n_classes, 4, n_ticks=6, n_cores=1 if one_core else 3,
                         p_spike=p)
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


def _spike_count_by_cycle(n, stim, cycles):
    """Drives a SPIKE_COUNT unit of ``n`` classes with ``stim`` (``{cycle: {"clear": 1,
    "hit": class, "finish": 1}}``) for ``cycles`` cycles beside the cycle model: ``valid``,
    and while valid the class, count and ``none``, must agree in every cycle. Returns the
    unit's ``(cls, count, none)`` of each valid cycle."""
    dut = DecisionUnit(n, Decision.SPIKE_COUNT)
    model = SpikeCountDecision(n)
    seen = []

    async def bench(ctx):
        for c in range(cycles):
            s = stim.get(c, {})
            ctx.set(dut.spike.valid, int("hit" in s))
            ctx.set(dut.spike.payload, s.get("hit", 0))
            ctx.set(dut.finish, s.get("finish", 0))
            ctx.set(dut.clear, s.get("clear", 0))
            assert ctx.get(dut.valid) == model.valid, c
            if model.valid:
                got = (ctx.get(dut.cls), ctx.get(dut.count), ctx.get(dut.none))
                assert got == (model.cls, model.best_c, model.none), c
                seen.append(got)
            model.clock(s.get("hit"), 0, False, bool(s.get("finish")), bool(s.get("clear")))
            await ctx.tick()

    run(dut, bench)
    return seen


def test_spike_count_scans_once_per_clear_and_ignores_spikes_during_the_scan():
    """The scan shifts the counters out (no multiplexer indexed by the scan position), so it
    runs once per ``clear``: a ``finish`` in the cycle between its last read and ``valid``
    does not start a second scan (which would read the emptied counters and overwrite the
    class with 0), and a spike during the scan is not counted (it would land in a shifted
    counter). Cycle by cycle against the cycle model."""
    # cycle 2: finish (reads of classes 0..4 at 3..7, the last compare at 8); class 4 spikes
    # at 4 and 5, during the scan, before its read (counted, they would make it win); cycle
    # 8: finish again; class 0 spikes at 10 and 11, after the scan
    stim = {0: {"clear": 1}, 1: {"hit": 1}, 2: {"finish": 1}, 4: {"hit": 4}, 5: {"hit": 4},
            8: {"finish": 1}, 10: {"hit": 0}, 11: {"hit": 0}}
    # valid from cycle 9 on: class 1, one spike
    assert _spike_count_by_cycle(5, stim, 22) == [(1, 1, 0)] * (22 - 9)


def test_spike_count_counts_a_spike_in_the_cycle_after_its_handshake():
    """The counters take a spike one cycle after its handshake (no reset or handshake in
    their enables): a spike in the cycle before ``finish`` is counted, one in ``finish``'s own
    cycle is not (the scan has begun when it would land); ``clear`` in a spike's cycle drops
    it. Cycle by cycle against the cycle model, and against the expected class: counted at
    the handshake, the spike at ``finish`` would tie class 1 with class 3 (class 1 wins
    ties); without the spike just before ``finish`` class 3 would not win either."""
    # cycle 0: clear with a spike of class 3 (dropped); 1: class 1; 3, 4: class 3;
    # 5: class 1 with finish (not counted): class 3 wins, 2 spikes to 1
    stim = {0: {"clear": 1, "hit": 3}, 1: {"hit": 1}, 3: {"hit": 3}, 4: {"hit": 3},
            5: {"hit": 1, "finish": 1}}
    # valid from cycle 5 + n + 2 = 11 on
    assert _spike_count_by_cycle(4, stim, 14) == [(3, 2, 0)] * (14 - 11)


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


# -- deciding at the spike (decisive_below) ----------------------------------------------------

def contiguous_ticks(rng, n_cores, per_core, n_ticks, p_spike):
    """Spikes per tick from ``n_cores`` output cores owning contiguous class ranges (core k:
    ``k * per_core ..``), each core's spikes ascending, the cores interleaved at random --
    what the system's merger delivers."""
    ticks = []
    for _ in range(n_ticks):
        streams = [[k * per_core + i for i in range(per_core) if rng.random() < p_spike]
                   for k in range(n_cores)]
        arrival = []
        while any(streams):
            arrival.append(rng.choice([s for s in streams if s]).pop(0))
        ticks.append(arrival)
    return ticks


def decide_cycle(ticks, decisive_below):
    """The contract's class, and the bench cycle from which ``valid`` is expected: the
    cycle after the first spike below ``decisive_below`` of the first tick with a spike,
    else the cycle after that tick's ``tick_done``. The bench sends one spike per cycle from
    cycle 1 and a tick_done after each tick."""
    cycle = 1
    for spikes in ticks:
        for s in spikes:
            if s < decisive_below:
                return min(spikes[:spikes.index(s) + 1]), cycle + 1
            cycle += 1
        if spikes:
            return min(spikes), cycle + 1
        cycle += 1
    return -1, None


def run_timed(dut, ticks):
    """One spike per cycle, tick_done after each tick; returns (cycle valid rose, cls)."""
    result = {}

    async def bench(ctx):
        ctx.set(dut.clear, 1)
        await ctx.tick()  # cycle 0
        ctx.set(dut.clear, 0)
        cycle = 1
        for t, spikes in enumerate(ticks):
            ctx.set(dut.tick, t)
            for s in spikes + [None]:  # None: the tick_done cycle
                ctx.set(dut.spike.valid, int(s is not None))
                ctx.set(dut.spike.payload, s or 0)
                ctx.set(dut.tick_done, int(s is None))
                if ctx.get(dut.valid) and "rose" not in result:
                    result.update(rose=cycle, cls=ctx.get(dut.cls), stop=ctx.get(dut.stop))
                await ctx.tick()
                cycle += 1
        ctx.set(dut.tick_done, 0)
        ctx.set(dut.spike.valid, 0)
        if ctx.get(dut.valid) and "rose" not in result:
            result.update(rose=cycle, cls=ctx.get(dut.cls), stop=ctx.get(dut.stop))

    run(dut, bench)
    return result.get("rose"), result.get("cls")


@pytest.mark.parametrize("n_cores", [1, 2, 3])
def test_first_spike_decides_at_the_first_core_s_spike(n_cores):
    """``decisive_below`` = the first output core's classes: valid (and stop) from the cycle
    after the first spike of that core in the first tick with a spike, with the lowest index
    seen in the tick, whatever other cores sent before; a tick with spikes of the other cores
    only is decided after its tick_done. Always the contract's class."""
    per_core = 4
    n_classes = n_cores * per_core
    at_spike = 0
    for seed in range(10):
        rng = random.Random(seed)
        ticks = contiguous_ticks(rng, n_cores, per_core, 4, rng.choice([0.1, 0.3]))
        cls, rose = decide_cycle(ticks, per_core)
        assert cls == first_spike(ticks, n_classes)[0]
        got = run_timed(DecisionUnit(n_classes, Decision.FIRST_SPIKE, decisive_below=per_core),
                        ticks)
        if cls < 0:
            assert got == (None, None)
            continue
        assert got == (rose, cls), (seed, ticks)
        at_spike += any(s < per_core for s in next(t for t in ticks if t))
    assert at_spike > 3


def test_deciding_every_spike_of_interleaved_cores_would_be_wrong():
    """Why ``decisive_below`` is the first core's classes only: with cores interleaved, a
    unit told that every class decides at once reports a higher class that arrived first."""
    ticks = [[], [5, 1, 6]]  # core 1 (classes 4..7) sends 5 before core 0's 1
    assert run_timed(DecisionUnit(8, Decision.FIRST_SPIKE, decisive_below=4), ticks)[1] == 1
    assert run_timed(DecisionUnit(8, Decision.FIRST_SPIKE, decisive_below=8), ticks)[1] == 5


def test_decisive_below_is_checked():
    with warnings.catch_warnings():  # the refused unit is never elaborated
        warnings.simplefilter("ignore", UnusedElaboratable)
        with pytest.raises(ValueError, match="decisive_below"):
            DecisionUnit(4, Decision.FIRST_SPIKE, decisive_below=5)
        gc.collect()
