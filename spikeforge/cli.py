"""The ``spikeforge`` command line: one entry point, a sub-command per step of the flow.

The sub-commands live in :mod:`spikeforge.commands` (one module per group, each with
``register(subparsers)``); this module only puts them together and runs the chosen one.

Every error is one line on stderr, ``spikeforge COMMAND: error: ...`` naming the bad input,
and exit status 2, never a traceback: a bad argument (refused by the parser or the handler's
checks, before any work), a :class:`~spikeforge.ir.errors.SpikeforgeError` of the library (a
failed tool adds the tail of its log), or an ``OSError`` while reading or writing a file
(its path and the operating system's reason). ``tests/spikeforge/test_errors.py`` holds every
case.
"""

from __future__ import annotations

import argparse
import sys

from spikeforge import __version__
from spikeforge.commands import (
    boards,
    cache,
    cost,
    data,
    demo,
    fuzz,
    learn,
    mutate,
    nir,
    report,
    train,
    verilog,
)
from spikeforge.commands import compile as compile_and_verify
from spikeforge.ir.errors import SpikeforgeError

#: the command modules, in the order ``spikeforge --help`` lists their commands
COMMANDS = (demo, verilog, train, compile_and_verify, boards, learn, nir, cost, report, fuzz,
            mutate, data, cache)


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line (the usage is one ``--help`` away);
    ``add_subparsers`` makes the sub-command parsers of the same class."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="spikeforge",
        description="Spiking neural networks from PyTorch to bit-exact, co-simulated FPGA hardware.")
    parser.add_argument("--version", action="version", version=f"spikeforge {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.register(subparsers)
    return parser


def describe_os_error(error: OSError) -> str:
    """``path: reason`` of an ``OSError`` (both paths of a rename), else its text."""
    reason = error.strerror or str(error)
    if error.filename is not None and error.filename2 is not None:
        return f"{error.filename} -> {error.filename2}: {reason}"
    if error.filename is not None:
        return f"{error.filename}: {reason}"
    return str(error) or type(error).__name__


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    prefix = f"spikeforge {args.command}: error:"
    try:
        return args.handler(args)
    except SpikeforgeError as error:
        print(f"{prefix} {error}", file=sys.stderr)
        return 2
    except OSError as error:  # reading or writing a file: a full disk, a read-only file system
        print(f"{prefix} {describe_os_error(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
