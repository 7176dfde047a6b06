"""One core's configuration: validation that names the field, defaults, its JSON form."""

import json

import numpy as np
import pytest

from spikeforge.ir.core import CoreConfig
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.params import NeuronParams, Reset


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_neurons=0, n_inputs=3), "n_neurons: must be a positive integer"),
    (dict(n_neurons=3, n_inputs=-1), "n_inputs: must be a positive integer"),
    (dict(n_neurons=2, n_inputs=2, weights=np.zeros((3, 2), dtype=int)), r"weights: expected shape"),
    (dict(n_neurons=2, n_inputs=2, weights=np.full((2, 2), 0.5)), "weights: must hold integers"),
    (dict(n_neurons=2, n_inputs=2, weights=np.array([[0, 1], [200, 0]])), r"weights\[1, 0\] = 200"),
    (dict(n_neurons=2, n_inputs=2, weights=np.zeros(4, dtype=int)), "weights: must be a 2-D array"),
    (dict(n_neurons=2, n_inputs=2, max_events_per_tick=0), "max_events_per_tick"),
    (dict(n_neurons=2, n_inputs=2, max_events_per_tick=1 << 40), "max_events_per_tick"),
])
def test_bad_core_configurations_are_named(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        CoreConfig(**kwargs)


def test_core_defaults_and_read_only_weights():
    config = CoreConfig(3, 2)
    assert config.weights.shape == (2, 3) and not config.weights.any()
    assert config.max_events_per_tick == 2 and config.params == NeuronParams()
    with pytest.raises(ValueError):
        config.weights[0, 0] = 1


def test_core_config_round_trips_through_json():
    config = CoreConfig(3, 2, NeuronParams(weight_bits=6, threshold=20, reset=Reset.ZERO),
                        np.array([[1, -32, 31], [0, 5, -7]]), max_events_per_tick=5)
    back = CoreConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert (back.n_neurons, back.n_inputs, back.max_events_per_tick) == (3, 2, 5)
    assert back.params == config.params and np.array_equal(back.weights, config.weights)
    assert back.to_dict() == config.to_dict()


@pytest.mark.parametrize("lanes", [0, 65, -1, 2.0, True, "4"])
def test_bad_lanes_are_named(lanes):
    with pytest.raises(ConfigError, match=r"^lanes: must be an integer in 1..64, got "):
        CoreConfig(3, 2, lanes=lanes)


def test_lanes_default_words_and_json():
    """lanes defaults to 1; G = ceil(N / L); to_dict carries it, from_dict of an older dict
    without it means 1; with_weights keeps it."""
    config = CoreConfig(10, 2, lanes=4)
    assert (CoreConfig(10, 2).lanes, CoreConfig(10, 2).words, config.words) == (1, 10, 3)
    d = json.loads(json.dumps(config.to_dict()))
    assert d["lanes"] == 4 and CoreConfig.from_dict(d).lanes == 4
    del d["lanes"]
    assert CoreConfig.from_dict(d).lanes == 1
    assert config.with_weights(np.ones((2, 10), dtype=int)).lanes == 4
