"""``spikeforge compile`` and ``verify`` (spikeforge/commands/compile.py): bad model files and
non-artifacts named without a traceback. Compiling and verifying a trained network is
tests/e2e/test_flow.py."""

from tests.util import run_cli


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
