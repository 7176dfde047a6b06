"""The ``spikeforge`` command line: one entry point, a sub-command per step of the flow."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from spikeforge.ir.errors import ConfigError, SpikeforgeError
from spikeforge.ir.params import NeuronParams, Reset


def _add_core_arguments(parser: argparse.ArgumentParser) -> None:
    """Geometry, weights and neuron parameters of one core (the contract's names)."""
    geometry = parser.add_argument_group("core")
    geometry.add_argument("--neurons", type=int, metavar="N",
                          help="logical neurons in the core (default: from --weights, else 37)")
    geometry.add_argument("--inputs", type=int, metavar="M",
                          help="presynaptic inputs (default: from --weights, else 20)")
    geometry.add_argument("--weights", type=Path, metavar="FILE.npy",
                          help="integer weights [inputs, neurons] (default: random, see --seed)")
    geometry.add_argument("--seed", type=int, default=1, help="seed of random weights (default: 1)")
    neuron = parser.add_argument_group("neuron (see spikeforge.sim.contract)")
    defaults = NeuronParams(decay_bits=12, alpha=3584, beta=3840, threshold=200)
    for name, help_text in [
        ("weight_bits", "signed weight width"), ("current_bits", "synaptic current width"),
        ("membrane_bits", "membrane width"), ("decay_bits", "fraction bits of alpha/beta/rho"),
        ("alpha", "current decay factor, 2**decay_bits = none"),
        ("beta", "membrane decay factor, 2**decay_bits = none (integrate-and-fire)"),
        ("threshold", "firing threshold"), ("adapt_bits", "adaptation width"),
        ("rho", "adaptation decay factor"), ("adapt_step", "threshold increase per spike"),
    ]:
        neuron.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(defaults, name),
                            help=f"{help_text} (default: %(default)s)")
    neuron.add_argument("--reset", choices=[r.value for r in Reset], default=Reset.SUBTRACT.value,
                        help="reset after a spike (default: %(default)s)")
    neuron.add_argument("--fire-once", action="store_true",
                        help="each neuron spikes at most once per inference (time-to-first-spike)")
    neuron.add_argument("--adaptive", action="store_true", help="adaptive threshold (2D LIF)")


def core_config_from_args(args):
    """Build a validated :class:`CoreConfig` from parsed arguments."""
    import numpy as np

    from spikeforge.ir.core import CoreConfig

    params = NeuronParams(
        weight_bits=args.weight_bits, current_bits=args.current_bits,
        membrane_bits=args.membrane_bits, decay_bits=args.decay_bits, alpha=args.alpha,
        beta=args.beta, threshold=args.threshold, reset=Reset(args.reset),
        fire_once=args.fire_once, adaptive=args.adaptive, adapt_bits=args.adapt_bits,
        rho=args.rho, adapt_step=args.adapt_step)
    if args.weights is not None:
        try:
            weights = np.load(args.weights, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise SpikeforgeError(f"--weights: cannot read {args.weights}: {error}") from None
        if weights.ndim != 2:
            raise ConfigError(f"--weights: {args.weights} must hold a 2-D array [inputs, neurons], "
                              f"got shape {list(weights.shape)}")
        for flag, value, size in (("--inputs", args.inputs, weights.shape[0]),
                                  ("--neurons", args.neurons, weights.shape[1])):
            if value is not None and value != size:
                raise ConfigError(f"{flag} {value} does not match --weights {args.weights} "
                                  f"of shape {list(weights.shape)} [inputs, neurons]")
        args.inputs, args.neurons = weights.shape
    else:
        args.inputs = 20 if args.inputs is None else args.inputs
        args.neurons = 37 if args.neurons is None else args.neurons
        lo, hi = -(1 << (params.weight_bits - 1)), (1 << (params.weight_bits - 1)) - 1
        if args.neurons < 1 or args.inputs < 1:
            weights = None  # CoreConfig names the bad parameter
        else:
            rng = np.random.default_rng(args.seed)
            weights = rng.integers(lo // 2, hi // 2 + 1, size=(args.inputs, args.neurons))
    return CoreConfig(args.neurons, args.inputs, params, weights)


def cmd_verilog(args) -> int:
    from spikeforge.hdl.verilog import emit_core

    config = core_config_from_args(args)
    paths = emit_core(config, args.out)
    for role, path in paths.items():
        print(f"{role:>10}: {path}")
    return 0


def cmd_demo(args) -> int:
    if args.core:
        from spikeforge.demo import run_demo

        return run_demo(simulators=args.simulator or "both", ticks=args.ticks, seed=args.seed)
    from spikeforge.compiler.commands import run_flow_demo

    simulator = args.simulator or "verilator"
    simulators = ("icarus", "verilator") if simulator == "both" else (simulator,)
    images = None if args.full else args.images
    return run_flow_demo(simulators, images=images, retrain=args.retrain)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spikeforge",
        description="Spiking neural networks from PyTorch to bit-exact, co-simulated FPGA hardware.")
    from spikeforge import __version__
    parser.add_argument("--version", action="version", version=f"spikeforge {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo", help="run the whole flow on digits: train, compile, co-simulate the system",
        description="Train a small rate-coded LIF network on scikit-learn's digits (or load the "
                    "cached one under build/demo), compile it to a multi-core system, "
                    "co-simulate the digits test split on the RTL and compare every image "
                    "bit for bit and cycle for cycle with the golden model. With --core: the "
                    "single-core co-simulation (every neuron state after every tick).")
    demo.add_argument("--core", action="store_true",
                      help="the single-core demo instead of the whole flow")
    demo.add_argument("--simulator", choices=["icarus", "verilator", "both"], default=None,
                      help="co-simulation back end (default: verilator; with --core: both)")
    demo.add_argument("--images", type=int, default=None,
                      help="co-simulate the first N test images (default: all 450)")
    demo.add_argument("--full", action="store_true", help="the whole test split (the default)")
    demo.add_argument("--retrain", action="store_true", help="train again instead of using the cache")
    demo.add_argument("--ticks", type=int, default=50, help="--core: ticks to simulate (default: 50)")
    demo.add_argument("--seed", type=int, default=2026, help="--core: stimulus seed (default: 2026)")
    demo.set_defaults(handler=cmd_demo)

    verilog = commands.add_parser(
        "verilog", help="write one core's Verilog and memory images to a directory",
        description="Write a neuron core's Verilog, its weight memory image and a JSON "
                    "description of its ports and address map.")
    verilog.add_argument("out", type=Path, metavar="OUT_DIR", help="output directory")
    _add_core_arguments(verilog)
    verilog.set_defaults(handler=cmd_verilog)

    from spikeforge.boards.commands import register as register_boards
    from spikeforge.compiler.commands import register as register_compiler

    register_compiler(commands)  # train, compile, verify
    register_boards(commands)  # build, fit
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except SpikeforgeError as error:
        print(f"spikeforge {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
