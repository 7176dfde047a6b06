"""A system built with the learning engine: what it refuses, and the ports it adds (the
co-simulation of its learning is tests/cosim/test_learn_cosim.py)."""

import gc
import warnings

import numpy as np
import pytest
from amaranth.hdl import UnusedElaboratable

from spikeforge.compiler.map import plan_network
from spikeforge.hdl.system import SpikeforgeSystem
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.ir.params import Decision, NeuronParams, Reset
from spikeforge.ir.system import SystemConfig
from spikeforge.sim.learning import PopcountLearner

@pytest.fixture(autouse=True)
def _refused_systems_are_never_elaborated():
    """Systems refused by their constructor (and the two only compared by signature) are
    never elaborated: no UnusedElaboratable warning for them, here or at a later test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnusedElaboratable)
        yield
        gc.collect()


P = NeuronParams(decay_bits=8, alpha=230, threshold=60, fire_once=True, reset=Reset.ZERO)


def _learner(layers=2):
    rng = np.random.default_rng(0)
    sizes = [6, 8, 3, 2][:layers + 1]
    net = IntegerNetwork(tuple(IntegerLayer(rng.integers(-10, 60, size=(a, b)), P)
                               for a, b in zip(sizes, sizes[1:])))
    return net, PopcountLearner(net, 20, frac_bits=3) if layers == 2 else None


def test_a_learning_build_adds_the_learning_ports_only():
    net, learner = _learner()
    plan = plan_network(net)
    plain = SpikeforgeSystem(plan, SystemConfig())
    learning = SpikeforgeSystem(plan, SystemConfig(), learner.hardware_config())
    added = set(learning.signature.members) - set(plain.signature.members)
    assert added == {"train", "learn", "learn_busy", "store"}


def test_stores_that_do_not_read_as_the_plans_weights_are_named():
    net, learner = _learner()
    learner.acc[0][4, 5] += 1 << 3                  # weight [4, 5] reads one more
    with pytest.raises(ConfigError, match=r"learning: stores\[0\] >> frac_bits is not the "
                                          r"plan's layer 0 \(weight \[4, 5\] differs\)"):
        SpikeforgeSystem(plan_network(net), SystemConfig(), learner.hardware_config())


def test_the_engine_learns_only_a_two_layer_first_spike_network_of_its_size():
    net, learner = _learner()
    config = learner.hardware_config()
    with pytest.raises(ConfigError, match="learning: the engine learns a two-layer first-spike "
                                          "network, got 2 layers deciding by spike-count"):
        SpikeforgeSystem(plan_network(net), SystemConfig(Decision.SPIKE_COUNT), config)
    deeper, _ = _learner(layers=3)
    with pytest.raises(ConfigError, match="got 3 layers"):
        SpikeforgeSystem(plan_network(deeper), SystemConfig(), config)
    other = IntegerNetwork((IntegerLayer(net.layers[0].weights[:5], P), net.layers[1]))
    with pytest.raises(ConfigError, match="learning: the engine is 6-8-3, the plan 5-8-3"):
        SpikeforgeSystem(plan_network(other), SystemConfig(), config)
    with pytest.raises(ConfigError, match="learning: must be a LearningConfig or None"):
        SpikeforgeSystem(plan_network(net), SystemConfig(), learning="yes")


def test_a_learning_build_needs_three_hidden_neurons():
    """Its weight writes pass two registers, which drain while the engine wipes the hidden
    ticks (H cycles): with fewer than 3 they would outlast the engine's busy."""
    rng = np.random.default_rng(0)
    net = IntegerNetwork(tuple(IntegerLayer(rng.integers(-10, 60, size=(a, b)), P)
                               for a, b in ((6, 2), (2, 3))))
    config = PopcountLearner(net, 20, frac_bits=3).hardware_config()
    with pytest.raises(ConfigError, match=r"^learning: a learning build needs at least 3 hidden "
                                          r"neurons .*, got 2$"):
        SpikeforgeSystem(plan_network(net), SystemConfig(), config)
