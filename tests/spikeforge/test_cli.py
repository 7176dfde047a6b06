"""The command line (spikeforge/cli.py): its help, the sub-commands it registers, one handler
convention. Each sub-command's own tests are in commands/; the demo is tests/e2e/test_demo.py."""

import argparse
import subprocess
import sys

from tests.util import run_cli


def test_help_lists_the_sub_commands():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("demo", "verilog", "train", "compile", "verify", "build", "fit", "learn",
                    "import", "export", "cost", "report", "fuzz", "data", "cache"):
        assert command in result.stdout


def test_help_does_not_import_torch():
    """The command line starts without PyTorch (seconds to import): only training and model
    files need it."""
    code = ("import sys; from spikeforge.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('torch', 'spikeforge.model') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_every_command_has_one_handler_convention():
    """Each sub-command's parser carries ``handler`` (returns the exit status), nothing else."""
    from spikeforge.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert list(commands.choices) == ["demo", "verilog", "train", "compile", "verify", "build",
                                      "fit", "learn", "import", "export", "cost", "report",
                                      "fuzz", "mutate", "data", "cache"]
    for name, sub in commands.choices.items():
        assert callable(sub.get_default("handler")), name
        assert sub.get_default("func") is None, name


def test_every_commands_help_renders():
    """argparse expands ``%`` in help texts: a literal ``2%`` in an option's help (written
    ``%%``) would make ``spikeforge COMMAND --help`` a traceback."""
    from spikeforge.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in commands.choices.items():
        assert sub.format_help().startswith(f"usage: spikeforge {name}"), name
