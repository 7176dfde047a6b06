"""benchmarks/bench_learning.py's training augmentation (``--augment-shift``): every training
image moved by up to S pixels, a new shift each epoch, drawn from a seed so that a run
reproduces; the validation and test images never moved (docs/learning.md section 4.4)."""

import numpy as np
import pytest

from spikeforge.ir.errors import ConfigError
from spikeforge.model.datasets import load_dataset
from spikeforge.model.popcount_rule import golden_accuracy, train_popcount
from spikeforge.model.ttfs import TTFSNet
from spikeforge.model.ttfs_discrete import inference_ticks, input_counts, integer_network
from tests.util import load_benchmark

K = 32
TICKS = inference_ticks(K, 2)


def _bench():
    return load_benchmark("bench_learning")


def _split(bench, max_train=300, val=0.2):
    return bench.Split(load_dataset("digits"), K, TICKS, val, max_train)


def test_shift_images_moves_pixels_and_fills_zero():
    bench = _bench()
    x = np.arange(1, 10, dtype=np.uint8).reshape(1, 9)          # one 3x3 image 1..9
    img = lambda dy, dx: bench.shift_images(x, (3, 3), np.array([dy]), np.array([dx]))
    assert img(0, 0).tolist() == x.tolist()
    assert img(1, 0).reshape(3, 3).tolist() == [[0, 0, 0], [1, 2, 3], [4, 5, 6]]   # down
    assert img(0, -1).reshape(3, 3).tolist() == [[2, 3, 0], [5, 6, 0], [8, 9, 0]]  # left
    assert img(-2, 2).reshape(3, 3).tolist() == [[0, 0, 7], [0, 0, 0], [0, 0, 0]]


def _epochs(fn, n, batch_size, epochs, seed):
    """The events ``fn`` hands out for each sample in each epoch, batches in a random order."""
    rng = np.random.default_rng(seed)
    seen = []
    for _ in range(epochs):
        out = {}
        perm = rng.permutation(n)
        for s in range(0, n, batch_size):
            idx = perm[s:s + batch_size]
            for i, c in zip(idx, fn(idx)):
                out[int(i)] = c
        seen.append(np.stack([out[i] for i in range(n)]))
    return seen


def test_shifts_are_seeded_per_epoch_and_independent_of_batching():
    bench = _bench()
    split = _split(bench)
    n = len(split.y_tr)
    aug = lambda seed: bench.ShiftedTrain(split, (8, 8), 1, seed)
    a = _epochs(aug(3), n, 16, 3, seed=0)
    b = _epochs(aug(3), n, 7, 3, seed=5)           # other batch size, other order: same shifts
    c = _epochs(aug(4), n, 16, 3, seed=0)
    for e in range(3):
        assert np.array_equal(a[e], b[e])
    assert not np.array_equal(a[0], c[0])          # the seed matters
    assert not np.array_equal(a[0], a[1])          # a new shift each epoch
    # each sample is its own training image, moved by the epoch's table entry (|d| <= 1)
    t = aug(3)
    for e in range(3):
        dy, dx = t.offsets(e)
        assert set(np.unique(dy)) == {-1, 0, 1} and set(np.unique(dx)) == {-1, 0, 1}
        want = input_counts(bench.shift_images(split.x_tr, (8, 8), dy, dx), split.mv, K,
                            ticks=TICKS)
        assert np.array_equal(a[e], want)
    with pytest.raises(ConfigError, match="augment_shift"):
        bench.ShiftedTrain(split, (8, 8), 8, 0)


def test_validation_and_test_images_are_never_shifted(tmp_path):
    """The bench's run with ``--augment-shift 1``, held to an independent run of
    :func:`train_popcount` whose training events come from :class:`ShiftedTrain` and whose
    validation and test events are the plain images: same validation curve, same test
    accuracy; and the shifts did change the training (the stores differ from an unshifted run)."""
    bench = _bench()
    common = ["--quick", "--quiet", "--val", "0.2", "--no-exact", "--no-first-reading",
              "--png", str(tmp_path / "l.png")]
    _, _, rows = bench.main(common + ["--augment-shift", "1", "--augment-seed", "2",
                                      "--save", str(tmp_path / "aug")])
    _, curve, test, _, _ = rows[0]
    bench.main(common + ["--save", str(tmp_path / "plain")])

    split = _split(bench)
    plain = split.fn
    start = integer_network(TTFSNet([64, 100, 10], seed=1), K).network
    r = train_popcount(start, bench.ShiftedTrain(split, (8, 8), 1, 2), split.y_tr,
                       plain(split.x_val), split.y_val, TICKS, 2, 16, 0, False, 1,
                       frac_bits=8, shift_out=3, shift_hidden=1, ramp=32, margin=8,
                       shift_revive=0, slow_down="first", window="strict", revive="end")
    assert curve == [acc for _, acc in r.history]
    assert test == [golden_accuracy(r.learner.current_network(), plain(split.x_te),
                                    split.y_te, TICKS)]
    aug, ref = np.load(tmp_path / "aug.0.npz"), np.load(tmp_path / "plain.0.npz")
    assert np.array_equal(aug["arr_0"], r.learner.acc[0])
    assert not np.array_equal(aug["arr_0"], ref["arr_0"])


def test_no_test_skips_the_test_set(tmp_path, capsys):
    bench = _bench()
    _, _, rows = bench.main(["--quick", "--quiet", "--val", "0.2", "--no-exact",
                             "--no-first-reading", "--no-test", "--max-train", "100",
                             "--png", str(tmp_path / "l.png")])
    assert rows[0][2] == []
    assert "| final, 8-bit golden |  |  |" in capsys.readouterr().out


def test_a_shift_too_large_is_one_line_error(capsys):
    with pytest.raises(SystemExit):
        _bench().main(["--quick", "--quiet", "--no-exact", "--augment-shift", "8"])
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith("augment_shift: must be in 0..7 pixels, got 8")
    assert not any("Traceback" in line for line in err)
