"""cocotb testbench of the harness self-test, test_runner.py (runs inside the simulator).

Environment: ``SEED``, ``N_ITEMS``, ``WIDTH``, ``EXPECT_WRONG`` (``1``: the expectation is
deliberately wrong for one item, so the test must fail with a mismatch message).
"""

import json
import os
import random

import cocotb

from spikeforge.cosim.compare import compare_events
from spikeforge.cosim.drivers import (
    CycleCounter,
    StreamSink,
    StreamSource,
    random_gaps,
    random_ready,
)


@cocotb.test()
async def fifo_moves_every_item_once(dut):
    seed = int(os.environ.get("SEED", "1"))
    n_items = int(os.environ.get("N_ITEMS", "200"))
    width = int(os.environ.get("WIDTH", "8"))
    rng = random.Random(seed)
    counter = CycleCounter(dut.clk, dut.rst)
    source = StreamSource(dut, "data_in", counter, gaps=random_gaps(rng, 0.5, 3))
    sink = StreamSink(dut, "data_out", counter, ready=random_ready(rng, 0.55))
    counter.start()
    await counter.reset(3)

    items = [rng.randrange(1 << width) for _ in range(n_items)]
    source.send_all(items)
    await source.wait_idle()
    await sink.wait_count(n_items)
    await counter.cycles(20)  # anything extra would show up here

    expected = [(k, (x + 1) % (1 << width)) for k, x in enumerate(items)]
    if os.environ.get("EXPECT_WRONG") == "1":
        k = n_items // 2
        expected[k] = (k, (expected[k][1] + 1) % (1 << width))
    got = [(k, payload, cycle) for k, (payload, cycle) in enumerate(sink.items)]
    mismatch = compare_events(expected, got, kind="payload")

    # cycle sanity: every item leaves after it entered, handshakes strictly increasing
    in_cycles = [c for _, c in source.handshakes]
    out_cycles = [c for _, c in sink.items]
    report = {"cycles": counter.cycle, "items_in": len(source.handshakes),
              "items_out": len(sink.items)}
    path = os.environ.get("SPIKEFORGE_COSIM_REPORT")
    if path:
        with open(path, "w") as f:
            json.dump(report, f)
    assert len(source.handshakes) == n_items, f"source sent {len(source.handshakes)} of {n_items}"
    assert [p for p, _ in source.handshakes] == items, "source handshakes out of order"
    assert all(a < b for a, b in zip(in_cycles, in_cycles[1:])), "input handshakes not increasing"
    assert all(a < b for a, b in zip(out_cycles, out_cycles[1:])), "output handshakes not increasing"
    assert all(o > i for i, o in zip(in_cycles, out_cycles)), "an item left before it entered"
    assert mismatch is None, str(mismatch)
    assert len(sink.items) == n_items, f"sink received {len(sink.items)} items, expected {n_items}"
