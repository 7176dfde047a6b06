import numpy as np
import pytest

from spikeforge.ir.errors import ConfigError
from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.ir.params import NeuronParams, Reset
from spikeforge.model.popcount_rule import PopcountLearner, first_ticks, hidden_signs, output_signs
from spikeforge.sim.network import run_network

T = 20


def test_first_ticks():
    s = np.zeros((1, 5, 3), dtype=bool)
    s[0, 2, 0] = s[0, 4, 0] = s[0, 1, 2] = True
    assert first_ticks(s).tolist() == [[2, 5, 1]]


def test_output_signs():
    t = np.array([[5, 9, T, 7],     # label 0 first alone: learned, nothing to do
                  [5, 3, T, 4],     # label 0 beaten by 1 (t=3) and 3 (t=4)
                  [T, 3, T, 3],     # label 0 silent; 1 and 3 tie first
                  [5, 5, T, T]])    # tie with a lower... (label 1, output 0 same tick)
    labels = np.array([0, 0, 0, 1])
    first = output_signs(t, labels, T)
    assert first.tolist() == [[0, 0, 0, 0], [1, -1, 0, 0], [1, -1, 0, -1], [-1, 1, 0, 0]]
    every = output_signs(t, labels, T, slow_down="all")
    assert every.tolist() == [[0, 0, 0, 0], [1, -1, 0, -1], [1, -1, 0, -1], [-1, 1, 0, 0]]
    # a margin makes a narrow win an error too
    assert output_signs(t[:1], labels[:1], T, margin=2).tolist() == [[1, 0, 0, -1]]
    with pytest.raises(ConfigError, match="slow_down"):
        output_signs(t, labels, T, slow_down="some")


def test_hidden_signs_two_popcounts():
    # one sample, 2 hidden, 3 outputs: s_o = [+1, -1, +1]
    s_out = np.array([[1, -1, 1]])
    w = np.array([[5, 3, -2],     # h0 votes: +1 (o0), -1 (o1), -1 (o2) -> later
                  [4, -1, 0]])    # h1 votes: +1, +1, 0 (zero weight)   -> earlier
    causal = np.ones((1, 2, 3), dtype=bool)
    assert hidden_signs(causal, s_out, w).tolist() == [[-1, 1]]
    causal[0, 0, 1:] = False      # h0 only causal for o0 -> earlier
    assert hidden_signs(causal, s_out, w).tolist() == [[1, 1]]
    causal[0, 1] = False          # h1 causal for nothing -> no vote, 0
    assert hidden_signs(causal, s_out, w).tolist() == [[1, 0]]


def _tiny_network(w1, w2, threshold=10):
    p = NeuronParams(decay_bits=8, alpha=230, threshold=threshold, fire_once=True, reset=Reset.ZERO)
    return IntegerNetwork((IntegerLayer(np.array(w1), p), IntegerLayer(np.array(w2), p)))


def test_step_touches_only_causal_weights_and_saturates():
    # 2 inputs -> 3 hidden -> 2 outputs. Input 0 at tick 0, input 1 at tick 6.
    w1 = [[20, 0, 1],
          [0, 20, 0]]
    w2 = [[20, 20],     # hidden 0 spikes at tick 0, drives both outputs
          [0, 0],       # hidden 1 spikes later (input 1 at tick 6)
          [127, -128]]  # hidden 2 never spikes (weight 1 decays away below threshold 10)
    net = _tiny_network(w1, w2)
    counts = np.zeros((1, T, 2), dtype=np.int64)
    counts[0, 0, 0] = 1
    counts[0, 6, 1] = 1
    trace = run_network(net, counts, T)
    t_h, t_o = first_ticks(trace.spikes[0])[0], first_ticks(trace.spikes[1])[0]
    assert t_h.tolist() == [0, 6, T] and t_o.tolist() == [1, 1]   # tie: output 0 wins
    learner = PopcountLearner(net, T, frac_bits=0, eta_out=3, eta_hidden=2)
    decision = learner.step(counts, np.array([1]))               # label 1: tie is an error
    assert decision.tolist() == [0]
    new = learner.current_network()
    # causal for both outputs (t_o = 1): hidden 0 only. o1 speeds up, o0 slows down
    assert new.layers[1].weights.tolist() == [[17, 23], [0, 0], [127, -128]]
    # hidden 0: o0 (slow down, w>0) votes later, o1 (speed up, w>0) votes earlier: tie -> 0
    assert new.layers[0].weights.tolist() == w1
    # with output 1 alone sped up (slow_down of o0 offsets nothing: w[0, 0] = 0 gives no
    # vote), hidden 0 is voted earlier: its causal input weight w1[0, 0] grows
    net2 = _tiny_network(w1, [[0, 127], [0, 0], [0, 0]])
    learner2 = PopcountLearner(net2, T, frac_bits=0, eta_out=3, eta_hidden=2)
    t_o2 = first_ticks(run_network(net2, counts, T).spikes[1])[0]
    assert t_o2.tolist() == [T, 1]
    learner2.step(counts, np.array([0]))                         # o0 silent: speed up; o1 slows
    w = learner2.current_network()
    # o0 silent: causal set = hidden that spiked before the decision tick 1 (hidden 0 only)
    assert w.layers[1].weights.tolist() == [[3, 124], [0, 0], [0, 0]]
    # hidden 0: o1 (slow, w>0) votes later; o0 (speed, w=0) no vote -> later: w1[0, 0] -= 2
    # hidden 1: o0 speed with w=0: no vote -> unchanged
    assert w.layers[0].weights.tolist() == [[18, 0, 1], [0, 20, 0]]
    # window="spike": the silent output's causal set is every hidden spike (0 and 1)
    learner_s = PopcountLearner(net2, T, frac_bits=0, eta_out=3, eta_hidden=0, window="spike")
    learner_s.step(counts, np.array([0]))
    assert learner_s.current_network().layers[1].weights.tolist() == [[3, 124], [3, 0], [0, 0]]
    # saturation at the 8-bit limits
    net3 = _tiny_network(w1, [[127, 127], [0, 0], [0, 0]])
    learner3 = PopcountLearner(net3, T, frac_bits=0, eta_out=3, eta_hidden=0)
    learner3.step(counts, np.array([1]))                         # tie, label 1
    assert learner3.current_network().layers[1].weights[0].tolist() == [124, 127]


def test_learner_rejects_bad_config():
    net = _tiny_network([[20]], [[20]])
    with pytest.raises(ConfigError, match="eta_out"):
        PopcountLearner(net, T, eta_out=-1)
    with pytest.raises(ConfigError, match="window"):
        PopcountLearner(net, T, window="all")
    p = NeuronParams(fire_once=True)
    one_layer = IntegerNetwork((IntegerLayer(np.array([[1]]), p),))
    with pytest.raises(ConfigError, match="2 layers"):
        PopcountLearner(one_layer, T)


def test_repeated_sample_is_learned():
    rng = np.random.default_rng(0)
    w1 = rng.integers(-10, 40, size=(8, 12))
    w2 = rng.integers(-20, 40, size=(12, 4))
    net = _tiny_network(w1, w2, threshold=60)
    counts = np.zeros((4, T, 8), dtype=np.int64)
    for b in range(4):
        for j in range(8):
            counts[b, rng.integers(0, 6), j] = 1
    labels = np.array([0, 1, 2, 3])
    learner = PopcountLearner(net, T, frac_bits=2, eta_out=4, eta_hidden=1)
    for _ in range(60):
        for b in range(4):
            learner.step(counts[b:b + 1], labels[b:b + 1])
    decisions = run_network(learner.current_network(), counts, T).decision
    assert (decisions == labels).mean() >= 0.75
