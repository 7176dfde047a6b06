"""Datasets: sklearn digits, MNIST and Fashion-MNIST (IDX files), as plain numpy arrays.

IDX format (LeCun's MNIST distribution)
=======================================
A big-endian header ``00 00 <dtype code> <ndim>`` followed by ``ndim`` unsigned 32-bit
big-endian sizes, then the data, C order, big-endian. Dtype codes: ``0x08`` uint8,
``0x09`` int8, ``0x0B`` int16, ``0x0C`` int32, ``0x0D`` float32, ``0x0E`` float64.
Files may be gzip-compressed (``*.gz``). :func:`read_idx` rejects a bad magic, an unknown
dtype code, a truncated or over-long payload, and :func:`load_idx_dir` rejects image and
label files whose counts disagree or labels outside the class range, each with a
:class:`SpikeforgeError` that names the file.
"""

from __future__ import annotations

import gzip
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spikeforge.ir.errors import ConfigError, SpikeforgeError

IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

REPO_ROOT = Path(__file__).resolve().parent.parent
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
MNIST_ENV = "SPIKEFORGE_MNIST"
#: the data sets :func:`load_dataset` knows, by the name a :class:`Dataset` carries
DATASETS = ("digits", "mnist", "fashion-mnist")


@dataclass
class Dataset:
    """A classification data set. ``*_x`` are ``[n, features]`` (flattened images, uint8 for
    the IDX sets and digits' 0..16 values as uint8), ``*_y`` are ``[n]`` int64 labels.
    ``max_value`` is the largest possible pixel value (255, or 16 for digits); ``shape``
    the image shape."""

    name: str
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    n_classes: int
    max_value: int
    shape: tuple

    @property
    def n_features(self) -> int:
        return int(self.train_x.shape[1])

    def shifted(self, x: np.ndarray, max_shift: int, rng: np.random.Generator) -> np.ndarray:
        """``x`` (``[n, features]`` images of this set) each moved by a random whole number of
        pixels, up to ``max_shift`` in each direction, filled with 0: the standard
        translation augmentation for training on few images."""
        if max_shift < 0:
            raise ConfigError(f"max_shift: must be >= 0, got {max_shift}")
        h, w = self.shape
        images = np.asarray(x).reshape(-1, h, w)
        padded = np.pad(images, ((0, 0), (max_shift, max_shift), (max_shift, max_shift)))
        dy = rng.integers(0, 2 * max_shift + 1, len(images))
        dx = rng.integers(0, 2 * max_shift + 1, len(images))
        rows = dy[:, None] + np.arange(h)[None, :]                     # [n, h]
        cols = dx[:, None] + np.arange(w)[None, :]                     # [n, w]
        out = padded[np.arange(len(images))[:, None, None], rows[:, :, None], cols[:, None, :]]
        return out.reshape(len(images), h * w)

    def normalized(self, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
        """``(x / max_value as float32 in [0, 1], y)`` for ``split`` = train or test."""
        if split not in ("train", "test"):
            raise ConfigError(f"split: must be 'train' or 'test', got {split!r}")
        x = getattr(self, f"{split}_x").astype(np.float32) / self.max_value
        return x, getattr(self, f"{split}_y")


# -- IDX ---------------------------------------------------------------------------------

def _read_bytes(path: Path) -> bytes:
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except FileNotFoundError:
        raise SpikeforgeError(f"{path}: file not found") from None
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise SpikeforgeError(f"{path}: cannot read (corrupt or truncated gzip?): {exc}") from None


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse the bytes of one IDX file into an array (native byte order)."""
    if len(data) < 4:
        raise SpikeforgeError(f"{name}: too short for an IDX header ({len(data)} bytes)")
    if data[0] != 0 or data[1] != 0:
        raise SpikeforgeError(f"{name}: bad IDX magic {data[:4].hex()} (expected 0000 then "
                              "dtype code and number of dimensions)")
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        raise SpikeforgeError(f"{name}: unknown IDX dtype code 0x{code:02X} "
                              f"(known: {', '.join(f'0x{c:02X}' for c in IDX_DTYPES)})")
    if ndim == 0:
        raise SpikeforgeError(f"{name}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise SpikeforgeError(f"{name}: truncated IDX header: {ndim} dimensions need {header} "
                              f"bytes, file has {len(data)}")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    payload = len(data) - header
    if payload < expected:
        raise SpikeforgeError(f"{name}: truncated: header declares shape {list(dims)} "
                              f"({expected} data bytes) but only {payload} bytes follow")
    if payload > expected:
        raise SpikeforgeError(f"{name}: {payload - expected} unexpected trailing bytes after "
                              f"the {expected} data bytes of shape {list(dims)}")
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return array.astype(np.dtype(f"{dtype.kind}{dtype.itemsize}"))  # native byte order


def read_idx(path) -> np.ndarray:
    """Read one IDX file (plain or gzip) into a numpy array."""
    path = Path(path)
    return parse_idx(_read_bytes(path), str(path))


def _find(directory: Path, stem: str) -> Path:
    for candidate in (directory / f"{stem}.gz", directory / stem):
        if candidate.exists():
            return candidate
    # some distributions use '.' instead of '-' before idx (train-images.idx3-ubyte)
    alt = stem.replace("-idx", ".idx")
    for candidate in (directory / f"{alt}.gz", directory / alt):
        if candidate.exists():
            return candidate
    raise SpikeforgeError(f"{directory}: no {stem}(.gz) in this directory")


def load_idx_dir(path, name: str = "idx", n_classes: int = 10) -> Dataset:
    """Load ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``
    and ``t10k-labels-idx1-ubyte`` (each optionally ``.gz``) from ``path``.

    Images must be uint8 ``[n, rows, cols]``, labels uint8 ``[n]`` in ``0..n_classes-1``, and
    the image and label counts of each split must agree."""
    directory = Path(path)
    if not directory.is_dir():
        raise SpikeforgeError(f"{directory}: not a directory (expected a directory of IDX files)")
    splits = {}
    shape = None
    for split, prefix in (("train", "train"), ("test", "t10k")):
        img_path = _find(directory, f"{prefix}-images-idx3-ubyte")
        lbl_path = _find(directory, f"{prefix}-labels-idx1-ubyte")
        images, labels = read_idx(img_path), read_idx(lbl_path)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise SpikeforgeError(f"{img_path}: expected uint8 images [n, rows, cols], got "
                                  f"{images.dtype} of shape {list(images.shape)}")
        if labels.ndim != 1 or labels.dtype != np.uint8:
            raise SpikeforgeError(f"{lbl_path}: expected uint8 labels [n], got {labels.dtype} "
                                  f"of shape {list(labels.shape)}")
        if len(images) != len(labels):
            raise SpikeforgeError(f"{img_path}: {len(images)} images but {lbl_path.name} has "
                                  f"{len(labels)} labels")
        if len(labels) and int(labels.max()) >= n_classes:
            raise SpikeforgeError(f"{lbl_path}: label {int(labels.max())} outside 0..{n_classes - 1}")
        if shape is not None and images.shape[1:] != shape:
            raise SpikeforgeError(f"{img_path}: image shape {list(images.shape[1:])} differs from "
                                  f"the training images' {list(shape)}")
        shape = images.shape[1:]
        splits[split] = (images.reshape(len(images), -1), labels.astype(np.int64))
    return Dataset(name, *splits["train"], *splits["test"], n_classes=n_classes, max_value=255,
                   shape=tuple(int(s) for s in shape))


# -- named data sets ---------------------------------------------------------------------

def default_mnist_dir() -> Path:
    """``../shared/data/mnist`` next to the repository if present, else ``$SPIKEFORGE_MNIST``."""
    shared = REPO_ROOT.parent / "shared" / "data" / "mnist"
    if shared.is_dir():
        return shared
    env = os.environ.get(MNIST_ENV)
    if env:
        return Path(env)
    raise SpikeforgeError(
        f"mnist: no MNIST directory found: {shared} does not exist and ${MNIST_ENV} is not set. "
        f"Download the four IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
        f"t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) into a directory and set "
        f"{MNIST_ENV}=/that/directory or pass path=...")


def load_digits(test_fraction: float = 0.25, seed: int = 0) -> Dataset:
    """sklearn's 8x8 handwritten digits (1797 images, pixel values 0..16), split
    deterministically (stratified, ``seed``) into train and test."""
    from sklearn.datasets import load_digits as sk_load_digits
    from sklearn.model_selection import train_test_split

    if not 0 < test_fraction < 1:
        raise ConfigError(f"test_fraction: must be in (0, 1), got {test_fraction}")
    d = sk_load_digits()
    x = d.data.astype(np.uint8)
    y = d.target.astype(np.int64)
    tx, vx, ty, vy = train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=y)
    return Dataset("digits", tx, ty, vx, vy, n_classes=10, max_value=16, shape=(8, 8))


def load_dataset(name: str, path=None, **kwargs) -> Dataset:
    """Load ``digits``, ``mnist`` or ``fashion-mnist``. ``path`` overrides the directory of
    the IDX files (MNIST default: :func:`default_mnist_dir`; Fashion-MNIST default:
    ``/usr/share/datasets/fashion-mnist`` from the Debian package ``dataset-fashion-mnist``)."""
    key = str(name).lower().replace("_", "-")
    if key == "digits":
        if path is not None:
            raise ConfigError("path: digits comes with scikit-learn and takes no path")
        return load_digits(**kwargs)
    if key == "mnist":
        return load_idx_dir(Path(path) if path is not None else default_mnist_dir(), "mnist")
    if key in ("fashion-mnist", "fashionmnist"):
        directory = Path(path) if path is not None else FASHION_MNIST_DIR
        if path is None and not directory.is_dir():
            raise SpikeforgeError(f"fashion-mnist: {directory} does not exist; install it with "
                                  "`apt-get install dataset-fashion-mnist` (Debian/Ubuntu) or "
                                  "pass path=<directory of the IDX files>")
        return load_idx_dir(directory, "fashion-mnist")
    raise ConfigError(f"name: unknown dataset {name!r} (known: digits, mnist, fashion-mnist)")
