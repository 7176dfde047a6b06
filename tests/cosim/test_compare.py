"""First-mismatch comparison (cosim/compare.py): events, states and cycles, each mismatch
naming its tick, neuron and cycle."""

import numpy as np

from spikeforge.cosim.compare import (
    compare_cycles,
    compare_events,
    compare_states,
    compare_traces,
    first_mismatch,
)


def test_compare_reports_the_first_mismatch():
    assert compare_events([(0, 1), (1, 2)], [(0, 1, 5), (1, 2, 9)]) is None
    extra = compare_events([(1, 2)], [(0, 3, 4), (1, 2, 9)])
    assert (extra.kind, extra.tick, extra.neuron, extra.got, extra.cycle) == ("spike", 0, 3, "spike", 4)
    missing = compare_events([(0, 1), (2, 0)], [(0, 1, 5)])
    assert (missing.tick, missing.neuron, missing.expected) == (2, 0, "spike")
    e = {"i": np.zeros((3, 4), int), "v": np.zeros((3, 4), int)}
    g = {"i": np.zeros((3, 4), int), "v": np.zeros((3, 4), int)}
    g["v"][1, 3] = 7
    g["i"][2, 0] = -1
    state = compare_states(e, g)
    assert (state.kind, state.tick, state.neuron, state.expected, state.got) == ("state:v", 1, 3, 0, 7)
    cyc = compare_cycles("spike_out", [10, 20], [10, 21], ticks=[0, 4], neurons=[1, 2])
    assert (cyc.tick, cyc.neuron, cyc.cycle) == (4, 2, 21)
    assert first_mismatch(None, cyc, state) is state
    assert "tick 1, neuron 3: expected 0, got 7" in str(state)


def test_compare_traces_compares_whole_triples_in_order():
    """Two events of one tick swapped, each in the other's cycle: the (tick, neuron) set and
    the cycle list agree, the triples do not."""
    want = [(0, 4, 20), (0, 1, 21), (1, 2, 30)]
    assert compare_traces("monitor (layer 0)", want, list(want)) is None
    swapped = [(0, 1, 20), (0, 4, 21), (1, 2, 30)]
    assert sorted(t[:2] for t in swapped) == sorted(t[:2] for t in want)
    assert [t[2] for t in swapped] == [t[2] for t in want]
    m = compare_traces("monitor (layer 0)", want, swapped)
    assert (m.kind, m.tick, m.neuron, m.cycle) == ("monitor (layer 0)", 0, 4, 20)
    assert (m.expected, m.got) == ("(tick 0, neuron 4, cycle 20)", "(tick 0, neuron 1, cycle 20)")
    assert "neuron 1 instead of 4" in m.detail
    late = compare_traces("out", want, [(0, 4, 20), (0, 1, 22), (1, 2, 30)])
    assert (late.tick, late.neuron, late.cycle, late.detail) == (0, 1, 22, "event #1: late")
    missing = compare_traces("out", want, want[:2])
    assert (missing.tick, missing.neuron, missing.got, missing.cycle) == (1, 2, "no event", None)
    extra = compare_traces("out", want[:1], want[:2])
    assert (extra.tick, extra.neuron, extra.expected) == (0, 1, "no event")


def _image(error=0, overflow=None):
    exp = {"class": 1, "decision_tick": 2, "ticks_run": 3, "none": False, "done": 40, "cycles": 39,
           "spikes": [[]], "out_spikes": [], "out": [], "monitor": [[]], "inputs": [],
           "tick_done": [], "error": error, "overflow": overflow,
           "counters": {"events": [5], "spikes": [0]}}
    obs = {"cls": 1, "tick": 2, "ticks_run": 3, "none": 0, "error": 0, "done": 40,
           "cycles_port": 39, "start": 1, "level": None, "error_at_start": 0,
           "out": [], "monitor": [[]], "inputs": [], "tick_done": [],
           "counters": {"events": [5], "spikes": [0]}}
    return exp, obs


def test_compare_image_checks_the_work_counters_and_the_error_flag_after_reset():
    """A counter that differs is named by layer with both values, read at done + 1; a high
    error port at the first image's start is a mismatch at that cycle; a later image's start
    must still show the previous image's flag (sticky until start), when the bench gives it."""
    from spikeforge.cosim.compare import compare_image

    exp, obs = _image()
    assert compare_image(0, exp, obs) == []
    obs["counters"]["events"] = [6]
    [m] = compare_image(0, exp, obs)
    assert (m.kind, m.expected, m.got, m.cycle) == ("image 0: events counter (layer 0)", 5, 6, 41)
    exp, obs = _image()
    obs["error_at_start"] = 1
    [m] = compare_image(0, exp, obs)
    assert (m.kind, m.expected, m.got, m.cycle) == ("image 0: error flag after reset", 0, 1, 1)
    assert compare_image(1, exp, obs) == []
    assert compare_image(1, exp, obs, error_before=1) == []
    [m] = compare_image(1, exp, obs, error_before=0)
    assert (m.kind, m.expected, m.got, m.cycle) == ("image 1: error flag held until start", 0, 1, 1)
    obs["error_at_start"] = 0
    [m] = compare_image(1, exp, obs, error_before=1)
    assert (m.kind, m.expected, m.got) == ("image 1: error flag held until start", 1, 0)


def test_compare_image_checks_the_no_spike_flag():
    """``result_none`` against the golden model's (no output spike in the ticks run): a
    flag stuck at 0 where the golden model saw no spike, or raised where it saw one, is
    named with both values at done (a spike-count decision unit's ``none`` has no other
    trace: its class is 0 either way)."""
    from spikeforge.cosim.compare import compare_image

    exp, obs = _image()
    exp["none"] = True
    [m] = compare_image(0, exp, obs)
    assert (m.kind, m.expected, m.got, m.cycle) == ("image 0: no-spike flag", 1, 0, 40)
    exp, obs = _image()
    obs["none"] = 1
    [m] = compare_image(0, exp, obs)
    assert (m.kind, m.expected, m.got) == ("image 0: no-spike flag", 0, 1)


def test_compare_image_checks_the_error_flag_against_the_golden_model():
    """Expected 1 (layer 0 took 5 events for tick 1, bound 3), got 0: named with the tick
    and the overflow; expected 0, got 1: named; None (left to timing) is not compared; a
    spec without the key expects 0 (the old bench)."""
    from spikeforge.cosim.compare import compare_image

    exp, obs = _image(1, [0, 1, 5, 3])
    [m] = compare_image(4, exp, obs, check_timing=False)
    assert (m.kind, m.tick, m.expected, m.got, m.cycle) == ("image 4: error flag", 1, 1, 0, 40)
    assert "layer 0 takes 5 events for tick 1, more than its max_events_per_tick = 3" in str(m)
    exp, obs = _image(0)
    obs["error"] = 1
    [m] = compare_image(0, exp, obs)
    assert (m.expected, m.got, m.tick) == (0, 1, None) and "no tick brings" in m.detail
    exp, obs = _image(None)
    obs["error"] = 1
    assert compare_image(0, exp, obs) == []
    del exp["error"]
    assert compare_image(0, exp, obs)[0].expected == 0
    obs["error"] = 0
    assert compare_image(0, exp, obs) == []


def test_expected_error_resolves_an_undetermined_flag_with_the_stop():
    from spikeforge.cosim.system_cosim import expected_error
    from spikeforge.sim.network import ERROR_UNDETERMINED
    from spikeforge.sim.system_cycle import InferenceTiming

    at_spike, at_end = InferenceTiming(0, stop_cycle=30), InferenceTiming(0, stop_cycle=-1)
    assert expected_error(1, at_spike) == 1 and expected_error(0, at_end) == 0
    assert expected_error(ERROR_UNDETERMINED, at_spike) is None
    assert expected_error(ERROR_UNDETERMINED, at_end) == 1
