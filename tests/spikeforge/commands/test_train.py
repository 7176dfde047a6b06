"""``spikeforge train`` (spikeforge/commands/train.py): bad options in one line."""

from spikeforge.cli import main


def test_train_reports_a_bad_option_in_one_line(capsys):
    assert main(["train", "--hidden", "0", "--no-progress", "--out", "unused.pt"]) == 2
    assert capsys.readouterr().err == ("spikeforge train: error: --hidden: sizes must be positive, "
                                       "got [0]\n")
