"""Block RAM and multiplier output registers on the ECP5: a netlist pass between Yosys and
nextpnr (docs/boards.md, "Stop 38" and "Stop 39").

    .venv/bin/python -m spikeforge.boards.outreg BUILD/top.json    # rewrites it in place

(the ECP5 builds of :func:`spikeforge.boards.build.build_board` run it between Yosys and
nextpnr: their ``build_top.sh`` calls it.)

Yosys maps every memory read port onto a ``DP16KD`` without its output register
(``REGMODE_A/B = "NOREG"``), whose data leave the block RAM 5.83 ns after the clock edge in
nextpnr's ECP5 timing model (speed grade 6); with the output register (``"OUTREG"``) they
leave after 0.96 ns. At 120 MHz (8.33 ns) the first leaves 2.5 ns to reach any flip-flop;
the weight banks' registers and the board's input buffer were the critical paths of every
banked MNIST build on the ULX3S (stop 37).

For each port (A or B) of each ``DP16KD`` the pass checks that

* the block RAM is not in its 36-bit mode (one read over both ports' outputs), the port
  has no output register yet, its output clock enable ``OCE`` is tied to 1 and
  its reset ``RST`` to 0, and its clock is not inverted;
* every data output bit that drives anything drives exactly one cell: a ``TRELLIS_FF``'s
  data input, or a ``LUT4`` that passes the bit through unchanged and drives nothing but
  that flip-flop;
* each such flip-flop is a plain register on the port's clock: rising edge, no clock
  enable, no set or reset (``LSR`` tied to 0), reset value 0, under the global reset
  exactly as the block RAM (``GSR`` equal);
* and the RTL asked for it: the register's signal carries the attribute
  ``spikeforge_outreg`` (:data:`ATTRIBUTE`). A register behind a block RAM is not always
  better inside it: the route from the block RAM to the logic the register feeds then
  lands in that logic's cycle (stop 38: the one-memory core's ``p_w`` inside its DP16KD
  made the 784-64-10 builds slower, 90-102 MHz against 107-113);

then ``REGMODE`` becomes ``"OUTREG"``, each output bit drives the flip-flop's ``Q`` net,
and the flip-flop (and the LUT) is removed. This is exact: with ``OUTREG`` the port's output
is its ``NOREG`` output registered on the port's clock, enabled by ``OCE`` (here 1), reset
by ``RST`` (here 0) and by the global reset to 0 (Lattice TN1264, *ECP5 and ECP5-5G Memory
Usage Guide*), which is what the removed flip-flop computed. A port that fails a check is
left as it is, with the first reason, in the summary.

**Multipliers.** Yosys maps a product onto a ``MULT18X18D`` without registers; nextpnr's
model then has the product 3.93 ns after its inputs, and the route from the DSP to a
flip-flop follows (stop 38's 64-lane MNIST build: ``s0_v`` -> DSP -> ``s1_pv``, 9.3 ns).
With the output register (``REG_OUTPUT_CLK``) the inputs have a 3.49 ns setup to it and the
route out starts a new cycle. For each ``MULT18X18D`` the pass checks that it uses no
register of its own (``REG_*_CLK`` all ``"NONE"``, as Yosys maps it) and that its clock,
enable and reset 0 are free, and then, as for a block RAM port, that every used output bit
drives one plain flip-flop (all on one clock and one global reset setting; no mark needed:
the registers right behind a product are the update lanes' ``s1_pv_<k>`` and
``s1_pa_<k>``, each with a plain copy ``s1b_*`` behind it, so the route out of the DSP has
a cycle of its own, and an attribute on them would renumber every core's Verilog, which
the mutation campaign's draw keys on); then
the output register is clocked by ``CLK0`` with ``CE0`` tied to 1 and ``RST0`` to 0, ``GSR``
set as the flip-flops', and the flip-flops go. Exact for the same reason: the output
register is the product registered on that clock, enabled always, never reset but by the
global reset (Lattice's sysDSP documentation: each register of the block takes one of its
clocks, enables and resets CLK0-3, CE0-3, RST0-3; the Yosys ``MULT18X18D`` black box
names the parameters). Its power-up value is not relied on: the products moved are data
registers without a reset, read only under valid bits of their own.

The registers the RTL marks: ``w_out_<b>`` behind each weight bank (``hdl/core.py``),
whose banks read a cycle ahead so that the register costs no cycle -- the next register
(``p_w_<k>``) stays in the fabric, near the logic it feeds, and takes the route across the
die from the block RAM (2-3 ns) in a cycle of its own -- and the board engine's
``landed_data`` behind its input buffer, which a FIFO register follows.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from spikeforge.hdl.core import OUTREG_ATTRIBUTE as ATTRIBUTE

__all__ = ["ATTRIBUTE", "absorb_output_registers", "main"]

_CONST = ("0", "1", "x", "z")
#: a MULT18X18D's registers (Yosys's mapping uses none) and the controls of the one set
#: that its output register takes here
_MULT_REGISTERS = ("REG_INPUTA_CLK", "REG_INPUTB_CLK", "REG_INPUTC_CLK", "REG_PIPELINE_CLK",
                   "REG_OUTPUT_CLK")
_MULT_CONTROLS = ("CLK0", "CE0", "RST0")


def _param(cell, name, default=""):
    """A cell parameter as a string (Yosys pads some string values with a space)."""
    value = cell["parameters"].get(name, default)
    return value.strip() if isinstance(value, str) else str(value)


def _int_param(cell, name) -> int | None:
    """An integer cell parameter (Yosys writes them as binary strings), or None."""
    value = _param(cell, name)
    return int(value, 2) if value and set(value) <= {"0", "1"} else None


def _sinks(cells, ports) -> dict:
    """net bit -> [(cell name, port, index)] of every cell input and top output reading it."""
    readers = defaultdict(list)
    for name, cell in cells.items():
        for port, bits in cell["connections"].items():
            if cell["port_directions"].get(port) == "input":
                for i, bit in enumerate(bits):
                    if bit not in _CONST:
                        readers[bit].append((name, port, i))
    for port, info in ports.items():
        if info["direction"] != "input":
            for i, bit in enumerate(info["bits"]):
                readers[bit].append((None, port, i))
    return readers


def _passes_through(lut, bit) -> bool:
    """True if the LUT4 ``lut`` outputs ``bit`` for every value of its other inputs."""
    init = _param(lut, "INIT")
    if len(init) != 16 or set(init) - {"0", "1"}:
        return False
    pins = [lut["connections"].get(p, ["0"])[0] for p in "ABCD"]
    free = sorted({p for p in pins if p not in _CONST and p != bit}, key=str)
    for v in (0, 1):
        for k in range(1 << len(free)):
            values = {f: (k >> i) & 1 for i, f in enumerate(free)}
            index = 0
            for i, pin in enumerate(pins):
                x = v if pin == bit else values[pin] if pin in values else int(pin == "1")
                index |= x << i
            if int(init[15 - index]) != v:
                return False
    return True


def _plain_register(ff, clock, gsr) -> str | None:
    """None if the TRELLIS_FF ``ff`` is a plain register on ``clock`` under the global reset
    setting ``gsr``, else why not."""
    c = ff["connections"]
    if c.get("CLK", [None])[0] != clock or _param(ff, "CLKMUX", "CLK") != "CLK":
        return "its flip-flop is on another clock or edge"
    ce_mux = _param(ff, "CEMUX", "1")
    if not (ce_mux == "1" or (ce_mux == "CE" and c.get("CE", ["1"])[0] == "1")):
        return "its flip-flop has a clock enable"
    lsr = c.get("LSR", ["0"])[0]
    if not (lsr == "0" and _param(ff, "LSRMUX", "LSR") == "LSR") \
            or _param(ff, "LSRMODE", "LSR") == "PRLD":
        return "its flip-flop has a set or reset"
    if _param(ff, "REGSET", "RESET") != "RESET":
        return "its flip-flop resets to 1"
    if _param(ff, "GSR", "ENABLED") != gsr:
        return "its flip-flop's global reset differs from the block's"
    return None


def _marked(netnames) -> set:
    """The net bits of every signal that carries :data:`ATTRIBUTE`."""
    bits = set()
    for net in netnames.values():
        value = net.get("attributes", {}).get(ATTRIBUTE)
        if value is not None and set(str(value).strip()) - {"0"}:  # Yosys: "000...01"
            bits.update(b for b in net["bits"] if b not in _CONST)
    return bits


def _port_plan(bram, port, cells, readers, marked):
    """For port ``port`` ("A"/"B") of the DP16KD ``bram``: ([(bit index, output bit, ff name,
    lut name or None)], None), or (None, reason)."""
    c = bram["connections"]
    if not any(readers.get(c.get(f"DO{port}{i}", ["x"])[0]) for i in range(18)):
        return None, "drives nothing"
    if 36 in (_int_param(bram, "DATA_WIDTH_A"), _int_param(bram, "DATA_WIDTH_B")):
        return None, "36-bit mode (one read over both ports)"
    if _param(bram, f"REGMODE_{port}", "NOREG") != "NOREG":
        return None, "has its output register already"
    if c.get(f"OCE{port}", ["1"])[0] != "1" or c.get(f"RST{port}", ["0"])[0] != "0":
        return None, f"OCE{port} or RST{port} is not tied off"
    if _param(bram, f"CLK{port}MUX", f"CLK{port}") != f"CLK{port}":
        return None, "its clock is inverted"
    return _registers_behind([(f"DO{port}{i}", c.get(f"DO{port}{i}", ["x"])[0])
                              for i in range(18)], c.get(f"CLK{port}", [None])[0],
                             _param(bram, "GSR", "ENABLED"), cells, readers, marked)


def _registers_behind(outputs, clock, gsr, cells, readers, marked=None):
    """For a block's outputs ``[(pin, net bit)]``: ([(pin, net bit, ff name, lut name or
    None)], None) if every one that drives anything drives a plain (marked) register on
    ``clock`` under the global reset setting ``gsr`` (``None``: any, the same for all),
    through a pass-through LUT4 or not (``marked``: the marked net bits; ``None``: no mark
    needed); else (None, the first reason)."""
    moves = []
    for pin_out, bit in outputs:
        if bit in _CONST or not readers.get(bit):
            continue
        sink = readers[bit]
        if len(sink) != 1 or sink[0][0] is None:
            return None, f"{pin_out} drives {len(sink)} inputs"
        cell_name, pin, _ = sink[0]
        lut = None
        if cells[cell_name]["type"] == "LUT4":
            lut = cell_name
            if not _passes_through(cells[lut], bit):
                return None, f"{pin_out} goes through logic"
            z = cells[lut]["connections"]["Z"][0]
            if len(readers.get(z, [])) != 1 or readers[z][0][0] is None:
                return None, f"{pin_out}'s buffer drives more than a flip-flop"
            cell_name, pin, _ = readers[z][0]
        if cells[cell_name]["type"] != "TRELLIS_FF" or pin != "DI":
            return None, f"{pin_out} does not reach a flip-flop's data input"
        ff = cells[cell_name]
        clock = ff["connections"].get("CLK", [None])[0] if clock is None else clock
        gsr = _param(ff, "GSR", "ENABLED") if gsr is None else gsr
        why = _plain_register(ff, clock, gsr)
        if why:
            return None, f"{pin_out}: {why}"
        if marked is not None and ff["connections"]["Q"][0] not in marked:
            return None, f"its registers are not marked {ATTRIBUTE}"
        moves.append((pin_out, bit, cell_name, lut))
    return moves, None


def _mult_plan(mult, cells, readers):
    """For the MULT18X18D ``mult``: ([(pin, output bit, ff name, lut name or None)], None),
    or (None, reason)."""
    c = mult["connections"]
    outputs = [(f"P{i}", c.get(f"P{i}", ["x"])[0]) for i in range(36)]
    if not any(readers.get(bit) for _, bit in outputs):
        return None, "drives nothing"
    if any(_param(mult, name, "NONE") != "NONE" for name in _MULT_REGISTERS):
        return None, "uses registers of its own"
    if any(c.get(pin, ["x"])[0] not in _CONST for pin in _MULT_CONTROLS):
        return None, "its clock, enable or reset 0 is in use"
    # the block's global reset setting is then the registers' (it has no other register)
    return _registers_behind(outputs, None, None, cells, readers)


def absorb_output_registers(netlist: dict) -> dict:
    """Move plain registers behind DP16KD read ports and MULT18X18D outputs into the blocks
    (module docstring), in place. Returns the summary: ``ports`` absorbed, ``registers``
    removed, ``luts`` removed, ``skipped`` {reason: ports}, ``brams`` seen; ``mults`` seen,
    ``mult_outputs`` absorbed, ``mult_registers`` removed, ``mult_skipped`` {reason: count}."""
    # Yosys writes integer attributes as binary strings
    top = next(m for m in netlist["modules"].values()
               if int(m.get("attributes", {}).get("top", "0"), 2))
    cells = top["cells"]
    readers = _sinks(cells, top.get("ports", {}))
    marked = _marked(top.get("netnames", {}))
    summary = {"brams": 0, "ports": 0, "registers": 0, "luts": 0, "skipped": defaultdict(int),
               "mults": 0, "mult_outputs": 0, "mult_registers": 0,
               "mult_skipped": defaultdict(int)}
    removed, dead = set(), set()

    def take(block, moves):
        """Each output drives its register's Q net; the register (and LUT) go."""
        for pin, bit, ff, lut in moves:
            block["connections"][pin] = [cells[ff]["connections"]["Q"][0]]
            dead.add(bit)
            removed.add(ff)
            if lut:
                dead.add(cells[lut]["connections"]["Z"][0])
                removed.add(lut)
                summary["luts"] += 1

    for name in sorted(cells):
        block = cells[name]
        if block["type"] == "DP16KD":
            summary["brams"] += 1
            for port in "AB":
                moves, why = _port_plan(block, port, cells, readers, marked)
                if moves is None:
                    if why != "drives nothing":
                        summary["skipped"][f"port {port}: {why.split(': ', 1)[-1]}"] += 1
                    continue
                block["parameters"][f"REGMODE_{port}"] = "OUTREG"
                take(block, moves)
                summary["registers"] += len(moves)
                summary["ports"] += 1
        elif block["type"] == "MULT18X18D":
            summary["mults"] += 1
            moves, why = _mult_plan(block, cells, readers)
            if moves is None:
                if why != "drives nothing":
                    summary["mult_skipped"][why.split(": ", 1)[-1]] += 1
                continue
            ff = cells[moves[0][2]]
            clock = ff["connections"]["CLK"][0]
            block["parameters"].update(REG_OUTPUT_CLK="CLK0", REG_OUTPUT_CE="CE0",
                                       REG_OUTPUT_RST="RST0", GSR=_param(ff, "GSR", "ENABLED"))
            for pin, net in (("CLK0", clock), ("CE0", "1"), ("RST0", "0")):
                block["connections"][pin] = [net]
                block["port_directions"][pin] = "input"
            take(block, moves)
            summary["mult_registers"] += len(moves)
            summary["mult_outputs"] += 1
    for cell in removed:
        del cells[cell]
    for net in top.get("netnames", {}).values():  # the bits no one drives any more
        net["bits"] = ["x" if b in dead else b for b in net["bits"]]
    summary["skipped"] = dict(summary["skipped"])
    summary["mult_skipped"] = dict(summary["mult_skipped"])
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m spikeforge.boards.outreg",
        description="Move plain registers behind ECP5 block RAM read ports into the block "
                    "RAMs' output registers (a Yosys JSON netlist, rewritten in place).")
    parser.add_argument("netlist", type=Path, help="Yosys JSON netlist (synth_ecp5)")
    parser.add_argument("--summary", type=Path,
                        help="write the summary here (default: <netlist>.outreg.json)")
    args = parser.parse_args(argv)
    try:
        netlist = json.loads(args.netlist.read_text())
    except (OSError, ValueError) as error:
        print(f"outreg: cannot read {args.netlist}: {error}", file=sys.stderr)
        return 2
    summary = absorb_output_registers(netlist)
    args.netlist.write_text(json.dumps(netlist))
    target = args.summary or args.netlist.with_suffix(".outreg.json")
    target.write_text(json.dumps(summary, indent=1) + "\n")
    print(f"outreg: {summary['ports']} block RAM read ports of {summary['brams']} DP16KD took "
          f"their register ({summary['registers']} flip-flops, {summary['luts']} buffer LUTs "
          f"removed); left: {summary['skipped'] or 'none'}")
    if summary["mults"]:
        print(f"outreg: {summary['mult_outputs']} of {summary['mults']} MULT18X18D took their "
              f"output register ({summary['mult_registers']} flip-flops removed); left: "
              f"{summary['mult_skipped'] or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
