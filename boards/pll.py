"""Clock generation: the board clock through a PLL to the frequency the design should run at.

Two pure-Python searches find the divider settings, the way the open tools' calculators do:

* :func:`ice40_pll` -- iCE40 ``SB_PLL40_*`` in SIMPLE feedback, like IceStorm's ``icepll``:
  ``f_pfd = f_in / (DIVR + 1)`` in 10..133 MHz, ``f_vco = f_pfd * (DIVF + 1)`` in
  533..1066 MHz, ``f_out = f_vco / 2**DIVQ`` (DIVR 0..15, DIVF 0..127, DIVQ 1..6),
  ``FILTER_RANGE`` from ``f_pfd`` (1: < 17 MHz, 2: < 26, 3: < 44, 4: < 66, 5: < 101, else 6).
  Input 10..133 MHz, output 16..275 MHz (unlike ``icepll``, the *achieved* output must also
  lie in that range). The closest output wins; ties keep the first found (smallest DIVR,
  DIVF, DIVQ), as ``icepll`` does.
* :func:`ecp5_pll` -- ECP5 ``EHXPLLL`` with CLKOP fed back (``FEEDBK_PATH="CLKOP"``), like
  Project Trellis' ``ecppll``: ``f_pfd = f_in / CLKI_DIV`` in 3.125..400 MHz,
  ``f_out = f_pfd * CLKFB_DIV``, ``f_vco = f_out * CLKOP_DIV`` in 400..800 MHz (CLKI_DIV and
  CLKOP_DIV 1..128, CLKFB_DIV 1..80), ``CLKOP_CPHASE = CLKOP_DIV // 2`` (``ecppll``'s
  180-degree primary phase). Input 8..400 MHz, output 10..400 MHz. The closest output wins;
  among equally close ones the VCO nearest 600 MHz.

Both raise :class:`~spikeforge.ir.errors.ConfigError` naming the request when it is out of
range or no setting comes within ``tolerance`` (relative, default 1 %) of it.

:class:`PLLClock` instantiates the primitive on the board clock pin (``SB_PLL40_PAD`` on the
iCE40: the PLL takes the 12 MHz pad of the iCEBreaker directly; ``EHXPLLL`` behind the input
buffer on the ECP5), drives the ``sync`` domain from the PLL output, constrains that net to
the achieved frequency (so nextpnr's Fmax is checked against it) and holds the design in
reset until the PLL reports LOCK (iCE40: :class:`LockReset`, LOCK and a power-on delay;
ECP5: the global set/reset, as Amaranth does for the board clock).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from amaranth.hdl import ClockDomain, ClockSignal, Const, Instance, Module, ResetSignal, Signal
from amaranth.lib import io, wiring
from amaranth.lib.cdc import ResetSynchronizer
from amaranth.lib.wiring import In, Out

from spikeforge.ir.errors import ConfigError

__all__ = ["ICE40PLLSetting", "ECP5PLLSetting", "ice40_pll", "ecp5_pll", "pll_for",
           "LockReset", "PLLClock", "ICE40_LIMITS", "ECP5_LIMITS", "DEFAULT_TOLERANCE"]

DEFAULT_TOLERANCE = 0.01

#: iCE40 PLL frequency limits in MHz (iCE40 sysCLOCK PLL, as used by icepll)
ICE40_LIMITS = {"in": (10.0, 133.0), "pfd": (10.0, 133.0), "vco": (533.0, 1066.0),
                "out": (16.0, 275.0)}
#: ECP5 PLL frequency limits in MHz (as used by ecppll)
ECP5_LIMITS = {"in": (8.0, 400.0), "pfd": (3.125, 400.0), "vco": (400.0, 800.0),
               "out": (10.0, 400.0)}


@dataclass(frozen=True)
class ICE40PLLSetting:
    """An ``SB_PLL40_*`` setting (SIMPLE feedback); frequencies in Hz."""

    f_in_hz: float
    requested_hz: float
    f_out_hz: float  #: achieved output frequency
    f_pfd_hz: float
    f_vco_hz: float
    divr: int
    divf: int
    divq: int
    filter_range: int
    family: str = "ice40"
    primitive: str = "SB_PLL40_PAD"

    def parameters(self) -> dict:
        """The primitive's parameters (Amaranth ``p_`` names without the prefix)."""
        return {"FEEDBACK_PATH": "SIMPLE", "DIVR": Const(self.divr, 4),
                "DIVF": Const(self.divf, 7), "DIVQ": Const(self.divq, 3),
                "FILTER_RANGE": Const(self.filter_range, 3)}

    def describe(self) -> str:
        return (f"SB_PLL40_PAD DIVR={self.divr} DIVF={self.divf} DIVQ={self.divq} "
                f"FILTER_RANGE={self.filter_range}: {self.f_in_hz / 1e6:g} MHz -> "
                f"{self.f_out_hz / 1e6:.4f} MHz (VCO {self.f_vco_hz / 1e6:.1f} MHz)")

    def as_dict(self) -> dict:
        return {**asdict(self), "description": self.describe()}


@dataclass(frozen=True)
class ECP5PLLSetting:
    """An ``EHXPLLL`` setting (CLKOP fed back); frequencies in Hz."""

    f_in_hz: float
    requested_hz: float
    f_out_hz: float  #: achieved output frequency
    f_pfd_hz: float
    f_vco_hz: float
    clki_div: int
    clkfb_div: int
    clkop_div: int
    clkop_cphase: int
    family: str = "ecp5"
    primitive: str = "EHXPLLL"

    def parameters(self) -> dict:
        """The primitive's parameters (Amaranth ``p_`` names without the prefix)."""
        return {"PLLRST_ENA": "DISABLED", "INTFB_WAKE": "DISABLED",
                "STDBY_ENABLE": "DISABLED", "DPHASE_SOURCE": "DISABLED",
                "OUTDIVIDER_MUXA": "DIVA", "OUTDIVIDER_MUXB": "DIVB",
                "OUTDIVIDER_MUXC": "DIVC", "OUTDIVIDER_MUXD": "DIVD",
                "CLKI_DIV": self.clki_div, "CLKFB_DIV": self.clkfb_div,
                "CLKOP_ENABLE": "ENABLED", "CLKOP_DIV": self.clkop_div,
                "CLKOP_CPHASE": self.clkop_cphase, "CLKOP_FPHASE": 0,
                "FEEDBK_PATH": "CLKOP"}

    def attributes(self) -> dict:
        """The attributes ``ecppll`` puts on the instance (loop filter, frequencies)."""
        return {"FREQUENCY_PIN_CLKI": f"{self.f_in_hz / 1e6:g}",
                "FREQUENCY_PIN_CLKOP": f"{self.f_out_hz / 1e6:g}",
                "ICP_CURRENT": "12", "LPF_RESISTOR": "8", "MFG_ENABLE_FILTEROPAMP": "1",
                "MFG_GMCREF_SEL": "2"}

    def describe(self) -> str:
        return (f"EHXPLLL CLKI_DIV={self.clki_div} CLKFB_DIV={self.clkfb_div} "
                f"CLKOP_DIV={self.clkop_div} CLKOP_CPHASE={self.clkop_cphase}: "
                f"{self.f_in_hz / 1e6:g} MHz -> {self.f_out_hz / 1e6:.4f} MHz "
                f"(VCO {self.f_vco_hz / 1e6:.1f} MHz)")

    def as_dict(self) -> dict:
        return {**asdict(self), "description": self.describe()}


def _check_request(what: str, f_in_hz: float, f_out_hz: float, limits: dict,
                   tolerance: float) -> tuple[float, float]:
    for name, value in (("f_in_hz", f_in_hz), ("f_out_hz", f_out_hz),
                        ("tolerance", tolerance)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ConfigError(f"{what} PLL: {name}: must be a positive number, got {value!r}")
    f_in, f_out = f_in_hz / 1e6, f_out_hz / 1e6
    lo, hi = limits["in"]
    if not lo <= f_in <= hi:
        raise ConfigError(f"{what} PLL: input clock {f_in:g} MHz is outside {lo:g}..{hi:g} MHz")
    lo, hi = limits["out"]
    if not lo <= f_out <= hi:
        raise ConfigError(f"clk_mhz: {f_out:g} MHz is outside the {what} PLL's output range "
                          f"{lo:g}..{hi:g} MHz (from a {f_in:g} MHz board clock)")
    return f_in, f_out


def _no_setting(what: str, f_in: float, f_out: float, best: float | None,
                tolerance: float) -> ConfigError:
    closest = f"; the closest is {best:.4f} MHz" if best is not None else ""
    return ConfigError(f"clk_mhz: no {what} PLL setting makes {f_out:g} MHz from {f_in:g} MHz "
                       f"within {tolerance:.2%}{closest}")


def ice40_pll(f_in_hz: float, f_out_hz: float, *,
              tolerance: float = DEFAULT_TOLERANCE) -> ICE40PLLSetting:
    """The ``SB_PLL40`` setting (SIMPLE feedback) whose output is closest to ``f_out_hz``
    from an ``f_in_hz`` reference, as ``icepll`` computes it (see the module docstring)."""
    lim = ICE40_LIMITS
    f_in, f_out = _check_request("iCE40", f_in_hz, f_out_hz, lim, tolerance)
    best = None
    for divr in range(16):
        f_pfd = f_in / (divr + 1)
        if not lim["pfd"][0] <= f_pfd <= lim["pfd"][1]:
            continue
        for divf in range(128):
            f_vco = f_pfd * (divf + 1)
            if not lim["vco"][0] <= f_vco <= lim["vco"][1]:
                continue
            for divq in range(1, 7):
                fout = f_vco / 2 ** divq
                if not lim["out"][0] <= fout <= lim["out"][1]:
                    continue
                if best is None or abs(fout - f_out) < abs(best[0] - f_out):
                    best = (fout, divr, divf, divq, f_pfd, f_vco)
    if best is None or abs(best[0] - f_out) > tolerance * f_out:
        raise _no_setting("iCE40", f_in, f_out, best and best[0], tolerance)
    fout, divr, divf, divq, f_pfd, f_vco = best
    filter_range = (1 if f_pfd < 17 else 2 if f_pfd < 26 else 3 if f_pfd < 44 else
                    4 if f_pfd < 66 else 5 if f_pfd < 101 else 6)
    return ICE40PLLSetting(float(f_in_hz), float(f_out_hz), fout * 1e6, f_pfd * 1e6,
                           f_vco * 1e6, divr, divf, divq, filter_range)


def ecp5_pll(f_in_hz: float, f_out_hz: float, *,
             tolerance: float = DEFAULT_TOLERANCE) -> ECP5PLLSetting:
    """The ``EHXPLLL`` setting (CLKOP feedback) whose CLKOP is closest to ``f_out_hz`` from an
    ``f_in_hz`` reference, as ``ecppll`` computes it (see the module docstring)."""
    lim = ECP5_LIMITS
    f_in, f_out = _check_request("ECP5", f_in_hz, f_out_hz, lim, tolerance)
    best = None
    for clki_div in range(1, 129):
        f_pfd = f_in / clki_div
        if not lim["pfd"][0] <= f_pfd <= lim["pfd"][1]:
            continue
        for clkfb_div in range(1, 81):
            fout = f_pfd * clkfb_div
            if not lim["out"][0] <= fout <= lim["out"][1]:
                continue
            for clkop_div in range(1, 129):
                f_vco = fout * clkop_div
                if not lim["vco"][0] <= f_vco <= lim["vco"][1]:
                    continue
                error = abs(fout - f_out)
                if best is None or error < best[0] or (
                        error == best[0] and abs(f_vco - 600) < abs(best[5] - 600)):
                    best = (error, fout, clki_div, clkfb_div, clkop_div, f_vco, f_pfd)
    if best is None or best[0] > tolerance * f_out:
        raise _no_setting("ECP5", f_in, f_out, best and best[1], tolerance)
    _, fout, clki_div, clkfb_div, clkop_div, f_vco, f_pfd = best
    return ECP5PLLSetting(float(f_in_hz), float(f_out_hz), fout * 1e6, f_pfd * 1e6,
                          f_vco * 1e6, clki_div, clkfb_div, clkop_div, clkop_div // 2)


def pll_for(family: str, f_in_hz: float, f_out_hz: float, *,
            tolerance: float = DEFAULT_TOLERANCE):
    """The setting for a board's FPGA family (``"ice40"`` or ``"ecp5"``)."""
    key = str(family).lower()
    if key == "ice40":
        return ice40_pll(f_in_hz, f_out_hz, tolerance=tolerance)
    if key == "ecp5":
        return ecp5_pll(f_in_hz, f_out_hz, tolerance=tolerance)
    raise ConfigError(f"clk_mhz: no PLL support for the {family!r} family "
                      f"(ice40 and ecp5 only); leave clk_mhz unset to use the board clock")


class LockReset(wiring.Component):
    """Reset that follows a PLL's lock.

    Ports: ``lock`` (In 1, the PLL's LOCK, asynchronous to the clock), ``rst`` (Out 1, high
    while ``lock`` is low and for ``delay`` cycles of ``domain``'s clock after it rose --
    ``lock`` passes a two-flip-flop reset synchroniser first, so ``rst`` rises
    asynchronously with a falling ``lock`` and falls synchronously). ``rst`` is meant to
    drive the domain's reset; the logic here is clocked by ``domain``'s clock but reset only
    by ``lock``. The delay covers the iCE40's block RAMs, which read as zero for about 3 µs
    after configuration (Amaranth's own power-on reset waits 15 µs for it).
    """

    def __init__(self, delay: int, domain: str = "sync"):
        if not isinstance(delay, int) or delay < 0:
            raise ConfigError(f"delay: must be a non-negative integer, got {delay!r}")
        self.delay = delay
        self.domain = domain
        super().__init__({"lock": In(1), "rst": Out(1, init=1)})

    def elaborate(self, platform):
        m = Module()
        # asynchronous reset: rst rises with a falling lock even if the PLL clock stops
        m.domains.lock_por = ClockDomain("lock_por", local=True, async_reset=True)
        m.d.comb += ClockSignal("lock_por").eq(ClockSignal(self.domain))
        m.submodules.lock_sync = ResetSynchronizer(~self.lock, domain="lock_por")
        timer = Signal(range(self.delay + 1))
        with m.If(timer == self.delay):
            m.d.lock_por += self.rst.eq(0)
        with m.Else():
            m.d.lock_por += [timer.eq(timer + 1), self.rst.eq(1)]
        return m


class PLLClock(wiring.Component):
    """Drives the clock (and reset) of ``domain`` from a PLL on the board clock of ``platform``.

    ``setting``: an :class:`ICE40PLLSetting` or :class:`ECP5PLLSetting` (from
    :func:`pll_for`); ``domain``: the clock domain it drives, which a parent module defines
    (``BoardTop`` defines ``sync``) -- with a reset on the iCE40, reset-less on the ECP5
    (:attr:`domain_reset_less`); ``por_us``: the iCE40's power-on delay after LOCK (µs).
    Ports: ``clk`` (Out 1, the PLL output, also ``domain``'s clock) and ``locked`` (Out 1, the
    PLL's LOCK), for LEDs or tests. Requests the platform's ``default_clk`` resource without
    a buffer (the iCE40's ``SB_PLL40_PAD`` takes the pad itself) and adds the clock
    constraint of the PLL output net at ``setting.f_out_hz``.

    Reset until LOCK, as Amaranth's own platforms reset their default domain: on the iCE40
    :class:`LockReset` drives the domain's reset (LOCK, then 15 µs for the block RAMs); on
    the ECP5 LOCK passes two flip-flops outside the global set/reset (``FD1S3AX``,
    ``GSR="DISABLED"``) to ``SGSR``, which resets every other flip-flop of the design while
    LOCK is low, so the domain itself needs no reset logic.
    """

    def __init__(self, setting, *, domain: str = "sync", por_us: float = 15.0):
        if not isinstance(setting, (ICE40PLLSetting, ECP5PLLSetting)):
            raise ConfigError(f"setting: expected an ICE40PLLSetting or ECP5PLLSetting, "
                              f"got {type(setting).__name__}")
        self.setting = setting
        self.domain = domain
        self.por_cycles = max(1, int(por_us * 1e-6 * setting.f_out_hz))
        super().__init__({"clk": Out(1), "locked": Out(1)})

    @property
    def domain_reset_less(self) -> bool:
        """Whether the parent should define ``domain`` reset-less (ECP5: reset by GSR)."""
        return isinstance(self.setting, ECP5PLLSetting)

    def elaborate(self, platform):
        m = Module()
        s = self.setting
        pin = platform.request(platform.default_clk, dir="-")
        # "keep" makes Yosys name the merged clock net after this wire (it prefers the alias
        # with attributes), so the constraint below finds it by name in nextpnr
        pll_out = Signal(name="pll_clk", attrs={"keep": 1})
        lock = Signal()
        if isinstance(s, ICE40PLLSetting):
            m.submodules.pll = Instance(
                "SB_PLL40_PAD", **{f"p_{k}": v for k, v in s.parameters().items()},
                i_PACKAGEPIN=pin.io, i_RESETB=Const(1), i_BYPASS=Const(0),
                o_PLLOUTGLOBAL=pll_out, o_LOCK=lock)
        else:
            m.submodules.clk_buf = clk_buf = io.Buffer("i", pin)
            m.submodules.pll = Instance(
                "EHXPLLL", **{f"a_{k}": v for k, v in s.attributes().items()},
                **{f"p_{k}": v for k, v in s.parameters().items()},
                i_CLKI=clk_buf.i, i_CLKFB=pll_out, o_CLKOP=pll_out,
                i_RST=Const(0), i_STDBY=Const(0), i_PHASESEL0=Const(0), i_PHASESEL1=Const(0),
                i_PHASEDIR=Const(0), i_PHASESTEP=Const(0), i_PHASELOADREG=Const(0),
                i_PLLWAKESYNC=Const(0), i_ENCLKOP=Const(0), o_LOCK=lock)
        platform.add_clock_constraint(pll_out, s.f_out_hz)
        m.d.comb += [ClockSignal(self.domain).eq(pll_out), self.clk.eq(pll_out),
                     self.locked.eq(lock)]
        if isinstance(s, ICE40PLLSetting):
            m.submodules.lock_reset = lock_reset = LockReset(self.por_cycles, self.domain)
            m.d.comb += [lock_reset.lock.eq(lock), ResetSignal(self.domain).eq(lock_reset.rst)]
        else:
            # PUR clears both flip-flops at start-up, so GSR (active low) is asserted until
            # LOCK has been high for two PLL cycles
            gsr0, gsr1 = Signal(), Signal()
            m.submodules += [
                Instance("FD1S3AX", p_GSR="DISABLED", i_CK=pll_out, i_D=lock, o_Q=gsr0),
                Instance("FD1S3AX", p_GSR="DISABLED", i_CK=pll_out, i_D=gsr0, o_Q=gsr1),
                Instance("SGSR", i_CLK=pll_out, i_GSR=gsr1),
            ]
        return m
