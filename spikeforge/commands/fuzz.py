"""``spikeforge fuzz``: a seeded fuzz campaign. The golden model against the scalar reference
and the system cycle model on random corner cases (:mod:`spikeforge.sim.fuzz`), and ``--rtl
K`` input cases through the RTL in co-simulation (:mod:`spikeforge.cosim.fuzz_rtl`: random
systems, many cases per build, input gaps and output backpressure; every spike, its cycle,
the decision and the error flag), each part with its own time budget."""

from __future__ import annotations

import random
import sys
from pathlib import Path

from spikeforge.commands.options import check_output_dir, integer, number
from spikeforge.compiler.map import plan_network
from spikeforge.cosim.fuzz_rtl import rtl_campaign
from spikeforge.cosim.runner import SIMULATORS, simulator_missing
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.system import SystemConfig
from spikeforge.sim.fuzz import campaign, write_reproduction

__all__ = ["register", "cmd_fuzz", "random_plan"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "fuzz", help="fuzz the golden model, the cycle model (and the RTL) on random corner cases",
        description="Random networks and inputs (2..16-bit weights, 4..32-bit state, "
                    "saturation, negative states, bursts and overflow past "
                    "max_events_per_tick, ties in every decision mode, every reset) from "
                    "--seed: the golden model against the scalar reference and the system "
                    "cycle model, and --rtl input cases also through the RTL in co-simulation "
                    "(random systems, --per-build cases each, input gaps and output "
                    "backpressure). A failure is shrunk and written as a JSON reproduction; "
                    "exit status 1 if any case fails.")
    p.add_argument("--seed", type=integer(0), default=0)
    p.add_argument("--cases", type=integer(1), default=10_000)
    p.add_argument("--budget", type=number(0, lo_open=True), default=None, metavar="SECONDS",
                   help="stop the golden/cycle-model campaign after this many seconds")
    p.add_argument("--no-cycle-model", action="store_true",
                   help="only the golden model against the scalar reference (faster)")
    p.add_argument("--rtl", type=integer(0), default=0, metavar="K",
                   help="also co-simulate K input cases (Verilator: ~30-90 s per build, "
                        "milliseconds per case)")
    p.add_argument("--per-build", type=integer(1), default=25, metavar="M",
                   help="input cases per random system built (default: %(default)s)")
    p.add_argument("--hidden-overflow", type=number(0, 1), default=0.0, metavar="P",
                   help="share of the RTL builds whose later layers take a third of their "
                        "fan-in per tick, so that hidden spikes overflow them (default 0)")
    p.add_argument("--rtl-budget", type=number(0, lo_open=True), default=None, metavar="SECONDS",
                   help="start no new RTL build after this many seconds")
    p.add_argument("--simulator", choices=SIMULATORS, default="verilator",
                   help="verilator: the compiled harness (default); icarus: the cocotb bench")
    p.add_argument("--out", type=Path, default=Path("build/fuzz"), metavar="DIR",
                   help="where reproductions are written (default: %(default)s)")
    p.set_defaults(handler=cmd_fuzz)


def random_plan(network, rng: random.Random):
    """A random plan of ``network`` (1..all neurons per core, 1, 2 or 4 lanes per layer) and
    system settings (FIFO depth 0..4): what the cycle-model check of a case runs on."""
    npc = [rng.randint(1, layer.n_neurons) for layer in network.layers]
    lanes = [rng.choice([1, 1, 2, 4]) for _ in network.layers]
    plan = plan_network(network, neurons_per_core=npc, lanes=lanes)
    return plan, SystemConfig(network.decision, fifo_depth=rng.choice([0, 0, 1, 2, 4]))


def cmd_fuzz(args) -> int:
    check_output_dir(args.out, "--out")
    if args.rtl:
        reason = simulator_missing(args.simulator)
        if reason is not None:
            raise ConfigError(f"--simulator {args.simulator}: {reason}")

    def progress(done, total):
        print(f"\r  golden vs reference vs cycle model: {done}/{total}", end="", file=sys.stderr,
              flush=True)

    plan_for = None if args.no_cycle_model else random_plan
    result = campaign(args.seed, args.cases, budget_s=args.budget, progress=progress,
                      plan_for=plan_for)
    print("", file=sys.stderr)
    what = "golden vs scalar reference" + ("" if args.no_cycle_model else " vs cycle model")
    print(f"{what}: {result.summary()}")
    failed = bool(result.failures)
    for seed, message, small in result.failures:
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / f"case-{seed}.json"
        write_reproduction(small, path)
        print(f"  FAIL seed {seed}: {message}\n    shrunk reproduction: {path} "
              f"({small.counts.shape[1]} ticks, {int(small.counts.sum())} input events)")
    if args.rtl:
        def rtl_progress(r):
            print(f"\r  RTL ({args.simulator}): {r.cases}/{args.rtl} cases, {r.builds + 1} "
                  f"builds, {r.seconds:.0f} s, {len(r.failures)} failing", end="",
                  file=sys.stderr, flush=True)

        rtl = rtl_campaign(args.seed, args.rtl, per_build=args.per_build,
                           simulator=args.simulator, budget_s=args.rtl_budget, out=args.out,
                           progress=rtl_progress, hidden_overflow=args.hidden_overflow)
        print("", file=sys.stderr)
        print(f"RTL ({args.simulator}) vs golden and cycle models: {rtl.summary()}")
        for failure in rtl.failures:
            print(f"  RTL MISMATCH build {failure.build_seed} case {failure.case}: "
                  f"{failure.message}\n    shrunk reproduction: {failure.path}")
        failed |= bool(rtl.failures)
    return 1 if failed else 0
