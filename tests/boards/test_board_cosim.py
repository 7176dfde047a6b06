"""End to end: the host driver talks to the board top (UART -> protocol engine ->
SpikeforgeSystem) in co-simulation through a UART model; results must equal the golden
model bit for bit, and every malformed request must get its ERROR frame (never a hang)."""

from pathlib import Path

import pytest

from spikeforge.boards.cosim import check_board_report, run_board_cosim
from spikeforge.compiler.map import plan_network
from spikeforge.sim.contract import Decision
from spikeforge.sim.cosim.system_cosim import random_inputs, random_network


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


DEMO = Path(__file__).resolve().parents[2] / "build" / "demo" / "compiled"


@pytest.mark.skipif(not (DEMO / "expected.npz").exists(),
                    reason="no demo artifact (spikeforge demo writes build/demo/compiled)")
def test_board_digits_images():
    """Three digits test images through the trained demo network (64-32-10, 3 cores): the
    board's class, decision tick and spike counts equal the golden model's, and the class
    equals the one saved with the artifact."""
    from spikeforge.compiler.artifact import load_artifact
    from spikeforge.compiler.flow import load_expected

    network, plan = load_artifact(DEMO)
    expected = load_expected(DEMO / "expected.npz")
    inputs = expected["input_counts"][:3].astype("int64")
    result = run_board_cosim(network, plan, inputs, "icarus", input_depth=1024,
                             malformed=False)
    check_board_report(result.report, network, inputs, input_depth=1024, malformed=False)
    assert [r["cls"] for r in result.report["results"]] == list(expected["decision"][:3])
