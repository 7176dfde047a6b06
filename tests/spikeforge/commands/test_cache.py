"""``spikeforge cache info|clean`` on a cache in a temporary directory
(``$SPIKEFORGE_COSIM_BUILD``) holding fake builds of known sizes and ages."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from spikeforge.cli import main
from spikeforge.cosim.runner import LAST_USED, use_build


@pytest.fixture
def cache(tmp_path, monkeypatch) -> dict[str, Path]:
    """Three builds of 1 MiB used 3 h, 2 min and 5 s ago, oldest first, and one of another
    tool's folder (other/: fast/ is pruned like the cocotb builds)."""
    monkeypatch.setenv("SPIKEFORGE_COSIM_BUILD", str(tmp_path))
    monkeypatch.delenv("SPIKEFORGE_CACHE_MAX", raising=False)
    builds = {}
    for name, kind, age in (("a-1", "icarus", 3 * 3600), ("b-2", "verilator", 120),
                            ("c-3", "icarus", 5), ("d-4", "other", 60)):
        path = tmp_path / kind / name
        path.mkdir(parents=True)
        (path / "blob").write_bytes(os.urandom(1 << 20))
        (path / LAST_USED).touch()
        os.utime(path / LAST_USED, (time.time() - age,) * 2)
        builds[name] = path
    return builds


def test_info_lists_builds_oldest_first(cache, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SPIKEFORGE_CACHE_MAX", "3G")
    assert main(["cache", "info"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith(f"cache {tmp_path}: 4 builds, 4.0 MiB of 3.0 GiB "
                               f"($SPIKEFORGE_CACHE_MAX)"), out
    rows = [line.split() for line in lines[2:]]
    assert [r[-1] for r in rows] == ["a-1", "b-2", "d-4", "c-3"]
    assert rows[0][:5] == ["icarus", "1.0", "MiB", "3", "h"]
    assert rows[2][-2] == "kept" and err == ""


def test_clean_keep_removes_least_recently_used(cache, capsys):
    assert main(["cache", "clean", "--keep", "2.5M"]) == 0
    out, _ = capsys.readouterr()
    # 4 MiB over 2.5 MiB: a-1 then b-2 go; d-4 (other/) is not the cache's to remove
    assert not cache["a-1"].exists() and not cache["b-2"].exists()
    assert cache["c-3"].exists() and cache["d-4"].exists()
    assert out.startswith("removed 2 builds (2.0 MiB)")


def test_clean_leaves_a_build_in_use(cache, capsys):
    with use_build(cache["a-1"]):
        assert main(["cache", "clean"]) == 0
    out, _ = capsys.readouterr()
    assert cache["a-1"].exists() and not cache["b-2"].exists() and not cache["c-3"].exists()
    assert "removed 2 builds" in out and "2 left" in out and "1 in use" in out, out


def test_empty_cache(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SPIKEFORGE_COSIM_BUILD", str(tmp_path / "none"))
    assert main(["cache", "info"]) == 0
    assert main(["cache", "clean"]) == 0
    out, _ = capsys.readouterr()
    assert "0 builds, 0 B" in out and "removed 0 builds" in out
    assert not (tmp_path / "none").exists()


def test_bad_bound_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SPIKEFORGE_COSIM_BUILD", str(tmp_path))
    monkeypatch.setenv("SPIKEFORGE_CACHE_MAX", "2 gigs")
    assert main(["cache", "info"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == ("spikeforge cache: error: $SPIKEFORGE_CACHE_MAX: expected a "
                                 "size such as 2G, 500M or a number of bytes, got '2 gigs'\n")
