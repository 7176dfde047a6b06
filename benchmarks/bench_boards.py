"""Board builds: utilisation, Fmax and inference speed of spikeforge designs on real FPGAs.

    .venv/bin/python benchmarks/bench_boards.py             # all designs, both boards (~10 min)
    .venv/bin/python benchmarks/bench_boards.py --quick     # one small iCE40 build
    .venv/bin/python benchmarks/bench_boards.py --json out.json

For each design and board: a full build (Yosys + nextpnr + pack, system tools or YoWASP)
through :func:`spikeforge.boards.build.build_board`, then the cycles per inference from the
system cycle model (:func:`spikeforge.sim.system_cycle.predict_run`, exact against the RTL)
on the design's inputs (the digits test images of the demo artifact, or random inputs for
the test cores), and from them the inferences per second and latency at the achieved Fmax.
The UART transfer (115200 baud) is not included: it is reported separately as the
host-link-limited rate. Designs that the fit estimate refuses are listed with the reason.

No column compares with other SNN-on-FPGA toolkits: we found no published figure for the
same network on the same device to cite, so none is shown (see docs/boards.md).
"""

from __future__ import annotations

import argparse
import json
import platform as host_platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEMO_ARTIFACT = REPO / "build" / "demo" / "compiled"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)


def design_inputs(name, network, images: int = 20, ticks: int = 16):
    """Inputs [images, ticks, n_inputs]: the demo's test images, else random events."""
    if name == "digits" and (DEMO_ARTIFACT / "expected.npz").exists():
        from spikeforge.compiler.flow import load_expected

        counts = load_expected(DEMO_ARTIFACT / "expected.npz")["input_counts"][:images]
        return counts.astype(np.int64)
    rng = np.random.default_rng(0)
    return (rng.random((images, ticks, network.n_inputs)) < 0.2).astype(np.int64)


def cycles_per_inference(network, plan, counts) -> float:
    from spikeforge.sim.cosim.system_cosim import expected_run

    _, timings, _ = expected_run(network, plan, counts)
    return float(np.mean([t.cycles for t in timings]))


def uart_bytes(counts, n_classes: int, items_per_frame: int = 256) -> float:
    """Bytes on the wire per inference of ``SpikeforgeBoard.infer`` (CLEAR + ACK, LOAD
    frames of up to 256 items + ACKs, RUN + RESULT), on average over ``counts``."""
    from spikeforge.boards.host_protocol import encode_items

    total = 0
    for c in counts:
        items = len(encode_items(c))
        frames = max(1, -(-items // items_per_frame))
        total += (5 + 7) + (frames * (5 + 7) + 2 * items) + (7 + 5 + 13 + 2 * n_classes)
    return total / len(counts)


def designs(quick: bool):
    from spikeforge.boards.build import resolve_design

    if quick:
        return [("icebreaker", resolve_design("core:8x16"))]
    out = []
    for board in ("icebreaker", "ulx3s-85f"):
        out.append((board, resolve_design("core:16x32")))
        out.append((board, resolve_design("core:64x64")))
        if (DEMO_ARTIFACT / "manifest.json").exists():
            name, network, plan = resolve_design(str(DEMO_ARTIFACT))
            out.append((board, ("digits", network, plan)))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small iCE40 build")
    parser.add_argument("--json", type=Path, default=None, help="write all reports here")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "bench_boards")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse report.json of earlier builds in --out (no rebuild)")
    args = parser.parse_args(argv)

    from spikeforge.boards.build import build_board
    from spikeforge.boards.fit import check_fit, estimate
    from spikeforge.sim.contract import ConfigError

    rows, reports, refused = [], [], []
    for board, (name, network, plan) in designs(args.quick):
        label = f"{name} ({len(plan.cores)} core{'s' if len(plan.cores) > 1 else ''}, " \
                f"{'-'.join(str(l.n_neurons) for l in network.layers)} neurons)"
        saved = args.out / f"{name}-{board}" / "report.json"
        try:
            if args.reuse and saved.exists():
                report = json.loads(saved.read_text())
                check_fit(plan, board, report["input_depth"], network.decision)
            else:
                report = build_board((name, network, plan), board, args.out / f"{name}-{board}")
        except ConfigError as error:
            refused.append((label, board, str(error)))
            print(f"{label} on {board}: refused by the fit check: {error}", file=sys.stderr)
            continue
        counts = design_inputs(name, network)
        cycles = cycles_per_inference(network, plan, counts)
        fmax = report["fmax_mhz"]
        u = report["utilization"]
        est = estimate(plan, board, report["input_depth"], network.decision)
        per_s = fmax * 1e6 / cycles
        uart_per_s = report["baud"] / 10 / uart_bytes(counts, network.n_outputs)
        rows.append([
            label, board,
            f"{u['luts']['used']}/{u['luts']['available']}",
            f"{u['ffs']['used']}",
            f"{u['brams']['used']}/{u['brams']['available']} (est. {est.brams})",
            f"{est.luts}",
            f"{u['dsps']['used']}/{u['dsps']['available']}",
            f"{fmax:.1f} ({report['constraint_mhz']:.0f})",
            f"{cycles:.0f}", f"{per_s:,.0f}", f"{cycles / fmax:.1f}", f"{uart_per_s:.0f}",
            f"{report['build_s']:.0f}"])
        report["cycles_per_inference"] = cycles
        reports.append(report)
        print(f"built {label} on {board}: {fmax:.1f} MHz, {report['build_s']:.0f} s",
              file=sys.stderr, flush=True)
    print(f"# spikeforge board builds ({host_platform.machine()}, "
          f"{time.strftime('%Y-%m-%d')})\n")
    print(table(["design", "board", "logic cells", "FFs", "block RAM", "logic est.", "DSPs",
                 "Fmax MHz (constraint)",
                 "cycles / inference", "inferences/s at Fmax", "latency µs at Fmax",
                 "inferences/s over UART", "build s"], rows))
    for label, board, why in refused:
        print(f"\n* {label} on {board}: does not fit -- {why}")
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
