"""The test-set accuracy of one epoch saved by ``scripts/learning_average_search.py --save``:
run once, on the epoch the validation split chose (docs/learning.md section 4.6).

    .venv/bin/python scripts/learning_test_saved.py build/s50/online_h500/epoch10.npz --hidden 500

The network (``TTFSNet([784, H, 10], seed=1)``'s thresholds and decays), the encoding and the
split are the search script's (``bench_learning.Split``, ``--val 0.1``); the weights are the
saved stores read as ``acc >> frac_bits``. Prints the validation accuracy again (it must equal
the search run's line for that epoch: the check that the right file was read) beside the test
accuracy, for the last iterate and, where saved, the averaged stores.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learning_average_search import setup, stores_network  # noqa: E402

from spikeforge.model.popcount_rule import golden_accuracy  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("stores", help="an epoch<N>.npz of learning_average_search.py --save")
    ap.add_argument("--hidden", type=int, required=True, help="H of the run that saved it")
    ap.add_argument("--path", default=None, help="MNIST IDX folder (default: the usual one)")
    a = ap.parse_args(argv)
    if not Path(a.stores).is_file():
        print(f"stores: no such file: {a.stores}", file=sys.stderr)
        return 2
    saved = np.load(a.stores)
    split, ticks, net = setup(a.hidden, a.path)
    for kind in ("last", "mean"):
        if f"{kind}0" not in saved:
            continue
        stores = [saved[f"{kind}{i}"] for i in range(len(net.layers))]
        trained = stores_network(net, stores, int(saved["frac_bits"]))
        val = golden_accuracy(trained, split.fn(split.x_val), split.y_val, ticks)
        test = golden_accuracy(trained, split.fn(split.x_te), split.y_te, ticks)
        print(f"{a.stores} {kind}: validation {val:.4f}  test {test:.4f} "
              f"({len(split.y_te):,} test images)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
