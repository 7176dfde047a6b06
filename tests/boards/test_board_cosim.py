"""End to end: the host driver talks to the board top (UART -> protocol engine ->
SpikeforgeSystem) in co-simulation through a UART model; results must equal the golden
model bit for bit, and every malformed request must get its ERROR frame (never a hang)."""

import pytest

from spikeforge.boards.cosim import check_board_report, run_board_cosim
from spikeforge.compiler.map import plan_network
from spikeforge.cosim.runner import require_simulator
from spikeforge.cosim.system_cosim import random_inputs, random_network
from spikeforge.ir.params import Decision
from spikeforge.sim.network import classify


@pytest.mark.parametrize("seed,decision,per_core", [
    (3, Decision.SPIKE_COUNT, 4),
    (11, Decision.FIRST_SPIKE, None),
])
def test_board_end_to_end(seed, decision, per_core):
    network = random_network(seed, n_layers=2, max_size=10, decision=decision)
    plan = plan_network(network, neurons_per_core=per_core)
    inputs = random_inputs(seed, network, images=3, ticks=8)
    result = run_board_cosim(network, plan, inputs, "icarus")
    check_board_report(result.report, network, inputs)


def test_check_detects_a_wrong_result():
    network = random_network(3, n_layers=2, max_size=10, decision=Decision.SPIKE_COUNT)
    plan = plan_network(network, neurons_per_core=4)
    inputs = random_inputs(3, network, images=1, ticks=8)
    report = run_board_cosim(network, plan, inputs, "icarus", malformed=False).report
    check_board_report(report, network, inputs, malformed=False)
    report["results"][0]["counts"][0] += 1
    with pytest.raises(AssertionError, match="counts"):
        check_board_report(report, network, inputs, malformed=False)


DIGITS_IMAGES = 20


@pytest.fixture(scope="module")
def digits():
    """A 64-32-10 digits network trained here (LIF, LFSR rate code, 16 ticks; 4 float epochs,
    no QAT: about 10 s on 2 cores), planned on three cores of at most 16 neurons, and the
    rate-coded events of its first test images -- no pre-built artifact needed."""
    from spikeforge.flow import encode_inputs, train_digits_network
    from spikeforge.model.datasets import load_dataset

    trained = train_digits_network(hidden=32, epochs=4, qat_epochs=0, progress=False)
    ds = load_dataset("digits")
    counts = encode_inputs(ds.test_x[:DIGITS_IMAGES], ds.max_value, trained.ticks,
                           trained.encoder_seed).astype("int64")
    plan = plan_network(trained.network, neurons_per_core=16)
    return trained, plan, counts, ds.test_y[:DIGITS_IMAGES]


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_board_digits_images(digits, simulator):
    """Twenty digits test images through a trained network (64-32-10 on 3 cores) over the
    UART: for every image the board's class, decision tick, ticks run and per-class spike
    counts equal the golden model's, and the class equals ``IntegerNetwork.classify``.
    About 45 s in Icarus, 25 s in Verilator (2 cores, build included)."""
    require_simulator(simulator)
    trained, plan, counts, labels = digits
    network = trained.network
    assert len(plan.cores) == 3 and counts.shape == (DIGITS_IMAGES, 16, 64)
    # a network that classifies (not a degenerate one), so the classes compared mean something
    assert trained.golden_accuracy > 0.8, trained.summary()
    result = run_board_cosim(network, plan, counts, simulator, input_depth=1024,
                             malformed=False)
    check_board_report(result.report, network, counts, input_depth=1024, malformed=False)
    board_classes = [r["cls"] for r in result.report["results"]]
    assert len(board_classes) == DIGITS_IMAGES
    assert board_classes == [int(c) for c in classify(network, counts)]
    # the images differ in class and are mostly right: the comparison is not of one
    # repeated answer (19 of these 20 are classified correctly)
    assert len(set(board_classes)) >= 5, board_classes
    assert sum(int(c == y) for c, y in zip(board_classes, labels)) >= 15, (board_classes, labels)
    # and the check notices one wrong decision tick among the twenty
    result.report["results"][7]["decision_tick"] += 1
    with pytest.raises(AssertionError, match="image 7: decision_tick"):
        check_board_report(result.report, network, counts, input_depth=1024, malformed=False)
