"""PLL settings (pure Python, like icepll / ecppll) and the lock-following reset in Amaranth's
simulator. The board top with a PLL is test_top.py; the real builds with a PLL are ``slow``
(test_build.py) and in benchmarks/bench_boards.py."""

import itertools

import pytest
from amaranth.sim import Simulator

from spikeforge.boards.pll import (
    ECP5_LIMITS,
    ICE40_LIMITS,
    ECP5PLLSetting,
    ICE40PLLSetting,
    LockReset,
    ecp5_pll,
    ice40_pll,
    pll_for,
)
from spikeforge.ir.errors import ConfigError


def _ice40_outputs(f_in):
    """Every output the SIMPLE-feedback iCE40 PLL can make from ``f_in`` (MHz), by brute force."""
    lim = ICE40_LIMITS
    out = []
    for divr, divf, divq in itertools.product(range(16), range(128), range(1, 7)):
        pfd = f_in / (divr + 1)
        vco = pfd * (divf + 1)
        fout = vco / 2 ** divq
        if (lim["pfd"][0] <= pfd <= lim["pfd"][1] and lim["vco"][0] <= vco <= lim["vco"][1]
                and lim["out"][0] <= fout <= lim["out"][1]):
            out.append(fout)
    return out


def _check_ice40(s: ICE40PLLSetting):
    f_in = s.f_in_hz / 1e6
    pfd = f_in / (s.divr + 1)
    vco = pfd * (s.divf + 1)
    fout = vco / 2 ** s.divq
    assert 0 <= s.divr <= 15 and 0 <= s.divf <= 127 and 1 <= s.divq <= 6
    assert fout == pytest.approx(s.f_out_hz / 1e6, rel=1e-12)
    assert s.f_pfd_hz / 1e6 == pytest.approx(pfd) and s.f_vco_hz / 1e6 == pytest.approx(vco)
    assert 10 <= pfd <= 133 and 533 <= vco <= 1066 and 16 <= fout <= 275
    assert s.filter_range == (1 if pfd < 17 else 2 if pfd < 26 else 3 if pfd < 44 else
                              4 if pfd < 66 else 5 if pfd < 101 else 6)


def _check_ecp5(s: ECP5PLLSetting):
    f_in = s.f_in_hz / 1e6
    pfd = f_in / s.clki_div
    fout = pfd * s.clkfb_div
    vco = fout * s.clkop_div
    assert 1 <= s.clki_div <= 128 and 1 <= s.clkfb_div <= 80 and 1 <= s.clkop_div <= 128
    assert fout == pytest.approx(s.f_out_hz / 1e6, rel=1e-12)
    assert 3.125 <= pfd <= 400 and 400 <= vco <= 800 and 10 <= fout <= 400
    assert s.clkop_cphase == s.clkop_div // 2


def test_ice40_known_settings():
    # icepll's default example (12 -> 60 MHz) and the iCEBreaker's usual 30 MHz
    s = ice40_pll(12e6, 60e6)
    assert (s.divr, s.divf, s.divq, s.filter_range) == (0, 79, 4, 1) and s.f_out_hz == 60e6
    s = ice40_pll(12e6, 30e6)
    assert (s.divr, s.divf, s.divq) == (0, 79, 5) and s.f_out_hz == 30e6
    p = s.parameters()
    assert p["FEEDBACK_PATH"] == "SIMPLE" and p["DIVF"].value == 79 and len(p["DIVF"]) == 7


@pytest.mark.parametrize("f_in", [12.0, 25.0, 100.0])
def test_ice40_search_is_valid_and_closest(f_in):
    outputs = _ice40_outputs(f_in)
    for f_out in [16, 17, 18, 21.5, 24, 33.3, 48, 50, 75, 100, 133.33, 200, 275]:
        try:
            s = ice40_pll(f_in * 1e6, f_out * 1e6, tolerance=0.05)
        except ConfigError as error:
            # only when nothing is within 5 %
            assert min(abs(o - f_out) for o in outputs) > 0.05 * f_out, error
            continue
        _check_ice40(s)
        best = min(abs(o - f_out) for o in outputs)
        assert abs(s.f_out_hz / 1e6 - f_out) == pytest.approx(best, abs=1e-9)
        assert abs(s.f_out_hz / 1e6 - f_out) <= 0.05 * f_out


def test_ecp5_known_settings():
    # what Project Trellis' ecppll writes for these requests (in public designs:
    # "ecppll -i 12 -o 16" and "--clkin 25 --clkout0 302.325")
    s = ecp5_pll(12e6, 16e6)
    assert (s.clki_div, s.clkfb_div, s.clkop_div, s.clkop_cphase) == (3, 4, 37, 18)
    s = ecp5_pll(25e6, 302.325e6)
    assert (s.clki_div, s.clkfb_div, s.clkop_div) == (6, 73, 2)
    assert s.f_out_hz / 1e6 == pytest.approx(304.1667, abs=1e-4)
    s = ecp5_pll(25e6, 50e6)
    assert s.f_out_hz == 50e6 and s.f_vco_hz == 600e6
    assert s.parameters()["FEEDBK_PATH"] == "CLKOP"


@pytest.mark.parametrize("f_in", [25.0, 12.0, 100.0])
def test_ecp5_search_is_valid_and_closest(f_in):
    lim = ECP5_LIMITS
    outputs = {f_in / i * fb
               for i in range(1, 129) for fb in range(1, 81)
               if lim["pfd"][0] <= f_in / i <= lim["pfd"][1]
               and lim["out"][0] <= f_in / i * fb <= lim["out"][1]
               and any(lim["vco"][0] <= f_in / i * fb * d <= lim["vco"][1] for d in range(1, 129))}
    for f_out in [10, 13.5, 25, 33.3, 40, 45, 48, 62.5, 100, 133, 250, 400]:
        best = min(abs(o - f_out) for o in outputs)
        try:
            s = ecp5_pll(f_in * 1e6, f_out * 1e6, tolerance=0.05)
        except ConfigError as error:
            assert best > 0.05 * f_out, error  # only when nothing is within 5 %
            continue
        _check_ecp5(s)
        assert abs(s.f_out_hz / 1e6 - f_out) == pytest.approx(best, abs=1e-9)


def test_errors_name_the_request():
    with pytest.raises(ConfigError, match=r"clk_mhz: 300 MHz is outside the iCE40 PLL's output "
                                          r"range 16\.\.275 MHz"):
        ice40_pll(12e6, 300e6)
    with pytest.raises(ConfigError, match=r"clk_mhz: 5 MHz is outside the ECP5"):
        ecp5_pll(25e6, 5e6)
    # 48 MHz from 25 MHz: the PFD would have to drop below 3.125 MHz
    with pytest.raises(ConfigError, match=r"no ECP5 PLL setting makes 48 MHz from 25 MHz within "
                                          r"1\.00%; the closest is 46\.8750 MHz"):
        ecp5_pll(25e6, 48e6)
    # from 12 MHz the nearest are 16.125 and 16.3125 MHz
    with pytest.raises(ConfigError, match=r"no iCE40 PLL setting makes 16\.2 MHz from 12 MHz "
                                          r"within 0\.10%; the closest is 16\.1250 MHz"):
        ice40_pll(12e6, 16.2e6, tolerance=0.001)
    with pytest.raises(ConfigError, match="input clock 8 MHz is outside 10..133 MHz"):
        ice40_pll(8e6, 50e6)
    with pytest.raises(ConfigError, match="f_out_hz: must be a positive number"):
        ice40_pll(12e6, -1)
    with pytest.raises(ConfigError, match="no PLL support for the 'xc7' family"):
        pll_for("xc7", 100e6, 150e6)


def test_lock_reset_follows_lock():
    """rst is high until lock has been high for the synchroniser (2 cycles) plus the delay,
    and rises again as soon as lock falls."""
    dut = LockReset(delay=5)
    seen = []

    async def bench(ctx):
        for cycle in range(40):
            ctx.set(dut.lock, 1 if 10 <= cycle < 30 else 0)
            await ctx.tick()
            seen.append(ctx.get(dut.rst))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    low = [c for c, r in enumerate(seen) if r == 0]
    assert low, seen
    assert all(seen[c] == 1 for c in range(10)), seen
    # released a fixed number of cycles after lock rose, stays released while lock is high
    first = low[0]
    assert 10 + 5 <= first <= 10 + 5 + 3, seen
    assert all(seen[c] == 0 for c in range(first, 30)), seen
    # lock fell at cycle 30: reset again, immediately (asynchronous assertion)
    assert all(seen[c] == 1 for c in range(30, 40)), seen
