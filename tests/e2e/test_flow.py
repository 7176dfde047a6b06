"""The end-to-end flow: train -> compile -> co-simulate the whole system, bit-exact."""

import json

import numpy as np
import pytest

from spikeforge import flow
from spikeforge.compiler.artifact import load_artifact
from spikeforge.ir.params import Decision
from spikeforge.sim.network import classify
from tests.util import run_cli


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A 64-10-10 digits network trained for one epoch, compiled onto 6 cores."""
    trained = flow.train_digits_network(hidden=10, epochs=1, qat_epochs=1, ticks=10,
                                        progress=False)
    from spikeforge.model.datasets import load_dataset

    ds = load_dataset("digits")
    counts = flow.encode_inputs(ds.test_x[:40], ds.max_value, trained.ticks)
    out = tmp_path_factory.mktemp("tiny")
    result = flow.compile_network(trained.network, out, counts, ds.test_y[:40], neurons_per_core=4,
                                  info={"training": trained.summary()})
    return trained, result, counts, ds.test_y[:40]


def test_training_gives_a_network_on_the_contract(tiny):
    trained, _, counts, labels = tiny
    assert trained.network.decision is Decision.SPIKE_COUNT
    assert trained.sizes == [64, 10, 10]
    assert 0.0 <= trained.golden_accuracy <= 1.0 and trained.float_accuracy > 0.2  # one epoch: better than chance
    assert len(trained.quantization) == 2 and trained.quantization[0]["scale"] > 0


def test_compile_writes_artifact_verilog_and_expected_traces(tiny):
    trained, result, counts, labels = tiny
    artifact = load_artifact(result.out_dir)
    network, plan = artifact.network, artifact.plan
    assert network == trained.network
    assert len(plan.cores) == 3 + 3  # 10 neurons / 4 per core -> 3 cores, in both layers
    assert "module spikeforge_system" in result.verilog.read_text()
    expected = flow.load_expected(result.expected)
    np.testing.assert_array_equal(expected["input_counts"], counts)
    np.testing.assert_array_equal(expected["decision"], classify(network, counts))
    meta = json.loads((result.out_dir / flow.FLOW_JSON).read_text())
    assert meta["neurons_per_core"] == 4 and "training" in meta


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_verify_co_simulates_bit_exactly(tiny, simulator):
    _, result, counts, labels = tiny
    report = flow.verify_artifact(result.out_dir, images=3, simulator=simulator)
    assert report.ok, report.mismatch
    assert report.images == report.bit_exact_images == 3
    assert report.rtl_accuracy == report.golden_accuracy
    assert report.cycles_per_inference >= report.lower_bound_cycles > 0


def test_verify_command_prints_the_table(tiny):
    _, result, _, _ = tiny
    run = run_cli("verify", result.out_dir, "--images", 2, "--simulator", "icarus")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "BIT-EXACT" in run.stdout and "MISMATCH" not in run.stdout


def test_compile_command_from_a_model_file(tmp_path):
    model = tmp_path / "model.pt"
    run = run_cli("train", "--dataset", "digits", "--model", "lif", "--hidden", 8,
                     "--epochs", 1, "--ticks", 6, "--max-train", 200, "--no-progress",
                     "--out", model)
    assert run.returncode == 0, run.stdout + run.stderr
    run = run_cli("compile", model, "--out", tmp_path / "out", "--neurons-per-core", 5,
                     "--images", 20)
    assert run.returncode == 0, run.stdout + run.stderr
    plan = load_artifact(tmp_path / "out").plan
    assert len(plan.cores) == 2 + 2
    assert (tmp_path / "out" / flow.VERILOG).is_file()
    assert flow.load_expected(tmp_path / "out" / flow.EXPECTED)["labels"].shape == (20,)


@pytest.mark.slow
def test_whole_digits_test_split_in_verilator(tmp_path):
    from spikeforge.model.datasets import load_dataset

    trained = flow.train_digits_network(progress=False)
    ds = load_dataset("digits")
    counts = flow.encode_inputs(ds.test_x, ds.max_value, trained.ticks)
    result = flow.compile_network(trained.network, tmp_path, counts, ds.test_y, neurons_per_core=16)
    report = flow.verify_artifact(result.out_dir, simulator="verilator", chunk=100)
    assert report.ok, report.mismatch
    assert report.images == report.bit_exact_images == len(ds.test_y)
    assert report.rtl_accuracy == report.golden_accuracy == pytest.approx(trained.golden_accuracy)
    assert report.golden_accuracy > 0.9


@pytest.mark.slow
def test_mnist_100_images_in_verilator(tmp_path):
    from spikeforge.model.datasets import load_dataset

    try:
        ds = load_dataset("mnist")
    except Exception as error:  # no MNIST files on this machine
        pytest.skip(str(error))
    trained = flow.train_mnist_network(hidden=64, epochs=1, qat_epochs=1, max_train=20000,
                                       progress=False)
    assert trained.sizes == [784, 64, 10] and trained.golden_accuracy > 0.85
    counts = flow.encode_inputs(ds.test_x[:100], ds.max_value, trained.ticks)
    result = flow.compile_network(trained.network, tmp_path, counts, ds.test_y[:100],
                                  neurons_per_core=32)
    report = flow.verify_artifact(result.out_dir, simulator="verilator", chunk=50)
    assert report.ok, report.mismatch
    assert report.images == report.bit_exact_images == 100
    assert report.rtl_accuracy == report.golden_accuracy
