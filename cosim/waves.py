"""Waves of a mismatch: where in a wave file the first mismatch of a system co-simulation
can be seen -- the file, the simulation time of its cycle and the port that shows it.

Both engines put cycle ``c`` at the same simulation time, so one rule serves both. The cocotb
bench (:mod:`.system_tb`, :class:`~spikeforge.cosim.drivers.CycleCounter`) runs a
:data:`CLOCK_PERIOD_NS` clock that rises at 0 ns and holds reset for :data:`RESET_EDGES`
rising edges (0, 10 and 20 ns, in Icarus and in Verilator alike, as read back from their
wave files), so rising edge ``c`` is at ``10 c + 30`` ns; the bench samples what that edge
sees at the falling edge before it, ``10 c + 25`` ns (:func:`sample_time_ps`). The compiled
harness (``fast_harness.cpp``) writes its waves on the same time axis. A wave viewer that
shows the value *at* a time shows, at the sample time, exactly what the comparison saw.

:func:`wave_note` turns a mismatch (a :class:`~spikeforge.cosim.compare.Mismatch` or its
``to_dict()``) and a wave file into a :class:`WaveNote`, whose text goes into the
first-mismatch message: ``waves: build/x/waves/image3.vcd at 1185 ns (cycle 116; clock
period 10 ns, sampled at the falling edge), signal spikeforge_system.monitor__0__valid``.
The format follows the simulator: the harness and Verilator write VCD, Icarus (cocotb's
runner) FST; GTKWave opens both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from spikeforge.hdl.verilog import SYSTEM_TOP

__all__ = ["CLOCK_PERIOD_NS", "RESET_EDGES", "WAVE_SUFFIX", "sample_time_ps", "edge_time_ps",
           "mismatch_cycle", "signals_for", "WaveNote", "wave_note", "waves_file"]

#: the bench's clock period (``CycleCounter(period_ns=10)``) and its reset edges
#: (``counter.reset(3)``); fast_harness.cpp has the same two numbers
CLOCK_PERIOD_NS = 10
RESET_EDGES = 3
#: the wave format each writer produces: the harness and Verilator (cocotb's
#: ``--trace``) VCD; Icarus FST (cocotb's runner passes ``-fst`` to vvp)
WAVE_SUFFIX = {"fast": ".vcd", "verilator": ".vcd", "icarus": ".fst"}


def edge_time_ps(cycle: int) -> int:
    """Simulation time (ps) of the rising edge of cycle ``cycle``."""
    return (cycle + RESET_EDGES) * CLOCK_PERIOD_NS * 1000


def sample_time_ps(cycle: int) -> int:
    """Simulation time (ps) at which the bench samples what edge ``cycle`` sees: the
    falling edge half a period before it."""
    return edge_time_ps(cycle) - CLOCK_PERIOD_NS * 1000 // 2


_CYCLE = re.compile(r"cycle (-?\d+)")


def mismatch_cycle(mismatch: dict) -> int | None:
    """The cycle of a mismatch: the observed event's, else the expected one's (a missing
    event has none of its own), else None."""
    if mismatch.get("cycle") is not None:
        return int(mismatch["cycle"])
    found = _CYCLE.search(str(mismatch.get("expected", "")))
    return int(found.group(1)) if found else None


# what each kind of mismatch (system_tb.compare_image's labels) is seen on: the ports of
# spikeforge_system, the most telling first
_SIGNALS = (
    (re.compile(r"(events|spikes) counter \(layer (\d+)\)"),
     lambda m: (f"{m.group(1)}__{m.group(2)}", f"monitor__{m.group(2)}__valid", "tick")),
    (re.compile(r"(?:spike|monitor) \(layer (\d+)\)"),
     lambda m: (f"monitor__{m.group(1)}__valid", f"monitor__{m.group(1)}__neuron", "tick")),
    (re.compile(r"out_spikes"), lambda m: ("out_spikes__valid", "out_spikes__ready",
                                           "out_spikes__payload")),
    (re.compile(r"input handshake"), lambda m: ("inp__ready", "inp__valid", "inp__payload")),
    (re.compile(r"tick end"), lambda m: ("tick_done", "tick")),
    (re.compile(r"decision tick"), lambda m: ("result_tick", "done")),
    (re.compile(r"class"), lambda m: ("result_class", "done")),
    (re.compile(r"ticks run"), lambda m: ("ticks_run", "done")),
    (re.compile(r"no-spike flag"), lambda m: ("result_none", "done")),
    (re.compile(r"error"), lambda m: ("error", "done")),
    (re.compile(r"cycles port"), lambda m: ("cycles",)),
    (re.compile(r"done"), lambda m: ("done", "tick")),
)


def signals_for(kind: str) -> tuple[str, ...]:
    """The ports of :data:`SYSTEM_TOP` that show a mismatch of ``kind`` (e.g.
    ``"image 3: monitor (layer 0)"``), most telling first; () if the kind is unknown."""
    for pattern, names in _SIGNALS:
        found = pattern.search(kind)
        if found:
            return names(found)
    return ()


@dataclass(frozen=True)
class WaveNote:
    """Where to look: ``file``, the mismatch's ``cycle`` and its sample time ``time_ns``
    (None if the mismatch has no cycle), the ``signals`` (full names under
    :data:`SYSTEM_TOP`)."""

    file: str
    cycle: int | None
    time_ns: float | None
    signals: tuple[str, ...]

    def __str__(self) -> str:
        text = f"waves: {self.file}"
        if self.time_ns is not None:
            text += (f" at {self.time_ns:g} ns (cycle {self.cycle}; clock period "
                     f"{CLOCK_PERIOD_NS} ns, sampled at the falling edge)")
        if self.signals:
            text += f", signal {self.signals[0]}"
            if len(self.signals) > 1:
                text += f" (with {', '.join(s.rsplit('.', 1)[1] for s in self.signals[1:])})"
        return text

    def to_dict(self) -> dict:
        return {"file": self.file, "cycle": self.cycle, "time_ns": self.time_ns,
                "signals": list(self.signals)}


def _as_dict(mismatch) -> dict:
    return mismatch.to_dict() if hasattr(mismatch, "to_dict") else dict(mismatch)


def _image(kind: str) -> str:
    """The ``image <b>`` label a mismatch kind starts with ("" if none)."""
    found = re.search(r"image \d+", kind)
    return found.group(0) if found else ""


def wave_note(mismatch, file, related=()) -> WaveNote:
    """The :class:`WaveNote` of ``mismatch`` (a ``Mismatch`` or its ``to_dict()``) in the
    wave file ``file``. A mismatch without a cycle (a spike the RTL never emitted, compared
    as a value) takes the cycle of the first of the ``related`` mismatches of its image and
    port that has one -- the timing comparison of the same events, which names the cycle
    the cycle model expected -- else of its image."""
    m = _as_dict(mismatch)
    kind = str(m.get("kind", ""))
    cycle = mismatch_cycle(m)
    if cycle is None:
        same = [r for r in map(_as_dict, related)
                if _image(str(r.get("kind", ""))) == _image(kind)]
        port = [r for r in same if signals_for(str(r.get("kind", ""))) == signals_for(kind)]
        cycles = (mismatch_cycle(r) for r in port + same)
        cycle = next((c for c in cycles if c is not None), None)
    time_ns = None if cycle is None else sample_time_ps(cycle) / 1000
    signals = tuple(f"{SYSTEM_TOP}.{name}" for name in signals_for(kind))
    return WaveNote(str(file), cycle, time_ns, signals)


def waves_file(where, stem: str, writer: str) -> Path:
    """The wave file for ``stem`` (e.g. ``image3``) in the folder ``where``, with the
    suffix of ``writer`` (``fast``, ``verilator`` or ``icarus``); a ``where`` that already
    ends in that suffix is the file itself."""
    where = Path(where)
    suffix = WAVE_SUFFIX[writer]
    return where if where.suffix == suffix else where / f"{stem}{suffix}"
