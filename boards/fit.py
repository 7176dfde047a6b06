"""Will a plan fit a board? An estimate of block RAM and logic before synthesis.

Block RAM: every memory of the design -- per core the weights (``n_inputs * n_neurons``
words of ``weight_bits``) and the neuron state (``n_neurons`` words each of the accumulator,
membrane, adaptation and fired bit), plus the board top's input buffer (``input_depth`` x 16
bits) -- is tiled onto the family's block RAM in its best aspect ratio:

* iCE40 UP5K: 30 EBR (``SB_RAM40_4K``) of 4 kbit as 256x16, 512x8, 1024x4 or 2048x2. (The
  4 SPRAM of 256 kbit are single-port and not inferred by Yosys; the design does not use
  them.) RAMs of fewer than :data:`ICE40_MIN_BRAM_BITS` bits are left to flip-flops.
* ECP5 85F: 208 ``DP16KD`` of 18 kbit as 16384x1, 8192x2, 4096x4, 2048x9, 1024x18 or
  512x36. RAMs of at most :data:`ECP5_MAX_LUTRAM_DEPTH` words go to distributed RAM.

On a board the cores' host ports are unused, so the weight memories have no write port:
they are ROMs, and ROMs under :data:`MIN_BRAM_ROM_BITS` bits become LUTs.
  (Yosys maps the input buffer as if 12 bits wide -- fitted to two builds; it does not always
  pick the fewest tiles on ECP5: expect +-1.)
* Artix-7 35T: 50 RAMB36 (100 RAMB18 of 18 kbit: 16384x1 ... 512x36).

Logic: a linear model per core (LUT4s from the widths of the datapath, fitted to Yosys'
result on the iCE40 and ECP5 builds in ``tests/boards/test_build.py`` / the benchmark) plus
the board top's fixed cost (UART, protocol engine, tick controller, decision unit). It is an
estimate (within about 30 % on the designs measured; see ``docs/boards.md``); the real
report comes from :mod:`spikeforge.boards.build`. The boards' resources are those of
:data:`spikeforge.boards.specs.BOARDS`.

:func:`check_fit` raises :class:`~spikeforge.ir.errors.ConfigError` with the reason and
what would make the plan fit (fewer, larger cores -- more neurons per core --, smaller
layers, a larger board).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from spikeforge.boards.specs import BOARDS, board_spec, input_depth_for
from spikeforge.ir.errors import ConfigError

__all__ = ["FitEstimate", "estimate", "check_fit", "suggestions", "dsps_of_plan", "bram_tiles",
           "memories_of_plan",
           "ICE40_MIN_BRAM_BITS", "MIN_BRAM_ROM_BITS", "ECP5_MAX_LUTRAM_DEPTH"]

ICE40_MIN_BRAM_BITS = 150  # Yosys keeps smaller RAMs in flip-flops (fitted: 136 no, 156 yes)
MIN_BRAM_ROM_BITS = 512  # ... and smaller ROMs in LUTs (240 no, 576 yes)
ECP5_MAX_LUTRAM_DEPTH = 64  # ECP5: shallower RAMs go to distributed RAM (TRELLIS_DPR16X4)

_ASPECTS = {
    "ice40": [(256, 16), (512, 8), (1024, 4), (2048, 2)],
    "ecp5": [(16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36)],
    "xc7": [(16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36)],
}

# Logic model, fitted to Yosys 0.70 (synth_ice40 -dsp) on five designs (1..4 cores, 8..64
# classes): LUT4s = top + per class (the engine's and the decision unit's per-class counters
# and the result multiplexer) + per core; nextpnr's logic cells (ICESTORM_LC: LUT4, carry
# and FF) are about 1.16x that, ECP5's TRELLIS_COMB 1.17x..1.42x (1.3 used).
_TOP_LUTS = 1200
_LUTS_PER_CLASS = {"spike-count": 95, "first-spike": 55}
_LUTS_PER_CORE = 320
_CELLS_PER_LUT = {"ice40": 1.16, "ecp5": 1.3, "xc7": 0.8}


def bram_tiles(depth: int, width: int, family: str, kind: str = "ram") -> int:
    """Block RAMs for a ``depth`` x ``width`` memory (``kind`` "ram" or "rom"; 0 if it goes
    to logic)."""
    if kind == "rom" and depth * width < MIN_BRAM_ROM_BITS:
        return 0
    if family == "ice40" and kind == "ram" and depth * width < ICE40_MIN_BRAM_BITS:
        return 0
    if family == "ecp5" and kind == "ram" and depth <= ECP5_MAX_LUTRAM_DEPTH:
        return 0
    return min(math.ceil(depth / d) * math.ceil(width / w) for d, w in _ASPECTS[family])


def memories_of_plan(plan, input_depth: int, family: str = "ice40") -> list[tuple[str, int, int]]:
    """``(name, depth, width, kind)`` of every memory of the board design."""
    # iCE40: Yosys maps the buffer at its full 16 bits; ECP5: fitted to 12 (two builds)
    buffer_width = 16 if family == "ice40" else 12
    mems = [("input_buffer", input_depth, buffer_width, "ram")]
    for core in plan.cores:
        p = core.config.params
        n, j = core.n_neurons, core.n_inputs
        tag = f"core{core.core_id}"
        mems += [(f"{tag}.weights", j * n, p.weight_bits, "rom"),
                 (f"{tag}.current", n, core.config.accumulator_bits, "ram"),
                 (f"{tag}.membrane", n, p.membrane_bits, "ram")]
        # without a host port on the board, state that never reaches an output is removed
        if p.adaptive:
            mems.append((f"{tag}.adapt", n, p.adapt_bits, "ram"))
        if p.fire_once:
            mems.append((f"{tag}.fired", n, 1, "ram"))
    return mems


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

    @property
    def fits(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {"board": self.board, "brams": self.brams, "brams_available": self.brams_available,
                "luts": self.luts, "luts_available": self.luts_available,
                "dsps": self.dsps, "dsps_available": self.dsps_available,
                "memory_bits": self.memory_bits, "fits": self.fits, "problems": self.problems}


def dsps_of_plan(plan) -> int:
    """An upper bound on the DSP multipliers of the cores: per lane ``v*beta`` and ``i*alpha``,
    and ``a*rho`` if adaptive (Yosys may map small ones to logic instead; fitted to the
    iCE40UP5K, where a 3-core, 4-lane digits design ran out of its 8 SB_MAC16)."""
    return sum(core.config.lanes * (2 + int(core.config.params.adaptive)) for core in plan.cores)


def estimate(plan, board: str, input_depth: int | None = None, decision=None) -> FitEstimate:
    """Block RAMs and logic cells of the board top of ``plan`` on ``board``. ``decision``
    (a :class:`~spikeforge.ir.params.Decision` or its value; default spike-count, the
    larger) changes the logic per class."""
    spec = board_spec(board)
    family = spec.family
    depth = input_depth_for(board, input_depth)
    per_memory, brams, bits = [], 0, 0
    for name, d, w, kind in memories_of_plan(plan, depth, family):
        tiles = bram_tiles(d, w, family, kind)
        per_memory.append({"memory": name, "depth": d, "width": w, "brams": tiles})
        brams += tiles
        bits += d * w
    mode = getattr(decision, "value", decision) or "spike-count"
    n_classes = sum(c.n_neurons for c in plan.cores_of_layer(plan.n_layers - 1))
    lut4 = (_TOP_LUTS + _LUTS_PER_CLASS.get(mode, _LUTS_PER_CLASS["spike-count"]) * n_classes
            + _LUTS_PER_CORE * len(plan.cores))
    luts = round(lut4 * _CELLS_PER_LUT[family])
    est = FitEstimate(board, family, brams, spec.resources["brams"], luts, spec.resources["luts"],
                      bits, per_memory, dsps=dsps_of_plan(plan),
                      dsps_available=spec.resources.get("dsps", 0))
    if brams > est.brams_available:
        worst = max(per_memory, key=lambda m: m["brams"])
        est.problems.append(
            f"block RAM: needs about {brams} of {est.brams_available} "
            f"({spec.note.split(';')[0]}); the largest memory is {worst['memory']} "
            f"({worst['depth']} x {worst['width']} bits = {worst['brams']} block RAMs)")
    if est.dsps > est.dsps_available:
        est.problems.append(
            f"DSP: needs up to {est.dsps} multipliers of {est.dsps_available} (each lane of a "
            f"core multiplies v by beta and i by alpha, and a by rho if adaptive)")
    if luts > est.luts_available:
        est.problems.append(
            f"logic: needs about {luts} logic cells of {est.luts_available} for "
            f"{len(plan.cores)} core(s) (each has its own datapath) and {n_classes} output "
            f"classes (each costs about {_LUTS_PER_CLASS.get(mode, 95)} LUT4s of counters and "
            f"result multiplexer)")
    return est


def suggestions(plan, est: FitEstimate) -> str:
    """What would make ``plan`` fit where ``est`` says it does not (one line)."""
    hints = []
    if any(p.startswith("DSP") for p in est.problems):
        hints.append("fewer lanes (compile --lanes) or fewer cores: the multipliers grow with "
                     "both")
    if any("logic" in p for p in est.problems) and len(plan.cores) > plan.n_layers:
        hints.append(f"more neurons per core (fewer cores: {len(plan.cores)} now, at least "
                     f"{plan.n_layers}, one per layer; e.g. plan_network(network) without "
                     f"neurons_per_core)")
    if any("block RAM" in p for p in est.problems):
        biggest = max(plan.cores, key=lambda c: c.n_inputs * c.n_neurons)
        hints.append(f"smaller layers or fewer inputs (layer {biggest.layer} holds "
                     f"{biggest.n_inputs} x "
                     f"{sum(c.n_neurons for c in plan.cores_of_layer(biggest.layer))} weights), "
                     f"or narrower weights (weight_bits)")
    larger = [name for name, spec in BOARDS.items()
              if spec.family != "xc7" and spec.resources["brams"] * spec.bram_bits
              > est.brams_available * BOARDS[est.board].bram_bits]
    for name in larger:
        other = estimate(plan, name)
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


def check_fit(plan, board: str, input_depth: int | None = None, decision=None) -> FitEstimate:
    """The estimate, or :class:`ConfigError` saying why the plan does not fit and what would
    make it fit."""
    est = estimate(plan, board, input_depth, decision)
    if not est.fits:
        raise ConfigError(f"the plan does not fit {board}: " + "; ".join(est.problems)
                          + ". To make it fit: " + suggestions(plan, est))
    return est
