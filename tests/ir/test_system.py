"""The system settings: validation that names the field, and the one JSON form."""

import json

import pytest

from spikeforge.ir.errors import ConfigError
from spikeforge.ir.params import Decision
from spikeforge.ir.system import (
    SystemConfig,
    check_double_buffer,
    core_sum_stage,
    core_tile_stage,
    core_weight_stages,
    double_buffered,
)


def test_system_defaults_and_the_decision_from_its_string():
    system = SystemConfig("spike-count", fifo_depth=4)
    assert system.decision is Decision.SPIKE_COUNT
    assert (system.fifo_depth, system.guard, system.tick_bits, system.cycle_bits) == (4, 2, 16, 32)
    assert SystemConfig().decision is Decision.FIRST_SPIKE


def test_system_round_trips_through_json():
    system = SystemConfig(Decision.MEMBRANE_MAX, fifo_depth=3, guard=5, tick_bits=12,
                          cycle_bits=40, weight_banks="ecp5", full_banks=True,
                          lane_copies=True, overlap=True,
                          state_memories="block", weight_stages=2, input_copies=True,
                          sum_stage=True, double_buffer=True, tile_stage=True)
    d = system.to_dict()
    assert d == {"decision": "membrane-max", "fifo_depth": 3, "guard": 5, "tick_bits": 12,
                 "cycle_bits": 40, "weight_banks": "ecp5", "full_banks": True,
                 "lane_copies": True, "overlap": True,
                 "state_memories": "block", "weight_stages": 2, "input_copies": True,
                 "sum_stage": True, "double_buffer": True, "tile_stage": True}
    assert SystemConfig.from_dict(json.loads(json.dumps(d))) == system
    # an artifact written before weight_banks, full_banks, lane_copies, overlap,
    # state_memories, weight_stages, input_copies, sum_stage, double_buffer and tile_stage
    # existed: one memory per core, the last bank short, one bypass select, the tick
    # barrier, the state memories where Yosys puts them, no weight stage, one input index,
    # no sum stage, single-buffered cores, no tile stage
    later = ("weight_banks", "full_banks", "lane_copies", "overlap", "state_memories",
             "weight_stages", "input_copies", "sum_stage", "double_buffer", "tile_stage")
    old = {k: v for k, v in d.items() if k not in later}
    assert SystemConfig.from_dict(old) == SystemConfig(**{**system.__dict__, "weight_banks": "",
                                                          "full_banks": False,
                                                          "lane_copies": False,
                                                          "overlap": False,
                                                          "state_memories": "",
                                                          "weight_stages": 0,
                                                          "input_copies": False,
                                                          "sum_stage": False,
                                                          "double_buffer": False,
                                                          "tile_stage": False})


def test_weight_stages_only_where_the_core_has_words_enough():
    system = SystemConfig(weight_stages=2)
    assert [core_weight_stages(system, g) for g in (1, 2, 3, 4, 12)] == [0, 0, 0, 2, 2]
    assert core_weight_stages(SystemConfig(), 12) == 0


def test_the_sum_stage_only_where_the_core_takes_one_more_stage():
    assert [core_sum_stage(SystemConfig(sum_stage=True), g) for g in (1, 2, 3, 12)] \
        == [False, False, True, True]
    # behind two weight stages (cores of 4 words or more) it needs 5 words
    assert [core_sum_stage(SystemConfig(weight_stages=2, sum_stage=True), g)
            for g in (3, 4, 5)] == [True, False, True]
    assert not core_sum_stage(SystemConfig(), 12)


def test_the_tile_stage_only_in_hidden_single_buffered_cores_of_lane_groups():
    system = SystemConfig(tile_stage=True)
    # (layer, layers, lanes, words): lane groups are more than 4 lanes and 2 words or more
    cases = {(0, 2, 8, 2): True, (1, 3, 64, 13): True, (0, 2, 4, 3): False,
             (0, 2, 8, 1): False, (1, 2, 8, 2): False}  # the last: the output layer
    assert {k: core_tile_stage(system, *k) for k in cases} == cases
    assert not core_tile_stage(SystemConfig(), 0, 2, 8, 2)
    assert not core_tile_stage(SystemConfig(tile_stage=True, double_buffer=(0,)), 0, 2, 8, 2)
    assert core_tile_stage(SystemConfig(tile_stage=True, double_buffer=(1,)), 0, 3, 8, 2)
    assert not core_tile_stage(SystemConfig(tile_stage=True, state_memories="block"),
                               0, 2, 8, 2)


@pytest.mark.parametrize("kwargs, message", [
    (dict(decision="vote"), "decision: must be one of ['first-spike', 'spike-count', "
                            "'membrane-max'], got 'vote'"),
    (dict(fifo_depth=-1), "fifo_depth: must be an integer in 0..65536, got -1"),
    (dict(fifo_depth=2.0), "fifo_depth: must be an integer in 0..65536, got 2.0"),
    (dict(guard=0), "guard: must be an integer in 1..64, got 0"),
    (dict(tick_bits=33), "tick_bits: must be an integer in 1..32, got 33"),
    (dict(cycle_bits=True), "cycle_bits: must be an integer in 1..64, got True"),
    (dict(weight_banks="gowin"), "weight_banks: must be '' or one of ice40, ecp5, xc7, "
                                 "got 'gowin'"),
    (dict(weight_banks=[]), "weight_banks: must be '' or one of ice40, ecp5, xc7, got []"),
    (dict(decision="spike-count", overlap=1), "overlap: must be true or false, got 1"),
    (dict(state_memories="bram"), "state_memories: must be one of '', 'block', got 'bram'"),
    (dict(weight_stages=5), "weight_stages: must be an integer in 0..4, got 5"),
    (dict(input_copies="yes"), "input_copies: must be true or false, got 'yes'"),
    (dict(sum_stage=1), "sum_stage: must be true or false, got 1"),
    (dict(tile_stage="on"), "tile_stage: must be true or false, got 'on'"),
    (dict(double_buffer="no"), "double_buffer: must be true, false or a list of distinct "
                               "layer indices (integers >= 0), got 'no'"),
    (dict(double_buffer=[0, 0]), "double_buffer: must be true, false or a list of distinct "
                                 "layer indices (integers >= 0), got [0, 0]"),
    (dict(double_buffer=(-1,)), "double_buffer: must be true, false or a list of distinct "
                                "layer indices (integers >= 0), got (-1,)"),
    (dict(double_buffer=[True]), "double_buffer: must be true, false or a list of distinct "
                                 "layer indices (integers >= 0), got [True]"),
], ids=["decision", "fifo_depth-negative", "fifo_depth-float", "guard", "tick_bits",
        "cycle_bits-bool", "weight_banks", "weight_banks-list", "overlap-int", "state_memories",
        "weight_stages", "input_copies", "sum_stage", "tile_stage", "double_buffer",
        "double_buffer-twice",
        "double_buffer-negative", "double_buffer-bool-layer"])
def test_bad_system_settings_are_named(kwargs, message):
    with pytest.raises(ConfigError) as error:
        SystemConfig(**kwargs)
    assert str(error.value) == message


@pytest.mark.parametrize("edit, message", [
    (lambda d: [d], "system: must be an object, got a list"),
    (lambda d: {**d, "fifo": 2}, "fifo: unknown field"),
    (lambda d: {k: v for k, v in d.items() if k != "guard"}, "guard: missing"),
    (lambda d: {**d, "guard": 0}, "guard: must be an integer in 1..64, got 0"),
    (lambda d: {**d, "decision": "vote"}, "decision: must be one of"),
], ids=["not-an-object", "unknown-field", "missing-field", "bad-value", "bad-decision"])
def test_system_from_dict_names_the_bad_field(edit, message):
    with pytest.raises(ConfigError) as error:
        SystemConfig.from_dict(edit(SystemConfig().to_dict()))
    assert str(error.value).startswith(message), str(error.value)


def test_double_buffer_per_layer():
    """``double_buffer`` names layers: kept as a sorted tuple (a list taken, an empty one
    ``False``), written as a JSON list and read back; ``double_buffered`` says per layer;
    a layer that the plan lacks is refused by name."""
    system = SystemConfig(double_buffer=[2, 0])
    assert system.double_buffer == (0, 2)
    assert SystemConfig(double_buffer=[]).double_buffer is False
    d = system.to_dict()
    assert d["double_buffer"] == [0, 2] and json.loads(json.dumps(d)) == d
    assert SystemConfig.from_dict(json.loads(json.dumps(d))) == system
    assert [double_buffered(system.double_buffer, l) for l in range(4)] == \
        [True, False, True, False]
    assert all(double_buffered(True, l) for l in range(3))
    assert not any(double_buffered(False, l) for l in range(3))
    check_double_buffer(system, 3)
    with pytest.raises(ConfigError) as error:
        check_double_buffer(system, 2)
    assert str(error.value) == "double_buffer: layer 2 of a plan of 2 layers (0..1)"


def test_full_banks_need_banks_and_pad_the_last_one():
    """SystemConfig.full_banks: refused without weight_banks (by name); bank_depths gives
    every bank D words with it, the last one (or the only one) as deep as its words
    without it."""
    from spikeforge.ir.system import bank_depths

    with pytest.raises(ConfigError, match="full_banks: needs weight_banks"):
        SystemConfig(full_banks=True)
    with pytest.raises(ConfigError, match="full_banks: must be true or false"):
        SystemConfig(weight_banks="ecp5", full_banks=1)
    # the 784-256-10's 16-lane hidden core (669 rows x 8 words of 128 bits): 2,048-word banks
    assert bank_depths(128, "ecp5", 5352) == [2048, 2048, 1256]
    assert bank_depths(128, "ecp5", 5352, full=True) == [2048, 2048, 2048]
    assert bank_depths(80, "ecp5", 256) == [256] and bank_depths(80, "ecp5", 256, True) == [2048]
