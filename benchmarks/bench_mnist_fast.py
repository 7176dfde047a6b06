"""MNIST >= 95 % in < 50 us per image at Fmax on the ECP5-85F (issue 10, point 5): a
latency-coded LIF network trained, compiled for the board, built, co-simulated, and set
beside the published FPGA designs -- in one run.

    .venv/bin/python benchmarks/bench_mnist_fast.py train [--hidden 256 --ticks 16 ...]  # the model
    .venv/bin/python benchmarks/bench_mnist_fast.py            # compile, fit, build, cosim, table
    .venv/bin/python benchmarks/bench_mnist_fast.py --quick    # digits 64-32-10 on the iCEBreaker

``train``: a 784-H-10 current-based LIF network (:class:`spikeforge.model.lif.LIFNet`,
surrogate gradients, Adam with a cosine learning rate) on the one-spike latency code
(:func:`spikeforge.model.encoders.latency_encode`: a pixel ``p >= 1`` spikes once, at tick
``((T - 1) * (255 - p)) // 255``, so an MNIST image is about 150 input events instead of the
rate code's ~1,500). Training images: the first 9,000 of the 10,000-image MNIST training
subset (``../shared/data/mnist``), each shifted by up to ``--shift`` pixels every epoch;
validation: the last 1,000 (every option was chosen there, docs/flow.md). The weight rows of
pixels that are 0 in every training image are held at 0, so ``spikeforge compile`` drops them
(exact). The model file (kind ``lif``, encoding ``latency``) is the float network; 8 bits is
the compiler's quantization (no QAT: the golden validation accuracy equals the float one
within 0.1 point here). It does not read the test set.

The run: ``spikeforge compile MODEL --board BOARD --images N`` (the lanes the compiler
chooses for the board; silent rows dropped) into ``OUT/compiled``, ``spikeforge fit`` of it,
the board build (:func:`spikeforge.boards.build.build_board`, PLL at ``--clk-mhz``; reused
when a finished build of exactly this plan is in ``OUT/board``, ``--rebuild`` forces it),
:func:`bench_ttfs_board.measure` (8-bit golden accuracy on every test image, work figures,
cycles per inference from the system cycle model on the N compiled images), then the N
images co-simulated in Verilator (the compiled harness, :func:`spikeforge.flow.verify_artifact`:
every spike of every layer, the class, the decision tick and the cycle count against the
golden and cycle models). Printed: the board table of ``bench_ttfs_board.py`` (the published
rows and ratios) and the three targets of the issue, each met or not.

``--quick`` trains a 64-32-10 latency-coded network on scikit-learn's digits (seconds),
builds it for the iCEBreaker (about a minute; 75 s in all on the shared machine: not a
< 1 minute check, so its test is ``slow``) and co-simulates 50 test images; it reports the
issue's targets as NOT met for that small network, as it should.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ttfs_board import REPO, compile_for_board, measure, table  # noqa: E402

#: the issue's targets
TARGET_ACCURACY, TARGET_US, TARGET_IMAGES = 0.95, 50.0, 1000
N_TRAIN, N_VAL = 9000, 1000


# -- training --------------------------------------------------------------------------------

@dataclasses.dataclass
class Recipe:
    """Every training option (the defaults are the choice made on the validation split)."""

    hidden: int = 256
    ticks: int = 16
    epochs: int = 30
    lr: float = 3e-3
    slope: float = 5.0  #: fast-sigmoid surrogate slope
    alpha: float = 0.5
    beta: float = 0.8
    shift: int = 1
    drop_in: float = 0.1  #: each input event dropped with this probability in training
    loss_scale: float = 0.3
    batch: int = 64
    seed: int = 0


def train_latency_lif(x_tr, y_tr, x_va, y_va, shape, recipe: Recipe, max_value: int,
                      progress: bool = True):
    """Train ``LIFNet [features, hidden, classes]`` on the latency code of ``x_tr``; return
    ``(float description with the silent rows zeroed, validation curve, seconds, silent
    input indices)``. Silent inputs (0 in every training image) keep zero weights
    throughout, so training sees exactly the network that is compiled."""
    import torch

    from spikeforge.model.datasets import Dataset
    from spikeforge.model.encoders import latency_encode
    from spikeforge.model.lif import LIFNet, lif_loss

    n_in, n_cls = x_tr.shape[1], int(max(y_tr.max(), y_va.max())) + 1
    silent = np.flatnonzero(x_tr.max(axis=0) == 0)
    mask = torch.ones(recipe.hidden, n_in)
    mask[:, torch.as_tensor(silent, dtype=torch.long)] = 0
    net = LIFNet([n_in, recipe.hidden, n_cls], seed=recipe.seed, alpha=recipe.alpha,
                 beta=recipe.beta, surrogate_scale=recipe.slope)
    with torch.no_grad():
        net.fcs[0].weight.mul_(mask)
    opt = torch.optim.Adam(net.parameters(), lr=recipe.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=recipe.epochs)
    g = torch.Generator().manual_seed(recipe.seed)
    rng = np.random.default_rng(recipe.seed)
    shifter = Dataset("shift", x_tr, y_tr, x_va, y_va, n_cls, max_value, shape)
    va = latency_encode(x_va, recipe.ticks, max_value=max_value)
    y = torch.as_tensor(y_tr)
    curve, start = [], time.perf_counter()
    for epoch in range(recipe.epochs):
        x = shifter.shifted(x_tr, recipe.shift, rng) if recipe.shift else x_tr
        tr = latency_encode(x, recipe.ticks, max_value=max_value)
        net.train()
        perm = torch.randperm(len(x_tr), generator=g)
        for s in range(0, len(perm), recipe.batch):
            idx = perm[s:s + recipe.batch]
            out, _ = net(tr[:, idx], dropout_in=recipe.drop_in, generator=g)
            loss = lif_loss(out, y[idx], recipe.loss_scale)
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():
                net.fcs[0].weight.mul_(mask)
        sched.step()
        net.eval()
        with torch.no_grad():
            pred = LIFNet.predict_from(net(va)[0]).numpy()
        curve.append(float((pred == y_va).mean()))
        if progress:
            print(f"  epoch {epoch + 1}/{recipe.epochs}: validation {curve[-1]:.2%} "
                  f"({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
    return net.description(), curve, time.perf_counter() - start, silent


def model_file(desc: dict, ds_name: str, recipe: Recipe, max_value: int, metrics: dict) -> dict:
    """The model file dict (:mod:`spikeforge.model.modelfile`, kind ``lif``, latency code)."""
    from spikeforge.model.modelfile import FORMAT, VERSION, _layers_to_tensors

    sizes = [desc["layers"][0]["weight"].shape[1]] + [l["weight"].shape[0] for l in desc["layers"]]
    return {"format": FORMAT, "version": VERSION, "kind": "lif", "dataset": ds_name,
            "sizes": sizes, "network": _layers_to_tensors(desc),
            "encoding": {"kind": "latency", "ticks": recipe.ticks, "max_value": max_value,
                         "min_value": 1},
            "metrics": metrics, "recipe": dataclasses.asdict(recipe)}


def golden_accuracy(desc: dict, x, y, ticks: int, max_value: int) -> float:
    """8-bit golden accuracy of the float description (the compiler's quantization)."""
    from spikeforge.compiler.quantize import quantize
    from spikeforge.model.encoders import latency_encode, spikes_to_counts
    from spikeforge.sim.network import classify

    network = quantize(desc, ticks=ticks).network
    counts = spikes_to_counts(latency_encode(x, ticks, max_value=max_value)).astype(np.uint8)
    return float((classify(network, counts) == np.asarray(y)).mean())


def cmd_train(argv) -> int:
    """``train``: the MNIST model on the 9,000/1,000 split; writes ``--out``."""
    import torch

    from spikeforge.model.datasets import load_dataset
    from spikeforge.model.modelfile import save_model

    ap = argparse.ArgumentParser(description=cmd_train.__doc__)
    for f in dataclasses.fields(Recipe):
        ap.add_argument("--" + f.name.replace("_", "-"), type=type(f.default), default=f.default)
    ap.add_argument("--out", type=Path, default=REPO / "build" / "mnist_fast" / "model.pt")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    recipe = Recipe(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Recipe)})
    ds = load_dataset("mnist")
    if len(ds.train_y) != N_TRAIN + N_VAL:
        raise SystemExit(f"expected the 10,000-image MNIST training subset, got {len(ds.train_y)}")
    x_tr, y_tr = ds.train_x[:N_TRAIN], ds.train_y[:N_TRAIN]
    x_va, y_va = ds.train_x[N_TRAIN:], ds.train_y[N_TRAIN:]
    desc, curve, seconds, silent = train_latency_lif(x_tr, y_tr, x_va, y_va, ds.shape, recipe,
                                                     ds.max_value)
    gold = golden_accuracy(desc, x_va, y_va, recipe.ticks, ds.max_value)
    metrics = {"float_validation_accuracy": curve[-1], "golden_validation_accuracy": gold,
               "train_seconds": seconds, "silent_inputs": len(silent),
               "training_set": "MNIST 10k training subset (../shared/data/mnist): first 9,000 "
                               "trained, last 1,000 validation; test set not read"}
    save_model(model_file(desc, ds.name, recipe, ds.max_value, metrics), args.out)
    print(f"{args.out}: 784-{recipe.hidden}-10 latency LIF, {recipe.ticks} ticks, "
          f"{recipe.epochs} epochs in {seconds:.0f} s; validation float {curve[-1]:.2%}, "
          f"8-bit golden {gold:.2%}; {len(silent)} silent input rows")
    return 0


def quick_model(out: Path) -> Path:
    """The --quick network: 64-32-10 latency LIF on digits (8 ticks, a few seconds)."""
    from spikeforge.model.datasets import load_dataset
    from spikeforge.model.modelfile import save_model

    ds = load_dataset("digits")
    recipe = Recipe(hidden=32, ticks=8, epochs=15, lr=5e-3, slope=25.0, shift=0)
    desc, curve, seconds, silent = train_latency_lif(ds.train_x, ds.train_y, ds.test_x,
                                                     ds.test_y, ds.shape, recipe, ds.max_value,
                                                     progress=False)
    path = out / "model.pt"
    save_model(model_file(desc, ds.name, recipe, ds.max_value,
                          {"float_test_accuracy": curve[-1], "train_seconds": seconds}), path)
    return path


# -- the run ---------------------------------------------------------------------------------

def fit_text(compiled: Path, board: str) -> str:
    """``spikeforge fit`` of the compiled directory, as a user runs it."""
    cmd = [str(Path(sys.executable).parent / "spikeforge"), "fit", str(compiled), "--board", board]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode not in (0, 2):
        raise SystemExit(f"fit failed:\n{run.stdout}{run.stderr}")
    return "$ " + " ".join(cmd[1:]) + "\n" + run.stdout.strip()


def targets(m: dict, report: dict, cosim) -> list[str]:
    """The issue's three targets, each with its figure and met / NOT met."""
    us = m["cycles"] / report["fmax_mhz"]
    rows = [("accuracy >= 95 % (8-bit golden = RTL)", f"{m['accuracy']:.2%} on "
             f"{m['test_images']:,} test images", m["accuracy"] >= TARGET_ACCURACY),
            ("< 50 us per image at Fmax", f"{us:.1f} us ({m['cycles']:,.0f} cycles at "
             f"{report['fmax_mhz']:.1f} MHz)", us < TARGET_US),
            (">= 1,000 co-simulated test images bit-exact", f"{cosim.bit_exact_images:,} / "
             f"{cosim.images:,} (RTL accuracy {cosim.rtl_accuracy:.2%})",
             cosim.ok and cosim.bit_exact_images >= TARGET_IMAGES)]
    return [f"  {name:<45} {figure:<45} {'met' if ok else 'NOT met'}" for name, figure, ok in rows]


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["train"]:
        return cmd_train(argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="digits 64-32-10 (latency LIF) on the iCEBreaker, 50 images co-simulated")
    ap.add_argument("--model", type=Path, default=REPO / "build" / "mnist_fast" / "model.pt")
    ap.add_argument("--board", default=None, help="default ulx3s-85f (--quick: icebreaker)")
    ap.add_argument("--clk-mhz", type=float, default=None,
                    help="PLL clock of the build (default 50 on the ULX3S, the board clock else)")
    ap.add_argument("--images", type=int, default=1000,
                    help="test images compiled with the artifact and co-simulated")
    ap.add_argument("--stats-images", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=2, help="co-simulation processes")
    ap.add_argument("--out", type=Path, default=None, help="default build/bench_mnist_fast/<board>")
    ap.add_argument("--rebuild", action="store_true", help="build even if a matching build exists")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    board = args.board or ("icebreaker" if args.quick else "ulx3s-85f")
    clk = args.clk_mhz if args.clk_mhz is not None else (50.0 if board == "ulx3s-85f" else None)
    out = args.out or REPO / "build" / "bench_mnist_fast" / board
    model = args.model
    if args.quick:
        model = quick_model(out)
        args.images, args.stats_images = min(args.images, 50), min(args.stats_images, 450)
    if not Path(model).is_file():
        raise SystemExit(f"--model: {model} not found (`benchmarks/bench_mnist_fast.py train` "
                         f"makes it; --quick trains its own digits network)")
    compile_for_board(Path(model), board, out / "compiled", args.images)
    print(fit_text(out / "compiled", board), file=sys.stderr, flush=True)

    from spikeforge.boards.build import build_board, format_report
    from spikeforge.flow import verify_artifact

    report = build_board(str(out / "compiled"), board, out / "board", clk_mhz=clk,
                         allow_timing_fail=True, reuse=not args.rebuild)
    print(("reused the build in " + str(out / "board") + "\n" if report.get("reused") else "")
          + format_report(report), file=sys.stderr, flush=True)
    m = measure(Path(model), out / "compiled", args.stats_images)
    print(f"co-simulating {args.images} test images in Verilator ({args.jobs} jobs)...",
          file=sys.stderr, flush=True)
    cosim = verify_artifact(out / "compiled", args.images, "verilator", engine="fast",
                            jobs=args.jobs, progress="stderr")
    util = report["utilization"]
    print(f"\n{m['sizes']} {m['label']}, lanes {m['lanes']}, {m['rows_kept']} input rows on "
          f"chip; {m['cycles']:,.0f} cycles per inference (cycle model, {m['cycle_images']} "
          f"test images); Fmax {report['fmax_mhz']:.1f} MHz (clock {report['clock_mhz']:.1f} "
          f"MHz, timing {'met' if report['timing_met'] else 'NOT met'}); "
          + ", ".join(f"{util[key]['used']:,} {name}" for key, name in
                      (("luts", "logic cells"), ("ffs", "FFs"), ("dsps", "DSPs")) if key in util)
          + f", {util['brams']['used']} / {util['brams']['available']} block RAM\n")
    print(f"{'simulator':<10} {'images':>6} {'golden':>9} {'RTL':>9} {'bit-exact':>13} "
          f"{'cycles/inf':>9} {'bound':>8} {'wall s':>7}  verdict")
    print(cosim.row() + "\n")
    print(table(m, report))
    print("\nissue 10, point 5:")
    print("\n".join(targets(m, report, cosim)))
    print(f"\n{time.perf_counter() - start:.0f} s in all"
          f"{' (build reused)' if report.get('reused') else ''}")
    return 0 if cosim.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
