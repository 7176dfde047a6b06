"""Golden-model throughput: a time-to-first-spike 784-600-10 network against a rate-coded LIF
784-600-10 network of the same size (issue 11, point 4: TTFS within 2x of LIF).

    .venv/bin/python benchmarks/bench_golden.py            # 1000 images each (~1 minute)
    .venv/bin/python benchmarks/bench_golden.py --quick    # 100 images

Both networks are synthetic but shaped like the trained ones (8-bit weights, the trained
networks' neuron models and input codes; decisions after about as many ticks and hidden
spikes as a trained MNIST TTFS network needs):

* TTFS: non-leaky integrate-and-fire neurons (``beta = 2**decay_bits``) with exponentially
  decaying synaptic current, ``fire_once``; every input pixel that is not zero spikes once
  (about 19 % of them, as in MNIST under the silent-zero code) at a tick set by its
  intensity; FIRST_SPIKE decision; ``--ticks`` ticks (default 256, 32 ticks per tau);
* LIF: leaky neurons, subtract reset; a rate code of 16 ticks (each input spikes in a tick
  with its intensity as probability); SPIKE_COUNT decision.

Rows: ``classify`` (the early exit at the decision and the sparse event phase) and, for
reference, ``run_network(..., early_exit=False)`` (every tick, the full trace). Decisions of
the two are checked equal. Single-threaded BLAS (``OMP_NUM_THREADS=1`` is set before numpy is
imported).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.ir.params import Decision, NeuronParams, Reset
from spikeforge.sim.network import classify, run_network

SIZES = (784, 600, 10)


def ttfs_network(seed: int = 0) -> IntegerNetwork:
    rng = np.random.default_rng(seed)
    def params(threshold):  # tau of about 33 ticks
        return NeuronParams(decay_bits=12, alpha=int(0.97 * 4096), threshold=threshold,
                            fire_once=True)
    w0 = rng.integers(-48, 64, size=SIZES[:2])
    w1 = rng.integers(-60, 100, size=SIZES[1:])
    return IntegerNetwork((IntegerLayer(w0, params(6000)), IntegerLayer(w1, params(15000))),
                          Decision.FIRST_SPIKE)


def ttfs_inputs(images: int, ticks: int, seed: int = 1) -> np.ndarray:
    """Every non-zero pixel (19 %) spikes once, at a tick in the first 160 (brighter ones
    earlier; here uniform)."""
    rng = np.random.default_rng(seed)
    counts = np.zeros((images, ticks, SIZES[0]), dtype=np.uint8)
    on = rng.random((images, SIZES[0])) < 0.19
    when = rng.integers(0, min(160, ticks), size=(images, SIZES[0]))
    b, j = np.nonzero(on)
    counts[b, when[b, j], j] = 1
    return counts


def lif_network(seed: int = 0) -> IntegerNetwork:
    rng = np.random.default_rng(seed)
    params = NeuronParams(decay_bits=12, alpha=int(0.8 * 4096), beta=int(0.9 * 4096),
                          threshold=4000, reset=Reset.SUBTRACT)
    w0 = rng.integers(-45, 48, size=SIZES[:2])
    w1 = rng.integers(-60, 80, size=SIZES[1:])
    return IntegerNetwork((IntegerLayer(w0, params), IntegerLayer(w1, params)),
                          Decision.SPIKE_COUNT)


def lif_inputs(images: int, ticks: int = 16, seed: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    intensity = rng.random((images, 1, SIZES[0])) * (rng.random((images, 1, SIZES[0])) < 0.19)
    return (rng.random((images, ticks, SIZES[0])) < intensity).astype(np.uint8)


def timed(fn, repeat: int = 1):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100 images")
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--ticks", type=int, default=256, help="TTFS ticks")
    args = ap.parse_args(argv)
    n = 100 if args.quick else args.images
    ttfs, lif = ttfs_network(), lif_network()
    x_ttfs, x_lif = ttfs_inputs(n, args.ticks), lif_inputs(n)

    rows = []
    s_lif, d_lif = timed(lambda: classify(lif, x_lif))
    rows.append(("LIF 784-600-10, rate 16 ticks, spike count", "classify", s_lif))
    s_full, full = timed(lambda: run_network(ttfs, x_ttfs, early_exit=False))
    s_ttfs, d_ttfs = timed(lambda: classify(ttfs, x_ttfs))
    if not np.array_equal(d_ttfs, full.decision):
        raise SystemExit("early exit changed a decision")
    st = full.statistics()
    rows.append((f"TTFS 784-600-10, {args.ticks} ticks, first spike", "run_network, every tick",
                 s_full))
    rows.append((f"TTFS 784-600-10, {args.ticks} ticks, first spike",
                 "classify (early exit, sparse events)", s_ttfs))
    lif_st = run_network(lif, x_lif[:100]).statistics()
    print(f"{n} images; TTFS: median decision tick {np.median(full.decision_tick):.0f}, "
          f"{np.mean(st.hidden_spikes):.0f} hidden spikes before the decision, "
          f"{np.mean(full.decision < 0):.1%} undecided; LIF: {np.mean(lif_st.hidden_spikes):.0f} "
          f"hidden spikes, {np.bincount(d_lif, minlength=10).max() / n:.0%} in its largest "
          f"class\n")
    print("| network | golden model | images/s |")
    print("|---|---|---|")
    for name, how, s in rows:
        print(f"| {name} | {how} | {n / s:,.0f} |")
    ratio = s_ttfs / s_lif
    print(f"\nTTFS classify takes {ratio:.2f}x the LIF time per image (target <= 2x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
