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
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from spikeforge.compiler.artifact import load_artifact
from spikeforge.cosim.system_cosim import expected_run
from spikeforge.flow import EXPECTED, load_expected
from spikeforge.ir.params import Decision
from spikeforge.sim.cycle import cycles_per_event, update_cycles
from spikeforge.sim.system_cycle import lower_bound_cycles


def per_core_ticks(plan, events_per_tick: np.ndarray, ticks_run: int) -> int:
    """The estimate of the module docstring for one image (``events_per_tick[l, t]``)."""
    finish: dict[tuple[int, int], int] = {}
    for t in range(ticks_run):
        for l in range(plan.n_layers):
            cost = max(int(events_per_tick[l, t]) * cycles_per_event(c) + update_cycles(c)
                       for c in plan.cores_of_layer(l))
            ready = max(finish.get((l, t - 1), 0), finish.get((l - 1, t - 1), 0))
            finish[(l, t)] = ready + cost
    return max(finish.values())


def row(directory: Path, images: int) -> list[str]:
    artifact = load_artifact(directory)
    counts = load_expected(directory / EXPECTED)["input_counts"][:images]
    plan = artifact.plan
    trace, timings, _ = expected_run(artifact.network, plan, counts, system=artifact.system)
    stats = trace.statistics(until_decision=trace.decision_mode is Decision.FIRST_SPIKE)
    model = np.mean([t.cycles for t in timings])
    estimate = np.mean([per_core_ticks(plan, stats.input_events_per_tick[b],
                                       int(stats.ticks_run[b])) for b in range(len(counts))])
    work = np.mean([lower_bound_cycles(plan, trace, b)["work_bound"]
                    for b in range(len(counts))])
    cores = "+".join(str(len(plan.cores_of_layer(l))) for l in range(plan.n_layers))
    lanes = ",".join(str(plan.cores_of_layer(l)[0].config.lanes) for l in range(plan.n_layers))
    return [str(directory), f"[{lanes}] in {cores}", str(len(counts)), f"{model:,.0f}",
            f"{estimate:,.0f}", f"{work:,.0f}", f"{model / work:.2f}x", f"{estimate / work:.2f}x"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", type=Path, nargs="+", metavar="DIR", help="compiled artifacts")
    ap.add_argument("--images", type=int, default=100,
                    help="the first test images of each artifact's expected traces")
    args = ap.parse_args(argv)
    if args.images < 1:
        ap.error(f"--images: must be at least 1, got {args.images}")
    header = ["artifact", "lanes in cores", "images", "cycle model", "per-core ticks (est.)",
              "work bound", "now / work", "per-core / work"]
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for directory in args.dirs:
        if not (directory / EXPECTED).is_file():
            print(f"{directory}: no {EXPECTED} (not a compiled artifact?)", file=sys.stderr)
            return 2
        print("| " + " | ".join(row(directory, args.images)) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
