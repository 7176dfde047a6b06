"""Model files: training into one, writing, reading and validating it, its integer network
and its input encoding."""

import numpy as np
import pytest
import torch

from spikeforge.ir.errors import SpikeforgeError
from spikeforge.model.datasets import load_dataset
from spikeforge.model.encoders import rate_encode, spikes_to_counts
from spikeforge.model.modelfile import (
    FORMAT,
    VERSION,
    encode_test_images,
    integer_network_of,
    load_model,
    save_model,
    train_lif_model,
    train_ttfs_model,
    ttfs_encoding_dict,
    ttfs_encoding_of,
)
from spikeforge.model.ttfs import TTFSEncoding
from spikeforge.model.ttfs_discrete import input_counts
from spikeforge.sim.network import classify


@pytest.mark.parametrize("kind,settings", [
    ("ttfs", {"epochs": 2, "ticks_per_tau": 16}),
    ("ttfs", {"epochs": 2, "ticks_per_tau": 16, "zero_is_silent": True, "spike_dropout": 0.1}),
    ("lif", {"epochs": 1, "ticks": 8})])
def test_trained_model_file_round_trips(tmp_path, kind, settings):
    ds = load_dataset("digits")
    if kind == "ttfs":
        model = train_ttfs_model(ds, [20], max_train=400, progress=False, **settings)
    else:
        model = train_lif_model(ds, [20], max_train=400, progress=False, **settings)
    out = tmp_path / f"{kind}.pt"
    save_model(model, out)
    loaded = load_model(out)
    assert loaded["format"] == FORMAT and loaded["version"] == VERSION
    assert loaded["kind"] == kind and loaded["sizes"] == [64, 20, 10]
    assert loaded["metrics"]["golden_test_accuracy"] == model["metrics"]["golden_test_accuracy"]
    net = integer_network_of(loaded)
    assert [layer.n_neurons for layer in net.layers] == [20, 10]
    assert net.decision.value == ("first-spike" if kind == "ttfs" else "spike-count")
    assert 0 <= loaded["metrics"]["golden_test_accuracy"] <= 1
    # the test images in the file's own encoding give the golden accuracy training reported
    counts = encode_test_images(loaded, ds, len(ds.test_y))
    assert counts.dtype == np.uint8 and counts.shape[0] == len(ds.test_y)
    golden = float((classify(net, counts) == ds.test_y).mean())
    assert golden == pytest.approx(loaded["metrics"]["golden_test_accuracy"])


def test_encode_test_images_follows_the_encoding():
    ds = load_dataset("digits")
    rate = {"encoding": {"kind": "rate", "ticks": 5, "seed": 3, "max_value": ds.max_value}}
    expected = spikes_to_counts(rate_encode(ds.test_x[:7], 5, max_value=ds.max_value, seed=3))
    np.testing.assert_array_equal(encode_test_images(rate, ds, 7), expected)
    ttfs = {"encoding": {"kind": "ttfs-latency", "ticks_per_tau": 8, "ticks": 12,
                         "zero_is_silent": True}}
    np.testing.assert_array_equal(encode_test_images(ttfs, ds, 7),
                                  input_counts(ds.test_x[:7], ds.max_value, 8, 1.0, 12, True))
    binary = {"encoding": {**ttfs["encoding"], "binarize_at": 9}}
    want = TTFSEncoding(1.0, 8, True, 9).counts(ds.test_x[:7], ds.max_value, 12)
    np.testing.assert_array_equal(encode_test_images(binary, ds, 7), want)
    assert not np.array_equal(want, encode_test_images(ttfs, ds, 7))
    threshold = {"encoding": {**ttfs["encoding"], "silent_below": 9}}
    np.testing.assert_array_equal(encode_test_images(threshold, ds, 7),
                                  TTFSEncoding(1.0, 8, True, silent_below=9).counts(
                                      ds.test_x[:7], ds.max_value, 12))
    with pytest.raises(SpikeforgeError, match="encoding.kind: unknown input encoding 'delta'"):
        encode_test_images({"encoding": {"kind": "delta"}}, ds, 7)


def test_the_encoding_entry_reads_back_as_the_code_it_was_written_from():
    """``ttfs_encoding_dict`` and ``ttfs_encoding_of`` are inverses for every code; an
    unset code writes no key (the files of earlier stops stay as they were)."""
    for code in (TTFSEncoding(1.0, 32, True), TTFSEncoding(1.0, 16, True, binarize_at=128),
                 TTFSEncoding(1.0, 32, False, silent_below=40)):
        entry = ttfs_encoding_dict(code, 130, 255)
        assert ttfs_encoding_of({"encoding": entry}) == code
        assert {"kind": "ttfs-latency", "ticks": 130, "max_value": 255}.items() <= entry.items()
    assert not {"binarize_at", "silent_below"} & set(
        ttfs_encoding_dict(TTFSEncoding(1.0, 32, True), 130, 255))


def _minimal():
    return {"format": FORMAT, "version": VERSION, "kind": "lif", "dataset": "digits",
            "sizes": [3, 2],
            "network": {"layers": [{"weight": torch.ones(2, 3), "alpha": 0.5, "beta": 0.8}],
                        "decision": "spike-count"},
            "encoding": {"kind": "rate", "ticks": 4}, "metrics": {}}


def test_load_rejects_bad_files(tmp_path):
    good = tmp_path / "good.pt"
    save_model(_minimal(), good)
    assert load_model(good)["sizes"] == [3, 2]
    with pytest.raises(SpikeforgeError, match="missing.pt: model file not found"):
        load_model(tmp_path / "missing.pt")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(good.read_bytes()[:50])
    with pytest.raises(SpikeforgeError, match="corrupt.pt: not a readable spikeforge model"):
        load_model(corrupt)
    for name, change, message in [
            ("format.pt", {"format": "other"}, "format"),
            ("version.pt", {"version": 99}, "version"),
            ("sizes.pt", {"sizes": [4, 2]}, "do not match"),
            ("kind.pt", {"kind": "ann"}, "kind"),
            ("weights.pt", {"network": {"layers": [{"weight": torch.full((2, 3), float("nan"))}]}},
             "NaN"),
            ("ttfs.pt", {"kind": "ttfs"}, "fire_once"),
            ("silent.pt", {"kind": "ttfs", "network": {"layers": [
                {"weight": torch.ones(2, 3), "alpha": 0.5, "beta": 1.0, "fire_once": True}],
                "decision": "first-spike"}, "encoding": {"kind": "ttfs-latency", "ticks_per_tau": 8,
                                                          "zero_is_silent": "yes"}},
             "zero_is_silent"),
            ("binary.pt", {"kind": "ttfs", "network": {"layers": [
                {"weight": torch.ones(2, 3), "alpha": 0.5, "beta": 1.0, "fire_once": True}],
                "decision": "first-spike"}, "encoding": {"kind": "ttfs-latency", "ticks_per_tau": 8,
                                                          "binarize_at": 0}},
             "encoding.binarize_at: must be a pixel value >= 1 or None, got 0"),
            ("faint.pt", {"kind": "ttfs", "network": {"layers": [
                {"weight": torch.ones(2, 3), "alpha": 0.5, "beta": 1.0, "fire_once": True}],
                "decision": "first-spike"}, "encoding": {"kind": "ttfs-latency", "ticks_per_tau": 8,
                                                          "silent_below": 2.5}},
             "encoding.silent_below: must be a pixel value >= 1 or None, got 2.5"),
            ("tmax.pt", {"kind": "ttfs", "network": {"layers": [
                {"weight": torch.ones(2, 3), "alpha": 0.5, "beta": 1.0, "fire_once": True}],
                "decision": "first-spike"}, "encoding": {"kind": "ttfs-latency", "ticks_per_tau": 8,
                                                          "t_max": "soon"}},
             r"encoding: malformed \(ValueError")]:
        path = tmp_path / name
        torch.save({**_minimal(), **change}, path)
        with pytest.raises(SpikeforgeError, match=f"{name}: .*{message}"):
            load_model(path)
    pickle_path = tmp_path / "pickle.pt"
    torch.save({"format": FORMAT, "object": np.dtype("f4")}, pickle_path)
    with pytest.raises(SpikeforgeError, match="pickle.pt"):
        load_model(pickle_path)
