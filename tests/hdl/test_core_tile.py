"""The core's tile stage (``NeuronCore(tile_stage=True)``): its lane groups a cycle behind its
control, against the golden model and the cycle model (``CoreModel(tile_stage=True)``).

Every spike, every state after every tick (host reads, two cycles after ``r_en``) and every
handshake cycle, as ``test_core.py`` checks the core without it; and the host port's rules
where the groups' writes come a cycle after the control's.
"""

from __future__ import annotations

import numpy as np
import pytest

from spikeforge.hdl.core import Command, NeuronCore, Region
from spikeforge.ir.core import CoreConfig
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.params import NeuronParams, Reset
from spikeforge.ir.system import has_lane_groups
from spikeforge.sim.cycle import TickStimulus, predict_tick
from tests.hdl.test_core import CASES, check_random_case, run_sim

# the cases of test_core.py whose cores have lane groups (more than 4 lanes, 2 words or more)
GROUPED = [case for case in CASES if has_lane_groups(case[3], -(-case[1] // case[3]))]

OPTIONS = [
    # (seed, n_neurons, n_inputs, lanes, p_ready, overrides, core options)
    (30, 13, 3, 8, 0.5, dict(adaptive=True, reset=Reset.SUBTRACT), dict(weight_bank_words=2)),
    (31, 40, 4, 16, 0.7, dict(threshold=1, adaptive=False), dict(weight_bank_words=4)),
    (32, 30, 3, 8, 0.4, dict(reset=Reset.ZERO), dict(weight_stages=1)),  # G = 4
    (33, 30, 3, 8, 0.6, dict(threshold=2), dict(sum_stage=True, weight_bank_words=8)),
    (34, 24, 2, 8, 0.5, dict(threshold=1, fire_once=False), dict(events_first=False)),
    # 12 words: the issue is throttled by the queue's credit, a stage longer with the tile
    (35, 90, 2, 8, 0.3, dict(threshold=1, adaptive=False, fire_once=False), {}),
    (36, 90, 3, 8, 0.9, dict(threshold=2, adaptive=True, reset=Reset.SUBTRACT), {}),
]


@pytest.mark.parametrize("seed,n_neurons,n_inputs,lanes,p_ready,overrides", GROUPED)
def test_tiled_core_against_golden_and_cycle_model(seed, n_neurons, n_inputs, lanes, p_ready,
                                                   overrides):
    check_random_case(seed, n_neurons, n_inputs, lanes, p_ready, overrides, tile_stage=True)


@pytest.mark.parametrize("seed,n_neurons,n_inputs,lanes,p_ready,overrides,options", OPTIONS)
def test_tiled_core_with_banks_and_stages(seed, n_neurons, n_inputs, lanes, p_ready, overrides,
                                          options):
    """... with weight banks, weight stages, the sum stage, commands first, and cores of
    more words than the spike queue holds."""
    check_random_case(seed, n_neurons, n_inputs, lanes, p_ready, overrides, tile_stage=True,
                      **options)


def test_the_tile_stage_takes_a_cycle_more_per_update_and_nothing_else():
    """The cycle model's only change: each update phase a cycle longer (the spikes pushed a
    stage later); events and CLEAR as without it."""
    config = CoreConfig(13, 2, NeuronParams(threshold=1), np.full((2, 13), 3), lanes=8)
    stimulus = TickStimulus([0, 1, 0], [0, 2, 0], command_gap=1)
    plain, tiled = (predict_tick(config, 5, stimulus, [3, 9, 12], tile_stage=t)
                    for t in (False, True))
    assert tiled.event_cycles == plain.event_cycles
    assert tiled.command_cycle == plain.command_cycle
    assert [c for _, c in tiled.output_cycles] == [c + 1 for _, c in plain.output_cycles]
    assert tiled.idle_cycle == plain.idle_cycle + 1


@pytest.mark.parametrize("kwargs,message", [
    (dict(lanes=4, n=12), r"tile_stage: needs lane groups, a core of more than 4 lanes and at "
                          r"least 2 words with its state in LUT RAM; this one has 4 lanes and "
                          r"3 words$"),
    (dict(lanes=8, n=8), r"this one has 8 lanes and 1 word$"),
    (dict(lanes=8, n=16, state_block_ram=True), r"this one has 8 lanes and 2 words, its state "
                                                r"in block RAM$"),
    (dict(lanes=8, n=16, double_buffer=True), r"^tile_stage: not with double_buffer"),
    (dict(lanes=8, n=16, tile_stage=1), r"^tile_stage: must be True or False, got 1$"),
])
def test_a_core_without_lane_groups_is_refused(kwargs, message):
    n, lanes = kwargs.pop("n"), kwargs.pop("lanes")
    kwargs.setdefault("tile_stage", True)
    config = CoreConfig(n, 2, NeuronParams(), np.ones((2, n), dtype=int), lanes=lanes)
    with pytest.raises(ConfigError, match=message):
        NeuronCore(config, **kwargs)


def _nonzero_state(n: int):
    """A core of 16 neurons in 8 lanes (2 words) and the membranes the host writes."""
    config = CoreConfig(n, 2, NeuronParams(threshold=1000), np.ones((2, n), dtype=int), lanes=8)
    return config, [7 + k for k in range(n)]


def test_a_host_write_as_a_clear_ends_is_ignored_and_the_clear_lands():
    """The groups write CLEAR's last word a cycle after ``idle`` rises: the host is kept out
    of that cycle, so a write there is ignored (no ``r_valid`` either) and every word is
    zeroed. Let in, its address would take the groups' write port from the CLEAR's last
    word (left unzeroed) and CLEAR's zeros would land on the host's word."""
    config, values = _nonzero_state(16)
    log = {}

    async def bench_fn(bench):
        ctx, dut = bench.ctx, bench.dut
        for n, v in enumerate(values):
            await bench.write(Region.MEMBRANE, n, v)
        ctx.set(dut.command.payload, Command.CLEAR)
        ctx.set(dut.command.valid, 1)
        while not (await bench.step())["cmd_hs"]:
            pass
        ctx.set(dut.command.valid, 0)
        while not ctx.get(dut.idle):
            await bench.step()
        # the first idle cycle: a write of neuron 0 and a read, both to be ignored
        ctx.set(dut.host.addr, dut.host_address(Region.MEMBRANE, 0))
        ctx.set(dut.host.w_data, 55)
        ctx.set(dut.host.w_en, 1)
        ctx.set(dut.host.r_en, 1)
        await bench.step()
        ctx.set(dut.host.w_en, 0)
        ctx.set(dut.host.r_en, 0)
        log["r_valid"] = [(await bench.step())["r_valid"] for _ in range(3)]
        log["state"] = await bench.read_state()

    run_sim(NeuronCore(config, tile_stage=True), bench_fn)
    assert log["r_valid"] == [0, 0, 0], "a host read answered in the cycle CLEAR's last word " \
                                        "is written"
    assert log["state"]["v"] == [0] * 16, f"after CLEAR: membranes {log['state']['v']}"


def test_the_host_is_kept_out_until_the_groups_write_back():
    """An event's words are written back a cycle later than without the tile: the host is
    kept out a cycle longer (its write of a current, offered from the event's handshake
    on, lands only after the last write-back), and its reads return the event's sums."""
    config = CoreConfig(16, 2, NeuronParams(threshold=1000),
                        np.arange(32).reshape(2, 16) - 10, lanes=8)
    log = {}

    async def bench_fn(bench):
        ctx, dut = bench.ctx, bench.dut
        ctx.set(dut.spike_in.payload, 1)
        ctx.set(dut.spike_in.valid, 1)
        await bench.step()
        ctx.set(dut.spike_in.valid, 0)
        # the host writes neuron 15's current from the next cycle on, and reads it
        ctx.set(dut.host.addr, dut.host_address(Region.CURRENT, 15))
        ctx.set(dut.host.w_data, 1234)
        ctx.set(dut.host.w_en, 1)
        ctx.set(dut.host.r_en, 1)
        answered = [(await bench.step())["r_valid"] for _ in range(12)]
        ctx.set(dut.host.w_en, 0)
        ctx.set(dut.host.r_en, 0)
        await bench.step()
        await bench.step()
        log["answered"] = answered
        log["state"] = await bench.read_state()

    run_sim(NeuronCore(config, tile_stage=True), bench_fn)
    # the event, taken at cycle 0: its words read by the control at edges 1 and 2, by the
    # groups at 2 and 3, written back at 4 and 5; the host let in from cycle 6 (without
    # the tile: 5), its reads answered two cycles later, from cycle 8
    assert log["answered"] == [0] * 7 + [1] * 5, log["answered"]
    expected = [int(w) for w in config.weights[1]]
    expected[15] = 1234
    assert log["state"]["i"] == expected, log["state"]["i"]
