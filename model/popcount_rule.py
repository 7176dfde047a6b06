"""Training with the popcount rule (:mod:`spikeforge.sim.learning`, whose docstring defines
the rule bit for bit): epochs, the step schedule, the digits set-up and the comparison with
exact-gradient training (docs/learning.md)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from spikeforge.ir.network import IntegerNetwork
from spikeforge.model.datasets import load_dataset
from spikeforge.sim.learning import PopcountLearner
from spikeforge.sim.network import run_network

# torch (TTFS training, the digits set-up) is imported where used


@dataclass
class PopcountResult:
    learner: PopcountLearner
    train_accuracy: float
    test_accuracy: float
    seconds: float
    history: list  # per epoch: (train acc during the epoch, test acc)
    #: per epoch: the accuracy on ``train_popcount``'s ``also`` set (empty without one)
    also_history: list = field(default_factory=list)


def train_popcount(network: IntegerNetwork, train_counts_fn, y_train, test_counts_fn, y_test,
                   ticks: int, epochs: int = 10, batch_size: int = 16, seed: int = 0,
                   progress: bool = True, halve_every: int | None = None, also=None,
                   **rule) -> PopcountResult:
    """Train with the popcount rule (``rule``: the :class:`PopcountLearner` fields).
    ``*_counts_fn(index_array)`` returns the ``[batch, ticks, n_in]`` input events of those
    samples (so that big data sets are encoded chunk by chunk). ``halve_every``: the step
    schedule, ``lr_decay = epoch // halve_every`` (a right shift the host sets per epoch).
    ``also = (counts_fn, y)``: a second held-out set evaluated after every epoch too (e.g. the
    test set beside a validation set), recorded in ``also_history``; the training does not
    see it."""
    from tqdm.auto import tqdm

    learner = PopcountLearner(network, ticks, **rule)
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    rng = np.random.default_rng(seed)
    history, also_history, start = [], [], time.perf_counter()
    bar = tqdm(range(epochs), desc="popcount rule", disable=not progress)
    for epoch in bar:
        learner.lr_decay = epoch // halve_every if halve_every else 0
        perm = rng.permutation(len(y_train))
        correct = 0
        for s in range(0, len(perm), batch_size):
            idx = perm[s:s + batch_size]
            correct += int((learner.step(train_counts_fn(idx), y_train[idx]) == y_train[idx]).sum())
        te = golden_accuracy(learner.current_network(), test_counts_fn, y_test, ticks)
        history.append((correct / len(perm), te))
        if also is not None:
            also_history.append(golden_accuracy(learner.current_network(), also[0],
                                                np.asarray(also[1]), ticks))
        bar.set_postfix(train=f"{history[-1][0]:.3f}", test=f"{te:.3f}")
    tr = history[-1][0] if history else float("nan")
    te = history[-1][1] if history else golden_accuracy(network, test_counts_fn, y_test, ticks)
    return PopcountResult(learner, tr, te, time.perf_counter() - start, history, also_history)


def golden_accuracy(network: IntegerNetwork, counts_fn, y, ticks: int, batch: int = 512) -> float:
    y = np.asarray(y)
    correct = 0
    for s in range(0, len(y), batch):
        idx = np.arange(s, min(s + batch, len(y)))
        correct += int((run_network(network, counts_fn(idx), ticks).decision == y[idx]).sum())
    return correct / max(1, len(y))


def digits_setup(dataset, hidden: int = 100, ticks_per_tau: int = 32, seed: int = 0):
    """``(ticks, train_counts_fn, test_counts_fn, random 8-bit network)`` for a dataset: the
    input events at ``K`` ticks per tau and the 8-bit mapping of a random :class:`TTFSNet`."""
    from spikeforge.model.ttfs import TTFSNet
    from spikeforge.model.ttfs_discrete import inference_ticks, input_counts, integer_network

    k = ticks_per_tau
    ticks = inference_ticks(k, 2)
    mv = dataset.max_value
    tr_fn = lambda idx: input_counts(dataset.train_x[idx], mv, k, ticks=ticks)  # noqa: E731
    te_fn = lambda idx: input_counts(dataset.test_x[idx], mv, k, ticks=ticks)  # noqa: E731
    rand = TTFSNet([dataset.n_features, hidden, dataset.n_classes], seed=seed + 1)
    return ticks, tr_fn, te_fn, integer_network(rand, k).network


def compare(dataset, hidden: int = 100, ticks_per_tau: int = 32, epochs: int = 15,
            rule_epochs: int = 10, batch_size: int = 16, seed: int = 0, progress: bool = True,
            halve_every: int | None = 3, **rule):
    """Rows ``(name, test accuracy (8-bit golden), seconds)``: exact-gradient training of the
    same network (mapped to ``K`` ticks per tau, 8 bits), and the popcount rule from a random
    8-bit network and, output layer only, on top of the exactly-trained first layer."""
    import torch

    from spikeforge.model.ttfs import TTFSNet, train_ttfs
    from spikeforge.model.ttfs_discrete import integer_network

    ticks, tr_fn, te_fn, rand_int = digits_setup(dataset, hidden, ticks_per_tau, seed)
    rows = []
    exact = train_ttfs(dataset, (hidden,), epochs, seed=seed, progress=progress)
    exact_int = integer_network(exact.net, ticks_per_tau).network
    rows.append((f"exact gradient (Adam, {epochs} epochs, float) -> 8-bit golden",
                 golden_accuracy(exact_int, te_fn, dataset.test_y, ticks), exact.seconds))
    rows.append(("random network, untrained",
                 golden_accuracy(rand_int, te_fn, dataset.test_y, ticks), 0.0))
    mixed = TTFSNet([dataset.n_features, hidden, dataset.n_classes], seed=seed + 1)
    with torch.no_grad():
        mixed.layers[0].w.copy_(exact.net.layers[0].w)
    mixed_int = integer_network(mixed, ticks_per_tau).network
    runs = [("popcount rule, both layers, from random", rand_int, rule),
            ("popcount rule, output layer only, exact first layer", mixed_int,
             {**rule, "shift_hidden": None})]
    for name, start_net, kw in runs:
        r = train_popcount(start_net, tr_fn, dataset.train_y, te_fn, dataset.test_y, ticks,
                           rule_epochs, batch_size, seed, progress, halve_every, **kw)
        best = max((te for _, te in r.history), default=r.test_accuracy)
        rows.append((f"{name} ({rule_epochs} epochs; best epoch {best:.4f})", r.test_accuracy,
                     r.seconds))
    return rows


def main(argv=None):
    """``python -m spikeforge.model.popcount_rule [--dataset digits]``: the comparison table."""
    import argparse

    import torch

    ap = argparse.ArgumentParser(description="Popcount on-chip learning rule vs exact gradients")
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--path", default=None)
    ap.add_argument("--hidden", type=int, default=100)
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--rule-epochs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--frac-bits", type=int, default=8)
    ap.add_argument("--shift-out", type=int, default=3)
    ap.add_argument("--shift-hidden", type=int, default=1)
    ap.add_argument("--ramp", type=int, default=32)
    ap.add_argument("--halve-every", type=int, default=3)
    ap.add_argument("--margin", type=int, default=8)
    ap.add_argument("--shift-revive", type=int, default=0)
    ap.add_argument("--no-revive", action="store_true")
    ap.add_argument("--revive", default="end", choices=("end", "error", "run"))
    ap.add_argument("--feature", default="ramp", choices=("ramp", "causal"))
    ap.add_argument("--window", default="strict", choices=("strict", "decision", "spike"))
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    ds = load_dataset(args.dataset, path=args.path)
    rows = compare(ds, args.hidden, args.k, args.epochs, args.rule_epochs, args.batch_size,
                   halve_every=args.halve_every, frac_bits=args.frac_bits,
                   shift_out=args.shift_out, shift_hidden=args.shift_hidden, ramp=args.ramp,
                   margin=args.margin, feature=args.feature, window=args.window,
                   shift_revive=None if args.no_revive else args.shift_revive,
                   revive=args.revive)
    print(f"{ds.name}, {ds.n_features}-{args.hidden}-{ds.n_classes}, K = {args.k} ticks/tau, "
          f"8-bit weights (+{args.frac_bits} fraction bits while learning)")
    print("| training | test accuracy (8-bit golden) | seconds |\n|---|---|---|")
    for name, acc, secs in rows:
        print(f"| {name} | {acc:.4f} | {secs:.1f} |")


if __name__ == "__main__":
    main()
