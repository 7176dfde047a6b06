"""``spikeforge demo``: the whole flow on digits, or with ``--core`` the single-core
co-simulation (both in :mod:`spikeforge.demo`)."""

from __future__ import annotations

from spikeforge.cosim.runner import SIMULATORS
from spikeforge.demo import run_demo, run_flow_demo


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
    demo.add_argument("--simulator", choices=[*SIMULATORS, "both"], default=None,
                      help="co-simulation back end (default: verilator; with --core: both)")
    demo.add_argument("--images", type=int, default=None,
                      help="co-simulate the first N test images (default: all 450)")
    demo.add_argument("--full", action="store_true", help="the whole test split (the default)")
    demo.add_argument("--retrain", action="store_true", help="train again instead of using the cache")
    demo.add_argument("--ticks", type=int, default=50, help="--core: ticks to simulate (default: 50)")
    demo.add_argument("--seed", type=int, default=2026, help="--core: stimulus seed (default: 2026)")
    demo.set_defaults(handler=cmd_demo)


def cmd_demo(args) -> int:
    if args.core:
        return run_demo(simulators=args.simulator or "both", ticks=args.ticks, seed=args.seed)
    simulator = args.simulator or "verilator"
    simulators = SIMULATORS if simulator == "both" else (simulator,)
    images = None if args.full else args.images
    return run_flow_demo(simulators, images=images, retrain=args.retrain)
