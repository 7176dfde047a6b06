"""Simulated N-MNIST through the hardware (issue 14, point 2).

    .venv/bin/python benchmarks/bench_nmnist.py            # 9,500 train digits x 3 recordings / 500 val / V2 / 2,000 test
    .venv/bin/python benchmarks/bench_nmnist.py --reuse    # the same, the trained net loaded if saved
    .venv/bin/python benchmarks/bench_nmnist.py --quick    # 200 test digits, 5 co-simulated, the saved net

MNIST digits are simulated into N-MNIST-like recordings (SaccadeSimulator, dt_us = 500) and
binned on the host into ticks (cached in build/nmnist/, see spikeforge.model.event_train);
a surrogate-gradient LIF network is trained on them, each training digit simulated with
several seeds (FULL["seeds"]: one recording per seed, and FULL["distorted"]: one recording
per seed of the digits distorted first; validation: the last training digits,
seed 1 only, never trained on in any recording; V2, the split that chooses since
2026-12-01: MNIST test digits 4,000-6,999 simulated with seed 7, scored in the full run only),
quantized to 8 bits with the first layer's max_events_per_tick set from the training data,
checked on every test digit and the real recording by the golden model, costed
(spikeforge.sim.cost.network_cost), compiled (spikeforge.flow.compile_network) with the first
20 (--quick: 5) test digits and the real recording (../shared/data/events/nmnist-sample.bin,
class unknown: label -1), and co-simulated on Verilator (spikeforge.flow.verify_artifact).
Prints one markdown table.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from spikeforge.flow import compile_network, verify_artifact
from spikeforge.ir.errors import ConfigError
from spikeforge.model.datasets import load_dataset
from spikeforge.model.event_train import (
    CACHE_DIR,
    DISTORT,
    DT_US,
    TEST_SEED,
    TICK_US,
    TICKS,
    TRAIN_SEED,
    EventCounts,
    cached_chunk,
    cached_counts,
    chunk_path,
    events_bound,
    float_accuracy,
    golden_counts,
    golden_decisions,
    interleaved_chunks,
    most_events_per_tick,
    quantize_event_net,
    train_event_lif,
)
from spikeforge.model.events import bin_events, read_nmnist
from spikeforge.sim.cost import network_cost
from spikeforge.sim.network import run_network

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "events" / "nmnist-sample.bin"
VAL_FIRST = 9500  #: validation: training digits 9500..9999, never trained on
#: the test digits reserved for scoring, never for a choice: 0..1,999 the test split (FULL["test"]),
#: 2,000..3,999 the fresh half (docs/events.md, "What is not here yet")
TEST_RESERVED = 4000
#: V2, the validation split that chooses: MNIST *test* digits 4,000..6,999 simulated with a seed
#: of their own. The 500 training digits of VAL_FIRST run ~2 points easier than the test digits
#: (a static MLP scores the same gap, docs/events.md) and no longer separate candidates; V2 is
#: drawn from the test set the score comes from, six times as large (standard error ~0.33 points)
VAL2_FIRST, VAL2_N, VAL2_SEED = 4000, 3000, 7
#: one more recording set of the training digits, each digit distorted first
#: (event_train.DISTORT, small affine maps) and simulated with this seed
DISTORTED_SEEDS = (6,)
#: the deployed network, chosen on V2 (docs/events.md, "V2": 10 ms ticks, 512 hidden neurons,
#: 12 epochs, the 9,500 training digits each simulated with every seed of ``seeds`` -- one
#: recording per seed, new sensor noise and event timing: augmentation -- and once more
#: distorted (``distorted``: DISTORTED_SEEDS); AdamW at an eighth of the 64-neuron net's
#: learning rate -- halved with each doubling of the width, since Adam moves every weight by
#: about lr per step -- label smoothing 0.1)
FULL = dict(hidden=512, epochs=12, merge=1, lr=6.25e-4, batch_size=32, shift=0, chunks=19,
            seeds=(TRAIN_SEED, 3), distorted=DISTORTED_SEEDS, test=2000, cosim=20,
            dropout_in=0.0, dropout_hidden=0.0, weight_decay=0.01, label_smoothing=0.1)
#: the regularisation settings of train_event_lif that a configuration may set
REGULARISATION = ("dropout_in", "dropout_hidden", "weight_decay", "label_smoothing")
#: --quick without a trained full model: a short run on 1,000 digits (far below 95 %)
QUICK = dict(FULL, epochs=2, chunks=2, seeds=(TRAIN_SEED,), distorted=(), test=200, cosim=5)


def real_counts() -> EventCounts:
    """The real recording, binned like the simulated ones (t0 = 0, TICKS ticks of TICK_US)."""
    return EventCounts.from_dense(bin_events(read_nmnist(REAL), TICK_US, TICKS)[None], [-1])


def train(cfg: dict, val: EventCounts, model_path: Path, reuse: bool, on_epoch=None):
    """The float net: loaded from ``model_path`` (``reuse``) or trained and saved there
    (``on_epoch``: passed to ``train_event_lif``, a trial's per-epoch checkpoint)."""
    from spikeforge.model.lif import LIFNet

    if reuse and model_path.is_file():
        net = LIFNet([val.n_inputs, cfg["hidden"], 10])
        net.load_state_dict(torch.load(model_path))
        return net, None
    data = training_set(cfg)
    r = train_event_lif(data, val, hidden=(cfg["hidden"],), epochs=cfg["epochs"], merge=cfg["merge"],
                        lr=cfg["lr"], batch_size=cfg["batch_size"], shift=cfg["shift"],
                        on_epoch=on_epoch, **{k: cfg.get(k, 0.0) for k in REGULARISATION})
    torch.save(r.net.state_dict(), model_path)
    return r.net, r


def training_set(cfg: dict) -> EventCounts:
    """Every cached training recording: each seed of ``seeds``, then each of ``distorted``
    (the digits distorted by DISTORT before simulation)."""
    sets = [(seed, None) for seed in cfg["seeds"]] + [(seed, DISTORT) for seed in cfg["distorted"]]
    return EventCounts.concat(EventCounts.load(chunk_path("train", seed, f, 500, augment=aug))
                              for seed, aug in sets for f in training_chunks(cfg))


def training_chunks(cfg: dict) -> list[int]:
    """First digits of the training chunks of 500 (never the validation chunk)."""
    return [f for f in interleaved_chunks(10000) if f != VAL_FIRST][:cfg["chunks"]]


def load_data(cfg: dict, quick: bool):
    """Validation chunk (seed 1), test digits and every training chunk of every seed: from the
    cache, simulated where missing. The training set is returned for its statistics (the
    events bound): the recordings of the first seed."""
    ds = load_dataset("mnist")
    for seed in cfg["seeds"]:
        for f in training_chunks(cfg):
            cached_chunk("train", ds.train_x, ds.train_y, f, 500, seed, progress=True)
    for seed in cfg["distorted"]:
        for f in training_chunks(cfg):
            cached_chunk("train", ds.train_x, ds.train_y, f, 500, seed, progress=True, augment=DISTORT)
    cached_chunk("train", ds.train_x, ds.train_y, VAL_FIRST, 500, TRAIN_SEED, progress=True)
    val = EventCounts.load(chunk_path("train", TRAIN_SEED, VAL_FIRST, 500))
    test = cached_counts("test", ds.test_x, ds.test_y, max(cfg["test"], 500), TEST_SEED,
                         progress=True).subset(range(cfg["test"]))
    return training_set(cfg), val, test


def load_val2(progress: bool = True, cache_dir: Path = CACHE_DIR) -> EventCounts:
    """V2: MNIST test digits VAL2_FIRST.. (VAL2_N of them), simulated with VAL2_SEED in
    chunks of 500, from the cache (``test-s7-...``: ``chunk_path`` names the seed, so they
    never share a file with the test split's seed-2 chunks), simulated where missing."""
    if VAL2_FIRST < TEST_RESERVED:
        raise ConfigError(f"VAL2_FIRST: {VAL2_FIRST} overlaps the reserved test digits 0..{TEST_RESERVED - 1}")
    ds = load_dataset("mnist")
    if VAL2_FIRST + VAL2_N > len(ds.test_x):
        raise ConfigError(f"VAL2_N: digits up to {VAL2_FIRST + VAL2_N}, the test set has {len(ds.test_x)}")
    return EventCounts.concat(cached_chunk("test", ds.test_x, ds.test_y, f, min(500, VAL2_FIRST + VAL2_N - f),
                                           VAL2_SEED, cache_dir=cache_dir, progress=progress)
                              for f in range(VAL2_FIRST, VAL2_FIRST + VAL2_N, 500))


def cosimulate(network, test: EventCounts, real_in: np.ndarray, n: int, merge: int, name: str):
    """Compile with the first ``n`` test digits and the real recording (label -1), verify."""
    counts = np.concatenate([golden_counts(test, range(n), merge), real_in])
    labels = np.concatenate([test.labels[:n], [-1]])
    out = CACHE_DIR / f"artifact-{name}"
    compile_network(network, out, counts, labels, info={"bench": "bench_nmnist"})
    return verify_artifact(out, simulator="verilator", jobs=1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="200 test digits; the trained full model if saved (else a 2-epoch one)")
    ap.add_argument("--reuse", action="store_true", help="load the trained float net if saved")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()
    full_model = CACHE_DIR / "lif-full.pt"
    name = "full" if not args.quick or full_model.is_file() else "quick"
    cfg = dict(FULL if name == "full" else QUICK)
    if args.quick:
        cfg.update(test=QUICK["test"], cosim=QUICK["cosim"])
    tr, val, test = load_data(cfg, args.quick)
    net, result = train(cfg, val, CACHE_DIR / f"lif-{name}.pt", args.reuse or args.quick)
    merge, ticks = cfg["merge"], -(-TICKS // cfg["merge"])
    acc_val, acc_float = float_accuracy(net, val, merge), float_accuracy(net, test, merge)
    val2 = None if args.quick else load_val2()

    bound = events_bound(tr, merge)
    network = quantize_event_net(net, ticks, bound)
    acc_golden = float(np.mean(golden_decisions(network, test, merge) == test.labels))  # every digit accepted
    acc_golden_val = float(np.mean(golden_decisions(network, val, merge) == val.labels))
    if val2 is None:
        v2_row = "not scored (--quick)"
    else:
        v2_float = float_accuracy(net, val2, merge)
        v2_golden = float(np.mean(golden_decisions(network, val2, merge) == val2.labels))
        v2_row = f"{v2_float:.2%} / {v2_golden:.2%}"
    real = real_counts()
    real_in = golden_counts(real, [0], merge)
    real_class = int(run_network(network, real_in).decision[0])
    cost = network_cost(network, run_network(network, golden_counts(test, range(min(200, len(test))), merge)))
    try:
        # --quick compiles its own artifact: the full run's (20 digits) stays as it is
        report = cosimulate(network, test, real_in, cfg["cosim"], merge,
                            name + ("-quick" if args.quick else ""))
        verdict = "BIT-EXACT" if report.ok else f"MISMATCH: {report.mismatch}"
        cosim = (f"{report.bit_exact_images}/{report.images} bit-exact ({cfg['cosim']} test digits + "
                 f"the real recording): {verdict}, {report.cycles_per_inference:.0f} cycles per inference")
        ok = report.ok
    except Exception as error:  # noqa: BLE001 -- the table is printed whatever the co-simulation did
        cosim, ok = f"FAILED: {type(error).__name__}: {str(error).splitlines()[0][:300]}", False

    trained = "loaded" if result is None else f"{result.seconds:.0f} s"
    n_sets = len(cfg["seeds"]) + len(cfg["distorted"])
    distorted = "".join(f", {s} distorted ({DISTORT})" for s in cfg["distorted"])
    rows = [
        ("simulated digits (train / val / test)", f"{len(tr) // n_sets} x "
         f"{n_sets} recordings / {len(val)} / {len(test)} (SaccadeSimulator "
         f"dt_us={DT_US}, training seeds {', '.join(map(str, cfg['seeds']))}{distorted}, validation "
         f"{TRAIN_SEED}, test {TEST_SEED})"),
        ("network", f"2312-{cfg['hidden']}-10 LIF, {cfg['epochs']} epochs ({trained})"),
        ("ticks", f"{ticks} of {TICK_US * merge // 1000} ms, at most 1 event per input per tick"),
        ("events per image (test, in the ticks)", f"{test.n_events.mean():.0f} "
         f"(real recording {real.n_events[0]})"),
        ("first layer max_events_per_tick", f"{bound} = 1.5 x the most in a training tick; "
         f"test most {most_events_per_tick(test, merge)}, real {int(real_in.sum(axis=2).max())}"),
        ("accuracy float (val / test)", f"{acc_val:.2%} / {acc_float:.2%}"),
        ("accuracy 8-bit golden (val / test)", f"{acc_golden_val:.2%} / {acc_golden:.2%}"),
        (f"accuracy on V2, float / 8-bit golden (test digits {VAL2_FIRST:,}-{VAL2_FIRST + VAL2_N - 1:,}, "
         f"seed {VAL2_SEED})", v2_row),
        ("memory cost", f"{cost.memory_bits} bits ({-(-cost.memory_bits // 8)} bytes): weights "
         f"{cost.total('weight_bits')}, state {cost.total('state_bits')}, spikes {cost.total('spike_bits')}"),
        ("compute cost", f"{cost.total('accumulations'):.0f} accumulations per inference "
         f"(mean of {cost.images} test digits, {cost.ticks:.1f} ticks)"),
        ("co-simulation (Verilator, verify_artifact)", cosim),
        ("real recording (class unknown, not scored)", f"golden class {real_class}, RTL "
         f"{'the same' if ok else 'see the co-simulation'}"),
    ]
    print(f"\n| simulated N-MNIST ({name} model) | |\n|---|---|")
    for key, value in rows:
        print(f"| {key} | {value} |")
    print(f"\n{time.perf_counter() - start:.0f} s in all")
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
