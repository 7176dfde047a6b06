"""Benchmark of the system co-simulation paths on one design and the same images, side by side:
the cocotb bench on Verilator (cosim/system_tb.py, Python samples every clock), the fast path
(cosim/fast.py: the compiled C++ harness records every handshake, Python compares at the
end) and raw Verilator (the same harness and stimulus, nothing recorded).

    .venv/bin/python benchmarks/bench_cosim.py --quick   # digits demo network, 2 images
    .venv/bin/python benchmarks/bench_cosim.py           # 10 images
    .venv/bin/python benchmarks/bench_cosim.py --artifact DIR --images 20   # a compiled dir

cycles/s = simulated clock cycles / seconds of the simulation loop (cocotb: the test's wall
time; fast and raw: the C++ loop, and in brackets the whole harness process with trace
writing and reading). The models (golden + cycle model) and the comparison are timed apart:
they are the same work for both paths. Builds are cached and not timed. Prints a markdown
table.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path


def table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)


def design(args):
    """``(name, network, plan, system, counts, verilog_text)`` of the benchmark."""
    from spikeforge.flow import shipped_verilog

    if args.artifact:
        from spikeforge.compiler.artifact import load_artifact
        from spikeforge.flow import EXPECTED, load_expected

        artifact = load_artifact(args.artifact)
        counts = load_expected(Path(args.artifact) / EXPECTED)["input_counts"][:args.images]
        text, _ = shipped_verilog(args.artifact, artifact.plan, artifact.system)
        sizes = [artifact.network.n_inputs] + [l.n_neurons for l in artifact.network.layers]
        return (f"{args.artifact} ({'-'.join(map(str, sizes))})", artifact.network,
                artifact.plan, artifact.system, counts, text)
    from spikeforge.compiler.map import plan_network
    from spikeforge.demo import cached_network, demo_dir
    from spikeforge.flow import encode_inputs
    from spikeforge.hdl.verilog import system_verilog
    from spikeforge.ir.system import SystemConfig
    from spikeforge.model.datasets import load_dataset

    trained, _ = cached_network(demo_dir(), retrain=False, progress=False)
    network = trained.network
    ds = load_dataset("digits")
    counts = encode_inputs(ds.test_x[:args.images], ds.max_value, trained.ticks)
    plan = plan_network(network, neurons_per_core=16)
    system = SystemConfig(network.decision)
    return ("digits demo 64-32-10, 16 neurons/core", network, plan, system, counts,
            system_verilog(plan, system))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 images")
    ap.add_argument("--images", type=int, default=None, help="images (default 10; --quick 2)")
    ap.add_argument("--artifact", default=None, help="a `spikeforge compile` directory")
    args = ap.parse_args(argv)
    args.images = args.images or (2 if args.quick else 10)

    from spikeforge.cosim.fast import (
        build_harness,
        read_trace,
        run_fast_cosim,
        run_harness,
        system_spec,
        write_stimulus,
    )
    from spikeforge.cosim.system_cosim import run_system_cosim

    name, network, plan, system, counts, text = design(args)
    print(f"# system co-simulation paths: {name}, {len(counts)} images")
    print(f"{platform.processor() or platform.machine()}, Python {sys.version.split()[0]}\n")
    build_harness(text)  # cached: not timed

    # the cocotb bench (what `spikeforge verify --engine cocotb` runs)
    cocotb = run_system_cosim(network, plan, counts, "verilator", system=system, p_gap=0.0,
                              verilog_text=text).report
    # the fast path
    fast = run_fast_cosim(network, plan, counts, system=system, p_gap=0.0, verilog_text=text)
    # raw Verilator: the same stimulus, nothing recorded
    build = build_harness(text)
    spec, _ = system_spec(network, plan, counts, counts.shape[1], system)
    with tempfile.TemporaryDirectory() as tmp:
        write_stimulus(Path(tmp) / "s.bin", spec, build.index_bits)
        raw = run_harness(build, Path(tmp) / "s.bin", None)
        recorded = run_harness(build, Path(tmp) / "s.bin", Path(tmp) / "t.bin")
        start = time.perf_counter()
        read_trace(Path(tmp) / "t.bin", build.n_layers)
        parse_s = time.perf_counter() - start

    fr = fast.report
    rows = [
        ["cocotb bench (Verilator)", cocotb["cycles"], f"{cocotb['sim_s']:.2f}",
         f"{cocotb['cycles_per_s']:,.0f}", "-", "yes" if cocotb["mismatch"] is None else "NO"],
        ["fast harness (C++ records, Python compares)", fr["cycles"], f"{fr['sim_s']:.3f}",
         f"{fr['cycles_per_s']:,.0f}",
         f"{recorded['cycles'] / (recorded['wall_s'] + parse_s):,.0f}",
         "yes" if fast.ok else "NO"],
        ["raw Verilator (same stimulus, no recording)", raw["cycles"], f"{raw['seconds']:.3f}",
         f"{raw['cycles'] / raw['seconds']:,.0f}", f"{raw['cycles'] / raw['wall_s']:,.0f}", "-"],
    ]
    print(table(["path", "cycles", "sim s", "cycles/s", "cycles/s (process + trace)",
                 "bit-exact"], rows))
    per = len(counts)
    print(f"\nper image: golden {1000 * fast.seconds['golden'] / per:.1f} ms, cycle model "
          f"{1000 * fast.seconds['cycle model'] / per:.1f} ms, harness process "
          f"{1000 * fast.seconds['verilator'] / per:.1f} ms, compare "
          f"{1000 * fast.seconds['compare'] / per:.1f} ms; speed-up of the fast path over "
          f"cocotb: {fr['cycles_per_s'] / cocotb['cycles_per_s']:.0f}x")
    return 0 if cocotb["mismatch"] is None and fast.ok else 1


if __name__ == "__main__":
    sys.exit(main())
