"""Issue 11 point 3 without training: a TTFS model file's layers scaled before quantization
(a layer's integer threshold is ``round(127 / max|W|)``, so weights times s are its threshold
divided by s), on the validation split only -- accuracy, hidden spikes before the decision,
weights read and the decision tick of the 8-bit golden model (docs/model.md, "Thresholds
moved after training").

    .venv/bin/python scripts/ttfs_scale_thresholds.py MODEL [HIDDEN:OUTPUT ...]

Each argument is a pair of factors (default: the table of docs/model.md); the test set is
never read.
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

DEFAULT = ["1:1", "1:1.25", "1:1.5", "1:2", "1:3", "1.25:1", "1.25:1.5", "0.8:1", "0.8:1.5"]


def factors(text: str) -> tuple[float, float]:
    try:
        hidden, output = (float(x) for x in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HIDDEN:OUTPUT factors, got {text!r}")
    if not (hidden > 0 and output > 0):
        raise argparse.ArgumentTypeError(f"factors must be positive, got {text!r}")
    return hidden, output


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("pairs", nargs="*", type=factors, default=[factors(p) for p in DEFAULT],
                        metavar="HIDDEN:OUTPUT")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    try:
        _, net, k, encoding = bench.read_two_layer_model(args.model)
    except (SpikeforgeError, OSError) as error:
        parser.exit(2, f"{error}\n")
    _, val = bench.split(load_dataset("mnist"))
    original = [layer.w.detach().clone() for layer in net.layers]
    print("| hidden weights x | output weights x | val 8-bit golden | hidden spikes before "
          "the decision | weights read in->hid / hid->out | median decision tick |")
    print("|---" * 6 + "|")
    for hidden, output in args.pairs:
        with torch.no_grad():
            for layer, w, s in zip(net.layers, original, (hidden, output)):
                layer.w.copy_(w * s)
        st = bench.golden_stats(net, val[0], val[1], k, encoding)
        r = st["reads"].mean(axis=0)
        print(f"| {hidden:g} | {output:g} | {st['golden']:.3f} | {st['hidden_spikes'].mean():.1f}"
              f" | {r[0]:.3f} / {r[1]:.3f} | {np.median(st['decision_tick']):.0f} |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
