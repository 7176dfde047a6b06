"""``spikeforge fuzz`` (spikeforge/commands/fuzz.py)."""

import pytest

from spikeforge.cli import main
from spikeforge.commands.fuzz import rtl_case
from tests.util import require_simulator


def test_fuzz_command_golden_only(capsys, tmp_path):
    assert main(["fuzz", "--cases", "80", "--seed", "5", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "golden vs scalar reference: 80 cases" in out and "0 failing" in out


def test_fuzz_command_refusals(capsys, tmp_path):
    assert main(["fuzz", "--cases", "3", "--rtl", "4", "--out", str(tmp_path)]) == 2
    assert "--rtl: at most --cases (3), got 4" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["fuzz", "--cases", "0"])
    assert exit_.value.code == 2
    assert "argument --cases: must be an integer >= 1, got 0" in capsys.readouterr().err


@pytest.mark.parametrize("seed", [11])
def test_one_random_case_through_the_rtl(seed):
    """A random corner case, with input gaps and output backpressure, in Icarus: every spike,
    its cycle and the decision equal to the models."""
    require_simulator("icarus")
    assert rtl_case(seed, "icarus") is None
