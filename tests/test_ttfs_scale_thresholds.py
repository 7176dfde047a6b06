"""scripts/ttfs_scale_thresholds.py: the premise it rests on (a layer's weights times s are
its 8-bit threshold divided by s, the integer weights unchanged) and its arguments."""

import argparse
import importlib.util
from pathlib import Path

import pytest
import torch

from spikeforge.model.ttfs import TTFSNet
from spikeforge.model.ttfs_discrete import integer_network

_PATH = Path(__file__).resolve().parents[1] / "scripts" / "ttfs_scale_thresholds.py"
_SPEC = importlib.util.spec_from_file_location("ttfs_scale_thresholds", _PATH)
script = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(script)


def test_scaled_weights_are_a_lower_threshold():
    torch.manual_seed(0)
    net = TTFSNet([12, 8, 4])
    before = integer_network(net, 8).network.layers
    with torch.no_grad():
        net.layers[1].w.mul_(2.0)
    after = integer_network(net, 8).network.layers
    assert (after[0].weights == before[0].weights).all()
    assert after[0].params.threshold == before[0].params.threshold
    assert (after[1].weights == before[1].weights).all()
    assert abs(after[1].params.threshold - before[1].params.threshold / 2) <= 1
    assert after[1].params.threshold < before[1].params.threshold


def test_factor_pairs_are_checked():
    assert script.factors("1.25:0.8") == (1.25, 0.8)
    for bad in ("2", "a:1", "1:0", "-1:2"):
        with pytest.raises(argparse.ArgumentTypeError):
            script.factors(bad)


def test_a_missing_model_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        script.main([str(tmp_path / "none.pt")])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip().endswith("model file not found")
