"""scripts/ttfs_tradeoff.py: a row and a point per model file, on the validation split, and a
missing file refused in one line."""

import importlib.util
import time
from pathlib import Path

import pytest

from spikeforge.model.datasets import load_dataset
from spikeforge.model.ttfs import TTFSNet
from tests.util import load_benchmark

_PATH = Path(__file__).resolve().parents[1] / "scripts" / "ttfs_tradeoff.py"
_SPEC = importlib.util.spec_from_file_location("ttfs_tradeoff", _PATH)
script = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(script)


def _model(tmp_path, name, seed):
    """An untrained digits TTFS model file, as ``bench_ttfs_mnist.py train`` writes one."""
    bench = load_benchmark("bench_ttfs_mnist")
    ds = load_dataset("digits")
    args = bench.parser().parse_args(["train", "--hidden", "12", "--k", "16", "--epochs", "1",
                                      "--model", str(tmp_path / name)])
    net = TTFSNet([ds.n_features, 12, ds.n_classes], seed=seed)
    bench.make_checkpoint(args, ds, time.perf_counter())(0, net, [(1.0, 0.5, 0.5)])
    return tmp_path / name


def test_a_row_and_a_point_per_model(tmp_path, capsys):
    a, b = _model(tmp_path, "a.pt", 0), _model(tmp_path, "b.pt", 1)
    capsys.readouterr()
    png = tmp_path / "t.png"
    assert script.main([str(a), str(b), "--dataset", "digits", "--plot", str(png)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == script.HEADER and lines[-1] == f"plot: {png}"
    rows = [line.split(" | ") for line in lines[2:-1]]
    assert [r[0] for r in rows] == [f"| {a}", f"| {b}"]
    for r in rows:
        assert 0 <= float(r[1]) <= 1 and float(r[2]) >= 0
    assert rows[0][1:] != rows[1][1:]  # two different networks, two different points
    assert png.stat().st_size > 1000


def test_a_missing_model_file_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        script.main([str(tmp_path / "nope.pt"), "--dataset", "digits"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == f"ttfs_tradeoff: no such model file: {tmp_path / 'nope.pt'}\n"


def test_earlier_runs_from_their_recorded_figures(tmp_path, capsys):
    """``--earlier LABEL=SPIKES,ACC``: drawn beside the model files (a label may hold ``=``
    and commas); a malformed one is refused in one line before any model is read."""
    a = _model(tmp_path, "a.pt", 0)
    capsys.readouterr()
    assert script.earlier_point("base (k=2e-3, 45 ep.)=138.5,0.915") == (
        "base (k=2e-3, 45 ep.)", 138.5, 0.915)
    png = tmp_path / "t.png"
    assert script.main([str(a), "--dataset", "digits", "--plot", str(png),
                        "--earlier", "base=138.5,0.915"]) == 0
    assert png.stat().st_size > 1000
    for bad in ("base=138.5", "=138.5,0.9", "base=x,0.9", "base=138.5,91.5"):
        with pytest.raises(SystemExit) as exit_:
            script.main([str(a), "--dataset", "digits", "--earlier", bad])
        assert exit_.value.code == 2
        err = capsys.readouterr().err.splitlines()[-1]
        assert f"error: --earlier: {bad!r}: expected LABEL=SPIKES,ACCURACY" in err, err
