"""The fit estimate (boards/fit.py): block RAM tiles, plans that fit a board or are refused with
advice, and the estimate against real builds: for every build recorded in ``fit_builds.json``
(design, board, plan shape and what Yosys + nextpnr used; made with the board tops of this
tree, see docs/boards.md) the estimate must bound the measured logic cells, flip-flops, block
RAMs and multipliers, and stay close enough to be useful."""

import json
from pathlib import Path

import numpy as np
import pytest

from spikeforge.boards.fit import (
    ENGINE_LOGIC,
    bram_tiles,
    check_fit,
    dsps_of_plan,
    estimate,
    memories_of_plan,
)
from spikeforge.boards.specs import BOARDS, input_depth_for
from spikeforge.compiler.map import plan_network
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.learning import LearningConfig
from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.ir.params import NeuronParams
from spikeforge.ir.system import weight_bank_words


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
    """Each lane multiplies v by beta (and i by alpha, a by rho, unless the factor is a power
    of two): the demo's design, 3 cores of 4 lanes with beta = 3277, needs 12 multipliers and
    one per core whose word count is not a power of two and per split layer (14 in all; it
    used 13 on the ECP5); the iCE40UP5K has 8 (the build failed in placement: 'no BELs
    remaining to implement cell type ICESTORM_DSP')."""
    rng = np.random.default_rng(0)
    params = NeuronParams(decay_bits=12, alpha=2048, beta=3277, threshold=342)
    network = IntegerNetwork([IntegerLayer(rng.integers(-9, 9, (64, 32)), params),
                              IntegerLayer(rng.integers(-9, 9, (32, 10)), params)])
    wide = plan_network(network, neurons_per_core=16, lanes=4)
    assert dsps_of_plan(wide, "ice40") == 3 * 4 + 1 + 1
    est = estimate(wide, "icebreaker")
    assert not est.fits and est.problems[0].startswith("DSP: needs up to 14 multipliers of 8")
    assert estimate(wide, "ulx3s-85f").fits
    narrow = plan_network(network, lanes=2)  # two cores of 2 lanes, as built by the README
    assert dsps_of_plan(narrow, "ice40") == 2 + 2 + 1 and estimate(narrow, "icebreaker").fits
    # factors that are powers of two are shifts: no multiplier at all
    plain = NeuronParams(decay_bits=12, alpha=4096, beta=2048)
    shifts = IntegerNetwork([IntegerLayer(rng.integers(-9, 9, (64, 32)), plain)])
    assert dsps_of_plan(plan_network(shifts, lanes=4), "ecp5") == 0


def test_a_state_wider_than_the_multiplier_takes_two_blocks():
    """The TTFS 784-600-10 core's current is 21 bits: its i * alpha took two MULT18X18D per
    lane (stop 44: 228 for 114 lanes; the estimate had said 118, and the build failed in
    placement with 'no BELs remaining to implement cell type MULT18X18D')."""
    rng = np.random.default_rng(0)
    wide = NeuronParams(current_bits=21, membrane_bits=28, decay_bits=12, alpha=3970,
                        threshold=2177, fire_once=True)
    network = IntegerNetwork([IntegerLayer(rng.integers(-9, 9, (64, 40)), wide)])
    plan = plan_network(network, lanes=4)
    assert dsps_of_plan(plan, "ecp5") == 4 * 2 + 1  # and G = 10 words: j * G
    assert dsps_of_plan(plan, "ice40") == 4 * 2 + 1
    narrow = NeuronParams(current_bits=18, membrane_bits=28, decay_bits=12, alpha=3970,
                          threshold=2177, fire_once=True)
    plan = plan_network(IntegerNetwork([IntegerLayer(rng.integers(-9, 9, (64, 40)), narrow)]),
                        lanes=4)
    assert dsps_of_plan(plan, "ecp5") == 4 + 1 and dsps_of_plan(plan, "ice40") == 4 * 2 + 1


BUILDS = json.loads((Path(__file__).parent / "fit_builds.json").read_text())
#: how far above a measured figure the estimate may be (logic cells, flip-flops)
SLACK = {"luts": 1.25, "ffs": 1.3}


def plan_of_record(record):
    """The network (zero weights: the estimate depends on shapes and parameters only) and plan
    of a recorded build."""
    layers, fan_in = [], record["n_inputs"]
    for layer in record["layers"]:
        layers.append(IntegerLayer(np.zeros((fan_in, layer["n_neurons"]), dtype=np.int64),
                                   NeuronParams.from_dict(layer["params"]),
                                   layer["max_events_per_tick"]))
        fan_in = layer["n_neurons"]
    network = IntegerNetwork(tuple(layers), record["decision"])
    return network, plan_network(network, neurons_per_core=record["neurons_per_core"],
                                 lanes=record["lanes"])


def learning_of_record(record):
    """The :class:`LearningConfig` of a recorded learning build (zero stores: the estimate
    depends on the sizes only), None for an inference-only one."""
    spec = record.get("learning")
    if spec is None:
        return None
    n, h, m = spec["n_inputs"], spec["n_hidden"], spec["n_outputs"]
    return LearningConfig(**{**spec, "weight_bits": tuple(spec["weight_bits"]),
                             "stores": (np.zeros((n, h), dtype=np.int64),
                                        np.zeros((h, m), dtype=np.int64))})


def bound_violations(record, est) -> list[str]:
    """What is wrong with ``est`` against the measured figures of ``record`` (empty: fine)."""
    measured, wrong = record["measured"], []
    for key in ("luts", "ffs", "brams", "dsps"):
        if getattr(est, key) < measured[key]:
            wrong.append(f"{key}: estimate {getattr(est, key)} < measured {measured[key]}")
    for key, slack in SLACK.items():
        if getattr(est, key) > slack * measured[key]:
            wrong.append(f"{key}: estimate {getattr(est, key)} > {slack} x measured "
                         f"{measured[key]}")
    return wrong


def system_of_record(record) -> dict:
    """The estimate's keyword arguments for a recorded build's system settings (the banked
    MNIST-fast builds; none for the earlier records, built with the defaults)."""
    from spikeforge.boards.fit import system_layout
    from spikeforge.ir.system import SystemConfig

    system = record.get("system")
    return system_layout(SystemConfig.from_dict(system)) if system else {}


@pytest.mark.parametrize("record", BUILDS, ids=lambda r: f"{r['design']}-{r['board']}")
def test_estimate_bounds_the_measured_builds(record):
    network, plan = plan_of_record(record)
    est = estimate(plan, record["board"], record["input_depth"], network.decision,
                   learning=learning_of_record(record), **system_of_record(record))
    assert not bound_violations(record, est), bound_violations(record, est)


LEARNING = [r for r in BUILDS if r.get("learning")]


@pytest.mark.parametrize("record", LEARNING, ids=lambda r: f"{r['design']}-{r['board']}")
def test_a_learning_build_counts_the_engine(record):
    """The estimate of a learning build (the recorded 64-32-10) adds the engine to the
    inference-only estimate of the same plan: its stores (``StoreMap`` depths x ``8 +
    frac_bits`` bits) and tick memories in block RAM by the same tiling, the cores' weights
    as RAMs (the engine writes them), its logic and flip-flops, the multipliers of the
    cores' host address decode. (The recorded builds bound the whole estimate:
    test_estimate_bounds_the_measured_builds.)"""
    assert record["design"] == "learn-digits64x32x10-seed0"
    board = record["board"]
    network, plan = plan_of_record(record)
    learning = learning_of_record(record)
    family = BOARDS[board].family
    plain, learn = estimate(plan, board), estimate(plan, board, learning=learning)
    mems = {m["memory"]: m for m in learn.per_memory}
    tick_bits = learning.ticks.bit_length()  # 130 ticks: 8 bits, and the "recorded" bit
    assert [(mems[f"learning.{name}"]["depth"], mems[f"learning.{name}"]["width"])
            for name in ("store0", "store1", "t_in", "t_hid", "s_hid")] == \
        [(64 * 32, 8 + 8), (32 * 10, 8 + 8), (64, tick_bits + 1), (32, tick_bits + 1), (32, 2)]
    engine = sum(m["brams"] for name, m in mems.items() if name.startswith("learning."))
    weights = sum(bram_tiles(d, w, family, "ram") - bram_tiles(d, w, family, "rom")
                  for name, d, w, _ in memories_of_plan(plan, input_depth_for(board), family)
                  if name.endswith(".weights"))
    assert learn.brams == plain.brams + engine + weights
    # the engine alone, measured (docs/learning.md section 6): 3 DP16KD; 12 of 30 iCE40 EBR
    # (two stores of 2048 and 320 words, and the two tick memories, 1 EBR each)
    assert engine == {"ecp5": 3, "ice40": 12}[family]
    # more logic (the ROM bits an inference-only build leaves to LUTs are RAM here)
    assert learn.luts > plain.luts
    assert learn.ffs >= plain.ffs + ENGINE_LOGIC[family].ff_shell
    assert learn.dsps == plain.dsps + 3  # the 10-neuron core: index // 10, j * 10, pre * 10
    assert learn.learning is learning and plain.learning is None
    # the control: without the engine the estimate no longer bounds the learning build
    wrong = bound_violations(record, estimate(plan, board, record["input_depth"]))
    assert any(w.startswith("luts: estimate") for w in wrong), wrong


def test_bound_check_fails_on_an_underestimate(monkeypatch):
    """The control: a logic model that forgets the lanes' cost no longer bounds the builds."""
    import dataclasses

    from spikeforge.boards import fit

    record = max(BUILDS, key=lambda r: sum(r["lanes"]))
    family = fit.BOARDS[record["board"]].family
    cheap = dataclasses.replace(fit.LOGIC_MODELS[family], per_lane=0, ff_per_lane=0)
    monkeypatch.setitem(fit.LOGIC_MODELS, family, cheap)
    network, plan = plan_of_record(record)
    wrong = bound_violations(record, estimate(plan, record["board"], record["input_depth"]))
    assert any(w.startswith("luts: estimate") for w in wrong), wrong


def test_lanes_shape_the_memories():
    """A core of N neurons with L lanes stores G = ceil(N / L) words per input of L packed
    weights (N padded to G * L) and G state words of L lanes; on the ECP5 a word of 8 L bits
    is tiled in 9-, 18- or 36-bit tiles, whichever takes fewest."""
    plan = plan_network(_net(32, [10]), lanes=4)
    mems = {name: (depth, width) for name, depth, width, _ in memories_of_plan(plan, 64, "ecp5")}
    assert mems["core0.weights"] == (32 * 3, 32)
    assert mems["core0.current"] == (3, 4 * plan.cores[0].config.accumulator_bits)
    assert mems["core0.membrane"] == (3, 4 * 16)
    assert bram_tiles(784 * 8, 64, "ecp5", "rom") == 26  # 13 x 2 of 512 x 36 (measured: 25)
    assert bram_tiles(64 * 5, 16, "ecp5", "rom") == 1


def test_banked_weights_are_estimated_bank_by_bank():
    """With SystemConfig.weight_banks each core's weights are banks one block RAM deep:
    listed one by one, the last one shorter, and never fewer block RAMs than the unbanked
    memory. 784 x 8 words of 64 bits on the ECP5 take 26 block RAMs in 2,048-word banks
    (2,048 x 9) as in 1,024-word ones (1,024 x 18): the deeper banks, fewer of them."""
    plan = plan_network(_net(784, [64, 10]), lanes=[8, 1])
    banked = {n: (d, w) for n, d, w, _ in memories_of_plan(plan, 64, "ecp5", "ecp5")}
    assert [banked[f"core0.weights[{b}]"] for b in (0, 3)] == [(2048, 64),
                                                                 (784 * 8 - 3 * 2048, 64)]
    assert "core0.weights[4]" not in banked and "core0.weights" not in banked
    assert banked["core1.weights"] == (64 * 10, 8)  # 640 words: one 2,048-word bank
    plain, split = estimate(plan, "ulx3s-85f"), estimate(plan, "ulx3s-85f", weight_banks="ecp5")
    assert split.brams >= plain.brams and split.fits
    # full banks (SystemConfig.full_banks): the last bank, and the output core's only one,
    # 2,048 words deep: the last bank 8 block RAMs (2,048 x 9) where its 128 words took 2
    # (512 x 36), the output core's one block RAM either way
    full = {n: (d, w) for n, d, w, _ in memories_of_plan(plan, 64, "ecp5", "ecp5",
                                                          full_banks=True)}
    assert full["core0.weights[3]"] == (2048, 64) and full["core1.weights"] == (2048, 8)
    padded = estimate(plan, "ulx3s-85f", weight_banks="ecp5", full_banks=True)
    assert padded.brams == split.brams + 8 - 2 and padded.fits


@pytest.mark.parametrize("width, words, bank", [
    (144, 8064, 2048),  # a TTFS hidden core (672 rows, 18 lanes): 64 block RAMs either way
    (48, 1200, 1024),   # the TTFS output core (6 lanes): 3 + 2 block RAMs; 6 in one bank
    (512, 2676, 2048),  # MNIST-fast's hidden core (669 rows, 64 lanes): 86, against 87
    (8, 5000, 2048),    # one lane: 2,048 x 9 holds a weight per word (3 block RAMs; 5 in x18)
    (4, 100, 4096),     # narrower than a byte: its own aspect
    (48, 40, 2048),     # one bank either way: the deeper
])
def test_ecp5_weight_banks_take_the_fewest_block_rams(width, words, bank):
    """ir.system.weight_bank_words on the ECP5: the 9- or 18-bit aspect (or the weight's own,
    narrower) whose banks take the fewest block RAMs, the deeper on a tie; on the iCE40 the
    deepest aspect at least as wide, or the widest."""
    assert weight_bank_words(width, "ecp5", words) == bank
    assert weight_bank_words(16, "ice40", words) == 256
    assert weight_bank_words(64, "ice40", words) == 256 and weight_bank_words(8, "ice40", 9) == 512


def test_state_memories_in_block_ram_are_estimated_as_block_rams():
    """SystemConfig.state_memories = "block": every state memory takes block RAMs, even a
    shallow one that the iCE40 estimate otherwise leaves to flip-flops, and its flip-flops
    and their logic leave the logic estimate; state_memories_for chooses it on the iCE40
    where it fits, never on the ECP5 (LUT RAM), and says why."""
    from spikeforge.boards.fit import state_memories_for

    plan = plan_network(_net(64, [32, 10]), lanes=2)  # digits-l2: the 10-neuron core, G = 5
    kinds = {n: (d, w, k) for n, d, w, k in memories_of_plan(plan, 64, "ice40",
                                                             state_memories="block")}
    assert kinds["core1.current"][2] == "block" and kinds["core1.weights"][2] == "rom"
    d, w, _ = kinds["core1.current"]
    assert bram_tiles(d, w, "ice40", "ram") == 0 < bram_tiles(d, w, "ice40", "block")
    plain = estimate(plan, "icebreaker")
    block = estimate(plan, "icebreaker", state_memories="block")
    assert block.brams > plain.brams and block.luts < plain.luts and block.ffs < plain.ffs
    assert state_memories_for(plan, "icebreaker")[0] == "block"
    assert "block RAM" in state_memories_for(plan, "icebreaker")[1]
    assert state_memories_for(plan, "ulx3s-85f")[0] == ""


def test_build_refuses_weights_banked_for_another_family(tmp_path):
    from dataclasses import replace

    from spikeforge.boards.build import build_board, resolve_design

    name, artifact = resolve_design("core:4x4")
    banked = replace(artifact, system=replace(artifact.system, weight_banks="ecp5"))
    with pytest.raises(ConfigError, match="banked for ecp5 block RAMs, icebreaker is ice40"):
        build_board((name, banked), "icebreaker", tmp_path)
    assert not any(tmp_path.iterdir())


def test_logic_overflow_with_lanes_suggests_fewer_lanes():
    """core32x64-l4 did not fit the iCE40UP5K (6,263 logic cells of 5,280 before placement
    failed): the estimate refuses it and names lanes as the remedy; three lanes fewer are
    three lanes' cells fewer."""
    record = next(r for r in BUILDS if (r["design"], r["board"]) == ("core32x64-l4", "icebreaker"))
    _, plan = plan_of_record(record)
    with pytest.raises(ConfigError, match=r"logic: .* 4 lane\(s\) in all.*fewer lanes"):
        check_fit(plan, "icebreaker")
    one = plan_network(plan_of_record(record)[0], lanes=1)
    assert estimate(plan, "icebreaker").luts - estimate(one, "icebreaker").luts >= 3 * 360


def test_input_copies_only_on_the_ecp5_where_layer_0_cores_first_address_takes_an_adder():
    """input_copies_for: a register of the input index per layer-0 core on the ECP5, where
    layer 0 has two or more cores and a core's words are not a power of two (its first
    weight address, index * words, takes an adder); what compile --board sets, and why.
    Forced (``compile --input-copies``): wherever layer 0 has two or more cores, and
    refused by name where it has one; ``fmax`` (``compile --fmax``): the same, but by the
    rule where layer 0 has one core (and a one-word core's words said as one word)."""
    from spikeforge.boards.fit import input_copies_for

    rng = np.random.default_rng(0)
    network = IntegerNetwork((IntegerLayer(rng.integers(-50, 100, size=(20, 8)), NeuronParams()),
                              IntegerLayer(rng.integers(-50, 100, size=(8, 3)), NeuronParams())))
    three = plan_network(network, neurons_per_core=[3, 3])  # 3, 3 and 2 words
    assert input_copies_for(three, "ulx3s-85f") == (
        True, "the input index in a register per layer-0 core (ecp5, 3 layer-0 cores of 2/3 "
              "words)")
    assert input_copies_for(three, "icebreaker") == (
        False, "the input index in one register (ice40, 3 layer-0 cores of 2/3 words)")
    assert input_copies_for(plan_network(network), "ulx3s-85f") == (
        False, "the input index in one register (ecp5, 1 layer-0 core of 8 words)")
    assert input_copies_for(plan_network(network, neurons_per_core=[4, 3]), "ulx3s-85f") == (
        False, "the input index in one register (ecp5, 2 layer-0 cores of 4 words)")
    # compile --input-copies: wherever layer 0 has two or more cores, on either family
    for board in ("ulx3s-85f", "icebreaker"):
        family = "ecp5" if board == "ulx3s-85f" else "ice40"
        assert input_copies_for(plan_network(network, neurons_per_core=[4, 3]), board,
                                forced=True) == (
            True, f"the input index in a register per layer-0 core ({family}, 2 layer-0 "
                  f"cores of 4 words; --input-copies)")
    with pytest.raises(ConfigError, match=r"^--input-copies: layer 0 has one core"):
        input_copies_for(plan_network(network), "ulx3s-85f", forced=True)
    # compile --fmax: wherever layer 0 has two or more cores, else the rule, not refused
    assert input_copies_for(plan_network(network, neurons_per_core=[4, 3]), "ulx3s-85f",
                            fmax=True) == (
        True, "the input index in a register per layer-0 core (ecp5, 2 layer-0 cores of 4 "
              "words; --fmax)")
    assert input_copies_for(plan_network(network, lanes=[8, 3]), "ulx3s-85f", fmax=True) == (
        False, "the input index in one register (ecp5, 1 layer-0 core of 1 word)")


def test_sum_stage_on_the_ice40_where_a_core_takes_it():
    """sum_stage_for: the event sums registered on the iCE40, where a core has the 3 words
    the stage needs; not on the ECP5 (its designs stay as measured); what compile --board
    sets, and why."""
    from spikeforge.boards.fit import sum_stage_for

    rng = np.random.default_rng(0)
    network = IntegerNetwork((IntegerLayer(rng.integers(-50, 100, size=(20, 8)), NeuronParams()),
                              IntegerLayer(rng.integers(-50, 100, size=(8, 3)), NeuronParams())))
    plan = plan_network(network)  # 8 and 3 words
    assert sum_stage_for(plan, "icebreaker") == (
        True, "the event sums registered before their write-back (ice40, cores of 3/8 words)")
    assert sum_stage_for(plan, "ulx3s-85f") == (
        False, "the event sums written back from the adders (ecp5, cores of 3/8 words)")
    two = plan_network(network, lanes=[4, 2])  # 2 words each
    assert sum_stage_for(two, "icebreaker") == (
        False, "the event sums written back from the adders (ice40, cores of 2 words)")


def test_the_tile_stage_adds_its_weight_registers_to_the_flip_flops():
    """``tile_stage``: a tiled core (a hidden core of lane groups, state in LUT RAM,
    single-buffered; ``core_tile_stage``) registers a word of weights per event, a flip-flop
    per weight bit; no other core does. ``system_layout`` passes it, so ``spikeforge fit``
    of a tiled artifact counts them."""
    from spikeforge.boards.fit import system_layout, tile_flip_flops
    from spikeforge.ir.system import SystemConfig

    plan = plan_network(_net(9, [14, 5]), lanes=[5, 1])  # hidden: 5 lanes, 3 words
    hidden, output = plan.cores
    tiled = SystemConfig(tile_stage=True)
    assert tile_flip_flops(tiled, hidden, 2) == 5 * 8
    assert tile_flip_flops(tiled, output, 2) == 0
    for other in (SystemConfig(), SystemConfig(tile_stage=True, state_memories="block"),
                  SystemConfig(tile_stage=True, double_buffer=True)):
        assert tile_flip_flops(other, hidden, 2) == 0
    plain, tile = (estimate(plan, "ulx3s-85f", **system_layout(SystemConfig(tile_stage=t)))
                   for t in (False, True))
    assert tile.ffs - plain.ffs in (41, 42)  # 40 x LOGIC_MARGIN, rounded up twice
    assert tile.luts == plain.luts
