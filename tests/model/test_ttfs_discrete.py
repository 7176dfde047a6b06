import math

import numpy as np
import pytest
import torch

from spikeforge.compiler.quantize import float_reference_forward
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.params import Reset
from spikeforge.model.ttfs import TTFSNet, train_ttfs
from spikeforge.model.ttfs_discrete import (
    alpha_q,
    evaluate,
    float_description,
    inference_ticks,
    input_counts,
    input_ticks,
    WeightQuantizer,
    integer_network,
    markdown_table,
)


@pytest.fixture(scope="module")
def digits_small():
    import dataclasses

    from spikeforge.model.datasets import load_digits

    d = load_digits()
    return dataclasses.replace(d, train_x=d.train_x[:800], train_y=d.train_y[:800],
                               test_x=d.test_x[:200], test_y=d.test_y[:200])


@pytest.mark.parametrize("k", [8, 16, 64])
def test_membrane_is_continuous_v_at_end_of_tick(k):
    # one input at tick 0, sub-threshold weight: v(n) = w (1 - alpha_q**(n + 1))
    w = 0.7
    desc = float_description([np.array([[w]])], k)
    a = alpha_q(k) / 4096
    counts = np.zeros((1, 5 * k, 1), dtype=np.int64)
    counts[0, 0, 0] = 1
    trace = float_reference_forward(desc, counts)
    n = np.arange(5 * k)
    assert np.allclose(trace.output_v[0, :, 0], w * (1 - a ** (n + 1)))
    # and the quantized alpha is close to exp(-1/K): v(n) ~ continuous V((n + 1) / K)
    assert np.allclose(trace.output_v[0, :, 0], w * (1 - np.exp(-(n + 1) / k)), atol=1e-2)  # alpha_q rounding (12 bits)


@pytest.mark.parametrize("k,w", [(16, 1.5), (32, 2.3), (64, 4.0), (128, 1.2)])
def test_spike_tick_matches_continuous_time(k, w):
    desc = float_description([np.array([[w]])], k)
    ticks = 6 * k
    counts = np.zeros((1, ticks, 1), dtype=np.int64)
    counts[0, 0, 0] = 1
    trace = float_reference_forward(desc, counts)
    tick = int(np.argmax(trace.spikes[-1][0, :, 0]))
    assert trace.spikes[-1][0, :, 0].sum() == 1  # fire once
    a = alpha_q(k) / 4096
    assert tick == math.ceil(math.log(1 - 1 / w) / math.log(a)) - 1
    t_out = -math.log(1 - 1 / w)  # continuous spike time, tau = 1
    assert abs((tick + 1) / k - t_out) <= 1.0 / k + 0.02 * t_out


def test_description_and_integer_network_params():
    net = TTFSNet([6, 5, 3], seed=0)
    desc = float_description(net, 32)
    assert [L["weight"].shape for L in desc["layers"]] == [(5, 6), (3, 5)]
    a = alpha_q(32) / 4096
    assert np.allclose(desc["layers"][0]["weight"], net.layers[0].w.detach().double().numpy().T * (1 - a))
    q = integer_network(net, 32)
    for layer in q.network.layers:
        p = layer.params
        assert p.fire_once and p.beta == p.one and p.alpha == alpha_q(32) and p.reset is Reset.ZERO
        assert np.abs(layer.weights).max() == 127
    assert inference_ticks(32, 2) == 130
    with pytest.raises(ConfigError, match="ticks_per_tau"):
        float_description(net, 0)


def test_input_encoding():
    x = np.array([[16, 8, 0, 15]])
    assert input_ticks(x, 16, 32).tolist() == [[0, 16, 32, 2]]
    counts = input_counts(x, 16, 32, ticks=40)
    assert counts.shape == (1, 40, 4) and counts.sum() == 4
    assert counts[0, 16, 1] == 1 and counts[0, 32, 2] == 1
    silent = input_counts(x, 16, 32, ticks=40, zero_is_silent=True)
    assert silent.sum() == 3 and silent[0, :, 2].sum() == 0


def test_trained_network_keeps_accuracy_on_golden(digits_small):
    torch.manual_seed(0)
    r = train_ttfs(digits_small, (40,), epochs=10, progress=False)
    x, y = digits_small.test_x, digits_small.test_y
    res = evaluate(r.net, x, y, digits_small.max_value, 16, extra_weight_bits=(12,))
    assert res.continuous > 0.7
    assert abs(res.discrete_float - res.continuous) < 0.08
    assert abs(res.golden - res.discrete_float) < 0.08
    assert abs(res.golden_wide[12] - res.discrete_float) < 0.05
    assert res.hidden_spikes > 0 and 0 < res.weights_read[0] <= 1 and 0 < res.weights_read[1] <= 1
    assert "| 16 |" in markdown_table([res])


def test_weight_quantizer_computes_with_the_golden_models_own_weights():
    """Quantization-aware training computes with exactly the weights the golden model runs:
    ``integer_network`` of the quantized network (the compiler's max scale) has the integers
    and thresholds that ``quantize(percentile=P)`` makes of the latent weights; the forward
    pass is that of the deployed weights; the gradient reaches every latent weight unchanged
    (straight through); without a quantizer the network is its latent weights again."""
    k, p = 16, 95.0
    net = TTFSNet([20, 8, 3], seed=1)
    plain = integer_network(net, k, 8).network
    want = integer_network(net, k, 8, percentile=p).network
    quantizer = WeightQuantizer(k, 8, percentile=p)
    net.quantize_as(quantizer)
    got = integer_network(net, k, 8).network
    for g, w, layer in zip(got.layers, want.layers, net.layers):
        assert np.array_equal(g.weights, w.weights) and g.params == w.params
        w_int, threshold = quantizer.integers(layer.w)
        assert np.array_equal(w_int, w.weights) and threshold == w.params.threshold
        assert np.abs(g.weights).max() == 127
    deployed = TTFSNet([20, 8, 3], seed=2)
    with torch.no_grad():
        for layer, w in zip(deployed.layers, net.deployed_weights()):
            layer.w.copy_(w)
    z = torch.rand(4, 20) * 2
    assert torch.equal(net(z), deployed(z))
    net.layers[0].weight().sum().backward()
    assert torch.equal(net.layers[0].w.grad, torch.ones_like(net.layers[0].w))
    net.quantize_as(None)
    for g, w in zip(integer_network(net, k, 8).network.layers, plain.layers):
        assert np.array_equal(g.weights, w.weights) and g.params == w.params


def test_training_through_the_quantizer_deploys_its_weights(digits_small):
    """``train_ttfs(quantizer=...)``: the trained network's deployed weights are on the
    quantizer's grid (the golden model's integers of the latent weights), and the held-out
    accuracy it reports is that of the deployed network."""
    from spikeforge.model.ttfs_discrete import continuous_accuracy

    quantizer = WeightQuantizer(16, 6, percentile=99.0)
    r = train_ttfs(digits_small, (12,), epochs=2, progress=False, quantizer=quantizer)
    got = integer_network(r.net, 16, 6).network
    for g, layer in zip(got.layers, r.net.layers):
        w_int, threshold = quantizer.integers(layer.w)
        assert np.array_equal(g.weights, w_int) and g.params.threshold == threshold
    x, y = digits_small.test_x, digits_small.test_y
    assert r.test_accuracy == continuous_accuracy(r.net, x, y, digits_small.max_value)


@pytest.mark.parametrize("kwargs, message", [
    ({"ticks_per_tau": 0}, "ticks_per_tau: must be a positive integer, got 0"),
    ({"weight_bits": 1}, "weight_bits: must be in 2..16, got 1"),
    ({"percentile": 0.0}, "percentile: must be in \\(0, 100\\], got 0.0"),
])
def test_weight_quantizer_refuses_bad_settings(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        WeightQuantizer(**{"ticks_per_tau": 16, **kwargs})
