"""boards/choose.py: the fastest lanes that fit a board, and why."""

import numpy as np
import pytest

from spikeforge.boards.choose import (CORE_SPLITS, LANE_CHOICES, SPLIT_GAIN,
                                       SPLIT_MIN_NEURONS, _pick, choose_lanes)
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


@pytest.mark.parametrize("board", ["icebreaker", "ulx3s-85f"])
def test_a_large_layer_is_split_only_where_that_saves_enough_work(board):
    """Every (cores, lanes) plan of a 128-neuron hidden layer (the output layer's lanes as
    chosen), recomputed here: the choice fits, no plan of fewer cores comes within
    SPLIT_GAIN of the fastest fitting plan, and the choice is the fastest of its core count."""
    net = network(n_in=32, hidden=SPLIT_MIN_NEURONS)
    counts = random_inputs(4, net, 6, 6, p=0.3)
    choice = choose_lanes(net, board, counts)
    assert estimate(choice.plan, board).fits
    trace = run_network(net, counts)
    out_lanes = choice.lanes[1]
    plans = {}
    for k in CORE_SPLITS:
        cap = None if k == 1 else -(-SPLIT_MIN_NEURONS // k)
        for L in LANE_CHOICES:
            if L <= (cap or SPLIT_MIN_NEURONS):
                plan = plan_network(net, neurons_per_core=[cap, None], lanes=[L, out_lanes])
                if estimate(plan, board).fits:
                    plans[(k, L)] = np.mean([lower_bound_cycles(plan, trace, b)["core_bound"]
                                             for b in range(6)])
    fastest = min(plans.values())
    cores = choice.cores[0]
    assert choice.cores[1] == 1 and choice.bound <= fastest * (1 + SPLIT_GAIN)
    assert all(bound > fastest * (1 + SPLIT_GAIN) for (k, _), bound in plans.items()
               if k < cores), (cores, plans)
    assert choice.bound == pytest.approx(min(b for (k, _), b in plans.items() if k == cores))
    if cores > 1:
        assert choice.why[0].startswith(f"lanes {choice.lanes} in {cores} + 1 cores:")


def test_a_split_is_taken_on_the_large_board_and_kept_out_when_cores_are_given():
    """A 512-neuron layer without multipliers (no decay) that rarely spikes: one core stops
    at 64 lanes (8 words an event), four cores of 64 lanes take 2."""
    rng = np.random.default_rng(6)
    plain = NeuronParams(decay_bits=8, alpha=256, beta=256, threshold=120)
    quiet = NeuronParams(decay_bits=8, alpha=256, beta=256, threshold=30000, membrane_bits=24)
    wide = IntegerNetwork((IntegerLayer(rng.integers(-20, 60, (32, 512)), quiet),
                           IntegerLayer(rng.integers(-20, 60, (512, 10)), plain)),
                          Decision.SPIKE_COUNT)
    choice = choose_lanes(wide, "ulx3s-85f", random_inputs(5, wide, 6, 6, p=0.3))
    assert choice.cores[0] > 1 and choice.why[0].startswith(
        f"lanes {choice.lanes} in {choice.cores[0]} + 1 cores:")
    net = network(n_in=32, hidden=SPLIT_MIN_NEURONS)
    counts = random_inputs(5, net, 6, 6, p=0.3)
    given = choose_lanes(net, "ulx3s-85f", counts, neurons_per_core=SPLIT_MIN_NEURONS)
    assert given.cores == [1, 1] and given.neurons_per_core == [SPLIT_MIN_NEURONS] * 2
    small = network(n_in=32, hidden=SPLIT_MIN_NEURONS - 1)
    assert choose_lanes(small, "ulx3s-85f",
                        random_inputs(5, small, 6, 6, p=0.3)).cores == [1, 1]


def test_more_cores_only_for_more_than_split_gain_less_work():
    """The rule itself, on made-up plans ``(cores, bound, lanes, order, key)``."""
    one = (2, 1000.0, 70, (), "one core")
    assert _pick([one, (5, 1000 / (1 + SPLIT_GAIN) + 1, 60, (), "four cores")]) == "one core"
    assert _pick([one, (5, 1000 / (1 + SPLIT_GAIN) - 1, 60, (), "four cores")]) == "four cores"
    # of as many cores the least work, then the fewest lanes
    assert _pick([one, (2, 999.0, 80, (), "more lanes")]) == "more lanes"
    assert _pick([one, (2, 1000.0, 60, (), "fewer lanes")]) == "fewer lanes"
