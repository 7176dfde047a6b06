"""Co-simulate a whole :class:`~spikeforge.hdl.system.SpikeforgeSystem` against the golden
network model and the system cycle model.

:func:`run_system_cosim` takes an :class:`~spikeforge.sim.network.IntegerNetwork` and its
:class:`~spikeforge.ir.plan.HardwarePlan` (e.g. from
:func:`spikeforge.compiler.artifact.load_artifact`) and a batch of input event counts
``[images, ticks, n_inputs]``; it builds the system's Verilog (cached per design), runs the
cocotb bench :mod:`spikeforge.cosim.system_tb` on Icarus or Verilator -- all images back
to back in one simulation -- and compares, per image: class, decision tick, the spikes of
every layer (monitor ports) and of ``out_spikes`` against the golden model
(:func:`~spikeforge.sim.network.run_network`), and every event of every layer -- each output
spike and each layer's monitor event -- as the ordered list of whole (tick, neuron, cycle)
triples, every input handshake, the end of every tick and the total cycles against
:func:`spikeforge.sim.system_cycle.predict_run`. The first mismatch is reported with image,
layer, tick, neuron, expected and got. ``verilog_text=`` simulates a given Verilog text (the
file ``spikeforge compile`` shipped) instead of generating it.

The expected values are computed here (in pytest's process) and handed to the bench as a
JSON file; the bench only drives, records and compares.
"""

from __future__ import annotations

import random
import time

import numpy as np

from spikeforge.cosim.runner import CocotbResult, run_cocotb, spec_file
from spikeforge.hdl.verilog import SYSTEM_TOP, system_verilog
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.network import IntegerNetwork
from spikeforge.ir.params import Decision
from spikeforge.ir.system import SystemConfig
from spikeforge.sim.network import ERROR_UNDETERMINED, run_network
from spikeforge.sim.system_cycle import (InputSchedule, predict_run, ticks_offered,
                                         ticks_to_run)

SPEC_ENV = "SPIKEFORGE_SYSTEM_SPEC"
TB_MODULE = "spikeforge.cosim.system_tb"

__all__ = ["schedules_for", "expected_run", "expected_error", "system_spec", "run_system_cosim"]


# -- stimuli -------------------------------------------------------------------------------

def schedules_for(input_counts: np.ndarray, seed: int | None = None, p_gap: float = 0.3,
                  max_gap: int = 3) -> list[InputSchedule]:
    """The input schedule of every image: tick t's events (input j repeated
    ``input_counts[b, t, j]`` times, ascending j, or shuffled with a ``seed``), each after a
    random gap (0 with probability ``1 - p_gap``; ``seed=None``: no gaps at all)."""
    rng = random.Random(seed) if seed is not None else None
    out = []
    for b in range(input_counts.shape[0]):
        events, gaps, markers = [], [], []
        for t in range(input_counts.shape[1]):
            row = [int(j) for j in np.repeat(np.arange(input_counts.shape[2]), input_counts[b, t])]
            if rng is not None:
                rng.shuffle(row)
                gaps.append([rng.randint(1, max_gap) if rng.random() < p_gap else 0 for _ in row])
                markers.append(rng.randint(1, max_gap) if rng.random() < p_gap else 0)
            else:
                gaps.append([0] * len(row))
                markers.append(0)
            events.append(row)
        out.append(InputSchedule(events, gaps, markers))
    return out


class StallPattern:
    """``out_spikes.ready`` as a pure function of the cycle: high with probability ``p``
    (hash of seed and cycle), or always (``p >= 1``). Same in pytest and in the bench."""

    def __init__(self, seed: int = 0, p: float = 1.0):
        self.seed, self.p = int(seed), float(p)
        self._threshold = int(self.p * (1 << 32))

    def __call__(self, cycle: int) -> bool:
        if self.p >= 1.0:
            return True
        x = (cycle * 0x9E3779B1 + self.seed * 0x85EBCA77 + 0x165667B1) & 0xFFFFFFFF
        x ^= x >> 15
        x = (x * 0x2C1B3C6D) & 0xFFFFFFFF
        x ^= x >> 12
        x = (x * 0x297A2D39) & 0xFFFFFFFF
        x ^= x >> 15
        return x < self._threshold


# -- expectations ----------------------------------------------------------------------------

def expected_run(network: IntegerNetwork, plan, input_counts, n_ticks: int | None = None, *,
                 schedules=None, system: SystemConfig | None = None,
                 out_ready=None, start_cycle: int = 0, start_gaps=None, train: bool = False,
                 model=None):
    """Golden trace and predicted timing of a batch: ``(trace, timings, items)``;
    ``items[b]`` = ``(index, last, gap)`` input items the driver offers for image b. The
    trace of a FIRST_SPIKE network stops each image at its decision tick (``early_exit``:
    the ticks the system runs, and nothing after them is compared), unless the images are
    training inferences (``train``), which run every tick. ``model``: the system cycle
    model to go on with (:func:`~spikeforge.sim.system_cycle.predict_run`)."""
    counts = network.check_input(input_counts)
    n_ticks = n_ticks or counts.shape[1]
    trace = run_network(network, counts, n_ticks, early_exit=not train)
    if schedules is None:
        schedules = schedules_for(trace.input_counts)
    timings = predict_run(plan, trace, schedules, n_ticks, system=system,
                          out_ready=out_ready or (lambda c: True), start_cycle=start_cycle,
                          start_gaps=start_gaps, train=train, model=model)
    overlap = system is not None and system.overlap
    items = [[(j, last, gap) for j, last, gap, _
              in schedules[b].items(ticks_offered(trace, b, n_ticks, overlap, train))]
             for b in range(counts.shape[0])]
    return trace, timings, items


def expected_spikes(trace, image: int, layer: int, ticks_run: int,
                    events=None) -> list[tuple[int, int]]:
    """``(neuron, tick)`` of layer ``layer``'s spikes in ticks ``< ticks_run``, sorted.

    ``events``: the cycle model's ``(neuron, tick, cycle)`` events of a FIRST_SPIKE inference
    at the port compared (``InferenceTiming.monitor_events[layer]`` or ``out_events``). The
    last tick run (the decision tick, which the system stops at its deciding spike) then
    keeps only the spikes that pass the port before the stop: the golden trace says which
    spikes exist, the cycle model which of the decision tick's come before the stop. A
    predicted spike that the golden trace does not have is refused (the models disagree).
    """
    s = trace.spikes[layer][image, :ticks_run]
    golden = sorted((int(n), int(t)) for t, n in np.argwhere(s))
    if events is None or trace.decision_mode is not Decision.FIRST_SPIKE:
        return golden
    last = ticks_run - 1
    before_stop = {(int(n), int(t)) for n, t, _ in events if t == last}
    extra = before_stop - set(golden)
    if extra:
        raise ConfigError(f"events: layer {layer} spikes {sorted(extra)} of tick {last} are "
                          f"not in the golden trace of image {image}")
    return [(n, t) for n, t in golden if t < last or (n, t) in before_stop]


def expected_counters(events, spikes) -> dict:
    """The system's work counters an image must end with: ``events`` its row of the golden
    model's ``statistics().input_events`` (each layer's input events), ``spikes`` each
    layer's :func:`expected_spikes` (the spikes its monitor reports)."""
    return {"events": [int(e) for e in events], "spikes": [len(layer) for layer in spikes]}


def expected_error(golden: int, timing) -> int | None:
    """The ``error`` flag expected at ``done``: the golden model's
    (:attr:`~spikeforge.sim.network.NetworkTrace.error`); where that is undetermined (a
    FIRST_SPIKE decision tick whose hidden spikes overflow a later layer), 1 if the cycle
    model says the tick was decided at its end (``stop_cycle`` -1: every event arrived),
    else None: left to the event's cycle, which the cycle model does not track yet."""
    if golden != ERROR_UNDETERMINED:
        return golden
    return 1 if timing.stop_cycle < 0 else None


# -- running ---------------------------------------------------------------------------------

# cocotb builds Verilator with --public-flat-rw: every signal gets a VPI registration in one
# constructor function, and g++ -O1 needs minutes (superlinear) on the ~4000 registrations of
# a 4-layer system. Splitting the generated functions keeps each file small (~600 each).
VERILATOR_SPLIT = ("--output-split-cfuncs", "3000")


def build_args_for(simulator: str, optimize: bool = False) -> list[str]:
    """Extra build arguments: for Verilator the function split, and ``-O0`` (a build in
    seconds instead of a minute; the runtime is slower) unless ``optimize``."""
    if simulator != "verilator":
        return []
    return list(VERILATOR_SPLIT) + ([] if optimize else ["-CFLAGS", "-O0"])


def expected_none(trace, image: int, ticks_run: int, mode: Decision) -> bool:
    """The decision unit's ``none`` (the system's ``result_none``): first spike and spike
    count, no output spike in the ticks run (first spike: class -1; spike count: every
    count 0); membrane max never sets it."""
    if mode is Decision.MEMBRANE_MAX:
        return False
    return not trace.spikes[-1][image, :ticks_run].any()


def system_spec(network, plan, counts, n_ticks: int, system: SystemConfig, *, seed: int = 0,
                p_gap: float = 0.0, p_ready: float = 1.0, check_timing: bool = True,
                start_cycle: int = 1, train: bool = False, model=None):
    """What the system bench (and the fast harness, :mod:`spikeforge.cosim.fast`) is given
    for a batch: the stimulus (input items and their gaps, the stall pattern of
    ``spike_out.ready``, the start gaps) and every expectation (class, ``none``, ticks,
    cycles, each layer's events, the error flag with the first overflow it reports), from the
    golden and cycle models. The first image starts at ``start_cycle``; ``train``: training
    inferences of a learning build (every tick run); ``model``: a system cycle model to go on
    with (a batch split into calls). Returns ``(spec, trace)``;
    ``spec["model_s"]`` is the seconds the models took."""
    t0 = time.perf_counter()
    schedules = schedules_for(counts, seed if p_gap > 0 else None, p_gap)
    ready = StallPattern(seed, p_ready)
    start_gaps = [(seed + b) % 3 for b in range(counts.shape[0])]
    trace, timings, items = expected_run(network, plan, counts, n_ticks, schedules=schedules,
                                         system=system, out_ready=ready,
                                         start_cycle=start_cycle, start_gaps=start_gaps,
                                         train=train, model=model)
    images, errors, overflows = [], trace.error, trace.first_overflows()
    events = trace.statistics(until_decision=not train).input_events  # [images, layers]
    for b, timing in enumerate(timings):
        ticks_run = ticks_to_run(trace, b, n_ticks, train)
        # a training inference is not stopped: every spike of its ticks is reported
        spikes = [expected_spikes(trace, b, l, ticks_run,
                                  None if train else timing.monitor_events[l])
                  for l in range(len(trace.spikes))]
        images.append({
            "class": int(trace.decision[b]), "decision_tick": int(trace.decision_tick[b]),
            "ticks_run": ticks_run, "none": expected_none(trace, b, ticks_run, network.decision),
            "start": timing.start_cycle, "done": timing.done_cycle, "cycles": timing.cycles,
            "tick_done": timing.tick_done_cycles, "inputs": timing.input_cycles,
            "items": items[b],
            "out": [list(e) for e in timing.out_events],
            "monitor": [[list(e) for e in layer] for layer in timing.monitor_events],
            "spikes": spikes,
            "counters": expected_counters(events[b], spikes),
            "out_spikes": expected_spikes(trace, b, len(trace.spikes) - 1, ticks_run,
                                          None if train else timing.out_events),
            "start_gap": start_gaps[b],
            "error": expected_error(int(errors[b]), timing),
            "overflow": overflows[b],
        })
    spec = {"images": images, "n_ticks": n_ticks, "ready": {"seed": seed, "p": p_ready},
            "check_timing": check_timing, "n_layers": len(network.layers),
            "model_s": time.perf_counter() - t0}
    return spec, trace


def run_system_cosim(network: IntegerNetwork, plan, input_counts, simulator: str = "icarus", *,
                     n_ticks: int | None = None, system: SystemConfig | None = None,
                     seed: int = 0,
                     p_gap: float = 0.3, p_ready: float = 1.0, check: bool = True,
                     rtl_plan=None, verilog_text: str | None = None,
                     check_timing: bool = True, optimize: bool = False,
                     waves=None) -> CocotbResult:
    """Co-simulate ``network`` on the hardware of ``plan`` for a batch of images.

    ``input_counts``: ``[images, ticks, n_inputs]`` event counts (run for ``n_ticks``,
    default ``ticks``). ``seed``/``p_gap``: random gaps of the input driver (``p_gap = 0``:
    back to back); ``p_ready``: probability that ``out_spikes.ready`` is high in a cycle.
    ``system``: the system's settings (default: ``SystemConfig(network.decision)``).
    ``rtl_plan``: build the RTL from another plan (a negative test: e.g. a flipped weight).
    ``verilog_text``: simulate this Verilog text (module ``spikeforge_system``) instead of
    generating it from ``plan`` and ``system`` -- e.g. the ``spikeforge_system.v`` that
    ``spikeforge compile`` shipped (``spikeforge verify``), or an edited design (a negative
    test); the expectations still come from ``network``, ``plan`` and ``system``.
    ``check_timing=False`` compares only values (class, tick, spikes), not cycles.
    ``optimize``: build Verilator with ``-O1`` (about a minute for a small system, then ~2x
    faster simulation; use it for long runs such as 100 MNIST images) instead of ``-O0``.
    ``waves``: write every signal of the run to this file (``.fst`` for Icarus, ``.vcd`` for
    Verilator; :func:`~spikeforge.cosim.runner.run_cocotb`'s ``waves``).

    Returns the :class:`CocotbResult`; ``report`` holds per-image results, the cycles,
    ``cycles_per_s`` and (on failure) ``mismatch``. Raises
    :class:`~spikeforge.cosim.runner.CosimFailure` on a mismatch when ``check``.
    """
    if rtl_plan is not None and verilog_text is not None:
        raise ConfigError("rtl_plan, verilog_text: give at most one (the design to simulate)")
    if verilog_text is not None and (not isinstance(verilog_text, str)
                                     or f"module {SYSTEM_TOP}" not in verilog_text):
        raise ConfigError(f"verilog_text: must be Verilog text holding module {SYSTEM_TOP}")
    counts = network.check_input(input_counts)
    n_ticks = n_ticks or counts.shape[1]
    system = SystemConfig(network.decision) if system is None else system
    spec, _ = system_spec(network, plan, counts, n_ticks, system, seed=seed, p_gap=p_gap,
                          p_ready=p_ready, check_timing=check_timing)
    model_s = spec.pop("model_s")
    with spec_file(spec, "system") as name:
        text = verilog_text if verilog_text is not None else system_verilog(rtl_plan or plan, system)
        result = run_cocotb(text, SYSTEM_TOP, TB_MODULE, simulator, extra_env={SPEC_ENV: name},
                            check=check, build_args=build_args_for(simulator, optimize),
                            waves=waves or False)
    if result.report is not None:
        result.report["model_s"] = model_s
        sim_s = result.testcases[0].wall_s if result.testcases else None
        if sim_s:
            result.report["sim_s"] = sim_s
            result.report["cycles_per_s"] = result.report.get("cycles", 0) / sim_s
    return result
