"""The README's Python API block runs as written: train -> compile -> verify -> build (the
default suite up to the build, the slow suite the whole block)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def readme_python_block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Python API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


BUILD_LINE = 'print(build_board("out/digits", "icebreaker", "out/board")["fmax_mhz"])'


def run_block(code: str, cwd: Path) -> list[str]:
    """``code`` in a fresh Python in ``cwd``: its output lines (it must exit 0)."""
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()


def check_verdict(line: str, out: Path) -> None:
    assert line.startswith("icarus") and line.endswith("BIT-EXACT"), line
    assert (out / "out" / "digits" / "spikeforge_system.v").is_file()


def test_the_readme_python_api_block_runs_up_to_the_board_build(tmp_path):
    """Every line but the last, the board build (about 2 minutes of Yosys and nextpnr; the
    same ``build_board`` runs in the default suite in tests/boards/test_build.py, and the whole
    block in the slow test below)."""
    lines = readme_python_block().strip().splitlines()
    assert len(lines) <= 10
    assert lines[-1].split("  #")[0] == BUILD_LINE, lines[-1]
    check_verdict(run_block("\n".join(lines[:-1]), tmp_path)[-1], tmp_path)


@pytest.mark.slow
def test_the_readme_python_api_block_runs(tmp_path):
    verdict, fmax = run_block(readme_python_block(), tmp_path)[-2:]
    check_verdict(verdict, tmp_path)
    assert float(fmax) > 0
    assert (tmp_path / "out" / "board" / "report.json").is_file()
