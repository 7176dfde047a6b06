"""scripts/timing_paths.py on a netlist and a report small enough to count by hand."""

import importlib.util
import json
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "scripts" / "timing_paths.py"
_SPEC = importlib.util.spec_from_file_location("timing_paths", _PATH)
timing_paths = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(timing_paths)


def _cell(kind, **ports):
    """A cell of ``kind``; ports are ``name=(direction, bits)``."""
    return {"type": kind, "port_directions": {p: d for p, (d, _) in ports.items()},
            "connections": {p: b for p, (_, b) in ports.items()}}


def _ff(d, q, e=None):
    enable = {"E": ("input", [e])} if e else {}
    return _cell("SB_DFFE", C=("input", [1]), D=("input", [d]), Q=("output", [q]), **enable)


def _lut(inputs, o):
    i = list(inputs) + ["0"] * (4 - len(inputs))
    return _cell("SB_LUT4", I0=("input", i[:1]), I1=("input", i[1:2]), I2=("input", i[2:3]),
                 I3=("input", i[3:4]), O=("output", [o]))


def _netlist():
    """a (FF, bit 2) -> LUT -> LUT -> carry -> b.D (FF, bit 9); c (FF, bit 3) -> LUT -> c.E."""
    cells = {
        "a_SB_DFFE_Q": _ff(20, 2),
        "l1": _lut([2, 3], 5), "l2": _lut([5], 6),
        "k": _cell("SB_CARRY", I0=("input", [6]), I1=("input", ["0"]), CI=("input", ["0"]),
                   CO=("output", [7])),
        "b_SB_DFFE_Q": _ff(7, 9),
        "c_SB_DFFE_Q": _ff(21, 3, e=8), "l3": _lut([3], 8),
    }
    names = {"a": {"bits": [2]}, "c": {"bits": [3]}, "b": {"bits": [9]},
             "n5": {"bits": [5]}, "n6": {"bits": [6]}, "n7": {"bits": [7]}, "n8": {"bits": [8]}}
    return {"modules": {"top": {"attributes": {"top": 1}, "cells": cells, "netnames": names}}}


def test_levels_count_luts_and_carries_from_the_register_they_start_at():
    lines = timing_paths.levels_report(_netlist(), minimum=0)
    assert lines[0] == " 2.05  b .D  x1  from a"  # two LUTs and a carry, from a
    assert "1.00  c .E  x1  from c" in lines[1]
    assert timing_paths.levels_report(_netlist(), minimum=2.1) == []


def test_levels_trace_names_the_cells_of_the_longest_path():
    lines = timing_paths.levels_report(_netlist(), minimum=2, trace="b")
    assert lines[1:] == ["b .D (2.05 levels)", "    <- n7 [SB_CARRY]",
                         "    <- n6 [SB_LUT4]", "    <- n5 [SB_LUT4]", "    <- a [SB_DFFE]"]


def test_endpoints_group_by_register_and_keep_the_worst():
    report = {"detailed_net_timings": [
        {"driver": "x", "port": "O", "endpoints": [
            {"cell": "reg_SB_DFFESR_Q_1_DFFLC", "port": "I0", "delay": [1.0, 19.5]},
            {"cell": "reg_SB_DFFESR_Q_2_DFFLC", "port": "I0", "delay": [1.0, 20.5]},
            {"cell": "other$12_SB_DFF_Q", "port": "I1", "delay": [1.0, 18.0]}]}]}
    assert timing_paths.endpoints_report(report, above=19.0) == [" 20.5 ns  x2   reg"]
    assert timing_paths.endpoints_report(report, above=17.0)[1] == " 18.0 ns  x1   other$12"


def test_endpoints_by_kind_count_the_registers_of_each_kind_above_the_threshold():
    """Block RAM cells of one memory kind in several cores are one kind (their cell index
    within the memory dropped, numbers as N); a register below the threshold is not
    counted; the worst of each kind is kept."""
    def end(cell, delay):
        return {"cell": cell, "port": "A", "delay": [1.0, delay]}

    report = {"detailed_net_timings": [{"driver": "x", "port": "O", "endpoints": [
        end("s.core_0_2.mem_w_3.0.8", 10.7), end("s.core_0_1.mem_w_2.0.15", 9.9),
        end("s.core_0_1.mem_w_2.0.15", 9.0), end("s.core_0_0.mem_x0_2.0.20$DPRAM_COMB3", 8.9),
        end("s.core_0_0.mem_x1_2.0.20$DPRAM_COMB1", 8.6), end("s.ctrl.wait_TRELLIS_FF_Q", 8.9),
        end("s.ctrl.pending_TRELLIS_FF_Q", 7.0)]}]}
    assert timing_paths.endpoints_report(report, above=7.8, by_kind=True) == [
        " 10.7 ns  x2    s.core_N_N.mem_w_N", "  8.9 ns  x2    s.core_N_N.mem_xN_N",
        "  8.9 ns  x1    s.ctrl.wait", "5 registers of 3 kinds"]
    assert timing_paths.endpoints_report(report, above=11.0, by_kind=True) == []


def test_a_report_without_detail_is_refused_in_one_line(tmp_path, capsys):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"critical_paths": []}))
    with pytest.raises(SystemExit, match="--detailed-timing-report"):
        timing_paths.main(["endpoints", str(path)])


def test_a_register_named_after_a_neighbour_is_shown_with_its_source_line():
    netlist = _netlist()
    module = netlist["modules"]["top"]
    module["netnames"]["b_SB_LUT4_I3_O"] = module["netnames"].pop("b")
    module["cells"]["b_SB_DFFE_Q"]["attributes"] = {"src": "/x/hdl/core.py:478|ff_map.v:1"}
    assert timing_paths.levels_report(netlist, minimum=2)[0].startswith(
        " 2.05  b (core.py:478) .D  x1")


#: a nextpnr-ice40 log cut to its timing part (the shape of a build's top.tim): a clock's
#: critical path through a LUT and two carries, then a cross-domain path that is not counted
_LOG = """Info: Critical path report for clock 'board.clk' (posedge -> posedge):
Info:       type curr  total name
Info:   clk-to-q  1.39  1.39 Source board.engine.held_SB_DFFESR_Q_3_DFFLC.O
Info:    routing  2.95  4.34 Net board.engine.held[3] (5,7) -> (5,11)
Info:                          Sink board.engine.sum_SB_LUT4_O_LC.I0
Info:      logic  1.28  5.63 Source board.engine.sum_SB_LUT4_O_LC.O
Info:    routing  1.76  7.39 Net board.engine.sum (5,11) -> (5,12)
Info:      logic  0.28  7.67 Source board.engine.count_SB_DFFESR_Q_1_D_SB_LUT4_O_LC.COUT
Info:      logic  0.28  7.95 Source board.engine.count_SB_DFFESR_Q_D_SB_LUT4_O_LC.COUT
Info:    routing  1.00  8.95 Net board.engine.carry (5,12) -> (5,13)
Info:      setup  0.82  9.77 Source board.engine.count_SB_DFFESR_Q_D_SB_LUT4_O_LC.I3
Info: 3.23 ns logic, 6.54 ns routing

Info: Critical path report for cross-domain path '<async>' -> 'posedge board.clk':
Info:       type curr  total name
Info:     source  0.00  0.00 Source uart_rx_pin.buf0.D_IN_0
Info:      setup  0.82  4.86 Source board.uart_rx.rx_SB_LUT4_I3_LC.I3
Info: 0.82 ns logic, 4.04 ns routing

Warning: Max frequency for clock 'board.clk': 102.35 MHz (FAIL at 120.00 MHz)
"""


def test_critical_reads_each_clocks_path_from_a_nextpnr_log(tmp_path, capsys):
    (path,) = timing_paths.critical_paths(_LOG)
    assert path == {"clock": "board.clk", "fmax": 102.35, "logic": 3.23, "routing": 6.54,
                    "luts": 1, "carries": 2, "start": "board.engine.held",
                    "end": "board.engine.count"}
    (tmp_path / "a.tim").write_text(_LOG)
    (tmp_path / "b.tim").write_text("Info: Program finished normally.\n")
    assert timing_paths.main(["critical", str(tmp_path / "a.tim"), str(tmp_path / "b.tim")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("a.tim: 102.3 MHz, 3.2 ns logic + 6.5 routing, 1 LUTs + 2 carries: "
                           "board.engine.held -> board.engine.count")
    assert out[1].endswith("b.tim: no critical path report (not a nextpnr log?)")
    with pytest.raises(SystemExit):
        timing_paths.main(["critical", str(tmp_path / "missing.tim")])
    assert "missing.tim: No such file or directory" in capsys.readouterr().err
