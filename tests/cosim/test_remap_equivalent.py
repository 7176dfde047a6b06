"""scripts/remap_equivalent.py: argued sites carried across a change of the emitted Verilog
(lines moved, wires renumbered), and dropped where the line now reads differently."""

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "scripts" / "remap_equivalent.py"
_SPEC = importlib.util.spec_from_file_location("remap_equivalent", _PATH)
remap_equivalent = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(remap_equivalent)

OLD = """module \\top (a, b, c);
  assign \\$1  = a & b;
  assign \\$2  = \\$1  | c;
  assign \\$3  = a & c;
  assign y = \\$2 ;
endmodule
"""
# a line inserted, the wires renumbered; $3's expression changed
NEW = """module \\top (a, b, c);
  assign z = ~a;
  assign \\$4  = a & b;
  assign \\$5  = \\$4  | c;
  assign \\$6  = b & c;
  assign y = \\$5 ;
endmodule
"""


def site(line, original, operator="|->&"):
    return {"module": "top", "line": line, "module_line": 0, "kind": "and/or swapped",
            "operator": operator, "original": original,
            "id": f"top:{line + 1}:{operator}:and/or swapped"}  # as Site.id names it


def design(text, sites):
    return {"verilog": text, "sites": sites}


def test_a_moved_site_with_renumbered_wires_is_re_keyed():
    old = design(OLD, [site(2, "\\$1  | c")])
    new = design(NEW, [site(3, "\\$4  | c")])
    mapping, dropped = remap_equivalent.remap({"d": old}, {"d": new},
                                              [("d", "top:3:|->&:and/or swapped")])
    assert mapping == {("d", "top:3:|->&:and/or swapped"): ("d", "top:4:|->&:and/or swapped")}
    assert dropped == []


def test_a_site_whose_wire_now_reads_differently_is_dropped():
    # same text "$N | c" and same rank, but the wire's driver changed (a & b -> b & c)
    changed = NEW.replace("\\$4  = a & b", "\\$4  = b & b")
    old = design(OLD, [site(2, "\\$1  | c")])
    new = design(changed, [site(3, "\\$4  | c")])
    mapping, dropped = remap_equivalent.remap({"d": old}, {"d": new},
                                              [("d", "top:3:|->&:and/or swapped")])
    assert mapping == {} and [why for _, why in dropped] == [
        "1 sites of the same expression, 0 reading the same"]


@pytest.mark.parametrize("old_id,why", [("top:9:|->&:and/or swapped", "already stale")])
def test_an_unknown_old_id_is_reported(old_id, why):
    old = design(OLD, [site(2, "\\$1  | c")])
    mapping, dropped = remap_equivalent.remap({"d": old}, {"d": old}, [("d", old_id)])
    assert mapping == {} and why in dropped[0][1]


def test_resolved_line_replaces_wires_by_their_drivers():
    lines = NEW.splitlines()
    # an escaped identifier ends with a space, which the substitution keeps
    assert remap_equivalent.resolved_line(lines, 0, len(lines) - 1, 5) == \
        "assign y = ((a & b)  | c) ;"


def test_a_reset_value_names_the_register_it_loads():
    """``$N = 16'h0000`` under ``if (rst)`` reads the same for every register of that width;
    the resolved line names the register the process's wire loads (``next cur``), so a
    removed register before it (which shifts the ranks) does not carry the argument for
    ``cur``'s reset onto another register's (stop 31: count_4's)."""
    def resets(registers):
        lines = ["module \\top (clk, rst);"]
        for n, reg in enumerate(registers, 1):
            lines += ["  always @* begin", f"    \\${n}  = {reg}_d;", "    if (rst) begin",
                      f"      \\${n}  = 16'h0000;", "    end", "  end",
                      "  always @(posedge clk)", f"    {reg} <= \\${n} ;"]
        text = "\n".join(lines + ["endmodule"]) + "\n"
        sites = []
        for n, reg in enumerate(registers, 1):
            line = 8 * (n - 1) + 4                    # the reset line of register n's process
            sites.append({"module": "top", "line": line, "module_line": 0,
                          "kind": "next-state constant", "operator": f"\\${n}=K'",
                          "original": "16'h0000",
                          "id": f"top:{line + 1}:${n}=K':next-state constant"})
        return design(text, sites)

    old, new = resets(["nonzero", "count_4", "cur"]), resets(["count_4", "cur"])
    cur_old, count_new, cur_new = old["sites"][2], new["sites"][0], new["sites"][1]
    assert old["verilog"].split("\n")[cur_old["line"]].strip() == "\\$3  = 16'h0000;"
    mapping, dropped = remap_equivalent.remap({"d": old}, {"d": new}, [("d", cur_old["id"])])
    assert mapping == {("d", cur_old["id"]): ("d", cur_new["id"])}, (mapping, dropped)
    assert count_new["id"] != cur_new["id"]
