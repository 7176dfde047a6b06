"""One neuron core's configuration: geometry, neuron parameters and integer weights.

The same :class:`CoreConfig` parameterises the golden model, the cycle model, the RTL
(:class:`spikeforge.hdl.core.NeuronCore`) and the co-simulation, so a core is described once;
:meth:`CoreConfig.to_dict` is its one JSON form.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from spikeforge.ir.errors import ConfigError
from spikeforge.ir.params import NeuronParams, accumulator_bits, check_weights

MAX_LANES = 64  #: the most lanes (neurons per cycle) a core may have


@dataclass(frozen=True, eq=False)
class CoreConfig:
    """A time-multiplexed core of ``n_neurons`` neurons fed by ``n_inputs`` presynaptic inputs.

    ``weights[j, n]`` is the signed integer weight from input ``j`` to neuron ``n``.
    ``max_events_per_tick`` bounds the input events of one tick (default: ``n_inputs``, every
    input spiking once); it sets the width of the event-phase accumulator.
    ``lanes`` (L, 1..64) is how many neurons the core's datapath handles per cycle: neuron
    ``n = g * L + k`` lives in lane ``k`` of memory word ``g`` (``ceil(N / L)`` words); it
    changes the timing and the memory shapes of the RTL, never what the neurons compute.
    """

    n_neurons: int
    n_inputs: int
    params: NeuronParams = field(default_factory=NeuronParams)
    weights: np.ndarray | None = None
    max_events_per_tick: int | None = None
    lanes: int = 1

    def __post_init__(self):
        lanes = self.lanes
        if (not isinstance(lanes, (int, np.integer)) or isinstance(lanes, bool)
                or not 1 <= lanes <= MAX_LANES):
            raise ConfigError(f"lanes: must be an integer in 1..{MAX_LANES}, got {lanes!r}")
        object.__setattr__(self, "lanes", int(lanes))
        for name in ("n_neurons", "n_inputs"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name}: must be a positive integer, got {value!r}")
            object.__setattr__(self, name, int(value))
        if not isinstance(self.params, NeuronParams):
            raise ConfigError(f"params: must be a NeuronParams, got {type(self.params).__name__}")
        weights = self.weights
        if weights is None:
            weights = np.zeros((self.n_inputs, self.n_neurons), dtype=np.int64)
        weights = np.asarray(weights)
        check_weights(weights, self.params)
        if weights.shape != (self.n_inputs, self.n_neurons):
            raise ConfigError(f"weights: expected shape [n_inputs, n_neurons] = "
                              f"[{self.n_inputs}, {self.n_neurons}], got {list(weights.shape)}")
        weights = weights.astype(np.int64)
        weights.setflags(write=False)
        object.__setattr__(self, "weights", weights)
        if self.max_events_per_tick is None:
            object.__setattr__(self, "max_events_per_tick", self.n_inputs)
        # validates max_events_per_tick and checks the accumulator is buildable
        bits = accumulator_bits(self.params, self.max_events_per_tick)
        if bits > 48:
            raise ConfigError(f"max_events_per_tick: {self.max_events_per_tick} events of "
                              f"{self.params.weight_bits}-bit weights need a {bits}-bit "
                              f"accumulator; the core supports at most 48 bits")

    @property
    def words(self) -> int:
        """Memory words per input (and state words): ``G = ceil(n_neurons / lanes)``."""
        return -(-self.n_neurons // self.lanes)

    @property
    def accumulator_bits(self) -> int:
        """Width of the synaptic current during the event phase (see the contract)."""
        return accumulator_bits(self.params, self.max_events_per_tick)

    def to_dict(self) -> dict:
        """JSON form: geometry, :meth:`NeuronParams.to_dict`, weights as nested lists."""
        return {"n_neurons": self.n_neurons, "n_inputs": self.n_inputs,
                "params": self.params.to_dict(), "weights": self.weights.tolist(),
                "max_events_per_tick": self.max_events_per_tick, "lanes": self.lanes}

    @classmethod
    def from_dict(cls, d: dict) -> "CoreConfig":
        # artifacts written before lanes existed were all built with one lane
        return cls(d["n_neurons"], d["n_inputs"], NeuronParams.from_dict(d["params"]),
                   np.array(d["weights"], dtype=np.int64), d["max_events_per_tick"],
                   d.get("lanes", 1))

    def with_weights(self, weights) -> "CoreConfig":
        return CoreConfig(self.n_neurons, self.n_inputs, self.params, weights,
                          self.max_events_per_tick, self.lanes)
