"""scripts/where_cycles_go.py: every cycle of an inference in one column, the work columns
equal to the busiest core's work, and the planned designs' models."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from spikeforge.compiler.artifact import load_artifact
from spikeforge.flow import EXPECTED, compile_network, load_expected
from spikeforge.sim.network import run_network
from tests.boards.test_choose import network
from tests.util import random_inputs

_PATH = Path(__file__).resolve().parents[1] / "scripts" / "where_cycles_go.py"
_SPEC = importlib.util.spec_from_file_location("where_cycles_go", _PATH)
where = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(where)


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    path = tmp_path_factory.mktemp("where") / "a"
    net = network(n_in=16, hidden=12)
    counts = random_inputs(3, net, 6, 5, p=0.4)
    compile_network(net, path, counts, np.zeros(6, dtype=int), lanes=[2, 2])
    return path


def test_the_columns_are_the_cycles_and_the_work(artifact):
    core, cells = where.breakdown(artifact, 4)
    assert sum(cells[c] for c in where.COLUMNS) == pytest.approx(cells["cycles"])
    # the watched core's event and update words: G * (the events it takes + ticks run); a
    # spike-count run takes every spike of the layer before, the last tick's too (which
    # the work bound leaves out: they are never integrated)
    a = load_artifact(artifact)
    counts = load_expected(artifact / EXPECTED)["input_counts"][:4]
    trace = run_network(a.network, counts)
    assert a.system.decision.value == "spike-count" and core == "(1, 0)"
    assert len(a.plan.cores_of_layer(1)) == 1
    G = -(-a.plan.cores_of_layer(1)[0].n_neurons // a.plan.cores_of_layer(1)[0].config.lanes)
    taken = trace.spikes[0].sum(axis=(1, 2))
    assert cells["event words"] == pytest.approx(G * taken.mean())
    assert cells["update words"] == G * counts.shape[1]
    assert cells["work bound"] < G * (taken.mean() + counts.shape[1])


def test_the_planned_designs_and_the_table(artifact, capsys):
    today = where.breakdown(artifact, 4)[1]
    pingpong = where.breakdown(artifact, 4, pingpong=True)[1]
    both = where.breakdown(artifact, 4, link_fifo=16, pingpong=True)[1]
    for cells in (pingpong, both):
        assert sum(cells[c] for c in where.COLUMNS) == pytest.approx(cells["cycles"])
    assert pingpong["cycles"] < today["cycles"]  # events no longer wait for the update
    assert where.main([str(artifact), "--images", "2", "--pingpong"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("| artifact | core | cycles | work bound | event words")
    assert len(out) == 3
    with pytest.raises(SystemExit):
        where.main([str(artifact), "--layer-ticks", "-2"])
    assert "--layer-ticks: must be >= 0, got -2" in capsys.readouterr().err
    assert where.main([str(artifact.parent / "missing")]) == 2


def test_an_output_link_of_two_spikes_a_cycle(tmp_path, capsys):
    """``--output-reads 2`` (not built): the columns still sum to the cycles, the output
    core reads its events' words in half the cycles, so the work bound falls and, here,
    the busiest core is a hidden one; output cores of two words are refused by name."""
    net = network(n_in=16, hidden=12)
    counts = random_inputs(3, net, 6, 5, p=0.4)
    compile_network(net, tmp_path / "a", counts, np.zeros(6, dtype=int), lanes=[6, 10],
                    neurons_per_core=[6, 10])
    today = where.breakdown(tmp_path / "a", 4)
    wide = where.breakdown(tmp_path / "a", 4, output_reads=2)
    assert today[0] == "(1, 0)" and wide[0] == "(0, 0)"
    assert sum(wide[1][c] for c in where.COLUMNS) == pytest.approx(wide[1]["cycles"])
    assert wide[1]["work bound"] < today[1]["work bound"]
    assert wide[1]["cycles"] < today[1]["cycles"]
    compile_network(net, tmp_path / "b", counts, np.zeros(6, dtype=int), lanes=[2, 5])
    assert where.main([str(tmp_path / "b"), "--output-reads", "2"]) == 2
    assert "output_reads: 2 needs output cores of one word" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        where.main([str(tmp_path / "a"), "--output-reads", "0"])
    assert "--output-reads: must be at least 1, got 0" in capsys.readouterr().err


def test_hidden_cores_that_drain_behind(artifact, capsys):
    """``--drain-behind`` (and ``--lookahead``): the columns still sum to the cycles, and
    both options are refused without what they need."""
    core, cells = where.breakdown(artifact, 4, link_fifo=0, drain_behind=True, lookahead=2)
    assert sum(cells[c] for c in where.COLUMNS) == pytest.approx(cells["cycles"])
    with pytest.raises(SystemExit):
        where.main([str(artifact), "--drain-behind"])
    assert "--drain-behind: needs --layer-ticks" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        where.main([str(artifact), "--layer-ticks", "0", "--lookahead", "2"])
    assert "--lookahead: needs --drain-behind" in capsys.readouterr().err
