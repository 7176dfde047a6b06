"""Neuron parameters and the enums of the contract (reset, decision), with their widths.

:class:`NeuronParams` is the integer parameter set of one population of contract neurons
(:mod:`spikeforge.sim.contract` says what each field does in a tick). Everything here is
validation and arithmetic on *widths*; the arithmetic on *states* is the contract's.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, fields

import numpy as np

from spikeforge.ir.errors import ConfigError
from spikeforge.ir.jsonform import check_fields, json_type


class Reset(enum.Enum):
    """What a spike does to the membrane."""

    SUBTRACT = "subtract"  #: v -= theta (keeps the residue; rate coding)
    ZERO = "zero"  #: v = 0


class Decision(enum.Enum):
    """How a classification is read from the output layer."""

    FIRST_SPIKE = "first-spike"
    SPIKE_COUNT = "spike-count"
    MEMBRANE_MAX = "membrane-max"


def as_decision(value) -> Decision:
    """``Decision`` from an enum member or its value string ("first-spike", ...)."""
    if isinstance(value, Decision):
        return value
    try:
        return Decision(value)
    except ValueError:
        raise ConfigError(f"decision: must be one of {[d.value for d in Decision]}, "
                          f"got {value!r}") from None


MAX_STATE_BITS = 32  # widest current/membrane the contract (and the RTL datapath) supports


def _require(condition: bool, name: str, message: str) -> None:
    if not condition:
        raise ConfigError(f"{name}: {message}")


def _require_int(value, name: str) -> None:
    _require(isinstance(value, int) and not isinstance(value, bool), name,
             f"must be an integer, got {value!r}")


@dataclass(frozen=True)
class NeuronParams:
    """Integer parameters of one population of neurons (all neurons of a core share them).

    Attributes use the names of the literature: ``alpha`` (synaptic current decay),
    ``beta`` (membrane decay), ``threshold``; ``rho`` and ``adapt_step`` for the adaptive
    threshold (Bellec et al. 2018). Decay factors are fixed point with ``decay_bits``
    fraction bits: ``k / 2**decay_bits`` per tick.
    """

    weight_bits: int = 8
    current_bits: int = 16
    membrane_bits: int = 16
    decay_bits: int = 12
    alpha: int | None = None  # None: 2**decay_bits, no decay
    beta: int | None = None  # None: 2**decay_bits, no decay (integrate-and-fire)
    threshold: int = 64
    reset: Reset = Reset.SUBTRACT
    fire_once: bool = False
    adaptive: bool = False
    adapt_bits: int = 8
    rho: int | None = None  # None: 2**decay_bits, no decay
    adapt_step: int = 0
    #: the event phase adds ``w * 2**weight_shift``: a current with that many bits below the
    #: weights' LSB, which the decay's rounding toward zero then loses instead of a whole
    #: weight step (the weight memory still stores ``weight_bits``)
    weight_shift: int = 0

    def __post_init__(self):
        _require_int(self.decay_bits, "decay_bits")
        _require(1 <= self.decay_bits <= 16, "decay_bits",
                 f"must be in 1..16, got {self.decay_bits}")
        for name in ("alpha", "beta", "rho"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, 1 << self.decay_bits)
        for name in ("weight_bits", "current_bits", "membrane_bits", "decay_bits", "alpha",
                     "beta", "threshold", "adapt_bits", "rho", "adapt_step"):
            _require_int(getattr(self, name), name)
        _require(isinstance(self.reset, Reset), "reset",
                 f"must be one of {[r.value for r in Reset]}, got {self.reset!r}")
        for name in ("fire_once", "adaptive"):
            _require(isinstance(getattr(self, name), bool), name,
                     f"must be True or False, got {getattr(self, name)!r}")
        _require(2 <= self.weight_bits <= 16, "weight_bits",
                 f"must be in 2..16, got {self.weight_bits}")
        _require(self.weight_bits <= self.current_bits <= MAX_STATE_BITS, "current_bits",
                 f"must be in weight_bits..{MAX_STATE_BITS} ({self.weight_bits}..{MAX_STATE_BITS}),"
                 f" got {self.current_bits}")
        _require_int(self.weight_shift, "weight_shift")
        _require(0 <= self.weight_shift <= self.current_bits - self.weight_bits, "weight_shift",
                 f"must be in 0..current_bits - weight_bits = "
                 f"0..{self.current_bits - self.weight_bits}, got {self.weight_shift}")
        _require(2 <= self.membrane_bits <= MAX_STATE_BITS, "membrane_bits",
                 f"must be in 2..{MAX_STATE_BITS}, got {self.membrane_bits}")
        one = 1 << self.decay_bits
        for name in ("alpha", "beta", "rho"):
            value = getattr(self, name)
            _require(0 <= value <= one, name,
                     f"decay factor must be in 0..2**decay_bits = 0..{one}, got {value}")
        v_max = (1 << (self.membrane_bits - 1)) - 1
        _require(1 <= self.threshold <= v_max, "threshold",
                 f"must be in 1..{v_max} (positive and representable in membrane_bits="
                 f"{self.membrane_bits}), got {self.threshold}")
        _require(1 <= self.adapt_bits <= 24, "adapt_bits", f"must be in 1..24, got {self.adapt_bits}")
        _require(0 <= self.adapt_step < (1 << self.adapt_bits), "adapt_step",
                 f"must be in 0..{(1 << self.adapt_bits) - 1}, got {self.adapt_step}")

    @property
    def one(self) -> int:
        """The decay factor that means 'no decay': ``2**decay_bits``."""
        return 1 << self.decay_bits

    def to_dict(self) -> dict:
        """Every field by name, ``reset`` as its string (the JSON form of the artifact,
        ``core.json`` and the co-simulation); ``weight_shift`` only where it is not 0, so
        that the files of a network without it read and write as before it existed."""
        return {f.name: (getattr(self, f.name).value if f.name == "reset" else getattr(self, f.name))
                for f in fields(self) if f.name != "weight_shift" or self.weight_shift}

    @classmethod
    def from_dict(cls, d) -> "NeuronParams":
        """The inverse of :meth:`to_dict`: every field required but ``weight_shift`` (0 where
        absent), JSON types checked strictly (an integer is not a bool, a bool is not an
        integer); errors name the field."""
        names = [f.name for f in fields(cls)]
        if isinstance(d, dict) and "weight_shift" not in d:  # 0, as to_dict leaves it out
            names.remove("weight_shift")
        check_fields(d, names, "params")
        values = {}
        for name in names:
            value = d[name]
            kind, ok = {"reset": ("a string", type(value) is str),
                        "fire_once": ("true or false", type(value) is bool),
                        "adaptive": ("true or false", type(value) is bool)}.get(
                name, ("an integer", type(value) is int))
            if not ok:
                got = json_type(value) + ("" if value is None else f" {json.dumps(value)[:40]}")
                raise ConfigError(f"{name}: must be {kind}, got {got}")
            values[name] = value
        try:
            values["reset"] = Reset(values["reset"])
        except ValueError:
            raise ConfigError(f"reset: must be one of {[r.value for r in Reset]}, "
                              f"got {values['reset']!r}") from None
        return cls(**values)

    def theta_bits(self) -> int:
        """Unsigned width of ``threshold + a``."""
        a_max = (1 << self.adapt_bits) - 1 if self.adaptive else 0
        return max(1, (self.threshold + a_max).bit_length())


def signed_range(bits: int) -> tuple[int, int]:
    """``(lo, hi)`` of a two's-complement ``bits``-bit integer."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def accumulator_bits(params: NeuronParams, max_events_per_tick: int) -> int:
    """Width of ``i`` during the event phase: the current's range plus
    ``max_events_per_tick`` weights of either sign, so the event phase never wraps."""
    _require_int(max_events_per_tick, "max_events_per_tick")
    _require(max_events_per_tick >= 1, "max_events_per_tick",
             f"must be at least 1, got {max_events_per_tick}")
    w_lo, w_hi = (w << params.weight_shift for w in signed_range(params.weight_bits))
    i_lo, i_hi = signed_range(params.current_bits)
    lo = i_lo + max_events_per_tick * w_lo
    hi = i_hi + max_events_per_tick * w_hi
    bits = params.current_bits
    while signed_range(bits)[0] > lo or signed_range(bits)[1] < hi:
        bits += 1
    return bits


def shifted_weights(weights, params: NeuronParams) -> np.ndarray:
    """What the event phase adds per event: ``weights * 2**params.weight_shift`` (int64)."""
    return np.asarray(weights, dtype=np.int64) << params.weight_shift


def check_weights(weights, params: NeuronParams, name: str = "weights") -> None:
    """Raise :class:`ConfigError` unless every weight is a signed ``weight_bits`` integer."""
    array = np.asarray(weights)
    _require(array.ndim == 2, name, f"must be a 2-D array [inputs, neurons], got shape {array.shape}")
    _require(array.size > 0, name, f"must not be empty, got shape {array.shape}")
    _require(np.issubdtype(array.dtype, np.integer), name,
             f"must hold integers (quantize first), got dtype {array.dtype}")
    lo, hi = signed_range(params.weight_bits)
    bad = np.argwhere((array < lo) | (array > hi))
    if len(bad):
        j, n = (int(x) for x in bad[0])
        raise ConfigError(f"{name}[{j}, {n}] = {int(array[j, n])} is outside the signed "
                          f"{params.weight_bits}-bit range {lo}..{hi} "
                          f"({len(bad)} weight(s) out of range)")

