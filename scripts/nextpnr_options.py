"""nextpnr options measured on a finished board build: the build's own nextpnr line with
the options added, at nextpnr's default seed and seeds 1..N, each placement's Fmax, their
mean and how many meet the clock (docs/boards.md, "Stop 57": placer settings on the iCE40
designs).

    .venv/bin/python scripts/nextpnr_options.py BUILD [--seeds 4] [--tag T] -- OPTION ...

The build is not changed: reports and logs go to ``BUILD/options/<tag>_<seed>.json`` and
``.tim`` (no placed design is written). Placement alone moves an iCE40 build by up to 8 MHz
at one seed (stop 56), so an option is judged by the mean over the placements and the count
that meet the clock, beside the same count without options (no OPTION after ``--``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from spikeforge.boards.build import (nextpnr_seed_command, parse_nextpnr_report, run_nextpnr,
                                     slowest_fmax)


def output_stem(tag: str, seed: int | None) -> str:
    """Where one placement's report (``.report.json``) and log (``.tim``) go."""
    return f"options/{tag}_{'default' if seed is None else seed}"


def options_command(script: str, seed: int | None, options: list[str],
                    tag: str) -> tuple[str, list[str]]:
    """``(tool, arguments)``: the nextpnr line of ``script`` (a ``build_top.sh``) with
    ``options`` added, at ``seed`` (None: nextpnr's default), its report and log renamed to
    :func:`output_stem`."""
    tool, args = nextpnr_seed_command(script, 0)
    if args[-2:] != ["--seed", "0"]:
        raise SystemExit("nextpnr_seed_command no longer ends with --seed N: update this script")
    renamed = {"seeds/seed0.report.json": output_stem(tag, seed) + ".report.json",
               "seeds/seed0.tim": output_stem(tag, seed) + ".tim"}
    args = [renamed.get(a, a) for a in args[:-2]]
    return tool, args + list(options) + ([] if seed is None else ["--seed", str(seed)])


def place(build: Path, script: str, seed: int | None, options: list[str],
          tag: str) -> float | None:
    """nextpnr once: the slowest clock's Fmax in MHz, None where nextpnr failed."""
    error = run_nextpnr(build, *options_command(script, seed, options, tag))
    if error is not None:
        print(f"  nextpnr failed: {error}", file=sys.stderr)
        return None
    return slowest_fmax(parse_nextpnr_report(build / (output_stem(tag, seed) + ".report.json")))


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # nextpnr's options follow "--" (argparse would take them for its own)
    options = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 usage="%(prog)s BUILD [--seeds N] [--tag T] -- OPTION ...")
    ap.add_argument("build", type=Path, help="a finished build (build_top.sh, top.json)")
    ap.add_argument("--seeds", type=int, default=4, help="seeds 1..N after the default")
    ap.add_argument("--tag", default=None, help="file prefix (default: the options joined)")
    args = ap.parse_args(argv)
    args.options = options
    if args.seeds < 0:
        ap.error(f"--seeds: must be a whole number >= 0, got {args.seeds}")
    script_path = args.build / "build_top.sh"
    if not (script_path.is_file() and (args.build / "top.json").is_file()):
        ap.error(f"BUILD: {args.build} holds no finished build (build_top.sh, top.json)")
    script = script_path.read_text()
    tag = args.tag or ("_".join(o.lstrip("-") for o in args.options) or "none")
    (args.build / "options").mkdir(exist_ok=True)
    constraint = min(v["constraint"] for v in parse_nextpnr_report(
        args.build / "top.report.json")["fmax"].values())
    fmax = []
    for seed in [None, *range(1, args.seeds + 1)]:
        f = place(args.build, script, seed, args.options, tag)
        print(f"{'default' if seed is None else f'seed {seed}':>8}: "
              f"{'failed' if f is None else f'{f:.1f} MHz'}", flush=True)
        fmax.append(f)
    placed = [f for f in fmax if f is not None]
    mean = sum(placed) / len(placed) if placed else float("nan")
    meet = sum(f >= constraint for f in placed)
    print(f"{' '.join(args.options) or '(no options)'}: mean {mean:.1f} MHz over "
          f"{len(placed)} placements, {meet} of {len(fmax)} meet {constraint:.2f} MHz")
    return 0


if __name__ == "__main__":
    sys.exit(main())
