"""Validation-only search runs of the popcount rule on MNIST with the stores averaged over
snapshots (docs/learning.md section 4.5): is the last iterate's noise what keeps the rule
below 93 %?

    .venv/bin/python scripts/learning_average_search.py --hidden 500             # batch 16
    .venv/bin/python scripts/learning_average_search.py --hidden 500 --batch 1 --epochs 6

The split, the random start (``TTFSNet([784, H, 10], seed=1)``), the batch order
(``default_rng(0)``) and the integer rule are those of ``benchmarks/bench_learning.py``
(``--val 0.1``), so the last iterate's validation accuracy is that script's. From epoch
``--avg-from`` on, the stores are summed at ``--snaps`` evenly spaced points of every epoch;
"avg" is the 8-bit golden model with the mean store (integer floor division) read as
``acc >> frac_bits``. The test set is never run. Averaging is host-side arithmetic (the host
reads the stores back over the bus), not something the learning engine does.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_learning import Split  # noqa: E402

from spikeforge.ir.network import IntegerLayer, IntegerNetwork  # noqa: E402
from spikeforge.model.datasets import load_dataset  # noqa: E402
from spikeforge.model.popcount_rule import golden_accuracy  # noqa: E402
from spikeforge.model.ttfs import TTFSNet  # noqa: E402
from spikeforge.model.ttfs_discrete import inference_ticks, integer_network  # noqa: E402
from spikeforge.sim.learning import PopcountLearner  # noqa: E402


def setup(hidden: int, path=None):
    """``(split, ticks, start)``: the split (``--val 0.1``), the ticks of K = 32 per tau and
    the random start ``TTFSNet([784, hidden, 10], seed=1)`` of every run of this search."""
    k = 32
    ticks = inference_ticks(k, 2)
    split = Split(load_dataset("mnist", path=path), k, ticks, 0.1, None)
    return split, ticks, integer_network(TTFSNet([784, hidden, 10], seed=1), k).network


def stores_network(net: IntegerNetwork, stores, frac_bits: int) -> IntegerNetwork:
    """``net`` with every layer's weights its store read as ``acc >> frac_bits``."""
    return IntegerNetwork(tuple(IntegerLayer(s >> frac_bits, layer.params,
                                             layer.max_events_per_tick)
                                for s, layer in zip(stores, net.layers)), net.decision)


def resume(learner: PopcountLearner, path: str, frac_bits: int) -> tuple:
    """``(epochs run, sums, count)`` of a ``--save`` file, whose stores ``learner`` takes;
    SystemExit naming the file where it does not fit the run."""
    name = Path(path).name
    if not (name.startswith("epoch") and name.endswith(".npz") and name[5:-4].isdigit()):
        raise SystemExit(f"--resume: {path}: expected a --save file named epoch<N>.npz")
    with np.load(path) as data:
        if int(data["frac_bits"]) != frac_bits:
            raise SystemExit(f"--resume: {path}: frac_bits {int(data['frac_bits'])}, "
                             f"this run {frac_bits}")
        stores = [data[f"last{i}"] for i in range(len(learner.acc))]
        sums = [data[f"sum{i}"] for i in range(len(stores))] if "sum0" in data else None
        count = int(data["count"]) if sums is not None else 0
    if [s.shape for s in stores] != [x.shape for x in learner.acc]:
        raise SystemExit(f"--resume: {path}: stores {[s.shape for s in stores]}, this run's "
                         f"{[x.shape for x in learner.acc]}")
    learner.acc = [s.astype(np.int64) for s in stores]
    return int(name[5:-4]), sums, count


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--path", default=None, help="MNIST IDX folder (default: the usual one)")
    ap.add_argument("--hidden", type=int, default=500)
    ap.add_argument("--epochs", type=int, default=7)
    ap.add_argument("--avg-from", type=int, default=5, help="first epoch (1-based) averaged")
    ap.add_argument("--snaps", type=int, default=8, help="snapshots per averaged epoch")
    ap.add_argument("--batch", type=int, default=16, help="1: the chip's online rule")
    ap.add_argument("--halve-every", type=int, default=1)
    ap.add_argument("--frac-bits", type=int, default=13)
    ap.add_argument("--shift-out", type=int, default=8)
    ap.add_argument("--shift-hidden", type=int, default=10)
    ap.add_argument("--save", default=None,
                    help="folder: each epoch's stores (last iterate, and the mean where "
                         "averaged) as epoch<N>.npz, so a chosen epoch is tested without "
                         "training again")
    ap.add_argument("--resume", default=None, metavar="FILE",
                    help="go on from a --save file of the same settings (epochN.npz, N "
                         "from its name): its stores, the sample order of epoch N + 1 on "
                         "(the rule keeps no other state, so the run is the uninterrupted "
                         "one's); the average goes on where the file has its sums")
    a = ap.parse_args(argv)
    split, ticks, net = setup(a.hidden, a.path)
    train_fn, val_fn = split.fn(split.x_tr), split.fn(split.x_val)
    learner = PopcountLearner(net, ticks, frac_bits=a.frac_bits, shift_out=a.shift_out,
                              shift_hidden=a.shift_hidden)
    rng = np.random.default_rng(0)
    sums, count, start = None, 0, time.perf_counter()
    first = 0
    if a.resume:
        first, sums, count = resume(learner, a.resume, a.frac_bits)
        for _ in range(first):  # the sample orders of the epochs already run
            rng.permutation(len(split.y_tr))
    for epoch in range(first, a.epochs):
        learner.lr_decay = epoch // a.halve_every if a.halve_every else 0
        perm = rng.permutation(len(split.y_tr))
        batches = range(0, len(perm), a.batch)
        marks = {round((i + 1) * len(batches) / a.snaps) - 1 for i in range(a.snaps)}
        correct = 0
        for b, s in enumerate(batches):
            idx = perm[s:s + a.batch]
            correct += int((learner.step(train_fn(idx), split.y_tr[idx]) == split.y_tr[idx]).sum())
            if epoch + 1 >= a.avg_from and b in marks:
                sums = [x.copy() for x in learner.acc] if sums is None else \
                    [t + x for t, x in zip(sums, learner.acc)]
                count += 1
        line = (f"epoch {epoch + 1}: train {correct / len(perm):.4f} val last "
                f"{golden_accuracy(learner.current_network(), val_fn, split.y_val, ticks):.4f}")
        means = [] if sums is None else [t // count for t in sums]
        if means:
            mean = stores_network(net, means, a.frac_bits)
            line += f" val avg({count}) {golden_accuracy(mean, val_fn, split.y_val, ticks):.4f}"
        print(f"{line} {time.perf_counter() - start:.0f} s", flush=True)
        if a.save:
            Path(a.save).mkdir(parents=True, exist_ok=True)
            extra = {f"mean{i}": t for i, t in enumerate(means)}
            extra.update({f"sum{i}": t for i, t in enumerate(sums or [])}, count=count)
            np.savez(Path(a.save) / f"epoch{epoch + 1}.npz", frac_bits=a.frac_bits,
                     **{f"last{i}": x for i, x in enumerate(learner.acc)}, **extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
