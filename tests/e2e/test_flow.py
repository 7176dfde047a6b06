"""The end-to-end flow: train -> compile -> co-simulate the whole system, bit-exact."""

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spikeforge import flow
from spikeforge.boards.choose import DOUBLE_BUFFER_GAIN, double_buffered_line
from spikeforge.boards.fit import estimate
from spikeforge.compiler.artifact import load_artifact, save_artifact
from spikeforge.compiler.map import plan_network
from spikeforge.hdl.verilog import system_verilog
from spikeforge.ir.errors import SpikeforgeError
from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.ir.params import Decision
from spikeforge.sim.network import classify, run_network
from tests.cosim.test_fast import flip_weight_bit
from tests.util import mnist_dir, needs_mnist, random_inputs, random_network, run_cli

REPO = Path(__file__).resolve().parents[2]


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


@pytest.mark.parametrize("simulator,engine", [
    ("icarus", None), ("verilator", None),
    pytest.param("verilator", "cocotb", marks=pytest.mark.slow)])
def test_verify_co_simulates_bit_exactly(tiny, simulator, engine):
    _, result, counts, labels = tiny
    report = flow.verify_artifact(result.out_dir, images=3, simulator=simulator, engine=engine)
    assert report.ok, report.mismatch
    assert report.engine == ("fast" if (simulator, engine) == ("verilator", None) else "cocotb")
    assert report.images == report.bit_exact_images == 3
    assert report.rtl_accuracy == report.golden_accuracy
    assert report.cycles_per_inference >= report.lower_bound_cycles > 0


def test_verify_all_images_sharded_with_progress_and_summary(tiny):
    """``verify --images all --jobs 2``: the fast harness over two processes, progress on
    stderr (images, mismatched, images/s, ETA), the table and a closing line on stdout."""
    _, result, counts, labels = tiny
    run = run_cli("verify", result.out_dir, "--images", "all", "--jobs", 2, "--chunk", 15)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"fast, 2 jobs\): 40/40 images, 0 mismatched, [\d.]+ images/s, ETA 0 s",
                     run.stderr), run.stderr
    assert "BIT-EXACT" in run.stdout
    golden = float((classify(load_artifact(result.out_dir).network, counts) == labels).mean())
    assert (f"verilator (fast): 40 images: golden accuracy {golden:.2%}, RTL accuracy "
            f"{golden:.2%}, 40/40 bit-exact; per image (CPU): ") in run.stdout, run.stdout
    assert "cycle model" in run.stdout and "2 job(s)" in run.stdout


def test_verify_fast_engine_reports_an_edited_weight_by_layer_tick_neuron(tiny):
    """The fast engine on a Verilog text with one weight bit flipped (verify_network, which
    simulates what it is given) is not bit-exact and names image, layer, tick, neuron."""
    _, result, counts, labels = tiny
    artifact = load_artifact(result.out_dir)
    text = flip_weight_bit(result.verilog.read_text(), artifact.network, artifact.plan,
                           counts[:10])
    report = flow.verify_network(artifact.network, artifact.plan, counts[:10], labels[:10],
                                 "verilator", chunk=5, system=artifact.system,
                                 verilog_text=text, jobs=1)
    assert not report.ok and report.bit_exact_images < 10
    assert re.search(r"image \d+: (spike|monitor) \(layer \d\) at tick \d+, neuron \d+",
                     report.mismatch), report.mismatch


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
                     "--images", 20, "--lanes", "2,3", "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    compiled = json.loads(run.stdout)  # --json: stdout is the JSON alone, progress on stderr
    assert compiled["n_cores"] == 4 and compiled["images"] == 20 and compiled["lanes"] == [2, 3]
    # the settings chosen, as the artifact holds them
    assert compiled["system"] == load_artifact(tmp_path / "out").system.to_dict()
    assert compiled["system"]["overlap"] and not compiled["system"]["double_buffer"]
    assert "compiling" in run.stderr
    # a spike-count network gets overlapped input unless --no-overlap (below), said
    assert "tick controller: overlapped input" in run.stderr
    assert load_artifact(tmp_path / "out").system.overlap
    plan = load_artifact(tmp_path / "out").plan
    assert len(plan.cores) == 2 + 2
    assert [core.config.lanes for core in plan.cores] == [2, 2, 3, 3]
    assert (tmp_path / "out" / flow.VERILOG).is_file()
    assert flow.load_expected(tmp_path / "out" / flow.EXPECTED)["labels"].shape == (20,)
    # the lanes built are the lanes shipped: the compiled design co-simulates bit-exactly
    run = run_cli("verify", tmp_path / "out", "--images", 2, "--simulator", "icarus", "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    (report,) = json.loads(run.stdout)
    assert report["ok"] and report["bit_exact_images"] == report["images"] == 2, report
    # --tile-stage: the hidden core of lane groups (8 neurons in 5 lanes) with its groups a
    # cycle behind its control, said; verified as shipped
    run = run_cli("compile", model, "--out", tmp_path / "tile", "--images", 4,
                  "--lanes", "5,1", "--tile-stage")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "tile stage: 1 core with its lane groups a cycle behind the control" in run.stdout
    assert load_artifact(tmp_path / "tile").system.tile_stage
    assert "s_waddr_t" in (tmp_path / "tile" / flow.VERILOG).read_text()
    run = run_cli("verify", tmp_path / "tile", "--images", 2, "--simulator", "icarus", "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    (report,) = json.loads(run.stdout)
    assert report["ok"] and report["bit_exact_images"] == report["images"] == 2, report
    # --board: the fastest lanes that fit, said with why; lanes given that do not fit: refused
    run = run_cli("compile", model, "--out", tmp_path / "board", "--images", 20,
                  "--board", "icebreaker", "--json", "--no-overlap")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "tick controller: tick barrier (--no-overlap)" in run.stderr
    chosen = json.loads(run.stdout)["lanes"]
    assert "lanes for icebreaker" in run.stderr and f"lanes {chosen}:" in run.stderr
    board_artifact = load_artifact(tmp_path / "board")
    assert not board_artifact.system.overlap
    assert estimate(board_artifact.plan, "icebreaker").fits
    # weight memories banked for the board's block RAMs when the banks fit, said
    banks = board_artifact.system.weight_banks
    assert banks in ("", "ice40") and ("weight memories in banks" in run.stderr) == (banks != "")
    # state memories in block RAM on the iCE40 when they fit, said, and the fit counts them
    state = board_artifact.system.state_memories
    assert state in ("", "block") and ("state memories in block RAM" in run.stderr) == (
        state == "block")
    assert estimate(board_artifact.plan, "icebreaker", weight_banks=banks,
                    state_memories=state).fits
    assert not board_artifact.system.input_copies
    assert "the input index in one register (ice40" in run.stderr
    # the event sums registered where a core has the three words it needs, said; verified
    # as shipped
    sums = max(core.config.words for core in board_artifact.plan.cores) >= 3
    assert board_artifact.system.sum_stage == sums
    assert ("the event sums registered before their write-back (ice40" in run.stderr) == sums
    assert ("s_sum" in (tmp_path / "board" / flow.VERILOG).read_text()) == sums
    run = run_cli("verify", tmp_path / "board", "--images", 2, "--simulator", "icarus", "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    (report,) = json.loads(run.stdout)
    assert report["ok"] and report["bit_exact_images"] == report["images"] == 2, report
    # an ECP5 board: the input index in a register per layer-0 core, said; verified as shipped
    run = run_cli("compile", model, "--out", tmp_path / "ecp5", "--images", 4,
                  "--board", "ulx3s-85f", "--lanes", 1, "--neurons-per-core", 3)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "the input index in a register per layer-0 core" in run.stdout
    artifact = load_artifact(tmp_path / "ecp5")
    assert artifact.system.input_copies and sum(c.layer == 0 for c in artifact.plan.cores) > 1
    assert "inp_copies__1" in (tmp_path / "ecp5" / flow.VERILOG).read_text()
    run = run_cli("verify", tmp_path / "ecp5", "--images", 2, "--simulator", "icarus", "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    (report,) = json.loads(run.stdout)
    assert report["ok"] and report["bit_exact_images"] == report["images"] == 2, report
    run = run_cli("compile", model, "--out", tmp_path / "big", "--board", "icebreaker",
                  "--lanes", 64)
    assert run.returncode == 2 and not (tmp_path / "big").exists()
    assert run.stderr.strip().startswith("spikeforge compile: error: --lanes 64: does not fit "
                                         "icebreaker")


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


# -- the holes of issue 12, point 0: verify checks every layer and simulates the shipped file --

def small_network():
    """A random 2-layer network (spike-count decision) whose hidden neuron 0 has no outgoing
    weight: its spikes can change without changing any output spike."""
    network = random_network(52, n_layers=2, max_size=10, decision=Decision.SPIKE_COUNT)
    hidden, out = network.layers
    w2 = out.weights.copy()
    w2[0, :] = 0
    return IntegerNetwork((hidden, IntegerLayer(w2, out.params)), network.decision)


NEURONS_PER_CORE = [3, 4]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A compiled directory of :func:`small_network` (no training): 4 images of 8 ticks."""
    network = small_network()
    counts = random_inputs(52, network, images=4, ticks=8, p=0.4)
    labels = np.arange(4) % 10
    out = tmp_path_factory.mktemp("small") / "compiled"
    flow.compile_network(network, out, counts, labels, neurons_per_core=NEURONS_PER_CORE)
    return network, out, counts, labels


def copy_of(small, tmp_path):
    network, out, counts, labels = small
    copy = tmp_path / "compiled"
    shutil.copytree(out, copy)
    return copy


def test_expected_traces_store_every_layer(small):
    network, out, counts, _ = small
    expected = flow.load_expected(out / flow.EXPECTED)
    trace = run_network(network, counts)
    assert len(expected["layer_spikes"]) == 2
    for stored, golden in zip(expected["layer_spikes"], trace.spikes):
        np.testing.assert_array_equal(stored, golden)
    assert expected["layer_spikes"][0].any()
    np.testing.assert_array_equal(expected["decision_tick"], trace.decision_tick)


def test_verify_simulates_the_shipped_verilog_and_reports_its_hash(small, monkeypatch):
    """``verify_artifact`` hands the text of the shipped file to the co-simulation (spied on
    here) and reports the sha256 that ``flow.json`` records; a real Icarus run is BIT-EXACT."""
    _, out, _, _ = small
    shipped = (out / flow.VERILOG).read_bytes()
    sha = hashlib.sha256(shipped).hexdigest()
    assert json.loads((out / flow.FLOW_JSON).read_text())["verilog"] == \
        {"file": flow.VERILOG, "sha256": sha}
    seen = []
    real = flow.run_system_cosim

    def spy(*args, **kwargs):
        seen.append(kwargs.get("verilog_text"))
        return real(*args, **kwargs)

    monkeypatch.setattr(flow, "run_system_cosim", spy)
    report = flow.verify_artifact(out, images=2, simulator="icarus")
    assert report.ok, report.mismatch
    assert seen == [shipped.decode()] and report.verilog_sha256 == sha


def test_verify_refuses_an_edited_weight_in_the_shipped_verilog(small, tmp_path):
    """One weight of the shipped .v edited: the old verify regenerated the Verilog from the
    artifact and reported BIT-EXACT; now the file is refused by name and line."""
    copy = copy_of(small, tmp_path)
    path = copy / flow.VERILOG
    lines = path.read_text().split("\n")
    k = next(i for i, line in enumerate(lines) if re.match(r"\s*mem_w\[\d+\] = 8'h[0-9a-f]{2};", line))
    value = int(lines[k].strip()[-3:-1], 16) ^ 0x40
    lines[k] = lines[k][:-3] + f"{value:02x};"
    path.write_text("\n".join(lines))
    with pytest.raises(SpikeforgeError) as info:
        flow.verify_artifact(copy, images=2, simulator="icarus")
    message = str(info.value)
    assert str(path) in message and f"line {k + 1}" in message and "compile again" in message


def test_verify_refuses_a_verilog_whose_hash_flow_json_does_not_record(small, tmp_path):
    copy = copy_of(small, tmp_path)
    meta = json.loads((copy / flow.FLOW_JSON).read_text())
    meta["verilog"]["sha256"] = "0" * 64
    (copy / flow.FLOW_JSON).write_text(json.dumps(meta))
    with pytest.raises(SpikeforgeError, match=r"flow\.json: records sha256 0{64} for spikeforge_system\.v"):
        flow.verify_artifact(copy, images=1, simulator="icarus")


def test_verify_refuses_an_artifact_whose_hidden_spikes_changed(small, tmp_path):
    """A consistently re-hashed artifact (memory images, manifest, shipped Verilog and its
    hash all rewritten) whose hidden neuron 0 spikes differently. Classes and output spikes
    stay as stored -- all the old check compared -- and a co-simulation of the tampered
    design against its own models is BIT-EXACT, so the old verify passed it; now the first
    hidden spike that differs is named."""
    network, _, counts, labels = small
    copy = copy_of(small, tmp_path)
    hidden, out = network.layers
    trace = run_network(network, counts)
    w1 = hidden.weights.copy()
    w1[:, 0] = 0 if trace.spikes[0][..., 0].any() else 127
    tampered = IntegerNetwork((IntegerLayer(w1, hidden.params), out), network.decision)
    bad = run_network(tampered, counts)
    assert np.array_equal(bad.decision, trace.decision)  # what the old check compared ...
    assert np.array_equal(bad.spikes[-1], trace.spikes[-1])
    assert not np.array_equal(bad.spikes[0], trace.spikes[0])  # ... and what it missed
    artifact = load_artifact(copy)
    plan = plan_network(tampered, neurons_per_core=NEURONS_PER_CORE)
    save_artifact(tampered, plan, copy, artifact.system)
    text = system_verilog(plan, artifact.system)
    (copy / flow.VERILOG).write_text(text)
    meta = json.loads((copy / flow.FLOW_JSON).read_text())
    meta["verilog"]["sha256"] = hashlib.sha256(text.encode()).hexdigest()
    (copy / flow.FLOW_JSON).write_text(json.dumps(meta))
    old_verify = flow.verify_network(tampered, plan, counts, labels, "icarus",
                                     system=artifact.system)
    assert old_verify.ok, old_verify.mismatch
    image, tick = (int(x) for x in np.argwhere(bad.spikes[0][..., 0] != trace.spikes[0][..., 0])[0])
    with pytest.raises(SpikeforgeError) as info:
        flow.verify_artifact(copy, simulator="icarus")
    message = str(info.value)
    assert str(copy / flow.EXPECTED) in message
    assert f"layer 0 (hidden), image {image}, tick {tick}, neuron 0" in message, message


def test_verify_refuses_expected_traces_without_hidden_spikes(small, tmp_path):
    copy = copy_of(small, tmp_path)
    with np.load(copy / flow.EXPECTED) as data:
        old = {k: data[k] for k in data.files
               if k != "hidden_sizes" and not k.startswith("hidden_bits_")}
    np.savez_compressed(copy / flow.EXPECTED, **old)
    with pytest.raises(SpikeforgeError, match="holds no hidden-layer spikes .* compile` again"):
        flow.verify_artifact(copy, images=1, simulator="icarus")


@pytest.mark.slow
@needs_mnist
def test_mnist_1000_images_fast_engine_sharded(tmp_path):
    """The fast engine on 1,000 MNIST test images of a 784-64-10 design, two processes:
    every image bit-exact (every spike of every layer with its cycle, class, tick, done,
    cycles port) and RTL accuracy = golden accuracy."""
    from spikeforge.model.datasets import load_dataset

    ds = load_dataset("mnist")
    trained = flow.train_mnist_network(hidden=64, epochs=1, qat_epochs=1, max_train=20000,
                                       progress=False, threads=1)
    counts = flow.encode_inputs(ds.test_x[:1000], ds.max_value, trained.ticks)
    result = flow.compile_network(trained.network, tmp_path / "mnist", counts, ds.test_y[:1000])
    report = flow.verify_artifact(result.out_dir, jobs=2, chunk=50)
    assert report.engine == "fast" and report.ok, report.mismatch
    assert report.images == report.bit_exact_images == 1000
    assert report.rtl_accuracy == report.golden_accuracy > 0.8
    assert set(report.seconds) == {"golden", "cycle model", "verilator", "compare"}


@pytest.mark.slow
@needs_mnist
def test_ttfs_784_600_10_board_design_1000_images(tmp_path):
    """Issue 11 point 5 in short: a 784-600-10 TTFS network (one epoch of the MNIST recipe,
    benchmarks/bench_ttfs_mnist.py, whose silent pixels' weight rows stay 0: the design's
    shape is under test, not its accuracy) compiled for the ULX3S-85F as a user compiles it
    (lanes for the board, weight banks, silent input rows dropped), then 1,000 test images
    in Verilator on two processes: every spike of every layer with its cycle, the class,
    decision tick, cycle count and work counters of every image equal the models'
    (docs/model.md runs all 10,000 of the 97.10 % network with ``spikeforge verify``)."""
    model, out = tmp_path / "ttfs.pt", tmp_path / "compiled"
    train = subprocess.run([sys.executable, "benchmarks/bench_ttfs_mnist.py", "train",
                            "--epochs", "1", "--threads", "1", "--model", str(model)],
                           capture_output=True, text=True, cwd=REPO, timeout=1200)
    assert train.returncode == 0, train.stdout + train.stderr
    run = run_cli("compile", model, "--out", out, "--board", "ulx3s-85f", "--images", 1000,
                  "--path", mnist_dir(), cwd=tmp_path, timeout=1200)
    assert run.returncode == 0, run.stdout + run.stderr
    artifact = load_artifact(out)
    assert artifact.system.weight_banks == "ecp5" and artifact.network.n_inputs < 784
    assert artifact.system.input_copies  # a register of the input index per layer-0 core
    # double-buffered cores where the cycle model says they pay (said either way)
    said = [line.strip() for line in run.stdout.splitlines() if "-buffered" in line]
    assert len(said) == 1 and said[0].startswith(
        double_buffered_line(artifact.system.double_buffer) if artifact.system.double_buffer
        else "cores single-buffered"), said
    assert [layer.n_neurons for layer in artifact.network.layers] == [600, 10]
    report = flow.verify_artifact(out, jobs=2, chunk=100)
    assert report.engine == "fast" and report.ok, report.mismatch
    assert report.images == report.bit_exact_images == 1000
    assert report.rtl_accuracy == report.golden_accuracy


def test_compile_weight_shift_ships_and_verifies(tmp_path):
    """``compile --weight-shift 3`` of a TTFS digits model file: every core keeps the 8-bit
    weights it has without the shift and carries the shift, its threshold that of a scale
    8 times finer; the Verilog it ships co-simulates bit-exactly in Icarus (the cocotb
    bench) and Verilator (the compiled harness); a shift the current cannot hold is refused
    by option."""
    model = tmp_path / "m.pt"
    run = run_cli("train", "--dataset", "digits", "--hidden", 8, "--epochs", 1,
                  "--zero-is-silent", "--max-train", 300, "--threads", 1, "--no-progress",
                  "--out", model)
    assert run.returncode == 0, run.stdout + run.stderr
    for name, flags in (("plain", []), ("shifted", ["--weight-shift", 3])):
        run = run_cli("compile", model, "--out", tmp_path / name, "--images", 6, *flags)
        assert run.returncode == 0, run.stdout + run.stderr
    plain, shifted = (load_artifact(tmp_path / name).plan.cores for name in ("plain", "shifted"))
    for a, b in zip(plain, shifted):
        assert np.array_equal(a.config.weights, b.config.weights)
        assert (a.config.params.weight_shift, b.config.params.weight_shift) == (0, 3)
        assert abs(b.config.params.threshold - 8 * a.config.params.threshold) <= 4
    for simulator in ("icarus", "verilator"):
        run = run_cli("verify", tmp_path / "shifted", "--images", 6, "--simulator", simulator)
        assert run.returncode == 0 and "BIT-EXACT" in run.stdout, run.stdout + run.stderr
    run = run_cli("compile", model, "--out", tmp_path / "x", "--weight-shift", 25)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "--weight-shift: must be an integer in 0..24, got 25" in run.stderr


def test_inputs_with_several_events_per_tick_compile_and_verify(tmp_path):
    """Event counts above 1 (binned event-camera data): stored as counts in
    ``expected.npz`` (bits would keep only 0/1), read back unchanged, and co-simulated
    bit-exactly (the stimulus repeats an input ``count`` times); a count that a byte cannot
    hold is refused by name."""
    network = random_network(7, n_layers=2, max_size=10)
    rng = np.random.default_rng(7)
    counts = rng.integers(0, 4, size=(4, 6, network.n_inputs)) * (rng.random((4, 6, network.n_inputs)) < 0.4)
    assert counts.max() == 3
    result = flow.compile_network(network, tmp_path / "out", counts, [0, 1, 2, 3], drop_silent=False)
    with np.load(result.expected) as stored:
        assert "input_counts" in stored.files and "input_bits" not in stored.files
    expected = flow.load_expected(result.expected)
    np.testing.assert_array_equal(expected["input_counts"], counts)
    np.testing.assert_array_equal(expected["decision"], classify(network, counts, strict=False))
    report = flow.verify_artifact(result.out_dir, images=4, simulator="verilator")
    assert report.ok and report.bit_exact_images == 4, report.mismatch
    with pytest.raises(flow.ConfigError, match=r"input_counts: at most 255 events"):
        flow.save_expected(network, np.full((1, 1, network.n_inputs), 256), [0], tmp_path / "x.npz")


@pytest.fixture(scope="module")
def digits12(tmp_path_factory):
    """A one-epoch LIF digits model of 12 hidden neurons, for the compile options' tests."""
    model = tmp_path_factory.mktemp("digits12") / "model.pt"
    run = run_cli("train", "--dataset", "digits", "--model", "lif", "--hidden", 12,
                  "--epochs", 1, "--ticks", 8, "--max-train", 300, "--no-progress",
                  "--out", model)
    assert run.returncode == 0, run.stdout + run.stderr
    return model


def test_compile_double_buffered(digits12, tmp_path):
    """``compile --double-buffer``: said, in the artifact and its Verilog, the board's fit
    counting the two event buffers of every core and their logic (on the iCEBreaker, in lanes
    [2, 3], where the single-buffered design fits: refused, naming them), and the shipped Verilog
    co-simulated bit-exactly by both back ends (Verilator's compiled harness and Icarus's
    bench), in fewer cycles than the same design single-buffered (``--no-double-buffer``).
    Without either, ``compile --board ulx3s-85f`` chooses by the RTL's own cycles: the
    figures it gives are those the shipped designs took on the same images, and its choice
    the rule's (``choose_double_buffer``): the hidden layer's cores alone, whose buffers pay
    by themselves where the output layer's add nothing; on the iCEBreaker the same, said,
    in the Verilog and co-simulated. ``--double-buffer-layers`` takes the
    layers given, and a layer the network lacks is refused by name."""
    model = digits12
    cycles = {}
    for flag in ("--no-double-buffer", "--double-buffer"):
        double = flag == "--double-buffer"
        out = tmp_path / flag.strip("-")
        run = run_cli("compile", model, "--out", out, "--images", 12, "--board", "ulx3s-85f",
                      "--lanes", 2, flag)
        assert run.returncode == 0, run.stdout + run.stderr
        artifact = load_artifact(out)
        assert artifact.system.double_buffer == double
        assert f"cores {'double' if double else 'single'}-buffered" in run.stdout
        assert ("mem_x1" in (out / flow.VERILOG).read_text()) == double
        fit = estimate(artifact.plan, "ulx3s-85f", double_buffer=artifact.system.double_buffer)
        assert fit.fits and sum(".buffer" in m["memory"] for m in fit.per_memory) == \
            (2 * len(artifact.plan.cores) if double else 0)
        for simulator in ("verilator", "icarus"):
            run = run_cli("verify", out, "--images", 12, "--simulator", simulator, "--json")
            assert run.returncode == 0, run.stdout + run.stderr
            (report,) = json.loads(run.stdout)
            assert report["ok"] and report["bit_exact_images"] == 12, report
            # the cores' own bound, double-buffered too (lower_bound_cycles(double_buffer=))
            assert report["lower_bound_cycles"] <= report["cycles_per_inference"], report
        cycles[double] = report["total_cycles"] / 12
        # lanes [2, 3]: single-buffered in the memory layout the board gives it, not
        # double-buffered ([2, 2] fits both ways there)
        run = run_cli("compile", model, "--out", tmp_path / "ice", "--images", 12, "--board",
                      "icebreaker", "--lanes", "2,3", flag)
        assert run.returncode == (2 if double else 0), run.stdout + run.stderr
        assert ("double-buffered 11 more per accumulator bit" in run.stderr) == double
    assert cycles[True] < cycles[False], cycles
    out = tmp_path / "ecp5_0"
    run = run_cli("compile", model, "--out", out, "--images", 12, "--board", "ulx3s-85f",
                  "--lanes", 2, "--double-buffer-layers", 0)
    assert run.returncode == 0, run.stdout + run.stderr
    run = run_cli("verify", out, "--images", 12, "--simulator", "verilator", "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    (report,) = json.loads(run.stdout)
    assert report["ok"] and report["bit_exact_images"] == 12, report
    cycles[(0,)] = report["total_cycles"] / 12  # not 0, which == False
    # the hidden layer's buffers pay by themselves, the output layer's add nothing to them
    assert 1 - cycles[(0,)] / cycles[False] >= DOUBLE_BUFFER_GAIN, cycles
    assert 1 - cycles[True] / cycles[(0,)] < DOUBLE_BUFFER_GAIN, cycles
    run = run_cli("compile", model, "--out", tmp_path / "chosen", "--images", 12, "--board",
                  "ulx3s-85f", "--lanes", 2)
    assert run.returncode == 0, run.stdout + run.stderr
    for new, old in (((0,), False), (True, (0,))):
        assert f"{cycles[new]:,.1f} against {cycles[old]:,.1f} cycles per inference on 12 " \
            "test images" in run.stdout, run.stdout
    assert load_artifact(tmp_path / "chosen").system.double_buffer == (0,)
    assert (tmp_path / "chosen" / flow.VERILOG).read_bytes() == (out / flow.VERILOG).read_bytes()
    run = run_cli("compile", model, "--out", tmp_path / "ice", "--images", 12, "--board",
                  "icebreaker", "--lanes", 2)
    assert run.returncode == 0, run.stdout + run.stderr
    # on the iCE40 a layer at a time: the hidden layer's buffers save 9 % here, the output
    # layer's would not fit beside them; the shipped Verilog bit-exact and cycle-exact
    assert "the cores of layer 0 double-buffered: each takes" in run.stdout, run.stdout
    assert load_artifact(tmp_path / "ice").system.double_buffer == (0,)
    modules = re.split(r"^module ", (tmp_path / "ice" / flow.VERILOG).read_text(), flags=re.M)
    assert {m.split("(")[0].split(".")[-1].strip() for m in modules if "mem_x1" in m} == \
        {"core_0_0"}
    run = run_cli("verify", tmp_path / "ice", "--images", 12, "--simulator", "verilator",
                  "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    (report,) = json.loads(run.stdout)
    assert report["ok"] and report["bit_exact_images"] == 12, report
    assert report["lower_bound_cycles"] <= report["cycles_per_inference"], report
    run = run_cli("compile", model, "--out", tmp_path / "ecp5_1", "--images", 12, "--board",
                  "ulx3s-85f", "--lanes", 2, "--double-buffer-layers", 1)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "the cores of layer 1 double-buffered: each takes the next tick's events while it " \
        "updates (--double-buffer-layers)" in run.stdout, run.stdout
    assert load_artifact(tmp_path / "ecp5_1").system.double_buffer == (1,)
    run = run_cli("compile", model, "--out", tmp_path / "ice2", "--images", 12,
                  "--double-buffer-layers", "0,2")
    assert run.returncode == 2 and run.stderr.strip().splitlines()[-1].endswith(
        "--double-buffer-layers: layer 2 of a plan of 2 layers (0..1)"), run.stderr


def test_compile_input_copies(digits12, tmp_path):
    """``compile --board --input-copies``: the input event's index in a register per layer-0
    core where ``compile --board`` alone gives them one (two-word cores: the first weight
    address a shift), said, in the artifact and in the Verilog's ports, and the shipped
    Verilog co-simulated bit-exactly in the same cycles as without; with one layer-0 core
    refused by name."""
    model = digits12
    cycles = {}
    for copies in (False, True):
        out = tmp_path / f"copies{int(copies)}"
        run = run_cli("compile", model, "--out", out, "--images", 12, "--board", "ulx3s-85f",
                      "--neurons-per-core", 4, "--lanes", 2,
                      *(["--input-copies"] if copies else []))
        assert run.returncode == 0, run.stdout + run.stderr
        said = ("the input index in a register per layer-0 core (ecp5, 3 layer-0 cores of 2 "
                "words; --input-copies)")
        assert (said in run.stdout) == copies, run.stdout
        assert load_artifact(out).system.input_copies == copies
        assert ("inp_copies" in (out / flow.VERILOG).read_text()) == copies
        run = run_cli("verify", out, "--images", 12, "--simulator", "verilator", "--json")
        assert run.returncode == 0, run.stdout + run.stderr
        (report,) = json.loads(run.stdout)
        assert report["ok"] and report["bit_exact_images"] == 12, report
        cycles[copies] = report["total_cycles"]
    assert cycles[True] == cycles[False], cycles
    run = run_cli("compile", model, "--out", tmp_path / "one", "--images", 12, "--board",
                  "ulx3s-85f", "--lanes", 2, "--input-copies")
    assert run.returncode == 2 and run.stderr.strip().splitlines()[-1].endswith(
        "--input-copies: layer 0 has one core (the copies are one per layer-0 core; "
        "--neurons-per-core splits it)"), run.stderr


def test_compile_fmax_is_the_three_timing_options(digits12, tmp_path):
    """``compile --board ulx3s-85f --fmax`` with the plan given: full banks, lane copies and
    input copies (three layer-0 cores), each said as --fmax's, in the artifact, and the
    Verilog byte for byte that of ``--full-banks --lane-copies --input-copies`` (whose
    co-simulation tests cover it); one layer-0 core gets no copies and no refusal; refused
    by name without --board and on an iCE40 board."""
    plan = ("--images", 4, "--board", "ulx3s-85f", "--neurons-per-core", 4, "--lanes", 2)
    verilog, said = {}, {}
    for name, options in (("fmax", ["--fmax"]),
                          ("three", ["--full-banks", "--lane-copies", "--input-copies"])):
        run = run_cli("compile", digits12, "--out", tmp_path / name, *plan, *options)
        assert run.returncode == 0, run.stdout + run.stderr
        verilog[name], said[name] = (tmp_path / name / flow.VERILOG).read_bytes(), run.stdout
    for line in ("the last one as deep as the others (--fmax)",
                 "3 layer-0 cores of 2 words; --fmax)",
                 "the write-back bypass select a register per lane group (--fmax)"):
        assert line in said["fmax"], said["fmax"]
    system = load_artifact(tmp_path / "fmax").system
    assert system.full_banks and system.lane_copies and system.input_copies
    assert verilog["fmax"] == verilog["three"]
    run = run_cli("compile", digits12, "--out", tmp_path / "one", "--images", 4, "--board",
                  "ulx3s-85f", "--lanes", 2, "--fmax")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "the input index in one register (ecp5, 1 layer-0 core" in run.stdout, run.stdout
    assert not load_artifact(tmp_path / "one").system.input_copies
    for board, error in ((None, "--fmax: needs --board (it plans for the board's block RAMs "
                                "and die)"),
                         ("icebreaker", "--fmax: icebreaker is an ice40 board; --fmax's plan "
                                        "and options were measured on the ECP5 only")):
        run = run_cli("compile", digits12, "--out", tmp_path / "no", "--fmax",
                      *(["--board", board] if board else []))
        assert run.returncode == 2 and run.stderr.strip().splitlines() == [
            f"spikeforge compile: error: {error}"], run.stderr
