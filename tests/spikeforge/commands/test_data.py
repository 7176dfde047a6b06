"""``spikeforge data fetch|list`` against a real HTTP server on 127.0.0.1 (``http.server`` in a
thread) serving small generated IDX files, with a registry of their SHA-256: a fetch lands
checked files the loaders read; a corrupt file is refused in one line and not kept; a
second fetch downloads nothing; ``data list`` shows where the loaders look and which place
they read."""

from __future__ import annotations

import gzip
import hashlib
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from spikeforge.cli import main
from spikeforge.model import datasets
from spikeforge.model.datasets import Remote, RemoteFile, load_dataset


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file of uint8 ``array``: ``00 00 08 ndim``, the sizes (big-endian u32), data."""
    sizes = b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return bytes([0, 0, 0x08, array.ndim]) + sizes + array.astype(np.uint8).tobytes()


class QuietHandler(SimpleHTTPRequestHandler):
    requests: list[str] = []

    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):
        type(self).requests.append(self.path)
        super().do_GET()


@pytest.fixture
def served(tmp_path, monkeypatch):
    """``(base_url, remote, served_dir)``: four generated ``.gz`` IDX files (7 training and
    3 test images of 5x4 pixels) behind a local HTTP server, and their registry entry, which
    also replaces ``mnist``'s in :data:`REGISTRY` for the command line."""
    served_dir = tmp_path / "served"
    served_dir.mkdir()
    rng = np.random.default_rng(7)
    files = []
    for prefix, n in (("train", 7), ("t10k", 3)):
        for name, array in ((f"{prefix}-images-idx3-ubyte",
                             rng.integers(0, 256, (n, 5, 4), dtype=np.uint8)),
                            (f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, n, dtype=np.uint8))):
            data = gzip.compress(idx_bytes(array), mtime=0)
            (served_dir / f"{name}.gz").write_bytes(data)
            files.append(RemoteFile(f"{name}.gz", hashlib.sha256(data).hexdigest()))
    QuietHandler.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=served_dir))
    serve = partial(server.serve_forever, poll_interval=0.05)  # a quick shutdown
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    remote = Remote("mnist", base, tuple(files), size_mb=0.001)
    monkeypatch.setitem(datasets.REGISTRY, "mnist", remote)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # a proxy in the environment must not interfere
    monkeypatch.setenv("SPIKEFORGE_DATA", str(tmp_path / "user-data"))
    monkeypatch.delenv("SPIKEFORGE_MNIST", raising=False)
    yield base, remote, served_dir
    server.shutdown()
    server.server_close()


def test_fetch_downloads_checked_files_the_loaders_read(served, tmp_path, capsys):
    base, remote, _ = served
    assert main(["data", "fetch", "mnist"]) == 0
    out, err = capsys.readouterr()
    target = tmp_path / "user-data" / "mnist"
    assert out == f"mnist: 7 training and 3 test images in {target} (SHA-256 checked)\n"
    assert sorted(p.name for p in target.iterdir()) == sorted(f.name for f in remote.files)
    for f in remote.files:
        assert hashlib.sha256((target / f.name).read_bytes()).hexdigest() == f.sha256
    # the loaders find it in the user data directory, before ../shared
    ds = load_dataset("mnist")
    assert ds.train_x.shape == (7, 20) and ds.test_x.shape == (3, 20) and ds.shape == (5, 4)
    # a second fetch finds every file checked in place and downloads nothing
    n = len(QuietHandler.requests)
    assert main(["data", "fetch", "mnist"]) == 0
    assert len(QuietHandler.requests) == n == 4


def test_fetch_into_dir_from_url(served, tmp_path, capsys):
    base, remote, served_dir = served
    # the registry's URL is wrong; --url names the right one
    datasets.REGISTRY["mnist"] = Remote("mnist", "http://127.0.0.1:9/", remote.files, 0.001)
    assert main(["data", "fetch", "mnist", "--url", base, "--dir", str(tmp_path / "here")]) == 0
    assert (tmp_path / "here" / "t10k-labels-idx1-ubyte.gz").exists()
    assert not (tmp_path / "user-data").exists()


def test_corrupt_download_is_refused_and_not_kept(served, tmp_path, capsys):
    base, remote, served_dir = served
    bad = served_dir / "t10k-images-idx3-ubyte.gz"
    data = bytearray(bad.read_bytes())
    data[-9] ^= 0x01  # one bit of the payload (a valid gzip would still not match the hash)
    bad.write_bytes(bytes(data))
    assert main(["data", "fetch", "mnist"]) == 2
    out, err = capsys.readouterr()
    digest = hashlib.sha256(bytes(data)).hexdigest()
    assert err.count("\n") == 2 and err.startswith("mnist: fetching 4 files"), err
    line = err.splitlines()[1]
    assert line.startswith(f"spikeforge data: error: mnist: {base}t10k-images-idx3-ubyte.gz: "
                           f"refused: its SHA-256 is {digest}"), line
    assert "not kept" in line and "Traceback" not in err and out == ""
    target = tmp_path / "user-data" / "mnist"
    # the files before it were checked and kept; the corrupt one and its temporary file not
    assert sorted(p.name for p in target.iterdir()) == ["train-images-idx3-ubyte.gz",
                                                        "train-labels-idx1-ubyte.gz"]
    assert not datasets.has_idx_files(target)  # so the loaders look further


def test_unreachable_server_is_one_error_line(served, tmp_path, capsys):
    assert main(["data", "fetch", "mnist", "--url", "http://127.0.0.1:9/",
                 "--dir", str(tmp_path / "x")]) == 2
    out, err = capsys.readouterr()
    line = err.splitlines()[-1]
    assert line.startswith("spikeforge data: error: mnist: cannot download "
                           "http://127.0.0.1:9/train-images-idx3-ubyte.gz: ")
    assert err.count("\n") == 2 and out == ""
    assert not (tmp_path / "x").exists()  # nothing fetched, no empty directory left


def test_list_shows_where_the_loaders_look(served, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(datasets, "SHARED_MNIST_DIR", tmp_path / "no-share")
    assert main(["data", "list", "mnist"]) == 0
    out, _ = capsys.readouterr()
    assert "not found: `spikeforge data fetch mnist`" in out
    assert main(["data", "fetch", "mnist"]) == 0
    capsys.readouterr()
    assert main(["data", "list", "mnist"]) == 0
    out, _ = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split() == ["dataset", "where", "directory", "files"]
    assert lines[1].split() == ["mnist", "$SPIKEFORGE_MNIST", "(not", "set)", "-"]
    assert lines[2].split() == ["mnist", "*", "user", "data", str(tmp_path / "user-data" / "mnist"),
                                "4/4:", "4", "ok"], out
    assert lines[3].split()[:4] == ["mnist", "team", "share", str(tmp_path / "no-share")]
    # $SPIKEFORGE_MNIST wins, and the mark moves there
    monkeypatch.setenv("SPIKEFORGE_MNIST", str(tmp_path / "served"))
    assert main(["data", "list", "mnist"]) == 0
    out, _ = capsys.readouterr()
    lines = out.splitlines()
    assert lines[1].split() == ["mnist", "*", "$SPIKEFORGE_MNIST", str(tmp_path / "served"),
                                "4/4:", "4", "ok"], out
    assert lines[2].split()[:3] == ["mnist", "user", "data"]  # no mark
