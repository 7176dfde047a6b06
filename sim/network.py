"""Golden model of a multi-layer network of the arithmetic contract.

A network (:class:`~spikeforge.ir.network.IntegerNetwork`) is a chain of fully connected layers,
each a population of contract neurons (:class:`~spikeforge.ir.params.NeuronParams`) with integer weights
``weights[j, n]`` from presynaptic input ``j`` to neuron ``n``. Timing follows the contract:

* layer 0 receives the external input events of tick ``t`` in the event phase of tick ``t``;
* a spike of layer ``l`` in the update phase of tick ``t`` is an input event of layer
  ``l + 1`` in tick ``t + 1`` (one tick of delay per layer), so the output layer of an
  ``L``-layer network first reacts to input of tick 0 in tick ``L - 1``.

The arithmetic is not re-implemented here: the event phase is the exact sum of the weights of
this tick's events (a matrix product, computed exactly), and the update phase is
:func:`spikeforge.sim.golden.update_phase`. Everything is vectorised over the batch with
numpy ``int64``.

Decisions (:class:`~spikeforge.ir.params.Decision`) are taken from the output (last)
layer as the contract says; ``decision_tick`` is the tick at the end of which the decision is
known (the early-exit tick of a first-spike network).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikeforge.ir.errors import ConfigError
from spikeforge.ir.network import NO_CLASS, IntegerLayer, IntegerNetwork
from spikeforge.ir.params import Decision
from spikeforge.sim.golden import CoreState, update_phase


@dataclass
class NetworkTrace:
    """What a network did for a batch of inferences.

    * ``spikes[l]`` -- ``[batch, ticks, n_neurons of layer l]`` bool, spikes emitted by layer
      ``l`` in the update phase of each tick;
    * ``input_counts`` -- ``[batch, ticks, n_inputs]`` the external events actually delivered;
    * ``output_v`` -- ``[batch, ticks, n_out]`` membrane of the output layer at the end of each
      tick (``output_v[:, -1]`` is what ``MEMBRANE_MAX`` reads);
    * ``decision`` -- ``[batch]`` class (``NO_CLASS`` = -1 for a first-spike inference without
      any output spike);
    * ``decision_tick`` -- ``[batch]`` the tick at the end of which the decision is known:
      for ``FIRST_SPIKE`` the tick of the first output spike (the early-exit tick), and
      ``ticks - 1`` when no output neuron spiked; for ``SPIKE_COUNT`` and ``MEMBRANE_MAX``
      always ``ticks - 1``.
    """

    spikes: list[np.ndarray]
    input_counts: np.ndarray
    output_v: np.ndarray
    decision: np.ndarray
    decision_tick: np.ndarray
    decision_mode: Decision
    layer_sizes: list[tuple[int, int]]  # (n_inputs, n_neurons) per layer

    @property
    def ticks(self) -> int:
        return int(self.input_counts.shape[1])

    def layer_input_counts(self, layer: int) -> np.ndarray:
        """``[batch, ticks, n_inputs]`` input events of ``layer`` per tick (the external input
        for layer 0; the previous layer's spikes, delayed by one tick, otherwise)."""
        if layer == 0:
            return self.input_counts
        previous = self.spikes[layer - 1]
        delayed = np.zeros(previous.shape, dtype=np.int64)
        delayed[:, 1:] = previous[:, :-1]
        return delayed

    def statistics(self, until_decision: bool = True) -> "NetworkStatistics":
        """Work done per sample, counting ticks ``0..decision_tick`` (``until_decision``: the
        hardware exits early there) or all ticks."""
        batch, ticks = self.input_counts.shape[:2]
        if until_decision:
            ticks_run = self.decision_tick + 1
        else:
            ticks_run = np.full(batch, ticks, dtype=np.int64)
        mask = np.arange(ticks)[None, :] < ticks_run[:, None]  # [batch, ticks]
        input_events, distinct, synaptic = [], [], []
        for l, (n_in, n_out) in enumerate(self.layer_sizes):
            if l == 0:
                source = self.input_counts
                per_tick = source.sum(axis=2, dtype=np.int64)  # [batch, ticks]
                first = _first_tick(source > 0)  # [batch, n_in]
            else:  # the previous layer's spikes, one tick later
                source = self.spikes[l - 1]
                per_tick = np.zeros((batch, ticks), dtype=np.int64)
                per_tick[:, 1:] = source.sum(axis=2, dtype=np.int64)[:, :-1]
                first = _first_tick(source) + 1
            events = (per_tick * mask).sum(axis=1)
            input_events.append(events)
            synaptic.append(events * n_out)
            distinct.append((first < ticks_run[:, None]).sum(axis=1) / n_in)
        input_events = np.stack(input_events, axis=1)
        synaptic = np.stack(synaptic, axis=1)
        dense = np.array([n_in * n_out for n_in, n_out in self.layer_sizes], dtype=np.int64)
        fraction = synaptic / (dense[None, :] * ticks_run[:, None])
        hidden = np.zeros(batch, dtype=np.int64)
        for layer_spikes in self.spikes[:-1]:
            hidden += (layer_spikes.sum(axis=2, dtype=np.int64) * mask).sum(axis=1)
        output = (self.spikes[-1].sum(axis=2, dtype=np.int64) * mask).sum(axis=1)
        return NetworkStatistics(ticks_run, input_events, synaptic, fraction,
                                 np.stack(distinct, axis=1), hidden, output)


def _first_tick(active: np.ndarray) -> np.ndarray:
    """``[batch, n]`` first tick in which ``active[batch, ticks, n]`` is true (``ticks`` if never)."""
    ticks = active.shape[1]
    return np.where(active.any(axis=1), np.argmax(active, axis=1), ticks)


@dataclass
class NetworkStatistics:
    """Work per sample (arrays with a leading batch axis; ``[batch, layers]`` per layer).

    * ``ticks_run`` -- ``[batch]`` ticks simulated (``decision_tick + 1`` with early exit);
    * ``input_events`` -- events delivered to each layer's event phase;
    * ``synaptic_events`` -- ``input_events * n_neurons``: weights read (= synaptic
      operations, the NeuroBench definition for a fully connected layer);
    * ``weights_read_fraction`` -- ``synaptic_events / (n_inputs * n_neurons * ticks_run)``,
      the fraction of the weight reads of a dense (clock-driven) implementation;
    * ``distinct_weights_read_fraction`` -- fraction of the layer's weight rows read at least
      once (inputs that spiked at least once / ``n_inputs``);
    * ``hidden_spikes`` -- ``[batch]`` spikes of all layers but the output one in the ticks run;
    * ``output_spikes`` -- ``[batch]`` spikes of the output layer in the ticks run.
    """

    ticks_run: np.ndarray
    input_events: np.ndarray
    synaptic_events: np.ndarray
    weights_read_fraction: np.ndarray
    distinct_weights_read_fraction: np.ndarray
    hidden_spikes: np.ndarray
    output_spikes: np.ndarray


def decide(output_spikes: np.ndarray, final_v: np.ndarray, mode: Decision):
    """The contract's decision from ``output_spikes[batch, ticks, n_out]`` (bool) and the
    output membrane after the last tick ``final_v[batch, n_out]`` (int or float).

    Returns ``(decision[batch], decision_tick[batch])``; ties go to the lowest index
    (``argmax`` returns the first maximum).
    """
    if not isinstance(mode, Decision):
        raise ConfigError(f"decision: must be one of {[d.value for d in Decision]}, got {mode!r}")
    batch, ticks, _ = output_spikes.shape
    last = np.full(batch, ticks - 1, dtype=np.int64)
    if mode is Decision.FIRST_SPIKE:
        any_per_tick = output_spikes.any(axis=2)  # [batch, ticks]
        spiked = any_per_tick.any(axis=1)
        first_tick = np.argmax(any_per_tick, axis=1)
        first_class = np.argmax(output_spikes[np.arange(batch), first_tick], axis=1)
        decision = np.where(spiked, first_class, NO_CLASS).astype(np.int64)
        return decision, np.where(spiked, first_tick, last).astype(np.int64)
    if mode is Decision.SPIKE_COUNT:
        return np.argmax(output_spikes.sum(axis=1), axis=1).astype(np.int64), last
    return np.argmax(final_v, axis=1).astype(np.int64), last


# The event phase as a float matrix product (BLAS) is exact while every partial sum is an
# integer of magnitude below 2**24 (float32) or 2**53 (float64); otherwise int64.
def _event_dtype(layer: IntegerLayer):
    worst = layer.max_events_per_tick * int(np.abs(layer.weights).max(initial=0))
    if worst < (1 << 24):
        return np.float32
    if worst < (1 << 53):
        return np.float64
    return np.int64


def _event_phase(counts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Exact ``counts @ weights`` as int64; ``weights`` already in the chosen dtype."""
    product = np.ascontiguousarray(counts, dtype=weights.dtype) @ weights
    return product.astype(np.int64) if weights.dtype == np.int64 else np.rint(product).astype(np.int64)


def run_network(network: IntegerNetwork, input_counts, ticks: int | None = None) -> NetworkTrace:
    """Run a batch of inferences from cleared state.

    ``input_counts[batch, ticks_in, n_inputs]`` are external input events per tick
    (``[ticks_in, n_inputs]`` is one sample). ``ticks`` (default ``ticks_in``) is the
    length of the inference; missing input ticks are silent (zero), so e.g. ``ticks =
    ticks_in + len(layers) - 1`` lets the last input reach the output layer.
    """
    counts = network.check_input(input_counts)
    batch, ticks_in, _ = counts.shape
    ticks = ticks_in if ticks is None else ticks
    if not isinstance(ticks, (int, np.integer)) or isinstance(ticks, bool) or ticks < 1:
        raise ConfigError(f"ticks: must be a positive integer, got {ticks!r}")
    if ticks != ticks_in:
        padded = np.zeros((batch, ticks, network.n_inputs), dtype=counts.dtype)
        n = min(ticks, ticks_in)
        padded[:, :n] = counts[:, :n]
        counts = padded
    event_weights = [layer.weights.astype(_event_dtype(layer)) for layer in network.layers]
    states = [CoreState.zeros((batch, layer.n_neurons)) for layer in network.layers]
    spikes = [np.zeros((batch, ticks, layer.n_neurons), dtype=bool) for layer in network.layers]
    output_v = np.zeros((batch, ticks, network.n_outputs), dtype=np.int64)
    for t in range(ticks):
        for l, layer in enumerate(network.layers):
            if l == 0:
                events = counts[:, t]
            elif t == 0:
                continue  # no events yet; the update phase still runs below
            else:
                events = spikes[l - 1][:, t - 1]
                if layer.max_events_per_tick < layer.n_inputs:
                    per_sample = events.sum(axis=1)
                    if (per_sample > layer.max_events_per_tick).any():
                        b = int(np.argmax(per_sample > layer.max_events_per_tick))
                        raise ConfigError(
                            f"layers[{l}].max_events_per_tick = {layer.max_events_per_tick} "
                            f"is exceeded: sample {b}, tick {t} brings {int(per_sample[b])} "
                            f"events from layers[{l - 1}]")
            if l == 0 or t > 0:
                states[l].i = states[l].i + _event_phase(events, event_weights[l])
        for l, layer in enumerate(network.layers):
            states[l], s = update_phase(states[l], layer.params)
            spikes[l][:, t] = s
        output_v[:, t] = states[-1].v
    decision, decision_tick = decide(spikes[-1], output_v[:, -1], network.decision)
    return NetworkTrace(spikes, counts, output_v, decision, decision_tick, network.decision,
                        [(layer.n_inputs, layer.n_neurons) for layer in network.layers])


def classify(network: IntegerNetwork, input_counts, ticks: int | None = None,
             batch_size: int = 1024) -> np.ndarray:
    """Decisions only, run in chunks of ``batch_size`` samples to bound memory."""
    counts = network.check_input(input_counts)
    out = [run_network(network, counts[start:start + batch_size], ticks).decision
           for start in range(0, counts.shape[0], batch_size)]
    return np.concatenate(out)
