"""benchmarks/bench_learning_engine.py --quick: the 64-32-10 learning engine synthesised and
placed and routed out of context for the ECP5-85F (Yosys + nextpnr-ecp5, about 35 s); and
benchmarks/bench_learning_system.py's pieces without builds (a few seconds)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
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


def test_learning_system_bench_pieces(capsys):
    """benchmarks/bench_learning_system.py without its builds and training (a few seconds):
    the rule's shifts per fraction bits, the cycles of one training sample, the table's
    overhead row beside the anchors, and a bad option as one line."""
    from spikeforge.hdl.learning import update_cycles
    from spikeforge.sim.learning import PopcountLearner
    from tests.util import load_benchmark

    bench = load_benchmark("bench_learning_system")
    # the same steps in weight LSBs where the shifts allow (at F = 11: 6 / 4 / 3), else shift
    # 0 and a larger step
    rule, factors = bench.rule_for_frac_bits(11)
    assert (rule["shift_out"], rule["shift_hidden"], rule["shift_revive"]) == (6, 4, 3)
    assert set(factors.values()) == {1}
    rule, factors = bench.rule_for_frac_bits(4)
    assert (rule["shift_out"], rule["shift_hidden"], rule["shift_revive"]) == (0, 0, 0)
    assert factors == {"shift_out": 2, "shift_hidden": 8, "shift_revive": 16}
    assert bench.rule_for_frac_bits(8)[0] == bench.engine_bench.DIGITS_RULE

    digits = bench.Digits(None)
    learner = PopcountLearner(digits.network, digits.ticks, **bench.engine_bench.DIGITS_RULE)
    config = learner.hardware_config()
    s = digits.split
    c = bench.cycles(digits.artifact(digits.network), config, s.fn(s.x_te)(np.arange(1)),
                     learner.margin)
    # every input row touched (zero pixels spike at tick 32): M + 1 + H M + 2 N + H N + H + 1
    assert c["update"] == update_cycles(config, 64) == 2540
    assert c["per_training_sample"] == c["train_inference"] + 2 + c["update"]
    assert 8000 < c["train_inference"] < 8600 and c["inference"] <= c["train_inference"]

    board = {"lcs": 5000, "ffs": 3000, "brams": 10, "brams_available": 208, "dsps": 2,
             "fmax": 100.0, "met": False}
    res = {"board_plain": board, "cycles": c, "online": {"val": 0.8, "test": 0.75},
           "board_learning": {**board, "lcs": 5500, "ffs": 3300, "brams": 13, "fmax": 50.0},
           "exact": {"val": 0.9, "test": 0.85, "epochs": 1}, "batch16": None}
    text = bench.main_table(res)
    overhead = [line for line in text.splitlines() if line.startswith("| engine's overhead")]
    assert overhead and "+500 (+10.0 %)" in overhead[0] and "+3 (+30.0 %)" in overhead[0], text
    assert "-50.0 %" in overhead[0] and "-0.1000 vs exact" in overhead[0], text
    assert f"{50e6 / c['per_training_sample']:,.0f} training samples/s" in text, text
    assert "| SPOON |" in text and "+11.8 % area" in text and "| ODIN |" in text, text

    capsys.readouterr()
    assert bench.main(["--frac-bits", "4,x"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--frac-bits" in err and "'4,x'" in err, err
