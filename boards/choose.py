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
-- the core counts of :data:`CORE_SPLITS`, and estimates each plan's fit (:func:`estimate`).
The plans that fit are ranked by the tick-serial estimate (:func:`_serial`: the layers take
a tick's events side by side, one tick at a time, so a core that is not the busiest over
the whole inference may set the pace in some ticks -- the TTFS output core in the ticks of
many hidden spikes); the :data:`SHORTLIST` of the least are run through the system's cycle
model (:func:`~spikeforge.sim.system_cycle.predict_run`, what ``verify`` holds the RTL to)
on :data:`CYCLE_IMAGES` sample images, and the smallest of them -- fewest cores, then
fewest lanes -- whose cycles are within :data:`GAIN` of the fewest is chosen
(``compile --fmax``: the one whose widest core has the fewest lanes first, as narrower cores
of the same cycles placed faster on the ECP5). Plans estimated above :data:`SAFE_LOGIC` of
the board's logic are left out where others fit.

Until stop 51 the cores were chosen on the busiest core's work alone (the fewest cores
within 2 % of the least work), which cannot see that a core waits for another: the TTFS
784-600-10 got two 36-lane hidden cores and a 4-lane output core (3 words, 3 cycles a
hidden spike: 2,567 cycles on 1,000 test images) over three 18-lane cores and a one-word
output core (2,029 cycles), whose work was only 1.6 % less. One lane is not always the
smallest plan that fits (784-600-10 with 672 rows needs 209 block RAMs at one lane, 198 at
nine).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from spikeforge.boards.fit import FitEstimate, estimate, system_layout
from spikeforge.boards.specs import board_spec
from spikeforge.compiler.map import plan_network
from spikeforge.cosim.system_cosim import expected_run
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.params import Decision
from spikeforge.ir.system import DoubleBuffer, SystemConfig, chosen_system
from spikeforge.sim.cycle import core_busy_bound, cycles_per_event, update_cycles
from spikeforge.sim.network import run_network

__all__ = ["LANE_CHOICES", "CORE_SPLITS", "SPLIT_MIN_NEURONS", "SHORTLIST", "CYCLE_IMAGES",
           "GAIN", "SAFE_LOGIC", "DOUBLE_BUFFER_FAMILIES", "DOUBLE_BUFFER_GAIN",
           "DOUBLE_BUFFERED", "LaneChoice", "choose_double_buffer", "choose_lanes",
           "double_buffered_line", "lane_choices"]

#: the lane counts tried (more than a core's neurons are never tried): the powers of two,
#: and the multiples of 9 that fill 9/18/36-bit block RAM words with 8-bit weights; and
#: the core's neurons, up to the largest of these (:func:`lane_choices`)
LANE_CHOICES = (1, 2, 3, 4, 6, 8, 9, 12, 16, 18, 24, 32, 36, 48, 64)
#: the cores a layer is tried split over (balanced), where the caller set none
CORE_SPLITS = (1, 2, 3, 4)
#: the smallest layer tried split (a smaller layer's weights span few block RAMs; it keeps
#: one core, so the digits designs are chosen as before splits were tried)
SPLIT_MIN_NEURONS = 128
#: the plans of least tick-serial estimate that the cycle model runs (the benchmark
#: networks' choices were each the first of them; the cycle model takes about 0.5 s a
#: plan for TTFS 784-600-10 on 20 images)
SHORTLIST = 12
#: the sample images the cycle model runs (the first of those the work is weighed on)
CYCLE_IMAGES = 20
#: the smallest plan of the shortlist within this of its fewest cycles is chosen: a larger
#: one (more cores, then more lanes) only where every smaller one is more than this slower
GAIN = 0.02
#: a plan estimated above this fraction of the board's logic counts as fitting only where
#: no other plan does, as the estimate is an estimate (the TTFS digits network on the
#: iCEBreaker in lanes [2, 2]: about 5,162 of 5,280 logic cells estimated, 5,384 placed)
SAFE_LOGIC = 0.95
#: the nearest faster plans that do not fit which the cycle model runs for the why
FASTER_TRIED = 4
#: above this many combinations, layers are improved one at a time instead
EXHAUSTIVE_LIMIT = 1000
#: the families where :func:`choose_double_buffer` lets the buffers change the memory layout.
#: On the ECP5 the buffers are LUT RAM and cost no Fmax (the TTFS 784-600-10: 67.3 -> 67.9
#: MHz, 26,867 -> 36,773 LUTs, 1,936 -> 1,731 cycles); on the iCE40 every core's logic cost
#: the digits design 16 % of its Fmax (54.0 -> 45.5 MHz) for 12 % of its cycles (stop 59),
#: its hidden core's alone 3 % at the default seed (53.3 -> 51.5 MHz; means of seven
#: placements 51.3 and 51.1) for 11 % (stop 65), and buffers that push the state memories
#: out of block RAM cost more Fmax than they save cycles (docs/boards.md, stop 37)
DOUBLE_BUFFER_FAMILIES = ("ecp5",)
#: the share of the cycles double-buffered cores must save to be chosen: their logic (37 %
#: more LUTs in the TTFS 784-600-10) buys too little below it (MNIST-fast: 2 %)
DOUBLE_BUFFER_GAIN = 0.05
#: how the compiler says it
DOUBLE_BUFFERED = "cores double-buffered: each takes the next tick's events while it updates"


@dataclass
class LaneChoice:
    """The chosen ``lanes`` and ``neurons_per_core`` (per layer: the most neurons of a core,
    None for one core, as :func:`~spikeforge.compiler.map.plan_network` takes them), its
    ``plan``, fit ``estimate`` and ``bound`` (mean busiest-core cycles over the sample), the
    plans ``tried``, ``why`` (lines of text) and ``cycles`` (the cycle model's mean over the
    first :data:`CYCLE_IMAGES` sample images)."""

    lanes: list
    neurons_per_core: list
    plan: object
    estimate: FitEstimate
    bound: float
    tried: int
    why: list = field(default_factory=list)
    cycles: float = 0.0

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
                 input_depth: int | None = None,
                 system: SystemConfig | None = None, narrow: bool = False) -> LaneChoice:
    """The fastest lanes and cores for ``network`` on ``board`` that fit (module docstring);
    ``sample_counts``: input images to weigh the work by; ``neurons_per_core`` as
    :func:`~spikeforge.compiler.map.plan_network` (given: those cores, only lanes are
    chosen); ``system``: the settings the cycle model runs the shortlist with (default
    :func:`~spikeforge.ir.system.chosen_system` of the network's decision, overlapped);
    ``narrow`` (``compile --fmax``): within :data:`GAIN` of the fewest cycles, the plan of
    the narrowest widest core first (:meth:`_Candidate.size`).
    :class:`ConfigError` when not even one lane per core fits, with the estimate's reason."""
    ticks_run, events, per_tick = _work(network, sample_counts)
    options = _options(network, neurons_per_core)
    seen: dict[tuple, tuple] = {}

    def judge(key: tuple) -> tuple:
        if key not in seen:
            plan = plan_network(network, neurons_per_core=[cap for cap, _ in key],
                                lanes=[L for _, L in key])
            est = estimate(plan, board, input_depth=input_depth,
                           double_buffer=system is not None and system.double_buffer,
                           tile_stage=system is not None and system.tile_stage)
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
    candidates = [_ordered(_Candidate(0, len(plan.cores), sum(L for _, L in key), _order(key),
                                      key, est.luts / est.luts_available,
                                      _serial(plan, ticks_run, per_tick), est.fits), narrow)
                  for key, (_, plan, est) in seen.items()]
    fitting = _safe([c for c in candidates if c.fits])
    if not fitting:
        smallest = judge(tuple(option[0] for option in options))[2]
        raise ConfigError(f"--board: {board}: no lane count fits (one lane per core: "
                          f"{'; '.join(smallest.problems)})")
    cycles = _Cycles(network, sample_counts[:CYCLE_IMAGES], system)
    timed = [c._replace(cycles=cycles(seen[c.key][1])) for c in _shortlist(fitting)]
    chosen = _pick(timed)
    bound, plan, est = seen[chosen.key]
    kept = {c.key for c in fitting}
    left_out = [c for c in candidates if c.key not in kept]
    why = _why(chosen, timed, left_out, seen, cycles)
    if narrow or board_spec(board).family == "ecp5":
        line = _narrow_line(chosen, timed, seen, narrow)
        if line is not None:
            why.insert(1, line)
    return LaneChoice([L for _, L in chosen.key], [cap for cap, _ in chosen.key], plan, est,
                      bound, len(seen), why, chosen.cycles)


class _Candidate(NamedTuple):
    """A plan as :func:`_pick` weighs it: its size first (the order in which a smaller plan
    is preferred), then its figures."""

    widest: int  # its widest core's lanes where narrow cores come first (--fmax), else 0
    cores: int
    lanes: int  # all cores' lanes together
    order: tuple
    key: tuple
    logic: float = 0.0  # estimated logic cells / the board's
    serial: float = 0.0  # the tick-serial estimate (_serial)
    fits: bool = True
    cycles: float = 0.0  # the cycle model's mean (_Cycles), on the shortlist only

    def size(self) -> tuple:
        """Smaller first: the narrower widest core where that counts (``widest``), then
        fewer cores, then fewer lanes."""
        return (self.widest, self.cores, self.lanes, self.order)


class _Cycles:
    """The cycle model's cycles per inference of a plan, mean over the sample images run
    back to back as ``verify`` runs them (:func:`~spikeforge.cosim.system_cosim.expected_run`:
    no gaps, ``out_spikes`` always ready)."""

    def __init__(self, network, sample_counts, system: SystemConfig | None):
        self.network, self.counts = network, sample_counts
        self.system = system or chosen_system(network.decision)
        self.images = len(sample_counts)

    def __call__(self, plan) -> float:
        _, timings, _ = expected_run(self.network, plan, self.counts, system=self.system)
        return float(np.mean([t.cycles for t in timings]))


def _safe(fitting: list[_Candidate]) -> list[_Candidate]:
    """The plans estimated at no more than :data:`SAFE_LOGIC` of the board's logic, or all
    of ``fitting`` where none is."""
    return [c for c in fitting if c.logic <= SAFE_LOGIC] or fitting


def _shortlist(fitting: list[_Candidate]) -> list[_Candidate]:
    """The :data:`SHORTLIST` plans of the least tick-serial estimate (on a tie the
    smallest) -- the cycle model's candidates."""
    return sorted(fitting, key=lambda c: (c.serial, c.size()))[:SHORTLIST]


def _pick(timed: list[_Candidate]) -> _Candidate:
    """The smallest plan (:meth:`_Candidate.size`) whose cycles are within :data:`GAIN`
    of the fewest: more cores or lanes only where they are more than that faster."""
    fewest = min(c.cycles for c in timed)
    return min((c for c in timed if c.cycles <= fewest * (1 + GAIN)), key=_Candidate.size)


def _ordered(candidate: _Candidate, narrow: bool) -> _Candidate:
    """``candidate`` weighed with (``narrow``) or without its widest core first."""
    return candidate._replace(widest=_widest(candidate.key) if narrow else 0)


def _widest(key: tuple) -> int:
    return max(L for _, L in key)


def _narrow_line(chosen: _Candidate, timed: list, seen: dict, narrow: bool) -> str | None:
    """``compile --fmax``'s choice (``narrow``) set against the plan the default order takes
    among the same candidates, or (not ``narrow``, an ECP5 board) the plan ``--fmax`` would
    take, if it differs: the lanes of a narrower core and its weight banks span less of
    the die, and the paths from its control to them are shorter (stop 77: MNIST-fast's
    network in four 16-lane cores placed at 128.1 MHz, in two 32-lane cores of the same
    cycles at 118.5; stop 78: in four 32-lane cores at 126.8, in two 64-lane cores, without
    the timing options, at 87.3)."""
    other = _pick([_ordered(c, not narrow) for c in timed])
    if other.key == chosen.key:
        return (f"--fmax: {_name(chosen, seen)} is also the plan of fewest cores within "
                f"{GAIN:.0%} of the fewest cycles" if narrow else None)
    slim, wide = (chosen, other) if narrow else (other, chosen)
    widths = f"its widest core {_widest(slim.key)} lanes against {_widest(wide.key)}"
    if narrow:
        return (f"--fmax: {_name(chosen, seen)} rather than {_name(other, seen)}: "
                f"{chosen.cycles:,.0f} cycles against {other.cycles:,.0f}, {widths} (the "
                f"narrowest within {GAIN:.0%} of the fewest cycles: a narrow core's lanes "
                f"and banks span less of the die)")
    return (f"--fmax would take {_name(other, seen)}: {other.cycles:,.0f} cycles, {widths}, "
            f"with the timing options (narrower cores place faster on the ECP5)")


def _order(key: tuple) -> tuple:
    """A total order on keys for the last tie-break (None, one core, sorts first)."""
    return tuple((cap or 0, L) for cap, L in key)


def _why(chosen: _Candidate, timed: list, left_out: list, seen: dict,
         cycles: _Cycles) -> list[str]:
    """The choice in words: its cycles and resources, the smaller plan it was weighed
    against, the faster plan not worth its size, and the nearest faster plans ``left_out``
    (they do not fit, or not safely: :data:`SAFE_LOGIC`), by the cycle model too."""
    bound, plan, est = seen[chosen.key]
    lines = [f"{_name(chosen, seen)}: {chosen.cycles:,.0f} cycles per inference (the cycle "
             f"model on {cycles.images} sample images; {bound:,.0f} of work on the busiest "
             f"core), {est.brams}/{est.brams_available} block RAMs, "
             f"{est.dsps}/{est.dsps_available} multipliers, about "
             f"{est.luts:,}/{est.luts_available:,} logic cells"]
    smaller = [c for c in timed if c.size() < chosen.size()]
    if smaller:
        other = min(smaller, key=lambda c: (c.cycles, c.size()))
        lines.append(f"{_name(chosen, seen)} rather than {_name(other, seen)}: "
                     f"{chosen.cycles:,.0f} cycles against {other.cycles:,.0f}")
    fastest = min(timed, key=lambda c: (c.cycles, c.size()))
    if fastest.cycles < chosen.cycles:
        what = "cores" if fastest.cores > chosen.cores else "lanes"
        lines.append(f"{_name(fastest, seen)} would take {fastest.cycles:,.0f} cycles and "
                     f"fits: under {GAIN:.0%} fewer, not worth its {what}")
    nearest = sorted((c for c in left_out if c.serial < chosen.serial),
                     key=lambda c: (-c.serial, c.size()))[:FASTER_TRIED]
    faster = [(c, cycles(seen[c.key][1])) for c in nearest]
    faster = [(c, n) for c, n in faster if n < chosen.cycles][:2]
    for c, n in faster:
        est = seen[c.key][2]
        reason = (est.problems[0].split(";")[0] if not c.fits else
                  f"estimated at {est.luts:,} of {est.luts_available:,} logic cells, above "
                  f"{SAFE_LOGIC:.0%}")
        lines.append(f"{_name(c, seen)} would take {n:,.0f} cycles but does not fit: {reason}")
    if not faster:
        lines.append("no plan with more lanes or cores is faster")
    return lines


def _name(candidate: _Candidate, seen: dict) -> str:
    return _describe(candidate.key, seen[candidate.key][1])


def choose_double_buffer(network, board: str, plan, sample_counts,
                         system_of: Callable[[DoubleBuffer], SystemConfig]
                         ) -> tuple[DoubleBuffer, str]:
    """Which cores of ``plan`` ``compile --board`` double-buffers on ``board``
    (:attr:`SystemConfig.double_buffer <spikeforge.ir.system.SystemConfig>`), and why;
    ``system_of(double_buffer)``: the settings the design would get with them. A candidate
    must fit with logic to spare (:data:`SAFE_LOGIC`) and save at least
    :data:`DOUBLE_BUFFER_GAIN` of the cycles by the cycle model, on the first
    :data:`CYCLE_IMAGES` of ``sample_counts`` (images run back to back, as ``verify`` runs
    them).

    A layer's cores at a time, the one that saves the most first, each layer only where it
    saves that share by itself: the buffers' logic must pay for itself in every layer. The
    TTFS 784-600-10's hidden cores' buffers save 11.8 % of its cycles on the ECP5, its
    output core's nothing more, for 1,643 LUTs of the estimate (stop 66); the iCE40 digits
    latency design's hidden core's save 11.1 %, every core's 11.6 % (stop 65). Off the
    :data:`DOUBLE_BUFFER_FAMILIES`, only beside the memory layout of the single-buffered
    design."""
    family = board_spec(board).family
    n = min(len(sample_counts), CYCLE_IMAGES)
    single = system_of(False)

    def cycles(double_buffer):
        return _Cycles(network, sample_counts[:n], system_of(double_buffer))(plan)

    fitting = {}  # each candidate's estimate where it fits with logic to spare

    def room(double_buffer):  # None where the candidate fits with logic to spare
        system = system_of(double_buffer)
        est = estimate(plan, board, **system_layout(system))
        if not est.fits:
            return "; ".join(est.problems)
        if est.luts > SAFE_LOGIC * est.luts_available:
            return (f"about {est.luts:,} of {est.luts_available:,} logic cells, above "
                    f"{SAFE_LOGIC:.0%}")
        if family not in DOUBLE_BUFFER_FAMILIES and any(
                getattr(system, f) != getattr(single, f) for f in _LAYOUT_FIELDS):
            return "the state memories would leave block RAM"
        fitting[double_buffer] = est
        return None

    base = cycles(False)
    candidates = [(l,) for l in range(plan.n_layers)]
    chosen, now, said = False, base, []
    while candidates:
        tried = []
        for candidate in candidates:
            why_not = room(candidate)
            if why_not is not None:
                said.append(f"{_buffered_name(candidate)}: {why_not}")
                continue
            tried.append((cycles(candidate), candidate))
        if not tried:
            break
        best_cycles, best = min(tried)
        saved = 1 - best_cycles / now
        figures = (f"{best_cycles:,.1f} against {now:,.1f} cycles per inference on {n} test "
                   f"images, {saved:.1%} fewer")
        if saved < DOUBLE_BUFFER_GAIN:
            said.append(f"{_buffered_name(best)}: {figures}, under the "
                        f"{DOUBLE_BUFFER_GAIN:.0%} that pays for their logic")
            break
        chosen, now = best, best_cycles
        said.append(f"{_buffered_name(best)}: {figures}")
        rest = [l for l in range(plan.n_layers) if l not in best]
        candidates = [tuple(sorted(best + (l,))) for l in rest]
    if chosen is False:
        return False, (f"cores single-buffered (each layer's buffers must save "
                       f"{DOUBLE_BUFFER_GAIN:.0%} by themselves; {'; '.join(said)}; "
                       f"--double-buffer to have them)")
    est = fitting[chosen]
    if len(chosen) == plan.n_layers:
        chosen = True
    return chosen, (f"{double_buffered_line(chosen)} ({'; '.join(said)}; about {est.luts:,} "
                    f"of {est.luts_available:,} logic cells; --no-double-buffer for one "
                    f"buffer)")


def double_buffered_line(double_buffer: DoubleBuffer) -> str:
    """The compiler's words for double-buffered cores: :data:`DOUBLE_BUFFERED` for every
    core, else naming the layers."""
    if double_buffer is True:
        return DOUBLE_BUFFERED
    return f"the cores of {_layers(double_buffer)} {DOUBLE_BUFFERED[len('cores '):]}"


#: the memory layout fields of SystemConfig that double-buffered cores may change
#: (:func:`~spikeforge.boards.fit.system_settings_for`: the state memories' place)
_LAYOUT_FIELDS = ("weight_banks", "state_memories")


def _buffered_name(layers: tuple[int, ...]) -> str:
    """How the compiler names a candidate of :func:`choose_double_buffer`."""
    return f"{_layers(layers)} double-buffered"


def _layers(layers) -> str:
    return f"layer{'s' if len(layers) > 1 else ''} {' and '.join(str(l) for l in layers)}"
