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
