"""Fast co-simulation of the whole system: a compiled Verilator harness, Python only at the
ends.

The cocotb bench (:mod:`.system_tb`) samples every clock in Python (10-25k cycles/s). Here the
same driver convention runs in C++ (``fast_harness.cpp``, compiled with the system's Verilog
into one executable, cached per design) and the bench's own comparison,
:func:`spikeforge.cosim.system_tb.compare_image`, runs on the recorded trace:

1. :func:`~spikeforge.cosim.system_cosim.system_spec` (the bench's own) computes what the bench is given: per image the golden model's class,
   decision tick, ticks run and every spike of every layer
   (:func:`~spikeforge.sim.network.run_network`), and the system cycle model's
   (:func:`~spikeforge.sim.system_cycle.predict_run`) cycle of every input handshake, every
   output spike and every monitor event as ordered (tick, neuron, cycle) triples, every tick
   end, ``done`` and the ``cycles`` port -- with the same stimulus (:func:`schedules_for`,
   :class:`StallPattern`, start gaps ``(seed + b) % 3``) as
   :func:`~spikeforge.cosim.system_cosim.run_system_cosim`;
2. :func:`build_harness` compiles the Verilog (the shipped text, or generated) with the
   harness; :func:`write_stimulus` writes the items ``(payload, gap)`` of every image;
3. the harness drives ``start``, ``inp`` and ``out_spikes.ready`` cycle by cycle exactly as
   ``SystemDriver`` does and writes every input handshake, output spike, monitor event (hidden
   and output layers), tick end, ``done`` with class, decision tick, ticks run, error flag and
   the ``cycles`` port one cycle later (:func:`read_trace`);
4. :func:`compare_run` compares image by image with ``compare_image`` (the same function the
   cocotb bench runs), so a mismatch names image, layer, tick, neuron and cycle the same way.

:func:`run_fast_cosim` does all four for a batch (one simulation, images back to back) and
returns a :class:`FastResult` whose ``report`` has the keys of the bench's JSON report.
With ``waves``, a batch with a mismatch is run again, same stimulus, in a second build of
the harness with Verilator's ``--trace`` (cached apart, so that normal runs keep their
speed), which writes a VCD of the first failing image around the mismatch
(:func:`waves_window`); the message names file, time and port
(:mod:`spikeforge.cosim.waves`). Builds are held in use while they are built and run
(:func:`held_harness`), so the cache's least-recently-used pruner can remove them safely.
:func:`run_sharded` cuts a test set into shards (each one simulation from reset, every
image compared on its own) and runs them on local processes or a Dask distributed cluster
(:func:`run_on_dask`: ``spikeforge verify --scheduler tcp://host:8786``).

Speed (784-64-10 MNIST design, ~100k cycles per image, this 2-core machine under load):
the harness simulates 0.75-1.9M cycles/s; per image the Python cycle model costs ~4x the
harness (see benchmarks/bench_cosim.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from spikeforge.cosim.compare import Mismatch, compare_image, first_mismatch
from spikeforge.cosim.runner import (
    CosimFailure,
    build_key,
    build_lock,
    cache_limit,
    default_build_root,
    patched_environ,
    progress,
    prune_cache,
    require_simulator,
    restore_runtime_objects,
    runtime_cache_dir,
    save_runtime_objects,
    use_build,
    verilator_environment,
)
from spikeforge.cosim.system_cosim import system_spec
from spikeforge.cosim.waves import RESET_EDGES, WaveNote, wave_note, waves_file
from spikeforge.hdl.verilog import SYSTEM_TOP, system_verilog
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.system import SystemConfig
from spikeforge.sim.network import run_network
from spikeforge.sim.system_cycle import lower_bound_cycles

__all__ = ["HARNESS", "FastBuild", "FastResult", "port_widths", "build_harness", "held_harness",
           "system_spec", "write_stimulus", "run_harness", "read_trace", "compare_run",
           "run_fast_cosim", "waves_window", "record_waves", "Shard", "ShardResult",
           "run_shard", "shards_of", "run_sharded", "run_on_dask", "image_bounds"]

HARNESS = Path(__file__).with_name("fast_harness.cpp")
MAGIC, VERSION = 0x5346534631, 1  # as fast_harness.cpp
IMAGE_TAG, END_TAG = 1, 2
#: C++ optimisation of the harness build: -O1 builds a 784-64-10 design in about a minute
#: and simulates within ~10 % of -O2 (the model is memory-bound)
HARNESS_CFLAGS = ("-O1",)
VERILATOR_ARGS = ("-Wno-fatal", "-Wno-lint", "-Wno-style", "--x-assign", "fast",
                  "--x-initial", "fast")
#: what the traced build adds: VCD of every signal, times in ps (fast_harness.cpp's axis)
TRACE_ARGS = ("--trace", "--timescale", "1ns/1ps")
#: Verilator's runtime objects in a harness build (with waves, and the VCD writer's): they
#: do not depend on the design, so they are compiled once per set of flags and copied into
#: each new build, as the cocotb builds' are (cosim.runner)
FAST_RUNTIME_OBJECTS = ("verilated", "verilated_threads")
TRACED_RUNTIME_OBJECTS = FAST_RUNTIME_OBJECTS + ("verilated_vcd_c",)
#: the cycles a wave file of the harness holds around a mismatch at cycle c:
#: ``max(image start, c - WAVE_CYCLES_BEFORE) .. min(image end, c + WAVE_CYCLES_AFTER)``.
#: A 784-64-10 MNIST design (5 cores, 8 lanes; 5,273 cycles per image) writes ~10 kB of
#: VCD per cycle (53 MB for a whole image): at most ~110 MB here, a whole image of most.
WAVE_CYCLES_BEFORE, WAVE_CYCLES_AFTER = 10_000, 1_000


# -- the design -----------------------------------------------------------------------------

_PORT = re.compile(r"^\s*(input|output)\s+(?:wire\s+|reg\s+)?(?:signed\s+)?(?:\[(\d+):0\]\s+)?"
                   r"(\w+)\s*;", re.MULTILINE)


def port_widths(verilog_text: str) -> dict[str, int]:
    """Bit width of every port of module :data:`SYSTEM_TOP` in ``verilog_text``."""
    start = verilog_text.find(f"module {SYSTEM_TOP}(")
    if start < 0:
        raise ConfigError(f"verilog_text: holds no module {SYSTEM_TOP}")
    body = verilog_text[start:verilog_text.find("endmodule", start)]
    return {m.group(3): int(m.group(2)) + 1 if m.group(2) else 1 for m in _PORT.finditer(body)}


def _design_header(widths: dict[str, int]) -> tuple[str, int]:
    """``fast_design.h`` for the harness: the widths it decodes payloads with,
    ``read_monitors`` over the design's monitor ports and ``write_copies`` to its
    ``inp_copies`` ports (none without ``input_copies``); and the number of layers."""
    n_layers = 0
    while f"monitor__{n_layers}__valid" in widths:
        n_layers += 1
    need = ("inp__payload", "out_spikes__payload", "tick", "result_class", "result_none", "cycles",
            *(f"{kind}__{l}" for kind in ("events", "spikes") for l in range(n_layers)))
    missing = [name for name in need if name not in widths]
    if missing or n_layers == 0:
        raise ConfigError(f"verilog_text: module {SYSTEM_TOP} lacks port(s) "
                          f"{', '.join(missing) or 'monitor__0__valid'}")
    # Verilator spells "__" in a port name as "___05F"
    reads = "\n".join(f"    valid[{l}] = top->monitor___05F{l}___05Fvalid; "
                      f"neuron[{l}] = top->monitor___05F{l}___05Fneuron;" for l in range(n_layers))
    counts = "\n".join(f"    events[{l}] = top->events___05F{l}; spikes[{l}] = top->spikes___05F{l};"
                       for l in range(n_layers))
    n_copies = 0  # the system's input_copies: one port per layer-0 core
    while f"inp_copies__{n_copies}" in widths:
        n_copies += 1
    copies = "".join(f"    top->inp_copies___05F{d} = index;\n" for d in range(n_copies))
    text = (f"#pragma once\n#define INDEX_BITS {widths['inp__payload'] - 1}\n"
            f"#define TICK_BITS {widths['tick']}\n"
            f"#define NEURON_BITS {widths['out_spikes__payload'] - widths['tick']}\n"
            f"#define CLASS_BITS {widths['result_class']}\n#define N_LAYERS {n_layers}\n"
            f"static inline void read_monitors(Vtop* top, uint64_t* valid, uint64_t* neuron) {{\n"
            f"{reads}\n}}\n"
            f"static inline void read_counters(Vtop* top, int64_t* events, int64_t* spikes) {{\n"
            f"{counts}\n}}\n"
            f"static inline void write_copies(Vtop* top, uint64_t index) {{\n"
            f"    (void)top; (void)index;\n{copies}}}\n")
    return text, n_layers


@dataclass
class FastBuild:
    """A compiled harness: ``executable``, the design's port ``widths``, ``n_layers``,
    the cache ``key``, the seconds the build took (0 when the cached one was reused) and
    whether it can write waves (``traced``: built with Verilator's ``--trace``)."""

    executable: Path
    widths: dict
    n_layers: int
    key: str
    build_s: float = 0.0
    traced: bool = False

    @property
    def index_bits(self) -> int:
        return self.widths["inp__payload"] - 1

    @property
    def directory(self) -> Path:
        """The build's folder in the cache (what :func:`~spikeforge.cosim.runner.use_build`
        locks)."""
        return self.executable.parent


def build_root() -> Path:
    """Where harness builds are cached: ``fast/`` beside the cocotb builds."""
    return default_build_root() / "fast"


def build_harness(verilog_text: str, cflags=HARNESS_CFLAGS, *, traced: bool = False) -> FastBuild:
    """Compile ``verilog_text`` (module :data:`SYSTEM_TOP`) with ``fast_harness.cpp`` into an
    executable, cached under :func:`build_root` by a hash of Verilog, harness, header, flags
    and tool versions (:func:`~spikeforge.cosim.runner.build_key`).

    ``traced``: a build that can also write waves (Verilator's ``--trace``; its own cache
    entry, ``<top>-waves-<key>``, so that untraced runs keep their speed). Like the cocotb
    builds it is used under :func:`~spikeforge.cosim.runner.use_build` (the cache's pruner
    never removes it while it is built or run) and a new build prunes the cache to its bound.
    :class:`~spikeforge.cosim.runner.SimulatorMissing` if Verilator cannot run here."""
    require_simulator("verilator")
    limit = cache_limit()  # a bad $SPIKEFORGE_CACHE_MAX is reported before any work
    widths = port_widths(verilog_text)
    header, n_layers = _design_header(widths)
    args = list(VERILATOR_ARGS) + [x for f in cflags for x in ("-CFLAGS", f)]
    args += list(TRACE_ARGS) if traced else []
    key = build_key("verilator", SYSTEM_TOP, [("system.v", verilog_text),
                                             (HARNESS.name, HARNESS.read_text()),
                                             ("fast_design.h", header)], args + ["fast"])
    directory = build_root() / f"{SYSTEM_TOP}-{'waves-' if traced else ''}{key}"
    executable = directory / "fast_harness"
    with use_build(directory):
        build_s = _build_harness(directory, executable, verilog_text, header, args, key, traced)
        if build_s:
            prune_cache(default_build_root(), limit)  # a new build: keep the cache bounded
    return FastBuild(executable, widths, n_layers, key, build_s, traced)


def _build_harness(directory: Path, executable: Path, verilog_text: str, header: str, args,
                   key: str, traced: bool) -> float:
    """Build the harness in ``directory`` unless its stamp is there; seconds spent (0.0:
    reused). The caller holds ``use_build(directory)``."""
    start = time.perf_counter()
    with build_lock(directory):
        if (directory / "build.stamp").exists() and executable.exists():
            return 0.0
        (directory / "system.v").write_text(verilog_text)
        (directory / "fast_design.h").write_text(header)
        shutil.copy(HARNESS, directory / HARNESS.name)
        command = ["verilator", "--cc", "--exe", "--build", "-j", "2", "--prefix", "Vtop",
                   "--top-module", SYSTEM_TOP, *args, "-CFLAGS", f"-I{directory}",
                   "-Mdir", str(directory / "obj"), "-o", str(executable),
                   str(directory / "system.v"), str(directory / HARNESS.name)]
        what = "verilator build of the fast harness" + (" with waves" if traced else "")
        runtime = runtime_cache_dir(list(args) + ["fast"])
        names = TRACED_RUNTIME_OBJECTS if traced else FAST_RUNTIME_OBJECTS
        (directory / "obj").mkdir(exist_ok=True)
        with patched_environ(verilator_environment()), progress(what):
            restore_runtime_objects(runtime, directory / "obj", names)
            done = subprocess.run(command, cwd=directory, capture_output=True, text=True)
        (directory / "build.log").write_text(done.stdout + done.stderr)
        if done.returncode != 0 or not executable.exists():
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
            raise CosimFailure(f"verilator: build of the fast harness failed (log "
                               f"{directory / 'build.log'}):\n{tail}")
        save_runtime_objects(directory / "obj", runtime, names)
        shutil.rmtree(directory / "obj", ignore_errors=True)  # the objects are ~100 MB
        (directory / "build.stamp").write_text(key)
    return time.perf_counter() - start


# -- stimulus and expectations ----------------------------------------------------------------

def write_stimulus(path, spec: dict, index_bits: int) -> None:
    """The harness's stimulus file (format: ``fast_harness.cpp``). Image b must be done by
    cycle ``done_b + max(2000, cycles_b)`` (the bench's limit) or the run stops there."""
    ready = spec["ready"]
    always = float(ready["p"]) >= 1.0
    threshold = 0 if always else int(float(ready["p"]) * (1 << 32))
    first = spec["images"][0]["start"] if spec["images"] else 0
    words = [MAGIC, VERSION, len(spec["images"]), spec["n_ticks"], int(ready["seed"]) & 0xFFFFFFFF,
             threshold, int(always), first]
    for image in spec["images"]:
        items = np.asarray(image["items"], dtype=np.int64).reshape(-1, 3)
        pairs = np.stack([(items[:, 1] << index_bits) | items[:, 0], items[:, 2]], axis=1)
        words += [image["start_gap"], image["done"] + max(2000, image["cycles"]), len(items)]
        words += pairs.ravel().tolist()
    np.asarray(words, dtype="<i8").tofile(path)


# -- running ------------------------------------------------------------------------------------

def run_harness(build: FastBuild, stimulus, trace_path=None, *, waves=None,
                window: tuple[int, int] | None = None) -> dict:
    """Run the harness on a stimulus file; ``trace_path=None``: record nothing (the raw
    Verilator loop). ``waves``: a VCD file of every signal in the cycles ``window``
    (first, last; default: all), from a ``traced`` build. The build is held in use
    (:func:`~spikeforge.cosim.runner.use_build`) while it runs. Returns ``{"cycles",
    "seconds" (the C++ loop), "wall_s", "timed_out"}``."""
    command = [str(build.executable), str(stimulus), str(trace_path or "-")]
    if waves is not None:
        if not build.traced:
            raise ConfigError("waves: the harness was built without tracing "
                              "(build_harness(..., traced=True))")
        first, last = window if window is not None else (-RESET_EDGES, 1 << 62)
        Path(waves).parent.mkdir(parents=True, exist_ok=True)
        command += [str(waves), str(first), str(last)]
    start = time.perf_counter()
    with use_build(build.directory):
        if not build.executable.exists():  # pruned between its build and this run
            raise CosimFailure(f"verilator: the fast harness {build.executable} was removed "
                               f"from the build cache before it ran (cache bound "
                               f"$SPIKEFORGE_CACHE_MAX too small?); run again")
        done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise CosimFailure(f"verilator: the fast harness {build.executable} failed (exit status "
                           f"{done.returncode}): {(done.stderr or done.stdout).strip()[-500:]}")
    fields = dict(part.split("=") for part in done.stdout.split())
    return {"cycles": int(fields["cycles"]), "seconds": float(fields["seconds"]),
            "wall_s": wall, "timed_out": bool(int(fields["timed_out"]))}


def _triples(flat: np.ndarray) -> list:
    """Flat ``(neuron, tick, cycle)`` words as the bench's lists."""
    return flat.reshape(-1, 3).tolist()


def read_trace(path, n_layers: int) -> tuple[list[dict], dict]:
    """The observations of a harness trace, one dict per finished image with the keys of
    ``SystemDriver``'s (``start``, ``inputs``, ``out``, ``monitor``, ``tick_done``,
    ``done``, ``cls``, ``tick``, ``ticks_run``, ``error``, ``cycles_port``, ``level``,
    ``counters``, ``error_at_start``, ``none``), and
    the end record ``{"cycles", "timed_out", "image", "tick", "cycle"}``."""
    words = np.fromfile(path, dtype="<i8")
    results, p = [], 0
    while p < len(words) and words[p] == IMAGE_TAG:
        head = words[p + 1:p + 17 + 3 * n_layers].tolist()
        _, start, done, cls, tick, ticks_run, error, cycles_port = head[:8]
        level_cycle, level_busy, level_idle, n_in, n_out, n_td = head[8:14]
        n_mon = head[14:14 + n_layers]
        events, spikes = head[14 + n_layers:14 + 2 * n_layers], head[14 + 2 * n_layers:-2]
        p += 17 + 3 * n_layers
        obs = {"start": start, "done": done, "cls": cls, "tick": tick, "ticks_run": ticks_run,
               "error": error, "cycles_port": cycles_port,
               "level": None if level_cycle < 0 else (level_cycle, level_busy, level_idle),
               "counters": {"events": events, "spikes": spikes}, "error_at_start": head[-2],
               "none": head[-1]}
        obs["inputs"] = words[p:p + n_in].tolist()
        p += n_in
        obs["out"] = _triples(words[p:p + 3 * n_out])
        p += 3 * n_out
        obs["monitor"] = []
        for n in n_mon:
            obs["monitor"].append(_triples(words[p:p + 3 * n]))
            p += 3 * n
        obs["tick_done"] = words[p:p + n_td].tolist()
        p += n_td
        results.append(obs)
    if p >= len(words) or words[p] != END_TAG:
        raise CosimFailure(f"verilator: fast harness trace {path} is malformed at word {p}")
    cycles, timed_out, image, tick, cycle = words[p + 1:p + 6].tolist()
    return results, {"cycles": cycles, "timed_out": bool(timed_out), "image": image,
                     "tick": tick, "cycle": cycle}


def compare_run(spec: dict, results: list[dict], end: dict, all_images: bool = False,
                first_image: int = 0):
    """Mismatches of a run, image by image with the bench's ``compare_image``: the first image
    with a difference (``all_images``: every image); an image the run did not finish is a
    ``done`` mismatch as in the bench; messages name image ``first_image + b``. Returns
    ``(mismatches, exact)`` with ``exact[b]`` True for every image that matched in
    everything."""
    found, exact = [], []
    for b, exp in enumerate(spec["images"]):
        obs = results[b] if b < len(results) else None
        if obs is None and end["timed_out"] and b == end["image"]:
            limit = exp["done"] + max(2000, exp["cycles"])
            mismatches = [Mismatch(f"image {first_image + b}: done", end["tick"], None,
                                   f"done at cycle {exp['done']}", "not done", end["cycle"],
                                   f"the inference did not finish within {limit} cycles")]
        else:
            # the previous image's flag, sticky until this start
            before = results[b - 1]["error"] if 0 < b <= len(results) else None
            mismatches = compare_image(first_image + b, exp, obs, spec.get("check_timing", True),
                                       before)
        exact.append(not mismatches)
        found += mismatches
        if found and not all_images:
            break
    exact += [False] * (len(spec["images"]) - len(exact))
    return found, exact


@dataclass
class FastResult:
    """What one fast run did: ``report`` has the keys of the bench's JSON report (``cycles``,
    ``images``, ``images_done``, ``results``, ``mismatch``, ``mismatches``) plus ``exact``
    (per image), ``sim_s``/``cycles_per_s`` (the C++ loop), ``model_s`` (golden and cycle
    models), ``build_s``, ``wall_s``."""

    report: dict
    build: FastBuild | None = None
    seconds: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.report["mismatch"] is None


def _mismatch_message(first: Mismatch, found: list, note: WaveNote | None = None) -> str:
    others = "; ".join(m.describe() for m in found[1:4])
    seen = f" ({note})" if note is not None else ""
    return str(first) + seen + (f" [also: {others}]" if others else "")


@contextmanager
def held_harness(verilog_text: str, *, traced: bool = False):
    """:func:`build_harness` held in use (:func:`~spikeforge.cosim.runner.use_build`) until
    the ``with`` block ends, so that no pruner removes it between its build and its runs."""
    build = build_harness(verilog_text, traced=traced)
    with use_build(build.directory):
        if not build.executable.exists():  # pruned before we held it: build it again
            build = build_harness(verilog_text, traced=traced)
        yield build


def waves_window(spec: dict, results: list, end: dict, b: int,
                 cycle: int | None) -> tuple[int, int]:
    """The cycles (first, last) a wave file of image ``b``'s mismatch at ``cycle`` holds:
    the image from its start to its end (``done`` + 2, or where the run stopped), cut to
    :data:`WAVE_CYCLES_BEFORE` before and :data:`WAVE_CYCLES_AFTER` after the mismatch; from
    the reset on when the image is the run's first."""
    obs = results[b] if b < len(results) else None
    start = obs["start"] if obs is not None else spec["images"][b]["start"]
    if obs is not None:
        stop = obs["done"] + 2
    else:  # not finished: where the run stopped
        stop = end["cycle"] if end["timed_out"] else end["cycles"]
    cycle = stop if cycle is None else cycle
    first = max(start, cycle - WAVE_CYCLES_BEFORE)
    last = min(max(stop, cycle), cycle + WAVE_CYCLES_AFTER)
    return (-RESET_EDGES if b == 0 and first <= start else first), last


def record_waves(verilog_text: str, stimulus, trace_path, waves, window) -> None:
    """Run the stimulus again in the traced build (:func:`build_harness` ``traced=True``),
    writing the VCD ``waves`` for the cycles ``window``, and check that the run recorded the
    very trace of ``trace_path`` (the waves are of the run that was compared)."""
    again = Path(trace_path).with_name("trace-waves.bin")
    with held_harness(verilog_text, traced=True) as traced:
        run_harness(traced, stimulus, again, waves=waves, window=window)
    if again.read_bytes() != Path(trace_path).read_bytes():
        raise CosimFailure(f"verilator: the traced harness did not reproduce the run it was "
                           f"to show (waves {waves}); the harness is not deterministic")


def _check_design(rtl_plan, verilog_text) -> None:
    if rtl_plan is not None and verilog_text is not None:
        raise ConfigError("rtl_plan, verilog_text: give at most one (the design to simulate)")
    if verilog_text is not None and (not isinstance(verilog_text, str)
                                     or f"module {SYSTEM_TOP}" not in verilog_text):
        raise ConfigError(f"verilog_text: must be Verilog text holding module {SYSTEM_TOP}")


def run_fast_cosim(network, plan, input_counts, *, n_ticks: int | None = None,
                   system: SystemConfig | None = None, seed: int = 0, p_gap: float = 0.3,
                   p_ready: float = 1.0, check: bool = True, rtl_plan=None,
                   verilog_text: str | None = None, check_timing: bool = True,
                   all_images: bool = False, work_dir=None, first_image: int = 0,
                   waves=None) -> FastResult:
    """Co-simulate ``network`` on the hardware of ``plan`` for a batch of images in the
    compiled harness; the arguments mean what they mean for
    :func:`~spikeforge.cosim.system_cosim.run_system_cosim` (same stimulus, same
    expectations, same comparison). ``all_images``: compare every image (``report["exact"]``
    says which matched) instead of stopping at the first image with a difference.
    ``work_dir``: keep ``stimulus.bin`` and ``trace.bin`` there (default: a temporary one).
    ``first_image``: the number of the batch's first image in mismatch messages.
    ``waves``: on a mismatch, run the batch again in the traced build and write a VCD of the
    first failing image (:func:`waves_window`) to ``waves`` (a ``.vcd`` file, or a folder
    that gets ``image<k>.vcd``); the mismatch message and ``report["waves"]`` name the file,
    the time of the mismatch and the port that shows it
    (:func:`~spikeforge.cosim.waves.wave_note`). A run without mismatch writes no waves.
    Raises :class:`~spikeforge.cosim.runner.CosimFailure` on a mismatch when ``check``."""
    _check_design(rtl_plan, verilog_text)
    counts = network.check_input(input_counts)
    n_ticks = n_ticks or counts.shape[1]
    system = SystemConfig(network.decision) if system is None else system
    text = verilog_text if verilog_text is not None else system_verilog(rtl_plan or plan, system)
    t0 = time.perf_counter()
    golden_s = _golden_seconds(network, counts, n_ticks)
    spec, _ = system_spec(network, plan, counts, n_ticks, system, seed=seed, p_gap=p_gap,
                          p_ready=p_ready, check_timing=check_timing)
    note = None
    with tempfile.TemporaryDirectory(prefix="spikeforge-fast-") as tmp:
        where = Path(work_dir) if work_dir is not None else Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        with held_harness(text) as build:
            write_stimulus(where / "stimulus.bin", spec, build.index_bits)
            run = run_harness(build, where / "stimulus.bin", where / "trace.bin")
        t1 = time.perf_counter()
        results, end = read_trace(where / "trace.bin", build.n_layers)
        found, exact = compare_run(spec, results, end, all_images, first_image)
        compare_s = time.perf_counter() - t1
        first = first_mismatch(*found) if not all_images else (found[0] if found else None)
        if waves is not None and first is not None:
            b = exact.index(False)  # the first failing image: every mismatch found is its
            path = waves_file(waves, f"image{first_image + b}", "fast")
            note = wave_note(first, path, found)
            record_waves(text, where / "stimulus.bin", where / "trace.bin", path,
                         waves_window(spec, results, end, b, note.cycle))
    report = {
        "cycles": end["cycles"], "images": len(spec["images"]), "images_done": len(results),
        "results": [{"class": r["cls"], "decision_tick": r["tick"], "cycles": r["done"] - r["start"],
                     "output_spikes": len(r["out"]), **r["counters"]} for r in results],
        "mismatch": first.to_dict() if first else None,
        "mismatches": [m.to_dict() for m in found], "exact": exact,
        "sim_s": run["seconds"], "cycles_per_s": end["cycles"] / max(run["seconds"], 1e-9),
        "model_s": spec["model_s"], "build_s": build.build_s,
        "wall_s": time.perf_counter() - t0 - build.build_s,
        "waves": note.to_dict() if note is not None else None,
    }
    seconds = {"golden": golden_s, "cycle model": max(spec["model_s"] - golden_s, 0.0),
               "verilator": run["wall_s"], "compare": compare_s}
    result = FastResult(report, build, seconds)
    if check and first is not None:
        raise CosimFailure("verilator (fast harness): " + _mismatch_message(first, found, note))
    return result


def _golden_seconds(network, counts, n_ticks) -> float:
    """Seconds of the golden model alone on ``counts`` (the cost breakdown splits
    :func:`system_spec`'s time into golden and cycle model; the golden pass is ~0.1 ms per
    MNIST image, so running it twice costs nothing that shows)."""
    start = time.perf_counter()
    run_network(network, counts, n_ticks)
    return time.perf_counter() - start


def image_trace(trace, b: int):
    """Image ``b`` of a golden :class:`~spikeforge.sim.network.NetworkTrace` as a trace of one
    image (for per-image figures such as the lower bound, without the whole batch's cost)."""
    one = slice(b, b + 1)
    return replace(trace, spikes=[s[one] for s in trace.spikes],
                   input_counts=trace.input_counts[one], output_v=trace.output_v[one],
                   decision=trace.decision[one], decision_tick=trace.decision_tick[one])


def default_jobs() -> int:
    """Local processes for sharded runs: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


# -- sharding -----------------------------------------------------------------------------------

@dataclass
class Shard:
    """One piece of a sharded run: images ``first .. first + len(counts) - 1``."""

    first: int
    counts: np.ndarray


@dataclass
class ShardResult:
    """Per image of a shard: RTL class, cycles (-1 if not done), bit-exact, lower bounds
    ``(bound, work_bound)``;
    the shard's first mismatch in words (None if none), simulated cycles and the seconds of
    each part (``golden``, ``cycle model``, ``verilator``, ``compare``)."""

    first: int
    classes: list
    cycles: list
    exact: list
    bounds: list
    mismatch: str | None
    sim_cycles: int
    seconds: dict
    #: per image done: the RTL's work counters ``(events per layer, spikes per layer)``
    work: list = field(default_factory=list)


def image_bounds(plan, trace, system: SystemConfig) -> list[tuple[int, int]]:
    """Each image's ``(bound, work_bound)`` of :func:`lower_bound_cycles` (what the cores'
    own timing allows -- double-buffered where ``system`` says -- and what the work alone
    does), one image's trace at a time: linear cost."""
    out = []
    for b in range(trace.input_counts.shape[0]):
        bounds = lower_bound_cycles(plan, image_trace(trace, b),
                                    double_buffer=system.double_buffer)
        out.append((bounds["bound"], bounds["work_bound"]))
    return out


def run_shard(network, plan, shard: Shard, system: SystemConfig, verilog_text: str,
              seed: int = 0, p_gap: float = 0.0, waves=None) -> ShardResult:
    """Co-simulate one shard in the harness (:func:`run_fast_cosim`, every image compared)
    with the stimulus seed ``seed + shard.first``; the harness is built (or found in the
    cache) here, so a shard runs on any machine that has Verilator. ``waves``: a folder;
    a shard with a mismatch writes ``image<k>.vcd`` of its first failing image k there
    (:func:`run_fast_cosim`) and its ``mismatch`` names the file."""
    result = run_fast_cosim(network, plan, shard.counts, system=system, seed=seed + shard.first,
                            p_gap=p_gap, verilog_text=verilog_text, check=False,
                            all_images=True, first_image=shard.first, waves=waves)
    report = result.report
    n = len(shard.counts)
    classes = [r["class"] for r in report["results"]] + [-2] * (n - report["images_done"])
    cycles = [r["cycles"] for r in report["results"]] + [-1] * (n - report["images_done"])
    start = time.perf_counter()
    trace = run_network(network, shard.counts)
    bounds = image_bounds(plan, trace, system)
    result.seconds["golden"] += time.perf_counter() - start
    first = report["mismatch"]
    text = None if first is None else str(Mismatch(**first))
    if text is not None and report["waves"] is not None:
        seen = report["waves"]
        note = WaveNote(seen["file"], seen["cycle"], seen["time_ns"], tuple(seen["signals"]))
        text += f" ({note})"
    work = [(r["events"], r["spikes"]) for r in report["results"]]
    return ShardResult(shard.first, classes, cycles, list(report["exact"]), bounds, text,
                       report["cycles"], result.seconds, work)


def shards_of(counts: np.ndarray, chunk: int) -> list[Shard]:
    """``counts`` cut into shards of ``chunk`` images (each one simulation from reset)."""
    if chunk < 1:
        raise ConfigError(f"chunk: must be >= 1, got {chunk}")
    return [Shard(s, counts[s:s + chunk]) for s in range(0, len(counts), chunk)]


def run_sharded(network, plan, counts, *, system: SystemConfig, verilog_text: str,
                jobs: int | None = None, chunk: int = 50, seed: int = 0, p_gap: float = 0.0,
                on_shard=None, scheduler=None) -> list[ShardResult]:
    """Co-simulate every image of ``counts`` in the harness, ``chunk`` images per shard,
    sharded over ``jobs`` local processes (default: :func:`default_jobs`; 1: in this
    process), or over a Dask distributed cluster (``scheduler``: its address, e.g.
    ``tcp://10.0.0.5:8786``, or a ``distributed.Client``; see :func:`run_on_dask`).
    ``on_shard(result)`` is called as each shard finishes (in completion order); the results
    are returned in image order. (Waves: run the first shard with a mismatch again,
    :func:`run_shard` with ``waves``, as ``spikeforge verify --waves`` does.)"""
    shards = shards_of(network.check_input(counts), chunk)
    args = (network, plan, system, verilog_text, seed, p_gap)
    if scheduler is not None:
        return run_on_dask(scheduler, shards, args, on_shard)
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise ConfigError(f"jobs: must be >= 1, got {jobs}")
    build_harness(verilog_text)  # once, before the workers look for it in the cache
    results = []
    if jobs == 1 or len(shards) == 1:
        for shard in shards:
            results.append(_shard_task(shard, *args))
            if on_shard:
                on_shard(results[-1])
        return results
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from multiprocessing import get_context

    # spawn, not fork: the caller may hold threads (torch, a progress bar)
    with ProcessPoolExecutor(min(jobs, len(shards)), mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_shard_task, shard, *args) for shard in shards]
        for future in as_completed(futures):
            results.append(future.result())
            if on_shard:
                on_shard(results[-1])
    return sorted(results, key=lambda r: r.first)


def _shard_task(shard: Shard, network, plan, system, verilog_text, seed, p_gap) -> ShardResult:
    return run_shard(network, plan, shard, system, verilog_text, seed, p_gap)


#: how long :func:`run_on_dask` tries to reach a scheduler given by its address
DASK_CONNECT_TIMEOUT = "30s"

#: how often Dask runs a shard again after it raised or its worker was lost
DASK_RETRIES = 2


def run_on_dask(scheduler, shards, args, on_shard=None) -> list[ShardResult]:
    """The shards as tasks of a Dask distributed cluster (``pip install "dask[distributed]"``).

    ``scheduler``: the scheduler's address (``tcp://host:8786``; start one with
    ``dask scheduler`` and workers with ``dask worker tcp://host:8786 --nthreads 1`` on
    machines that have spikeforge and Verilator) or a ``distributed.Client``. Network, plan
    and Verilog go to the workers once (``scatter``); each shard is a task that builds the
    harness in the worker's own cache (or finds it there) and runs it; a shard whose task
    raised or whose worker was lost runs again (``retries`` =
    :data:`DASK_RETRIES`; Dask reschedules the tasks of a lost worker by itself). The
    results merge into one list in image order."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ConfigError('scheduler: Dask is not installed (pip install "dask[distributed]")') from None
    own = not isinstance(scheduler, Client)
    try:
        client = Client(scheduler, timeout=DASK_CONNECT_TIMEOUT) if own else scheduler
    except OSError as error:
        raise ConfigError(f"scheduler: cannot reach the Dask scheduler {scheduler!r} ({error})") from None
    try:
        network, plan, system, verilog_text, seed, p_gap = args
        shared = client.scatter([network, plan, verilog_text], broadcast=True)
        futures = [client.submit(_shard_task, shard, shared[0], shared[1], system, shared[2],
                                 seed, p_gap, retries=DASK_RETRIES, pure=False,
                                 key=f"spikeforge-shard-{shard.first}-{secrets_token()}")
                   for shard in shards]
        results = []
        for future in as_completed(futures):
            results.append(future.result())
            if on_shard:
                on_shard(results[-1])
    finally:
        if own:
            client.close()
    return sorted(results, key=lambda r: r.first)


def secrets_token() -> str:
    """A short random token: task keys of two runs must not collide on one scheduler."""
    return os.urandom(4).hex()
