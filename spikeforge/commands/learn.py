"""``spikeforge learn``: on-chip learning over the UART (issue 13, point 4).

The digits network 64-H-10 from a random start (``digits_setup``) learns online with the
digits rule, one training sample at a time, on a learning build of the board: the host
streams each sample (LOAD), runs a training inference (TRAIN) and the update (LEARN), and at
the end reads every store word back (STORE). ``--sim`` runs the board core in co-simulation
(the UART model, :func:`spikeforge.boards.cosim.run_board_learning`); ``--port`` talks to a
real board over pyserial, built by ``spikeforge build learn:digits`` with the same
``--hidden`` and ``--seed`` (:func:`digits_learner` makes the learner of both commands,
:func:`spikeforge.boards.learning.learning_design` the design of both). Either way the
command prints the running training accuracy and checks every training result, update and
the final stores against the Python rule
(:func:`spikeforge.boards.cosim.check_board_learning`)."""

from __future__ import annotations

import dataclasses

import numpy as np

from spikeforge.boards.cosim import check_board_learning, learning_requests, run_board_learning
from spikeforge.boards.host import SpikeforgeBoard
from spikeforge.commands.compile import check_simulators
from spikeforge.commands.options import integer
from spikeforge.cosim.runner import SIMULATORS
from spikeforge.hdl.system import LEARNING_MIN_HIDDEN
from spikeforge.ir.errors import ConfigError
from spikeforge.sim.learning import DIGITS_RULE, PopcountLearner

__all__ = ["register", "cmd_learn", "DIGITS_RULE", "digits_learner", "add_start_options",
           "HIDDEN", "SEED", "DEFAULT_HIDDEN", "DEFAULT_SEED"]


#: the random start's options (here and in ``spikeforge build`` / ``fit learn:digits``)
HIDDEN, SEED = integer(LEARNING_MIN_HIDDEN, 512), integer(0)  #: --hidden, --seed
DEFAULT_HIDDEN, DEFAULT_SEED = 32, 0


def add_start_options(p, defaults: bool = True, note: str = "") -> None:
    """``--hidden`` and ``--seed``, the random start of the digits network. ``defaults``
    False: they default to None (a command where they apply to one design only says so)."""
    p.add_argument("--hidden", type=HIDDEN, default=DEFAULT_HIDDEN if defaults else None,
                   metavar="H", help=f"hidden neurons{note} (default: {DEFAULT_HIDDEN})")
    p.add_argument("--seed", type=SEED, default=DEFAULT_SEED if defaults else None,
                   metavar="S", help=f"seed of the random start{note} (default: {DEFAULT_SEED})")


def digits_learner(hidden: int = DEFAULT_HIDDEN, seed: int = DEFAULT_SEED, dataset=None):
    """``(learner, dataset, ticks, train_counts_fn)``: the digits network 64-H-10 from the
    random start of ``digits_setup`` (``hidden``, ``seed``) with the digits rule: the
    learner of ``spikeforge learn``, whose learning build (``learning_design``) is what
    ``spikeforge build learn:digits`` builds."""
    from spikeforge.model.datasets import load_dataset
    from spikeforge.model.popcount_rule import digits_setup

    ds = dataset if dataset is not None else load_dataset("digits")
    ticks, train_fn, _, network = digits_setup(ds, hidden=hidden, seed=seed)
    return PopcountLearner(network, ticks, **DIGITS_RULE), ds, ticks, train_fn


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "learn", help="train a board online over the UART (learning build), check it against "
                      "the rule",
        description="Train the digits network 64-H-10 from a random start with the popcount "
                    "rule on a learning build of the board, one sample at a time over the "
                    "UART (LOAD, TRAIN, LEARN per sample; the stores read back at the end), "
                    "print the running training accuracy and check every training result, "
                    "every update's cycles and every final store word against the Python "
                    "rule. --sim co-simulates the board core with a UART model; --port talks "
                    "to a real board, which must have been built with the learning engine "
                    "from the same start: `spikeforge build learn:digits --board BOARD "
                    "--hidden H --seed S` (untested here: no board on the build machine).")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--sim", choices=list(SIMULATORS),
                       help="co-simulate the board core in this simulator")
    where.add_argument("--port", metavar="DEV",
                       help="a real board's serial port (pyserial), e.g. /dev/ttyUSB1")
    p.add_argument("--samples", type=integer(1), default=50,
                   help="training samples, the first N of the digits training split "
                        "(default: %(default)s)")
    add_start_options(p)
    p.add_argument("--baud", type=integer(1), default=115200,
                   help="--port: UART baud rate (default: %(default)s)")
    p.set_defaults(handler=cmd_learn)


def _setup(args):
    """(learner, counts, labels, lr_decays) of the run; --samples checked against the split."""
    from spikeforge.model.datasets import load_dataset

    ds = load_dataset("digits")
    if args.samples > len(ds.train_y):
        raise ConfigError(f"--samples: must be in 1..{len(ds.train_y)} (the digits training "
                          f"split), got {args.samples}")
    learner, _, _, train_fn = digits_learner(args.hidden, args.seed, ds)
    index = np.arange(args.samples)
    # the step's right shift as a schedule sets it: 0, then 1, then 2
    lr_decays = [3 * k // args.samples for k in range(args.samples)]
    return learner, train_fn(index), ds.train_y[index], lr_decays


def _on_board(args, learner, counts, labels, lr_decays) -> dict:
    """The run on a real board: a report of the form the co-simulation bench writes."""
    config = learner.hardware_config()
    board = SpikeforgeBoard.open_serial(args.port, args.baud)
    report = {"info": dict(vars(board.ping())), "raw": [], "errors": [], "train": [],
              "learned": []}
    for request, _, _ in learning_requests(config):
        board.send_raw(request)
        frame = board.read_reply()
        report["raw"].append({"cmd": frame.cmd, "payload": frame.payload.hex()})
    for k, (sample, label, lr_decay) in enumerate(zip(counts, labels, lr_decays)):
        result = dataclasses.asdict(board.train(sample, config.ticks))
        report["train"].append({name: list(v) if isinstance(v, tuple) else v
                                for name, v in result.items()})
        report["learned"].append(board.learn(int(label), lr_decay))
        print(_progress(k, report["train"], labels))
    report["stores"] = [a.tolist() for a in board.read_stores(config)]
    return report


def _progress(k: int, results, labels) -> str:
    right = sum(int(r["cls"] == int(y)) for r, y in zip(results[:k + 1], labels))
    return (f"sample {k + 1:>4}: label {int(labels[k])}, board class {results[k]['cls']:>2}; "
            f"running training accuracy {right}/{k + 1} ({right / (k + 1):.3f})")


def cmd_learn(args) -> int:
    if args.sim is not None:
        check_simulators(args.sim)
    learner, counts, labels, lr_decays = _setup(args)
    network = learner.current_network()
    sizes = "-".join(str(n) for n in (network.n_inputs, *(L.n_neurons for L in network.layers)))
    print(f"{sizes} from a random start (seed {args.seed}), {args.samples} samples, "
          f"{'co-simulated in ' + args.sim if args.sim else 'board on ' + args.port}")
    if args.sim is not None:
        report = run_board_learning(learner, counts, labels, lr_decays, args.sim).report
        for k in range(len(report.get("train", []))):
            print(_progress(k, report["train"], labels))
    else:
        report = _on_board(args, learner, counts, labels, lr_decays)
    try:
        check_board_learning(report, learner, counts, labels, lr_decays,
                             input_depth=report["info"]["input_depth"])
    except AssertionError as error:
        print(f"check: FAILED: {error}")
        return 1
    words = sum(a.size for a in learner.acc)
    print(f"check: every training RESULT as the golden model's, every LEARNED as the cycle "
          f"model's, all {words} store words as the rule's")
    return 0
