"""``spikeforge compile`` and ``verify`` (spikeforge/commands/compile.py): bad model files and
non-artifacts named without a traceback. Compiling and verifying a trained network is
tests/e2e/test_flow.py."""

import re

from spikeforge.flow import VERILOG, compile_network
from spikeforge.ir.params import Decision
from tests.util import random_inputs, random_network, run_cli


def test_compile_rejects_a_corrupt_model_file(tmp_path):
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"PK\x03\x04 this is not a model")
    run = run_cli("compile", bad, "--out", tmp_path / "out")
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert "broken.pt" in run.stderr and "not a readable spikeforge model file" in run.stderr
    assert not (tmp_path / "out").exists()


def test_compile_rejects_a_missing_model_and_verify_a_non_artifact(tmp_path):
    run = run_cli("compile", tmp_path / "nope.pt", "--out", tmp_path / "out")
    assert run.returncode == 2 and "Traceback" not in run.stderr and "nope.pt" in run.stderr
    run = run_cli("verify", tmp_path)
    assert run.returncode == 2 and "Traceback" not in run.stderr and "manifest.json" in run.stderr


def test_verify_refuses_a_shipped_verilog_edited_after_compile(tmp_path):
    """One weight edited in the compiled directory's spikeforge_system.v: `verify` used to
    regenerate the Verilog from the artifact and report BIT-EXACT; now it exits 2 naming the
    file and the first differing line, before simulating anything."""
    network = random_network(61, n_layers=2, max_size=8, decision=Decision.SPIKE_COUNT)
    counts = random_inputs(61, network, images=2, ticks=4)
    compile_network(network, tmp_path / "out", counts, [0, 1], neurons_per_core=[3, 3])
    path = tmp_path / "out" / VERILOG
    lines = path.read_text().split("\n")
    k = next(i for i, line in enumerate(lines) if re.match(r"\s*mem_w\[\d+\] = 8'h[0-9a-f]{2};", line))
    lines[k] = lines[k][:-3] + f"{int(lines[k][-3:-1], 16) ^ 0x01:02x};"
    path.write_text("\n".join(lines))
    run = run_cli("verify", tmp_path / "out", "--images", 1, "--simulator", "icarus")
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert f"{path}: differs from the Verilog that the artifact determines, first at line {k + 1}" \
        in run.stderr
    assert "BIT-EXACT" not in run.stdout


def test_verify_waves_without_a_mismatch_writes_no_file(tmp_path):
    """``--waves`` on a design that matches: nothing written (said on stderr), the exit
    status of a match; a ``--waves-dir`` that is a file is refused by name before any work."""
    network = random_network(62, n_layers=2, max_size=6, decision=Decision.SPIKE_COUNT)
    counts = random_inputs(62, network, images=2, ticks=4)
    compile_network(network, tmp_path / "out", counts, [0, 1], neurons_per_core=[3, 3])
    run = run_cli("verify", tmp_path / "out", "--images", 1, "--simulator", "icarus", "--waves")
    assert run.returncode == 0 and "BIT-EXACT" in run.stdout, run.stdout + run.stderr
    assert f"--waves: no mismatch, so no waves written to {tmp_path / 'out' / 'waves'}" \
        in run.stderr
    assert not (tmp_path / "out" / "waves").exists()
    (tmp_path / "file").write_text("")
    run = run_cli("verify", tmp_path / "out", "--simulator", "icarus",
                  "--waves-dir", tmp_path / "file")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert f"--waves-dir: {tmp_path / 'file'} exists and is not a directory" in run.stderr


def test_compile_says_how_many_images_overflow():
    """Images with more events in a tick than the first layer's bound are named (the
    hardware flags them and wraps); none: nothing is said."""
    import io

    import numpy as np

    from spikeforge.commands.compile import report_overflow
    from spikeforge.ir.network import IntegerLayer, IntegerNetwork
    from spikeforge.ir.params import NeuronParams

    network = IntegerNetwork((IntegerLayer(np.ones((4, 3), dtype=np.int64), NeuronParams(), 2),))
    counts = np.zeros((3, 2, 4), dtype=np.int64)
    counts[1, 1, :3] = 1  # 3 events > 2 in tick 1 of image 1
    counts[2, 0, :] = 1
    out = io.StringIO()
    report_overflow(network, counts, out)
    assert "2 of 3 traced images have more events in a tick than " \
           "layers[0].max_events_per_tick = 2 (first: image 1)" in out.getvalue()
    out = io.StringIO()
    report_overflow(network, counts[:1], out)
    assert out.getvalue() == ""
