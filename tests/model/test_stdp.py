"""model/stdp.py: STDP with winner-take-all and adaptive thresholds, ASP, labelling, and the
deployed network."""

import numpy as np
import pytest

from spikeforge.compiler.quantize import float_reference_forward
from spikeforge.ir.errors import ConfigError
from spikeforge.model import stdp


def _net(weights, **config):
    weights = np.asarray(weights, dtype=float)
    cfg = stdp.STDPConfig(n_neurons=weights.shape[1], **config)
    return stdp.STDPNetwork(cfg, weights.copy(), np.zeros(weights.shape[1]))


def test_winner_take_all_threshold_and_refractory_by_hand():
    # neuron 1 gets 6 per input spike, neuron 0 gets 5: neuron 1 reaches 13 first
    net = _net([[5.0, 6.0]], tau_mem=1e9, threshold=13.0, refractory=2)
    counts = np.ones((8, 1), dtype=np.uint8)
    spikes = stdp.present(net, counts, learn=False)
    # v1: 6, 12, 18 -> fires at tick 2, all reset, ticks 3-4 refractory, 6, 12, 18 at tick 7
    assert spikes.tolist() == [0, 2]


def test_stdp_update_and_adaptive_threshold_by_hand():
    net = _net([[0.5], [0.5], [0.5]], tau_mem=1e9, threshold=0.9, refractory=0, eta=0.1,
               x_target=0.4, tau_trace=2.0, theta_plus=0.25)
    counts = np.array([[1, 0, 0], [0, 1, 0]], dtype=np.uint8)  # v = 0.5, then 1.0: fires at tick 1
    spikes = stdp.present(net, counts, learn=True)
    assert spikes.tolist() == [1]
    x = np.array([0.5, 1.0, 0.0])  # input 0's trace decayed once by 1 - 1/2
    assert net.weights[:, 0] == pytest.approx(0.5 + 0.1 * (x - 0.4))
    assert net.theta[0] == 0.25


def test_normalisation_and_asp_leak():
    rng = np.random.default_rng(0)
    net = stdp.new_network(20, stdp.STDPConfig(n_neurons=3, w_sum=5.0, asp=True, leak_idle=0.5))
    assert net.weights.sum(axis=0) == pytest.approx([5.0] * 3)
    before = net.weights.copy()
    stdp._leak(net, np.array([1, 0, 0]))
    assert net.weights[:, 0] == pytest.approx(before[:, 0])  # fired: leak_active = 0
    assert net.weights[:, 1] == pytest.approx(before[:, 1] + (0.25 - before[:, 1]) * 0.5)
    net.weights[:] = rng.uniform(0, 3, net.weights.shape)
    stdp._normalise(net)
    assert net.weights.max() <= 1.0 and net.weights.sum(axis=0) == pytest.approx([5.0] * 3, abs=1)


def test_two_patterns_are_learned_without_labels():
    """Two disjoint input groups shown in turn: each of two neurons takes one, the labels
    found afterwards name them, and the deployed integer network classifies both."""
    rng = np.random.default_rng(1)
    x = np.zeros((40, 16), dtype=np.int64)
    y = np.arange(40) % 2
    x[y == 0, :8] = 255
    x[y == 1, 8:] = 255
    config = stdp.STDPConfig(n_neurons=2, ticks=60, rate=200.0, w_sum=4.0, threshold=2.0,
                             eta=0.05, theta_plus=0.02, tau_mem=20.0)
    net = stdp.new_network(16, config, seed=3)
    stdp.train(net, x[rng.permutation(40)], 255)
    response = stdp.responses(net, x, 255)
    labels = stdp.assign_labels(net, response, y, n_classes=2)
    assert sorted(labels.tolist()) == [0, 1]
    assert (stdp.classify(net, response, n_classes=2) == y).all()
    group = net.weights[:8].sum(axis=0) > net.weights[8:].sum(axis=0)
    assert group.tolist() == [labels[0] == 0, labels[1] == 0]


def test_deployed_network_folds_the_adaptive_thresholds():
    """Layer 0 of the deployed float network spikes like the trained neurons with their own
    thresholds ``threshold + theta`` and no inhibition."""
    rng = np.random.default_rng(2)
    net = _net(rng.uniform(0, 1, (6, 3)), tau_mem=10.0, threshold=2.0)
    net.theta[:] = [0.0, 1.0, 3.0]
    net.labels = np.array([0, 1, 1])
    counts = rng.integers(0, 2, (1, 30, 6))
    trace = float_reference_forward(stdp.deployed_description(net, n_classes=2), counts)
    v = np.zeros(3)
    want = np.zeros((30, 3), dtype=bool)
    for t in range(30):
        v = (1 - 1 / 10.0) * v + counts[0, t] @ net.weights
        want[t] = v >= 2.0 + net.theta
        v[want[t]] = 0.0
    assert np.array_equal(trace.spikes[0][0], want)
    assert not trace.spikes[1].any()  # the vote layer never fires
    assert stdp.to_integer_network(net, n_classes=2).layers[1].n_neurons == 2


def test_errors():
    with pytest.raises(ConfigError, match="n_neurons: must be a positive integer"):
        stdp.STDPConfig(n_neurons=0)
    with pytest.raises(ConfigError, match="labels: assign_labels"):
        stdp.classify(_net([[1.0]]), np.zeros((1, 1)))
