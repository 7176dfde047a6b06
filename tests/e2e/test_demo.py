"""``spikeforge demo`` (spikeforge/demo.py): a core co-simulated bit- and cycle-exactly."""

import pytest

from tests.util import run_cli


def test_demo_co_simulates_bit_exactly():
    result = run_cli("demo", "--core", "--simulator", "icarus", "--ticks", 12)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BIT-EXACT, CYCLE-EXACT" in result.stdout and "MISMATCH" not in result.stdout


def test_ttfs_demo_options_are_checked():
    """--ttfs is a flow demo: refused with --core, by name."""
    result = run_cli("demo", "--core", "--ttfs")
    assert result.returncode == 2
    assert "--ttfs: applies to the flow demo (without --core) only" in result.stderr


def test_the_prototype_table_puts_our_figures_beside_the_prototype():
    from spikeforge.demo import prototype_table
    from spikeforge.flow import VerifyReport

    model = {"sizes": [64, 100, 10], "encoding": {"ticks_per_tau": 16}}
    stats = {"hidden_spikes": 92.1, "rows_read": [0.501, 0.891], "median_ticks": 18.0}
    report = VerifyReport("verilator", 450, 0.9356, 0.9356, 450, 1259.0, 786.0, 0, 1.0, 41.6)
    table = prototype_table(model, stats, report, clock_mhz=50).splitlines()
    assert table[0].split() == ["spikeforge,", "digits", "64-100-10", "FPGA", "prototype,",
                                "MNIST", "784-600-10"]
    rows = {line[:34].strip(): line[34:].split() for line in table[2:]}
    assert rows["accuracy, 8-bit (golden = RTL)"] == ["93.56%", "97%"]
    assert rows["hidden spikes before the decision"] == ["92.1", "139"]
    assert rows["input->hidden weights read"] == ["50.1%", "13%"]
    assert rows["hidden->output weights read"] == ["89.1%", "5%"]
    assert rows["ticks to the decision (median)"] == ["18", "(16", "per", "tau)", "~162"]
    assert rows["latency at 50 MHz"] == ["25.2", "us", "n/a"]


@pytest.mark.slow
def test_ttfs_demo_runs_end_to_end(tmp_path):
    """Train (about a minute), compile, co-simulate 20 images bit-exactly, the table."""
    result = run_cli("demo", "--ttfs", "--images", 20, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BIT-EXACT" in result.stdout and "FPGA prototype, MNIST 784-600-10" in result.stdout
