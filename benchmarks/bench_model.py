"""Benchmark of the PyTorch reference models against the golden model of the contract.

    .venv/bin/python benchmarks/bench_model.py            # digits rows (about a minute)
    .venv/bin/python benchmarks/bench_model.py --full     # + MNIST (10k train subset) and Fashion-MNIST

Prints a markdown table. Per row: float accuracy (the PyTorch model: continuous-time TTFS, or
the float LIF network), 8-bit golden accuracy (the trained network quantized by
``compiler.quantize`` and run by ``sim.network.IntegerNetwork``, i.e. what the FPGA
computes), and, from ``NetworkTrace.statistics()`` (early exit at the decision for
first-spike networks; all ticks for spike-count ones), per test sample:

* hidden spikes before the decision;
* weights read, input->hidden and hidden->output: synaptic events (weight reads) until the
  decision divided by the layer's number of weights. For a TTFS network every neuron spikes
  at most once, so this is the fraction of the layer's weights read at all (the metric of the
  FPGA prototype); for a rate-coded LIF network a weight can be read once per tick, so it can
  exceed 1.

TTFS rows map the continuous network onto ``--k`` ticks per tau
(:mod:`spikeforge.model.ttfs_discrete`). LIF rows use the hardware-reproducible LFSR rate
code for ``--ticks`` ticks and the spike-count decision.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

PROTOTYPE_ROW = ("MNIST (60k train)", "TTFS 784-800-10, FPGA prototype (Mostafa 2017), reference",
                 "-", "0.97", "139", "0.13", "0.05", "-")


def _reads(trace_stats, network) -> np.ndarray:
    sizes = np.array([L.n_inputs * L.n_neurons for L in network.layers], dtype=np.float64)
    return trace_stats.synaptic_events / sizes[None, :]


def ttfs_row(ds, hidden, epochs, k, max_train=None, max_test=None, progress=True):
    from spikeforge.model.ttfs import train_ttfs
    from spikeforge.model.ttfs_discrete import evaluate

    r = train_ttfs(ds, (hidden,), epochs, max_train=max_train, progress=progress)
    x, y = ds.test_x[:max_test], ds.test_y[:max_test]
    res = evaluate(r.net, x, y, ds.max_value, k, float_discrete=False)
    n_train = len(ds.train_y) if max_train is None else min(max_train, len(ds.train_y))
    return (f"{ds.name} ({n_train} train, {len(y)} test)",
            f"TTFS {ds.n_features}-{hidden}-{ds.n_classes}, {epochs} ep, K={k} ticks/tau",
            f"{res.continuous:.4f}", f"{res.golden:.4f}", f"{res.hidden_spikes:.1f}",
            f"{res.weights_read[0]:.3f}", f"{res.weights_read[1]:.3f}", f"{r.seconds:.1f}")


def lif_description(net) -> dict:
    layers = [{"weight": fc.weight.detach().double().numpy(), "alpha": lif.alpha, "beta": lif.beta,
               "threshold": lif.threshold, "reset": lif.reset}
              for fc, lif in zip(net.fcs, net.lifs)]
    return {"layers": layers, "decision": "spike-count"}


def lif_row(ds, hidden, epochs, ticks, max_train=None, max_test=None, progress=True, chunk=1000):
    from spikeforge.compiler.quantize import quantize
    from spikeforge.model.encoders import rate_encode, spikes_to_counts
    from spikeforge.model.lif import train_lif

    r = train_lif(ds, (hidden,), epochs, "rate", ticks, max_train=max_train, progress=progress)
    network = quantize(lif_description(r.net), ticks=ticks).network
    x, y = ds.test_x[:max_test], ds.test_y[:max_test]
    correct, hs, reads = 0, [], []
    for s in range(0, len(y), chunk):
        counts = spikes_to_counts(rate_encode(x[s:s + chunk], ticks, max_value=ds.max_value, seed=0))
        trace = network.run(counts, ticks)
        st = trace.statistics()
        correct += int((trace.decision == y[s:s + chunk]).sum())
        hs.append(st.hidden_spikes)
        reads.append(_reads(st, network))
    reads = np.concatenate(reads).mean(axis=0)
    n_train = len(ds.train_y) if max_train is None else min(max_train, len(ds.train_y))
    # float accuracy on the same test samples
    float_acc = r.test_accuracy if max_test is None else float("nan")
    return (f"{ds.name} ({n_train} train, {len(y)} test)",
            f"LIF {ds.n_features}-{hidden}-{ds.n_classes}, rate {ticks} ticks, {epochs} ep",
            f"{float_acc:.4f}", f"{correct / len(y):.4f}", f"{np.concatenate(hs).mean():.1f}",
            f"{reads[0]:.3f}", f"{reads[1]:.3f}", f"{r.seconds:.1f}")


HEADER = ("dataset", "model", "float acc", "8-bit golden acc", "hidden spikes before decision",
          "weights read in->hid", "weights read hid->out", "train s")


def markdown(rows) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="add MNIST and Fashion-MNIST rows")
    ap.add_argument("--only", choices=["ttfs", "lif"], default=None)
    ap.add_argument("--k", type=int, default=32, help="TTFS ticks per tau")
    ap.add_argument("--ticks", type=int, default=16, help="LIF ticks")
    ap.add_argument("--mnist-hidden", type=int, default=200)
    ap.add_argument("--mnist-epochs", type=int, default=3)
    ap.add_argument("--max-train", type=int, default=None, help="MNIST/Fashion train subset")
    ap.add_argument("--max-test", type=int, default=None, help="MNIST/Fashion test subset")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    from spikeforge.model.datasets import load_dataset

    progress = not args.quiet
    start = time.perf_counter()
    rows = []
    digits = load_dataset("digits")
    if args.only in (None, "ttfs"):
        rows.append(ttfs_row(digits, 100, 15, args.k, progress=progress))
    if args.only in (None, "lif"):
        rows.append(lif_row(digits, 100, 10, args.ticks, progress=progress))
    if args.full:
        mnist = load_dataset("mnist")
        if args.only in (None, "ttfs"):
            rows.append(ttfs_row(mnist, args.mnist_hidden, args.mnist_epochs, args.k,
                                 args.max_train, args.max_test, progress))
        if args.only in (None, "lif"):
            rows.append(lif_row(mnist, args.mnist_hidden, args.mnist_epochs, args.ticks,
                                args.max_train, args.max_test, progress))
            fashion = load_dataset("fashion-mnist")
            max_train = 10000 if args.max_train is None else args.max_train
            rows.append(lif_row(fashion, args.mnist_hidden, args.mnist_epochs, args.ticks,
                                max_train, args.max_test, progress))
    rows.append(PROTOTYPE_ROW)
    print(markdown(rows))
    print(f"\n(total {time.perf_counter() - start:.0f} s, torch threads {args.threads}; "
          f"command: {' '.join(['benchmarks/bench_model.py', *(argv if argv is not None else sys.argv[1:])])})")


if __name__ == "__main__":
    main()
