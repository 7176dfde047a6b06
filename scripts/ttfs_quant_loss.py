"""Where a TTFS network's accuracy goes between float and the 8-bit hardware (issue 11 point
3; docs/model.md section 6, "What 8 bits cost the sparse networks"), on the validation split
only. Per model file, the accuracy and the hidden spikes before the decision after each step:

* ``continuous``: the PyTorch network on the file's input code;
* ``tick grid``: the discrete-time network in float arithmetic
  (:func:`spikeforge.compiler.quantize.float_reference_forward`);
* ``8-bit weights``: the same float arithmetic with the 8-bit weights and threshold (the
  weights' rounding alone);
* ``8-bit golden``: the contract's integers, whose current decay rounds toward zero;
* ``<< S``: the golden model with the weights shifted S bits into the current (the
  contract's ``weight_shift``, ``compile --weight-shift S``);
* ``12-bit golden``.

    .venv/bin/python scripts/ttfs_quant_loss.py MODEL [MODEL ...] [--shifts 2 4]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_ttfs_mnist as bench  # noqa: E402  (the split, the model files, golden statistics)

from spikeforge.compiler.quantize import float_reference_forward  # noqa: E402
from spikeforge.ir.errors import SpikeforgeError  # noqa: E402
from spikeforge.model.datasets import load_dataset  # noqa: E402
from spikeforge.model.ttfs_discrete import (  # noqa: E402
    continuous_accuracy,
    float_description,
    inference_ticks,
    integer_network,
)


def rounded_description(net, k: int, weight_bits: int = 8) -> dict:
    """:func:`float_description` with each layer's weights and threshold those of the
    ``weight_bits`` golden model, in float units (``w_int / scale``, ``threshold_int /
    scale``): the rounding of the weights without the integer arithmetic."""
    description = float_description(net, k)
    quantized = integer_network(net, k, weight_bits)
    for layer, integer, report in zip(description["layers"], quantized.network.layers,
                                      quantized.layers):
        layer["weight"] = (integer.weights / report.scale).T.copy()
        layer["threshold"] = integer.params.threshold / report.scale
    return description


def float_stats(description, x, y, k: int, encoding, n_layers: int, batch: int = 500):
    """``(accuracy, mean hidden spikes before the decision)`` of a float description on the
    tick grid."""
    ticks = inference_ticks(k, n_layers)
    decision, hidden = [], []
    for s in range(0, len(y), batch):
        trace = float_reference_forward(description, encoding.counts(x[s:s + batch], 255, ticks),
                                        ticks)
        decision.append(trace.decision)
        hidden.append(trace.statistics().hidden_spikes)
    return float(np.mean(np.concatenate(decision) == y)), float(np.concatenate(hidden).mean())


def row(path: Path, val, shifts) -> list[str]:
    """The table's cells for one model file."""
    _, net, k, encoding = bench.read_model(path)
    x, y = val
    n = len(net.layers)
    cells = [str(path), f"{continuous_accuracy(net, x, y, 255, encoding=encoding):.3f}"]
    for description in (float_description(net, k), rounded_description(net, k)):
        accuracy, hidden = float_stats(description, x, y, k, encoding, n)
        cells.append(f"{accuracy:.3f} at {hidden:.1f}")
    for bits, shift in [(8, 0), *((8, s) for s in shifts), (12, 0)]:
        st = bench.golden_stats(net, x, y, k, encoding, weight_bits=bits, weight_shift=shift)
        cells.append(f"{st['golden']:.3f} at {st['hidden_spikes'].mean():.1f}")
    return cells


def header(shifts) -> str:
    return ("| model | continuous | tick grid | 8-bit weights | 8-bit golden | "
            + "".join(f"<< {s} | " for s in shifts) + "12-bit golden |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path, metavar="MODEL")
    parser.add_argument("--shifts", type=int, nargs="*", default=[2, 4], choices=range(1, 25),
                        metavar="S", help="the weight shifts to run the golden model at")
    parser.add_argument("--dataset", default="mnist", choices=["mnist", "digits"],
                        help="the models' dataset (digits: the tests' small networks)")
    args = parser.parse_args(argv)
    missing = [str(m) for m in args.models if not m.is_file()]
    if missing:
        parser.exit(2, f"ttfs_quant_loss: no such model file: {', '.join(missing)}\n")
    torch.set_num_threads(1)
    _, val = bench.split(load_dataset(args.dataset))
    print(header(args.shifts) + "\n" + "|---" * (6 + len(args.shifts)) + "|", flush=True)
    for path in args.models:
        try:
            cells = row(path, val, args.shifts)
        except SpikeforgeError as error:
            parser.exit(2, f"ttfs_quant_loss: {path}: {error}\n")
        print("| " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
