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
