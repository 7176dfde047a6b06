"""``spikeforge demo``: one neuron core, co-simulated against the Python models.

The embedded default: an 8x8 handwritten digit from scikit-learn's digits set, rate-coded
by the hardware-reproducible LFSR encoder into 64 input spike trains, drives a core of 37
leaky neurons (not a power of two) with seeded random 8-bit weights. The core's Verilog is
co-simulated with cocotb in Icarus and/or Verilator, with random input gaps and a random
output-ready stall pattern, and every output event, every neuron's state after every tick
and the clock cycle of every handshake are compared with the golden and cycle models.
"""

from __future__ import annotations

import random
import sys
import time

import numpy as np

from spikeforge.ir.core import CoreConfig
from spikeforge.ir.params import NeuronParams
from spikeforge.sim.golden import GoldenCore

N_NEURONS = 37
PARAMS = NeuronParams(decay_bits=12, alpha=3072, beta=3584, threshold=2000)  # 0.75, 0.875


def demo_core(seed: int) -> CoreConfig:
    rng = np.random.default_rng(seed)
    weights = rng.integers(-20, 30, size=(64, N_NEURONS))
    return CoreConfig(N_NEURONS, 64, PARAMS, weights)


def digit_events(ticks: int, seed: int) -> tuple[int, list[list[int]]]:
    """Input events per tick of one test digit, rate-coded (LFSR Bernoulli, 8-bit levels)."""
    from spikeforge.model.datasets import load_dataset
    from spikeforge.model.encoders import rate_encode

    digits = load_dataset("digits")
    index = seed % len(digits.test_y)
    spikes = rate_encode(digits.test_x[index:index + 1], ticks, max_value=digits.max_value,
                         seed=seed)[:, 0, :]
    return int(digits.test_y[index]), [np.flatnonzero(row).tolist() for row in spikes.numpy()]


def demo_spec(config: CoreConfig, events: list[list[int]], seed: int) -> dict:
    """The co-simulation stimulus: the digit's events with random input and command gaps and
    a random output stall pattern (spike_out.ready high 60% of cycles)."""
    from spikeforge.cosim.core_cosim import make_spec

    spec = make_spec(config, len(events), seed, p_ready=0.6)
    rng = random.Random(seed)
    for tick, tick_events in zip(spec["ticks"], events):
        tick["events"] = tick_events
        tick["event_gaps"] = [0 if rng.random() < 0.7 else rng.randint(1, 3) for _ in tick_events]
    return spec


def run_demo(simulators: str = "both", ticks: int = 50, seed: int = 2026, out=sys.stdout) -> int:
    from spikeforge.cosim.core_cosim import run_core_cosim
    from spikeforge.cosim.runner import CosimFailure

    if ticks < 1:
        from spikeforge.ir.errors import ConfigError
        raise ConfigError(f"--ticks: must be at least 1, got {ticks}")
    config = demo_core(seed)
    label, events = digit_events(ticks, seed)
    trace = GoldenCore.of(config).run(GoldenCore.of(config).counts_from_events(events))
    n_events = sum(map(len, events))
    print(f"spikeforge demo: one core of {config.n_neurons} leaky CUBA neurons x "
          f"{config.n_inputs} inputs, 8-bit weights, alpha={PARAMS.alpha}/4096, "
          f"beta={PARAMS.beta}/4096, threshold={PARAMS.threshold}", file=out)
    print(f"input: digits test image of a '{label}', LFSR rate code, {ticks} ticks, "
          f"{n_events} input events; golden model: {int(trace.spikes.sum())} output spikes",
          file=out)
    print("co-simulating (cocotb; random input gaps, spike_out.ready high 60% of cycles)...",
          file=out, flush=True)
    chosen = ["icarus", "verilator"] if simulators == "both" else [simulators]
    header = (f"{'simulator':<10} {'ticks':>5} {'in events':>9} {'out spikes':>10} "
              f"{'state words':>11} {'cycles':>7} {'wall s':>7}  verdict")
    rows, failed = [header, "-" * len(header)], False
    for simulator in chosen:
        start = time.perf_counter()
        spec = demo_spec(config, events, seed)
        try:
            result = run_core_cosim(config, simulator, spec=spec, check=False)
        except CosimFailure as error:  # the simulation itself did not finish
            rows.append(f"{simulator:<10} simulation failed: {error}")
            failed = True
            continue
        report = result.report or {}
        mismatch = report.get("mismatch")
        if mismatch:
            verdict = "MISMATCH: {kind} at tick {tick}, neuron {neuron}: expected {expected}, " \
                      "got {got}".format(**mismatch)
        elif not result.ok:
            verdict = "FAILED: " + "; ".join(t.message for t in result.failures)
        else:
            verdict = "BIT-EXACT, CYCLE-EXACT"
        failed |= verdict.startswith(("MISMATCH", "FAILED"))
        state_words = 4 * config.n_neurons * int(report.get("ticks_checked", 0))
        rows.append(f"{simulator:<10} {ticks:>5} {report.get('input_events', 0):>9} "
                    f"{report.get('output_events', 0):>10} {state_words:>11} "
                    f"{report.get('cycles', 0):>7} {time.perf_counter() - start:>7.1f}  {verdict}")
    print("\n".join(rows), file=out)
    print("compared: every output event (tick, neuron), i/v/a/fired of every neuron after "
          "every tick, and the clock cycle of every handshake against the cycle model", file=out)
    return 1 if failed else 0
