"""``spikeforge mutate`` (spikeforge/commands/mutate.py): bad input is one line and exit
status 2, before any build; a small campaign prints its table and exits 1 while a mutant
survives that is not shown equivalent."""

import pytest

from spikeforge.cli import main
from tests.util import require_simulator, run_cli


@pytest.mark.parametrize("argv, message", [
    (["--per-kind", "-1"], "argument --per-kind: must be an integer >= 0, got -1"),
    (["--weight-faults", "many"], "argument --weight-faults: expected a whole number, got 'many'"),
    (["--campaign", "fast"], "argument --campaign: invalid choice: 'fast'"),
    (["--budget", "0"], "argument --budget"),
])
def test_mutate_refuses_bad_arguments(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        main(["mutate", *argv])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_mutate_refuses_an_unwritable_json_file(tmp_path):
    """Checked before the campaign starts: one line naming the option, no traceback."""
    done = run_cli("mutate", "--json", str(tmp_path), timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"spikeforge mutate: error: --json: {tmp_path} is a "
                                   f"directory; give the file to write")


@pytest.mark.slow  # three Verilator builds on a fresh cache (those of the recorded campaign)
def test_mutate_with_a_time_budget_reports_what_it_did_not_run(capsys):
    """A budget that ends at once: the designs are built (or found in the cache), no
    mutant is run, each is counted as not run, exit status 1."""
    require_simulator("verilator")
    assert main(["mutate", "--per-kind", "1", "--weight-faults", "102", "--budget",
                 "1e-9"]) == 1
    out = capsys.readouterr().out
    assert "0 mutants of 4 designs" in out and "not run" in out
