"""``spikeforge demo``: the whole flow on digits, or with ``--core`` the single-core
co-simulation (both in :mod:`spikeforge.demo`)."""

from __future__ import annotations

from spikeforge.commands.compile import check_simulators
from spikeforge.commands.options import integer
from spikeforge.commands.train import MAX_TICKS
from spikeforge.cosim.runner import SIMULATORS
from spikeforge.demo import run_demo, run_flow_demo, run_ttfs_demo
from spikeforge.ir.errors import ConfigError

#: the options of one demo only: (--core's, the flow demo's), with --core's defaults
CORE_ONLY = {"ticks": 50, "seed": 2026}
FLOW_ONLY = ("images", "full", "retrain", "ttfs")


def register(subparsers) -> None:
    demo = subparsers.add_parser(
        "demo", help="run the whole flow on digits: train, compile, co-simulate the system",
        description="Train a small rate-coded LIF network on scikit-learn's digits (or load the "
                    "cached one under build/demo), compile it to a multi-core system, "
                    "co-simulate the digits test split on the RTL and compare every image "
                    "bit for bit and cycle for cycle with the golden model. With --core: the "
                    "single-core co-simulation (every neuron state after every tick).")
    demo.add_argument("--core", action="store_true",
                      help="the single-core demo instead of the whole flow")
    demo.add_argument("--ttfs", action="store_true", default=None,
                      help="the temporal-coding flow instead: Mostafa's time-to-first-spike "
                           "network, decided at the first output spike, beside the FPGA "
                           "prototype's figures")
    demo.add_argument("--simulator", choices=[*SIMULATORS, "both"], default=None,
                      help="co-simulation back end (default: verilator; with --core: both)")
    demo.add_argument("--images", type=integer(1), default=None,
                      help="co-simulate the first N test images (default: all 450)")
    demo.add_argument("--full", action="store_true", default=None,
                      help="the whole test split (the default)")
    demo.add_argument("--retrain", action="store_true", default=None,
                      help="train again instead of using the cache")
    demo.add_argument("--ticks", type=integer(1, MAX_TICKS), default=None,
                      help=f"--core: ticks to simulate (default: {CORE_ONLY['ticks']})")
    demo.add_argument("--seed", type=integer(0), default=None,
                      help=f"--core: stimulus seed (default: {CORE_ONLY['seed']})")
    demo.set_defaults(handler=cmd_demo)


def check_demo_args(args) -> None:
    """Refuse an option the chosen demo would ignore, and a simulator that is missing."""
    other = FLOW_ONLY if args.core else CORE_ONLY
    demo = "the flow demo (without --core)" if args.core else "the single-core demo (--core)"
    for name in other:
        if getattr(args, name) is not None:
            raise ConfigError(f"--{name}: applies to {demo} only")
    if args.full and args.images is not None:
        raise ConfigError(f"--full and --images {args.images}: give one of them")
    if args.images is not None:  # before training: the flow demo checks it only afterwards
        from spikeforge.model.datasets import load_digits

        n = len(load_digits().test_y)
        if args.images > n:
            raise ConfigError(f"--images: must be in 1..{n} (the digits test split), "
                              f"got {args.images}")
    check_simulators(args.simulator or ("both" if args.core else "verilator"))


def cmd_demo(args) -> int:
    check_demo_args(args)
    if args.core:
        return run_demo(simulators=args.simulator or "both",
                        ticks=CORE_ONLY["ticks"] if args.ticks is None else args.ticks,
                        seed=CORE_ONLY["seed"] if args.seed is None else args.seed)
    simulator = args.simulator or "verilator"
    simulators = SIMULATORS if simulator == "both" else (simulator,)
    run = run_ttfs_demo if args.ttfs else run_flow_demo
    return run(simulators, images=args.images, retrain=bool(args.retrain))
