"""Will a plan fit a board? An estimate of block RAM, logic, flip-flops and multipliers before
synthesis, meant as an upper bound of what Yosys + nextpnr use.

Block RAM: every memory of the design is tiled onto the family's block RAM in its best aspect
ratio. A core of ``N`` neurons with ``L`` lanes has ``G = ceil(N / L)`` words per input (N is
padded to ``G * L``): the weights are ``n_inputs * G`` words of ``L * weight_bits`` bits (L
weights packed in a word), the neuron state ``G`` words of ``L`` times the accumulator,
membrane, adaptation and fired bits; plus the board top's input buffer (``input_depth`` x 16
bits).

* iCE40 UP5K: 30 EBR (``SB_RAM40_4K``) of 4 kbit as 256x16, 512x8, 1024x4 or 2048x2. (The
  4 SPRAM of 256 kbit are single-port and not inferred by Yosys; the design does not use
  them.) Small RAMs are left to flip-flops: those with 68 bits or fewer per EBR they would
  take (:data:`ICE40_BITS_PER_TILE`; shallow, wide state memories).
* ECP5 85F: 208 ``DP16KD`` of 18 kbit as 16384x1, 8192x2, 4096x4, 2048x9, 1024x18 or
  512x36: a word of 8 L bits is tiled in 9-, 18- or 36-bit tiles, whichever takes fewest
  (L = 8: two 36-bit tiles side by side). RAMs of at most :data:`ECP5_MAX_LUTRAM_DEPTH` words go to distributed
  RAM (``TRELLIS_DPR16X4``, 16 words x 4 bits each, counted as logic).

On a board the cores' host ports are unused, so the weight memories have no write port:
they are ROMs, and small ROMs become LUTs (:data:`ROM_LUT_BITS`: under 512 bits on the
iCE40; on the ECP5 a 96 x 16-bit ROM (1,536 bits) did, 96 x 32 bits did not). Artix-7 35T:
50 RAMB36 (100 RAMB18 of 18 kbit: 16384x1 ... 512x36).

Logic cells (what nextpnr counts: ``ICESTORM_LC`` on the iCE40, ``TRELLIS_COMB`` on the
ECP5) and flip-flops: a model per family (:class:`LogicModel`) -- a fixed shell (UART,
protocol engine, tick controller, routers, decision unit), a cost per output class growing
with the class count (the engine's and the decision unit's per-class counters and the result
multiplexer), per layer (the work counters' flip-flops), per core, per lane of a core
(accumulate, multiply, decay, saturate, compare: the seven-stage pipeline is mostly
flip-flops; the flip-flop constants were raised by one stage's width when the multipliers'
operands got their own register stage, stop 25), per lane group of a core wider than one
LUT (ECP5: MNIST-fast's 64-lane cores, stop 74), per distributed-RAM cell (ECP5) and per bit
of state kept in flip-flops (iCE40), per weight-ROM multiplexer bit and per ROM bit left to
LUTs, times :data:`LOGIC_MARGIN`. The constants were fitted to the builds listed in
``tests/boards/fit_builds.json`` (Yosys 0.70 / nextpnr of the YoWASP packages; design ->
measured and estimated figures in ``docs/boards.md``) and rounded up, so that the estimate
bounds every one of them; ``tests/boards/test_fit.py`` checks that it still does. The
Artix-7 figures are not measured (Vivado cannot run here): the ECP5 model scaled by 0.62.

Multipliers: per lane ``v*beta``, ``i*alpha`` and (adaptive) ``a*rho`` unless the factor is
0 or a power of two (Yosys turns those into shifts: the parameters are constants on a
board), per core one more when ``G`` is not a power of two (the weight address
``j * G``), and one per layer split over several cores.

:func:`check_fit` raises :class:`~spikeforge.ir.errors.ConfigError` with the reason and
what would make the plan fit (fewer, larger cores -- more neurons per core --, fewer
lanes, smaller layers, a larger board).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from spikeforge.boards.specs import BOARDS, FEED_DEPTH, board_spec, input_depth_for
from spikeforge.hdl.core import needs_multiplier
from spikeforge.hdl.learning import StoreMap
from spikeforge.hdl.system import LEARNING_MIN_HIDDEN
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.system import (
    BRAM_ASPECTS,
    LANES_PER_LUT,
    DoubleBuffer,
    SystemConfig,
    bank_depths,
    bram_blocks,
    core_sum_stage,
    core_tile_stage,
    double_buffered,
    has_lane_groups,
)

__all__ = ["FitEstimate", "LogicModel", "LOGIC_MODELS", "estimate", "check_fit", "suggestions",
           "system_layout", "state_memories_for", "input_copies_for", "sum_stage_for",
           "system_settings_for",
           "dsps_of_plan", "bram_tiles", "memories_of_plan", "logic_of_plan", "tile_flip_flops",
           "ICE40_BITS_PER_TILE", "ROM_LUT_BITS", "ECP5_MAX_LUTRAM_DEPTH", "EngineLogic",
           "ENGINE_LOGIC", "engine_memories", "engine_logic"]

#: ROMs of fewer bits than the first figure are left to LUTs by Yosys (the block RAM
#: estimate counts them as LUTs below it); the logic estimate counts them as LUTs below the
#: second (iCE40: 240 bits went to LUTs, 576 to an EBR; ECP5: 1,536 to LUTs, 3,072 to a
#: DP16KD)
ROM_LUT_BITS = {"ice40": (512, 512), "ecp5": (1537, 3072), "xc7": (1537, 3072)}
ECP5_MAX_LUTRAM_DEPTH = 64  # ECP5: shallower RAMs go to distributed RAM (TRELLIS_DPR16X4)
#: iCE40: Yosys keeps a RAM in flip-flops when it has 68 bits or fewer per EBR it
#: would take (seen: 8 x 17 bits in 2 EBR and 5 x 34 in 3 went to flip-flops; 8 x 16 in 1,
#: 5 x 32 in 2 to EBR). The block RAM estimate counts a RAM as EBR from
#: ``ICE40_BITS_PER_TILE[0]`` bits per tile, the logic estimate as flip-flops below
#: ``ICE40_BITS_PER_TILE[1]``: the boundary cases count on both sides.
ICE40_BITS_PER_TILE = (69, 80)
INPUT_BUFFER_BITS = 16  # bits of an input buffer item (15-bit index + tick marker)

_ASPECTS = BRAM_ASPECTS  # (words, bits) per family, from the IR


@dataclass(frozen=True)
class LogicModel:
    """Logic cells and flip-flops of a board design, per family (see the module docstring).
    ``cells = shell + per_class * classes + per_class2 * classes**2 + sum over cores of (per_core + per_lane * L +
    per_lutram * distributed-RAM cells + per_ff_bit * state bits in flip-flops + per_rom_mux *
    weight-ROM multiplexer bits + per_group * lane groups)``; flip-flops likewise with the
    ``ff_`` constants (state bits in flip-flops count one each) + per_rom_bit * bits of
    weight ROMs left to LUTs. The
    multiplexer bits of a weight ROM tiled ``rows`` block
    RAMs deep are ``width * (rows - 1)``: the read data is selected among the rows in logic
    (784 x 8 words of 64 bits on the ECP5: 13 rows of 512 x 36, about 300 cells)."""

    shell: float
    per_class: float
    per_class2: float
    per_core: float
    per_lane: float
    per_lutram: float
    per_ff_bit: float
    per_rom_mux: float
    per_rom_bit: float
    ff_shell: float
    ff_per_class: float
    ff_per_core: float
    ff_per_lane: float
    #: per layer: the work counters (events, spikes) of the system and their registered
    #: copies in the protocol engine, 4 x 32 bits, and the per-tick spike count (their
    #: logic cells, +552 on the digits build, are inside the cell model's margin). The
    #: engine reads the counters without copies since stop 63 (2 x 32 bits fewer): kept
    #: as fitted to the recorded builds, which had them, so a bound still
    ff_per_layer: float = 136
    #: per lane and accumulator bit of a double-buffered core (``SystemConfig.double_buffer``):
    #: the adder of the current and the update's buffer, the buffers' write data, the
    #: event's buffer select and their registers (the buffers themselves are memories,
    #: counted as such). Measured at stop 59 against the same plan single-buffered: the
    #: iCE40 digits 64-32-10 build (lanes [2, 2], 58 lane-bits, buffers in block RAM) +619
    #: cells and +258 flip-flops, 10.7 and 4.4 per lane-bit; the ECP5 TTFS 784-600-10
    #: ([18, 10] in 3 + 1 cores, 1,344 lane-bits, buffers in LUT RAM: 3,380 cells of the
    #: estimate) +9,906 cells and +3,172 flip-flops, 4.9 and 2.4 per lane-bit beside the
    #: LUT RAM
    per_buffer_bit: float = 11
    ff_per_buffer_bit: float = 4.5
    #: per lane group (:data:`~spikeforge.ir.system.LANES_PER_LUT` lanes) of a core whose
    #: state memories are split per group (:func:`~spikeforge.ir.system.has_lane_groups`, in
    #: LUT RAM): the group's address registers and select copies, and what the recorded small
    #: builds' lanes did not show of a 64-lane core's. Fitted at stop 74 to MNIST-fast on the
    #: ECP5 (784-256-10 with 115 silent inputs dropped, lanes [64, 10] in 2 + 1 cores, 32
    #: groups: 47,304 logic cells built, 40,742 estimated without it) and to the TTFS
    #: 784-600-10 ([18, 10] in 3 + 1, hidden cores double-buffered, 15 groups: 36,299 built,
    #: 31,022 estimated at stop 66), rounded up; 0 where no build had groups (iCE40)
    per_group: float = 0


#: fitted to the builds of tests/boards/fit_builds.json, rounded up (see the module docstring)
#: on top of the fitted model: nextpnr's packing of the same design moves by a few per cent
#: between small changes elsewhere (the logic cells are a bound, not a prediction)
LOGIC_MARGIN = 1.04
LOGIC_MODELS = {
    "ice40": LogicModel(shell=2000, per_class=45, per_class2=1.5, per_core=200, per_lane=360,
                        per_lutram=0, per_ff_bit=1.1, per_rom_mux=0.4, per_rom_bit=0.2,
                        ff_shell=670, ff_per_class=32, ff_per_core=160, ff_per_lane=315),
    "ecp5": LogicModel(shell=2300, per_class=15, per_class2=1.5, per_core=200, per_lane=210,
                       per_lutram=5, per_ff_bit=0, per_rom_mux=0.4, per_rom_bit=0.2,
                       ff_shell=670, ff_per_class=32, ff_per_core=170, ff_per_lane=290,
                       per_buffer_bit=5, ff_per_buffer_bit=2.5, per_group=400),
}
LOGIC_MODELS["xc7"] = LogicModel(*(0.62 * x for x in vars(LOGIC_MODELS["ecp5"]).values()))


@dataclass(frozen=True)
class EngineLogic:
    """What a learning build adds in logic for ``H`` hidden neurons, besides the engine's
    memories (:func:`engine_logic`): ``shell + per_hidden * H`` logic cells and
    ``ff_shell + ff_per_hidden * H`` flip-flops -- the engine's control and arithmetic,
    the output-tick registers, the system's training inference and weight-change decode
    into the cores, and the protocol engine's TRAIN, LEARN and STORE."""

    shell: float
    per_hidden: float
    ff_shell: float
    ff_per_hidden: float


#: calibrated on the engine alone (docs/learning.md section 6, ECP5: 1,394 LCs / 405 FFs for
#: 64-32-10 and 1,716 / 427 for 64-100-10: about 5 cells per hidden neuron) and on the
#: ECP5 learning build of 64-32-10 against the inference-only build of the same network
#: (docs/boards.md, "Learning builds": +1,717 cells, +520 FFs, the engine with the system's
#: and the protocol's learning parts; +1,691 and +570 once the system registered the weight
#: changes), rounded up
ENGINE_LOGIC = {
    "ice40": EngineLogic(shell=1700, per_hidden=5, ff_shell=600, ff_per_hidden=0.5),
    "ecp5": EngineLogic(shell=1500, per_hidden=5, ff_shell=540, ff_per_hidden=0.5),
}
ENGINE_LOGIC["xc7"] = EngineLogic(*(0.62 * x for x in vars(ENGINE_LOGIC["ecp5"]).values()))


def bram_tiles(depth: int, width: int, family: str, kind: str = "ram") -> int:
    """Block RAMs for a ``depth`` x ``width`` memory (``kind`` "ram" or "rom"; 0 if it goes
    to logic; "block": a RAM marked for block RAM, never in logic)."""
    if kind == "rom" and depth * width < ROM_LUT_BITS[family][0]:
        return 0
    if family == "ice40" and kind == "ram" \
            and depth * width < ICE40_BITS_PER_TILE[0] * bram_blocks(depth, width, family):
        return 0
    if family == "ecp5" and kind == "ram" and depth <= ECP5_MAX_LUTRAM_DEPTH:
        return 0
    return bram_blocks(depth, width, family)


def _state_memories(core, double_buffer: bool = False) -> list[tuple[str, int, int]]:
    """``(name, depth, width)`` of a core's neuron-state memories: ``G`` words of ``L`` lanes
    (with ``double_buffer`` the two event buffers beside the current, as wide as it).
    Without a host port on the board, state that never reaches an output is removed."""
    p = core.config.params
    L, G = core.config.lanes, core.config.words
    current = L * core.config.accumulator_bits
    mems = [("current", G, current), ("membrane", G, L * p.membrane_bits)]
    if double_buffer:
        mems += [("buffer0", G, current), ("buffer1", G, current)]
    if p.adaptive:
        mems.append(("adapt", G, L * p.adapt_bits))
    if p.fire_once:
        mems.append(("fired", G, L))
    return mems


def engine_memories(learning) -> list[tuple[str, int, int]]:
    """``(name, depth, width)`` of the learning engine's memories
    (:class:`~spikeforge.hdl.learning.LearningEngine` of the
    :class:`~spikeforge.ir.learning.LearningConfig` ``learning``): the two stores
    (``StoreMap`` depths, ``weight_bits + frac_bits`` bits), the first-spike ticks of the
    inputs and of the hidden neurons (the tick, ``T`` included, and a "recorded" bit) and
    the hidden deltas (2 bits). The output ticks are registers (:data:`ENGINE_LOGIC`)."""
    tick_bits = max(1, learning.ticks.bit_length())  # as hdl/learning.py: holds T
    depths = StoreMap(learning).depths
    return [("learning.store0", depths[0], learning.acc_bits(0)),
            ("learning.store1", depths[1], learning.acc_bits(1)),
            ("learning.t_in", learning.n_inputs, tick_bits + 1),
            ("learning.t_hid", learning.n_hidden, tick_bits + 1),
            ("learning.s_hid", learning.n_hidden, 2)]


def memories_of_plan(plan, input_depth: int, family: str = "ice40",
                     weight_banks: str = "", learning=None,
                     state_memories: str = "",
                     double_buffer: DoubleBuffer = False,
                     full_banks: bool = False) -> list[tuple[str, int, int, str]]:
    """``(name, depth, width, kind)`` of every memory of the board design; with
    ``weight_banks`` (:class:`~spikeforge.ir.system.SystemConfig`) each core's weights as
    its banks, whose last one may round up to whole block RAMs; with ``state_memories``
    ``"block"`` the cores' state memories of kind "block". ``learning`` (a learning
    build's :class:`~spikeforge.ir.learning.LearningConfig`): the engine writes the cores'
    weights, so they are RAMs, not ROMs, and its own memories (:func:`engine_memories`)
    come on top. ``double_buffer`` (:attr:`SystemConfig.double_buffer`): the two event
    buffers of each double-buffered core too. ``full_banks``: every bank as deep as the
    others (:attr:`SystemConfig.full_banks`)."""
    weights = "rom" if learning is None else "ram"
    mems = [("input_buffer", input_depth, INPUT_BUFFER_BITS, "ram"),
            ("input_feed", FEED_DEPTH - 1, INPUT_BUFFER_BITS, "ram")]
    for core in plan.cores:
        cfg = core.config
        tag = f"core{core.core_id}"
        depth, width = core.n_inputs * cfg.words, cfg.lanes * cfg.params.weight_bits
        banks = (bank_depths(width, weight_banks, depth, full_banks) if weight_banks
                 else [depth])
        if len(banks) == 1:
            mems.append((f"{tag}.weights", banks[0], width, weights))
        else:
            mems += [(f"{tag}.weights[{b}]", d, width, weights) for b, d in enumerate(banks)]
        state = "block" if state_memories == "block" else "ram"
        mems += [(f"{tag}.{name}", d, w, state) for name, d, w
                 in _state_memories(core, double_buffered(double_buffer, core.layer))]
    if learning is not None:
        mems += [(name, d, w, "ram") for name, d, w in engine_memories(learning)]
    return mems


#: the signed operand width of a family's multiplier block (ECP5 MULT18X18D: 18 x 18; iCE40
#: SB_MAC16: 16 x 16); Yosys splits a wider operand over several blocks
DSP_OPERAND_BITS = {"ecp5": 18, "ice40": 16}


def _dsp_bits(family: str) -> int:
    """The operand width of ``family``'s multiplier block (the narrowest known elsewhere)."""
    return DSP_OPERAND_BITS.get(family, min(DSP_OPERAND_BITS.values()))


def _multipliers(width: int, factor: int, family: str) -> int:
    """Multiplier blocks of ``x * factor`` for a signed ``width``-bit ``x`` and a constant
    ``factor``: 0 for 0 or a power of two (a shift), else one block per pair of operand
    slices (the 784-600-10 TTFS core's 21-bit current times alpha: two MULT18X18D per lane,
    measured at stop 44 -- 228 for 114 lanes, where one per lane was estimated)."""
    if not needs_multiplier(factor):
        return 0
    w = _dsp_bits(family)
    return -(-width // w) * -(-(factor.bit_length() + 1) // w)


def dsps_of_plan(plan, family: str, learning=None) -> int:
    """An upper bound on the DSP multipliers on ``family``: per lane ``v*beta``,
    ``i*alpha`` and, if adaptive, ``a*rho`` (each unless its factor is 0 or a power of two;
    several blocks where the state is wider than the block's operand: :func:`_multipliers`),
    per core the weight address ``j * G`` when ``G`` is not a power of two, and one per
    layer split over several cores. (Measured: one per lane where only beta is a true
    multiplier and the membrane fits the block, plus those two.)

    A learning build (``learning``) writes the cores' weights through their host ports,
    whose address decode Yosys keeps then: per core a product by the reciprocal of ``N``
    (``index // N``), of ``L`` (twice) and the word ``j * G``, and the system's
    ``pre * N`` of the weight change, each unless the constant is a power of two. (Measured
    on 64-32-10: 3 more, all of the 10-neuron core; the engine itself has no multiplier.)"""
    total = 0
    for core in plan.cores:
        p, cfg = core.config.params, core.config
        per_lane = (_multipliers(p.membrane_bits, p.beta, family)
                    + _multipliers(p.current_bits, p.alpha, family)
                    + (_multipliers(p.adapt_bits + 1, p.rho, family) if p.adaptive else 0))
        total += cfg.lanes * per_lane + needs_multiplier(cfg.words)
        if learning is not None:
            total += (2 * needs_multiplier(cfg.n_neurons) + 2 * needs_multiplier(cfg.lanes)
                      + needs_multiplier(cfg.words))
    total += sum(1 for layer in range(plan.n_layers) if len(plan.cores_of_layer(layer)) > 1)
    return total


def _lutram_cells(core, mems=None) -> int:
    """ECP5 distributed-RAM cells (16 words x 4 bits) of a core's state memories (or of
    the ``(name, depth, width)`` memories ``mems``)."""
    mems = _state_memories(core) if mems is None else mems
    return sum(math.ceil(d / 16) * math.ceil(w / 4) for _, d, w in mems
               if d <= ECP5_MAX_LUTRAM_DEPTH)


def _ff_state_bits(core, mems=None) -> int:
    """iCE40 state bits that Yosys may keep in flip-flops (small memories; of ``mems`` if
    given)."""
    mems = _state_memories(core) if mems is None else mems
    return sum(d * w for _, d, w in mems
               if d * w < ICE40_BITS_PER_TILE[1] * bram_blocks(d, w, "ice40"))


def _mux_bits(depth: int, width: int, family: str, kind: str) -> int:
    """``width * (rows - 1)`` of a memory in its best tiling (0 if in logic)."""
    if bram_tiles(depth, width, family, kind) == 0:
        return 0
    d, w = min(_ASPECTS[family], key=lambda a: math.ceil(depth / a[0]) * math.ceil(width / a[1]))
    return width * (math.ceil(depth / d) - 1)


def _weights_of(core) -> tuple[str, int, int]:
    cfg = core.config
    return ("weights", core.n_inputs * cfg.words, cfg.lanes * cfg.params.weight_bits)


def _rom_mux_bits(core, family: str, kind: str = "rom") -> int:
    """``width * (rows - 1)`` of a core's weight ROM (RAM in a learning build) in its best
    tiling (0 if in logic)."""
    _, depth, width = _weights_of(core)
    return _mux_bits(depth, width, family, kind)


def _rom_lut_bits(core, family: str) -> int:
    """Bits of a core's weight ROM that Yosys may leave to LUTs (small ROMs)."""
    cfg = core.config
    bits = core.n_inputs * cfg.words * cfg.lanes * cfg.params.weight_bits
    return bits if bits < ROM_LUT_BITS[family][1] else 0


def logic_of_plan(plan, family: str, learning=None, state_memories: str = "",
                  double_buffer: DoubleBuffer = False,
                  tile_stage: bool = False) -> tuple[int, int]:
    """``(logic cells, flip-flops)`` of the board design of ``plan`` (:class:`LogicModel`);
    ``learning``: a learning build (the cores' weights are RAMs written by the engine, and
    the engine's logic, :func:`engine_logic`, comes on top); ``state_memories`` ``"block"``:
    no state memory in flip-flops or LUT RAM; ``double_buffer``: the double-buffered cores'
    event buffers in LUT RAM or flip-flops too, and their logic
    (:attr:`LogicModel.per_buffer_bit`); ``tile_stage``: the tiled cores' weight registers,
    a flip-flop per weight bit of a word (:func:`tile_flip_flops`)."""
    model = LOGIC_MODELS[family]
    tiles = SystemConfig(tile_stage=tile_stage, state_memories=state_memories,
                         double_buffer=double_buffer)
    n_classes = sum(c.n_neurons for c in plan.cores_of_layer(plan.n_layers - 1))
    cells = model.shell + model.per_class * n_classes + model.per_class2 * n_classes ** 2
    ffs = model.ff_shell + model.ff_per_class * n_classes + model.ff_per_layer * plan.n_layers
    for core in plan.cores:
        lanes = core.config.lanes
        # a learning build's weight RAMs: distributed RAM / flip-flops when small, like state
        buffered = double_buffered(double_buffer, core.layer)
        mems = ((_state_memories(core, buffered) if state_memories != "block" else [])
                + ([_weights_of(core)] if learning is not None else []))
        lutram = _lutram_cells(core, mems) if family == "ecp5" else 0
        ff_bits = _ff_state_bits(core, mems) if family == "ice40" else 0
        if learning is None:
            weights = (model.per_rom_mux * _rom_mux_bits(core, family)
                       + model.per_rom_bit * _rom_lut_bits(core, family))
        else:
            weights = model.per_rom_mux * _rom_mux_bits(core, family, "ram")
        cells += (model.per_core + model.per_lane * lanes + model.per_lutram * lutram
                  + model.per_ff_bit * ff_bits + weights)
        if state_memories != "block" and has_lane_groups(lanes, core.config.words):
            cells += model.per_group * -(-lanes // LANES_PER_LUT)
        ffs += model.ff_per_core + model.ff_per_lane * lanes + ff_bits
        if buffered:
            lane_bits = lanes * core.config.accumulator_bits
            cells += model.per_buffer_bit * lane_bits
            ffs += model.ff_per_buffer_bit * lane_bits
        ffs += tile_flip_flops(tiles, core, plan.n_layers)
    if learning is not None:
        engine_cells, engine_ffs = engine_logic(learning, family)
        cells, ffs = cells + engine_cells, ffs + engine_ffs
    return math.ceil(cells * LOGIC_MARGIN), math.ceil(ffs * LOGIC_MARGIN)


def tile_flip_flops(system: SystemConfig, core, n_layers: int) -> int:
    """The flip-flops the tile stage adds to ``core`` in ``system``
    (:func:`~spikeforge.ir.system.core_tile_stage`): each lane group's register of its event
    weights, one per weight bit of a word. Its address, select and host-read registers are a
    few dozen more, within :data:`LOGIC_MARGIN` (MNIST-fast's two 64-lane hidden cores: the
    weights 1,024 flip-flops, the build +1,038; docs/boards.md, stop 73)."""
    config = core.config
    if not core_tile_stage(system, core.layer, n_layers, config.lanes, config.words):
        return 0
    return config.lanes * config.params.weight_bits


def engine_logic(learning, family: str) -> tuple[float, float]:
    """``(logic cells, flip-flops)`` a learning build adds for its engine (before
    :data:`LOGIC_MARGIN`): :data:`ENGINE_LOGIC`'s shell and cost per hidden neuron, the
    engine's small memories in distributed RAM (ECP5) or flip-flops (iCE40), and the
    multiplexers of stores tiled several block RAMs deep."""
    model, engine = LOGIC_MODELS[family], ENGINE_LOGIC[family]
    mems = engine_memories(learning)
    cells = engine.shell + engine.per_hidden * learning.n_hidden
    ffs = engine.ff_shell + engine.ff_per_hidden * learning.n_hidden
    if family == "ecp5":
        cells += model.per_lutram * _lutram_cells(None, mems)
    if family == "ice40":
        ff_bits = _ff_state_bits(None, mems)
        cells, ffs = cells + model.per_ff_bit * ff_bits, ffs + ff_bits
    cells += model.per_rom_mux * sum(_mux_bits(d, w, family, "ram") for _, d, w in mems[:2])
    return cells, ffs


@dataclass
class FitEstimate:
    board: str
    family: str
    brams: int
    brams_available: int
    luts: int
    luts_available: int
    memory_bits: int
    per_memory: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    dsps: int = 0
    dsps_available: int = 0
    ffs: int = 0
    ffs_available: int = 0
    learning: object = None  #: the LearningConfig of a learning build (None: inference only)

    @property
    def fits(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {"board": self.board, "brams": self.brams, "brams_available": self.brams_available,
                "luts": self.luts, "luts_available": self.luts_available,
                "ffs": self.ffs, "ffs_available": self.ffs_available,
                "dsps": self.dsps, "dsps_available": self.dsps_available,
                "memory_bits": self.memory_bits, "fits": self.fits, "problems": self.problems,
                "learning": self.learning is not None}


def estimate(plan, board: str, input_depth: int | None = None, decision=None, *,
             weight_banks: str = "", learning=None, state_memories: str = "",
             double_buffer: DoubleBuffer = False, tile_stage: bool = False,
             full_banks: bool = False) -> FitEstimate:
    """Block RAMs, logic cells, flip-flops and multipliers of the board top of ``plan`` on
    ``board`` (upper bounds, see the module docstring). ``decision`` is accepted for
    compatibility: the logic model is that of spike-count, the larger decision unit.
    ``weight_banks`` and ``state_memories``: the system's (banked weight memories, state
    memories in block RAM), ``double_buffer`` (two event buffers per core) and ``tile_stage``
    (the tiled cores' weight registers), ``full_banks`` (padded last banks). ``learning``:
    a learning build's
    :class:`~spikeforge.ir.learning.LearningConfig` (the engine's stores and tick memories,
    its logic, the cores' weights as RAMs)."""
    spec = board_spec(board)
    family = spec.family
    depth = input_depth_for(board, input_depth)
    per_memory, brams, bits = [], 0, 0
    for name, d, w, kind in memories_of_plan(plan, depth, family, weight_banks, learning,
                                             state_memories, double_buffer, full_banks):
        tiles = bram_tiles(d, w, family, kind)
        per_memory.append({"memory": name, "depth": d, "width": w, "brams": tiles})
        brams += tiles
        bits += d * w
    n_classes = sum(c.n_neurons for c in plan.cores_of_layer(plan.n_layers - 1))
    luts, ffs = logic_of_plan(plan, family, learning, state_memories, double_buffer,
                              tile_stage)
    est = FitEstimate(board, family, brams, spec.resources["brams"], luts, spec.resources["luts"],
                      bits, per_memory, dsps=dsps_of_plan(plan, family, learning),
                      dsps_available=spec.resources.get("dsps", 0), ffs=ffs,
                      ffs_available=spec.resources.get("ffs", 0), learning=learning)
    if brams > est.brams_available:
        worst = max(per_memory, key=lambda m: m["brams"])
        est.problems.append(
            f"block RAM: needs about {brams} of {est.brams_available} "
            f"({spec.note.split(';')[0]}); the largest memory is {worst['memory']} "
            f"({worst['depth']} x {worst['width']} bits = {worst['brams']} block RAMs)")
    if est.dsps > est.dsps_available:
        est.problems.append(
            f"DSP: needs up to {est.dsps} multipliers of {est.dsps_available} (each lane of a "
            f"core multiplies v by beta and i by alpha, and a by rho if adaptive, a state "
            f"wider than {_dsp_bits(family)} bits takes two blocks)")
    model = LOGIC_MODELS[family]
    if luts > est.luts_available:
        lanes = sum(c.config.lanes for c in plan.cores)
        est.problems.append(
            f"logic: needs about {luts} logic cells of {est.luts_available} for "
            f"{len(plan.cores)} core(s) with {lanes} lane(s) in all (each core about "
            f"{model.per_core:.0f} cells and each lane {model.per_lane:.0f} more"
            + (f", double-buffered {model.per_buffer_bit:.0f} more per accumulator bit"
               if double_buffer else "")
            + f") and {n_classes} output classes (about "
            f"{model.per_class + model.per_class2 * n_classes:.0f} cells each: counters, "
            f"result multiplexer and decision unit)"
            + (f", and the learning engine (about "
               f"{math.ceil(engine_logic(learning, family)[0])} cells)"
               if learning is not None else ""))
    elif ffs > est.ffs_available:
        est.problems.append(f"flip-flops: needs about {ffs} of {est.ffs_available}")
    return est


def suggestions(plan, est: FitEstimate) -> str:
    """What would make ``plan`` fit where ``est`` says it does not (one line)."""
    hints, learning = [], est.learning
    if any(p.startswith("DSP") for p in est.problems):
        hints.append("fewer lanes (compile --lanes) or fewer cores: the multipliers grow with "
                     "both")
    if any(p.startswith(("logic", "flip-flops")) for p in est.problems) \
            and any(c.config.lanes > 1 for c in plan.cores) \
            and not any(p.startswith("DSP") for p in est.problems):
        hints.append("fewer lanes (compile --lanes): each lane adds a datapath")
    if any("logic" in p for p in est.problems) and len(plan.cores) > plan.n_layers \
            and learning is None:
        hints.append(f"more neurons per core (fewer cores: {len(plan.cores)} now, at least "
                     f"{plan.n_layers}, one per layer; e.g. plan_network(network) without "
                     f"neurons_per_core)")
    if learning is not None:
        hints += _learning_hints(learning, est)
    if any("block RAM" in p for p in est.problems) and learning is None:
        biggest = max(plan.cores, key=lambda c: c.n_inputs * c.n_neurons)
        hints.append(f"smaller layers or fewer inputs (layer {biggest.layer} holds "
                     f"{biggest.n_inputs} x "
                     f"{sum(c.n_neurons for c in plan.cores_of_layer(biggest.layer))} weights), "
                     f"or narrower weights (weight_bits)")
    larger = [name for name, spec in BOARDS.items()
              if spec.family != "xc7" and spec.resources["brams"] * spec.bram_bits
              > est.brams_available * BOARDS[est.board].bram_bits]
    for name in larger:
        other = estimate(plan, name, learning=learning)
        if other.luts > other.luts_available:
            continue
        if other.fits:
            hints.append(f"a larger board: {name} ({other.brams} of {other.brams_available} "
                         f"block RAMs, ~{other.luts} of {other.luts_available} LUTs)")
            break
    else:
        if est.board != "ulx3s-85f":
            hints.append("a larger board (none of the supported ones is large enough as planned)")
    return "; ".join(hints) if hints else "a larger board"


def _learning_hints(learning, est: FitEstimate) -> list[str]:
    """What a learning build could change: fewer hidden neurons where that can be enough
    (block RAM: the stores grow with them; logic: only if the excess is within what they
    cost), else nothing (the engine itself, the network's other sizes are the rule's)."""
    per_hidden = learning.n_inputs + learning.n_outputs
    saving = (ENGINE_LOGIC[est.family].per_hidden * LOGIC_MARGIN
              * (learning.n_hidden - LEARNING_MIN_HIDDEN))  # at the fewest, at most
    short_of_logic = est.luts - est.luts_available
    if learning.n_hidden > LEARNING_MIN_HIDDEN and (est.brams > est.brams_available
                                  or 0 < short_of_logic <= saving):
        return [f"fewer hidden neurons (--hidden, {learning.n_hidden} now: each one holds "
                f"{per_hidden} stored weights of {learning.acc_bits(0)} bits and costs "
                f"about {ENGINE_LOGIC[est.family].per_hidden:g} logic cells)"]
    if short_of_logic > 0:
        return [f"no --hidden is small enough: the system and the learning engine alone "
                f"need more logic than {est.board} has"]
    return []


def state_memories_for(plan, board: str, *, weight_banks: str = "",
                       double_buffer: DoubleBuffer = False) -> tuple[str, str]:
    """:attr:`SystemConfig.state_memories <spikeforge.ir.system.SystemConfig>` for ``plan``
    on ``board``, and why: ``"block"`` on the iCE40 where the plan still fits with every
    state memory in block RAM (a shallow one would be flip-flops written through a decode of
    its address: stop 37's digits build, 43.1 MHz that way, 49.0 MHz in block RAM); else
    ``""`` (the ECP5 puts shallow memories in LUT RAM, which costs no decode)."""
    spec = board_spec(board)
    if spec.family != "ice40":
        return "", f"state memories where Yosys puts them ({spec.family}: LUT RAM when shallow)"
    est = estimate(plan, board, weight_banks=weight_banks, state_memories="block",
                   double_buffer=double_buffer)
    if est.fits:
        return "block", (f"state memories in block RAM, none in flip-flops (about {est.brams} "
                         f"of {est.brams_available} block RAMs)")
    return "", f"state memories where Yosys puts them: in block RAM, {'; '.join(est.problems)}"


def _words(words: list[int]) -> str:
    """``2/3 words``, ``1 word``: the distinct words per event of some cores, said."""
    return f"{'/'.join(map(str, words))} word{'' if words == [1] else 's'}"


def input_copies_for(plan, board: str, forced: bool = False,
                     fmax: bool = False) -> tuple[bool, str]:
    """:attr:`SystemConfig.input_copies <spikeforge.ir.system.SystemConfig>` for ``plan`` on
    ``board``, and why: on the ECP5, where layer 0 has two or more cores and a core's first
    weight address (``index * words``) takes an adder, i.e. its words are not a power of
    two; ``forced`` (``compile --input-copies``): wherever layer 0 has two or more cores
    (:class:`ConfigError` where it has one); ``fmax`` (``compile --fmax``): wherever layer 0
    has two or more cores, else by the rule. The TTFS 784-600-10 design's three 12-word
    hidden cores read the index from one register across the die, through one adder that
    Yosys shared: 74.3 MHz; with a register each, 76.7 (docs/boards.md, stop 53). Where the
    address is a shift, MNIST-fast's two 2-word cores gave no sign of a gain: its build with
    copies did not route with router1 in 34 minutes (stop 49's without them: 116.0 MHz) and
    routed at 81.6 MHz with router2 (stop 53). But the cores' first-word registers, of the
    same inputs, are then one register to Yosys too: MNIST-fast's network in four 16-lane
    cores of 4 words placed at 114.9 MHz with that register reaching core 0_3's banks across
    the die, at 128.1 with ``--input-copies`` (router1, stop 77). Not the default there:
    every shipped design of two or more such cores would change."""
    spec = board_spec(board)
    first = [core for core in plan.cores if core.layer == 0]
    words, n = sorted({core.config.words for core in first}), len(first)
    where = (f"{spec.family}, {n} layer-0 core{'s' if n != 1 else ''} of "
             f"{_words(words)}")
    if forced:
        if n < 2:
            raise ConfigError("--input-copies: layer 0 has one core (the copies are one per "
                              "layer-0 core; --neurons-per-core splits it)")
        return True, f"the input index in a register per layer-0 core ({where}; --input-copies)"
    if fmax and n >= 2:
        return True, f"the input index in a register per layer-0 core ({where}; --fmax)"
    if spec.family != "ecp5" or n < 2 or all(g & (g - 1) == 0 for g in words):
        return False, f"the input index in one register ({where})"
    return True, f"the input index in a register per layer-0 core ({where})"


def sum_stage_for(plan, board: str) -> tuple[bool, str]:
    """:attr:`SystemConfig.sum_stage <spikeforge.ir.system.SystemConfig>` for ``plan`` on
    ``board``, and why: on the iCE40, where the event adders' carry chains run into the
    state block RAMs' write data behind their select (the TTFS demo's critical path at stop
    54: 22.5 ns, 17 carries and 4 LUTs), if a core takes it (3 words or more per event).
    The ECP5 builds' limits lie elsewhere (weight and state addresses across the die), so
    their designs stay as measured."""
    spec = board_spec(board)
    words = sorted({core.config.words for core in plan.cores})
    where = f"{spec.family}, cores of {_words(words)}"
    # whether a core takes the stage: the one rule the system applies (core_sum_stage)
    takes = any(core_sum_stage(SystemConfig(sum_stage=True), g) for g in words)
    if spec.family != "ice40" or not takes:
        return False, f"the event sums written back from the adders ({where})"
    return True, f"the event sums registered before their write-back ({where})"


def system_settings_for(plan, board: str, *, weight_banks: str = "",
                        double_buffer: DoubleBuffer = False,
                        input_copies: bool = False, fmax: bool = False) -> tuple[dict, list[str]]:
    """What ``compile --board`` chooses for ``plan`` on ``board`` besides the weight banks, as
    :class:`~spikeforge.ir.system.SystemConfig` fields (``state_memories``, ``input_copies``,
    ``sum_stage``: :func:`state_memories_for`, :func:`input_copies_for` -- ``input_copies``
    its ``forced``, ``fmax`` its ``fmax`` --, :func:`sum_stage_for`), and the reason for
    each, in that order."""
    (state, why_state), (copies, why_copies), (sums, why_sums) = (
        state_memories_for(plan, board, weight_banks=weight_banks, double_buffer=double_buffer),
        input_copies_for(plan, board, input_copies, fmax), sum_stage_for(plan, board))
    return ({"state_memories": state, "input_copies": copies, "sum_stage": sums},
            [why_state, why_copies, why_sums])


def system_layout(system) -> dict:
    """The keyword arguments of :func:`estimate` and :func:`check_fit` that a
    :class:`~spikeforge.ir.system.SystemConfig` decides (its memory layout): one place to
    pass an artifact's system to the estimate."""
    return {"weight_banks": system.weight_banks, "state_memories": system.state_memories,
            "double_buffer": system.double_buffer, "tile_stage": system.tile_stage,
            "full_banks": system.full_banks}


def check_fit(plan, board: str, input_depth: int | None = None, decision=None, *,
              weight_banks: str = "", learning=None, state_memories: str = "",
              double_buffer: DoubleBuffer = False, tile_stage: bool = False,
              full_banks: bool = False) -> FitEstimate:
    """The estimate, or :class:`ConfigError` saying why the plan does not fit and what would
    make it fit."""
    est = estimate(plan, board, input_depth, decision, weight_banks=weight_banks,
                   learning=learning, state_memories=state_memories,
                   double_buffer=double_buffer, tile_stage=tile_stage,
                   full_banks=full_banks)
    if not est.fits:
        raise ConfigError(f"the plan does not fit {board}: " + "; ".join(est.problems)
                          + ". To make it fit: " + suggestions(plan, est))
    return est
