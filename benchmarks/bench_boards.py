"""Board builds: utilisation, Fmax and inference speed of spikeforge designs on real FPGAs.

    .venv/bin/python benchmarks/bench_boards.py             # all designs, both boards
    .venv/bin/python benchmarks/bench_boards.py --pll       # ... and each again with a PLL
    .venv/bin/python benchmarks/bench_boards.py --only mnist --pll
    .venv/bin/python benchmarks/bench_boards.py --pll-at ecp5=120,ice40=50   # issue 10's clocks
    .venv/bin/python benchmarks/bench_boards.py --quick     # one small iCE40 build
    .venv/bin/python benchmarks/bench_boards.py --only core16x32 --boards icebreaker \
        --pll-at ice40=50 --seeds 5                                # placement noise
    .venv/bin/python benchmarks/bench_boards.py --json out.json
    .venv/bin/python benchmarks/bench_boards.py --fit-table  # fit estimate vs recorded builds

For each design and board: a full build (Yosys + nextpnr + pack, system tools or YoWASP)
through :func:`spikeforge.boards.build.build_board`, then the cycles per inference from the
system cycle model (:func:`spikeforge.sim.system_cycle.predict_run`, exact against the RTL)
on the design's inputs (the first 20 test images saved with the digits / MNIST artifact, or
random inputs for the test cores), and from them the inferences per second (also per 1,000
logic cells) and latency at the achieved Fmax and at the clock the design runs at (the board
clock, or the PLL's). Beside the cycles, the means of each input's two lower bounds
(:func:`spikeforge.sim.system_cycle.lower_bound_cycles`) and the cycles' ratio to each:
``bound``, what the cores' own timing allows, and ``work bound``, the work alone (the weight
words the busiest core reads plus its update words, no design overheads: the yardstick of
issue 10's "cycles <= 1.2x a bound from the work alone").
The UART transfer (115200 baud) is not included: it is reported separately as the
host-link-limited rate. Designs that the fit estimate refuses are listed with the reason.

Designs: ``core16x32`` and ``core64x64`` (one core of random weights), ``digits`` (the demo
artifact ``build/demo/compiled`` of ``spikeforge demo``, 64-32-10 on three cores of 4 lanes,
when it exists), on the iCEBreaker ``digits-l2`` (the same network, one core per layer with
2 lanes, single-buffered: the demo's 4-lane cores need more multipliers than the iCE40UP5K
has, and its double-buffered ones more logic) and, on
the ULX3S only, ``mnist`` (784-64-10, trained and compiled by :func:`mnist_artifact` on first
use into ``build/bench_boards/mnist/compiled``, about 80 s on 2 cores; needs the MNIST IDX
files, see :func:`spikeforge.model.datasets.default_mnist_dir`) on one core per layer, and
``mnist16``, the same network on cores of at most 16 neurons (4 hidden + 1 output), and
``mnist-l82``, one core per layer with 8 and 2 lanes.

The cores' state memories are placed as ``compile --board`` chooses
(:func:`spikeforge.boards.fit.state_memories_for`: block RAM on the iCE40 where they fit),
and so are the input index's copies and the sum stage
(:func:`spikeforge.boards.fit.system_settings_for`); ``--state-memories tool`` leaves the
state memories to Yosys (flip-flops when shallow), as before stop 37, and the design
without copies or sum stage.

``--banks`` builds every design with its weight memories in banks one block RAM deep
(``SystemConfig.weight_banks`` = the board's family, what ``compile --board`` chooses when the
banks fit), named ``<design>-banked``.

``--pll`` builds every design a second time with the PLL at 95 % (``--pll-margin``) of the
Fmax its board-clock build achieved, rounded down to 0.5 MHz (at least the PLL's lowest
output, 16 MHz on the iCE40), into ``<design>-<board>-pll<MHz>``, and says whether timing is
met there.

``--seeds N`` runs nextpnr again on each build's netlist with seeds 1..N
(:func:`spikeforge.boards.build.seed_fmax`) and prints their Fmax beside the default seed's,
with the mean and the range: placement alone moves an iCE40 build's Fmax by up to 15 %, so a
change is judged by the spread, not by one build (the issue's figure is the default seed's).

A second table sets this run's MNIST rows (designs named ``mnist...``) beside the published
MNIST designs that give a latency (``benchmarks/published.py``, with the source of each
figure): their latency, images/s and images/s per 1,000 logic cells, and as ratios latency
theirs / ours and images/s per 1,000 LCs ours / theirs (above 1: ours is faster, or does more
with its logic), ours at Fmax as in the first table. They are different networks on different
devices; without an MNIST build (e.g. ``--only mnist``) the table has no ratios.
"""

from __future__ import annotations

import argparse
import json
import platform as host_platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from published import PUBLISHED  # noqa: E402  (the quoted figures, shared with bench_ttfs_board)

REPO = Path(__file__).resolve().parents[1]
DEMO_ARTIFACT = REPO / "build" / "demo" / "compiled"
#: the MNIST network of the ECP5 row (trained by :func:`mnist_artifact` on first use)
MNIST_ARTIFACT = REPO / "build" / "bench_boards" / "mnist" / "compiled"
MNIST_EXPECTED_IMAGES = 100  # test images whose golden outputs are saved with the artifact


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)


def mnist_artifact(directory: Path = MNIST_ARTIFACT, retrain: bool = False,
                   progress: bool = True) -> Path:
    """The compiled 784-64-10 MNIST network (LFSR rate code, 16 ticks, spike count): trained
    with :func:`spikeforge.flow.train_mnist_network` (defaults: 2 float epochs + 1 QAT
    epoch on the whole training split) and compiled with one core per layer into
    ``directory``, with the golden outputs of the first :data:`MNIST_EXPECTED_IMAGES` test
    images (``expected.npz``). An existing artifact is reused unless ``retrain``."""
    from spikeforge.flow import compile_network, encode_inputs, format_training, train_mnist_network
    from spikeforge.model.datasets import load_dataset

    directory = Path(directory)
    if (directory / "manifest.json").exists() and (directory / "expected.npz").exists() \
            and not retrain:
        return directory
    trained = train_mnist_network(progress=progress)
    print(format_training(trained), file=sys.stderr, flush=True)
    ds = load_dataset("mnist")
    n = MNIST_EXPECTED_IMAGES
    counts = encode_inputs(ds.test_x[:n], ds.max_value, trained.ticks, trained.encoder_seed)
    compile_network(trained.network, directory, counts, ds.test_y[:n], info=trained.summary())
    return directory


def design_inputs(name, network, images: int = 20, ticks: int = 16):
    """Inputs [images, ticks, n_inputs]: the first test images saved with the digits (demo) or
    MNIST artifact, else random events."""
    artifact = {"digits": DEMO_ARTIFACT, "digits-l2": DEMO_ARTIFACT, "mnist": MNIST_ARTIFACT,
                "mnist16": MNIST_ARTIFACT, "mnist-l82": MNIST_ARTIFACT}.get(name)
    if artifact is not None and (artifact / "expected.npz").exists():
        from spikeforge.flow import load_expected

        counts = load_expected(artifact / "expected.npz")["input_counts"][:images]
        return counts.astype(np.int64)
    rng = np.random.default_rng(0)
    return (rng.random((images, ticks, network.n_inputs)) < 0.2).astype(np.int64)


def cycles_per_inference(artifact, counts) -> tuple[float, float, float]:
    """Mean cycles per inference over ``counts`` (the system cycle model, exact against the
    RTL), and the means of each image's ``bound`` (the cores' own timing) and ``work_bound``
    (the work alone) from :func:`spikeforge.sim.system_cycle.lower_bound_cycles`: the table
    shows how far the design is from each."""
    from spikeforge.cosim.fast import image_trace
    from spikeforge.cosim.system_cosim import expected_run
    from spikeforge.sim.system_cycle import lower_bound_cycles

    trace, timings, _ = expected_run(artifact.network, artifact.plan, counts,
                                     system=artifact.system)
    bounds = [lower_bound_cycles(artifact.plan, image_trace(trace, b),
                                 double_buffer=artifact.system.double_buffer)
              for b in range(len(timings))]
    return (float(np.mean([t.cycles for t in timings])),
            float(np.mean([b["bound"] for b in bounds])),
            float(np.mean([b["work_bound"] for b in bounds])))


def uart_bytes(counts, n_classes: int, items_per_frame: int = 256) -> float:
    """Bytes on the wire per inference of ``SpikeforgeBoard.infer`` (CLEAR + ACK, LOAD
    frames of up to 256 items + ACKs, RUN + RESULT), on average over ``counts``."""
    from spikeforge.boards.protocol import encode_items

    total = 0
    for c in counts:
        items = len(encode_items(c))
        frames = max(1, -(-items // items_per_frame))
        total += (5 + 7) + (frames * (5 + 7) + 2 * items) + (7 + 5 + 13 + 2 * n_classes)
    return total / len(counts)


#: the boards the designs are built for
BOARDS_BUILT = ("icebreaker", "ulx3s-85f")
#: the designs :func:`designs` knows (``--only``)
DESIGN_NAMES = ("core16x32", "core64x64", "digits", "digits-l2", "mnist", "mnist16",
                "mnist-l82")


def designs(quick: bool, only=None, boards=None):
    """``(board, (name, artifact))`` to build: the designs named in ``only`` (all if None) on
    the boards in ``boards`` (both if None)."""
    from spikeforge.boards.build import resolve_design
    from spikeforge.compiler.map import plan_network

    if quick:
        return [("icebreaker", resolve_design("core:8x16"))]
    out = []
    for board in BOARDS_BUILT:
        out.append((board, resolve_design("core:16x32")))
        out.append((board, resolve_design("core:64x64")))
        if (DEMO_ARTIFACT / "manifest.json").exists():
            _, artifact = resolve_design(str(DEMO_ARTIFACT))
            out.append((board, ("digits", artifact)))
            if board == "icebreaker":  # the demo's 4-lane cores need 24 multipliers of 8
                out.append((board, ("digits-l2", replace(
                    artifact, plan=plan_network(artifact.network, lanes=2)))))
    if only is None or {"mnist", "mnist16", "mnist-l82"} & set(only):
        from spikeforge.ir.errors import SpikeforgeError

        try:
            _, artifact = resolve_design(str(mnist_artifact(progress="stderr")))
            out.append(("ulx3s-85f", ("mnist", artifact)))
            # the same network on more, smaller cores: an input event costs N + 2 cycles
            # per core, and the four hidden cores take it in parallel
            out.append(("ulx3s-85f", ("mnist16", replace(
                artifact, plan=plan_network(artifact.network, neurons_per_core=16)))))
            # one core per layer with lanes: 8 neurons per cycle in the hidden layer
            out.append(("ulx3s-85f", ("mnist-l82", replace(
                artifact, plan=plan_network(artifact.network, lanes=[8, 2])))))
        except SpikeforgeError as error:  # no MNIST files here
            print(f"mnist: not built: {error}", file=sys.stderr)
    if only is not None:
        out = [d for d in out if d[1][0] in only]
    if boards is not None:
        out = [d for d in out if d[0] in boards]
    return out


#: the PLL's lowest output frequency per family (MHz)
PLL_MIN_MHZ = {"ice40": 16.0, "ecp5": 10.0}


def pll_target_mhz(fmax_mhz: float, family: str, margin: float = 0.95) -> float:
    """The clock asked of the PLL for a design whose board-clock build reached ``fmax_mhz``:
    ``margin`` of it, rounded down to 0.5 MHz, at least the PLL's lowest output."""
    return max(PLL_MIN_MHZ[family], int(fmax_mhz * margin * 2) / 2)


def pll_targets(text: str) -> dict[str, float]:
    """``--pll-at``: ``family=MHz`` pairs, comma-separated (``ecp5=120,ice40=50``)."""
    targets = {}
    for item in filter(None, text.split(",")):
        family, _, mhz = item.partition("=")
        try:
            value = float(mhz)
        except ValueError:
            value = 0.0
        if family not in PLL_MIN_MHZ or value < PLL_MIN_MHZ[family]:
            raise argparse.ArgumentTypeError(
                f"{item!r}: expected FAMILY=MHZ, FAMILY one of {', '.join(PLL_MIN_MHZ)} and "
                f"MHZ at least the PLL's lowest output ("
                + ", ".join(f"{f} {mhz:g}" for f, mhz in PLL_MIN_MHZ.items()) + " MHz)")
        targets[family] = value
    return targets


def build_or_reuse(source, board, out: Path, reuse: bool, clk_mhz=None) -> dict:
    from spikeforge.boards.build import build_board
    from spikeforge.boards.fit import check_fit, system_layout

    _, artifact = source
    saved = out / "report.json"
    report = json.loads(saved.read_text()) if reuse and saved.exists() else None
    if report is not None and report.get("system") == artifact.system.to_dict():
        check_fit(artifact.plan, board, report["input_depth"], artifact.network.decision,
                  **system_layout(artifact.system))
        return report
    return build_board(source, board, out, clk_mhz=clk_mhz, allow_timing_fail=True)


def seed_row(row: dict, by_seed: dict) -> list[str]:
    """A row of the seeds table for a main-table ``row``: the default seed's Fmax, each
    seed's ("failed" where nextpnr found no placement), their mean and range (the default
    included, failures not), and how many placements meet the clock."""
    every = [f for f in [row["fmax"], *by_seed.values()] if f is not None]
    met = sum(f >= row["clock"] for f in every)
    return [row["label"], row["board"], row["clock_text"], f"{row['fmax']:.1f}",
            " ".join("failed" if f is None else f"{f:.1f}" for f in by_seed.values()),
            f"{np.mean(every):.1f}", f"{min(every):.1f}-{max(every):.1f}",
            f"{met} of {len(every)}"]


def fit_table() -> str:
    """Markdown table: every build recorded in ``tests/boards/fit_builds.json`` (what Yosys +
    nextpnr used) against :func:`spikeforge.boards.fit.estimate` of its plan."""
    sys.path.insert(0, str(REPO))
    from spikeforge.boards.fit import estimate
    from tests.boards.test_fit import BUILDS, learning_of_record, plan_of_record

    rows = []
    for record in BUILDS:
        network, plan = plan_of_record(record)
        est = estimate(plan, record["board"], record["input_depth"], network.decision,
                       learning=learning_of_record(record))
        got = record["measured"]
        shape = ", ".join(f"{len(plan.cores_of_layer(i))}x{record['neurons_per_core'][i]}"
                          f"/L{record['lanes'][i]}" for i in range(plan.n_layers))
        rows.append([record["design"], record["board"], f"{record['n_inputs']}: {shape}"]
                    + [f"{getattr(est, k)} / {got[k]}" for k in ("luts", "ffs", "brams", "dsps")]
                    + [f"{est.luts / got['luts']:.2f}"])
    return table(["design", "board", "inputs: cores x neurons / lanes per layer",
                  "logic cells est. / measured", "FFs est. / measured",
                  "block RAM est. / measured", "DSP est. / measured", "logic est. / measured"],
                 rows)


def measured_row(label: str, name: str, board: str, report: dict, est, speed: tuple,
                 uart_per_s: float) -> dict:
    """One build as the two tables read it: flat, so that the tables are pure functions of
    such rows and can be tested without a board build. ``speed`` is what
    :func:`cycles_per_inference` returns, ``est`` the fit estimate of the plan."""
    u = report["utilization"]
    cycles, bound, work_bound = speed
    pll = bool(report.get("pll"))
    clock = report["clock_mhz"]
    return {"label": label, "name": name, "board": board, "pll": pll, "clock": clock,
            "clock_text": f"PLL {clock:.2f}" if pll else f"{clock:g} (board)",
            "luts": u["luts"]["used"], "luts_available": u["luts"]["available"],
            "ffs": u["ffs"]["used"], "brams": u["brams"]["used"],
            "brams_available": u["brams"]["available"], "brams_est": est.brams,
            "luts_est": est.luts, "dsps": u["dsps"]["used"],
            "dsps_available": u["dsps"]["available"], "fmax": report["fmax_mhz"],
            "constraint": report["constraint_mhz"],
            "met": report.get("timing_met", report["fmax_mhz"] >= report["constraint_mhz"]),
            "cycles": cycles, "bound": bound, "work_bound": work_bound,
            "uart_per_s": uart_per_s, "build_s": report["build_s"]}


def latency_us(row: dict) -> float:
    """Our latency: cycles per inference at the build's Fmax (both tables use this one)."""
    return row["cycles"] / row["fmax"]


def per_1000_lcs(latency: float, logic_cells: float) -> float:
    """Images per second per 1,000 logic cells: throughput for the logic it costs, the one
    figure that sets a small design beside a large one."""
    return 1e6 / latency / logic_cells * 1000


MAIN_HEADER = ["design", "board", "clock MHz", "logic cells", "FFs", "block RAM", "logic est.",
               "DSPs", "Fmax MHz (constraint)", "timing met", "cycles / inference",
               "bound (cycles / bound)", "work bound", "cycles / work bound",
               "inferences/s at Fmax", "inferences/s per 1,000 LCs", "latency µs at Fmax",
               "latency µs at clock", "inferences/s over UART", "build s"]


def main_table(rows: list[dict]) -> str:
    """The first table: one line per build (:func:`measured_row`)."""
    body = [[r["label"], r["board"], r["clock_text"], f"{r['luts']}/{r['luts_available']}",
             f"{r['ffs']}", f"{r['brams']}/{r['brams_available']} (est. {r['brams_est']})",
             f"{r['luts_est']}", f"{r['dsps']}/{r['dsps_available']}",
             f"{r['fmax']:.1f} ({r['constraint']:.1f})", "yes" if r["met"] else "**no**",
             f"{r['cycles']:.0f}", f"{r['bound']:.0f} ({r['cycles'] / r['bound']:.2f}x)",
             f"{r['work_bound']:.0f}", f"{r['cycles'] / r['work_bound']:.2f}x",
             f"{1e6 / latency_us(r):,.0f}", f"{per_1000_lcs(latency_us(r), r['luts']):,.0f}",
             f"{latency_us(r):.1f}", f"{r['cycles'] / r['clock']:.1f}",
             f"{r['uart_per_s']:.0f}", f"{r['build_s']:.0f}"] for r in rows]
    return table(MAIN_HEADER, body)


def run_name(row: dict) -> str:
    """How the published table's ratio columns name one of our builds (a PLL build of a
    design is a second build of it)."""
    return f"{row['name']} at PLL {row['clock']:.2f} MHz" if row["pll"] else row["name"]


def _ratio(x: float | None) -> str:
    return f"{x:.2f}x" if x is not None else "-"


def published_table(rows: list[dict], published=PUBLISHED) -> str:
    """The second table: our MNIST rows, then every published design with a latency, with
    two ratios to each MNIST row of ours -- latency theirs / ours and images/s per 1,000 LCs
    ours / theirs (above 1: ours is faster, or does more with its logic). Without an MNIST
    row, the published figures alone and a line saying what the ratios need."""
    ours = [r for r in rows if r["name"].startswith("mnist")]
    head = ["design", "latency µs (ours at Fmax)", "images/s", "logic cells",
            "images/s per 1,000 LCs"]
    for r in ours:
        head += [f"latency theirs / ours: {run_name(r)}",
                 f"per 1,000 LCs ours / theirs: {run_name(r)}"]
    body = [[f"spikeforge {r['label']} on {r['board']}", f"{latency_us(r):.1f}",
             f"{1e6 / latency_us(r):,.0f}", f"{r['luts']:,}",
             f"{per_1000_lcs(latency_us(r), r['luts']):,.0f}"] + ["-"] * (2 * len(ours))
            + [f"this run ({run_name(r)}, cycle model at Fmax)"] for r in ours]
    for work, _, latency, logic, source in published:
        if latency is None:
            continue
        theirs = per_1000_lcs(latency, logic) if logic else None
        cells = [work, f"{latency:.1f}", f"{1e6 / latency:,.0f}",
                 f"{logic:,}" if logic else "n/a", f"{theirs:,.0f}" if theirs else "n/a"]
        for r in ours:
            mine = per_1000_lcs(latency_us(r), r["luts"])
            cells += [_ratio(latency / latency_us(r)), _ratio(mine / theirs if theirs else None)]
        body.append(cells + [source])
    text = table(head + ["source"], body)
    if not ours:
        text += ("\n\nThe ratios need an MNIST build in this run (e.g. `--only mnist`): "
                 "this run built no design named mnist...")
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small iCE40 build")
    parser.add_argument("--only", default=None, metavar="NAMES",
                        help="comma-separated designs (core16x32, core64x64, digits, "
                             "digits-l2, mnist, mnist16, mnist-l82)")
    parser.add_argument("--boards", default=None, metavar="NAMES",
                        help="comma-separated boards (icebreaker, ulx3s-85f; default both)")
    parser.add_argument("--pll", action="store_true",
                        help="also build each design with a PLL at --pll-margin of its Fmax")
    parser.add_argument("--pll-margin", type=float, default=0.95, metavar="FRACTION",
                        help="PLL clock as a fraction of the board-clock build's Fmax "
                             "(default %(default)s)")
    parser.add_argument("--pll-at", type=pll_targets, default={}, metavar="FAMILY=MHZ,...",
                        help="build each design only with its PLL at this clock, per family "
                             "(issue 10's targets: ecp5=120,ice40=50); other families as "
                             "without it")
    parser.add_argument("--banks", action="store_true",
                        help="weight memories in banks one block RAM deep "
                             "(SystemConfig.weight_banks, as compile --board sets it)")
    parser.add_argument("--state-memories", choices=("board", "tool"), default="board",
                        help="board (default): the cores' state memories as compile --board "
                             "chooses them (block RAM on the iCE40 where they fit); tool: "
                             "where Yosys puts them (flip-flops when shallow), as before "
                             "stop 37")
    parser.add_argument("--seeds", type=int, default=0, metavar="N",
                        help="also run nextpnr with seeds 1..N on each build's netlist and "
                             "print the Fmax of each (placement noise)")
    parser.add_argument("--json", type=Path, default=None, help="write all reports here")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "bench_boards")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse report.json of earlier builds in --out (no rebuild; "
                             "a report of other system settings is rebuilt)")
    parser.add_argument("--fit-table", action="store_true",
                        help="print the fit estimate against the recorded builds and exit")
    args = parser.parse_args(argv)
    boards = set(args.boards.split(",")) if args.boards else None
    if boards is not None and not boards <= set(BOARDS_BUILT):
        parser.error(f"--boards: {','.join(sorted(boards - set(BOARDS_BUILT)))}: "
                     f"expected {' or '.join(BOARDS_BUILT)}")
    if args.seeds < 0:
        parser.error(f"--seeds: must be 0 or more, got {args.seeds}")
    if args.fit_table:
        print(fit_table())
        return 0

    from spikeforge.boards.build import seed_fmax
    from spikeforge.boards.choose import DOUBLE_BUFFER_FAMILIES
    from spikeforge.boards.fit import estimate, system_layout, system_settings_for
    from spikeforge.boards.specs import BOARDS
    from spikeforge.ir.errors import ConfigError, SpikeforgeError

    only = set(args.only.split(",")) if args.only else None
    if args.quick and only is not None:
        parser.error("--quick builds one small core of its own: drop --only")
    if only is not None and only - set(DESIGN_NAMES):
        parser.error(f"--only: {','.join(sorted(only - set(DESIGN_NAMES)))}: expected some of "
                     f"{', '.join(DESIGN_NAMES)}")
    chosen = designs(args.quick, only, boards)
    missing = sorted((only or set()) - {name for _, (name, _) in chosen})
    if missing:  # an empty table would look like a run
        print(f"bench_boards: {', '.join(missing)}: not built on the boards asked for"
              + (f"; the digits designs need the demo's artifact {DEMO_ARTIFACT}: run "
                 f"`spikeforge demo` first" if {"digits", "digits-l2"} & set(missing)
                 and not (DEMO_ARTIFACT / "manifest.json").exists() else ""), file=sys.stderr)
        return 2
    rows, reports, refused, pll_rows, seed_rows = [], [], [], [], []
    for board, (name, artifact) in chosen:
        counts = design_inputs(name, artifact.network)
        if args.banks:
            artifact = replace(artifact, system=replace(
                artifact.system, weight_banks=BOARDS[board].family))
            name = f"{name}-banked"
        if BOARDS[board].family not in DOUBLE_BUFFER_FAMILIES:
            # single-buffered, as compile --board makes these designs there (the demo
            # artifact is double-buffered since stop 61, and digits-l2 no longer fitted;
            # since stop 65 the iCE40 takes a layer's buffers where they pay by themselves,
            # and neither of digits-l2's layers has the room: above 95 % of the logic)
            artifact = replace(artifact, system=replace(artifact.system, double_buffer=False))
        if args.state_memories == "board":  # what compile --board chooses
            settings, _ = system_settings_for(artifact.plan, board,
                                              weight_banks=artifact.system.weight_banks)
            artifact = replace(artifact, system=replace(artifact.system, **settings))
        network, plan = artifact.network, artifact.plan
        label = f"{name} ({len(plan.cores)} core{'s' if len(plan.cores) > 1 else ''}, " \
                f"{'-'.join(str(l.n_neurons) for l in network.layers)} neurons)"
        speed = cycles_per_inference(artifact, counts)
        fixed = args.pll_at.get(BOARDS[board].family)
        runs = ["pll"] if fixed else [None] + (["pll"] if args.pll else [])
        for run in runs:
            try:
                if run is None:
                    out = args.out / f"{name}-{board}"
                    report = build_or_reuse((name, artifact), board, out, args.reuse)
                    base = report
                else:
                    target = fixed or pll_target_mhz(base["fmax_mhz"], BOARDS[board].family,
                                                     args.pll_margin)
                    out = args.out / f"{name}-{board}-pll{target:g}"
                    report = build_or_reuse((name, artifact), board, out, args.reuse,
                                            clk_mhz=target)
            except ConfigError as error:
                refused.append((label, board, f"does not fit -- {error}"))
                print(f"{label} on {board}: refused: {error}", file=sys.stderr)
                break
            except SpikeforgeError as error:   # Yosys or nextpnr failed: a row, not the end
                lines = str(error).splitlines()   # what failed, then the tool's log tail
                why = "; ".join([lines[0]] + [ln for ln in lines[1:] if "ERROR" in ln][-1:])
                refused.append((label, board, f"build failed -- {why}"))
                print(f"{label} on {board}: {why}", file=sys.stderr)
                break
            est = estimate(plan, board, report["input_depth"], network.decision,
                           **system_layout(artifact.system))
            uart_per_s = report["baud"] / 10 / uart_bytes(counts, network.n_outputs)
            row = measured_row(label, name, board, report, est, speed, uart_per_s)
            rows.append(row)
            fmax, clock, met, clock_text = row["fmax"], row["clock"], row["met"], row["clock_text"]
            pll = report.get("pll")
            if pll:
                pll_rows.append([label, board, f"{report['board_clock_mhz']:g}",
                                 f"{report['requested_clock_mhz']:g}", pll["description"],
                                 f"{clock:.3f}", f"{fmax:.1f}", "yes" if met else "**no**"])
            report.update(zip(("cycles_per_inference", "bound_cycles", "work_bound_cycles"),
                              speed))
            if args.seeds:
                report["fmax_seeds"] = seed_fmax(out, range(1, args.seeds + 1))
                seed_rows.append(seed_row(row, report["fmax_seeds"]))
            reports.append(report)
            print(f"built {label} on {board} at {clock_text} MHz: Fmax {fmax:.1f} MHz "
                  f"({'met' if met else 'NOT met'}), {report['build_s']:.0f} s",
                  file=sys.stderr, flush=True)
    print(f"# spikeforge board builds ({host_platform.machine()}, "
          f"{time.strftime('%Y-%m-%d')})\n")
    print(main_table(rows))
    print("\n## Published MNIST designs beside this run's MNIST rows\n")
    print(published_table(rows))
    if pll_rows:
        print("\n## PLL builds\n")
        print(table(["design", "board", "board clock MHz", "requested MHz", "PLL setting",
                     "achieved MHz", "Fmax MHz", "timing met"], pll_rows))
    if seed_rows:
        print(f"\n## Fmax over nextpnr seeds 1..{args.seeds} (the same netlist)\n")
        print(table(["design", "board", "clock MHz", "default seed", "seeds 1..N", "mean",
                     "range", "met at the clock"], seed_rows))
    for label, board, why in refused:
        print(f"\n* {label} on {board}: {why}")
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
