"""What a learning engine is built from: the geometry, the rule's integer settings and the
stored weights of a two-layer TTFS network learning with the popcount rule.

One :class:`LearningConfig` parameterises the RTL (:class:`spikeforge.hdl.learning.LearningEngine`)
and the co-simulation; :meth:`spikeforge.sim.learning.PopcountLearner.hardware_config`
makes it from the Python rule, whose docstring defines every quantity named here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikeforge.ir.errors import ConfigError
from spikeforge.ir.params import signed_range

#: width of the ``lr_decay`` field of a learning command (the step's right shift, 0..31)
LR_DECAY_BITS = 5


def _natural(name: str, value, least: int = 0, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < least:
        what = "a positive" if least == 1 else "a non-negative"
        extra = " or None" if optional else ""
        raise ConfigError(f"{name}: must be {what} integer{extra}, got {value!r}")


@dataclass(frozen=True, eq=False)
class LearningConfig:
    """A learning engine for an ``n_inputs``-``n_hidden``-``n_outputs`` network run for
    ``ticks`` ticks.

    ``weight_bits``: the inference weights' widths of the two layers; a stored weight is a
    signed ``weight_bits[layer] + frac_bits``-bit integer ``acc`` and the forward pass reads
    ``acc >> frac_bits``. ``shift_out``, ``shift_hidden`` (None: the first layer is frozen),
    ``shift_revive`` (None: no revive), ``ramp`` and ``margin`` are the rule's (window
    ``"strict"``, revive ``"end"``, slow-down ``"first"``, feature ``"ramp"``: the settings
    the engine implements). ``stores``: the initial stores, ``[n_inputs, n_hidden]`` and
    ``[n_hidden, n_outputs]``.
    """

    n_inputs: int
    n_hidden: int
    n_outputs: int
    ticks: int
    weight_bits: tuple[int, int]
    frac_bits: int
    shift_out: int
    shift_hidden: int | None
    shift_revive: int | None
    ramp: int
    margin: int
    stores: tuple[np.ndarray, np.ndarray]

    def __post_init__(self):
        for name in ("n_inputs", "n_hidden", "n_outputs", "ticks", "ramp"):
            _natural(name, getattr(self, name), 1)
        for name in ("frac_bits", "shift_out", "margin"):
            _natural(name, getattr(self, name))
        for name in ("shift_hidden", "shift_revive"):
            _natural(name, getattr(self, name), optional=True)
        if len(self.weight_bits) != 2:
            raise ConfigError(f"weight_bits: must hold one width per layer (2), got "
                              f"{self.weight_bits!r}")
        for bits in self.weight_bits:
            _natural("weight_bits", bits, 2)
        if self.acc_bits(0) > 32 or self.acc_bits(1) > 32:
            raise ConfigError(f"frac_bits: weight_bits + frac_bits must be at most 32 (the host "
                              f"bus), got {max(self.weight_bits)} + {self.frac_bits}")
        shapes = ((self.n_inputs, self.n_hidden), (self.n_hidden, self.n_outputs))
        stores = []
        for layer, (store, shape) in enumerate(zip(self.stores, shapes)):
            store = np.asarray(store)
            if store.shape != shape or not np.issubdtype(store.dtype, np.integer):
                raise ConfigError(f"stores[{layer}]: must be an integer array of shape "
                                  f"{list(shape)}, got {store.dtype} {list(store.shape)}")
            lo, hi = signed_range(self.acc_bits(layer))
            if store.min() < lo or store.max() > hi:
                raise ConfigError(f"stores[{layer}]: outside the signed {self.acc_bits(layer)}-bit "
                                  f"range {lo}..{hi}")
            stores.append(store.astype(np.int64))
        object.__setattr__(self, "stores", tuple(stores))
        object.__setattr__(self, "weight_bits", tuple(int(b) for b in self.weight_bits))

    def acc_bits(self, layer: int) -> int:
        """Width of a stored weight of ``layer`` (0: input->hidden, 1: hidden->output)."""
        return self.weight_bits[layer] + self.frac_bits

    @property
    def learns_hidden(self) -> bool:
        """Whether the first layer learns (the engine has its input->hidden pass)."""
        return self.shift_hidden is not None

    def to_dict(self) -> dict:
        """JSON form (stores as nested lists)."""
        return {"n_inputs": self.n_inputs, "n_hidden": self.n_hidden,
                "n_outputs": self.n_outputs, "ticks": self.ticks,
                "weight_bits": list(self.weight_bits), "frac_bits": self.frac_bits,
                "shift_out": self.shift_out, "shift_hidden": self.shift_hidden,
                "shift_revive": self.shift_revive, "ramp": self.ramp, "margin": self.margin,
                "stores": [s.tolist() for s in self.stores]}

    @classmethod
    def from_dict(cls, d: dict) -> "LearningConfig":
        return cls(**{**d, "weight_bits": tuple(d["weight_bits"]),
                      "stores": tuple(np.array(s, dtype=np.int64) for s in d["stores"])})
