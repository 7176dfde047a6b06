"""Mutation campaign of the on-chip learning engine: which faults in its Verilog does the
engine's co-simulation (cosim/learn_tb.py: every stored weight after every sample, every
weight-change pulse, every update's cycles) catch?

The sites are the mutation campaign's (:func:`spikeforge.cosim.mutate.logic_sites`: compare
and rounding operators, saturations, counter limits, handshakes, branches, next-state
constants, ...) on the engine's own Verilog (``learning_verilog``), at most ``--per-kind`` of
each kind drawn with ``--seed``; each mutant alone (``apply_site``) runs the digits 64-32-10
engine with the digits rule over ``--samples`` online training samples and the extra ones of
:func:`~spikeforge.cosim.learn_cosim.covering_samples` (``lr_decay`` 0, 1, 2) in Icarus, from
the random start. A mutant that this leaves alive runs again from a *trained* start: the
rule's stores after ``--pretrain`` online samples (the training samples after the campaign's
own), compiled into the engine's Verilog, the same site mutated, without the bench's rows of
-1 and 0 (:func:`~spikeforge.cosim.learn_cosim.learning_spec`, which silence outputs): a
random network's outputs come from a few classes (outputs 4 and 5 never spike in the first
16 samples), a trained one's from more. Prints a table per kind, which start caught each
mutant, and every undetected site::

    .venv/bin/python benchmarks/bench_learning_mutants.py                 # ~50 mutants, ~30 min
    .venv/bin/python benchmarks/bench_learning_mutants.py --per-kind 1 --samples 8   # short
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from collections import Counter

import numpy as np

from spikeforge.cosim.learn_cosim import covering_samples, run_learning_cosim
from spikeforge.cosim.mutate import apply_site, logic_sites, sample_sites
from spikeforge.hdl.verilog import learning_verilog
from spikeforge.model.datasets import load_dataset
from spikeforge.model.popcount_rule import digits_setup
from spikeforge.sim.learning import DIGITS_RULE, PopcountLearner



def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-kind", type=int, default=3, help="sites drawn per kind (default 3)")
    ap.add_argument("--samples", type=int, default=16, help="training samples per mutant")
    ap.add_argument("--seed", type=int, default=0, help="the draw of the sites")
    ap.add_argument("--simulator", default="icarus", choices=("icarus", "verilator"))
    ap.add_argument("--json", default=None, help="write every outcome here")
    ap.add_argument("--pretrain", type=int, default=100,
                    help="online samples that train the second start (0: no second start)")
    ap.add_argument("--sites", default=None, metavar="ID[;ID...]",
                    help="run only these sites (ids as the table prints them, ';'-separated), "
                         "e.g. the survivors of an earlier run")
    args = ap.parse_args(argv)

    if args.samples < 1 or args.pretrain < 0:
        print("--samples must be >= 1 and --pretrain >= 0", file=sys.stderr)
        return 2
    ds = load_dataset("digits")
    ticks, train_fn, _, network = digits_setup(ds, hidden=32)
    learner = PopcountLearner(network, ticks, **DIGITS_RULE)
    starts = [("random", learner, {})]
    if args.pretrain:
        trained = copy.deepcopy(learner)
        for i in range(args.samples, args.samples + args.pretrain):
            trained.step(train_fn(np.array([i])), ds.train_y[i:i + 1])
        # without the bench's -1 and 0 rows (the random start has them): they silence
        # outputs, and this start is there for outputs that spike
        starts.append((f"trained ({args.pretrain} samples)", trained, {"boundary_rows": 0}))
    runs = []  # per start: the rule, its samples, its engine's Verilog and sites by id
    for name, rule, options in starts:
        counts, labels = covering_samples(rule, train_fn(np.arange(args.samples)),
                                          ds.train_y[:args.samples])
        lr_decays = [3 * k // len(labels) for k in range(len(labels))]
        verilog = learning_verilog(rule.hardware_config())
        runs.append((name, rule, counts, labels, lr_decays, verilog,
                     {site.id: site for site in logic_sites(verilog)}, options))
    sites = list(runs[0][6].values())  # in text order
    if any(set(run[6]) != set(runs[0][6]) for run in runs):  # the stores are data, not logic
        print("the trained start's engine has other mutation sites", file=sys.stderr)
        return 1
    chosen = sample_sites(sites, args.per_kind, args.seed)
    if args.sites is not None:
        wanted = [w.strip() for w in args.sites.split(";") if w.strip()]
        by_id = {site.id: site for site in sites}
        unknown = [w for w in wanted if w not in by_id]
        if unknown:
            print(f"--sites: no such site in the engine's Verilog: {unknown[0]!r} "
                  f"({len(sites)} sites)", file=sys.stderr)
            return 2
        chosen = [by_id[w] for w in wanted]

    def run(start, site_id):
        """The report of ``site_id``'s mutant (None: unmutated) from ``start``."""
        _, rule, counts, labels, lr_decays, verilog, by_id, options = runs[start]
        mutant = verilog if site_id is None else apply_site(verilog, by_id[site_id])
        return run_learning_cosim(rule, counts, labels, lr_decays, args.simulator,
                                  verilog_text=mutant, check=False, **options).report

    start = time.perf_counter()
    for k in range(len(runs)):
        baseline = run(k, None)
        if baseline is None or baseline["mismatch"] is not None:
            print(f"the unmutated engine does not match ({runs[k][0]} start): {baseline}",
                  file=sys.stderr)
            return 1
    outcomes = []
    for k, site in enumerate(chosen):
        for s in range(len(runs)):
            report = run(s, site.id)
            mismatch = None if report is None else report["mismatch"]
            caught = "crash" if report is None else (mismatch["kind"] if mismatch else None)
            if caught:
                break
        outcomes.append({"id": site.id, "kind": site.kind, "original": site.original,
                         "mutated": site.mutated, "caught_by": caught,
                         "start": runs[s][0] if caught else None,
                         "sample": mismatch["sample"] if mismatch else None})
        print(f"[{k + 1}/{len(chosen)}] {site.id}: "
              f"{'caught by ' + caught if caught else 'NOT CAUGHT'} "
              f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)

    per_kind = Counter(o["kind"] for o in outcomes)
    caught = Counter(o["kind"] for o in outcomes if o["caught_by"])
    print(f"### Learning engine mutants ({len(sites)} sites, {len(chosen)} drawn, at most "
          f"{args.per_kind} per kind, seed {args.seed}; {args.samples} digits samples each, "
          f"from the starts {', '.join(run[0] for run in runs)}; {args.simulator}, "
          f"{time.perf_counter() - start:.0f} s)\n")
    print("| kind | drawn | caught | not caught |\n|---|---|---|---|")
    for kind in sorted(per_kind):
        print(f"| {kind} | {per_kind[kind]} | {caught[kind]} | {per_kind[kind] - caught[kind]} |")
    print(f"| **all** | **{len(outcomes)}** | **{sum(caught.values())}** | "
          f"**{len(outcomes) - sum(caught.values())}** |")
    by = Counter(o["caught_by"] for o in outcomes if o["caught_by"])
    print("\nCaught by: " + ", ".join(f"{k} {v}" for k, v in by.most_common()))
    where = Counter(o["start"] for o in outcomes if o["caught_by"])
    print("From the start: " + ", ".join(f"{k} {v}" for k, v in where.most_common()))
    missed = [o for o in outcomes if not o["caught_by"]]
    if missed:
        print("\nNot caught:\n")
        for o in missed:
            print(f"* `{o['id']}`: `{o['original']}` -> `{o['mutated']}`")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"sites": len(sites), "outcomes": outcomes}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
