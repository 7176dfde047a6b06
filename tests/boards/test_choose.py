"""boards/choose.py: the fastest lanes that fit a board, and why."""

import dataclasses
import itertools

import numpy as np
import pytest

from spikeforge.boards import choose
from spikeforge.boards.choose import (CORE_SPLITS, GAIN, LANE_CHOICES,
                                       SAFE_LOGIC, SHORTLIST, SPLIT_MIN_NEURONS, _Candidate,
                                       _pick, _safe, _serial, choose_double_buffer,
                                       choose_lanes, lane_choices)
from spikeforge.boards.fit import estimate
from spikeforge.boards.specs import board_spec
from spikeforge.commands.compile import board_settings
from spikeforge.compiler.map import plan_network
from spikeforge.cosim.system_cosim import schedules_for
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.ir.params import Decision, NeuronParams
from spikeforge.ir.system import SystemConfig
from spikeforge.sim.cycle import cycles_per_event, update_cycles
from spikeforge.sim.network import run_network
from spikeforge.sim.system_cycle import lower_bound_cycles, predict_run
from tests.util import random_inputs


def network(n_in=64, hidden=40, seed=0):
    rng = np.random.default_rng(seed)
    params = NeuronParams(decay_bits=8, alpha=200, beta=230, threshold=120)
    return IntegerNetwork((IntegerLayer(rng.integers(-20, 60, (n_in, hidden)), params),
                           IntegerLayer(rng.integers(-20, 60, (hidden, 10)), params)),
                          Decision.SPIKE_COUNT)


def cycle_model(net, counts, plan, overlap=True, double_buffer=False,
                tile_stage=False) -> float:
    """The cycle model's mean cycles per inference of ``plan`` on ``counts``, run back to
    back without gaps (as ``verify`` runs them), recomputed here."""
    trace = run_network(net, counts)
    timings = predict_run(plan, trace, schedules_for(trace.input_counts), trace.ticks,
                          system=SystemConfig(net.decision, overlap=overlap,
                                              double_buffer=double_buffer,
                                              tile_stage=tile_stage))
    return float(np.mean([t.cycles for t in timings]))


@pytest.mark.parametrize("board", ["icebreaker", "ulx3s-85f"])
def test_the_choice_is_the_smallest_plan_within_gain_of_the_fastest(board):
    """Exhaustively, recomputed here: every lane combination's fit and tick-serial estimate;
    the SHORTLIST of least estimate through the cycle model; the choice fits, its cycles
    are the cycle model's and within GAIN of the fewest, and every smaller plan (fewer
    lanes) of the shortlist is more than GAIN slower. Its bound is the closed-form core
    bound."""
    net = network()
    counts = random_inputs(0, net, 8, 6, p=0.3)
    choice = choose_lanes(net, board, counts)
    assert estimate(choice.plan, board).fits
    assert [c.config.lanes for c in choice.plan.cores] == choice.lanes
    trace = run_network(net, counts)
    assert choice.bound == pytest.approx(np.mean(
        [lower_bound_cycles(choice.plan, trace, b)["core_bound"] for b in range(8)]))
    assert choice.cycles == pytest.approx(cycle_model(net, counts, choice.plan))
    options = [[L for L in LANE_CHOICES if L <= n] + [n] for n in (40, 10)]  # n: one word
    assert choice.tried == len(options[0]) * len(options[1])
    stats = trace.statistics(until_decision=False)
    serial = {}
    for lanes in itertools.product(*options):
        plan = plan_network(net, lanes=list(lanes))
        fit = estimate(plan, board)
        if fit.fits and fit.luts <= SAFE_LOGIC * fit.luts_available:
            serial[lanes] = _serial(plan, stats.ticks_run, stats.input_events_per_tick)
    shortlist = sorted(serial, key=lambda k: (serial[k], sum(k), k))[:SHORTLIST]
    cycles = {k: cycle_model(net, counts, plan_network(net, lanes=list(k))) for k in shortlist}
    fastest = min(cycles.values())
    assert tuple(choice.lanes) in shortlist and choice.cycles <= fastest * (1 + GAIN)
    assert all(c > fastest * (1 + GAIN) for k, c in cycles.items()
               if (sum(k), k) < (sum(choice.lanes), tuple(choice.lanes)))
    assert choice.why[0].startswith(f"lanes {choice.lanes}: {choice.cycles:,.0f} cycles")


def test_the_small_board_gets_fewer_lanes_and_says_why():
    net = network()
    counts = random_inputs(1, net, 4, 6, p=0.3)
    small = choose_lanes(net, "icebreaker", counts)
    large = choose_lanes(net, "ulx3s-85f", counts)
    assert small.cycles > large.cycles and sum(small.lanes) < sum(large.lanes)
    assert any("does not fit" in line for line in small.why)


def test_nothing_fits_is_refused_naming_the_board():
    net = network(n_in=784, hidden=600)
    with pytest.raises(ConfigError, match=r"--board: icebreaker: no lane count fits \(one lane"):
        choose_lanes(net, "icebreaker", random_inputs(2, net, 1, 2))


def wide_network(hidden=512):
    """A layer without multipliers (no decay) that rarely spikes: one core stops at 64 lanes
    (8 words an event for 512 neurons), four cores of 64 lanes take 2."""
    rng = np.random.default_rng(6)
    plain = NeuronParams(decay_bits=8, alpha=256, beta=256, threshold=120)
    quiet = NeuronParams(decay_bits=8, alpha=256, beta=256, threshold=30000, membrane_bits=24)
    return IntegerNetwork((IntegerLayer(rng.integers(-20, 60, (32, hidden)), quiet),
                           IntegerLayer(rng.integers(-20, 60, (hidden, 10)), plain)),
                          Decision.SPIKE_COUNT)


def test_a_large_layer_is_split_only_where_that_is_more_than_gain_faster():
    """Every plan of fewer cores of the 512-neuron layer that fits (the output layer's
    lanes as chosen), through the cycle model here, shortlisted or not: none comes within
    GAIN of the split the chooser takes."""
    wide = wide_network()
    counts = random_inputs(5, wide, 6, 6, p=0.3)
    choice = choose_lanes(wide, "ulx3s-85f", counts)
    assert choice.cores[0] > 1 and choice.cores[1] == 1
    assert choice.why[0].startswith(f"lanes {choice.lanes} in {choice.cores[0]} + 1 cores:")
    fewer = {}
    for k in CORE_SPLITS[:CORE_SPLITS.index(choice.cores[0])]:
        cap = None if k == 1 else -(-512 // k)
        for L in lane_choices(cap or 512):
            plan = plan_network(wide, neurons_per_core=[cap, None], lanes=[L, choice.lanes[1]])
            fit = estimate(plan, "ulx3s-85f")
            if fit.fits and fit.luts <= SAFE_LOGIC * fit.luts_available:
                fewer[(k, L)] = cycle_model(wide, counts, plan)
    assert fewer and all(c > choice.cycles * (1 + GAIN) for c in fewer.values()), \
        (choice.why, fewer)


def test_no_split_where_cores_are_given_or_the_layer_is_small():
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


def candidate(cores, lanes, cycles, name, logic=0.5, widest=0):
    return _Candidate(widest, cores, lanes, (), name, logic, cycles=cycles)


def test_more_cores_or_lanes_only_for_more_than_gain_fewer_cycles():
    """The rule itself, on made-up plans: the smallest (fewest cores, then lanes) within
    GAIN of the fewest cycles."""
    one = candidate(2, 70, 1000.0, "one core")
    assert _pick([one, candidate(5, 60, 1000 / (1 + GAIN) + 1, "four cores")]).key == "one core"
    assert _pick([one, candidate(5, 60, 1000 / (1 + GAIN) - 1, "four cores")]).key \
        == "four cores"
    assert _pick([one, candidate(2, 80, 1000 / (1 + GAIN) - 1, "more lanes")]).key \
        == "more lanes"
    assert _pick([one, candidate(2, 80, 999.0, "more lanes")]).key == "one core"
    assert _pick([one, candidate(2, 60, 1015.0, "fewer lanes")]).key == "fewer lanes"


def test_fmax_takes_the_narrowest_widest_core_within_gain():
    """``narrow`` (``compile --fmax``): within GAIN of the fewest cycles the plan whose widest
    core has the fewest lanes, more cores or all. MNIST-fast's network as the cycle model
    sees it: [64, 10] in 2 + 1 and [32, 10] in 4 + 1 take the same cycles; a slower
    narrower plan is still not taken."""
    two = candidate(3, 138, 805.0, "[64, 10] in 2 + 1", widest=64)
    four = candidate(5, 138, 805.0, "[32, 10] in 4 + 1", widest=32)
    slow = candidate(5, 74, 805 * (1 + GAIN) + 1, "[16, 10] in 4 + 1", widest=16)
    assert _pick([two, four, slow]).key == "[32, 10] in 4 + 1"
    assert _pick([two._replace(widest=0), four._replace(widest=0)]).key == "[64, 10] in 2 + 1"


def test_fmax_chooses_narrower_cores_of_the_same_cycles_and_says_why():
    """``choose_lanes(narrow=True)`` on a 200-192-10 network (hidden layer split): the
    default takes one 64-lane hidden core, ``narrow`` four 16-lane cores of the same cycles
    (within GAIN of the default's, by the cycle model recomputed here), and the why names
    both plans and their widest cores; the default's why on the ECP5 names the plan
    ``--fmax`` would take, on the iCE40 (no ``--fmax``) not."""
    net = network(n_in=200, hidden=192)
    counts = random_inputs(0, net, 8, 6, p=0.3)
    wide = choose_lanes(net, "ulx3s-85f", counts)
    narrow = choose_lanes(net, "ulx3s-85f", counts, narrow=True)
    assert max(narrow.lanes) < max(wide.lanes) and narrow.cores[0] > wide.cores[0]
    assert estimate(narrow.plan, "ulx3s-85f").fits
    cycles = cycle_model(net, counts, narrow.plan)
    assert cycles == narrow.cycles <= cycle_model(net, counts, wide.plan) * (1 + GAIN)
    assert narrow.why[1].startswith(
        f"--fmax: lanes {narrow.lanes} in {narrow.cores[0]} + 1 cores rather than lanes "
        f"{wide.lanes}: {narrow.cycles:,.0f} cycles against {wide.cycles:,.0f}, its widest "
        f"core {max(narrow.lanes)} lanes against {max(wide.lanes)}"), narrow.why
    assert wide.why[1] == (
        f"--fmax would take lanes {narrow.lanes} in {narrow.cores[0]} + 1 cores: "
        f"{narrow.cycles:,.0f} cycles, its widest core {max(narrow.lanes)} lanes against "
        f"{max(wide.lanes)}, with the timing options (narrower cores place faster on the "
        f"ECP5)"), wide.why
    small = network(n_in=32, hidden=128)  # fits the iCEBreaker; narrow would differ there
    counts = random_inputs(0, small, 8, 6, p=0.3)
    iced = choose_lanes(small, "icebreaker", counts)
    assert choose_lanes(small, "icebreaker", counts, narrow=True).lanes != iced.lanes
    assert not any("--fmax" in line for line in iced.why), iced.why


def test_a_plan_near_the_logic_limit_only_where_no_other_fits():
    """SAFE_LOGIC: plans estimated above it are left out where one below it fits (the
    estimate is an estimate: the TTFS digits network's [2, 2] on the iCEBreaker, 98 %
    estimated, did not place)."""
    safe = candidate(2, 3, 3000.0, "[2, 1]", logic=0.82)
    edge = candidate(2, 3, 2900.0, "[2, 2] at the limit", logic=SAFE_LOGIC)
    full = candidate(2, 4, 2800.0, "[2, 2]", logic=SAFE_LOGIC + 0.01)
    assert _safe([safe, full]) == [safe] and _safe([safe, edge]) == [safe, edge]
    assert _safe([full]) == [full]


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


def test_a_tie_on_the_busiest_core_goes_to_the_fewer_cycles_and_says_why():
    """A network whose input comes early (dense in ticks 0-1, sparse after) and whose
    output core is the busiest overall: the hidden core's lanes do not change the busiest
    core's work, but where the input is dense the hidden core sets the pace, so the most
    hidden lanes that fit are chosen, and the why names the smaller plan it was weighed
    against with both plans' cycles, recomputed here."""
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
    assert sum(other) < sum(choice.lanes)
    bound, cycles = {}, {}
    for lanes in (choice.lanes, other):
        plan = plan_network(net, lanes=lanes)
        bound[tuple(lanes)] = np.mean([lower_bound_cycles(plan, run_network(net, counts), b)
                                       ["core_bound"] for b in range(6)])
        cycles[tuple(lanes)] = cycle_model(net, counts, plan)
    assert bound[(64, 10)] == bound[tuple(other)]
    assert cycles[(64, 10)] * (1 + GAIN) < cycles[tuple(other)]
    assert f"{cycles[(64, 10)]:,.0f} cycles against {cycles[tuple(other)]:,.0f}" \
        in choice.why[1]


def test_the_cycle_model_runs_the_system_to_be_built():
    """``system``: the barrier's cycles where the compiler builds the barrier."""
    net = network()
    counts = random_inputs(0, net, 8, 6, p=0.3)
    barrier = choose_lanes(net, "ulx3s-85f", counts,
                           system=SystemConfig(Decision.SPIKE_COUNT, overlap=False))
    assert barrier.cycles == pytest.approx(cycle_model(net, counts, barrier.plan, overlap=False))
    assert barrier.cycles != pytest.approx(cycle_model(net, counts, barrier.plan))


def test_compile_board_times_the_lanes_with_the_tile_stage(monkeypatch):
    """``compile --board --tile-stage``: the lane chooser gets the tiled system, so it
    times its shortlist with each tiled core's update phases a cycle longer (a 64-96-10
    network: lanes [48, 10], the hidden core's two words tiled)."""
    import argparse
    import io

    from spikeforge.commands import compile as command

    seen, real = [], command.choose_lanes

    def choose(*args, **kwargs):
        seen.append((kwargs["system"], real(*args, **kwargs)))
        return seen[-1][1]

    monkeypatch.setattr(command, "choose_lanes", choose)
    net = network(hidden=96)
    counts = random_inputs(0, net, 8, 6, p=0.3)
    args = argparse.Namespace(lanes=None, neurons_per_core=None, board="ulx3s-85f",
                              no_overlap=False, double_buffer=None, tile_stage=True,
                              keep_silent_inputs=True, fmax=False)
    assert command.board_lanes(args, net, counts, io.StringIO()) == ([48, 10], None)
    ((system, choice),) = seen
    assert system.tile_stage
    assert choice.cycles == pytest.approx(cycle_model(net, counts, choice.plan, tile_stage=True))
    assert choice.cycles > cycle_model(net, counts, choice.plan)


def test_the_users_lanes_fit_in_the_layout_the_board_gives_them():
    """``compile --board --lanes``: the user's lanes are judged in the memory layout the
    board gives them (banks, state memories in block RAM), not in the plain one. A network
    of the digits latency design's sizes and parameters in lanes [2, 2], its hidden core
    double-buffered: 5,302 logic cells estimated plain (over the iCE40UP5K's 5,280), 4,981
    banked with its state in block RAM -- the design ``compile --board`` chooses itself."""
    import argparse
    import io

    from spikeforge.commands import compile as command

    rng = np.random.default_rng(0)
    p0 = NeuronParams(current_bits=13, membrane_bits=15, decay_bits=12, alpha=2048,
                      beta=3277, threshold=94)
    p1 = NeuronParams(current_bits=11, membrane_bits=14, decay_bits=12, alpha=2048,
                      beta=3277, threshold=57)
    net = IntegerNetwork((IntegerLayer(rng.integers(-109, 128, (60, 32)), p0),
                          IntegerLayer(rng.integers(-127, 36, (32, 10)), p1)),
                         Decision.SPIKE_COUNT)
    plan = plan_network(net, lanes=[2, 2])
    assert not estimate(plan, "icebreaker", double_buffer=(0,)).fits
    args = argparse.Namespace(lanes=[2, 2], neurons_per_core=None, board="icebreaker",
                              no_overlap=False, double_buffer=(0,), tile_stage=False,
                              keep_silent_inputs=True, full_banks=False, input_copies=False,
                              fmax=False)
    counts = random_inputs(0, net, 4, 8, p=0.3)
    assert command.board_lanes(args, net, counts, io.StringIO()) == ([2, 2], None)
    wider = argparse.Namespace(**{**vars(args), "lanes": [4, 2]})
    with pytest.raises(ConfigError, match=r"--lanes \[4, 2\]: does not fit icebreaker"):
        command.board_lanes(wider, net, counts, io.StringIO())


@pytest.mark.parametrize("board,lanes", [("ulx3s-85f", [4, 10]), ("icebreaker", [1, 1])])
def test_double_buffered_cores_where_they_fit_and_save_enough_cycles(monkeypatch, board, lanes):
    """``compile --board``'s rule, on both families: a layer's cores at a time, the layer
    whose buffers save the most by the cycle model (recomputed here, the figures in the
    reason) where they save DOUBLE_BUFFER_GAIN by themselves, then the next only where it
    saves that much more; not where the estimate is above SAFE_LOGIC of the board's logic.
    The ECP5 plan's output core's buffers save nothing beside the hidden core's (the TTFS
    784-600-10's case, stop 66). Off the ECP5, none where the buffers would move the state
    memories out of block RAM."""
    net = network()
    counts = random_inputs(0, net, 8, 6, p=0.3)
    plan = plan_network(net, lanes=lanes)  # [4, 10] does not fit the iCE40UP5K

    def system_of(d):
        return SystemConfig(net.decision, overlap=True, double_buffer=d)

    def figures(new, old):
        return f"{cycles[new]:,.1f} against {cycles[old]:,.1f} cycles per inference on 8 test"

    cycles = {d: cycle_model(net, counts, plan, double_buffer=d)
              for d in (False, True, (0,), (1,))}
    first = min(((0,), (1,)), key=cycles.get)
    alone = 1 - cycles[first] / cycles[False]
    more = 1 - cycles[True] / cycles[first]
    assert alone > 0.05 and alone > more + 0.01, cycles
    assert board == "icebreaker" or more == 0, cycles
    chosen, why = choose_double_buffer(net, board, plan, counts, system_of)
    assert chosen == first and figures(first, False) in why, why
    for gain, expected in ((alone + 1e-4, False), (alone - 1e-4, first),
                           (min(alone, more) - 1e-4, True)):
        monkeypatch.setattr(choose, "DOUBLE_BUFFER_GAIN", gain)
        chosen, why = choose_double_buffer(net, board, plan, counts, system_of)
        assert chosen == expected and figures(first, False) in why, (gain, why)
        if expected is False:
            assert why.startswith("cores single-buffered (each layer's buffers must save"), why
        elif expected == first:
            assert why.startswith(f"the cores of layer {first[0]} double-buffered"), why
            assert figures(True, first) in why and "under the" in why, why
        else:
            assert why.startswith("cores double-buffered") and figures(True, first) in why, why
    monkeypatch.setattr(choose, "DOUBLE_BUFFER_GAIN", alone - 1e-4)
    chosen, why = choose_double_buffer(
        net, board, plan, counts,
        lambda d: dataclasses.replace(system_of(d), state_memories="block" if not d else ""))
    if board == "icebreaker":
        assert chosen is False and why.count("the state memories would leave block RAM") == 2
    else:
        assert chosen == first, why

    single = estimate(plan, board)
    monkeypatch.setattr(choose, "SAFE_LOGIC", single.luts / single.luts_available)
    chosen, why = choose_double_buffer(net, board, plan, counts, system_of)
    assert not chosen and "logic cells, above" in why, why


def test_the_banks_fit_is_judged_with_the_state_memories_where_they_go(monkeypatch):
    """``compile --board``'s weight banks (``board_settings``): chosen where the banked
    design fits with its state memories where ``state_memories_for`` puts them, block RAM
    on the iCE40. On a board of 4,500 logic cells, a plan whose hidden layer is
    double-buffered fits banked with them there and not in flip-flops (the iCE40 digits
    latency design's case on the iCEBreaker, stop 65)."""
    plan = plan_network(network(hidden=32), lanes=[1, 2])
    monkeypatch.setitem(board_spec("icebreaker").resources, "luts", 4500)
    assert not estimate(plan, "icebreaker", weight_banks="ice40", double_buffer=(0,)).fits
    settings, why = board_settings(plan, "icebreaker", (0,))
    assert settings["weight_banks"] == "ice40" and settings["state_memories"] == "block", why
