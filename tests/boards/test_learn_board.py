"""Learning over the UART (boards/cosim.py, a learning build of the board core): the host
driver trains the board online -- per sample LOAD, TRAIN, LEARN -- and reads every stored
weight back, in co-simulation through the UART model. Each training RESULT must equal the
golden model's with the weights the rule holds before the sample, each LEARNED the
update's cycle model, the stores the rule's after the last sample; the learning commands'
errors must come back as ERROR frames. A wrong label from the host, and a corrupted reply,
are caught by sample and field."""

import copy
import functools
import re

import numpy as np
import pytest

from spikeforge.boards.cosim import (
    board_verilog,
    check_board_learning,
    expected_learning,
    run_board_learning,
)
from spikeforge.compiler.map import plan_network
from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.ir.params import NeuronParams, Reset
from spikeforge.ir.system import SystemConfig
from spikeforge.sim.learning import DIGITS_RULE, PopcountLearner
from tests.util import require_simulator

#: the default-suite run: Icarus (the board core with the engine builds in Verilator in
#: ~100 s on 2 cores, longer than the whole Icarus run)
SIMULATOR = "icarus"
SAMPLES = 4


def _tiny_learner():
    """A 6-8-3 network (random weights), 20 ticks, and 30 samples: one event per input at a
    random tick (most inputs)."""
    rng = np.random.default_rng(1)
    p = NeuronParams(decay_bits=8, alpha=230, threshold=60, fire_once=True, reset=Reset.ZERO)
    network = IntegerNetwork((IntegerLayer(rng.integers(-10, 60, size=(6, 8)), p),
                              IntegerLayer(rng.integers(-40, 60, size=(8, 3)), p)))
    counts = np.zeros((30, 20, 6), dtype=np.int64)
    for s in range(30):
        counts[s, rng.integers(0, 20, size=6), np.arange(6)] = rng.random(6) < 0.9
    learner = PopcountLearner(network, 20, frac_bits=3, shift_out=2, shift_hidden=1, ramp=5,
                              margin=2, shift_revive=0)
    return learner, counts, rng.integers(0, 3, 30)


@functools.cache
def tiny_run(samples: int, label_offset: int = 0):
    """The tiny network trained on the board over ``samples`` samples (lr_decay 0, 1, 2,
    ...) in Icarus: (learner, counts, labels, lr_decays, report). Cached: the checks of a
    corrupted reply edit a copy of the report rather than co-simulating again (~25 s)."""
    require_simulator(SIMULATOR)
    learner, counts, labels = _tiny_learner()
    counts, labels = counts[:samples], labels[:samples]
    lr_decays = [k % 3 for k in range(samples)]
    result = run_board_learning(learner, counts, labels, lr_decays, SIMULATOR,
                                label_offset=label_offset)
    return learner, counts, labels, lr_decays, result.report


def test_board_learns_online_as_the_rule():
    learner, counts, labels, lr_decays, report = tiny_run(SAMPLES)
    check_board_learning(report, learner, counts, labels, lr_decays)
    expected = expected_learning(learner, counts, labels, lr_decays)
    # the run means something: the rule moved both layers, the classes differ
    assert not np.array_equal(expected["stores"][1], learner.acc[1])
    assert not np.array_equal(expected["stores"][0], learner.acc[0])
    assert len({r["cls"] for r in report["train"]}) >= 2, report["train"]
    assert all(r["ticks_run"] == learner.ticks for r in report["train"])


def test_only_a_learning_build_has_the_learning_commands():
    """The learning commands' logic is generated for a learning build only: an
    inference-only board's Verilog names no learning signal (it is the Verilog it was before
    protocol version 3 but for the INFO reply: checked byte for byte when it was written)."""
    learner, _, _ = _tiny_learner()
    network = learner.current_network()
    plan = plan_network(network)
    plain = board_verilog(plan, SystemConfig(network.decision))
    learning = board_verilog(plan, SystemConfig(network.decision),
                             learning=learner.hardware_config())
    names = ("learn", "store", "train", "param1", "param2", "learn_cycles")
    assert not [n for n in names if n.lower() in plain.lower()]
    assert all(n.lower() in learning.lower() for n in names)


@pytest.mark.parametrize("field, edit, message", [
    ("store", lambda r: r["stores"][1][2].__setitem__(1, r["stores"][1][2][1] + 1),
     r"stores\[1\] after 4 samples: weight \[2, 1\] board -?\d+, rule -?\d+ \(1 word differs\)"),
    ("cycles", lambda r: r["learned"].__setitem__(2, r["learned"][2] - 1),
     r"sample 2: LEARNED \d+ cycles, the cycle model says \d+"),
    ("counts", lambda r: r["train"][3]["counts"].__setitem__(0, r["train"][3]["counts"][0] + 1),
     r"sample 3: training RESULT counts: board \[\d+, \d+, \d+\], golden"),
    ("weights-reply", lambda r: r["raw"][-1].__setitem__("payload", "00000000"),
     r"learning request 11 \(\w+\): store words \[0\], expected \[-?\d+\]"),
])
def test_the_check_names_a_corrupted_reply(field, edit, message):
    learner, counts, labels, lr_decays, report = tiny_run(SAMPLES)
    expected = expected_learning(learner, counts, labels, lr_decays)
    report = copy.deepcopy(report)
    edit(report)
    with pytest.raises(AssertionError, match=message):
        check_board_learning(report, learner, counts, labels, lr_decays, expected=expected)


def test_a_host_sending_wrong_labels_is_caught():
    """An injected fault on the host side: every LEARN's label byte one class off. The board
    learns the wrong lesson, and the check names the first sample whose result differs from
    the rule's, or else the first store word (here: sample 1's result is still the rule's,
    10 words of the input layer's store are not)."""
    learner, counts, labels, lr_decays, report = tiny_run(2, label_offset=1)
    with pytest.raises(AssertionError,
                       match=r"sample 1: training RESULT|stores\[\d\] after 2 samples: weight"):
        check_board_learning(report, learner, counts, labels, lr_decays)


#: the rule's digits settings (docs/learning.md, section 3), on 64-32-10
DIGITS_SAMPLES = 50


@pytest.mark.slow
def test_board_learns_50_digits_samples_over_the_uart():
    """64-32-10 from a random start (``digits_setup``), the digits rule, 50 training samples
    online over the UART in Verilator (lr_decay 0, 1, 2 over the run), then all 2368 store
    words read back (148 STORE requests): every training RESULT, LEARNED and store word as
    the rule's. 225 s on 2 cores (Verilator build 28 s; 566 s on busy ones). The running
    training accuracy is printed, not asserted: 50 samples from the random start are too
    few to learn (2/25, then 3/25)."""
    from spikeforge.model.datasets import load_dataset
    from spikeforge.model.popcount_rule import digits_setup

    require_simulator("verilator")
    ds = load_dataset("digits")
    ticks, train_fn, _, network = digits_setup(ds, hidden=32)
    learner = PopcountLearner(network, ticks, **DIGITS_RULE)
    index = np.arange(DIGITS_SAMPLES)
    counts, labels = train_fn(index), ds.train_y[index]
    lr_decays = [3 * k // DIGITS_SAMPLES for k in range(DIGITS_SAMPLES)]
    result = run_board_learning(learner, counts, labels, lr_decays, "verilator")
    report = result.report
    expected = expected_learning(learner, counts, labels, lr_decays)
    check_board_learning(report, learner, counts, labels, lr_decays, expected=expected)
    classes = [r["cls"] for r in report["train"]]
    right = [int(c == y) for c, y in zip(classes, labels)]
    print(f"training accuracy (running): first 25 {sum(right[:25])}/25, last 25 "
          f"{sum(right[25:])}/25; sim {report['sim_time_ns'] / 1e6:.1f} ms simulated")
    assert len(set(classes)) >= 3, classes
    moved = [int((a != b).sum()) for a, b in zip(expected["stores"], learner.acc)]
    assert moved[0] > 500 and moved[1] > 100, moved


@pytest.mark.slow
def test_spikeforge_learn_on_the_simulated_board(capsys):
    """``spikeforge learn --sim icarus`` on a small start (64-4-10, 3 samples): the running
    accuracy per sample and the check's verdict (about 60 s)."""
    from spikeforge.cli import main

    require_simulator("icarus")
    assert main(["learn", "--sim", "icarus", "--samples", "3", "--hidden", "4"]) == 0
    out = capsys.readouterr().out
    assert "64-4-10 from a random start (seed 0), 3 samples, co-simulated in icarus" in out
    assert re.search(r"sample +3: label \d, board class +-?\d+; running training accuracy "
                     r"\d/3", out), out
    assert ("check: every training RESULT as the golden model's, every LEARNED as the cycle "
            "model's, all 296 store words as the rule's") in out
