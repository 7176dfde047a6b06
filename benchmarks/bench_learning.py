"""Benchmark of the on-chip (ramp/popcount) learning rule against exact-gradient training.

    .venv/bin/python benchmarks/bench_learning.py            # digits, 64-100-10 (minutes)
    .venv/bin/python benchmarks/bench_learning.py --quick    # 2-epoch smoke run

One run, one data split, prints a markdown table of test accuracy per epoch and writes a PNG
(``--png``, default ``docs/img/learning_<dataset>.png``):

* exact gradient: :func:`spikeforge.model.ttfs.train_ttfs` (Adam, float, continuous time);
  per epoch its float test accuracy (the history of ``train_ttfs``), and at the end its
  8-bit golden accuracy (:func:`~spikeforge.model.ttfs_discrete.integer_network`);
* the integer rule (:mod:`spikeforge.model.popcount_rule`) on the 8-bit golden model,
  per epoch: both layers from a random 8-bit network (the same random draw for every rule
  row), the output layer alone on top of the exactly-trained first layer, and the first
  reading of the rule (binary causal sets, constant steps) for reference.

``--val`` holds out the last fraction of the training set (exact training and the rule
both train on the rest): the rule rows then report their *validation* accuracy per epoch (the
numbers to choose hyper-parameters on) and the test set is evaluated once, after the last
epoch (the "final, 8-bit golden" row: test accuracy in every column), so that no setting is
chosen on it. ``--no-exact`` skips exact-gradient training (7-8 min per MNIST epoch on a
loaded 2-core machine) and with it the output-layer-only row, which needs its first layer.

    # the MNIST figure of docs/learning.md section 4.3 (settings chosen on the validation
    # split; 784-500-10, 7 epochs, ~20 min on a loaded 2-core machine)
    .venv/bin/python benchmarks/bench_learning.py --dataset mnist --hidden 500 --val 0.1 \
        --no-exact --no-first-reading --rule-epochs 7 --halve-every 1 --frac-bits 13 \
        --shift-out 8 --shift-hidden 10 --quiet --png docs/img/learning_mnist.png

    # section 4.4's chosen setting: the same rule, 784-1200-10 (92.20 % test, 0.929
    # validation; 10 min 46 s wall beside 2-4 other jobs)
    .venv/bin/python benchmarks/bench_learning.py --dataset mnist --hidden 1200 --val 0.1 \
        --no-exact --no-first-reading --rule-epochs 7 --halve-every 1 --frac-bits 13 \
        --shift-out 8 --shift-hidden 10 --quiet --png docs/img/learning_mnist_h1200.png

``--augment-shift S`` (default 0: off, so the recorded runs reproduce) moves every *training*
image by a whole number of pixels in each direction, up to ``S``, filled with 0, drawn anew
each epoch (:class:`ShiftedTrain`); the validation and test images are never moved.
``--no-test`` skips the one test evaluation (for the validation-only search runs).
``--test-curve`` (with ``--val``) evaluates the test set after every epoch as well and
reports it beside the validation curve (a column and a dashed line per rule row); the rule
still sees only its training samples, and nothing is chosen on that column. ``--jobs 2``
trains the exact-gradient network in a second process while the rule runs (same result as
``--jobs 1``; about half the wall time when both take as long). ``--exact-grid`` trains the
exact-gradient network on the rule's input events (times on the grid of ``K`` ticks per tau)
instead of continuous times: an MNIST epoch then takes seconds of training steps instead of
7-8 minutes (docs/model.md section 5); the recorded runs above are continuous.

    # docs/learning.md section 4.8: the rule at section 4.6-4.7's settings (chosen there on
    # validation) beside exact gradients (train_ttfs's defaults on the rule's input grid,
    # 10 epochs), both curves on the test set, in one run (~1.5 h on 2 cores)
    .venv/bin/python benchmarks/bench_learning.py --dataset mnist --hidden 600 --val 0.1 \
        --test-curve --jobs 2 --batch-size 1 --rule-epochs 14 --halve-every 2 \
        --frac-bits 13 --shift-out 8 --shift-hidden 10 --no-first-reading --no-output-only \
        --epochs 10 --exact-grid --png docs/img/learning_mnist_curve.png
"""

from __future__ import annotations

import argparse
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch

from spikeforge.ir.errors import ConfigError
from spikeforge.model.datasets import load_dataset
from spikeforge.model.popcount_rule import golden_accuracy, train_popcount
from spikeforge.model.ttfs import TTFSEncoding, TTFSNet, train_ttfs
from spikeforge.model.ttfs_discrete import inference_ticks, input_counts, integer_network

#: the rule as first read (docs/learning.md): binary causal sets, 1/4 and 1/16 LSB steps,
#: no margin, no step schedule
FIRST_READING = dict(feature="causal", ramp=16, shift_out=2, shift_hidden=0, margin=0,
                     frac_bits=8, halve_every=None, shift_revive=None, window="decision")


def rule_config(args) -> dict:
    return dict(frac_bits=args.frac_bits, shift_out=args.shift_out,
                shift_hidden=args.shift_hidden, ramp=args.ramp, margin=args.margin,
                shift_revive=None if args.no_revive else args.shift_revive,
                slow_down=args.slow_down, halve_every=args.halve_every, window=args.window,
                revive=getattr(args, "revive", "end"))   # bench_methods passes a namespace


class Split:
    """Input events (``K`` ticks per tau) of the train / validation / test samples."""

    def __init__(self, ds, k: int, ticks: int, val: float, max_train: int | None):
        n = len(ds.train_y) if max_train is None else min(max_train, len(ds.train_y))
        n_val = int(round(n * val))
        self.x_tr, self.y_tr = ds.train_x[:n - n_val], np.asarray(ds.train_y[:n - n_val])
        self.x_val, self.y_val = ds.train_x[n - n_val:n], np.asarray(ds.train_y[n - n_val:n])
        self.x_te, self.y_te = ds.test_x, np.asarray(ds.test_y)
        self.mv, self.k, self.ticks = ds.max_value, k, ticks
        #: ``None``, or a factory of a fresh :class:`ShiftedTrain` (one per rule run, so that
        #: every run sees the same shifts); ``run_test``: False skips the one test evaluation
        self.augment, self.run_test = None, True
        #: True: with a validation split, the rule runs also record test accuracy per epoch
        self.test_curve = False
        #: ``None``, or a path prefix: each rule run's final stores go to ``<prefix>.<i>.npz``
        self.save_to, self.saved = None, []

    def fn(self, x):
        return lambda idx: input_counts(x[idx], self.mv, self.k, ticks=self.ticks)


def shift_images(x: np.ndarray, shape: tuple, dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """``x`` (``[n, h*w]``) with image ``i`` moved down by ``dy[i]`` and right by ``dx[i]``
    pixels (negative: up / left), vacated pixels 0, pixels moved off the image dropped."""
    h, w = shape
    s = int(max(np.abs(dy).max(initial=0), np.abs(dx).max(initial=0)))
    images = np.asarray(x).reshape(-1, h, w)
    padded = np.pad(images, ((0, 0), (s, s), (s, s)))
    rows = (s - np.asarray(dy))[:, None] + np.arange(h)[None, :]           # [n, h]
    cols = (s - np.asarray(dx))[:, None] + np.arange(w)[None, :]           # [n, w]
    out = padded[np.arange(len(images))[:, None, None], rows[:, :, None], cols[:, None, :]]
    return out.reshape(len(images), h * w)


class ShiftedTrain:
    """The training samples' input events, each image shifted by up to ``max_shift`` pixels
    per direction, a new shift at each of its visits (one visit per epoch in
    :func:`~spikeforge.model.popcount_rule.train_popcount`). Why per visit and not per call:
    the shift of sample ``i`` in its ``e``-th epoch is then the ``i``-th entry of a table drawn
    from ``default_rng([seed, e])``, whatever the batch order, batch size or process, so a run
    is reproducible from its seed. It holds the training images only: validation and test
    events come from :meth:`Split.fn` and are never shifted."""

    def __init__(self, split: Split, shape: tuple, max_shift: int, seed: int):
        if max_shift < 0 or max_shift >= min(shape):
            raise ConfigError(f"augment_shift: must be in 0..{min(shape) - 1} pixels, "
                              f"got {max_shift}")
        self.x, self.split, self.shape = split.x_tr, split, tuple(shape)
        self.max_shift, self.seed = max_shift, seed
        self.visits = np.zeros(len(self.x), dtype=np.int64)
        self._tables: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def offsets(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """``(dy, dx)`` of every training sample in ``epoch`` (0-based), each in
        ``-max_shift..max_shift``."""
        if epoch not in self._tables:
            rng = np.random.default_rng([self.seed, epoch])
            d = rng.integers(-self.max_shift, self.max_shift + 1, (2, len(self.x)))
            self._tables = {epoch: (d[0], d[1])}          # one epoch at a time is enough
        return self._tables[epoch]

    def __call__(self, idx) -> np.ndarray:
        idx = np.asarray(idx)
        dy, dx = np.zeros(len(idx), np.int64), np.zeros(len(idx), np.int64)
        for e in np.unique(self.visits[idx]):
            sel = self.visits[idx] == e
            ty, tx = self.offsets(int(e))
            dy[sel], dx[sel] = ty[idx[sel]], tx[idx[sel]]
        np.add.at(self.visits, idx, 1)
        x = shift_images(self.x[idx], self.shape, dy, dx)
        return input_counts(x, self.split.mv, self.split.k, ticks=self.split.ticks)


def run_rule(name, start, split, epochs, batch_size, seed, progress, **rule):
    """``(name, curve, [final test accuracy], seconds, test curve)``: without a validation
    split the curve is the test accuracy per epoch (and the final test accuracy its last
    point); with one, the curve is the validation accuracy per epoch and the test set is run
    once, at the end -- or, with ``split.test_curve``, after every epoch as well (the test
    curve; nothing is chosen on it), its last point the final test accuracy."""
    held = (split.x_val, split.y_val) if len(split.y_val) else (split.x_te, split.y_te)
    train_fn = split.fn(split.x_tr) if split.augment is None else split.augment()
    also = (split.fn(split.x_te), split.y_te) if split.test_curve else None
    rule = dict(rule)
    halve_every = rule.pop("halve_every")
    r = train_popcount(start, train_fn, split.y_tr, split.fn(held[0]), held[1],
                       split.ticks, epochs, batch_size, seed, progress, halve_every, also,
                       **rule)
    curve = [acc for _, acc in r.history]
    print(f"{name}: training accuracy per epoch (during the epoch) "
          + " ".join(f"{tr:.4f}" for tr, _ in r.history) + f"; {r.seconds:.0f} s", flush=True)
    if split.save_to is not None:
        np.savez(f"{split.save_to}.{len(split.saved)}.npz", *r.learner.acc,
                 curve=np.asarray(curve))
        split.saved.append(name)
    test = curve[-1:]
    if r.also_history:
        test = r.also_history[-1:]
    elif len(split.y_val):
        test = [golden_accuracy(r.learner.current_network(), split.fn(split.x_te), split.y_te,
                                split.ticks)] if split.run_test else []
    return name, curve, test, r.seconds, r.also_history


def train_exact(args, n_tr: int, verbose: bool):
    """Exact-gradient training of the run (``args``: the parsed command line, so that it can
    run in a worker process): ``(float test accuracy per epoch, 8-bit golden test accuracy,
    seconds, first layer's float weights)``. Each epoch prints one line when ``verbose``."""
    torch.set_num_threads(args.threads)
    ds = load_dataset(args.dataset, path=args.path)
    ticks = inference_ticks(args.k, 2)
    split = Split(ds, args.k, ticks, args.val, args.max_train)

    def tell(epoch, _net, history):
        print(f"exact gradient: epoch {epoch + 1}/{args.epochs}, float test accuracy "
              f"{history[-1][2]:.4f}", flush=True)

    # --exact-grid: the input times on the rule's grid (K ticks per tau, pixel 0 at t_max:
    # the events input_counts gives the rule); without it, continuous times
    encoding = TTFSEncoding(1.0, args.k) if args.exact_grid else None
    exact = train_ttfs(ds, (args.hidden,), args.epochs, seed=args.seed, progress=False,
                       max_train=n_tr, on_epoch=tell if verbose else None, encoding=encoding)
    golden = golden_accuracy(integer_network(exact.net, args.k).network,
                             split.fn(split.x_te), split.y_te, ticks)
    return ([te for _, _, te in exact.history], golden, exact.seconds,
            exact.net.layers[0].w.detach().numpy().copy())


def main(argv=None):
    ap = argparse.ArgumentParser(description="On-chip learning rule vs exact gradients")
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--path", default=None)
    ap.add_argument("--hidden", type=int, default=100)
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=15, help="exact-gradient epochs")
    ap.add_argument("--rule-epochs", type=int, default=15)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--frac-bits", type=int, default=8)
    ap.add_argument("--shift-out", type=int, default=3)
    ap.add_argument("--shift-hidden", type=int, default=1)
    ap.add_argument("--ramp", type=int, default=32)
    ap.add_argument("--margin", type=int, default=8)
    ap.add_argument("--shift-revive", type=int, default=0)
    ap.add_argument("--no-revive", action="store_true")
    ap.add_argument("--revive", default="end", choices=("end", "error", "run"),
                    help="which silent hidden neurons are revived (model/popcount_rule.py)")
    ap.add_argument("--window", default="strict", choices=("strict", "decision", "spike"))
    ap.add_argument("--slow-down", default="first", choices=("first", "all"))
    ap.add_argument("--halve-every", type=int, default=3)
    ap.add_argument("--max-train", type=int, default=None)
    ap.add_argument("--val", type=float, default=0.0, help="fraction of train held out")
    ap.add_argument("--no-first-reading", action="store_true")
    ap.add_argument("--no-output-only", action="store_true")
    ap.add_argument("--no-exact", action="store_true",
                    help="skip exact-gradient training (and the output-layer-only row)")
    ap.add_argument("--augment-shift", type=int, default=0,
                    help="shift each training image by up to this many pixels, anew each "
                         "epoch (0: off)")
    ap.add_argument("--augment-seed", type=int, default=0)
    ap.add_argument("--test-curve", action="store_true",
                    help="with --val: the rule runs also record test accuracy after every "
                         "epoch (reported beside the validation curve; nothing is chosen on "
                         "it)")
    ap.add_argument("--exact-grid", action="store_true",
                    help="exact-gradient training on the rule's input grid (K ticks per "
                         "tau), ~20x faster on MNIST than continuous times")
    ap.add_argument("--jobs", type=int, default=1,
                    help="2: exact-gradient training in a second process, beside the rule")
    ap.add_argument("--no-test", action="store_true",
                    help="with --val: do not run the test set (validation-only search runs)")
    ap.add_argument("--save", default=None,
                    help="path prefix: save each rule run's final stores (acc) as .<i>.npz")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--png", default=None)
    ap.add_argument("--quick", action="store_true", help="2 epochs each, 300 training samples")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    if args.quick:
        args.epochs, args.rule_epochs, args.max_train = 2, 2, args.max_train or 300
        args.halve_every = 1
    if args.test_curve and (not args.val or args.no_test):
        ap.error("--test-curve: needs --val and the test set (without --val the curve is "
                 "the test accuracy already)")
    if args.jobs not in (1, 2):
        ap.error(f"--jobs: 1 or 2 (the exact-gradient training beside the rule), "
                 f"got {args.jobs}")
    torch.set_num_threads(args.threads)
    progress = not args.quiet
    ds = load_dataset(args.dataset, path=args.path)
    ticks = inference_ticks(args.k, 2)
    split = Split(ds, args.k, ticks, args.val, args.max_train)
    split.run_test, split.save_to = not args.no_test, args.save
    split.test_curve = args.test_curve
    if args.augment_shift:
        try:                                   # check it before any training
            ShiftedTrain(split, ds.shape, args.augment_shift, args.augment_seed)
        except ConfigError as e:
            ap.error(str(e))                   # one line, no traceback
        split.augment = lambda: ShiftedTrain(split, ds.shape, args.augment_shift,
                                             args.augment_seed)
    n_tr = len(split.y_tr)
    sizes = [ds.n_features, args.hidden, ds.n_classes]
    rand_int = integer_network(TTFSNet(sizes, seed=args.seed + 1), args.k).network
    rule = rule_config(args)
    exact_curve, exact_golden, exact_seconds = [], float("nan"), 0.0
    pool = exact_job = None
    if not args.no_exact and args.jobs > 1:        # beside the rule, in a second process
        pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        exact_job = pool.submit(train_exact, args, n_tr, progress)
    try:
        rows = [run_rule("rule, both layers, from random", rand_int, split, args.rule_epochs,
                         args.batch_size, args.seed, progress, **rule)]
        if not args.no_exact:
            exact_curve, exact_golden, exact_seconds, w0 = (
                exact_job.result() if exact_job is not None
                else train_exact(args, n_tr, progress))
    finally:  # the worker does not outlive a failed or interrupted rule run
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    runs = []
    if not args.no_exact:
        mixed = TTFSNet(sizes, seed=args.seed + 1)
        with torch.no_grad():
            mixed.layers[0].w.copy_(torch.from_numpy(w0))
        if not args.no_output_only:
            runs.append(("rule, output layer only, exact first layer",
                         integer_network(mixed, args.k).network, {**rule, "shift_hidden": None}))
    if not args.no_first_reading:
        runs.append(("first reading (binary causal sets), from random", rand_int, FIRST_READING))
    for name, net, kw in runs:
        rows.append(run_rule(name, net, split, args.rule_epochs, args.batch_size, args.seed,
                             progress, **kw))
    held = "validation" if len(split.y_val) else "test"
    print(f"{ds.name} ({n_tr} train, {len(split.y_val)} validation, {len(split.y_te)} test), "
          f"{'-'.join(map(str, sizes))}, K = {args.k}, 8-bit weights (+{args.frac_bits} "
          f"fraction bits while learning); rule: {rule}, batch {args.batch_size}, "
          + (f"training shifts up to {args.augment_shift} px (seed {args.augment_seed})"
             if args.augment_shift else "no training shifts") + "; rule columns "
          f"per epoch: {held} accuracy (8-bit golden)")
    print(format_table(exact_curve, exact_golden, exact_seconds, rows))
    if args.png is not None or not args.quick:
        png = args.png or f"docs/img/learning_{ds.name}.png"
        plot(png, exact_curve, exact_golden, rows, ds.name, held)
        print(f"wrote {png}")
    return exact_curve, exact_golden, rows


def format_table(exact_curve, exact_golden, exact_seconds, rows) -> str:
    epochs = max([len(exact_curve)] + [len(r[1]) for r in rows])
    cell = lambda c, e: f"{c[e]:.4f}" if e < len(c) else ""  # noqa: E731
    # a rule row with a test curve (--test-curve) takes a second column: its test accuracy
    cols = [(r[0], r[1], r[2], r[3]) for r in rows]
    cols = [c for r, col in zip(rows, cols) for c in
            ([col] + ([(f"{r[0]} (test)", r[4], [], None)] if r[4] else []))]
    head = ["epoch", "exact gradient (float)"] + [c[0] for c in cols]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for e in range(epochs):
        lines.append("| " + " | ".join([str(e + 1), cell(exact_curve, e)]
                                       + [cell(c[1], e) for c in cols]) + " |")
    lines.append("| final, 8-bit golden | " + " | ".join(
        [f"{exact_golden:.4f}" if exact_curve else ""]
        + [f"{c[2][-1]:.4f}" if c[2] else "" for c in cols]) + " |")
    lines.append("| seconds | " + " | ".join(
        [f"{exact_seconds:.0f}"] + ["" if c[3] is None else f"{c[3]:.0f}" for c in cols])
        + " |")
    return "\n".join(lines)


def plot(path, exact_curve, exact_golden, rows, title, held="test"):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    if exact_curve:
        ax.plot(range(1, len(exact_curve) + 1), exact_curve, "k-o", ms=3,
                label="exact gradient (float test acc.)")
        ax.axhline(exact_golden, color="k", ls=":", label=f"exact gradient, 8-bit golden "
                   f"({exact_golden:.3f})")
    for (name, curve, _, _, test_curve), style in zip(rows, ("C0-o", "C1-s", "C3-^", "C2-v")):
        ax.plot(range(1, len(curve) + 1), curve, style, ms=3,
                label=f"{name} (8-bit golden, {held})")
        if test_curve:
            ax.plot(range(1, len(test_curve) + 1), test_curve, style[:2] + "--", lw=1,
                    label=f"{name} (8-bit golden, test)")
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"accuracy ({held}; exact gradient: test)" if exact_curve else
                  f"{held} accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.set_title(f"{title}: integer on-chip rule" + (" vs exact gradients" if exact_curve else ""))
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
