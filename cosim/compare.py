"""Find the first difference between what a model predicted and what the RTL did.

Every comparison returns a :class:`Mismatch` (or None); :func:`first_mismatch` picks the
earliest of several: smallest tick, then the order the candidates were given in (so pass
the most telling comparison first). :func:`compare_image` is the whole comparison of one
image of a system co-simulation (the cocotb bench and the fast harness both run it). Plain Python and numpy: usable inside a cocotb
testbench and in pytest alike.

>>> compare_events([(0, 1), (2, 3)], [(0, 1, 17), (2, 4, 40)])
Mismatch(kind='spike', tick=2, neuron=3, expected='spike', got='no spike', cycle=None, detail='missing output event (tick 2, neuron 3)')
>>> print(compare_traces("monitor", [(0, 1, 17), (0, 2, 18)], [(0, 2, 17), (0, 1, 18)]))
first mismatch: monitor at tick 0, neuron 1: expected (tick 0, neuron 1, cycle 17), got (tick 0, neuron 2, cycle 17) (cycle 17) -- event #0: neuron 2 instead of 1
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass
class Mismatch:
    """One difference: ``kind`` names the quantity (``"spike"``, ``"state:v"``,
    ``"cycle:spike_out"``, ...); ``tick`` and ``neuron`` say where (None where it does
    not apply); ``cycle`` is the clock cycle of the observed event, when known."""

    kind: str
    tick: int | None
    neuron: int | None
    expected: object
    got: object
    cycle: int | None = None
    detail: str = ""

    def __str__(self) -> str:
        return "first mismatch: " + self.describe()

    def describe(self) -> str:
        """The mismatch in words (without the "first mismatch" prefix)."""
        where = []
        if self.tick is not None:
            where.append(f"tick {self.tick}")
        if self.neuron is not None:
            where.append(f"neuron {self.neuron}")
        text = f"{self.kind} at {', '.join(where) or 'start'}: " \
               f"expected {self.expected}, got {self.got}"
        if self.cycle is not None:
            text += f" (cycle {self.cycle})"
        if self.detail:
            text += f" -- {self.detail}"
        return text

    def to_dict(self) -> dict:
        d = asdict(self)
        for key in ("expected", "got"):
            value = d[key]
            if isinstance(value, np.generic):
                d[key] = value.item()
        return d


def _key(m: Mismatch) -> float:
    return m.tick if m.tick is not None else float("inf")


def first_mismatch(*candidates: Mismatch | None) -> Mismatch | None:
    """The earliest mismatch (by tick; ties: the first one given)."""
    found = [m for m in candidates if m is not None]
    return min(found, key=_key) if found else None


def compare_events(expected, got, kind: str = "spike") -> Mismatch | None:
    """Compare output events in emission order.

    ``expected``: ``(tick, neuron)`` pairs, ascending; ``got``: ``(tick, neuron)`` or
    ``(tick, neuron, cycle)`` in the order the RTL emitted them. At the first position where
    they differ, the smaller of the two (by tick, then neuron) is reported: a spike the RTL
    missed, or an extra one it emitted.
    """
    for k in range(max(len(expected), len(got))):
        e = tuple(expected[k][:2]) if k < len(expected) else None
        g = tuple(got[k][:2]) if k < len(got) else None
        cycle = got[k][2] if k < len(got) and len(got[k]) > 2 else None
        if e == g:
            continue
        if g is None or (e is not None and e < g):
            return Mismatch(kind, e[0], e[1], "spike", "no spike", None,
                            f"missing output event (tick {e[0]}, neuron {e[1]})")
        return Mismatch(kind, g[0], g[1], "no spike", "spike", cycle,
                        f"unexpected output event #{k} (tick {g[0]}, neuron {g[1]})")
    return None


def _event(e) -> str:
    return "no event" if e is None else f"(tick {e[0]}, neuron {e[1]}, cycle {e[2]})"


def compare_traces(kind: str, expected, got) -> Mismatch | None:
    """Compare two event lists as wholes, element by element in emission order: each event
    a ``(tick, neuron, cycle)`` triple (the cycle model's prediction and what the RTL did).

    At the first position where the triples differ, the mismatch names the expected event's
    tick and neuron (the observed one's if none was expected), the observed event's cycle,
    and both triples; ``detail`` says what differs (another neuron, another tick, early,
    late, missing, unexpected). Unlike comparing the set of (tick, neuron) pairs and the
    list of cycles apart, this catches two events of one tick that leave in swapped order.
    """
    for k in range(max(len(expected), len(got))):
        e = tuple(int(x) for x in expected[k][:3]) if k < len(expected) else None
        g = tuple(int(x) for x in got[k][:3]) if k < len(got) else None
        if e == g:
            continue
        if g is None:
            what = "missing"
        elif e is None:
            what = "unexpected"
        elif e[0] != g[0]:
            what = f"tick {g[0]} instead of {e[0]}"
        elif e[1] != g[1]:
            what = f"neuron {g[1]} instead of {e[1]}"
        else:
            what = "late" if g[2] > e[2] else "early"
        where = e if e is not None else g
        return Mismatch(kind, where[0], where[1], _event(e), _event(g),
                        g[2] if g is not None else None, f"event #{k}: {what}")
    return None


def compare_states(expected: dict, got: dict, names=None, ticks=None) -> Mismatch | None:
    """Compare per-tick, per-neuron state arrays ``[ticks, neurons]`` by name.

    The first mismatch in (tick, neuron, name) order is returned, ``kind="state:<name>"``.
    ``names`` sets the order of the quantities at one neuron (default: ``expected``'s
    keys); ``ticks`` limits the ticks compared (default: all rows of ``got``).
    """
    names = list(names or expected)
    exp = {n: np.asarray(expected[n]) for n in names}
    obs = {n: np.asarray(got[n]) for n in names}
    n_ticks = min(len(obs[n]) for n in names) if ticks is None else ticks
    for n in names:
        if exp[n].ndim != 2 or obs[n].ndim != 2 or exp[n].shape[1] != obs[n].shape[1]:
            return Mismatch(f"state:{n}", None, None, f"shape {exp[n].shape}", f"shape {obs[n].shape}")
    for t in range(n_ticks):
        if t >= len(next(iter(exp.values()))):
            return Mismatch("ticks", t, None, f"{len(exp[names[0]])} ticks", f"tick {t}")
        diff = np.zeros(exp[names[0]].shape[1], dtype=bool)
        for n in names:
            diff |= exp[n][t] != obs[n][t]
        if diff.any():
            neuron = int(np.argmax(diff))
            for n in names:
                e, g = exp[n][t, neuron], obs[n][t, neuron]
                if e != g:
                    return Mismatch(f"state:{n}", t, neuron, _plain(e), _plain(g))
    return None


def compare_cycles(kind: str, expected, got, ticks=None, neurons=None) -> Mismatch | None:
    """Compare two lists of clock cycles (the cycle model's prediction and what the RTL
    did), element by element; ``ticks[k]``/``neurons[k]`` label event ``k`` if given."""
    for k in range(max(len(expected), len(got))):
        e = expected[k] if k < len(expected) else None
        g = got[k] if k < len(got) else None
        if e != g:
            tick = ticks[k] if ticks is not None and k < len(ticks) else None
            neuron = neurons[k] if neurons is not None and k < len(neurons) else None
            what = "missing" if g is None else ("unexpected" if e is None else "late" if g > e else "early")
            return Mismatch(f"cycle:{kind}", tick, neuron,
                            f"cycle {e}" if e is not None else "no event",
                            f"cycle {g}" if g is not None else "no event", g,
                            f"{kind} event #{k} {what}")
    return None


def _plain(x):
    return x.item() if isinstance(x, np.generic) else x


def _triples(events) -> list[tuple[int, int, int]]:
    """``(neuron, tick, cycle)`` events as ``(tick, neuron, cycle)``, order kept."""
    return [(int(t), int(n), int(c)) for n, t, c in events]


def compare_image(b, exp, obs, check_timing=True, error_before=None):
    """Mismatches of image ``b`` of a system co-simulation, in the order of importance
    (values first). ``exp``: the image's expectations (a
    :func:`~spikeforge.cosim.system_cosim.system_spec` image); ``obs``: what the bench or the
    fast harness recorded (None: the image never finished).

    Values: every layer's spikes (monitor ports) and the output spikes as sets of (tick,
    neuron) against the golden model; class, decision tick, ticks run; the error flag
    against the golden model's (``exp["error"]``: 1, 0, or None where the contract leaves it
    to timing -- then not compared; a spec without it expects 0), a mismatch naming the
    first overflow (``exp["overflow"]``: layer, tick, events, bound); the error port in the
    image's start cycle: ``error_before``, the previous image's flag at its ``done`` (the
    flag is sticky until ``start``), or for the first image of a run (``b`` 0, or
    ``error_before`` 0) low, as the reset left it; the work
    counters (``exp["counters"]``: each layer's input events and reported spikes, read with
    the cycles port in the last cycle before the next start's edge, so they must hold from
    done until then). Timing
    (``check_timing``): every event of every layer -- the output spikes and each layer's
    monitor events -- as the ordered list of whole (tick, neuron, cycle) triples against the
    cycle model, so two spikes of one tick that leave in swapped order are a mismatch; then
    input handshakes, tick ends, done, ``busy``/``idle`` at every cycle up to done and the
    cycles port.
    """
    out = []
    label = f"image {b}: "
    if obs is None:
        return [Mismatch(label + "done", None, None, f"done at cycle {exp['done']}",
                         "not done", None, "the inference did not finish")]
    for l, spikes in enumerate(exp["spikes"]):
        want = sorted((t, n) for n, t in spikes)
        got = sorted((t, n, c) for n, t, c in obs["monitor"][l])
        m = compare_events(want, got, kind=label + f"spike (layer {l})")
        if m:
            out.append(m)
    got_out = sorted((t, n, c) for n, t, c in obs["out"])
    want_out = sorted((t, n) for n, t in exp["out_spikes"])
    m = compare_events(want_out, got_out, kind=label + "out_spikes")
    if m:
        out.append(m)
    if obs["cls"] != exp["class"]:
        out.append(Mismatch(label + "class", exp["decision_tick"], None, exp["class"], obs["cls"],
                            obs["done"]))
    if obs["tick"] != exp["decision_tick"] % (1 << 16):
        out.append(Mismatch(label + "decision tick", exp["decision_tick"], None,
                            exp["decision_tick"], obs["tick"], obs["done"]))
    if bool(obs["none"]) != exp["none"]:
        out.append(Mismatch(label + "no-spike flag", exp["decision_tick"], None, int(exp["none"]),
                            int(obs["none"]), obs["done"]))
    if obs["ticks_run"] != exp["ticks_run"]:
        out.append(Mismatch(label + "ticks run", exp["ticks_run"] - 1, None, exp["ticks_run"],
                            obs["ticks_run"], obs["done"]))
    m = _compare_error(label, exp, obs)
    if m:
        out.append(m)
    if b == 0 and error_before is None:
        error_before = 0  # the first image of a run follows the reset
    if error_before is not None and obs["error_at_start"] != error_before:
        out.append(Mismatch(label + "error flag after reset", None, None, 0,
                            obs["error_at_start"], obs["start"],
                            "the error port is high before the first start")
                   if error_before == 0 and b == 0 else
                   Mismatch(label + "error flag held until start", None, None, error_before,
                            obs["error_at_start"], obs["start"],
                            "the error port changed between the previous image's done and "
                            "this start (it is sticky until start)"))
    out += _compare_counters(label, exp, obs)
    if not check_timing:
        return out
    m = compare_traces(label + "out_spikes", _triples(exp["out"]), _triples(obs["out"]))
    if m:
        out.append(m)
    for l, e_mon in enumerate(exp["monitor"]):
        m = compare_traces(label + f"monitor (layer {l})", _triples(e_mon),
                           _triples(obs["monitor"][l]))
        if m:
            out.append(m)
    m = compare_cycles(label + "input handshake", exp["inputs"], obs["inputs"])
    if m:
        out.append(m)
    m = compare_cycles(label + "tick end", exp["tick_done"], obs["tick_done"],
                       ticks=list(range(len(exp["tick_done"]))))
    if m:
        out.append(m)
    m = compare_cycles(label + "done", [exp["done"]], [obs["done"]], ticks=[exp["ticks_run"] - 1])
    if m:
        out.append(m)
    m = _compare_level(label, obs)
    if m:
        out.append(m)
    if "cycles_port" in obs and obs["cycles_port"] != exp["cycles"]:
        out.append(Mismatch(label + "cycles port", exp["ticks_run"] - 1, None, exp["cycles"],
                            obs["cycles_port"], obs["done"] + 1))
    return out


def _compare_counters(label: str, exp: dict, obs: dict) -> list[Mismatch]:
    """The work counters, held from ``done`` and read before the next start
    (``obs["counters"]``), against the models': each layer's input events (the golden
    model's ``statistics().input_events``) and the spikes its monitor reported."""
    got = obs.get("counters")
    if got is None:  # a bench record without them: a defect of the bench, not a pass
        return [Mismatch(label + "counters", None, None, exp["counters"], "not read", obs["done"] + 1)]
    out = []
    for kind in ("events", "spikes"):
        for l, (want, value) in enumerate(zip(exp["counters"][kind], got[kind])):
            if want != value:
                out.append(Mismatch(label + f"{kind} counter (layer {l})", exp["ticks_run"] - 1,
                                    None, want, value, obs["done"] + 1))
    return out


def _compare_level(label: str, obs: dict) -> Mismatch | None:
    """``busy``/``idle`` (``obs["level"]``: the first wrong sample since the previous image's
    done, as ``(cycle, busy, idle)``, or None) against the ports' contract: busy sampled high
    exactly at cycles start + 1 .. done, idle = ~busy."""
    if obs["level"] is None:
        return None
    cycle, busy, idle = obs["level"]
    want = int(obs["start"] < cycle <= obs["done"])
    return Mismatch(label + "busy/idle", None, None, f"busy={want} idle={1 - want}",
                    f"busy={busy} idle={idle}", cycle)


def _compare_error(label: str, exp: dict, obs: dict) -> Mismatch | None:
    """The error flag at ``done`` against the golden model's (see :func:`compare_image`)."""
    want = exp.get("error", 0)
    if want is None or int(obs["error"]) == int(want):
        return None
    over = exp.get("overflow")
    if over:
        layer, tick, events, bound = over
        detail = (f"layer {layer} takes {events} events for tick {tick}, more than its "
                  f"max_events_per_tick = {bound}")
    else:
        tick = None
        detail = "no tick brings more events than max_events_per_tick"
    return Mismatch(label + "error flag", tick, None, int(want), int(obs["error"]), obs["done"],
                    detail)
