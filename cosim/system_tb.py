"""cocotb bench of the whole system (runs inside the simulator; see :mod:`.system_cosim`).

The spec (JSON, ``$SPIKEFORGE_SYSTEM_SPEC``) holds, per image, the input items with their
gaps, the start gap, and everything expected: class, decision tick, ticks run, every spike
of every layer (golden model) and the predicted (neuron, tick, cycle) of every output spike
and every monitor event of every layer, in order, and the cycles of every tick end, ``done``
and the ``cycles`` port (system cycle model), and the error flag. Events are compared as
whole (tick, neuron, cycle) triples in emission order
(:func:`spikeforge.cosim.compare.compare_image`, which the fast harness runs too). One agent on the
:class:`~spikeforge.cosim.drivers.CycleCounter` drives ``start``, ``inp`` and
``out_spikes.ready`` by the driver convention of :mod:`spikeforge.sim.system_cycle` and
records what the design does; all images run back to back. The test fails with the first
mismatch (earliest image, then tick), naming image, tick, neuron and cycle; the JSON report
(``$SPIKEFORGE_COSIM_REPORT``) holds it and per-image results.
"""

from __future__ import annotations

import json
import os

import cocotb

from spikeforge.cosim.compare import Mismatch, compare_image, first_mismatch
from spikeforge.cosim.drivers import CycleCounter, _Agent, _bit, _int, signal
from spikeforge.cosim.system_cosim import SPEC_ENV, StallPattern

__all__ = ["SystemDriver", "compare_image", "system_matches_golden_and_cycle_models"]


def _value(handle) -> int:
    """The unsigned value of a port; -1 if it holds X/Z bits (reported, not raised)."""
    try:
        return _int(handle)
    except ValueError:
        return -1


class SystemDriver(_Agent):
    def __init__(self, dut, counter, spec):
        super().__init__(counter)
        self.spec = spec
        self.images = spec["images"]
        self.n_layers = spec["n_layers"]
        self.ready = StallPattern(spec["ready"]["seed"], spec["ready"]["p"])
        self.always_ready = spec["ready"]["p"] >= 1.0
        self.start = dut.start
        self.n_ticks = dut.n_ticks
        self.inp_valid = signal(dut, "inp", "valid")
        self.inp_ready = signal(dut, "inp", "ready")
        self.inp_payload = signal(dut, "inp", "payload")
        self.inp_copies = []  # a system of input_copies: its index once per layer-0 core
        while hasattr(dut, f"inp_copies__{len(self.inp_copies)}"):
            self.inp_copies.append(getattr(dut, f"inp_copies__{len(self.inp_copies)}"))
        self.out_valid = signal(dut, "out_spikes", "valid")
        self.out_ready = signal(dut, "out_spikes", "ready")
        self.out_payload = signal(dut, "out_spikes", "payload")
        self.mon_valid = [getattr(dut, f"monitor__{l}__valid") for l in range(self.n_layers)]
        self.mon_neuron = [getattr(dut, f"monitor__{l}__neuron") for l in range(self.n_layers)]
        self.tick = dut.tick
        self.tick_done = dut.tick_done
        self.done = dut.done
        self.result_class = dut.result_class
        self.result_tick = dut.result_tick
        self.result_none = dut.result_none
        self.ticks_run = dut.ticks_run
        self.cycles_port = dut.cycles
        self.counters = [getattr(dut, f"{kind}__{l}") for kind in ("events", "spikes")
                         for l in range(self.n_layers)]
        self.error = dut.error
        self.busy = dut.busy
        self.idle = dut.idle
        self.level = None  # the first wrong busy/idle sample since the last done
        self.index_bits = len(self.inp_payload) - 1
        self.neuron_bits = None  # out payload: neuron low bits; tick high (tick_bits wide)
        self.tick_bits = len(self.tick)
        self.neuron_bits = len(self.out_payload) - self.tick_bits
        self.b = 0
        self.start_cycle = self.images[0]["start"] if self.images else 0
        self.obs = None
        self.k = 0
        self.reference = None
        self.offer_at = None
        self.offering = False
        self.pending_cycles = None
        self.read_at = None  # the cycle the pending image's held results are read
        self.results = []
        self.finished = not self.images
        self._start_high = False
        self._ready_high = None
        self._valid_high = False
        self._driven = None
        self.start.value = 0
        self.inp_valid.value = 0
        self.n_ticks.value = spec["n_ticks"]

    def _drive(self, cycle, counted):
        if not counted:
            return
        start = (not self.finished) and cycle == self.start_cycle
        if start != self._start_high:
            self.start.value = int(start)
            self._start_high = start
        if start:
            self.obs = {"start": cycle, "inputs": [], "out": [],
                        "monitor": [[] for _ in range(self.n_layers)], "tick_done": []}
            self.k, self.reference, self.offer_at = 0, cycle + 1, None
        offering = False
        if self.obs is not None and cycle > self.obs["start"]:
            items = self.images[self.b]["items"]
            if self.k < len(items):
                if self.offer_at is None:
                    self.offer_at = self.reference + items[self.k][2]
                if cycle >= self.offer_at:
                    offering = True
                    if self._driven != (self.b, self.k):
                        j, last, _ = items[self.k]
                        self.inp_payload.value = (int(last) << self.index_bits) | int(j)
                        for copy in self.inp_copies:
                            copy.value = int(j)
                        self._driven = (self.b, self.k)
        if offering != self._valid_high:
            self.inp_valid.value = int(offering)
            self._valid_high = offering
        self.offering = offering
        ready = True if self.always_ready else bool(self.ready(cycle))
        if ready != self._ready_high:
            self.out_ready.value = int(ready)
            self._ready_high = ready

    def _sample(self, cycle):
        if self.pending_cycles is not None and cycle == self.read_at:
            self.pending_cycles["cycles_port"] = _int(self.cycles_port)
            values = [_int(c) for c in self.counters]
            self.pending_cycles["counters"] = {"events": values[:self.n_layers],
                                               "spikes": values[self.n_layers:]}
            self.pending_cycles = None
        obs = self.obs
        want_busy = obs is not None and cycle > obs["start"]
        busy, idle = _bit(self.busy), _bit(self.idle)
        if (busy != want_busy or idle == busy) and self.level is None:
            self.level = (cycle, int(busy), int(idle))
        if obs is None:
            return
        if cycle == obs["start"]:
            obs["error_at_start"] = _int(self.error)
        if self.offering and _bit(self.inp_ready):
            obs["inputs"].append(cycle)
            self.k += 1
            self.reference, self.offer_at = cycle + 1, None
            self.offering = False
        tick = None
        if self._ready_high and _bit(self.out_valid):
            value = _value(self.out_payload)
            tick = _int(self.tick)
            obs["out"].append((value & ((1 << self.neuron_bits) - 1), value >> self.neuron_bits,
                               cycle))
        for l in range(self.n_layers):
            if _bit(self.mon_valid[l]):
                if tick is None:
                    tick = _int(self.tick)
                obs["monitor"][l].append((_value(self.mon_neuron[l]), tick, cycle))
        if _bit(self.tick_done):
            obs["tick_done"].append(cycle)
        if cycle > obs["start"] and _bit(self.done):
            cls = self.result_class.value.to_signed()
            obs.update(done=cycle, cls=cls, tick=_int(self.result_tick),
                       none=_int(self.result_none), ticks_run=_int(self.ticks_run),
                       error=_int(self.error), level=self.level)
            self.level = None
            self.results.append(obs)
            # the held results (cycles port, counters) are read in the last cycle before
            # the next start's edge, the last image's too: they must hold until then
            self.pending_cycles = obs
            self.read_at = max(cycle + 1 + self.images[self.b]["start_gap"], cycle + 1)
            self.obs = None
            self.b += 1
            if self.b >= len(self.images):
                self.finished = True
            else:
                self.start_cycle = self.read_at
            # drop whatever input is still offered
            self.k = 1 << 30

    @property
    def current_tick(self):
        return _int(self.tick)


@cocotb.test()
async def system_matches_golden_and_cycle_models(dut):
    with open(os.environ[SPEC_ENV]) as f:
        spec = json.load(f)
    counter = CycleCounter(dut.clk, dut.rst)
    driver = SystemDriver(dut, counter, spec)
    counter.start()
    await counter.reset(3)

    images = spec["images"]
    timeout = None
    while not driver.finished:
        await counter.cycles(64)
        b = driver.b
        if b < len(images):
            exp = images[b]
            limit = exp["done"] + max(2000, exp["cycles"])
            if counter.cycle > limit:
                tick = driver.current_tick
                timeout = Mismatch(f"image {b}: done", tick, None, f"done at cycle {exp['done']}",
                                   "not done", counter.cycle,
                                   f"the inference did not finish within {limit} cycles")
                break
    while driver.pending_cycles is not None:  # the last image's held results
        await counter.cycles(1)

    found = []
    for b, exp in enumerate(images):
        obs = driver.results[b] if b < len(driver.results) else None
        if obs is None and timeout is not None and b == len(driver.results):
            found.append(timeout)
            break
        # the previous image's flag, sticky until this start
        before = driver.results[b - 1]["error"] if 0 < b <= len(driver.results) else None
        found += compare_image(b, exp, obs, spec.get("check_timing", True), before)
        if found:
            break  # the first image with a difference
    first = first_mismatch(*found)
    report = {
        "cycles": counter.cycle, "images": len(images), "images_done": len(driver.results),
        "results": [{"class": r["cls"], "decision_tick": r["tick"], "cycles": r["done"] - r["start"],
                     "output_spikes": len(r["out"]), **r["counters"]}
                    for r in driver.results],
        "mismatch": first.to_dict() if first else None,
        "mismatches": [m.to_dict() for m in found],
    }
    path = os.environ.get("SPIKEFORGE_COSIM_REPORT")
    if path:
        with open(path, "w") as f:
            json.dump(report, f, default=str)
    if first is not None:
        others = "; ".join(m.describe() for m in found[1:4])
        raise AssertionError(str(first) + (f" [also: {others}]" if others else ""))
