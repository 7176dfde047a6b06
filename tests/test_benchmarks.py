"""Short versions of the benchmark scripts, so that they keep working (the tables they print
are recorded in docs/benchmarks.md from full runs)."""

import argparse
import importlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.util import needs_mnist

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


def test_model_benchmark_quick():
    """Digits rows of bench_model.py, 2 epochs each, including the snnTorch row (snnTorch is
    installed into build/bench-env, not into the project's environment)."""
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_model.py"), "--quick",
                             "--quiet", "--threads", "1"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    table = [line for line in result.stdout.splitlines() if line.startswith("| digits")]
    models = [line.split(" | ")[1] for line in table]
    assert any(m.startswith("TTFS") for m in models) and any(m.startswith("LIF") for m in models)
    assert any(m.startswith("snnTorch") for m in models), result.stdout


def test_nir_benchmark_quick():
    """bench_nir.py --quick: snnTorch <-> NIR <-> spikeforge, 8 images co-simulated (~90 s)."""
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_nir.py"), "--quick"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr  # exit 1 unless bit-exact
    assert "8/8 bit-exact" in result.stdout and "| 5 |" in result.stdout, result.stdout


def _quick(script: str, timeout: int = 600) -> str:
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--quick"],
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_conversion_benchmark_quick():
    """ANN -> SNN conversion on digits, three tick counts, 5 images co-simulated bit-exactly."""
    out = _quick("bench_conversion.py")
    assert "**yes**" in out and "BIT-EXACT" in out, out


@needs_mnist
def test_stdp_benchmark_quick():
    out = _quick("bench_stdp.py")
    assert "### STDP on MNIST" in out and "| ASP, leak 0.003 |" in out and "| STDP |" in out, out


def test_cost_benchmark_quick():
    """sim/cost.py beside the neurobench package: the shared definitions agree exactly."""
    out = _quick("bench_cost.py")
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ") for line in out.splitlines()
            if line.startswith("| ")}
    assert rows["connection sparsity"][1] == rows["connection sparsity"][2].split()[0], out
    assert rows["dense synaptic operations"][1] == rows["dense synaptic operations"][2], out


@needs_mnist
@pytest.mark.skipif(not (ROOT.parent / "shared" / "data" / "events" / "nmnist-sample.bin").is_file(),
                    reason="the real N-MNIST recording is on the team's machines only "
                           "(../shared/data/events)")
def test_events_benchmark_quick():
    out = _quick("bench_events.py")
    assert "| events |" in out, out


def test_golden_benchmark_quick():
    """bench_golden.py --quick: the TTFS golden model with early exit beside the LIF one."""
    out = _quick("bench_golden.py")
    assert "TTFS classify takes" in out and "images/s" in out, out


def test_learning_benchmark_quick():
    """bench_learning.py --quick: the popcount rule beside exact-gradient training on digits."""
    out = _quick("bench_learning.py")
    assert "| final, 8-bit golden |" in out and "exact gradient" in out, out


def _board_bench_built_then_reused(script: str, tmp_path, row: str) -> str:
    """``SCRIPT --quick --out tmp_path`` twice: the first run builds and prints ``row`` beside
    the published designs, the second reuses the build of the same plan; the first run's
    output."""
    args = [sys.executable, str(ROOT / "benchmarks" / script), "--quick", "--out", str(tmp_path)]
    first = subprocess.run(args, capture_output=True, text=True, timeout=1800)
    assert first.returncode == 0, first.stdout + first.stderr
    assert row in first.stdout, first.stdout
    assert "| Flexi-NeurA 2026 |" in first.stdout and "(build reused)" not in first.stdout
    again = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "(build reused)" in again.stdout, again.stdout + again.stderr
    return first.stdout


@pytest.mark.slow
def test_ttfs_board_benchmark_quick(tmp_path):
    """bench_ttfs_board.py --quick: the TTFS digits demo network compiled and built for the
    iCEBreaker (5-8 min), its row beside the prototype's and the published designs' with
    ratios; run again, the build of the same plan is reused; with ``--seeds 1``, nextpnr's
    seed 1 on that build's netlist beside the default seed's Fmax."""
    _board_bench_built_then_reused("bench_ttfs_board.py", tmp_path,
                                   "| spikeforge 64-100-10 TTFS on icebreaker |")
    _seed_one_beside_the_default("bench_ttfs_board.py", tmp_path)


def _seed_one_beside_the_default(script: str, tmp_path) -> None:
    """``SCRIPT --quick --out tmp_path --seeds 1`` on the build made before: reused, and
    nextpnr's seed 1 printed beside the default seed (:func:`bench_ttfs_board.placements_line`)."""
    seeds = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script),
                            "--quick", "--out", str(tmp_path), "--seeds", "1"],
                           capture_output=True, text=True, timeout=900)
    assert seeds.returncode == 0 and "(build reused)" in seeds.stdout, seeds.stdout + seeds.stderr
    line = next(t for t in seeds.stdout.splitlines() if t.startswith("Fmax at nextpnr seeds"))
    assert re.match(r"Fmax at nextpnr seeds 1\.\.1: \d+\.\d MHz; with the default seed's "
                    r"\d+\.\d: mean \d+\.\d, range \d+\.\d-\d+\.\d MHz; [012] of 2 "
                    r"placements meet \d+\.\d\d MHz$", line), line


def test_placements_line_counts_the_placements_that_meet_the_clock():
    """The seeds line: each seed's Fmax (a failed placement named, not counted), the mean and
    range over the placed ones with the default seed's, and how many meet the clock."""
    line = _benchmark("bench_ttfs_board").placements_line(49.1, {1: 53.6, 2: None, 3: 50.25},
                                                          50.25)
    assert line == ("Fmax at nextpnr seeds 1..3: 53.6 failed 50.2 MHz; with the default "
                    "seed's 49.1: mean 51.0, range 49.1-53.6 MHz; 2 of 3 placements meet "
                    "50.25 MHz"), line


def test_board_benches_pass_the_plan_options_to_compile():
    """``--neurons-per-core``, ``--lanes``, ``--[no-]double-buffer`` and ``--fmax`` of both
    board benches reach ``spikeforge compile`` as given, and none of them when none is given
    (the plan ``compile --board`` chooses)."""
    for name in ("bench_ttfs_board", "bench_mnist_fast"):
        bench = _benchmark(name)
        ap = argparse.ArgumentParser()
        bench.add_plan_options(ap)
        given = ap.parse_args(["--neurons-per-core", "100", "--lanes", "9,10",
                               "--no-double-buffer"])
        assert bench.plan_options(given) == ("--neurons-per-core", "100", "--lanes", "9,10",
                                             "--no-double-buffer"), name
        assert bench.plan_options(ap.parse_args(["--double-buffer"])) == ("--double-buffer",)
        assert bench.plan_options(ap.parse_args(["--fmax"])) == ("--fmax",), name
        assert bench.plan_options(ap.parse_args([])) == (), name


@pytest.mark.slow
def test_lanes_sweep_quick(tmp_path):
    """bench_lanes.py --quick: one 16x32 core built for the iCEBreaker with 1 and 2 lanes
    (about a minute each); two lanes take fewer cycles per inference, and the plot is
    written; run again with --reuse, the same table from the saved reports."""
    png = tmp_path / "sweep.png"
    args = [sys.executable, str(ROOT / "benchmarks" / "bench_lanes.py"), "--quick",
            "--out", str(tmp_path), "--plot", str(png)]
    first = subprocess.run(args, capture_output=True, text=True, timeout=1800)
    assert first.returncode == 0, first.stdout + first.stderr
    rows = {line.split("|")[1].strip(): line.split("|") for line in first.stdout.splitlines()
            if line.startswith("| L")}
    assert set(rows) == {"L1", "L2"}, first.stdout
    cycles = {plan: int(row[8].replace(",", "")) for plan, row in rows.items()}
    assert cycles["L2"] < cycles["L1"], first.stdout
    assert png.stat().st_size > 10_000
    again = subprocess.run(args + ["--reuse"], capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    assert [l for l in again.stdout.splitlines() if l.startswith("| L")] == \
        [l for l in first.stdout.splitlines() if l.startswith("| L")]



def test_lanes_sweep_board_settings_and_plans_that_do_not_fit(tmp_path):
    """``--board-settings``: a plan's system is what ``compile --board`` makes (banked
    weights, system_settings_for's choices); a plan that does not fit is listed with the
    reason and not built; a clock that is not positive is refused in one line."""
    from dataclasses import replace

    from spikeforge.boards.build import resolve_design
    from spikeforge.boards.fit import system_settings_for
    from spikeforge.compiler.map import plan_network

    lanes = _benchmark("bench_lanes")
    name, base = resolve_design("core:16x32")
    compiled = lanes.as_compiled_for(base, "icebreaker")
    settings, _ = system_settings_for(base.plan, "icebreaker", weight_banks="ice40")
    assert compiled.system == replace(base.system, weight_banks="ice40", **settings)
    wide = replace(base, plan=plan_network(base.network, lanes=32))  # 32 x 2 multipliers
    rows, refused = lanes.measure("icebreaker", [("L32", (name, wide))], tmp_path, False)
    assert rows == [] and refused[0][0] == "L32" and "DSP" in refused[0][1], refused
    assert not any(tmp_path.iterdir())
    with pytest.raises(SystemExit):
        lanes.main(["--quick", "--clk-mhz", "0", "--out", str(tmp_path)])


def _benchmark(name: str):
    """The module of ``benchmarks/<name>.py`` (the scripts are not a package)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def test_mnist_fast_model_file_is_latency_coded(tmp_path):
    """bench_mnist_fast.py writes a LIF model file with the latency code: it loads, and
    `spikeforge compile` gets exactly the training encoding's events (one per pixel >= 1)
    and the golden accuracy the training reported."""
    from spikeforge.model.datasets import load_dataset
    from spikeforge.model.encoders import latency_encode, spikes_to_counts
    from spikeforge.model.modelfile import encode_test_images, integer_network_of, load_model
    from spikeforge.sim.network import classify

    bench = _benchmark("bench_mnist_fast")
    ds = load_dataset("digits")
    recipe = bench.Recipe(hidden=16, ticks=6, epochs=2, lr=5e-3, slope=25.0, shift=1)
    desc, curve, _, silent = bench.train_latency_lif(ds.train_x, ds.train_y, ds.test_x,
                                                     ds.test_y, ds.shape, recipe, ds.max_value,
                                                     progress=False)
    assert len(curve) == 2 and len(silent) > 0
    assert np.all(desc["layers"][0]["weight"][:, silent] == 0)  # silent rows held at zero
    path = tmp_path / "m.pt"
    gold = bench.golden_accuracy(desc, ds.test_x, ds.test_y, 6, ds.max_value)
    from spikeforge.model.modelfile import save_model

    save_model(bench.model_file(desc, "digits", recipe, ds.max_value, {"golden": gold}), path)
    model = load_model(path)
    counts = encode_test_images(model, ds, 40)
    expected = spikes_to_counts(latency_encode(ds.test_x[:40], 6, max_value=ds.max_value))
    np.testing.assert_array_equal(counts, expected)
    assert counts.sum(axis=1).max() == 1  # one spike per input at most
    net = integer_network_of(model)
    all_counts = encode_test_images(model, ds, len(ds.test_y))
    assert float((classify(net, all_counts) == ds.test_y).mean()) == pytest.approx(gold)


def test_mnist_fast_targets_say_what_is_not_met():
    """The three targets of issue 10 point 5, each met or NOT met on its own figure."""
    from spikeforge.flow import VerifyReport

    bench = _benchmark("bench_mnist_fast")
    cosim = VerifyReport("verilator", 1000, 0.96, 0.96, 1000, 2000.0, 1800.0, 0, 1.0, 1.0)
    m = {"accuracy": 0.9612, "test_images": 10000, "cycles": 2000.0}
    good = bench.targets(m, {"fmax_mhz": 50.0}, cosim)
    assert [line.endswith(" met") and "NOT" not in line for line in good] == [True] * 3
    slow = bench.targets(dict(m, cycles=2600.0), {"fmax_mhz": 50.0}, cosim)  # 52 us
    assert ["NOT met" in line for line in slow] == [False, True, False]
    few = bench.targets(dict(m, accuracy=0.9499), {"fmax_mhz": 50.0},
                        VerifyReport("verilator", 999, 0.96, 0.96, 999, 2000.0, 1800.0, 0, 1.0, 1.0))
    assert ["NOT met" in line for line in few] == [True, False, True]
    bad = bench.targets(m, {"fmax_mhz": 50.0},  # a mismatch fails it, whatever the count says
                        VerifyReport("verilator", 1000, 0.96, 0.96, 1000, 2000.0, 1800.0, 0, 1.0,
                                     1.0, mismatch="image 3"))
    assert ["NOT met" in line for line in bad] == [False, False, True]


def test_mnist_fast_clock_and_bound_targets_say_what_is_not_met():
    """Issue 10's points 2 and 3: timing met at a clock of at least the goal's (120 MHz;
    the iCE40's 50 taken by a 50.25 MHz PLL), and at most 1.2x the work bound."""
    from spikeforge.flow import VerifyReport

    bench = _benchmark("bench_mnist_fast")
    cosim = VerifyReport("verilator", 1000, 0.96, 0.96, 1000, 1507.0, 1420.0, 0, 1.0, 1.0,
                         work_bound_cycles=1267.0)
    report = {"fmax_mhz": 140.6, "clock_mhz": 120.0, "timing_met": True}
    lines = bench.clock_and_bound_targets(report, cosim)
    assert ["NOT met" in line for line in lines] == [False, False], lines
    assert "1.19x of 1,267" in lines[1]
    late = bench.clock_and_bound_targets(dict(report, fmax_mhz=112.2, timing_met=False), cosim)
    slow_clock = bench.clock_and_bound_targets(dict(report, clock_mhz=100.0), cosim)
    assert "NOT met" in late[0] and "NOT met" in slow_clock[0]
    over = VerifyReport("verilator", 1000, 0.96, 0.96, 1000, 1521.0, 1420.0, 0, 1.0, 1.0,
                        work_bound_cycles=1267.0)  # 1.2004x
    assert "NOT met" in bench.clock_and_bound_targets(report, over)[1]
    ice40 = dict(report, clock_mhz=50.25, fmax_mhz=51.1)
    assert "NOT met" not in bench.clock_and_bound_targets(ice40, cosim, bench.GOALS["digits"])[0]


def test_mnist_fast_digits_split_keeps_the_test_set_out():
    """The digits recipe is chosen and trained on the training set alone: the validation
    split is the last 269 training images, disjoint from the 450 test images, and training
    the recipe (one epoch here) runs on a dataset whose test arrays are gone, so it cannot
    have read them (the old --quick passed the test set as its validation data)."""
    import dataclasses

    from spikeforge.model.datasets import load_dataset

    bench = _benchmark("bench_mnist_fast")
    ds = load_dataset("digits")
    x_tr, y_tr, x_va, y_va = bench.validation_split(ds)
    assert (len(y_tr), len(y_va)) == (1078, 269)
    np.testing.assert_array_equal(np.concatenate([x_tr, x_va]), ds.train_x)
    test_rows = {row.tobytes() for row in ds.test_x}
    assert not test_rows & {row.tobytes() for row in np.concatenate([x_tr, x_va])}
    blind = dataclasses.replace(ds, test_x=None, test_y=None)  # any read of them fails
    recipe = dataclasses.replace(bench.RECIPES["digits"], epochs=1)
    model, line = bench.train_model(blind, recipe, progress=False)
    assert model["dataset"] == "digits" and model["recipe"]["hidden"] == 32
    assert "validation (269 images)" in line and "on 1,078 images" in line, line
    assert model["metrics"]["golden_validation_accuracy"] > 0.5


def test_mnist_fast_digits_targets_are_their_own():
    """A digits run is held to its own targets: the rate-coded demo's 95.56 %, < 50 us at
    Fmax, and every test image co-simulated -- not MNIST's 95 % and 1,000 images."""
    from spikeforge.flow import VerifyReport

    bench = _benchmark("bench_mnist_fast")
    goal = bench.GOALS["digits"]
    m = {"accuracy": 0.96, "test_images": 450, "cycles": 1100.0, "cycles_max": 1400}
    cosim = VerifyReport("verilator", 450, 0.96, 0.96, 450, 1100.0, 700.0, 0, 1.0, 1.0)
    lines = bench.targets(m, {"fmax_mhz": 40.0}, cosim, goal)
    assert ["NOT met" in line for line in lines] == [False] * 3, lines
    assert "95.56 %" in lines[0] and "35.0 us slowest" in lines[1] and "450 / 450 of 450" in lines[2]
    worse = bench.targets(dict(m, accuracy=0.955), {"fmax_mhz": 40.0}, cosim, goal)
    assert ["NOT met" in line for line in worse] == [True, False, False]  # 95.5 % passes MNIST's
    tie = bench.targets(dict(m, accuracy=430 / 450), {"fmax_mhz": 40.0}, cosim, goal)
    assert "NOT met" not in tie[0]  # the demo's own 430 / 450 = 95.56 % is met
    few = VerifyReport("verilator", 50, 0.96, 0.96, 50, 1100.0, 700.0, 0, 1.0, 1.0)
    assert "NOT met" in bench.targets(m, {"fmax_mhz": 40.0}, few, goal)[2]  # --quick: 50 of 450


@pytest.mark.slow
def test_mnist_fast_benchmark_quick(tmp_path):
    """bench_mnist_fast.py --quick: the digits recipe (64-32-10 latency LIF) trained on the
    training split, compiled and built for the iCEBreaker (about 2 min), 50 test images
    co-simulated bit-exact in Verilator, the row beside the published designs and the digits
    targets; run again, the build of the same plan is reused; with ``--seeds 1``, nextpnr's
    seed 1 on that build's netlist beside the default seed's Fmax."""
    out = _board_bench_built_then_reused("bench_mnist_fast.py", tmp_path,
                                         "| spikeforge 64-32-10 LIF, latency code on icebreaker |")
    assert "50/50" in out and "BIT-EXACT" in out, out
    # 50 of the 450 test images co-simulated: the all-images target is reported as not met
    assert "NOT met" in [l for l in out.splitlines() if "bit-exact" in l][-1]
    _seed_one_beside_the_default("bench_mnist_fast.py", tmp_path)


def _markdown_rows(text: str) -> list[list[str]]:
    """The cells of each line of a markdown table in ``text``, header first, rule left out."""
    return [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines()
            if line.startswith("| ")]


def _board_row(name: str, cycles: float, fmax: float, luts: int, pll: bool = False) -> dict:
    """A made-up build as bench_boards.measured_row makes it (no board build needed)."""
    return {"label": f"{name} (2 cores, 64-10 neurons)", "name": name, "board": "ulx3s-85f",
            "pll": pll, "clock": 47.5 if pll else 25.0,
            "clock_text": "PLL 47.50" if pll else "25 (board)", "luts": luts,
            "luts_available": 83640, "ffs": 900, "brams": 12, "brams_available": 208,
            "brams_est": 12, "luts_est": luts, "dsps": 2, "dsps_available": 156, "fmax": fmax,
            "constraint": 25.0, "met": True, "cycles": cycles, "bound": 1000.0,
            "work_bound": 800.0, "uart_per_s": 40.0, "build_s": 100.0}


#: made-up published designs: one with latency and logic, one without logic, one without
#: latency (left out of the table)
FAKE_PUBLISHED = [("Design A", None, 400.0, 500, "source A"),
                  ("Design B", "99 %", 80.0, None, "source B"),
                  ("Design C", 0.9, None, 700, "source C")]


def test_boards_main_table_has_both_bounds():
    """bench_boards' main table: the bound with the cycles' ratio to it, and the work bound
    (issue 10's yardstick) with its own ratio; latency and images/s at Fmax."""
    bench = _benchmark("bench_boards")
    head, row = _markdown_rows(bench.main_table([_board_row("mnist", 1200.0, 60.0, 4000)]))
    cells = dict(zip(head, row))
    assert cells["bound (cycles / bound)"] == "1000 (1.20x)"
    assert cells["work bound"] == "800" and cells["cycles / work bound"] == "1.50x"
    assert cells["latency µs at Fmax"] == "20.0" and cells["inferences/s at Fmax"] == "50,000"
    assert cells["inferences/s per 1,000 LCs"] == "12,500"


def test_boards_published_table_ratios():
    """Each MNIST row of the run gets its two ratio columns against every published design
    with a latency: latency theirs / ours and images/s per 1,000 LCs ours / theirs ("-"
    where their logic is not known); rows that are not MNIST stay out."""
    bench = _benchmark("bench_boards")
    rows = [_board_row("mnist", 2000.0, 50.0, 10000),  # 40 us, 25,000/s, 2,500 per 1,000 LCs
            _board_row("mnist16", 1000.0, 50.0, 20000, pll=True),  # 20 us, 2,500 per 1,000
            _board_row("digits", 500.0, 50.0, 5000)]
    text = bench.published_table(rows, FAKE_PUBLISHED)
    head, *body = _markdown_rows(text)
    table = {r[0]: dict(zip(head, r)) for r in body}
    assert set(table) == {"spikeforge mnist (2 cores, 64-10 neurons) on ulx3s-85f",
                          "spikeforge mnist16 (2 cores, 64-10 neurons) on ulx3s-85f",
                          "Design A", "Design B"}, text
    a, b = table["Design A"], table["Design B"]
    # A: 400 us, 2,500/s, 500 LCs -> 5,000 images/s per 1,000 LCs
    assert [a["latency µs (ours at Fmax)"], a["images/s"], a["images/s per 1,000 LCs"],
            a["source"]] == ["400.0", "2,500", "5,000", "source A"]
    assert a["latency theirs / ours: mnist"] == "10.00x"
    assert a["per 1,000 LCs ours / theirs: mnist"] == "0.50x"
    assert a["latency theirs / ours: mnist16 at PLL 47.50 MHz"] == "20.00x"
    assert a["per 1,000 LCs ours / theirs: mnist16 at PLL 47.50 MHz"] == "0.50x"
    assert b["latency theirs / ours: mnist"] == "2.00x" and b["logic cells"] == "n/a"
    assert b["per 1,000 LCs ours / theirs: mnist"] == "-"
    ours = table["spikeforge mnist (2 cores, 64-10 neurons) on ulx3s-85f"]
    assert ours["latency µs (ours at Fmax)"] == "40.0"
    assert ours["images/s per 1,000 LCs"] == "2,500"
    assert "need an MNIST build" not in text


def test_boards_published_table_without_mnist():
    """A run without an MNIST design: every published design with a latency is listed with
    its figures (the real benchmarks/published.py, the one bench_ttfs_board.py reads), no
    ratio columns, and one line saying the ratios need an MNIST build."""
    bench = _benchmark("bench_boards")
    bench_ttfs_board, published = _benchmark("bench_ttfs_board"), _benchmark("published")
    assert bench_ttfs_board.PUBLISHED is published.PUBLISHED is bench.PUBLISHED
    text = bench.published_table([_board_row("core16x32", 500.0, 50.0, 3000)])
    head, *body = _markdown_rows(text)
    with_latency = [p for p in published.PUBLISHED if p[2] is not None]
    assert len(with_latency) < len(published.PUBLISHED)  # the prototype gives none
    assert [r[0] for r in body] == [p[0] for p in with_latency], text
    assert [r[1] for r in body] == [f"{p[2]:.1f}" for p in with_latency]
    assert [r[-1] for r in body] == [p[4] for p in with_latency]
    assert not [h for h in head if "theirs" in h], head
    notes = [line for line in text.splitlines() if "need an MNIST build" in line]
    assert len(notes) == 1 and "--only mnist" in notes[0], text


def test_boards_cycles_per_inference_has_the_work_bound():
    """cycles_per_inference on a small core (no build): the mean cycles, the mean bound and
    the mean work bound, in that order, each bound below what it bounds."""
    from spikeforge.boards.build import resolve_design

    bench = _benchmark("bench_boards")
    name, artifact = resolve_design("core:8x16")
    counts = bench.design_inputs(name, artifact.network, images=4)
    cycles, bound, work_bound = bench.cycles_per_inference(artifact, counts)
    assert 0 < work_bound < bound <= cycles


def test_boards_pll_at_takes_a_clock_per_family_and_names_a_bad_item():
    """--pll-at: family=MHz pairs; an unknown family, a clock below the PLL's lowest output
    or no number is refused with the item and what is expected (one line, through argparse)."""
    bench = _benchmark("bench_boards")
    assert bench.pll_targets("ecp5=120,ice40=50") == {"ecp5": 120.0, "ice40": 50.0}
    assert bench.pll_targets("ecp5=120") == {"ecp5": 120.0}
    for bad in ("xc7=100", "ice40=12", "ecp5=fast", "ecp5"):
        with pytest.raises(Exception, match=f"'{bad}': expected FAMILY=MHZ") as error:
            bench.pll_targets(bad)
        assert type(error.value).__name__ == "ArgumentTypeError"
    done = subprocess.run([sys.executable, "benchmarks/bench_boards.py", "--pll-at", "ice40=1"],
                          capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    assert done.returncode == 2 and done.stderr.strip().splitlines()[-1].endswith(
        "'ice40=1': expected FAMILY=MHZ, FAMILY one of ice40, ecp5 and MHZ at least the "
        "PLL's lowest output (ice40 16, ecp5 10 MHz)"), done.stderr


def test_boards_seed_row_counts_the_default_seed_with_the_others():
    """--seeds: the default seed's Fmax, each seed's, the mean and range over all of them,
    and how many meet the clock (a PLL row at 47.5 MHz), a seed without a placement shown
    and left out of them; a negative count, and a board bench_boards does not build, are
    refused."""
    bench = _benchmark("bench_boards")
    row = bench.seed_row(_board_row("digits-l2", 5000.0, 46.0, 4700, pll=True),
                         {1: 48.0, 2: 44.5, 3: None, 4: 50.5})
    assert row[2:] == ["PLL 47.50", "46.0", "48.0 44.5 failed 50.5", "47.2", "44.5-50.5",
                       "2 of 4"]
    done = subprocess.run([sys.executable, "benchmarks/bench_boards.py", "--seeds", "-1"],
                          capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    assert done.returncode == 2 and done.stderr.strip().splitlines()[-1].endswith(
        "--seeds: must be 0 or more, got -1"), done.stderr
    done = subprocess.run([sys.executable, "benchmarks/bench_boards.py", "--boards",
                           "icebreaker,arty"], capture_output=True, text=True,
                          cwd=Path(__file__).parent.parent)
    assert done.returncode == 2 and done.stderr.strip().splitlines()[-1].endswith(
        "--boards: arty: expected icebreaker or ulx3s-85f"), done.stderr


def test_boards_only_names_what_it_cannot_build():
    """--only: an unknown design is refused with the names it knows; a design that is not
    built on the boards asked for (digits-l2 is an iCE40 design) ends the run with exit 2
    and its name, before any build, instead of an empty table."""
    root = Path(__file__).parent.parent

    def bench(*args):
        return subprocess.run([sys.executable, "benchmarks/bench_boards.py", *args],
                              capture_output=True, text=True, cwd=root)

    done = bench("--only", "digits,digits-l3")
    assert done.returncode == 2 and done.stderr.strip().splitlines()[-1].endswith(
        "--only: digits-l3: expected some of core16x32, core64x64, digits, digits-l2, mnist, "
        "mnist16, mnist-l82"), done.stderr
    done = bench("--only", "digits-l2", "--boards", "ulx3s-85f")
    assert done.returncode == 2 and done.stderr.strip().splitlines()[-1].startswith(
        "bench_boards: digits-l2: not built on the boards asked for"), done.stderr
    assert not done.stdout, done.stdout


def test_double_buffer_benchmark_quick(tmp_path):
    """bench_double_buffer.py on a small compiled design: the design and its double-buffered
    twin co-simulated on 6 images, both bit-exact, the twin in fewer cycles, the same work
    bound, in one table row."""
    from spikeforge import flow
    from spikeforge.compiler.artifact import load_artifact
    from tests.util import random_inputs, random_network

    network = random_network(31, n_layers=2, max_size=12)
    counts = random_inputs(31, network, images=6, ticks=8, p=0.4)
    flow.compile_network(network, tmp_path / "design", counts, np.zeros(6, dtype=int),
                         neurons_per_core=4)
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_double_buffer.py"),
                          str(tmp_path / "design"), "--images", "6", "--jobs", "1"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert load_artifact(tmp_path / "design.double").system.double_buffer
    row = next(line for line in run.stdout.splitlines()
               if line.startswith(f"| {tmp_path / 'design'} |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    single, double, bound = (float(c) for c in cells[3:6])
    assert cells[-1] == "6 / 6" and double < single and bound > 0, row
