"""What every sub-command's arguments share: range-checked argument types and checks of
output paths, so that a bad argument is refused before any work starts.

The types (:func:`integer`, :func:`number`) are ``argparse`` ``type=`` callables: argparse
turns their :class:`argparse.ArgumentTypeError` into ``spikeforge CMD: error: argument
--flag: must be ..., got ...`` (one line, exit status 2; see :class:`spikeforge.cli.Parser`).
The path checks raise :class:`~spikeforge.ir.errors.ConfigError` naming the option.
"""

from __future__ import annotations

import argparse
import errno
import math
import os
from pathlib import Path

from spikeforge.ir.errors import ConfigError

__all__ = ["integer", "number", "check_output_file", "check_output_dir", "check_writable"]


def _range_text(lo, hi) -> str:
    if lo is not None and hi is not None:
        return f"in {lo}..{hi}"
    return f">= {lo}" if lo is not None else f"<= {hi}"


def integer(lo: int | None = None, hi: int | None = None):
    """An ``argparse`` type: a whole number in ``lo..hi`` (either end may be open)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"must be an integer {_range_text(lo, hi)}, "
                                             f"got {value}")
        return value

    parse.__name__ = "integer"
    return parse


def number(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False,
           hi_open: bool = False):
    """An ``argparse`` type: a finite number in ``[lo, hi]`` (``lo_open`` / ``hi_open``
    exclude that end)."""
    left, right = "(" if lo_open else "[", ")" if hi_open else "]"
    interval = (f"in {left}{lo:g}, {hi:g}{right}" if lo is not None and hi is not None
                else f"{'>' if lo_open else '>='} {lo:g}" if lo is not None
                else f"{'<' if hi_open else '<='} {hi:g}" if hi is not None else "")

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if (not math.isfinite(value)
                or (lo is not None and (value <= lo if lo_open else value < lo))
                or (hi is not None and (value >= hi if hi_open else value > hi))):
            raise argparse.ArgumentTypeError(f"must be a finite number {interval}, got {text}")
        return value

    parse.__name__ = "number"
    return parse


# -- output paths -----------------------------------------------------------------------------

def check_writable(path, option: str, beside: bool = False) -> None:
    """:class:`ConfigError` if ``path`` (a file or directory to be written, existing or not)
    cannot be written: it, or its nearest existing ancestor, is read-only or not writable,
    or a parent is a file. ``beside``: ``path`` is written by creating something next to it
    (a temporary directory renamed), so its parent must be writable. A courtesy check
    before the work; the write itself still reports its own error."""
    path = Path(path)
    target = path.absolute().parent if beside else path
    try:
        while not target.exists():
            if target.parent == target:
                break
            target = target.parent
        if target != path and not target.is_dir():
            raise ConfigError(f"{option}: cannot write {path}: {target} is not a directory")
        if not os.access(target, os.W_OK):
            read_only = bool(os.statvfs(target).f_flag & os.ST_RDONLY)
            reason = os.strerror(errno.EROFS if read_only else errno.EACCES)
            raise ConfigError(f"{option}: cannot write {path}: {reason}"
                              + ("" if target == path else f" ({target})"))
    except OSError as error:  # e.g. a name too long for the file system
        raise ConfigError(f"{option}: cannot write {path}: {error.strerror}") from None


def check_output_file(path, option: str) -> None:
    """``path`` may be written as a file: not a directory, and its directory writable (the
    file is written beside and renamed)."""
    path = Path(path)
    try:
        is_dir = path.is_dir()
    except OSError as error:
        raise ConfigError(f"{option}: cannot write {path}: {error.strerror}") from None
    if is_dir:
        raise ConfigError(f"{option}: {path} is a directory; give the file to write")
    check_writable(path, option, beside=True)


def check_output_dir(path, option: str) -> None:
    """``path`` may be written as a directory: not an existing file, and writable."""
    path = Path(path)
    try:
        is_file = path.exists() and not path.is_dir()
    except OSError as error:
        raise ConfigError(f"{option}: cannot write {path}: {error.strerror}") from None
    if is_file:
        raise ConfigError(f"{option}: {path} exists and is not a directory")
    check_writable(path, option)


def run_action(args) -> int:
    """The handler of a command with actions (``data fetch``, ``cache clean``): runs the
    chosen action's function."""
    return args.action(args)
