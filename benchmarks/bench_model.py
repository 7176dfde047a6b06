"""Benchmark of the PyTorch reference models against the golden model of the contract.

    .venv/bin/python benchmarks/bench_model.py            # digits rows (a few minutes)
    .venv/bin/python benchmarks/bench_model.py --full     # + MNIST (10k train subset), full Fashion-MNIST

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

"train s" is the whole training run (with the per-epoch train and test evaluation); "s/epoch"
times an epoch's training steps alone (the same measure for spikeforge and snnTorch).

TTFS rows are trained on input times on the grid of ``--k`` ticks per tau and mapped onto
ticks by :mod:`spikeforge.model.ttfs_discrete`. LIF rows use the hardware-reproducible LFSR
rate code for ``--ticks`` ticks and the spike-count decision. Each LIF row is followed by the
same network trained with snnTorch (:mod:`snntorch_lif`, installed into ``build/bench-env``
only; ``--no-snntorch`` skips it), whose weights then go through the same quantizer and
golden model.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from spikeforge.sim.network import run_network

PROTOTYPE_ROW = ("MNIST (60k train)", "TTFS 784-600-10, FPGA prototype (Mostafa 2017), reference",
                 "-", "0.97", "139", "0.13", "0.05", "-", "-")


def _reads(trace_stats, network) -> np.ndarray:
    sizes = np.array([L.n_inputs * L.n_neurons for L in network.layers], dtype=np.float64)
    return trace_stats.synaptic_events / sizes[None, :]


def _dataset_cell(ds, max_train, n_test) -> str:
    n_train = len(ds.train_y) if max_train is None else min(max_train, len(ds.train_y))
    return f"{ds.name} ({n_train} train, {n_test} test)"


def ttfs_row(ds, hidden, epochs, k, lr=3e-3, zero_is_silent=False, max_train=None, max_test=None,
             progress=True, spike_dropout=0.0, max_shift=0, grid=True):
    """``grid``: train on input times on the tick grid (fast); otherwise on continuous times."""
    from spikeforge.model.ttfs import TTFSEncoding, train_ttfs
    from spikeforge.model.ttfs_discrete import evaluate

    encoding = TTFSEncoding(1.0, k if grid else None, zero_is_silent)
    r = train_ttfs(ds, (hidden,), epochs, lr=lr, max_train=max_train, progress=progress,
                   encoding=encoding, per_sample_weight_sum=zero_is_silent,
                   spike_dropout=spike_dropout, max_shift=max_shift)
    x, y = ds.test_x[:max_test], ds.test_y[:max_test]
    res = evaluate(r.net, x, y, ds.max_value, k, float_discrete=False, encoding=encoding)
    code = "".join([", trained on the tick grid" if grid else ", trained in continuous time",
                    ", 0 silent" if zero_is_silent else "",
                    f", dropout {spike_dropout:g}" if spike_dropout else "",
                    f", shifts of {max_shift} px" if max_shift else ""])
    return (_dataset_cell(ds, max_train, len(y)),
            f"TTFS {ds.n_features}-{hidden}-{ds.n_classes}, K={k} ticks/tau{code}, {epochs} ep",
            f"{res.continuous:.4f}", f"{res.golden:.4f}", f"{res.hidden_spikes:.1f}",
            f"{res.weights_read[0]:.3f}", f"{res.weights_read[1]:.3f}", f"{r.seconds:.1f}",
            f"{r.seconds_per_epoch:.1f}")


def golden_rate_accuracy(network, ds, ticks, max_test=None, chunk=1000):
    """``(accuracy, mean hidden spikes, mean weights read per layer)`` of an IntegerNetwork on
    the LFSR rate-coded test set (seed 0)."""
    from spikeforge.model.encoders import rate_encode, spikes_to_counts

    x, y = ds.test_x[:max_test], ds.test_y[:max_test]
    correct, hs, reads = 0, [], []
    for s in range(0, len(y), chunk):
        counts = spikes_to_counts(rate_encode(x[s:s + chunk], ticks, max_value=ds.max_value, seed=0))
        trace = run_network(network, counts, ticks)
        st = trace.statistics()
        correct += int((trace.decision == y[s:s + chunk]).sum())
        hs.append(st.hidden_spikes)
        reads.append(_reads(st, network))
    return correct / len(y), float(np.concatenate(hs).mean()), np.concatenate(reads).mean(axis=0)


def lif_row(ds, hidden, epochs, ticks, lr=5e-3, max_train=None, max_test=None, progress=True,
            surrogate_scale=None):
    from spikeforge.compiler.quantize import quantize
    from spikeforge.model.lif import train_lif

    r = train_lif(ds, (hidden,), epochs, "rate", ticks, lr=lr, max_train=max_train,
                  progress=progress, cosine=True, surrogate_scale=surrogate_scale)
    network = quantize(r.net.description(), ticks=ticks).network
    golden, hidden_spikes, reads = golden_rate_accuracy(network, ds, ticks, max_test)
    n_test = len(ds.test_y[:max_test])
    float_acc = r.test_accuracy if max_test is None else float("nan")  # on the whole test set
    slope = "" if surrogate_scale is None else f", slope {surrogate_scale:g}"
    return (_dataset_cell(ds, max_train, n_test),
            f"LIF {ds.n_features}-{hidden}-{ds.n_classes}, rate {ticks} ticks{slope}, {epochs} ep",
            f"{float_acc:.4f}", f"{golden:.4f}", f"{hidden_spikes:.1f}",
            f"{reads[0]:.3f}", f"{reads[1]:.3f}", f"{r.seconds:.1f}", f"{r.seconds_per_epoch:.1f}")


def snntorch_row(ds, hidden, epochs, ticks, lr=5e-3, max_train=None, max_test=None,
                 surrogate_scale=None):
    """The LIF row's network and recipe, trained with snnTorch; its weights through our
    quantizer onto the golden model (snnTorch's reset timing differs from the contract's, so
    the 8-bit column shows what that difference costs)."""
    from snntorch_lif import description, ensure_snntorch, train_snntorch

    from spikeforge.compiler.quantize import quantize

    version = ensure_snntorch().__version__
    r = train_snntorch(ds, hidden, epochs, ticks, lr, max_train=max_train, cosine=True,
                       slope=surrogate_scale or 25.0)
    network = quantize(description(r.net), ticks=ticks).network
    golden, hidden_spikes, reads = golden_rate_accuracy(network, ds, ticks, max_test)
    float_acc = r.test_accuracy if max_test is None else float("nan")  # on the whole test set
    return (_dataset_cell(ds, max_train, len(ds.test_y[:max_test])),
            f"snnTorch {version} Synaptic, same network and recipe",
            f"{float_acc:.4f}", f"{golden:.4f}", f"{hidden_spikes:.1f}", f"{reads[0]:.3f}",
            f"{reads[1]:.3f}", f"{r.seconds:.1f}", f"{r.seconds_per_epoch:.1f}")


HEADER = ("dataset", "model", "float acc", "8-bit golden acc", "hidden spikes before decision",
          "weights read in->hid", "weights read hid->out", "train s", "s/epoch")


def markdown(rows) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="add MNIST and Fashion-MNIST rows")
    ap.add_argument("--quick", action="store_true",
                    help="digits only, 2 epochs per model (a smoke run for the test suite)")
    ap.add_argument("--only", choices=["ttfs", "lif"], default=None)
    ap.add_argument("--k", type=int, default=32, help="MNIST TTFS ticks per tau")
    ap.add_argument("--digits-k", type=int, default=16,
                    help="digits TTFS ticks per tau (8-bit weights lose accuracy at 32 there, "
                         "docs/model.md section 1)")
    ap.add_argument("--ticks", type=int, default=16, help="LIF ticks")
    ap.add_argument("--hidden", type=int, default=600, help="MNIST/Fashion-MNIST hidden size")
    ap.add_argument("--ttfs-epochs", type=int, default=50, help="MNIST TTFS epochs")
    ap.add_argument("--skip-digits", action="store_true", help="no digits rows")
    ap.add_argument("--lif-epochs", type=int, default=10, help="MNIST/Fashion-MNIST LIF epochs")
    ap.add_argument("--zero-is-silent", action="store_true",
                    help="MNIST TTFS: pixels of 0 send no spike (the prototype's sparse input)")
    ap.add_argument("--spike-dropout", type=float, default=0.1,
                    help="MNIST TTFS: training drops each input spike with this probability")
    ap.add_argument("--max-shift", type=int, default=1,
                    help="MNIST TTFS: training images move by up to this many pixels each epoch")
    ap.add_argument("--surrogate-scale", type=float, default=5.0,
                    help="MNIST/Fashion-MNIST LIF: fast-sigmoid slope of the surrogate gradient")
    ap.add_argument("--max-train", type=int, default=None, help="MNIST/Fashion train subset")
    ap.add_argument("--max-test", type=int, default=None, help="MNIST/Fashion test subset")
    ap.add_argument("--no-snntorch", action="store_true", help="skip the snnTorch rows")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    from spikeforge.model.datasets import load_dataset

    progress = not args.quiet
    start = time.perf_counter()
    rows = []

    def lif_rows(ds, hidden, epochs, lr, max_train=None, max_test=None, surrogate_scale=None):
        rows.append(lif_row(ds, hidden, epochs, args.ticks, lr, max_train, max_test, progress,
                            surrogate_scale))
        if not args.no_snntorch:
            rows.append(snntorch_row(ds, hidden, epochs, args.ticks, lr, max_train, max_test,
                                     surrogate_scale))
        print(markdown(rows[-2:]), flush=True)

    digits = load_dataset("digits")
    if args.only in (None, "ttfs") and not args.skip_digits:
        rows.append(ttfs_row(digits, 100, 2 if args.quick else 15, args.digits_k,
                             progress=progress, grid=False))
    if args.only in (None, "lif") and not args.skip_digits:
        lif_rows(digits, 100, 2 if args.quick else 10, 5e-3)
    if args.full:
        mnist = load_dataset("mnist")
        if args.only in (None, "ttfs"):
            rows.append(ttfs_row(mnist, args.hidden, args.ttfs_epochs, args.k, 3e-3,
                                 args.zero_is_silent, args.max_train, args.max_test, progress,
                                 args.spike_dropout, args.max_shift))
            print(markdown(rows[-1:]), flush=True)
        if args.only in (None, "lif"):
            lif_rows(mnist, args.hidden, args.lif_epochs, 1e-3, args.max_train, args.max_test,
                     args.surrogate_scale)
            lif_rows(load_dataset("fashion-mnist"), args.hidden, args.lif_epochs, 1e-3,
                     args.max_train, args.max_test, args.surrogate_scale)
    rows.append(PROTOTYPE_ROW)
    print(markdown(rows))
    print(f"\n(total {time.perf_counter() - start:.0f} s, torch threads {args.threads}; "
          f"command: {' '.join(['benchmarks/bench_model.py', *(argv if argv is not None else sys.argv[1:])])})")


if __name__ == "__main__":
    main()
