"""compiler/inputs.py: silent inputs dropped exactly, the map kept in the artifact."""

import json

import numpy as np
import pytest

from spikeforge.compiler.artifact import load_artifact, save_artifact
from spikeforge.compiler.inputs import InputMap, compact_inputs, silent_inputs
from spikeforge.compiler.map import plan_network
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.sim.network import run_network
from tests.util import random_inputs, random_network


def with_silent_rows(seed: int, rows) -> IntegerNetwork:
    network = random_network(seed, max_size=12)
    first = network.layers[0]
    weights = first.weights.copy()
    weights[[r % first.n_inputs for r in rows]] = 0
    layer = IntegerLayer(weights, first.params, first.max_events_per_tick)
    return IntegerNetwork((layer, *network.layers[1:]), network.decision)


@pytest.mark.parametrize("seed", range(8))
def test_the_compacted_network_computes_what_the_original_does(seed):
    """Every layer's spikes, the output membranes and the decision are equal on the same
    images, events on the silent inputs included (they add zeros)."""
    network = with_silent_rows(seed, [0, 2, 5])
    compact, mapping = compact_inputs(network)
    silent = silent_inputs(network)
    assert compact.n_inputs == network.n_inputs - silent.sum() == mapping.n_inputs
    assert mapping.kept.tolist() == np.flatnonzero(~silent).tolist()
    counts = random_inputs(seed, network, 4, 6, p=0.5)
    assert counts[..., silent].sum() > 0  # the silent inputs do see events
    full, small = run_network(network, counts), run_network(compact, mapping.apply(counts))
    for a, b in zip(full.spikes, small.spikes):
        assert np.array_equal(a, b)
    assert np.array_equal(full.output_v, small.output_v)
    assert np.array_equal(full.decision, small.decision)
    assert compact.layers[0].max_events_per_tick == network.layers[0].max_events_per_tick
    assert compact.layers[1:] == network.layers[1:]


def test_a_row_that_is_not_silent_changes_the_result():
    """The test above can fail: dropping a row with a weight in it is seen."""
    network = with_silent_rows(3, [0])
    row = int(np.flatnonzero(network.layers[0].weights.any(axis=1))[0])
    wrong = InputMap(network.n_inputs, np.delete(np.arange(network.n_inputs), [0, row]))
    first = network.layers[0]
    cut = IntegerNetwork((IntegerLayer(first.weights[wrong.kept], first.params),
                          *network.layers[1:]), network.decision)
    counts = np.zeros((1, 6, network.n_inputs), dtype=np.int64)
    counts[0, :, row] = 1
    full, small = run_network(network, counts), run_network(cut, wrong.apply(counts))
    assert any(not np.array_equal(a, b) for a, b in zip(full.spikes, small.spikes)) or \
        not np.array_equal(full.output_v, small.output_v)


def test_no_silent_row_gives_the_network_itself():
    network = with_silent_rows(1, [])
    compact, mapping = compact_inputs(network)
    assert compact is network and mapping.identity
    counts = random_inputs(1, network, 1, 2)
    assert mapping.apply(counts) is counts


def test_refusals_name_the_input():
    network = with_silent_rows(2, range(100))  # every row silent
    with pytest.raises(ConfigError, match="every weight of the first layer is 0"):
        compact_inputs(network)
    with pytest.raises(ConfigError, match="kept: must be strictly ascending"):
        InputMap(5, np.array([3, 1]))
    with pytest.raises(ConfigError, match="kept: must be strictly ascending"):
        InputMap(5, np.array([0, 5]))
    with pytest.raises(ConfigError, match="n_sensor"):
        InputMap(0, np.array([0]))
    with pytest.raises(ConfigError, match=r"expected 5 sensor inputs .* \[2, 4\]"):
        InputMap(5, np.array([0, 1])).apply(np.zeros((2, 4)))


def test_the_artifact_keeps_the_map(tmp_path):
    network = with_silent_rows(4, [1, 3])
    compact, mapping = compact_inputs(network)
    plan = plan_network(compact)
    save_artifact(compact, plan, tmp_path, inputs=mapping)
    artifact = load_artifact(tmp_path)
    assert artifact.network == compact
    assert artifact.inputs.n_sensor == network.n_inputs
    assert artifact.inputs.kept.tolist() == mapping.kept.tolist()
    counts = random_inputs(4, network, 2, 3)
    assert np.array_equal(artifact.sensor_input(counts), counts[..., mapping.kept])
    # an identity map is not written; an artifact without the section maps nothing
    save_artifact(network, plan_network(network), tmp_path / "plain",
                  inputs=InputMap(network.n_inputs, np.arange(network.n_inputs)))
    assert "inputs" not in json.loads((tmp_path / "plain" / "manifest.json").read_text())
    assert load_artifact(tmp_path / "plain").inputs is None
    with pytest.raises(ConfigError, match="inputs: must be an InputMap onto the network's"):
        save_artifact(compact, plan, tmp_path / "bad", inputs=InputMap(99, np.arange(3)))


@pytest.mark.parametrize("edit, message", [
    (lambda m: m["inputs"].update(kept=m["inputs"]["kept"][:-1]), "inputs.kept: must list"),
    (lambda m: m["inputs"].update(kept=m["inputs"]["kept"][::-1]), "inputs: kept: must be strictly"),
    (lambda m: m["inputs"].update(n_sensor=2), "inputs.n_sensor: must be in"),
    (lambda m: m["inputs"].update(extra=1), "inputs.extra: unknown field"),
])
def test_a_bad_inputs_section_is_refused_by_name(tmp_path, edit, message):
    network = with_silent_rows(5, [0, 1])
    compact, mapping = compact_inputs(network)
    save_artifact(compact, plan_network(compact), tmp_path, inputs=mapping)
    path = tmp_path / "manifest.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))
    with pytest.raises(ConfigError, match=message):
        load_artifact(tmp_path)


def test_compile_drops_silent_inputs_and_the_design_verifies(tmp_path):
    """compile_network writes the compacted network, its map and expected traces of the
    mapped images; the shipped design co-simulates bit-exactly (Icarus), and the golden
    classes are the original network's on the sensor images. ``drop_silent=False`` keeps
    every row."""
    from spikeforge import flow

    network = with_silent_rows(6, [0, 1])
    silent = int(silent_inputs(network).sum())
    counts = random_inputs(6, network, 2, 5, p=0.3)
    labels = np.zeros(2, dtype=np.int64)
    result = flow.compile_network(network, tmp_path / "c", counts, labels)
    artifact = load_artifact(result.out_dir)
    assert result.inputs is not None and artifact.inputs.kept.tolist() == \
        result.inputs.kept.tolist()
    assert artifact.network.n_inputs == network.n_inputs - silent
    expected = flow.load_expected(result.expected)
    assert np.array_equal(expected["input_counts"], counts[..., artifact.inputs.kept])
    assert np.array_equal(expected["decision"], run_network(network, counts).decision)
    assert json.loads((result.out_dir / "flow.json").read_text())["silent_inputs_dropped"] == silent
    report = flow.verify_artifact(result.out_dir, simulator="icarus")
    assert report.ok and report.bit_exact_images == 2
    kept = flow.compile_network(network, tmp_path / "k", counts, labels, drop_silent=False)
    assert kept.inputs is None and load_artifact(kept.out_dir).network == network
