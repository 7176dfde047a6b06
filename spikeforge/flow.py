"""The end-to-end flow: train -> integer network -> hardware plan -> artifact + Verilog +
expected traces -> whole-system co-simulation -> report.

Every step is a function, so a script, a test or the command line (:mod:`.commands`) can run
one step alone or all of them:

* :func:`train_digits_network` / :func:`train_mnist_network` (:func:`train_network`): a
  rate-coded (LFSR encoder, :func:`spikeforge.model.encoders.rate_encode`) LIF network
  ``n_in-H-10`` with spike-count decision. A float :class:`~spikeforge.model.lif.LIFNet` is
  trained with surrogate gradients, turned into a :class:`~spikeforge.model.quant.QuantLIFNet`
  (8-bit weights) and fine-tuned with quantization-aware training, whose integer forward pass
  *is* the contract. The result's :class:`~spikeforge.sim.network.IntegerNetwork` is built
  from ``QuantLIFNet.cores()`` and its golden predictions on the whole test split are checked
  to equal the trained quantized model's (a :class:`SpikeforgeError` otherwise).
* :func:`compile_network`: :func:`~spikeforge.compiler.map.plan_network` ->
  :func:`~spikeforge.compiler.artifact.save_artifact`, the Verilog of the system top
  (``spikeforge_system.v``: ``amaranth.back.verilog.convert`` of
  :class:`~spikeforge.hdl.system.SpikeforgeSystem`; its sha256 is recorded in ``flow.json``
  as ``"verilog": {"file": "spikeforge_system.v", "sha256": ...}``) and ``expected.npz``
  (the golden outputs of the test images, see :func:`save_expected`) in one directory.
* :func:`verify_artifact`: check that ``expected.npz`` still equals the artifact's golden
  model in class, decision tick and every spike of every layer (:func:`check_expected`),
  that the shipped ``spikeforge_system.v`` is exactly the Verilog the artifact determines
  and has the sha256 ``flow.json`` records (:func:`shipped_verilog`), then co-simulate that
  shipped file on test images in chunks -- on Verilator with the compiled harness of
  :mod:`spikeforge.cosim.fast` (engine ``fast``, the default: the bench's stimulus and
  comparisons, sharded over local processes or a Dask cluster), or with the cocotb bench
  :func:`~spikeforge.cosim.system_cosim.run_system_cosim` (engine ``cocotb``; Icarus always)
  -- and return a :class:`VerifyReport`: golden accuracy vs RTL
  accuracy on the same images, images bit-exact (class, decision tick, every output and
  hidden spike as a whole (tick, neuron, clock cycle) triple in order, as the co-simulation
  compares them), cycles per inference and their lower bound. With ``waves`` (a folder;
  ``spikeforge verify --waves``) a mismatch also leaves a wave file there, which its
  message names with the time and the port to look at (:mod:`spikeforge.cosim.waves`).

``expected.npz`` (``numpy.savez_compressed``)::

    input_bits     uint8  packbits of the 0/1 input events [images, ticks, n_inputs] (axis -1)
                          -- or, where an input has more than one event in a tick:
    input_counts   uint8  the event counts [images, ticks, n_inputs] (at most 255)
    shape          int64  [images, ticks, n_inputs]
    labels         int64  [images]     dataset labels
    decision       int64  [images]     golden class
    decision_tick  int64  [images]
    output_spikes  bool   [images, ticks, n_outputs]
    hidden_spikes  int64  [images]     spikes of all non-output layers (ticks run)
    hidden_sizes   int64  [L - 1]      neurons of each hidden layer (layers 0 .. L-2)
    hidden_bits_<l> uint8 packbits of hidden layer l's 0/1 spikes [images, ticks, n_l]
                                       (axis -1), l = 0 .. L-2

A file without ``hidden_sizes`` (written before hidden spikes were stored) is refused by
:func:`verify_artifact` with a request to compile again.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import sys
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from spikeforge.compiler.artifact import MANIFEST, load_artifact, save_artifact
from spikeforge.compiler.inputs import InputMap, compact_inputs
from spikeforge.compiler.map import plan_network
from spikeforge.cosim.fast import (
    Shard,
    build_harness,
    default_jobs,
    image_bounds,
    run_shard,
    run_sharded,
)
from spikeforge.cosim.runner import CosimFailure
from spikeforge.cosim.system_cosim import run_system_cosim
from spikeforge.cosim.waves import wave_note, waves_file
from spikeforge.hdl.verilog import system_verilog
from spikeforge.ir.errors import ConfigError, SpikeforgeError
from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.ir.params import Decision
from spikeforge.ir.system import SystemConfig, chosen_system
from spikeforge.sim.network import classify, run_network

# spikeforge.model (PyTorch) is imported inside the training functions only: torch takes
# seconds to import, and compiling or verifying an artifact does not need it.

EXPECTED = "expected.npz"
VERILOG = "spikeforge_system.v"
FLOW_JSON = "flow.json"

#: the FPGA prototype's figures (hidden spikes before the decision, fraction of weights
#: read, fraction of distinct weight rows read) quoted in issue 3, for comparison
#: Mostafa's FPGA prototype (TTFS 784-600-10, 8-bit, MNIST with 60k training images), as the
#: project brief quotes it: accuracy, hidden spikes before the decision, the fraction of the
#: input->hidden and hidden->output weights looked up, the median timesteps to the decision
PROTOTYPE = {"accuracy": 0.97, "hidden_spikes": 139, "rows_read": (0.13, 0.05),
             "median_ticks": 162}


def _log(progress, message: str) -> None:
    if progress:
        print(message, file=sys.stderr if progress == "stderr" else sys.stdout, flush=True)


# -- training ------------------------------------------------------------------------------

@dataclass
class TrainedNetwork:
    """A trained network on the contract and what training measured (test split)."""

    network: object  # IntegerNetwork
    dataset: str
    sizes: list
    ticks: int
    encoder_seed: int
    float_accuracy: float  #: the float LIFNet
    ptq_accuracy: float  #: 8-bit, straight after quantization (before QAT)
    golden_accuracy: float  #: 8-bit after QAT = golden model = trained quantized model
    quantization: list = field(default_factory=list)  #: per-layer compiler.quantize report
    train_seconds: float = 0.0

    def summary(self) -> dict:
        d = asdict(self)
        d.pop("network")
        return d


def encode_inputs(x, max_value: int, ticks: int, seed: int = 0) -> np.ndarray:
    """LFSR rate code of images ``x [n, features]`` as event counts ``[n, ticks, features]``
    (uint8), exactly what training and the golden model see."""
    from spikeforge.model.encoders import rate_encode

    spikes = rate_encode(x, ticks, max_value=max_value, seed=seed)
    return spikes.numpy().transpose(1, 0, 2).astype(np.uint8)


def _quant_layer_reports(quantization) -> list:
    """The per-layer figures (scale, weight errors) of the quantization that was used."""
    return [{"layer": l, "scale": q.scale, "weight_rms_error": q.weight_rms_error,
             "weight_max_error": q.weight_max_error, "clipped_fraction": q.clipped_fraction,
             "threshold_int": q.threshold_int}
            for l, q in enumerate(quantization.layers)]


def integer_network_of_qnet(qnet):
    """The :class:`IntegerNetwork` (spike-count decision) of a :class:`QuantLIFNet`."""
    layers = tuple(IntegerLayer(c.weights, c.params, max_events_per_tick=c.n_inputs)
                   for c in qnet.cores())
    return IntegerNetwork(layers, Decision.SPIKE_COUNT)


def train_network(dataset: str = "digits", hidden: int = 32, epochs: int = 8,
                  qat_epochs: int = 2, ticks: int = 16, seed: int = 0,
                  max_train: int | None = None, path=None, threads: int | None = None,
                  progress: bool = True) -> TrainedNetwork:
    """Train ``n_in-hidden-10`` (float LIF, then 8-bit QAT) and return it on the contract.

    Raises :class:`SpikeforgeError` if the golden model's predictions on the test split differ
    from the trained quantized model's in any image (they are the same arithmetic)."""
    import torch

    from spikeforge.model.datasets import load_dataset
    from spikeforge.model.lif import encode_dataset, train_lif
    from spikeforge.model.quant import QuantLIFNet, quant_accuracy, quantize_lif_net, train_quant

    if not isinstance(hidden, int) or hidden < 1:
        raise ConfigError(f"hidden: must be a positive integer, got {hidden!r}")
    if epochs < 1 or qat_epochs < 0 or ticks < 1:
        raise ConfigError(f"epochs/qat_epochs/ticks: must be >= 1/0/1, got {epochs}/{qat_epochs}/{ticks}")
    if threads:
        torch.set_num_threads(threads)
    start = time.perf_counter()
    ds = load_dataset(dataset, path=path)
    r = train_lif(ds, (hidden,), epochs, "rate", ticks, seed=seed, max_train=max_train,
                  progress=progress)
    qnet = quantize_lif_net(r.net)
    reports = _quant_layer_reports(qnet.quantization)
    te = encode_dataset("rate", ds.test_x, ds.max_value, ticks, seed)
    y = torch.as_tensor(ds.test_y)
    ptq = quant_accuracy(qnet, te, y)
    if qat_epochs:
        train_quant(qnet, ds, qat_epochs, "rate", ticks, seed=seed, max_train=max_train,
                    progress=progress)
    network = integer_network_of_qnet(qnet)
    with torch.no_grad():
        model_pred = np.concatenate([QuantLIFNet.predict_from(qnet(te[:, s:s + 512])).numpy()
                                     for s in range(0, te.shape[1], 512)])
    counts = te.numpy().transpose(1, 0, 2).astype(np.uint8)
    golden_pred = classify(network, counts)
    if not np.array_equal(model_pred, golden_pred):
        bad = int(np.flatnonzero(model_pred != golden_pred)[0])
        raise SpikeforgeError(f"golden model disagrees with the trained quantized model on test "
                              f"image {bad}: golden {golden_pred[bad]}, model {model_pred[bad]}")
    return TrainedNetwork(network, ds.name, [ds.n_features, hidden, ds.n_classes], ticks, seed,
                          float(r.test_accuracy), float(ptq),
                          float((golden_pred == ds.test_y).mean()), reports,
                          time.perf_counter() - start)


def train_digits_network(hidden: int = 32, epochs: int = 8, qat_epochs: int = 1,
                         ticks: int = 16, **kwargs) -> TrainedNetwork:
    """64-H-10 on scikit-learn's digits (about 20 s on 2 cores with the defaults)."""
    return train_network("digits", hidden, epochs, qat_epochs, ticks, **kwargs)


def train_mnist_network(hidden: int = 64, epochs: int = 2, qat_epochs: int = 1,
                        ticks: int = 16, **kwargs) -> TrainedNetwork:
    """784-H-10 on MNIST (IDX files, see :func:`spikeforge.model.datasets.default_mnist_dir`)."""
    return train_network("mnist", hidden, epochs, qat_epochs, ticks, **kwargs)


# -- compiling -----------------------------------------------------------------------------

def save_expected(network, input_counts, labels, path) -> Path:
    """Golden outputs of ``input_counts`` (event counts, at most 255 per input and tick: 0/1
    events are stored as bits, counts as bytes) next to the artifact (``expected.npz``):
    class, decision tick and the spikes of every layer (the format in this module's doc)."""
    counts = network.check_input(input_counts)
    most = int(counts.max()) if counts.size else 0
    if most > 255:
        raise ConfigError(f"input_counts: at most 255 events per input and tick can be stored, got {most}")
    inputs = (dict(input_bits=np.packbits(counts.astype(np.uint8), axis=-1)) if most <= 1
              else dict(input_counts=counts.astype(np.uint8)))
    trace = run_network(network, counts)
    stats = trace.statistics(until_decision=network.decision is Decision.FIRST_SPIKE)
    hidden = {f"hidden_bits_{l}": np.packbits(spikes, axis=-1)
              for l, spikes in enumerate(trace.spikes[:-1])}
    path = Path(path)
    np.savez_compressed(path, **inputs,
                        shape=np.array(counts.shape, dtype=np.int64),
                        labels=np.asarray(labels, dtype=np.int64),
                        decision=trace.decision, decision_tick=trace.decision_tick,
                        output_spikes=trace.spikes[-1], hidden_spikes=stats.hidden_spikes,
                        hidden_sizes=np.array([s.shape[-1] for s in trace.spikes[:-1]],
                                              dtype=np.int64),
                        **hidden)
    return path


def load_expected(path) -> dict:
    """Read ``expected.npz``; ``input_counts`` is unpacked, and so are the hidden layers'
    spikes into ``layer_spikes`` (bool ``[images, ticks, n_l]`` of every layer, the output
    layer last). A file written before hidden spikes were stored has no ``layer_spikes``.
    Errors name the file."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            out = {k: data[k] for k in data.files}
        shape = tuple(int(s) for s in out.pop("shape"))
        if "input_counts" in out:
            out["input_counts"] = out["input_counts"].reshape(shape)
        else:
            bits = out.pop("input_bits")
            out["input_counts"] = np.unpackbits(bits, axis=-1, count=shape[-1]).reshape(shape)
        if "hidden_sizes" in out:
            sizes = [int(n) for n in out.pop("hidden_sizes")]
            layers = [np.unpackbits(out.pop(f"hidden_bits_{l}"), axis=-1, count=n).astype(bool)
                      for l, n in enumerate(sizes)]
            output = np.asarray(out["output_spikes"], dtype=bool)
            for l, spikes in enumerate(layers):
                if spikes.shape != shape[:2] + (sizes[l],):
                    raise ValueError(f"hidden_bits_{l}: shape {spikes.shape}, expected "
                                     f"{shape[:2] + (sizes[l],)}")
            out["layer_spikes"] = layers + [output]
    except FileNotFoundError:
        raise SpikeforgeError(f"{path}: expected traces not found (run `spikeforge compile`)") from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise SpikeforgeError(f"{path}: not a readable expected-trace file "
                              f"({type(error).__name__}: {error})") from None
    return out


@dataclass
class CompileResult:
    out_dir: Path
    manifest: Path
    verilog: Path
    expected: Path
    n_cores: int
    memory_bits: int
    seconds: dict  #: plan, artifact, verilog, expected
    #: the sensor-to-network map when silent inputs were dropped (None: none were)
    inputs: InputMap | None = None


def check_compile_out(out_dir) -> Path:
    """``out_dir`` as a :class:`Path` if :func:`compile_network` may write it: a directory
    not there yet, an empty one, or an earlier compile's (it holds an artifact manifest),
    which the new one replaces. Anything else -- a file, a directory of other things -- is
    refused (:class:`SpikeforgeError`): a compile never deletes what it did not write."""
    out = Path(out_dir)
    try:
        if not out.exists():
            return out
        if not out.is_dir():
            raise SpikeforgeError(f"{out}: exists and is not a directory")
        if next(out.iterdir(), None) is not None and not (out / MANIFEST).is_file():
            raise SpikeforgeError(f"{out}: a directory that is not a compiled artifact (no "
                                  f"{MANIFEST}) and not empty; compile into a new or empty "
                                  f"directory")
    except OSError as error:  # e.g. a name too long for the file system
        raise SpikeforgeError(f"{out}: {error.strerror}") from None
    return out


def _replace_dir(new: Path, out: Path, old: Path) -> None:
    """Put the finished directory ``new`` in the place of ``out`` (which may not exist):
    renames on one file system, the previous ``out`` moved to ``old`` and deleted last, so
    that an interruption leaves the old directory or the new one (at worst the old one at
    ``old``, beside it)."""
    if not out.exists():
        new.rename(out)
        return
    out.rename(old)
    try:
        new.rename(out)
    except BaseException:
        old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def hardware_input(network, input_counts, drop_silent: bool = True):
    """``(network, inputs, input_counts)`` as the hardware sees them: with ``drop_silent``,
    the network without its silent first-layer rows, the :class:`InputMap` from the sensor
    (None when no row is silent) and the mapped counts
    (:func:`~spikeforge.compiler.inputs.compact_inputs`); else all three unchanged."""
    if not drop_silent:
        return network, None, input_counts
    compact, mapping = compact_inputs(network)
    if mapping.identity:
        return network, None, input_counts
    return compact, mapping, mapping.apply(input_counts)


def compile_network(network, out_dir, input_counts, labels, neurons_per_core=None,
                    info: dict | None = None, progress=False,
                    system: SystemConfig | None = None, lanes=1,
                    drop_silent: bool = True) -> CompileResult:
    """Plan ``network`` (``neurons_per_core`` and ``lanes`` as
    :func:`~spikeforge.compiler.map.plan_network` takes them), write the artifact (with
    ``system``, default :func:`~spikeforge.ir.system.chosen_system` of the network's
    decision), the system Verilog built from exactly that artifact and the expected traces
    of ``input_counts``/``labels`` to ``out_dir``; ``info`` (e.g.
    training metrics) goes to ``flow.json``.

    Atomic: everything is written into a temporary directory beside ``out_dir``, which takes
    its place at the end (:func:`check_compile_out` says which ``out_dir`` may be replaced);
    a compile that fails or is interrupted leaves the previous ``out_dir`` as it was.

    ``drop_silent``: inputs whose first-layer weight row is all zero get no row and no event
    (:mod:`spikeforge.compiler.inputs`; exact); the artifact keeps the map, and
    ``input_counts`` (the sensor's) are mapped with it before the expected traces."""
    system = chosen_system(network.decision) if system is None else system
    network, inputs, input_counts = hardware_input(network, input_counts, drop_silent)
    if inputs is not None:
        _log(progress, f"  inputs:   {inputs.n_sensor - inputs.n_inputs} of {inputs.n_sensor} "
                       f"sensor inputs have an all-zero weight row: dropped (the host drops "
                       f"their events)")
    out = check_compile_out(out_dir)
    place = out.resolve()  # a real name and parent also for "." or a symbolic link
    place.parent.mkdir(parents=True, exist_ok=True)
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    work = place.parent / f".{place.name}.{token}.tmp"
    work.mkdir()
    try:
        seconds = {}
        t = time.perf_counter()
        plan = plan_network(network, neurons_per_core=neurons_per_core, lanes=lanes)
        seconds["plan"] = time.perf_counter() - t
        t = time.perf_counter()
        save_artifact(network, plan, work, system, inputs)
        seconds["artifact"] = time.perf_counter() - t
        _log(progress, f"  artifact: {out / MANIFEST} ({len(plan.cores)} cores, "
                       f"{plan.memory_bits / 8192:.1f} KiB of memories)")
        t = time.perf_counter()
        verilog_bytes = system_verilog(plan, system).encode()
        (work / VERILOG).write_bytes(verilog_bytes)
        seconds["verilog"] = time.perf_counter() - t
        _log(progress, f"  verilog:  {out / VERILOG} ({seconds['verilog']:.1f} s)")
        t = time.perf_counter()
        save_expected(network, input_counts, labels, work / EXPECTED)
        seconds["expected"] = time.perf_counter() - t
        _log(progress, f"  expected: {out / EXPECTED} ({len(labels)} images)")
        meta = {"neurons_per_core": neurons_per_core, "compile_seconds": seconds,
                "silent_inputs_dropped": 0 if inputs is None else inputs.n_sensor - inputs.n_inputs,
                "verilog": {"file": VERILOG, "sha256": _sha256(verilog_bytes)}, **(info or {})}
        (work / FLOW_JSON).write_text(json.dumps(meta, indent=2, default=str) + "\n")
        _replace_dir(work, place, place.parent / f".{place.name}.{token}.old")
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return CompileResult(out, out / MANIFEST, out / VERILOG, out / EXPECTED, len(plan.cores),
                         plan.memory_bits, seconds, inputs)


# -- verifying -----------------------------------------------------------------------------

@dataclass
class VerifyReport:
    simulator: str
    images: int
    golden_accuracy: float
    rtl_accuracy: float
    bit_exact_images: int
    cycles_per_inference: float
    lower_bound_cycles: float  #: mean ``bound`` (the cores' own timing)
    total_cycles: int
    sim_seconds: float
    wall_seconds: float
    mismatch: str | None = None
    verilog_sha256: str | None = None  #: of the Verilog text simulated (verify_artifact: the shipped file)
    engine: str = "cocotb"  #: "cocotb" (the bench) or "fast" (the compiled Verilator harness)
    jobs: int = 1  #: local processes (the fast engine; 0: on a Dask cluster)
    #: CPU seconds of each part, summed over the jobs (the fast engine): golden, cycle
    #: model, verilator (the harness process), compare
    seconds: dict = field(default_factory=dict)
    #: the RTL's own work counters, mean per image co-simulated (:func:`work_summary`)
    work: dict = field(default_factory=dict)
    #: mean ``work_bound``: the work alone (issue 10's yardstick; see ``lower_bound_cycles``)
    work_bound_cycles: float = float("nan")

    @property
    def ok(self) -> bool:
        return self.mismatch is None and self.bit_exact_images == self.images

    def row(self) -> str:
        verdict = "BIT-EXACT" if self.ok else f"MISMATCH: {self.mismatch}"
        return (f"{self.simulator:<10} {self.images:>6} {self.golden_accuracy:>9.2%} "
                f"{self.rtl_accuracy:>9.2%} {self.bit_exact_images:>6}/{self.images:<6} "
                f"{self.cycles_per_inference:>9.0f} {self.lower_bound_cycles:>8.0f} "
                f"{self.work_bound_cycles:>6.0f} {self.wall_seconds:>7.1f}  {verdict}")

    def summary(self) -> str:
        """The closing line: golden and RTL accuracy, bit-exact images, and (fast engine) the
        cost per image of each part."""
        text = (f"{self.simulator} ({self.engine}): {self.images} images: golden accuracy "
                f"{self.golden_accuracy:.2%}, RTL accuracy {self.rtl_accuracy:.2%}, "
                f"{self.bit_exact_images}/{self.images} bit-exact")
        if self.seconds:
            parts = ", ".join(f"{name} {1000 * s / self.images:.1f} ms"
                              for name, s in self.seconds.items())
            where = f"{self.jobs} job(s)" if self.jobs else "Dask"
            text += f"; per image (CPU): {parts}; {where}, {self.wall_seconds:.0f} s"
        if self.work:
            w = self.work
            layers = ", ".join(f"layer {l}: {e:.1f} events ({r:.1%} of its weights read), "
                               f"{s:.1f} spikes" for l, (e, r, s) in
                               enumerate(zip(w["events"], w["weights_read"], w["spikes"])))
            text += (f"\nRTL work counters, mean per image (compared with the models' on "
                     f"every image): {layers}")
        return text


def work_summary(network, work) -> dict:
    """The mean per image of the RTL's work counters ``work`` (``(events per layer, spikes
    per layer)`` per image): ``events``, ``spikes`` and ``weights_read`` (events x layer size
    over the layer's weights: for a network whose inputs spike at most once, the fraction of
    the weights looked up -- the prototype's figure). Empty when there is no image."""
    if not work:
        return {}
    events = np.array([e for e, _ in work], dtype=np.float64).mean(axis=0)
    spikes = np.array([s for _, s in work], dtype=np.float64).mean(axis=0)
    fan_in = np.array([layer.n_inputs for layer in network.layers], dtype=np.float64)
    return {"events": events.tolist(), "spikes": spikes.tolist(),
            "weights_read": (events / fan_in).tolist()}


TABLE_HEADER = (f"{'simulator':<10} {'images':>6} {'golden':>9} {'RTL':>9} "
                f"{'bit-exact':>13} {'cycles/inf':>9} {'bound':>8} {'work':>6} {'wall s':>7}"
                f"  verdict")
ENGINES = ("fast", "cocotb")


def _describe_mismatch(report: dict | None, result) -> str:
    mismatch = (report or {}).get("mismatch")
    if mismatch:
        return json.dumps(mismatch, default=str)[:300]
    failures = getattr(result, "failures", [])
    return "; ".join(f.message for f in failures)[:300] or "simulation failed"


def engine_for(simulator: str, engine: str | None) -> str:
    """The co-simulation engine: ``fast`` (compiled Verilator harness, :mod:`spikeforge.cosim.fast`)
    for Verilator unless ``cocotb`` is asked for; always ``cocotb`` for Icarus."""
    if engine is None:
        return "fast" if simulator == "verilator" else "cocotb"
    if engine not in ENGINES:
        raise ConfigError(f"--engine: expected one of {ENGINES}, got {engine!r}")
    if engine == "fast" and simulator != "verilator":
        raise ConfigError(f"--engine fast: runs on Verilator only, not {simulator}")
    return engine


def verify_network(network, plan, input_counts, labels, simulator: str = "verilator",
                   chunk: int = 50, progress=False, seed: int = 0,
                   p_gap: float = 0.0, system: SystemConfig | None = None,
                   verilog_text: str | None = None, *, engine: str | None = None,
                   jobs: int | None = None, scheduler=None, waves=None) -> VerifyReport:
    """Co-simulate every image of ``input_counts`` on the RTL of ``plan`` and ``system``
    (``chunk`` images per simulation, back to back) and compare with the golden and cycle
    models. ``verilog_text``: simulate this Verilog text (e.g. the shipped
    ``spikeforge_system.v``) instead of generating it from ``plan`` and ``system``.

    ``engine`` (:func:`engine_for`): ``cocotb`` runs the bench
    (:func:`~spikeforge.cosim.system_cosim.run_system_cosim`) chunk after chunk; ``fast`` runs
    the compiled harness (:func:`~spikeforge.cosim.fast.run_sharded`, the same stimulus and
    comparisons) sharded over ``jobs`` local processes (default: the CPUs) or the Dask
    cluster at ``scheduler`` (an address such as ``tcp://host:8786``), every image compared
    on its own.

    ``waves``: a folder for the waves of the first mismatch, which the first-mismatch text
    then names (file, time of the mismatch, port). The runs keep their speed: the first
    shard or chunk with a mismatch is run again, here, with waves: ``fast`` in a traced
    harness, writing ``image<k>.vcd`` of its first failing image k (around the mismatch:
    :func:`~spikeforge.cosim.fast.waves_window`); ``cocotb`` with the runner's waves, the
    whole chunk (``<simulator>-images-<first>-<last>.fst`` for Icarus, ``.vcd`` for
    Verilator). No mismatch, no wave file."""
    counts = network.check_input(input_counts)
    labels = np.asarray(labels)
    if counts.shape[0] < 1:
        raise ConfigError("images: nothing to co-simulate")
    engine = engine_for(simulator, engine)
    system = SystemConfig(network.decision) if system is None else system
    if scheduler is not None and engine != "fast":
        raise ConfigError("--scheduler: shards the fast engine only (Verilator, --engine fast)")
    if engine == "fast":
        return _verify_fast(network, plan, counts, labels, chunk, progress, seed, p_gap, system,
                            verilog_text, jobs, scheduler, waves)
    return _verify_cocotb(network, plan, counts, labels, simulator, chunk, progress, seed,
                          p_gap, system, verilog_text, waves)


def _verify_cocotb(network, plan, counts, labels, simulator, chunk, progress, seed, p_gap,
                   system, verilog_text, waves=None) -> VerifyReport:
    n = counts.shape[0]
    trace = run_network(network, counts)
    bounds = image_bounds(plan, trace, system)
    start = time.perf_counter()
    rtl_class, cycles, exact, sim_s, mismatch, first_bad = [], [], 0, 0.0, None, None
    work = []
    for s in range(0, n, chunk):
        part = counts[s:s + chunk]
        result, report, ok = _cocotb_chunk(network, plan, part, simulator, system, seed + s,
                                           p_gap, verilog_text)
        results = report.get("results") or []
        sim_s += float(report.get("sim_s") or 0.0)
        for k, res in enumerate(results):
            rtl_class.append(int(res["class"]))
            cycles.append(int(res["cycles"]))
            work.append((res["events"], res["spikes"]))
        if ok and len(results) == len(part):
            exact += len(part)
        elif mismatch is None:
            mismatch = f"images {s}..{s + len(part) - 1}: " + _describe_mismatch(report, result)
            first_bad = s
        _log(progress, f"  {simulator}: {min(s + chunk, n)}/{n} images co-simulated, "
                       f"{exact} bit-exact ({time.perf_counter() - start:.0f} s)")
    if waves is not None and first_bad is not None:
        mismatch = _cocotb_waves(network, plan, counts[first_bad:first_bad + chunk], simulator,
                                 system, seed + first_bad, p_gap, verilog_text, waves,
                                 first_bad, progress) or mismatch
    rtl = np.array(rtl_class + [-2] * (n - len(rtl_class)))
    return VerifyReport(simulator, n, float((trace.decision == labels).mean()),
                        float((rtl == labels).mean()), exact,
                        float(np.mean(cycles)) if cycles else float("nan"),
                        float(np.mean([b for b, _ in bounds])), int(sum(cycles)), sim_s,
                        time.perf_counter() - start, mismatch,
                        None if verilog_text is None else _sha256(verilog_text.encode()),
                        work=work_summary(network, work),
                        work_bound_cycles=float(np.mean([w for _, w in bounds])))


def _cocotb_chunk(network, plan, part, simulator, system, seed, p_gap, verilog_text,
                  waves=None):
    """One chunk through the cocotb bench: ``(result, report, ok)``, a failure caught."""
    try:
        result = run_system_cosim(network, plan, part, simulator, system=system, seed=seed,
                                  p_gap=p_gap, verilog_text=verilog_text, waves=waves)
        report = result.report or {}
        return result, report, result.ok and not report.get("mismatch")
    except CosimFailure as failure:
        result = failure.result
        return result, (result.report if result else {}) or {}, False


def _cocotb_waves(network, plan, part, simulator, system, seed, p_gap, verilog_text, waves,
                  first: int, progress) -> str | None:
    """Run the first chunk with a mismatch again with waves (the runs without keep their
    speed, and one file shows the mismatch named); its mismatch in words with the wave
    note, or None if the run did not write the file."""
    last = first + len(part) - 1
    path = waves_file(waves, f"{simulator}-images-{first}-{last}", simulator)
    _log(progress, f"  {simulator}: images {first}..{last} again, with waves -> {path}")
    result, report, _ = _cocotb_chunk(network, plan, part, simulator, system, seed, p_gap,
                                      verilog_text, waves=path)
    if not path.exists():
        return None
    seen = report.get("mismatch")
    note = wave_note(seen, path, report.get("mismatches") or ()) if seen else f"waves: {path}"
    return f"images {first}..{last}: {_describe_mismatch(report, result)} ({note})"


class _FastProgress:
    """Progress of a sharded run: images done, mismatched images, images/s, ETA."""

    def __init__(self, n: int, where: str, progress):
        self.n, self.where, self.progress = n, where, progress
        self.done = self.bad = 0
        self.start = time.perf_counter()

    def __call__(self, shard) -> None:
        self.done += len(shard.exact)
        self.bad += sum(not e for e in shard.exact)
        elapsed = time.perf_counter() - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.n - self.done) / rate if rate > 0 else float("nan")
        _log(self.progress, f"  verilator (fast, {self.where}): {self.done}/{self.n} images, "
                            f"{self.bad} mismatched, {rate:.1f} images/s, ETA {eta:.0f} s")


def _verify_fast(network, plan, counts, labels, chunk, progress, seed, p_gap, system,
                 verilog_text, jobs, scheduler, waves=None) -> VerifyReport:
    n = counts.shape[0]
    jobs = default_jobs() if jobs is None else jobs
    text = verilog_text if verilog_text is not None else system_verilog(plan, system)
    start = time.perf_counter()
    if scheduler is None:  # on a cluster, each worker builds (or finds) its own
        build_harness_logged(text, progress)
    where = f"{jobs} jobs" if scheduler is None else f"Dask at {scheduler}"
    shards = run_sharded(network, plan, counts, system=system, verilog_text=text, jobs=jobs,
                         chunk=chunk, seed=seed, p_gap=p_gap,
                         on_shard=_FastProgress(n, where, progress), scheduler=scheduler)
    classes = np.array([c for s in shards for c in s.classes])
    cycles = [c for s in shards for c in s.cycles if c >= 0]
    golden = run_network(network, counts).decision
    missing = None
    if len(classes) != n:  # a shard that came back short: a mismatch, not a crash
        missing = (f"the RTL returned {len(classes)} results for {n} images (a run ended "
                   f"early or a shard was lost)")
        padded = np.full(n, -2, dtype=np.int64)  # -2: no result, never a label
        padded[:min(n, len(classes))] = classes[:n]
        classes = padded
    seconds = {"verilator": 0.0, "golden": 0.0, "cycle model": 0.0, "compare": 0.0}
    for s in shards:
        for name, value in s.seconds.items():
            seconds[name] = seconds.get(name, 0.0) + value
    mismatch = next((s.mismatch for s in shards if s.mismatch), missing)
    bad = next((s for s in shards if s.mismatch), None)
    if waves is not None and bad is not None:  # again, here, in the traced harness
        last = bad.first + len(bad.exact) - 1
        _log(progress, f"  verilator (fast): images {bad.first}..{last} again, with waves "
                       f"-> {waves}")
        again = run_shard(network, plan, Shard(bad.first, counts[bad.first:last + 1]), system,
                          text, seed, p_gap, waves=waves)
        mismatch = again.mismatch or mismatch
    report = VerifyReport("verilator", n, float((golden == labels).mean()),
                          float((classes == labels).mean()),
                          int(sum(e for s in shards for e in s.exact)),
                          float(np.mean(cycles)) if cycles else float("nan"),
                          float(np.mean([b for s in shards for b, _ in s.bounds])),
                          int(sum(cycles)), float(seconds["verilator"]),
                          time.perf_counter() - start, mismatch,
                          None if verilog_text is None else _sha256(text.encode()),
                          engine="fast", jobs=jobs if scheduler is None else 0,
                          seconds=seconds,
                          work=work_summary(network, [w for s in shards for w in s.work]),
                          work_bound_cycles=float(np.mean([w for s in shards
                                                           for _, w in s.bounds])))
    return report


def build_harness_logged(text: str, progress):
    """:func:`~spikeforge.cosim.fast.build_harness`, saying so when it compiles (a minute or
    two for an MNIST design, then cached)."""
    _log(progress, "  verilator (fast): compiling the harness unless cached (an MNIST design: "
                   "about 2 minutes the first time)")
    build = build_harness(text)
    if build.build_s:
        _log(progress, f"  verilator (fast): harness built in {build.build_s:.0f} s")
    return build


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _first_spike_difference(stored, golden):
    """``(image, tick, layer, neuron)`` of the earliest difference between two lists of
    per-layer spike arrays ``[images, ticks, n_l]`` (by image, tick, then layer), or None."""
    best = None
    for l, (a, b) in enumerate(zip(stored, golden)):
        diff = np.argwhere(a != b)
        if len(diff):
            image, tick, neuron = (int(x) for x in diff[0])  # argwhere is in C order
            if best is None or (image, tick, l) < best[:3]:
                best = (image, tick, l, neuron)
    return best


def check_expected(network, expected: dict, images: int, path) -> None:
    """The artifact's golden model still produces what ``expected.npz`` (``path``) stored for
    its first ``images`` images: class, decision tick and every spike of every layer.
    Raises :class:`SpikeforgeError` naming the file and the first difference (layer, image,
    tick, neuron), or asking to compile again if the file holds no hidden-layer spikes."""
    if "layer_spikes" not in expected:
        raise SpikeforgeError(f"{path}: holds no hidden-layer spikes (written by an older "
                              f"spikeforge), so it cannot check every layer; run "
                              f"`spikeforge compile` again")
    sizes = [layer.n_neurons for layer in network.layers]
    stored = [s[:images] for s in expected["layer_spikes"]]
    if [s.shape[-1] for s in stored] != sizes:
        raise SpikeforgeError(f"{path}: stores spikes of layers of {[s.shape[-1] for s in stored]} "
                              f"neurons, the artifact's network has {sizes}")
    counts = expected["input_counts"][:images]
    trace = run_network(network, counts)
    diff = _first_spike_difference(stored, trace.spikes)
    if diff is not None:
        image, tick, l, neuron = diff
        which = "output" if l == len(sizes) - 1 else "hidden"
        raise SpikeforgeError(
            f"{path}: the golden model of the artifact no longer produces the stored spikes: "
            f"layer {l} ({which}), image {image}, tick {tick}, neuron {neuron}: stored "
            f"{'spike' if stored[l][image, tick, neuron] else 'no spike'}, the artifact gives "
            f"{'spike' if trace.spikes[l][image, tick, neuron] else 'no spike'}")
    for key in ("decision", "decision_tick"):
        got, want = getattr(trace, key), expected[key][:images]
        if not np.array_equal(got, want):
            image = int(np.flatnonzero(got != want)[0])
            raise SpikeforgeError(f"{path}: the golden model of the artifact no longer produces "
                                  f"the stored {key.replace('_', ' ')}: image {image}: stored "
                                  f"{int(want[image])}, the artifact gives {int(got[image])}")


def shipped_verilog(directory, plan, system: SystemConfig) -> tuple[str, str]:
    """The text and sha256 of the ``spikeforge_system.v`` in a compiled directory, after
    checking that it is exactly the Verilog that the artifact (``plan``, ``system``)
    determines and, where ``flow.json`` records its sha256, that file's hash. Raises
    :class:`SpikeforgeError` naming the file (and the first differing line) otherwise."""
    directory = Path(directory)
    path = directory / VERILOG
    try:
        data = path.read_bytes()
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise SpikeforgeError(f"{path}: not found (the system Verilog that `spikeforge compile` "
                              f"writes; compile again)") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SpikeforgeError(f"{path}: not readable Verilog text ({error})") from None
    want = system_verilog(plan, system)
    if text != want:
        shipped, artifact = text.splitlines(), want.splitlines()
        k = next((i for i, (x, y) in enumerate(zip(shipped, artifact)) if x != y),
                 min(len(shipped), len(artifact)))

        def line(lines):
            return repr(lines[k].strip()[:80]) if k < len(lines) else "end of file"

        raise SpikeforgeError(
            f"{path}: differs from the Verilog that the artifact determines, first at line "
            f"{k + 1} (shipped {line(shipped)}, artifact {line(artifact)}); it was edited "
            f"after `spikeforge compile` or compiled by another version: compile again")
    sha = _sha256(data)
    recorded = _recorded_verilog_sha256(directory / FLOW_JSON)
    if recorded is not None and recorded != sha:
        raise SpikeforgeError(f"{directory / FLOW_JSON}: records sha256 {recorded} for {VERILOG}, "
                              f"but {path} has sha256 {sha}")
    return text, sha


def _recorded_verilog_sha256(path: Path) -> str | None:
    """The sha256 of the Verilog that ``flow.json`` records (``verilog.sha256``), if any."""
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    entry = meta.get("verilog") if isinstance(meta, dict) else None
    sha = entry.get("sha256") if isinstance(entry, dict) else None
    return sha if isinstance(sha, str) else None


def verify_artifact(directory, images: int | None = None, simulator: str = "verilator",
                    chunk: int = 50, progress=False, *, engine: str | None = None,
                    jobs: int | None = None, scheduler=None, waves=None) -> VerifyReport:
    """Load a compiled directory (artifact + ``expected.npz`` + ``spikeforge_system.v``),
    check the stored expected traces -- class, decision tick, every spike of every layer --
    still equal the artifact's golden model (:func:`check_expected`), check the shipped
    Verilog is exactly the one the artifact determines (:func:`shipped_verilog`), and
    co-simulate that shipped file on its first ``images`` test images (None: all of
    ``expected.npz``) with ``engine`` on ``jobs`` processes or the Dask cluster at
    ``scheduler`` (:func:`verify_network`; ``waves``: the folder for the waves of
    mismatches)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise SpikeforgeError(f"{directory}: not a directory (give the output of `spikeforge compile`)")
    engine = engine_for(simulator, engine)
    if jobs is not None and jobs < 1:
        raise ConfigError(f"--jobs: must be >= 1, got {jobs}")
    artifact = load_artifact(directory)
    network = artifact.network
    expected = load_expected(directory / EXPECTED)
    counts, labels = expected["input_counts"], expected["labels"]
    n = counts.shape[0] if images is None else images
    if not 1 <= n <= counts.shape[0]:
        raise ConfigError(f"--images: must be in 1..{counts.shape[0]} (images in {EXPECTED}), got {n}")
    check_expected(network, expected, n, directory / EXPECTED)
    text, sha = shipped_verilog(directory, artifact.plan, artifact.system)
    _log(progress, f"  {directory / VERILOG}: the artifact's Verilog (sha256 {sha}); "
                   f"co-simulating it on {n} images")
    return verify_network(network, artifact.plan, counts[:n], labels[:n], simulator, chunk,
                          progress, system=artifact.system, verilog_text=text, engine=engine,
                          jobs=jobs, scheduler=scheduler, waves=waves)


# -- the whole flow ------------------------------------------------------------------------

def hardware_statistics(network, input_counts) -> dict:
    """Mean work per inference (ticks the hardware runs): hidden spikes, fraction of the
    dense weight reads, fraction of distinct weight rows read (all layers pooled, and
    ``rows_read`` per layer: the prototype's "weights looked up"), the median ticks run
    (to the decision, for FIRST_SPIKE)."""
    trace = run_network(network, network.check_input(input_counts))
    st = trace.statistics(until_decision=network.decision is Decision.FIRST_SPIKE)
    dense = np.array([n_in * n_out for n_in, n_out in trace.layer_sizes], dtype=np.float64)
    rows = np.array([n_in for n_in, _ in trace.layer_sizes], dtype=np.float64)
    weights_read = st.synaptic_events.sum(1) / (dense.sum() * st.ticks_run)
    distinct = (st.distinct_weights_read_fraction * rows).sum(1) / rows.sum()
    return {"hidden_spikes": float(st.hidden_spikes.mean()),
            "weights_read": float(weights_read.mean()),
            "distinct_weights_read": float(distinct.mean()),
            "rows_read": [float(x) for x in st.distinct_weights_read_fraction.mean(0)],
            "median_ticks": float(np.median(st.ticks_run)),
            "synaptic_events": float(st.synaptic_events.sum(1).mean())}


def format_training(trained: TrainedNetwork) -> str:
    lines = [f"{trained.dataset} {'-'.join(map(str, trained.sizes))}, {trained.ticks} ticks, "
             f"LFSR rate code; trained in {trained.train_seconds:.1f} s",
             f"  test accuracy: float {trained.float_accuracy:.2%} -> 8-bit (post-training) "
             f"{trained.ptq_accuracy:.2%} -> 8-bit after QAT = golden model "
             f"{trained.golden_accuracy:.2%} (change float -> 8-bit "
             f"{trained.golden_accuracy - trained.float_accuracy:+.2%})"]
    for q in trained.quantization:
        lines.append(f"  layer {q['layer']}: quantization scale {q['scale']:.4g}, weight error "
                     f"rms {q['weight_rms_error']:.3%}, max {q['weight_max_error']:.3%}, "
                     f"clipped {q['clipped_fraction']:.2%}")
    return "\n".join(lines)
