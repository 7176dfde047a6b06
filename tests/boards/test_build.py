"""Board builds (boards/build.py): resolving a design, the report parsers, the toolchain
environment, refused requests, the Arty A7 export, and real builds with Yosys + nextpnr
(system tools or YoWASP).

The small iCEBreaker build (one 8-neuron core with 16 inputs behind the UART top) runs in
the default suite: about 45 s warm; the first YoWASP run on a machine also compiles the
WebAssembly tools (about 2 minutes for Yosys, cached in ~/.cache). It checks that the
report has sane utilisation and Fmax, and compares the pre-synthesis fit estimate with the
real block RAM count. Larger builds, the builds with a PLL (iCE40 and ECP5) and the second
build of a changed plan are ``slow`` (the first two also run by benchmarks/bench_boards.py).
"""

import json
import os
import shlex
import subprocess
from dataclasses import replace

import numpy as np
import pytest
from amaranth.hdl import Mux

from spikeforge.boards.build import (
    build_board,
    count_cells,
    format_report,
    learning_summary,
    nextpnr_seed_command,
    parse_nextpnr_report,
    resolve_design,
    run_nextpnr,
    saved_report,
    seed_fmax,
    toolchain_environment,
    toolchain_options,
)
from spikeforge.boards.fit import estimate, system_settings_for
from spikeforge.boards.specs import BOARDS, board_spec, input_depth_for
from spikeforge.boards.top import BoardTop
from spikeforge.hdl.system import SpikeforgeSystem
from spikeforge.ir.errors import ConfigError, SpikeforgeError


def test_resolve_design(tmp_path):
    name, artifact = resolve_design("core:8x12")
    network, plan = artifact.network, artifact.plan
    assert name == "core8x12" and network.n_inputs == 12 and len(plan.cores) == 1
    with pytest.raises(ConfigError, match="core:NEURONSxINPUTS"):
        resolve_design("core:8by12")
    with pytest.raises(ConfigError, match="neither"):
        resolve_design(str(tmp_path))


def test_report_parsers(tmp_path):
    (tmp_path / "r.json").write_text(json.dumps({
        "utilization": {"ICESTORM_LC": {"used": 10, "available": 5280}},
        "fmax": {"clk": {"achieved": 20.5, "constraint": 12.0}}}))
    r = parse_nextpnr_report(tmp_path / "r.json")
    assert r["fmax"]["clk"]["achieved"] == 20.5
    (tmp_path / "n.json").write_text(json.dumps({"modules": {"top": {
        "attributes": {"top": "00000000000000000000000000000001"},
        "cells": {"a": {"type": "SB_LUT4"}, "b": {"type": "SB_DFFE"}, "c": {"type": "SB_DFF"},
                  "d": {"type": "SB_RAM40_4K"}}}}}))
    cells = count_cells(tmp_path / "n.json", "ice40")
    assert (cells["luts"], cells["ffs"], cells["brams"], cells["dsps"]) == (1, 2, 1, 0)


def test_toolchain_environment_prefers_explicit(monkeypatch):
    monkeypatch.setenv("YOSYS", "/opt/my/yosys")
    assert "YOSYS" not in toolchain_environment(["yosys"])


@pytest.mark.parametrize("family", ["ice40", "ecp5"])
@pytest.mark.parametrize("keep", [True, False])
def test_marked_copies_stay_apart(tmp_path, family, keep):
    """Registers the RTL marks as copies (COPY_ATTRIBUTE: one select per lane group) are
    four flip-flops after synthesis with the build's script; without it Yosys merges them
    into one (so the test can fail)."""
    from amaranth.back import rtlil
    from amaranth.hdl import Module, Signal

    from spikeforge.hdl.core import COPY_ATTRIBUTE

    m = Module()
    a, x, y = Signal(), Signal(8), Signal(8)
    copies = [Signal(name=f"sel_c{g}", attrs={COPY_ATTRIBUTE: 1}) for g in range(4)]
    m.d.sync += [c.eq(a) for c in copies]
    m.d.sync += [y[k].eq(Mux(copies[k // 2], x[k], ~x[k])) for k in range(8)]
    (tmp_path / "t.il").write_text(rtlil.convert(m, ports=[a, x, y]))
    script = toolchain_options(family)["script_after_read"] if keep else ""
    yosys = toolchain_environment(("yosys",)).get("YOSYS", "yosys")
    subprocess.run([yosys, "-q", "-p", f"read_rtlil t.il; {script}; synth_{family} -top top; "
                    f"write_json t.json"], cwd=tmp_path, check=True, capture_output=True)
    top = next(v for v in json.loads((tmp_path / "t.json").read_text())["modules"].values()
               if int(v.get("attributes", {}).get("top", "0"), 2))
    flip_flops = sum(c["type"].startswith(("TRELLIS_FF", "SB_DFF")) for c in top["cells"].values())
    assert flip_flops == 8 + (4 if keep else 1), flip_flops


def _synthesised_ecp5(tmp_path, design, keep: bool) -> dict:
    """The cells of ``design`` synthesised for the ECP5 (flat), with the build's script after
    the read where ``keep``."""
    from amaranth.back import rtlil

    (tmp_path / "d.il").write_text(rtlil.convert(design, name="top"))
    script = toolchain_options("ecp5")["script_after_read"] if keep else ""
    yosys = toolchain_environment(("yosys",)).get("YOSYS", "yosys")
    subprocess.run([yosys, "-q", "-p", f"read_rtlil d.il; {script}; synth_ecp5 -top top; "
                    "write_json d.json"], cwd=tmp_path, check=True, capture_output=True)
    return json.loads((tmp_path / "d.json").read_text())["modules"]["top"]["cells"]


def _drivers(cells: dict) -> dict:
    """Each net bit of a synthesised netlist -> the cell that drives it."""
    return {bit: name for name, cell in cells.items()
            for port, way in cell["port_directions"].items() if way == "output"
            for bit in cell["connections"][port]}


@pytest.mark.parametrize("keep", [True, False])
def test_a_wide_cores_lut_ram_state_has_address_registers_per_lane_group(tmp_path, keep):
    """A core of 8 lanes (two groups of four) with its state in LUT RAM, synthesised for the
    ECP5 with the build's script: each state memory is one memory per lane group, and each
    group's LUT RAMs read at flip-flops that reach no other group's (the TTFS 784-600-10
    build's critical path was one read address register across the die to every lane).
    Without the script Yosys merges the copies back into one register per memory."""
    from spikeforge.hdl.core import NeuronCore
    from spikeforge.ir.core import CoreConfig
    from spikeforge.ir.params import NeuronParams

    weights = np.random.default_rng(0).integers(-50, 100, size=(2, 24))
    core = NeuronCore(CoreConfig(24, 2, NeuronParams(), weights, lanes=8))
    cells = _synthesised_ecp5(tmp_path, core, keep)
    driver = _drivers(cells)
    reads = {}  # a read address flip-flop -> the memories (state, lane group) it reaches
    for name, cell in cells.items():
        if cell["type"] == "TRELLIS_DPR16X4":
            for bit in cell["connections"]["RAD"]:
                if bit in driver and cells[driver[bit]]["type"] == "TRELLIS_FF":
                    reads.setdefault(driver[bit], set()).add(name.split(".")[0])
    groups = set().union(*reads.values())
    assert {"mem_i_0", "mem_i_1", "mem_v_0", "mem_v_1"} <= groups, groups
    shared = {ff: mems for ff, mems in reads.items() if len(mems) > 1}
    assert not shared if keep else shared, shared


def _flip_flops_behind(cells: dict, bits) -> set[str]:
    """The flip-flops (TRELLIS_FF) whose outputs reach ``bits`` through logic alone."""
    driver = _drivers(cells)
    seen, flops, todo = set(), set(), list(bits)
    while todo:
        name = driver.get(todo.pop())
        if name is None or name in seen:
            continue
        seen.add(name)
        cell = cells[name]
        if cell["type"] == "TRELLIS_FF":
            flops.add(name)
        else:
            todo += [bit for port, way in cell["port_directions"].items() if way == "input"
                     for bit in cell["connections"][port]]
    return flops


@pytest.mark.parametrize("keep", [True, False])
def test_each_layer_0_core_reads_its_weight_banks_at_its_own_input_register(tmp_path, keep):
    """The engine and a system of three banked layer-0 cores with ``input_copies`` (what
    compile --board makes for the ECP5), synthesised for the ECP5 with the build's script:
    no flip-flop reaches two cores' weight-bank addresses (one input index register across
    the die to every core's banks, through an adder Yosys shared, was the critical path of
    the TTFS 784-600-10 build). Without the script Yosys merges the copies into one."""
    from spikeforge.boards.engine import ProtocolEngine
    from spikeforge.compiler.map import plan_network
    from spikeforge.ir.network import IntegerLayer, IntegerNetwork
    from spikeforge.ir.params import Decision, NeuronParams
    from spikeforge.ir.system import SystemConfig

    rng = np.random.default_rng(0)
    network = IntegerNetwork(
        (IntegerLayer(rng.integers(-50, 100, size=(40, 12)), NeuronParams()),
         IntegerLayer(rng.integers(-50, 100, size=(12, 3)), NeuronParams())),
        Decision.SPIKE_COUNT)
    plan = plan_network(network, neurons_per_core=[4, 3])  # 4 words per event
    system = SystemConfig(Decision.SPIKE_COUNT, weight_banks="ecp5", input_copies=True)
    engine = ProtocolEngine(SpikeforgeSystem(plan, system), input_depth=64)
    cells = _synthesised_ecp5(tmp_path, engine, keep)
    behind = {}  # layer-0 core -> the flip-flops behind its weight banks' addresses
    for name, cell in cells.items():
        if cell["type"] == "DP16KD" and name.startswith("system.core_0_"):
            address = [bit for port, bits in cell["connections"].items()
                       if port.startswith(("ADA", "ADB")) for bit in bits]
            behind.setdefault(name.split(".")[1], set()).update(
                _flip_flops_behind(cells, address))
    assert sorted(behind) == ["core_0_0", "core_0_1", "core_0_2"], sorted(behind)
    shared = set.union(*(behind[a] & behind[b] for a in behind for b in behind if a < b))
    assert not shared if keep else len(shared) == 6, shared  # the 6 index bits


def test_board_top_refuses_bad_requests():
    with pytest.raises(ConfigError, match="--clk-mhz: arty-a7 has no PLL support"):
        build_board("core:4x8", "arty-a7", clk_mhz=150)
    with pytest.raises(ConfigError, match="--clk-mhz: must be a positive frequency"):
        build_board("core:4x8", "icebreaker", clk_mhz=0)


def test_arty_export(tmp_path):
    pytest.importorskip("amaranth_boards")
    report = build_board("core:4x6", "arty-a7", tmp_path / "arty")
    assert report["bitstream"] is None
    files = set(report["exported"])
    assert {"top.v", "top.xdc"} <= files
    xdc = (tmp_path / "arty" / "top.xdc").read_text()
    assert "E3" in xdc  # the 100 MHz clock pin
    assert json.loads((tmp_path / "arty" / "report.json").read_text())["board"] == "arty-a7"


def _require_tools(board):
    pytest.importorskip("amaranth_boards")
    family = BOARDS[board].family
    tools = ["yosys", f"nextpnr-{family}", "icepack" if family == "ice40" else "ecppack"]
    try:
        toolchain_environment(tools)
    except SpikeforgeError as error:
        pytest.skip(str(error))


def _check_report(report, board):
    util = report["utilization"]
    for key in ("luts", "ffs", "brams", "dsps"):
        assert 0 <= util[key]["used"] <= util[key]["available"], (key, util[key])
    assert 100 < util["luts"]["used"] < util["luts"]["available"]
    assert 50 < util["ffs"]["used"]
    assert util["brams"]["used"] >= 1
    assert report["fmax_mhz"] is not None
    # the board clock is met with margin on these small designs
    assert report["fmax_mhz"] >= report["constraint_mhz"], report["fmax"]
    assert report["fmax_mhz"] < 500
    assert report["bitstream"]


def test_small_icebreaker_build(tmp_path):
    _require_tools("icebreaker")
    source = resolve_design("core:8x16")
    report = build_board(source, "icebreaker", tmp_path / "ice")
    _check_report(report, "icebreaker")
    assert (tmp_path / "ice" / "top.bin").stat().st_size > 100_000
    saved = json.loads((tmp_path / "ice" / "report.json").read_text())
    assert saved["fmax_mhz"] == report["fmax_mhz"] and saved["router"] is None
    # the fit estimate bounds what the build used (block RAM within one tile of it), and
    # its logic cells are within 25 % (tests/boards/test_fit.py does the same on larger
    # recorded builds)
    est = estimate(source[1].plan, "icebreaker", report["input_depth"], source[1].network.decision)
    util = report["utilization"]
    for key in ("luts", "ffs", "brams", "dsps"):
        assert getattr(est, key) >= util[key]["used"], (key, est, util)
    assert est.brams - util["brams"]["used"] <= 1, (est, util)
    assert est.luts <= 1.25 * util["luts"]["used"], (est, util)
    # --reuse: the same plan is not built again; another design, or a plan file that differs
    # (here the RTLIL), is: saved_report, what build_board asks before it runs the tools,
    # finds no build to reuse for them (that build_board then builds again, a second build
    # of ~45 s, is test_small_icebreaker_build_runs_again_for_a_changed_plan_file, slow)
    again = build_board(source, "icebreaker", tmp_path / "ice", reuse=True)
    assert again == {**saved, "reused": True}
    build_plan = _board_build_plan(source)
    assert saved_report(build_plan, tmp_path / "ice") == saved  # the plan build_board made
    other = _board_build_plan(resolve_design("core:8x12"))
    assert saved_report(other, tmp_path / "ice") is None
    # nextpnr again with a seed (bench_boards.py --seeds): its own report, the bitstream's
    # placement untouched
    placed = (tmp_path / "ice" / "top.asc").stat().st_mtime_ns
    by_seed = seed_fmax(tmp_path / "ice", [1])
    assert list(by_seed) == [1] and 12 <= by_seed[1] < 500, by_seed
    assert (tmp_path / "ice" / "seeds" / "seed1.report.json").exists()
    assert (tmp_path / "ice" / "top.asc").stat().st_mtime_ns == placed
    _change_the_rtlil(tmp_path / "ice")
    assert saved_report(build_plan, tmp_path / "ice") is None


@pytest.mark.parametrize("board,router", [("icebreaker", None), ("ulx3s-85f", None),
                                          ("ulx3s-85f", "router2")])
def test_nextpnr_seed_command_keeps_the_build_options(board, router):
    """seed_fmax's nextpnr step is the build script's own nextpnr line: the same netlist,
    device and options (the router among them), the seed added, the report and log renamed,
    no placed output."""
    plan = _board_build_plan(resolve_design("core:8x16"), board, router)
    script = plan.files["build_top.sh"]
    tool, args = nextpnr_seed_command(script, 7)
    family = BOARDS[board].family
    assert tool == f"nextpnr-{family}"
    assert args[-2:] == ["--seed", "7"]
    assert args[args.index("--report") + 1] == "seeds/seed7.report.json"
    assert args[args.index("--log") + 1] == "seeds/seed7.tim"
    assert args[args.index("--json") + 1] == "top.json"
    device = {"ice40": ["--up5k", "--package", "sg48", "--pcf", "top.pcf"],
              "ecp5": ["--85k", "--package", "CABGA381", "--lpf", "top.lpf",
                       "--placer-heap-timingweight", "20"]}[family]
    assert set(device + ["--timing-allow-fail"]) <= set(args), args
    assert (args[args.index("--router") + 1] if "--router" in args else None) == router, args
    assert not {"--asc", "top.asc", "--textcfg", "top.config", "top.report.json"} & set(args)
    # a seed sweep (build_board's seeds) keeps the placed design, beside the report
    _, kept = nextpnr_seed_command(script, 7, keep_placed=True)
    placed = {"ice40": "--asc", "ecp5": "--textcfg"}[family]
    assert kept[kept.index(placed) + 1] == f"seeds/seed7.{'asc' if family == 'ice40' else 'config'}"
    assert [a for a in kept if a not in (placed, kept[kept.index(placed) + 1])] == args
    with pytest.raises(SpikeforgeError, match="expected one nextpnr line, found 0"):
        nextpnr_seed_command("yosys top.ys\n", 1)


@pytest.mark.parametrize("board", ["icebreaker", "ulx3s-85f"])
def test_a_placement_seed_goes_to_nextpnr(board):
    """``nextpnr_seed``: the build script's nextpnr line ends with ``--seed N`` (the build
    plan differs, so a build of another seed is not reused for it); none without it."""
    family = BOARDS[board].family
    for seed in (None, 0, 2):
        plan = _board_build_plan(resolve_design("core:8x16"), board, seed=seed)
        (line,) = [ln for ln in plan.files["build_top.sh"].splitlines()
                   if ln.startswith('"$NEXTPNR_')]
        words = shlex.split(line)
        assert ("--seed" in words) == (seed is not None), line
        if seed is not None:
            assert words[words.index("--seed") + 1] == str(seed)
    assert toolchain_options(family, seed=3)["nextpnr_opts"].endswith(" --seed 3")


def test_a_failed_nextpnr_run_returns_its_error_line(tmp_path):
    """``run_nextpnr`` (a seed's placement, ``scripts/nextpnr_options.py``): None when
    nextpnr succeeds, else its last ERROR line (a netlist that is not there)."""
    _require_tools("icebreaker")
    error = run_nextpnr(tmp_path, "nextpnr-ice40", ["--up5k", "--json", "missing.json"])
    assert error is not None and "ERROR" in error and "missing.json" in error, error


def test_seed_fmax_needs_a_finished_build(tmp_path):
    with pytest.raises(ConfigError, match="--seeds: .* holds no finished build"):
        seed_fmax(tmp_path, [1])


def _board_build_plan(source, board="icebreaker", router=None, seed=None):
    """The build plan (Amaranth's) that build_board makes for ``source`` on ``board`` with
    its defaults (and nextpnr's ``router`` and ``seed``); a test that uses it for
    saved_report first checks that it finds build_board's build."""
    spec = board_spec(board, "--board")
    artifact = source[1]
    top = BoardTop(SpikeforgeSystem(artifact.plan, artifact.system), baud=115200,
                   input_depth=input_depth_for(spec.name, None, "--input-depth"), pll=None)
    return spec.make_platform().prepare(top, name="top",
                                        **toolchain_options(spec.family, router, seed))


def _change_the_rtlil(out):
    """The build's RTLIL one newline longer, older than its report: only the content tells
    it apart from the plan's."""
    il, saved_json = out / "top.il", out / "report.json"
    il.write_text(il.read_text() + "\n")
    older = saved_json.stat().st_mtime - 1
    os.utime(il, (older, older))


def test_a_seed_sweep_that_meets_nothing_keeps_the_default_placement(tmp_path):
    """``seeds``: a clock no placement of the design reaches (90 MHz on the iCE40UP5K): the
    default placement and seed 1 are tried and listed, none is kept, the default's report,
    log and bitstream stay, and the error says what was tried. (The smallest core: any
    design shows it, and its builds take about 30 % less time than core:8x16's.)"""
    _require_tools("icebreaker")
    out = tmp_path / "ice"
    with pytest.raises(SpikeforgeError, match=r"timing not met at .*1 more placement\(s\) "
                                              r"tried \(--seeds\), best"):
        build_board(resolve_design("core:2x4"), "icebreaker", out, clk_mhz=90, seeds=1)
    report = json.loads((out / "report.json").read_text())
    assert list(report["placements"]) == ["default", "1"] and report["nextpnr_seed"] is None
    assert report["timing_met"] is False
    assert report["placements"]["default"] == report["fmax_mhz"] < 90
    assert (out / "seeds" / "seed1.asc").exists() and (out / "top.bin").exists()
    default = (out / "top.report.json").read_bytes()
    assert default != (out / "seeds" / "seed1.report.json").read_bytes()
    assert "none met" in format_report(report)


@pytest.mark.slow  # a build and a second placement, ~65 s
def test_a_seed_sweep_keeps_the_first_placement_that_meets_timing(tmp_path):
    """core16x32 as bench_boards.py builds it (the board's state memories) with the PLL at
    50.25 MHz: its default placement reaches 50.1 MHz (stop 56), seed 1 53.4. The sweep keeps
    seed 1: its placed design, report and log are the build's, the bitstream is icepack's of
    that placement, the report says so and the build passes its timing check."""
    _require_tools("icebreaker")
    name, artifact = resolve_design("core:16x32")
    settings, _ = system_settings_for(artifact.plan, "icebreaker",
                                      weight_banks=artifact.system.weight_banks)
    artifact = replace(artifact, system=replace(artifact.system, **settings))
    out = tmp_path / "ice"
    report = build_board((name, artifact), "icebreaker", out, clk_mhz=50, seeds=2)
    assert report["timing_met"] and report["nextpnr_seed"] == 1
    assert list(report["placements"]) == ["default", "1"]       # stops at the first that meets
    assert report["placements"]["default"] < 50.25 <= report["placements"]["1"]
    assert report["fmax_mhz"] == report["placements"]["1"]
    for suffix in ("asc", "report.json", "tim"):
        kept = (out / "seeds" / f"seed1.{suffix}").read_bytes()
        assert (out / f"top.{suffix}").read_bytes() == kept, suffix
    env = toolchain_environment(["icepack"])
    exe = env.get("ICEPACK", "icepack")
    subprocess.run([exe, "seeds/seed1.asc", "seed1.bin"], cwd=out, check=True,
                   env={**os.environ, **env})
    assert (out / "top.bin").read_bytes() == (out / "seed1.bin").read_bytes()
    assert "seed 1 kept" in format_report(report)


@pytest.mark.slow  # a second build: test_small_icebreaker_build checks saved_report's answer
def test_small_icebreaker_build_runs_again_for_a_changed_plan_file(tmp_path):
    _require_tools("icebreaker")
    source = resolve_design("core:8x16")
    report = build_board(source, "icebreaker", tmp_path / "ice")
    _change_the_rtlil(tmp_path / "ice")
    rebuilt = build_board(source, "icebreaker", tmp_path / "ice", reuse=True)
    assert "reused" not in rebuilt and rebuilt["fmax_mhz"] == report["fmax_mhz"]


@pytest.mark.slow
def test_router2_build(tmp_path):
    """``router="router2"``: nextpnr routes with it (its log says so) and the report names
    it; the default build's report names none."""
    _require_tools("icebreaker")
    report = build_board(resolve_design("core:8x16"), "icebreaker", tmp_path / "ice",
                         router="router2")
    _check_report(report, "icebreaker")
    assert report["router"] == "router2"
    assert "Running router2" in (tmp_path / "ice" / "top.tim").read_text()


@pytest.mark.slow
def test_ulx3s_build(tmp_path):
    _require_tools("ulx3s-85f")
    source = resolve_design("core:32x64")
    report = build_board(source, "ulx3s-85f", tmp_path / "ecp5")
    _check_report(report, "ulx3s-85f")
    est = estimate(source[1].plan, "ulx3s-85f", report["input_depth"])
    assert abs(est.brams - report["utilization"]["brams"]["used"]) <= 1


@pytest.mark.slow
@pytest.mark.parametrize("board,mhz", [("icebreaker", 16), ("ulx3s-85f", 40)])
def test_pll_build(tmp_path, board, mhz):
    """A real build with the PLL (about 30 s each): the PLL output is the clock nextpnr times,
    constrained to the achieved PLL frequency, and the small core meets it."""
    _require_tools(board)
    report = build_board(resolve_design("core:8x16"), board, tmp_path / board, clk_mhz=mhz)
    _check_report(report, board)
    pll = report["pll"]
    assert pll["primitive"] == ("SB_PLL40_PAD" if board == "icebreaker" else "EHXPLLL")
    assert abs(pll["f_out_hz"] / 1e6 - mhz) <= 0.01 * mhz
    assert report["clock_mhz"] == pll["f_out_hz"] / 1e6
    # one clock timed, at the PLL frequency (not the board clock), and met
    assert len(report["fmax"]) == 1, report["fmax"]
    assert report["constraint_mhz"] == pytest.approx(pll["f_out_hz"] / 1e6, rel=1e-4)
    assert report["timing_met"] and report["fmax_mhz"] >= report["constraint_mhz"]


def test_build_refuses_bad_settings_before_any_work(tmp_path):
    """A baud of 0 was a ZeroDivisionError, an input depth of 0 became the default, a core
    of 10**10 weights was allocated (74 GiB) before anything was checked."""
    (tmp_path / "a-file").write_text("")
    for kwargs, message in [
            ({"baud": 0}, "--baud: must be a positive integer"),
            ({"baud": 9_000_000}, "--baud: baud 9000000 is too fast for a 12 MHz clock"),
            ({"input_depth": 0}, "--input-depth: must be an integer in 2..32767"),
            ({"input_depth": 40000}, "--input-depth: must be an integer in 2..32767"),
            ({"out_dir": tmp_path / "a-file"}, "--out: .*a-file exists and is not a directory"),
            ({"router": "router3"}, "--router: must be one of router1, router2, got 'router3'"),
            ({"nextpnr_seed": -1}, "--nextpnr-seed: must be a whole number >= 0, got -1"),
            ({"nextpnr_seed": True}, "--nextpnr-seed: must be a whole number >= 0, got True"),
            ({"seeds": -1}, "--seeds: must be a whole number >= 0, got -1"),
            ({"seeds": 2, "nextpnr_seed": 1}, "--seeds: tries seeds 1..N after the default "
                                              "placement; leave out --nextpnr-seed")]:
        with pytest.raises(ConfigError, match=message):
            build_board("core:4x8", "icebreaker", **kwargs)
    for kwargs, option in (({"router": "router2"}, "--router"),
                           ({"nextpnr_seed": 2}, "--nextpnr-seed"), ({"seeds": 2}, "--seeds")):
        with pytest.raises(ConfigError, match=f"{option}: an option of nextpnr; arty-a7 is "
                                              f"built by Vivado \\(leave {option} out\\)"):
            build_board("core:4x8", "arty-a7", tmp_path / "arty", **kwargs)
    with pytest.raises(ConfigError, match="100000 neurons x 100000 inputs = 10000000000 weights"):
        resolve_design("core:100000x100000")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


class _Stop(Exception):
    """Raised instead of running Yosys and nextpnr (the tests below stop at the tools)."""


def _stop_at_the_tools(monkeypatch, ran):
    """``BuildPlan.execute_local`` writes the plan's files and stops (no tools run): a build
    that gets that far is one that would run the tools."""
    from amaranth.build.run import BuildPlan

    def execute_local(self, root="build", **kwargs):
        self.extract(root)
        ran.append(root)
        raise _Stop()

    monkeypatch.setattr(BuildPlan, "execute_local", execute_local)


def _tiny_learning_design():
    """A 6-8-3 learner's learning build (tests/boards/test_learn_board.py's network):
    ``((name, artifact), config)``, made as ``spikeforge build learn:digits`` makes its own."""
    from spikeforge.boards.learning import learning_design
    from tests.boards.test_learn_board import _tiny_learner

    artifact, config = learning_design(_tiny_learner()[0])
    return ("tiny-learn", artifact), config


def test_reuse_tells_a_learning_build_from_an_inference_only_one(tmp_path, monkeypatch):
    """``--reuse`` in a directory that holds a finished inference-only build of the same
    network does not take it for the learning build (their RTLIL differs), and the other way
    round (the same comparison of the plan's files); a learning build finished there is
    reused. The tools are not run: the plan's files are written, the report faked."""
    _require_tools("ulx3s-85f")
    ran = []
    _stop_at_the_tools(monkeypatch, ran)
    source, config = _tiny_learning_design()
    out = tmp_path / "b"
    fake = {"design": "tiny-learn", "timing_met": True, "fmax": {}}

    with pytest.raises(SpikeforgeError, match="build failed"):
        build_board(source, "ulx3s-85f", out)
    (out / "report.json").write_text(json.dumps({**fake, "learning": False}))
    # an inference-only build of the network is there
    with pytest.raises(SpikeforgeError, match="build failed"):  # not reused: the tools run
        build_board(source, "ulx3s-85f", out, learning=config, reuse=True)
    assert len(ran) == 2
    # ... and write the learning build's files: with its report, that build is there
    (out / "report.json").write_text(json.dumps({**fake, "learning": True}))
    again = build_board(source, "ulx3s-85f", out, learning=config, reuse=True)
    assert again["reused"] and again["learning"] is True and len(ran) == 2


def test_learning_build_checks_its_engine(tmp_path):
    """``learning`` must be a LearningConfig; a learning spec is not an artifact here (its
    learner is made by the command line); the report's summary of the engine."""
    source, config = _tiny_learning_design()
    with pytest.raises(ConfigError, match="learning: must be a LearningConfig or None"):
        build_board(source, "icebreaker", tmp_path / "x", learning={"n_hidden": 8})
    for spec in ("learn:digits", "learn"):
        with pytest.raises(ConfigError, match="a learning build's design is made by"):
            resolve_design(spec)
    with pytest.raises(ConfigError, match="'learn:mnist': the learning build is learn:digits"):
        resolve_design("learn:mnist")
    summary = learning_summary(config)
    assert summary["sizes"] == [6, 8, 3] and learning_summary(None) is None
    assert summary["store_bits"] == [config.acc_bits(0), config.acc_bits(1)]
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_learning_board_build(tmp_path, capsys):
    """``spikeforge build learn:digits --board ulx3s-85f``: the board ``spikeforge learn
    --port`` trains (64-32-10 from the random start of seed 0, the learning engine) builds
    and meets the 25 MHz board clock (measured: 54.8 MHz), and the fit estimate bounds it
    (measured 4,555 cells, 2,641 FFs, 8 DP16KD, 6 DSP; 184-307 s)."""
    from spikeforge.cli import main

    _require_tools("ulx3s-85f")
    out = tmp_path / "learn"
    assert main(["build", "learn:digits", "--board", "ulx3s-85f", "--out", str(out)]) == 0
    assert "learning engine 64-32-10, stores of 16 and 16 bits" in capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    _check_report(report, "ulx3s-85f")
    assert report["design"] == "learn-digits64x32x10-seed0"
    assert report["learning"]["sizes"] == [64, 32, 10] and report["estimate"]["learning"]
    for key in ("luts", "ffs", "brams", "dsps"):
        assert report["estimate"][key] >= report["utilization"][key]["used"], key
