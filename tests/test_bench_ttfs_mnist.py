"""benchmarks/bench_ttfs_mnist.py: the ``train`` checkpoints, in particular ``--keep-best``
(the best-validation epoch kept beside the last one), on a small digits network so that it
runs in seconds; the full MNIST runs are recorded in docs/model.md section 6."""

import time
import types

import numpy as np
import pytest
import torch

from spikeforge.ir.errors import SpikeforgeError
from spikeforge.model.datasets import load_dataset
from spikeforge.model.modelfile import load_model
from spikeforge.model.ttfs import TTFSNet
from tests.util import load_benchmark


def _bench():
    return load_benchmark("bench_ttfs_mnist")


def _run_checkpoints(tmp_path, extra, validation):
    """Calls the ``train`` callback once per epoch with the given validation accuracies; the
    weights change every epoch so that the saved files can be told apart. Returns the
    weights of the first layer after each epoch."""
    bench = _bench()
    ds = load_dataset("digits")
    args = bench.parser().parse_args(["train", "--hidden", "8", "--k", "16", "--epochs",
                                      str(len(validation)), "--model", str(tmp_path / "m.pt"),
                                      *extra])
    checkpoint = bench.make_checkpoint(args, ds, time.perf_counter())
    net = TTFSNet([ds.n_features, 8, ds.n_classes])
    history, snapshots = [], []
    for epoch, val in enumerate(validation):
        with torch.no_grad():
            net.layers[0].w.add_(0.01)
        snapshots.append(net.layers[0].w.detach().clone())
        history.append((1.0, 0.5, val))
        checkpoint(epoch, net, history)
    return bench, snapshots


def _saved(tmp_path, hidden=8, name="m.pt", command="train", seed=0):
    """A model file of an untrained ``hidden``-neuron digits network, written by the
    ``train`` checkpoint after one epoch: ``(bench, ds, args, net)``."""
    bench = _bench()
    ds = load_dataset("digits")
    args = bench.parser().parse_args([command, "--hidden", str(hidden), "--k", "16", "--epochs",
                                      "1", "--model", str(tmp_path / name)])
    net = TTFSNet([ds.n_features, hidden, ds.n_classes], seed=seed)
    bench.make_checkpoint(args, ds, time.perf_counter())(0, net, [(1.0, 0.5, 0.5)])
    return bench, ds, args, net


def test_keep_best_keeps_the_best_validation_epoch(tmp_path):
    bench, snapshots = _run_checkpoints(tmp_path, ["--keep-best"], [0.5, 0.7, 0.6, 0.7])
    assert bench.best_path(str(tmp_path / "m.pt")) == tmp_path / "m.best.pt"
    best, last = load_model(tmp_path / "m.best.pt"), load_model(tmp_path / "m.pt")
    assert best["metrics"]["epochs_done"] == 2  # the earliest of the two 0.7 epochs
    assert best["metrics"]["validation_float_accuracy"] == 0.7
    assert torch.equal(best["continuous_weights"][0], snapshots[1])
    assert last["metrics"]["epochs_done"] == 4
    assert torch.equal(last["continuous_weights"][0], snapshots[3])


def test_without_keep_best_only_the_last_epoch_is_saved(tmp_path):
    _run_checkpoints(tmp_path, [], [0.5, 0.7, 0.6])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]
    assert load_model(tmp_path / "m.pt")["metrics"]["epochs_done"] == 3


def test_init_starts_training_from_the_given_weights():
    """``train_ttfs(init=...)``: zero epochs return exactly the given weights (not the seeded
    random start), and one epoch moves on from them; a wrong shape is refused by layer."""
    from spikeforge.ir.errors import ConfigError
    from spikeforge.model.ttfs import train_ttfs

    ds = load_dataset("digits")
    start = [torch.full((ds.n_features, 8), 0.05), torch.full((8, ds.n_classes), 0.3)]
    kept = train_ttfs(ds, (8,), 0, progress=False, max_train=64, init=start).net
    assert all(torch.equal(layer.w, w) for layer, w in zip(kept.layers, start))
    random = train_ttfs(ds, (8,), 0, progress=False, max_train=64).net
    assert not torch.equal(random.layers[0].w, start[0])
    moved = train_ttfs(ds, (8,), 1, progress=False, max_train=64, init=start).net
    assert not torch.equal(moved.layers[0].w, start[0])
    with pytest.raises(ConfigError, match=r"init: layer 1 weights are \(8, 3\)"):
        train_ttfs(ds, (8,), 0, progress=False, init=[start[0], torch.zeros(8, 3)])


def test_init_refuses_a_model_of_another_shape(tmp_path):
    """``--init`` reads the model file's continuous weights; a model of another size is refused
    in one line naming the file and both shapes."""
    from spikeforge.ir.errors import SpikeforgeError

    bench, ds, args, net = _saved(tmp_path)
    args.init = str(tmp_path / "m.pt")
    weights = bench.initial_weights(args, ds)
    assert all(torch.equal(w, layer.w) for w, layer in zip(weights, net.layers))
    args.hidden = 9
    with pytest.raises(SpikeforgeError, match=r"--init: .*m\.pt is a ttfs \[64, 8, 10\] model, "
                                              r"not ttfs \[64, 9, 10\]"):
        bench.initial_weights(args, ds)
    assert bench.parser().parse_args(["train"]).init is None


def test_teacher_is_read_and_checked(tmp_path):
    """``--k-distill`` reads ``--teacher``'s continuous weights (any hidden size); without a
    teacher, or with a model of other inputs or classes, it is refused in one line naming
    the file; without ``--k-distill`` no teacher is read."""
    from spikeforge.ir.errors import SpikeforgeError

    bench, ds, _, net = _saved(tmp_path, 12, "t.pt")
    student = bench.parser().parse_args(["train", "--hidden", "8", "--k-distill", "1",
                                         "--teacher", str(tmp_path / "t.pt")])
    weights = bench.teacher_weights(student, ds)
    assert all(torch.equal(w, layer.w) for w, layer in zip(weights, net.layers))
    student.teacher = None
    with pytest.raises(SpikeforgeError, match="--k-distill: needs --teacher MODEL"):
        bench.teacher_weights(student, ds)
    student.k_distill = 0.0
    assert bench.teacher_weights(student, ds) is None
    student.k_distill, student.teacher = 1.0, str(tmp_path / "t.pt")
    three = types.SimpleNamespace(n_features=64, n_classes=3)  # a data set of 3 classes
    with pytest.raises(SpikeforgeError, match=r"--teacher: .*t\.pt is a ttfs \[64, 12, 10\] "
                                              r"model, not ttfs 64-\.\.\.-3"):
        bench.teacher_weights(student, three)


def test_batch_and_clip_are_recorded_and_checked(tmp_path):
    """``--batch`` and ``--clip`` reach the model file's options (a run reproduces from them);
    a batch below 1 or a negative clip is refused in one line naming the option."""
    bench = _bench()
    args = bench.parser().parse_args(["train", "--batch", "64", "--clip", "0.5"])
    assert {"batch": 64, "clip": 0.5}.items() <= bench.options(args).items()
    default = bench.options(bench.parser().parse_args(["train"]))
    assert {"batch": 32, "clip": 1.0}.items() <= default.items()
    for bad, match in ((["--batch", "0"], "--batch: must be at least 1, got 0"),
                       (["--clip", "-1"], r"--clip: must be >= 0 \(0: no clipping\), got -1.0")):
        with pytest.raises(SystemExit, match=f"bench_ttfs_mnist: {match}"):
            bench.main(["trial", *bad])


def test_validate_reads_the_validation_split_only(tmp_path, capsys):
    """``validate`` prints a model file's validation figures without touching the test set
    (here: no test set at all), so checkpoints can be chosen before ``report``."""
    import dataclasses

    bench, ds, args, _ = _saved(tmp_path, command="validate")
    capsys.readouterr()  # the checkpoint's epoch line
    bench.cmd_validate(args, dataclasses.replace(ds, test_x=None, test_y=None))
    out = capsys.readouterr().out
    assert out.startswith(f"{tmp_path / 'm.pt'}: epochs 1 | val float ")
    assert " | golden " in out and "no-spike" in out


def test_clip_quantizes_as_the_percentile_scale(tmp_path):
    """``clip``'s model file compiles (max scaling, ``integer_network_of``) to exactly the
    network that ``quantize(percentile=P)`` makes of the unclipped one: every integer weight,
    threshold and state width. A percentile outside (0, 100) is refused by option."""
    from spikeforge.compiler.quantize import quantize
    from spikeforge.ir.errors import SpikeforgeError
    from spikeforge.model.modelfile import integer_network_of

    bench, _, _, _ = _saved(tmp_path, seed=3)
    model = load_model(tmp_path / "m.pt")
    clipped = bench.clip_weights(model, 90.0)
    assert clipped["options"]["clip_percentile"] == 90.0
    got = integer_network_of(clipped)
    want = quantize(model["network"], percentile=90.0, ticks=model["encoding"]["ticks"]).network
    plain = integer_network_of(model)
    for g, w, p in zip(got.layers, want.layers, plain.layers):
        assert np.array_equal(g.weights, w.weights) and g.params == w.params
        assert np.abs(g.weights).max() == 127 and not np.array_equal(g.weights, p.weights)
    for bad in (0.0, 100.0):
        match = f"--percentile: must be in \\(0, 100\\), got {bad}"
        with pytest.raises(SpikeforgeError, match=match):
            bench.clip_weights(model, bad)


def test_the_layer_scripts_read_only_a_hidden_and_an_output_layer(tmp_path, monkeypatch):
    """``read_two_layer_model`` (scripts/ttfs_scale_thresholds.py, ttfs_early_readout.py):
    a model file of two layers is read as ``read_model`` reads it; a network of three layers
    (which ``train`` does not write: ``read_model`` stood in) is refused in one line naming
    the file and the count."""
    from spikeforge.ir.errors import SpikeforgeError

    bench, ds, _, _ = _saved(tmp_path, name="two.pt")
    model, net, k, encoding = bench.read_two_layer_model(tmp_path / "two.pt")
    assert len(net.layers) == 2 and k == 16
    three = TTFSNet([ds.n_features, 8, 6, ds.n_classes])
    monkeypatch.setattr(bench, "read_model", lambda path: (model, three, k, encoding))
    with pytest.raises(SpikeforgeError, match=r"three\.pt: a hidden and an output layer "
                                              r"expected, got 3 layers"):
        bench.read_two_layer_model(tmp_path / "three.pt")


def test_train_images_keeps_a_stratified_prefix_and_the_same_validation():
    """``--train-images N`` trains on N of the split's training images, each class in
    proportion, a smaller N a subset of a larger one, and scores on the same validation
    images; more images than the split has, or fewer than one per class, are refused."""
    bench = _bench()
    ds = load_dataset("digits")  # 1,347 training images: 347 beside the 1,000 held out
    (x_all, y_all), val_all = bench.split(ds)
    (x_small, y_small), val_small = bench.split(ds, 100)
    (x_mid, _), val_mid = bench.split(ds, 200)
    assert np.array_equal(bench.split(ds, len(y_all))[0][1], y_all)
    with pytest.raises(SpikeforgeError, match=f"--train-images: the split has {len(y_all)} "):
        bench.split(ds, len(y_all) + 1)
    assert len(y_small) == 100 and len(x_mid) == 200
    for v in (val_small, val_mid):
        assert np.array_equal(v[0], val_all[0]) and np.array_equal(v[1], val_all[1])
    rows = {r.tobytes() for r in x_mid}
    assert all(r.tobytes() in rows for r in x_small)
    share = np.bincount(y_small, minlength=10) / 100 - np.bincount(y_all, minlength=10) / len(y_all)
    assert np.abs(share).max() <= 1 / 100 + 1e-9
    args = bench.parser().parse_args(["train", "--train-images", "300"])
    assert bench.options(args)["train_images"] == 300
    with pytest.raises(SystemExit, match="bench_ttfs_mnist: --train-images: must be at least 10"):
        bench.main(["trial", "--train-images", "9"])


def test_weight_sum_chooses_the_cost_over_present_or_all_inputs():
    """``--weight-sum global`` trains with Mostafa's weight-sum cost over all of a neuron's
    inputs instead of each sample's spiking ones: other weights where the cost acts, the
    same ones where it is off (``--k-weight-sum 0``), and the choice is recorded."""
    bench = _bench()
    ds = load_dataset("digits")

    def first_layer(*extra):
        args = bench.parser().parse_args(["train", "--hidden", "8", "--k", "16", "--epochs", "1",
                                          "--train-images", "100", *extra])
        return args, bench.fit(args, ds)[0].net.layers[0].w.detach().clone()

    args, per_sample = first_layer("--k-weight-sum", "10")
    assert bench.options(args)["weight_sum"] == "per-sample"
    args, overall = first_layer("--k-weight-sum", "10", "--weight-sum", "global")
    assert bench.options(args)["weight_sum"] == "global"
    assert not torch.equal(per_sample, overall)
    assert torch.equal(first_layer("--k-weight-sum", "0")[1],
                       first_layer("--k-weight-sum", "0", "--weight-sum", "global")[1])


def test_input_codes_reach_the_model_file_and_are_checked(tmp_path):
    """``--binarize-at P`` (and ``--silent-below P``) is recorded in the options and in the
    model file's encoding, and the file reads back as the binary code (what ``compile`` then
    encodes the images with); a value outside MNIST's 1..255 is refused in one line naming
    the option."""
    bench = _bench()
    ds = load_dataset("digits")
    args = bench.parser().parse_args(["train", "--hidden", "8", "--k", "16", "--epochs", "1",
                                      "--binarize-at", "9", "--model", str(tmp_path / "b.pt")])
    assert bench.options(args)["binarize_at"] == 9
    net = TTFSNet([ds.n_features, 8, ds.n_classes])
    bench.make_checkpoint(args, ds, time.perf_counter())(0, net, [(1.0, 0.5, 0.5)])
    assert load_model(tmp_path / "b.pt")["encoding"]["binarize_at"] == 9
    encoding = bench.read_model(tmp_path / "b.pt")[3]
    assert encoding == bench.encoding_of(args) and encoding.binarize_at == 9
    x = ds.test_x[:5]
    np.testing.assert_array_equal(encoding.ticks(x, ds.max_value),
                                  np.where(x >= 9, 0, -1))  # the ink at tick 0, the rest silent
    intensity = bench.parser().parse_args(["train", "--hidden", "8"])
    assert bench.encoding_of(intensity).binarize_at is None
    assert "binarize_at" not in bench.model_dict(net, intensity, ds, {})["encoding"]
    threshold = bench.parser().parse_args(["train", "--hidden", "8", "--silent-below", "9"])
    assert bench.model_dict(net, threshold, ds, {})["encoding"]["silent_below"] == 9
    assert bench.encoding_of(threshold).silent_below == 9
    for option in ("--binarize-at", "--silent-below"):
        for bad in ("0", "256"):
            with pytest.raises(SystemExit, match=f"bench_ttfs_mnist: {option}: must be a pixel "
                                                 f"value in 1..255 .*, got {bad}"):
                bench.main(["trial", option, bad])


def test_validate_at_another_weight_width(tmp_path, capsys):
    """``validate --weight-bits B [--weight-shift S]`` runs the golden model of the network
    quantized to B bits, the event phase adding them << S (what 8 bits cost a network, and
    what a finer current wins back, on the validation split alone); it says so on its line,
    and a width or shift outside its range is refused by option."""
    import dataclasses

    from spikeforge.model.ttfs_discrete import integer_network
    from spikeforge.sim.network import run_network

    bench, ds, _, net = _saved(tmp_path, command="validate", seed=3)
    capsys.readouterr()
    val = bench.split(ds)[1]
    ds = dataclasses.replace(ds, test_x=None, test_y=None)
    lines = {}
    for bits, shift in ((8, 0), (3, 0), (3, 5)):
        args = bench.parser().parse_args(["validate", "--k", "16", "--model",
                                          str(tmp_path / "m.pt"), "--weight-bits", str(bits),
                                          "--weight-shift", str(shift)])
        bench.cmd_validate(args, ds)
        lines[bits, shift] = capsys.readouterr().out
    assert "3-bit weights" in lines[3, 0] and "bit weights" not in lines[8, 0]
    assert "weight shift 5" in lines[3, 5] and "weight shift" not in lines[3, 0]
    encoding = bench.read_model(tmp_path / "m.pt")[3]
    ticks = bench.inference_ticks(16, 2)
    wants = {}
    for (bits, shift), line in lines.items():  # the golden model run here, not through golden_stats
        network = integer_network(net, 16, bits, weight_shift=shift).network
        trace = run_network(network, encoding.counts(val[0], 255, ticks), ticks)  # MNIST's scale
        wants[bits, shift] = (f"golden {np.mean(trace.decision == val[1]):.4f} hidden "
                              f"{trace.statistics().hidden_spikes.mean():.1f}")
        assert wants[bits, shift] in line
    assert len(set(wants.values())) == 3  # three different networks: the check can fail
    with pytest.raises(SystemExit, match="bench_ttfs_mnist: --weight-bits: must be in 2..16, got 1"):
        bench.main(["validate", "--weight-bits", "1"])
    match = "bench_ttfs_mnist: --weight-shift: must be in 0..24, got 25"
    with pytest.raises(SystemExit, match=match):
        bench.main(["validate", "--weight-shift", "25"])


def test_qat_writes_the_golden_models_weights_and_is_checked(tmp_path):
    """``train --qat-bits B`` (a real one-epoch run on digits, through ``fit``): the model
    file holds the weights the quantizer computed with, so ``compile``'s integer network of
    the file (max scale) is exactly the quantizer's integers of the latent weights, at
    ``--qat-percentile``; both options are recorded, and bad values are refused by option."""
    from spikeforge.model.modelfile import integer_network_of
    from spikeforge.model.ttfs_discrete import WeightQuantizer

    bench = _bench()
    ds = load_dataset("digits")
    args = bench.parser().parse_args(["train", "--hidden", "8", "--k", "16", "--epochs", "1",
                                      "--qat-bits", "8", "--qat-percentile", "99",
                                      "--model", str(tmp_path / "q.pt")])
    r, _, _ = bench.fit(args, ds)
    bench.save_model(bench.model_dict(r.net, args, ds, {}), args.model)
    model = load_model(args.model)
    assert model["options"]["qat_bits"] == 8 and model["options"]["qat_percentile"] == 99.0
    quantizer = WeightQuantizer(16, 8, percentile=99.0)
    network = integer_network_of(model)
    for got, layer in zip(network.layers, r.net.layers):
        w_int, threshold = quantizer.integers(layer.w)
        assert np.array_equal(got.weights, w_int) and got.params.threshold == threshold
    for option, bad, message in (("--qat-bits", "1", "must be in 2..16, got 1"),
                                 ("--qat-percentile", "0", "must be in \\(0, 100\\], got 0.0")):
        with pytest.raises(SystemExit, match=f"bench_ttfs_mnist: {option}: {message}"):
            bench.main(["train", option, bad])
