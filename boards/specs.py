"""The supported boards: device, clock, resources and platform of each, as plain data.

:data:`BOARDS` maps a board name (``--board``) to its :class:`BoardSpec`. Both the build
(:mod:`spikeforge.boards.build`) and the fit estimate (:mod:`spikeforge.boards.fit`) read
it; this module imports neither, nor Amaranth: the amaranth-boards platform is named here
and imported only by :meth:`BoardSpec.make_platform`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from spikeforge.ir.errors import ConfigError

__all__ = ["BoardSpec", "BOARDS", "board_spec", "default_input_depth", "input_depth_for",
           "DEFAULT_INPUT_DEPTH", "MIN_INPUT_DEPTH", "MAX_INPUT_DEPTH"]

#: input buffer items of a board top when neither the board nor the caller says otherwise
DEFAULT_INPUT_DEPTH = 1024
#: the input buffers a board top can have (the protocol engine's limits: at least one event
#: and its tick marker; item counts in 15 bits)
MIN_INPUT_DEPTH, MAX_INPUT_DEPTH = 2, 32767
#: items the protocol engine's input feed reads ahead of the system (a read takes four cycles
#: to reach the buffered FIFO's output register, so 6 keep one item per cycle flowing); the
#: FIFO's storage (``FEED_DEPTH - 1`` words of 16 bits, beside its output register) is a block
#: RAM on the iCE40, which the fit estimate counts
FEED_DEPTH = 6


@dataclass(frozen=True)
class BoardSpec:
    name: str
    family: str  # "ice40", "ecp5", "xc7"
    platform: str  # amaranth_boards module:class
    clk_hz: float
    device: str
    resources: dict = field(default_factory=dict)  # available: luts, ffs, brams, dsps, ...
    bram_bits: int = 0  # bits of one block RAM
    note: str = ""
    input_depth: int = DEFAULT_INPUT_DEPTH  # default input buffer items of the board top

    def make_platform(self):
        """A new instance of the board's amaranth-boards platform."""
        module, name = self.platform.split(":")
        # amaranth-boards is imported only here: the board facts above need no Amaranth
        return getattr(importlib.import_module(module), name)()


BOARDS = {
    "icebreaker": BoardSpec(
        "icebreaker", "ice40", "amaranth_boards.icebreaker:ICEBreakerPlatform", 12e6,
        "iCE40UP5K-SG48",
        {"luts": 5280, "ffs": 5280, "brams": 30, "dsps": 8, "spram": 4}, 4096,
        "EBR: 30 x 4 kbit; SPRAM (4 x 256 kbit) is not used by the design", 512),
    "ulx3s-85f": BoardSpec(
        "ulx3s-85f", "ecp5", "amaranth_boards.ulx3s:ULX3S_85F_Platform", 25e6,
        "LFE5U-85F-6BG381C",
        {"luts": 83640, "ffs": 83640, "brams": 208, "dsps": 156}, 18432,
        "DP16KD: 208 x 18 kbit; DSPs counted as MULT18X18D", 4096),
    "arty-a7": BoardSpec(
        "arty-a7", "xc7", "amaranth_boards.arty_a7:ArtyA7_35Platform", 100e6,
        "XC7A35T-1CSG324C",
        {"luts": 20800, "ffs": 41600, "brams": 50, "dsps": 90}, 36864,
        "Vivado cannot run here: Verilog + XDC export only", 4096),
}


def board_spec(board: str, option: str = "board") -> BoardSpec:
    """The spec of ``board``, or :class:`ConfigError` naming ``option`` and the choices."""
    if board not in BOARDS:
        raise ConfigError(f"{option}: {board!r} is not one of {', '.join(BOARDS)}")
    return BOARDS[board]


def default_input_depth(board: str) -> int:
    """The input buffer items of ``board``'s top (:data:`DEFAULT_INPUT_DEPTH` for a board
    not in :data:`BOARDS`)."""
    spec = BOARDS.get(board)
    return spec.input_depth if spec is not None else DEFAULT_INPUT_DEPTH


def input_depth_for(board: str, input_depth: int | None = None,
                    option: str = "input_depth") -> int:
    """``input_depth``, checked to be in ``MIN_INPUT_DEPTH..MAX_INPUT_DEPTH``
    (:class:`ConfigError` naming ``option`` otherwise), or ``board``'s default if None."""
    if input_depth is None:
        return default_input_depth(board)
    if (isinstance(input_depth, bool) or not isinstance(input_depth, int)
            or not MIN_INPUT_DEPTH <= input_depth <= MAX_INPUT_DEPTH):
        raise ConfigError(f"{option}: must be an integer in {MIN_INPUT_DEPTH}..{MAX_INPUT_DEPTH} "
                          f"(input items of the board's buffer), got {input_depth!r}")
    return input_depth
