"""``spikeforge train``: train a reference model and write a model file
(:mod:`spikeforge.model.modelfile`)."""

from __future__ import annotations

import os

from spikeforge.commands.options import check_output_file, integer, number
from spikeforge.hdl.verilog import MAX_CORE_WEIGHTS
from spikeforge.ir.errors import ConfigError

#: the most ticks of one inference: the hardware counts ticks in 16 bits (the system's
#: default ``tick_bits``, and the host protocol's ``n_ticks``)
MAX_TICKS = 0xFFFF

#: options of one model kind only, and their defaults (None in the parser: so that an option
#: given for the other kind is refused instead of ignored)
TTFS_ONLY = {"ticks_per_tau": 32, "zero_is_silent": False, "spike_dropout": 0.0, "max_shift": 0,
             "binarize_at": None, "silent_below": None}
LIF_ONLY = {"ticks": 16}
DEFAULT_EPOCHS = {"ttfs": 15, "lif": 10}


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a reference model and write a model file",
                              description="Train a TTFS (exact gradients, Mostafa 2017) or LIF "
                                          "(surrogate gradients) network, check it on the golden "
                                          "model, and write a model file.")
    p.add_argument("--dataset", default="digits", choices=["digits", "mnist", "fashion-mnist"])
    p.add_argument("--path", default=None, help="directory of the IDX files (mnist, fashion-mnist)")
    p.add_argument("--model", default="ttfs", choices=["ttfs", "lif"])
    p.add_argument("--hidden", type=integer(1, MAX_CORE_WEIGHTS), nargs="+", default=[100],
                   help="hidden layer sizes")
    p.add_argument("--epochs", type=integer(1), default=None,
                   help=f"default: {DEFAULT_EPOCHS['ttfs']} (ttfs), {DEFAULT_EPOCHS['lif']} (lif)")
    p.add_argument("--ticks-per-tau", type=integer(1, MAX_TICKS), default=None,
                   help=f"ttfs: ticks per time constant (default: {TTFS_ONLY['ticks_per_tau']})")
    p.add_argument("--zero-is-silent", action="store_true", default=None,
                   help="ttfs: pixels of 0 send no spike (the FPGA prototype's sparse input); "
                        "the weight rows of pixels that are 0 in every training image are kept "
                        "at 0, so compile drops them")
    p.add_argument("--binarize-at", type=integer(1), default=None, metavar="P",
                   help="ttfs: the binary code: pixels >= P spike at tick 0, the rest are "
                        "silent with --zero-is-silent (else at 1 tau); the input weights "
                        "read are then the ink's rows, whenever the network decides")
    p.add_argument("--silent-below", type=integer(1), default=None, metavar="P",
                   help="ttfs: pixels below P send no spike, the rest keep the intensity code")
    p.add_argument("--spike-dropout", type=number(0, 1, hi_open=True), default=None,
                   help="ttfs: drop each input spike with this probability while training "
                        "(the MNIST benchmark uses 0.1; default: 0)")
    p.add_argument("--max-shift", type=integer(0), default=None,
                   help="ttfs: move training images by up to this many pixels each epoch "
                        "(default: 0)")
    p.add_argument("--ticks", type=integer(1, MAX_TICKS), default=None,
                   help=f"lif: ticks per inference (default: {LIF_ONLY['ticks']})")
    p.add_argument("--max-train", type=integer(1), default=None,
                   help="use the first N training images")
    p.add_argument("--threads", type=integer(1, os.cpu_count() or 1), default=None,
                   help="torch threads (at most the CPUs of this machine)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--out", default="model.pt", help="model file to write (default model.pt)")
    p.set_defaults(handler=cmd_train)


def check_train_args(args) -> None:
    """Refuse what would be ignored or cannot be written, before the (slow) training; fill in
    the defaults of the chosen model kind."""
    own, other = (TTFS_ONLY, LIF_ONLY) if args.model == "ttfs" else (LIF_ONLY, TTFS_ONLY)
    for name in other:
        if getattr(args, name) is not None:
            raise ConfigError(f"--{name.replace('_', '-')}: applies to --model "
                              f"{'lif' if args.model == 'ttfs' else 'ttfs'} only, not to "
                              f"--model {args.model}")
    for name, default in own.items():
        if getattr(args, name) is None:
            setattr(args, name, default)
    if args.epochs is None:
        args.epochs = DEFAULT_EPOCHS[args.model]
    if args.dataset == "digits" and args.path is not None:
        raise ConfigError("--path: digits comes with scikit-learn and takes no path")
    check_output_file(args.out, "--out")


def cmd_train(args) -> int:
    """Train as ``args`` says, write ``args.out`` and print a summary."""
    check_train_args(args)
    # torch and spikeforge.model (which imports it) take seconds to import: only when training
    import torch

    from spikeforge.model.datasets import load_dataset
    from spikeforge.model.modelfile import save_model, train_lif_model, train_ttfs_model

    if args.model == "ttfs":
        from spikeforge.model.ttfs_discrete import inference_ticks

        ticks = inference_ticks(args.ticks_per_tau, len(args.hidden) + 1)
        if ticks > MAX_TICKS:
            raise ConfigError(f"--ticks-per-tau: {args.ticks_per_tau} makes inferences of "
                              f"{ticks} ticks, more than the hardware's {MAX_TICKS}")
    ds = load_dataset(args.dataset, path=args.path)
    sizes = [ds.n_features, *args.hidden, ds.n_classes]
    for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if n_in * n_out > MAX_CORE_WEIGHTS:
            # refused before PyTorch allocates it (and Adam's three copies of it)
            raise ConfigError(f"--hidden: layer {l} ({n_in} x {n_out} = {n_in * n_out:,} "
                              f"weights) is larger than the {MAX_CORE_WEIGHTS:,} weights of a "
                              f"layer spikeforge trains and compiles")
    for name in ("binarize_at", "silent_below"):
        value = getattr(args, name, None)
        if value is not None and value > ds.max_value:
            raise ConfigError(f"--{name.replace('_', '-')}: must be a pixel value in "
                              f"1..{ds.max_value} (the largest {ds.name} pixel), got {value}")
    if args.model == "ttfs" and args.max_shift and args.max_shift >= min(ds.shape):
        raise ConfigError(f"--max-shift: must be less than the {ds.name} image size "
                          f"{'x'.join(map(str, ds.shape))}, got {args.max_shift}")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    progress = not args.no_progress
    if args.model == "ttfs":
        model = train_ttfs_model(ds, args.hidden, args.epochs, args.ticks_per_tau,
                                 args.max_train, progress, args.zero_is_silent,
                                 args.spike_dropout, args.max_shift,
                                 zero_silent_rows=True,  # where pixels are silent
                                 binarize_at=args.binarize_at, silent_below=args.silent_below)
    else:
        model = train_lif_model(ds, args.hidden, args.epochs, args.ticks, args.max_train,
                                progress)
    save_model(model, args.out)
    m = model["metrics"]
    print(f"{model['kind']} {ds.name} {model['sizes']}: float test accuracy "
          f"{m['float_test_accuracy']:.4f}, 8-bit golden {m['golden_test_accuracy']:.4f}, "
          f"trained in {m['train_seconds']:.1f} s -> {args.out}")
    return 0
