"""ANN -> SNN conversion (model/convert.py): accuracy of the ReLU MLP, the float SNN and the
8-bit SNN (golden model) against the number of input ticks, the tick count chosen on a
validation split, the memory/compute cost at that count, and a co-simulation of the 8-bit
network on test images in Verilator.

    .venv/bin/python benchmarks/bench_conversion.py                  # MNIST 784-256-10 (~15 min)
    .venv/bin/python benchmarks/bench_conversion.py --dataset digits # 64-64-10, ~1 min
    .venv/bin/python benchmarks/bench_conversion.py --quick          # digits, 3 tick counts, 20 images co-simulated

Every choice (the tick count) is made on a validation split held out of the training set
(the last 10 % of a seeded permutation); the test set is only reported. Prints markdown
tables and writes the plot to docs/img/conversion_<dataset>.png; docs/conversion.md records
a run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from spikeforge.compiler.quantize import accuracy
from spikeforge.flow import TABLE_HEADER, compile_network, verify_artifact
from spikeforge.ir.params import Decision
from spikeforge.model.convert import ann_accuracy, convert_and_quantize, rate_counts, train_ann
from spikeforge.model.datasets import load_dataset
from spikeforge.sim.cost import network_cost
from spikeforge.sim.network import run_network

ROOT = Path(__file__).resolve().parents[1]


def table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(x) for x in row) + " |" for row in rows])


def split(ds, seed: int = 0, fraction: float = 0.1):
    """(train indices, validation indices) of the training set."""
    order = np.random.default_rng(seed).permutation(len(ds.train_y))
    n_val = int(round(len(order) * fraction))
    return order[n_val:], order[:n_val]


def snn_accuracies(converted, raw_x, y, max_value, ticks):
    counts = rate_counts(raw_x, ticks, max_value)
    run = ticks + len(converted.description) - 1
    float_net = {"layers": converted.description, "decision": Decision.SPIKE_COUNT.value}
    return accuracy(float_net, counts, y, ticks=run), accuracy(converted.network, counts, y, ticks=run)


def plot(rows, ann_test, dataset, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ticks = [r["ticks"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.axhline(ann_test * 100, color="k", lw=1, label="ReLU ANN")
    ax.plot(ticks, [r["float_test"] * 100 for r in rows], "o-", label="float SNN")
    ax.plot(ticks, [r["int_test"] * 100 for r in rows], "s--", label="8-bit SNN (golden = RTL)")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("input ticks")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"ANN -> SNN conversion, {dataset}")
    ax.grid(alpha=0.3)
    ax.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="mnist", choices=["digits", "mnist", "fashion-mnist"])
    ap.add_argument("--quick", action="store_true", help="digits, three tick counts, 5 images")
    ap.add_argument("--hidden", type=int, default=None, help="hidden neurons (256; digits 64)")
    ap.add_argument("--epochs", type=int, default=None, help="ANN epochs (10; digits 30)")
    ap.add_argument("--cosim", type=int, default=100, help="test images to co-simulate (0: none)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    dataset = "digits" if args.quick else args.dataset
    small = dataset == "digits"
    hidden = args.hidden or (64 if small else 256)
    epochs = args.epochs or (30 if small else 10)
    tick_counts = [8, 16, 32] if args.quick else [4, 8, 16, 32, 64, 128]
    cosim = 5 if args.quick else args.cosim

    ds = load_dataset(dataset)
    train, val = split(ds)
    x_all, y_all = ds.normalized("train")
    x_test, y_test = ds.normalized("test")
    t0 = time.perf_counter()
    net = train_ann(x_all[train], y_all[train], hidden=(hidden,), epochs=epochs)
    train_s = time.perf_counter() - t0
    ann_val, ann_test = ann_accuracy(net, x_all[val], y_all[val]), ann_accuracy(net, x_test, y_test)
    print(f"{dataset} {ds.n_features}-{hidden}-{ds.n_classes} ReLU MLP, no bias, {epochs} epochs on "
          f"{len(train)} training images ({train_s:.1f} s); validation {len(val)} images\n")

    rows = []
    for ticks in tick_counts:
        t0 = time.perf_counter()
        converted = convert_and_quantize(net, x_all[train], ticks)
        f_val, i_val = snn_accuracies(converted, ds.train_x[val], y_all[val], ds.max_value, ticks)
        f_test, i_test = snn_accuracies(converted, ds.test_x, y_test, ds.max_value, ticks)
        rows.append(dict(ticks=ticks, converted=converted, float_val=f_val, int_val=i_val,
                         float_test=f_test, int_test=i_test, seconds=time.perf_counter() - t0))
        print(f"  {ticks} ticks: validation float {f_val:.4f} 8-bit {i_val:.4f} "
              f"({rows[-1]['seconds']:.1f} s)", flush=True)
    # the recommendation: the fewest ticks whose 8-bit SNN is within 1 point of the ANN on
    # the validation split (the largest tick count if none is)
    chosen = next((r for r in rows if r["int_val"] >= ann_val - 0.01), rows[-1])

    print("\n### Accuracy against input ticks\n")
    print(table(["ticks", "ANN val", "float SNN val", "8-bit SNN val", "ANN test", "float SNN test",
                 "8-bit SNN test", "chosen"],
                [[r["ticks"], f"{ann_val:.4f}", f"{r['float_val']:.4f}", f"{r['int_val']:.4f}",
                  f"{ann_test:.4f}", f"{r['float_test']:.4f}", f"{r['int_test']:.4f}",
                  "**yes**" if r is chosen else ""] for r in rows]))
    picture = ROOT / "docs" / "img" / f"conversion_{dataset}.png"
    plot(rows, ann_test, dataset, picture)
    print(f"\nplot: {picture.relative_to(ROOT)}")

    network = chosen["converted"].network
    counts = rate_counts(ds.test_x, chosen["ticks"], ds.max_value)
    run = chosen["ticks"] + len(network.layers) - 1
    padded = np.zeros(counts.shape[:1] + (run,) + counts.shape[2:], dtype=np.uint8)
    padded[:, :chosen["ticks"]] = counts
    print(f"\n### Cost at {chosen['ticks']} ticks (test set, sim/cost.py)\n")
    print(network_cost(network, run_network(network, padded), until_decision=False).format())

    if cosim:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "compiled"
            compile_network(network, out, padded[:cosim], y_test[:cosim])
            t0 = time.perf_counter()
            report = verify_artifact(out, cosim, "verilator")
            print(f"\n### Co-simulation (Verilator, {cosim} test images, "
                  f"{time.perf_counter() - t0:.0f} s)\n")
            print(TABLE_HEADER)
            print(report.row())
            if not report.ok:
                return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
