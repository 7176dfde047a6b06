"""scripts/nextpnr_options.py: the build's own nextpnr line with options added, and (slow)
a run on a real build whose default-seed placement it must reproduce."""

import importlib.util
import json
import shlex
from pathlib import Path

import pytest

from spikeforge.boards.build import build_board, nextpnr_seed_command, resolve_design, seed_fmax
from tests.boards.test_build import _board_build_plan, _require_tools

_PATH = Path(__file__).resolve().parents[1] / "scripts" / "nextpnr_options.py"
_SPEC = importlib.util.spec_from_file_location("nextpnr_options", _PATH)
nextpnr_options = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(nextpnr_options)


def _script(board="icebreaker"):
    return _board_build_plan(resolve_design("core:8x16"), board).files["build_top.sh"]


@pytest.mark.parametrize("board", ["icebreaker", "ulx3s-85f"])
def test_the_options_are_added_to_the_builds_own_nextpnr_line(board):
    script = _script(board)
    (line,) = [ln for ln in script.splitlines() if ln.startswith('"$NEXTPNR_')]
    tool, args = nextpnr_options.options_command(script, None, ["--promote-logic"], "pl")
    assert args[args.index("--report") + 1] == "options/pl_default.report.json"
    assert args[args.index("--log") + 1] == "options/pl_default.tim"
    assert "--seed" not in args and args[-1] == "--promote-logic"
    # everything else is the script's line without its placed-design output
    _, seeded = nextpnr_seed_command(script, 3)
    _, again = nextpnr_options.options_command(script, 3, [], "x")
    assert again[-2:] == ["--seed", "3"]
    assert [a for a in again if "options/" not in a] == [a for a in seeded if "seeds/" not in a]
    assert tool == shlex.split(line)[0].lstrip("$").lower().replace("_", "-")


def test_a_directory_without_a_build_is_refused_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        nextpnr_options.main([str(tmp_path), "--", "--promote-logic"])
    assert exit_.value.code == 2
    assert "holds no finished build" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        nextpnr_options.main([str(tmp_path), "--seeds", "-1"])
    assert "--seeds: must be a whole number >= 0, got -1" in capsys.readouterr().err


@pytest.mark.slow  # a build and three placements, ~70 s
def test_nextpnr_defaults_given_as_options_reproduce_the_builds_placements(tmp_path, capsys):
    """``--placer-heap-critexp 2`` is nextpnr's default: the default seed's placement is the
    build's own (the same Fmax), seed 1's the same as seed_fmax's; an option that changes
    the placer changes it."""
    _require_tools("icebreaker")
    out = tmp_path / "ice"
    report = build_board(resolve_design("core:8x16"), "icebreaker", out)
    assert nextpnr_options.main([str(out), "--seeds", "1", "--tag", "same", "--",
                                 "--placer-heap-critexp", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f" default: {report['fmax_mhz']:.1f} MHz", lines
    assert lines[1] == f"  seed 1: {seed_fmax(out, [1])[1]:.1f} MHz", lines
    assert lines[2].startswith("--placer-heap-critexp 2: mean ") and "of 2 meet" in lines[2]
    saved = json.loads((out / "options" / "same_default.report.json").read_text())
    assert saved["fmax"] == json.loads((out / "top.report.json").read_text())["fmax"]
    nextpnr_options.main([str(out), "--seeds", "0", "--", "--placer", "static"])
    other = json.loads((out / "options" / "placer_static_default.report.json").read_text())
    assert other["fmax"] != saved["fmax"]
