"""sim/fuzz.py: the golden model against the scalar reference on random corner cases, and
the campaign's ability to find and shrink a planted fault."""

import dataclasses

import numpy as np

from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.sim.fuzz import Case, campaign, check_case, random_case, shrink, write_reproduction
from spikeforge.sim.network import run_network


def test_short_campaign_agrees_and_reaches_every_corner():
    result = campaign(1000, 250)
    assert result.failures == [], result.failures[0][1]
    assert result.cases == 250
    assert all(count > 0 for count in result.covered.values()), result.covered


def _strict_threshold(network, counts):
    """A planted fault: the golden model fires at v > theta instead of v >= theta (as if
    every threshold were one higher; a threshold at the top of its range stays)."""
    def higher(p):
        return dataclasses.replace(p, threshold=min(p.threshold + 1, (1 << (p.membrane_bits - 1)) - 1))

    layers = [IntegerLayer(l.weights, higher(l.params), l.max_events_per_tick)
              for l in network.layers]
    return run_network(IntegerNetwork(layers, network.decision), counts)


def test_campaign_finds_and_shrinks_a_planted_fault(tmp_path):
    result = campaign(0, 60, golden=_strict_threshold)
    assert result.failures, "the planted fault went unnoticed"
    seed, message, small = result.failures[0]
    original = random_case(seed)
    assert "layer" in message and "tick" in message
    assert check_case(small, _strict_threshold) is not None  # still fails ...
    assert check_case(small) is None  # ... only because of the fault
    assert small.counts.shape[0] == 1 and small.counts.sum() <= original.counts.sum()
    write_reproduction(small, tmp_path / "case.json")
    again = Case.from_dict(__import__("json").loads((tmp_path / "case.json").read_text()))
    assert again.network == small.network and np.array_equal(again.counts, small.counts)


def test_shrink_keeps_a_failing_case_failing():
    case = next(random_case(s) for s in range(100)
                if check_case(random_case(s), _strict_threshold) is not None)
    small = shrink(case, _strict_threshold)
    assert small.counts.shape[1] <= case.counts.shape[1]
    assert check_case(small, _strict_threshold) is not None
