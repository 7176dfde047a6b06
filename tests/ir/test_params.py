"""Neuron parameters: validation that names the field, the accumulator width, and the one
JSON form (``to_dict`` / ``from_dict``)."""

import json
from dataclasses import fields

import pytest

from spikeforge.ir.errors import ConfigError
from spikeforge.ir.params import NeuronParams, Reset, accumulator_bits, signed_range


@pytest.mark.parametrize("kwargs, name", [
    (dict(weight_bits=1), "weight_bits"),
    (dict(weight_bits=8, current_bits=4), "current_bits"),
    (dict(membrane_bits=64), "membrane_bits"),
    (dict(decay_bits=0), "decay_bits"),
    (dict(decay_bits=8, alpha=257), "alpha"),
    (dict(beta=-1), "beta"),
    (dict(threshold=0), "threshold"),
    (dict(membrane_bits=8, threshold=128), "threshold"),
    (dict(threshold=2.5), "threshold"),
    (dict(reset="subtract"), "reset"),
    (dict(fire_once=1), "fire_once"),
    (dict(adapt_bits=4, adapt_step=16), "adapt_step"),
    (dict(weight_shift=-1), "weight_shift"),
    (dict(weight_bits=8, current_bits=10, weight_shift=3), "weight_shift"),
    (dict(weight_shift=True), "weight_shift"),
])
def test_bad_neuron_parameters_are_named(kwargs, name):
    with pytest.raises(ConfigError, match=f"^{name}: "):
        NeuronParams(**kwargs)


def test_accumulator_is_wide_enough_for_the_worst_tick():
    p = NeuronParams(weight_bits=8, current_bits=16)
    bits = accumulator_bits(p, 784)
    lo, hi = signed_range(bits)
    assert lo <= -(1 << 15) - 784 * 128 and (1 << 15) - 1 + 784 * 127 <= hi
    assert signed_range(bits - 1)[0] > -(1 << 15) - 784 * 128


def test_params_round_trip_through_json():
    params = NeuronParams(weight_bits=6, current_bits=20, membrane_bits=18, decay_bits=10,
                          alpha=900, beta=1000, threshold=300, reset=Reset.ZERO, fire_once=True,
                          adaptive=True, adapt_bits=6, rho=700, adapt_step=9)
    d = params.to_dict()
    # weight_shift only where it is not 0: the files of networks without it are unchanged
    assert list(d) == [f.name for f in fields(NeuronParams) if f.name != "weight_shift"]
    assert d["reset"] == "zero" and d["alpha"] == 900 and d["fire_once"] is True
    assert NeuronParams.from_dict(json.loads(json.dumps(d))) == params
    # the defaults' None decay factors are written as what they mean, 2**decay_bits
    assert NeuronParams().to_dict()["beta"] == 1 << 12
    assert NeuronParams.from_dict(NeuronParams().to_dict()) == NeuronParams()
    shifted = NeuronParams(weight_bits=8, current_bits=20, weight_shift=4)
    assert shifted.to_dict()["weight_shift"] == 4
    assert list(shifted.to_dict()) == [f.name for f in fields(NeuronParams)]
    assert NeuronParams.from_dict(json.loads(json.dumps(shifted.to_dict()))) == shifted


@pytest.mark.parametrize("field, value, message", [
    ("threshold", None, "threshold: missing"),  # None: the field is removed
    ("leak", 3, "leak: unknown field"),
    ("threshold", True, "threshold: must be an integer, got a boolean true"),
    ("alpha", 0.5, "alpha: must be an integer, got a number 0.5"),
    ("weight_bits", "8", 'weight_bits: must be an integer, got a string "8"'),
    ("fire_once", 1, "fire_once: must be true or false, got an integer 1"),
    ("reset", 0, "reset: must be a string, got an integer"),
    ("reset", "hard", "reset: must be one of ['subtract', 'zero'], got 'hard'"),
    ("threshold", 0, "threshold: must be in 1..32767"),  # the constructor's own check
    ("weight_shift", 1.5, "weight_shift: must be an integer, got a number 1.5"),
    ("weight_shift", 9, "weight_shift: must be in 0..current_bits - weight_bits = 0..8"),
], ids=["missing", "unknown", "bool-for-int", "float-for-int", "string-for-int",
        "int-for-bool", "int-for-reset", "bad-reset", "out-of-range", "float-shift",
        "shift-too-wide"])
def test_params_from_dict_names_the_bad_field(field, value, message):
    d = NeuronParams().to_dict()
    if value is None:
        del d[field]
    else:
        d[field] = value
    with pytest.raises(ConfigError) as error:
        NeuronParams.from_dict(d)
    assert str(error.value).startswith(message), str(error.value)


def test_params_from_dict_refuses_a_non_object():
    with pytest.raises(ConfigError, match="^params: must be an object, got a list$"):
        NeuronParams.from_dict([NeuronParams().to_dict()])
