"""boards/choose.py: the fastest lanes that fit a board, and why."""

import numpy as np
import pytest

from spikeforge.boards.choose import LANE_CHOICES, choose_lanes
from spikeforge.boards.fit import estimate
from spikeforge.compiler.map import plan_network
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.ir.params import Decision, NeuronParams
from spikeforge.sim.network import run_network
from spikeforge.sim.system_cycle import lower_bound_cycles
from tests.util import random_inputs


def network(n_in=64, hidden=40, seed=0):
    rng = np.random.default_rng(seed)
    params = NeuronParams(decay_bits=8, alpha=200, beta=230, threshold=120)
    return IntegerNetwork((IntegerLayer(rng.integers(-20, 60, (n_in, hidden)), params),
                           IntegerLayer(rng.integers(-20, 60, (hidden, 10)), params)),
                          Decision.SPIKE_COUNT)


@pytest.mark.parametrize("board", ["icebreaker", "ulx3s-85f"])
def test_the_choice_fits_and_nothing_faster_does(board):
    """Exhaustively: every lane combination that is faster (smaller work bound) does not
    fit, and the choice itself does; its bound is the closed-form core bound."""
    net = network()
    counts = random_inputs(0, net, 8, 6, p=0.3)
    choice = choose_lanes(net, board, counts)
    assert estimate(choice.plan, board).fits
    assert [c.config.lanes for c in choice.plan.cores] == choice.lanes
    trace = run_network(net, counts)
    assert choice.bound == pytest.approx(np.mean(
        [lower_bound_cycles(choice.plan, trace, b)["core_bound"] for b in range(8)]))
    options = [[L for L in LANE_CHOICES if L <= n] for n in (40, 10)]
    assert choice.tried == len(options[0]) * len(options[1])
    for l0 in options[0]:
        for l1 in options[1]:
            plan = plan_network(net, lanes=[l0, l1])
            bound = np.mean([lower_bound_cycles(plan, trace, b)["core_bound"] for b in range(8)])
            if bound < choice.bound:
                assert not estimate(plan, board).fits, (l0, l1)
    assert choice.why[0].startswith(f"lanes {choice.lanes}:")


def test_the_small_board_gets_fewer_lanes_and_says_why():
    net = network()
    counts = random_inputs(1, net, 4, 6, p=0.3)
    small = choose_lanes(net, "icebreaker", counts)
    large = choose_lanes(net, "ulx3s-85f", counts)
    assert small.bound > large.bound and sum(small.lanes) < sum(large.lanes)
    assert any("does not fit" in line for line in small.why)


def test_nothing_fits_is_refused_naming_the_board():
    net = network(n_in=784, hidden=600)
    with pytest.raises(ConfigError, match=r"--board: icebreaker: no lane count fits \(one lane"):
        choose_lanes(net, "icebreaker", random_inputs(2, net, 1, 2))
