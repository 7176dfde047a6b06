"""Issue 11 point 3: how much of the class the first hidden spikes of a trained TTFS network
carry. For each tick k, a logistic regression (a linear readout, trained on the training part
of the split) reads each hidden neuron's first spike as ``(k + 1 - t) / (k + 1)`` if it
spiked at a tick t <= k, else 0, and is scored on the validation split, beside the mean
number of hidden spikes by tick k (docs/model.md, "What the first hidden spikes carry").

    .venv/bin/python scripts/ttfs_early_readout.py MODEL [--ticks 3 4 6 10 20 40]

If no linear readout of the spikes up to the tick where about 139 have come reaches the
accuracy asked for, no output layer deciding by then can, and the hidden layer itself must
be trained to be sparse. The test set is never read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_ttfs_mnist as bench  # noqa: E402  (the split, the model file, the input code)

from spikeforge.ir.errors import SpikeforgeError  # noqa: E402
from spikeforge.model.datasets import load_dataset  # noqa: E402
from spikeforge.model.ttfs_discrete import integer_network  # noqa: E402
from spikeforge.sim.network import run_network  # noqa: E402

NEVER = np.iinfo(np.int32).max  # the first-spike tick of a neuron that never spikes


def first_spike_ticks(spikes: np.ndarray) -> np.ndarray:
    """``[batch, neurons]`` the tick of each neuron's first spike (:data:`NEVER` if none)
    from a layer's ``[batch, ticks, neurons]`` spike trains."""
    return np.where(spikes.any(axis=1), spikes.argmax(axis=1), NEVER)


def features(first: np.ndarray, k: int) -> np.ndarray:
    """What a readout at the end of tick k sees: ``(k + 1 - t) / (k + 1)`` for a first spike
    at t <= k (earlier is larger), 0 for a neuron that has not spiked by then."""
    return (np.maximum(0, k + 1 - np.minimum(first, k + 1)) / (k + 1)).astype(np.float32)


def readout_accuracy(train_first, train_y, val_first, val_y, k: int) -> float:
    """Validation accuracy of a logistic regression on :func:`features` at tick ``k``."""
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(max_iter=2000).fit(features(train_first, k), train_y)
    return float(clf.score(features(val_first, k), val_y))


def hidden_first_ticks(net, k: int, encoding, x: np.ndarray, batch: int = 500) -> np.ndarray:
    """The 8-bit golden model's first hidden spikes (the layer before the output)."""
    network = integer_network(net, k).network
    ticks = bench.inference_ticks(k, len(net.layers))
    out = []
    for s in range(0, len(x), batch):
        counts = encoding.counts(x[s:s + batch], 255, ticks)
        out.append(first_spike_ticks(run_network(network, counts, ticks).spikes[-2]))
    return np.concatenate(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--ticks", type=int, nargs="+", default=[3, 4, 6, 10, 20, 40],
                        metavar="K")
    args = parser.parse_args(argv)
    if min(args.ticks) < 0:
        parser.error(f"--ticks: must be >= 0, got {min(args.ticks)}")
    torch.set_num_threads(1)
    try:
        _, net, k, encoding = bench.read_two_layer_model(args.model)
    except (SpikeforgeError, OSError) as error:
        parser.exit(2, f"{error}\n")
    train, val = bench.split(load_dataset("mnist"))
    train_first = hidden_first_ticks(net, k, encoding, train[0])
    val_first = hidden_first_ticks(net, k, encoding, val[0])
    print("| by tick | hidden spikes (val mean) | linear readout, val accuracy |")
    print("|---|---|---|")
    for tick in args.ticks:
        acc = readout_accuracy(train_first, train[1], val_first, val[1], tick)
        print(f"| {tick} | {(val_first <= tick).sum(axis=1).mean():.1f} | {acc:.3f} |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
