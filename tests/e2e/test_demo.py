"""``spikeforge demo`` (spikeforge/demo.py): a core co-simulated bit- and cycle-exactly."""

from tests.util import run_cli


def test_demo_co_simulates_bit_exactly():
    result = run_cli("demo", "--core", "--simulator", "icarus", "--ticks", 12)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BIT-EXACT, CYCLE-EXACT" in result.stdout and "MISMATCH" not in result.stdout
