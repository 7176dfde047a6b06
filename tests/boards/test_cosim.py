"""Board co-simulation (boards/cosim.py): the host driver talks to the board top (UART ->
protocol engine -> SpikeforgeSystem) in co-simulation through a UART model; results must
equal the golden model bit for bit, and every malformed request must get its ERROR frame
(never a hang). A trained network over the same path is tests/e2e/test_board.py."""

import pytest

from spikeforge.boards.cosim import check_board_report, run_board_cosim
from spikeforge.compiler.map import plan_network
from spikeforge.ir.params import Decision
from tests.util import random_inputs, random_network


@pytest.mark.parametrize("seed,decision,per_core", [
    (3, Decision.SPIKE_COUNT, 4),
    (11, Decision.FIRST_SPIKE, None),
])
def test_board_end_to_end(seed, decision, per_core):
    network = random_network(seed, n_layers=2, max_size=10, decision=decision)
    plan = plan_network(network, neurons_per_core=per_core)
    inputs = random_inputs(seed, network, images=3, ticks=8)
    result = run_board_cosim(network, plan, inputs, "icarus")
    check_board_report(result.report, network, inputs, plan=plan)


def test_check_detects_a_wrong_result():
    network = random_network(3, n_layers=2, max_size=10, decision=Decision.SPIKE_COUNT)
    plan = plan_network(network, neurons_per_core=4)
    inputs = random_inputs(3, network, images=1, ticks=8)
    report = run_board_cosim(network, plan, inputs, "icarus", malformed=False).report
    check_board_report(report, network, inputs, malformed=False)
    report["results"][0]["counts"][0] += 1
    with pytest.raises(AssertionError, match="counts"):
        check_board_report(report, network, inputs, malformed=False)
