"""``spikeforge verilog`` (spikeforge/commands/verilog.py) as a user meets it: the core's Verilog
and memory image, weights from a file, and clear errors without tracebacks."""

import numpy as np
import pytest

from tests.util import run_cli


def test_verilog_writes_the_core_and_its_memory_image(tmp_path):
    result = run_cli("verilog", tmp_path / "out", "--neurons", 5, "--inputs", 3)
    assert result.returncode == 0, result.stderr
    verilog = (tmp_path / "out" / "spikeforge_core.v").read_text()
    assert "module spikeforge_core" in verilog and "spike_in__valid" in verilog
    image = (tmp_path / "out" / "weights.hex").read_text().split()
    assert len(image) == 5 * 3


def test_verilog_takes_weights_from_a_file(tmp_path):
    weights = np.arange(-6, 6).reshape(4, 3)
    np.save(tmp_path / "w.npy", weights)
    result = run_cli("verilog", tmp_path / "out", "--weights", tmp_path / "w.npy")
    assert result.returncode == 0, result.stderr
    words = (tmp_path / "out" / "weights.hex").read_text().split()
    assert [int(w, 16) - (256 if int(w, 16) > 127 else 0) for w in words] == weights.ravel().tolist()


@pytest.mark.parametrize("args, message", [
    (["--neurons", 0], "argument --neurons: must be an integer in 1..4194304, got 0"),
    (["--inputs", -2], "argument --inputs: must be an integer in 1..4194304, got -2"),
    (["--threshold", 0], "threshold: must be in"),
    (["--membrane-bits", 40], "membrane_bits: must be in"),
    (["--alpha", 5000], "alpha: decay factor must be in"),
    (["--weights", "missing.npy"], "--weights: cannot read missing.npy"),
    (["--weights", "big.npy"], "weights[0, 0] = 300 is outside the signed 8-bit range"),
    (["--weights", "big.npy", "--neurons", 3], "--neurons 3 does not match --weights"),
])
def test_bad_input_is_named_without_a_traceback(tmp_path, args, message):
    np.save(tmp_path / "big.npy", np.array([[300, 0]]))
    result = run_cli("verilog", tmp_path / "out", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert message in result.stderr


def test_out_dir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("")
    result = run_cli("verilog", tmp_path / "file")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "file" in result.stderr
