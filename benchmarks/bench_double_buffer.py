"""Double-buffered cores against today's (issue 10, point 3), on the RTL: for each compiled
design, a twin whose cores take the next tick's events while they update
(``SystemConfig.double_buffer``; same network, plan and settings otherwise), both
co-simulated in Verilator on the same test images (the shipped Verilog, every spike of every
layer, the class, the decision tick and the cycle count against the golden and cycle
models), and their cycles per inference set beside the work bound.

    .venv/bin/python benchmarks/bench_double_buffer.py DIR [DIR ...] [--images 200] [--jobs 2]

``DIR``: the output of ``spikeforge compile``, single-buffered (with ``--board``
``compile`` may choose double-buffered cores; ``--no-double-buffer`` keeps one buffer); the
twin goes to ``DIR.double`` (rewritten each run: the artifact with ``double_buffer``, its
Verilog, the same expected traces). Columns: cycles per inference of each, the work bound
(:func:`~spikeforge.sim.system_cycle.lower_bound_cycles`' ``work_bound``: weight words read
/ lanes plus update words of the busiest core, from the work alone) and each as a ratio to
it (issue 10 asks for <= 1.2x), the bit-exact images of each.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import shutil
import sys
from pathlib import Path

from spikeforge.compiler.artifact import load_artifact, save_artifact
from spikeforge.flow import FLOW_JSON, VERILOG, verify_artifact
from spikeforge.hdl.verilog import system_verilog
from spikeforge.ir.errors import SpikeforgeError

HEADER = ("| design | cores (lanes) | images | cycles/inf | double-buffered | work bound | "
          "ratio | double-buffered ratio | bit-exact |")


def twin(directory: Path) -> Path:
    """``DIR.double``: ``directory``'s artifact with ``double_buffer``, its Verilog and the
    same expected traces (which do not depend on the system's timing)."""
    artifact = load_artifact(directory)
    if artifact.system.double_buffer:
        raise SpikeforgeError(f"{directory}: already double-buffered (compile it with "
                              f"--no-double-buffer)")
    out = directory.with_name(directory.name + ".double")
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(directory, out)
    system = dataclasses.replace(artifact.system, double_buffer=True)
    save_artifact(artifact.network, artifact.plan, out, system, artifact.inputs)
    text = system_verilog(artifact.plan, system).encode()
    (out / VERILOG).write_bytes(text)
    meta = json.loads((out / FLOW_JSON).read_text())
    meta["verilog"] = {"file": VERILOG, "sha256": hashlib.sha256(text).hexdigest()}
    (out / FLOW_JSON).write_text(json.dumps(meta, indent=2, default=str) + "\n")
    return out


def row(directory: Path, images: int | None, jobs: int) -> str:
    plan = load_artifact(directory).plan
    reports = [verify_artifact(d, images, "verilator", jobs=jobs, progress=True)
               for d in (directory, twin(directory))]
    single, double = reports
    bound = single.work_bound_cycles
    assert bound == double.work_bound_cycles  # the same work
    shape = ", ".join(f"{len(plan.cores_of_layer(l))} ({plan.cores_of_layer(l)[0].config.lanes})"
                      for l in range(plan.n_layers))
    return (f"| {directory} | {shape} | {single.images} | {single.cycles_per_inference:.1f} | "
            f"{double.cycles_per_inference:.1f} | {bound:.1f} | "
            f"{single.cycles_per_inference / bound:.2f}x | "
            f"**{double.cycles_per_inference / bound:.2f}x** | "
            f"{single.bit_exact_images} / {double.bit_exact_images} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dirs", nargs="+", type=Path, metavar="DIR")
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    rows = []
    for directory in args.dirs:
        try:
            rows.append(row(directory, args.images, args.jobs))
        except SpikeforgeError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(rows[-1], file=sys.stderr, flush=True)
    print(HEADER)
    print("|" + "---|" * HEADER.count(" | ") + "---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
