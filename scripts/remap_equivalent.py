"""Carry the mutation campaign's equivalence arguments across an RTL change.

``cosim.mutate.EQUIVALENT`` names each argued mutant by its site id, which holds the line
within the module's emitted Verilog; any change to a module's RTL renumbers its lines (and
Yosys's ``$N`` wires), so every argument of that module must be re-keyed. This script does
the mechanical part: it emits the campaign designs' Verilog from the old tree (a revision,
taken with ``git archive`` so that the checkout is not touched, or a directory holding a
copy of the tree) and from the working tree, and finds for each argued site of the old text
the site of the new one that

* has the same module, kind, operator and expression text (wire numbers aside), and
* reads the same: its line with every ``$N`` wire replaced by what drives it, four levels
  deep, is the same text before and after (this catches a renumbered wire that an order
  match alone would take for the same site),

and among those the k-th of its group as the old site was (sites keep their order within a
module when lines are inserted elsewhere), or the only one.

An argued site whose expression is gone, or whose line reads differently, is listed as
dropped: its mutant will be drawn again (or not) and, if it survives, must be argued anew.
The check is mechanical only: an argument's *text* (the numbers it quotes, the timing it
rests on) must still be re-read by hand.

    .venv/bin/python scripts/remap_equivalent.py OLD_REV_OR_TREE [--write]

``--write`` rewrites the re-keyed entries in ``cosim/mutate.py`` and the expressions in
``tests/cosim/argued_sites.json``; dropped entries are only listed (delete them by hand,
with their argument, or argue the new site).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_DUMP = """
import json, sys
from dataclasses import asdict
import spikeforge
from spikeforge.cosim import mutate as M
out = {"package": spikeforge.__file__, "designs": {}}
for d in M.campaign_designs():
    text = d.verilog()
    out["designs"][d.name] = {"verilog": text,
                              "sites": [dict(asdict(s), id=s.id) for s in M.logic_sites(text)]}
json.dump(out, sys.stdout)
"""


def shadow_package(tree: Path, into: Path) -> Path:
    """A directory that imports ``spikeforge`` from ``tree`` (its folders are the
    subpackages, as pyproject.toml's ``package-dir`` maps them)."""
    mapping = tomllib.loads((tree / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-dir"]
    package = into / "spikeforge"
    package.mkdir(parents=True)
    for entry in (tree / mapping["spikeforge"]).iterdir():
        (package / entry.name).symlink_to(entry)
    for name, folder in mapping.items():
        if name != "spikeforge":
            (package / name.split(".", 1)[1]).symlink_to(tree / folder)
    return into


def dump(tree: Path, work: Path) -> dict:
    """Every campaign design's Verilog and logic sites, emitted by the code of ``tree``."""
    path = shadow_package(tree, work)
    env = dict(os.environ, PYTHONPATH=str(path))
    # run from the scratch directory, so that the working tree's folders do not shadow it
    result = subprocess.run([sys.executable, "-c", _DUMP], env=env, cwd=work, check=True,
                            capture_output=True, text=True)
    data = json.loads(result.stdout)
    if not data["package"].startswith(str(path)):
        raise SystemExit(f"{tree}: imported spikeforge from {data['package']}, not the tree")
    return data["designs"]


_WIRE_NAME = re.compile(r"\\?\$\d+\b")
_ASSIGN = re.compile(r"^\s*assign\s+(\\?\S+)\s*=\s*(.*);\s*$")
_REGISTER_LOAD = re.compile(r"^\s*(\\?\S+)\s*<=\s*(\\?\$\d+)\s*;\s*$")


def resolved_line(lines: list[str], first: int, last: int, k: int, depth: int = 4) -> str:
    """Line ``k`` of the module spanning ``first..last`` with each ``$N`` wire replaced by
    the expression assigned to it, ``depth`` levels deep, and a wire that a process computes
    as a register's next value (``reg <= $N``) by ``next reg`` (so that ``$N = 16'h0000``,
    a reset value, names its register: stop 31 found two resets of the same width taken for
    each other by rank); the wires left are written ``$`` (their numbers change with any edit
    of the module)."""
    drivers = {}
    for line in lines[first:last]:
        m = _ASSIGN.match(line)
        if m and _WIRE_NAME.fullmatch(m.group(1)):
            drivers[m.group(1).lstrip("\\")] = m.group(2)
        m = _REGISTER_LOAD.match(line)
        if m:
            drivers.setdefault(m.group(2).lstrip("\\"), f"next {m.group(1)}")
    text = lines[k].strip()
    for _ in range(depth):
        text = _WIRE_NAME.sub(lambda m: f"({drivers.get(m.group(0).lstrip(chr(92)), '?')})",
                              text)
    return _WIRE_NAME.sub("$", text)


def indexed(design: dict) -> tuple[dict, dict]:
    """Sites (with their ``Site.id``) by id, and for each the signature (module, kind,
    operator, original, without wire numbers), its rank among the sites of that signature
    and its resolved line."""
    from spikeforge.cosim.mutate import module_spans

    lines = design["verilog"].splitlines()
    spans = {name: (first, last) for name, first, last in module_spans(lines)}
    by_id, by_signature = {}, defaultdict(list)
    for site in design["sites"]:
        # wire numbers left out: Yosys renumbers them; the resolved line tells them apart
        signature = (site["module"], site["kind"], _WIRE_NAME.sub("$", site["operator"]),
                     _WIRE_NAME.sub("$", site["original"]))
        first, last = spans[site["module"]]
        entry = {"id": site["id"], "signature": signature, "rank": len(by_signature[signature]),
                 "reads": resolved_line(lines, first, last, site["line"]),
                 "original": site["original"]}
        by_signature[signature].append(entry)
        by_id[entry["id"]] = entry
    return by_id, by_signature


def remap(old: dict, new: dict, keys: list[tuple[str, str]]):
    """``{old key: new key}`` and ``[(old key, why dropped)]``."""
    mapping, dropped = {}, []
    tables = {name: (indexed(old[name]), indexed(new[name])) for name in old if name in new}
    for design, sid in keys:
        if design not in tables:
            dropped.append(((design, sid), "design gone"))
            continue
        (old_ids, _), (_, new_signatures) = tables[design]
        site = old_ids.get(sid)
        if site is None:
            dropped.append(((design, sid), "not a site of the old text (already stale)"))
            continue
        candidates = new_signatures.get(site["signature"], [])
        same = [c for c in candidates if c["reads"] == site["reads"]]
        by_rank = [c for c in same if c["rank"] == site["rank"]]
        if by_rank:
            mapping[(design, sid)] = (design, by_rank[0]["id"])
        elif len(same) == 1:
            mapping[(design, sid)] = (design, same[0]["id"])
        else:
            why = ("expression gone" if not candidates else
                   f"{len(candidates)} sites of the same expression, {len(same)} reading the "
                   f"same")
            dropped.append(((design, sid), why))
    return mapping, dropped


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old_rev", help="the revision whose site ids EQUIVALENT holds, or a "
                        "directory holding such a tree (e.g. a copy of an uncommitted one)")
    parser.add_argument("--write", action="store_true",
                        help="rewrite the mapped keys in cosim/mutate.py")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="remap-") as tmp:
        tmp = Path(tmp)
        old_tree = Path(args.old_rev).resolve()
        if not old_tree.is_dir():
            old_tree = tmp / "old"
            old_tree.mkdir()
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.old_rev],
                                     capture_output=True)
            if archive.returncode:
                raise SystemExit(f"OLD_REV: {args.old_rev!r} is neither a directory nor a "
                                 f"revision of this repository")
            archive = archive.stdout
            subprocess.run(["tar", "-x", "-C", str(old_tree)], input=archive, check=True)
        print(f"emitting the campaign designs at {args.old_rev} and in the working tree ...",
              file=sys.stderr)
        old = dump(old_tree, tmp / "old-pkg")
        new = dump(ROOT, tmp / "new-pkg")
    from spikeforge.cosim.mutate import EQUIVALENT
    mapping, dropped = remap(old, new, list(EQUIVALENT))
    moved = {k: v for k, v in mapping.items() if k != v}
    print(f"{len(EQUIVALENT)} arguments: {len(mapping) - len(moved)} keep their id, "
          f"{len(moved)} re-keyed, {len(dropped)} dropped")
    for (design, old_id), (_, new_id) in sorted(moved.items()):
        print(f"  re-keyed  {design}: {old_id} -> {new_id}")
    for (design, old_id), why in dropped:
        print(f"  DROPPED   {design}: {old_id} ({why})")
    if args.write and moved:
        path = ROOT / "cosim" / "mutate.py"
        text = path.read_text()
        # through placeholders: a new id may be another entry's old id. An entry is keyed
        # ("design", "id"), or "id": in a dict of one design's sites (``_TTFS``)
        forms = []
        for n, ((design, old_id), _) in enumerate(sorted(moved.items())):
            for form in ('("{d}", "{i}")', '"{i}": '):
                key = form.format(d=design, i=old_id)
                if text.count(key) == 1:
                    text = text.replace(key, form.format(d=design, i=f"@{n}@"))
                    forms.append(form)
                    break
            else:
                raise SystemExit(f"cosim/mutate.py: ({design!r}, {old_id!r}) is not written "
                                 f"once on one line")
        for n, ((_, (design, new_id)), form) in enumerate(zip(sorted(moved.items()), forms)):
            text = text.replace(form.format(d=design, i=f"@{n}@"),
                                form.format(d=design, i=new_id), 1)
        path.write_text(text)
        print(f"rewrote {len(moved)} keys in {path.relative_to(ROOT)}")
    if args.write:
        # the expression each argued site has now (tests/cosim/test_mutate.py checks it)
        new_ids = {name: indexed(new[name])[0] for name in new}
        recorded = {f"{d} {i}": new_ids[d][i]["original"] for d, i in sorted(mapping.values())}
        path = ROOT / "tests" / "cosim" / "argued_sites.json"
        path.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
        print(f"rewrote {path.relative_to(ROOT)} ({len(recorded)} sites; dropped ones left out)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
