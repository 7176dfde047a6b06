"""Benchmark of one neuron core: golden-model throughput, co-simulation throughput, and
cycles per tick measured in co-simulation against the cycle model's formula.

    .venv/bin/python benchmarks/bench_core.py            # ~2 minutes on 2 cores
    .venv/bin/python benchmarks/bench_core.py --quick    # a short version (used by a test)

Prints three markdown tables; docs/benchmarks.md records a run.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time

import numpy as np

from spikeforge.cosim.core_cosim import benchmark_core_cosim, make_spec, run_core_cosim
from spikeforge.ir.core import CoreConfig
from spikeforge.ir.params import NeuronParams
from spikeforge.sim.cycle import tick_cycles
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
    """Measured in co-simulation with no driver gaps and spike_out always ready."""
    rows = []
    for n in ([1, 13] if quick else [1, 13, 37, 100]):
        config = core(n, 24, seed=n)
        for events in ([0, 5] if quick else [0, 1, 5, 20]):
            spec = make_spec(config, 6, seed=events, max_events=events, p_event_gap=1.0, max_gap=1,
                             p_ready=1.0, read_state=False)
            for tick in spec["ticks"]:  # exactly `events` events per tick, no gaps
                tick["events"] = [(k * 7) % config.n_inputs for k in range(events)]
                tick["event_gaps"] = [0] * events
                tick["command_gap"] = 0
            result = run_core_cosim(config, "verilator", spec=spec)
            spikes = GoldenCore.of(config).run(GoldenCore.of(config).counts_from_events(
                [t["events"] for t in spec["ticks"]])).spikes
            measured = [end - start for start, end in result.report["tick_spans"]]
            formula = [tick_cycles(config, events, bool(spikes[t, -1])) for t in range(len(measured))]
            rows.append([n, events, " ".join(map(str, measured)), " ".join(map(str, formula)),
                         f"E*(N+2)+N+2 = {events * (n + 2) + n + 2}",
                         "yes" if measured == formula else "NO"])
    return table(["N", "events/tick", "measured cycles per tick", "cycle model",
                  "formula (+1 if neuron N-1 spikes)", "equal"], rows)


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
