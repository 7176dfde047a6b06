"""``spikeforge cache info|clean``: the co-simulation build cache
(:func:`spikeforge.cosim.runner.default_build_root`: ``$SPIKEFORGE_COSIM_BUILD``, default
``~/.cache/spikeforge/cosim``), bounded by ``$SPIKEFORGE_CACHE_MAX`` (default 2G) with
least-recently-used pruning after each new build.

* ``cache info`` prints the root, the bound, the total and one line per build directory,
  least recently used first (kind, size, age of its last use, in use or not).
* ``cache clean [--keep SIZE]`` removes whole build directories, least recently used first,
  until at most SIZE (default 0: all) remain; a build in use by a running co-simulation is
  never removed (it holds a lock), nor one of a folder whose users take no lock (listed as
  ``kept``).
"""

from __future__ import annotations

import argparse
import os
import time

from spikeforge.commands.options import run_action
from spikeforge.cosim.runner import (
    CACHE_MAX_ENV,
    cache_entries,
    cache_limit,
    default_build_root,
    format_size,
    parse_size,
    prune_cache,
)
from spikeforge.ir.errors import ConfigError

__all__ = ["register", "run_action", "cmd_info", "cmd_clean"]


def _age(stamp: float) -> str:
    seconds = max(0.0, time.time() - stamp)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit} ago"
    return f"{seconds:.0f} s ago"


def cmd_info(args) -> int:
    root = default_build_root()
    limit = cache_limit()
    entries = cache_entries(root)
    total = sum(e.size for e in entries)
    source = f"${CACHE_MAX_ENV}" if os.environ.get(CACHE_MAX_ENV) else "default"
    print(f"cache {root}: {len(entries)} builds, {format_size(total)} of "
          f"{format_size(limit)} ({source})")
    if entries:
        print(f"{'kind':<10}{'size':>11}  {'last used':<14}{'state':<8}build")
        for e in entries:
            state = "in use" if e.in_use else ("" if e.prunable else "kept")
            print(f"{e.kind:<10}{format_size(e.size):>11}  {_age(e.last_used):<14}{state:<8}"
                  f"{e.path.name}")
    return 0


def cmd_clean(args) -> int:
    keep = 0 if args.keep is None else args.keep
    root = default_build_root()
    removed = prune_cache(root, keep, wait=True)
    left = cache_entries(root)
    in_use = sum(e.in_use for e in left)
    kept = sum(not e.prunable for e in left)
    print(f"removed {len(removed)} builds ({format_size(sum(e.size for e in removed))}) from "
          f"{root}; {len(left)} left ({format_size(sum(e.size for e in left))}"
          + (f", {in_use} in use" if in_use else "")
          + (f", {kept} of folders pruned by their own tools" if kept else "") + ")")
    return 0


def _size(text: str) -> int:
    try:
        return parse_size(text, "--keep")
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error).removeprefix("--keep: ")) from None


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "cache", help="size and cleaning of the co-simulation build cache",
        description="The co-simulation build cache ($SPIKEFORGE_COSIM_BUILD, default "
                    "~/.cache/spikeforge/cosim), kept under $SPIKEFORGE_CACHE_MAX (default "
                    "2G) by removing the least recently used builds.")
    p.set_defaults(handler=run_action)
    sub = p.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    info = sub.add_parser("info", help="where the cache is, its size and its builds",
                          description="The cache's root, bound and builds, least recently "
                                      "used first.")
    info.set_defaults(action=cmd_info)
    clean = sub.add_parser("clean", help="remove builds (all, or down to --keep SIZE)",
                           description="Remove whole builds, least recently used first, "
                                       "until at most --keep remain; builds in use stay.")
    clean.add_argument("--keep", type=_size, default=None, metavar="SIZE",
                       help="keep up to SIZE (e.g. 500M, 1G) of the most recently used "
                            "builds (default: remove all)")
    clean.set_defaults(action=cmd_clean)
