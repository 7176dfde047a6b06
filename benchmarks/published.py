"""Quoted figures of other SNN-on-FPGA work, in one place for every benchmark that sets its
rows beside them (bench_ttfs_board.py, bench_mnist_fast.py through it, bench_boards.py).

They are quoted, not measured: the prototype's as the project brief gives them, the others
as docs/boards.md ("Published figures") lists them with their sources, the Flexi-NeurA and
Spiker+ logic figures as issues 10 and 11 quote them. They are different networks on
different devices, so a ratio to them says how far apart, not which design is better.
"""

from __future__ import annotations

from spikeforge.flow import PROTOTYPE

#: quoted figures: (work, accuracy, latency in microseconds, logic cells or LUTs, source);
#: None where the source gives no figure
PUBLISHED = [
    ("Mostafa's FPGA prototype (784-600-10, 8-bit)", PROTOTYPE["accuracy"], None, None,
     "project brief (spikeforge.flow.PROTOTYPE)"),
    ("Flexi-NeurA 2026", "96.23-97.23 %", 1100.0, 1623, "as issue 11 quotes it"),
    ("Spiker+ (arXiv 2401.01141)", 0.9385, 780.0, 7612,
     "docs/boards.md; logic cells as issue 10 quotes them"),
    ("Fan & Levy 2025 (Artix-7, 100 MHz)", None, 520.0, 6358, "docs/boards.md (6358 LUT)"),
    ("Windhager 2025 (UltraScale+)", "> 99 %", 290.0, None, "docs/boards.md"),
]
