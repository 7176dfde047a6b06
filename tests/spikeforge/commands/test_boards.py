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
    # every resource the estimate bounds, on the board's line: multipliers and flip-flops too
    (ecp5,) = [line for line in out.splitlines() if line.startswith("ulx3s-85f ")]
    assert "DSP   2 / 156" in ecp5 and "FFs ~" in ecp5 and "/ 83640  fits" in ecp5, ecp5
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


def test_learning_options_are_checked(capsys):
    """``--hidden`` / ``--seed`` set the start of ``learn:digits`` only, with the ranges of
    ``spikeforge learn``; a ``learn:`` spec other than learn:digits is named. One line each,
    before any work (nothing imports the model package for these)."""
    for argv, message in [
            (["fit", "core:8x8", "--hidden", "4"],
             "spikeforge fit: error: --hidden: sets the random start of the learning build "
             "learn:digits only, not of 'core:8x8'"),
            (["build", "core:4x8", "--board", "icebreaker", "--seed", "1"],
             "spikeforge build: error: --seed: sets the random start of the learning build "
             "learn:digits only, not of 'core:4x8'"),
            (["fit", "learn:mnist"],
             "spikeforge fit: error: ARTIFACT_OR_CORE: 'learn:mnist': the learning build is "
             "learn:digits (the start of spikeforge learn)"),
            (["build", "learn:digits", "--board", "ulx3s-85f", "--hidden", "0"],
             "spikeforge build: error: argument --hidden: must be an integer in 3..512, got 0"),
            (["fit", "learn:digits", "--hidden", "513"],
             "spikeforge fit: error: argument --hidden: must be an integer in 3..512, got 513"),
            (["build", "learn:digits", "--board", "ulx3s-85f", "--seed", "-1"],
             "spikeforge build: error: argument --seed: must be an integer >= 0, got -1")]:
        try:
            status = main(argv)
        except SystemExit as stop:  # argparse's own errors (the option types)
            status = stop.code
        assert status == 2, argv
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, (argv, err)


def test_fit_counts_the_learning_engine(capsys):
    """``spikeforge fit learn:digits``: the learning build (64-32-10, the engine's stores
    and logic) fits the ULX3S, not the iCEBreaker, whose line says why and what to do."""
    assert main(["fit", "learn:digits", "--board", "ulx3s-85f"]) == 0
    assert "fits" in capsys.readouterr().out
    assert main(["fit", "learn:digits", "--board", "icebreaker", "--hidden", "8"]) == 2
    out = capsys.readouterr().out
    assert "DOES NOT FIT: logic: needs about" in out and "and the learning engine" in out
    assert "to make it fit: no --hidden is small enough" in out
    assert "a larger board: ulx3s-85f" in out
    assert main(["fit", "learn:digits", "--json", "--board", "ulx3s-85f"]) == 0
    [est] = json.loads(capsys.readouterr().out)
    assert est["learning"] is True and est["fits"]


class _Stop(Exception):
    pass


def test_build_makes_the_design_that_learn_sim_cosimulates(monkeypatch, capsys):
    """The board ``spikeforge build learn:digits --hidden H --seed S`` builds is the board
    core ``spikeforge learn --sim ... --hidden H --seed S`` co-simulates: the same RTL (as
    RTLIL, without Yosys), but for the UART divisor, clock and input depth of a simulation.
    Neither command runs its tools here: the build stops at ``build_board``, the
    co-simulation at ``run_cocotb`` (64-2-10 to keep it short)."""
    from amaranth.back import rtlil

    from spikeforge.boards import cosim
    from spikeforge.commands import boards, learn

    monkeypatch.setattr(cosim, "to_verilog", lambda core, name: rtlil.convert(core, name=name))
    simulated = []

    def run_cocotb(text, *args, **kwargs):
        simulated.append(text)
        raise _Stop()

    monkeypatch.setattr(cosim, "run_cocotb", run_cocotb)
    monkeypatch.setattr(learn, "check_simulators", lambda name: None)
    with pytest.raises(_Stop):
        main(["learn", "--sim", "icarus", "--samples", "1", "--hidden", "3", "--seed", "3"])
    built = []
    monkeypatch.setattr(boards, "build_board",
                        lambda source, board, out, **kw: built.append((source, kw)) or {})
    with pytest.raises(Exception):  # the empty report ends the command; what it got counts
        main(["build", "learn:digits", "--board", "ulx3s-85f", "--hidden", "3", "--seed", "3"])
    [((name, artifact), kwargs)] = built
    assert name == "learn-digits64x3x10-seed3"
    assert kwargs["learning"].n_hidden == 3
    assert cosim.board_verilog(artifact.plan, artifact.system,
                               learning=kwargs["learning"]) == simulated[0]
    # and the default start is the learn command's default (64-32-10, seed 0)
    (name, _), config = boards.resolve_learning_design()
    assert name == "learn-digits64x32x10-seed0" and config.n_hidden == 32
