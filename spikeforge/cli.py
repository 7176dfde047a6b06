"""The ``spikeforge`` command line: one entry point, a sub-command per step of the flow.

The sub-commands live in :mod:`spikeforge.commands` (one module per group, each with
``register(subparsers)``); this module only puts them together and runs the chosen one.
"""

from __future__ import annotations

import argparse
import sys

from spikeforge import __version__
from spikeforge.commands import boards, demo, train, verilog
from spikeforge.commands import compile as compile_and_verify
from spikeforge.ir.errors import SpikeforgeError

#: the command modules, in the order ``spikeforge --help`` lists their commands
COMMANDS = (demo, verilog, train, compile_and_verify, boards)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spikeforge",
        description="Spiking neural networks from PyTorch to bit-exact, co-simulated FPGA hardware.")
    parser.add_argument("--version", action="version", version=f"spikeforge {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except SpikeforgeError as error:
        print(f"spikeforge {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
