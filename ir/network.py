"""The integer network (what the hardware computes) and the float network (what was trained).

An :class:`IntegerNetwork` is a chain of fully connected :class:`IntegerLayer` s of contract
neurons with integer weights ``weights[j, n]`` from presynaptic input ``j`` to neuron ``n``; a
:class:`FloatNetwork` is the same chain with float weights ``weight[out, in]`` and float
parameters, as trained. :mod:`spikeforge.compiler.quantize` maps the second to the first;
:func:`spikeforge.sim.network.run_network` runs the first (the golden model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from spikeforge.ir.core import CoreConfig
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.params import (
    Decision,
    NeuronParams,
    Reset,
    accumulator_bits,
    as_decision,
    check_weights,
)

NO_CLASS = -1  #: the class of a first-spike inference in which no output neuron spiked


@dataclass(frozen=True, eq=False)
class IntegerLayer:
    """One fully connected layer: ``weights[j, n]`` (signed ``params.weight_bits`` integers)
    from input ``j`` (``n_inputs`` of them) to neuron ``n`` (``n_neurons``).

    ``max_events_per_tick`` bounds the input events of one tick (default ``n_inputs``: every
    input spikes at most once per tick, which always holds for a hidden layer's input).
    """

    weights: np.ndarray
    params: NeuronParams
    max_events_per_tick: int | None = None

    def __post_init__(self):
        if not isinstance(self.params, NeuronParams):
            raise ConfigError(f"params: must be a NeuronParams, got {type(self.params).__name__}")
        check_weights(self.weights, self.params)
        weights = np.array(self.weights, dtype=np.int64)
        weights.setflags(write=False)
        object.__setattr__(self, "weights", weights)
        if self.max_events_per_tick is None:
            object.__setattr__(self, "max_events_per_tick", self.n_inputs)
        elif isinstance(self.max_events_per_tick, np.integer):
            object.__setattr__(self, "max_events_per_tick", int(self.max_events_per_tick))
        accumulator_bits(self.params, self.max_events_per_tick)  # validates the bound

    @property
    def n_inputs(self) -> int:
        return int(self.weights.shape[0])

    @property
    def n_neurons(self) -> int:
        return int(self.weights.shape[1])

    @property
    def accumulator_bits(self) -> int:
        """Width of the synaptic current during the event phase (see the contract)."""
        return accumulator_bits(self.params, self.max_events_per_tick)

    def core_config(self, neuron_offset: int = 0, n_neurons: int | None = None) -> CoreConfig:
        """The :class:`CoreConfig` of neurons ``[neuron_offset, neuron_offset + n_neurons)``
        of this layer (default: the whole layer), fed by all ``n_inputs`` inputs."""
        n_neurons = self.n_neurons - neuron_offset if n_neurons is None else n_neurons
        if not (0 <= neuron_offset and n_neurons >= 1 and neuron_offset + n_neurons <= self.n_neurons):
            raise ConfigError(f"neuron slice [{neuron_offset}, {neuron_offset + n_neurons}) is not "
                              f"inside the layer's {self.n_neurons} neurons")
        return CoreConfig(n_neurons, self.n_inputs, self.params,
                          self.weights[:, neuron_offset:neuron_offset + n_neurons],
                          self.max_events_per_tick)

    def __eq__(self, other) -> bool:
        if not isinstance(other, IntegerLayer):
            return NotImplemented
        return (self.params == other.params and self.max_events_per_tick == other.max_events_per_tick
                and self.weights.shape == other.weights.shape
                and bool(np.array_equal(self.weights, other.weights)))

    __hash__ = None


@dataclass(frozen=True, eq=False)
class IntegerNetwork:
    """A chain of :class:`IntegerLayer` s; ``layers[l].n_neurons == layers[l+1].n_inputs``.
    The last layer is the output layer, read by ``decision``."""

    layers: tuple
    decision: Decision = Decision.FIRST_SPIKE

    def __post_init__(self):
        layers = tuple(self.layers)
        if not layers:
            raise ConfigError("layers: a network needs at least one layer")
        for l, layer in enumerate(layers):
            if not isinstance(layer, IntegerLayer):
                raise ConfigError(f"layers[{l}]: must be an IntegerLayer, got {type(layer).__name__}")
        for l in range(1, len(layers)):
            if layers[l].n_inputs != layers[l - 1].n_neurons:
                raise ConfigError(f"layers[{l}].weights: has {layers[l].n_inputs} inputs but "
                                  f"layers[{l - 1}] has {layers[l - 1].n_neurons} neurons")
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "decision", as_decision(self.decision))

    @property
    def n_inputs(self) -> int:
        return self.layers[0].n_inputs

    @property
    def n_outputs(self) -> int:
        return self.layers[-1].n_neurons

    def __eq__(self, other) -> bool:
        if not isinstance(other, IntegerNetwork):
            return NotImplemented
        return self.decision == other.decision and self.layers == other.layers

    def to_dict(self) -> dict:
        """JSON form: per layer the weights (nested lists), :meth:`NeuronParams.to_dict`
        and ``max_events_per_tick``; the decision by name (a co-simulation bench's spec)."""
        return {"layers": [{"weights": L.weights.tolist(), "params": L.params.to_dict(),
                            "max_events_per_tick": L.max_events_per_tick}
                           for L in self.layers],
                "decision": self.decision.value}

    @classmethod
    def from_dict(cls, d: dict) -> "IntegerNetwork":
        return cls(tuple(IntegerLayer(np.array(L["weights"], dtype=np.int64),
                                      NeuronParams.from_dict(L["params"]),
                                      L["max_events_per_tick"]) for L in d["layers"]),
                   as_decision(d["decision"]))

    __hash__ = None

    def check_input(self, input_counts, *, strict: bool = False) -> np.ndarray:
        """``input_counts`` as an integer array ``[batch, ticks, n_inputs]`` (a 2-D ``[ticks,
        n_inputs]`` gets a batch axis of 1; the dtype is kept, so int8/uint8 inputs stay small);
        raises :class:`ConfigError` naming what is wrong. More events in a tick than
        ``layers[0].max_events_per_tick`` are the contract's overflow (the accumulator wraps,
        the system flags ``error``): refused only if ``strict``."""
        counts = np.asarray(input_counts)
        if counts.ndim == 2:
            counts = counts[None]
        if counts.ndim != 3 or counts.shape[2] != self.n_inputs or counts.shape[1] < 1:
            raise ConfigError(f"input_counts: expected shape [batch, ticks, {self.n_inputs}], "
                              f"got {list(np.shape(input_counts))}")
        if not (np.issubdtype(counts.dtype, np.integer) or counts.dtype == bool):
            raise ConfigError(f"input_counts: must hold integer event counts, got dtype {counts.dtype}")
        if counts.dtype == bool:
            counts = counts.view(np.uint8)
        if counts.size and counts.min() < 0:
            b, t, j = (int(x) for x in np.argwhere(counts < 0)[0])
            raise ConfigError(f"input_counts[{b}, {t}, {j}] = {int(counts[b, t, j])}: event counts "
                              f"cannot be negative")
        per_tick = counts.sum(axis=2, dtype=np.int64)
        limit = self.layers[0].max_events_per_tick
        if strict and (per_tick > limit).any():
            b, t = (int(x) for x in np.argwhere(per_tick > limit)[0])
            raise ConfigError(f"input_counts: sample {b}, tick {t} has {int(per_tick[b, t])} events, "
                              f"more than layers[0].max_events_per_tick = {limit}")
        return counts


# -- the float network (the trained description) ------------------------------------------

@dataclass
class FloatLayer:
    """A trained float layer: ``weight[out, in]`` (the torch ``nn.Linear`` convention).

    ``alpha``, ``beta``, ``rho``: decay factors per tick in ``[0, 1]`` (1 = no decay);
    ``threshold`` > 0 and ``adapt_step`` >= 0 in the units of the weights; ``reset`` is
    ``"subtract"`` or ``"zero"``.
    """

    weight: np.ndarray
    alpha: float = 1.0
    beta: float = 1.0
    threshold: float = 1.0
    reset: Reset = Reset.SUBTRACT
    fire_once: bool = False
    adaptive: bool = False
    rho: float = 1.0
    adapt_step: float = 0.0

    def __post_init__(self):
        weight = to_numpy(self.weight)
        if weight.ndim != 2 or weight.size == 0:
            raise ConfigError(f"weight: must be a non-empty 2-D array [out, in], got shape "
                              f"{list(weight.shape)}")
        if not np.isfinite(weight).all():
            raise ConfigError("weight: contains NaN or infinity")
        self.weight = weight.astype(np.float64)
        for name in ("alpha", "beta", "rho"):
            value = to_float(getattr(self, name), name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name}: decay per tick must be in [0, 1], got {value}")
            setattr(self, name, value)
        self.threshold = to_float(self.threshold, "threshold")
        if not self.threshold > 0:
            raise ConfigError(f"threshold: must be positive, got {self.threshold}")
        self.adapt_step = to_float(self.adapt_step, "adapt_step")
        if not self.adapt_step >= 0:
            raise ConfigError(f"adapt_step: must be >= 0, got {self.adapt_step}")
        if not isinstance(self.reset, Reset):
            try:
                self.reset = Reset(self.reset)
            except ValueError:
                raise ConfigError(f"reset: must be one of {[r.value for r in Reset]}, "
                                  f"got {self.reset!r}") from None
        for name in ("fire_once", "adaptive"):
            value = getattr(self, name)
            if hasattr(value, "item"):
                value = value.item()
            if not isinstance(value, (bool, np.bool_)) and value not in (0, 1):
                raise ConfigError(f"{name}: must be True or False, got {value!r}")
            setattr(self, name, bool(value))

    @property
    def n_inputs(self) -> int:
        return int(self.weight.shape[1])

    @property
    def n_neurons(self) -> int:
        return int(self.weight.shape[0])


@dataclass
class FloatNetwork:
    """A chain of :class:`FloatLayer` s and the decision read from the last one."""

    layers: list
    decision: Decision = Decision.FIRST_SPIKE

    def __post_init__(self):
        if not self.layers:
            raise ConfigError("layers: a network needs at least one layer")
        for l in range(1, len(self.layers)):
            if self.layers[l].n_inputs != self.layers[l - 1].n_neurons:
                raise ConfigError(f"layers[{l}].weight: has {self.layers[l].n_inputs} inputs but "
                                  f"layers[{l - 1}] has {self.layers[l - 1].n_neurons} neurons")
        self.decision = as_decision(self.decision)


def to_numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):  # torch tensor
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def to_float(x, name: str) -> float:
    if hasattr(x, "detach"):
        x = x.detach().cpu()
        if x.numel() != 1:
            raise ConfigError(f"{name}: must be one number per layer, got shape {list(x.shape)}")
        x = x.item()
    try:
        value = float(np.asarray(x).item()) if np.ndim(x) == 0 else None
    except (TypeError, ValueError):
        value = None
    if value is None or not math.isfinite(value):
        raise ConfigError(f"{name}: must be a finite number, got {x!r}")
    return value
