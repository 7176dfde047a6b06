"""benchmarks/bench_methods.py: every learning method in one table (issue 14, point 6).

The quick run trains every method briefly on digits; its table must have a row per method
whose memory cost adds up and whose figures are in range. ``--cost-images 100`` makes the
golden-model evaluation run in several chunks, which the script itself cross-checks against
each method's own evaluation (TTFS ``evaluate``, the popcount rule's test accuracy, the QAT
flow's golden accuracy): a chunk lost or counted twice exits with status 2."""

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_methods.py"
METHOD_PREFIXES = ("LIF, surrogate gradient, post", "LIF, surrogate gradient + QAT", "TTFS",
                   "STDP", "ASP", "ANN -> SNN conversion", "Popcount rule")


def _run(*args, timeout=300):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=timeout)


def table_rows(stdout: str) -> list:
    """The cells of the table's data rows."""
    lines = [line for line in stdout.splitlines() if line.startswith("| ")]
    assert lines and lines[0].startswith("| method |"), stdout
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in lines[1:]]


def check_row(cells: list) -> None:
    """A row's figures: accuracies in [0, 1], memory = weights + state + spikes (all
    positive), accumulations positive, an anchor and a provenance given."""
    assert len(cells) == 10, cells
    _, network, training, ticks, float_acc, golden, memory, accum, anchor, chosen = cells
    assert re.fullmatch(r"\d+(-\d+)+.*", network), cells
    assert int(ticks.split()[0]) >= 1 and "train" in training, cells
    for acc in (golden,) + (() if float_acc == "-" else (float_acc,)):
        assert 0.0 <= float(acc) <= 1.0, cells
    total, parts = memory.split(" = ")
    parts = [int(p.replace(",", "")) for p in parts.split(" + ")]
    assert len(parts) == 3 and min(parts) > 0 and sum(parts) == int(total.replace(",", "")), cells
    assert float(accum.split()[0].replace(",", "")) > 0, cells
    assert anchor and chosen, cells


def test_quick_table_has_every_method():
    result = _run("--quick", "--cost-images", "100")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = table_rows(result.stdout)
    assert len(rows) == len(METHOD_PREFIXES), result.stdout
    for prefix, cells in zip(METHOD_PREFIXES, rows):
        assert cells[0].startswith(prefix), (prefix, cells)
        check_row(cells)
    assert "over the first 100 test images" in result.stdout, result.stdout


def test_check_row_rejects_a_memory_split_that_does_not_add_up():
    good = ["TTFS", "64-100-10", "300 train", "66", "0.5", "0.5", "10 = 5 + 3 + 2", "7",
            "a", "b"]
    check_row(good)
    for bad in (["10 = 5 + 3 + 3"], ["10 = 5 + 5 + 0"]):
        with pytest.raises(AssertionError):
            check_row(good[:6] + bad + good[7:])
    with pytest.raises(AssertionError):
        check_row(good[:5] + ["1.5"] + good[6:])


def test_nmnist_row_is_the_recorded_one():
    result = _run("--dataset", "nmnist", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = table_rows(result.stdout)
    assert len(rows) == 1 and "recorded, from bench_nmnist.py" in rows[0][0], result.stdout
    check_row(rows[0])


@pytest.mark.parametrize("args, name", [(("--dataset", "cifar"), "--dataset"),
                                        (("--methods", "lif,backprop"), "--methods"),
                                        (("--epochs", "0"), "--epochs")])
def test_bad_arguments_are_one_line_errors(args, name):
    result = _run(*args, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and "Traceback" not in result.stderr, result.stderr


def test_the_mnist_ttfs_row_reads_its_recipe_with_the_bench_parser(monkeypatch):
    """The MNIST/Fashion TTFS row trains by ``bench_ttfs_mnist.fit``; its recipe is parsed by
    that script's own parser, so every option the script records (batch, clip, training
    images, input code, ...) exists with its default. A hand-made namespace lacked them and
    failed on the first: ``options`` is what names them all."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    methods = importlib.import_module("bench_methods")  # its dataclasses need sys.modules
    plan = methods.Plan(methods.parse(["--dataset", "mnist"]))
    args = methods.ttfs_mnist_args(plan)
    recorded = methods.bench_ttfs_mnist.options(args)
    assert {"epochs": 16, "k": 32, "hidden": 600, "dropout": 0.1, "k_hidden": 2e-2,
            "k_late": 1.0, "k_weight_sum": 0.1, "binarize_at": None}.items() <= recorded.items()
    assert methods.bench_ttfs_mnist.encoding_of(args).zero_is_silent
