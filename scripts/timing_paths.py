"""Where an iCE40 build's timing goes: LUT levels per register, and nextpnr's near-critical
endpoints -- the two views behind issue 10's iCE40 work (docs/boards.md, "Stop 35").

    .venv/bin/python scripts/timing_paths.py levels BUILD/top.json     # BUILD: a board build
    .venv/bin/python scripts/timing_paths.py levels top.json --min 6 --trace board.engine.o_code
    .venv/bin/python scripts/timing_paths.py endpoints report.json --above 19
    .venv/bin/python scripts/timing_paths.py endpoints report.json --above 7.8 --by-kind
    .venv/bin/python scripts/timing_paths.py critical BUILD/top.tim BUILD/seeds/*.tim

``levels`` reads Yosys's netlist (``top.json`` of a build, after ``synth_ice40``) and counts,
for every flip-flop and block RAM input, the LUTs (``SB_LUT4``, 1 each) on the longest
combinational path into it (an ``SB_CARRY`` counts 0.05: a carry chain is fast, 0.28 ns a
bit on the UP5K, where a LUT and its routing cost 2.5-4 ns). It prints one line per group of
inputs (the register's name, its port, the register the path starts from) at ``--min`` levels
or more. A placed iCE40 path of 5 LUT levels takes 20-23 ns, so at 50 MHz every register
should be 4 levels or fewer. ``--trace NAME`` prints the cells of the longest path into every
register whose name starts with NAME.

``endpoints`` reads a nextpnr report written with ``--report R --detailed-timing-report`` and
prints, per register, the largest of nextpnr's delay figures for its inputs (the second
value of each endpoint's ``delay`` pair), those above ``--above`` ns, and the critical path
for scale: its figure sits about 1 ns below the critical path's total. ``--by-kind`` counts
them instead, by kind: a register's name with every number as ``N`` and a cell's index
within its memory dropped (``core_0_2.mem_w_3.0.8`` and ``core_0_1.mem_w_2.0.15`` are two
cells of ``core_N_N.mem_w_N``), the worst of each kind and how many registers or block RAM
cells it has above the threshold -- where an ECP5 design's misses lie, as a census (stop 80).

``critical`` reads nextpnr logs (``--log``: a build's ``top.tim``, a seed's or an option's
``.tim``) and prints, per log and clock, the critical path in one line: Fmax, its logic and
routing in ns, the LUTs and carries on it, and the registers it runs from and to -- what
changes from one placement of a netlist to the next (docs/boards.md, "Stop 57").
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from functools import lru_cache

#: combinational iCE40 cells: their inputs and their weight in levels
COMBINATIONAL = {"SB_LUT4": (("I0", "I1", "I2", "I3"), 1.0),
                 "SB_CARRY": (("I0", "I1", "CI"), 0.05)}
CLOCKS = {"C", "CLK", "RCLK", "WCLK"}


def top_module(netlist: dict) -> dict:
    tops = [m for m in netlist["modules"].values() if m.get("attributes", {}).get("top")]
    if len(tops) != 1:
        raise SystemExit(f"top.json: expected one top module, found {len(tops)}")
    return tops[0]


def register_name(cell: str) -> str:
    """The register a mapped cell belongs to: its name up to Yosys's first suffix (iCE40
    ``_SB_...``, ECP5 ``_TRELLIS_...``)."""
    return re.sub(r"_(SB|TRELLIS)_.*", "", cell)


class Levels:
    """LUT levels into every input of a netlist's sequential cells (see the module doc)."""

    def __init__(self, netlist: dict):
        module = top_module(netlist)
        self.cells = module["cells"]
        self.names = {}
        for name, net in module["netnames"].items():
            for i, bit in enumerate(net["bits"]):
                label = name if len(net["bits"]) == 1 else f"{name}[{i}]"
                if isinstance(bit, int) and (bit not in self.names
                                             or len(label) < len(self.names[bit])):
                    self.names[bit] = label
        self.driver = {}
        for cell_name, cell in self.cells.items():
            for port, direction in cell["port_directions"].items():
                if direction == "output":
                    for bit in cell["connections"][port]:
                        self.driver[bit] = (cell_name, port)
        self.depth = lru_cache(maxsize=None)(self._depth)

    def _depth(self, bit) -> tuple[float, object]:
        """(levels, the bit the longest path starts from); constants and inputs: (-0.5, None)."""
        if not isinstance(bit, int) or bit not in self.driver:
            return -0.5, None
        cell = self.cells[self.driver[bit][0]]
        if cell["type"] not in COMBINATIONAL:
            return 0.0, bit
        worst = self._worst_input(cell)
        best = self.depth(worst) if worst is not None else (-0.5, None)
        return max(best[0], 0.0) + COMBINATIONAL[cell["type"]][1], best[1]

    def _worst_input(self, cell: dict):
        """The input bit of a combinational cell with the longest path (a register's over a
        constant's at equal levels), or None for a cell without inputs."""
        bits = [b for p in COMBINATIONAL[cell["type"]][0] for b in cell["connections"].get(p, [])]
        return max(bits, key=lambda b: (self.depth(b)[0], self.depth(b)[1] is not None),
                   default=None)

    def endpoints(self):
        """``(levels, source bit, cell, port, bit)`` of every sequential cell input."""
        for cell_name, cell in self.cells.items():
            if cell["type"] in COMBINATIONAL:
                continue
            for port, direction in cell["port_directions"].items():
                if direction != "input" or port in CLOCKS:
                    continue
                for bit in cell["connections"][port]:
                    levels, source = self.depth(bit)
                    yield levels, source, cell_name, port, bit

    def cell_name(self, cell_name: str) -> str:
        """A sequential cell's name: the design's name of the net on its first output bit (a
        flip-flop's Q). Where Yosys named that net after a neighbouring cell (``_SB_`` in
        it; the ``ctrl.quiet_SB_LUT4_I3_O`` flip-flop is a core's ``idle``), the name is
        followed by the cell's source line, which says what it is."""
        cell = self.cells[cell_name]
        outputs = [bits[0] for port, bits in cell["connections"].items()
                   if cell["port_directions"][port] == "output" and bits]
        name = self.names.get(outputs[0]) if outputs else None
        if name is not None and "_SB_" not in name:
            return name.split("[")[0]
        src = cell.get("attributes", {}).get("src", "").split("|")[0]
        where = f" ({src.rsplit('/', 1)[-1]})" if src else ""
        return register_name(name or cell_name).split("[")[0] + where

    def source_name(self, source) -> str:
        return self.names.get(source, str(source)) if source is not None else "(constant)"

    def trace(self, bit) -> list[str]:
        """The cells of the longest path into ``bit``, from the sink back to its source."""
        out = []
        while isinstance(bit, int) and bit in self.driver:
            cell = self.cells[self.driver[bit][0]]
            out.append(f"{self.names.get(bit, bit)} [{cell['type']}]")
            if cell["type"] not in COMBINATIONAL:
                break
            bit = self._worst_input(cell)
        return out


def levels_report(netlist: dict, minimum: float, trace: str | None = None) -> list[str]:
    levels = Levels(netlist)
    groups = defaultdict(int)
    traced = []
    for n, source, cell, port, bit in levels.endpoints():
        if n < minimum:
            continue
        sink = levels.cell_name(cell)
        groups[(round(n, 2), sink, port,
                register_name(levels.source_name(source)).split("[")[0])] += 1
        if trace and sink.startswith(trace):
            traced.append(f"{sink} .{port} ({n:g} levels)")
            traced += [f"    <- {step}" for step in levels.trace(bit)]
    lines = [f"{n:5.2f}  {sink} .{port}  x{count}  from {source}"
             for (n, sink, port, source), count in sorted(groups.items(), reverse=True)]
    return lines + traced


def register_kind(name: str) -> str:
    """What kind of register ``name`` is (``endpoints --by-kind``): a cell's index within its
    memory (``.0.8``, ``$DPRAM_COMB3``) dropped, every other number ``N``."""
    name = re.sub(r"(\.\d+)+$", "", re.sub(r"\$DPRAM.*$", "", name))
    return re.sub(r"\d+", "N", name)


def kinds_report(worst: dict) -> list[str]:
    """``worst`` (register -> [delay, endpoints]) counted by :func:`register_kind`: the
    worst delay of each kind, its registers, and a total line."""
    kinds = defaultdict(lambda: [0.0, 0])
    for name, (delay, _) in worst.items():
        entry = kinds[register_kind(name)]
        entry[0] = max(entry[0], delay)
        entry[1] += 1
    lines = [f"{delay:5.1f} ns  x{count:<4d} {kind}"
             for kind, (delay, count) in sorted(kinds.items(), key=lambda kv: (-kv[1][1], kv[0]))]
    if lines:
        lines.append(f"{len(worst)} registers of {len(kinds)} kinds")
    return lines


def endpoints_report(report: dict, above: float, by_kind: bool = False) -> list[str]:
    if "detailed_net_timings" not in report:
        raise SystemExit("the report has no detailed_net_timings: run nextpnr with "
                         "--detailed-timing-report")
    worst = defaultdict(lambda: [0.0, 0])
    for net in report["detailed_net_timings"]:
        for end in net["endpoints"]:
            if end["delay"][1] >= above:
                entry = worst[register_name(end["cell"])]
                entry[0] = max(entry[0], end["delay"][1])
                entry[1] += 1
    if by_kind:
        return kinds_report(worst)
    lines = [f"{delay:5.1f} ns  x{count:<3d} {name}"
             for name, (delay, count) in sorted(worst.items(), key=lambda kv: -kv[1][0])]
    for path in report.get("critical_paths", []):
        total = sum(step["delay"] for step in path["path"])
        lines.append(f"critical path {path['from']} -> {path['to']}: {total:.1f} ns, from "
                     f"{register_name(path['path'][0]['from']['cell'])} to "
                     f"{register_name(path['path'][-1]['to']['cell'])}")
    return lines


_CLOCK_REPORT = re.compile(r"Critical path report for clock '([^']+)'")
_STEP = re.compile(r"^Info:\s+(clk-to-q|logic|setup|routing)\s+[\d.]+\s+[\d.]+\s+"
                   r"(?:Source|Net) (\S+)")
_TOTALS = re.compile(r"^Info: ([\d.]+) ns logic, ([\d.]+) ns routing")
_FMAX = re.compile(r"Max frequency for clock '([^']+)': ([\d.]+) MHz")


def critical_paths(log: str) -> list[dict]:
    """Each clock's critical path in a nextpnr log: ``clock``, ``fmax`` (MHz, None if the
    log has none), ``logic`` and ``routing`` (ns), ``luts``, ``carries`` and the registers
    ``start`` and ``end`` (:func:`register_name` of the first and the last cell)."""
    paths, current = [], None
    # the last "Max frequency" of a clock is the routed one (the first, the placer's estimate)
    fmax = {m.group(1): float(m.group(2)) for m in _FMAX.finditer(log)}
    for line in log.splitlines():
        if "Critical path report for" in line:
            clock = _CLOCK_REPORT.search(line)
            current = None
            if clock:  # a clock domain's own paths, not a cross-domain report
                current = {"clock": clock.group(1), "cells": [], "luts": 0, "carries": 0}
                paths.append(current)
            continue
        if current is None:
            continue
        step, totals = _STEP.match(line), _TOTALS.match(line)
        if step and step.group(1) != "routing":
            cell = step.group(2).rsplit(".", 1)
            current["cells"].append(cell[0])
            if step.group(1) == "logic":
                # a carry's output: the iCE40's COUT, the ECP5's FCO
                current["carries" if cell[-1] in ("COUT", "FCO") else "luts"] += 1
        elif totals:
            current.update(logic=float(totals.group(1)), routing=float(totals.group(2)))
            current = None
    return [{"clock": p["clock"], "fmax": fmax.get(p["clock"]), "logic": p.get("logic"),
             "routing": p.get("routing"), "luts": p["luts"], "carries": p["carries"],
             "start": register_name(p["cells"][0]), "end": register_name(p["cells"][-1])}
            for p in paths if p["cells"]]


def critical_report(logs: dict[str, str]) -> list[str]:
    lines = []
    for name, log in logs.items():
        paths = critical_paths(log)
        if not paths:
            lines.append(f"{name}: no critical path report (not a nextpnr log?)")
        for p in paths:
            fmax = "?" if p["fmax"] is None else f"{p['fmax']:.1f}"
            lines.append(f"{name}: {fmax} MHz, {p['logic']:.1f} ns logic + {p['routing']:.1f} "
                         f"routing, {p['luts']} LUTs + {p['carries']} carries: "
                         f"{p['start']} -> {p['end']}")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="view", required=True)
    lv = sub.add_parser("levels", help="LUT levels into every register (Yosys's top.json)")
    lv.add_argument("netlist", type=argparse.FileType("r"))
    lv.add_argument("--min", type=float, default=5.0, help="print groups with at least this")
    lv.add_argument("--trace", metavar="NAME", help="the longest path into registers NAME...")
    ep = sub.add_parser("endpoints", help="near-critical registers (nextpnr's detailed report)")
    ep.add_argument("report", type=argparse.FileType("r"))
    ep.add_argument("--above", type=float, default=19.0, metavar="NS")
    ep.add_argument("--by-kind", action="store_true",
                    help="count the registers above the threshold by kind (numbers as N)")
    cp = sub.add_parser("critical", help="each placement's critical path (nextpnr logs)")
    cp.add_argument("logs", nargs="+", metavar="LOG")
    args = parser.parse_args(argv)
    if args.view == "critical":
        logs = {}
        for path in args.logs:
            try:
                with open(path) as f:
                    logs[path] = f.read()
            except OSError as error:
                parser.error(f"{path}: {error.strerror}")
        print("\n".join(critical_report(logs)))
        return 0
    try:
        data = json.load(args.netlist if args.view == "levels" else args.report)
    except json.JSONDecodeError as error:
        parser.error(f"not a JSON file: {error}")
    lines = (levels_report(data, args.min, args.trace) if args.view == "levels"
             else endpoints_report(data, args.above, args.by_kind))
    print("\n".join(lines) if lines else "nothing above the threshold")
    return 0


if __name__ == "__main__":
    sys.exit(main())
