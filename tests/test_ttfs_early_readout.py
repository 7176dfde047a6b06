"""scripts/ttfs_early_readout.py: first-spike ticks, the readout's features by hand, a
readout that can only see what has spiked by its tick, and its arguments."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[1] / "scripts" / "ttfs_early_readout.py"
_SPEC = importlib.util.spec_from_file_location("ttfs_early_readout", _PATH)
script = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(script)


def test_first_spike_ticks_and_features_by_hand():
    spikes = np.zeros((1, 5, 3), dtype=bool)  # [batch, ticks, neurons]
    spikes[0, 1, 0] = spikes[0, 3, 0] = True  # neuron 0 at ticks 1 and 3, neuron 2 at 4
    spikes[0, 4, 2] = True
    first = script.first_spike_ticks(spikes)
    assert first.tolist() == [[1, script.NEVER, 4]]
    assert script.features(first, 3).tolist() == [[0.75, 0.0, 0.0]]  # (3 + 1 - 1) / 4
    assert np.allclose(script.features(first, 4), [[0.8, 0.0, 0.2]])


def test_the_readout_sees_only_the_spikes_up_to_its_tick():
    """The class is whether neuron 0 spikes at tick 2 or never; neuron 1 spikes at tick 0
    in every sample: by tick 1 the readout cannot tell the classes apart, by tick 2 it can."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    first = np.stack([np.where(y == 1, 2, script.NEVER), np.zeros_like(y)], axis=1)
    train, val = slice(0, 300), slice(300, 400)
    by_1 = script.readout_accuracy(first[train], y[train], first[val], y[val], 1)
    by_2 = script.readout_accuracy(first[train], y[train], first[val], y[val], 2)
    assert by_2 == 1.0 and by_1 == max(np.mean(y[val]), 1 - np.mean(y[val]))


def test_a_missing_model_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        script.main([str(tmp_path / "none.pt")])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip().endswith("model file not found")
    with pytest.raises(SystemExit):
        script.main([str(tmp_path / "none.pt"), "--ticks", "-1"])
    assert "--ticks: must be >= 0, got -1" in capsys.readouterr().err
