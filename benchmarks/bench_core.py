"""Benchmark of one neuron core: golden-model throughput, co-simulation throughput, and
cycles per tick measured in co-simulation against the cycle model's formula.

    .venv/bin/python benchmarks/bench_core.py            # ~5 minutes on 2 cores
    .venv/bin/python benchmarks/bench_core.py --quick    # a short version (used by a test)

Prints three markdown tables; docs/benchmarks.md records a run.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import sys
import time

import numpy as np

from spikeforge.cosim.core_cosim import benchmark_core_cosim, make_spec, run_core_cosim
from spikeforge.ir.core import CoreConfig
from spikeforge.ir.params import NeuronParams
from spikeforge.sim.cycle import TickStimulus, predict_ticks, tick_cycles
from spikeforge.sim.golden import GoldenCore

LEAKY = NeuronParams(decay_bits=12, alpha=3072, beta=3584, threshold=600)


def core(n_neurons: int, n_inputs: int, seed: int = 0) -> CoreConfig:
    rng = np.random.default_rng(seed)
    return CoreConfig(n_neurons, n_inputs, LEAKY, rng.integers(-40, 80, size=(n_inputs, n_neurons)))


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)


def golden_throughput(quick: bool) -> str:
    """Neuron-updates per second: one neuron's event accumulation plus update phase, for
    one tick of one sample."""
    cases = [(37, 64, 1, 50), (600, 784, 100, 20)] + ([] if quick else [(600, 784, 1000, 10),
                                                                        (10, 600, 1000, 50)])
    rows, rng = [], np.random.default_rng(1)
    for n, m, batch, ticks in cases:
        golden = GoldenCore.of(core(n, m))
        counts = (rng.random((batch, ticks, m)) < 0.1).astype(np.int64)
        start = time.perf_counter()
        golden.run(counts)
        seconds = time.perf_counter() - start
        rows.append([n, m, batch, ticks, f"{seconds:.3f}", f"{batch * ticks * n / seconds:.3g}"])
    return table(["neurons", "inputs", "batch", "ticks", "seconds", "neuron-updates/s"], rows)


def cosim_throughput(quick: bool) -> str:
    rows = []
    for simulator in ("icarus", "verilator"):
        for n, m in ([(13, 7)] if quick else [(13, 7), (37, 64), (100, 64)]):
            config = core(n, m)
            ticks = 20 if quick else 100
            benchmark_core_cosim(config, simulator, n_ticks=2)  # build (cached) outside the timing
            result = benchmark_core_cosim(config, simulator, n_ticks=ticks, seed=3)
            rows.append([simulator, n, m, ticks, result["cycles"], f"{result['sim_s']:.2f}",
                         f"{result['cycles_per_s']:.0f}"])
    return table(["simulator", "neurons", "inputs", "ticks", "cycles", "test seconds",
                  "cycles/s"], rows)


def cycles_per_tick(quick: bool) -> str:
    """Measured in co-simulation (Verilator; Icarus for ``quick``, whose few short runs its
    quicker build suits) with no driver gaps and spike_out always ready, for L lanes:
    against the cycle model (predict_ticks, stepping CoreModel), its closed form (tick_cycles;
    it assumes the output keeps up, marked "(behind)" where it does not) and the one-lane core
    before lanes and the pipeline (E*(N+2)+N+2, +1 if neuron N-1 spiked)."""
    rows, simulator = [], "icarus" if quick else "verilator"
    sizes = [13] if quick else [13, 37, 100]
    for n in sizes:
        for lanes in ([1, 4] if quick else [1, 2, 4, 8]):
            config = dataclasses.replace(core(n, 24, seed=n), lanes=lanes)
            for events in ([0, 5] if quick else [0, 1, 5, 20]):
                rows.append(_tick_row(config, events, simulator))
    return table(["N", "L", "events/tick", f"measured cycles per tick ({simulator})", "cycle model",
                  "closed form", "one-lane core before the pipeline", "measured = model"], rows)


def _tick_row(config: CoreConfig, events: int, simulator: str) -> list:
    n = config.n_neurons
    spec = make_spec(config, 6, seed=events, max_events=events, p_event_gap=1.0, max_gap=1,
                     p_ready=1.0, read_state=False)
    for tick in spec["ticks"]:  # exactly `events` events per tick, no gaps
        tick["events"] = [(k * 7) % config.n_inputs for k in range(events)]
        tick["event_gaps"] = [0] * events
        tick["command_gap"] = 0
    result = run_core_cosim(config, simulator, spec=spec)
    golden = GoldenCore.of(config)
    stimuli = [TickStimulus(t["events"]) for t in spec["ticks"]]
    spikes = golden.run(golden.counts_from_events([s.events for s in stimuli])).spikes
    measured = [end - start for start, end in result.report["tick_spans"]]
    timings = predict_ticks(config, stimuli, spikes)
    starts = [0] + [t.idle_cycle for t in timings[:-1]]  # each tick from the previous idle
    model = [t.idle_cycle - start for t, start in zip(timings, starts)]
    closed = [tick_cycles(config, events, np.flatnonzero(spikes[t]).tolist())
              for t in range(len(measured))]
    closed_text = " ".join(f"{c}" if c == m else f"{c} (behind)" for c, m in zip(closed, model))
    old = [events * (n + 2) + n + 2 + int(spikes[t, -1]) for t in range(len(measured))]
    return [n, config.lanes, events, " ".join(map(str, measured)), " ".join(map(str, model)),
            closed_text, "E*(N+2)+N+2 (+1): " + " ".join(map(str, old)),
            "yes" if measured == model else "NO"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short version (CI)")
    args = parser.parse_args(argv)
    print(f"# spikeforge core benchmark ({platform.machine()}, {platform.python_version()},"
          f" {time.strftime('%Y-%m-%d')})\n")
    print("## Golden model throughput\n\n" + golden_throughput(args.quick) + "\n")
    print("## Co-simulation throughput (cocotb test time, cached builds)\n\n"
          + cosim_throughput(args.quick) + "\n")
    print("## Cycles per tick: co-simulation vs cycle model\n\n" + cycles_per_tick(args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
