"""The multi-layer golden model: one tick of delay per layer, decisions, statistics, bad input."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spikeforge.ir.errors import ConfigError
from spikeforge.ir.network import NO_CLASS, IntegerLayer, IntegerNetwork
from spikeforge.ir.params import Decision, NeuronParams, Reset
from spikeforge.sim.golden import GoldenCore
from spikeforge.sim.network import (
    ERROR_UNDETERMINED,
    _event_phase,
    _flat_nonzero,
    _gather,
    _state_dtype,
    classify,
    decide,
    overflowing_images,
    run_network,
)
from tests.util import random_inputs, random_network


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
    (lambda: classify(hand_network(), np.full((1, 3, 2), 2)), "more than layers[0].max_events_per_tick = 2"),
    (lambda: run_network(hand_network(), np.ones((1, 3, 2))), "must hold integer event counts"),
    (lambda: run_network(hand_network(), HAND_INPUT, ticks=0), "ticks: must be a positive integer"),
])
def test_bad_networks_and_inputs_are_named(build, message):
    with pytest.raises(ConfigError) as error:
        build()
    assert message in str(error.value)


def test_hidden_layer_overflow_wraps_and_raises_the_error_flag():
    """A layer whose bound is below its fan-in: 3 spikes of layer 0 in tick 0 are 3 events of
    layer 1 in tick 1 (bound 1). Its 5-bit accumulator (4-bit current plus one weight of 4
    bits) wraps 3 * 7 = 21 to -11, so layer 1 does not spike where an exact sum would; the
    old golden model refused the input instead."""
    p = NeuronParams(threshold=1, decay_bits=8, alpha=0, beta=0)
    p1 = NeuronParams(weight_bits=4, current_bits=4, membrane_bits=8, threshold=5)
    net = IntegerNetwork((IntegerLayer(np.ones((1, 3), int), p),
                          IntegerLayer(np.full((3, 1), 7), p1, max_events_per_tick=1)),
                         Decision.SPIKE_COUNT)
    assert net.layers[1].accumulator_bits == 5
    trace = run_network(net, np.array([[[1], [0]]]))
    assert trace.spikes[0][0, 0].tolist() == [True] * 3
    assert trace.layer_event_counts(1).tolist() == [[0, 3, 0]]
    assert trace.overflow()[0].tolist() == [[False] * 3, [False, True, False]]
    assert trace.spikes[1][0, :, 0].tolist() == [False, False] and trace.output_v[0, 1, 0] == -8
    assert trace.error.tolist() == [1] and trace.first_overflow(0) == (1, 1, 3, 1)
    roomy = IntegerNetwork((net.layers[0], IntegerLayer(np.full((3, 1), 7), p1)),
                           Decision.SPIKE_COUNT)  # the exact sum: what the old model meant
    exact = run_network(roomy, np.array([[[1], [0]]]))
    assert exact.spikes[1][0, 1, 0] and exact.error.tolist() == [0]


@pytest.mark.parametrize("decision", list(Decision))
def test_error_flag_counts_the_ticks_the_system_runs(decision):
    """Input overflow (3 events, bound 2) in the first, a middle or the last tick is reported
    in every mode; after a FIRST_SPIKE decision (input 1 makes neuron 0 spike) it is not, as
    the system has stopped; exactly the bound is no overflow."""
    p = NeuronParams(threshold=50)
    net = IntegerNetwork((IntegerLayer(np.array([[0, 0], [100, 0]]), p, max_events_per_tick=2),),
                         decision)
    counts = np.zeros((5, 4, 2), dtype=np.int64)
    counts[0, 0, 0] = counts[1, 2, 0] = counts[2, 3, 0] = 3
    counts[3, 1, 1], counts[3, 2, 0] = 1, 3  # decided in tick 1 (FIRST_SPIKE), overflow in 2
    counts[4, :, 0] = 2
    trace = run_network(net, counts)
    stopped = 0 if decision is Decision.FIRST_SPIKE else 1
    assert trace.error.tolist() == [1, 1, 1, stopped, 0]
    assert trace.first_overflow(1) == (0, 2, 3, 2) and trace.first_overflow(4) is None
    early = run_network(net, counts, early_exit=True)  # the trace the co-simulation uses
    assert early.error.tolist() == trace.error.tolist()
    with pytest.raises(ConfigError, match="sample 0, tick 0 has 3 events"):
        classify(net, counts)  # strict by default: accuracy is not measured on errors
    np.testing.assert_array_equal(classify(net, counts, strict=False), trace.decision)
    assert overflowing_images(net, counts).tolist() == [0, 1, 2, 3]


def racing_network(decision):
    """Layer 0 (bound 5): input weight 5 to neuron 0, 1 to neurons 1 and 2 (threshold 5, no
    carry): one event makes neuron 0 spike, five make all three spike. The output layer
    (bound 2) spikes at any event."""
    p = NeuronParams(threshold=5, decay_bits=8, alpha=0, beta=0)
    q = NeuronParams(threshold=1, decay_bits=8, alpha=0, beta=0)
    return IntegerNetwork((IntegerLayer(np.array([[5, 1, 1]]), p, max_events_per_tick=5),
                           IntegerLayer(np.ones((3, 1), int), q, max_events_per_tick=2)), decision)


@pytest.mark.parametrize("decision", list(Decision))
def test_hidden_overflow_of_the_last_tick_run_is_reported_or_undetermined(decision):
    """Tick 0: one event -> neuron 0 spikes -> the output spikes in tick 1 (the FIRST_SPIKE
    decision). Tick 1: five events -> 3 spikes -> 3 events for the output layer's tick 2,
    past the inference's 2 ticks: still delivered in tick 1's update phase, so reported
    (1) -- except in FIRST_SPIKE, where the run stops at the deciding spike inside that very
    update phase: undetermined (-1). With only tick 0 there is nothing (0)."""
    net = racing_network(decision)
    trace = run_network(net, np.array([[[1], [5]], [[1], [0]]]))
    assert trace.layer_event_counts(1).tolist() == [[0, 1, 3], [0, 1, 0]]
    first = decision is Decision.FIRST_SPIKE
    assert trace.error.tolist() == [ERROR_UNDETERMINED if first else 1, 0]


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


# -- early exit and the sparse event phase (issue 11, point 4) -------------------------------

def _random_first_spike_case(seed, sparse):
    """A random FIRST_SPIKE network and a batch of inputs: a time-to-first-spike-like input
    (each input spikes at most once, some twice in one tick) or a dense one."""
    network = random_network(seed, decision=Decision.FIRST_SPIKE)
    rng = np.random.default_rng(seed)
    batch, ticks = 24, 12
    if sparse:
        counts = np.zeros((batch, ticks, network.n_inputs), dtype=np.int64)
        b, j = np.nonzero(rng.random((batch, network.n_inputs)) < 0.5)
        counts[b, rng.integers(0, ticks, b.size), j] = rng.choice([1, 1, 1, 2], b.size)
        limit = network.layers[0].max_events_per_tick
        assert counts.sum(axis=2).max() <= limit
    else:
        counts = random_inputs(seed, network, batch, ticks, p=0.1)
    return network, counts


@pytest.mark.parametrize("sparse", [True, False])
@pytest.mark.parametrize("seed", range(8))
def test_early_exit_equals_the_full_run_up_to_the_decision(seed, sparse):
    """Early exit (every sample stops at its decision tick) gives the full run's decisions
    and, for every sample, the same spikes of every layer, input and output membrane up to
    and including its decision tick; nothing after it is simulated."""
    network, counts = _random_first_spike_case(seed, sparse)
    full = run_network(network, counts, early_exit=False)
    early = run_network(network, counts, early_exit=True)
    np.testing.assert_array_equal(early.decision, full.decision)
    np.testing.assert_array_equal(early.decision_tick, full.decision_tick)
    assert (full.decision >= 0).any() and len(set(full.decision_tick.tolist())) > 1
    for b, tick in enumerate(full.decision_tick):
        upto = slice(0, tick + 1)
        for l in range(len(network.layers)):
            np.testing.assert_array_equal(early.spikes[l][b, upto], full.spikes[l][b, upto])
            assert not early.spikes[l][b, tick + 1:].any()
        np.testing.assert_array_equal(early.output_v[b, upto], full.output_v[b, upto])
    np.testing.assert_array_equal(classify(network, counts, batch_size=7), full.decision)


@pytest.mark.parametrize("decision", list(Decision))
def test_classify_equals_run_network_in_every_mode(decision):
    for seed in range(4):
        network = random_network(seed, decision=decision)
        counts = random_inputs(seed, network, 20, 10, p=[0.01, 0.3][seed % 2])
        np.testing.assert_array_equal(classify(network, counts, 14, batch_size=6),
                                      run_network(network, counts, 14).decision)


def test_early_exit_is_ignored_without_first_spike():
    network = random_network(3, decision=Decision.SPIKE_COUNT)
    counts = random_inputs(3, network, 5, 8)
    a, b = run_network(network, counts), run_network(network, counts, early_exit=True)
    for x, y in zip(a.spikes, b.spikes):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_sparse_event_phase_equals_the_dense_product(dtype):
    """The gather (sparse events, repeats and several events per sample) and the dense
    product are the same integers; weights near the exactness limit of float32."""
    rng = np.random.default_rng(0)
    weights = rng.integers(-(1 << 14), 1 << 14, size=(50, 30))
    for density in (0.0, 0.01, 0.04, 0.3):
        counts = (rng.random((40, 50)) < density) * rng.choice([1, 1, 2, 3], (40, 50))
        want = counts.astype(np.int64) @ weights
        rows, inputs = np.nonzero(counts)
        got = _gather(rows, inputs, counts[rows, inputs], weights.astype(dtype), 40)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(_event_phase(counts, weights.astype(dtype)), want)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int64, bool])
def test_flat_nonzero(dtype):
    rng = np.random.default_rng(1)
    for size in (0, 1, 7, 8, 64, 1001):
        a = ((rng.random(size) < 0.1) * rng.integers(1, 3, size)).astype(dtype)
        np.testing.assert_array_equal(_flat_nonzero(a), np.flatnonzero(a))


@pytest.mark.parametrize("membrane_bits,dtype", [(18, np.int32), (19, np.int64), (32, np.int64)])
def test_state_width_at_the_int32_limit_equals_the_core_golden(membrane_bits, dtype):
    """The network keeps its state in int32 when every product of the contract fits
    (widest state + decay_bits + 1 <= 31 bits), else int64; right at and past that limit,
    with saturating currents and membranes, it equals the layer-by-layer core golden model
    (int64 throughout)."""
    rng = np.random.default_rng(membrane_bits)
    p = NeuronParams(weight_bits=16, current_bits=membrane_bits, membrane_bits=membrane_bits,
                     decay_bits=12, alpha=4090, beta=4095, threshold=(1 << (membrane_bits - 1)) - 5,
                     reset=Reset.SUBTRACT)
    w_max = (1 << min(15, membrane_bits - 8)) - 1  # large weights: the current saturates
    layer = IntegerLayer(rng.integers(-w_max, w_max + 1, (200, 6)), p)
    assert _state_dtype(layer) is dtype
    net = IntegerNetwork((layer,), Decision.SPIKE_COUNT)
    counts = rng.integers(0, 3, (4, 40, 200)) * (rng.random((4, 1, 200)) < 0.8)
    counts[:, :, :100] *= 0  # the positive and the negative extremes both occur below
    net_counts = np.concatenate([counts, counts[:, :, ::-1]])
    trace = run_network(net, net_counts)
    golden = GoldenCore.of(layer.core_config()).run(net_counts)
    np.testing.assert_array_equal(trace.spikes[0], golden.spikes)
    np.testing.assert_array_equal(trace.output_v, golden.v)
    assert np.abs(golden.v).max() > (1 << 16)  # beyond any 16-bit state
