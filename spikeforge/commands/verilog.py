"""``spikeforge verilog``: one core's Verilog, weight memory image and port description,
from the core arguments (geometry, weights, neuron parameters: the contract's names)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from spikeforge.commands.options import check_output_dir, integer
from spikeforge.hdl.verilog import MAX_CORE_WEIGHTS, check_core_size, emit_core
from spikeforge.ir.core import CoreConfig
from spikeforge.ir.errors import ConfigError, SpikeforgeError
from spikeforge.ir.params import NeuronParams, Reset


def register(subparsers) -> None:
    verilog = subparsers.add_parser(
        "verilog", help="write one core's Verilog and memory images to a directory",
        description="Write a neuron core's Verilog, its weight memory image and a JSON "
                    "description of its ports and address map.")
    verilog.add_argument("out", type=Path, metavar="OUT_DIR", help="output directory")
    add_core_arguments(verilog)
    verilog.set_defaults(handler=cmd_verilog)


def add_core_arguments(parser: argparse.ArgumentParser) -> None:
    """Geometry, weights and neuron parameters of one core (the contract's names)."""
    geometry = parser.add_argument_group("core")
    geometry.add_argument("--neurons", type=integer(1, MAX_CORE_WEIGHTS), metavar="N",
                          help="logical neurons in the core (default: from --weights, else 37)")
    geometry.add_argument("--inputs", type=integer(1, MAX_CORE_WEIGHTS), metavar="M",
                          help="presynaptic inputs (default: from --weights, else 20)")
    geometry.add_argument("--weights", type=Path, metavar="FILE.npy",
                          help="integer weights [inputs, neurons] (default: random, see --seed)")
    geometry.add_argument("--seed", type=integer(0), default=1,
                          help="seed of random weights (default: 1)")
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
    params = NeuronParams(
        weight_bits=args.weight_bits, current_bits=args.current_bits,
        membrane_bits=args.membrane_bits, decay_bits=args.decay_bits, alpha=args.alpha,
        beta=args.beta, threshold=args.threshold, reset=Reset(args.reset),
        fire_once=args.fire_once, adaptive=args.adaptive, adapt_bits=args.adapt_bits,
        rho=args.rho, adapt_step=args.adapt_step)
    if args.weights is not None:
        try:
            weights = np.load(args.weights, allow_pickle=False)
        except (OSError, ValueError, EOFError) as error:
            raise SpikeforgeError(f"--weights: cannot read {args.weights}: "
                                  f"{str(error) or type(error).__name__}") from None
        if not isinstance(weights, np.ndarray):  # an .npz archive
            weights.close()
            raise ConfigError(f"--weights: {args.weights} is an .npz archive; give one array "
                              f"saved with numpy.save (.npy)")
        if weights.ndim != 2:
            raise ConfigError(f"--weights: {args.weights} must hold a 2-D array [inputs, neurons], "
                              f"got shape {list(weights.shape)}")
        for flag, value, size in (("--inputs", args.inputs, weights.shape[0]),
                                  ("--neurons", args.neurons, weights.shape[1])):
            if value is not None and value != size:
                raise ConfigError(f"{flag} {value} does not match --weights {args.weights} "
                                  f"of shape {list(weights.shape)} [inputs, neurons]")
        args.inputs, args.neurons = weights.shape
        check_core_size(args.neurons, args.inputs, f"--weights {args.weights}")
    else:
        args.inputs = 20 if args.inputs is None else args.inputs
        args.neurons = 37 if args.neurons is None else args.neurons
        check_core_size(args.neurons, args.inputs, "--neurons x --inputs")
        lo, hi = -(1 << (params.weight_bits - 1)), (1 << (params.weight_bits - 1)) - 1
        if args.neurons < 1 or args.inputs < 1:
            weights = None  # CoreConfig names the bad parameter
        else:
            rng = np.random.default_rng(args.seed)
            weights = rng.integers(lo // 2, hi // 2 + 1, size=(args.inputs, args.neurons))
    if args.weights is None:
        return CoreConfig(args.neurons, args.inputs, params, weights)
    try:
        return CoreConfig(args.neurons, args.inputs, params, weights)
    except ConfigError as error:  # the file's shape or values
        raise ConfigError(f"--weights {args.weights}: {error}") from None


def cmd_verilog(args) -> int:
    check_output_dir(args.out, "OUT_DIR")
    config = core_config_from_args(args)
    paths = emit_core(config, args.out)
    for role, path in paths.items():
        print(f"{role:>10}: {path}")
    return 0
