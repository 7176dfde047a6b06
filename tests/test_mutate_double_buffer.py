"""scripts/mutate_double_buffer.py: its ``ttfs-gaps`` design catches the one-word output
core's event read select swapped, which ``ttfs-one-word``'s back-to-back events miss."""

import dataclasses
import sys
from pathlib import Path

from spikeforge.cosim.mutate import logic_sites, run_campaign
from tests.util import require_simulator

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from mutate_double_buffer import buffer_sites, designs, main  # noqa: E402

#: the output core's select of the buffer an event adds to (each lane's, in the two
#: buffers' write data and in the forwarded sum)
SELECT = "p_b ? p_x1 : p_x0"


def test_the_gaps_design_catches_the_buffer_select_that_back_to_back_events_miss():
    """The twelve sites of the select: undetected on ``ttfs-one-word``'s default stimulus
    (its output core's events of a tick come back to back, from the forwarded sum), all
    detected on ``ttfs-gaps``'s ``gaps-random`` (a hidden core of 4 words: a tick's events
    a cycle or more apart, read from the buffer)."""
    require_simulator("verilator")
    known = designs()
    detected = {}
    for name, stimulus in (("ttfs-one-word", "default"), ("ttfs-gaps", "gaps-random")):
        design = known[name]
        design = dataclasses.replace(
            design, system=dataclasses.replace(design.system, double_buffer=True),
            stimuli=[s for s in design.stimuli if s.name == stimulus])
        sites = [s for s in logic_sites(design.verilog())
                 if s.original == SELECT and "core_1_0" in s.id]
        assert len(sites) == 12, [s.id for s in sites]
        result = run_campaign([design], sites=sites, weight_faults=0, tiers=("default", "slow"))
        detected[name] = sum(o.detected_by is not None for o in result.outcomes)
    assert detected == {"ttfs-one-word": 0, "ttfs-gaps": 12}, detected


def test_an_unknown_design_is_refused_naming_the_choices(capsys):
    assert main(["--designs", "ttfs-gaps,nope"]) == 2
    err = capsys.readouterr().err
    assert "--designs: nope not among" in err and "ttfs-gaps" in err


def test_the_wide_design_has_split_buffers_and_a_select_per_lane_group():
    """``wide-split``'s hidden core (5 lanes, 3 words) is split per lane group: two groups,
    each with its own buffer memories, address registers and copy of ``p_b``, and the
    script's sites include every copy's select (no simulation: what the design is)."""
    design = designs()["wide-split"]
    verilog = dataclasses.replace(
        design, system=dataclasses.replace(design.system, double_buffer=True)).verilog()
    for name in ("mem_x0_0", "mem_x1_1", "x0_raddr_c1", "x1_waddr_c0", "p_b_c0", "p_b_c1"):
        assert name in verilog, name
    selects = {s.original for s in logic_sites(verilog) if "core_0_0" in s.id}
    assert any("p_b_c0" in e for e in selects) and any("p_b_c1" in e for e in selects)


def test_the_update_select_of_every_core_is_a_site():
    """The update's buffer select (``p_xu``, stop 65) reads the two read ports, whose data
    Amaranth leaves unnamed: the script still takes it, one multiplexer per core, beside
    the sites that name the buffers (no simulation)."""
    design = designs()["spike-count"]
    design = dataclasses.replace(design, system=dataclasses.replace(design.system,
                                                                    double_buffer=True))
    verilog = design.verilog()
    cores = {s.module for s in logic_sites(verilog) if ".core_" in s.module}
    selects = [s for s in buffer_sites(verilog) if s.kind == "mux swapped"
               and "p_x" not in s.original and "p_b" not in s.original]
    assert sorted(s.module for s in selects) == sorted(cores), [s.id for s in selects]
