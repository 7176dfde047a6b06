"""Lanes and neurons per core against latency, logic and block RAM: one network, several
plans, each built for a real FPGA (issue #10, point 5).

    .venv/bin/python benchmarks/bench_lanes.py                  # MNIST 784-64-10 on the ULX3S-85F
    .venv/bin/python benchmarks/bench_lanes.py --plot docs/img/lanes_sweep.png
    .venv/bin/python benchmarks/bench_lanes.py --reuse          # table and plot from earlier builds
    .venv/bin/python benchmarks/bench_lanes.py --quick          # one 16x32 core on the iCEBreaker, L 1 and 2
    .venv/bin/python benchmarks/bench_lanes.py --board-settings --clk-mhz 120   # as compile --board

For every plan of the same network (one core per layer with L = 1, 2, 4, ..., 64 lanes in the
hidden layer, and the hidden layer split over cores of 16 neurons): the system cycle
model's cycles per inference on the network's first 20 test images (exact against the RTL,
docs/verification.md), and a full board build (Yosys + nextpnr, default seed, board clock):
logic cells, FFs, block RAM, DSPs, Fmax; latency = cycles / Fmax. Lanes cut the cycles of
an input event (``ceil(N / L) + 1``) and of a tick's update; they cost a multiplier and an
adder path per lane and a wider weight word (``8 L`` bits), while the weight memory's
depth (inputs x words) shrinks by the same factor, so its block RAMs stay about the same.

``--board-settings`` gives each plan the system ``compile --board`` makes for it (weight
memories in banks one block RAM deep, the state memories, input copies and sum stage of
:func:`~spikeforge.boards.fit.system_settings_for`), ``--clk-mhz`` builds with the PLL at
that clock (issue 10's 120 MHz on the ECP5); a plan that does not fit the board is listed
with the reason instead of a row.

The MNIST network is ``bench_boards.py``'s (trained on first use, needs the MNIST files);
the builds go to ``build/bench_lanes/<plan>`` and ``--reuse`` reads their reports back.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_boards  # noqa: E402  (the sibling script: designs, inputs, cycles, builds)

REPO = Path(__file__).resolve().parents[1]

#: (name, plan_network keyword arguments) of the full sweep, in table order
PLANS = [
    ("L1", {"lanes": 1}),
    ("L2", {"lanes": [2, 1]}),
    ("L4", {"lanes": [4, 2]}),
    ("L8", {"lanes": [8, 2]}),
    ("L16", {"lanes": [16, 2]}),
    ("L32", {"lanes": [32, 2]}),
    ("L64", {"lanes": [64, 2]}),
    ("16/core L1", {"neurons_per_core": [16, 10], "lanes": 1}),
    ("16/core L4", {"neurons_per_core": [16, 10], "lanes": [4, 2]}),
]
QUICK_PLANS = [("L1", {"lanes": 1}), ("L2", {"lanes": 2})]


def as_compiled_for(artifact, board: str):
    """``artifact`` with the system ``compile --board`` makes for its plan on ``board``."""
    from spikeforge.boards.fit import system_settings_for
    from spikeforge.boards.specs import BOARDS

    system = replace(artifact.system, weight_banks=BOARDS[board].family)
    settings, _ = system_settings_for(artifact.plan, board, weight_banks=system.weight_banks)
    return replace(artifact, system=replace(system, **settings))


def sweep_designs(quick: bool, board_settings: bool = False):
    """``(board, network label, [(plan name, (name, artifact))])``."""
    from spikeforge.boards.build import resolve_design
    from spikeforge.compiler.map import plan_network

    if quick:
        board, (name, base) = "icebreaker", resolve_design("core:16x32")
        plans = QUICK_PLANS
    else:
        board, name = "ulx3s-85f", "mnist"
        _, base = resolve_design(str(bench_boards.mnist_artifact(progress="stderr")))
        plans = PLANS
    label = "-".join([str(base.network.n_inputs)] + [str(l.n_neurons) for l in base.network.layers])
    designs = []
    for plan, kw in plans:
        artifact = replace(base, plan=plan_network(base.network, **kw))
        designs.append((plan, (name, as_compiled_for(artifact, board) if board_settings
                               else artifact)))
    return board, label, designs


def lanes_text(plan) -> str:
    """Cores x neurons / lanes per layer, e.g. ``1x64/L8, 1x10/L2``."""
    parts = []
    for layer in range(plan.n_layers):
        cores = plan.cores_of_layer(layer)
        parts.append(f"{len(cores)}x{max(c.n_neurons for c in cores)}/L{cores[0].config.lanes}")
    return ", ".join(parts)


def measure(board, designs, out: Path, reuse: bool, clk_mhz=None):
    """The rows of the table, and ``(plan, reason)`` of each plan that does not fit."""
    from spikeforge.boards.fit import check_fit, system_layout
    from spikeforge.boards.specs import input_depth_for
    from spikeforge.ir.errors import ConfigError

    rows, refused = [], []
    for plan_name, (name, artifact) in designs:
        try:
            check_fit(artifact.plan, board, input_depth_for(board, None, "--input-depth"),
                      artifact.network.decision, **system_layout(artifact.system))
        except ConfigError as error:
            refused.append((plan_name, str(error)))
            print(f"{plan_name}: does not fit: {error}", file=sys.stderr, flush=True)
            continue
        counts = bench_boards.design_inputs(name, artifact.network)
        cycles, _, _ = bench_boards.cycles_per_inference(artifact, counts)
        directory = out / plan_name.replace("/", "-").replace(" ", "_")
        t0 = time.perf_counter()
        report = bench_boards.build_or_reuse((name, artifact), board, directory, reuse,
                                             clk_mhz=clk_mhz)
        u, fmax = report["utilization"], report["fmax_mhz"]
        rows.append({"plan": plan_name, "layout": lanes_text(artifact.plan),
                     "luts": u["luts"]["used"], "ffs": u["ffs"]["used"],
                     "brams": u["brams"]["used"], "dsps": u["dsps"]["used"], "fmax": fmax,
                     "cycles": cycles, "latency_us": cycles / fmax,
                     "met": report.get("timing_met", True)})
        print(f"{plan_name}: {u['luts']['used']} LCs, {u['brams']['used']} BRAM, "
              f"Fmax {fmax:.1f} MHz, {cycles:.0f} cycles, {cycles / fmax:.1f} us "
              f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    return rows, refused


def markdown(rows) -> str:
    header = ["plan", "cores x neurons / lanes", "logic cells", "FFs", "block RAM", "DSPs",
              "Fmax MHz", "cycles / inference", "latency µs at Fmax", "images/s per 1,000 LCs"]
    body = [[r["plan"], r["layout"], f"{r['luts']:,}", f"{r['ffs']:,}", r["brams"], r["dsps"],
             f"{r['fmax']:.1f}" + ("" if r.get("met", True) else " (not met)"),
             f"{r['cycles']:,.0f}", f"{r['latency_us']:.1f}",
             f"{1e6 / r['latency_us'] / r['luts'] * 1000:,.0f}"] for r in rows]
    return bench_boards.table(header, body)


def plot(rows, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, key, label in ((axes[0], "luts", "logic cells"), (axes[1], "brams", "block RAMs")):
        ax.plot([r[key] for r in rows], [r["latency_us"] for r in rows], "o")
        for r in rows:
            ax.annotate(r["plan"], (r[key], r["latency_us"]), textcoords="offset points",
                        xytext=(4, 4), fontsize=8)
        ax.set_xlabel(label)
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("latency per inference at Fmax (µs)")
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one 16x32 core on the iCEBreaker, L 1 and 2")
    parser.add_argument("--reuse", action="store_true", help="reuse earlier builds' reports")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "bench_lanes")
    parser.add_argument("--plot", type=Path, default=None, help="PNG of latency against LCs and BRAM")
    parser.add_argument("--board-settings", action="store_true",
                        help="each plan's system as compile --board makes it (banked weights)")
    parser.add_argument("--clk-mhz", type=float, default=None,
                        help="build with the PLL at this clock (default: the board clock)")
    args = parser.parse_args(argv)
    if args.clk_mhz is not None and args.clk_mhz <= 0:
        parser.error(f"--clk-mhz: must be positive, got {args.clk_mhz:g}")
    board, label, designs = sweep_designs(args.quick, args.board_settings)
    rows, refused = measure(board, designs, args.out / ("quick" if args.quick else board),
                            args.reuse, args.clk_mhz)
    clock = "board clock" if args.clk_mhz is None else f"PLL at {args.clk_mhz:g} MHz"
    settings = ", as compile --board builds" if args.board_settings else ""
    print(f"# {label} on {board} ({clock}{settings}): lanes and cores against latency "
          f"({time.strftime('%Y-%m-%d')})\n")
    print(markdown(rows))
    for plan_name, reason in refused:
        print(f"\n{plan_name}: does not fit: {reason}")
    if args.plot:
        plot(rows, args.plot, f"spikeforge {label} on {board} ({clock}{settings}): "
                              f"one point per plan")
        print(f"\nplot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
