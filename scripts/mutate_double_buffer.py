"""Mutants of the double-buffered cores' own logic (stop 59): the mutation campaign's designs
(:func:`spikeforge.cosim.mutate.campaign_designs`) with ``SystemConfig.double_buffer``, every
logic site whose expression names a signal of the event buffers or of the event engine, run
against the designs' stimuli (default and slow tiers); with ``--prove`` each undetected one
gets the formal equivalence proof.

    .venv/bin/python scripts/mutate_double_buffer.py [--designs NAME,...] [--prove]

(default: ``spike-count,ttfs-one-word,ttfs-gaps,wide-split``).

``ttfs-gaps`` (stop 60) is ``ttfs-one-word``'s network and stimuli with the hidden layer in
one core of 2 lanes (4 words), and one stimulus more (``gaps-random``: 2,048 images of 12
ticks, each at an input density drawn from 0.1-0.6): a tick's hidden spikes leave that core
as its words are written, so where a word has none the one-word output core takes the
tick's next event a cycle or more after the last one, reading its buffer rather than the
forwarded sum (in ``ttfs-one-word`` they come back to back, and the output core's event
read select swapped survived, 12 sites: each lane's select of the two buffers' write data
and of the forwarded sum).

``wide-split`` (stop 61) is ``spike-count``'s system and stimuli on a wider network (9-14-5)
whose hidden layer is one core of 5 lanes and 3 words: more lanes than one LUT and three
words, so its state memories and buffers are split per lane group (two groups) with address
registers of their own, and each group selects its event's buffer from a copy of ``p_b``;
the campaign's designs have no core that wide.

Prints per design the sites, how many the stimuli detected, and each survivor (its site id,
the expression and the mutant, and the proof's verdict with ``--prove``).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import re
import sys
import time
from collections import defaultdict

import numpy as np

from spikeforge.compiler.map import plan_network
from spikeforge.cosim.mutate import (Stimulus, _stimuli, _weights, campaign_designs, logic_sites,
                                     run_campaign)
from spikeforge.ir.network import IntegerLayer, IntegerNetwork

#: the signals a double-buffered core adds (hdl/core.py)
#: (cores wider than one LUT: p_b's copies, and split buffers' address copies, stop 61)
NAMES = re.compile(r"\b(ev_buf|ev_on|ecnt|e_r_b|p_b(_c\d+)?|e_t\d+_b|e_s_b|e_wb_b|"
                   r"x[01]_[rw]addr(_c\d+)?|p_x[01]|ev_on_next|clear_next|mem_x[01]\w*)\b")


@functools.cache
def designs() -> dict:
    """The campaign's designs by name, ``ttfs-gaps`` and ``wide-split`` (module
    docstring); built once per process, as :func:`campaign_designs` is."""
    found = {d.name: d for d in campaign_designs()}
    base = found["ttfs-one-word"]
    plan = plan_network(base.network, neurons_per_core=[7, 4], lanes=[2, 4])
    rng = np.random.default_rng(60)
    density = rng.uniform(0.1, 0.6, size=(2048, 1, 1))
    counts = (rng.random((2048, 12, base.network.n_inputs)) < density).astype(np.int64)
    found["ttfs-gaps"] = dataclasses.replace(
        base, name="ttfs-gaps", plan=plan,
        stimuli=[*base.stimuli, Stimulus("gaps-random", counts, 60, tier="slow")])
    count = found["spike-count"]
    nrng = np.random.default_rng(61)
    (p0, p1) = (layer.params for layer in count.network.layers)
    net = IntegerNetwork((IntegerLayer(_weights(nrng, 9, 14), p0),
                          IntegerLayer(_weights(nrng, 14, 5, 1), p1)), count.network.decision)
    found["wide-split"] = dataclasses.replace(
        count, name="wide-split", network=net,
        plan=plan_network(net, neurons_per_core=[14, 5], lanes=[5, 1]),
        stimuli=_stimuli(net, 61, 0.3, 0.5))
    return found


def buffer_sites(verilog: str) -> list:
    """The logic sites of a double-buffered design that name the buffers or the event
    engine (:data:`NAMES`), and the update's buffer select (:func:`update_select_wires`)."""
    feeds = update_select_wires(verilog)
    return [s for s in logic_sites(verilog)
            if NAMES.search(s.original) or _assigned(verilog, s) in feeds[s.module]]


def update_select_wires(verilog: str) -> dict:
    """Per core module, the wires that the update's buffer select (``p_xu``, stop 65) is
    loaded from: its multiplexer reads the two buffers' read ports, whose data Amaranth
    leaves unnamed, so that no name of :data:`NAMES` is in the expression."""
    feeds, module = {}, None
    for line in verilog.splitlines():
        if line.startswith("module "):
            module = line.split()[1].lstrip("\\").split("(")[0]
            feeds[module] = set()
        found = re.match(r"\s*p_xu <= (\S+) ;", line)
        if found and module is not None:
            feeds[module].add(found.group(1))
    return defaultdict(set, feeds)


def _assigned(verilog: str, site) -> str | None:
    """The wire that ``site``'s line assigns (``assign W = ...``), if it is one."""
    found = re.match(r"\s*assign (\S+)\s*=", verilog.splitlines()[site.line])
    return found.group(1) if found else None


def run_sites(argv, doc: str, known: dict, default: str, prepare, what: str) -> int:
    """The command line both scripts share: ``--designs`` (of ``known``, by name;
    ``default``), ``--prove``, ``--budget``; ``prepare(design)`` gives the design to run and
    its sites, said as ``what``. Prints each design's count and its survivors."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--designs", default=default,
                    help="designs, comma-separated (default: %(default)s)")
    ap.add_argument("--prove", action="store_true",
                    help="try the formal equivalence proof on every undetected mutant")
    ap.add_argument("--budget", type=float, default=None, metavar="SECONDS")
    args = ap.parse_args(argv)
    wanted = args.designs.split(",")
    unknown = [name for name in wanted if name not in known]
    if unknown:
        print(f"error: --designs: {', '.join(unknown)} not among {', '.join(known)}",
              file=sys.stderr)
        return 2
    start = time.perf_counter()
    for name in wanted:
        design, sites = prepare(known[name])
        result = run_campaign([design], sites=sites, weight_faults=0, budget_s=args.budget,
                              prove=args.prove)
        survivors = [o for o in result.outcomes if not o.detected_by]
        print(f"{name}: {len(sites)} sites {what}, "
              f"{len(result.outcomes) - len(survivors)} detected, {len(survivors)} not, "
              f"{result.not_run} not run", flush=True)
        for o in survivors:
            print(f"  {o.site.id}: {o.site.original} -> {o.site.mutated}"
                  + (f" ({o.equivalent or 'not proved'})" if args.prove else ""), flush=True)
    print(f"{time.perf_counter() - start:.0f} s")
    return 0


def main(argv=None) -> int:
    def prepare(design):
        design = dataclasses.replace(design, system=dataclasses.replace(design.system,
                                                                        double_buffer=True))
        return design, buffer_sites(design.verilog())

    return run_sites(argv, __doc__, designs(), "spike-count,ttfs-one-word,ttfs-gaps,wide-split",
                     prepare, "naming the buffers or the event engine")


if __name__ == "__main__":
    sys.exit(main())
