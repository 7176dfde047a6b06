"""Memory and compute cost of an integer network, from its shape and a golden-model trace.

Two sets of definitions, both per inference and per layer:

**The SNN-evaluation seed's** (what the hardware stores and does):

* memory cost = weight memory + membrane-potential memory + spike memory, in bits:

  - weights: ``n_inputs * n_neurons * weight_bits``;
  - neuron state: ``n_neurons * (accumulator_bits + membrane_bits [+ adapt_bits if adaptive]
    [+ 1 fired bit if fire_once])`` -- the current is held at the event-phase accumulator
    width, as the core's state memory holds it;
  - spike memory: the spikes of one tick must be held until the next layer takes them, so it
    is set by the largest number of spikes a layer's *input* carries in one tick (over every
    image and tick of the trace) times the width of a spike address,
    ``max_spikes_per_tick * max(1, ceil(log2(n_inputs)))``;

* compute cost = the spike-driven accumulations: every input event of a layer adds one weight
  to each of the layer's ``n_neurons`` currents, ``accumulations = events * n_neurons`` (what a
  spikeforge core does: it reads the whole weight row of an event, zeros included). Events are
  counted in the ticks the hardware runs (up to the decision with a first-spike early exit).

**NeuroBench's** (Yik et al. 2025, `neurobench.metrics`): ``footprint`` (bytes of parameters
and state), ``connection_sparsity`` (zero weights / all weights), ``activation_sparsity``
(1 - spikes / (neurons * ticks), over the spiking layers), ``dense`` synaptic operations
(``n_inputs * n_neurons`` per layer per tick: every synapse every tick) and ``effective``
ones (accumulations whose weight is non-zero: NeuroBench counts a synaptic operation only for
a non-zero activation *and* a non-zero connection). They differ from the hardware's counters
in two places: the hardware reads zero weights too (``accumulations`` >= ``effective``), and
NeuroBench's footprint counts the float model's 32-bit parameters where the hardware's is
the integer widths above.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from spikeforge.ir.network import IntegerNetwork

__all__ = ["LayerCost", "CostReport", "network_cost"]


@dataclass(frozen=True)
class LayerCost:
    """One layer's cost; event and operation counts are means per inference."""

    n_inputs: int
    n_neurons: int
    weight_bits: int
    state_bits: int
    spike_bits: int
    max_spikes_per_tick: int
    events: float
    accumulations: float
    effective_operations: float
    dense_operations: float
    connection_sparsity: float
    activation_sparsity: float

    @property
    def memory_bits(self) -> int:
        return self.weight_bits + self.state_bits + self.spike_bits


@dataclass(frozen=True)
class CostReport:
    """Cost of a network over ``images`` inferences of the trace (``ticks``: mean ticks run)."""

    layers: tuple
    images: int
    ticks: float

    def total(self, name: str) -> float:
        return sum(getattr(layer, name) for layer in self.layers)

    @property
    def memory_bits(self) -> int:
        return sum(layer.memory_bits for layer in self.layers)

    @property
    def footprint_bytes(self) -> int:
        """NeuroBench's footprint at the hardware's widths: weights and state, in bytes."""
        return math.ceil((self.total("weight_bits") + self.total("state_bits")) / 8)

    @property
    def activation_sparsity(self) -> float:
        spikes = sum((1 - layer.activation_sparsity) * layer.n_neurons for layer in self.layers)
        return 1 - spikes / sum(layer.n_neurons for layer in self.layers)

    def to_dict(self) -> dict:
        return {"images": self.images, "ticks": self.ticks,
                "memory_bits": self.memory_bits, "memory_bytes": math.ceil(self.memory_bits / 8),
                "weight_bits": self.total("weight_bits"), "state_bits": self.total("state_bits"),
                "spike_bits": self.total("spike_bits"),
                "accumulations": self.total("accumulations"),
                "neurobench": {"footprint_bytes": self.footprint_bytes,
                               "connection_sparsity": self._connection_sparsity(),
                               "activation_sparsity": self.activation_sparsity,
                               "dense_synops": self.total("dense_operations"),
                               "effective_synops": self.total("effective_operations")},
                "layers": [asdict(layer) for layer in self.layers]}

    def _connection_sparsity(self) -> float:
        synapses = [layer.n_inputs * layer.n_neurons for layer in self.layers]
        zeros = sum(s * layer.connection_sparsity for s, layer in zip(synapses, self.layers))
        return zeros / sum(synapses)

    def format(self) -> str:
        """A table: one row per layer and the totals."""
        head = (f"{'layer':<6} {'shape':>11} {'weights b':>10} {'state b':>8} {'spike b':>8} "
                f"{'events':>9} {'accum.':>11} {'effective':>11} {'dense':>12} {'act.sp.':>7}")
        rows = [head]
        for l, c in enumerate(self.layers):
            rows.append(f"{l:<6} {f'{c.n_inputs}x{c.n_neurons}':>11} {c.weight_bits:>10} "
                        f"{c.state_bits:>8} {c.spike_bits:>8} {c.events:>9.1f} "
                        f"{c.accumulations:>11.1f} {c.effective_operations:>11.1f} "
                        f"{c.dense_operations:>12.0f} {c.activation_sparsity:>7.4f}")
        rows.append(f"{'total':<6} {'':>11} {self.total('weight_bits'):>10} "
                    f"{self.total('state_bits'):>8} {self.total('spike_bits'):>8} "
                    f"{self.total('events'):>9.1f} {self.total('accumulations'):>11.1f} "
                    f"{self.total('effective_operations'):>11.1f} "
                    f"{self.total('dense_operations'):>12.0f} {self.activation_sparsity:>7.4f}")
        rows.append(f"memory {self.memory_bits} bits ({math.ceil(self.memory_bits / 8)} bytes); "
                    f"compute {self.total('accumulations'):.1f} accumulations per inference "
                    f"(mean of {self.images} images, {self.ticks:.1f} ticks run); "
                    f"connection sparsity {self._connection_sparsity():.4f}")
        return "\n".join(rows)


def _state_bits(layer) -> int:
    p = layer.params
    return layer.n_neurons * (layer.accumulator_bits + p.membrane_bits
                              + (p.adapt_bits if p.adaptive else 0) + (1 if p.fire_once else 0))


def network_cost(network: IntegerNetwork, trace, until_decision: bool = True) -> CostReport:
    """The cost of ``network`` over the inferences of ``trace`` (a
    :class:`~spikeforge.sim.network.NetworkTrace` of it), counting ticks up to the decision
    (``until_decision``, the hardware's early exit) or all ticks."""
    batch, ticks = trace.input_counts.shape[:2]
    ticks_run = trace.decision_tick + 1 if until_decision else np.full(batch, ticks)
    mask = (np.arange(ticks)[None, :] < ticks_run[:, None])[:, :, None]  # [batch, ticks, 1]
    layers = []
    for l, layer in enumerate(network.layers):
        counts = trace.layer_input_counts(l) * mask  # [batch, ticks, n_inputs]
        per_tick = counts.sum(axis=2)
        nonzero = (layer.weights != 0).sum(axis=1)  # non-zero weights of each input's row
        effective = (counts.sum(axis=1) @ nonzero).astype(np.float64)  # [batch]
        spikes = (trace.spikes[l] * mask).sum(axis=(1, 2))
        layers.append(LayerCost(
            n_inputs=layer.n_inputs, n_neurons=layer.n_neurons,
            weight_bits=layer.n_inputs * layer.n_neurons * layer.params.weight_bits,
            state_bits=_state_bits(layer),
            spike_bits=int(per_tick.max(initial=0)) * max(1, math.ceil(math.log2(layer.n_inputs))),
            max_spikes_per_tick=int(per_tick.max(initial=0)),
            events=float(per_tick.sum(axis=1).mean()),
            accumulations=float(per_tick.sum(axis=1).mean() * layer.n_neurons),
            effective_operations=float(effective.mean()),
            dense_operations=float((layer.n_inputs * layer.n_neurons * ticks_run).mean()),
            connection_sparsity=float((layer.weights == 0).mean()),
            activation_sparsity=float(1 - (spikes / (layer.n_neurons * ticks_run)).mean())))
    return CostReport(tuple(layers), batch, float(ticks_run.mean()))
