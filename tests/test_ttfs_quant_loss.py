"""scripts/ttfs_quant_loss.py: a row per model file on the validation split, each step from
float to the 8-bit golden model as its own figure, and a missing file refused in one line."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from spikeforge.model.datasets import load_dataset
from spikeforge.model.ttfs_discrete import integer_network
from tests.test_ttfs_tradeoff import _model
from tests.util import load_benchmark

_PATH = Path(__file__).resolve().parents[1] / "scripts" / "ttfs_quant_loss.py"
_SPEC = importlib.util.spec_from_file_location("ttfs_quant_loss", _PATH)
script = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(script)


def test_each_step_is_its_own_figure(tmp_path, capsys):
    """The golden columns are ``bench_ttfs_mnist.golden_stats``'s at 8 bits, at the shift
    asked for and at 12 bits; the rounded-weights column runs the 8-bit golden model's own
    weights and threshold (in float units), not the trained ones."""
    bench = load_benchmark("bench_ttfs_mnist")
    path = _model(tmp_path, "a.pt", 3)
    capsys.readouterr()
    assert script.main([str(path), "--dataset", "digits", "--shifts", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == script.header([3])
    cells = lines[2].strip("| ").split(" | ")
    assert cells[0] == str(path) and len(cells) == 7
    assert lines[1] == "|---" * 7 + "|"
    _, net, k, encoding = bench.read_model(path)
    x, y = bench.split(load_dataset("digits"))[1]
    for cell, (bits, shift) in zip(cells[4:], [(8, 0), (8, 3), (12, 0)]):
        st = bench.golden_stats(net, x, y, k, encoding, weight_bits=bits, weight_shift=shift)
        assert cell == f"{st['golden']:.3f} at {st['hidden_spikes'].mean():.1f}"
    quantized = integer_network(net, k, 8)
    rounded = script.rounded_description(net, k)
    for layer, integer, report in zip(rounded["layers"], quantized.network.layers,
                                      quantized.layers):
        np.testing.assert_allclose(layer["weight"].T * report.scale, integer.weights,
                                   atol=1e-9)
        assert layer["threshold"] * report.scale == pytest.approx(integer.params.threshold)
    assert not np.allclose(rounded["layers"][0]["weight"],
                           script.float_description(net, k)["layers"][0]["weight"])


def test_a_missing_model_file_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        script.main([str(tmp_path / "nope.pt"), "--dataset", "digits"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == (f"ttfs_quant_loss: no such model file: "
                                       f"{tmp_path / 'nope.pt'}\n")
