"""The fit estimate (boards/fit.py): block RAM tiles, and plans that fit a board or are refused
with advice."""

import numpy as np
import pytest

from spikeforge.boards.fit import bram_tiles, check_fit, estimate
from spikeforge.compiler.map import plan_network
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.ir.params import NeuronParams


def _net(n_inputs, sizes, **params):
    p = NeuronParams(decay_bits=8, threshold=50, **params)
    layers, fan_in = [], n_inputs
    rng = np.random.default_rng(0)
    for n in sizes:
        layers.append(IntegerLayer(rng.integers(-10, 30, size=(fan_in, n)), p))
        fan_in = n
    return IntegerNetwork(tuple(layers), "spike-count")


def test_bram_tiles():
    assert bram_tiles(512, 8, "ice40") == 1
    assert bram_tiles(256, 17, "ice40") == 2
    assert bram_tiles(4, 8, "ice40") == 0
    assert bram_tiles(2048, 9, "ecp5") == 1
    assert bram_tiles(784 * 100, 8, "ecp5") == 39


def test_fit_accepts_small_and_refuses_large_with_advice():
    small = plan_network(_net(16, [8, 4]))
    est = check_fit(small, "icebreaker")
    assert est.fits and est.brams <= 30
    big = plan_network(_net(784, [100, 10]))  # 78400 8-bit weights: 154 EBR
    with pytest.raises(ConfigError) as info:
        check_fit(big, "icebreaker")
    message = str(info.value)
    assert "block RAM" in message and "of 30" in message
    assert "ulx3s-85f" in message and "smaller layers" in message
    assert check_fit(big, "ulx3s-85f").fits
    # many cores: logic does not fit the small board; advice: more neurons per core
    many = plan_network(_net(16, [64, 10]), neurons_per_core=2)
    with pytest.raises(ConfigError, match="more neurons per core"):
        check_fit(many, "icebreaker")
    assert not estimate(many, "icebreaker").fits


def test_fit_input_depth_is_checked_not_defaulted():
    """``input_depth=0`` used to mean the board's default (and changed the estimate)."""
    plan = plan_network(_net(4, [4]))
    assert estimate(plan, "icebreaker", 512).brams == estimate(plan, "icebreaker").brams
    for depth in (0, 1, -5, 32768):
        with pytest.raises(ConfigError, match="input_depth: must be an integer in 2..32767"):
            estimate(plan, "icebreaker", depth)


def test_dsp_bound_refuses_too_many_lanes_on_the_ice40():
    """Each lane multiplies (v*beta, i*alpha, a*rho if adaptive): a digits-sized design with
    3 cores of 4 lanes needs up to 24 multipliers, the iCE40UP5K has 8 (the build fails in
    placement: 'no BELs remaining to implement cell type ICESTORM_DSP')."""
    from spikeforge.boards.fit import dsps_of_plan, estimate
    from spikeforge.compiler.map import plan_network
    from spikeforge.ir.network import IntegerLayer, IntegerNetwork
    from spikeforge.ir.params import NeuronParams

    rng = np.random.default_rng(0)
    network = IntegerNetwork([IntegerLayer(rng.integers(-9, 9, (64, 32)), NeuronParams()),
                              IntegerLayer(rng.integers(-9, 9, (32, 10)), NeuronParams())])
    wide = plan_network(network, neurons_per_core=16, lanes=4)
    assert dsps_of_plan(wide) == 3 * 4 * 2
    est = estimate(wide, "icebreaker")
    assert not est.fits and est.problems[0].startswith("DSP: needs up to 24 multipliers of 8")
    assert estimate(wide, "ulx3s-85f").fits
    narrow = plan_network(network, lanes=2)  # two cores of 2 lanes: 8, as built by the README
    assert dsps_of_plan(narrow) == 8 and estimate(narrow, "icebreaker").fits
