"""Helpers shared by the test modules: ``from tests.util import ...``.

* the command line in a subprocess (:func:`run_cli`);
* simulators: :func:`require_simulator` skips a test whose simulator is missing (fails on
  CI); ``tests/conftest.py`` does the same for a test that meets
  :class:`~spikeforge.cosim.runner.SimulatorMissing` anywhere (the library raises it);
* the real MNIST data set, where this machine has it (:func:`mnist_dir`, :data:`needs_mnist`);
* random integer networks and input event counts that make neurons spike now and then
  (:func:`random_network`, :func:`random_inputs`), for the RTL, co-simulation and board tests;
* Amaranth simulation: :func:`run`, random stream drivers (:func:`drive`), checking sinks
  (:func:`sink`) and scoreboards (:func:`check_multicast`, :func:`check_per_source_order`).

The repository root is on ``sys.path`` through ``pythonpath`` in ``pyproject.toml``'s pytest
settings; nothing here edits ``sys.path``.
"""

from __future__ import annotations

import importlib.util
import random
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from amaranth.hdl import Value
from amaranth.sim import Simulator

from spikeforge.cosim.runner import SimulatorMissing, on_ci, simulator_missing
from spikeforge.ir.errors import SpikeforgeError
from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.ir.params import Decision, NeuronParams, Reset
from spikeforge.model.datasets import default_mnist_dir

# -- data ------------------------------------------------------------------------------------


def mnist_dir():
    """Where :func:`spikeforge.model.datasets.load_dataset` finds MNIST, or None."""
    try:
        directory = default_mnist_dir()
    except SpikeforgeError:
        return None
    return directory if directory.is_dir() else None


#: a test that needs the real MNIST files (a user's clone has no ../shared)
needs_mnist = pytest.mark.skipif(
    mnist_dir() is None, reason="no MNIST here: run `spikeforge data fetch mnist` (or set "
                                "$SPIKEFORGE_MNIST to a directory of the four IDX files)")


# -- the command line ------------------------------------------------------------------------


def run_cli(*args, cwd=None, timeout=600) -> subprocess.CompletedProcess:
    """``spikeforge ARGS...`` (as ``python -m spikeforge.cli``) in a subprocess; output
    captured as text."""
    return subprocess.run([sys.executable, "-m", "spikeforge.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=timeout)


# -- simulators ------------------------------------------------------------------------------

def skip_missing_simulator(error: SimulatorMissing):
    """Skip the running test because of ``error`` -- unless on CI (``CI`` set), which installs
    both simulators: there the error stands."""
    if on_ci():
        raise error
    pytest.skip(str(error))


def require_simulator(simulator: str) -> None:
    """Skip the running test if ``simulator`` cannot run here (fail on CI)."""
    reason = simulator_missing(simulator)
    if reason is not None:
        skip_missing_simulator(SimulatorMissing(f"{simulator}: {reason}"))


# -- random networks and stimuli -------------------------------------------------------------

def random_params(rng: random.Random) -> NeuronParams:
    leaky = rng.random() < 0.5
    adaptive = rng.random() < 0.25
    return NeuronParams(
        weight_bits=8, current_bits=rng.choice([12, 16]), membrane_bits=rng.choice([12, 16]),
        decay_bits=8,
        alpha=rng.choice([256, rng.randint(150, 255)]),
        beta=rng.randint(180, 255) if leaky else 256,
        threshold=rng.randint(40, 160),
        reset=rng.choice([Reset.SUBTRACT, Reset.ZERO]),
        fire_once=rng.random() < 0.3,
        adaptive=adaptive, adapt_bits=8, rho=rng.randint(150, 256) if adaptive else 256,
        adapt_step=rng.randint(0, 40) if adaptive else 0)


def random_network(seed: int, n_layers: int | None = None, max_size: int = 20,
                   decision: Decision | None = None) -> IntegerNetwork:
    """A random 2..4-layer network whose neurons spike now and then (mostly positive
    weights, thresholds of a few weights), random neuron parameters per layer."""
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    n_layers = n_layers or rng.randint(2, 4)
    sizes = [rng.randint(3, max_size)] + [rng.randint(2, max_size) for _ in range(n_layers)]
    layers = []
    for l in range(n_layers):
        params = random_params(rng)
        w = nrng.integers(-25, 80, size=(sizes[l], sizes[l + 1]))
        layers.append(IntegerLayer(w, params))
    if decision is None:
        decision = rng.choice([Decision.FIRST_SPIKE, Decision.SPIKE_COUNT, Decision.MEMBRANE_MAX])
    return IntegerNetwork(tuple(layers), decision)


def random_inputs(seed: int, network: IntegerNetwork, images: int, ticks: int,
                  p: float = 0.3) -> np.ndarray:
    """``[images, ticks, n_inputs]`` 0/1 event counts, each input active with probability p."""
    rng = np.random.default_rng(seed)
    return (rng.random((images, ticks, network.n_inputs)) < p).astype(np.int64)


# -- Amaranth simulation: drivers, sinks, scoreboards ----------------------------------------

def run(dut, *testbenches, background=(), vcd=None, timeout_cycles=200_000):
    """Simulate ``dut`` with a 1-unit clock until every foreground testbench returns."""
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    for tb in testbenches:
        sim.add_testbench(tb)
    for tb in background:
        sim.add_testbench(tb, background=True)
    if vcd:
        with sim.write_vcd(vcd):
            sim.run()
    else:
        sim.run()


async def drive(ctx, stream, items, rng, p_gap=0.0, log=None):
    """Send ``items`` (ints) on ``stream`` in order, with random idle gaps (valid low) between
    them. Obeys the stream rules: valid and payload stay put until the handshake."""
    payload = Value.cast(stream.payload)
    for item in items:
        while rng.random() < p_gap:
            await ctx.tick()
        ctx.set(stream.valid, 1)
        ctx.set(payload, item)
        await ctx.tick().until(stream.ready)
        if log is not None:
            log.append(item)
        ctx.set(stream.valid, 0)


class StreamRuleError(AssertionError):
    pass


async def sink(ctx, stream, rng, p_ready, log, name="sink"):
    """Random-ready sink (background): records every handshake's payload in ``log`` and checks
    that valid never falls and payload never changes while a packet waits."""
    payload = Value.cast(stream.payload)
    has_ready = isinstance(stream.ready, Value) and not hasattr(stream.ready, "value")
    prev = None
    if has_ready:
        ctx.set(stream.ready, int(rng.random() < p_ready))
    async for _, _, valid, ready, data in ctx.tick().sample(stream.valid, stream.ready, payload):
        if prev is not None and prev[0] and not prev[1]:
            if not valid or data != prev[2]:
                raise StreamRuleError(f"{name}: valid/payload changed while waiting: "
                                      f"{prev} -> {(valid, ready, data)}")
        if valid and ready:
            log.append(data)
        prev = (valid, ready, data)
        if has_ready:
            ctx.set(stream.ready, int(rng.random() < p_ready))


def assert_cycles_match(obs: dict, exp, n_layers: int, where: str) -> None:
    """One image's observed handshakes (an Amaranth system bench's record) equal the system
    cycle model's :class:`~spikeforge.sim.system_cycle.InferenceTiming` ``exp``, cycle for
    cycle: input handshakes, output spikes, every layer's monitor events, tick ends, start
    and done, the cycles port."""
    assert obs["inputs"] == exp.input_cycles, f"{where}: input handshake cycles"
    assert obs["out"] == [tuple(e) for e in exp.out_events], f"{where}: output cycles"
    for l in range(n_layers):
        assert obs["monitor"][l] == [tuple(e) for e in exp.monitor_events[l]], \
            f"{where}: layer {l} monitor cycles"
    assert obs["tick_done"] == exp.tick_done_cycles, f"{where}: tick ends"
    assert (obs["start"], obs["done"]) == (exp.start_cycle, exp.done_cycle), where
    assert obs["cycles_port"] == exp.cycles, f"{where}: cycles port"


def check_multicast(sent, received, destinations):
    """Scoreboard of a multicast delivery.

    ``sent``: packets in input order; ``received[d]``: packets that output d delivered, in
    order; ``destinations(packet)``: the outputs that must receive it. Returns a list of error
    strings (empty: every packet went to exactly its destinations, exactly once, in order)."""
    all_errors = []
    for d, got in received.items():
        errors = []
        expected = [p for p in sent if d in destinations(p)]
        seen = defaultdict(int)
        for p in got:
            seen[p] += 1
        for p, n in seen.items():
            if n > 1:
                errors.append(f"output {d}: packet {p:#x} delivered {n} times (duplicate)")
            if d not in destinations(p):
                errors.append(f"output {d}: packet {p:#x} misrouted")
        for p in expected:
            if p not in seen:
                errors.append(f"output {d}: packet {p:#x} missing")
        if not errors and got != expected:
            errors.append(f"output {d}: order differs from input order")
        all_errors += errors
    return all_errors


def check_per_source_order(sent_by_source, received, key):
    """``sent_by_source[s]``: packets of source s in order; ``received``: merged packets;
    ``key(p)``: the source of p. Exactly once, and order preserved per source."""
    errors = []
    by_source = defaultdict(list)
    for p in received:
        by_source[key(p)].append(p)
    for s in set(sent_by_source) | set(by_source):
        want, got = list(sent_by_source.get(s, [])), by_source.get(s, [])
        if sorted(got) != sorted(want):
            extra = len(got) - len(want)
            errors.append(f"source {s}: received {len(got)} packets, sent {len(want)}"
                          + (" (duplicate)" if extra > 0 else "")
                          + (" or wrong payloads" if extra == 0 else ""))
        elif got != want:
            errors.append(f"source {s}: order not preserved")
    return errors


def load_benchmark(name: str):
    """``benchmarks/<name>.py`` as a module (the benchmarks are scripts, not a package)."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
