"""First-mismatch comparison (cosim/compare.py): events, states and cycles, each mismatch
naming its tick, neuron and cycle."""

import numpy as np

from spikeforge.cosim.compare import compare_cycles, compare_events, compare_states, first_mismatch


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
