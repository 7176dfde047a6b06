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
