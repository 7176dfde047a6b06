"""``spikeforge build`` and ``spikeforge fit``: board builds and fit estimates from the
command line (:mod:`spikeforge.boards`)."""

from __future__ import annotations

import json
from pathlib import Path

from spikeforge.boards.build import (
    ROUTERS,
    build_board,
    format_report,
    learning_spec,
    resolve_design,
)
from spikeforge.boards.fit import estimate, suggestions, system_layout
from spikeforge.boards.learning import learning_design
from spikeforge.boards.specs import BOARDS, MAX_INPUT_DEPTH, MIN_INPUT_DEPTH
from spikeforge.commands.learn import (
    DEFAULT_HIDDEN,
    DEFAULT_SEED,
    add_start_options,
    digits_learner,
)
from spikeforge.commands.options import check_output_dir, integer, number
from spikeforge.ir.errors import ConfigError

__all__ = ["register", "cmd_build", "cmd_fit", "resolve_learning_design", "resolve"]

INPUT_DEPTH = integer(MIN_INPUT_DEPTH, MAX_INPUT_DEPTH)  #: --input-depth

DESIGN_HELP = ("a compiled artifact directory, core[:NEURONSxINPUTS] (e.g. core:16x32), or "
               "learn:digits: the learning build that `spikeforge learn --port` trains (the "
               "digits network 64-H-10 from the random start of --hidden and --seed, with "
               "the learning engine)")


def resolve_learning_design(hidden: int = DEFAULT_HIDDEN, seed: int = DEFAULT_SEED):
    """``((name, artifact), config)`` of ``learn:digits``: the learning build of
    ``spikeforge learn``'s learner (:func:`~spikeforge.commands.learn.digits_learner`), made
    by :func:`~spikeforge.boards.learning.learning_design` as ``spikeforge learn --sim``
    co-simulates it."""
    learner = digits_learner(hidden, seed)[0]
    artifact, config = learning_design(learner)
    sizes = "x".join(str(n) for n in (config.n_inputs, config.n_hidden, config.n_outputs))
    return (f"learn-digits{sizes}-seed{seed}", artifact), config


def resolve(args):
    """``((name, artifact), learning config or None)`` of the command's design; ``--hidden``
    and ``--seed`` are refused with a design other than ``learn:digits``."""
    if learning_spec(args.design) is not None:
        return resolve_learning_design(DEFAULT_HIDDEN if args.hidden is None else args.hidden,
                                       DEFAULT_SEED if args.seed is None else args.seed)
    for flag, value in (("--hidden", args.hidden), ("--seed", args.seed)):
        if value is not None:
            raise ConfigError(f"{flag}: sets the random start of the learning build "
                              f"learn:digits only, not of {args.design!r}")
    return resolve_design(args.design), None


def cmd_build(args) -> int:
    if args.out is not None:
        check_output_dir(args.out, "--out")
    source, learning = resolve(args)
    report = build_board(source, args.board, args.out, baud=args.baud,
                         input_depth=args.input_depth, fit_check=not args.no_fit_check,
                         quiet=not args.verbose, clk_mhz=args.clk_mhz,
                         allow_timing_fail=args.allow_timing_fail, reuse=args.reuse,
                         learning=learning, router=args.router,
                         nextpnr_seed=args.nextpnr_seed, seeds=args.seeds)
    if report.get("reused"):
        where = args.out or (Path(report["bitstream"]).parent if report.get("bitstream")
                             else f"build/boards/{report['design']}-{report['board']}")
        print(f"reused the build in {where}: the same build plan, byte for byte")
    if report.get("bitstream") is None and report.get("note"):
        print(f"{report['design']} on {report['board']}: exported {', '.join(report['exported'])}")
        print(report["note"])
    else:
        print(format_report(report))
    out = Path(args.out) if args.out else None
    print(f"report: {(out or Path(report['bitstream']).parent) / 'report.json'}"
          if (out or report.get("bitstream")) else "")
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


def cmd_fit(args) -> int:
    """The estimate for ``--board`` (or every board). Exit status 0 when the design fits
    that board (any board, without ``--board``), 2 when it does not -- each board it does
    not fit gets a line saying what to change."""
    (_, artifact), learning = resolve(args)
    plan = artifact.plan
    boards = [args.board] if args.board else list(BOARDS)
    system = artifact.system  # the memory layout the artifact was compiled with
    estimates = {board: estimate(plan, board, args.input_depth, system.decision,
                                 learning=learning, **system_layout(system))
                 for board in boards}
    if args.json:
        print(json.dumps([dict(est.as_dict(), to_fit=None if est.fits else suggestions(plan, est))
                          for est in estimates.values()], indent=2))
    else:
        for board, est in estimates.items():
            verdict = "fits" if est.fits else "DOES NOT FIT: " + "; ".join(est.problems)
            print(f"{board:<11} block RAM {est.brams:>4} / {est.brams_available:<4} "
                  f"DSP {est.dsps:>3} / {est.dsps_available:<4} "
                  f"LUTs ~{est.luts:>6} / {est.luts_available:<6} "
                  f"FFs ~{est.ffs:>6} / {est.ffs_available:<6} {verdict}")
            if not est.fits:
                print(f"{'':<11} to make it fit: {suggestions(plan, est)}")
    return 0 if any(est.fits for est in estimates.values()) else 2


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "build", help="build the board top of an artifact (or a test core, or the learning "
                      "build) into a bitstream",
        description="Build the board top (UART host interface + the compiled system) for a "
                    "board with Yosys and nextpnr (system tools or the YoWASP packages) and "
                    "report LUTs, FFs, block RAMs, DSPs and the Fmax achieved against the "
                    "board clock (or the PLL clock of --clk-mhz). arty-a7 exports Verilog + "
                    "XDC for Vivado only. learn:digits builds the board that `spikeforge "
                    "learn --port` trains: the system with the on-chip learning engine "
                    "(protocol v3's TRAIN, LEARN, STORE), from the start --hidden, --seed.")
    p.add_argument("design", metavar="ARTIFACT_OR_CORE", help=DESIGN_HELP)
    p.add_argument("--board", required=True, choices=list(BOARDS))
    add_start_options(p, defaults=False, note=" of learn:digits")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="build directory (default: build/boards/<design>-<board>)")
    p.add_argument("--baud", type=integer(1), default=115200,
                   help="UART baud rate (default: %(default)s)")
    p.add_argument("--input-depth", type=INPUT_DEPTH, default=None, metavar="ITEMS",
                   help="input buffer items (default: 512 on icebreaker, 4096 otherwise)")
    p.add_argument("--clk-mhz", type=number(0, lo_open=True), default=None, metavar="MHZ",
                   help="run the design from a PLL (iCE40 SB_PLL40_PAD, ECP5 EHXPLLL) at the "
                        "setting closest to MHZ (within 1%%) instead of the board clock; the "
                        "UART divisor and the timing constraint use the PLL frequency")
    p.add_argument("--router", choices=ROUTERS, default=None,
                   help="nextpnr's router (default: nextpnr's, router1, which routes the "
                        "ECP5-85F designs of up to 38,000 logic cells in minutes, above router2: "
                        "the TTFS 784-600-10 design at 94.4 MHz against 72.0 on one placement; "
                        "router2 finished where router1 did not, on MNIST-fast's 47,000)")
    p.add_argument("--nextpnr-seed", type=integer(0), default=None, metavar="N",
                   help="nextpnr's placement seed (default: nextpnr's); placement alone moves "
                        "a large design's Fmax a lot: the TTFS 784-600-10 on the ULX3S-85F "
                        "routed at 46.4 MHz at the default seed, 66.5 at seed 2")
    p.add_argument("--seeds", type=integer(0), default=0, metavar="N",
                   help="where timing is not met at nextpnr's default placement, place and "
                        "route again with seeds 1..N and keep the first placement that meets "
                        "it (the report lists each); an iCE40 design at 58-86%% of the device "
                        "moves by up to 8 MHz with the seed (default: 0, the default placement "
                        "only)")
    p.add_argument("--allow-timing-fail", action="store_true",
                   help="keep a build whose Fmax is below its clock (reported, exit 0)")
    p.add_argument("--no-fit-check", action="store_true",
                   help="skip the pre-synthesis fit estimate")
    p.add_argument("--reuse", action="store_true",
                   help="keep the finished build in --out if it is of exactly this build plan "
                        "(the design's RTLIL, constraints and tool scripts byte for byte) "
                        "instead of running the tools again")
    p.add_argument("--json", action="store_true", help="also print the whole report as JSON")
    p.add_argument("--verbose", action="store_true", help="show the tools' output")
    p.set_defaults(handler=cmd_build)

    p = subparsers.add_parser(
        "fit", help="estimate whether a design fits each board (no synthesis)",
        description="Estimate block RAM and logic of the board top of a design on each board, "
                    "and say what would make it fit where it does not.")
    p.add_argument("design", metavar="ARTIFACT_OR_CORE", help=DESIGN_HELP)
    p.add_argument("--board", choices=list(BOARDS), default=None,
                   help="estimate for this board only (default: every board); exit status 2 "
                        "when the design does not fit it (without --board: fits none)")
    p.add_argument("--input-depth", type=INPUT_DEPTH, default=None, metavar="ITEMS",
                   help="input buffer items (default: 512 on icebreaker, 4096 otherwise)")
    add_start_options(p, defaults=False, note=" of learn:digits")
    p.add_argument("--json", action="store_true",
                   help="print the estimates as JSON (with what to change where it does not fit)")
    p.set_defaults(handler=cmd_fit)
