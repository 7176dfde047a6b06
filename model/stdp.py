"""Unsupervised learning: pair-based STDP with lateral inhibition and adaptive thresholds
(Diehl & Cook 2015), and ASP, adaptive synaptic plasticity (Panda et al. 2018), whose weights
leak toward a baseline so that the network forgets what it no longer sees.

The network is one layer of ``n_neurons`` excitatory leaky integrate-and-fire neurons fed by
the rate-coded pixels (the project's LFSR rate code, ``p = pixel / max_value * rate`` per
tick; one tick = 1 ms). Per tick, for input spikes ``s`` and weights ``w[j, n] >= 0``::

    v      = beta * v + w^T s                  (v measured from rest; beta = 1 - 1/tau_mem)
    fire   = argmax_n (v - theta_n) if that is >= threshold, else nobody
             (hard winner-take-all: the lateral inhibition of Diehl & Cook's inhibitory
             population, in its strong limit -- only the winner fires, every v is reset to 0)
    theta  += theta_plus * fire                 (adaptive threshold, homeostasis)

with a refractory period of ``refractory`` ticks after a spike (the whole layer, as the
inhibition holds it down). Learning, at a spike of neuron n (pair-based, presynaptic traces
``x_j`` that jump to 1 at an input spike and decay by ``1 - 1/tau_trace`` per tick)::

    w[:, n] += eta * (x - x_target),  clipped to [0, w_max]

and after every image each neuron's weights are normalised to sum ``w_sum`` (Diehl & Cook's
78 for 784 inputs). An image whose presentation gives fewer than ``min_spikes`` spikes is
shown again with the input rate raised by ``rate_step`` (their 32 Hz).

**ASP** adds a leak of every weight toward a baseline ``w_base`` after each image, faster for
the neurons that did not fire on it (whose weights are not being used):
``w += (w_base - w) * (leak_active if fired else leak_idle)``; the default baseline is the
uniform ``w_sum / n_inputs`` (a leak toward 0 would be undone by the normalisation).

Labels are assigned afterwards (the network never sees them while learning): each neuron
takes the class for which its mean response over the labelling images is highest;
:func:`classify` predicts the class whose neurons respond most on average.

**Deployment** (:func:`to_integer_network`): the contract has no lateral connections, so the
deployed network runs without inhibition and refractoriness, and a core shares one threshold:
each neuron's adaptive threshold ``threshold + theta_n`` is folded into its weights (the
dynamics are linear until the threshold, so scaling neuron n's weights by ``threshold /
(threshold + theta_n)`` is the same neuron with the shared threshold). A second, fixed layer
sums the spikes of each class's neurons (weight ``round(scale / neurons of the class)``,
no leak, never firing) and the decision is membrane-max: the class with the largest mean
response, as :func:`classify` reads it. Its accuracy is measured on the golden model,
not assumed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from spikeforge.compiler.quantize import quantize
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.params import Decision
from spikeforge.model.encoders import rate_encode

__all__ = ["STDPConfig", "STDPNetwork", "present", "train", "assign_labels", "classify",
           "responses", "deployed_description", "to_integer_network", "input_counts", "new_network",
           "with_config"]


@dataclass(frozen=True)
class STDPConfig:
    """Hyperparameters (Diehl & Cook 2015's values, in ticks of 1 ms, where they apply)."""

    n_neurons: int = 100
    ticks: int = 350  #: presentation of one image (350 ms)
    rate: float = 63.75  #: input rate of a white pixel, Hz
    rate_step: float = 32.0  #: raise of the input rate for a silent presentation, Hz
    min_spikes: int = 5
    tau_mem: float = 100.0
    threshold: float = 13.0  #: mV above rest (-52 - (-65))
    theta_plus: float = 0.05
    refractory: int = 5
    tau_trace: float = 20.0
    eta: float = 0.01
    x_target: float = 0.4
    w_max: float = 1.0
    w_sum: float = 78.0
    asp: bool = False
    w_base: float | None = None  #: ASP: the baseline the weights leak toward (None: uniform, w_sum / inputs)
    leak_active: float = 0.0  #: ASP: leak per image of a neuron that fired on it
    leak_idle: float = 0.01  #: ASP: leak per image of a neuron that did not

    def __post_init__(self):
        for name in ("n_neurons", "ticks", "min_spikes", "refractory"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < (1 if name in ("n_neurons", "ticks") else 0):
                raise ConfigError(f"{name}: must be a {'positive' if name in ('n_neurons', 'ticks') else 'non-negative'} integer, got {value!r}")
        for name in ("rate", "tau_mem", "threshold", "tau_trace", "w_max", "w_sum"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name}: must be positive, got {getattr(self, name)!r}")


@dataclass
class STDPNetwork:
    config: STDPConfig
    weights: np.ndarray  #: [n_inputs, n_neurons], >= 0
    theta: np.ndarray  #: [n_neurons] adaptive threshold
    labels: np.ndarray | None = None  #: [n_neurons] assigned class (-1: never responded)
    history: list = field(default_factory=list)


def new_network(n_inputs: int, config: STDPConfig, seed: int = 0) -> STDPNetwork:
    """Random initial weights (uniform, normalised to ``w_sum`` per neuron)."""
    rng = np.random.default_rng(seed)
    w = rng.uniform(0, 0.3, (n_inputs, config.n_neurons))
    w *= config.w_sum / w.sum(axis=0, keepdims=True)
    return STDPNetwork(config, w, np.zeros(config.n_neurons))


def input_counts(x: np.ndarray, max_value: int, ticks: int, rate: float, seed: int = 0):
    """The LFSR rate code at ``rate`` Hz for a white pixel, 1 ms ticks: events ``[n, ticks,
    features]`` (uint8). (The encoder's probability is ``pixel / scale`` with ``scale =
    max_value * 1000 / rate``.)"""
    scale = int(round(max_value * 1000.0 / rate))
    spikes = rate_encode(x, ticks, max_value=scale, seed=seed)
    return spikes.numpy().transpose(1, 0, 2).astype(np.uint8)


def present(net: STDPNetwork, counts: np.ndarray, learn: bool) -> np.ndarray:
    """Show one image (``counts [ticks, n_inputs]``); returns the spike count of each neuron.
    With ``learn``, applies STDP and the adaptive threshold (and changes ``net``)."""
    c = net.config
    w, theta = net.weights, net.theta
    beta, trace_decay = 1.0 - 1.0 / c.tau_mem, 1.0 - 1.0 / c.tau_trace
    v = np.zeros(c.n_neurons)
    x = np.zeros(w.shape[0])
    spikes = np.zeros(c.n_neurons, dtype=np.int64)
    refractory = 0
    for t in range(counts.shape[0]):
        active = np.flatnonzero(counts[t])
        if learn:
            x *= trace_decay
            x[active] = 1.0
        if refractory:
            refractory -= 1
            continue
        v = beta * v + w[active].sum(axis=0)
        margin = v - theta
        n = int(np.argmax(margin))
        if margin[n] >= c.threshold:
            spikes[n] += 1
            v[:] = 0.0
            refractory = c.refractory
            if learn:
                theta[n] += c.theta_plus
                w[:, n] = np.clip(w[:, n] + c.eta * (x - c.x_target), 0.0, c.w_max)
    return spikes


def _normalise(net: STDPNetwork) -> None:
    w = net.weights
    w *= net.config.w_sum / np.maximum(w.sum(axis=0, keepdims=True), 1e-12)
    np.clip(w, 0.0, net.config.w_max, out=w)


def _leak(net: STDPNetwork, fired: np.ndarray) -> None:
    # toward a *uniform* baseline: a leak toward 0 would be undone by the normalisation
    c = net.config
    base = c.w_sum / net.weights.shape[0] if c.w_base is None else c.w_base
    rate = np.where(fired > 0, c.leak_active, c.leak_idle)
    net.weights += (base - net.weights) * rate[None, :]


def train(net: STDPNetwork, x: np.ndarray, max_value: int, epochs: int = 1, seed: int = 0,
          progress=None) -> STDPNetwork:
    """Learn on images ``x [n, features]`` (labels are never seen). ``progress(i, n)`` is
    called every 100 images."""
    c = net.config
    order_rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        order = order_rng.permutation(len(x))
        for start in range(0, len(order), 100):
            batch = order[start:start + 100]
            counts = input_counts(x[batch], max_value, c.ticks, c.rate, seed=epoch * 7919 + start)
            for k, i in enumerate(batch):
                spikes, rate, shown = present(net, counts[k], learn=True), c.rate, counts[k]
                while spikes.sum() < c.min_spikes and rate < c.rate + 8 * c.rate_step:
                    rate += c.rate_step
                    shown = input_counts(x[i:i + 1], max_value, c.ticks, rate, seed=int(i))[0]
                    spikes = present(net, shown, learn=True)
                if c.asp:
                    _leak(net, spikes)
                _normalise(net)
            if progress is not None:
                progress(epoch * len(x) + start + len(batch), epochs * len(x))
    return net


def responses(net: STDPNetwork, x: np.ndarray, max_value: int, seed: int = 0) -> np.ndarray:
    """Spike counts ``[n_images, n_neurons]`` without learning (the trained network as it
    runs: inhibition, refractoriness, frozen thresholds)."""
    c = net.config
    out = np.zeros((len(x), c.n_neurons), dtype=np.int64)
    for start in range(0, len(x), 100):
        counts = input_counts(x[start:start + 100], max_value, c.ticks, c.rate, seed=seed)
        for k in range(len(counts)):
            out[start + k] = present(net, counts[k], learn=False)
    return out


def assign_labels(net: STDPNetwork, response: np.ndarray, y: np.ndarray, n_classes: int = 10):
    """Each neuron's class: where its mean response is highest (-1 if it never fired)."""
    means = np.stack([response[y == k].mean(axis=0) if np.any(y == k) else
                      np.zeros(response.shape[1]) for k in range(n_classes)])
    net.labels = np.where(means.max(axis=0) > 0, means.argmax(axis=0), -1)
    return net.labels


def classify(net: STDPNetwork, response: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """The class whose assigned neurons respond most on average (ties: lowest class)."""
    if net.labels is None:
        raise ConfigError("labels: assign_labels() first")
    votes = np.zeros((response.shape[0], n_classes))
    for k in range(n_classes):
        members = net.labels == k
        if members.any():
            votes[:, k] = response[:, members].mean(axis=1)
    return votes.argmax(axis=1)


def deployed_description(net: STDPNetwork, vote_scale: int = 60, n_classes: int = 10) -> dict:
    """The float network that is deployed (see the module docstring): thresholds folded into
    the weights, a fixed class-vote layer, membrane-max decision."""
    if net.labels is None:
        raise ConfigError("labels: assign_labels() first")
    c = net.config
    folded = net.weights * (c.threshold / (c.threshold + net.theta))[None, :]
    vote = np.zeros((n_classes, c.n_neurons))
    for k in range(n_classes):
        members = np.flatnonzero(net.labels == k)
        if members.size:
            vote[k, members] = max(1, round(vote_scale / members.size))
    description = {"layers": [
        {"weight": folded.T, "alpha": 0.0, "beta": 1.0 - 1.0 / c.tau_mem,
         "threshold": c.threshold, "reset": "zero"},
        # never fires: above the most the class sums can reach in the ticks run
        {"weight": vote, "alpha": 0.0, "beta": 1.0,
         "threshold": float(vote.sum(axis=1).max() * (c.ticks + 2) + 1), "reset": "zero"}],
        "decision": Decision.MEMBRANE_MAX.value}
    return description


def to_integer_network(net: STDPNetwork, weight_bits: int = 8, vote_scale: int = 60,
                       n_classes: int = 10):
    """The deployable integer network: :func:`deployed_description` quantized for the
    presentation's ticks plus one (the vote layer's delay)."""
    description = deployed_description(net, vote_scale, n_classes)
    return quantize(description, weight_bits=weight_bits, ticks=net.config.ticks + 1).network


def with_config(net: STDPNetwork, **changes) -> STDPNetwork:
    """A copy of ``net`` whose configuration has ``changes`` (e.g. ``asp=True``)."""
    return STDPNetwork(replace(net.config, **changes), net.weights.copy(), net.theta.copy(),
                       None if net.labels is None else net.labels.copy(), list(net.history))
