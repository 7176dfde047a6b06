"""The temporal-coding network on a board (issue 11, point 7): accuracy, latency and images/s
at Fmax, logic and block RAM, hidden spikes and weights read, beside the FPGA prototype's
figures and published FPGA designs, as ratios -- in one run.

    .venv/bin/python benchmarks/bench_ttfs_board.py            # build/ttfs_mnist/model.pt on the ULX3S-85F
    .venv/bin/python benchmarks/bench_ttfs_board.py --quick    # the TTFS digits demo network on the iCEBreaker
    .venv/bin/python benchmarks/bench_ttfs_board.py --quick --seeds 4   # ... and placement noise

Steps: ``spikeforge compile MODEL --board BOARD`` (the lanes that compile chooses for the
board on 100 of the ``--images``, or the plan ``--neurons-per-core`` / ``--lanes`` give;
silent input rows dropped: for stop 50's 784-600-10 network on the ULX3S-85F lanes [18, 10]
in 3 + 1 cores since stop 51, routed at 46.4 MHz at the default seed, not met at 50; since
stop 52, its state memories split per lane group, 74.3 MHz, met; since stop 53, the input
index in a register per hidden core, 76.7 MHz: docs/boards.md "Stop 53"; stop 54's Verilog
71.1 MHz, on the same path, "Stop 54") into ``OUT/compiled``; the board build
(:func:`spikeforge.boards.build.build_board`, PLL at ``--clk-mhz``) into ``OUT/board``, reused
when it is of exactly this build plan (``--rebuild`` forces it; the 784-600-10 build takes
50 min on the shared 2-core machine); then, on the test set: the 8-bit golden accuracy (every
test image), the prototype's work figures from the golden model (hidden spikes before the
decision, weight rows read per layer, median ticks to the decision;
:func:`spikeforge.flow.hardware_statistics`, ``--stats-images``), and the cycles per inference
from the system cycle model (exact against the RTL) on the images compiled with the
artifact. Latency = cycles / Fmax. ``--seeds N`` runs nextpnr again on the build's netlist
with seeds 1..N (:func:`spikeforge.boards.build.seed_fmax`) and prints their Fmax, their
mean and range beside the default seed's and how many placements meet the clock
(:func:`placements_line`): an iCE40 build's Fmax moves by up to 15 % with the
placement alone, so a change is judged by the spread (the issue's figure is the default
seed's).

The other rows are quoted, not measured (``benchmarks/published.py``): the prototype's
figures as the project brief gives them, and published designs (docs/boards.md, "Published
figures", with their sources; the Flexi-NeurA and Spiker+ logic figures as issues 10 and 11
quote them). Ratios are theirs over ours for latency (above 1: we are faster) and logic, ours
minus theirs for accuracy.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from spikeforge.boards.build import ROUTERS, build_board, format_report
from spikeforge.commands.options import integer
from spikeforge.flow import PROTOTYPE

sys.path.insert(0, str(Path(__file__).resolve().parent))
from published import PUBLISHED  # noqa: E402  (the quoted figures, shared with bench_boards.py)

REPO = Path(__file__).resolve().parents[1]


def compile_for_board(model: Path, board: str, out: Path, images: int,
                      extra: tuple = ()) -> None:
    """``spikeforge compile`` as a user runs it (the lanes chosen for the board; ``extra``:
    more of its options, e.g. ``--neurons-per-core``)."""
    cmd = [str(Path(sys.executable).parent / "spikeforge"), "compile", str(model), "--out",
           str(out), "--board", board, "--images", str(images), *extra]
    print("$ " + " ".join(cmd[1:]), file=sys.stderr, flush=True)
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"compile failed:\n{run.stdout}{run.stderr}")
    print(run.stdout.strip(), file=sys.stderr, flush=True)


def add_plan_options(ap: argparse.ArgumentParser) -> None:
    """The options a board bench passes to ``spikeforge compile`` to fix the plan instead
    of taking the one ``compile --board`` chooses: ``--neurons-per-core``, ``--lanes``,
    ``--double-buffer`` / ``--no-double-buffer`` and ``--fmax`` (:func:`plan_options`)."""
    ap.add_argument("--neurons-per-core", default=None,
                    help="passed to `spikeforge compile` (default: the cores it chooses for "
                         "the board)")
    ap.add_argument("--lanes", default=None,
                    help="passed to `spikeforge compile` (one number, or one per layer separated "
                         "by commas; default: the lanes it chooses for the board)")
    ap.add_argument("--double-buffer", action=argparse.BooleanOptionalAction, default=None,
                    help="compiled with --double-buffer / --no-double-buffer (cores that take "
                         "the next tick's events while they update; default: as `spikeforge "
                         "compile --board` chooses)")
    ap.add_argument("--fmax", action="store_true",
                    help="compiled with --fmax (ECP5: the narrowest cores of the fewest cycles, "
                         "with the timing options)")


def plan_options(args: argparse.Namespace) -> tuple:
    """``compile``'s arguments for the options of :func:`add_plan_options` that were given."""
    return ((("--neurons-per-core", args.neurons_per_core) if args.neurons_per_core else ())
            + (("--lanes", args.lanes) if args.lanes else ())
            + (() if args.double_buffer is None else
               ("--double-buffer",) if args.double_buffer else ("--no-double-buffer",))
            + (("--fmax",) if args.fmax else ()))


def design_label(model: dict) -> str:
    """How the table names a model file's network: ``TTFS``, or ``LIF, <encoding> code``."""
    if model["kind"] == "ttfs":
        return "TTFS"
    return f"LIF, {model['encoding']['kind']} code"


def measure(model_path: Path, artifact_dir: Path, stats_images: int) -> dict:
    """Golden accuracy on the whole test set, the work figures, and cycles per inference
    (any model file: the TTFS network here, the latency-coded LIF of bench_mnist_fast.py)."""
    from spikeforge.compiler.artifact import load_artifact
    from spikeforge.cosim.system_cosim import expected_run
    from spikeforge.flow import hardware_statistics, load_expected
    from spikeforge.model.datasets import load_dataset
    from spikeforge.model.modelfile import encode_test_images, integer_network_of, load_model
    from spikeforge.sim.network import classify

    model = load_model(model_path)
    network = integer_network_of(model)
    ds = load_dataset(model["dataset"])
    counts = encode_test_images(model, ds, len(ds.test_y))
    accuracy = float((classify(network, counts, strict=False) == ds.test_y).mean())
    stats = hardware_statistics(network, counts[:stats_images])
    artifact = load_artifact(artifact_dir)
    hw_counts = load_expected(artifact_dir / "expected.npz")["input_counts"].astype(np.int64)
    _, timings, _ = expected_run(artifact.network, artifact.plan, hw_counts, system=artifact.system)
    lanes = [c.config.lanes for c in artifact.plan.cores]
    return {"dataset": ds.name, "sizes": "-".join(str(n) for n in model["sizes"]),
            "label": design_label(model),
            "test_images": len(ds.test_y), "accuracy": accuracy, **stats,
            "cycles": float(np.mean([t.cycles for t in timings])),
            "cycles_max": int(max(t.cycles for t in timings)), "cycle_images": len(timings),
            "lanes": lanes, "rows_kept": artifact.network.n_inputs}


def _ratio(theirs, ours) -> str:
    return f"{theirs / ours:.1f}x" if theirs and ours else "-"


def table(m: dict, report: dict) -> str:
    fmax = report["fmax_mhz"]
    us = m["cycles"] / fmax
    util = report["utilization"]
    luts, brams = util["luts"]["used"], util["brams"]["used"]
    head = ["design", "accuracy", "us per image at Fmax", "images/s",
            "logic cells", "block RAM", "hidden spikes to decision", "weight rows read (L1 / L2)",
            "median ticks", "latency: theirs / ours", "logic: theirs / ours", "source"]
    ours = [f"spikeforge {m['sizes']} {m.get('label', 'TTFS')} on {report['board']}",
            f"{m['accuracy']:.2%} "
            f"({m['dataset']}, {m['test_images']} test images, 8-bit golden)", f"{us:.1f}",
            f"{1e6 / us:,.0f}", f"{luts:,}", f"{brams} / {util['brams']['available']}",
            f"{m['hidden_spikes']:.0f}", " / ".join(f"{r:.1%}" for r in m["rows_read"]),
            f"{m['median_ticks']:.0f}", "1", "1", "this run"]
    rows = [ours]
    for work, acc, latency, logic, source in PUBLISHED:
        proto = work.startswith("Mostafa")
        rows.append([work, acc if isinstance(acc, str) else (f"{acc:.2%}" if acc else "n/a"),
                     f"{latency:.0f}" if latency else "n/a",
                     f"{1e6 / latency:,.0f}" if latency else "n/a", f"{logic:,}" if logic else "n/a",
                     "n/a", str(PROTOTYPE["hidden_spikes"]) if proto else "n/a",
                     " / ".join(f"{r:.0%}" for r in PROTOTYPE["rows_read"]) if proto else "n/a",
                     str(PROTOTYPE["median_ticks"]) if proto else "n/a",
                     _ratio(latency, us), _ratio(logic, luts), source])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def placements_line(default: float, fmax: dict, clock: float) -> str:
    """One line for a netlist placed at nextpnr's default seed (``default`` MHz) and at
    ``fmax``'s seeds (``{seed: MHz or None}``, :func:`~spikeforge.boards.build.seed_fmax`):
    each seed's Fmax, the mean and range over every placement, and how many meet ``clock``
    (the judge of a change since stop 56: one placement moves an iCE40 build by up to 8
    MHz, so a change is measured by the mean of several)."""
    placed = [default] + [f for f in fmax.values() if f is not None]
    met = sum(f >= clock for f in placed)
    return (f"Fmax at nextpnr seeds 1..{max(fmax)}: "
            + " ".join("failed" if f is None else f"{f:.1f}" for f in fmax.values())
            + f" MHz; with the default seed's {default:.1f}: mean "
            f"{sum(placed) / len(placed):.1f}, range {min(placed):.1f}-{max(placed):.1f} MHz; "
            f"{met} of {len(placed)} placements meet {clock:.2f} MHz")


def report_placements(board_dir: Path, report: dict, seeds: int) -> str:
    """nextpnr at seeds 1..``seeds`` on the finished build in ``board_dir`` (whose default
    seed gave ``report``): :func:`placements_line`."""
    from spikeforge.boards.build import seed_fmax

    fmax = seed_fmax(board_dir, range(1, seeds + 1))
    return placements_line(report["fmax_mhz"], fmax, report["clock_mhz"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="the TTFS digits demo network on the iCEBreaker (trained if not cached)")
    ap.add_argument("--model", type=Path, default=REPO / "build" / "ttfs_mnist" / "model.pt")
    ap.add_argument("--board", default=None, help="default ulx3s-85f (--quick: icebreaker)")
    ap.add_argument("--clk-mhz", type=float, default=None,
                    help="PLL clock of the build (default 50 on the ULX3S, the board clock else)")
    ap.add_argument("--images", type=int, default=200,
                    help="test images compiled with the artifact, on which the cycle model runs")
    ap.add_argument("--stats-images", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=None, help="default build/bench_ttfs_board/<board>")
    ap.add_argument("--rebuild", action="store_true", help="build even if a matching build exists")
    ap.add_argument("--router", choices=ROUTERS, default=None,
                    help="nextpnr's router (default: nextpnr's, router1; until stop 77 "
                         "router2 on the ULX3S-85F, where router1 had not finished the "
                         "784-600-10 design at stops 43-45: on one placement of today's, "
                         "router1 94.4 MHz in about 5 minutes, router2 72.0)")
    ap.add_argument("--nextpnr-seed", type=integer(0), default=None, metavar="N",
                    help="nextpnr's placement seed (default: nextpnr's; stop 51's 784-600-10 "
                         "design: 46.4 MHz at the default seed, 66.5 at seed 2; stop 52's: "
                         "74.3, stop 53's: 76.7, stop 54's: 71.1 at the default seed)")
    ap.add_argument("--seeds", type=integer(0), default=0, metavar="N",
                    help="also run nextpnr with seeds 1..N on the build's netlist and print "
                         "their Fmax (placement noise)")
    add_plan_options(ap)
    args = ap.parse_args(argv)
    start = time.perf_counter()
    board = args.board or ("icebreaker" if args.quick else "ulx3s-85f")
    clk = args.clk_mhz if args.clk_mhz is not None else (50.0 if board == "ulx3s-85f" else None)
    router = args.router
    model = args.model
    if args.quick:
        from spikeforge.demo import cached_ttfs_model

        cached_ttfs_model(REPO / "build" / "demo" / "ttfs", retrain=False, progress=False)
        model = REPO / "build" / "demo" / "ttfs" / "model.pt"
        args.images, args.stats_images = min(args.images, 50), min(args.stats_images, 450)
    if not Path(model).is_file():
        raise SystemExit(f"--model: {model} not found (benchmarks/bench_ttfs_mnist.py train "
                         f"makes it; --quick uses the digits demo network)")
    out = args.out or REPO / "build" / "bench_ttfs_board" / board
    compile_for_board(Path(model), board, out / "compiled", args.images, plan_options(args))

    report = build_board(str(out / "compiled"), board, out / "board", clk_mhz=clk,
                         allow_timing_fail=True, reuse=not args.rebuild, router=router,
                         nextpnr_seed=args.nextpnr_seed)
    print(("reused the build in " + str(out / "board") + "\n" if report.get("reused") else "")
          + format_report(report), file=sys.stderr, flush=True)
    m = measure(Path(model), out / "compiled", args.stats_images)
    print(f"\n{m['sizes']} {m['label']}, lanes {m['lanes']}, {m['rows_kept']} input rows on chip; "
          f"{m['cycles']:,.0f} cycles per inference (cycle model, {m['cycle_images']} test "
          f"images); Fmax {report['fmax_mhz']:.1f} MHz (clock {report['clock_mhz']:.1f} MHz, "
          f"timing {'met' if report['timing_met'] else 'NOT met'}); work figures on "
          f"{min(args.stats_images, m['test_images'])} test images\n")
    print(table(m, report))
    if args.seeds:
        print("\n" + report_placements(out / "board", report, args.seeds))
    print(f"\n{time.perf_counter() - start:.0f} s in all"
          f"{' (build reused)' if report.get('reused') else ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
