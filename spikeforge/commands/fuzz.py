"""``spikeforge fuzz``: a seeded fuzz campaign (:mod:`spikeforge.sim.fuzz`): the golden model
against the scalar reference on random corner cases and, for the first ``--rtl`` cases, the
RTL in co-simulation against the golden and cycle models (every spike, its cycle, the
decision), with stalls on every stream."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from spikeforge.commands.options import check_output_dir, integer, number
from spikeforge.compiler.map import plan_network
from spikeforge.cosim.runner import SIMULATORS, CosimFailure, simulator_missing
from spikeforge.cosim.system_cosim import run_system_cosim
from spikeforge.ir.errors import ConfigError
from spikeforge.sim.fuzz import campaign, random_case, write_reproduction

__all__ = ["register", "cmd_fuzz", "rtl_case"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "fuzz", help="fuzz the golden model (and the RTL) on random corner cases",
        description="Random networks and inputs (2..16-bit weights, 4..32-bit state, "
                    "saturation, negative states, bursts, ties in every decision mode, every "
                    "reset) from --seed: the golden model against the scalar reference, and the "
                    "first --rtl cases also through the RTL in co-simulation. A failure is "
                    "shrunk and written as a JSON reproduction; exit status 1 if any case fails.")
    p.add_argument("--seed", type=integer(0), default=0)
    p.add_argument("--cases", type=integer(1), default=10_000)
    p.add_argument("--budget", type=number(0, lo_open=True), default=None, metavar="SECONDS",
                   help="stop the golden-model campaign after this many seconds")
    p.add_argument("--rtl", type=integer(0), default=0, metavar="K",
                   help="also co-simulate the first K cases (one build each: ~2 s in Icarus)")
    p.add_argument("--simulator", choices=SIMULATORS, default="icarus")
    p.add_argument("--out", type=Path, default=Path("build/fuzz"), metavar="DIR",
                   help="where reproductions are written (default: %(default)s)")
    p.set_defaults(handler=cmd_fuzz)


def rtl_case(seed: int, simulator: str) -> str | None:
    """Co-simulate case ``seed`` with stalls (gaps on the input, backpressure on the output);
    None if bit- and cycle-exact, else the first mismatch."""
    case = random_case(seed)
    try:
        run_system_cosim(case.network, plan_network(case.network), case.counts, simulator,
                         seed=seed, p_gap=0.3, p_ready=0.7)
    except CosimFailure as failure:
        return str(failure).splitlines()[0]
    return None


def cmd_fuzz(args) -> int:
    check_output_dir(args.out, "--out")
    if args.rtl:
        reason = simulator_missing(args.simulator)
        if reason is not None:
            raise ConfigError(f"--simulator {args.simulator}: {reason}")
        if args.rtl > args.cases:
            raise ConfigError(f"--rtl: at most --cases ({args.cases}), got {args.rtl}")

    def progress(done, total):
        print(f"\r  golden vs reference: {done}/{total}", end="", file=sys.stderr, flush=True)

    result = campaign(args.seed, args.cases, budget_s=args.budget, progress=progress)
    print("", file=sys.stderr)
    print(f"golden vs scalar reference: {result.summary()}")
    failed = bool(result.failures)
    for seed, message, small in result.failures:
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / f"case-{seed}.json"
        write_reproduction(small, path)
        print(f"  FAIL seed {seed}: {message}\n    shrunk reproduction: {path} "
              f"({small.counts.shape[1]} ticks, {int(small.counts.sum())} input events)")
    if args.rtl:
        t0, mismatches = time.perf_counter(), 0
        for k in range(args.rtl):
            problem = rtl_case(args.seed + k, args.simulator)
            print(f"\r  RTL ({args.simulator}): {k + 1}/{args.rtl}", end="", file=sys.stderr,
                  flush=True)
            if problem is not None:
                mismatches += 1
                print(f"\n  RTL MISMATCH seed {args.seed + k}: {problem}")
        print("", file=sys.stderr)
        print(f"RTL vs golden and cycle models: {args.rtl} cases, {mismatches} mismatching, "
              f"{time.perf_counter() - t0:.0f} s")
        failed |= mismatches > 0
    return 1 if failed else 0
