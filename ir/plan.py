"""The hardware plan: which core computes which neurons, and where every spike goes.

Each layer's neurons are split over one or more cores in contiguous slices; core ``c`` of
layer ``l`` owns the layer's global neurons ``[neuron_offset, neuron_offset + n_neurons)`` and
holds the weight columns of exactly those neurons for *all* of the layer's inputs (a
:class:`~spikeforge.ir.core.CoreConfig` slice).

Routing (:class:`Route`): every spike of a source -- the external input port, or core ``k``
of layer ``l`` -- is multicast to every core of layer ``l + 1`` (the output layer's cores send
to the decision unit). A source's local neuron ``n`` becomes the global presynaptic index
``source_offset + n`` of the destination layer, which is also the input index inside every
destination core (each core sees all inputs of its layer). The decision unit sees class
``source_offset + n``.

:func:`check_plan` states which plans a system can be built from; the RTL
(:class:`spikeforge.hdl.system.SpikeforgeSystem`) and the system cycle model
(:mod:`spikeforge.sim.system_cycle`) both call it. :mod:`spikeforge.compiler.map` makes plans.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikeforge.ir.core import CoreConfig
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.params import NeuronParams

INPUT_PORT = -1  #: ``source_layer`` of the external input port
DECISION_UNIT = "decision"  #: ``destination`` of routes leaving the output layer


def core_memory_bits(n_inputs: int, n_neurons: int, params: NeuronParams,
                     accumulator_bits: int) -> int:
    """Memory of one core in bits: weights ``n_inputs * n_neurons * weight_bits`` plus state
    ``n_neurons * (accumulator_bits + membrane_bits + adapt_bits + 1)`` (current held at
    accumulator width, membrane, adaptation and the fired bit; conservative: ``a`` and
    ``fired`` are counted even when unused)."""
    return (n_inputs * n_neurons * params.weight_bits
            + n_neurons * (accumulator_bits + params.membrane_bits + params.adapt_bits + 1))


@dataclass(frozen=True, eq=False)
class CorePlan:
    """One physical core: ``index`` within its ``layer``, ``core_id`` across the chip (cores
    numbered layer by layer), global neurons ``[neuron_offset, neuron_offset + n_neurons)``."""

    core_id: int
    layer: int
    index: int
    neuron_offset: int
    config: CoreConfig

    @property
    def n_neurons(self) -> int:
        return self.config.n_neurons

    @property
    def n_inputs(self) -> int:
        return self.config.n_inputs

    @property
    def memory_bits(self) -> int:
        return core_memory_bits(self.n_inputs, self.n_neurons, self.config.params,
                                self.config.accumulator_bits)

    def __eq__(self, other) -> bool:
        if not isinstance(other, CorePlan):
            return NotImplemented
        a, b = self.config, other.config
        return ((self.core_id, self.layer, self.index, self.neuron_offset)
                == (other.core_id, other.layer, other.index, other.neuron_offset)
                and a.params == b.params and a.max_events_per_tick == b.max_events_per_tick
                and a.lanes == b.lanes
                and a.weights.shape == b.weights.shape and np.array_equal(a.weights, b.weights))

    __hash__ = None


@dataclass(frozen=True)
class Route:
    """Multicast of every spike of one source.

    ``source_layer``: ``INPUT_PORT`` (-1) or a layer; ``source_core``: the core's index in its
    layer (0 for the input port); ``source_offset`` / ``source_size``: global index of the
    source's first neuron and how many it has. ``destination_layer``: the layer fed (``None``
    for the decision unit); ``destination_cores``: indices of the destination layer's cores
    (empty for the decision unit).
    """

    source_layer: int
    source_core: int
    source_offset: int
    source_size: int
    destination_layer: int | None
    destination_cores: tuple

    def to_dict(self) -> dict:
        return {"source_layer": self.source_layer, "source_core": self.source_core,
                "source_offset": self.source_offset, "source_size": self.source_size,
                "destination_layer": self.destination_layer,
                "destination_cores": list(self.destination_cores)}

    @property
    def to_decision_unit(self) -> bool:
        return self.destination_layer is None

    def global_index(self, local_neuron: int) -> int:
        """Presynaptic index in the destination layer (class index at the decision unit)."""
        if not 0 <= local_neuron < self.source_size:
            raise ConfigError(f"local_neuron: {local_neuron} outside 0..{self.source_size - 1}")
        return self.source_offset + local_neuron


@dataclass(frozen=True, eq=False)
class HardwarePlan:
    """All cores (ordered by ``core_id``: layer by layer) and routes of a network."""

    n_inputs: int
    cores: tuple
    routes: tuple

    @property
    def n_layers(self) -> int:
        return max(c.layer for c in self.cores) + 1

    def cores_of_layer(self, layer: int) -> list[CorePlan]:
        return [c for c in self.cores if c.layer == layer]

    def routes_from(self, source_layer: int, source_core: int = 0) -> list[Route]:
        return [r for r in self.routes
                if (r.source_layer, r.source_core) == (source_layer, source_core)]

    @property
    def memory_bits(self) -> int:
        return sum(c.memory_bits for c in self.cores)

    def __eq__(self, other) -> bool:
        if not isinstance(other, HardwarePlan):
            return NotImplemented
        return (self.n_inputs == other.n_inputs and tuple(self.cores) == tuple(other.cores)
                and tuple(self.routes) == tuple(other.routes))

    __hash__ = None


def check_plan(plan) -> tuple[list, dict]:
    """Check that ``plan`` is a plan the system can build (canonical layer-to-layer routes,
    every core reached); returns ``(layers, routes)``: per layer its cores sorted by index,
    and the route of every ``(source_layer, source_core)``. Raises :class:`ConfigError`
    naming the bad part."""
    if not isinstance(plan, HardwarePlan):
        raise ConfigError(f"plan: must be a HardwarePlan, got {type(plan).__name__}")
    L = plan.n_layers
    layers = [sorted(plan.cores_of_layer(l), key=lambda c: c.index) for l in range(L)]
    for l, cores in enumerate(layers):
        if not cores:
            raise ConfigError(f"plan.cores: layer {l} has no core")
        if [c.index for c in cores] != list(range(len(cores))):
            raise ConfigError(f"plan.cores: layer {l} core indices are not 0..{len(cores) - 1}")
    routes = {}
    for r in plan.routes:
        key = (r.source_layer, r.source_core)
        if key in routes:
            raise ConfigError(f"plan.routes: two routes from source {key}")
        routes[key] = r
        if r.source_layer == INPUT_PORT:
            if r.destination_layer != 0:
                raise ConfigError("plan.routes: the input port must feed layer 0 only")
        elif r.destination_layer is None:
            if r.source_layer != L - 1:
                raise ConfigError(f"plan.routes: only the output layer may feed the decision "
                                  f"unit (route from layer {r.source_layer})")
        elif r.destination_layer != r.source_layer + 1:
            raise ConfigError(f"plan.routes: route from layer {r.source_layer} to layer "
                              f"{r.destination_layer}; only layer l -> l + 1 is supported")
        if r.destination_layer is not None:
            n_dest = len(layers[r.destination_layer])
            if any(not 0 <= d < n_dest for d in r.destination_cores):
                raise ConfigError(f"plan.routes: destination core out of range in {r}")
    if (INPUT_PORT, 0) not in routes:
        raise ConfigError("plan.routes: no route from the input port")
    for l, cores in enumerate(layers):
        for c in cores:
            if (l, c.index) not in routes:
                raise ConfigError(f"plan.routes: no route from layer {l} core {c.index}")
    return layers, routes
