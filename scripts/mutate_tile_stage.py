"""Mutants of the tile stage's own logic (stop 73): the wide designs of
``scripts/mutate_double_buffer.py`` with ``SystemConfig.tile_stage``, every logic site the
tile stage adds or changes in the tiled core, run against the designs' stimuli (default and
slow tiers); with ``--prove`` each undetected one gets the formal equivalence proof.

    .venv/bin/python scripts/mutate_tile_stage.py [--designs NAME,...] [--prove]

(default: ``wide-split,wide-staged``).

``wide-split`` (stop 61) is a 9-14-5 network whose hidden layer is one core of 5 lanes and 3
words: lane groups (more lanes than one LUT, two words or more), so with the tile stage its
groups read and write a cycle behind the control. ``wide-staged`` is the same design with a
weight stage and the event sums registered (``weight_stages=1``, ``sum_stage=True``): the
tile's event weights then come from the stage's register.

The sites (:func:`tile_sites`): those whose expression names a signal the tile stage adds
(:data:`NAMES`), and those whose expression the untiled design does not have as often in the
core (the expressions compared with Amaranth's numbered wires as one name): the selects and
enables the tile stage moved and the host read path's second cycle. Reset branches and reset
values are taken only where they name such a signal (:data:`RESETS`).

Prints per design the sites, how many the stimuli detected, and each survivor (its site id,
the expression and the mutant, and the proof's verdict with ``--prove``).
"""

from __future__ import annotations

import dataclasses
import functools
import re
import sys
from collections import Counter

from mutate_double_buffer import designs as wide_designs
from mutate_double_buffer import run_sites

from spikeforge.cosim.mutate import logic_sites
from spikeforge.ir.system import SystemConfig

#: the signals the tile stage adds to a core (hdl/core.py): the groups' address registers and
#: their source, the pending event's extra stage, the groups' event weights, the control's
#: view of the groups' write edge, the host read's second cycle (the groups' select copies
#: are the untiled core's too, loaded a cycle later: the diff finds what changed of them)
NAMES = re.compile(r"\b(\w+_raddr_t|s_waddr_t|e_tile|t_w_g\d+|written_g|w_last_g|w_base_g|"
                   r"g_last|r_valid_1|r_held|r_region_2|r_lane_2)\b")

#: kinds whose sites the diff cannot tell apart (a register's reset branch and its reset or
#: default value: ``if (rst)``, ``$874 = 2'h0``): taken only where they name a signal above
RESETS = ("branch negated", "next-state constant")


@functools.cache
def designs() -> dict:
    """``wide-split`` and ``wide-staged`` with the tile stage (module docstring); built once
    per process."""
    wide = wide_designs()["wide-split"]
    tiled = dataclasses.replace(wide.system, tile_stage=True)
    staged = dataclasses.replace(tiled, weight_stages=1, sum_stage=True)
    return {"wide-split": dataclasses.replace(wide, system=tiled),
            "wide-staged": dataclasses.replace(wide, name="wide-staged", system=staged)}


def untiled(system: SystemConfig) -> SystemConfig:
    return dataclasses.replace(system, tile_stage=False)


def _shape(site) -> tuple:
    """A site as its module, kind, tag (the register a frozen one holds) and expression,
    Amaranth's numbered wires as one name."""
    tag = site.id.split(":")[2]
    return (site.module, site.kind, *(re.sub(r"\\?\$\d+", "$", t) for t in (tag, site.original)))


def tile_sites(tiled: str, plain: str) -> list:
    """The logic sites of the ``tiled`` design's Verilog that name a tile-stage signal
    (:data:`NAMES`) or whose shape (:func:`_shape`) occurs more often than in the ``plain``
    (untiled) design's, but for :data:`RESETS`: what the tile stage adds or changes."""
    before, seen, chosen = Counter(map(_shape, logic_sites(plain))), Counter(), []
    for site in logic_sites(tiled):
        shape = _shape(site)
        seen[shape] += 1
        if NAMES.search(site.id + site.original) or (seen[shape] > before[shape]
                                                     and site.kind not in RESETS):
            chosen.append(site)
    return chosen


def sites_of(design) -> tuple:
    """``design`` and its :func:`tile_sites`, against the same design untiled."""
    plain = dataclasses.replace(design, system=untiled(design.system))
    return design, tile_sites(design.verilog(), plain.verilog())


def main(argv=None) -> int:
    return run_sites(argv, __doc__, designs(), "wide-split,wide-staged", sites_of,
                     "the tile stage adds or changes")


if __name__ == "__main__":
    sys.exit(main())
