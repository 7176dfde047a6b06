"""The board top (boards/top.py) with a PLL, prepared for both platforms (no tools run)."""

import pytest

from spikeforge.boards.pll import pll_for


@pytest.mark.parametrize("board,mhz,primitive,constraint", [
    ("icebreaker", 30, "SB_PLL40_PAD", "set_frequency clocking.pll_clk 30.0"),
    ("ulx3s-85f", 50, "EHXPLLL", 'FREQUENCY NET "clocking.pll_clk" 50000000.0 HZ;'),
])
def test_board_top_with_pll_prepares(board, mhz, primitive, constraint):
    """The PLL is instantiated on the board clock pin, its output net is constrained to the
    achieved frequency, and the UART divisor counts PLL cycles."""
    pytest.importorskip("amaranth_boards")
    from spikeforge.boards.build import resolve_design
    from spikeforge.boards.specs import BOARDS
    from spikeforge.boards.top import BoardTop
    from spikeforge.hdl.system import SpikeforgeSystem

    spec = BOARDS[board]
    _, artifact = resolve_design("core:4x8")
    plan = artifact.plan
    top = BoardTop(SpikeforgeSystem(plan, artifact.system), input_depth=256,
                   pll=pll_for(spec.family, spec.clk_hz, mhz * 1e6))
    platform = spec.make_platform()
    assert top.clk_hz == mhz * 1e6
    assert top.uart_divisor(platform) == round(mhz * 1e6 / 115200)
    files = platform.prepare(top, name="top").files
    rtlil = files["top.il"]
    assert f"cell \\{primitive} \\pll" in rtlil
    constraints = files["top.pcf" if spec.family == "ice40" else "top.lpf"]
    assert constraint in constraints, constraints
    if spec.family == "ice40":
        assert "parameter \\DIVF 7'1001111" in rtlil  # 79
        assert "connect \\PACKAGEPIN \\clk12_0__io" in rtlil
        # held in reset by LockReset until LOCK
        assert "module \\top.clocking.lock_reset" in rtlil and "SGSR" not in rtlil
    else:
        assert "parameter \\CLKOP_DIV 12" in rtlil and "parameter \\CLKFB_DIV 2" in rtlil
        # held in reset by the global set/reset until LOCK, through two GSR-less flip-flops
        assert "cell \\SGSR" in rtlil and rtlil.count("cell \\FD1S3AX") == 2
        assert "lock_reset" not in rtlil
    # without clk_mhz the platform's own clock domain is used: no PLL
    plain = BoardTop(SpikeforgeSystem(plan, artifact.system), input_depth=256)
    assert primitive not in spec.make_platform().prepare(plain, name="top").files["top.il"]
    assert plain.uart_divisor(spec.make_platform()) == round(spec.clk_hz / 115200)
