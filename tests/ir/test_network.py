"""The float and integer networks of the data model."""

import json

import numpy as np
import torch

from spikeforge.ir.network import FloatLayer, IntegerLayer, IntegerNetwork
from spikeforge.ir.params import Decision, NeuronParams, Reset


def test_float_layer_accepts_torch_scalars():
    layer = FloatLayer(torch.ones(2, 3), alpha=torch.tensor(0.5), adaptive=torch.tensor(False))
    assert layer.alpha == 0.5 and layer.adaptive is False and layer.weight.shape == (2, 3)


def test_an_integer_network_round_trips_through_its_json_form():
    p = NeuronParams(decay_bits=8, alpha=230, threshold=60, fire_once=True, reset=Reset.ZERO)
    net = IntegerNetwork((IntegerLayer(np.array([[1, -2], [3, 4]]), p, 1),
                          IntegerLayer(np.array([[5], [-6]]), NeuronParams())),
                         Decision.SPIKE_COUNT)
    again = IntegerNetwork.from_dict(json.loads(json.dumps(net.to_dict())))
    assert again == net and again.layers[0].max_events_per_tick == 1
