"""Unsupervised STDP (Diehl & Cook 2015) and ASP on MNIST (model/stdp.py): accuracy after
labelling, the deployed 8-bit network on the golden model, and a forgetting experiment
(digits 0-4, then 5-9) with STDP against ASP. Prints markdown tables beside Diehl & Cook's
figures; docs/unsupervised.md records a run.

    .venv/bin/python benchmarks/bench_stdp.py                 # 100 neurons, ~30 min on one core
    .venv/bin/python benchmarks/bench_stdp.py --neurons 400   # longer
    .venv/bin/python benchmarks/bench_stdp.py --quick         # 20 neurons, 600 images, ~1 min

Training set: the 10,000-image MNIST training subset (labels unseen while learning); the
last 1,000 images of a seeded permutation are the validation split on which the number of
epochs is chosen; the 10,000 test images are only reported.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from spikeforge.model import stdp
from spikeforge.model.datasets import load_dataset
from spikeforge.sim.network import classify as golden_classify

ANCHORS = {100: 0.829, 400: 0.870, 1600: 0.919, 6400: 0.950}  # Diehl & Cook 2015, MNIST


def table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(x) for x in row) + " |" for row in rows])


def accuracy(net, x, y, max_value, label_x, label_y):
    stdp.assign_labels(net, stdp.responses(net, label_x, max_value), label_y)
    return float((stdp.classify(net, stdp.responses(net, x, max_value)) == y).mean())


def golden_accuracy(net, x, y, max_value, batch=250):
    network = stdp.to_integer_network(net)
    correct = 0
    for s in range(0, len(x), batch):
        counts = stdp.input_counts(x[s:s + batch], max_value, net.config.ticks, net.config.rate)
        pred = golden_classify(network, counts, net.config.ticks + 1)
        correct += int((pred == y[s:s + batch]).sum())
    return correct / len(x), network


def forgetting(ds, train_x, train_y, test_x, test_y, config, images):
    """Classes 0-4, then 5-9: accuracy on old and new test classes after each phase."""
    rows = []
    for name, cfg in (("STDP", config), ("ASP", stdp.STDPConfig(**{**config.__dict__,
                                                                     "asp": True}))):
        net = stdp.new_network(train_x.shape[1], cfg)
        old, new = train_y < 5, train_y >= 5
        stdp.train(net, train_x[old][:images], ds.max_value)
        after_1 = accuracy(net, test_x[test_y < 5], test_y[test_y < 5], ds.max_value,
                           train_x[old][:images], train_y[old][:images])
        stdp.train(net, train_x[new][:images], ds.max_value, seed=1)
        label_x = np.concatenate([train_x[old][:images // 2], train_x[new][:images // 2]])
        label_y = np.concatenate([train_y[old][:images // 2], train_y[new][:images // 2]])
        stdp.assign_labels(net, stdp.responses(net, label_x, ds.max_value), label_y)
        pred = stdp.classify(net, stdp.responses(net, test_x, ds.max_value))
        rows.append([name, f"{after_1:.4f}", f"{(pred == test_y)[test_y < 5].mean():.4f}",
                     f"{(pred == test_y)[test_y >= 5].mean():.4f}",
                     int((net.labels < 5).sum()), int((net.labels >= 5).sum())])
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neurons", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--eta", type=float, nargs="+", default=[0.01, 0.05],
                    help="STDP learning rates to compare on the validation split")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--test", type=int, default=None, help="test images (default: all)")
    args = ap.parse_args(argv)
    ds = load_dataset("mnist")
    order = np.random.default_rng(0).permutation(len(ds.train_y))
    n_train = 500 if args.quick else len(order) - 1000
    train_idx, val_idx = order[:n_train], order[-(100 if args.quick else 1000):]
    tx, ty = ds.train_x[train_idx], ds.train_y[train_idx]
    vx, vy = ds.train_x[val_idx], ds.train_y[val_idx]
    n_test = 200 if args.quick else (args.test or len(ds.test_y))
    test_x, test_y = ds.test_x[:n_test], ds.test_y[:n_test]
    neurons = 20 if args.quick else args.neurons
    etas = [0.05] if args.quick else args.eta

    print(f"MNIST, {neurons} excitatory neurons, {len(tx)} training images (labels unseen "
          f"while learning), validation {len(vx)}, test {n_test}\n", flush=True)
    best = None
    for eta in etas:
        config = stdp.STDPConfig(n_neurons=neurons, eta=eta)
        t0 = time.perf_counter()
        net = stdp.train(stdp.new_network(784, config), tx, ds.max_value, epochs=args.epochs,
                         progress=lambda i, n: print(f"  {i}/{n} images", flush=True)
                         if i % 2000 == 0 else None)
        seconds = time.perf_counter() - t0
        val = accuracy(net, vx, vy, ds.max_value, tx[:5000], ty[:5000])
        print(f"  eta {eta}: validation {val:.4f} ({seconds:.0f} s)", flush=True)
        if best is None or val > best[1]:
            best = (eta, val, net, seconds)
    eta, val, net, seconds = best
    config = net.config
    test = accuracy(net, test_x, test_y, ds.max_value, tx[:5000], ty[:5000])
    golden, network = golden_accuracy(net, test_x, test_y, ds.max_value)
    print("\n### STDP on MNIST\n")
    print(table(["neurons", "epochs", "eta (chosen on validation)", "validation", "test (float, "
                 "with inhibition)", "test, 8-bit deployed (golden, no inhibition)", "train s",
                 "Diehl & Cook 2015"],
                [[neurons, args.epochs, eta, f"{val:.4f}", f"{test:.4f}", f"{golden:.4f}", f"{seconds:.0f}",
                  f"{ANCHORS.get(neurons, float('nan')):.3f}" if neurons in ANCHORS else "n/a"]]))
    print(f"\ndeployed: {network.n_inputs}-{network.layers[0].n_neurons}-"
          f"{network.layers[1].n_neurons}, decision {network.decision.value}, "
          f"{config.ticks + 1} ticks")

    images = 200 if args.quick else 2500
    print(f"\n### Forgetting: {images} images of classes 0-4, then {images} of 5-9\n")
    print(table(["rule", "old classes after phase 1", "old classes after phase 2",
                 "new classes after phase 2", "neurons labelled old", "neurons labelled new"],
                forgetting(ds, tx, ty, test_x, test_y, config, images)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
