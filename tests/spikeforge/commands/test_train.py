"""``spikeforge train`` (spikeforge/commands/train.py): bad options in one line."""

import pytest

from spikeforge.cli import main


def test_train_reports_a_bad_option_in_one_line(capsys):
    """Refused by the parser, before torch is imported (every other bad input of every
    command: tests/spikeforge/test_errors.py)."""
    with pytest.raises(SystemExit) as exit:
        main(["train", "--hidden", "0", "--no-progress", "--out", "unused.pt"])
    assert exit.value.code == 2
    assert capsys.readouterr().err == ("spikeforge train: error: argument --hidden: must be an "
                                       "integer in 1..4194304, got 0 (see spikeforge train "
                                       "--help)\n")


def test_options_of_the_other_model_kind_are_refused_not_ignored(capsys):
    """``--spike-dropout`` (and every TTFS-only option) was ignored by ``--model lif``."""
    assert main(["train", "--model", "lif", "--spike-dropout", "0.1", "--out", "unused.pt"]) == 2
    assert capsys.readouterr().err == ("spikeforge train: error: --spike-dropout: applies to "
                                       "--model ttfs only, not to --model lif\n")


@pytest.mark.parametrize("flags, zeroed", [(["--zero-is-silent"], True), ([], False)])
def test_zero_is_silent_keeps_the_silent_pixels_rows_at_zero(tmp_path, flags, zeroed):
    """``--zero-is-silent``: the first-layer weight rows of the pixels that are 0 in every
    training image stay 0 in the model file, so ``spikeforge compile`` drops them (a
    784-600-10 network of MNIST's border-less 672 rows fits the ECP5-85F; with all 784 it
    does not); without the flag those pixels send spikes and their rows are trained."""
    import numpy as np

    from spikeforge.model.datasets import load_dataset
    from spikeforge.model.modelfile import integer_network_of, load_model

    out = tmp_path / "m.pt"
    assert main(["train", "--dataset", "digits", "--hidden", "8", "--epochs", "1", *flags,
                 "--max-train", "300", "--threads", "1", "--no-progress", "--out",
                 str(out)]) == 0
    silent = np.flatnonzero(load_dataset("digits").train_x[:300].max(axis=0) == 0)
    assert len(silent) == 7
    rows = integer_network_of(load_model(out)).layers[0].weights[silent]
    assert (not rows.any()) == zeroed


def test_input_codes_reach_the_model_file_and_what_compile_encodes(tmp_path, capsys):
    """``--binarize-at`` / ``--silent-below``: recorded in the model file's encoding, and the
    test images encoded from the file (what ``compile`` sends the hardware) give exactly the
    golden accuracy that training measured with its own encoding; a value above the
    dataset's scale, or with ``--model lif``, is refused in one line."""
    from spikeforge.model.datasets import load_dataset
    from spikeforge.model.modelfile import encode_test_images, integer_network_of, load_model
    from spikeforge.sim.network import classify

    ds = load_dataset("digits")
    for flag in ("--binarize-at", "--silent-below"):
        out = tmp_path / f"{flag}.pt"
        assert main(["train", "--dataset", "digits", "--hidden", "8", "--epochs", "1",
                     "--zero-is-silent", flag, "9", "--max-train", "300", "--threads", "1",
                     "--no-progress", "--out", str(out)]) == 0
        model = load_model(out)
        assert model["encoding"][flag[2:].replace("-", "_")] == 9
        counts = encode_test_images(model, ds, len(ds.test_y))
        golden = float((classify(integer_network_of(model), counts) == ds.test_y).mean())
        assert golden == pytest.approx(model["metrics"]["golden_test_accuracy"])
        if flag == "--binarize-at":  # the ink at tick 0 and nothing later
            assert counts[:, 1:].sum() == 0 and counts[:, 0].sum() == (ds.test_x >= 9).sum()
    capsys.readouterr()
    assert main(["train", "--dataset", "digits", "--binarize-at", "17", "--out", "x.pt"]) == 2
    assert capsys.readouterr().err == ("spikeforge train: error: --binarize-at: must be a pixel "
                                       "value in 1..16 (the largest digits pixel), got 17\n")
    assert main(["train", "--model", "lif", "--silent-below", "3", "--out", "x.pt"]) == 2
    assert "--silent-below: applies to --model ttfs only" in capsys.readouterr().err
