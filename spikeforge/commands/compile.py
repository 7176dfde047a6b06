"""``spikeforge compile`` (model file -> artifact, system Verilog, expected traces) and
``spikeforge verify`` (co-simulate a compiled directory against its golden model)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from spikeforge.boards.choose import (
    DOUBLE_BUFFERED,
    GAIN,
    choose_double_buffer,
    choose_lanes,
    double_buffered_line,
)
from spikeforge.boards.fit import estimate, state_memories_for, system_settings_for
from spikeforge.boards.specs import BOARDS
from spikeforge.commands.options import check_output_dir, check_writable, integer
from spikeforge.compiler.map import plan_network
from spikeforge.cosim.runner import SIMULATORS, simulator_missing
from spikeforge.flow import (
    ENGINES,
    TABLE_HEADER,
    check_compile_out,
    compile_network,
    engine_for,
    hardware_input,
    verify_artifact,
)
from spikeforge.ir.errors import ConfigError, SpikeforgeError
from spikeforge.ir.params import MAX_STATE_BITS
from spikeforge.ir.system import (LANES_PER_LUT, SPLIT_WORDS, DoubleBuffer, SystemConfig,
                                  check_double_buffer, chosen_system, core_tile_stage)
from spikeforge.sim.network import classify, overflowing_images

#: images of the test split stored as expected traces by default (MNIST: 10000 would be big)
DEFAULT_TRACE_IMAGES = 1000


def lanes_option(text: str):
    """``--lanes``: ``L`` or ``L0,L1,...`` (one per layer), each in 1..64."""
    try:
        values = [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number or a comma list, got {text!r}") from None
    if any(not 1 <= v <= 64 for v in values):
        raise argparse.ArgumentTypeError(f"each value must be in 1..64, got {text!r}")
    return values[0] if len(values) == 1 else values


def layers_option(text: str) -> tuple[int, ...]:
    """``--double-buffer-layers``: ``L`` or ``L0,L1,...``, distinct layer indices >= 0."""
    try:
        values = [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected layer indices like 0 or 0,2, got "
                                         f"{text!r}") from None
    if any(v < 0 for v in values) or len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"expected distinct layer indices >= 0, got {text!r}")
    return tuple(sorted(values))


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "compile", help="compile a model file into an artifact, system Verilog and expected traces",
        description="Quantize a model file (from `spikeforge train`) to the integer network, plan "
                    "it onto cores, and write the artifact (manifest + memory images), the "
                    "Verilog of the whole system and the golden outputs of test images "
                    "(expected.npz) into OUT_DIR.")
    p.add_argument("model", type=Path, metavar="MODEL", help="model file written by `spikeforge train`")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output directory")
    p.add_argument("--lanes", type=lanes_option, default=None, metavar="L",
                   help="neurons each core updates per cycle (weights packed L to a memory "
                        "word; an input event costs ceil(N/L) + 1 cycles): one number, or one "
                        "per layer separated by commas (default: 1, or with --board the "
                        "fastest that fits)")
    p.add_argument("--board", choices=sorted(BOARDS), default=None,
                   help="the board to compile for: without --lanes, the fastest lanes whose "
                        "design fits it (and why); with --lanes, refused unless they fit")
    p.add_argument("--neurons-per-core", type=integer(1), default=None, metavar="K",
                   help="most neurons per core (default: one core per layer)")
    p.add_argument("--weight-shift", type=integer(0, MAX_STATE_BITS - 8), default=0, metavar="S",
                   help="the event phase adds each 8-bit weight times 2**S: S more current "
                        "bits below the weight, so the current's decay, which rounds toward "
                        "zero, loses a fraction of a weight step a tick instead of a whole "
                        "one (slow currents, e.g. TTFS at 32+ ticks per tau; default 0)")
    p.add_argument("--keep-silent-inputs", action="store_true",
                   help="keep the inputs whose first-layer weights are all 0 (by default they "
                        "get no weight row and the host drops their events: exact, and "
                        "784-600-10 then fits the ECP5-85F)")
    p.add_argument("--no-overlap", action="store_true",
                   help="keep the tick barrier: without it, the network takes tick t + 1's "
                        "input during tick t's update phase (fewer cycles)")
    buffers = p.add_mutually_exclusive_group()
    buffers.add_argument("--double-buffer", action=argparse.BooleanOptionalAction, default=None,
                         help="cores with two event buffers beside the current: each takes the "
                              "next tick's events while its own update runs (fewer cycles; "
                              "two more current memories per core). Default: single-buffered, "
                              "but with --board chosen where the board's family, the fit and "
                              "the cycles say so (and why)")
    buffers.add_argument("--double-buffer-layers", dest="double_buffer", type=layers_option,
                         metavar="L[,L...]",
                         help="double-buffer the cores of these layers only (0 = the first)")
    p.add_argument("--tile-stage", action="store_true",
                   help=f"the hidden layers' single-buffered cores of more than "
                        f"{LANES_PER_LUT} lanes and {SPLIT_WORDS} words or more with their "
                        "lane groups a cycle behind their control: "
                        "every path from a core's control into its lanes starts at a register "
                        "(for Fmax on the ECP5; a cycle more per update phase, the same "
                        "spikes). Default: off")
    p.add_argument("--full-banks", action="store_true",
                   help="with --board: every weight bank as deep as the others, the last one "
                        "padded, so that each is one block RAM deep with its output register "
                        "(for Fmax on the ECP5, where a short last bank wider than 18 bits "
                        "keeps none; more block RAMs, the same cycles). Default: off")
    p.add_argument("--lane-copies", action="store_true",
                   help="one-word cores of more than 4 lanes select their write-back bypass "
                        "with a register per lane group (for Fmax on the ECP5; the same "
                        "cycles). Default: off")
    p.add_argument("--input-copies", action="store_true",
                   help="with --board: the input event's index in a register per layer-0 core "
                        "wherever layer 0 has two or more cores (compile --board gives it only "
                        "where a core's first weight address takes an adder), so that no one "
                        "register reaches every hidden core's weight banks across the die "
                        "(for Fmax on the ECP5; the same cycles). Default: off")
    p.add_argument("--fmax", action="store_true",
                   help="with an ECP5 --board: plan for Fmax -- of the plans within "
                        f"{GAIN:.0%}% of the fewest cycles the one whose widest core has the "
                        "fewest lanes (a narrow core's lanes and banks span less of the die), "
                        "with --lane-copies, --full-banks where the padded banks fit and "
                        "--input-copies where layer 0 has two or more cores; the same "
                        "spikes, more cores and block RAMs. Default: off (the fewest cores "
                        "within that of the fewest cycles)")
    p.add_argument("--images", type=integer(1), default=None, metavar="N",
                   help=f"test images for the expected traces (default: all, at most "
                        f"{DEFAULT_TRACE_IMAGES})")
    p.add_argument("--path", default=None, help="directory of the IDX files (mnist, fashion-mnist)")
    p.add_argument("--json", action="store_true",
                   help="print the result as JSON on stdout (progress goes to stderr): the "
                        "files, cores, lanes, the system settings chosen (\"system\", as the "
                        "artifact holds them), the golden accuracy")
    p.set_defaults(handler=cmd_compile)

    p = subparsers.add_parser(
        "verify", help="co-simulate a compiled directory against its golden model",
        description="Co-simulate test images of a compiled directory on the whole system's RTL "
                    "and compare class, decision tick, every spike and its clock cycle with the "
                    "golden and cycle models. The simulated Verilog is the shipped "
                    "spikeforge_system.v itself, refused by name if it differs from what the "
                    "artifact determines; the expected traces are checked layer by layer first. "
                    "Verilator runs a compiled harness (--engine fast, sharded over --jobs "
                    "processes) unless --engine cocotb; Icarus runs the cocotb bench.")
    p.add_argument("dir", type=Path, metavar="DIR", help="output directory of `spikeforge compile`")
    p.add_argument("--images", type=images_or_all, default=None, metavar="N|all",
                   help="co-simulate the first N images of expected.npz, or all (default: all)")
    p.add_argument("--simulator", choices=[*SIMULATORS, "both"], default="verilator",
                   help="co-simulation back end (default: %(default)s)")
    p.add_argument("--engine", choices=ENGINES, default=None,
                   help="Verilator: fast (compiled C++ harness, default) or cocotb (the bench); "
                        "Icarus: always cocotb")
    p.add_argument("--jobs", type=integer(1), default=None, metavar="N",
                   help="local processes of the fast engine (default: the CPU count)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run the fast engine's shards on the Dask distributed cluster whose "
                        "scheduler is at ADDRESS (e.g. tcp://10.0.0.5:8786; each worker needs "
                        "spikeforge and Verilator; pip install 'dask[distributed]')")
    p.add_argument("--waves", action="store_true",
                   help="on a mismatch, run the first shard or chunk with a mismatch again "
                        "with waves into DIR/waves/ (VCD; FST for Icarus; open it with "
                        "GTKWave); the mismatch message names the file, the time and the "
                        "signal to look at")
    p.add_argument("--waves-dir", type=Path, default=None, metavar="PATH",
                   help="--waves, into PATH instead of DIR/waves/")
    p.add_argument("--json", action="store_true",
                   help="print one JSON report per simulator instead of the table")
    p.add_argument("--chunk", type=integer(1), default=50,
                   help="images per simulation run (default: 50)")
    p.set_defaults(handler=cmd_verify)


def images_or_all(text: str) -> int | None:
    """``--images``: ``all`` (None: every image of expected.npz) or a whole number >= 1."""
    if text.strip().lower() == "all":
        return None
    try:
        int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number or all, got {text!r}") from None
    return integer(1)(text)


def cmd_compile(args) -> int:
    if args.full_banks and not args.board:
        raise ConfigError("--full-banks: needs --board (the banks are the board's block RAMs)")
    if args.input_copies and not args.board:
        raise ConfigError("--input-copies: needs --board (the copies are the board engine's "
                          "registers)")
    if args.fmax and BOARDS.get(args.board) is None:
        raise ConfigError("--fmax: needs --board (it plans for the board's block RAMs and die)")
    if args.fmax and BOARDS[args.board].family != "ecp5":
        raise ConfigError(f"--fmax: {args.board} is an {BOARDS[args.board].family} board; "
                          f"--fmax's plan and options were measured on the ECP5 only")
    # the output first: refused before the model is read (and torch imported)
    try:
        check_compile_out(args.out)
    except SpikeforgeError as error:
        raise SpikeforgeError(f"--out: {error}") from None
    check_writable(args.out, "--out", beside=True)
    # spikeforge.model reads model files with torch (seconds to import): only when compiling
    from spikeforge.model.datasets import load_dataset
    from spikeforge.model.modelfile import encode_test_images, integer_network_of, load_model

    t0 = time.perf_counter()
    model = load_model(args.model)
    try:
        network = integer_network_of(model, weight_shift=args.weight_shift)
    except ConfigError as error:
        raise SpikeforgeError(f"{args.model}: network: {error}") from None
    sizes = [network.n_inputs] + [layer.n_neurons for layer in network.layers]
    if sizes != list(model["sizes"]):
        raise SpikeforgeError(f"{args.model}: sizes {model['sizes']} do not match the network {sizes}")
    if model["dataset"] == "digits" and args.path is not None:
        raise ConfigError(f"--path: {args.model} was trained on digits, which comes with "
                          f"scikit-learn and takes no path")
    ds = load_dataset(model["dataset"], path=args.path)
    if ds.n_features != network.n_inputs:
        raise SpikeforgeError(f"{args.model}: the network has {network.n_inputs} inputs but "
                              f"dataset {ds.name} has {ds.n_features} features")
    n = min(len(ds.test_y), DEFAULT_TRACE_IMAGES) if args.images is None else args.images
    if not 1 <= n <= len(ds.test_y):
        raise ConfigError(f"--images: must be in 1..{len(ds.test_y)}, got {n}")
    if isinstance(args.double_buffer, tuple):
        try:
            check_double_buffer(SystemConfig(double_buffer=args.double_buffer),
                                len(network.layers))
        except ConfigError as error:
            raise ConfigError(f"--double-buffer-layers: "
                              f"{str(error).removeprefix('double_buffer: ')}") from None
    counts = encode_test_images(model, ds, n)
    log = sys.stderr if args.json else sys.stdout
    print(f"compiling {args.model}: {model['kind']} {ds.name} {'-'.join(map(str, sizes))}, "
          f"decision {network.decision.value}", file=log)
    if args.board:
        lanes, cores = board_lanes(args, network, counts, log)
        double, settings = board_system(args, network, counts, lanes, cores, log)
    else:
        lanes, cores = args.lanes or 1, args.neurons_per_core
        double, settings = args.double_buffer or False, {}
        if double:
            print(f"  {buffered_reason(double)}", file=log)
    system = chosen_system(network.decision, not args.no_overlap, double_buffer=double,
                           tile_stage=args.tile_stage,
                           lane_copies=args.lane_copies or args.fmax, **settings)
    print(f"  tick controller: {overlap_reason(system)}", file=log)
    if args.tile_stage:
        print(f"  {tile_reason(system, network, lanes, cores)}", file=log)
    if system.lane_copies:
        print(f"  one-word cores of more than {LANES_PER_LUT} lanes: the write-back bypass "
              f"select a register per lane group "
              f"({'--lane-copies' if args.lane_copies else '--fmax'})", file=log)
    result = compile_network(network, args.out, counts, ds.test_y[:n], cores, lanes=lanes,
                             drop_silent=not args.keep_silent_inputs, system=system,
                             info={"model": str(args.model), "dataset": ds.name,
                                   "kind": model["kind"], "metrics": model["metrics"]},
                             progress="stderr" if args.json else True)
    golden = float((classify(network, counts, strict=False) == ds.test_y[:n]).mean())
    hw_network, _, hw_counts = hardware_input(network, counts, not args.keep_silent_inputs)
    report_overflow(hw_network, hw_counts, log)  # as the hardware sees them
    seconds = time.perf_counter() - t0
    print(f"{result.n_cores} cores, golden accuracy on the {n} traced test images {golden:.2%}, "
          f"compiled in {seconds:.1f} s -> {args.out}", file=log)
    if args.json:
        record = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(result).items()
                  if k != "inputs"}
        record["silent_inputs_dropped"] = (0 if result.inputs is None
                                           else result.inputs.n_sensor - result.inputs.n_inputs)
        print(json.dumps({**record, "images": n, "golden_accuracy": golden,
                          "lanes": lanes, "neurons_per_core": cores, "board": args.board,
                          "system": system.to_dict(), "wall_seconds": seconds},
                         indent=2))
    return 0


def tile_reason(system, network, lanes, cores) -> str:
    """Which cores ``--tile-stage`` gave the tile stage, said."""
    plan = plan_network(network, neurons_per_core=cores, lanes=lanes)
    n = plan.n_layers
    tiled = [c for l in range(n) for c in plan.cores_of_layer(l)
             if core_tile_stage(system, l, n, c.config.lanes, c.config.words)]
    if not tiled:
        return (f"tile stage: no core takes it (--tile-stage: a hidden layer's single-buffered "
                f"core of more than {LANES_PER_LUT} lanes and {SPLIT_WORDS} words or more)")
    return (f"tile stage: {len(tiled)} core{'s' if len(tiled) != 1 else ''} with "
            f"{'their' if len(tiled) != 1 else 'its'} lane groups a cycle behind the control, "
            f"a cycle more per update phase (--tile-stage)")


def overlap_reason(system) -> str:
    """Which tick controller the artifact gets, and why."""
    if system.overlap:
        return ("overlapped input (tick t + 1's events enter while tick t's spikes are still "
                "taken; --no-overlap for the tick barrier)")
    return "tick barrier (--no-overlap)"


def report_overflow(network, counts, log) -> None:
    """Say how many traced images exceed the first layer's event bound in some tick: the
    hardware raises ``error`` on them and its accumulators wrap (the contract's overflow,
    which the expected traces hold)."""
    over = overflowing_images(network, counts)
    if len(over):
        print(f"  note: {len(over)} of {len(counts)} traced images have more events in a tick "
              f"than layers[0].max_events_per_tick = {network.layers[0].max_events_per_tick} "
              f"(first: image {int(over[0])}); the hardware flags them with error and its "
              f"accumulators wrap", file=log)


#: sample images the lanes are chosen on (the work of more barely moves the choice)
CHOICE_IMAGES = 100


def board_lanes(args, network, counts, log) -> tuple:
    """``--board``: ``(lanes, neurons_per_core)`` -- the user's ``--lanes`` (and
    ``--neurons-per-core``) if they fit the board (else refused with the estimate's reasons),
    or the fastest lanes and cores that fit (:func:`~spikeforge.boards.choose.choose_lanes`,
    by the cycle model of the system to be built, said with why; the user's
    ``--neurons-per-core`` kept where given). The plan is that of
    the network the artifact will hold (silent inputs dropped unless
    ``--keep-silent-inputs``)."""
    network, _, counts = hardware_input(network, counts, not args.keep_silent_inputs)
    if args.lanes is not None:
        plan = plan_network(network, neurons_per_core=args.neurons_per_core, lanes=args.lanes)
        # judged in the memory layout the board gives it (board_settings): banks and state
        # memories in block RAM fit the digits latency design, lanes [2, 2] with its hidden
        # core double-buffered, in 4,981 estimated logic cells, where the plain layout's
        # 5,302 refused the very design `compile --board` chooses (stop 76)
        double = args.double_buffer or False
        layout, _ = board_settings(plan, args.board, double, args.tile_stage, args.full_banks,
                                   args.input_copies, args.fmax)
        fit = estimate(plan, args.board, double_buffer=double, tile_stage=args.tile_stage,
                       weight_banks=layout["weight_banks"], full_banks=layout["full_banks"],
                       state_memories=layout["state_memories"])
        if not fit.fits:
            raise ConfigError(f"--lanes {args.lanes}: does not fit {args.board}: "
                              f"{'; '.join(fit.problems)} (leave --lanes out to choose)")
        return args.lanes, args.neurons_per_core
    choice = choose_lanes(network, args.board, counts[:CHOICE_IMAGES], args.neurons_per_core,
                          system=chosen_system(network.decision, not args.no_overlap,
                                               double_buffer=args.double_buffer or False,
                                               tile_stage=args.tile_stage),
                          narrow=args.fmax)
    print(f"  lanes for {args.board} ({choice.tried} plans estimated on "
          f"{min(len(counts), CHOICE_IMAGES)} test images, the fastest run through the cycle "
          f"model):", file=log)
    for line in choice.why:
        print(f"    {line}", file=log)
    cores = (choice.neurons_per_core if any(c is not None for c in choice.neurons_per_core)
             else None)
    return choice.lanes, cores


def board_system(args, network, counts, lanes, cores, log) -> tuple[DoubleBuffer, dict]:
    """``--board``: which cores are double-buffered -- ``--double-buffer`` /
    ``--no-double-buffer`` / ``--double-buffer-layers``, else as
    :func:`~spikeforge.boards.choose.choose_double_buffer` decides for the plan -- and the
    other :class:`SystemConfig` fields (:func:`board_settings`, which depend on the
    buffers) as keyword arguments of :func:`~spikeforge.ir.system.chosen_system`; each
    said."""
    network, _, counts = hardware_input(network, counts, not args.keep_silent_inputs)
    plan = plan_network(network, neurons_per_core=cores, lanes=lanes)
    layouts = {}

    def layout(double):
        if double not in layouts:
            layouts[double] = board_settings(plan, args.board, double, args.tile_stage,
                                             args.full_banks, args.input_copies, args.fmax)
        return layouts[double]

    if args.double_buffer is None:
        double_buffer, why = choose_double_buffer(
            network, args.board, plan, counts[:CHOICE_IMAGES],
            lambda d: chosen_system(network.decision, not args.no_overlap, double_buffer=d,
                                    tile_stage=args.tile_stage, **layout(d)[0]))
    else:
        double_buffer = args.double_buffer
        why = buffered_reason(double_buffer)
    settings, reasons = layout(double_buffer)
    for line in reasons + [why]:
        print(f"  {line}", file=log)
    return double_buffer, settings


def buffered_reason(double_buffer: DoubleBuffer) -> str:
    """What the user's double-buffering option chose, said."""
    if double_buffer is True:
        return f"{DOUBLE_BUFFERED} (--double-buffer)"
    if double_buffer:
        return f"{double_buffered_line(double_buffer)} (--double-buffer-layers)"
    return "cores single-buffered (--no-double-buffer)"


def board_settings(plan, board: str, double_buffer: DoubleBuffer, tile_stage: bool = False,
                   full_banks: bool = False, input_copies: bool = False,
                   fmax: bool = False) -> tuple[dict, list[str]]:
    """:attr:`SystemConfig.weight_banks`, :attr:`SystemConfig.state_memories`,
    :attr:`SystemConfig.input_copies` and :attr:`SystemConfig.sum_stage` for ``plan`` on
    ``board`` with or without double-buffered cores (and the tiled cores' registers in the
    estimate with ``tile_stage``), as keyword arguments of
    :func:`~spikeforge.ir.system.chosen_system`, and the reason for each: weight memories in
    banks one block RAM of the board's family deep (a higher Fmax, the same cycles and
    results) if the banked plan still fits the board, its state memories where they would
    go with the banks (:func:`~spikeforge.boards.fit.state_memories_for`), else ``""``; the
    others as :func:`~spikeforge.boards.fit.system_settings_for` chooses them with those
    banks. (With the state memories in flip-flops the estimate of the iCE40 digits latency
    design's hidden core double-buffered did not fit, and that design went unbanked.)
    ``full_banks`` (``--full-banks``): every bank as deep as the others, or
    :class:`ConfigError` where the banks then do not fit; ``input_copies``
    (``--input-copies``): the input index in a register per layer-0 core wherever there are
    two or more (:func:`~spikeforge.boards.fit.input_copies_for`'s ``forced``); ``fmax``
    (``--fmax``): full banks where they fit (else said), the copies wherever layer 0 has two
    or more cores."""
    family = BOARDS[board].family
    state, _ = state_memories_for(plan, board, weight_banks=family, double_buffer=double_buffer)

    def fit_of(full: bool):
        return estimate(plan, board, weight_banks=family, state_memories=state,
                        double_buffer=double_buffer, tile_stage=tile_stage, full_banks=full)

    padded, unpadded = full_banks or fmax, ""
    fit = fit_of(padded)
    if fmax and not full_banks and not fit.fits:
        unpadded = f"; not as deep as the others (--fmax): then {'; '.join(fit.problems)}"
        padded, fit = False, fit_of(False)
    if fit.fits:
        why = (f"weight memories in banks one {family} block RAM deep"
               + (f", the last one as deep as the others "
                  f"({'--full-banks' if full_banks else '--fmax'})" if padded else "")
               + f" (about {fit.brams} of {fit.brams_available} block RAMs){unpadded}")
        banks = family
    elif full_banks:
        raise ConfigError(f"--full-banks: the banked weights do not fit {board}: "
                          f"{'; '.join(fit.problems)}")
    else:
        why, banks = f"weight memories not banked: banked, {'; '.join(fit.problems)}", ""
    settings, reasons = system_settings_for(plan, board, weight_banks=banks,
                                            double_buffer=double_buffer,
                                            input_copies=input_copies, fmax=fmax)
    # (padded is False without banks: --full-banks was refused above, --fmax fell back)
    return {"weight_banks": banks, "full_banks": padded, **settings}, [why, *reasons]


def check_simulators(choice: str) -> tuple[str, ...]:
    """The simulators of ``--simulator`` (``both``: all), or :class:`ConfigError` if one
    cannot run here."""
    simulators = SIMULATORS if choice == "both" else (choice,)
    for simulator in simulators:
        reason = simulator_missing(simulator)
        if reason is not None:
            raise ConfigError(f"--simulator {choice}: {reason}")
    return simulators


def waves_dir(args) -> Path | None:
    """The folder for the waves of mismatches: ``--waves-dir``, else ``DIR/waves`` with
    ``--waves``, else None; refused (:class:`ConfigError`) if it cannot be written."""
    if args.waves_dir is None and not args.waves:
        return None
    where, option = (args.waves_dir, "--waves-dir") if args.waves_dir is not None else \
        (args.dir / "waves", "--waves")
    check_output_dir(where, option)
    return where


def cmd_verify(args) -> int:
    simulators = check_simulators(args.simulator)
    if args.engine == "fast" and "icarus" in simulators:
        raise ConfigError(f"--engine fast: runs on Verilator only, not with --simulator "
                          f"{args.simulator}")
    engines = {s: engine_for(s, args.engine if s == "verilator" else None) for s in simulators}
    if args.scheduler is not None and "fast" not in engines.values():
        raise ConfigError("--scheduler: shards the fast engine only (--simulator verilator, "
                          "--engine fast)")
    waves = waves_dir(args)
    fresh = waves is not None and not waves.exists()
    reports = []
    for simulator, engine in engines.items():
        reports.append(verify_artifact(args.dir, args.images, simulator, args.chunk,
                                       progress="stderr", engine=engine, jobs=args.jobs,
                                       scheduler=args.scheduler if engine == "fast" else None,
                                       waves=waves))
    if waves is not None and all(report.ok for report in reports):
        if fresh and waves.is_dir() and not any(waves.iterdir()):
            waves.rmdir()  # made for the waves of a mismatch that did not come
        print(f"--waves: no mismatch, so no waves written to {waves}", file=sys.stderr)
    if args.json:
        print(json.dumps([dict(asdict(report), ok=report.ok) for report in reports], indent=2,
                         default=str))
    else:
        print(TABLE_HEADER)
        print("-" * len(TABLE_HEADER))
        print("\n".join(report.row() for report in reports))
        for report in reports:
            print(report.summary())
    return 0 if all(report.ok for report in reports) else 1
