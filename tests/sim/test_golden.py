"""The vectorised golden model of a core: batches, and bad input named. (That it computes the
contract, equal to the scalar reference, is test_contract.py.)"""

import numpy as np
import pytest

from spikeforge.ir.core import CoreConfig
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.params import NeuronParams
from spikeforge.sim.golden import GoldenCore


def test_batched_golden_equals_one_at_a_time():
    rng = np.random.default_rng(0)
    params = NeuronParams(alpha=3000, beta=3900, threshold=300, adaptive=True, rho=4000,
                          adapt_step=20)
    config = CoreConfig(7, 11, params, rng.integers(-128, 128, size=(11, 7)))
    counts = rng.integers(0, 2, size=(5, 20, 11))
    batched = GoldenCore.of(config).run(counts)
    for b in range(5):
        single = GoldenCore.of(config).run(counts[b])
        assert (single.spikes == batched.spikes[b]).all() and (single.v == batched.v[b]).all()


def test_golden_takes_more_events_than_the_bound_and_flags_them():
    """The old golden model refused this input; now it is the contract's overflow: the
    accumulator wraps and the core's sticky flag rises in the tick of the third event."""
    config = CoreConfig(2, 2, NeuronParams(weight_bits=8, current_bits=8, threshold=1),
                        np.array([[127, -128], [127, -128]]), max_events_per_tick=2)
    assert config.accumulator_bits == 10  # -384 .. 381: the current's range plus 2 weights
    trace = GoldenCore.of(config).run(np.array([[1, 1], [4, 0], [0, 0]]))
    assert trace.overflow.tolist() == [False, True, True]
    # tick 1: i = 127 carried (no decay) + 4 * 127 = 635 -> 635 - 2**10 = -389 -> -128;
    # neuron 1: -128 + 4 * -128 = -640 -> +384 -> 127 (an exact sum would saturate the
    # other way round)
    assert trace.i[1].tolist() == [-128, 127]


def test_bad_input_events_are_named():
    core = GoldenCore(np.zeros((3, 2), dtype=int), NeuronParams())
    with pytest.raises(ConfigError, match="presynaptic index 3 in tick 1"):
        core.counts_from_events([[0], [3]])
    with pytest.raises(ConfigError, match="counts: expected shape"):
        core.run(np.zeros((4, 5)))
