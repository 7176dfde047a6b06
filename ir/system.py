"""The system settings: everything besides the plan that decides what RTL is built.

One :class:`SystemConfig` is taken by the RTL (:class:`spikeforge.hdl.system.SpikeforgeSystem`),
the system cycle model (:mod:`spikeforge.sim.system_cycle`), the co-simulation and the artifact
manifest, so the four agree by construction instead of through matching defaults. A
:class:`~spikeforge.ir.plan.HardwarePlan` and a :class:`SystemConfig` fully determine the RTL.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from spikeforge.ir.errors import ConfigError
from spikeforge.ir.jsonform import check_fields
from spikeforge.ir.params import Decision, as_decision

#: block RAM aspect ratios (words, bits per word) of each FPGA family: the fit estimate
#: (``boards/fit.py``) and the weight banks of :class:`SystemConfig` read them from here
BRAM_ASPECTS = {
    "ice40": ((256, 16), (512, 8), (1024, 4), (2048, 2)),
    "ecp5": ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36)),
    "xc7": ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36)),
}


def bram_blocks(depth: int, width: int, family: str) -> int:
    """Block RAMs of ``family`` for a ``depth`` x ``width`` memory in its best aspect."""
    return min(-(-depth // d) * -(-width // w) for d, w in BRAM_ASPECTS[family])


#: the narrowest and widest aspect a wide weight bank uses on a family where the choice is
#: weighed (:func:`weight_bank_words`): on the ECP5 the 9-bit aspect (a byte lane) and the
#: 18-bit one -- its 36-bit aspect reads over both ports' outputs, whose output registers
#: boards/outreg.py does not move (2 x 18 bits, side by side, hold the same words)
_BANK_WIDTHS = {"ecp5": (9, 18)}


def weight_bank_words(width: int, family: str, words: int) -> int:
    """The words of each weight-memory bank of a core of ``words`` words of ``width`` bits on
    ``family``'s block RAMs: the depth of one of its aspects, so that a bank is one block
    RAM deep and its read data needs no multiplexer.

    On the ECP5 the aspect of 9 to 18 bits (or of ``width`` where narrower) in which the
    banks take the fewest block RAMs (each bank in its best aspect, the last one shorter),
    the deepest on a tie (Yosys maps a shorter last bank as it likes, 512 x 36 too): fewer
    banks, fewer bank outputs to register and OR together (the 784-600-10 TTFS design
    routed with 2,048-word banks, not with 1,024-word ones: docs/boards.md, stop 46).
    Elsewhere the deepest aspect at least ``width`` bits wide, or the widest."""
    aspects = BRAM_ASPECTS[family]
    if family not in _BANK_WIDTHS:
        wide = [d for d, w in aspects if w >= width]
        return max(wide) if wide else min(d for d, _ in aspects)
    lo, hi = _BANK_WIDTHS[family]

    def blocks(bank):
        full, rest = divmod(words, bank)
        return full * bram_blocks(bank, width, family) + (
            bram_blocks(rest, width, family) if rest else 0)

    depths = [d for d, w in aspects if min(width, lo) <= w <= hi]
    return min(depths, key=lambda d: (blocks(d), -d))


def bank_depths(width: int, family: str, words: int, full: bool = False) -> list[int]:
    """The depth of each weight bank of a core of ``words`` words of ``width`` bits banked
    for ``family`` (:func:`weight_bank_words`): banks of D words, the last one shorter
    unless ``full`` (:attr:`SystemConfig.full_banks`); one bank where D words hold them
    all, as deep as the weights unless ``full``."""
    bank = weight_bank_words(width, family, words)
    return [bank if full else min(bank, words - b * bank) for b in range(-(-words // bank))]


#: :attr:`SystemConfig.double_buffer`'s type: every core (True), none (False) or the cores
#: of the layers listed
DoubleBuffer = bool | tuple[int, ...]

#: the most :attr:`SystemConfig.weight_stages`
MAX_WEIGHT_STAGES = 4

#: :attr:`SystemConfig.state_memories`: the synthesis tool's choice, or block RAM
STATE_MEMORIES = ("", "block")


@dataclass(frozen=True)
class SystemConfig:
    """Settings of the whole inference engine.

    * ``decision`` -- how the decision unit reads the output layer (the contract's
      :class:`~spikeforge.ir.params.Decision`);
    * ``fifo_depth`` -- depth of the FIFO after each layer's spike merger (0: none);
    * ``guard`` -- cycles the tick controller waits for quiet before it trusts it (>= 1; see
      :class:`spikeforge.hdl.tick.TickController`);
    * ``tick_bits`` -- width of tick numbers (``n_ticks``, ``tick``, ``result_tick``);
    * ``cycle_bits`` -- width of the inference cycle counter ``cycles``;
    * ``weight_banks`` -- ``""`` (every core's weights in one memory) or an FPGA family of
      :data:`BRAM_ASPECTS`: each core's weight memory is split into banks one block RAM
      deep (:func:`weight_bank_words`; one bank where one holds it), each read a cycle
      ahead into a register of its own
      (on the ECP5 the block RAM's output register), then selected and ORed two stages
      later, so that no multiplexer over block RAMs sits behind their clock-to-out. Same
      cycles, same results; only the RTL's memory layout changes.
    * ``full_banks`` -- with ``weight_banks``: every bank as deep as the others, the last
      one padded with zero words, so that it maps to the same block RAM aspect, one block
      RAM deep with its output register (Yosys maps a short last bank wider than 18 bits
      to the ECP5's 512 x 36 aspect, which keeps none: stop 76). More block RAMs
      (:func:`bank_depths`); same cycles, same results. ``compile --full-banks`` sets it.
    * ``lane_copies`` -- a one-word core of more than :data:`LANES_PER_LUT` lanes selects
      its write-back bypass with a register per lane group, where one register drove every
      lane's adder (the ECP5 784-64-10 build's limit, stop 76). Same cycles, same results;
      ``compile --lane-copies`` sets it.
    * ``state_memories`` -- ``""`` (the synthesis tool places each core's neuron-state
      memories: a shallow one in flip-flops on the iCE40, in LUT RAM on the ECP5) or
      ``"block"`` (every one in block RAM, marked ``ram_style = "block"``). On the iCE40 a
      state memory in flip-flops is written through a decode of the write address into
      every word's enables, which was the digits build's critical path (stop 37: 43.1 MHz
      with it, 49.0 MHz in block RAM, and 209 logic cells fewer). Same cycles, same results.
    * ``overlap`` -- overlapped input: tick t + 1's input events go into the first layer
      while the tick controller's update phase of tick t runs (the later layers still take
      tick t's spikes), instead of after it (:class:`spikeforge.hdl.tick.TickController`).
      Same spikes, same results, fewer cycles. A ``first-spike`` run may stop with tick
      t + 1's input half taken: the first layer has integrated some of its events, which
      change nothing that the run reports (no spike of tick t + 1 is made, and the work
      counters count an input event only once its tick has begun) and which the next
      inference's CLEAR erases.
    * ``weight_stages`` -- registers between a core's weight memory and its accumulators'
      adders (0..4): an event's word and the current it is added to go through that many
      more stages, and the write-back of the sum comes as many edges later. Only in the
      cores of at least ``2 + weight_stages`` words per event (:func:`core_weight_stages`),
      where the next event reads a word no earlier than its write-back: same cycles, same
      results. Not chosen by ``compile``: on the TTFS 784-600-10 design, whose weights
      fill the die, one stage lowered nextpnr's placement estimate (64.4 -> 57.3 MHz;
      docs/boards.md, stop 45). For experiments with the weight transport.
    * ``input_copies`` -- the input event's index comes once more per layer-0 core, on a
      port of its own (``inp_copies``: each equal to ``inp.payload.index`` in every cycle),
      so that the source can give each core a register of its own (the board engine's
      input slice does, kept apart by the board build): each core then computes its
      event's first weight address near its banks, where one register's net reached the
      weight banks of every layer-0 core across the die, through a first-word adder that
      Yosys built once for them all (the TTFS 784-600-10 ECP5 build's critical path, stop
      52). Same cycles, same results; chosen by ``compile --board``
      (``boards.fit.input_copies_for``), or wherever layer 0 has two or more cores by
      ``compile --input-copies``.
    * ``sum_stage`` -- a register behind each core's event adders: an event's sums are
      written back from it an edge later, as with one more weight stage (only in the cores
      of at least ``3 + weight_stages`` words: :func:`core_sum_stage`). Same cycles, same
      results; chosen by ``compile --board`` on the iCE40 (``boards.fit.sum_stage_for``),
      where a wide current's carry chain ran into the block RAMs' write data behind their
      select (the TTFS demo's critical path, stop 54).
    * ``double_buffer`` -- ``True``: every core with two event buffers beside its decayed
      current (:class:`~spikeforge.hdl.core.NeuronCore`'s ``double_buffer``); a tuple of
      layer indices: the cores of those layers only (:func:`double_buffered`; a list is
      taken as the tuple, an empty one as ``False``). Such a core takes the spikes of tick
      t, the next tick's events, while its own update of tick t runs, instead of after it,
      so a layer's update and the next layer's events overlap. Same spikes, same results,
      fewer cycles; the cycle model's cores are
      :class:`~spikeforge.sim.blocks.core.DoubleBufferedCoreModel`. Costs two more
      current memories per core: on the iCE40 the digits latency design's hidden core alone
      takes almost all of the cycles that every core's buffers save (docs/boards.md, stop 65).
    * ``tile_stage`` -- the hidden layers' single-buffered cores of lane groups with their
      groups a cycle behind their control (:class:`~spikeforge.hdl.core.NeuronCore`'s
      ``tile_stage``; which cores: :func:`core_tile_stage`): every path from a core's
      control into its lane groups starts at a register with no logic behind it. The same
      spikes and results; their update phases take a cycle more (the cycle model's
      ``tile_stage``). ``compile --tile-stage`` sets it; off by default (stop 73).
    """

    decision: Decision = Decision.FIRST_SPIKE
    fifo_depth: int = 0
    guard: int = 2
    tick_bits: int = 16
    cycle_bits: int = 32
    weight_banks: str = ""
    full_banks: bool = False
    lane_copies: bool = False
    overlap: bool = False
    state_memories: str = ""
    weight_stages: int = 0
    input_copies: bool = False
    sum_stage: bool = False
    double_buffer: DoubleBuffer = False
    tile_stage: bool = False

    def __post_init__(self):
        object.__setattr__(self, "decision", as_decision(self.decision))
        object.__setattr__(self, "double_buffer", _double_buffer_layers(self.double_buffer))
        for name, lo, hi in (("fifo_depth", 0, 1 << 16), ("guard", 1, 64), ("tick_bits", 1, 32),
                             ("cycle_bits", 1, 64), ("weight_stages", 0, MAX_WEIGHT_STAGES)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
                raise ConfigError(f"{name}: must be an integer in {lo}..{hi}, got {value!r}")
        if not isinstance(self.weight_banks, str) or (self.weight_banks != ""
                                                      and self.weight_banks not in BRAM_ASPECTS):
            raise ConfigError(f"weight_banks: must be '' or one of {', '.join(BRAM_ASPECTS)}, "
                              f"got {self.weight_banks!r}")
        if self.state_memories not in STATE_MEMORIES:
            raise ConfigError(f"state_memories: must be one of "
                              f"{', '.join(repr(s) for s in STATE_MEMORIES)}, "
                              f"got {self.state_memories!r}")
        for name in ("full_banks", "lane_copies", "overlap", "input_copies", "sum_stage",
                     "tile_stage"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name}: must be true or false, got {getattr(self, name)!r}")
        if self.full_banks and not self.weight_banks:
            raise ConfigError("full_banks: needs weight_banks (the banks it fills)")

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["decision"] = self.decision.value
        if isinstance(self.double_buffer, tuple):  # JSON has lists
            out["double_buffer"] = list(self.double_buffer)
        return out

    @classmethod
    def from_dict(cls, d) -> "SystemConfig":
        """The inverse of :meth:`to_dict`; every field required (but ``weight_banks``,
        ``full_banks``, ``lane_copies``, ``overlap``, ``state_memories``, ``weight_stages``,
        ``input_copies``, ``sum_stage``, ``double_buffer`` and ``tile_stage``, which
        artifacts written before they existed lack), unknown fields refused."""
        if isinstance(d, dict):
            d = {"weight_banks": "", "full_banks": False, "lane_copies": False,
                 "overlap": False, "state_memories": "",
                 "weight_stages": 0, "input_copies": False, "sum_stage": False,
                 "double_buffer": False, "tile_stage": False, **d}
        check_fields(d, [f.name for f in fields(cls)], "system")
        return cls(**d)


def _double_buffer_layers(value) -> DoubleBuffer:
    """:attr:`SystemConfig.double_buffer` as it is kept: a bool, or the sorted tuple of
    distinct layer indices (``False`` for none); anything else refused by name."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (list, tuple)) and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value) \
            and len(set(value)) == len(value):
        return tuple(sorted(value)) or False
    raise ConfigError(f"double_buffer: must be true, false or a list of distinct layer "
                      f"indices (integers >= 0), got {value!r}")


def double_buffered(double_buffer: DoubleBuffer, layer: int) -> bool:
    """Whether the cores of ``layer`` have two event buffers under ``double_buffer``
    (:attr:`SystemConfig.double_buffer`'s value: ``True`` every layer, a tuple those)."""
    return double_buffer is True or (isinstance(double_buffer, tuple) and layer in double_buffer)


def check_double_buffer(system: SystemConfig, n_layers: int) -> None:
    """Refuse ``system.double_buffer`` layers that a plan of ``n_layers`` layers lacks."""
    layers = system.double_buffer if isinstance(system.double_buffer, tuple) else ()
    if layers and layers[-1] >= n_layers:
        raise ConfigError(f"double_buffer: layer {layers[-1]} of a plan of {n_layers} "
                          f"layer{'s' if n_layers != 1 else ''} (0..{n_layers - 1})")


def core_weight_stages(system: SystemConfig, words: int) -> int:
    """The weight stages of a core of ``words`` words per event in ``system``: all of
    ``system.weight_stages`` where the core has at least ``2 + weight_stages`` words, else
    none (its next event would read a word before the write-back of the last one)."""
    k = system.weight_stages
    return k if weight_stages_fit(words, k) else 0


def core_sum_stage(system: SystemConfig, words: int) -> bool:
    """Whether a core of ``words`` words per event in ``system`` has the sum stage: where
    ``system.sum_stage`` asks for it and the core takes it as one more weight stage."""
    return system.sum_stage and weight_stages_fit(words, core_weight_stages(system, words) + 1)


def weight_stages_fit(words: int, stages: int) -> bool:
    """Whether a core of ``words`` words per event can take ``stages`` weight stages: its
    next event reads word g ``words`` edges after this one, no earlier than the write-back
    (2 + ``stages`` edges behind the read) where ``words >= 2 + stages``."""
    return stages == 0 or words >= 2 + stages


#: inputs of one LUT (iCE40 and ECP5): a reduction of more bits takes two levels or more,
#: and a core of more lanes keeps them in groups of this many (hdl/core.py)
LANES_PER_LUT = 4

#: the fewest words a core's LUT-RAM state memories are split per lane group at
#: (NeuronCore._split_state): the TTFS 784-600-10's 12-word cores gained 46.4 -> 75.3 MHz,
#: an 8-word core 140.5 -> 145.3 (stop 51). Stop 52 kept cores of 2 words whole, from
#: MNIST-fast's 64-lane cores split with router2 (81.5 MHz) against whole with router1
#: (116.0); router1 no longer converges on that design, and with router2 on both sides its
#: four placements (the default seed, seeds 1-3) gave 93.9, 97.2, 81.4, 82.8 split against
#: 91.6, 68.0, 82.8, 86.7 whole: mean 88.8 against 82.3, the slowest 81.4 against 68.0
#: (stops 71-72). One word has nothing to address.
SPLIT_WORDS = 2


def has_lane_groups(lanes: int, words: int) -> bool:
    """Whether a core of ``lanes`` lanes and ``words`` words keeps its LUT-RAM state as a
    memory per lane group (wider than one LUT, at least :data:`SPLIT_WORDS` deep)."""
    return lanes > LANES_PER_LUT and words >= SPLIT_WORDS


def core_tile_stage(system: SystemConfig, layer: int, n_layers: int, lanes: int,
                    words: int) -> bool:
    """Whether a core of ``layer`` (of ``n_layers``), ``lanes`` lanes and ``words`` words
    has the tile stage in ``system``: where ``system.tile_stage`` asks for it, the core has
    lane groups (:func:`has_lane_groups`) with its state in LUT RAM, is single-buffered,
    and is not in the output layer (the decision unit reads the output cores' membranes
    through their host ports, at a latency of one cycle)."""
    return (system.tile_stage and has_lane_groups(lanes, words) and layer < n_layers - 1
            and system.state_memories != "block"
            and not double_buffered(system.double_buffer, layer))


def input_withdrawn(system: SystemConfig) -> bool:
    """Whether the system's input window can close with an input event half delivered:
    overlapped, tick t + 1's events enter while tick t's update runs, and a first-spike stop
    there shuts the window at once, possibly after some layer-0 cores took the event on
    offer and before the others did (cores of different word counts, or one still in its
    update phase). The input multicast then forgets the event (``Multicast(withdraw=True)``):
    it remembered who had taken it, and the next inference's first event skipped those cores
    (stop 50: the campaign's one-word TTFS design lost an inhibiting event that way). At the
    barrier, or without a stop, the window closes only at a marker, after a whole event."""
    return system.overlap and system.decision is Decision.FIRST_SPIKE


def chosen_system(decision, overlap: bool = True, **settings) -> SystemConfig:
    """The settings the compiler chooses for a network of ``decision``: overlapped input
    unless ``overlap`` is turned off; ``settings``: the other fields. No FIFO is needed for
    it: a core takes its next events while its spike queue still drains
    (:class:`spikeforge.hdl.core.NeuronCore`), so the queue is the buffer (the demo network:
    1.19x its work bound without a FIFO, the same cycles with one of depth 8;
    docs/boards.md, stop 32)."""
    decision = as_decision(decision)
    return SystemConfig(decision, overlap=overlap, **settings)
