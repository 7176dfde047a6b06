"""Read one signal's value at one time back from a wave file, as a viewer shows it (the last
change at or before the time): VCD as text, FST with pywellen (skipped where it is not
installed). The tests of ``--waves`` open the files the
co-simulation wrote with these."""

from __future__ import annotations

from pathlib import Path

import pytest

_UNITS_PS = {"s": 10 ** 12, "ms": 10 ** 9, "us": 10 ** 6, "ns": 1000, "ps": 1, "fs": 1e-3}


def _vcd_value(path: Path, signal: str, time_ps: int) -> int | None:
    """A plain reading of the VCD text (IEEE 1364 section 18): pyvcd refuses the ``$rootio``
    scope that cocotb's Verilator writes, so the few declarations needed are read here."""
    words = iter(path.read_text().split())
    scopes, codes, unit, value = [], set(), 1, None
    for word in words:
        if word == "$timescale":
            text = "".join(iter(lambda: next(words), "$end"))
            number = text.rstrip("munpfs")
            unit = int(number) * _UNITS_PS[text[len(number):]]
        elif word == "$scope":
            next(words)
            scopes.append(next(words))
        elif word == "$upscope":
            scopes.pop()
        elif word == "$var":
            _, _, code, reference = (next(words) for _ in range(4))
            name = ".".join(scopes + [reference])
            if name == signal or name.endswith("." + signal):
                codes.add(code)
        elif word == "$enddefinitions":
            break
    if not codes:
        raise AssertionError(f"{path}: no signal {signal}")
    for word in words:
        head = word[0]
        if head == "#":
            if int(word[1:]) * unit > time_ps:
                break
        elif head in "01xzXZ" and word[1:] in codes:
            value = int(head) if head in "01" else None
        elif head in "bB":
            bits, code = word[1:], next(words)
            if code in codes:
                value = int(bits, 2) if set(bits) <= {"0", "1"} else None
    return value


def _fst_value(path: Path, signal: str, time_ps: int) -> int | None:
    pywellen = pytest.importorskip("pywellen", reason="pywellen reads FST (pip install pywellen)")
    waves = pywellen.Waveform(str(path))
    found = [v for v in waves.all_vars()
             if v.full_name == signal or v.full_name.endswith("." + signal)]
    if not found:
        raise AssertionError(f"{path}: no signal {signal}")
    factor = {"fs": 1e-3, "ps": 1, "ns": 1000, "us": 10 ** 6}
    unit = factor[str(waves.timescale.unit).rsplit(".", 1)[-1]] * waves.timescale.factor
    value = found[0].signal.value_at(int(time_ps / unit))
    return value if isinstance(value, int) else None


def value_at(path, signal: str, time_ps: int) -> int | None:
    """The value of ``signal`` (a full name, or its tail: ``spikeforge_system.tick``) at
    ``time_ps``; None if it holds X or Z bits there."""
    path = Path(path)
    return _fst_value(path, signal, time_ps) if path.suffix == ".fst" else \
        _vcd_value(path, signal, time_ps)
