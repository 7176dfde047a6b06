"""Issue 11 point 3 in one picture: TTFS model files on the validation split only, 8-bit
golden accuracy against the hidden spikes before the decision, beside the prototype's
point (97 % at 139) -- the trade-off curve every sparse run since stop 34 has landed on
(docs/model.md section 6).

    .venv/bin/python scripts/ttfs_tradeoff.py MODEL [MODEL ...] [--plot PNG] \
        [--earlier "LABEL=SPIKES,ACCURACY" ...] [--weight-shift S]

Prints a row per model file (the figures of ``bench_ttfs_mnist.py validate``) and draws
them; the test set is never read. ``--earlier`` draws a run whose model file is gone from
its recorded figures (docs/model.md), hollow and grey, so that a new run can be set
beside the curve of the earlier ones. ``--weight-shift S``: every model's golden model
adds its weights << S (``compile --weight-shift``), its label says so.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_ttfs_mnist as bench  # noqa: E402  (the split and the golden statistics)

from spikeforge.ir.errors import SpikeforgeError  # noqa: E402
from spikeforge.model.datasets import load_dataset  # noqa: E402

HEADER = ("| model | val 8-bit golden | hidden spikes before the decision | weights read "
          "in->hid / hid->out | median decision tick |")


def figures(path: Path, val, weight_shift: int = 0) -> dict:
    """The validation figures of one model file (:func:`bench.golden_stats`)."""
    _, net, k, encoding = bench.read_model(path)
    st = bench.golden_stats(net, val[0], val[1], k, encoding, weight_shift=weight_shift)
    return {"golden": st["golden"], "hidden": float(st["hidden_spikes"].mean()),
            "reads": st["reads"].mean(axis=0), "tick": float(np.median(st["decision_tick"]))}


def earlier_point(text: str) -> tuple[str, float, float]:
    """``"LABEL=SPIKES,ACCURACY"`` -> ``(label, spikes, accuracy)`` (``ValueError`` naming
    what is wrong)."""
    label, _, figures_ = text.rpartition("=")
    try:
        spikes, accuracy = (float(x) for x in figures_.split(","))
    except ValueError:
        raise ValueError(f"{text!r}: expected LABEL=SPIKES,ACCURACY") from None
    if not label or spikes < 0 or not 0 <= accuracy <= 1:
        raise ValueError(f"{text!r}: expected LABEL=SPIKES,ACCURACY, a label, spikes >= 0 "
                         "and an accuracy in [0, 1]")
    return label, spikes, accuracy


def plot(points: list, path: Path, earlier=()) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, (name, spikes, accuracy) in enumerate(earlier):
        ax.plot(spikes, accuracy, "o", mfc="none", color="tab:gray",
                label=None if i else "earlier runs (recorded figures)")
        ax.annotate(name, (spikes, accuracy), fontsize=6, color="tab:gray", xytext=(4, -8),
                    textcoords="offset points")
    for i, (name, f) in enumerate(points):  # two files of one stem stay two points
        ax.plot(f["hidden"], f["golden"], "o", color="tab:blue",
                label=None if i or not earlier else "these model files")
        ax.annotate(name, (f["hidden"], f["golden"]), fontsize=7, xytext=(4, 2),
                    textcoords="offset points")
    proto = bench.PROTOTYPE
    ax.plot(proto["hidden_spikes"], proto["golden"], "*", ms=14, color="tab:red",
            label="Mostafa's FPGA prototype (60k training images)")
    ax.axhline(proto["golden"], color="tab:red", lw=0.6, ls="--")
    ax.axvline(proto["hidden_spikes"], color="tab:red", lw=0.6, ls="--")
    ax.set_xlabel("hidden spikes before the decision (validation mean)")
    ax.set_ylabel("8-bit golden accuracy (validation)")
    ax.legend(loc="lower right", fontsize=8)
    fig.suptitle("TTFS 784-600-10: accuracy against hidden spikes")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path, metavar="MODEL")
    parser.add_argument("--plot", type=Path, default=Path("build/ttfs_mnist/tradeoff.png"),
                        metavar="PNG")
    parser.add_argument("--dataset", default="mnist", choices=["mnist", "digits"],
                        help="the models' dataset (digits: the tests' small networks)")
    parser.add_argument("--earlier", action="append", default=[], metavar="LABEL=SPIKES,ACC",
                        help="also draw a run whose model file is gone, from its recorded "
                             "validation figures (hollow, grey)")
    parser.add_argument("--weight-shift", type=int, default=0, choices=range(25), metavar="S",
                        help="the golden models add the weights << S (compile's option)")
    args = parser.parse_args(argv)
    try:
        earlier = [earlier_point(text) for text in args.earlier]
    except ValueError as error:
        parser.error(f"--earlier: {error}")
    torch.set_num_threads(1)
    missing = [str(m) for m in args.models if not m.is_file()]
    if missing:
        parser.exit(2, f"ttfs_tradeoff: no such model file: {', '.join(missing)}\n")
    _, val = bench.split(load_dataset(args.dataset))
    print(HEADER + "\n" + "|---" * 5 + "|", flush=True)
    points = []
    for path in args.models:
        try:
            f = figures(path, val, args.weight_shift)
        except SpikeforgeError as error:
            parser.exit(2, f"ttfs_tradeoff: {path}: {error}\n")
        shift = f" <<{args.weight_shift}" if args.weight_shift else ""
        print(f"| {path}{shift} | {f['golden']:.3f} | {f['hidden']:.1f} | {f['reads'][0]:.3f} / "
              f"{f['reads'][1]:.3f} | {f['tick']:.0f} |", flush=True)
        points.append((path.stem + shift, f))
    plot(points, args.plot, earlier)
    print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
