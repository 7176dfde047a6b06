"""Unsupervised STDP (Diehl & Cook 2015) and ASP on MNIST (model/stdp.py): accuracy after
labelling, the deployed 8-bit network on the golden model, and a forgetting experiment
(digits 0-4, then 5-9) with STDP against ASP. Prints markdown tables beside Diehl & Cook's
figures; docs/methods.md records a run.

    .venv/bin/python benchmarks/bench_stdp.py                 # 100 neurons, ~30 min on one core
    .venv/bin/python benchmarks/bench_stdp.py --neurons 400   # longer
    .venv/bin/python benchmarks/bench_stdp.py --quick         # 20 neurons, 600 images, ~1 min
    .venv/bin/python benchmarks/bench_stdp.py --skip-stdp     # the forgetting experiment only

Forgetting: classes 0-4, then 5-9, at 20 and 100 neurons (``--forget-neurons``), plain STDP
against ASP with its leak per idle image chosen on the validation split (``--leak``).

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


def _phases(net, train_x, train_y, max_value, images):
    """Phase 1: ``images`` images of classes 0-4; phase 2: ``images`` of classes 5-9. Returns
    the labelling set (half of each phase's images) and the network after phase 1 (a copy)."""
    old, new = np.flatnonzero(train_y < 5)[:images], np.flatnonzero(train_y >= 5)[:images]
    stdp.train(net, train_x[old], max_value)
    after_1 = stdp.with_config(net)
    stdp.train(net, train_x[new], max_value, seed=1)
    label = np.concatenate([old[:images // 2], new[:images // 2]])
    return train_x[label], train_y[label], after_1, old


def _old_new(net, x, y, max_value, label_x, label_y):
    """Accuracy on the old (0-4) and new (5-9) classes of ``x`` and on all of them."""
    stdp.assign_labels(net, stdp.responses(net, label_x, max_value), label_y)
    right = stdp.classify(net, stdp.responses(net, x, max_value)) == y
    return tuple(float(right[m].mean()) if m.any() else float("nan")
                 for m in (y < 5, y >= 5, np.ones_like(y, dtype=bool)))


def forgetting(ds, train_x, train_y, val, test, config, images, leaks):
    """Classes 0-4, then 5-9, with plain STDP and with ASP at each leak rate of ``leaks``
    (per image, for the neurons that did not fire); the ASP leak is chosen on the
    validation split (accuracy on all ten classes after phase 2); test accuracy on the old
    and the new classes after each phase, for STDP and the chosen ASP."""
    runs = [("STDP", config)] + [(f"ASP, leak {leak:g}", stdp.STDPConfig(
        **{**config.__dict__, "asp": True, "leak_idle": leak})) for leak in leaks]
    results = []
    for name, cfg in runs:
        net = stdp.new_network(train_x.shape[1], cfg)
        label_x, label_y, after_1, old = _phases(net, train_x, train_y, ds.max_value, images)
        on_val = _old_new(net, *val, ds.max_value, label_x, label_y)
        print(f"  {name}: validation old {on_val[0]:.4f} new {on_val[1]:.4f} all {on_val[2]:.4f}",
              flush=True)
        results.append((name, net, after_1, old, on_val, label_x, label_y))
    best = max(results[1:], key=lambda r: r[4][2])
    rows = []
    for name, net, after_1, old, on_val, label_x, label_y in (results[0], best):
        test_x, test_y = test
        first = test_y < 5
        o1, _, _ = _old_new(after_1, test_x[first], test_y[first], ds.max_value,
                            train_x[old], train_y[old])
        o2, n2, a2 = _old_new(net, test_x, test_y, ds.max_value, label_x, label_y)
        rows.append([name, f"{on_val[2]:.4f}", f"{o1:.4f}", f"{o2:.4f}", f"{n2:.4f}", f"{a2:.4f}",
                     int((net.labels < 5).sum() if net.labels is not None else 0),
                     int((net.labels >= 5).sum() if net.labels is not None else 0)])
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neurons", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--eta", type=float, nargs="+", default=[0.01, 0.05],
                    help="STDP learning rates to compare on the validation split")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--test", type=int, default=None, help="test images (default: all)")
    ap.add_argument("--leak", type=float, nargs="+", default=[0.0001, 0.0003, 0.001, 0.003, 0.01],
                    help="ASP leak rates per image (idle neurons) to compare on the validation split")
    ap.add_argument("--forget-neurons", type=int, nargs="+", default=[20, 100],
                    help="network sizes of the forgetting experiment")
    ap.add_argument("--skip-stdp", action="store_true",
                    help="only the forgetting experiment (STDP learning rate: --eta's first value)")
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
    if args.skip_stdp:
        config = stdp.STDPConfig(n_neurons=neurons, eta=etas[0])
    else:
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
    leaks = [0.003] if args.quick else args.leak
    n_forget = min(n_test, 100 if args.quick else 2000)
    for neurons in ([20] if args.quick else args.forget_neurons):
        print(f"\n### Forgetting, {neurons} neurons: {images} images of classes 0-4, then "
              f"{images} of 5-9 (ASP leak per idle image chosen on validation from "
              f"{', '.join(f'{x:g}' for x in leaks)}; test: the first {n_forget} test images)\n",
              flush=True)
        rows = forgetting(ds, tx, ty, (vx, vy), (test_x[:n_forget], test_y[:n_forget]),
                          stdp.STDPConfig(**{**config.__dict__, "n_neurons": neurons}), images, leaks)
        print(table(["rule", "validation (all classes)", "old classes after phase 1",
                     "old classes after phase 2", "new classes after phase 2",
                     "all after phase 2", "neurons labelled old", "neurons labelled new"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
