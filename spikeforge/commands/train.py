"""``spikeforge train``: train a reference model and write a model file
(:mod:`spikeforge.model.modelfile`)."""

from __future__ import annotations

from spikeforge.ir.errors import ConfigError


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a reference model and write a model file",
                              description="Train a TTFS (exact gradients, Mostafa 2017) or LIF "
                                          "(surrogate gradients) network, check it on the golden "
                                          "model, and write a model file.")
    p.add_argument("--dataset", default="digits", choices=["digits", "mnist", "fashion-mnist"])
    p.add_argument("--path", default=None, help="directory of the IDX files (mnist, fashion-mnist)")
    p.add_argument("--model", default="ttfs", choices=["ttfs", "lif"])
    p.add_argument("--hidden", type=int, nargs="+", default=[100], help="hidden layer sizes")
    p.add_argument("--epochs", type=int, default=None, help="default: 15 (ttfs), 10 (lif)")
    p.add_argument("--ticks-per-tau", type=int, default=32, help="ttfs: ticks per time constant")
    p.add_argument("--zero-is-silent", action="store_true",
                   help="ttfs: pixels of 0 send no spike (the FPGA prototype's sparse input)")
    p.add_argument("--spike-dropout", type=float, default=0.0,
                   help="ttfs: drop each input spike with this probability while training "
                        "(the MNIST benchmark uses 0.1)")
    p.add_argument("--max-shift", type=int, default=0,
                   help="ttfs: move training images by up to this many pixels each epoch")
    p.add_argument("--ticks", type=int, default=16, help="lif: ticks per inference")
    p.add_argument("--max-train", type=int, default=None, help="use the first N training images")
    p.add_argument("--threads", type=int, default=None, help="torch threads")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--out", default="model.pt", help="model file to write (default model.pt)")
    p.set_defaults(handler=cmd_train)


def cmd_train(args) -> int:
    """Train as ``args`` says, write ``args.out`` and print a summary."""
    # torch and spikeforge.model (which imports it) take seconds to import: only when training
    import torch

    from spikeforge.model.datasets import load_dataset
    from spikeforge.model.modelfile import save_model, train_lif_model, train_ttfs_model

    if args.threads:
        torch.set_num_threads(args.threads)
    if any(h < 1 for h in args.hidden):
        raise ConfigError(f"--hidden: sizes must be positive, got {args.hidden}")
    ds = load_dataset(args.dataset, path=args.path)
    progress = not args.no_progress
    if args.model == "ttfs":
        if not 0 <= args.spike_dropout < 1:
            raise ConfigError(f"--spike-dropout: must be in [0, 1), got {args.spike_dropout}")
        model = train_ttfs_model(ds, args.hidden, args.epochs or 15, args.ticks_per_tau,
                                 args.max_train, progress, args.zero_is_silent,
                                 args.spike_dropout, args.max_shift)
    else:
        model = train_lif_model(ds, args.hidden, args.epochs or 10, args.ticks, args.max_train,
                                progress)
    save_model(model, args.out)
    m = model["metrics"]
    print(f"{model['kind']} {ds.name} {model['sizes']}: float test accuracy "
          f"{m['float_test_accuracy']:.4f}, 8-bit golden {m['golden_test_accuracy']:.4f}, "
          f"trained in {m['train_seconds']:.1f} s -> {args.out}")
    return 0
