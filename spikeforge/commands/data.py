"""``spikeforge data fetch|list``: the IDX data sets (MNIST, Fashion-MNIST) with SHA-256
checks, in the user data directory (:mod:`spikeforge.model.datasets`, docs/data.md).

* ``data fetch NAME [--url BASE] [--dir DIR]`` downloads the four ``.gz`` files (each checked
  against the registry's SHA-256; a file that does not match is refused and not kept), then
  reads them once, so that a fetched set is known to load.
* ``data list`` prints, per data set, every place the loaders look (in their order), how
  many of the four files each holds and what they are (``ok``: the registry's file; ``ok
  (payload)``: recompressed, same IDX bytes; ``differs``; ``missing``), and marks with ``*``
  the one ``load_dataset`` would read.
"""

from __future__ import annotations

import sys
from pathlib import Path

from spikeforge.commands.options import check_output_dir, run_action
from spikeforge.ir.errors import SpikeforgeError

__all__ = ["register", "run_action", "cmd_fetch", "cmd_list"]

NAMES = ("mnist", "fashion-mnist")


def cmd_fetch(args) -> int:
    from spikeforge.model import datasets

    directory = args.dir if args.dir is not None else datasets.user_data_dir(args.name)
    check_output_dir(directory, "--dir")
    remote = datasets.REGISTRY[args.name]
    print(f"{args.name}: fetching {len(remote.files)} files ({remote.size_mb:g} MB) from "
          f"{args.url or remote.base_url} into {directory}", file=sys.stderr)
    target = datasets.fetch_dataset(args.name, args.url, directory,
                                    progress=sys.stderr.isatty())
    ds = datasets.load_idx_dir(target, args.name)  # the files parse, counts agree
    print(f"{args.name}: {len(ds.train_y)} training and {len(ds.test_y)} test images in "
          f"{target} (SHA-256 checked)")
    return 0


def _summary(status: dict[str, str]) -> str:
    """``4/4 ok`` or ``2/4 ok, 2 the team's ...``: counts of each kind of file present."""
    present = [s for s in status.values() if s != "missing"]
    counts: dict[str, int] = {}
    for s in present:
        counts[s] = counts.get(s, 0) + 1
    kinds = ", ".join(f"{n} {s}" for s, n in counts.items())
    return f"{len(present)}/{len(status)}" + (f": {kinds}" if kinds else "")


def cmd_list(args) -> int:
    from spikeforge.model import datasets

    names = [args.name] if args.name else list(NAMES)
    places = {name: datasets.dataset_locations(name) for name in names}
    width = max(len(str(d)) for rows in places.values() for _, d in rows if d is not None) + 2
    print(f"{'dataset':<16}{'where':<19}{'directory':<{width}}files")
    for name in names:
        try:
            used = datasets.find_dataset_dir(name)
        except SpikeforgeError:
            used = None
        for label, directory in places[name]:
            if directory is None:
                print(f"{name:<14}  {label:<19}{'(not set)':<{width}}-")
                continue
            status = _summary(datasets.check_files(name, directory))
            mark = "*" if used is not None and Path(directory) == used else " "
            print(f"{name:<14}{mark} {label:<19}{str(directory):<{width}}{status}")
        if used is None:
            print(f"{name:<14}  not found: `spikeforge data fetch {name}`")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "data", help="download (with SHA-256 checks) and list the MNIST/Fashion-MNIST files",
        description="The IDX data sets: `data fetch NAME` downloads them into the user data "
                    "directory ($SPIKEFORGE_DATA/NAME, default ~/.cache/spikeforge/data/NAME); "
                    "`data list` shows where the loaders find them (docs/data.md).")
    p.set_defaults(handler=run_action)
    sub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    f = sub.add_parser("fetch", help="download a data set, each file checked by SHA-256",
                       description="Download the four IDX .gz files of NAME; each is checked "
                                   "against the SHA-256 of the registry, a file that does not "
                                   "match is refused and not kept; files already there and "
                                   "matching are not downloaded again.")
    f.add_argument("name", metavar="NAME", choices=NAMES, help=" or ".join(NAMES))
    f.add_argument("--url", default=None, metavar="BASE",
                   help="base URL to download the files from (default: the registry's mirror)")
    f.add_argument("--dir", type=Path, default=None, metavar="DIR",
                   help="directory to put them in (default: the user data directory)")
    f.set_defaults(action=cmd_fetch)
    ls = sub.add_parser("list", help="where the loaders look, what each place holds",
                        description="Every place the loaders look for each data set, in their "
                                    "order; * marks the one they would read.")
    ls.add_argument("name", metavar="NAME", nargs="?", choices=NAMES, default=None,
                    help="only this data set")
    ls.set_defaults(action=cmd_list)
