"""The board specs: the one table the build and the fit estimate both read."""

import pytest

from spikeforge.boards.specs import (
    BOARDS,
    DEFAULT_INPUT_DEPTH,
    board_spec,
    default_input_depth,
)
from spikeforge.ir.errors import ConfigError


def test_boards_and_default_input_depths():
    assert list(BOARDS) == ["icebreaker", "ulx3s-85f", "arty-a7"]
    assert [BOARDS[b].family for b in BOARDS] == ["ice40", "ecp5", "xc7"]
    assert default_input_depth("icebreaker") == 512
    assert default_input_depth("ulx3s-85f") == default_input_depth("arty-a7") == 4096
    assert default_input_depth("de10") == DEFAULT_INPUT_DEPTH == 1024


def test_board_spec_names_the_option_and_the_choices():
    assert board_spec("ulx3s-85f") is BOARDS["ulx3s-85f"]
    with pytest.raises(ConfigError, match=r"^--board: 'de10' is not one of icebreaker, "
                                          r"ulx3s-85f, arty-a7$"):
        board_spec("de10", "--board")


def test_make_platform():
    pytest.importorskip("amaranth_boards")
    platform = BOARDS["icebreaker"].make_platform()
    assert type(platform).__name__ == "ICEBreakerPlatform"
    assert platform.default_clk_frequency == BOARDS["icebreaker"].clk_hz
