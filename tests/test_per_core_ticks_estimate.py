"""scripts/per_core_ticks_estimate.py: the estimate by hand, and a compiled artifact's row."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from spikeforge.compiler.map import plan_network
from spikeforge.flow import compile_network
from spikeforge.sim.cycle import update_cycles
from spikeforge.sim.network import run_network
from spikeforge.sim.system_cycle import dependency_bound, work_bound
from tests.boards.test_choose import network
from tests.util import random_inputs

_PATH = Path(__file__).resolve().parents[1] / "scripts" / "per_core_ticks_estimate.py"
_SPEC = importlib.util.spec_from_file_location("per_core_ticks_estimate", _PATH)
estimate = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(estimate)


def test_each_layer_runs_a_tick_once_it_has_the_ticks_events():
    """Two layers, G = 2 and G = 1, by hand: layer 1's tick t waits for its own tick t - 1
    and layer 0's tick t - 1, not for layer 0's tick t."""
    plan = plan_network(network(n_in=8, hidden=6), lanes=[3, 10])
    u0, u1 = (update_cycles(plan.cores_of_layer(l)[0]) for l in (0, 1))
    events = np.array([[4, 0, 1], [0, 5, 3]])  # [layer, tick]
    f00 = 4 * 2 + u0
    f01 = f00 + u0
    f02 = f01 + 1 * 2 + u0
    f10 = u1
    f11 = max(f10, f00) + 5 + u1
    f12 = max(f11, f01) + 3 + u1
    assert estimate.per_core_ticks(plan, events, 3) == max(f02, f12)


def test_a_row_per_artifact_below_the_cycle_model(tmp_path, capsys):
    net = network(n_in=16, hidden=12)
    counts = random_inputs(3, net, 6, 5, p=0.4)
    compile_network(net, tmp_path / "a", counts, np.zeros(6, dtype=int), lanes=[2, 2])
    assert estimate.main([str(tmp_path / "a"), "--images", "4"]) == 0
    row = capsys.readouterr().out.splitlines()[2].split(" | ")
    assert row[1:3] == ["[2,2] in 1+1", "4"]
    model, per_core, work = (float(x.replace(",", "")) for x in row[3:6])
    assert work <= per_core <= model
    # the dependency bound and its two ratios: below the cycle model, the ratios of the row;
    # then the pipelined bound, between the two, and its ratio
    dependency = float(row[-5].replace(",", ""))
    assert 0 < dependency <= model
    ratios = [float(cell.rstrip(" |x")) for cell in row[-4:-2]]
    assert ratios == pytest.approx([dependency / work, model / dependency], abs=0.01)
    pipelined = float(row[-2].replace(",", ""))
    assert dependency <= pipelined <= model
    assert float(row[-1].rstrip(" |x")) == pytest.approx(pipelined / work, abs=0.01)
    assert estimate.main([str(tmp_path / "missing")]) == 2


def test_the_drain_hidden_and_a_shallower_pipeline(tmp_path, capsys):
    """``--drain-hidden``: each update phase costs only its words, so the estimate falls;
    ``--stages S``: the system cycle model with S pipeline stages -- with today's 8 it is
    the cycle model itself, with fewer it is faster, and the block model's constant is
    restored after the run."""
    import spikeforge.sim.blocks.core as core_model

    net = network(n_in=16, hidden=12)
    counts = random_inputs(3, net, 6, 5, p=0.4)
    compile_network(net, tmp_path / "a", counts, np.zeros(6, dtype=int), lanes=[2, 2])
    rows = {}
    for stages in (core_model.UPDATE_STAGES, 2):
        assert estimate.main([str(tmp_path / "a"), "--images", "4", "--drain-hidden",
                              "--stages", str(stages)]) == 0
        cells = capsys.readouterr().out.splitlines()[2].split(" | ")
        rows[stages] = [float(x.replace(",", "")) for x in cells[3:8]]
    model, per_core, hidden, same, work = rows[core_model.UPDATE_STAGES]
    assert same == model and work <= hidden < per_core <= model
    assert rows[2][3] < model and rows[2][:3] == [model, per_core, hidden]
    assert core_model.UPDATE_STAGES == 8
    with pytest.raises(SystemExit):
        estimate.main([str(tmp_path / "a"), "--stages", "0"])
    assert "--stages: must be at least 1, got 0" in capsys.readouterr().err
    # --lookahead K: the per-core column bounded, never below the unbounded estimate
    assert estimate.main([str(tmp_path / "a"), "--images", "4", "--lookahead", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "per-core ticks, 1 ahead (est.)" in out[0]
    assert float(out[2].split(" | ")[4].replace(",", "")) >= per_core
    with pytest.raises(SystemExit):
        estimate.main([str(tmp_path / "a"), "--lookahead", "0"])
    assert "--lookahead: must be at least 1, got 0" in capsys.readouterr().err


def test_a_layer_one_tick_ahead_waits_for_the_next_layers_update():
    """``bounded_lookahead`` by hand, two layers (G = 24 and 1), K = 1: layer 0 starts its
    update of tick t once layer 1 has started its update of tick t - 1, which holds layer 0
    back in tick 2 (layer 1 is busy in tick 1) and makes it the last to finish; with a
    large K it is the unbounded estimate (one core per layer: the two agree)."""
    plan = plan_network(network(n_in=8, hidden=24), lanes=[1, 10])
    u0, u1 = (update_cycles(plan.cores_of_layer(l)[0]) for l in (0, 1))
    events = np.array([[4, 0, 1], [0, 100, 1]])  # [layer, tick]
    b00, b10 = 4 * 24, 0
    f00, f10 = b00 + u0, b10 + u1
    b01 = max(f00, b10)
    f01 = b01 + u0
    b11 = max(f10, f00) + 100
    f11 = b11 + u1
    b02 = max(f01 + 1 * 24, b11)
    f02 = b02 + u0
    f12 = max(f11, f01) + 1 + u1
    assert b02 == b11 > f01 + 24 and f02 > f12  # the bound holds layer 0 back, and shows
    assert estimate.bounded_lookahead(plan, events, 3, 1) == f02
    assert estimate.per_core_ticks(plan, events, 3) < f02
    assert (estimate.bounded_lookahead(plan, events, 3, 100)
            == estimate.per_core_ticks(plan, events, 3))


def test_the_layer_ticks_cycle_model_column(tmp_path, capsys):
    """``--layer-ticks D ...``: the cycle model of :mod:`spikeforge.sim.planned`, one column
    per link FIFO depth, never below the work bound; a negative depth is refused."""
    net = network(n_in=16, hidden=12)
    counts = random_inputs(3, net, 6, 5, p=0.4)
    compile_network(net, tmp_path / "a", counts, np.zeros(6, dtype=int), lanes=[2, 2])
    assert estimate.main([str(tmp_path / "a"), "--images", "4", "--layer-ticks", "0", "16"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "layer ticks, FIFO 0 (cycle model)" in out[0] and "FIFO 16" in out[0]
    cells = out[2].split(" | ")
    fifo0, fifo16, work = (float(x.replace(",", "")) for x in cells[5:8])
    assert work <= min(fifo0, fifo16)
    with pytest.raises(SystemExit):
        estimate.main([str(tmp_path / "a"), "--layer-ticks", "-1"])
    assert "--layer-ticks: depths must be >= 0" in capsys.readouterr().err


def test_the_bounds_with_an_output_core_that_reads_k_words_a_cycle(tmp_path, capsys):
    """``--output-reads K``: four columns more, the work and dependency bounds of the same
    design with its output cores reading K event words a cycle, and the cycle model with a
    link of K spikes a cycle into them. With K = 1 they are the row's own; with more,
    neither bound is higher; output cores of several words have no such cycle model (said
    on stderr, "-"); K < 1 is refused."""
    net = network(n_in=16, hidden=12)
    counts = random_inputs(3, net, 6, 5, p=0.4)
    compile_network(net, tmp_path / "a", counts, np.zeros(6, dtype=int), lanes=[2, 1])
    cells = {}
    for k in (1, 4):
        assert estimate.main([str(tmp_path / "a"), "--images", "4", "--output-reads", str(k)]) == 0
        captured = capsys.readouterr()
        out = captured.out.splitlines()
        assert out[0].split(" | ")[-6:] == [f"work bound, output {k} a cycle",
                                            f"dependency bound, output {k} a cycle",
                                            f"dependency / work, output {k} a cycle",
                                            f"pipelined bound, output {k} a cycle",
                                            f"pipelined / work, output {k} a cycle",
                                            f"cycle model, output {k} a cycle (/ its work) |"]
        cells[k] = [c.rstrip(" |") for c in out[2].split(" | ")]
    assert "output_reads: 4 needs output cores of one word; core (1, 0) has 10" in captured.err
    row = cells[1]
    # the work, dependency and pipelined bounds of the row
    assert [row[-6], row[-5], row[-3]] == [row[5], row[-11], row[-8]]
    assert row[-1] == f"{row[3]} ({float(row[3]) / float(row[5]):.2f}x)"  # and its cycles
    assert row[:-6] == cells[4][:-6] and cells[4][-1] == "-"
    work, dependency = (float(c.replace(",", "")) for c in cells[4][-6:-4])
    assert work <= float(row[5].replace(",", "")) and dependency < float(row[-11].replace(",", ""))
    assert float(cells[4][-3].replace(",", "")) >= dependency
    # the output layer's cores, not another's: the bounds of reads {1: 4}, image by image
    plan, trace = plan_network(net, lanes=[2, 1]), run_network(net, counts[:4])
    events, reads = trace.statistics().input_events, {1: 4}
    work = np.mean([float(work_bound(plan, events[b], trace.ticks, reads)) for b in range(4)])
    dependency = np.mean([float(dependency_bound(plan, trace, b, trace.ticks, reads))
                          for b in range(4)])
    assert cells[4][-6:-4] == [f"{work:,.0f}", f"{dependency:,.0f}"]
    # output cores of one word: the cycle models with the link, today's and per-layer ticks
    compile_network(net, tmp_path / "b", counts, np.zeros(6, dtype=int), lanes=[2, 10],
                    neurons_per_core=[6, 10])
    assert estimate.main([str(tmp_path / "b"), "--images", "4", "--output-reads", "2",
                          "--layer-ticks", "0"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("layer ticks, FIFO 0, output 2 a cycle (/ its work) |")
    wide = [c.rstrip(" |") for c in out[2].split(" | ")]
    assert float(wide[-2].split(" (")[0]) <= float(wide[3])  # (two hidden cores)
    with pytest.raises(SystemExit):
        estimate.main([str(tmp_path / "a"), "--output-reads", "0"])
    assert "--output-reads: must be at least 1, got 0" in capsys.readouterr().err


def test_the_layer_ticks_models_with_cores_that_drain_behind(tmp_path, capsys):
    """``--drain-behind`` (with ``--lookahead K``): the per-layer-ticks columns are the
    model with hidden cores taking their next TICK while their spikes leave, a layer up to
    K ahead; it needs ``--layer-ticks``."""
    net = network(n_in=16, hidden=12)
    counts = random_inputs(3, net, 6, 5, p=0.4)
    compile_network(net, tmp_path / "a", counts, np.zeros(6, dtype=int), lanes=[2, 10],
                    neurons_per_core=[6, 10])
    assert estimate.main([str(tmp_path / "a"), "--images", "4", "--layer-ticks", "0",
                          "--drain-behind", "--lookahead", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "layer ticks, FIFO 0, drain behind, 2 ahead (cycle model)" in out[0]
    artifact = estimate.load_artifact(tmp_path / "a")
    want = estimate.layer_ticks_cycles(artifact, counts[:4], 0, drain_behind=True,
                                       lookahead=2)
    assert out[2].split(" | ")[5] == f"{want:,.0f}"
    with pytest.raises(SystemExit):
        estimate.main([str(tmp_path / "a"), "--drain-behind"])
    assert "--drain-behind: needs --layer-ticks" in capsys.readouterr().err
