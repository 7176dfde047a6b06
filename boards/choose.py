"""Lanes and cores for a board: the fastest plan of a network that still fits, and why.

A core with ``L`` lanes spends ``G`` cycles on an input event and ``G + S + 1`` on a
silent update phase (``G = ceil(N / L)``, :mod:`spikeforge.sim.cycle`), so more lanes are
faster, but each lane costs a multiplier, logic, and a wider weight word whose packing into
the family's block RAM may waste bits (eight 8-bit weights in 64 bits use two 36-bit ECP5
halves less well than nine in 72). Splitting a layer over ``k`` cores (``N / k`` neurons
each, every core taking every event of the layer's input) divides ``G`` by ``k`` at the same
lanes per core, and each core's weights sit in block RAMs of their own: a 784-600-10 layer
in one 48-lane core reads a 384-bit word out of 198 block RAMs across the whole ECP5-85F,
in three 18-lane cores each core reads 144 bits out of its own 64 (docs/boards.md, stop 44).

:func:`choose_lanes` tries, for every layer, the lane counts of :data:`LANE_CHOICES` and --
for a layer of at least :data:`SPLIT_MIN_NEURONS` neurons whose cores the caller did not set
-- the core counts of :data:`CORE_SPLITS`, and keeps the plan with the fewest predicted
cycles among those :func:`estimate` says fit; a plan of more cores only where it saves
more than :data:`SPLIT_GAIN` of the work. On a tie (the busiest core's work does not depend
on the other cores' lanes) the fewest lanes, unless more lanes in the other cores shorten
the ticks in which they are the busiest by more than :data:`SERIAL_GAIN`
(:func:`_serial`; a one-word core takes an event per cycle, so the TTFS output core of
10 neurons in 10 lanes takes the hidden spikes twice as fast as in 6). One lane is not
always the smallest plan that fits (784-600-10 with 672 rows needs 209 block RAMs at one
lane, 198 at nine).

The predicted cycles are the work bound of :func:`~spikeforge.sim.system_cycle.lower_bound_cycles`
(``core_bound``: the busiest core's CLEAR, events and update phases) averaged over sample
inputs, which is what lanes and cores change; the cycle model then gives the chosen plan's
real figure.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from spikeforge.boards.fit import FitEstimate, estimate
from spikeforge.compiler.map import plan_network
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.params import Decision
from spikeforge.sim.cycle import core_busy_bound, cycles_per_event, update_cycles
from spikeforge.sim.network import run_network

__all__ = ["LANE_CHOICES", "CORE_SPLITS", "SPLIT_MIN_NEURONS", "SPLIT_GAIN", "SERIAL_GAIN",
           "TIE_LOGIC", "LaneChoice", "choose_lanes", "lane_choices"]

#: the lane counts tried (more than a core's neurons are never tried): the powers of two,
#: and the multiples of 9 that fill 9/18/36-bit block RAM words with 8-bit weights; and
#: the core's neurons, up to the largest of these (:func:`lane_choices`)
LANE_CHOICES = (1, 2, 3, 4, 6, 8, 9, 12, 16, 18, 24, 32, 36, 48, 64)
#: the cores a layer is tried split over (balanced), where the caller set none
CORE_SPLITS = (1, 2, 3, 4)
#: the smallest layer tried split (a smaller layer's weights span few block RAMs; it keeps
#: one core, so the digits designs are chosen as before splits were tried)
SPLIT_MIN_NEURONS = 128
#: a plan of more cores is chosen only if its work is this much below that of every plan
#: of fewer cores (MNIST 784-256-10: four 24-lane hidden cores would do 0.6 % less work
#: than one of 64 lanes, two of 48 lanes about 8,000 more logic cells: one kept; TTFS
#: 784-600-10: three 18-lane cores 2.2 % less than two of 36 lanes, 6.8 % less than one
#: of 48: three)
SPLIT_GAIN = 0.02
#: among plans of equal work on the busiest core, more lanes are chosen only where the
#: tick-serial estimate (:func:`_serial`) falls by more than this
SERIAL_GAIN = 0.02
#: ... and only where the estimate leaves this much of the board's logic, as it is an
#: estimate (the TTFS digits network on the iCEBreaker in lanes [2, 2]: about 5,162 of
#: 5,280 logic cells estimated, 5,384 placed: no fit)
TIE_LOGIC = 0.95
#: above this many combinations, layers are improved one at a time instead
EXHAUSTIVE_LIMIT = 1000


@dataclass
class LaneChoice:
    """The chosen ``lanes`` and ``neurons_per_core`` (per layer: the most neurons of a core,
    None for one core, as :func:`~spikeforge.compiler.map.plan_network` takes them), its
    ``plan``, fit ``estimate`` and ``bound`` (mean busiest-core cycles over the sample), the
    plans ``tried`` and ``why`` (lines of text)."""

    lanes: list
    neurons_per_core: list
    plan: object
    estimate: FitEstimate
    bound: float
    tried: int
    why: list = field(default_factory=list)

    @property
    def cores(self) -> list[int]:
        """Cores per layer."""
        return _cores(self.plan)


def _cores(plan) -> list[int]:
    return [len(plan.cores_of_layer(l)) for l in range(plan.n_layers)]


def _work(network, sample_counts):
    """Per image: the ticks run, each layer's input events and the same tick by tick (what
    the bound and the tick-serial estimate need)."""
    trace = run_network(network, network.check_input(sample_counts))
    stats = trace.statistics(until_decision=network.decision is Decision.FIRST_SPIKE)
    return stats.ticks_run, stats.input_events, stats.input_events_per_tick


def _bound(plan, ticks_run, events) -> float:
    per_image = [max(core_busy_bound(c, int(events[b, c.layer]), int(ticks_run[b]))
                     for c in plan.cores) for b in range(len(ticks_run))]
    return float(np.mean(per_image))


def lane_choices(neurons: int) -> list[int]:
    """The lanes tried for a core of ``neurons``: :data:`LANE_CHOICES` up to ``neurons``, and
    ``neurons`` itself where no larger choice is tried: one word, which takes an event per
    cycle (a 10-neuron output core: 10 lanes, where 9 take two words and two cycles)."""
    lanes = [L for L in LANE_CHOICES if L <= neurons]
    if neurons <= LANE_CHOICES[-1] and neurons not in lanes:
        lanes.append(neurons)
    return lanes


def _serial(plan, ticks_run, per_tick) -> float:
    """The tick-serial estimate, mean over the images: the layers take a tick's events side
    by side, but one tick at a time (the system's tick controller), so a tick lasts as long
    as its busiest core's events, ``sum over t of max over cores of (events of its layer in
    t) * cycles_per_event``, plus the slowest silent update phase per tick. It sees what
    the busiest-core bound cannot: a core that is not the busiest over the whole inference
    may be the busiest in some ticks (the TTFS output core in the ticks of many hidden
    spikes)."""
    busiest = np.zeros(per_tick[:, 0].shape)
    for c in plan.cores:
        busiest = np.maximum(busiest, per_tick[:, c.layer] * cycles_per_event(c))
    update = max(update_cycles(c) for c in plan.cores)
    return float(np.mean(busiest.sum(axis=1) + ticks_run * update))


def _options(network, neurons_per_core) -> list[list[tuple]]:
    """Per layer, the ``(neurons per core or None, lanes)`` pairs to try: the caller's cores
    where given, else one core and -- for a layer of at least :data:`SPLIT_MIN_NEURONS` --
    the splits of :data:`CORE_SPLITS`."""
    sizes = [layer.n_neurons for layer in network.layers]
    given = (list(neurons_per_core) if isinstance(neurons_per_core, (list, tuple))
             else [neurons_per_core] * len(sizes))
    options = []
    for n, limit in zip(sizes, given):
        if limit is not None or n < SPLIT_MIN_NEURONS:
            limits = [limit]
        else:
            limits = [None] + sorted({-(-n // k) for k in CORE_SPLITS if k > 1}, reverse=True)
        options.append([(cap, L) for cap in limits for L in lane_choices(min(n, cap or n))])
    return options


def _describe(key: tuple, plan) -> str:
    """``lanes [..]`` and, where a layer has several cores, ``in k + 1 cores``."""
    lanes = [L for _, L in key]
    cores = _cores(plan)
    if all(k == 1 for k in cores):
        return f"lanes {lanes}"
    return f"lanes {lanes} in {' + '.join(map(str, cores))} cores"


def choose_lanes(network, board: str, sample_counts, neurons_per_core=None,
                 input_depth: int | None = None) -> LaneChoice:
    """The fastest lanes and cores for ``network`` on ``board`` that fit (module docstring);
    ``sample_counts``: input images to weigh the work by; ``neurons_per_core`` as
    :func:`~spikeforge.compiler.map.plan_network` (given: those cores, only lanes are
    chosen). :class:`ConfigError` when not even one lane per core fits, with the
    estimate's reason."""
    ticks_run, events, per_tick = _work(network, sample_counts)
    options = _options(network, neurons_per_core)
    seen: dict[tuple, tuple] = {}

    def judge(key: tuple) -> tuple:
        if key not in seen:
            plan = plan_network(network, neurons_per_core=[cap for cap, _ in key],
                                lanes=[L for _, L in key])
            est = estimate(plan, board, input_depth=input_depth)
            seen[key] = (_bound(plan, ticks_run, events), plan, est)
        return seen[key]

    if np.prod([len(o) for o in options]) <= EXHAUSTIVE_LIMIT:
        for key in itertools.product(*options):
            judge(key)
    else:  # one layer at a time, from the first fitting plan, while it improves
        start = [key for key in itertools.islice(itertools.product(*options),
                                                  EXHAUSTIVE_LIMIT) if judge(key)[2].fits]
        current, improved = (start[0] if start else None), bool(start)
        while improved:
            improved = False
            for l in range(len(options)):
                for option in options[l]:
                    trial = current[:l] + (option,) + current[l + 1:]
                    if judge(trial)[2].fits and judge(trial)[0] < judge(current)[0]:
                        current, improved = trial, True
    fitting = [_Candidate(len(plan.cores), bound, _serial(plan, ticks_run, per_tick),
                          sum(L for _, L in key), _order(key), key,
                          est.luts / est.luts_available)
               for key, (bound, plan, est) in seen.items() if est.fits]
    if not fitting:
        smallest = judge(tuple(option[0] for option in options))[2]
        raise ConfigError(f"--board: {board}: no lane count fits (one lane per core: "
                          f"{'; '.join(smallest.problems)})")
    chosen, fewest = _pick(fitting)
    best = chosen.key
    bound, plan, est = seen[best]
    why = _why(best, seen, est)
    if chosen is not fewest:
        other = _describe(fewest.key, seen[fewest.key][1])
        why.insert(1, f"{_describe(best, plan)} rather than {other}: the same work on the "
                      f"busiest core, {chosen.serial:,.0f} cycles tick by tick against "
                      f"{fewest.serial:,.0f} (the layers wait for each other every tick)")
    return LaneChoice([L for _, L in best], [cap for cap, _ in best], plan, est, bound,
                      len(seen), why)


class _Candidate(NamedTuple):
    """A plan that fits, as :func:`_pick` weighs it."""

    cores: int
    bound: float  # the busiest core's cycles (_bound)
    serial: float  # the tick-serial estimate (_serial)
    lanes: int  # all cores' lanes together
    order: tuple
    key: tuple
    logic: float = 0.0  # estimated logic cells / the board's


def _pick(fitting: list[_Candidate]) -> tuple[_Candidate, _Candidate]:
    """The chosen plan among those that fit, and the plan of fewest lanes it was weighed
    against: the fewest cores whose fastest plan is within :data:`SPLIT_GAIN` of the fastest
    of all; among plans of as many cores, the least work on the busiest core; among those
    (a tie: the lanes of the other cores), the fewest lanes whose tick-serial estimate is
    within :data:`SERIAL_GAIN` of the least -- of those with the fewest lanes or estimated
    at most :data:`TIE_LOGIC` of the board's logic cells."""
    fastest = min(f.bound for f in fitting)
    near = [f for f in fitting if f.bound <= fastest * (1 + SPLIT_GAIN)]
    cores = min(f.cores for f in near)
    least = min(f.bound for f in near if f.cores == cores)
    tied = sorted((f for f in near if f.cores == cores and f.bound == least),
                  key=lambda f: (f.lanes, f.order))
    tied = tied[:1] + [f for f in tied[1:] if f.logic <= TIE_LOGIC]
    quickest = min(f.serial for f in tied)
    return next(f for f in tied if f.serial <= quickest * (1 + SERIAL_GAIN)), tied[0]


def _order(key: tuple) -> tuple:
    """A total order on keys for the last tie-break (None, one core, sorts first)."""
    return tuple((cap or 0, L) for cap, L in key)


def _why(best: tuple, seen: dict, est: FitEstimate) -> list[str]:
    """The choice in words: its resources and the faster plans that did not fit."""
    bound, plan, _ = seen[best]
    lines = [f"{_describe(best, plan)}: {bound:,.0f} cycles of work per inference (busiest "
             f"core), {est.brams}/{est.brams_available} block RAMs, "
             f"{est.dsps}/{est.dsps_available} multipliers, about "
             f"{est.luts:,}/{est.luts_available:,} logic cells"]
    faster: dict[float, tuple] = {}  # per bound, the plan of fewest cores, then lanes
    for key, (b, p, e) in seen.items():
        size = (len(p.cores), sum(L for _, L in key))
        if b < bound and not e.fits and (b not in faster or size < faster[b][0]):
            faster[b] = (size, key)
    for b, (_, key) in sorted(faster.items(), reverse=True)[:2]:  # the nearest faster first
        reason = seen[key][2].problems[0].split(";")[0]
        lines.append(f"{_describe(key, seen[key][1])} would take {b:,.0f} cycles but does not "
                     f"fit: {reason}")
    if not faster:
        lines.append("no plan with more lanes or cores is faster")
    quicker = [(b, key) for key, (b, p, e) in seen.items()
               if e.fits and b < bound and len(p.cores) > len(plan.cores)]
    if quicker:  # fits, but saves too little for its cores (SPLIT_GAIN)
        b, key = min(quicker)
        lines.append(f"{_describe(key, seen[key][1])} would take {b:,.0f} cycles and fits: "
                     f"under {SPLIT_GAIN:.0%} less work, not worth its cores")
    return lines
