"""boards/outreg.py: on netlists small enough to check by hand, and on Yosys's own."""

import json
import subprocess
import sys
from collections import Counter

import pytest
from amaranth import Module, Signal, signed
from amaranth.back import rtlil
from amaranth.lib.memory import Memory

from spikeforge.boards import outreg as bram_outreg
from spikeforge.boards.build import toolchain_environment, toolchain_options
from spikeforge.boards.engine import INPUT_BUFFER


CLK = 1


def _cell(kind, parameters=None, **ports):
    """A cell of ``kind``; ports are ``name=(direction, bits)``."""
    return {"type": kind, "parameters": parameters or {},
            "port_directions": {p: d for p, (d, _) in ports.items()},
            "connections": {p: b for p, (_, b) in ports.items()}}


def _bram(do_a, rst_a="0"):
    """A DP16KD whose port A outputs DOA0.. drive the bits ``do_a``, read on clock CLK."""
    ports = {f"DOA{i}": ("output", [b]) for i, b in enumerate(do_a)}
    return _cell("DP16KD", {"REGMODE_A": "NOREG", "REGMODE_B": "NOREG", "GSR": "ENABLED",
                            "RESETMODE": "ASYNC", "CLKAMUX": "CLKA"},
                 CLKA=("input", [CLK]), OCEA=("input", ["1"]), RSTA=("input", [rst_a]),
                 RSTB=("input", ["0"]), **ports)


def _ff(d, q, ce=None, lsr="0"):
    params = {"CEMUX": "CE " if ce else "1 ", "CLKMUX": "CLK", "GSR": "ENABLED",
              "LSRMUX": "LSR", "REGSET": "RESET", "SRMODE": "LSR_OVER_CE"}
    return _cell("TRELLIS_FF", params, CLK=("input", [CLK]), DI=("input", [d]),
                 CE=("input", [ce or "1"]), LSR=("input", [lsr]), Q=("output", [q]))


def _netlist(cells, netnames=None, marked=(20, 21)):
    """A top module of ``cells``; the signal of the net bits ``marked`` carries the
    attribute that asks for the move (as Yosys writes an integer attribute)."""
    nets = dict(netnames or {})
    nets["marked"] = {"bits": list(marked),
                      "attributes": {bram_outreg.ATTRIBUTE: "00000000000000000000000000000001"}}
    return {"modules": {"top": {"attributes": {"top": "00000000000000000000000000000001"},
                                "ports": {}, "cells": cells, "netnames": nets}}}


def test_plain_registers_move_into_the_block_ram():
    cells = {"ram": _bram([10, 11]), "r0": _ff(10, 20), "r1": _ff(11, 21),
             "use": _cell("LUT4", {"INIT": "0" * 16}, A=("input", [20]), B=("input", [21]),
                          Z=("output", [30]))}
    netlist = _netlist(cells, {"ram_DOA": {"bits": [10, 11]}, "r": {"bits": [20, 21]}})
    summary = bram_outreg.absorb_output_registers(netlist)
    top = netlist["modules"]["top"]
    assert summary == {"brams": 1, "ports": 1, "registers": 2, "luts": 0, "skipped": {},
                       "mults": 0, "mult_outputs": 0, "mult_registers": 0, "mult_skipped": {}}
    ram = top["cells"]["ram"]
    assert ram["parameters"]["REGMODE_A"] == "OUTREG"
    assert ram["connections"]["DOA0"] == [20] and ram["connections"]["DOA1"] == [21]
    assert set(top["cells"]) == {"ram", "use"}
    assert top["netnames"]["ram_DOA"]["bits"] == ["x", "x"]  # no one drives them now
    assert ram["connections"]["RSTA"] == ["0"]


def test_a_buffer_lut_goes_too_but_logic_stays():
    # INIT of A: bit i of the function is INIT[15 - i]; "1010..." = A (B, C, D free)
    buffer = _cell("LUT4", {"INIT": "1010101010101010"}, A=("input", [10]), B=("input", [40]),
                   Z=("output", [12]))
    netlist = _netlist({"ram": _bram([10]), "buf": buffer, "r0": _ff(12, 20)})
    summary = bram_outreg.absorb_output_registers(netlist)
    assert summary["ports"] == 1 and summary["luts"] == 1
    assert set(netlist["modules"]["top"]["cells"]) == {"ram"}
    logic = _cell("LUT4", {"INIT": "1000100010001000"}, A=("input", [10]), B=("input", [40]),
                  Z=("output", [12]))  # A & B
    netlist = _netlist({"ram": _bram([10]), "and": logic, "r0": _ff(12, 20)})
    summary = bram_outreg.absorb_output_registers(netlist)
    assert summary["ports"] == 0
    assert summary["skipped"] == {"port A: DOA0 goes through logic": 1}


@pytest.mark.parametrize("cells, reason", [
    ({"r0": _ff(10, 20, ce=50)}, "its flip-flop has a clock enable"),
    ({"r0": _ff(10, 20, lsr=51)}, "its flip-flop has a set or reset"),
    ({"r0": _ff(10, 20), "r1": _ff(10, 21)}, "DOA0 drives 2 inputs"),
    ({"r0": _ff(60, 20, ce=10)}, "DOA0 does not reach a flip-flop's data input"),
    ({"r0": _ff(10, 22)}, f"its registers are not marked {bram_outreg.ATTRIBUTE}"),
], ids=["clock-enable", "reset", "two-readers", "not-a-register", "not-marked"])
def test_anything_but_a_plain_register_is_left(cells, reason):
    netlist = _netlist({"ram": _bram([10]), **cells})
    before = json.dumps(netlist, sort_keys=True)
    summary = bram_outreg.absorb_output_registers(netlist)
    assert summary["ports"] == 0 and summary["skipped"] == {f"port A: {reason}": 1}
    assert json.dumps(netlist, sort_keys=True) == before


def test_the_36_bit_mode_is_left():
    """In its 36-bit mode a DP16KD reads over both ports' outputs: not moved (the banks
    of ir.system.weight_bank_words never use it on the ECP5)."""
    ram = _bram([10])
    ram["parameters"].update(DATA_WIDTH_A="00000000000000000000000000100100",
                             DATA_WIDTH_B="00000000000000000000000000100100")
    netlist = _netlist({"ram": ram, "r0": _ff(10, 20)})
    summary = bram_outreg.absorb_output_registers(netlist)
    assert summary["ports"] == 0
    assert summary["skipped"] == {"port A: 36-bit mode (one read over both ports)": 1}


def _mult(p_bits, parameters=None, **ports):
    """A MULT18X18D (as Yosys maps a product: no register) whose outputs P0.. drive
    ``p_bits``."""
    outs = {f"P{i}": ("output", [b]) for i, b in enumerate(p_bits)}
    return _cell("MULT18X18D", parameters, A0=("input", [70]), B0=("input", [71]),
                 **outs, **ports)


def test_plain_registers_move_into_the_multiplier():
    """Unmarked too: a multiplier's plain output registers need no mark (boards/outreg.py)."""
    cells = {"mul": _mult([10, 11]), "r0": _ff(10, 20), "r1": _ff(11, 21)}
    netlist = _netlist(cells, marked=())
    summary = bram_outreg.absorb_output_registers(netlist)
    assert (summary["mults"], summary["mult_outputs"], summary["mult_registers"]) == (1, 1, 2)
    mul = netlist["modules"]["top"]["cells"]["mul"]
    assert set(netlist["modules"]["top"]["cells"]) == {"mul"}
    assert mul["parameters"]["REG_OUTPUT_CLK"] == "CLK0"
    assert mul["parameters"]["REG_OUTPUT_CE"] == "CE0"
    assert mul["parameters"]["REG_OUTPUT_RST"] == "RST0"
    assert {p: mul["connections"][p] for p in ("CLK0", "CE0", "RST0", "P0", "P1")} == {
        "CLK0": [CLK], "CE0": ["1"], "RST0": ["0"], "P0": [20], "P1": [21]}
    assert mul["port_directions"]["CLK0"] == "input"


@pytest.mark.parametrize("mult, cells, reason", [
    (_mult([10]), {"r0": _ff(10, 20, ce=50)}, "its flip-flop has a clock enable"),
    (_mult([10, 11]), {"r0": _ff(10, 20), "r1": _ff(60, 21, ce=11)},
     "P1 does not reach a flip-flop's data input"),
    (_mult([10], {"REG_INPUTA_CLK": "CLK0"}), {"r0": _ff(10, 20)}, "uses registers of its own"),
    (_mult([10], CE0=("input", [52])), {"r0": _ff(10, 20)},
     "its clock, enable or reset 0 is in use"),
], ids=["clock-enable", "logic", "input-register", "controls-in-use"])
def test_a_multiplier_keeps_anything_but_plain_registers(mult, cells, reason):
    netlist = _netlist({"mul": mult, **cells})
    before = json.dumps(netlist, sort_keys=True)
    summary = bram_outreg.absorb_output_registers(netlist)
    assert summary["mult_outputs"] == 0 and summary["mult_skipped"] == {reason: 1}
    assert json.dumps(netlist, sort_keys=True) == before


def test_a_multiplier_on_yosys_netlist(tmp_path):
    """A registered product, as the cores' ``s1_pv``, through the real synth_ecp5: Yosys's
    MULT18X18D takes the register behind it; the copy behind that one stays."""
    m = Module()
    a, b, q = Signal(signed(16)), Signal(signed(9)), Signal(signed(25))
    p = Signal(signed(25), reset_less=True)
    m.d.sync += [a.eq(a + 1), b.eq(b + 3), p.eq(a * b), q.eq(p)]
    _synth_ecp5(tmp_path, rtlil.convert(m, ports=[q]))
    before = _types(tmp_path / "t.json")
    result = subprocess.run([sys.executable, "-m", "spikeforge.boards.outreg", "t.json"],
                            cwd=tmp_path, check=True, capture_output=True, text=True)
    after = _types(tmp_path / "t.json")
    assert before["MULT18X18D"] == 1
    assert "1 of 1 MULT18X18D took their output register (25 flip-flops" in result.stdout
    assert after["TRELLIS_FF"] == before["TRELLIS_FF"] - 25


def test_on_yosys_netlist(tmp_path):
    """A memory with a plain register behind its read port, through the real synth_ecp5:
    the pass finds Yosys's DP16KD and TRELLIS_FF as they are written, and moves exactly the
    16 flip-flops of that register."""
    m = Module()
    # a read-only memory: with a write port Yosys would also emulate the read of a word
    # written in the same cycle (a bypass multiplexer behind the block RAM, which the pass
    # rightly leaves alone; docs/boards.md, stop 38)
    words = [(k * 40503) & 0xFFFF for k in range(1024)]  # every bit used: none optimised away
    m.submodules.mem = mem = Memory(shape=16, depth=1024, init=words)
    addr, q = Signal(10), Signal(16)
    rp = mem.read_port()
    # as the banked cores' w_out: no reset, marked
    r = Signal(16, reset_less=True, attrs={bram_outreg.ATTRIBUTE: 1})
    m.d.comb += rp.addr.eq(addr)
    m.d.sync += [addr.eq(addr + 1), r.eq(rp.data), q.eq(q + r)]
    _synth_ecp5(tmp_path, rtlil.convert(m, ports=[q]))
    before = _types(tmp_path / "t.json")
    result = subprocess.run([sys.executable, "-m", "spikeforge.boards.outreg", "t.json"],
                            cwd=tmp_path,
                            check=True, capture_output=True, text=True)
    after = _types(tmp_path / "t.json")
    assert "1 block RAM read ports of 1 DP16KD took their register (16 flip-flops" \
        in result.stdout
    assert after["TRELLIS_FF"] == before["TRELLIS_FF"] - 16
    summary = json.loads((tmp_path / "t.outreg.json").read_text())
    assert summary["ports"] == 1 and summary["skipped"] == {}


def _synth_ecp5(folder, text, script=""):
    """``text`` (RTLIL) through Yosys's synth_ecp5, ``script`` after reading it, into
    ``folder``/t.json."""
    (folder / "t.il").write_text(text)
    yosys = toolchain_environment(("yosys",)).get("YOSYS", "yosys")
    subprocess.run([yosys, "-q", "-p", f"read_rtlil t.il; {script}; "
                    f"synth_ecp5 -top top -json t.json"],
                   cwd=folder, check=True, capture_output=True)


def _types(path):
    top = next(iter(m for m in json.loads(path.read_text())["modules"].values()
                    if int(m.get("attributes", {}).get("top", "0"), 2)))
    return Counter(c["type"] for c in top["cells"].values())


@pytest.mark.parametrize("no_rw_check", [False, True])
def test_the_buffer_read_beside_a_write(tmp_path, no_rw_check):
    """A two-port memory, as the engine's input buffer: Yosys emulates a read beside a write
    of the same word (a multiplexer behind the block RAM, which the pass leaves alone) unless
    the ECP5 build's script says that read need not return the old word -- then its marked
    register moves into the block RAM."""
    m = Module()
    m.submodules[INPUT_BUFFER] = mem = Memory(shape=16, depth=4096, init=[])
    w_addr, w_data, w_en, q = Signal(12), Signal(16), Signal(), Signal(16)
    rp, wp = mem.read_port(), mem.write_port()
    addr = Signal(12)
    r = Signal(16, reset_less=True, attrs={bram_outreg.ATTRIBUTE: 1, "keep": 1})
    m.d.comb += [rp.addr.eq(addr), wp.addr.eq(w_addr), wp.data.eq(w_data), wp.en.eq(w_en)]
    m.d.sync += [addr.eq(addr + 1), r.eq(rp.data), q.eq(q + r)]
    script = toolchain_options("ecp5")["script_after_read"] if no_rw_check else ""
    _synth_ecp5(tmp_path, rtlil.convert(m, ports=[w_addr, w_data, w_en, q]), script)
    netlist = json.loads((tmp_path / "t.json").read_text())
    summary = bram_outreg.absorb_output_registers(netlist)
    if no_rw_check:
        assert summary["ports"] == 4 and summary["registers"] == 16, summary  # 4 x 4,096 x 4
    else:
        assert summary["ports"] == 0 and "goes through logic" in str(summary["skipped"])
