"""The multi-layer golden model: one tick of delay per layer, decisions, statistics, bad input."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spikeforge.ir.errors import ConfigError
from spikeforge.ir.network import NO_CLASS, IntegerLayer, IntegerNetwork
from spikeforge.ir.params import Decision, NeuronParams, Reset
from spikeforge.sim.golden import GoldenCore
from spikeforge.sim.network import decide, run_network


def hand_network(decision=Decision.FIRST_SPIKE):
    """2 inputs -> 2 neurons -> 1 neuron; alpha = 0 (the current lasts one tick), no leak."""
    p0 = NeuronParams(decay_bits=8, alpha=0, beta=256, threshold=10)
    p1 = NeuronParams(decay_bits=8, alpha=0, beta=256, threshold=10)
    return IntegerNetwork((IntegerLayer(np.array([[6, 10], [5, -3]]), p0),
                           IntegerLayer(np.array([[7], [4]]), p1)), decision)


HAND_INPUT = np.array([[1, 0], [1, 1], [0, 0], [0, 0]])  # [ticks, inputs]


def test_hand_computed_two_layer_example():
    # layer 0: t0 i=[6,10] v=[6,10] -> n1 spikes, v=[6,0]; t1 i=[11,7] v=[17,7] -> n0, v=[7,7]
    # layer 1: t1 gets n1 of t0: v=4; t2 gets n0 of t1: v=11 -> spike, v=1; t3 v=1
    trace = run_network(hand_network(), HAND_INPUT)
    assert trace.spikes[0][0].astype(int).tolist() == [[0, 1], [1, 0], [0, 0], [0, 0]]
    assert trace.spikes[1][0].astype(int).tolist() == [[0], [0], [1], [0]]
    assert trace.output_v[0, :, 0].tolist() == [0, 4, 1, 1]
    assert trace.decision.tolist() == [0] and trace.decision_tick.tolist() == [2]
    stats = trace.statistics()  # ticks 0..2 (early exit at the decision)
    assert stats.ticks_run.tolist() == [3]
    assert stats.input_events.tolist() == [[3, 2]]
    assert stats.synaptic_events.tolist() == [[6, 2]]
    assert stats.weights_read_fraction[0].tolist() == pytest.approx([6 / 12, 2 / 6])
    assert stats.distinct_weights_read_fraction[0].tolist() == [1.0, 1.0]
    assert stats.hidden_spikes.tolist() == [2] and stats.output_spikes.tolist() == [1]
    full = trace.statistics(until_decision=False)
    assert full.ticks_run.tolist() == [4] and full.synaptic_events.tolist() == [[6, 2]]


def test_padding_ticks_lets_late_input_reach_the_output():
    net = hand_network()
    short = run_network(net, HAND_INPUT[:2])  # 2 ticks: the output cannot have spiked yet
    assert short.decision.tolist() == [NO_CLASS] and short.decision_tick.tolist() == [1]
    assert run_network(net, HAND_INPUT[:2], ticks=3).decision.tolist() == [0]


@st.composite
def networks(draw):
    decay_bits = draw(st.integers(4, 12))
    one = 1 << decay_bits
    sizes = draw(st.lists(st.integers(1, 6), min_size=2, max_size=4))
    layers = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        weight_bits = draw(st.integers(3, 8))
        params = NeuronParams(
            weight_bits=weight_bits, decay_bits=decay_bits,
            current_bits=draw(st.integers(weight_bits, 12)), membrane_bits=draw(st.integers(6, 12)),
            alpha=draw(st.integers(0, one)), beta=draw(st.integers(0, one)),
            threshold=draw(st.integers(1, 20)), reset=draw(st.sampled_from(list(Reset))),
            fire_once=draw(st.booleans()), adaptive=draw(st.booleans()), adapt_bits=6,
            rho=draw(st.integers(0, one)), adapt_step=draw(st.integers(0, 10)))
        lo, hi = -(1 << (weight_bits - 1)), (1 << (weight_bits - 1)) - 1
        seed = draw(st.integers(0, 2**32 - 1))
        weights = np.random.default_rng(seed).integers(lo, hi + 1, size=(n_in, n_out))
        layers.append(IntegerLayer(weights, params))
    return IntegerNetwork(tuple(layers), draw(st.sampled_from(list(Decision))))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=networks(), seed=st.integers(0, 2**32 - 1), ticks=st.integers(1, 12))
def test_network_equals_layer_by_layer_core_golden_with_one_tick_delay(net, seed, ticks):
    rng = np.random.default_rng(seed)
    counts = (rng.random((3, ticks, net.n_inputs)) < 0.5).astype(np.int64)
    trace = run_network(net, counts)
    layer_input = counts
    for l, layer in enumerate(net.layers):
        expected = GoldenCore.of(layer.core_config()).run(layer_input)
        assert np.array_equal(trace.spikes[l], expected.spikes), f"layer {l}"
        delayed = np.zeros_like(expected.spikes, dtype=np.int64)
        delayed[:, 1:] = expected.spikes[:, :-1]
        layer_input = delayed
    assert np.array_equal(trace.output_v, expected.v)
    for b in range(counts.shape[0]):  # batched == one sample at a time
        one = run_network(net, counts[b])
        assert np.array_equal(one.spikes[-1][0], trace.spikes[-1][b])
        assert one.decision[0] == trace.decision[b]


def test_decisions_break_ties_toward_the_lowest_index():
    spikes = np.zeros((4, 3, 3), dtype=bool)
    spikes[0, 1, [1, 2]] = True  # two classes first spike together in tick 1 -> class 1
    spikes[0, 2, 0] = True
    spikes[1, 0, 2] = True  # earliest spike wins over later ones
    spikes[1, 1, 0] = True
    # sample 2: no spike at all; sample 3: spike in the last tick only
    spikes[3, 2, 2] = True
    v = np.array([[5, 5, 1], [0, 2, 2], [0, 0, 0], [-3, -1, -1]])
    decision, tick = decide(spikes, v, Decision.FIRST_SPIKE)
    assert decision.tolist() == [1, 2, NO_CLASS, 2] and tick.tolist() == [1, 0, 2, 2]
    counts, tick = decide(spikes, v, Decision.SPIKE_COUNT)
    assert counts.tolist() == [0, 0, 0, 2] and tick.tolist() == [2, 2, 2, 2]
    assert decide(spikes, v, Decision.MEMBRANE_MAX)[0].tolist() == [0, 1, 0, 1]


def test_membrane_max_reads_v_after_the_last_tick():
    trace = run_network(hand_network(Decision.MEMBRANE_MAX), HAND_INPUT)
    assert trace.decision.tolist() == [0] and trace.decision_tick.tolist() == [3]


@pytest.mark.parametrize("build, message", [
    (lambda: IntegerNetwork((IntegerLayer(np.ones((2, 3), int), NeuronParams()),
                             IntegerLayer(np.ones((4, 1), int), NeuronParams()))),
     "layers[1].weights: has 4 inputs but layers[0] has 3 neurons"),
    (lambda: IntegerNetwork(()), "layers: a network needs at least one layer"),
    (lambda: IntegerLayer(np.full((2, 2), 200), NeuronParams()), "weights[0, 0] = 200"),
    (lambda: IntegerNetwork((IntegerLayer(np.ones((2, 1), int), NeuronParams()),), "vote"),
     "decision: must be one of"),
    (lambda: run_network(hand_network(), np.ones((1, 3, 5), int)), "input_counts: expected shape"),
    (lambda: run_network(hand_network(), -np.ones((1, 3, 2), int)), "input_counts[0, 0, 0] = -1"),
    (lambda: run_network(hand_network(), np.full((1, 3, 2), 2)), "more than layers[0].max_events_per_tick = 2"),
    (lambda: run_network(hand_network(), np.ones((1, 3, 2))), "must hold integer event counts"),
    (lambda: run_network(hand_network(), HAND_INPUT, ticks=0), "ticks: must be a positive integer"),
])
def test_bad_networks_and_inputs_are_named(build, message):
    with pytest.raises(ConfigError) as error:
        build()
    assert message in str(error.value)


def test_hidden_layer_event_bound_is_enforced():
    p = NeuronParams(threshold=1)
    net = IntegerNetwork((IntegerLayer(np.ones((1, 3), int), p),
                          IntegerLayer(np.ones((3, 1), int), p, max_events_per_tick=2)))
    with pytest.raises(ConfigError, match=r"layers\[1\].max_events_per_tick = 2 is exceeded"):
        run_network(net, np.ones((1, 3, 1), int))


def test_statistics_equal_a_naive_count_per_sample():
    rng = np.random.default_rng(5)
    p = NeuronParams(decay_bits=8, alpha=200, beta=240, threshold=60)
    net = IntegerNetwork((IntegerLayer(rng.integers(-20, 60, (8, 6)), p),
                          IntegerLayer(rng.integers(-20, 60, (6, 5)), p),
                          IntegerLayer(rng.integers(-20, 60, (5, 3)), p)), Decision.FIRST_SPIKE)
    rates = np.linspace(0.02, 0.4, 30)[:, None, None]  # some samples never reach the output
    counts = (rng.random((30, 15, 8)) < rates).astype(np.int8)
    trace = run_network(net, counts)
    assert len(set(trace.decision_tick.tolist())) > 2  # early exits at different ticks
    for until_decision in (True, False):
        stats = trace.statistics(until_decision)
        for b in range(counts.shape[0]):
            ticks_run = trace.decision_tick[b] + 1 if until_decision else 15
            assert stats.ticks_run[b] == ticks_run
            layer_input = counts[b].astype(np.int64)
            for l, layer in enumerate(net.layers):
                seen = layer_input[:ticks_run]
                assert stats.input_events[b, l] == seen.sum()
                assert stats.synaptic_events[b, l] == seen.sum() * layer.n_neurons
                assert stats.weights_read_fraction[b, l] == pytest.approx(
                    seen.sum() * layer.n_neurons / (layer.n_inputs * layer.n_neurons * ticks_run))
                assert stats.distinct_weights_read_fraction[b, l] == pytest.approx(
                    (seen.sum(axis=0) > 0).sum() / layer.n_inputs)
                layer_input = np.vstack([np.zeros((1, layer.n_neurons), np.int64),
                                         trace.spikes[l][b, :-1].astype(np.int64)])
            hidden = sum(int(trace.spikes[l][b, :ticks_run].sum()) for l in range(2))
            assert stats.hidden_spikes[b] == hidden
            assert stats.output_spikes[b] == trace.spikes[2][b, :ticks_run].sum()
