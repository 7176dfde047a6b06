"""scripts/learning_average_search.py --resume: a saved file's stores are taken as saved,
and a file of another run is refused naming it (the MNIST search itself needs the data)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from spikeforge.model.ttfs import TTFSNet
from spikeforge.model.ttfs_discrete import inference_ticks, integer_network
from spikeforge.sim.learning import PopcountLearner

_SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
_SPEC = importlib.util.spec_from_file_location("learning_average_search",
                                               _SCRIPTS / "learning_average_search.py")
search = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(search)


def learner(hidden=5, frac_bits=13):
    net = integer_network(TTFSNet([6, hidden, 3], seed=1), 4).network
    return PopcountLearner(net, inference_ticks(4, 2), frac_bits=frac_bits)


def save(path, learner_, sums=None, count=0):
    extra = {f"sum{i}": s for i, s in enumerate(sums or [])}
    np.savez(path, frac_bits=learner_.frac_bits, count=count,
             **{f"last{i}": x for i, x in enumerate(learner_.acc)}, **extra)


def test_the_stores_and_the_average_go_on_from_the_file(tmp_path):
    saved = learner()
    saved.acc = [x + 1000 * (i + 1) for i, x in enumerate(saved.acc)]
    sums = [3 * x for x in saved.acc]
    save(tmp_path / "epoch7.npz", saved, sums, count=3)
    fresh = learner()
    epochs, got_sums, count = search.resume(fresh, str(tmp_path / "epoch7.npz"), 13)
    assert epochs == 7 and count == 3
    assert all(np.array_equal(a, b) for a, b in zip(fresh.acc, saved.acc))
    assert all(np.array_equal(a, b) for a, b in zip(got_sums, sums))
    save(tmp_path / "epoch2.npz", saved)  # a file without sums: the average starts again
    assert search.resume(learner(), str(tmp_path / "epoch2.npz"), 13)[1:] == (None, 0)


def test_a_file_of_another_run_is_refused_naming_it(tmp_path):
    save(tmp_path / "epoch3.npz", learner())
    with pytest.raises(SystemExit, match=r"--resume: .*epoch3.npz: frac_bits 13, this run 12"):
        search.resume(learner(frac_bits=12), str(tmp_path / "epoch3.npz"), 12)
    with pytest.raises(SystemExit, match=r"--resume: .*epoch3.npz: stores \[\(6, 5\)"):
        search.resume(learner(hidden=4), str(tmp_path / "epoch3.npz"), 13)
    save(tmp_path / "last.npz", learner())
    with pytest.raises(SystemExit, match=r"--resume: .*last.npz: expected a --save file named"):
        search.resume(learner(), str(tmp_path / "last.npz"), 13)
