"""Short versions of the benchmark scripts, so that they keep working (the tables they print
are recorded in docs/benchmarks.md from full runs)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_core_benchmark_quick():
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_core.py"), "--quick"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "neuron-updates/s" in result.stdout and "cycles/s" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ") and "E*(N+2)" in line]
    assert rows and all(line.endswith("| yes |") for line in rows), result.stdout


def test_system_benchmark_quick():
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_system.py"), "--quick"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "cycles/inference" in result.stdout and "hidden spikes before the decision" in result.stdout
