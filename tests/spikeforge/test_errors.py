"""Never a traceback, never silently wrong (issue 15): every bad input the command line can
meet is refused with exactly one line on stderr that names it, exit status 2, and nothing on
stdout -- before any work (no training, no compiling, no simulation), which keeps this fast.

Each case runs ``spikeforge.cli.main`` in-process, except those on a read-only file system:
they run together in one subprocess inside a user and mount namespace
(``unshare --map-root-user --mount``) where a directory is bind-mounted read-only -- a real
read-only file system, as root cannot be kept out of a directory by its permissions. The
host driver's cases are unit tests of the codec in tests/boards/test_protocol.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from spikeforge.cli import main
from spikeforge.flow import EXPECTED, compile_network
from spikeforge.ir.params import Decision
from tests.util import random_inputs, random_network

ROOT = Path(__file__).resolve().parents[2]
LONG = "a" * 300  #: a file name longer than any file system allows (255 bytes)


# -- the inputs the cases refer to -------------------------------------------------------------

@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """A directory of bad inputs (and one good compiled directory), named as the cases use
    them: ``{d}/NAME``."""
    d = tmp_path_factory.mktemp("inputs")
    (d / "empty.pt").write_bytes(b"")
    (d / "text.pt").write_text("hello, this is not a model\n")
    (d / "random.pt").write_bytes(np.random.default_rng(15).bytes(3000))
    (d / "a-directory").mkdir()
    (d / "a-file").write_text("")
    (d / "others").mkdir()
    (d / "others" / "notes.txt").write_text("not an artifact")
    network = random_network(15, n_layers=2, max_size=6, decision=Decision.SPIKE_COUNT)
    counts = random_inputs(15, network, images=3, ticks=4)
    compile_network(network, d / "compiled", counts, [0, 1, 2])
    shutil.copytree(d / "compiled", d / "truncated")
    data = (d / "compiled" / EXPECTED).read_bytes()
    (d / "truncated" / EXPECTED).write_bytes(data[:len(data) // 2])
    (d / "blocked" / "spikeforge_core.v").mkdir(parents=True)  # a write that fails: a directory
    (d / "read-only").mkdir()
    return d


# -- the cases ---------------------------------------------------------------------------------

#: (id, arguments, what the one line must contain); ``{d}`` is the inputs directory
CASES = [
    # model files
    ("empty-model", ["compile", "{d}/empty.pt", "--out", "{d}/out"],
     "{d}/empty.pt: empty file (0 bytes), not a spikeforge model file"),
    ("random-binary-model", ["compile", "{d}/random.pt", "--out", "{d}/out"],
     "{d}/random.pt: not a spikeforge model file (a model file is the PyTorch zip archive"),
    ("text-model", ["compile", "{d}/text.pt", "--out", "{d}/out"],
     "{d}/text.pt: not a spikeforge model file"),
    ("missing-model", ["compile", "{d}/nope.pt", "--out", "{d}/out"],
     "{d}/nope.pt: model file not found"),
    ("long-model-path", ["compile", f"{{d}}/{LONG}.pt", "--out", "{d}/out"],
     f"{{d}}/{LONG}.pt: File name too long"),
    # compile
    ("compile-out-file", ["compile", "{d}/text.pt", "--out", "{d}/a-file"],
     "--out: {d}/a-file: exists and is not a directory"),
    ("compile-out-not-artifact", ["compile", "{d}/text.pt", "--out", "{d}/others"],
     "--out: {d}/others: a directory that is not a compiled artifact"),
    ("compile-long-out", ["compile", "{d}/text.pt", "--out", f"{{d}}/{LONG}"],
     "File name too long"),
    ("compile-full-banks-without-board", ["compile", "{d}/text.pt", "--out", "{d}/out",
                                          "--full-banks"],
     "--full-banks: needs --board (the banks are the board's block RAMs)"),
    ("compile-input-copies-without-board", ["compile", "{d}/text.pt", "--out", "{d}/out",
                                            "--input-copies"],
     "--input-copies: needs --board (the copies are the board engine's registers)"),
    ("compile-images-0", ["compile", "{d}/text.pt", "--out", "{d}/out", "--images", "0"],
     "argument --images: must be an integer >= 1, got 0"),
    ("compile-neurons-per-core-0", ["compile", "{d}/text.pt", "--out", "{d}/out",
                                    "--neurons-per-core", "0"],
     "argument --neurons-per-core: must be an integer >= 1, got 0"),
    # verify
    ("truncated-expected", ["verify", "{d}/truncated", "--simulator", "icarus"],
     "{d}/truncated/expected.npz"),
    ("verify-long-dir", ["verify", f"{{d}}/{LONG}"], f"{LONG}: File name too long"),
    ("verify-images-0", ["verify", "{d}/compiled", "--images", "0"],
     "argument --images: must be an integer >= 1, got 0"),
    ("verify-images-too-many", ["verify", "{d}/compiled", "--images", "4", "--simulator",
                                "icarus"], "--images: must be in 1..3"),
    ("verify-chunk-0", ["verify", "{d}/compiled", "--chunk", "0"],
     "argument --chunk: must be an integer >= 1, got 0"),
    ("icarus-missing", ["verify", "{d}/compiled", "--simulator", "icarus", "NO_PATH"],
     "--simulator icarus: Icarus Verilog not installed (iverilog, vvp not on PATH)"),
    ("verilator-missing", ["verify", "{d}/compiled", "NO_PATH"],
     "--simulator verilator: Verilator"),
    ("demo-simulator-missing", ["demo", "--core", "NO_PATH"], "--simulator both: "),
    # train
    ("train-max-train-0", ["train", "--max-train", "0"],
     "argument --max-train: must be an integer >= 1, got 0"),
    ("train-max-train-negative", ["train", "--max-train", "-3"],
     "argument --max-train: must be an integer >= 1, got -3"),
    ("train-threads-negative", ["train", "--threads", "-1"],
     "argument --threads: must be an integer in 1.."),
    ("train-epochs-0", ["train", "--epochs", "0"],
     "argument --epochs: must be an integer >= 1, got 0"),
    ("train-epochs-negative", ["train", "--epochs", "-1"],
     "argument --epochs: must be an integer >= 1, got -1"),
    ("train-hidden-0", ["train", "--hidden", "10", "0"],
     "argument --hidden: must be an integer in 1..4194304, got 0"),
    ("train-out-directory", ["train", "--out", "{d}/a-directory"],
     "--out: {d}/a-directory is a directory; give the file to write"),
    ("train-long-out", ["train", "--out", f"{{d}}/{LONG}.pt"],
     f"--out: cannot write {{d}}/{LONG}.pt: File name too long"),
    ("train-lif-spike-dropout", ["train", "--model", "lif", "--spike-dropout", "0.1"],
     "--spike-dropout: applies to --model ttfs only, not to --model lif"),
    ("train-lif-max-shift", ["train", "--model", "lif", "--max-shift", "2"],
     "--max-shift: applies to --model ttfs only"),
    ("train-lif-zero-is-silent", ["train", "--model", "lif", "--zero-is-silent"],
     "--zero-is-silent: applies to --model ttfs only"),
    ("train-ttfs-ticks", ["train", "--ticks", "20"], "--ticks: applies to --model lif only"),
    ("train-spike-dropout-1", ["train", "--spike-dropout", "1"],
     "argument --spike-dropout: must be a finite number in [0, 1), got 1"),
    ("train-ticks-per-tau-too-many", ["train", "--ticks-per-tau", "20000"],
     "--ticks-per-tau: 20000 makes inferences of 80002 ticks, more than the hardware's 65535"),
    ("train-digits-path", ["train", "--path", "{d}"],
     "--path: digits comes with scikit-learn and takes no path"),
    ("train-binarize-at-0", ["train", "--binarize-at", "0"],
     "argument --binarize-at: must be an integer >= 1, got 0"),
    ("train-lif-silent-below", ["train", "--model", "lif", "--silent-below", "3"],
     "--silent-below: applies to --model ttfs only"),
    # verilog
    ("verilog-neurons-1e9-text", ["verilog", "{d}/v", "--neurons", "1e9"],
     "argument --neurons: expected a whole number, got '1e9'"),
    ("verilog-neurons-1e9", ["verilog", "{d}/v", "--neurons", "1000000000"],
     "argument --neurons: must be an integer in 1..4194304, got 1000000000"),
    ("verilog-core-too-large", ["verilog", "{d}/v", "--neurons", "100000", "--inputs", "100000"],
     "--neurons x --inputs: 100000 neurons x 100000 inputs = 10000000000 weights, more than"),
    ("verilog-seed-negative", ["verilog", "{d}/v", "--seed", "-1"],
     "argument --seed: must be an integer >= 0, got -1"),
    ("verilog-out-file", ["verilog", "{d}/a-file"], "OUT_DIR: {d}/a-file exists and is not a"),
    ("verilog-long-out", ["verilog", f"{{d}}/{LONG}"], "File name too long"),
    ("verilog-write-fails", ["verilog", "{d}/blocked"],
     "{d}/blocked/spikeforge_core.v: Is a directory"),
    # fit and build
    ("fit-core-too-large", ["fit", "core:100000x100000"],
     "ARTIFACT_OR_CORE: 'core:100000x100000': 100000 neurons x 100000 inputs"),
    ("fit-input-depth-0", ["fit", "core:4x4", "--input-depth", "0"],
     "argument --input-depth: must be an integer in 2..32767, got 0"),
    ("fit-long-design", ["fit", f"{{d}}/{LONG}"], "File name too long"),
    ("build-out-file", ["build", "core:4x4", "--board", "arty-a7", "--out", "{d}/a-file"],
     "--out: {d}/a-file exists and is not a directory"),
    ("build-baud-0", ["build", "core:4x4", "--board", "arty-a7", "--baud", "0"],
     "argument --baud: must be an integer >= 1, got 0"),
    ("build-baud-too-fast", ["build", "core:4x4", "--board", "icebreaker", "--baud", "9000000"],
     "--baud: baud 9000000 is too fast for a 12 MHz clock"),
    ("build-input-depth-0", ["build", "core:4x4", "--board", "icebreaker", "--input-depth", "0"],
     "argument --input-depth: must be an integer in 2..32767, got 0"),
    ("build-clk-nan", ["build", "core:4x4", "--board", "icebreaker", "--clk-mhz", "nan"],
     "argument --clk-mhz: must be a finite number > 0, got nan"),
    ("train-silent-below-above-the-scale", ["train", "--dataset", "digits", "--silent-below",
                                            "17", "--out", "{d}/m.pt"],
     "--silent-below: must be a pixel value in 1..16 (the largest digits pixel), got 17"),
    ("train-hidden-huge", ["train", "--dataset", "digits", "--model", "lif", "--hidden", "4000000",
                           "--out", "{d}/m.pt"],
     "--hidden: layer 0 (64 x 4000000 = 256,000,000 weights) is larger than the 4,194,304"),
    ("compile-lanes-0", ["compile", "{d}/m.pt", "--out", "{d}/o", "--lanes", "0"],
     "argument --lanes: each value must be in 1..64, got '0'"),
    ("compile-lanes-text", ["compile", "{d}/m.pt", "--out", "{d}/o", "--lanes", "two"],
     "argument --lanes: expected a whole number or a comma list, got 'two'"),
    # data and cache
    ("data-fetch-unknown", ["data", "fetch", "cifar"],
     "argument NAME: invalid choice: 'cifar' (choose from 'mnist', 'fashion-mnist')"),
    ("data-fetch-dir-file", ["data", "fetch", "mnist", "--dir", "{d}/a-file"],
     "--dir: {d}/a-file exists and is not a directory"),
    ("data-fetch-long-dir", ["data", "fetch", "mnist", "--dir", f"{{d}}/{LONG}"],
     f"--dir: cannot write {{d}}/{LONG}: File name too long"),
    ("data-list-unknown", ["data", "list", "cifar"], "argument NAME: invalid choice: 'cifar'"),
    ("data-no-action", ["data"], "the following arguments are required: ACTION"),
    ("cache-clean-keep-bad", ["cache", "clean", "--keep", "lots"],
     "argument --keep: expected a size such as 2G, 500M or a number of bytes, got 'lots'"),
    ("cache-no-action", ["cache"], "the following arguments are required: ACTION"),
    # demo
    ("demo-images-0", ["demo", "--images", "0"], "argument --images: must be an integer >= 1"),
    ("demo-images-too-many", ["demo", "--images", "451"], "--images: must be in 1..450"),
    ("demo-ticks-without-core", ["demo", "--ticks", "5"],
     "--ticks: applies to the single-core demo (--core) only"),
    ("demo-core-images", ["demo", "--core", "--images", "5"],
     "--images: applies to the flow demo (without --core) only"),
    ("demo-full-and-images", ["demo", "--full", "--images", "5"], "--full and --images 5"),
    # learn (over the UART; learning builds)
    ("learn-nowhere", ["learn", "--samples", "3"], "one of the arguments --sim --port is required"),
    ("learn-sim-and-port", ["learn", "--sim", "icarus", "--port", "/dev/ttyUSB1"],
     "argument --port: not allowed with argument --sim"),
    ("learn-samples-too-many", ["learn", "--sim", "icarus", "--samples", "5000"],
     "--samples: must be in 1..1347 (the digits training split), got 5000"),
    ("learn-samples-0", ["learn", "--sim", "icarus", "--samples", "0"],
     "argument --samples: must be an integer >= 1"),
    ("demo-seed-negative", ["demo", "--core", "--seed", "-1"],
     "argument --seed: must be an integer >= 0, got -1"),
    # the parser itself
    ("no-command", [], "spikeforge: error: the following arguments are required: COMMAND"),
    ("unknown-option", ["fit", "core", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    # a read-only file system (run in a namespace, see read_only_runs)
    ("read-only-train", ["train", "--out", "{d}/read-only/model.pt", "READ_ONLY"],
     "--out: cannot write {d}/read-only/model.pt: Read-only file system"),
    ("read-only-compile", ["compile", "{d}/text.pt", "--out", "{d}/read-only/c", "READ_ONLY"],
     "--out: cannot write {d}/read-only/c: Read-only file system"),
    ("read-only-verilog", ["verilog", "{d}/read-only/v", "READ_ONLY"],
     "OUT_DIR: cannot write {d}/read-only/v: Read-only file system"),
    ("read-only-build", ["build", "core:4x4", "--board", "arty-a7", "--out",
                         "{d}/read-only/b", "READ_ONLY"],
     "--out: cannot write {d}/read-only/b: Read-only file system"),
    ("read-only-data-fetch", ["data", "fetch", "mnist", "--dir", "{d}/read-only/data",
                              "READ_ONLY"],
     "--dir: cannot write {d}/read-only/data: Read-only file system"),
]

_NAMESPACE_SCRIPT = textwrap.dedent("""
    import contextlib, io, json, sys
    from spikeforge.cli import main

    results = []
    for argv in json.loads(sys.argv[1]):
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                rc = main(argv)
        except SystemExit as exit:
            rc = exit.code
        results.append([rc, out.getvalue(), err.getvalue()])
    print(json.dumps(results))
""")


@pytest.fixture(scope="module")
def read_only_runs(inputs) -> dict:
    """``{tuple(argv): (status, stdout, stderr)}`` of the read-only cases, run in one
    subprocess that sees ``{d}/read-only`` mounted read-only."""
    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1) to make a read-only file system")
    target = inputs / "read-only"
    argvs = [_arguments(case[1], inputs)[0] for case in CASES if "READ_ONLY" in case[1]]
    shell = ('mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"')
    run = subprocess.run(["unshare", "--map-root-user", "--mount", "sh", "-c", shell, "sh",
                          str(target), sys.executable, "-c", _NAMESPACE_SCRIPT,
                          json.dumps(argvs)],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    if run.returncode != 0:
        pytest.skip(f"cannot mount a read-only file system here: {run.stderr.strip()[-300:]}")
    return {tuple(argv): tuple(result) for argv, result in zip(argvs, json.loads(run.stdout))}


def _arguments(template: list[str], d: Path) -> tuple[list[str], set[str]]:
    """The arguments with ``{d}`` filled in, and the markers (NO_PATH, READ_ONLY) taken out."""
    markers = {a for a in template if a in ("NO_PATH", "READ_ONLY")}
    return [a.replace("{d}", str(d)) for a in template if a not in markers], markers


@pytest.mark.parametrize("template, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_naming_it(template, message, inputs, capsys, monkeypatch,
                                         tmp_path, request):
    argv, markers = _arguments(template, inputs)
    if "READ_ONLY" in markers:
        status, out, err = request.getfixturevalue("read_only_runs")[tuple(argv)]
    else:
        if "NO_PATH" in markers:  # no simulator, nor make and a C++ compiler, on PATH
            monkeypatch.setenv("PATH", str(tmp_path))
        monkeypatch.chdir(tmp_path)  # a default output (model.pt) would land here
        try:
            status = main(argv)
        except SystemExit as exit:  # the parser
            status = exit.code
        out, err = capsys.readouterr()
    expected = message.replace("{d}", str(inputs))
    assert "Traceback" not in err
    assert status == 2, (status, out, err)
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert expected in err, err
    assert out == "", "work started before the input was refused"
    assert not list(tmp_path.iterdir()), "something was written"


# -- library code and pytest ---------------------------------------------------------------------

def test_library_code_never_imports_pytest():
    """Only the tests may use pytest (a skip raised from the library was a traceback on the
    command line): no module of the packages imports it."""
    from tests.test_layers import ALLOWED

    offenders = [str(path.relative_to(ROOT)) for package in ALLOWED
                 for path in sorted((ROOT / package).rglob("*.py"))
                 if "import pytest" in path.read_text() or "from _pytest" in path.read_text()]
    assert offenders == []


def test_a_missing_simulator_is_a_spikeforge_error(monkeypatch, tmp_path):
    """``run_cocotb`` meets a missing simulator with :class:`SimulatorMissing` (one line on
    the command line; the suite's conftest turns it into a skip), not pytest's ``Skipped``."""
    from spikeforge.cosim.runner import SimulatorMissing, run_cocotb
    from spikeforge.ir.errors import SpikeforgeError

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SimulatorMissing, match="icarus: Icarus Verilog not installed") as info:
        run_cocotb("module m; endmodule", "m", "unused_tb", "icarus")
    assert isinstance(info.value, SpikeforgeError) and isinstance(info.value, Exception)
    assert not os.listdir(tmp_path)
