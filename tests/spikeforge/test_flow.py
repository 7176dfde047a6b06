"""``compile_network`` (spikeforge/flow.py) writes atomically: into a temporary directory
beside the target, renamed into place at the end, so that a compile that fails half-way
leaves the previous artifact as it was; and it replaces only what a compile wrote. The whole
flow (train -> compile -> verify) is tests/e2e/test_flow.py."""

from __future__ import annotations

import re

import pytest

from spikeforge import flow
from spikeforge.compiler.artifact import load_artifact
from spikeforge.ir.errors import SpikeforgeError
from spikeforge.ir.params import Decision
from spikeforge.sim.network import run_network
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


# -- waves of a mismatch ------------------------------------------------------------------------

def _mismatch_fields(text: str) -> dict:
    """tick, neuron, cycle of the first mismatch in a VerifyReport's words (fast: the
    Mismatch's str; cocotb: its JSON)."""
    fields = {}
    for name, pattern in (("tick", r'(?:"tick": |at tick )(\d+)'),
                          ("neuron", r'(?:"neuron": |, neuron )(\d+)'),
                          ("cycle", r'(?:"cycle": |\(cycle )(\d+)')):
        fields[name] = int(re.search(pattern, text).group(1))
    return fields


@pytest.mark.parametrize("simulator, engine, suffix", [
    ("icarus", "cocotb", ".fst"),
    ("verilator", "fast", ".vcd"),
    pytest.param("verilator", "cocotb", ".vcd", marks=pytest.mark.slow),  # a traced VPI build
])
def test_verify_with_waves_names_file_time_and_signal_of_a_mismatch(simulator, engine, suffix,
                                                                    tmp_path):
    """The RTL with one weight bit flipped (an extra layer-0 spike): verify's first-mismatch
    text names a wave file in the folder given, the time and the port; the file shows that
    spike there (monitor valid, its neuron, its tick), which the golden model does not have.
    The fast engine with one image per shard: one file, of the first failing one. Without
    waves, no file."""
    from spikeforge.cosim.waves import sample_time_ps
    from spikeforge.hdl.verilog import system_verilog
    from tests.cosim.test_fast import flip_weight_bit, make_case
    from tests.cosim.wavefile import value_at
    from tests.util import require_simulator

    require_simulator(simulator)
    network, plan, counts, kwargs = make_case("2-layers-fifo2-stalls")
    system = kwargs["system"]
    text = flip_weight_bit(system_verilog(plan, system), network, plan, counts)
    labels = run_network(network, counts).decision
    report = flow.verify_network(network, plan, counts, labels, simulator, system=system,
                                 verilog_text=text, engine=engine, jobs=1,
                                 chunk=1 if engine == "fast" else 50, waves=tmp_path / "waves")
    assert not report.ok
    k = int(re.match(r"(?:first mismatch: )?images? (\d+)", report.mismatch).group(1))
    files = sorted((tmp_path / "waves").iterdir())
    assert [f.name for f in files] == [f"{simulator}-images-0-2{suffix}"
                                       if engine == "cocotb" else f"image{k}.vcd"]
    found = re.search(r"\(waves: (\S+) at (\d+) ns \(cycle (\d+); clock period 10 ns, sampled "
                      r"at the falling edge\), signal spikeforge_system\.monitor__0__valid",
                      report.mismatch)
    assert found and found.group(1) == str(files[0]), report.mismatch
    m = _mismatch_fields(report.mismatch)
    assert int(found.group(3)) == m["cycle"]
    t = sample_time_ps(m["cycle"])
    assert int(found.group(2)) * 1000 == t
    assert value_at(files[0], "spikeforge_system.monitor__0__valid", t) == 1
    assert value_at(files[0], "spikeforge_system.monitor__0__neuron", t) == m["neuron"]
    assert value_at(files[0], "spikeforge_system.tick", t) == m["tick"]

    plain = flow.verify_network(network, plan, counts, labels, simulator, system=system,
                                verilog_text=text, engine=engine, jobs=1)
    assert not plain.ok and "waves:" not in plain.mismatch
    assert sorted((tmp_path / "waves").iterdir()) == files  # nothing more written
