"""LearningConfig: what a learning engine is built from, checked field by field."""

import numpy as np
import pytest

from spikeforge.ir.errors import ConfigError
from spikeforge.ir.learning import LearningConfig


def _config(**changes):
    fields = dict(n_inputs=3, n_hidden=2, n_outputs=2, ticks=10, weight_bits=(8, 8), frac_bits=4,
                  shift_out=3, shift_hidden=1, shift_revive=0, ramp=5, margin=2,
                  stores=(np.zeros((3, 2), dtype=np.int64), np.zeros((2, 2), dtype=np.int64)))
    return LearningConfig(**{**fields, **changes})


def test_a_config_round_trips_through_its_json_form():
    stores = (np.arange(6).reshape(3, 2) - 3, np.array([[2047, -2048], [0, 1]]))
    config = _config(stores=stores, shift_hidden=None)
    again = LearningConfig.from_dict(config.to_dict())
    assert again.to_dict() == config.to_dict() and not again.learns_hidden
    assert config.acc_bits(0) == 12 and config.learns_hidden is False


@pytest.mark.parametrize("change,message", [
    ({"n_hidden": 0}, "n_hidden: must be a positive integer, got 0"),
    ({"ticks": 2.5}, "ticks: must be a positive integer"),
    ({"shift_out": -1}, "shift_out: must be a non-negative integer, got -1"),
    ({"shift_revive": True}, "shift_revive: must be a non-negative integer or None"),
    ({"weight_bits": (8,)}, "weight_bits: must hold one width per layer"),
    ({"frac_bits": 25}, "frac_bits: weight_bits \\+ frac_bits must be at most 32"),
    ({"stores": (np.zeros((2, 3), dtype=np.int64), np.zeros((2, 2), dtype=np.int64))},
     r"stores\[0\]: must be an integer array of shape \[3, 2\], got int64 \[2, 3\]"),
    ({"stores": (np.zeros((3, 2), dtype=np.int64), np.full((2, 2), 4096))},
     r"stores\[1\]: outside the signed 12-bit range -2048..2047"),
])
def test_a_bad_field_is_named(change, message):
    with pytest.raises(ConfigError, match=message):
        _config(**change)
