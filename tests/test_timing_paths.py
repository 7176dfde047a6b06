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
