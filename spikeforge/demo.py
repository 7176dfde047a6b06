"""``spikeforge demo``: the whole flow on digits, or one neuron core, co-simulated against
the Python models.

The flow demo (:func:`run_flow_demo`, settings :data:`DEMO`): a rate-coded LIF network
64-32-10 trained on scikit-learn's digits with quantization-aware 8-bit training (or loaded
from the cache under ``build/demo/model``, :func:`cached_network`), compiled to a multi-core
system, and the test split co-simulated on its RTL, every image compared bit for bit and
cycle for cycle with the golden and cycle models.

The single-core demo (:func:`run_demo`): an 8x8 handwritten digit from scikit-learn's digits
set, rate-coded by the hardware-reproducible LFSR encoder into 64 input spike trains, drives
a core of 37 leaky neurons (not a power of two) with seeded random 8-bit weights. The core's
Verilog is co-simulated with cocotb in Icarus and/or Verilator, with random input gaps and a
random output-ready stall pattern, and every output event, every neuron's state after every
tick and the clock cycle of every handshake are compared with the golden and cycle models.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

import numpy as np

from spikeforge.boards.choose import double_buffered_line
from spikeforge.compiler.artifact import load_artifact, save_artifact
from spikeforge.compiler.map import plan_network
from spikeforge.cosim.core_cosim import make_spec, run_core_cosim
from spikeforge.cosim.runner import CosimFailure
from spikeforge.flow import (
    PROTOTYPE,
    TABLE_HEADER,
    TrainedNetwork,
    compile_network,
    encode_inputs,
    format_training,
    hardware_statistics,
    train_digits_network,
    verify_network,
)
from spikeforge.ir.core import CoreConfig
from spikeforge.ir.errors import ConfigError, SpikeforgeError
from spikeforge.ir.params import NeuronParams
from spikeforge.ir.system import chosen_system
from spikeforge.sim.golden import GoldenCore

N_NEURONS = 37
PARAMS = NeuronParams(decay_bits=12, alpha=3072, beta=3584, threshold=2000)  # 0.75, 0.875


def demo_core(seed: int) -> CoreConfig:
    rng = np.random.default_rng(seed)
    weights = rng.integers(-20, 30, size=(64, N_NEURONS))
    return CoreConfig(N_NEURONS, 64, PARAMS, weights)


def digit_events(ticks: int, seed: int) -> tuple[int, list[list[int]]]:
    """Input events per tick of one test digit, rate-coded (LFSR Bernoulli, 8-bit levels)."""
    # spikeforge.model (PyTorch) takes seconds to import: only when the demo runs
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
    spec = make_spec(config, len(events), seed, p_ready=0.6)
    rng = random.Random(seed)
    for tick, tick_events in zip(spec["ticks"], events):
        tick["events"] = tick_events
        tick["event_gaps"] = [0 if rng.random() < 0.7 else rng.randint(1, 3) for _ in tick_events]
    return spec


def run_demo(simulators: str = "both", ticks: int = 50, seed: int = 2026, out=sys.stdout) -> int:
    """The single-core demo; returns the exit status (1 if any simulator disagrees)."""
    if ticks < 1:
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


# -- the whole flow ----------------------------------------------------------------------

#: the flow demo's training and mapping settings; the cached model is used only if they match.
#: ``threads``: torch splits its float reductions by thread, so the trained network depends
#: on the thread count (measured: 94.22 % with 1 thread, 95.56 % with 2, the same seed); it
#: is pinned so that every machine trains the network the README shows, whatever its cores
DEMO = {"dataset": "digits", "hidden": 32, "epochs": 8, "qat_epochs": 1, "ticks": 16, "seed": 0,
        "neurons_per_core": 16, "lanes": 4, "threads": 2}


#: both flow demos double-buffer their hidden cores (``compile --double-buffer-layers 0``):
#: each takes the next tick's events while it updates. ``compile --board ulx3s-85f``'s rule
#: (``boards.choose.choose_double_buffer``) picks them for both demos' plans on the ECP5,
#: where the demo's latency is quoted: the output core's buffers save nothing more (1,345.3
#: and 626.8 cycles per inference on 20 test images either way, stop 66); the iCE40UP5K has
#: no room for them (docs/boards.md, stops 59-61). Single-buffered, the demos took 1.19x and
#: 1.55x their work bound (stop 59: 1,527 and 822 cycles per inference)
DEMO_DOUBLE_BUFFER = (0,)


def demo_system(decision):
    """The demos' system settings: the compiler's for ``decision``, with
    :data:`DEMO_DOUBLE_BUFFER`."""
    return chosen_system(decision, double_buffer=DEMO_DOUBLE_BUFFER)


def buffers_line(system) -> str:
    """The compile step's line on the cores' event buffers, from the artifact's ``system``."""
    if system.double_buffer:
        return f"  {double_buffered_line(system.double_buffer)} (docs/flow.md)"
    return "  cores single-buffered"


def demo_dir() -> Path:
    """``build/demo`` under the current directory: the demo's cached model and its compiled
    design, where the user looks for them (the build cache, by contrast, is in the user's
    cache directory: :func:`spikeforge.cosim.runner.default_build_root`)."""
    return Path("build") / "demo"


def cached_network(directory: Path, retrain: bool, progress: bool):
    """``(trained, cached)``: the demo's trained network, from the cache under
    ``directory/model`` if its settings match, else trained (and cached)."""
    cache = directory / "model"
    meta_file = cache / "trained.json"
    if not retrain and meta_file.is_file():
        try:
            meta = json.loads(meta_file.read_text())
            if meta.get("settings") == DEMO:
                network = load_artifact(cache).network
                summary = meta["summary"]
                return TrainedNetwork(network=network, **summary), True
        except (ConfigError, SpikeforgeError, ValueError, KeyError, TypeError):
            pass  # a stale or broken cache: train again
    trained = train_digits_network(hidden=DEMO["hidden"], epochs=DEMO["epochs"],
                                   qat_epochs=DEMO["qat_epochs"], ticks=DEMO["ticks"],
                                   seed=DEMO["seed"], threads=DEMO["threads"], progress=progress)
    save_artifact(trained.network, plan_network(trained.network), cache)
    meta_file.write_text(json.dumps({"settings": DEMO, "summary": trained.summary()}, indent=2))
    return trained, False


def run_flow_demo(simulators=("verilator",), images: int | None = None, retrain: bool = False,
                  out=sys.stdout) -> int:
    """The whole flow on the embedded default (digits): train (or load the cached model) ->
    compile -> co-simulate -> table."""
    # spikeforge.model (PyTorch) takes seconds to import: only when the demo runs
    from spikeforge.model.datasets import load_dataset

    directory = demo_dir()
    t0 = time.perf_counter()
    print(f"spikeforge demo: digits -> {DEMO['hidden']}-neuron LIF hidden layer -> 10 classes, "
          f"8-bit, spike-count decision, {DEMO['neurons_per_core']} neurons per core, "
          f"{DEMO['lanes']} lanes", file=out)
    print("[1/3] training (float LIF, then quantization-aware 8-bit)...", file=out, flush=True)
    trained, cached = cached_network(directory, retrain, progress=True)
    if cached:
        print(f"  loaded the cached model {directory / 'model'} (--retrain to train again)", file=out)
    print(format_training(trained), file=out, flush=True)
    ds = load_dataset("digits")
    n = len(ds.test_y) if images is None else images
    if not 1 <= n <= len(ds.test_y):
        raise ConfigError(f"--images: must be in 1..{len(ds.test_y)}, got {n}")
    counts = encode_inputs(ds.test_x, ds.max_value, trained.ticks, trained.encoder_seed)
    labels = ds.test_y
    print("[2/3] compiling (plan, artifact, system Verilog, expected traces)...", file=out, flush=True)
    compiled = compile_network(trained.network, directory / "compiled", counts, labels,
                               DEMO["neurons_per_core"], info={"training": trained.summary()},
                               lanes=DEMO["lanes"], system=demo_system(trained.network.decision),
                               progress=out is sys.stdout)
    artifact = load_artifact(compiled.out_dir)
    print(buffers_line(artifact.system), file=out)
    network, plan = artifact.network, artifact.plan
    stats = hardware_statistics(network, counts)
    rows = " / ".join(f"{x:.0%}" for x in stats["rows_read"])
    print(f"  {compiled.n_cores} cores; per inference: {stats['hidden_spikes']:.0f} hidden spikes, "
          f"{stats['weights_read']:.0%} of the dense weight reads, weight rows read per layer "
          f"{rows} (a rate code reads rows again every tick; the temporal-coding demo, "
          f"spikeforge demo --ttfs, shows the FPGA prototype's sparsity)", file=out)
    print(f"[3/3] co-simulating {n} of {len(labels)} test images (whole system; Verilator: the "
          f"compiled harness, Icarus: the cocotb bench)...",
          file=out, flush=True)
    rows, failed = [], False
    for simulator in simulators:
        report = verify_network(network, plan, counts[:n], labels[:n], simulator,
                                progress=out is sys.stdout, system=artifact.system)
        rows.append(report.row())
        failed |= not report.ok
    print(TABLE_HEADER, file=out)
    print("-" * len(TABLE_HEADER), file=out)
    print("\n".join(rows), file=out)
    print("golden/RTL: test accuracy of the golden model and of the RTL on the co-simulated images; "
          "bit-exact: images whose class, no-spike flag, decision tick, every output and hidden "
          "spike and its clock cycle equal the models'; bound: lower bound on cycles/inference "
          "from the cores' own timing, work: from the work alone -- weight words and update "
          "words of the busiest core (sim.system_cycle.lower_bound_cycles). "
          f"Total {time.perf_counter() - t0:.0f} s.",
          file=out)
    return 1 if failed else 0


# -- the temporal-coding demo --------------------------------------------------------------

#: ``spikeforge demo --ttfs``: Mostafa's time-to-first-spike network on digits (exact
#: gradients, non-leaky IF neurons, silent zero pixels as the FPGA prototype), its trained
#: model cached under ``build/demo/ttfs`` if its training settings match
DEMO_TTFS = {"dataset": "digits", "hidden": 100, "ticks_per_tau": 16, "epochs": 15,
             "zero_is_silent": True, "lanes": [10, 10]}
#: the settings the cached model depends on (the lanes are the compiler's)
_TTFS_TRAINING = ("dataset", "hidden", "ticks_per_tau", "epochs", "zero_is_silent")
#: the clock the demo's latency is quoted at (the ECP5 builds of docs/boards.md run above it)
DEMO_CLOCK_MHZ = 50


def cached_ttfs_model(directory: Path, retrain: bool, progress: bool):
    """``(model, cached)``: the TTFS demo's model file (``spikeforge train`` format), from
    ``directory/model.pt`` if it was trained with :data:`DEMO_TTFS`'s training settings,
    else trained."""
    from spikeforge.model.datasets import load_dataset
    from spikeforge.model.modelfile import load_model, save_model, train_ttfs_model

    path, meta = directory / "model.pt", directory / "settings.json"
    if not retrain and path.is_file() and meta.is_file():
        try:
            cached = json.loads(meta.read_text())
            if isinstance(cached, dict) and all(cached.get(k) == DEMO_TTFS[k]
                                                for k in _TTFS_TRAINING):
                return load_model(path), True
        except (SpikeforgeError, ValueError):
            pass  # a stale or broken cache: train again
    s = DEMO_TTFS
    model = train_ttfs_model(load_dataset(s["dataset"]), [s["hidden"]], s["epochs"],
                             s["ticks_per_tau"], progress=progress,
                             zero_is_silent=s["zero_is_silent"])
    directory.mkdir(parents=True, exist_ok=True)
    save_model(model, path)
    meta.write_text(json.dumps(DEMO_TTFS, indent=2))
    return model, False


def prototype_table(model: dict, stats: dict, report, clock_mhz: float = DEMO_CLOCK_MHZ) -> str:
    """spikeforge's TTFS network beside the FPGA prototype's figures (:data:`PROTOTYPE`)."""
    p = PROTOTYPE
    sizes = "-".join(map(str, model["sizes"]))
    ticks_per_tau = model["encoding"]["ticks_per_tau"]
    rows = [("", f"spikeforge, digits {sizes}", "FPGA prototype, MNIST 784-600-10"),
            ("accuracy, 8-bit (golden = RTL)", f"{report.rtl_accuracy:.2%}", f"{p['accuracy']:.0%}"),
            ("hidden spikes before the decision", f"{stats['hidden_spikes']:.1f}",
             f"{p['hidden_spikes']}"),
            ("input->hidden weights read", f"{stats['rows_read'][0]:.1%}", f"{p['rows_read'][0]:.0%}"),
            ("hidden->output weights read", f"{stats['rows_read'][1]:.1%}", f"{p['rows_read'][1]:.0%}"),
            ("ticks to the decision (median)",
             f"{stats['median_ticks']:.0f} ({ticks_per_tau} per tau)", f"~{p['median_ticks']}"),
            ("clock cycles per inference", f"{report.cycles_per_inference:,.0f}", "n/a"),
            (f"latency at {clock_mhz:g} MHz", f"{report.cycles_per_inference / clock_mhz:.1f} us",
             "n/a")]
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"{a:<{width[0]}}  {b:>{width[1]}}  {c:>{width[2]}}" for a, b, c in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def run_ttfs_demo(simulators=("verilator",), images: int | None = None, retrain: bool = False,
                  out=sys.stdout) -> int:
    """The temporal-coding flow on digits: train Mostafa's TTFS network with exact gradients
    (or load the cached one) -> compile with the first-spike decision (silent inputs
    dropped) -> co-simulate the test split -> the FPGA prototype's figures beside ours."""
    from spikeforge.model.datasets import load_dataset
    from spikeforge.model.modelfile import encode_test_images, integer_network_of

    directory = demo_dir() / "ttfs"
    t0 = time.perf_counter()
    s = DEMO_TTFS
    print(f"spikeforge demo --ttfs: digits -> {s['hidden']} non-leaky IF neurons -> 10 classes, "
          f"time-to-first-spike code ({s['ticks_per_tau']} ticks per tau, pixels of 0 silent), "
          f"8-bit, the class is the first output neuron to spike", file=out)
    print("[1/3] training (exact gradients, Mostafa 2017)...", file=out, flush=True)
    model, cached = cached_ttfs_model(directory, retrain, progress=out is sys.stdout)
    if cached:
        print(f"  loaded the cached model {directory / 'model.pt'} (--retrain to train again)",
              file=out)
    metrics = model["metrics"]
    print(f"  float {metrics['float_test_accuracy']:.2%}, 8-bit golden "
          f"{metrics['golden_test_accuracy']:.2%} on the test split", file=out)
    ds = load_dataset(s["dataset"])
    n = len(ds.test_y) if images is None else images
    if not 1 <= n <= len(ds.test_y):
        raise ConfigError(f"--images: must be in 1..{len(ds.test_y)}, got {n}")
    network = integer_network_of(model)
    counts = encode_test_images(model, ds, len(ds.test_y))
    print("[2/3] compiling (first-spike decision; plan, artifact, Verilog, expected traces)...",
          file=out, flush=True)
    compiled = compile_network(network, directory / "compiled", counts, ds.test_y,
                               lanes=s["lanes"], info={"model": str(directory / "model.pt")},
                               system=demo_system(network.decision), progress=out is sys.stdout)
    artifact = load_artifact(compiled.out_dir)
    print(buffers_line(artifact.system), file=out)
    stats = hardware_statistics(network, counts[:n])  # per sensor input, as the prototype's
    print(f"[3/3] co-simulating {n} of {len(ds.test_y)} test images (whole system)...",
          file=out, flush=True)
    rows, failed, reports = [], False, []
    for simulator in simulators:
        report = verify_network(artifact.network, artifact.plan,
                                artifact.sensor_input(counts)[:n], ds.test_y[:n], simulator,
                                progress=out is sys.stdout, system=artifact.system)
        rows.append(report.row())
        reports.append(report)
        failed |= not report.ok
    print(TABLE_HEADER, file=out)
    print("-" * len(TABLE_HEADER), file=out)
    print("\n".join(rows), file=out)
    print("", file=out)
    print(prototype_table(model, stats, reports[0]), file=out)
    print("weights read: the fraction of a layer's weight rows looked up before the decision "
          "(each input spikes at most once); the prototype's figures are on MNIST with 60k "
          f"training images, ours on scikit-learn's digits. Total {time.perf_counter() - t0:.0f} s.",
          file=out)
    return 1 if failed else 0
