"""model/convert.py: ANN -> SNN conversion (data-based normalisation, IF with subtract reset)."""

import numpy as np
import pytest
import torch
from torch import nn

from spikeforge.compiler.quantize import accuracy, float_reference_forward
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.params import Decision, Reset
from spikeforge.model.convert import (
    activation_scales,
    ann_accuracy,
    convert,
    convert_and_quantize,
    rate_counts,
    train_ann,
)
from spikeforge.model.datasets import load_dataset


def _net(*weights):
    """A bias-free ReLU MLP with the given [out, in] weights."""
    layers = []
    for l, w in enumerate(weights):
        linear = nn.Linear(w.shape[1], w.shape[0], bias=False)
        linear.weight.data = torch.tensor(w, dtype=torch.float32)
        layers += [linear] + ([nn.ReLU()] if l < len(weights) - 1 else [])
    return nn.Sequential(*layers)


def test_normalisation_by_hand():
    w1 = np.array([[1.0, 2.0], [0.5, -1.0], [-1.0, -1.0]])
    w2 = np.array([[1.0, 1.0, 1.0], [2.0, 0.0, -1.0]])
    x = np.array([[1.0, 0.5], [0.2, 0.0], [0.0, 1.0]])
    net = _net(w1, w2)
    a1 = np.maximum(x @ w1.T, 0)
    a2 = np.maximum(a1 @ w2.T, 0)
    lam = activation_scales(net, x, percentile=100)
    assert lam == pytest.approx([a1.max(), a2.max()])
    layers = convert(net, x, percentile=100)
    assert layers[0]["weight"] == pytest.approx(w1 / lam[0], rel=1e-6)
    assert layers[1]["weight"] == pytest.approx(w2 * lam[0] / lam[1], rel=1e-6)
    for layer in layers:
        assert (layer["alpha"], layer["beta"], layer["threshold"], layer["reset"]) == \
            (0.0, 1.0, 1.0, "subtract")


def test_if_rate_approximates_the_normalised_relu():
    """One layer, constant-rate input over many ticks: each neuron's spike rate is its
    normalised ReLU activation (clipped at 1) to within the rate code's noise."""
    rng = np.random.default_rng(0)
    w = rng.normal(0, 0.4, (6, 20))
    x = rng.uniform(0, 1, (1, 20))
    layers = convert(_net(w), x, percentile=100)
    ticks = 2000
    counts = rate_counts((x * 255).round().astype(np.int64), ticks, max_value=255)
    trace = float_reference_forward({"layers": layers, "decision": "spike-count"}, counts)
    rate = trace.spikes[0][0].mean(axis=0)
    want = np.clip(np.maximum(x @ w.T, 0)[0] / activation_scales(_net(w), x, 100)[0], 0, 1)
    assert rate == pytest.approx(want, abs=0.03)


def test_digits_conversion_within_two_points_of_the_ann():
    torch.manual_seed(0)
    ds = load_dataset("digits")
    x, y = ds.normalized("train")
    xt, yt = ds.normalized("test")
    net = train_ann(x, y, hidden=(48,), epochs=20, seed=1)
    ann = ann_accuracy(net, xt, yt)
    converted = convert_and_quantize(net, x, ticks=32)
    network = converted.network
    assert network.decision is Decision.SPIKE_COUNT
    assert all(layer.params.reset is Reset.SUBTRACT and layer.params.alpha == 0
               and layer.params.beta == 1 << layer.params.decay_bits for layer in network.layers)
    counts = rate_counts(ds.test_x, 32, ds.max_value)
    snn = accuracy(network, counts, yt, ticks=32 + len(network.layers) - 1)
    assert ann > 0.9 and snn > ann - 0.02, (ann, snn)


def test_conversion_errors():
    with pytest.raises(ConfigError, match="epochs: must be at least 1"):
        train_ann(np.zeros((2, 3)), np.array([0, 1]), epochs=0)
    with pytest.raises(ConfigError, match="hidden: one or more positive"):
        train_ann(np.zeros((2, 3)), np.array([0, 1]), hidden=(0,))
    with pytest.raises(ConfigError, match="percentile: must be in"):
        activation_scales(_net(np.ones((2, 3))), np.ones((1, 3)), percentile=0)
