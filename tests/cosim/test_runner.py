"""Self-test of the co-simulation harness (cosim/runner.py, cosim/drivers.py) on a small real
Amaranth design, in Icarus and Verilator: the drivers move every item exactly once under
random gaps and ready stalls, and a wrong expectation fails the cocotb test and thus the
pytest test. The build cache: where it is, its size bound, least-recently-used pruning that
never removes a build in use (also under parallel processes), and the progress lines."""

import io
import multiprocessing
import os
import time
from pathlib import Path

import pytest
from amaranth import Module
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out
from platformdirs import user_cache_dir

from spikeforge.cosim.runner import (
    LAST_USED,
    REPO_ROOT,
    SIMULATORS,
    CosimFailure,
    cache_entries,
    default_build_root,
    parse_size,
    progress,
    prune_cache,
    run_cocotb,
    use_build,
)
from spikeforge.ir.errors import ConfigError

# the cocotb bench of this self-test (imported inside the simulator, from its own folder)
TB = Path(__file__).resolve().with_name("harness_tb.py")


class PlusOneFifo(wiring.Component):
    """A stream FIFO (``amaranth.lib.fifo.SyncFIFOBuffered``) whose output payload is the input
    plus one."""

    def __init__(self, width: int = 8, depth: int = 4):
        self.width, self.depth = width, depth
        super().__init__({
            "data_in": In(stream.Signature(width)),
            "data_out": Out(stream.Signature(width)),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.fifo = fifo = SyncFIFOBuffered(width=self.width, depth=self.depth)
        m.d.comb += [
            fifo.w_data.eq(self.data_in.payload),
            fifo.w_en.eq(self.data_in.valid),
            self.data_in.ready.eq(fifo.w_rdy),
            self.data_out.payload.eq(fifo.r_data + 1),
            self.data_out.valid.eq(fifo.r_rdy),
            fifo.r_en.eq(self.data_out.ready),
        ]
        return m


def _design():
    return PlusOneFifo(width=8, depth=4)


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


def test_waves_go_to_the_file_asked_for_and_a_failure_names_it(tmp_path):
    """``waves=PATH``: Icarus writes FST there (cocotb's runner passes ``-fst``), and the
    failing run's message names the file; a suffix that is not the simulator's format is
    refused before any work."""
    path = tmp_path / "w" / "fifo.fst"
    with pytest.raises(CosimFailure) as info:
        run_cocotb(_design(), "plus_one_fifo", TB, "icarus", waves=path,
                   extra_env={"SEED": 3, "N_ITEMS": 20, "EXPECT_WRONG": 1})
    assert f"waves: {path}" in str(info.value)
    assert path.read_bytes()[:1] == b"\x00"  # an FST header block (type 0), not VCD text
    ok = run_cocotb(_design(), "plus_one_fifo", TB, "icarus", waves=path,
                    extra_env={"SEED": 3, "N_ITEMS": 20})
    assert ok.ok and ok.waves == path and path.stat().st_size > 0
    with pytest.raises(ConfigError, match=r"waves: icarus writes FST: give a \.fst file, got"):
        run_cocotb("module m; endmodule", "m", "unused_tb", "icarus", waves=tmp_path / "x.vcd")
    assert not (tmp_path / "x.vcd").exists()


# -- the build cache: where, how big, what goes first, what never goes -----------------------

def _entry(root: Path, name: str, size: int, used: float, kind: str = "icarus") -> Path:
    """A fake build directory of ``size`` bytes, last used at time stamp ``used``."""
    path = root / kind / name
    path.mkdir(parents=True)
    (path / "blob").write_bytes(os.urandom(size))
    (path / LAST_USED).touch()
    os.utime(path / LAST_USED, (used, used))
    return path


def test_default_root_is_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("SPIKEFORGE_COSIM_BUILD", raising=False)
    root = default_build_root()
    assert root == Path(user_cache_dir("spikeforge")) / "cosim"
    assert REPO_ROOT not in root.parents  # not next to the package (site-packages)
    monkeypatch.setenv("SPIKEFORGE_COSIM_BUILD", str(tmp_path))
    assert default_build_root() == tmp_path


@pytest.mark.parametrize("text, size", [("2G", 2 << 30), ("500M", 500 << 20), ("1.5GiB", 3 << 29),
                                        ("300kb", 300 << 10), ("12345", 12345), ("0", 0)])
def test_parse_size(text, size):
    assert parse_size(text, "x") == size


def test_bad_cache_bound_is_refused_before_work(monkeypatch, tmp_path):
    monkeypatch.setenv("SPIKEFORGE_CACHE_MAX", "lots")
    monkeypatch.setenv("SPIKEFORGE_COSIM_BUILD", str(tmp_path / "cache"))
    with pytest.raises(ConfigError, match=r"\$SPIKEFORGE_CACHE_MAX: expected a size .* 'lots'"):
        run_cocotb("module m; endmodule", "m", "unused_tb", "icarus")
    assert not (tmp_path / "cache").exists()


def test_prune_removes_least_recently_used_first(tmp_path):
    now = time.time()
    old = _entry(tmp_path, "old", 40_000, now - 300)
    mid = _entry(tmp_path, "mid", 40_000, now - 200, kind="verilator")
    new = _entry(tmp_path, "new", 40_000, now - 100)
    entries = cache_entries(tmp_path)
    assert [e.path for e in entries] == [old, mid, new]
    total = sum(e.size for e in entries)
    removed = prune_cache(tmp_path, total - 1)  # one entry over: the oldest goes
    assert [e.path for e in removed] == [old]
    assert not old.exists() and mid.exists() and new.exists()
    assert prune_cache(tmp_path, total) == []  # within the bound: nothing
    prune_cache(tmp_path, 0)
    assert cache_entries(tmp_path) == [] and not (tmp_path / ".trash").exists()


def test_a_build_in_use_is_never_pruned(tmp_path):
    now = time.time()
    old = _entry(tmp_path, "old", 40_000, now - 300)
    new = _entry(tmp_path, "new", 40_000, now - 100)
    with use_build(old):  # what run_cocotb holds from writing the sources to reading results
        # touched on use: now the most recently used
        assert [(e.path, e.in_use) for e in cache_entries(tmp_path)] == [(new, False),
                                                                         (old, True)]
        os.utime(old / LAST_USED, (now - 400, now - 400))  # the oldest again, yet in use
        removed = prune_cache(tmp_path, 0)
        assert [e.path for e in removed] == [new] and (old / "blob").exists()
    assert [e.path for e in prune_cache(tmp_path, 0)] == [old]


def test_other_tools_folders_are_counted_not_pruned(tmp_path):
    other = _entry(tmp_path, "x", 10_000, time.time() - 500, kind="other")
    entries = cache_entries(tmp_path)
    assert [(e.kind, e.prunable) for e in entries] == [("other", False)]
    assert prune_cache(tmp_path, 0) == [] and other.exists()


def test_fast_harness_builds_are_pruned_like_the_cocotb_builds(tmp_path):
    """``fast/`` (cosim/fast.py's compiled harnesses, traced or not) is one of the locked
    folders: its builds go least recently used first, never while held in use."""
    now = time.time()
    old = _entry(tmp_path, "spikeforge_system-1", 40_000, now - 300, kind="fast")
    traced = _entry(tmp_path, "spikeforge_system-waves-2", 40_000, now - 200, kind="fast")
    cocotb = _entry(tmp_path, "spikeforge_system-3", 40_000, now - 100, kind="verilator")
    assert [(e.path, e.prunable) for e in cache_entries(tmp_path)] == [
        (old, True), (traced, True), (cocotb, True)]
    with use_build(old):
        os.utime(old / LAST_USED, (now - 400, now - 400))
        assert [e.path for e in prune_cache(tmp_path, 40_000)] == [traced, cocotb]
    assert [e.path for e in prune_cache(tmp_path, 0)] == [old]


def _user(root: str, name: str, rounds: int, errors):
    """A process using one build again and again: its files must be there throughout."""
    build = Path(root) / "icarus" / name
    for i in range(rounds):
        with use_build(build):
            (build / "product").write_bytes(b"x" * 20_000)
            time.sleep(0.002)
            if not (build / "product").exists():
                errors.put(f"{name}: product vanished in round {i}")
        time.sleep(0.001)


def test_pruning_is_safe_under_parallel_users(tmp_path):
    """Four processes (as pytest-xdist workers sharing a home directory) use builds while a
    fifth prunes the cache to nothing in a loop: no user ever loses its build while it holds
    it, and builds not in use do get removed."""
    ctx = multiprocessing.get_context("fork")
    errors = ctx.Queue()
    users = [ctx.Process(target=_user, args=(str(tmp_path), f"b{i % 2}", 150, errors))
             for i in range(4)]
    for p in users:
        p.start()
    removed = 0
    while any(p.is_alive() for p in users):
        removed += len(prune_cache(tmp_path, 0))
    for p in users:
        p.join()
        assert p.exitcode == 0
    assert errors.empty(), errors.get()
    assert removed > 0  # the pruner did remove builds between their uses


def test_run_cocotb_prunes_after_a_new_build(monkeypatch, tmp_path, capfd):
    """A bound of 1 byte: the second design's build removes the first (not in use), not
    itself (in use while it runs); each build says on stderr how long it took."""
    monkeypatch.setenv("SPIKEFORGE_COSIM_BUILD", str(tmp_path))
    monkeypatch.setenv("SPIKEFORGE_CACHE_MAX", "1")
    first = run_cocotb(PlusOneFifo(width=8), "plus_one_fifo", TB, "icarus",
                       extra_env={"SEED": 1, "N_ITEMS": 20})
    second = run_cocotb(PlusOneFifo(width=9), "plus_one_fifo", TB, "icarus",
                        extra_env={"SEED": 1, "N_ITEMS": 20})
    assert first.ok and second.ok and first.build_s > 0 and second.build_s > 0
    entries = cache_entries(tmp_path)
    assert [e.path for e in entries] == [second.results_xml.parents[2]]
    err = capfd.readouterr().err
    assert err.count("icarus build of plus_one_fifo ...") == 2
    assert err.count("icarus build of plus_one_fifo: done in") == 2


def test_progress_lines(monkeypatch):
    """Not a terminal: one line at the start, one at the end (done or failed);
    ``$SPIKEFORGE_PROGRESS=0``: nothing."""
    stream = io.StringIO()
    with progress("verilator build of x", stream):
        pass
    with pytest.raises(RuntimeError):
        with progress("board build of y", stream):
            raise RuntimeError("boom")
    lines = stream.getvalue().splitlines()
    assert lines[0] == "verilator build of x ..."
    assert lines[1].startswith("verilator build of x: done in ") and lines[1].endswith(" s")
    assert lines[2] == "board build of y ..." and lines[3].startswith("board build of y: failed")
    monkeypatch.setenv("SPIKEFORGE_PROGRESS", "0")
    quiet = io.StringIO()
    with progress("z", quiet):
        pass
    assert quiet.getvalue() == ""
