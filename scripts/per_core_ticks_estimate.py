"""What per-core ticks would save (issue 10, point 3), for compiled artifacts: the cycle
model's cycles per inference beside an estimate of the same design with per-core ticks and
the work bound, as ratios.

    .venv/bin/python scripts/per_core_ticks_estimate.py DIR [DIR ...] [--images 100]

Today one tick controller holds every core to the same tick (overlapped: tick t + 1's input
enters while tick t's spikes are still taken, one tick of slack), so a tick lasts as long as
its busiest core: the hidden cores wait while the output core takes a burst of hidden spikes,
and the output core waits while the hidden cores take the input. With per-core ticks (tick
markers in the links; not built) a layer would run tick t as soon as it has tick t's events:

    finish(l, t) = max(finish(l, t - 1), finish(l - 1, t - 1))
                   + max over the layer's cores of (events(l, t) * cycles_per_event + update_cycles)

(``events(l, t)``: layer l's input events in tick t, the previous layer's spikes of tick
t - 1; ``update_cycles`` of a silent tick). It assumes unbounded buffers between the layers,
no CLEAR and spikes that leave as fast as they are made, so it is optimistic; the work bound
(:func:`~spikeforge.sim.system_cycle.lower_bound_cycles`, ``work_bound``) is issue 10's
yardstick. First-spike networks run to the golden decision tick, as the system does.

Variants (stop 57), each a column of its own:

* ``--drain-hidden``: the estimate with every update phase costing only its ``G`` words, as
  if the pipeline's drain overlapped the next tick's events (double-buffered input
  accumulators: not designed);
* ``--stages S``: the system cycle model itself (today's single tick controller) for cores
  whose update pipeline had ``S`` stages instead of
  :data:`~spikeforge.sim.blocks.core.UPDATE_STAGES` (the block model's constant patched for
  the run; its spike queue ``S + 2`` words, as the core sizes it): how much a shallower
  pipeline would give without per-core ticks;
* ``--lookahead K``: the per-core estimates with a layer at most ``K`` ticks ahead of the
  next (:func:`bounded_lookahead`), the bound a design with per-tick work counters needs.

Three columns more (stop 64): the dependency bound
(:func:`~spikeforge.sim.system_cycle.dependency_bound`: what no design of these cores can
beat, the work in the contract's order, reads and updates overlapped, nothing else) against
the work bound and the cycle model. Where it is above 1.2x the work bound, point 3's 1.2x
cannot be met by any schedule of these cores. Two more (stop 75): the pipelined dependency
bound (``pipelined=True``: the same with the update pipeline's P stages between a word's
read and its write, and one spike a cycle out of each core) and its ratio to the work
bound. ``--output-reads K`` (stop 67) adds the bounds and their ratios for the same design
with its output layer's cores reading K event words a cycle (an output core that takes K
events a cycle: not built), and (stop 75) the cycle models with a link of K spikes a cycle
into it; ``--drain-behind`` makes the ``--layer-ticks`` models' hidden cores take their next
tick while their spikes leave, a layer up to ``--lookahead`` ticks ahead.

And (stop 58) ``--layer-ticks D ...``: not an estimate but the cycle model of a design with
a tick controller per layer (:mod:`spikeforge.sim.planned`; its RTL is not built): every
block stepped cycle by cycle as the system model does, each layer's spikes held while the
next layer has not begun their tick (at its cores, or with D > 0 at the output of link FIFOs
of D packets), the contract checked as it runs. It shows the estimates above optimistic:
``scripts/where_cycles_go.py`` says where the cycles go instead.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np

import spikeforge.sim.blocks.core as core_model
import spikeforge.sim.cycle as cycle_model
from spikeforge.compiler.artifact import load_artifact
from spikeforge.cosim.system_cosim import expected_run, schedules_for
from spikeforge.flow import EXPECTED, load_expected
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.params import Decision
from spikeforge.sim.cycle import cycles_per_event, update_cycles, words
from spikeforge.sim.planned import LayerTicksModel
from spikeforge.sim.network import run_network
from spikeforge.sim.system_cycle import (SystemModel, dependency_bound, lower_bound_cycles,
                                         predict_run, work_bound)


def per_core_ticks(plan, events_per_tick: np.ndarray, ticks_run: int,
                   update=update_cycles) -> int:
    """The estimate of the module docstring for one image (``events_per_tick[l, t]``);
    ``update``: a core's cycles per update phase (``words``: the drain hidden)."""
    finish: dict[tuple[int, int], int] = {}
    for t in range(ticks_run):
        for l in range(plan.n_layers):
            cost = max(int(events_per_tick[l, t]) * cycles_per_event(c) + update(c)
                       for c in plan.cores_of_layer(l))
            ready = max(finish.get((l, t - 1), 0), finish.get((l - 1, t - 1), 0))
            finish[(l, t)] = ready + cost
    return max(finish.values())


def bounded_lookahead(plan, events_per_tick: np.ndarray, ticks_run: int, k: int,
                      update=update_cycles) -> int:
    """The estimate with a layer at most ``k`` ticks ahead of the next: layer l starts its
    update of tick t once layer l + 1 has started its update of tick t - k (its events may
    come before). A layer's events and update are each as long as its slowest core's."""
    finish: dict[tuple[int, int], int] = {}
    begin: dict[tuple[int, int], int] = {}  # the update phase's start
    for t in range(ticks_run):
        for l in range(plan.n_layers):
            cores = plan.cores_of_layer(l)
            taken = max(int(events_per_tick[l, t]) * cycles_per_event(c) for c in cores)
            ready = max(finish.get((l, t - 1), 0), finish.get((l - 1, t - 1), 0))
            begin[(l, t)] = max(ready + taken, begin.get((l + 1, t - k), 0))
            finish[(l, t)] = begin[(l, t)] + max(update(c) for c in cores)
    return max(finish.values())


@contextmanager
def pipeline_stages(stages: int):
    """The cycle models (:mod:`spikeforge.sim.blocks.core`, :mod:`spikeforge.sim.cycle`) of
    cores whose update pipeline has ``stages`` stages, inside the ``with``."""
    saved = core_model.UPDATE_STAGES, core_model.QUEUE_WORDS
    try:
        for module in (core_model, cycle_model):
            module.UPDATE_STAGES, module.QUEUE_WORDS = stages, stages + 2
        yield
    finally:
        for module in (core_model, cycle_model):
            module.UPDATE_STAGES, module.QUEUE_WORDS = saved


def model_cycles(artifact, counts, stages: int | None = None):
    """``(trace, mean cycles per inference)`` of the system cycle model (with ``stages``
    pipeline stages: :func:`pipeline_stages`)."""
    with pipeline_stages(stages) if stages is not None else nullcontext():
        # the patch must reach the block model (it reads the constant when a core is made)
        made = None if stages is None else core_model.CoreModel(artifact.plan.cores[0])
        if made is not None and len(made.stages) != stages:
            raise RuntimeError("--stages: the core's block model no longer reads UPDATE_STAGES "
                               "at run time; this option needs updating")
        trace, timings, _ = expected_run(artifact.network, artifact.plan, counts,
                                         system=artifact.system)
    return trace, float(np.mean([t.cycles for t in timings]))


def layer_ticks_cycles(artifact, counts, link_fifo: int = 0, output_reads: int = 1,
                       drain_behind: bool = False, lookahead: int = 1) -> float:
    """Mean cycles per inference of :class:`~spikeforge.sim.planned.LayerTicksModel` on
    ``counts`` (the driver's default schedule; ``link_fifo``, ``output_reads``,
    ``drain_behind``, ``lookahead``: the model's); a contract violation is an error."""
    trace = run_network(artifact.network, counts)  # full: a layer may run past the decision
    model = LayerTicksModel(artifact.plan, artifact.system, link_fifo=link_fifo,
                            output_reads=output_reads, drain_behind=drain_behind,
                            lookahead=lookahead)
    timings = predict_run(artifact.plan, trace, schedules_for(trace.input_counts),
                          counts.shape[1], system=artifact.system, model=model)
    if model.violations:
        raise RuntimeError(f"layer ticks: {model.violations[0]}")
    return float(np.mean([t.cycles for t in timings]))


def row(directory: Path, images: int, drain_hidden: bool = False,
        stages: int | None = None, lookahead: int | None = None,
        layer_ticks: tuple[int, ...] = (), output_reads: int | None = None,
        drain_behind: bool = False) -> list[str]:
    artifact = load_artifact(directory)
    # the per-layer-ticks models' options: drain_behind with the estimate's lookahead
    planned = {"drain_behind": drain_behind, "lookahead": lookahead or 1}
    counts = load_expected(directory / EXPECTED)["input_counts"][:images]
    plan = artifact.plan
    trace, model = model_cycles(artifact, counts)
    stats = trace.statistics(until_decision=trace.decision_mode is Decision.FIRST_SPIKE)
    bounds = [lower_bound_cycles(plan, trace, b) for b in range(len(counts))]
    work = np.mean([b["work_bound"] for b in bounds])
    dependency = np.mean([b["dependency_bound"] for b in bounds])
    pipelined = np.mean([float(dependency_bound(plan, trace, b, bounds[b]["ticks_run"],
                                                pipelined=True)) for b in range(len(counts))])
    cores = "+".join(str(len(plan.cores_of_layer(l))) for l in range(plan.n_layers))
    lanes = ",".join(str(plan.cores_of_layer(l)[0].config.lanes) for l in range(plan.n_layers))
    out = [str(directory), f"[{lanes}] in {cores}", str(len(counts)), f"{model:,.0f}"]

    def per_core(b, update):
        events, ticks = stats.input_events_per_tick[b], int(stats.ticks_run[b])
        if lookahead is None:
            return per_core_ticks(plan, events, ticks, update)
        return bounded_lookahead(plan, events, ticks, lookahead, update)

    estimates = [np.mean([per_core(b, update) for b in range(len(counts))])
                 for update in ([update_cycles] + ([words] if drain_hidden else []))]
    if stages is not None:
        estimates.append(model_cycles(artifact, counts, stages)[1])
    estimates += [layer_ticks_cycles(artifact, counts, depth, **planned)
                  for depth in layer_ticks]
    out += [f"{e:,.0f}" for e in estimates] + [f"{work:,.0f}", f"{model / work:.2f}x"]
    out += [f"{e / work:.2f}x" for e in estimates] + [
        f"{dependency:,.0f}", f"{dependency / work:.2f}x", f"{model / dependency:.2f}x",
        f"{pipelined:,.0f}", f"{pipelined / work:.2f}x"]
    if output_reads is not None:
        out += output_reads_cells(directory, artifact, counts, trace, stats,
                                  [b["ticks_run"] for b in bounds], output_reads, layer_ticks,
                                  planned)
    return out


def output_reads_cells(name, artifact, counts, trace, stats, ticks: list[int], k: int,
                       layer_ticks: tuple[int, ...], planned: dict | None = None) -> list[str]:
    """The same design with its output layer taking ``k`` events a cycle (not built): the
    work and dependency bounds and their ratio (``reads`` of
    :func:`~spikeforge.sim.system_cycle.work_bound` and
    :func:`~spikeforge.sim.system_cycle.dependency_bound`), then the cycle models with a
    link of ``k`` spikes a cycle into it (``output_reads``: today's controller, and per-layer
    ticks with each depth of ``layer_ticks`` and the options ``planned``), each beside its
    ratio to that work bound ("-" where the output cores have more than one word: said on
    stderr, ``name`` the artifact); ``ticks``: each image's ticks run."""
    plan = artifact.plan
    reads, images = {plan.n_layers - 1: k}, range(len(ticks))
    work = np.mean([float(work_bound(plan, stats.input_events[b], ticks[b], reads))
                    for b in images])
    dependency = np.mean([float(dependency_bound(plan, trace, b, ticks[b], reads))
                          for b in images])
    pipelined = np.mean([float(dependency_bound(plan, trace, b, ticks[b], reads, True))
                         for b in images])
    out = [f"{work:,.0f}", f"{dependency:,.0f}", f"{dependency / work:.2f}x",
           f"{pipelined:,.0f}", f"{pipelined / work:.2f}x"]
    try:
        model = SystemModel(plan, artifact.system, output_reads=k)
    except ConfigError as e:  # output cores of several words: no such link into them
        print(f"{name}: no cycle model with output {k} a cycle: {e}", file=sys.stderr)
        return out + ["-"] * (1 + len(layer_ticks))
    timings = predict_run(plan, trace, schedules_for(trace.input_counts), counts.shape[1],
                          system=artifact.system, model=model)
    cycles = [float(np.mean([t.cycles for t in timings]))]
    cycles += [layer_ticks_cycles(artifact, counts, d, k, **(planned or {}))
               for d in layer_ticks]
    return out + [f"{c:,.0f} ({c / work:.2f}x)" for c in cycles]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", type=Path, nargs="+", metavar="DIR", help="compiled artifacts")
    ap.add_argument("--images", type=int, default=100,
                    help="the first test images of each artifact's expected traces")
    ap.add_argument("--drain-hidden", action="store_true",
                    help="also the estimate with each update phase costing only its words")
    ap.add_argument("--stages", type=int, default=None, metavar="S",
                    help="also the cycle model with S update pipeline stages")
    ap.add_argument("--lookahead", type=int, default=None, metavar="K",
                    help="per-core ticks with a layer at most K ticks ahead of the next")
    ap.add_argument("--layer-ticks", type=int, nargs="+", default=[], metavar="D",
                    help="also the cycle model with a tick controller per layer, its links "
                         "FIFOs of D packets (0: none, spikes held at the cores)")
    ap.add_argument("--drain-behind", action="store_true",
                    help="the --layer-ticks models with hidden cores that take their next "
                         "TICK while their spikes still leave, a layer up to --lookahead "
                         "ticks ahead of the next (default 1; not built)")
    ap.add_argument("--output-reads", type=int, default=None, metavar="K",
                    help="also the work and dependency bounds with the output layer's cores "
                         "reading K event words a cycle, and the cycle models (today's, "
                         "--layer-ticks') with a link of K spikes a cycle into it (not built)")
    args = ap.parse_args(argv)
    if args.output_reads is not None and args.output_reads < 1:
        ap.error(f"--output-reads: must be at least 1, got {args.output_reads}")
    if args.images < 1:
        ap.error(f"--images: must be at least 1, got {args.images}")
    if args.lookahead is not None and args.lookahead < 1:
        ap.error(f"--lookahead: must be at least 1, got {args.lookahead}")
    if args.stages is not None and args.stages < 1:
        ap.error(f"--stages: must be at least 1, got {args.stages}")
    ahead = "" if args.lookahead is None else f", {args.lookahead} ahead"
    variants = [f"per-core ticks{ahead} (est.)"] + ([f"per-core{ahead}, drain hidden (est.)"]
                                                   if args.drain_hidden else [])
    variants += [] if args.stages is None else [f"cycle model, {args.stages} stages"]
    if any(d < 0 for d in args.layer_ticks):
        ap.error(f"--layer-ticks: depths must be >= 0, got {args.layer_ticks}")
    if args.drain_behind and not args.layer_ticks:
        ap.error("--drain-behind: needs --layer-ticks (the next layer's TICK waits for the "
                 "spikes, not the whole system's)")
    behind = f", drain behind{ahead}" if args.drain_behind else ""
    variants += [f"layer ticks, FIFO {d}{behind} (cycle model)" for d in args.layer_ticks]
    header = (["artifact", "lanes in cores", "images", "cycle model"] + variants
              + ["work bound", "now / work"] + [f"{v} / work" for v in variants]
              + ["dependency bound", "dependency / work", "now / dependency",
                 "pipelined bound", "pipelined / work"]
              + ([] if args.output_reads is None else [
                  f"work bound, output {args.output_reads} a cycle",
                  f"dependency bound, output {args.output_reads} a cycle",
                  f"dependency / work, output {args.output_reads} a cycle",
                  f"pipelined bound, output {args.output_reads} a cycle",
                  f"pipelined / work, output {args.output_reads} a cycle",
                  f"cycle model, output {args.output_reads} a cycle (/ its work)"] + [
                  f"layer ticks, FIFO {d}{behind}, output {args.output_reads} a cycle "
                  "(/ its work)"
                  for d in args.layer_ticks]))
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for directory in args.dirs:
        if not (directory / EXPECTED).is_file():
            print(f"{directory}: no {EXPECTED} (not a compiled artifact?)", file=sys.stderr)
            return 2
        cells = row(directory, args.images, args.drain_hidden, args.stages, args.lookahead,
                    args.layer_ticks, args.output_reads, args.drain_behind)
        print("| " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
