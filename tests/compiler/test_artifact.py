"""The compiled artifact: exact round trip, and every malformed manifest rejected by name."""

import hashlib
import json
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spikeforge.compiler.artifact import FORMAT, FORMAT_VERSION, load_artifact, save_artifact
from spikeforge.compiler.map import network_from_plan, plan_network
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.ir.params import Decision, NeuronParams, Reset
from spikeforge.sim.network import run_network


def example_network():
    rng = np.random.default_rng(7)
    p0 = NeuronParams(weight_bits=6, decay_bits=8, alpha=200, beta=230, threshold=20,
                      reset=Reset.ZERO, adaptive=True, rho=240, adapt_step=3)
    p1 = NeuronParams(weight_bits=6, current_bits=20, membrane_bits=20, decay_bits=8,
                      threshold=15, fire_once=True)
    return IntegerNetwork((IntegerLayer(rng.integers(-32, 32, (9, 7)), p0),
                           IntegerLayer(rng.integers(-32, 32, (7, 4)), p1)), Decision.FIRST_SPIKE)


@pytest.fixture
def artifact(tmp_path):
    net = example_network()
    plan = plan_network(net, neurons_per_core=[3, 4])  # layer 0: cores of 3, 2, 2
    save_artifact(net, plan, tmp_path / "art")
    return tmp_path / "art", net, plan


def test_round_trip_is_exact(artifact):
    path, net, plan = artifact
    loaded = load_artifact(path)
    loaded_net, loaded_plan = loaded.network, loaded.plan
    assert loaded_net == net and loaded_plan == plan
    counts = (np.random.default_rng(0).random((4, 10, 9)) < 0.4).astype(np.int64)
    a, b = run_network(net, counts), run_network(loaded_net, counts)
    assert all(np.array_equal(x, y) for x, y in zip(a.spikes, b.spikes))
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["format"] == FORMAT and manifest["format_version"] == FORMAT_VERSION
    core = manifest["plan"]["cores"][1]
    assert core["weights"]["dtype"] == "int8" and core["weights"]["shape"] == [9, 2]
    image = np.load(path / core["weights"]["npy"]["file"])
    assert np.array_equal(image, plan.cores[1].config.weights)
    hex_lines = (path / core["weights"]["hex"]["file"]).read_text().split()
    j, n = 4, 1  # address j * N + n, two's complement in 6 bits, 2 hex digits
    assert hex_lines[j * 2 + n] == f"{int(image[j, n]) & 0x3f:02x}"


def test_save_refuses_a_plan_of_another_network(tmp_path):
    net = example_network()
    other = IntegerNetwork((net.layers[0], IntegerLayer(np.zeros((7, 4), int), net.layers[1].params)))
    with pytest.raises(ConfigError, match="plan: its cores do not implement this network"):
        save_artifact(net, plan_network(other), tmp_path)


def rewrite_file(path, name, data: bytes, manifest, fix_hash_of=None):
    (path / name).write_bytes(data)
    if fix_hash_of is not None:
        fix_hash_of["sha256"] = hashlib.sha256(data).hexdigest()


def _npy_bytes(array):
    import io
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def set_path(document, dotted, value):
    keys = re.findall(r"[^.\[\]]+", dotted)
    for key in keys[:-1]:
        document = document[int(key)] if isinstance(document, list) else document[key]
    last = int(keys[-1]) if isinstance(document, list) else keys[-1]
    if value is DELETE:
        del document[last]
    elif isinstance(document, list):
        document[last] = value
    else:
        document[last] = value


DELETE = object()


def core_image(manifest, core, kind):
    return manifest["plan"]["cores"][core]["weights"][kind]


def out_of_range_weight(path, m):
    image = core_image(m, 0, "npy")
    weights = np.load(path / image["file"])
    weights[2, 1] = 100  # int8 holds it, a 6-bit weight does not
    rewrite_file(path, image["file"], _npy_bytes(weights), m, image)


def hex_disagrees(path, m):
    image = core_image(m, 2, "hex")
    lines = (path / image["file"]).read_text().split()
    lines[3] = "01" if lines[3] != "01" else "02"
    rewrite_file(path, image["file"], ("\n".join(lines) + "\n").encode(), m, image)


def hex_word_too_wide(path, m):
    image = core_image(m, 2, "hex")
    lines = (path / image["file"]).read_text().split()
    lines[0] = "7f"  # 7 bits: does not fit weight_bits = 6
    rewrite_file(path, image["file"], ("\n".join(lines) + "\n").encode(), m, image)
    del m["plan"]["cores"][2]["weights"]["npy"]


def wrong_dtype_file(path, m):
    image = core_image(m, 0, "npy")
    weights = np.load(path / image["file"]).astype(np.int32)
    rewrite_file(path, image["file"], _npy_bytes(weights), m, image)


def truncated_npy(path, m):
    image = core_image(m, 0, "npy")
    rewrite_file(path, image["file"], b"\x93NUMPY garbage", m, image)


def core_shrunk_to_one_neuron(path, m):
    """A self-consistent core that simply leaves the layer's last neuron uncomputed."""
    core = m["plan"]["cores"][2]
    image = core["weights"]["npy"]
    weights = np.load(path / image["file"])[:, :1]
    rewrite_file(path, image["file"], _npy_bytes(weights), m, image)
    del core["weights"]["hex"]
    core["weights"]["shape"] = [9, 1]
    core["n_neurons"] = 1
    core["memory_bits"] = 9 * 6 + 1 * (core["accumulator_bits"] + 16 + 8 + 1)


MALFORMED = [
    # (what, edit of the manifest dict (or of a file), text the error message must contain)
    ("missing field", ("network.layers[1].params.threshold", DELETE),
     "manifest.json: network.layers[1].params.threshold: missing"),
    ("wrong type", ("network.layers[1].params.threshold", "15"),
     "network.layers[1].params.threshold: must be an integer, got a string"),
    ("bool is not an int", ("network.n_inputs", True), "network.n_inputs: must be an integer"),
    ("parameter out of range", ("network.layers[0].params.threshold", 0),
     "network.layers[0].params.threshold: must be in 1.."),
    ("bad reset", ("network.layers[0].params.reset", "soft"), "network.layers[0].params.reset: must be one of"),
    ("unknown version", ("format_version", 3), "format_version: unknown format_version 3"),
    ("older version", ("format_version", 1), "format_version: 1 is an older format"),
    ("wrong format name", ("format", "onnx"), "manifest.json: format: must be 'spikeforge-artifact'"),
    ("bad decision", ("system.decision", "vote"), "system.decision: must be one of"),
    ("bad system setting", ("system.guard", 0), "system.guard: must be an integer in 1.."),
    ("missing system setting", ("system.fifo_depth", DELETE), "system.fifo_depth: missing"),
    ("unknown field", ("network.layers[0].params.leak", 3),
     "network.layers[0].params.leak: unknown field"),
    ("no layers", ("network.layers", []), "network.layers: a network needs at least one layer"),
    ("shape mismatch between layers", ("network.layers[1].n_inputs", 8),
     "network.layers[1].n_inputs: is 8 but network.layers[0].n_neurons is 7"),
    ("input size mismatch", ("network.n_inputs", 10), "network.layers[0].n_inputs: is 9 but network.n_inputs is 10"),
    ("accumulator width", ("network.layers[0].accumulator_bits", 99), "network.layers[0].accumulator_bits: is 99"),
    ("sha256 mismatch", ("plan.cores[0].weights.npy.sha256", "0" * 64),
     "plan.cores[0].weights.npy.sha256: core0_weights.npy has sha256"),
    ("missing image file", ("plan.cores[1].weights.hex.file", "nowhere.hex"),
     "plan.cores[1].weights.hex.file: weight image file 'nowhere.hex' is missing"),
    ("path outside the artifact", ("plan.cores[1].weights.npy.file", "../x.npy"),
     "plan.cores[1].weights.npy.file: must be a plain file name"),
    ("no image at all", ("plan.cores[1].weights", {"shape": [9, 2], "dtype": "int8", "order": "j*N+n"}),
     "plan.cores[1].weights: needs an 'npy' or a 'hex' image"),
    ("image shape", ("plan.cores[1].weights.shape", [2, 9]), "plan.cores[1].weights.shape: must be [n_inputs, n_neurons] = [9, 2]"),
    ("image dtype", ("plan.cores[1].weights.dtype", "int16"), "plan.cores[1].weights.dtype: must be 'int8'"),
    ("image order", ("plan.cores[1].weights.order", "n*M+j"), "plan.cores[1].weights.order: must be 'j*N+n'"),
    ("out-of-range weight in an image", out_of_range_weight,
     "plan.cores[0].weights.npy.file: core0_weights.npy[2, 1] = 100 is outside the signed 6-bit range"),
    ("hex and npy disagree", hex_disagrees, "plan.cores[2].weights.hex.file: core2_weights.hex disagrees"),
    ("hex word too wide", hex_word_too_wide, "plan.cores[2].weights.hex.file: core2_weights.hex: line 1: '7f' does not fit 6 bits"),
    ("npy of the wrong dtype", wrong_dtype_file, "plan.cores[0].weights.npy.file: core0_weights.npy holds dtype int32"),
    ("unreadable npy", truncated_npy, "plan.cores[0].weights.npy.file: core0_weights.npy is not a readable .npy"),
    ("core in a non-existent layer", ("plan.cores[3].layer", 2), "plan.cores[3].layer: must be in 0..1, got 2"),
    ("core_id out of order", ("plan.cores[2].core_id", 5), "plan.cores[2].core_id: must equal the core's position 2"),
    ("core input count", ("plan.cores[3].n_inputs", 9), "plan.cores[3].n_inputs: is 9 but network.layers[1].n_inputs is 7"),
    ("overlapping cores", ("plan.cores[1].neuron_offset", 2), "plan.cores[1].neuron_offset: must be 3"),
    ("uncovered neurons", core_shrunk_to_one_neuron,
     "plan.cores[2].n_neurons: the cores of layer 0 cover 6 neurons, the layer has 7"),
    ("layer without cores", ("plan.cores[3]", DELETE), "plan.cores: no core computes network.layers[1]"),
    ("memory bits", ("plan.cores[0].memory_bits", 1), "plan.cores[0].memory_bits: is 1 but the core needs"),
    ("routing to a non-existent core", ("plan.routes[0].destination_cores", [0, 1, 5]),
     "plan.routes[0].destination_cores[2]: routes to non-existent core 5 (layer 0 has 3 core(s))"),
    ("routing to a non-existent layer", ("plan.routes[1].destination_layer", 7),
     "plan.routes[1].destination_layer: layer 7 does not exist"),
    ("route from a non-existent core", ("plan.routes[1].source_core", 3),
     "plan.routes[1].source_core: core 3 does not exist (layer 0 has 3 core(s))"),
    ("incomplete multicast", ("plan.routes[0].destination_cores", [0, 2]),
     "plan.routes[0].destination_cores: is [0, 2], the plan needs [0, 1, 2]"),
    ("duplicate route", ("plan.routes[2].source_core", 0), "plan.routes[2]: a second route for source (0, 0)"),
    ("wrong route offset", ("plan.routes[3].source_offset", 0), "plan.routes[3].source_offset: is 0, the plan needs 5"),
    ("missing route", ("plan.routes[4]", DELETE), "plan.routes: no route for source (layer, core) = (1, 0)"),
    ("missing plan", ("plan", DELETE), "manifest.json: plan: missing"),
    ("routes not a list", ("plan.routes", {}), "plan.routes: must be a list, got an object"),
]


@pytest.mark.parametrize("what, edit, message", MALFORMED, ids=[case[0] for case in MALFORMED])
def test_malformed_artifacts_are_rejected_naming_the_field(artifact, what, edit, message):
    path, _, _ = artifact
    manifest = json.loads((path / "manifest.json").read_text())
    if callable(edit):
        edit(path, manifest)
    else:
        set_path(manifest, *edit)
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ConfigError) as error:
        load_artifact(path)
    assert message in str(error.value)


def test_missing_or_unparsable_manifest_is_named(tmp_path):
    with pytest.raises(ConfigError, match="manifest.json: missing"):
        load_artifact(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ConfigError, match="manifest.json: not valid JSON"):
        load_artifact(tmp_path)
    (tmp_path / "manifest.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="manifest.json: : must be an object, got a list"):
        load_artifact(tmp_path)


def _leaf_paths(document, prefix=""):
    if isinstance(document, dict):
        for key, value in document.items():
            yield from _leaf_paths(value, f"{prefix}.{key}" if prefix else key)
    elif isinstance(document, list):
        for k, value in enumerate(document):
            yield from _leaf_paths(value, f"{prefix}[{k}]")
    if prefix:
        yield prefix


json_values = st.recursive(st.none() | st.booleans() | st.integers(-5, 300) | st.text(max_size=4)
                           | st.floats(allow_nan=False),
                           lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=3), inner, max_size=3), max_leaves=5)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_any_single_edit_is_a_config_error_or_a_consistent_artifact_never_a_crash(artifact, data):
    path, net, plan = artifact
    original = (path / "manifest.json").read_text()
    manifest = json.loads(original)
    target = data.draw(st.sampled_from(sorted(_leaf_paths(manifest))))
    value = data.draw(st.just(DELETE) | json_values)
    try:
        set_path(manifest, target, value)
    except (KeyError, IndexError):
        return
    (path / "manifest.json").write_text(json.dumps(manifest))
    try:
        loaded = load_artifact(path)
    except ConfigError as error:
        assert "manifest.json" in str(error)
    else:  # a valid edit (another threshold, adaptive on, ...) gives a consistent artifact
        assert network_from_plan(loaded.plan, loaded.network.decision) == loaded.network
        if target == "generator":
            assert loaded.network == net and loaded.plan == plan
    finally:
        (path / "manifest.json").write_text(original)
