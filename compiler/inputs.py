"""Silent inputs: the sensor inputs whose weight rows are all zero get no row in the hardware.

An event on input ``j`` adds ``weights[j, n]`` to every neuron ``n`` of the first layer. When
that whole row is zero (a temporal-coding network trained on MNIST learns nothing for the
border pixels that are 0 in every training image, and its training zeroes those rows), the
event changes no state: the hardware needs neither the row nor the event. Dropping the rows
is what lets 784-600-10 at 8 bits fit the ECP5-85F's block RAM (672 of 784 rows are left in
the network of docs/model.md §6).

:func:`compact_inputs` returns the network the hardware implements -- the same layers, the
first one without the silent rows -- and the :class:`InputMap` that turns a sensor image
(``[..., n_sensor]`` event counts) into that network's input by dropping the silent columns.
The host applies it before the input port, so the chip's input port, the golden model, the
cycle model and the co-simulation all see the compacted network and nothing else.

Exactness: for any input, the compacted network's spikes, states and decision equal the
original network's on the same image, because the dropped events would have added zeros. The
one difference is what counts towards ``layers[0].max_events_per_tick`` (the contract's
overflow): dropped events no longer do. The bound itself is kept, so the accumulator keeps its
width and arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikeforge.ir.errors import ConfigError
from spikeforge.ir.network import IntegerLayer, IntegerNetwork

__all__ = ["InputMap", "silent_inputs", "compact_inputs"]


@dataclass(frozen=True, eq=False)
class InputMap:
    """Network input ``k`` is sensor input ``kept[k]`` (ascending); the other sensor inputs
    of ``range(n_sensor)`` are silent (their events are dropped on the host)."""

    n_sensor: int
    kept: np.ndarray

    def __post_init__(self):
        kept = np.asarray(self.kept)
        if (not isinstance(self.n_sensor, (int, np.integer)) or isinstance(self.n_sensor, bool)
                or self.n_sensor < 1):
            raise ConfigError(f"n_sensor: must be a positive integer, got {self.n_sensor!r}")
        if kept.ndim != 1 or kept.size == 0 or not np.issubdtype(kept.dtype, np.integer):
            raise ConfigError("kept: must be a non-empty 1-D list of sensor input indices")
        if kept.min() < 0 or kept.max() >= self.n_sensor or (np.diff(kept) <= 0).any():
            raise ConfigError(f"kept: must be strictly ascending indices in 0..{self.n_sensor - 1}")
        kept = kept.astype(np.int64)
        kept.setflags(write=False)
        object.__setattr__(self, "n_sensor", int(self.n_sensor))
        object.__setattr__(self, "kept", kept)

    @property
    def n_inputs(self) -> int:
        """Inputs of the compacted network."""
        return int(self.kept.size)

    @property
    def identity(self) -> bool:
        return self.n_inputs == self.n_sensor

    def apply(self, sensor_counts) -> np.ndarray:
        """``[..., n_sensor]`` sensor event counts -> ``[..., n_inputs]`` network input."""
        counts = np.asarray(sensor_counts)
        if counts.ndim < 1 or counts.shape[-1] != self.n_sensor:
            raise ConfigError(f"input_counts: expected {self.n_sensor} sensor inputs in the last "
                              f"axis, got shape {list(counts.shape)}")
        return counts if self.identity else counts[..., self.kept]

    def to_dict(self) -> dict:
        return {"n_sensor": self.n_sensor, "kept": self.kept.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "InputMap":
        return cls(d["n_sensor"], np.asarray(d["kept"], dtype=np.int64))


def silent_inputs(network: IntegerNetwork) -> np.ndarray:
    """Bool ``[n_inputs]``: the first layer's all-zero weight rows."""
    if not isinstance(network, IntegerNetwork):
        raise ConfigError(f"network: must be an IntegerNetwork, got {type(network).__name__}")
    return ~network.layers[0].weights.any(axis=1)


def compact_inputs(network: IntegerNetwork) -> tuple[IntegerNetwork, InputMap]:
    """``(the network without its silent first-layer rows, the map from sensor inputs)``;
    the network itself and an identity map when no row is silent. A network whose every row
    is silent has nothing to compute and is refused."""
    silent = silent_inputs(network)
    kept = np.flatnonzero(~silent)
    if kept.size == 0:
        raise ConfigError("network: every weight of the first layer is 0 (no input reaches it)")
    mapping = InputMap(network.n_inputs, kept)
    if mapping.identity:
        return network, mapping
    first = network.layers[0]
    layer = IntegerLayer(first.weights[kept], first.params, first.max_events_per_tick)
    return IntegerNetwork((layer, *network.layers[1:]), network.decision), mapping
