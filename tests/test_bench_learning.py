"""benchmarks/bench_learning.py with a validation split: the per-epoch curve of the rule is the
validation accuracy (the numbers settings are chosen on) and the test set is run once, at the
end. Held to an independent run of :func:`train_popcount` on the same split."""

import importlib
from pathlib import Path

import numpy as np
import pytest

from spikeforge.model.datasets import load_dataset
from spikeforge.model.popcount_rule import golden_accuracy, train_popcount
from spikeforge.model.ttfs import TTFSNet
from spikeforge.model.ttfs_discrete import inference_ticks, input_counts, integer_network
from tests.util import load_benchmark


def _bench():
    return load_benchmark("bench_learning")


def test_validation_curve_and_one_test_evaluation(tmp_path, capsys):
    bench = _bench()
    args = ["--quick", "--quiet", "--val", "0.2", "--no-exact", "--no-first-reading",
            "--frac-bits", "9", "--shift-out", "4", "--shift-hidden", "2", "--revive", "error",
            "--png", str(tmp_path / "l.png")]
    exact_curve, _, rows = bench.main(args)
    out = capsys.readouterr().out
    assert exact_curve == [] and len(rows) == 1 and (tmp_path / "l.png").exists()
    assert "per epoch: validation accuracy" in out and "| final, 8-bit golden |" in out
    _, curve, test, _, _ = rows[0]

    # the same run by hand: 300 digits, the last 60 held out, 2 epochs halving every epoch
    ds = load_dataset("digits")
    k, ticks = 32, inference_ticks(32, 2)
    fn = lambda x: (lambda idx: input_counts(x[idx], ds.max_value, k, ticks=ticks))  # noqa: E731
    x_tr, y_tr = ds.train_x[:240], np.asarray(ds.train_y[:240])
    x_val, y_val = ds.train_x[240:300], np.asarray(ds.train_y[240:300])
    start = integer_network(TTFSNet([64, 100, 10], seed=1), k).network
    r = train_popcount(start, fn(x_tr), y_tr, fn(x_val), y_val, ticks, 2, 16, 0, False, 1,
                       frac_bits=9, shift_out=4, shift_hidden=2, ramp=32, margin=8,
                       shift_revive=0, slow_down="first", window="strict", revive="error")
    assert curve == [acc for _, acc in r.history]
    assert test == [golden_accuracy(r.learner.current_network(), fn(ds.test_x), ds.test_y,
                                    ticks)]


def test_test_curve_and_exact_training_beside_the_rule(tmp_path, monkeypatch):
    """``--test-curve``: the rule's test accuracy after every epoch beside its validation
    curve, the last point the final test figure; ``--jobs 2``: the exact-gradient training in
    a second process gives the same curve and 8-bit figure as in the main one."""
    # imported by name (not load_benchmark's file import): the worker process finds
    # ``train_exact`` by its module's name, as it does when the script runs
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    bench = importlib.import_module("bench_learning")
    args = ["--quick", "--quiet", "--val", "0.2", "--no-first-reading", "--no-output-only",
            "--png", str(tmp_path / "l.png"), "--test-curve"]
    exact_1, golden_1, rows_1 = bench.main(args)
    exact_2, golden_2, rows_2 = bench.main(args + ["--jobs", "2"])
    assert len(exact_1) == 2 and (exact_1, golden_1) == (exact_2, golden_2)
    assert rows_1[0][1:3] + rows_1[0][4:] == rows_2[0][1:3] + rows_2[0][4:]
    _, curve, test, _, test_curve = rows_1[0]

    ds = load_dataset("digits")
    k, ticks = 32, inference_ticks(32, 2)
    fn = lambda x: (lambda idx: input_counts(x[idx], ds.max_value, k, ticks=ticks))  # noqa: E731
    start = integer_network(TTFSNet([64, 100, 10], seed=1), k).network
    r = train_popcount(start, fn(ds.train_x[:240]), np.asarray(ds.train_y[:240]),
                       fn(ds.train_x[240:300]), np.asarray(ds.train_y[240:300]), ticks, 2, 16,
                       0, False, 1, (fn(ds.test_x), ds.test_y))
    assert curve == [acc for _, acc in r.history] and test_curve == r.also_history
    assert test == test_curve[-1:] == [golden_accuracy(r.learner.current_network(),
                                                       fn(ds.test_x), ds.test_y, ticks)]
    assert test_curve != curve


def test_test_curve_needs_a_validation_split(capsys):
    bench = _bench()
    for extra in ([], ["--val", "0.2", "--no-test"]):
        with pytest.raises(SystemExit):
            bench.main(["--quick", "--quiet", "--no-exact", "--test-curve"] + extra)
        assert "--test-curve: needs --val" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.main(["--quick", "--quiet", "--no-exact", "--jobs", "3"])
    assert "--jobs: 1 or 2" in capsys.readouterr().err
