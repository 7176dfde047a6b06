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

Where the files come from
=========================
``spikeforge data fetch mnist|fashion-mnist`` (:func:`fetch_dataset`, with ``pooch``)
downloads the four ``.gz`` files into the user data directory (:func:`user_data_dir`:
``$SPIKEFORGE_DATA/<name>``, default ``~/.cache/spikeforge/data/<name>``), each checked
against the SHA-256 of :data:`REGISTRY`. :func:`load_dataset` without a path searches
:func:`dataset_locations` in order (:func:`find_dataset_dir`); docs/data.md has the details.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from platformdirs import user_cache_dir

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


# -- where the data sets live ------------------------------------------------------------
#
# The IDX files of MNIST and Fashion-MNIST are found, for load_dataset(name) without a
# path, in the first of these that holds them:
#   mnist:         $SPIKEFORGE_MNIST (if set, it wins: a wrong value is an error, not a
#                  fall-through), the user data directory, ../shared/data/mnist (the team's
#                  machines: the official test set and a 10,000-image training subset);
#   fashion-mnist: the user data directory, /usr/share/datasets/fashion-mnist (Debian's
#                  dataset-fashion-mnist).
# The user data directory is $SPIKEFORGE_DATA/<name>, by default
# platformdirs.user_cache_dir("spikeforge")/data/<name> (~/.cache/spikeforge/data/<name> on
# Linux), where `spikeforge data fetch <name>` downloads the files.

DATA_ENV = "SPIKEFORGE_DATA"
SHARED_MNIST_DIR = REPO_ROOT.parent / "shared" / "data" / "mnist"
IDX_STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@dataclass(frozen=True)
class RemoteFile:
    """One file of a downloadable data set: ``sha256`` of the file as served (what
    :func:`fetch_dataset` checks); ``payload_sha256`` of its decompressed IDX bytes where it
    was computed (lets :func:`check_files` recognise a recompressed or uncompressed copy)."""

    name: str
    sha256: str
    payload_sha256: str | None = None


@dataclass(frozen=True)
class Remote:
    """A data set :func:`fetch_dataset` can download: ``base_url`` + each file's name."""

    name: str
    base_url: str
    files: tuple[RemoteFile, ...]
    size_mb: float  # the download, for messages


# Provenance of the hashes (docs/data.md):
# * MNIST: the original distribution's four .gz files, served by PyTorch's mirror (LeCun's
#   site refuses downloads). t10k-*: computed here from ../shared/data/mnist, whose README says
#   they are byte-identical to the original; train-*: the published sums (torchvision,
#   TensorFlow Datasets) -- not checkable here, the team's share holds a subset. Payload
#   hashes only where computed here (the test set).
# * Fashion-MNIST: Zalando's four .gz files from their S3 bucket; .gz sums as published (TFDS;
#   Zalando's README publishes MD5s of the same files). Debian's package recompressed the
#   files (other .gz bytes, same IDX payload), so its .gz do not match; the payload hashes
#   are computed here from Debian's files (dataset-fashion-mnist 0.0~git20200523).
REGISTRY = {
    "mnist": Remote("mnist", "https://ossci-datasets.s3.amazonaws.com/mnist/", (
        RemoteFile("train-images-idx3-ubyte.gz",
                   "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
        RemoteFile("train-labels-idx1-ubyte.gz",
                   "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
        RemoteFile("t10k-images-idx3-ubyte.gz",
                   "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                   "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
        RemoteFile("t10k-labels-idx1-ubyte.gz",
                   "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                   "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
    ), size_mb=11.6),
    "fashion-mnist": Remote(
        "fashion-mnist", "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", (
            RemoteFile("train-images-idx3-ubyte.gz",
                       "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                       "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
            RemoteFile("train-labels-idx1-ubyte.gz",
                       "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                       "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
            RemoteFile("t10k-images-idx3-ubyte.gz",
                       "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                       "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
            RemoteFile("t10k-labels-idx1-ubyte.gz",
                       "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                       "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
        ), size_mb=30.9),
}

#: other files recognised by hash (``spikeforge data list`` names them instead of "differs")
KNOWN_OTHER = {
    "9e594dacbefd1c4239130054519626ac29508c9444ed6b5954e03f6cccf5e9bf":
        "the team's 10,000-image training subset",
    "55d8df10b1cc813a7005b855fa1b1681c032d2f6d39a491dce56504acd792393":
        "the team's 10,000-image training subset",
}


def data_root() -> Path:
    """``$SPIKEFORGE_DATA``, else ``platformdirs.user_cache_dir("spikeforge")/data``."""
    env = os.environ.get(DATA_ENV)
    return Path(env) if env else Path(user_cache_dir("spikeforge")) / "data"


def user_data_dir(name: str) -> Path:
    """Where ``spikeforge data fetch NAME`` puts the files: ``data_root()/NAME``."""
    return data_root() / name


def has_idx_files(directory: Path) -> bool:
    """True if ``directory`` holds all four IDX files (plain or ``.gz``)."""
    try:
        for stem in IDX_STEMS:
            _find(directory, stem)
    except (SpikeforgeError, OSError):
        return False
    return True


def dataset_locations(name: str) -> list[tuple[str, Path | None]]:
    """``(label, directory)`` in the order :func:`find_dataset_dir` searches them; the
    directory is None for an unset variable."""
    key = _dataset_key(name)
    if key == "mnist":
        env = os.environ.get(MNIST_ENV)
        return [(f"${MNIST_ENV}", Path(env) if env else None),
                ("user data", user_data_dir("mnist")), ("team share", SHARED_MNIST_DIR)]
    if key == "fashion-mnist":
        return [("user data", user_data_dir("fashion-mnist")), ("Debian", FASHION_MNIST_DIR)]
    raise ConfigError(f"name: no files to find for {name!r} (IDX data sets: "
                      f"{', '.join(REGISTRY)})")


def find_dataset_dir(name: str) -> Path:
    """The directory :func:`load_dataset` reads ``name`` (mnist, fashion-mnist) from: the
    first of :func:`dataset_locations` that holds the four files (``$SPIKEFORGE_MNIST``,
    when set, is taken as it is). Raises :class:`SpikeforgeError` naming the fetch command."""
    key = _dataset_key(name)
    for label, directory in dataset_locations(key):
        if directory is None:
            continue
        if label == f"${MNIST_ENV}" or has_idx_files(directory):
            return directory
    where = ", ".join(f"{label} {d}" for label, d in dataset_locations(key) if d is not None)
    extra = (f"; or set ${MNIST_ENV} to a directory of the four IDX files" if key == "mnist"
             else "; or `apt-get install dataset-fashion-mnist` (Debian/Ubuntu)")
    raise SpikeforgeError(f"{key}: data set not found (looked in {where}): download it with "
                          f"`spikeforge data fetch {key}` ({REGISTRY[key].size_mb:g} MB){extra}; "
                          f"or pass path=<directory of the IDX files>")


def default_mnist_dir() -> Path:
    """Where ``load_dataset("mnist")`` reads from: :func:`find_dataset_dir` ``("mnist")``."""
    return find_dataset_dir("mnist")


def _dataset_key(name: str) -> str:
    key = str(name).lower().replace("_", "-")
    return "fashion-mnist" if key == "fashionmnist" else key


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_files(name: str, directory: Path) -> dict[str, str]:
    """What each registered file of ``name`` in ``directory`` is: ``ok`` (the registered
    file), ``ok (payload)`` (recompressed or uncompressed, same IDX bytes), ``missing``,
    a :data:`KNOWN_OTHER` description, or ``differs``."""
    status = {}
    for remote in REGISTRY[_dataset_key(name)].files:
        stem = remote.name.removesuffix(".gz")
        try:
            path = _find(Path(directory), stem)
        except (SpikeforgeError, OSError):
            status[remote.name] = "missing"
            continue
        raw = path.read_bytes()
        if path.name == remote.name and _sha256(raw) == remote.sha256:
            status[remote.name] = "ok"
        elif remote.payload_sha256 and _sha256(_read_bytes(path)) == remote.payload_sha256:
            status[remote.name] = "ok (payload)"
        else:
            status[remote.name] = KNOWN_OTHER.get(_sha256(raw), "differs")
    return status


def fetch_dataset(name: str, base_url: str | None = None, directory=None, *,
                  remote: Remote | None = None, progress: bool = False) -> Path:
    """Download the four files of ``name`` from ``base_url`` (default: the registry's) into
    ``directory`` (default :func:`user_data_dir`) with :func:`pooch.retrieve`, each checked
    against its SHA-256; files already there with the right hash are not downloaded again.

    A file whose hash differs is deleted by pooch before it reaches its name (it is
    downloaded to a temporary file in ``directory`` and moved only after the check):
    :class:`SpikeforgeError` names the file, the URL and both hashes. ``remote`` replaces
    the registry entry (the tests serve generated files). Returns the directory."""
    if importlib.util.find_spec("pooch") is None:
        raise SpikeforgeError(f"{name}: downloading needs pooch: pip install pooch")
    key = _dataset_key(name)
    if remote is None:
        if key not in REGISTRY:
            raise ConfigError(f"name: unknown data set {name!r} to fetch (known: "
                              f"{', '.join(REGISTRY)})")
        remote = REGISTRY[key]
    base = (base_url or remote.base_url).rstrip("/") + "/"
    target = Path(directory) if directory is not None else user_data_dir(key)
    existed = target.exists()
    try:
        _retrieve_all(key, remote, base, target, progress)
    except SpikeforgeError:
        if not existed and target.is_dir() and not any(target.iterdir()):
            target.rmdir()  # nothing was fetched: leave no empty directory behind
        raise
    return target


def _retrieve_all(key: str, remote: Remote, base: str, target: Path, progress: bool) -> None:
    import pooch
    import requests  # pooch's HTTP client

    pooch.get_logger().setLevel("WARNING")  # our own line per data set, not pooch's per file
    for file in remote.files:
        url = base + file.name
        try:
            pooch.retrieve(url, known_hash=f"sha256:{file.sha256}", fname=file.name,
                           path=target, progressbar=progress)
        except ValueError as error:  # pooch: the hash of the download does not match
            got = re.search(r"but got (\w+)", str(error))
            raise SpikeforgeError(
                f"{key}: {url}: refused: its SHA-256 is {got.group(1) if got else '?'}, the "
                f"registry's {file.sha256} (corrupt or altered download; not kept)") from None
        except requests.RequestException as error:
            raise SpikeforgeError(f"{key}: cannot download {url}: {error}") from None


# -- named data sets ---------------------------------------------------------------------

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
    the IDX files; without it :func:`find_dataset_dir` looks (mnist) in ``$SPIKEFORGE_MNIST``,
    the user data directory, ``../shared/data/mnist``, or (fashion-mnist) the user data
    directory, ``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist``)."""
    key = _dataset_key(name)
    if key == "digits":
        if path is not None:
            raise ConfigError("path: digits comes with scikit-learn and takes no path")
        return load_digits(**kwargs)
    if key in REGISTRY:
        return load_idx_dir(Path(path) if path is not None else find_dataset_dir(key), key)
    raise ConfigError(f"name: unknown dataset {name!r} (known: digits, mnist, fashion-mnist)")
