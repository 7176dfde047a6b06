"""Model files: what ``spikeforge train`` writes and ``spikeforge compile`` reads.

:func:`train_ttfs_model` / :func:`train_lif_model` train a network and return its model
file dict, :func:`save_model` / :func:`load_model` write and read it (both validate it),
:func:`integer_network_of` gives its integer network and :func:`encode_test_images` the
input events of a dataset's test images in the file's own encoding. The sub-command is
:mod:`spikeforge.commands.train`.

Model file
==========
A ``torch.save`` file of a plain dict (loadable with ``torch.load(weights_only=True)``: only
tensors, strings, numbers, booleans, lists and dicts)::

    {"format": "spikeforge-model", "version": 1,
     "kind": "ttfs" | "lif", "dataset": "digits", "sizes": [64, 100, 10],
     "network": {"layers": [{"weight": tensor [out, in], "alpha": .., "beta": ..,
                             "threshold": .., "reset": "zero", "fire_once": True}, ...],
                 "decision": "first-spike" | "spike-count"},
     "encoding": {...},                # how inputs become events (see below)
     "metrics": {"float_test_accuracy": .., "golden_test_accuracy": .., "train_seconds": ..},
     "continuous_weights": [tensor [in, out], ...]}   # TTFS only: the continuous-time net

``network`` is the float network description that
:func:`spikeforge.compiler.quantize.quantize` accepts, already on the contract's discrete
time: for TTFS the mapping of :mod:`spikeforge.model.ttfs_discrete` at ``ticks_per_tau``
(``encoding = {"kind": "ttfs-latency", "ticks_per_tau": K, "t_max": 1.0, "zero_is_silent":
False, "ticks": T, "max_value": .., "binarize_at": P, "silent_below": P}``; a file without
``zero_is_silent`` means False, one without ``binarize_at`` the intensity code, with it the
binary code of :class:`~spikeforge.model.ttfs.TTFSEncoding`, and ``silent_below`` silences
the pixels below it); for
LIF the trained layers (``encoding = {"kind": "rate", "ticks": T, "seed": 0, "max_value":
..}``, the LFSR rate code of :mod:`spikeforge.model.encoders`, or ``{"kind": "latency",
"ticks": T, "max_value": .., "min_value": 1}``, its one-spike latency code).
:func:`load_model` validates all of it and raises :class:`SpikeforgeError` naming the file.
"""

from __future__ import annotations

import os
import pickle
import secrets
from pathlib import Path

import numpy as np

from spikeforge.compiler.quantize import accuracy, float_network_from_description, quantize
from spikeforge.ir.errors import ConfigError, SpikeforgeError
from spikeforge.model.datasets import DATASETS

FORMAT = "spikeforge-model"
VERSION = 1


def _torch():
    """torch, imported on first use: ``spikeforge --help`` should not pay for it."""
    import torch

    return torch


def _layers_to_tensors(description: dict) -> dict:
    layers = []
    for layer in description["layers"]:
        entry = dict(layer)
        entry["weight"] = _torch().as_tensor(np.asarray(entry["weight"], dtype=np.float32))
        for key, value in entry.items():
            if isinstance(value, (np.floating, np.integer)):
                entry[key] = value.item()
        layers.append(entry)
    return {"layers": layers, "decision": description["decision"]}


def train_ttfs_model(ds, hidden, epochs, ticks_per_tau, max_train=None, progress=True,
                     zero_is_silent=False, spike_dropout=0.0, max_shift=0,
                     zero_silent_rows=False, binarize_at=None, silent_below=None) -> dict:
    """Train on input times on the tick grid of ``ticks_per_tau`` (what the hardware
    receives), with the per-sample weight-sum cost when silent pixels send nothing.
    ``zero_silent_rows`` (where pixels are silent): the first-layer weight rows of the
    inputs that are silent in every training image are held at 0, so that ``spikeforge
    compile`` drops them (MNIST's border: 112 of 784 rows, what lets 784-600-10 fit the
    ECP5-85F). ``binarize_at`` / ``silent_below``: the binary or threshold code of
    :class:`~spikeforge.model.ttfs.TTFSEncoding`, recorded in the file's encoding."""
    from spikeforge.model.ttfs import TTFSEncoding, train_ttfs
    from spikeforge.model.ttfs_discrete import evaluate, float_description, inference_ticks

    encoding = TTFSEncoding(1.0, ticks_per_tau, zero_is_silent, binarize_at, silent_below)
    r = train_ttfs(ds, tuple(hidden), epochs, max_train=max_train, progress=progress,
                   encoding=encoding, per_sample_weight_sum=encoding.silences,
                   spike_dropout=spike_dropout, max_shift=max_shift,
                   zero_silent_rows=zero_silent_rows and encoding.silences)
    res = evaluate(r.net, ds.test_x, ds.test_y, ds.max_value, ticks_per_tau, float_discrete=False,
                   encoding=encoding)
    sizes = [ds.n_features, *hidden, ds.n_classes]
    return {"format": FORMAT, "version": VERSION, "kind": "ttfs", "dataset": ds.name,
            "sizes": sizes,
            "network": _layers_to_tensors(float_description(r.net, ticks_per_tau)),
            "encoding": ttfs_encoding_dict(encoding, inference_ticks(ticks_per_tau,
                                                                    len(sizes) - 1),
                                           ds.max_value),
            "metrics": {"float_test_accuracy": res.continuous, "golden_test_accuracy": res.golden,
                        "train_seconds": r.seconds},
            "continuous_weights": r.net.deployed_weights()}


def train_lif_model(ds, hidden, epochs, ticks, max_train=None, progress=True) -> dict:
    from spikeforge.model.encoders import rate_encode, spikes_to_counts
    from spikeforge.model.lif import train_lif

    r = train_lif(ds, tuple(hidden), epochs, "rate", ticks, max_train=max_train, progress=progress)
    desc = r.net.description()
    network = quantize(desc, ticks=ticks).network
    correct = 0
    for s in range(0, len(ds.test_y), 1000):
        counts = spikes_to_counts(rate_encode(ds.test_x[s:s + 1000], ticks, max_value=ds.max_value,
                                              seed=0))
        correct += accuracy(network, counts, ds.test_y[s:s + 1000], ticks) * len(counts)
    return {"format": FORMAT, "version": VERSION, "kind": "lif", "dataset": ds.name,
            "sizes": [ds.n_features, *hidden, ds.n_classes], "network": _layers_to_tensors(desc),
            "encoding": {"kind": "rate", "ticks": ticks, "seed": 0, "max_value": ds.max_value},
            "metrics": {"float_test_accuracy": r.test_accuracy,
                        "golden_test_accuracy": correct / len(ds.test_y),
                        "train_seconds": r.seconds}}


def rate_model_of(network, ds, ticks: int, info: dict | None = None) -> dict:
    """The model file of a float network trained elsewhere (e.g. imported from NIR), fed by
    the LFSR rate code of ``ds`` over ``ticks`` ticks: kind ``lif``, with its float and 8-bit
    golden accuracy on ``ds``'s test set as metrics (``info`` is added to them)."""
    from spikeforge.model.encoders import rate_encode, spikes_to_counts

    net = float_network_from_description(network)
    if net.layers[0].n_inputs != ds.n_features:
        raise ConfigError(f"network: has {net.layers[0].n_inputs} inputs but dataset {ds.name} "
                          f"has {ds.n_features} features")
    desc = {"layers": [{"weight": layer.weight, "alpha": layer.alpha, "beta": layer.beta,
                        "threshold": layer.threshold, "reset": layer.reset.value,
                        "fire_once": layer.fire_once, "adaptive": layer.adaptive,
                        "rho": layer.rho, "adapt_step": layer.adapt_step} for layer in net.layers],
            "decision": net.decision.value}
    integer = quantize(desc, ticks=ticks).network
    counts = spikes_to_counts(rate_encode(ds.test_x, ticks, max_value=ds.max_value, seed=0))
    return {"format": FORMAT, "version": VERSION, "kind": "lif", "dataset": ds.name,
            "sizes": [net.layers[0].n_inputs] + [layer.n_neurons for layer in net.layers],
            "network": _layers_to_tensors(desc),
            "encoding": {"kind": "rate", "ticks": ticks, "seed": 0, "max_value": ds.max_value},
            "metrics": {"float_test_accuracy": accuracy(desc, counts, ds.test_y, ticks),
                        "golden_test_accuracy": accuracy(integer, counts, ds.test_y, ticks),
                        **(info or {})}}


def save_model(model: dict, path) -> None:
    """Validate ``model`` and write it to ``path`` atomically (a temporary file beside it,
    renamed at the end: an interrupted save leaves the old file intact). Errors name the
    path."""
    _validate(model, str(path))
    path = Path(path)
    if path.is_dir():
        raise SpikeforgeError(f"{path}: is a directory; give the model file to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    # a name of our own rather than mkstemp's, so that the file gets the usual permissions
    tmp = path.parent / f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
    try:
        try:
            _torch().save(model, tmp)
        except RuntimeError as error:  # torch reports a failed open or write as RuntimeError
            raise SpikeforgeError(f"{path}: cannot write the model file "
                                  f"({_first_line(error).split('] ')[-1]})") from None
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


#: how a file written by ``torch.save`` starts (a zip archive)
ZIP_MAGIC = b"PK\x03\x04"


def _first_line(error: BaseException, limit: int = 200) -> str:
    lines = str(error).strip().splitlines()
    return (lines[0] if lines else type(error).__name__)[:limit]


def load_model(path) -> dict:
    """Read and validate a model file; any problem raises :class:`SpikeforgeError` naming it.

    Only a ``torch.save`` zip archive is opened, with ``weights_only=True`` (no code in it
    runs); anything else -- an empty, text or random file, a truncated archive, a file with
    other objects than tensors, numbers, strings, lists and dicts -- is refused as not a
    spikeforge model file, with the reason."""
    path = Path(path)
    if not path.is_file():
        raise SpikeforgeError(f"{path}: model file not found")
    with path.open("rb") as f:
        head = f.read(len(ZIP_MAGIC))
    if not head:
        raise SpikeforgeError(f"{path}: empty file (0 bytes), not a spikeforge model file")
    if head != ZIP_MAGIC:
        raise SpikeforgeError(f"{path}: not a spikeforge model file (a model file is the "
                              f"PyTorch zip archive `spikeforge train` writes; this file "
                              f"starts with {head!r})")
    try:
        model = _torch().load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "weights only" in str(error).lower():  # torch refused an object: never load it
            raise SpikeforgeError(f"{path}: not a spikeforge model file (it holds Python "
                                  f"objects other than tensors, numbers, strings, lists and "
                                  f"dicts, which are not loaded)") from None
        raise SpikeforgeError(f"{path}: not a readable spikeforge model file (corrupt archive: "
                              f"{_first_line(error)})") from None
    except Exception as error:  # a truncated/corrupt archive raises anything from zip to pickle
        raise SpikeforgeError(f"{path}: not a readable spikeforge model file (corrupt or "
                              f"truncated archive: {type(error).__name__}: "
                              f"{_first_line(error)})") from None
    _validate(model, str(path))
    return model


def _validate(model, name: str) -> None:
    def fail(message):
        raise SpikeforgeError(f"{name}: {message}")

    if not isinstance(model, dict):
        fail(f"expected a dict, got {type(model).__name__}")
    if model.get("format") != FORMAT:
        fail(f"format: expected {FORMAT!r}, got {model.get('format')!r} (not a spikeforge model file)")
    if model.get("version") != VERSION:
        fail(f"version: this spikeforge reads model files of version {VERSION}, "
             f"got {model.get('version')!r}")
    for key in ("kind", "dataset", "sizes", "network", "encoding", "metrics"):
        if key not in model:
            fail(f"missing field {key!r}")
    if model["kind"] not in ("ttfs", "lif"):
        fail(f"kind: must be 'ttfs' or 'lif', got {model['kind']!r}")
    if model["dataset"] not in DATASETS:
        fail(f"dataset: must be one of {', '.join(DATASETS)}, got {model['dataset']!r}")
    for key in ("network", "encoding", "metrics"):
        if not isinstance(model[key], dict):
            fail(f"{key}: must be a dict, got {type(model[key]).__name__}")
    sizes = model["sizes"]
    if not isinstance(sizes, list) or len(sizes) < 2 or not all(
            isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in sizes):
        fail(f"sizes: must be a list of at least 2 positive integers, got {sizes!r}")
    try:
        net = float_network_from_description(model["network"])
    except ConfigError as error:
        fail(f"network: {error}")
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        fail(f"network: malformed layer description ({type(error).__name__}: {error})")
    got = [net.layers[0].n_inputs] + [layer.n_neurons for layer in net.layers]
    if got != sizes:
        fail(f"network: layer sizes {got} do not match sizes {sizes}")
    if model["kind"] == "ttfs":
        if not all(layer.fire_once for layer in net.layers):
            fail("network: a ttfs model needs fire_once layers")
        k = model["encoding"].get("ticks_per_tau") if isinstance(model["encoding"], dict) else None
        if not isinstance(k, int) or k < 1:
            fail(f"encoding.ticks_per_tau: must be a positive integer, got {k!r}")
        silent = model["encoding"].get("zero_is_silent", False)
        if not isinstance(silent, bool):
            fail(f"encoding.zero_is_silent: must be true or false, got {silent!r}")
        try:  # the input code's own checks (binarize_at, silent_below)
            ttfs_encoding_of(model)
        except ConfigError as error:
            fail(f"encoding.{error}")
        except (TypeError, ValueError) as error:
            fail(f"encoding: malformed ({type(error).__name__}: {error})")
    encoding = model["encoding"]
    kinds = {"ttfs": ("ttfs-latency",), "lif": ("rate", "latency")}[model["kind"]]
    if encoding.get("kind") not in kinds:
        fail(f"encoding.kind: a {model['kind']} model needs {' or '.join(map(repr, kinds))}, "
             f"got {encoding.get('kind')!r}")
    ticks = encoding.get("ticks")
    if not isinstance(ticks, int) or isinstance(ticks, bool) or ticks < 1:
        fail(f"encoding.ticks: must be a positive integer, got {ticks!r}")


def integer_network_of(model: dict, weight_bits: int = 8, weight_shift: int = 0):
    """The :class:`~spikeforge.sim.network.IntegerNetwork` of a loaded model file
    (``weight_shift``: the contract's, see :func:`~spikeforge.compiler.quantize.quantize`)."""
    return quantize(model["network"], weight_bits=weight_bits,
                    ticks=model["encoding"].get("ticks"), weight_shift=weight_shift).network


def ttfs_encoding_dict(encoding, ticks: int, max_value: int) -> dict:
    """A model file's ``encoding`` entry for a :class:`~spikeforge.model.ttfs.TTFSEncoding`
    on the tick grid (``ticks`` per inference, pixels up to ``max_value``); the codes' keys
    only where they are set. :func:`ttfs_encoding_of` reads it back."""
    return {"kind": "ttfs-latency", "ticks_per_tau": encoding.ticks_per_tau,
            "t_max": encoding.t_max, "zero_is_silent": encoding.zero_is_silent, "ticks": ticks,
            "max_value": max_value,
            **{key: getattr(encoding, key) for key in ("binarize_at", "silent_below")
               if getattr(encoding, key) is not None}}


def ttfs_encoding_of(model: dict):
    """The :class:`~spikeforge.model.ttfs.TTFSEncoding` of a loaded TTFS model file."""
    from spikeforge.model.ttfs import TTFSEncoding

    encoding = model["encoding"]
    return TTFSEncoding(float(encoding.get("t_max", 1.0)), int(encoding["ticks_per_tau"]),
                        bool(encoding.get("zero_is_silent", False)), encoding.get("binarize_at"),
                        encoding.get("silent_below"))


def encode_test_images(model: dict, ds, images: int) -> np.ndarray:
    """Input event counts ``[images, ticks, features]`` (uint8) of the first ``images`` test
    images of dataset ``ds``, encoded as ``model["encoding"]`` says (what the network was
    trained and checked on)."""
    encoding = model["encoding"]
    x = ds.test_x[:images]
    kind = encoding.get("kind")
    if kind == "rate":
        from spikeforge.model.encoders import rate_encode, spikes_to_counts

        spikes = rate_encode(x, int(encoding["ticks"]),
                             max_value=int(encoding.get("max_value", ds.max_value)),
                             seed=int(encoding.get("seed", 0)))
        return spikes_to_counts(spikes).astype(np.uint8)  # one event per input and tick
    if kind == "latency":  # one spike per pixel >= min_value (encoders.latency_encode)
        from spikeforge.model.encoders import latency_encode, spikes_to_counts

        spikes = latency_encode(x, int(encoding["ticks"]),
                                max_value=int(encoding.get("max_value", ds.max_value)),
                                min_value=int(encoding.get("min_value", 1)))
        return spikes_to_counts(spikes).astype(np.uint8)
    if kind == "ttfs-latency":
        return ttfs_encoding_of(model).counts(x, int(encoding.get("max_value", ds.max_value)),
                                              int(encoding["ticks"]))
    raise SpikeforgeError(f"encoding.kind: unknown input encoding {kind!r} "
                          f"(known: rate, latency, ttfs-latency)")
