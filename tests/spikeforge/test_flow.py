"""``compile_network`` (spikeforge/flow.py) writes atomically: into a temporary directory
beside the target, renamed into place at the end, so that a compile that fails half-way
leaves the previous artifact as it was; and it replaces only what a compile wrote. The whole
flow (train -> compile -> verify) is tests/e2e/test_flow.py."""

from __future__ import annotations

import pytest

from spikeforge import flow
from spikeforge.compiler.artifact import load_artifact
from spikeforge.ir.errors import SpikeforgeError
from spikeforge.ir.params import Decision
from tests.util import random_inputs, random_network


def _network(seed: int):
    network = random_network(seed, n_layers=2, max_size=6, decision=Decision.SPIKE_COUNT)
    return network, random_inputs(seed, network, images=3, ticks=4)


def _snapshot(directory):
    return {p.relative_to(directory): p.read_bytes() for p in sorted(directory.rglob("*"))}


def test_a_compile_that_fails_half_way_leaves_the_old_artifact_untouched(tmp_path, monkeypatch):
    out = tmp_path / "compiled"
    old_network, old_counts = _network(1)
    flow.compile_network(old_network, out, old_counts, [0, 1, 2])
    before = _snapshot(out)
    assert {"manifest.json", flow.VERILOG, flow.EXPECTED, flow.FLOW_JSON} <= \
        {p.name for p in before}

    written = {}

    def fail(network, input_counts, labels, path):  # after the artifact and the Verilog
        written["artifact"] = sorted(p.name for p in path.parent.iterdir())
        raise KeyboardInterrupt

    monkeypatch.setattr(flow, "save_expected", fail)
    new_network, new_counts = _network(2)
    with pytest.raises(KeyboardInterrupt):
        flow.compile_network(new_network, out, new_counts, [0, 1, 2])
    # the compile had got half-way: a new manifest and Verilog were written -- elsewhere
    assert "manifest.json" in written["artifact"] and flow.VERILOG in written["artifact"]
    assert _snapshot(out) == before
    assert load_artifact(out).network == old_network
    assert sorted(p.name for p in tmp_path.iterdir()) == ["compiled"]  # no temporary left

    monkeypatch.undo()
    result = flow.compile_network(new_network, out, new_counts, [0, 1, 2])
    assert result.out_dir == out and result.manifest == out / "manifest.json"
    assert load_artifact(out).network == new_network
    assert sorted(p.name for p in tmp_path.iterdir()) == ["compiled"]


def test_compile_replaces_only_an_artifact_or_an_empty_directory(tmp_path):
    network, counts = _network(3)
    (tmp_path / "empty").mkdir()
    flow.compile_network(network, tmp_path / "empty", counts, [0, 1, 2])
    assert (tmp_path / "empty" / "manifest.json").is_file()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(SpikeforgeError, match="not a compiled artifact"):
        flow.compile_network(network, tmp_path / "mine", counts, [0, 1, 2])
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]
    (tmp_path / "file").write_text("")
    with pytest.raises(SpikeforgeError, match="exists and is not a directory"):
        flow.compile_network(network, tmp_path / "file", counts, [0, 1, 2])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "file", "mine"]


def test_a_short_shard_is_a_mismatch_not_a_crash(tmp_path, monkeypatch):
    """A fault injected into a real fast verify: the last shard comes back one result short
    (as when a run ends early). The report names it as a mismatch instead of raising."""
    from tests.util import require_simulator

    require_simulator("verilator")
    network, counts = _network(4)
    result = flow.compile_network(network, tmp_path / "out", counts.clip(0, 1), [0, 1, 2])
    real = flow.run_sharded

    def short(*args, **kwargs):
        shards = real(*args, **kwargs)
        last = shards[-1]
        for name in ("classes", "cycles", "exact", "bounds"):
            setattr(last, name, getattr(last, name)[:-1])
        return shards

    monkeypatch.setattr(flow, "run_sharded", short)
    report = flow.verify_artifact(result.out_dir, simulator="verilator", engine="fast", jobs=1)
    assert not report.ok
    assert report.mismatch == ("the RTL returned 2 results for 3 images (a run ended early or "
                               "a shard was lost)")
