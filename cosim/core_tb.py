"""cocotb bench of the neuron core (runs inside the simulator; see :mod:`.core_cosim`).

The stimulus comes from the JSON file named by ``$SPIKEFORGE_CORE_SPEC``
(:func:`~spikeforge.cosim.core_cosim.make_spec`). The bench drives one inference --
reset, (optional corruption through the host port), CLEAR, then every tick: its input
events and a TICK offered one after another with the spec's gaps (the driver convention of
:mod:`spikeforge.sim.cycle`), output spikes taken under a random ready pattern, and, once
the core is idle, every neuron's state read back through the host port -- and compares
everything with the golden and cycle models. A spec with ``runs`` (a core with
``double_buffer``) drives each run of ticks back to back instead, the next tick's events
behind a TICK while its update runs (:func:`~spikeforge.sim.cycle.predict_stream`), and
reads the state once the run's last tick is done. The test fails with the first mismatch; the
JSON report (``$SPIKEFORGE_COSIM_REPORT``) holds it as a dict, plus the cycle count.
"""

from __future__ import annotations

import json
import os
import random

import cocotb

from spikeforge.cosim.compare import (
    Mismatch,
    compare_cycles,
    compare_events,
    compare_states,
    first_mismatch,
)
from spikeforge.cosim.core_cosim import SPEC_ENV
from spikeforge.cosim.drivers import (
    CycleCounter,
    HostBus,
    LevelMonitor,
    StreamSequence,
    StreamSink,
    StreamSource,
    random_ready,
)
from spikeforge.hdl.core import HostMap, Region
from spikeforge.ir.core import CoreConfig
from spikeforge.sim.cycle import TickStimulus, predict_clear, predict_stream, predict_tick
from spikeforge.sim.golden import GoldenCore

TICK, CLEAR = 0, 1  # Command payloads (spikeforge.hdl.core.Command)
STATE = ("i", "v", "a", "fired")


def _signed32(x: int) -> int:
    return x - (1 << 32) if x & (1 << 31) else x


class IdleTimeout(Exception):
    pass


async def _wait_idle_after(counter, idle, cycle, limit):
    """Wait until ``idle`` is sampled high at a cycle > ``cycle``; return that cycle."""
    while True:
        first = idle.first_high_since(cycle + 1)
        if first is not None:
            return first
        if counter.cycle > cycle + limit:
            raise IdleTimeout(f"idle did not rise within {limit} cycles after cycle {cycle}")
        await counter.cycles(1)


@cocotb.test()
async def core_matches_golden_and_cycle_models(dut):
    with open(os.environ[SPEC_ENV]) as f:
        spec = json.load(f)
    config = CoreConfig.from_dict(spec["config"])
    N = config.n_neurons
    host_map = HostMap(config)

    ready = random_ready(random.Random(spec["ready"]["seed"]), spec["ready"]["p"])
    counter = CycleCounter(dut.clk, dut.rst)
    spike_in = StreamSource(dut, "spike_in", counter)
    command = StreamSource(dut, "command", counter)
    spike_out = StreamSink(dut, "spike_out", counter, ready=ready)
    host = HostBus(dut, "host", counter)
    idle = LevelMonitor(dut, "idle", counter)
    overflow = LevelMonitor(dut, "overflow", counter)
    counter.start()
    await counter.reset(3)

    # golden model
    golden = GoldenCore.of(config)
    counts = golden.counts_from_events([t["events"] for t in spec["ticks"]])
    trace = golden.run(counts)
    n_ticks = len(spec["ticks"])

    candidates: list[Mismatch | None] = []
    limit = 20 * (N + 4) * (8 + max((len(t["events"]) for t in spec["ticks"]), default=0))

    # corruption (a negative test): flip one weight bit in the RTL only
    corrupt = spec.get("corrupt")
    if corrupt:
        j, n, bit = corrupt["j"], corrupt["n"], corrupt["bit"]
        wb = config.params.weight_bits
        raw = (int(config.weights[j, n]) & ((1 << wb) - 1)) ^ (1 << bit)
        await host.write(host_map.weight_address(j, n), raw)

    # CLEAR
    seq = StreamSequence(counter, [(command, CLEAR, spec["clear_gap"])])
    await seq.done()
    clear_hs, clear_idle = predict_clear(config, seq.start_cycle, spec["clear_gap"])
    candidates.append(compare_cycles("command(CLEAR)", [clear_hs], seq.cycles, ticks=[None]))
    got_idle = await _wait_idle_after(counter, idle, seq.cycles[0], limit)
    candidates.append(compare_cycles("idle(CLEAR)", [clear_idle], [got_idle]))

    got_events, got_state = [], {name: [] for name in STATE}
    exp_cycles = {"spike_in": [], "command": [], "spike_out": [], "idle": []}
    obs_cycles = {key: [] for key in exp_cycles}
    labels = {key: ([], []) for key in exp_cycles}  # (ticks, neurons)
    addresses = [host_map.address(region, n)
                 for region in (Region.CURRENT, Region.MEMBRANE, Region.ADAPT, Region.FIRED)
                 for n in range(N)]
    error = None
    tick_spans = []  # [first cycle of the tick, cycle at which the core is idle again]
    stimuli = [TickStimulus(tick["events"], tick["event_gaps"], tick["command_gap"])
               for tick in spec["ticks"]]
    runs, start = [], 0  # the ticks driven back to back, then the state read
    for length in spec.get("runs") or [1] * n_ticks:
        runs.append(range(start, start + length))
        start += length
    state_ticks, overlapped = [], 0
    for run in runs:
        items, commands = [], []
        for t in run:
            items += [(spike_in, j, g) for j, g in zip(stimuli[t].events, stimuli[t].event_gaps)]
            items.append((command, TICK, stimuli[t].command_gap))
            commands.append(len(items) - 1)
        n_out_before = len(spike_out.items)
        seq = StreamSequence(counter, items)
        await seq.done()
        try:
            last_idle = await _wait_idle_after(counter, idle, seq.cycles[-1], limit)
        except IdleTimeout as e:
            error = Mismatch("idle", run[-1], None, "core idle after the update phase",
                             "never idle", counter.cycle, str(e))
            break
        # cycle model, from this run's observed start (host reads in between take time)
        if spec.get("runs"):
            timings = predict_stream(config, [stimuli[t] for t in run],
                                     trace.spikes[run.start:run.stop], ready, seq.start_cycle)
        else:
            spiking = [int(n) for n in trace.spikes[run.start].nonzero()[0]]
            timings = [predict_tick(config, seq.start_cycle, stimuli[run.start], spiking, ready)]
        # tick t's spikes leave between its TICK and the next (taken only at idle)
        tick_cycles = [seq.cycles[k] for k in commands]
        ends = tick_cycles[1:] + [counter.cycle + 1]
        first = [0] + [k + 1 for k in commands[:-1]]  # each tick's first item
        for k, (t, timing) in enumerate(zip(run, timings)):
            outs = [(n, c) for n, c in spike_out.items[n_out_before:]
                    if tick_cycles[k] < c < ends[k]]
            got_events += [(t, n, c) for n, c in outs]
            got_idle = (idle.first_high_since(tick_cycles[k] + 1) if k + 1 < len(run)
                        else last_idle)
            events = seq.cycles[first[k]:commands[k]]
            if k:  # events taken while the update of the tick before still ran
                overlapped += sum(c < tick_spans[-1][1] for c in events)
            tick_spans.append([seq.start_cycle if k == 0 else tick_cycles[k - 1] + 1,
                               got_idle])
            for key, exp, obs, neurons in (
                    ("spike_in", timing.event_cycles, events, [None] * len(events)),
                    ("command", [timing.command_cycle], [tick_cycles[k]], [None]),
                    ("spike_out", [c for _, c in timing.output_cycles], [c for _, c in outs],
                     [n for n, _ in outs]),
                    ("idle", [timing.idle_cycle], [got_idle], [None])):
                # pad so that a missing/extra event stays aligned to this tick
                width = max(len(exp), len(obs))
                exp_cycles[key] += list(exp) + [None] * (width - len(exp))
                obs_cycles[key] += list(obs) + [None] * (width - len(obs))
                labels[key][0].extend([t] * width)
                labels[key][1].extend(list(neurons) + [None] * (width - len(neurons)))

        t = run[-1]
        state_ticks.append(t)
        if spec.get("read_state", True):
            try:
                values = await host.read_many(addresses)
            except TimeoutError as e:
                error = Mismatch("host", t, None, "read data", "no r_valid", counter.cycle, str(e))
                break
            for k, name in enumerate(STATE):
                row = values[k * N:(k + 1) * N]
                if name in ("i", "v"):
                    row = [_signed32(x) for x in row]
                got_state[name].append(row)

    # -- compare
    candidates.insert(0, error)
    ticks_done = len(got_state["i"]) if spec.get("read_state", True) else 0
    if ticks_done:  # the golden state of each tick whose state was read, row by row
        read = state_ticks[:ticks_done]
        expected_state = {"i": trace.i[read], "v": trace.v[read], "a": trace.a[read],
                          "fired": trace.fired[read].astype(int)}
        mismatch = compare_states(expected_state, got_state, names=STATE, ticks=ticks_done)
        if mismatch is not None and mismatch.tick is not None:
            mismatch.tick = read[mismatch.tick]
        candidates.insert(1, mismatch)
    t_last = n_ticks if error is None else error.tick
    candidates.insert(2, compare_events([e for e in trace.spike_events() if e[0] < t_last],
                                        got_events))
    skew = spec.get("cycle_skew") or {}
    for key in exp_cycles:
        e, o = exp_cycles[key], obs_cycles[key]
        if key in skew:  # test hook: a deliberately wrong cycle model
            e = [c + skew[key] if c is not None else None for c in e]
        candidates.append(compare_cycles(key, e, o, ticks=labels[key][0], neurons=labels[key][1]))
    if overflow.changes and any(v for _, v in overflow.changes):
        c = next(c for c, v in overflow.changes if v)
        candidates.append(Mismatch("overflow", None, None, 0, 1, c, "overflow flag raised"))
    found = [m for m in candidates if m is not None]
    first = first_mismatch(*found)

    report = {"cycles": counter.cycle, "ticks": n_ticks, "ticks_checked": ticks_done,
              "output_events": len(got_events), "input_events": sum(len(t["events"]) for t in spec["ticks"]),
              "host_reads": host.reads, "tick_spans": tick_spans,
              "events_during_update": overlapped, "mismatch": first.to_dict() if first else None,
              "mismatches": [m.to_dict() for m in found]}
    path = os.environ.get("SPIKEFORGE_COSIM_REPORT")
    if path:
        with open(path, "w") as f:
            json.dump(report, f, default=str)
    if first is not None:
        others = "; ".join(m.describe() for m in found if m is not first)
        raise AssertionError(str(first) + (f" [also: {others}]" if others else ""))
