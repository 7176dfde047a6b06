"""Mutation campaign of the on-chip learning engine: which faults in its Verilog does the
engine's co-simulation (cosim/learn_tb.py: every stored weight after every sample, every
weight-change pulse, every update's cycles) catch?

The sites are the mutation campaign's (:func:`spikeforge.cosim.mutate.logic_sites`: compare
and rounding operators, saturations, counter limits, handshakes, branches, next-state
constants, ...) on the engine's own Verilog (``learning_verilog``), at most ``--per-kind`` of
each kind drawn with ``--seed``; each mutant alone (``apply_site``) runs the digits 64-32-10
engine with the digits rule over ``--samples`` online training samples and the extra ones of
:func:`~spikeforge.cosim.learn_cosim.covering_samples` (``lr_decay`` 0, 1, 2) in Icarus. Prints a table per kind and every undetected site::

    .venv/bin/python benchmarks/bench_learning_mutants.py                 # ~60 mutants, ~6 min
    .venv/bin/python benchmarks/bench_learning_mutants.py --per-kind 1 --samples 8   # short
"""

from __future__ import annotations

import argparse
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
from spikeforge.sim.learning import PopcountLearner

DIGITS_RULE = dict(frac_bits=8, shift_out=3, shift_hidden=1, shift_revive=0, ramp=32, margin=8)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-kind", type=int, default=3, help="sites drawn per kind (default 3)")
    ap.add_argument("--samples", type=int, default=16, help="training samples per mutant")
    ap.add_argument("--seed", type=int, default=0, help="the draw of the sites")
    ap.add_argument("--simulator", default="icarus", choices=("icarus", "verilator"))
    ap.add_argument("--json", default=None, help="write every outcome here")
    args = ap.parse_args(argv)

    ds = load_dataset("digits")
    ticks, train_fn, _, network = digits_setup(ds, hidden=32)
    learner = PopcountLearner(network, ticks, **DIGITS_RULE)
    counts, labels = covering_samples(learner, train_fn(np.arange(args.samples)),
                                      ds.train_y[:args.samples])
    lr_decays = [3 * k // len(labels) for k in range(len(labels))]
    text = learning_verilog(learner.hardware_config())
    sites = logic_sites(text)
    chosen = sample_sites(sites, args.per_kind, args.seed)

    def run(verilog):
        result = run_learning_cosim(learner, counts, labels, lr_decays, args.simulator,
                                    verilog_text=verilog, check=False)
        return result.report

    start = time.perf_counter()
    baseline = run(text)
    if baseline is None or baseline["mismatch"] is not None:
        print(f"the unmutated engine does not match: {baseline}", file=sys.stderr)
        return 1
    outcomes = []
    for k, site in enumerate(chosen):
        report = run(apply_site(text, site))
        mismatch = None if report is None else report["mismatch"]
        caught = "crash" if report is None else (mismatch["kind"] if mismatch else None)
        outcomes.append({"id": site.id, "kind": site.kind, "original": site.original,
                         "mutated": site.mutated, "caught_by": caught,
                         "sample": mismatch["sample"] if mismatch else None})
        print(f"[{k + 1}/{len(chosen)}] {site.id}: "
              f"{'caught by ' + caught if caught else 'NOT CAUGHT'} "
              f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)

    per_kind = Counter(o["kind"] for o in outcomes)
    caught = Counter(o["kind"] for o in outcomes if o["caught_by"])
    print(f"### Learning engine mutants ({len(sites)} sites, {len(chosen)} drawn, at most "
          f"{args.per_kind} per kind, seed {args.seed}; {args.samples} digits samples each, "
          f"{args.simulator}, {time.perf_counter() - start:.0f} s)\n")
    print("| kind | drawn | caught | not caught |\n|---|---|---|---|")
    for kind in sorted(per_kind):
        print(f"| {kind} | {per_kind[kind]} | {caught[kind]} | {per_kind[kind] - caught[kind]} |")
    print(f"| **all** | **{len(outcomes)}** | **{sum(caught.values())}** | "
          f"**{len(outcomes) - sum(caught.values())}** |")
    by = Counter(o["caught_by"] for o in outcomes if o["caught_by"])
    print("\nCaught by: " + ", ".join(f"{k} {v}" for k, v in by.most_common()))
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
