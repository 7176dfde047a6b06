"""The board sub-commands (spikeforge/commands/boards.py): ``fit`` and ``build``'s arguments."""

import argparse

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
