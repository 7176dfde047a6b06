"""Quantization: scales, round-half-even, thresholds, decays, state widths, float agreement."""

import dataclasses

import numpy as np
import pytest
import torch

from spikeforge.compiler.quantize import (
    ROUNDING,
    accuracy,
    float_network_from_description,
    float_reference_forward,
    quantize,
    quantize_decay,
    state_bits,
)
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.ir.params import Decision, Reset
from spikeforge.sim.golden import GoldenCore
from spikeforge.sim.network import run_network


def test_scale_rounding_and_threshold_of_a_known_layer():
    # max |w| = 2.54 -> scale = 127 / 2.54 = 50; w * 50 = 127, -0.5 -> -0 (tie to even), 1.5 -> 2,
    # 2.5 -> 2 (tie to even), 3.5 -> 4, -2.5 -> -2
    weight = np.array([[2.54, -0.01, 0.03, 0.05, 0.07, -0.05]])  # [out=1, in=6]
    result = quantize([{"weight": weight, "threshold": 0.3, "alpha": 0.75, "beta": 1.0}],
                      weight_bits=8, decay_bits=8)
    q = result.layers[0]
    assert ROUNDING == "round-half-even"
    assert q.scale == pytest.approx(50.0)
    layer = result.network.layers[0]
    assert layer.weights[:, 0].tolist() == [127, 0, 2, 2, 4, -2]
    assert layer.params.threshold == 15  # 0.3 * 50
    assert (layer.params.alpha, layer.params.beta) == (192, 256)
    assert layer.max_events_per_tick == 6  # fan-in
    assert q.clipped_fraction == 0.0
    dequantized = layer.weights[:, 0] / 50.0
    error = dequantized - weight[0]
    assert q.weight_max_error == pytest.approx(np.abs(error).max() / 2.54)
    assert q.weight_rms_error == pytest.approx(np.sqrt(np.mean(error ** 2)) / np.sqrt(np.mean(weight ** 2)))


def test_tiny_threshold_is_clamped_to_one_and_decays_round_half_even():
    result = quantize([{"weight": [[1.0, -1.0]], "threshold": 1e-4}], weight_bits=4)
    assert result.network.layers[0].params.threshold == 1
    assert any("clamped to 1" in note for note in result.layers[0].notes)
    assert quantize_decay(0.5 / 256 * 3, 8) == 2  # 1.5 -> 2
    assert quantize_decay(0.5 / 256 * 5, 8) == 2  # 2.5 -> 2
    assert quantize_decay(1.0, 12) == 4096 and quantize_decay(0.0, 12) == 0


def test_percentile_scaling_clips_the_largest_weights():
    weight = np.linspace(-1, 1, 201)[None, :] ** 3
    result = quantize([{"weight": weight}], weight_bits=8, percentile=90)
    q = result.layers[0]
    assert q.scale == pytest.approx(127 / np.percentile(np.abs(weight), 90))
    assert q.clipped_fraction == pytest.approx(np.mean(np.abs(weight) * q.scale > 127.5), abs=0.01)
    assert 0.05 < q.clipped_fraction < 0.15
    assert np.abs(result.network.layers[0].weights).max() == 127


def test_state_widths_hold_the_worst_case_without_saturating():
    rng = np.random.default_rng(3)
    layers = [{"weight": np.abs(rng.normal(0, 1, (6, 9))), "alpha": 0.9, "beta": 0.95,
               "threshold": 1e6},  # never fires: v only grows, the worst case for its width
              {"weight": -np.abs(rng.normal(0, 1, (3, 6))), "alpha": 1.0, "beta": 1.0,
               "threshold": 1.0}]
    ticks = 60
    result = quantize(layers, ticks=ticks)
    assert not any(q.may_saturate for q in result.layers)
    worst = np.ones((1, ticks, 9), dtype=np.int64)  # every input spikes every tick
    wide = IntegerNetwork(tuple(
        IntegerLayer(layer.weights, dataclasses.replace(layer.params, current_bits=32,
                                                        membrane_bits=32))
        for layer in result.network.layers), result.network.decision)
    narrow_trace, wide_trace = run_network(result.network, worst), run_network(wide, worst)
    for a, b in zip(narrow_trace.spikes, wide_trace.spikes):
        assert np.array_equal(a, b)
    assert np.array_equal(narrow_trace.output_v, wide_trace.output_v)
    # the first layer's current came within a factor 4 of its width: the bound is not loose
    i_bits = result.network.layers[0].params.current_bits
    i_max = GoldenCore.of(result.network.layers[0].core_config()).run(worst).i.max()
    assert i_max >= (1 << (i_bits - 3))


def test_unbounded_state_is_capped_and_reported():
    weights = np.full((4, 2), 100)
    assert state_bits(weights, 10, 4096, 4096, 12, ticks=None) == (32, 32, True)
    result = quantize([{"weight": np.ones((2, 4))}])  # no decay, ticks unknown
    assert result.layers[0].may_saturate
    assert result.network.layers[0].params.membrane_bits == 32


def test_float_and_quantized_networks_agree_on_random_inputs():
    rng = np.random.default_rng(0)
    description = {"decision": "spike-count", "layers": [
        {"weight": rng.normal(0, 0.4, (16, 20)), "alpha": 0.8, "beta": 0.9, "threshold": 1.0},
        {"weight": rng.normal(0, 0.5, (5, 16)), "alpha": 0.7, "beta": 0.95, "threshold": 1.0,
         "reset": "zero"}]}
    counts = (rng.random((200, 30, 20)) < 0.2).astype(np.int64)
    float_trace = float_reference_forward(description, counts)
    for weight_bits, decay_bits, spike_agreement, decision_agreement in [(8, 12, 0.93, 0.9),
                                                                          (12, 16, 0.99, 0.98)]:
        result = quantize(description, weight_bits=weight_bits, decay_bits=decay_bits, ticks=30)
        int_trace = run_network(result.network, counts)
        for l in range(2):
            assert (int_trace.spikes[l] == float_trace.spikes[l]).mean() >= spike_agreement
        assert (int_trace.decision == float_trace.decision).mean() >= decision_agreement
    labels = float_trace.decision
    assert accuracy(description, counts, labels) == 1.0
    assert accuracy(result.network, counts, labels, batch_size=64) >= 0.98


def test_float_reference_forward_has_the_contracts_timing():
    # one input, weight 1, threshold 1, fire_once: layer 0 spikes in tick 0, layer 1 in tick 1
    description = [{"weight": [[1.0]], "threshold": 1.0, "fire_once": True},
                   {"weight": [[1.0], [0.0]], "threshold": 0.5, "alpha": 0.0,
                    "reset": "zero"}]
    trace = float_reference_forward(description, np.ones((1, 3, 1), dtype=int),
                                    decision=Decision.FIRST_SPIKE)
    assert trace.spikes[0][0, :, 0].tolist() == [True, False, False]
    assert trace.spikes[1][0, :, :].tolist() == [[False, False], [True, False], [False, False]]
    assert trace.decision.tolist() == [0] and trace.decision_tick.tolist() == [1]


def test_torch_state_dict_description():
    torch.manual_seed(0)
    state = {"fc1.weight": torch.randn(8, 5), "fc1.beta": torch.tensor(0.9),
             "fc1.threshold": torch.tensor(0.5), "fc2.weight": torch.randn(3, 8),
             "fc2.fire_once": torch.tensor(True)}
    net = float_network_from_description(state, defaults={"alpha": 0.5})
    assert [(L.n_inputs, L.n_neurons) for L in net.layers] == [(5, 8), (8, 3)]
    assert net.layers[0].beta == pytest.approx(0.9) and net.layers[1].fire_once
    assert net.layers[1].alpha == 0.5 and net.layers[0].reset is Reset.SUBTRACT
    assert quantize(state).network.layers[1].params.fire_once


@pytest.mark.parametrize("description, message", [
    ([{"weight": [[1.0]], "beta": 1.5}], "layers[0].beta: decay per tick must be in [0, 1]"),
    ([{"weight": [[1.0]], "threshold": 0}], "layers[0].threshold: must be positive"),
    ([{"weight": [[1.0]], "reset": "hard"}], "layers[0].reset: must be one of"),
    ([{"weight": [[1.0]], "leak": 0.1}], "layers[0]: unknown field(s) ['leak']"),
    ([{"weight": [[1.0, 2.0]]}, {"weight": [[1.0, 2.0]]}], "layers[1].weight: has 2 inputs but"),
    ([{"weight": [[np.nan]]}], "layers[0].weight: contains NaN"),
    ([{"weight": [[0.0]]}], "layers[0].weight: all weights are zero"),
    ({"fc.weight": torch.ones(2, 2), "fc.bias": torch.ones(2)}, "fc.bias: biases are not supported"),
    ("net.pt", "network description: expected"),
])
def test_bad_float_descriptions_are_named(description, message):
    with pytest.raises(ConfigError) as error:
        quantize(description)
    assert message in str(error.value)


def test_adaptive_threshold_parameters_share_the_layer_scale():
    weight = np.array([[0.5, -0.25], [0.125, 1.0]])  # max |w| = 1 -> scale 127
    result = quantize([{"weight": weight, "threshold": 0.5, "adaptive": True, "rho": 0.9,
                        "adapt_step": 0.2, "reset": "zero", "fire_once": False}],
                      weight_bits=8, decay_bits=10, adapt_bits=6)
    params = result.network.layers[0].params
    assert params.adaptive and params.reset is Reset.ZERO
    assert params.threshold == 64  # round_half_even(63.5) = 64
    assert params.adapt_step == 25  # round_half_even(25.4)
    assert params.rho == 922  # round_half_even(921.6)
    assert any("adaptation a may reach" in note for note in result.layers[0].notes)  # 25 / 0.1 > 63
    with pytest.raises(ConfigError, match=r"layers\[0\].adapt_step: .* does not fit adapt_bits = 4"):
        quantize([{"weight": weight, "adaptive": True, "adapt_step": 0.2}], adapt_bits=4)


def test_weight_shift_keeps_the_weights_and_scales_the_threshold():
    """``quantize(weight_shift=S)``: the same 8-bit weights and scale; the threshold (and the
    adaptation step) at ``scale * 2**S``, the current ``S`` bits wider; the float network of
    the integer one (NIR's view) is the shifted one. Against the float network the shift
    makes the slow current decay finer: at 8-bit weights and a tau of 64 ticks, a shift of 4
    agrees with the float spikes more often than no shift. A shift the state cannot hold
    is refused by name."""
    from spikeforge.compiler.nirgraph import float_network_of_integer

    rng = np.random.default_rng(1)
    description = {"decision": "spike-count", "layers": [
        {"weight": rng.normal(0.05, 0.3, (12, 20)), "alpha": float(np.exp(-1 / 64)), "beta": 1.0,
         "threshold": 3.0, "reset": "zero", "adaptive": True, "rho": 0.9, "adapt_step": 0.5}]}
    plain = quantize(description, ticks=40, adapt_bits=12)
    shifted = quantize(description, ticks=40, adapt_bits=12, weight_shift=4)
    a, b = plain.network.layers[0], shifted.network.layers[0]
    assert np.array_equal(a.weights, b.weights)
    assert plain.layers[0].scale == shifted.layers[0].scale
    scale = plain.layers[0].scale
    assert b.params.threshold == round(3.0 * scale * 16) and b.params.weight_shift == 4
    assert b.params.adapt_step == round(0.5 * scale * 16)
    assert b.params.current_bits >= a.params.current_bits + 4
    assert np.array_equal(float_network_of_integer(shifted.network).layers[0].weight,
                          (b.weights * 16).T)
    counts = (rng.random((100, 40, 20)) < 0.1).astype(np.int64)
    reference = float_reference_forward(description, counts).spikes[0]
    agree = [(run_network(q.network, counts).spikes[0] == reference).mean()
             for q in (plain, shifted)]
    assert agree[1] > agree[0], agree
    with pytest.raises(ConfigError, match="^weight_shift: must be in 0..24 "):
        quantize(description, weight_shift=25)
