"""The RTL part of the fuzz campaign (``spikeforge fuzz --rtl K``): random networks built into
systems, many random input cases per build, co-simulated against the golden and cycle models.

A build (a random network of :func:`spikeforge.sim.fuzz.random_case`, a random plan -- cores
per layer, lanes -- and random system settings -- FIFO depth) costs a Verilator compile of
~30-90 s; a case costs milliseconds of simulation and a few of the Python models. So each
build takes ``per_build`` input cases (:func:`spikeforge.sim.fuzz.random_counts`: densities,
bursts, overflow floods past the first layer's ``max_events_per_tick``), run in groups, one
harness run per group with its own stimulus seed, input gaps and ``out_spikes`` stalls
(backpressure); every image is compared as the co-simulation always does
(:func:`spikeforge.cosim.compare.compare_image`: every spike of every layer as (tick, neuron,
cycle), decision, ticks, cycles, the error flag). Verilator runs the compiled harness
(:mod:`spikeforge.cosim.fast`); Icarus the cocotb bench (slower: a smoke run).

A failing case is shrunk (:func:`shrink_rtl`: its failing image alone, the shortest failing
prefix of ticks, fewer input events, each step re-simulated) and written as a JSON
reproduction (:func:`write_rtl_reproduction`: network, plan settings, system, stimulus,
first mismatch) that :func:`replay` runs again.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from spikeforge.compiler.map import plan_network
from spikeforge.cosim.compare import Mismatch
from spikeforge.cosim.fast import run_fast_cosim
from spikeforge.cosim.system_cosim import run_system_cosim
from spikeforge.hdl.verilog import system_verilog
from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.ir.params import Decision
from spikeforge.ir.system import SystemConfig
from spikeforge.sim.fuzz import Case, random_case, random_counts
from spikeforge.sim.network import ERROR_UNDETERMINED, run_network

__all__ = ["RtlBuild", "RtlFailure", "RtlCampaignResult", "random_build", "rtl_campaign",
           "simulate_group", "shrink_rtl", "write_rtl_reproduction", "replay"]

#: how many shrink steps (re-simulations) a failing case may take
SHRINK_RUNS = 80


@dataclass
class RtlBuild:
    """One random system: the network, the plan's settings (``neurons_per_core``, ``lanes``
    per layer) and the :class:`SystemConfig`; ``plan`` and ``verilog`` derived from them."""

    seed: int
    network: IntegerNetwork
    neurons_per_core: list
    lanes: list
    system: SystemConfig
    ticks: int
    plan: object = None
    verilog: str = ""

    def __post_init__(self):
        if self.plan is None:
            self.plan = plan_network(self.network, neurons_per_core=self.neurons_per_core,
                                     lanes=self.lanes)
        if not self.verilog:
            self.verilog = system_verilog(self.plan, self.system)

    def to_dict(self) -> dict:
        return {"seed": self.seed, "case": Case(self.network, np.zeros((1, 1, self.network.n_inputs),
                                                                    np.int64), self.seed).to_dict(),
                "neurons_per_core": self.neurons_per_core, "lanes": self.lanes,
                "system": self.system.to_dict(), "ticks": self.ticks}

    @classmethod
    def from_dict(cls, d: dict) -> "RtlBuild":
        return cls(d["seed"], Case.from_dict(d["case"]).network, d["neurons_per_core"], d["lanes"],
                   SystemConfig.from_dict(d["system"]), d["ticks"])


def random_build(seed: int, hidden_overflow: float = 0.0) -> RtlBuild:
    """The network of :func:`~spikeforge.sim.fuzz.random_case` ``seed`` on a random plan
    (1..all neurons per core, 1, 2 or 4 lanes) with a random FIFO depth (0..4), its cores
    double-buffered or not (drawn last, so that the rest is what it was before).
    ``hidden_overflow``: the probability that every layer but the first gets a bound of a
    third of its fan-in, so that hidden spikes overflow it (0: the network as drawn)."""
    network = random_case(seed).network
    if len(network.layers) > 1 and random.Random(seed ^ 0xB0B).random() < hidden_overflow:
        network = IntegerNetwork(network.layers[:1] + tuple(
            IntegerLayer(layer.weights, layer.params, max(1, layer.n_inputs // 3))
            for layer in network.layers[1:]), network.decision)
    rng = random.Random(seed ^ 0x5EED)
    npc = [rng.randint(1, layer.n_neurons) for layer in network.layers]
    lanes = [rng.choice([1, 1, 2, 4]) for _ in network.layers]
    fifo_depth = rng.choice([0, 0, 1, 2, 4])
    ticks = rng.randint(2, 10)
    system = SystemConfig(network.decision, fifo_depth=fifo_depth,
                          double_buffer=rng.random() < 0.5)
    return RtlBuild(seed, network, npc, lanes, system, ticks=ticks)


@dataclass
class RtlFailure:
    """A failing case: build and case seeds, the first mismatch, and the reproduction file."""

    build_seed: int
    case: int
    message: str
    path: Path | None = None


@dataclass
class RtlCampaignResult:
    """What an RTL campaign did: builds, cases, images, seconds (``build_s``: each build with
    its first simulation run), cycles simulated, failures (:class:`RtlFailure`), corners
    reached (in cases)."""

    builds: int = 0
    cases: int = 0
    images: int = 0
    seconds: float = 0.0
    build_s: float = 0.0
    cycles: int = 0
    failures: list = field(default_factory=list)
    covered: dict = field(default_factory=dict)

    def summary(self) -> str:
        corners = ", ".join(f"{k} {v}" for k, v in self.covered.items())
        return (f"{self.cases} cases ({self.images} images) on {self.builds} random systems in "
                f"{self.seconds:.0f} s ({self.build_s:.0f} s in builds and their first runs, "
                f"{self.cycles} cycles simulated), {len(self.failures)} failing; reached: {corners}")


@dataclass
class _Group:
    """Input cases simulated in one run: their counts concatenated, the stimulus settings."""

    cases: list  # (case index, counts [images, ticks, n_inputs])
    seed: int
    p_gap: float
    p_ready: float

    @property
    def counts(self) -> np.ndarray:
        return np.concatenate([c for _, c in self.cases])


def _cases(build: RtlBuild, first: int, n: int) -> list:
    """``n`` input cases of ``build`` (case k from seed ``build.seed * 1_000_003 + k``): 1..3
    images of ``build.ticks`` ticks; a third of them with overflow floods."""
    out = []
    for k in range(first, first + n):
        nrng = np.random.default_rng(build.seed * 1_000_003 + k)
        images = int(nrng.integers(1, 4))
        out.append((k, random_counts(nrng, build.network, images, build.ticks,
                                     overflow=bool(nrng.random() < 0.35))))
    return out


def simulate_group(build: RtlBuild, counts: np.ndarray, seed: int, p_gap: float, p_ready: float,
                   simulator: str = "verilator") -> tuple[list, list, int]:
    """Co-simulate ``counts`` on ``build``: ``(exact per image, mismatch messages per image
    (None where exact), cycles simulated)``."""
    if simulator == "verilator":
        result = run_fast_cosim(build.network, build.plan, counts, system=build.system, seed=seed,
                                p_gap=p_gap, p_ready=p_ready, verilog_text=build.verilog,
                                check=False, all_images=True)
        report = result.report
        messages = [None] * len(counts)
        for m in report["mismatches"]:
            b = int(m["kind"].split()[1].rstrip(":"))
            if messages[b] is None:
                messages[b] = _describe(m)
        return list(report["exact"]), messages, int(report["cycles"])
    result = run_system_cosim(build.network, build.plan, counts, simulator, system=build.system,
                              seed=seed, p_gap=p_gap, p_ready=p_ready, check=False,
                              verilog_text=build.verilog)
    report = result.report or {}
    exact, messages = [True] * len(counts), [None] * len(counts)
    m = report.get("mismatch")
    if m is not None or report.get("images_done", 0) < len(counts):
        b = int(m["kind"].split()[1].rstrip(":")) if m is not None else report.get("images_done", 0)
        exact[b:] = [False] * (len(counts) - b)  # the bench stops at the first failing image
        messages[b] = _describe(m) if m is not None else "the run failed"
    return exact, messages, int(report.get("cycles", 0))


def _describe(m: dict) -> str:
    return Mismatch(**m).describe()


def _coverage(build: RtlBuild, counts: np.ndarray, group: _Group, covered: dict) -> None:
    trace = run_network(build.network, counts, early_exit=True)
    over = trace.overflow()
    error = trace.error
    hits = {
        "input overflow": bool(over[:, 0].any()),
        "hidden overflow": bool(over[:, 1:].any()),
        "error flag": bool((error == 1).any()),
        "error undetermined": bool((error == ERROR_UNDETERMINED).any()),
        "bursts": bool((counts > 1).any()),
        "negative v": bool((trace.output_v < 0).any()),
        "backpressure": group.p_ready < 1.0,
        "input gaps": group.p_gap > 0,
        "fifo": build.system.fifo_depth > 0,
        "multi-core layer": any(len([c for c in build.plan.cores if c.layer == l]) > 1
                                for l in range(len(build.network.layers))),
        "lanes > 1": any(x > 1 for x in build.lanes),
        "double-buffered": build.system.double_buffer,
    }
    for mode in Decision:
        hits[mode.value] = build.network.decision is mode
    for key, hit in hits.items():
        covered[key] = covered.get(key, 0) + int(hit)


def rtl_campaign(seed: int, cases: int, *, per_build: int = 40, group: int = 10,
                 simulator: str = "verilator", budget_s: float | None = None, out=None,
                 progress=None, hidden_overflow: float = 0.0) -> RtlCampaignResult:
    """``cases`` input cases through the RTL: ``per_build`` per random system (builds from
    seeds ``seed, seed + 1, ...``), ``group`` cases per simulation run, each run with its own
    stall settings (input gaps with probability 0 or 0.3; ``out_spikes.ready`` high with
    probability 1, 0.7 or 0.3). Stops starting builds after ``budget_s`` seconds. Failures
    are shrunk and written to ``out`` (a folder) as ``rtl-<build>-<case>.json``.
    ``progress(result)`` after every run. ``hidden_overflow``: see :func:`random_build`."""
    t0 = time.perf_counter()
    result = RtlCampaignResult()
    k = 0
    while result.cases < cases:
        if budget_s is not None and time.perf_counter() - t0 > budget_s:
            break
        b0 = time.perf_counter()
        build = random_build(seed + k, hidden_overflow)
        k += 1
        n = min(per_build, cases - result.cases)
        todo = _cases(build, 0, n)
        rng = random.Random(build.seed)
        first_run = True
        for start in range(0, n, group):
            chunk = _Group(todo[start:start + group], rng.randrange(1 << 20),
                           rng.choice([0.0, 0.3]), rng.choice([1.0, 0.7, 0.3]))
            counts = chunk.counts
            exact, messages, cycles = simulate_group(build, counts, chunk.seed, chunk.p_gap,
                                                     chunk.p_ready, simulator)
            if first_run:
                result.build_s += time.perf_counter() - b0
                first_run = False
            result.cycles += cycles
            row = 0
            for index, case_counts in chunk.cases:
                images = range(row, row + len(case_counts))
                row += len(case_counts)
                _coverage(build, case_counts, chunk, result.covered)
                bad = [i for i in images if not exact[i]]
                if bad:
                    failure = _failure(build, counts, chunk, bad[0], messages[bad[0]], index,
                                       simulator, out)
                    result.failures.append(failure)
            result.cases += len(chunk.cases)
            result.images += len(counts)
            result.seconds = time.perf_counter() - t0
            if progress is not None:
                progress(result)
        result.builds += 1
    result.seconds = time.perf_counter() - t0
    return result


def _failure(build, counts, chunk: _Group, row: int, message, index: int, simulator,
             out) -> RtlFailure:
    """The failure of the image at ``row`` of the run's ``counts``: shrunk when it fails
    alone; else (it fails only after the images before it in the run, e.g. because an
    earlier image's misprediction shifted every later cycle) the run's images up to it,
    unshrunk, and the message says so."""
    single = counts[row:row + 1]
    exact, messages, _ = simulate_group(build, single, chunk.seed, chunk.p_gap, chunk.p_ready,
                                        simulator)
    if not exact[0]:
        small = shrink_rtl(build, single, chunk.seed, chunk.p_gap, chunk.p_ready, simulator)
        _, messages, _ = simulate_group(build, small, chunk.seed, chunk.p_gap, chunk.p_ready,
                                        simulator)
        text = messages[0] or messages[-1] or message or "mismatch"
    else:
        small = counts[:row + 1]
        text = f"{message} (only after the {row} image(s) before it in the run)"
    path = None
    if out is not None:
        path = Path(out) / f"rtl-{build.seed}-{index}.json"
        write_rtl_reproduction(path, build, small, chunk.seed, chunk.p_gap, chunk.p_ready, text)
    return RtlFailure(build.seed, index, text, path)


def shrink_rtl(build: RtlBuild, counts: np.ndarray, seed: int, p_gap: float, p_ready: float,
               simulator: str = "verilator") -> np.ndarray:
    """A smaller input that still fails on ``build`` (one image): the shortest failing prefix
    of ticks, then fewer input events one at a time; at most :data:`SHRINK_RUNS`
    re-simulations."""
    runs = [0]

    def fails(c):
        if runs[0] >= SHRINK_RUNS:
            return False
        runs[0] += 1
        exact, _, _ = simulate_group(build, c, seed, p_gap, p_ready, simulator)
        return not all(exact)

    for ticks in range(1, counts.shape[1]):
        if fails(counts[:, :ticks]):
            counts = counts[:, :ticks]
            break
    for index in np.argwhere(counts > 0):
        while counts[tuple(index)] > 0:
            fewer = counts.copy()
            fewer[tuple(index)] -= 1
            if not fails(fewer):
                break
            counts = fewer
    return counts


def write_rtl_reproduction(path, build: RtlBuild, counts: np.ndarray, seed: int, p_gap: float,
                           p_ready: float, message: str) -> None:
    """The failing case as JSON: the build, the input counts, the stimulus settings and the
    first mismatch (:func:`replay` runs it again)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        json.dump({"build": build.to_dict(), "counts": counts.tolist(), "seed": seed,
                   "p_gap": p_gap, "p_ready": p_ready, "mismatch": message}, f)


def replay(path, simulator: str = "verilator") -> str | None:
    """Run a reproduction again: None if it now passes, else the first mismatch."""
    with open(path) as f:
        d = json.load(f)
    build = RtlBuild.from_dict(d["build"])
    _, messages, _ = simulate_group(build, np.array(d["counts"], dtype=np.int64), d["seed"],
                                    d["p_gap"], d["p_ready"], simulator)
    return next((m for m in messages if m), None)
