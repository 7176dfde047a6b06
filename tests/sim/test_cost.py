"""sim/cost.py: memory and compute cost, against a by-hand count over the golden trace."""

import math

import numpy as np
import pytest

from spikeforge.ir.params import Decision
from spikeforge.sim.cost import network_cost
from spikeforge.sim.network import run_network
from tests.util import random_inputs, random_network


def _by_hand(network, trace, until_decision):
    """Loop over every image, tick, event and synapse: the definitions of the module
    docstring, spelled out once more without numpy's reductions."""
    batch, ticks = trace.input_counts.shape[:2]
    rows = []
    for l, layer in enumerate(network.layers):
        w = layer.weights
        events = accumulations = effective = dense = spikes_ratio = 0.0
        largest = 0
        for b in range(batch):
            run = int(trace.decision_tick[b]) + 1 if until_decision else ticks
            spikes = 0
            for t in range(run):
                if l == 0:
                    inputs = trace.input_counts[b, t]
                else:
                    inputs = trace.spikes[l - 1][b, t - 1] if t > 0 else np.zeros(layer.n_inputs)
                largest = max(largest, int(sum(inputs)))
                for j, count in enumerate(inputs):
                    for n in range(layer.n_neurons):
                        accumulations += count
                        effective += count * (w[j, n] != 0)
                events += sum(inputs)
                spikes += int(trace.spikes[l][b, t].sum())
            dense += layer.n_inputs * layer.n_neurons * run
            spikes_ratio += spikes / (layer.n_neurons * run)
        p = layer.params
        rows.append(dict(
            weight_bits=w.size * p.weight_bits,
            state_bits=layer.n_neurons * (layer.accumulator_bits + p.membrane_bits
                                          + p.adapt_bits * p.adaptive + p.fire_once),
            spike_bits=largest * max(1, math.ceil(math.log2(layer.n_inputs))),
            events=events / batch, accumulations=accumulations / batch,
            effective_operations=effective / batch, dense_operations=dense / batch,
            connection_sparsity=float((w == 0).sum() / w.size),
            activation_sparsity=1 - spikes_ratio / batch))
    return rows


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("until_decision", [True, False])
def test_cost_matches_a_count_by_hand(seed, until_decision):
    network = random_network(seed, max_size=9)
    counts = random_inputs(seed, network, images=3, ticks=6)
    trace = run_network(network, counts)
    report = network_cost(network, trace, until_decision)
    for l, (got, want) in enumerate(zip(report.layers, _by_hand(network, trace, until_decision))):
        for name, value in want.items():
            assert getattr(got, name) == pytest.approx(value), (l, name)
    st = trace.statistics(until_decision)
    assert report.total("accumulations") == pytest.approx(st.synaptic_events.sum(1).mean())


def test_cost_report_totals_and_format():
    network = random_network(3, n_layers=2, max_size=8)
    trace = run_network(network, random_inputs(3, network, images=2, ticks=5))
    report = network_cost(network, trace)
    d = report.to_dict()
    assert d["memory_bits"] == sum(c.weight_bits + c.state_bits + c.spike_bits
                                   for c in report.layers)
    assert d["neurobench"]["footprint_bytes"] == math.ceil(
        (d["weight_bits"] + d["state_bits"]) / 8)
    zeros = sum(int((layer.weights == 0).sum()) for layer in network.layers)
    synapses = sum(layer.weights.size for layer in network.layers)
    assert d["neurobench"]["connection_sparsity"] == pytest.approx(zeros / synapses)
    text = report.format()
    assert text.splitlines()[-1].startswith(f"memory {d['memory_bits']} bits")
    assert len(text.splitlines()) == len(network.layers) + 3


def test_first_spike_cost_stops_at_the_decision():
    """With early exit, work after the decision tick is not counted."""
    for seed in range(20):
        network = random_network(seed, max_size=8)
        if network.decision is not Decision.FIRST_SPIKE:
            continue
        trace = run_network(network, random_inputs(seed, network, images=4, ticks=8))
        if (trace.decision_tick < 7).any():
            early, full = network_cost(network, trace), network_cost(network, trace, False)
            assert early.ticks < full.ticks
            assert early.total("dense_operations") < full.total("dense_operations")
            return
    pytest.fail("no first-spike network decided early in 20 seeds")
