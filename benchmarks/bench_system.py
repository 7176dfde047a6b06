"""Benchmark of the whole system on the demo network (digits 64-32-10, 8-bit, spike count):
cycles per inference against their lower bound for several neurons-per-core settings,
compile time, and the work per inference beside the FPGA prototype's figures.

    .venv/bin/python benchmarks/bench_system.py            # ~6 minutes on 2 cores
    .venv/bin/python benchmarks/bench_system.py --quick    # a short version
    .venv/bin/python benchmarks/bench_system.py --cosim 20 # also measure 20 images per setting
                                                           # in Verilator (adds ~30 s each)

Cycles come from the system cycle model (sim/system_cycle.py ``predict_run``, which the
co-simulation checks cycle for cycle against the RTL; ``--cosim N`` measures them again in
Verilator). The lower bound is ``sim.system_cycle.lower_bound_cycles``: the larger of the
busiest core's ``N + 1 + (events_in + ticks) * (N + 2)`` and ``synaptic events / cores +
ticks * (N_min + 2)``. The trained network is the demo's (cached under build/demo/model;
trained on first use, ~20 s). Prints markdown tables; docs/flow.md records a run.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time

import numpy as np

from spikeforge.sim.network import run_network


def table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer images and settings")
    ap.add_argument("--images", type=int, default=None, help="test images (default: all 450)")
    ap.add_argument("--cosim", type=int, default=0, metavar="N",
                    help="also co-simulate N images per setting in Verilator")
    args = ap.parse_args(argv)

    from spikeforge.compiler.map import plan_network
    from spikeforge.cosim.system_cosim import schedules_for
    from spikeforge.demo import cached_network, demo_dir
    from spikeforge.flow import (
        PROTOTYPE,
        compile_network,
        encode_inputs,
        hardware_statistics,
        verify_network,
    )
    from spikeforge.model.datasets import load_dataset
    from spikeforge.sim.system_cycle import lower_bound_cycles, predict_run

    trained, cached = cached_network(demo_dir(), retrain=False, progress=False)
    network = trained.network
    ds = load_dataset("digits")
    n = args.images or (40 if args.quick else len(ds.test_y))
    counts = encode_inputs(ds.test_x[:n], ds.max_value, trained.ticks, trained.encoder_seed)
    trace = run_network(network, counts)
    schedules = schedules_for(trace.input_counts)
    settings = [None, 16, 8] if args.quick else [None, 32, 16, 8, 4]
    sizes = "-".join(map(str, trained.sizes))
    print(f"# spikeforge system benchmark: digits {sizes}, {trained.ticks} ticks, spike count, "
          f"{n} test images; {platform.python_version()} on {platform.machine()}, "
          f"golden accuracy {float((trace.decision == ds.test_y[:n]).mean()):.2%}\n")

    rows = []
    for k in settings:
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            compile_network(network, tmp, counts, ds.test_y[:n], k)
            compile_s = time.perf_counter() - t
            plan = plan_network(network, neurons_per_core=k)
            t = time.perf_counter()
            timings = predict_run(plan, trace, schedules, trace.ticks)
            model_s = time.perf_counter() - t
            cycles = np.array([tm.cycles for tm in timings], dtype=np.float64)
            bounds = [lower_bound_cycles(plan, trace, b) for b in range(n)]
            bound = np.array([b["bound"] for b in bounds], dtype=np.float64)
            synaptic = np.array([b["synaptic_bound"] for b in bounds], dtype=np.float64)
            measured = ""
            if args.cosim:
                report = verify_network(network, plan, counts[:args.cosim], ds.test_y[:args.cosim],
                                        "verilator", chunk=args.cosim)
                same = report.ok and abs(report.cycles_per_inference
                                         - cycles[:args.cosim].mean()) < 1e-9
                measured = (f"{report.cycles_per_inference:.0f} "
                            f"({'= model' if same else 'DIFFERS: ' + str(report.mismatch)})")
        shape = "/".join(str(len(plan.cores_of_layer(l))) for l in range(plan.n_layers))
        row = [k or "whole layer", f"{len(plan.cores)} ({shape})",
               f"{cycles.mean():.0f}", f"{bound.mean():.0f}", f"{synaptic.mean():.0f}",
               f"{(cycles / bound).mean():.2f}", f"{compile_s:.1f}", f"{model_s / n * 1e3:.0f}"]
        if args.cosim:
            row.append(measured)
        rows.append(row)
    header = ["neurons/core", "cores (per layer)", "cycles/inference", "lower bound",
              "synaptic bound", "cycles / bound", "compile s", "cycle model ms/image"]
    if args.cosim:
        header.append(f"Verilator, {args.cosim} images")
    print("## Cycles per inference (mean over the images)\n")
    print(table(header, rows))

    stats = hardware_statistics(network, counts)
    print("\n## Work per inference (golden model statistics, ticks the hardware runs)\n")
    # the prototype's "weights looked up" are per layer: the fraction of each layer's weight
    # rows read before the decision (a rate code reads rows again every tick)
    print(table(["", "this network (spike count, 16 ticks)", "FPGA prototype (TTFS, MNIST)"], [
        ["hidden spikes before the decision", f"{stats['hidden_spikes']:.0f}",
         PROTOTYPE["hidden_spikes"]],
        ["fraction of the dense weight reads", f"{stats['weights_read']:.1%}", "-"],
        ["input->hidden weight rows read", f"{stats['rows_read'][0]:.1%}",
         f"{PROTOTYPE['rows_read'][0]:.0%}"],
        ["hidden->output weight rows read", f"{stats['rows_read'][-1]:.1%}",
         f"{PROTOTYPE['rows_read'][1]:.0%}"],
        ["synaptic events", f"{stats['synaptic_events']:.0f}", "-"],
    ]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
