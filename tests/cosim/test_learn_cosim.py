"""The on-chip learning engine against the Python rule, online, in Icarus and Verilator:
after every training sample every stored weight of both layers is read back and compared,
and the cycle at which the engine is idle again with its cycle model."""

import re

import numpy as np
import pytest

from spikeforge.compiler.map import plan_network
from spikeforge.cosim.learn_cosim import (
    covering_samples,
    learning_system_spec,
    run_learning_cosim,
    run_learning_system_cosim,
)
from spikeforge.cosim.runner import CosimFailure, require_simulator
from spikeforge.hdl.verilog import learning_verilog, system_verilog
from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.ir.params import NeuronParams, Reset
from spikeforge.ir.system import SystemConfig
from spikeforge.model.datasets import load_dataset
from spikeforge.model.popcount_rule import digits_setup
from spikeforge.sim.learning import DIGITS_RULE, PopcountLearner

#: the rule's digits settings (docs/learning.md, section 3), on 64-32-10
HIDDEN = 32


@pytest.fixture(scope="module")
def digits():
    ds = load_dataset("digits")
    ticks, train_fn, _, network = digits_setup(ds, hidden=HIDDEN)
    return network, ticks, train_fn, ds.train_y


def _digits_run(digits, samples: int, simulator: str, **options):
    """``samples`` digits training samples and, after every fourth, the same with half and
    with seven eighths of its inputs silent; every fourth labelled with the network's own
    decision (:func:`covering_samples`)."""
    network, ticks, train_fn, labels = digits
    learner = PopcountLearner(network, ticks, **DIGITS_RULE)
    counts, labels = covering_samples(learner, train_fn(np.arange(samples)), labels[:samples])
    # the step's right shift as the host's schedule sets it: 0, then 1, then 2
    lr_decays = [3 * k // len(labels) for k in range(len(labels))]
    return learner, run_learning_cosim(learner, counts, labels, lr_decays, simulator,
                                       **options)


def _check_report(report, samples):
    samples += 2 * (samples // 4)  # the partly silent ones
    assert report["mismatch"] is None
    assert report["samples_checked"] == samples
    assert report["weights_compared"] == samples * (64 * HIDDEN + HIDDEN * 10)
    # the rule moved both layers (a run that moves nothing would compare nothing useful)
    assert report["moved"][0] > 500 and report["moved"][1] > 50, report["moved"]


@pytest.mark.parametrize("simulator,samples", [
    ("icarus", 8), pytest.param("verilator", 32, marks=pytest.mark.slow)])
def test_engine_learns_digits_exactly_as_the_rule(digits, simulator, samples):
    require_simulator(simulator)
    _, result = _digits_run(digits, samples, simulator)
    _check_report(result.report, samples)


@pytest.mark.slow
@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_engine_matches_the_rule_over_500_online_digits_samples(digits, simulator):
    require_simulator(simulator)
    _, result = _digits_run(digits, 500, simulator)
    _check_report(result.report, 500)


def _tiny_learner(**rule):
    rng = np.random.default_rng(1)
    p = NeuronParams(decay_bits=8, alpha=230, threshold=60, fire_once=True, reset=Reset.ZERO)
    network = IntegerNetwork((IntegerLayer(rng.integers(-10, 60, size=(6, 8)), p),
                              IntegerLayer(rng.integers(-40, 60, size=(8, 3)), p)))
    settings = dict(frac_bits=3, shift_out=2, shift_hidden=1, ramp=5, margin=2, shift_revive=0)
    counts = np.zeros((30, 20, 6), dtype=np.int64)
    for s in range(30):
        counts[s, rng.integers(0, 20, size=6), np.arange(6)] = rng.random(6) < 0.9
    return PopcountLearner(network, 20, **{**settings, **rule}), counts, rng.integers(0, 3, 30)


@pytest.mark.parametrize("rule", [
    {}, {"shift_hidden": None}, {"shift_revive": None, "frac_bits": 0, "ramp": 40},
    {"shift_revive": 2, "margin": 0}], ids=["default", "frozen-first-layer", "no-revive-F0",
                                            "strong-revive-m0"])
def test_small_networks_and_every_rule_option_match(rule):
    """A 6-8-3 network, 30 samples, lr_decay 0..2, in Icarus: the settings the digits run
    does not reach (a frozen first layer, no revive, no fraction bits, no margin)."""
    require_simulator("icarus")
    learner, counts, labels = _tiny_learner(**rule)
    result = run_learning_cosim(learner, counts, labels, [k // 10 for k in range(30)], "icarus")
    assert result.report["samples_checked"] == 30 and result.report["moved"][1] > 0
    assert result.report["moved"][0] > 0 or rule.get("shift_hidden", 1) is None


def _stuck_popcount_bit(text: str) -> str:
    """The Verilog with bit 0 of the "up" popcount register (the hidden delta's votes) read
    as 1: its one reader, the adder of the next count, sees ``up_votes | 1``."""
    text, n = re.subn(r"(assign \S+\s*= )up_votes( \+ )", r"\1(up_votes | 4'h1)\2", text)
    assert n == 1
    return text


def test_a_stuck_popcount_bit_is_reported_by_sample_layer_and_weight(digits):
    require_simulator("icarus")
    network, ticks, train_fn, labels = digits
    learner = PopcountLearner(network, ticks, **DIGITS_RULE)
    text = _stuck_popcount_bit(learning_verilog(learner.hardware_config()))
    index = np.arange(8)
    with pytest.raises(CosimFailure, match=r"first mismatch: sample \d+, layer 0, weight "
                                           r"\[\d+, \d+\] \(input \d+ -> hidden \d+\)"):
        run_learning_cosim(learner, train_fn(index), labels[index], None, "icarus",
                           verilog_text=text)


def test_a_wrong_cycle_model_is_reported():
    require_simulator("icarus")
    learner, counts, labels = _tiny_learner()
    result = run_learning_cosim(learner, counts[:3], labels[:3], None, "icarus", cycle_skew=1,
                                check=False)
    mismatch = result.report["mismatch"]
    assert mismatch["kind"] == "cycle" and mismatch["sample"] == 0
    assert mismatch["got"] == mismatch["expected"] - 1


def test_a_lost_weight_change_pulse_is_reported():
    """The port that tells the cores their new weights, with the input layer's pulses lost
    (the first ``weight__valid = 1`` of the Verilog is the write-back stage's for layer 0):
    the bench names the sample and the first pulse that differs."""
    require_simulator("icarus")
    learner, counts, labels = _tiny_learner()
    text = learning_verilog(learner.hardware_config())
    high = "weight__valid = 1'h1;"
    pulses = [m.start() for m in re.finditer(re.escape(high), text)]
    assert len(pulses) == 2
    text = text[:pulses[0]] + high.replace("1'h1", "1'h0") + text[pulses[0] + len(high):]
    result = run_learning_cosim(learner, counts[:10], labels[:10], None, "icarus",
                                verilog_text=text, check=False)
    mismatch = result.report["mismatch"]
    assert mismatch["kind"] == "weight change", mismatch
    assert re.match(r"sample \d+: weight-change pulse \d+ \(layer, pre, post, value\): "
                    r"expected \(0, \d+, \d+, -?\d+\), got", mismatch["text"]), mismatch["text"]


# -- the engine inside the system -----------------------------------------------------------------

def _system_run(digits, samples, simulator, **options):
    network, ticks, train_fn, labels = digits
    learner = PopcountLearner(network, ticks, **DIGITS_RULE)
    index = np.arange(samples)
    return run_learning_system_cosim(learner, train_fn(index), labels[index],
                                     [3 * k // samples for k in range(samples)], simulator,
                                     **options)


def test_the_system_trains_digits_online_as_the_rule(digits):
    """Training inferences (every tick run), learn commands, the weights written into the
    cores and the stores, in Icarus: every inference compared as the system bench compares
    one, with the weights the rule holds, so a weight the engine did not write into a core
    (or wrote wrong) shows in the next inference. Three hidden cores of 4 lanes (the slow
    test runs one core per layer): the weight changes are decoded to cores and lanes, and
    the merger's round-robin pointer carries over from one inference to the next (a cycle
    model restarted per sample disagreed at the fourth)."""
    require_simulator("icarus")
    plan = plan_network(digits[0], neurons_per_core=12, lanes=4)
    assert [len([c for c in plan.cores if c.layer == l]) for l in (0, 1)] == [3, 1]
    result = _system_run(digits, 4, "icarus", plan=plan)
    assert result.report["samples_learned"] == 4 and result.report["inferences"] == 4


@pytest.mark.parametrize("core", [pytest.param(0, marks=pytest.mark.slow), 1],
                         ids=["hidden-core", "output-core"])
def test_a_core_not_given_its_new_weights_is_caught_by_the_next_inference(digits, core):
    """The host write enable of one core, which the engine's weight-change pulses drive,
    stuck at 0: the core keeps its old weights and a later inference differs from the
    golden model's with the rule's weights. (2 fraction bits, so that the inference
    weights move by whole steps from the first samples.)"""
    require_simulator("icarus")
    network, ticks, train_fn, labels = digits
    rule = {**DIGITS_RULE, "frac_bits": 2}
    learner = PopcountLearner(network, ticks, **rule)
    text = system_verilog(plan_network(network), SystemConfig(), learner.hardware_config())
    enables = list(re.finditer(r"(assign \S+\s*= )learn_change_valid & \S+ ;", text))
    assert len(enables) == 2  # one per core, in core order
    hit = enables[core]
    text = text[:hit.start()] + hit.group(1) + "1'h0;" + text[hit.end():]
    index = np.arange(3)
    result = run_learning_system_cosim(learner, train_fn(index), labels[index], None, "icarus",
                                       verilog_text=text, check=False)
    mismatch = result.report["mismatch"]
    assert mismatch is not None and mismatch["kind"].startswith("image "), mismatch
    assert 1 <= result.report["samples_learned"] < 3


@pytest.fixture(scope="module")
def long_run_spec(digits):
    """The models of 500 online samples (~20 min), shared by both simulators."""
    network, ticks, train_fn, labels = digits
    learner = PopcountLearner(network, ticks, **DIGITS_RULE)
    index = np.arange(500)
    return learning_system_spec(learner, plan_network(network), SystemConfig(),
                                train_fn(index), labels[index],
                                [3 * k // 500 for k in range(500)])


@pytest.mark.slow
@pytest.mark.parametrize("simulator", ["verilator", "icarus"])
def test_the_system_trains_500_digits_samples_exactly_as_the_rule(digits, long_run_spec,
                                                                  simulator):
    require_simulator(simulator)
    result = _system_run(digits, 500, simulator, spec=long_run_spec)
    assert result.report["samples_learned"] == 500
