"""Lanes for a board: the fastest plan of a network that still fits, and why.

A core with ``L`` lanes spends ``G + 1`` cycles on an input event and ``G + S + 1`` on a
silent update phase (``G = ceil(N / L)``, :mod:`spikeforge.sim.cycle`), so more lanes are
faster, but each lane costs a multiplier, logic, and a wider weight word whose packing into
the family's block RAM may waste bits (eight 8-bit weights in 64 bits use two 36-bit ECP5
halves less well than nine in 72). :func:`choose_lanes` tries the lane counts of
:data:`LANE_CHOICES` for every layer (the cores per layer stay the caller's: one per layer by
default) and keeps the plan with the fewest predicted cycles among those :func:`estimate`
says fit, the one of fewer lanes on a tie; one lane is not always the smallest plan that fits
(784-600-10 with 672 rows needs 209 block RAMs at one lane, 198 at nine).

The predicted cycles are the work bound of :func:`~spikeforge.sim.system_cycle.lower_bound_cycles`
(``core_bound``: the busiest core's CLEAR, events and update phases) averaged over sample
inputs, which is what lanes change; the cycle model then gives the chosen plan's real figure.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from spikeforge.boards.fit import FitEstimate, estimate
from spikeforge.compiler.map import plan_network
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.params import Decision
from spikeforge.sim.cycle import core_busy_bound
from spikeforge.sim.network import run_network

__all__ = ["LANE_CHOICES", "LaneChoice", "choose_lanes"]

#: the lane counts tried (more than a core's neurons are never tried): the powers of two,
#: and the multiples of 9 that fill 9/18/36-bit block RAM words with 8-bit weights
LANE_CHOICES = (1, 2, 3, 4, 6, 8, 9, 12, 16, 18, 24, 32, 36, 48, 64)
#: above this many combinations, layers are improved one at a time instead
EXHAUSTIVE_LIMIT = 400


@dataclass
class LaneChoice:
    """The chosen ``lanes`` (per layer), its ``plan``, fit ``estimate`` and ``bound`` (mean
    busiest-core cycles over the sample), the plans ``tried`` and ``why`` (lines of text)."""

    lanes: list
    plan: object
    estimate: FitEstimate
    bound: float
    tried: int
    why: list = field(default_factory=list)


def _work(network, sample_counts):
    """Per image: the ticks run and each layer's input events (what the bound needs)."""
    trace = run_network(network, network.check_input(sample_counts))
    stats = trace.statistics(until_decision=network.decision is Decision.FIRST_SPIKE)
    return stats.ticks_run, stats.input_events


def _bound(plan, ticks_run, events) -> float:
    per_image = [max(core_busy_bound(c, int(events[b, c.layer]), int(ticks_run[b]))
                     for c in plan.cores) for b in range(len(ticks_run))]
    return float(np.mean(per_image))


def _options(network, neurons_per_core) -> list[list[int]]:
    sizes = [layer.n_neurons for layer in network.layers]
    limits = (neurons_per_core if isinstance(neurons_per_core, (list, tuple))
              else [neurons_per_core] * len(sizes))
    return [[L for L in LANE_CHOICES if L <= min(n, limit or n)] for n, limit in zip(sizes, limits)]


def choose_lanes(network, board: str, sample_counts, neurons_per_core=None,
                 input_depth: int | None = None) -> LaneChoice:
    """The fastest lanes for ``network`` on ``board`` that fit (module docstring);
    ``sample_counts``: input images to weigh the work by; ``neurons_per_core`` as
    :func:`~spikeforge.compiler.map.plan_network`. :class:`ConfigError` when not even one
    lane per core fits, with the estimate's reason."""
    ticks_run, events = _work(network, sample_counts)
    options = _options(network, neurons_per_core)
    seen: dict[tuple, tuple] = {}

    def judge(lanes: tuple) -> tuple:
        if lanes not in seen:
            plan = plan_network(network, neurons_per_core=neurons_per_core, lanes=list(lanes))
            est = estimate(plan, board, input_depth=input_depth)
            seen[lanes] = (_bound(plan, ticks_run, events), plan, est)
        return seen[lanes]

    if np.prod([len(o) for o in options]) <= EXHAUSTIVE_LIMIT:
        for lanes in itertools.product(*options):
            judge(lanes)
    else:  # one layer at a time, from the fitting plan of fewest lanes, while it improves
        start = [lanes for lanes in itertools.islice(itertools.product(*options),
                                                      EXHAUSTIVE_LIMIT) if judge(lanes)[2].fits]
        current, improved = (start[0] if start else None), bool(start)
        while improved:
            improved = False
            for l in range(len(options)):
                for L in options[l]:
                    trial = current[:l] + (L,) + current[l + 1:]
                    if judge(trial)[2].fits and judge(trial)[0] < judge(current)[0]:
                        current, improved = trial, True
    fitting = [(bound, sum(lanes), lanes) for lanes, (bound, _, est) in seen.items() if est.fits]
    if not fitting:
        smallest = judge(tuple(1 for _ in options))[2]
        raise ConfigError(f"--board: {board}: no lane count fits (one lane per core: "
                          f"{'; '.join(smallest.problems)})")
    bound, _, best = min(fitting)
    _, plan, est = seen[best]
    return LaneChoice(list(best), plan, est, bound, len(seen), _why(best, seen, est))


def _why(best: tuple, seen: dict, est: FitEstimate) -> list[str]:
    """The choice in words: its resources and the faster plans that did not fit."""
    bound = seen[best][0]
    lines = [f"lanes {list(best)}: {bound:,.0f} cycles of work per inference (busiest core), "
             f"{est.brams}/{est.brams_available} block RAMs, {est.dsps}/{est.dsps_available} "
             f"multipliers, about {est.luts:,}/{est.luts_available:,} logic cells"]
    faster: dict[float, tuple] = {}  # per bound, the plan of fewest lanes
    for lanes, (b, _, e) in seen.items():
        if b < bound and not e.fits and (b not in faster or sum(lanes) < sum(faster[b])):
            faster[b] = lanes
    for b, lanes in sorted(faster.items(), reverse=True)[:2]:  # the nearest faster first
        reason = seen[lanes][2].problems[0].split(";")[0]
        lines.append(f"lanes {list(lanes)} would take {b:,.0f} cycles but does not fit: {reason}")
    if not faster:
        lines.append("no plan with more lanes is faster")
    return lines
