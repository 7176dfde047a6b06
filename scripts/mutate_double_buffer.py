"""Mutants of the double-buffered cores' own logic (stop 59): the mutation campaign's designs
(:func:`spikeforge.cosim.mutate.campaign_designs`) with ``SystemConfig.double_buffer``, every
logic site whose expression names a signal of the event buffers or of the event engine, run
against the designs' stimuli (default and slow tiers); with ``--prove`` each undetected one
gets the formal equivalence proof.

    .venv/bin/python scripts/mutate_double_buffer.py [--designs spike-count,ttfs-one-word] [--prove]

Prints per design the sites, how many the stimuli detected, and each survivor (its site id,
the expression and the mutant, and the proof's verdict with ``--prove``).
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import time

from spikeforge.cosim.mutate import campaign_designs, logic_sites, run_campaign

#: the signals a double-buffered core adds (hdl/core.py)
NAMES = re.compile(r"\b(ev_buf|ev_on|ecnt|e_r_b|p_b|e_t\d+_b|e_s_b|e_wb_b|x[01]_waddr|p_x[01]|"
                   r"ev_on_next|clear_next|mem_x[01]\w*)\b")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--designs", default="spike-count,ttfs-one-word",
                    help="campaign designs, comma-separated (default: %(default)s)")
    ap.add_argument("--prove", action="store_true",
                    help="try the formal equivalence proof on every undetected mutant")
    ap.add_argument("--budget", type=float, default=None, metavar="SECONDS")
    args = ap.parse_args(argv)
    wanted = args.designs.split(",")
    designs = {d.name: d for d in campaign_designs()}
    unknown = [name for name in wanted if name not in designs]
    if unknown:
        print(f"error: --designs: {', '.join(unknown)} not among {', '.join(designs)}",
              file=sys.stderr)
        return 2
    start = time.perf_counter()
    for name in wanted:
        design = designs[name]
        design = dataclasses.replace(design, system=dataclasses.replace(design.system,
                                                                        double_buffer=True))
        sites = [s for s in logic_sites(design.verilog()) if NAMES.search(s.original)]
        result = run_campaign([design], sites=sites, weight_faults=0, budget_s=args.budget,
                              prove=args.prove)
        survivors = [o for o in result.outcomes if not o.detected_by]
        print(f"{name}: {len(sites)} sites naming the buffers or the event engine, "
              f"{len(result.outcomes) - len(survivors)} detected, {len(survivors)} not, "
              f"{result.not_run} not run")
        for o in survivors:
            print(f"  {o.site.id}: {o.site.original} -> {o.site.mutated}"
                  + (f" ({o.equivalent or 'not proved'})" if args.prove else ""))
    print(f"{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
