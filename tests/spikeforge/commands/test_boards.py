"""The board sub-commands (spikeforge/commands/boards.py): ``fit`` and ``build``'s arguments."""

import argparse
import json

import pytest

from spikeforge.cli import main
from spikeforge.commands.boards import register


def test_cli_register_and_fit(capsys):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["fit", "core:8x8"])
    assert args.handler(args) == 0
    out = capsys.readouterr().out
    assert "icebreaker" in out and "ulx3s-85f" in out and "fits" in out
    args = parser.parse_args(["build", "core", "--board", "arty-a7"])
    assert args.board == "arty-a7"
    with pytest.raises(SystemExit):
        parser.parse_args(["build", "core", "--board", "de10"])


def test_build_command_reports_an_impossible_clock(capsys):
    """``spikeforge build --clk-mhz``: a request no PLL setting can make is refused before
    synthesis with the request named, exit status 2."""
    assert main(["build", "--board", "ulx3s-85f", "core:4x8", "--clk-mhz", "48"]) == 2
    err = capsys.readouterr().err
    assert "spikeforge build: error: clk_mhz: no ECP5 PLL setting makes 48 MHz from 25 MHz" in err
    assert main(["build", "--board", "icebreaker", "core:4x8", "--clk-mhz", "400"]) == 2
    assert "400 MHz is outside the iCE40 PLL's output range 16..275 MHz" in capsys.readouterr().err


def test_fit_exit_status_says_whether_the_design_fits(capsys):
    """``spikeforge fit``: exit 0 when the design fits the board asked for (or any board), 2
    when it does not, with a line saying what to change for each board it does not fit."""
    assert main(["fit", "core:64x1000"]) == 0  # too big for the iCE40, fits the ECP5
    out = capsys.readouterr().out
    assert "icebreaker  block RAM  131 / 30" in out and "DOES NOT FIT" in out
    assert "to make it fit: smaller layers or fewer inputs" in out
    assert "a larger board: ulx3s-85f" in out
    assert main(["fit", "core:64x1000", "--board", "icebreaker"]) == 2
    assert main(["fit", "core:64x1000", "--board", "ulx3s-85f"]) == 0
    capsys.readouterr()
    assert main(["fit", "core:1000x2000"]) == 2  # fits no board
    out = capsys.readouterr().out
    assert out.count("DOES NOT FIT") == 3 and out.count("to make it fit") == 3


def test_fit_json(capsys):
    assert main(["fit", "core:64x1000", "--board", "icebreaker", "--json"]) == 2
    (report,) = json.loads(capsys.readouterr().out)
    assert report["board"] == "icebreaker" and report["fits"] is False
    assert report["brams"] == 131 and report["brams_available"] == 30
    assert "a larger board: ulx3s-85f" in report["to_fit"]
    assert main(["fit", "core:8x8", "--json"]) == 0
    assert all(r["fits"] and r["to_fit"] is None for r in json.loads(capsys.readouterr().out))
