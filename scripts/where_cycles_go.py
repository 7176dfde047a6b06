"""Where an inference's cycles go (issue 10, point 3): the system cycle model stepped cycle by
cycle, and every cycle of the busiest core (the most weight and update words over the
images: the one that sets the work bound) put in one column, as the mean per inference over
a compiled artifact's first test images.

    .venv/bin/python scripts/where_cycles_go.py DIR [DIR ...] [--images 100] [--layer-ticks D]

Columns (a core's phase and the system around it, :class:`~spikeforge.sim.blocks.core.CoreModel`):

* work -- ``event words`` (an input event's G words) and ``update words`` (an update issuing
  a word): together the work bound of :func:`~spikeforge.sim.system_cycle.lower_bound_cycles`;
* ``clear`` -- the CLEAR's G + 1 cycles;
* ``drain`` -- an update whose words are issued, waiting for the pipeline to write them;
* ``queue full`` -- an update that cannot issue its next word: its spike queue is full (the
  spikes leave one per cycle through the merger);
* ``spikes out`` -- the update has ended, its spikes are still leaving the core;
* idle, and then: ``other cores`` (another core is busy: the tick's barrier), ``in flight``
  (every core idle, a packet in a link or the input port open: spikes or input on their
  way), ``controller`` (the whole system quiet: the controller's registered quiet, guard,
  CHECK and offer).

``--layer-ticks D``: the same for the cycle model of per-layer ticks
(:mod:`spikeforge.sim.planned`, link FIFOs of D packets; not built). ``--output-reads K``
(stop 75): the link into the output layer carries up to K spikes a cycle and its cores take
them in one (``SystemModel``'s ``output_reads``; not built), the work bound and the busiest
core with the output layer reading K words a cycle. ``--drain-behind`` (stop 75, with
``--layer-ticks``): the hidden layers' cores take their next TICK while their spikes still
leave (:class:`~spikeforge.sim.planned.LayerTicksModel`'s ``drain_behind``; not built), and
``--lookahead K`` a layer up to K ticks ahead of the next (its ``lookahead``).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections import Counter
from fractions import Fraction
from pathlib import Path

import numpy as np

from spikeforge.compiler.artifact import load_artifact
from spikeforge.cosim.system_cosim import schedules_for
from spikeforge.flow import EXPECTED, load_expected
from spikeforge.ir.errors import ConfigError
from spikeforge.sim.blocks.core import QUEUE_WORDS, CorePhase
from spikeforge.sim.planned import LayerTicksModel
from spikeforge.sim.network import run_network
from spikeforge.sim.cycle import words
from spikeforge.sim.system_cycle import SystemModel, lower_bound_cycles, predict_run

COLUMNS = ("event words", "update words", "clear", "drain", "queue full", "spikes out",
           "other cores", "in flight", "controller")


def classify(model, core) -> str:
    """The column of ``core``'s current cycle (the model's registers, settled)."""
    if core.phase is CorePhase.EVENT or getattr(core, "ev_left", 0):
        return "event words"
    if core.phase is CorePhase.CLEAR:
        return "clear"
    if core.phase is CorePhase.UPDATE:
        if core.cnt < core.G:
            return "update words" if core.credit < QUEUE_WORDS else "queue full"
        return "drain"
    if core.queue or core.out_valid:
        return "spikes out"
    if any(not other.idle for other in model.cores):
        return "other cores"
    return "controller" if model._links_idle() else "in flight"


def counting(base):
    """``base`` (a system cycle model class) stepped cycle by cycle, counting the columns of
    its core ``watch`` (set after it is made) from each start up to its ``done`` (the cycles
    of the system's counter)."""

    class Counting(base):
        fast_forward = False

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.watch, self.counts, self.running = None, Counter(), False

        def _step(self, start, item, n_ticks, timing):
            self.running |= start
            column = classify(self, self.watch)
            taken, done = super()._step(start, item, n_ticks, timing)
            if done and self.cycle - 1 > timing.start_cycle:
                self.running = False  # cycles = done - start: the done cycle not counted
            elif self.running:
                self.counts[column] += 1
            return taken, done
    return Counting


def breakdown(directory: Path, images: int, link_fifo: int | None = None,
              pingpong: bool = False, output_reads: int = 1,
              drain_behind: bool = False, lookahead: int = 1) -> tuple[str, dict]:
    """``(busiest core, mean cycles per column)`` for an artifact (``link_fifo``: the
    per-layer-ticks model with link FIFOs of that depth, else today's system model;
    ``pingpong``: its cores with double-buffered input accumulators; ``output_reads``: the
    model's, and the work bound's ``reads`` of the output layer; ``drain_behind``,
    ``lookahead``: the per-layer-ticks model's)."""
    artifact = load_artifact(directory)
    counts = load_expected(directory / EXPECTED)["input_counts"][:images]
    plan, system = artifact.plan, artifact.system
    if pingpong:  # the cycle model takes the double-buffered cores from the system
        system = dataclasses.replace(system, double_buffer=True)
    trace = run_network(artifact.network, counts, early_exit=link_fifo is None)
    reads = {plan.n_layers - 1: output_reads}
    work = [lower_bound_cycles(plan, trace, b, reads=reads) for b in range(len(counts))]
    stats = trace.statistics(until_decision=True)
    events, ticks = np.sum(stats.input_events, axis=0), int(np.sum(stats.ticks_run))
    # the core with the most work over the images (the work bound's, image by image, is
    # this one wherever one core is the busiest in every image)
    busiest = max(plan.cores, key=lambda c: words(c) * (
        Fraction(int(events[c.layer]), reads.get(c.layer, 1)) + ticks))
    kwargs = {"output_reads": output_reads}
    if link_fifo is not None:
        kwargs.update(link_fifo=link_fifo, drain_behind=drain_behind, lookahead=lookahead)
    base = SystemModel if link_fifo is None else LayerTicksModel
    cls = counting(base)
    model = cls(plan, system, **kwargs)
    model.watch = next(core for core in model.cores
                       if (core.layer, core.index) == (busiest.layer, busiest.index))
    timings = predict_run(plan, trace, schedules_for(trace.input_counts), counts.shape[1],
                          system=system, model=model)
    n = len(counts)
    out = {name: model.counts[name] / n for name in COLUMNS}
    out["cycles"] = float(np.mean([t.cycles for t in timings]))
    out["work bound"] = float(np.mean([float(w["work_bound"]) for w in work]))
    return f"({busiest.layer}, {busiest.index})", out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", type=Path, nargs="+", metavar="DIR", help="compiled artifacts")
    ap.add_argument("--images", type=int, default=100,
                    help="the first test images of each artifact's expected traces")
    ap.add_argument("--layer-ticks", type=int, default=None, metavar="D",
                    help="the cycle model of per-layer ticks with link FIFOs of D packets")
    ap.add_argument("--pingpong", action="store_true",
                    help="cores with double-buffered input accumulators (events during updates)")
    ap.add_argument("--output-reads", type=int, default=1, metavar="K",
                    help="the link into the output layer K spikes a cycle, taken in one by its "
                         "cores (not built; default 1, as built)")
    ap.add_argument("--drain-behind", action="store_true",
                    help="with --layer-ticks: the hidden layers' cores take their next TICK "
                         "while their spikes still leave (not built)")
    ap.add_argument("--lookahead", type=int, default=1, metavar="K",
                    help="with --drain-behind: a layer up to K ticks ahead of the next "
                         "(default 1)")
    args = ap.parse_args(argv)
    if args.lookahead != 1 and not args.drain_behind:
        ap.error("--lookahead: needs --drain-behind (spikes tagged with their tick)")
    if args.drain_behind and args.layer_ticks is None:
        ap.error("--drain-behind: needs --layer-ticks (the next layer's TICK waits for the "
                 "spikes, not the whole system's)")
    if args.output_reads < 1:
        ap.error(f"--output-reads: must be at least 1, got {args.output_reads}")
    if args.images < 1:
        ap.error(f"--images: must be at least 1, got {args.images}")
    if args.layer_ticks is not None and args.layer_ticks < 0:
        ap.error(f"--layer-ticks: must be >= 0, got {args.layer_ticks}")
    header = ["artifact", "core", "cycles", "work bound", *COLUMNS]
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for directory in args.dirs:
        if not (directory / EXPECTED).is_file():
            print(f"{directory}: no {EXPECTED} (not a compiled artifact?)", file=sys.stderr)
            return 2
        try:
            core, cells = breakdown(directory, args.images, args.layer_ticks, args.pingpong,
                                    args.output_reads, args.drain_behind, args.lookahead)
        except ConfigError as e:
            print(f"{directory}: {e}", file=sys.stderr)
            return 2
        print("| " + " | ".join([str(directory), core]
                                + [f"{cells[h]:,.1f}" for h in header[2:]]) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
