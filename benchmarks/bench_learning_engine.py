"""The on-chip learning engine alone: its logic, block RAM, Fmax and updates per second.

    .venv/bin/python benchmarks/bench_learning_engine.py            # digits H=32, H=100, MNIST
    .venv/bin/python benchmarks/bench_learning_engine.py --quick    # digits H=32, ECP5 only
    .venv/bin/python benchmarks/bench_learning_engine.py --no-mnist --json engine.json

For each configuration, :class:`spikeforge.hdl.learning.LearningEngine` (the popcount rule of
:mod:`spikeforge.sim.learning`, digits settings: ``frac_bits=8, shift_out=3,
shift_hidden=1, shift_revive=0, ramp=32, margin=8``) of the random 8-bit starting network of
:func:`~spikeforge.model.popcount_rule.digits_setup` is emitted as Verilog
(:func:`spikeforge.hdl.verilog.learning_verilog`, module ``spikeforge_learning``) and built
out of context, with nothing around it:

* **ECP5-85F** (``--85k --package CABGA381 --speed 6``): ``synth_ecp5`` and
  ``nextpnr-ecp5 --out-of-context`` (no IO buffers, the engine's ports stay internal nets
  and are not timed, the clock is routed as an ordinary net, not on a global network);
* **ECP5-85F (IO wrapper)**, the 64-32-10 engine only: the same engine in the thin wrapper of
  the iCE40 build below, without ``--out-of-context``: the paths into and out of the
  engine's ports (the weight-change port is combinational from the update's arithmetic) are
  timed, as a system around the engine times them, and the clock is on a global network;
* **iCE40UP5K** (``--up5k --package sg48``), the 64-32-10 engine only: nextpnr-ice40 has no
  out-of-context mode and the SG48 package has 39 IO pins for the engine's hundreds of port
  bits, so the engine sits in a thin generic wrapper (:func:`wrapper_verilog`, made from the
  port list of the Verilog, no port names assumed): every input bit comes from a shift
  register fed by one pin, every output bit is registered and the registers are XOR-reduced
  into one pin (so that no logic is optimised away); the wrapper's own cells are counted in
  the row.

Yosys and nextpnr are the project's (:func:`spikeforge.boards.build.toolchain_environment`:
system tools, else YoWASP), with the options of the board builds
(:func:`~spikeforge.boards.build.toolchain_options`: nextpnr's JSON report, timing allowed to
fail, the ECP5 placer's timing weight) and the clock targets of issue 10 (``--freq``: ECP5
120 MHz, iCE40 50 MHz); the cells come from :func:`~spikeforge.boards.build.count_cells`
(the synthesised netlist) and :func:`~spikeforge.boards.build.parse_nextpnr_report`
(placed and routed: logic cells, FFs, block RAM, DSP, Fmax).

Cycles of one update: :func:`spikeforge.hdl.learning.update_cycles` (the engine's exact count,
co-simulated in cosim/learn_tb.py) with the rows touched in golden forward passes
(:func:`~spikeforge.sim.network.run_network`) of the first ``--samples`` training samples:
inputs with a spike at ``t_j <= r_end = min(t_dec + margin, T - 1)``. "start": the random
starting network; "learned": after one online pass (batch 1, as the engine learns) of the rule
over the first ``--learn`` training samples. Updates/s = Fmax / cycles: the update alone (the
forward pass and streaming its first spikes into the engine are not counted).

MNIST-sized engines (784-H-10, ``--mnist-hidden``) are built only where both stores fit the
ECP5-85F's block RAM (16-bit words: ``8 + frac_bits``); the others are listed with the block
RAM they would need. Beside the rows, the published on-chip learning figures of SPOON and
ODIN (:data:`ANCHORS`, quoted, different metrics).

Build products (Verilog, netlists, logs, nextpnr reports) go to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform as host_platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spikeforge.sim.learning import DIGITS_RULE  # the rule's digits settings

REPO = Path(__file__).resolve().parents[1]


#: device -> (nextpnr tool, device options, clock target MHz, block RAM: name, count,
#: (depth, width) shapes of one block)
DEVICES = {
    "ECP5-85F": ("nextpnr-ecp5", ["--85k", "--package", "CABGA381", "--speed", "6",
                                  "--out-of-context"], 120.0,
                 ("DP16KD", 208, ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18),
                                  (512, 36)))),
    # the same wrapper as the iCE40's (registered ports, global clock): the paths through
    # the engine's combinational outputs timed, as a system around it times them
    "ECP5-85F (IO wrapper)": ("nextpnr-ecp5", ["--85k", "--package", "CABGA381", "--speed",
                                               "6", "--lpf-allow-unconstrained"], 120.0,
                              ("DP16KD", 208, ((16384, 1), (8192, 2), (4096, 4), (2048, 9),
                                               (1024, 18), (512, 36)))),
    "iCE40UP5K": ("nextpnr-ice40", ["--up5k", "--package", "sg48",
                                    "--pcf-allow-unconstrained"], 50.0,
                  ("SB_RAM40_4K", 30, ((2048, 2), (1024, 4), (512, 8), (256, 16)))),
}
FAMILY = {"ECP5-85F": "ecp5", "ECP5-85F (IO wrapper)": "ecp5", "iCE40UP5K": "ice40"}
#: nextpnr's report: bel of the logic cells, FFs, block RAM, DSP per family
PNR_BELS = {"ecp5": ("TRELLIS_COMB", "TRELLIS_FF", "DP16KD", "MULT18X18D"),
            "ice40": ("ICESTORM_LC", None, "ICESTORM_RAM", "ICESTORM_DSP")}

#: published on-chip learning figures, quoted as they are (different metrics from ours):
#: (work, figures, source)
ANCHORS = [
    ("SPOON", "on-chip learning overhead +11.8 % area, +16.8 % power; MNIST 95.3 % "
              "learned on chip vs 97.5 % off chip",
     'Frenkel et al., 2020, "SPOON: an event-driven spiking CNN with on-chip learning"'),
    ("ODIN", "SDSP on-chip learning; MNIST 84.5 %", "Frenkel et al., 2019 (ODIN)"),
]

HEADER = ["config", "device", "store bits (both layers)", "LCs", "FFs", "BRAM", "DSP",
          "Fmax MHz", "cycles / update (mean)", "updates/s at Fmax", "notes / source"]


def engine_version() -> str:
    """Which engine was built: the git commit and whether the engine's sources differ from
    it (the engine is still changing), and a hash of hdl/learning.py."""
    import hashlib

    import spikeforge.hdl.learning as engine

    digest = hashlib.sha256(Path(engine.__file__).read_bytes()).hexdigest()[:12]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                              capture_output=True, text=True, timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "hdl/learning.py",
                                "hdl/verilog.py"], cwd=REPO, capture_output=True, text=True,
                               timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        head, dirty = "", ""
    where = f"commit {head}" + (" + uncommitted changes" if dirty else "") if head else \
        "no git"
    return f"{where}; hdl/learning.py sha256 {digest}"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)


# -- configurations -------------------------------------------------------------------------

@dataclass
class Setup:
    """One engine: its name, the learner (the rule on the starting network), the input
    events of training samples (``counts_fn(index_array)``) and their labels; ``counts_fn``
    is None where the data set is missing."""

    name: str
    learner: object
    ticks: int
    counts_fn: object
    labels: object

    @property
    def config(self):
        return self.learner.hardware_config()


def make_setup(dataset: str, hidden: int) -> Setup:
    from spikeforge.ir.errors import SpikeforgeError
    from spikeforge.model.datasets import load_dataset
    from spikeforge.model.popcount_rule import digits_setup
    from spikeforge.sim.learning import PopcountLearner

    try:
        ds = load_dataset(dataset)
    except SpikeforgeError as error:  # no MNIST files: the engine alone, no cycle counts
        if dataset != "mnist":
            raise
        log(f"{dataset}: {error}; building the engine without cycle counts")
        from spikeforge.model.ttfs import TTFSNet
        from spikeforge.model.ttfs_discrete import inference_ticks, integer_network

        ticks = inference_ticks(32, 2)  # digits_setup's network without its data
        net = integer_network(TTFSNet([784, hidden, 10], seed=1), 32).network
        return Setup(f"{dataset} 784-{hidden}-10", PopcountLearner(net, ticks, **DIGITS_RULE),
                     ticks, None, None)
    ticks, train_fn, _, net = digits_setup(ds, hidden=hidden)
    name = f"{dataset} {ds.n_features}-{hidden}-{ds.n_classes}"
    return Setup(name, PopcountLearner(net, ticks, **DIGITS_RULE), ticks, train_fn,
                 np.asarray(ds.train_y))


def store_bits(config) -> tuple[int, int]:
    return (config.acc_bits(0) * config.n_inputs * config.n_hidden,
            config.acc_bits(1) * config.n_hidden * config.n_outputs)


def blocks_for(depth: int, width: int, shapes) -> int:
    """Block RAMs of the best shape for a ``depth`` x ``width`` memory."""
    return min(math.ceil(depth / d) * math.ceil(width / w) for d, w in shapes)


def store_blocks(config, device: str) -> int:
    """Block RAMs that the two stores need at least (the tick memories come on top)."""
    shapes = DEVICES[device][3][2]
    return (blocks_for(config.n_inputs * config.n_hidden, config.acc_bits(0), shapes)
            + blocks_for(config.n_hidden * config.n_outputs, config.acc_bits(1), shapes))


# -- cycles ---------------------------------------------------------------------------------

def touched_rows(network, counts: np.ndarray, ticks: int, margin: int) -> np.ndarray:
    """Per sample: the input rows the update touches after the golden forward pass
    (:func:`spikeforge.sim.learning.touched_rows`)."""
    from spikeforge.sim.learning import touched_rows as rows_of
    from spikeforge.sim.network import run_network

    return rows_of(counts, run_network(network, counts, ticks), margin)


def cycle_stats(setup: Setup, samples: int, learn: int) -> dict:
    """``{"start": {...}, "learned": {...} or None}``: mean / min / max cycles of one update
    and mean touched rows over the first ``samples`` training samples."""
    from spikeforge.hdl.learning import update_cycles

    if setup.counts_fn is None:
        return {"start": None, "learned": None}
    learner, ticks = setup.learner, setup.ticks
    config = setup.config
    counts = setup.counts_fn(np.arange(samples))

    def stats(network):
        rows = touched_rows(network, counts, ticks, learner.margin)
        cycles = np.array([update_cycles(config, int(k)) for k in rows])
        return {"mean": float(cycles.mean()), "min": int(cycles.min()),
                "max": int(cycles.max()), "touched_mean": float(rows.mean()),
                "samples": samples}

    out = {"start": stats(learner.current_network()), "learned": None}
    if learn:
        from copy import deepcopy

        t0 = time.perf_counter()
        trained = deepcopy(learner)  # the build uses the starting stores
        for i in range(learn):
            trained.step(setup.counts_fn(np.array([i])), setup.labels[i:i + 1])
        out["learned"] = {**stats(trained.current_network()), "learned_samples": learn}
        log(f"{setup.name}: {learn} online steps of the rule in "
            f"{time.perf_counter() - t0:.1f} s")
    return out


# -- builds ---------------------------------------------------------------------------------

def tool_command(tool: str) -> str:
    """The command of ``tool`` (``yosys``, ``nextpnr-ecp5``, ...) as the board builds find
    it: ``$YOSYS``-style variable, system tool on PATH, or the YoWASP entry point."""
    from amaranth._toolchain import tool_env_var

    from spikeforge.boards.build import toolchain_environment

    var = tool_env_var(tool)
    env = toolchain_environment([tool])
    return env.get(var) or os.environ.get(var) or shutil.which(tool) or tool


_PORT = re.compile(r"^\s*(input|output)\s+(?:\[(\d+):(\d+)\]\s+)?\\?([\w$]+)\s*;", re.M)


def verilog_ports(verilog: str, module: str) -> list[tuple[str, str, int]]:
    """``(direction, name, width)`` of the ports of ``module`` in ``verilog``."""
    start = verilog.index(f"module {module}(")
    body = verilog[start:verilog.index("endmodule", start)]
    return [(d, name, int(hi) - int(lo) + 1 if hi else 1)
            for d, hi, lo, name in _PORT.findall(body)]


def wrapper_verilog(verilog: str, module: str) -> tuple[str, dict]:
    """A top ``ooc_wrap(clk, rst, sin, sout)`` around ``module`` for a device without an
    out-of-context flow: the inputs (but ``clk``, ``rst``) from a shift register fed by
    ``sin``, the outputs registered and XOR-reduced into ``sout``. Returns the Verilog and
    the wrapper's own cells (FFs; LUT4s of the XOR tree)."""
    ports = verilog_ports(verilog, module)
    ins = [(n, w) for d, n, w in ports if d == "input" and n not in ("clk", "rst")]
    outs = [(n, w) for d, n, w in ports if d == "output"]
    n_in, n_out = sum(w for _, w in ins), sum(w for _, w in outs)
    conns, pos = [".clk(clk)", ".rst(rst)"], 0
    for name, width in ins:
        conns.append(f".{name}(sh[{pos + width - 1}:{pos}])")
        pos += width
    pos = 0
    for name, width in outs:
        conns.append(f".{name}(o[{pos + width - 1}:{pos}])")
        pos += width
    text = "\n".join([
        "module ooc_wrap(input clk, input rst, input sin, output reg sout);",
        f"  reg [{n_in - 1}:0] sh;",
        f"  wire [{n_out - 1}:0] o;",
        f"  reg [{n_out - 1}:0] oq;",
        f"  always @(posedge clk) begin sh <= {{sh[{n_in - 2}:0], sin}}; oq <= o; "
        f"sout <= ^oq; end",
        f"  {module} engine({', '.join(conns)});",
        "endmodule", ""])
    return text, {"ffs": n_in + n_out + 1, "luts": math.ceil((n_out - 1) / 3),
                  "input_bits": n_in, "output_bits": n_out}


def _run(cmd, cwd: Path, log_name: str, what: str, timeout: float | None):
    """``cmd`` in ``cwd``, its output into ``log_name``; None if it ran past ``timeout``
    seconds (then it is killed)."""
    from spikeforge.cosim.runner import progress

    try:
        with progress(what):
            done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                                  timeout=timeout)
    except subprocess.TimeoutExpired as expired:
        out = expired.stdout or b""
        (cwd / log_name).write_bytes(out if isinstance(out, bytes) else out.encode())
        return None
    (cwd / log_name).write_text(done.stdout + done.stderr)
    return done


def critical_path(nextpnr_log: str, verilog: str) -> dict | None:
    """The critical path of nextpnr's log: start and end cell, ns, logic / routing, logic
    levels and the Verilog expressions it goes through (in order, without repeats)."""
    m = re.search(r"Critical path report for clock '[^']*' \(posedge -> posedge\):\n(.*?)"
                  r"Info: ([\d.]+) ns logic, ([\d.]+) ns routing", nextpnr_log, re.S)
    if m is None:
        return None
    body = m.group(1)
    sources = re.findall(r"^Info:\s+(\S+)\s+[\d.]+\s+([\d.]+) Source (\S+)", body, re.M)
    lines = verilog.splitlines()
    exprs = []
    for n in re.findall(r"engine\.v:(\d+)\.", body):
        text = lines[int(n) - 1].strip() if 0 < int(n) <= len(lines) else ""
        if text and text not in exprs:
            exprs.append(text)
    return {"from": sources[0][2] if sources else None,
            "to": sources[-1][2] if sources else None,
            "ns": float(sources[-1][1]) if sources else None,
            "logic_ns": float(m.group(2)), "routing_ns": float(m.group(3)),
            "logic_levels": len(re.findall(r"^Info:\s+logic\s+(?!0\.00\s)[\d.]+\s", body,
                                           re.M)),  # cells with a delay (not carry hops)
            "verilog": exprs}


def build(setup: Setup, device: str, out: Path, reuse: bool = False,
          timeout: float | None = None) -> dict:
    """Synthesise, place and route the engine of ``setup`` for ``device`` in ``out``.
    ``reuse``: a finished build in ``out`` of the same Verilog, Yosys script and nextpnr
    options is not run again (its files are read; ``"reused": True``). ``timeout``: seconds
    each tool may run (past it: ``"fits": None``, not built)."""
    from spikeforge.boards.build import count_cells, toolchain_options
    from spikeforge.hdl.verilog import LEARNING_TOP, learning_verilog

    family = FAMILY[device]
    pnr_tool, device_opts, freq, (bram_name, bram_count, _) = DEVICES[device]
    verilog = learning_verilog(setup.config)
    files, top, wrapper, wrapper_text = ["engine.v"], LEARNING_TOP, None, None
    if "--out-of-context" not in device_opts:  # the thin wrapper (module docstring)
        wrapper_text, wrapper = wrapper_verilog(verilog, LEARNING_TOP)
        files, top = ["engine.v", "wrapper.v"], "ooc_wrap"
    options = toolchain_options(family)
    script = "".join(f"read_verilog {f}\n" for f in files) + (
        f"synth_{family} {options.get('synth_opts', '')} -top {top} -json engine.json\n"
        "tee -o stat.txt stat\n")
    pnr_args = device_opts + ["--json", "engine.json", "--freq", f"{freq:g}"] \
        + options["nextpnr_opts"].split()
    result = {"device": device, "family": family, "top": top, "wrapper": wrapper,
              "freq_target_mhz": freq, "nextpnr_command": " ".join([pnr_tool] + pnr_args)}
    if reuse and _same_build(out, verilog, script, wrapper_text, result["nextpnr_command"]):
        saved = json.loads((out / "times.json").read_text()) \
            if (out / "times.json").exists() else {}
        log(f"{setup.name} on {device}: reusing the build in {out}")
        return {**_read_build(result, out, family, verilog, bram_name, bram_count), **saved,
                "reused": True}
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("top.report.json", "engine.json", "nextpnr.log", "times.json"):
        (out / stale).unlink(missing_ok=True)
    (out / "engine.v").write_text(verilog)
    if wrapper_text is not None:
        (out / "wrapper.v").write_text(wrapper_text)
    (out / "synth.ys").write_text(script)
    (out / "nextpnr.args").write_text(result["nextpnr_command"])
    t0 = time.perf_counter()
    done = _run([tool_command("yosys"), "-q", "-l", "yosys_full.log", "synth.ys"], out,
                "yosys.log", f"{setup.name}: Yosys synth_{family}", timeout)
    if done is None:
        return {**result, "fits": None, "why": f"Yosys did not finish synth_{family} within "
                                               f"{timeout:g} s (--timeout)"}
    if done.returncode:
        raise RuntimeError(f"yosys failed ({out / 'yosys.log'}):\n{done.stderr[-2000:]}")
    times = {"synth_s": time.perf_counter() - t0}
    cells = count_cells(out / "engine.json", family)
    limits = {"ice40": 5280, "ecp5": 83640}[family]
    if cells["luts"] > limits or cells["brams"] > bram_count:
        return {**result, **times, "netlist_cells": cells, "fits": False,
                "why": f"the netlist has {cells['luts']} LUT4 (device {limits}) and "
                       f"{cells['brams']} {bram_name} (device {bram_count})"}
    t0 = time.perf_counter()
    done = _run([tool_command(pnr_tool)] + pnr_args, out, "nextpnr.log",
                f"{setup.name}: {pnr_tool} for {device}", timeout)
    times["pnr_s"] = time.perf_counter() - t0
    if done is None:
        return {**result, **times, "netlist_cells": cells, "fits": None,
                "why": f"{pnr_tool} did not finish within {timeout:g} s (--timeout)"}
    (out / "times.json").write_text(json.dumps(times) + "\n")
    if done.returncode or not (out / "top.report.json").exists():
        errors = [line for line in (done.stdout + done.stderr).splitlines() if "ERROR" in line]
        return {**result, **times, "netlist_cells": cells, "fits": False,
                "why": errors[-1] if errors else
                f"nextpnr failed (exit {done.returncode}, {out / 'nextpnr.log'})"}
    return {**_read_build(result, out, family, verilog, bram_name, bram_count), **times}


def _same_build(out: Path, verilog: str, script: str, wrapper_text, nextpnr_command) -> bool:
    """Whether ``out`` holds a finished build of exactly these inputs."""
    def same(name, text):
        return text is None or ((out / name).is_file() and (out / name).read_text() == text)

    report = out / "top.report.json"
    return (report.is_file() and (out / "nextpnr.log").is_file()
            and same("engine.v", verilog) and same("synth.ys", script)
            and same("wrapper.v", wrapper_text)
            and report.stat().st_mtime >= (out / "engine.v").stat().st_mtime
            and (not (out / "nextpnr.args").exists()  # builds before it was saved
                 or same("nextpnr.args", nextpnr_command)))


def _read_build(result: dict, out: Path, family: str, verilog: str, bram_name: str,
                bram_count: int) -> dict:
    """``result`` with what the finished build in ``out`` used and reached."""
    from spikeforge.boards.build import count_cells, parse_nextpnr_report

    cells = count_cells(out / "engine.json", family)
    pnr = parse_nextpnr_report(out / "top.report.json")
    util = pnr["utilization"]
    lc_bel, ff_bel, bram_bel, dsp_bel = PNR_BELS[family]
    used = lambda bel: util.get(bel, {}).get("used", 0)  # noqa: E731
    achieved = [v["achieved"] for v in pnr["fmax"].values() if "achieved" in v]
    return {**result, "netlist_cells": cells, "fits": True, "lcs": used(lc_bel),
            "lc_bel": lc_bel, "ffs": used(ff_bel) if ff_bel else cells["ffs"],
            "brams": used(bram_bel), "bram_name": bram_name, "bram_available": bram_count,
            "dsps": used(dsp_bel), "fmax_mhz": min(achieved) if achieved else None,
            "fmax": pnr["fmax"], "utilization": util,
            "critical_path": critical_path((out / "nextpnr.log").read_text(), verilog)}


# -- the table ------------------------------------------------------------------------------

def _cycles_text(cycles: dict) -> str:
    parts = []
    for key in ("start", "learned"):
        c = cycles.get(key)
        if c is None:
            continue
        spread = f"{c['mean']:,.0f}" if c["min"] == c["max"] else \
            f"{c['mean']:,.1f} ({c['min']:,}-{c['max']:,})"
        what = "start" if key == "start" else f"after {c['learned_samples']} online steps"
        parts.append(f"{spread} [{what}; {c['touched_mean']:.1f} rows touched; "
                     f"{c['samples']} samples]")
    return "<br>".join(parts) if parts else "n/a (no data set)"


def engine_row(setup: Setup, build_result: dict, cycles: dict) -> list:
    bits = store_bits(setup.config)
    bits_text = f"{bits[0]:,} + {bits[1]:,} = {sum(bits):,}"
    b = build_result
    if not b.get("fits"):
        what = "does not fit" if b.get("fits") is False else "not built"
        return [setup.name, b["device"], bits_text, "-", "-", "-", "-", "-",
                _cycles_text(cycles), "-", f"**{what}**: {b['why']}"]
    c = b["netlist_cells"]
    extra = ", ".join(f"{c[k]} {name}" for k, name in (("carries", "carry"),
                                                        ("lutram", "LUTRAM")) if c.get(k))
    lcs = f"{b['lcs']:,} {b['lc_bel']} ({c['luts']:,} LUT4" + (f", {extra}" if extra else "") + ")"
    start = cycles.get("start")
    fmax = b["fmax_mhz"]
    rate = "-"
    if start is not None and fmax:
        rate = f"{fmax * 1e6 / start['mean']:,.0f}"
        learned = cycles.get("learned")
        if learned is not None and learned["mean"] != start["mean"]:
            rate += f" (learned: {fmax * 1e6 / learned['mean']:,.0f})"
    notes = "this run, out of context (nextpnr --out-of-context): ports untimed" \
        if b["wrapper"] is None else \
        (f"this run, in a thin IO wrapper, ports registered (counted: {b['wrapper']['ffs']} "
         f"FFs, ~{b['wrapper']['luts']} LUT4 of it)")
    if b.get("reused"):
        notes += "; build reused (--reuse)"
    return [setup.name, b["device"], bits_text, lcs, f"{b['ffs']:,}",
            f"{b['brams']}/{b['bram_available']} {b['bram_name']}", f"{b['dsps']}",
            f"{fmax:.1f}" if fmax else "-", _cycles_text(cycles), rate, notes]


def not_fitting_row(setup: Setup, device: str, needed: int, available: int, name: str) -> list:
    bits = store_bits(setup.config)
    return [setup.name, device, f"{bits[0]:,} + {bits[1]:,} = {sum(bits):,}", "-", "-",
            f"needs >= {needed} {name}", "-", "-", "-", "-",
            f"**does not fit**: the stores ({setup.config.acc_bits(0)}-bit words) need at "
            f"least {needed} {name}, the device has {available}; not built"]


def anchor_rows() -> list:
    return [[work, "-", "-", "-", "-", "-", "-", "-", "-", "-", f"{figures} ({source})"]
            for work, figures, source in ANCHORS]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="digits 64-32-10 on the ECP5 only, 50 samples for the cycle mean")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "bench_learning_engine")
    parser.add_argument("--json", type=Path, default=None, help="write the rows here")
    parser.add_argument("--samples", type=int, default=None,
                        help="training samples of the cycle mean (default 200, quick 50)")
    parser.add_argument("--learn", type=int, default=None,
                        help="online steps before the 'learned' cycle mean (default 1000, "
                             "quick 0: none)")
    parser.add_argument("--mnist-hidden", default="100,300", metavar="H,...",
                        help="MNIST-sized engines 784-H-10 (built where they fit)")
    parser.add_argument("--no-mnist", action="store_true")
    parser.add_argument("--timeout", type=float, default=3600, metavar="SECONDS",
                        help="longest run of Yosys or nextpnr per build (default "
                             "%(default)s; past it the row says not built)")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the finished builds in --out of the same Verilog and "
                             "tool options (no rebuild)")
    args = parser.parse_args(argv)
    samples = args.samples or (50 if args.quick else 200)
    learn = args.learn if args.learn is not None else (0 if args.quick else 1000)

    plan = [("digits", 32, ["ECP5-85F"]
             + ([] if args.quick else ["ECP5-85F (IO wrapper)", "iCE40UP5K"]))]
    if not args.quick:
        plan.append(("digits", 100, ["ECP5-85F"]))
        if not args.no_mnist:
            plan += [("mnist", int(h), ["ECP5-85F"]) for h in args.mnist_hidden.split(",") if h]

    rows, records, t_all = [], [], time.perf_counter()
    version = engine_version()
    for dataset, hidden, devices in plan:
        log(f"{dataset} H={hidden}: setting up")
        setup = make_setup(dataset, hidden)
        record = {"config": setup.name, "store_bits": store_bits(setup.config),
                  "rule": DIGITS_RULE, "ticks": setup.ticks, "builds": []}
        fitting = []
        for device in devices:
            name, count, _ = DEVICES[device][3]
            needed = store_blocks(setup.config, device)
            if needed > count:
                rows.append(not_fitting_row(setup, device, needed, count, name))
                record["builds"].append({"device": device, "fits": False,
                                         "blocks_needed": needed})
                log(f"{setup.name} on {device}: needs {needed} {name} of {count}: not built")
            else:
                fitting.append(device)
        if not fitting:
            records.append(record)
            continue
        t0 = time.perf_counter()
        cycles = cycle_stats(setup, samples, learn)
        record["cycles"] = cycles
        log(f"{setup.name}: cycles {cycles['start'] and cycles['start']['mean']} (start), "
            f"{cycles['learned'] and cycles['learned']['mean']} (learned), "
            f"{time.perf_counter() - t0:.1f} s")
        for device in fitting:
            slug = f"{setup.name.replace(' ', '-')}-{FAMILY[device]}" + (
                "-wrapped" if "wrapper" in device else "")
            result = build(setup, device, args.out / slug, args.reuse, args.timeout)
            record["builds"].append(result)
            rows.append(engine_row(setup, result, cycles))
            if result.get("fits"):
                cp = result["critical_path"] or {}
                log(f"{setup.name} on {device}: {result['lcs']} {result['lc_bel']}, "
                    f"{result['ffs']} FF, {result['brams']} {result['bram_name']}, Fmax "
                    f"{result['fmax_mhz']:.1f} MHz (critical path {cp.get('ns')} ns: "
                    f"{cp.get('from')} -> {cp.get('to')})")
            else:
                log(f"{setup.name} on {device}: "
                    f"{'does not fit' if result.get('fits') is False else 'not built'}: "
                    f"{result['why']}")
        records.append(record)
    if args.quick:
        pass  # the quick run has no iCE40 build
    elif not any(b.get("device") == "iCE40UP5K" and b.get("fits")
                 for r in records for b in r["builds"]):
        log("the 64-32-10 engine does not fit the iCE40UP5K (see its row)")
    rows += anchor_rows()
    print(f"# The on-chip learning engine alone ({host_platform.machine()}, "
          f"{time.strftime('%Y-%m-%d')}; rule: "
          + ", ".join(f"{k}={v}" for k, v in DIGITS_RULE.items()) + ")\n")
    print(f"Engine: {version}.\n")
    print(table(HEADER, rows))
    print(f"\nUpdates/s = Fmax / cycles of one update (the update alone: the forward pass and "
          f"its spikes into the engine not counted). ECP5 clock target {DEVICES['ECP5-85F'][2]:g}"
          f" MHz, iCE40 {DEVICES['iCE40UP5K'][2]:g} MHz (nextpnr --freq). "
          f"Total {time.perf_counter() - t_all:.0f} s.")
    for r in records:
        for b in r["builds"]:
            cp = b.get("critical_path")
            if cp:
                print(f"\n* {r['config']} on {b['device']}: critical path {cp['ns']:.2f} ns "
                      f"({cp['logic_ns']:.2f} logic, {cp['routing_ns']:.2f} routing, "
                      f"{cp['logic_levels']} logic cells with a delay) from `{cp['from']}` "
                      f"to `{cp['to']}`; Verilog on the path: "
                      + "; ".join(f"`{e}`" for e in cp["verilog"][:8])
                      + (" ..." if len(cp["verilog"]) > 8 else ""))
    if args.json:
        args.json.write_text(json.dumps({"engine": version, "configs": records}, indent=2,
                                        default=_jsonable) + "\n")
    return 0


def _jsonable(x):
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    return str(x)


if __name__ == "__main__":
    sys.exit(main())
