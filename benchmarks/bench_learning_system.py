"""The on-chip learning benchmark table (issue 13, point 5): with and without the engine.

    .venv/bin/python benchmarks/bench_learning_system.py            # everything (~30 min)
    .venv/bin/python benchmarks/bench_learning_system.py --quick    # no builds, a small run
    .venv/bin/python benchmarks/bench_learning_system.py --frac-bits 0,8 --json out.json

One run, digits 64-32-10 (the random 8-bit start of
:func:`~spikeforge.model.popcount_rule.digits_setup`, K = 32, T = 130 ticks, one core per
layer, :func:`~spikeforge.compiler.map.plan_network`), printed as one markdown table with the
published anchors (SPOON, ODIN: :data:`bench_learning_engine.ANCHORS`) and a second table of
the weights' fraction bits:

* **With and without the engine**: the board top of the system for the ULX3S (ECP5-85F),
  built as ``benchmarks/bench_boards.py --pll-at ecp5=120`` builds it
  (:func:`spikeforge.boards.build.build_board`: UART, protocol engine, system, LEDs; the PLL
  at 120 MHz, nextpnr's options of the board builds), once inference-only and once with the
  learning engine (``learning=``: the same plan; the board then also speaks TRAIN, LEARN,
  STORE): logic cells, FFs, block RAM, DSP, Fmax and the overhead in %.
* **Training samples per second at Fmax**: cycles per training sample = a training
  inference (``train``: every tick run; the system cycle model,
  :func:`~spikeforge.cosim.system_cosim.expected_run`, exact against the RTL) + 2 (the learn
  command's handshake at D + 1, ``learn_busy`` from D + 2: cosim/learn_system_tb.py) + the
  update (:func:`spikeforge.hdl.learning.update_cycles`); the next training inference starts
  when ``learn_busy`` falls. Inferences per second as bench_boards.py counts them
  (Fmax / cycles of an inference that stops at its decision). Both on the first
  ``--images`` test images with the weights the online rule learned.
* **Accuracy** (the split of docs/learning.md section 3: the first 1,078 training samples
  train, the last 269 validate, the 450 test samples are run once per row, at the end):
  exact-gradient training (:func:`~spikeforge.model.ttfs.train_ttfs`, validation per epoch,
  then the 8-bit golden model), the Python rule as documented (batch 16), and the rule online
  (batch 1, the chip's schedule): the learning engine is co-simulated bit-exactly against it
  (docs/learning.md section 6), and this run checks it again: the engine's Verilog in Icarus
  (:func:`~spikeforge.cosim.learn_cosim.run_learning_cosim`) over the first ``--cosim``
  samples of the same online schedule, every stored weight compared after every sample.
* **Fraction bits** (``--frac-bits``): per ``F``, the rule's shifts that keep each step in
  weight LSBs (:func:`rule_for_frac_bits`: the shift is ``base + F - 8``; below 0 it is 0
  and the step is larger by the factor the table gives), the stores' bits, the engine alone
  built out of context for the ECP5-85F (:func:`bench_learning_engine.build`) and the online
  rule's validation accuracy after the same schedule (no test set).

The settings are the documented ones (docs/learning.md sections 1, 3, 5); nothing is chosen
here. ``--quick`` builds nothing (no Yosys or nextpnr) and runs the accuracy rows on
``--max-train`` 200 samples for one epoch, the cycles on 2 images and the co-simulation on 2
samples (when Icarus is there).
"""

from __future__ import annotations

import argparse
import json
import platform as host_platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_learning_engine as engine_bench  # noqa: E402  (the engine builds, anchors)

REPO = Path(__file__).resolve().parents[1]
HIDDEN, K, BOARD, PLL_MHZ = 32, 32, "ulx3s-85f", 120.0
#: the step schedule of the documented runs (halve every 3 epochs)
HALVE_EVERY = 3
#: the shifts at frac_bits 8 (docs/learning.md): out, hidden, revive
BASE_SHIFTS = {"shift_out": 3, "shift_hidden": 1, "shift_revive": 0}
BASE_FRAC = 8

log, table = engine_bench.log, engine_bench.table


class BenchError(Exception):
    """A bad command-line value (printed as one line)."""


# -- the rule at F fraction bits ----------------------------------------------------------------

def rule_for_frac_bits(frac_bits: int) -> tuple[dict, dict]:
    """``(rule, factors)``: the digits rule at ``frac_bits`` fraction bits with each step the
    same number of weight LSBs as at 8 (shift ``s + F - 8``) where that shift is not negative;
    else the shift is 0 and ``factors[name]`` says how many times larger the step is."""
    if isinstance(frac_bits, bool) or not isinstance(frac_bits, int) or not 0 <= frac_bits <= 24:
        raise BenchError(f"--frac-bits: each must be an integer in 0..24, got {frac_bits!r}")
    rule, factors = dict(engine_bench.DIGITS_RULE, frac_bits=frac_bits), {}
    for name, base in BASE_SHIFTS.items():
        want = base + frac_bits - BASE_FRAC
        rule[name] = max(0, want)
        factors[name] = 2 ** (rule[name] - want)
    return rule, factors


def parse_frac_bits(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise BenchError(f"--frac-bits: expected integers separated by commas, got {text!r}") \
            from None
    if not values:
        raise BenchError("--frac-bits: give at least one value (e.g. 0,4,8,11)")
    for f in values:
        rule_for_frac_bits(f)
    return sorted(set(values))


# -- data, network, plan ------------------------------------------------------------------------

class Digits:
    """The data split (section 3), the random 8-bit start and its plan."""

    def __init__(self, max_train: int | None):
        from bench_learning import Split

        from spikeforge.model.datasets import load_dataset
        from spikeforge.model.popcount_rule import digits_setup

        self.ds = load_dataset("digits")
        self.ticks, _, _, self.network = digits_setup(self.ds, hidden=HIDDEN, ticks_per_tau=K)
        self.split = Split(self.ds, K, self.ticks, 0.2, max_train)

    def artifact(self, network):
        from spikeforge.compiler.artifact import Artifact
        from spikeforge.compiler.map import plan_network
        from spikeforge.ir.system import SystemConfig

        return Artifact(network, plan_network(network), SystemConfig(network.decision))


# -- accuracy -----------------------------------------------------------------------------------

def golden(network, digits: Digits, which: str) -> float:
    from spikeforge.model.popcount_rule import golden_accuracy

    s = digits.split
    x, y = (s.x_val, s.y_val) if which == "val" else (s.x_te, s.y_te)
    return golden_accuracy(network, s.fn(x), y, digits.ticks)


def exact_row(digits: Digits, epochs: int) -> dict:
    from spikeforge.model.ttfs import train_ttfs
    from spikeforge.model.ttfs_discrete import integer_network

    s = digits.split
    r = train_ttfs(digits.ds, (HIDDEN,), epochs, seed=0, progress=False,
                   max_train=len(s.y_tr), validation=(s.x_val, s.y_val))
    net = integer_network(r.net, K).network
    return {"val_curve": [h[2] for h in r.history], "val": golden(net, digits, "val"),
            "test": golden(net, digits, "test"), "seconds": r.seconds, "epochs": epochs}


def rule_row(digits: Digits, epochs: int, batch_size: int, rule: dict, test: bool) -> dict:
    """The rule from the random start over ``epochs`` (validation accuracy per epoch); the
    test set once at the end if ``test``. ``learner``: the rule after its schedule."""
    from spikeforge.model.popcount_rule import train_popcount

    s = digits.split
    r = train_popcount(digits.network, s.fn(s.x_tr), s.y_tr, s.fn(s.x_val), s.y_val,
                       digits.ticks, epochs, batch_size, 0, False, HALVE_EVERY, **rule)
    out = {"val_curve": [h[1] for h in r.history], "val": r.history[-1][1],
           "train": r.history[-1][0], "seconds": r.seconds, "epochs": epochs,
           "batch_size": batch_size, "learner": r.learner}
    if test:
        out["test"] = golden(r.learner.current_network(), digits, "test")
    return out


def chosen_row(frac: dict, learners: dict, digits: Digits) -> dict:
    """The online rule at the fraction bits (and the steps that come with them) of the best
    validation accuracy of the ``--frac-bits`` runs (ties: fewer bits, the smaller store),
    run once on the test set: the chip's rule with a setting chosen on validation only."""
    f = min(frac, key=lambda k: (-frac[k]["val"], k))
    net = learners[f].current_network()
    return {"frac_bits": f, "val": frac[f]["val"], "test": golden(net, digits, "test"),
            "candidates": sorted(frac)}


def online_schedule(n_train: int, count: int) -> np.ndarray:
    """The first ``count`` training indices the online rule sees (epoch 0 of
    :func:`~spikeforge.model.popcount_rule.train_popcount`, seed 0, ``lr_decay`` 0)."""
    return np.random.default_rng(0).permutation(n_train)[:count]


def cosim_check(digits: Digits, samples: int) -> dict:
    """The engine's Verilog in Icarus against the rule over the first ``samples`` of the
    online schedule (no host writes: exactly the rule's run). Raises on a mismatch."""
    from spikeforge.cosim.learn_cosim import run_learning_cosim
    from spikeforge.sim.learning import PopcountLearner

    s = digits.split
    idx = online_schedule(len(s.y_tr), samples)
    learner = PopcountLearner(digits.network, digits.ticks, **engine_bench.DIGITS_RULE)
    t0 = time.perf_counter()
    result = run_learning_cosim(learner, s.fn(s.x_tr)(idx), s.y_tr[idx], [0] * samples,
                                "icarus", host_writes=0)
    return {**result.report, "seconds": time.perf_counter() - t0}


# -- cycles -------------------------------------------------------------------------------------

def cycles(artifact, config, counts: np.ndarray, margin: int) -> dict:
    """Mean cycles per sample on ``counts``: a training inference, the update, their sum
    with the 2 handshake cycles; and an inference that stops at its decision."""
    from spikeforge.cosim.system_cosim import expected_run
    from spikeforge.hdl.learning import update_cycles
    from spikeforge.sim.learning import touched_rows

    net, plan, system = artifact.network, artifact.plan, artifact.system
    trace, timings, _ = expected_run(net, plan, counts, system=system, train=True)
    train = np.array([t.cycles for t in timings])
    update = np.array([update_cycles(config, int(k))
                       for k in touched_rows(counts, trace, margin)])
    _, plain, _ = expected_run(net, plan, counts, system=system)
    infer = np.array([t.cycles for t in plain])
    per_sample = train + 2 + update
    return {"images": len(counts), "train_inference": float(train.mean()),
            "train_range": [int(train.min()), int(train.max())],
            "update": float(update.mean()), "handshake": 2,
            "per_training_sample": float(per_sample.mean()),
            "inference": float(infer.mean()),
            "inference_range": [int(infer.min()), int(infer.max())]}


# -- builds -------------------------------------------------------------------------------------

def board_build(artifact, config, out: Path, reuse: bool, board: str = BOARD,
                clk_mhz: float = PLL_MHZ) -> dict:
    """The board top of ``board`` (the PLL at ``clk_mhz``), with the engine if ``config``.
    A build that the fit check refuses, or that nextpnr cannot place for want of logic
    cells: ``fits`` False and why."""
    import re

    from spikeforge.boards.build import build_board
    from spikeforge.boards.fit import estimate
    from spikeforge.ir.errors import ConfigError, SpikeforgeError

    name = "digits-64-32-10" + ("-learning" if config is not None else "")
    t0, started = time.perf_counter(), time.time()
    try:
        report = build_board((name, artifact), board, out, clk_mhz=clk_mhz,
                             allow_timing_fail=True, reuse=reuse, learning=config)
    except ConfigError:  # refused before the tools run, if the fit check says so
        est = estimate(artifact.plan, board, decision=artifact.network.decision,
                       learning=config)
        if est.fits:
            raise
        log(f"{board} build of {name}: refused by the fit check ({'; '.join(est.problems)})")
        return {"fits": False, "why": f"fit check: {'; '.join(est.problems)}",
                "wall_s": time.perf_counter() - t0}
    except SpikeforgeError as error:
        tim = out / "top.tim"  # nextpnr's log of this build (not one left by an earlier one)
        log_text = (tim.read_text() if tim.exists() and tim.stat().st_mtime >= started
                    else "")
        over = [(bel, int(used), int(avail)) for bel, used, avail
                in re.findall(r"(\w+):\s+(\d+)/\s*(\d+)\s+\d+%", log_text)
                if int(used) > int(avail)]
        if not over:
            raise
        log(f"{board} build of {name}: does not fit ({str(error).splitlines()[0]})")
        return {"fits": False, "why": "; ".join(f"{u:,}/{a:,} {bel}" for bel, u, a in over),
                "wall_s": time.perf_counter() - t0}
    u = report["utilization"]
    return {"fits": True, "lcs": u["luts"]["used"], "lcs_available": u["luts"]["available"],
            "lut4": u["luts"].get("lut4"), "ffs": u["ffs"]["used"], "brams": u["brams"]["used"],
            "brams_available": u["brams"]["available"], "dsps": u["dsps"]["used"],
            "fmax": report["fmax_mhz"], "clock": report["clock_mhz"],
            "met": report["timing_met"], "build_s": report.get("build_s"),
            "reused": bool(report.get("reused")), "wall_s": time.perf_counter() - t0}


def engine_build(digits: Digits, frac_bits: int, out: Path, reuse: bool, timeout) -> dict:
    from spikeforge.sim.learning import PopcountLearner

    rule, _ = rule_for_frac_bits(frac_bits)
    setup = engine_bench.Setup(f"digits 64-{HIDDEN}-10 F={frac_bits}",
                               PopcountLearner(digits.network, digits.ticks, **rule),
                               digits.ticks, None, None)
    b = engine_bench.build(setup, "ECP5-85F", out / f"engine-F{frac_bits}", reuse, timeout)
    keep = ("fits", "why", "lcs", "ffs", "brams", "dsps", "fmax_mhz", "reused", "synth_s",
            "pnr_s")
    return {k: b[k] for k in keep if k in b}


# -- the tables ---------------------------------------------------------------------------------

def pct(new: float, old: float) -> str:
    return f"{100 * (new - old) / old:+.1f} %" if old else "-"


MAIN_HEADER = ["row", "LCs", "FFs", "BRAM", "DSP", "Fmax MHz (PLL: ECP5 120, iCE40 50)",
               "cycles / sample", "samples/s at Fmax", "digits validation", "digits test",
               "notes / source"]


def _acc(row: dict | None, key: str) -> str:
    return f"{row[key]:.4f}" if row and key in row else "-"


def _build_cells(b):
    if b is None:
        return ["not built"] + ["-"] * 4
    if not b.get("fits", True):
        return [f"**does not fit**: {b['why']}"] + ["-"] * 4
    return [f"{b['lcs']:,}", f"{b['ffs']:,}", f"{b['brams']}/{b['brams_available']}",
            f"{b['dsps']}", f"{b['fmax']:.1f}" + ("" if b["met"] else " (not met)")]


def _overhead_row(label: str, plain: dict, learn: dict, online, exact) -> list:
    return [label, f"{learn['lcs'] - plain['lcs']:+,} ({pct(learn['lcs'], plain['lcs'])})",
            f"{learn['ffs'] - plain['ffs']:+,} ({pct(learn['ffs'], plain['ffs'])})",
            f"{learn['brams'] - plain['brams']:+} ({pct(learn['brams'], plain['brams'])})",
            f"{learn['dsps'] - plain['dsps']:+}", f"{pct(learn['fmax'], plain['fmax'])}", "-",
            "-", f"{online['val'] - exact['val']:+.4f} vs exact" if online and exact else "-",
            f"{online['test'] - exact['test']:+.4f} vs exact" if online and exact else "-",
            "with vs without, same plan and board flow (LCs: the logic cells nextpnr places, "
            "the area figure)"]


def main_table(res: dict) -> str:
    rows = []
    cyc, online, batch, exact = (res.get(k) for k in ("cycles", "online", "batch16", "exact"))

    def rate(b, c):
        return f"{b['fmax'] * 1e6 / c:,.0f}" if b and b.get("fits", True) and c else "-"

    inf = cyc["inference"] if cyc else None
    per = cyc["per_training_sample"] if cyc else None
    train_text = (f"{per:,.0f} = {cyc['train_inference']:,.0f} + 2 + {cyc['update']:,.0f}"
                  if per else "-")
    boards = [("ECP5-85F (ULX3S, PLL 120): ", "board_plain", "board_learning",
               "engine's overhead (ECP5-85F)")]
    if "ice40_plain" in res or "ice40_learning" in res:
        boards.append(("iCE40UP5K (iCEBreaker, PLL 50): ", "ice40_plain", "ice40_learning",
                       "engine's overhead (iCE40UP5K)"))
    for prefix, plain_key, learn_key, overhead in boards:
        plain, learn = res.get(plain_key), res.get(learn_key)
        rows.append([f"{prefix}system, inference only"] + _build_cells(plain)
                    + [f"{inf:,.0f} (inference)" if inf else "-",
                       f"{rate(plain, inf)} inferences/s", _acc(exact, "val"),
                       _acc(exact, "test"), "board top, this run; accuracy: the exact-gradient "
                       "weights loaded (8-bit golden)"])
        rows.append([f"{prefix}system with the learning engine (on-chip learning, online)"]
                    + _build_cells(learn)
                    + [train_text, f"{rate(learn, per)} training samples/s"
                       + (f"; {rate(learn, inf)} inferences/s" if inf else ""),
                       _acc(online, "val"), _acc(online, "test"),
                       "board top, this run; accuracy: the online rule (batch 1), which the "
                       "engine equals bit for bit (docs/learning.md section 6: 750 samples "
                       "engine, 500 system; this run: "
                       + (f"{res['cosim']['samples']} samples in Icarus, stores equal)"
                          if res.get("cosim") else "not re-checked)")])
        if plain and learn and plain.get("fits", True) and learn.get("fits", True):
            rows.append(_overhead_row(overhead, plain, learn, online, exact))
    chosen = res.get("chosen")
    if chosen:
        rule, _ = rule_for_frac_bits(chosen["frac_bits"])
        shifts = " / ".join(str(rule[k]) for k in BASE_SHIFTS)
        rows.append([f"online rule (the chip), F = {chosen['frac_bits']} chosen on validation",
                     "-", "-", "-", "-", "-", "-", "-", _acc(chosen, "val"), _acc(chosen, "test"),
                     f"the best validation of F in {chosen['candidates']} (shifts out / hidden "
                     f"/ revive {shifts}); test run once"])
    rows.append(["Python rule, batch 16 (as documented)", "-", "-", "-", "-", "-", "-", "-",
                 _acc(batch, "val"), _acc(batch, "test"),
                 f"{batch['epochs']} epochs, halving every {HALVE_EVERY}" if batch else ""])
    rows.append(["exact gradient (Adam, float -> 8-bit golden)", "-", "-", "-", "-", "-", "-",
                 "-", _acc(exact, "val"), _acc(exact, "test"),
                 f"{exact['epochs']} epochs, off chip" if exact else ""])
    for work, figures, source in engine_bench.ANCHORS:
        rows.append([work] + ["-"] * 9 + [f"{figures} ({source})"])
    return table(MAIN_HEADER, rows)


FRAC_HEADER = ["F (fraction bits)", "shifts out / hidden / revive", "steps vs F = 8",
               "store bits ((8 + F) x 2,368)", "engine LCs", "FFs", "BRAM (DP16KD)",
               "Fmax MHz", "online rule, validation"]


def frac_table(res: dict) -> str:
    rows = []
    for f, item in sorted(res.get("frac", {}).items()):
        rule, factors = rule_for_frac_bits(int(f))
        shifts = " / ".join(str(rule[k]) for k in BASE_SHIFTS)
        steps = ", ".join(f"{k.removeprefix('shift_')} x{v}" for k, v in factors.items()
                          if v != 1) or "the same"
        words = HIDDEN * (64 + 10)
        b = item.get("build")
        cells = ["-"] * 4 if not b or not b.get("fits") else \
            [f"{b['lcs']:,}", f"{b['ffs']:,}", f"{b['brams']}", f"{b['fmax_mhz']:.1f}"]
        if b and not b.get("fits"):
            cells[0] = "not built"
        val = item.get("val")
        rows.append([str(f), shifts, steps, f"{(8 + int(f)) * words:,}"] + cells
                    + [f"{val:.4f}" if val is not None else "-"])
    return table(FRAC_HEADER, rows)


# -- main ---------------------------------------------------------------------------------------

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="no builds; 200 training samples, 1 epoch, 2 images, 2 samples "
                             "co-simulated")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "bench_learning_system")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse finished builds in --out of the same design and options")
    parser.add_argument("--no-build", action="store_true", help="no Yosys / nextpnr runs")
    parser.add_argument("--ice40", action="store_true",
                        help="also the iCEBreaker (iCE40UP5K) board tops, PLL at 50 MHz")
    parser.add_argument("--frac-bits", default="0,4,8,11", metavar="F,...",
                        help="fraction bits of the cost table (default %(default)s)")
    parser.add_argument("--exact-epochs", type=int, default=15)
    parser.add_argument("--rule-epochs", type=int, default=12,
                        help="epochs of the batch-16 rule (default %(default)s, section 3)")
    parser.add_argument("--online-epochs", type=int, default=10,
                        help="epochs of the online rule (default %(default)s, section 5)")
    parser.add_argument("--images", type=int, default=20,
                        help="test images of the cycle means (default %(default)s)")
    parser.add_argument("--cosim", type=int, default=16,
                        help="online samples co-simulated in Icarus (0: none; default "
                             "%(default)s)")
    parser.add_argument("--max-train", type=int, default=None,
                        help="training samples before the split (default: all 1,347)")
    parser.add_argument("--timeout", type=float, default=1800, metavar="SECONDS",
                        help="longest Yosys or nextpnr run of an engine build")
    args = parser.parse_args(argv)
    try:
        fracs = parse_frac_bits(args.frac_bits)
        for name in ("exact_epochs", "rule_epochs", "online_epochs", "images"):
            if getattr(args, name) < 1:
                raise BenchError(f"--{name.replace('_', '-')}: must be at least 1")
        if args.cosim < 0:
            raise BenchError("--cosim: must be 0 or more")
        if args.max_train is not None and not 10 <= args.max_train <= 1347:
            raise BenchError("--max-train: must be in 10..1347 (digits has 1,347)")
    except BenchError as error:  # one line, no traceback
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    if args.quick:
        args.no_build = True
        args.exact_epochs = args.rule_epochs = args.online_epochs = 1
        args.images, args.cosim = 2, min(args.cosim, 2)
        args.max_train = args.max_train or 200
    from spikeforge.boards.build import toolchain_environment
    from spikeforge.ir.errors import SpikeforgeError

    t_all, res, times = time.perf_counter(), {"frac": {}}, {}
    digits = Digits(args.max_train)
    config0 = None

    def timed(key, fn, *a):
        t0 = time.perf_counter()
        value = fn(*a)
        times[key] = time.perf_counter() - t0
        log(f"{key}: {times[key]:.0f} s")
        return value

    from spikeforge.sim.learning import PopcountLearner

    config0 = PopcountLearner(digits.network, digits.ticks,
                              **engine_bench.DIGITS_RULE).hardware_config()
    start_artifact = digits.artifact(digits.network)
    if not args.no_build:
        try:
            toolchain_environment(["yosys", "nextpnr-ecp5"]
                                  + (["nextpnr-ice40", "icepack"] if args.ice40 else []))
        except SpikeforgeError as error:
            log(f"no builds: {error}")
            args.no_build = True
    if not args.no_build:
        res["board_plain"] = timed("board build, inference only", board_build, start_artifact,
                                   None, args.out / "board-plain", args.reuse)
        res["board_learning"] = timed("board build, with the engine", board_build,
                                      start_artifact, config0, args.out / "board-learning",
                                      args.reuse)
        if args.ice40:
            for key, config in (("ice40_plain", None), ("ice40_learning", config0)):
                res[key] = timed(f"iCE40 board build, {key}", board_build, start_artifact,
                                 config, args.out / key.replace("_", "-"), args.reuse,
                                 "icebreaker", 50.0)
        for f in fracs:
            res["frac"].setdefault(f, {})["build"] = timed(
                f"engine build F={f}", engine_build, digits, f, args.out, args.reuse,
                args.timeout)
    res["exact"] = timed("exact gradient", exact_row, digits, args.exact_epochs)
    res["batch16"] = timed("rule, batch 16", rule_row, digits, args.rule_epochs, 16,
                           engine_bench.DIGITS_RULE, True)
    res["online"] = timed("rule, online", rule_row, digits, args.online_epochs, 1,
                          engine_bench.DIGITS_RULE, True)
    learners = {}
    for f in fracs:
        if f == BASE_FRAC:
            res["frac"].setdefault(f, {})["val"] = res["online"]["val"]
            learners[f] = res["online"]["learner"]
            continue
        rule, _ = rule_for_frac_bits(f)
        row = timed(f"rule, online, F={f}", rule_row, digits, args.online_epochs, 1, rule, False)
        res["frac"].setdefault(f, {})["val"] = row["val"]
        learners[f] = row["learner"]
    res["chosen"] = chosen_row(res["frac"], learners, digits)
    learned = res["online"]["learner"]
    s = digits.split
    res["cycles"] = timed("cycles", cycles, digits.artifact(learned.current_network()),
                          learned.hardware_config(), s.fn(s.x_te)(np.arange(args.images)),
                          learned.margin)
    if args.cosim:
        from spikeforge.cosim.runner import SimulatorMissing

        try:  # a mismatch raises CosimFailure and fails the run
            res["cosim"] = timed("co-simulation", cosim_check, digits, args.cosim)
        except SimulatorMissing as error:
            log(f"co-simulation not run: {error}")
    print(f"# On-chip learning, with and without the engine (digits 64-{HIDDEN}-10; "
          f"{host_platform.machine()}, {time.strftime('%Y-%m-%d %H:%M')})\n")
    print(f"Engine: {engine_bench.engine_version()}. Split: {len(s.y_tr)} train, "
          f"{len(s.y_val)} validation, {len(s.y_te)} test. Rule: "
          + ", ".join(f"{k}={v}" for k, v in engine_bench.DIGITS_RULE.items())
          + f", halving every {HALVE_EVERY} epochs; exact {args.exact_epochs} epochs, "
          f"batch 16 {args.rule_epochs} epochs, online {args.online_epochs} epochs.\n")
    print(main_table(res))
    c = res["cycles"]
    print(f"\nCycles: means over the first {c['images']} test images with the online rule's "
          f"weights: training inference {c['train_inference']:,.1f} "
          f"({c['train_range'][0]:,}-{c['train_range'][1]:,}), update {c['update']:,.0f}, "
          f"handshake 2; inference (stops at the decision) {c['inference']:,.1f} "
          f"({c['inference_range'][0]:,}-{c['inference_range'][1]:,}).")
    if res.get("cosim"):
        r = res["cosim"]
        print(f"Co-simulation (Icarus, engine alone): {r.get('samples')} online samples, "
              f"{r['samples_checked']} checked, {r['weights_compared']:,} store words compared, "
              f"{r['update_cycles']:,} update cycles, mismatch: {r['mismatch']}; "
              f"{r['seconds']:.0f} s.")
    print("\n## The weights' fraction bits and their cost (engine alone, out of context, "
          "ECP5-85F; online rule, validation only)\n")
    print(frac_table(res))
    print(f"\nTotal {time.perf_counter() - t_all:.0f} s; "
          + "; ".join(f"{k} {v:.0f} s" for k, v in times.items()))
    if args.json:
        for key in ("batch16", "online"):
            res[key] = {k: v for k, v in res[key].items() if k != "learner"}
        args.json.write_text(json.dumps({**res, "times": times}, indent=2,
                                        default=engine_bench._jsonable) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
