"""benchmarks/bench_learning_engine.py --quick: the 64-32-10 learning engine synthesised and
placed and routed out of context for the ECP5-85F (Yosys + nextpnr-ecp5, about 35 s)."""

import subprocess
import sys
from pathlib import Path

import pytest

from spikeforge.boards.build import toolchain_environment
from spikeforge.ir.errors import SpikeforgeError

ROOT = Path(__file__).resolve().parents[1]


def test_learning_engine_benchmark_quick(tmp_path):
    try:
        toolchain_environment(["yosys", "nextpnr-ecp5"])
    except SpikeforgeError as error:
        pytest.skip(str(error))
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_learning_engine.py"),
                             "--quick", "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [[cell.strip() for cell in line.strip("|").split("|")]
            for line in result.stdout.splitlines() if line.startswith("| digits 64-32-10 ")]
    assert len(rows) == 1 and rows[0][1] == "ECP5-85F", result.stdout  # --quick: no iCE40
    row = dict(zip(["config", "device", "store bits", "LCs", "FFs", "BRAM", "DSP", "Fmax"],
                   rows[0]))
    assert int(row["LCs"].split()[0].replace(",", "")) > 0, row
    assert float(row["Fmax"]) > 0, row
    # the stores of 64*32 + 32*10 words of 8 + frac_bits = 16 bits, and the published anchors
    assert row["store bits"] == "32,768 + 5,120 = 37,888", row
    assert "| SPOON |" in result.stdout and "| ODIN |" in result.stdout, result.stdout
