"""cocotb bench of the learning engine (runs inside the simulator; see :mod:`.learn_cosim`).

The run comes from the JSON file named by ``$SPIKEFORGE_LEARN_SPEC``
(:func:`~spikeforge.cosim.learn_cosim.learning_spec`). The bench holds its own copy of the
Python rule as the scoreboard. First some stored weights are written through ``host`` (the
rule's alike: the write path and its address decoding). Per sample: the golden forward pass
with the rule's current weights; its first spikes (inputs, hidden, outputs) into the three
``record`` ports, each after a random gap; the label and ``lr_decay`` into ``command``; the
idle cycle against the engine's cycle model; the rule's step; every pulse of the ``weight``
port against the inference weights that moved, in the engine's order (the output layer's
``h``-major pass, then the touched input rows); every stored weight read back through
``host`` and compared.
The test fails with the first mismatch; the JSON report (``$SPIKEFORGE_COSIM_REPORT``) holds
it as a dict.
"""

from __future__ import annotations

import json
import os
import random

import cocotb
import numpy as np

from spikeforge.cosim.drivers import (
    CycleCounter,
    HostBus,
    LevelMonitor,
    PulseMonitor,
    PulseSource,
    StreamSource,
)
from spikeforge.cosim.learn_cosim import SPEC_ENV
from spikeforge.hdl.learning import SpikeLayer, StoreMap, command_layout, update_cycles
from spikeforge.ir.network import IntegerNetwork
from spikeforge.sim.learning import PopcountLearner, first_ticks, touched_rows
from spikeforge.sim.network import run_network

WHAT = ("input {} -> hidden {}", "hidden {} -> output {}")


def _signed32(x: int) -> int:
    return x - (1 << 32) if x & (1 << 31) else x


def _counts(sample: dict, ticks: int, n_inputs: int) -> np.ndarray:
    counts = np.zeros((1, ticks, n_inputs), dtype=np.int64)
    for (t, j), c in zip(sample["events"], sample["counts"]):
        counts[0, t, j] = c
    return counts


def _moved(before, after) -> list[tuple]:
    """``(layer, pre, post, value)`` of every inference weight that moved, in the order the
    engine writes them: layer 1 (``h``-major), then layer 0 (``j``-major)."""
    out = []
    for layer in (1, 0):
        for pre, post in np.argwhere(before[layer] != after[layer]):
            out.append((layer, int(pre), int(post), int(after[layer][pre, post])))
    return out


async def _idle_after(counter, busy, cycle, expected, limit):
    """The first cycle after ``cycle`` at which ``busy`` is sampled low after having been
    high (None if not within ``limit`` cycles); it waits for ``expected`` first, then polls."""
    await counter.wait_until(expected + 1)
    while True:
        since = [(c, v) for c, v in reversed(busy.changes[-8:]) if c > cycle][::-1]
        high = next((k for k, (_, v) in enumerate(since) if v), None)
        low = next((c for c, v in since[high:] if not v), None) if high is not None else None
        if low is not None or counter.cycle > cycle + limit:
            return low
        await counter.cycles(16)


@cocotb.test()
async def engine_matches_the_rule(dut):
    with open(os.environ[SPEC_ENV]) as f:
        spec = json.load(f)
    network = IntegerNetwork.from_dict(spec["network"])
    T = spec["ticks"]
    learner = PopcountLearner(network, T, **spec["rule"])
    learner.acc = [np.array(a, dtype=np.int64) for a in spec["stores"]]
    config = learner.hardware_config()
    store_map = StoreMap(config)
    addresses = [store_map.address(layer, a, b) for layer in range(2)
                 for a in range(store_map.shapes[layer][0])
                 for b in range(store_map.shapes[layer][1])]

    gaps = spec["gaps"]
    rng = random.Random(gaps["seed"])
    counter = CycleCounter(dut.clk, dut.rst)
    records = [PulseSource(dut, f"record__{layer}", counter, ("neuron", "tick"))
               for layer in SpikeLayer]
    changes = PulseMonitor(dut, "weight", counter, ("layer", "pre", "post", "value"),
                           signed=("value",))
    command = StreamSource(dut, "command", counter)
    host = HostBus(dut, "host", counter)
    busy = LevelMonitor(dut, "busy", counter)
    counter.start()
    await counter.reset(3)
    # stored weights written through the host bus first (the rule's stores alike)
    for layer, pre, post, value in spec["host_writes"]:
        await host.write(store_map.address(layer, pre, post), value & 0xFFFF_FFFF)
        learner.acc[layer][pre, post] = value

    mismatch, compared, update_total = None, 0, 0
    for k, sample in enumerate(spec["samples"]):
        counts = _counts(sample, T, config.n_inputs)
        learner.lr_decay = sample["lr_decay"]
        trace = run_network(learner.current_network(), counts, T)
        ticks = (first_ticks(counts.astype(bool))[0], first_ticks(trace.spikes[0])[0],
                 first_ticks(trace.spikes[1])[0])
        for source, tks in zip(records, ticks):
            for n in np.flatnonzero(tks < T):
                gap = rng.randint(1, gaps["max"]) if rng.random() < gaps["p"] else 0
                source.send({"neuron": n, "tick": tks[n]}, gap)
        for source in records:
            await source.wait_idle()
        command.send(command_layout(config).const(
            {"label": sample["label"], "lr_decay": sample["lr_decay"]}).as_value().value)
        await command.wait_idle()
        accepted = command.handshakes[-1][1]
        touched = int(touched_rows(counts, trace, learner.margin)[0])
        expected_idle = accepted + update_cycles(config, touched) + 1 + spec["cycle_skew"]
        got_idle = await _idle_after(counter, busy, accepted, expected_idle,
                                     4 * update_cycles(config, touched))
        before = [a >> learner.frac_bits for a in learner.acc]
        learner.step(counts, np.array([sample["label"]]))
        pulses = [(d["layer"], d["pre"], d["post"], d["value"])
                  for d, c in changes.items if accepted < c <= (got_idle or counter.cycle)]
        moved = _moved(before, [a >> learner.frac_bits for a in learner.acc])
        if got_idle != expected_idle:
            mismatch = {"sample": k, "kind": "cycle", "expected": expected_idle,
                        "got": got_idle, "cycle": got_idle,
                        "text": f"sample {k}: the engine was idle again at cycle {got_idle}, "
                                f"the cycle model says {expected_idle} ({touched} input rows "
                                f"touched)"}
            break
        if pulses != moved:
            k_bad = next(i for i in range(max(len(pulses), len(moved)))
                         if i >= len(pulses) or i >= len(moved) or pulses[i] != moved[i])
            exp = moved[k_bad] if k_bad < len(moved) else "no more"
            got = pulses[k_bad] if k_bad < len(pulses) else "no more"
            mismatch = {"sample": k, "kind": "weight change", "expected": str(exp),
                        "got": str(got), "cycle": got_idle,
                        "text": f"sample {k}: weight-change pulse {k_bad} (layer, pre, post, "
                                f"value): expected {exp}, got {got} ({len(moved)} inference "
                                f"weights moved, {len(pulses)} pulses)"}
            break
        changes.items.clear()
        update_total += got_idle - accepted
        values = [_signed32(v) for v in await host.read_many(addresses)]
        read_cycle = counter.cycle
        expected = np.concatenate([a.ravel() for a in learner.acc])
        compared += len(values)
        bad = np.flatnonzero(np.array(values) != expected)
        if len(bad):
            i = int(bad[0])
            layer = 0 if i < store_map.depths[0] else 1
            index = i - (0 if layer == 0 else store_map.depths[0])
            pre, post = divmod(index, store_map.shapes[layer][1])
            mismatch = {"sample": k, "kind": "weight", "layer": layer, "pre": pre, "post": post,
                        "expected": int(expected[i]), "got": values[i], "cycle": read_cycle,
                        "wrong": len(bad),
                        "text": f"sample {k}, layer {layer}, weight [{pre}, {post}] "
                                f"({WHAT[layer].format(pre, post)}): expected {int(expected[i])}, "
                                f"got {values[i]} (read back by cycle {read_cycle}; {len(bad)} "
                                f"weight(s) differ)"}
            break

    report = {"samples": len(spec["samples"]),
              "samples_checked": k + (mismatch is None), "weights_compared": compared,
              "update_cycles": update_total, "cycles": counter.cycle,
              "moved": [int((a != np.array(s)).sum()) for a, s in zip(learner.acc, spec["stores"])],
              "mismatch": mismatch}
    path = os.environ.get("SPIKEFORGE_COSIM_REPORT")
    if path:
        with open(path, "w") as f:
            json.dump(report, f)
    if mismatch is not None:
        raise AssertionError("first mismatch: " + mismatch["text"])

