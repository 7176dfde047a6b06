"""Fuzzing the golden model against the scalar reference and the cycle model: random networks
and inputs, every spike, state, decision and error flag compared, failures shrunk to a small
reproduction.

A case (:func:`random_case`) is a random 1..4-layer network and a batch of input event
counts, drawn to reach the corners of the contract that ordinary networks rarely visit:

* widths from 2..16-bit weights and 4..32-bit state (``current_bits``, ``membrane_bits``);
* **saturating** weights (a share of them at the extremes of their range) and thresholds
  near the top of the membrane range, so that ``i`` and ``v`` saturate;
* **negative** states (layers whose weights are mostly negative), so that the decay's
  rounding toward zero is exercised on both signs;
* **dense bursts**: an input may bring several events in one tick, up to the layer's
  ``max_events_per_tick`` -- and **overflow bursts** past it: a first layer whose bound is
  below what the input brings, or a later layer whose bound is below its fan-in, so that
  the accumulator wraps and the error flag is raised (the contract's overflow);
* **ties** in every decision mode: the output layer may get identical weight columns, so
  that several output neurons spike in the same tick or end with the same membrane;
* every reset mode, ``fire_once``, adaptive thresholds, every decay (including none).

:func:`check_case` runs the golden model (:func:`spikeforge.sim.network.run_network`) and
the scalar reference (:class:`spikeforge.sim.reference.ScalarNeuron`, one Python object per
neuron, the contract transcribed line by line, each event's sum wrapped in the
accumulator's width) with the contract's network timing (a spike of tick t is an event of
the next layer in tick t + 1) and reports the first difference: layer, image, tick, neuron
and what differs, or the error flag (:attr:`~spikeforge.sim.network.NetworkTrace.error`
against the contract's rule, counted here literally). :func:`check_cycle_model` adds the
system cycle model (:func:`~spikeforge.sim.system_cycle.predict_run`) on a plan of the
network with random input gaps and output stalls: its decision, decision tick, ticks run
and every spike at the monitor and output ports against the golden trace.
:func:`shrink` reduces a failing case (fewer images, ticks, events) while it still fails.
:func:`campaign` runs ``cases`` of them from a seed; the plan comes from the caller
(``plan_for``: the compiler is a layer above this one).

What is not fuzzed here: the RTL (``spikeforge fuzz --rtl``, :mod:`spikeforge.cosim.fuzz_rtl`).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, replace
from typing import Callable, NamedTuple

import numpy as np

from spikeforge.ir.network import NO_CLASS, IntegerLayer, IntegerNetwork
from spikeforge.ir.params import (
    MAX_STATE_BITS,
    Decision,
    NeuronParams,
    Reset,
    shifted_weights,
    signed_range,
)
from spikeforge.ir.system import SystemConfig
from spikeforge.sim.network import ERROR_UNDETERMINED, decide, run_network
from spikeforge.sim.reference import ScalarNeuron
from spikeforge.sim.system_cycle import InputSchedule, predict_run, ticks_to_run

__all__ = ["Case", "random_case", "random_counts", "reference_run", "ReferenceRun",
           "check_case", "check_cycle_model", "random_schedules", "stall_pattern", "shrink",
           "campaign", "CampaignResult", "write_reproduction"]


@dataclass
class Case:
    network: IntegerNetwork
    counts: np.ndarray  #: [images, ticks, n_inputs] event counts
    seed: int

    def to_dict(self) -> dict:
        return {"seed": self.seed, "decision": self.network.decision.value,
                "layers": [{"weights": layer.weights.tolist(), "params": layer.params.to_dict(),
                            "max_events_per_tick": layer.max_events_per_tick}
                           for layer in self.network.layers],
                "counts": self.counts.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "Case":
        layers = [IntegerLayer(np.array(x["weights"], dtype=np.int64),
                               NeuronParams.from_dict(x["params"]), x["max_events_per_tick"])
                  for x in d["layers"]]
        return cls(IntegerNetwork(layers, d["decision"]), np.array(d["counts"], dtype=np.int64),
                   d["seed"])


def _params(rng: random.Random, narrow: bool = False) -> NeuronParams:
    """Random parameters; ``narrow``: a current only a little wider than the weights, so
    that an overflowing tick wraps the accumulator with a few dozen events."""
    wb = rng.choice([2, 3, 4, 6, 8, 8, 8, 12, 16])
    cb = rng.randint(max(wb, 4), min(MAX_STATE_BITS, wb + (2 if narrow else 12)))
    mb = rng.randint(4, min(MAX_STATE_BITS, cb + 6))
    db = rng.choice([1, 4, 8, 12, 16])
    one = 1 << db
    decay = lambda: rng.choice([one, 0, rng.randint(0, one), one - 1])  # noqa: E731
    top = signed_range(mb)[1]
    threshold = rng.choice([1, rng.randint(1, max(1, top // 4)), rng.randint(1, top), top])
    adaptive = rng.random() < 0.25
    ab = rng.randint(1, 12)
    params = NeuronParams(weight_bits=wb, current_bits=cb, membrane_bits=mb, decay_bits=db,
                          alpha=decay(), beta=decay(), threshold=threshold,
                          reset=rng.choice(list(Reset)), fire_once=rng.random() < 0.25,
                          adaptive=adaptive, adapt_bits=ab, rho=decay() if adaptive else one,
                          adapt_step=rng.randint(0, (1 << ab) - 1) if adaptive else 0)
    # the shift from a generator of its own, seeded by the draws above: every other draw of
    # a seed, and so the cases that tests pin by seed, stay what they were before it
    shift = random.Random(repr(params)).choice([0, 0, min(1, cb - wb), cb - wb])
    return replace(params, weight_shift=shift)


def _weights(rng: random.Random, nrng, n_in: int, n_out: int, params: NeuronParams, last: bool):
    lo, hi = signed_range(params.weight_bits)
    style = rng.choice(["positive", "negative", "mixed", "extreme"])
    if style == "positive":
        w = nrng.integers(lo // 4, hi + 1, (n_in, n_out))
    elif style == "negative":
        w = nrng.integers(lo, hi // 4 + 1, (n_in, n_out))
    elif style == "mixed":
        w = nrng.integers(lo, hi + 1, (n_in, n_out))
    else:  # a share at the extremes of the range: saturation
        w = nrng.choice([lo, hi, hi, 0, 1, -1], (n_in, n_out))
    if last and n_out > 1 and rng.random() < 0.4:  # ties in the decision
        k = rng.randrange(1, n_out)
        w[:, k] = w[:, 0]
    return w


def random_case(seed: int, max_size: int = 12, max_ticks: int = 12, max_images: int = 3) -> Case:
    """One random case (see the module docstring); the same seed gives the same case."""
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    n_layers = rng.randint(1, 4)
    sizes = [rng.randint(1, max_size) for _ in range(n_layers + 1)]
    overflow = rng.random() < 0.3  # bounds below what the input or a layer can bring
    layers = []
    for l in range(n_layers):
        params = _params(rng, overflow and rng.random() < 0.5)
        w = _weights(rng, nrng, sizes[l], sizes[l + 1], params, l == n_layers - 1)
        # the first layer may take bursts: several events per input and tick
        bound = sizes[l] * (rng.choice([1, 1, 2, 3]) if l == 0 else 1)
        if overflow and (l == 0 or rng.random() < 0.5):
            bound = rng.randint(1, max(1, sizes[l] // 2))
        layers.append(IntegerLayer(w, params, bound))
    network = IntegerNetwork(layers, rng.choice(list(Decision)))
    images, ticks = rng.randint(1, max_images), rng.randint(1, max_ticks)
    return Case(network, random_counts(nrng, network, images, ticks, overflow), seed)


def random_counts(nrng, network: IntegerNetwork, images: int, ticks: int,
                  overflow: bool = False) -> np.ndarray:
    """``[images, ticks, n_inputs]`` event counts for ``network``: each input active with a
    random density, in bursts up to the first layer's bound; with ``overflow``, some ticks
    are dense bursts past it (up to five events per input and tick)."""
    n_inputs = network.n_inputs
    bound = network.layers[0].max_events_per_tick
    p = nrng.choice([0.05, 0.3, 0.7, 1.0])
    counts = (nrng.random((images, ticks, n_inputs)) < p).astype(np.int64)
    burst = bound // n_inputs
    if burst > 1:
        counts *= nrng.integers(1, burst + 1, counts.shape)
    if overflow:  # a few ticks of every image flooded
        flood = nrng.random((images, ticks, 1)) < 0.3
        counts = np.where(flood, nrng.integers(1, 6, counts.shape), counts)
    return counts


class ReferenceRun(NamedTuple):
    """The scalar reference of a whole network: ``spikes[l]`` ``[images, ticks, n_l]`` bool,
    ``states[l]`` ``[images, ticks, n_l, 4]`` (i, v, a, fired), ``decision``,
    ``decision_tick``, ``error`` (per image: 1, 0 or -1 undetermined, the contract's rule
    counted literally) and ``wrapped`` (some accumulator sum did not fit its width)."""

    spikes: list
    states: list
    decision: np.ndarray
    decision_tick: np.ndarray
    error: list
    wrapped: bool


def reference_run(network: IntegerNetwork, counts: np.ndarray) -> ReferenceRun:
    """The scalar reference of a whole network (:class:`ReferenceRun`)."""
    images, ticks, _ = counts.shape
    spikes = [np.zeros((images, ticks, layer.n_neurons), dtype=bool) for layer in network.layers]
    states = [np.zeros((images, ticks, layer.n_neurons, 4), dtype=np.int64)
              for layer in network.layers]
    wrapped = False
    added = [shifted_weights(layer.weights, layer.params) for layer in network.layers]
    for b in range(images):
        neurons = [[ScalarNeuron(layer.params, layer.accumulator_bits)
                    for _ in range(layer.n_neurons)] for layer in network.layers]
        for t in range(ticks):
            for l, layer in enumerate(network.layers):
                events = counts[b, t] if l == 0 else (
                    spikes[l - 1][b, t - 1].astype(np.int64) if t else np.zeros(layer.n_inputs, int))
                for j, count in enumerate(events):
                    for _ in range(int(count)):
                        for n, neuron in enumerate(neurons[l]):
                            neuron.receive(int(added[l][j, n]))
            for l in range(len(network.layers)):
                for n, neuron in enumerate(neurons[l]):
                    spikes[l][b, t, n] = neuron.update()
                    states[l][b, t, n] = (neuron.i, neuron.v, neuron.a, int(neuron.fired))
        wrapped |= any(n.wrapped for layer in neurons for n in layer)
    final_v = states[-1][:, -1, :, 1]
    decision, decision_tick = decide(spikes[-1], final_v, network.decision)
    error = [_reference_error(network, counts[b], [s[b] for s in spikes], int(decision[b]),
                              int(decision_tick[b])) for b in range(images)]
    return ReferenceRun(spikes, states, decision, decision_tick, error, wrapped)


def _reference_error(network: IntegerNetwork, counts, spikes, decision: int,
                     decision_tick: int) -> int:
    """The error flag of one inference by the contract's words: a core of layer 0 takes a
    tick's input in every tick run; a core of layer l >= 1 takes layer l - 1's spikes of
    every tick run, the last one included -- but those of a FIRST_SPIKE inference's
    decision tick only if they come before the stop (undetermined)."""
    run = decision_tick + 1
    stopped = network.decision is Decision.FIRST_SPIKE and decision != NO_CLASS
    definite = racing = False
    for t in range(run):
        if sum(int(c) for c in counts[t]) > network.layers[0].max_events_per_tick:
            definite = True
    for l in range(1, len(network.layers)):
        for t in range(run):  # layer l - 1's spikes of tick t: layer l's events of tick t + 1
            if int(spikes[l - 1][t].sum()) > network.layers[l].max_events_per_tick:
                if stopped and t == run - 1:
                    racing = True
                else:
                    definite = True
    return 1 if definite else (ERROR_UNDETERMINED if racing else 0)


def check_case(case: Case, golden=run_network) -> str | None:
    """None if the golden model and the scalar reference agree on every spike, the output
    layer's membrane in every tick, the decision and the error flag; else the first
    difference."""
    return _compare(golden(case.network, case.counts), reference_run(case.network, case.counts))


def _compare(trace, ref: ReferenceRun) -> str | None:
    """:func:`check_case` on a golden trace and the reference's run."""
    spikes, states = ref.spikes, ref.states
    for l in range(len(spikes)):
        diff = np.argwhere(trace.spikes[l] != spikes[l])
        if diff.size:
            b, t, n = (int(x) for x in diff[0])
            return (f"layer {l}, image {b}, tick {t}, neuron {n}: golden "
                    f"{'spikes' if trace.spikes[l][b, t, n] else 'is silent'}, reference "
                    f"{'spikes' if spikes[l][b, t, n] else 'is silent'} (reference state i, v, "
                    f"a, fired = {tuple(int(x) for x in states[l][b, t, n])})")
    diff = np.argwhere(trace.output_v != states[-1][..., 1])
    if diff.size:
        b, t, n = (int(x) for x in diff[0])
        return (f"layer {len(spikes) - 1} (output), image {b}, tick {t}, neuron {n}: "
                f"membrane golden {int(trace.output_v[b, t, n])}, reference "
                f"{int(states[-1][b, t, n, 1])}")
    for b in range(len(ref.decision)):
        if (trace.decision[b], trace.decision_tick[b]) != (ref.decision[b], ref.decision_tick[b]):
            return (f"decision of image {b}: golden class {int(trace.decision[b])} at tick "
                    f"{int(trace.decision_tick[b])}, reference class {int(ref.decision[b])} at "
                    f"tick {int(ref.decision_tick[b])}")
    error = trace.error.tolist()
    for b, (got, want) in enumerate(zip(error, ref.error)):
        if got != want:
            return f"error flag of image {b}: golden {got}, reference {want}"
    return None


def stall_pattern(seed: int, p: float) -> Callable[[int], bool]:
    """``out_spikes.ready`` of cycle c: high with probability ``p`` (a hash of seed and
    cycle; always when ``p >= 1``)."""
    if p >= 1.0:
        return lambda cycle: True
    threshold = int(p * (1 << 32))

    def ready(cycle: int) -> bool:
        x = (cycle * 0x9E3779B1 + seed * 0x85EBCA77 + 0x165667B1) & 0xFFFFFFFF
        x = ((x ^ (x >> 15)) * 0x2C1B3C6D) & 0xFFFFFFFF
        return ((x ^ (x >> 12)) * 0x297A2D39 & 0xFFFFFFFF) < threshold
    return ready


def random_schedules(counts: np.ndarray, rng: random.Random, p_gap: float) -> list[InputSchedule]:
    """Every image's input in a random order with random gaps (probability ``p_gap``)."""
    out = []
    for b in range(counts.shape[0]):
        events, gaps, markers = [], [], []
        for t in range(counts.shape[1]):
            row = [int(j) for j in np.repeat(np.arange(counts.shape[2]), counts[b, t])]
            rng.shuffle(row)
            events.append(row)
            gaps.append([rng.randint(1, 3) if rng.random() < p_gap else 0 for _ in row])
            markers.append(rng.randint(1, 3) if rng.random() < p_gap else 0)
        out.append(InputSchedule(events, gaps, markers))
    return out


def check_cycle_model(case: Case, plan, system: SystemConfig, rng: random.Random) -> str | None:
    """The system cycle model on ``plan`` (random input gaps, output stalls, start gaps)
    against the golden trace: per image the decision, decision tick and ticks run, and the
    spikes at every monitor port and at ``out_spikes`` -- all of each tick run, except that
    a FIRST_SPIKE inference's decision tick ends at its deciding spike (only spikes of the
    golden trace may come before it). None, or the first difference."""
    network, counts = case.network, case.counts
    n_ticks = counts.shape[1]
    trace = run_network(network, counts, early_exit=True)
    p_gap, p_ready = rng.choice([0.0, 0.3]), rng.choice([1.0, 0.7, 0.3])
    timings = predict_run(plan, trace, random_schedules(trace.input_counts, rng, p_gap), n_ticks,
                          system=system, out_ready=stall_pattern(rng.randrange(1 << 16), p_ready),
                          start_cycle=1, start_gaps=[rng.randint(0, 3) for _ in range(len(counts))])
    for b, timing in enumerate(timings):
        run = ticks_to_run(trace, b, n_ticks)
        got = (timing.decision, timing.decision_tick, timing.ticks_run)
        want = (int(trace.decision[b]), int(trace.decision_tick[b]), run)
        if got != want:
            return (f"image {b}: cycle model class, decision tick, ticks run {got}, golden "
                    f"{want}")
        ports = [(f"monitor (layer {l})", l, timing.monitor_events[l])
                 for l in range(len(trace.spikes))]
        ports.append(("out_spikes", len(trace.spikes) - 1, timing.out_events))
        for name, l, events in ports:
            golden = {(int(t), int(n)) for t, n in np.argwhere(trace.spikes[l][b, :run])}
            seen = [(int(t), int(n)) for n, t, _ in events]
            cut = timing.stop_cycle >= 0  # stopped inside the decision tick's update phase
            full = {e for e in golden if e[0] < run - 1 or not cut}
            if len(seen) != len(set(seen)) or not full <= set(seen) <= golden:
                missing, extra = sorted(full - set(seen)), sorted(set(seen) - golden)
                return (f"image {b}: {name} (tick, neuron) of the cycle model: missing "
                        f"{missing[:3]}, not golden {extra[:3]}, repeated "
                        f"{len(seen) - len(set(seen))}")
    return None


def shrink(case: Case, golden=run_network, check=None) -> Case:
    """A smaller case that still fails: one image, the shortest prefix of ticks, as few
    input events as possible (greedy, each step kept only if the case still fails).
    ``check(case)``: what fails (default :func:`check_case` with ``golden``)."""
    def fails(c):
        return (check(c) if check is not None else check_case(c, golden)) is not None

    for b in range(case.counts.shape[0]):  # the first failing image alone
        single = Case(case.network, case.counts[b:b + 1], case.seed)
        if fails(single):
            case = single
            break
    for ticks in range(1, case.counts.shape[1] + 1):  # the shortest failing prefix
        shorter = Case(case.network, case.counts[:, :ticks], case.seed)
        if fails(shorter):
            case = shorter
            break
    for index in np.argwhere(case.counts > 0):  # fewer input events, one at a time
        while case.counts[tuple(index)] > 0:
            counts = case.counts.copy()
            counts[tuple(index)] -= 1
            fewer = Case(case.network, counts, case.seed)
            if not fails(fewer):
                break
            case = fewer
    return case


@dataclass
class CampaignResult:
    cases: int
    seconds: float
    failures: list  #: (seed, first difference, shrunk Case)
    covered: dict  #: how often each corner was reached
    cycle_cases: int = 0  #: cases also checked against the cycle model

    def summary(self) -> str:
        corners = ", ".join(f"{k} {v}" for k, v in self.covered.items())
        cycle = f" ({self.cycle_cases} also against the cycle model)" if self.cycle_cases else ""
        return (f"{self.cases} cases{cycle} in {self.seconds:.1f} s, {len(self.failures)} "
                f"failing; reached: {corners}")


def _coverage(case: Case, covered: dict, wrapped: bool) -> None:
    trace = run_network(case.network, case.counts)
    net = case.network
    over = trace.overflow()
    error = trace.error
    hits = {
        "saturated v": any((np.abs(s) >= signed_range(l.params.membrane_bits)[1]).any()
                           for s, l in ((trace.output_v, net.layers[-1]),)),
        "negative v": bool((trace.output_v < 0).any()),
        "bursts": bool((case.counts > 1).any()),
        "input overflow": bool(over[:, 0].any()),
        "hidden overflow": bool(over[:, 1:].any()),
        "wrapped accumulator": wrapped,
        "error flag": bool((error == 1).any()),
        "error undetermined": bool((error == ERROR_UNDETERMINED).any()),
        "ties": _tie(trace, net.decision),
        "fire_once": any(l.params.fire_once for l in net.layers),
        "adaptive": any(l.params.adaptive for l in net.layers),
    }
    for mode in Decision:
        hits[f"ties {mode.value}"] = net.decision is mode and hits["ties"]
    for key, hit in hits.items():
        covered[key] = covered.get(key, 0) + int(hit)


def _tie(trace, mode: Decision) -> bool:
    if mode is Decision.FIRST_SPIKE:
        first = trace.spikes[-1][np.arange(len(trace.decision)), trace.decision_tick]
        return bool((first.sum(axis=1) > 1).any())
    values = trace.spikes[-1].sum(axis=1) if mode is Decision.SPIKE_COUNT else trace.output_v[:, -1]
    top = values.max(axis=1, keepdims=True)
    return bool(((values == top).sum(axis=1) > 1).any())


def campaign(seed: int, cases: int, golden=run_network, budget_s: float | None = None,
             progress=None, plan_for=None) -> CampaignResult:
    """``cases`` random cases from seeds ``seed, seed + 1, ...`` (stopping early after
    ``budget_s`` seconds); each failure is shrunk. ``progress(done, total)`` every 100.
    ``plan_for(network, rng)`` -> ``(plan, SystemConfig)``: also check every case against
    the system cycle model on that plan (:func:`check_cycle_model`)."""
    t0 = time.perf_counter()
    failures, covered, done = [], {}, 0
    for k in range(cases):
        case = random_case(seed + k)
        ref = reference_run(case.network, case.counts)
        problem = _compare(golden(case.network, case.counts), ref)
        check = None
        if problem is None and plan_for is not None:
            rng = random.Random(seed + k)
            plan, system = plan_for(case.network, rng)
            state = rng.getstate()

            def check(c, plan=plan, system=system, state=state):
                again = random.Random()
                again.setstate(state)
                return check_cycle_model(c, plan, system, again)
            problem = check(case)
        if problem is not None:
            small = shrink(case, golden, check)
            failures.append((seed + k, (check(small) if check else check_case(small, golden))
                             or problem, small))
        _coverage(case, covered, ref.wrapped)
        done += 1
        if progress is not None and done % 100 == 0:
            progress(done, cases)
        if budget_s is not None and time.perf_counter() - t0 > budget_s:
            break
    return CampaignResult(done, time.perf_counter() - t0, failures, covered,
                          done if plan_for is not None else 0)


def write_reproduction(case: Case, path) -> None:
    """The case as JSON (``Case.from_dict`` reads it back)."""
    with open(path, "w") as f:
        json.dump(case.to_dict(), f)
