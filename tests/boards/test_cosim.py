"""Board co-simulation (boards/cosim.py): the host driver talks to the board top (UART ->
protocol engine -> SpikeforgeSystem) in co-simulation through a UART model; results must
equal the golden model bit for bit, and every malformed request must get its ERROR frame
(never a hang). A trained network over the same path is tests/e2e/test_board.py."""

import copy
import functools

import pytest

from spikeforge.boards.cosim import check_board_report, run_board_cosim
from spikeforge.compiler.map import plan_network
from spikeforge.ir.params import Decision
from spikeforge.ir.system import SystemConfig
from tests.util import random_inputs, random_network


def _system(decision, overlap, copies, ecp5):
    return SystemConfig(decision, overlap=overlap, input_copies=copies,
                        **({"weight_banks": "ecp5", "full_banks": True} if ecp5 else {}))


@functools.cache
def board_run(seed, decision, per_core, overlap=False, copies=False, ecp5=False):
    """A random 2-layer network on the board, three images and the malformed requests through
    the UART in Icarus: (network, plan, inputs, report). Cached: the check of a wrong result
    edits a copy of the first case's report rather than co-simulating again (~10 s).
    ``ecp5``: the engine's LOAD write from registers and the weights in full banks, as the
    ECP5 board build of a ``compile --full-banks`` artifact has them."""
    network = random_network(seed, n_layers=2, max_size=10, decision=decision)
    plan = plan_network(network, neurons_per_core=per_core)
    inputs = random_inputs(seed, network, images=3, ticks=8)
    return network, plan, inputs, run_board_cosim(
        network, plan, inputs, "icarus", system=_system(decision, overlap, copies, ecp5),
        load_stage=ecp5).report


CASES = [(3, Decision.SPIKE_COUNT, 4, False, False, False),
         (11, Decision.FIRST_SPIKE, None, False, False, False),
         (11, Decision.FIRST_SPIKE, None, True, False, False),
         (3, Decision.SPIKE_COUNT, 3, False, True, False),
         (3, Decision.SPIKE_COUNT, 3, False, True, True)]


@pytest.mark.parametrize("seed,decision,per_core,overlap,copies,ecp5", CASES)
def test_board_end_to_end(seed, decision, per_core, overlap, copies, ecp5):
    """The third case is overlapped, as ``compile`` builds a first-spike network: the engine
    feeds the next tick's items while the deciding tick runs, and the stop cuts them off. The
    fourth has the input index in a register per layer-0 core (``input_copies``, as
    ``compile`` builds for an ECP5 board): the engine's input slice drives the system's
    copies. The last is that design as the ECP5 board build makes it of ``compile
    --full-banks``: every LOAD item written an edge late (``load_stage``), among them the
    malformed requests' and a buffer filled to overflow, and full weight banks."""
    network, plan, inputs, report = board_run(seed, decision, per_core, overlap, copies, ecp5)
    if copies:  # one copy per layer-0 core
        assert sum(c.layer == 0 for c in plan.cores) > 1
    check_board_report(report, network, inputs, plan=plan,
                       system=_system(decision, overlap, copies, ecp5))


def test_check_detects_a_wrong_result():
    network, plan, inputs, report = board_run(*CASES[0])
    report = copy.deepcopy(report)
    check_board_report(report, network, inputs, plan=plan)
    report["results"][0]["counts"][0] += 1
    with pytest.raises(AssertionError, match="image 0: counts"):
        check_board_report(report, network, inputs, plan=plan)
