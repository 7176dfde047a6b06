"""scripts/mutate_tile_stage.py: the sites the tile stage adds or changes in a tiled core, and
what the campaign's stimuli make of a few of them."""

import dataclasses
import sys
from pathlib import Path

from spikeforge.cosim.mutate import run_campaign
from tests.util import require_simulator

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from mutate_tile_stage import designs, main, sites_of, tile_sites, untiled  # noqa: E402


def _verilog(name: str) -> tuple[str, str]:
    """The design's Verilog with and without the tile stage."""
    design = designs()[name]
    plain = dataclasses.replace(design, system=untiled(design.system))
    return design.verilog(), plain.verilog()


def test_the_sites_are_those_the_tile_stage_adds_or_changes():
    """Every register the tile stage adds is a site; the untiled design against itself has
    none (no simulation)."""
    for name in ("wide-split", "wide-staged"):
        tiled, plain = _verilog(name)
        assert "s_waddr_t" in tiled and "s_waddr_t" not in plain
        assert tile_sites(plain, plain) == []
        sites = tile_sites(tiled, plain)
        assert len(sites) == 38, (name, len(sites))
        assert all(".core_0_0" in s.module for s in sites)  # the tiled (hidden) core only
        frozen = {s.id.split(":")[2].removesuffix("<=hold") for s in sites
                  if s.kind == "register frozen"}
        assert {"t_w_g0", "t_w_g1", "s_waddr_t", "i_raddr_t", "v_raddr_t", "written_g",
                "w_last_g", "w_base_g", "r_valid_1", "r_held"} <= frozen, frozen


def test_the_stimuli_catch_the_tile_logic_and_not_an_equivalent_queue_enable():
    """On ``wide-split``'s default stimulus: a group's event weights held, its address
    source held, the group's write edge (``written_g``) held, and its first weight
    subtracted are mismatches; queue entry 1's write enable made an OR (entry 1 takes every
    written word) is not: a write finds at most one word queued in a core of 3 words, so
    entry 1 is the entry written anyway or a free one, not read before it is written again
    (docs/verification.md, the argued survivors of the script's run)."""
    require_simulator("verilator")
    design, sites = sites_of(designs()["wide-split"])

    def site(tag: str, text: str = ""):
        (found,) = [s for s in sites if s.id.split(":")[2] == tag and text in s.original]
        return found

    chosen = [site("t_w_g0<=hold"), site("s_waddr_t<=hold"), site("written_g<=hold"),
              site("+->-", "t_w_g0[7:0]"), site("&->|", "written_g & \\$333")]
    design = dataclasses.replace(design, stimuli=[s for s in design.stimuli
                                                  if s.tier == "default"])
    result = run_campaign([design], sites=chosen, weight_faults=0, tiers=("default",))
    assert [o.detected_by is not None for o in result.outcomes] == [True] * 4 + [False]


def test_an_unknown_design_is_refused_naming_the_choices(capsys):
    assert main(["--designs", "wide-split,nope"]) == 2
    err = capsys.readouterr().err
    assert "--designs: nope not among wide-split, wide-staged" in err
