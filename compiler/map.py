"""Planning: split every layer of an integer network over cores, and the inverse.

:func:`plan_network` gives each layer one or more cores in contiguous, balanced slices (sizes
differ by at most 1, :func:`balanced_split`) and the canonical routes
(:func:`canonical_routes`: the input port and every core multicast to all cores of the next
layer, the output layer's cores to the decision unit). What a plan *is* -- cores, neuron
slices, routes and the rules a buildable plan obeys -- is :mod:`spikeforge.ir.plan`.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from spikeforge.ir.core import MAX_LANES
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.ir.plan import INPUT_PORT, CorePlan, HardwarePlan, Route, core_memory_bits


def balanced_split(n_items: int, n_parts: int) -> list[int]:
    """Sizes of ``n_parts`` contiguous parts of ``n_items`` that differ by at most 1 (the
    larger ones first). ``1 <= n_parts <= n_items``."""
    if not isinstance(n_items, int) or n_items < 1:
        raise ConfigError(f"n_items: must be a positive integer, got {n_items!r}")
    if not isinstance(n_parts, int) or not 1 <= n_parts <= n_items:
        raise ConfigError(f"n_parts: must be in 1..{n_items}, got {n_parts!r}")
    base, extra = divmod(n_items, n_parts)
    return [base + 1 if k < extra else base for k in range(n_parts)]


def canonical_routes(n_inputs: int, layer_slices: list[list[tuple[int, int]]]) -> tuple:
    """The routes of a plan whose layer ``l`` is split into ``layer_slices[l]`` =
    ``[(neuron_offset, n_neurons), ...]`` per core: the input port and every core multicast
    to all cores of the next layer; the output layer's cores to the decision unit."""
    routes = [Route(INPUT_PORT, 0, 0, n_inputs, 0, tuple(range(len(layer_slices[0]))))]
    for l, slices in enumerate(layer_slices):
        last = l == len(layer_slices) - 1
        destination = None if last else l + 1
        cores = () if last else tuple(range(len(layer_slices[l + 1])))
        for k, (offset, size) in enumerate(slices):
            routes.append(Route(l, k, offset, size, destination, cores))
    return tuple(routes)


def _cores_for_budget(layer, memory_budget_bits: int, l: int) -> int:
    acc = layer.accumulator_bits
    for parts in range(1, layer.n_neurons + 1):
        largest = math.ceil(layer.n_neurons / parts)
        if core_memory_bits(layer.n_inputs, largest, layer.params, acc) <= memory_budget_bits:
            return parts
    need = core_memory_bits(layer.n_inputs, 1, layer.params, acc)
    raise ConfigError(f"memory_budget_bits: {memory_budget_bits} bits cannot hold even one neuron "
                      f"of layers[{l}] ({layer.n_inputs} inputs need {need} bits)")


def _per_layer(value, n_layers: int, name: str) -> list:
    """``value`` as one entry per layer: a list/tuple of ``n_layers`` values, or one value
    for every layer."""
    if isinstance(value, (list, tuple)):
        if len(value) != n_layers:
            raise ConfigError(f"{name}: one value per layer expected ({n_layers}), got "
                              f"{len(value)}")
        return list(value)
    return [value] * n_layers


def plan_network(network: IntegerNetwork, neurons_per_core=None,
                 memory_budget_bits: int | None = None, lanes=1) -> HardwarePlan:
    """Split every layer of ``network`` over cores.

    ``neurons_per_core``: the most neurons a core may hold (one int for all layers, or one per
    layer); a layer of ``n`` neurons gets ``ceil(n / neurons_per_core)`` balanced cores.
    ``memory_budget_bits``: instead, the fewest cores per layer such that every core fits the
    budget (:func:`core_memory_bits`). Neither: one core per layer. ``lanes``: the neurons
    every core of a layer updates per cycle (:attr:`CoreConfig.lanes`; one int for all
    layers, or one per layer); it changes timing and memory shapes, not the cores' slices.
    """
    if not isinstance(network, IntegerNetwork):
        raise ConfigError(f"network: must be an IntegerNetwork, got {type(network).__name__}")
    n_layers = len(network.layers)
    if neurons_per_core is not None and memory_budget_bits is not None:
        raise ConfigError("neurons_per_core, memory_budget_bits: give one of them, not both")
    limits = _per_layer(neurons_per_core, n_layers, "neurons_per_core")
    layer_lanes = _per_layer(lanes, n_layers, "lanes")
    for l, value in enumerate(layer_lanes):
        if (not isinstance(value, (int, np.integer)) or isinstance(value, bool)
                or not 1 <= value <= MAX_LANES):
            raise ConfigError(f"lanes[{l}]: must be an integer in 1..{MAX_LANES}, got {value!r}")
    if memory_budget_bits is not None and (not isinstance(memory_budget_bits, int)
                                           or memory_budget_bits < 1):
        raise ConfigError(f"memory_budget_bits: must be a positive integer, got {memory_budget_bits!r}")
    cores, layer_slices, core_id = [], [], 0
    for l, layer in enumerate(network.layers):
        limit = limits[l]
        if memory_budget_bits is not None:
            parts = _cores_for_budget(layer, memory_budget_bits, l)
        elif limit is None:
            parts = 1
        else:
            if not isinstance(limit, (int, np.integer)) or isinstance(limit, bool) or limit < 1:
                raise ConfigError(f"neurons_per_core[{l}]: must be a positive integer, got {limit!r}")
            parts = math.ceil(layer.n_neurons / int(limit))
        slices, offset = [], 0
        for k, size in enumerate(balanced_split(layer.n_neurons, parts)):
            config = dataclasses.replace(layer.core_config(offset, size), lanes=int(layer_lanes[l]))
            cores.append(CorePlan(core_id, l, k, offset, config))
            slices.append((offset, size))
            offset += size
            core_id += 1
        layer_slices.append(slices)
    return HardwarePlan(network.n_inputs, tuple(cores),
                        canonical_routes(network.n_inputs, layer_slices))


def network_from_plan(plan: HardwarePlan, decision) -> IntegerNetwork:
    """Recombine the cores' weight slices into the :class:`IntegerNetwork` they implement."""
    layers = []
    for l in range(plan.n_layers):
        cores = sorted(plan.cores_of_layer(l), key=lambda c: c.index)
        first = cores[0].config
        weights = np.concatenate([c.config.weights for c in cores], axis=1)
        layers.append(IntegerLayer(weights, first.params, first.max_events_per_tick))
    return IntegerNetwork(tuple(layers), decision)
