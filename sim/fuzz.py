"""Fuzzing the golden model against the scalar reference: random networks and inputs, every
spike, state and decision compared, failures shrunk to a small reproduction.

A case (:func:`random_case`) is a random 1..4-layer network and a batch of input event
counts, drawn to reach the corners of the contract that ordinary networks rarely visit:

* widths from 2..16-bit weights and 4..32-bit state (``current_bits``, ``membrane_bits``);
* **saturating** weights (a share of them at the extremes of their range) and thresholds
  near the top of the membrane range, so that ``i`` and ``v`` saturate;
* **negative** states (layers whose weights are mostly negative), so that the decay's
  rounding toward zero is exercised on both signs;
* **dense bursts**: an input may bring several events in one tick, up to the layer's
  ``max_events_per_tick``;
* **ties** in every decision mode: the output layer may get identical weight columns, so
  that several output neurons spike in the same tick or end with the same membrane;
* every reset mode, ``fire_once``, adaptive thresholds, every decay (including none).

:func:`check_case` runs the golden model (:func:`spikeforge.sim.network.run_network`) and
the scalar reference (:class:`spikeforge.sim.reference.ScalarNeuron`, one Python object per
neuron, the contract transcribed line by line) with the contract's network timing (a spike of
tick t is an event of the next layer in tick t + 1) and reports the first difference: layer,
image, tick, neuron and what differs. :func:`shrink` reduces a failing case (fewer images,
ticks, events) while it still fails. :func:`campaign` runs ``cases`` of them from a seed.

What is not fuzzed here, and why: inputs over ``max_events_per_tick`` (the golden model
refuses them: the contract leaves the accumulator's overflow to the hardware's error flag);
timing (the cycle model against the RTL is the co-simulation's business).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass

import numpy as np

from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.ir.params import MAX_STATE_BITS, Decision, NeuronParams, Reset, signed_range
from spikeforge.sim.network import decide, run_network
from spikeforge.sim.reference import ScalarNeuron

__all__ = ["Case", "random_case", "reference_run", "check_case", "shrink", "campaign",
           "CampaignResult"]


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


def _params(rng: random.Random) -> NeuronParams:
    wb = rng.choice([2, 3, 4, 6, 8, 8, 8, 12, 16])
    cb = rng.randint(max(wb, 4), min(MAX_STATE_BITS, wb + 12))
    mb = rng.randint(4, min(MAX_STATE_BITS, cb + 6))
    db = rng.choice([1, 4, 8, 12, 16])
    one = 1 << db
    decay = lambda: rng.choice([one, 0, rng.randint(0, one), one - 1])  # noqa: E731
    top = signed_range(mb)[1]
    threshold = rng.choice([1, rng.randint(1, max(1, top // 4)), rng.randint(1, top), top])
    adaptive = rng.random() < 0.25
    ab = rng.randint(1, 12)
    return NeuronParams(weight_bits=wb, current_bits=cb, membrane_bits=mb, decay_bits=db,
                        alpha=decay(), beta=decay(), threshold=threshold,
                        reset=rng.choice(list(Reset)), fire_once=rng.random() < 0.25,
                        adaptive=adaptive, adapt_bits=ab, rho=decay() if adaptive else one,
                        adapt_step=rng.randint(0, (1 << ab) - 1) if adaptive else 0)


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
    layers = []
    for l in range(n_layers):
        params = _params(rng)
        w = _weights(rng, nrng, sizes[l], sizes[l + 1], params, l == n_layers - 1)
        # the first layer may take bursts: several events per input and tick
        bound = sizes[l] * (rng.choice([1, 1, 2, 3]) if l == 0 else 1)
        layers.append(IntegerLayer(w, params, bound))
    network = IntegerNetwork(layers, rng.choice(list(Decision)))
    images, ticks = rng.randint(1, max_images), rng.randint(1, max_ticks)
    p = rng.choice([0.05, 0.3, 0.7, 1.0])
    counts = (nrng.random((images, ticks, sizes[0])) < p).astype(np.int64)
    burst = layers[0].max_events_per_tick // sizes[0]
    if burst > 1:
        counts *= nrng.integers(1, burst + 1, counts.shape)
    return Case(network, counts, seed)


def reference_run(network: IntegerNetwork, counts: np.ndarray):
    """The scalar reference of a whole network: ``(spikes[l] [images, ticks, n_l] bool,
    states[l] [images, ticks, n_l, 4] (i, v, a, fired), decision, decision_tick)``."""
    images, ticks, _ = counts.shape
    spikes = [np.zeros((images, ticks, layer.n_neurons), dtype=bool) for layer in network.layers]
    states = [np.zeros((images, ticks, layer.n_neurons, 4), dtype=np.int64)
              for layer in network.layers]
    for b in range(images):
        neurons = [[ScalarNeuron(layer.params) for _ in range(layer.n_neurons)]
                   for layer in network.layers]
        for t in range(ticks):
            for l, layer in enumerate(network.layers):
                events = counts[b, t] if l == 0 else (
                    spikes[l - 1][b, t - 1].astype(np.int64) if t else np.zeros(layer.n_inputs, int))
                for j, count in enumerate(events):
                    for _ in range(int(count)):
                        for n, neuron in enumerate(neurons[l]):
                            neuron.receive(int(layer.weights[j, n]))
            for l in range(len(network.layers)):
                for n, neuron in enumerate(neurons[l]):
                    spikes[l][b, t, n] = neuron.update()
                    states[l][b, t, n] = (neuron.i, neuron.v, neuron.a, int(neuron.fired))
    final_v = states[-1][:, -1, :, 1]
    decision, decision_tick = decide(spikes[-1], final_v, network.decision)
    return spikes, states, decision, decision_tick


def check_case(case: Case, golden=run_network) -> str | None:
    """None if the golden model and the scalar reference agree on every spike, the output
    layer's membrane in every tick and the decision; else the first difference."""
    trace = golden(case.network, case.counts)
    spikes, states, decision, decision_tick = reference_run(case.network, case.counts)
    for l in range(len(case.network.layers)):
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
        return (f"layer {len(case.network.layers) - 1} (output), image {b}, tick {t}, neuron {n}: "
                f"membrane golden {int(trace.output_v[b, t, n])}, reference "
                f"{int(states[-1][b, t, n, 1])}")
    for b in range(len(decision)):
        if (trace.decision[b], trace.decision_tick[b]) != (decision[b], decision_tick[b]):
            return (f"decision of image {b}: golden class {int(trace.decision[b])} at tick "
                    f"{int(trace.decision_tick[b])}, reference class {int(decision[b])} at tick "
                    f"{int(decision_tick[b])}")
    return None


def shrink(case: Case, golden=run_network) -> Case:
    """A smaller case that still fails: one image, the shortest prefix of ticks, as few
    input events as possible (greedy, each step kept only if the case still fails)."""
    def fails(c):
        return check_case(c, golden) is not None

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
    for index in np.argwhere(case.counts > 0):  # drop input events one by one
        counts = case.counts.copy()
        counts[tuple(index)] = 0
        fewer = Case(case.network, counts, case.seed)
        if fails(fewer):
            case = fewer
    return case


@dataclass
class CampaignResult:
    cases: int
    seconds: float
    failures: list  #: (seed, first difference, shrunk Case)
    covered: dict  #: how often each corner was reached

    def summary(self) -> str:
        corners = ", ".join(f"{k} {v}" for k, v in self.covered.items())
        return (f"{self.cases} cases in {self.seconds:.1f} s, {len(self.failures)} failing; "
                f"reached: {corners}")


def _coverage(case: Case, covered: dict) -> None:
    trace = run_network(case.network, case.counts)
    net = case.network
    hits = {
        "saturated v": any((np.abs(s) >= signed_range(l.params.membrane_bits)[1]).any()
                           for s, l in ((trace.output_v, net.layers[-1]),)),
        "negative v": bool((trace.output_v < 0).any()),
        "bursts": bool((case.counts > 1).any()),
        "ties": _tie(trace, net.decision),
        "fire_once": any(l.params.fire_once for l in net.layers),
        "adaptive": any(l.params.adaptive for l in net.layers),
    }
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
             progress=None) -> CampaignResult:
    """``cases`` random cases from seeds ``seed, seed + 1, ...`` (stopping early after
    ``budget_s`` seconds); each failure is shrunk. ``progress(done, total)`` every 100."""
    t0 = time.perf_counter()
    failures, covered, done = [], {}, 0
    for k in range(cases):
        case = random_case(seed + k)
        problem = check_case(case, golden)
        if problem is not None:
            small = shrink(case, golden)
            failures.append((seed + k, check_case(small, golden) or problem, small))
        _coverage(case, covered)
        done += 1
        if progress is not None and done % 100 == 0:
            progress(done, cases)
        if budget_s is not None and time.perf_counter() - t0 > budget_s:
            break
    return CampaignResult(done, time.perf_counter() - t0, failures, covered)


def write_reproduction(case: Case, path) -> None:
    """The case as JSON (``Case.from_dict`` reads it back)."""
    with open(path, "w") as f:
        json.dump(case.to_dict(), f)
