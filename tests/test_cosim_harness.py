"""Self-test of the co-simulation harness on a small real Amaranth design, in Icarus and
Verilator: the drivers move every item exactly once under random gaps and ready stalls,
and a wrong expectation fails the cocotb test and thus the pytest test."""

from pathlib import Path

import pytest

from spikeforge.cosim.runner import SIMULATORS, CosimFailure, run_cocotb

HERE = Path(__file__).resolve().parent
TB = HERE / "cosim" / "harness_tb.py"


def _design():
    import importlib.util

    spec = importlib.util.spec_from_file_location("harness_design", HERE / "cosim" / "harness_design.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.PlusOneFifo(width=8, depth=4)


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_drivers_move_every_item_once(simulator):
    for seed in (1, 2):
        result = run_cocotb(_design(), "plus_one_fifo", TB, simulator,
                            extra_env={"SEED": seed, "N_ITEMS": 300})
        assert result.ok and result.tests == 1
        assert result.report["items_in"] == result.report["items_out"] == 300


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_mismatch_fails_the_test(simulator):
    with pytest.raises(CosimFailure) as info:
        run_cocotb(_design(), "plus_one_fifo", TB, simulator,
                   extra_env={"SEED": 3, "N_ITEMS": 100, "EXPECT_WRONG": 1})
    message = str(info.value)
    assert "fifo_moves_every_item_once failed" in message
    assert "first mismatch: payload" in message and "expected" in message


def test_compare_reports_the_first_mismatch():
    import numpy as np

    from spikeforge.cosim.compare import (
        compare_cycles,
        compare_events,
        compare_states,
        first_mismatch,
    )

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
