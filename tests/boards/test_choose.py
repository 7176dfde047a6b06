"""boards/choose.py: the fastest lanes that fit a board, and why."""

import numpy as np
import pytest

from spikeforge.boards.choose import (CORE_SPLITS, LANE_CHOICES, SERIAL_GAIN, SPLIT_GAIN,
                                       SPLIT_MIN_NEURONS, TIE_LOGIC, _Candidate, _pick,
                                       _serial, choose_lanes, lane_choices)
from spikeforge.boards.fit import estimate
from spikeforge.compiler.map import plan_network
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.ir.params import Decision, NeuronParams
from spikeforge.sim.cycle import core_busy_bound, cycles_per_event, update_cycles
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
    options = [[L for L in LANE_CHOICES if L <= n] + [n] for n in (40, 10)]  # n: one word
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


def test_lane_choices_end_with_one_word():
    """A core's own neuron count is tried (one word: an event per cycle) up to the largest
    choice; the choices above it never."""
    assert lane_choices(10) == [1, 2, 3, 4, 6, 8, 9, 10]
    assert lane_choices(9) == [1, 2, 3, 4, 6, 8, 9]
    assert lane_choices(64)[-1] == 64 and lane_choices(100)[-1] == 64


def test_more_cores_only_for_more_than_split_gain_less_work():
    """The rule itself, on made-up plans ``(cores, bound, serial, lanes, order, key)``."""
    def pick(*plans):
        return _pick([_Candidate(*p) for p in plans])[0].key

    one = (2, 1000.0, 1500.0, 70, (), "one core")
    assert pick(one, (5, 1000 / (1 + SPLIT_GAIN) + 1, 900.0, 60, (), "four cores")) == "one core"
    assert pick(one, (5, 1000 / (1 + SPLIT_GAIN) - 1, 1500.0, 60, (), "four cores")) \
        == "four cores"
    # of as many cores the least work, then the fewest lanes
    assert pick(one, (2, 999.0, 2000.0, 80, (), "more lanes")) == "more lanes"
    assert pick(one, (2, 1000.0, 1500.0, 60, (), "fewer lanes")) == "fewer lanes"


def test_on_a_tie_more_lanes_only_for_more_than_serial_gain_shorter_ticks():
    """Of plans with the same work on the busiest core, the fewest lanes unless one of
    more lanes has a tick-serial estimate more than SERIAL_GAIN below; the fewest-lanes
    plan is returned beside the choice (for the why)."""
    few = _Candidate(2, 1000.0, 1500.0, 60, (), "6 lanes")
    much = _Candidate(2, 1000.0, 1200.0, 64, (), "10 lanes")
    slight = _Candidate(2, 1000.0, 1500 / (1 + SERIAL_GAIN) + 1, 62, (), "8 lanes")
    assert _pick([few, much, slight]) == (much, few)
    assert _pick([few, slight]) == (few, few)
    # not against a plan of less work on the busiest core
    assert _pick([few, much._replace(bound=1001.0)]) == (few, few)
    # nor where the estimate leaves less than 1 - TIE_LOGIC of the board's logic
    full = much._replace(logic=TIE_LOGIC + 0.01)
    assert _pick([few, full]) == (few, few)
    assert _pick([few._replace(logic=0.99), much._replace(logic=TIE_LOGIC)])[0] == \
        much._replace(logic=TIE_LOGIC)


def test_serial_estimate_is_the_busiest_core_tick_by_tick():
    """_serial by hand on a two-layer plan: per tick the larger of the layers' events times
    their cycles per event, plus the slowest silent update per tick run."""
    net = network(n_in=8, hidden=6)
    plan = plan_network(net, lanes=[3, 10])  # G = 2 and G = 1
    per_tick = np.array([[[4, 1, 0], [0, 5, 3]]])  # [image, layer, tick]
    ticks_run = np.array([3])
    update = max(update_cycles(c) for c in plan.cores)
    assert [cycles_per_event(c) for c in plan.cores] == [2, 1]
    assert _serial(plan, ticks_run, per_tick) == 8 + 5 + 3 + 3 * update


def test_a_tie_on_the_busiest_core_goes_to_the_shorter_ticks_and_says_why():
    """A network whose input comes early (dense in ticks 0-1, sparse after) and whose
    output core is the busiest overall: the hidden core's lanes do not change the bound,
    but where the input is dense the hidden core is the busiest in its ticks, so the most
    hidden lanes that fit are chosen over the fewest of the same bound, and the why names
    both plans' tick-serial estimates. The figures are recomputed here."""
    rng = np.random.default_rng(0)
    params = NeuronParams(decay_bits=8, alpha=256, beta=256, threshold=400)
    net = IntegerNetwork((IntegerLayer(rng.integers(-10, 40, (64, 100)), params),
                          IntegerLayer(rng.integers(-20, 60, (100, 10)), params)),
                         Decision.SPIKE_COUNT)
    p = np.array([0.6, 0.6] + [0.05] * 6)[None, :, None]
    counts = (rng.random((6, 8, 64)) < p).astype(np.int64)
    choice = choose_lanes(net, "ulx3s-85f", counts)
    assert choice.lanes == [64, 10], choice.why
    other = [int(x) for x in choice.why[1].split("rather than lanes [")[1].split("]")[0]
             .split(", ")]
    assert other[1] == 10 and other[0] < 64
    stats = run_network(net, counts).statistics(until_decision=False)
    bound, serial = {}, {}
    for lanes in (choice.lanes, other):
        plan = plan_network(net, lanes=lanes)
        bound[lanes[0]] = np.mean([max(core_busy_bound(c, int(stats.input_events[b, c.layer]),
                                                       int(stats.ticks_run[b]))
                                       for c in plan.cores) for b in range(6)])
        serial[lanes[0]] = _serial(plan, stats.ticks_run, stats.input_events_per_tick)
    assert bound[64] == bound[other[0]]
    assert serial[64] * (1 + SERIAL_GAIN) < serial[other[0]]
    assert f"{serial[64]:,.0f} cycles tick by tick against {serial[other[0]]:,.0f}" \
        in choice.why[1]
