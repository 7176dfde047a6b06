"""Hardware plan: balanced splits, per-core slices that recombine exactly, routing tables."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spikeforge.compiler.artifact import load_artifact, save_artifact
from spikeforge.compiler.map import balanced_split, network_from_plan, plan_network
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.ir.params import Decision, NeuronParams
from spikeforge.ir.plan import INPUT_PORT, HardwarePlan, core_memory_bits
from spikeforge.sim.golden import CoreState, GoldenCore, update_phase
from spikeforge.sim.network import run_network


def random_network(sizes=(12, 10, 7, 4), seed=0, decision=Decision.SPIKE_COUNT):
    rng = np.random.default_rng(seed)
    p = NeuronParams(decay_bits=8, alpha=200, beta=230, threshold=40, adaptive=True, rho=250,
                     adapt_step=5)
    return IntegerNetwork(tuple(IntegerLayer(rng.integers(-60, 100, (a, b)), p)
                                for a, b in zip(sizes, sizes[1:])), decision)


def simulate_plan(plan: HardwarePlan, input_counts) -> list[np.ndarray]:
    """Run the plan core by core, delivering events only through its routing tables (the
    contract's one-tick delay per hop). Returns per-layer spikes ``[batch, ticks, n]``
    reassembled from the cores' global indices -- equal to
    :meth:`IntegerNetwork.run` for a correct plan. Slow-ish."""
    counts = np.asarray(input_counts, dtype=np.int64)
    if counts.ndim == 2:
        counts = counts[None]
    batch, ticks, n_inputs = counts.shape
    if n_inputs != plan.n_inputs:
        raise ConfigError(f"input_counts: expected {plan.n_inputs} inputs, got {n_inputs}")
    layer_sizes = [sum(c.n_neurons for c in plan.cores_of_layer(l)) for l in range(plan.n_layers)]
    by_layer = {l: {c.index: c for c in plan.cores_of_layer(l)} for l in range(plan.n_layers)}
    states = {c.core_id: CoreState.zeros((batch, c.n_neurons)) for c in plan.cores}
    spikes = [np.zeros((batch, ticks, n), dtype=bool) for n in layer_sizes]
    core_spikes = {c.core_id: np.zeros((batch, c.n_neurons), dtype=bool) for c in plan.cores}
    for t in range(ticks):
        # event phase: every route delivers its source's events of this tick
        inbox = {c.core_id: np.zeros((batch, c.n_inputs), dtype=np.int64) for c in plan.cores}
        for route in plan.routes:
            if route.to_decision_unit:
                continue
            if route.source_layer == INPUT_PORT:
                events = counts[:, t, route.source_offset:route.source_offset + route.source_size]
            else:
                events = core_spikes[by_layer[route.source_layer][route.source_core].core_id]
            global_indices = slice(route.source_offset, route.source_offset + route.source_size)
            for k in route.destination_cores:
                target = by_layer[route.destination_layer][k]
                inbox[target.core_id][:, global_indices] += events
        for c in plan.cores:
            state = states[c.core_id]
            state.i = state.i + inbox[c.core_id] @ c.config.weights
            states[c.core_id], s = update_phase(state, c.config.params)
            core_spikes[c.core_id] = s
            spikes[c.layer][:, t, c.neuron_offset:c.neuron_offset + c.n_neurons] = s
    return spikes


@given(n_items=st.integers(1, 5000), data=st.data())
def test_balanced_split_covers_everything_with_sizes_within_one(n_items, data):
    parts = data.draw(st.integers(1, min(n_items, 300)))
    sizes = balanced_split(n_items, parts)
    assert len(sizes) == parts and sum(sizes) == n_items
    assert max(sizes) - min(sizes) <= 1 and min(sizes) >= 1
    assert sizes == sorted(sizes, reverse=True)


@settings(max_examples=50)
@given(n_neurons=st.integers(1, 200), limit=st.integers(1, 64))
def test_plan_respects_neurons_per_core_with_balanced_contiguous_slices(n_neurons, limit):
    p = NeuronParams()
    net = IntegerNetwork((IntegerLayer(np.zeros((3, n_neurons), int), p),))
    plan = plan_network(net, neurons_per_core=limit)
    cores = plan.cores_of_layer(0)
    assert len(cores) == -(-n_neurons // limit)
    sizes = [c.n_neurons for c in cores]
    assert max(sizes) <= limit and max(sizes) - min(sizes) <= 1
    offsets = [c.neuron_offset for c in cores]
    assert offsets == [sum(sizes[:k]) for k in range(len(sizes))]


def test_bad_split_requests_are_named():
    for args, message in [((0, 1), "n_items"), ((3, 4), "n_parts: must be in 1..3")]:
        with pytest.raises(ConfigError, match=message):
            balanced_split(*args)
    net = random_network()
    with pytest.raises(ConfigError, match=r"neurons_per_core\[1\]: must be a positive integer"):
        plan_network(net, neurons_per_core=[2, 0, 3])
    with pytest.raises(ConfigError, match="one value per layer"):
        plan_network(net, neurons_per_core=[2, 3])
    with pytest.raises(ConfigError, match="memory_budget_bits: 10 bits cannot hold even one neuron"):
        plan_network(net, memory_budget_bits=10)


def test_split_cores_recombine_to_identical_spikes():
    net = random_network()
    counts = (np.random.default_rng(1).random((5, 20, net.n_inputs)) < 0.4).astype(np.int64)
    trace = run_network(net, counts)
    plan = plan_network(net, neurons_per_core=[3, 2, 3])
    assert [len(plan.cores_of_layer(l)) for l in range(3)] == [4, 4, 2]
    assert network_from_plan(plan, net.decision) == net
    layer_input = counts
    for l in range(3):  # each core's own golden model, concatenated by global index
        parts = [GoldenCore.of(c.config).run(layer_input).spikes for c in plan.cores_of_layer(l)]
        assert np.array_equal(np.concatenate(parts, axis=-1), trace.spikes[l])
        layer_input = np.zeros_like(trace.spikes[l], dtype=np.int64)
        layer_input[:, 1:] = trace.spikes[l][:, :-1]
    # and spikes delivered only through the routing tables give the same network
    for got, expected in zip(simulate_plan(plan, counts), trace.spikes):
        assert np.array_equal(got, expected)


def test_routes_multicast_every_source_to_every_core_of_the_next_layer():
    net = random_network()
    plan = plan_network(net, neurons_per_core=[4, 4, 2])
    assert [r.source_layer for r in plan.routes].count(INPUT_PORT) == 1
    assert len(plan.routes) == 1 + len(plan.cores)
    for core in plan.cores:
        (route,) = plan.routes_from(core.layer, core.index)
        assert (route.source_offset, route.source_size) == (core.neuron_offset, core.n_neurons)
        assert route.global_index(core.n_neurons - 1) == core.neuron_offset + core.n_neurons - 1
        if core.layer == plan.n_layers - 1:
            assert route.to_decision_unit and route.destination_cores == ()
        else:
            assert route.destination_layer == core.layer + 1
            assert route.destination_cores == tuple(range(len(plan.cores_of_layer(core.layer + 1))))
    (port,) = plan.routes_from(INPUT_PORT)
    assert port.destination_layer == 0 and port.source_size == net.n_inputs
    assert [c.core_id for c in plan.cores] == list(range(len(plan.cores)))


def test_automatic_split_fits_the_memory_budget_with_fewest_cores():
    net = random_network(sizes=(30, 25, 5))
    layer = net.layers[0]
    one_neuron = core_memory_bits(30, 1, layer.params, layer.accumulator_bits)
    budget = 7 * one_neuron  # 25 neurons need ceil(25 / 7) = 4 cores
    plan = plan_network(net, memory_budget_bits=budget)
    assert all(c.memory_bits <= budget for c in plan.cores)
    assert len(plan.cores_of_layer(0)) == 4
    assert len(plan.cores_of_layer(1)) == 1  # 5 neurons of 25 inputs fit in one core
    assert core_memory_bits(30, 7, layer.params, 20) == 30 * 7 * 8 + 7 * (20 + 16 + 8 + 1)


def test_lanes_reach_every_core_config():
    """``lanes``: one int for every layer, or one per layer; each core's CoreConfig carries
    it, its slices and weights are unchanged, and the plan compares lanes."""
    net = random_network()
    plan = plan_network(net, neurons_per_core=[4, 4, 2], lanes=[4, 2, 1])
    assert [c.config.lanes for c in plan.cores] == [
        {0: 4, 1: 2, 2: 1}[c.layer] for c in plan.cores]
    one = plan_network(net, neurons_per_core=[4, 4, 2])
    assert all(c.config.lanes == 1 for c in one.cores)
    assert [np.array_equal(a.config.weights, b.config.weights) for a, b in
            zip(plan.cores, one.cores)] == [True] * len(one.cores)
    assert plan != one, "plans that differ only in lanes must not compare equal"
    assert plan == plan_network(net, neurons_per_core=[4, 4, 2], lanes=[4, 2, 1])
    assert {c.config.lanes for c in plan_network(net, lanes=8).cores} == {8}
    assert network_from_plan(plan, net.decision) == net


@pytest.mark.parametrize("lanes, message", [
    (0, r"lanes\[0\]: must be an integer in 1..64, got 0"),
    (65, r"lanes\[0\]: must be an integer in 1..64, got 65"),
    ([1, 2.5, 1], r"lanes\[1\]: must be an integer in 1..64, got 2.5"),
    ([1, 2], "lanes: one value per layer expected"),
    (True, r"lanes\[0\]"),
])
def test_bad_lanes_are_named(lanes, message):
    with pytest.raises(ConfigError, match=message):
        plan_network(random_network(), lanes=lanes)


def test_lanes_survive_the_artifact(tmp_path):
    """An artifact records each core's lanes; one written before lanes existed (no field)
    loads with one lane."""
    net = random_network()
    plan = plan_network(net, neurons_per_core=[4, 4, 2], lanes=[4, 3, 1])
    manifest = save_artifact(net, plan, tmp_path)
    assert load_artifact(tmp_path).plan == plan
    data = json.loads(manifest.read_text())
    for core in data["plan"]["cores"]:
        del core["lanes"]
    manifest.write_text(json.dumps(data))
    assert {c.config.lanes for c in load_artifact(tmp_path).plan.cores} == {1}
