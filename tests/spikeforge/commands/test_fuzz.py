"""``spikeforge fuzz`` (spikeforge/commands/fuzz.py)."""

import pytest

from spikeforge.cli import main
from tests.util import require_simulator


def test_fuzz_command_golden_and_cycle_model(capsys, tmp_path):
    assert main(["fuzz", "--cases", "80", "--seed", "5", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "golden vs scalar reference vs cycle model: 80 cases (80 also against the cycle " \
           "model)" in out and "0 failing" in out and "input overflow" in out


def test_fuzz_command_refusals(capsys, tmp_path):
    for argv, message in ((["--cases", "0"], "argument --cases: must be an integer >= 1, got 0"),
                          (["--per-build", "0"], "argument --per-build: must be an integer >= 1"),
                          (["--rtl-budget", "0"], "argument --rtl-budget")):
        with pytest.raises(SystemExit) as exit_:
            main(["fuzz", *argv])
        assert exit_.value.code == 2
        assert message in capsys.readouterr().err


def test_fuzz_command_through_the_rtl_in_icarus(capsys, tmp_path):
    """Two input cases on one random system in the cocotb bench (Icarus), with gaps and
    backpressure: every spike, its cycle, the decision and the error flag equal to the
    models."""
    require_simulator("icarus")
    assert main(["fuzz", "--cases", "5", "--rtl", "2", "--per-build", "2", "--simulator",
                 "icarus", "--seed", "3", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "RTL (icarus) vs golden and cycle models: 2 cases" in out and "0 failing" in out
