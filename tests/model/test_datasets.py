"""Datasets: IDX parsing, real MNIST, where the loaders look (generated IDX files), digits,
clear errors on bad files."""

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

from spikeforge.ir.errors import ConfigError, SpikeforgeError
from spikeforge.model.datasets import (
    check_files,
    load_dataset,
    load_digits,
    load_idx_dir,
    parse_idx,
    read_idx,
)
from tests.util import mnist_dir, needs_mnist


def idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    return bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + \
        array.astype(">u1" if code == 0x08 else array.dtype).tobytes()


def write_set(directory: Path, n_train=5, n_test=3, gz=True):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        files = {f"{prefix}-images-idx3-ubyte": rng.integers(0, 256, (n, 4, 3), dtype=np.uint8),
                 f"{prefix}-labels-idx1-ubyte": rng.integers(0, 10, n, dtype=np.uint8)}
        for name, array in files.items():
            data = idx_bytes(array)
            if gz:
                (directory / f"{name}.gz").write_bytes(gzip.compress(data))
            else:
                (directory / name).write_bytes(data)


@pytest.mark.parametrize("gz", [True, False])
def test_roundtrip_small_idx_dir(tmp_path, gz):
    write_set(tmp_path, gz=gz)
    ds = load_idx_dir(tmp_path)
    assert ds.train_x.shape == (5, 12) and ds.test_x.shape == (3, 12)
    assert ds.train_x.dtype == np.uint8 and ds.train_y.dtype == np.int64
    assert ds.shape == (4, 3) and ds.n_classes == 10 and ds.max_value == 255


def test_parse_idx_other_dtypes():
    a = (np.arange(6).reshape(2, 3) - 3).astype(">i4")
    data = bytes([0, 0, 0x0C, 2]) + struct.pack(">2I", 2, 3) + a.tobytes()
    np.testing.assert_array_equal(parse_idx(data), a)


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d[:-5], "truncated"),
    (lambda d: d + b"\x00\x01", "trailing"),
    (lambda d: b"\x08\x03" + d[2:], "magic"),
    (lambda d: d[:2] + b"\x07" + d[3:], "dtype code"),
    (lambda d: d[:6], "truncated IDX header"),
    (lambda d: b"\x00", "too short"),
])
def test_corrupt_idx_is_named(tmp_path, mutate, message):
    good = idx_bytes(np.zeros((3, 2, 2), dtype=np.uint8))
    path = tmp_path / "bad-idx3-ubyte"
    path.write_bytes(mutate(good))
    with pytest.raises(SpikeforgeError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_truncated_gzip_is_named(tmp_path):
    write_set(tmp_path)
    target = tmp_path / "t10k-images-idx3-ubyte.gz"
    target.write_bytes(target.read_bytes()[:20])
    with pytest.raises(SpikeforgeError, match="t10k-images-idx3-ubyte.gz"):
        load_idx_dir(tmp_path)


def test_count_mismatch_and_missing(tmp_path):
    write_set(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(idx_bytes(np.zeros(4, dtype=np.uint8))))
    with pytest.raises(SpikeforgeError, match="5 images but .* 4 labels"):
        load_idx_dir(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(idx_bytes(np.zeros(5, dtype=np.uint8))))
    with pytest.raises(SpikeforgeError, match="no t10k-labels-idx1-ubyte"):
        load_idx_dir(tmp_path)
    with pytest.raises(SpikeforgeError, match="not a directory"):
        load_idx_dir(tmp_path / "nope")


def test_label_out_of_range(tmp_path):
    write_set(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(idx_bytes(np.full(5, 12, dtype=np.uint8))))
    with pytest.raises(SpikeforgeError, match="label 12"):
        load_idx_dir(tmp_path)


@needs_mnist
def test_real_mnist():
    """The MNIST the loaders find is the official test set (the registry's hashes) with the
    official training set or the team's 10,000-image subset of it."""
    MNIST = mnist_dir()
    status = check_files("mnist", MNIST)
    assert status["t10k-images-idx3-ubyte.gz"] == status["t10k-labels-idx1-ubyte.gz"] == "ok"
    subset = status["train-images-idx3-ubyte.gz"] == "the team's 10,000-image training subset"
    ds = load_dataset("mnist", path=MNIST)
    assert ds.test_x.shape == (10000, 784) and ds.shape == (28, 28)
    if subset:
        assert ds.train_x.shape == (10000, 784)
        np.testing.assert_array_equal(np.bincount(ds.train_y),
                                      [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978])
    else:
        assert status["train-images-idx3-ubyte.gz"] == "ok" and ds.train_x.shape == (60000, 784)
    # the official test set: 980 zeros ... and its first label is 7
    assert ds.test_y[0] == 7 and np.bincount(ds.test_y)[0] == 980
    assert ds.test_x.max() == 255
    # default discovery finds the same files
    assert load_dataset("mnist").test_y[:10].tolist() == ds.test_y[:10].tolist()


@pytest.fixture
def places(tmp_path, monkeypatch):
    """The three places MNIST can be, none of them holding it yet: ``(env, user, shared)``."""
    import spikeforge.model.datasets as d

    env, user_root, shared = tmp_path / "env", tmp_path / "user", tmp_path / "shared"
    monkeypatch.setattr(d, "SHARED_MNIST_DIR", shared)
    monkeypatch.setenv("SPIKEFORGE_DATA", str(user_root))
    monkeypatch.delenv("SPIKEFORGE_MNIST", raising=False)
    for directory in (env, user_root / "mnist", shared):
        directory.mkdir(parents=True)
    return env, user_root / "mnist", shared


def test_mnist_search_order(places, monkeypatch):
    """explicit path > $SPIKEFORGE_MNIST > user data directory > ../shared/data/mnist: each
    place holds a set of another size, so the size says which was read."""
    env, user, shared = places
    write_set(shared, n_train=2)
    assert load_dataset("mnist").train_x.shape[0] == 2
    write_set(user, n_train=3)
    assert load_dataset("mnist").train_x.shape[0] == 3
    write_set(env, n_train=4)
    monkeypatch.setenv("SPIKEFORGE_MNIST", str(env))
    assert load_dataset("mnist").train_x.shape[0] == 4
    assert load_dataset("mnist", path=shared).train_x.shape[0] == 2
    # a variable naming a wrong directory is an error, not a silent fall-through
    monkeypatch.setenv("SPIKEFORGE_MNIST", str(env / "typo"))
    with pytest.raises(SpikeforgeError, match="typo: not a directory"):
        load_dataset("mnist")


def test_incomplete_user_directory_is_passed_over(places):
    env, user, shared = places
    write_set(shared, n_train=2)
    write_set(user, n_train=3)
    (user / "t10k-labels-idx1-ubyte.gz").unlink()  # e.g. an interrupted fetch
    assert load_dataset("mnist").train_x.shape[0] == 2


def test_mnist_not_found_names_the_fetch_command(places):
    env, user, shared = places
    with pytest.raises(SpikeforgeError) as info:
        load_dataset("mnist")
    message = str(info.value)
    assert "`spikeforge data fetch mnist`" in message and "SPIKEFORGE_MNIST" in message
    assert str(user) in message and str(shared) in message and "\n" not in message


def test_fashion_mnist_search_order(tmp_path, monkeypatch):
    """user data directory > /usr/share/datasets/fashion-mnist (Debian); neither: the fetch
    command and the Debian package are named."""
    import spikeforge.model.datasets as d

    monkeypatch.setattr(d, "FASHION_MNIST_DIR", tmp_path / "debian")
    monkeypatch.setenv("SPIKEFORGE_DATA", str(tmp_path / "user"))
    with pytest.raises(SpikeforgeError, match="spikeforge data fetch fashion-mnist.*"
                                              "apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist")
    (tmp_path / "debian").mkdir()
    write_set(tmp_path / "debian", n_train=2, gz=False)
    assert load_dataset("fashion-mnist").train_x.shape[0] == 2
    (tmp_path / "user" / "fashion-mnist").mkdir(parents=True)
    write_set(tmp_path / "user" / "fashion-mnist", n_train=3)
    assert load_dataset("fashion_mnist").train_x.shape[0] == 3


def test_check_files_tells_recompressed_from_different(tmp_path, monkeypatch):
    """``ok`` for the registered bytes, ``ok (payload)`` for the same IDX bytes compressed
    otherwise (Debian's Fashion-MNIST), ``differs`` otherwise, ``missing``."""
    import spikeforge.model.datasets as d

    payload = idx_bytes(np.arange(5, dtype=np.uint8))
    served = gzip.compress(payload, mtime=0)
    other = gzip.compress(payload, mtime=12345)  # same payload, another gzip header
    assert served != other
    files = tuple(d.RemoteFile(f"{stem}.gz", hashlib.sha256(served).hexdigest(),
                               hashlib.sha256(payload).hexdigest()) for stem in d.IDX_STEMS)
    monkeypatch.setitem(d.REGISTRY, "mnist", d.Remote("mnist", "http://unused/", files, 0))
    for stem, data in zip(d.IDX_STEMS, (served, other, gzip.compress(payload + b"!"), None)):
        if data is not None:
            (tmp_path / f"{stem}.gz").write_bytes(data)
    assert list(d.check_files("mnist", tmp_path).values()) == [
        "ok", "ok (payload)", "differs", "missing"]


@pytest.mark.skipif(not Path("/usr/share/datasets/fashion-mnist").is_dir(),
                    reason="dataset-fashion-mnist not installed")
def test_fashion_mnist_installed():
    ds = load_dataset("fashion-mnist")
    assert ds.train_x.shape == (60000, 784) and ds.test_x.shape == (10000, 784)


def test_digits_deterministic():
    a, b = load_digits(), load_dataset("digits")
    np.testing.assert_array_equal(a.train_x, b.train_x)
    np.testing.assert_array_equal(a.test_y, b.test_y)
    assert a.train_x.max() <= 16 and a.max_value == 16
    assert len(a.train_x) + len(a.test_x) == 1797
    x, y = a.normalized("test")
    assert x.dtype == np.float32 and x.max() <= 1.0
    with pytest.raises(ConfigError, match="unknown dataset"):
        load_dataset("cifar")


def test_shifted_images_move_by_whole_pixels():
    ds = load_digits()
    x = ds.train_x[:50]
    assert np.array_equal(ds.shifted(x, 0, np.random.default_rng(0)), x)
    moved = ds.shifted(x, 2, np.random.default_rng(1))
    assert moved.shape == x.shape and moved.dtype == x.dtype
    assert not np.array_equal(moved, x)
    for before, after in zip(x.reshape(-1, 8, 8), moved.reshape(-1, 8, 8)):
        # some shift within +-2 in each direction maps the image onto its moved copy
        padded = np.pad(before, 2)
        assert any(np.array_equal(padded[2 + dy:10 + dy, 2 + dx:10 + dx], after)
                   for dy in range(-2, 3) for dx in range(-2, 3))
    with pytest.raises(ConfigError, match="max_shift"):
        ds.shifted(x, -1, np.random.default_rng(0))
