import argparse

import numpy as np
import pytest
import torch

from spikeforge.ir.errors import SpikeforgeError
from spikeforge.model.commands import (
    FORMAT,
    VERSION,
    integer_network_of,
    load_model,
    register,
    save_model,
)


def _parse(argv):
    ap = argparse.ArgumentParser(prog="spikeforge")
    register(ap.add_subparsers(dest="command", required=True))
    return ap.parse_args(argv)


@pytest.mark.parametrize("model,extra", [("ttfs", ["--epochs", "2", "--ticks-per-tau", "16"]),
                                         ("ttfs", ["--epochs", "2", "--ticks-per-tau", "16",
                                                   "--zero-is-silent", "--spike-dropout", "0.1"]),
                                         ("lif", ["--epochs", "1", "--ticks", "8"])])
def test_train_writes_loadable_model(tmp_path, capsys, model, extra):
    out = tmp_path / f"{model}.pt"
    args = _parse(["train", "--dataset", "digits", "--model", model, "--hidden", "20",
                   "--max-train", "400", "--no-progress", "--out", str(out), *extra])
    saved = args.func(args)
    assert out.is_file() and "golden" in capsys.readouterr().out
    loaded = load_model(out)
    assert loaded["format"] == FORMAT and loaded["version"] == VERSION
    assert loaded["kind"] == model and loaded["sizes"] == [64, 20, 10]
    assert loaded["metrics"]["golden_test_accuracy"] == saved["metrics"]["golden_test_accuracy"]
    net = integer_network_of(loaded)
    assert [layer.n_neurons for layer in net.layers] == [20, 10]
    assert net.decision.value == ("first-spike" if model == "ttfs" else "spike-count")
    assert 0 <= loaded["metrics"]["golden_test_accuracy"] <= 1


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
             "zero_is_silent")]:
        path = tmp_path / name
        torch.save({**_minimal(), **change}, path)
        with pytest.raises(SpikeforgeError, match=f"{name}: .*{message}"):
            load_model(path)
    pickle_path = tmp_path / "pickle.pt"
    torch.save({"format": FORMAT, "object": np.dtype("f4")}, pickle_path)
    with pytest.raises(SpikeforgeError, match="pickle.pt"):
        load_model(pickle_path)
