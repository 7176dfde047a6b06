"""The engine's register slice in Amaranth's simulator: every item once and in order under
random stalls on both sides, one item per cycle when neither side stalls, one cycle from write
to read; its copies of the output register equal to it in every cycle."""

import random

import pytest
from amaranth.sim import Simulator

from spikeforge.boards.engine import RegisterSlice


def _run(p_write: float, p_read: float, seed: int, n_items: int = 200):
    """Writes ``n_items`` (offering one in a cycle with probability ``p_write``) and reads with
    ``r_en`` high with probability ``p_read``; returns the items read and, per cycle, the
    (w_en, w_rdy, r_en, r_rdy) the testbench saw before the edge. Its three copies of
    ``r_data``'s low 15 bits (``r_copies``) are checked in every cycle."""
    dut = RegisterSlice(16, copies=3, copy_width=15)
    rng = random.Random(seed)
    items = [rng.randrange(1 << 16) for _ in range(n_items)]
    got, trace = [], []

    async def bench(ctx):
        k = 0
        for _ in range(20 * n_items):
            w_en = k < n_items and rng.random() < p_write
            r_en = rng.random() < p_read
            ctx.set(dut.w_en, w_en)
            ctx.set(dut.w_data, items[k] if w_en else 0)
            ctx.set(dut.r_en, r_en)
            w_rdy, r_rdy, r_data = ctx.get(dut.w_rdy), ctx.get(dut.r_rdy), ctx.get(dut.r_data)
            trace.append((w_en, w_rdy, r_en, r_rdy))
            assert [ctx.get(c) for c in dut.r_copies] == [r_data & 0x7FFF] * 3
            if r_en and r_rdy:
                got.append(r_data)
            if w_en and w_rdy:
                k += 1
            await ctx.tick()
            if len(got) == n_items:
                return

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return items, got, trace


@pytest.mark.parametrize("p_write,p_read,seed", [(0.5, 0.5, 0), (0.9, 0.3, 1), (0.3, 0.9, 2),
                                                 (1.0, 0.7, 3)])
def test_every_item_once_and_in_order_under_stalls(p_write, p_read, seed):
    items, got, trace = _run(p_write, p_read, seed)
    assert got == items
    # the skid register is used: some write is taken while the output is full and not read
    assert any(w and wr and rr and not r for w, wr, r, rr in trace), "no stall exercised"


def test_one_item_per_cycle_and_one_cycle_latency():
    items, got, trace = _run(1.0, 1.0, 4, n_items=50)
    assert got == items
    # cycle 0 writes the first item, cycle 1 reads it; then one item in and out per cycle
    assert trace[0][3] == 0 and all(t == (True, 1, True, 1) for t in trace[1:50])
