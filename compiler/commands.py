"""Sub-commands of the flow: ``train`` (from :mod:`spikeforge.model.commands`), ``compile``,
``verify`` and the whole-flow ``demo``.

:func:`register` adds them to an ``argparse`` sub-parser set; each parsed namespace carries
``handler`` (returns the exit status). Errors are :class:`SpikeforgeError` s, which the CLI
prints as one line naming the file or option, without a traceback.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from spikeforge.ir.errors import ConfigError, SpikeforgeError
from spikeforge.sim.network import classify

SIMULATORS = ("icarus", "verilator")
#: images of the test split stored as expected traces by default (MNIST: 10000 would be big)
DEFAULT_TRACE_IMAGES = 1000


def register(subparsers) -> None:
    _register_train(subparsers)

    p = subparsers.add_parser(
        "compile", help="compile a model file into an artifact, system Verilog and expected traces",
        description="Quantize a model file (from `spikeforge train`) to the integer network, plan "
                    "it onto cores, and write the artifact (manifest + memory images), the "
                    "Verilog of the whole system and the golden outputs of test images "
                    "(expected.npz) into OUT_DIR.")
    p.add_argument("model", type=Path, metavar="MODEL", help="model file written by `spikeforge train`")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output directory")
    p.add_argument("--neurons-per-core", type=int, default=None, metavar="K",
                   help="most neurons per core (default: one core per layer)")
    p.add_argument("--images", type=int, default=None, metavar="N",
                   help=f"test images for the expected traces (default: all, at most "
                        f"{DEFAULT_TRACE_IMAGES})")
    p.add_argument("--path", default=None, help="directory of the IDX files (mnist, fashion-mnist)")
    p.set_defaults(handler=cmd_compile)

    p = subparsers.add_parser(
        "verify", help="co-simulate a compiled directory against its golden model",
        description="Co-simulate test images of a compiled directory on the whole system's RTL "
                    "(cocotb) and compare class, decision tick, every spike and its clock cycle "
                    "with the golden and cycle models.")
    p.add_argument("dir", type=Path, metavar="DIR", help="output directory of `spikeforge compile`")
    p.add_argument("--images", type=int, default=None, metavar="N",
                   help="co-simulate the first N images of expected.npz (default: all)")
    p.add_argument("--simulator", choices=[*SIMULATORS, "both"], default="verilator",
                   help="co-simulation back end (default: %(default)s)")
    p.add_argument("--chunk", type=int, default=50, help="images per simulation run (default: 50)")
    p.set_defaults(handler=cmd_verify)


def _register_train(subparsers) -> None:
    from spikeforge.model.commands import register as register_train

    register_train(subparsers)
    parser = subparsers.choices["train"]
    func = parser.get_default("func")
    parser.set_defaults(handler=lambda args: (func(args), 0)[1])


# -- compile ---------------------------------------------------------------------------------

def _test_inputs(model: dict, ds, images: int):
    encoding = model["encoding"]
    x = ds.test_x[:images]
    kind = encoding.get("kind")
    if kind == "rate":
        from spikeforge.flow import encode_inputs

        return encode_inputs(x, int(encoding.get("max_value", ds.max_value)),
                             int(encoding["ticks"]), int(encoding.get("seed", 0)))
    if kind == "ttfs-latency":
        from spikeforge.model.ttfs_discrete import input_counts

        return input_counts(x, int(encoding.get("max_value", ds.max_value)),
                            int(encoding["ticks_per_tau"]), float(encoding.get("t_max", 1.0)),
                            int(encoding["ticks"]), bool(encoding.get("zero_is_silent", False)))
    raise SpikeforgeError(f"encoding.kind: unknown input encoding {kind!r} (known: rate, ttfs-latency)")


def cmd_compile(args) -> int:
    from spikeforge.flow import compile_network
    from spikeforge.model.commands import integer_network_of, load_model
    from spikeforge.model.datasets import load_dataset

    if args.neurons_per_core is not None and args.neurons_per_core < 1:
        raise ConfigError(f"--neurons-per-core: must be a positive integer, got {args.neurons_per_core}")
    t0 = time.perf_counter()
    model = load_model(args.model)
    try:
        network = integer_network_of(model)
    except ConfigError as error:
        raise SpikeforgeError(f"{args.model}: network: {error}") from None
    sizes = [network.n_inputs] + [layer.n_neurons for layer in network.layers]
    if sizes != list(model["sizes"]):
        raise SpikeforgeError(f"{args.model}: sizes {model['sizes']} do not match the network {sizes}")
    ds = load_dataset(model["dataset"], path=args.path)
    if ds.n_features != network.n_inputs:
        raise SpikeforgeError(f"{args.model}: the network has {network.n_inputs} inputs but "
                              f"dataset {ds.name} has {ds.n_features} features")
    n = min(len(ds.test_y), DEFAULT_TRACE_IMAGES) if args.images is None else args.images
    if not 1 <= n <= len(ds.test_y):
        raise ConfigError(f"--images: must be in 1..{len(ds.test_y)}, got {n}")
    counts = _test_inputs(model, ds, n)
    print(f"compiling {args.model}: {model['kind']} {ds.name} {'-'.join(map(str, sizes))}, "
          f"decision {network.decision.value}")
    result = compile_network(network, args.out, counts, ds.test_y[:n], args.neurons_per_core,
                             info={"model": str(args.model), "dataset": ds.name,
                                   "kind": model["kind"], "metrics": model["metrics"]},
                             progress=True)
    golden = float((classify(network, counts) == ds.test_y[:n]).mean())
    print(f"{result.n_cores} cores, golden accuracy on the {n} traced test images {golden:.2%}, "
          f"compiled in {time.perf_counter() - t0:.1f} s -> {args.out}")
    return 0


# -- verify ----------------------------------------------------------------------------------

def cmd_verify(args) -> int:
    from spikeforge.flow import TABLE_HEADER, verify_artifact

    if args.chunk < 1:
        raise ConfigError(f"--chunk: must be a positive integer, got {args.chunk}")
    simulators = SIMULATORS if args.simulator == "both" else (args.simulator,)
    rows, failed = [], False
    for simulator in simulators:
        report = verify_artifact(args.dir, args.images, simulator, args.chunk, progress="stderr")
        rows.append(report.row())
        failed |= not report.ok
    print(TABLE_HEADER)
    print("-" * len(TABLE_HEADER))
    print("\n".join(rows))
    return 1 if failed else 0


# -- demo --------------------------------------------------------------------------------------

DEMO = {"dataset": "digits", "hidden": 32, "epochs": 8, "qat_epochs": 1, "ticks": 16, "seed": 0,
        "neurons_per_core": 16}


def demo_dir() -> Path:
    from spikeforge.cosim.runner import default_build_root

    return default_build_root().parent / "demo"


def _cached_network(directory: Path, retrain: bool, progress: bool):
    """The demo's trained network, from the cache under build/demo/model if its settings
    match, else trained (and cached)."""
    from spikeforge.compiler.artifact import load_artifact, save_artifact
    from spikeforge.compiler.map import plan_network
    from spikeforge.flow import TrainedNetwork, train_digits_network

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
                                   seed=DEMO["seed"], progress=progress)
    save_artifact(trained.network, plan_network(trained.network), cache)
    meta_file.write_text(json.dumps({"settings": DEMO, "summary": trained.summary()}, indent=2))
    return trained, False


def run_flow_demo(simulators=("verilator",), images: int | None = None, retrain: bool = False,
                  out=sys.stdout) -> int:
    """The whole flow on the embedded default (digits): train (or load the cached model) ->
    compile -> co-simulate -> table."""
    from spikeforge.compiler.artifact import load_artifact
    from spikeforge.flow import (
        PROTOTYPE,
        TABLE_HEADER,
        compile_network,
        encode_inputs,
        format_training,
        hardware_statistics,
        verify_network,
    )
    from spikeforge.model.datasets import load_dataset

    directory = demo_dir()
    t0 = time.perf_counter()
    print(f"spikeforge demo: digits -> {DEMO['hidden']}-neuron LIF hidden layer -> 10 classes, "
          f"8-bit, spike-count decision, {DEMO['neurons_per_core']} neurons per core", file=out)
    print("[1/3] training (float LIF, then quantization-aware 8-bit)...", file=out, flush=True)
    trained, cached = _cached_network(directory, retrain, progress=True)
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
                               progress=out is sys.stdout)
    artifact = load_artifact(compiled.out_dir)
    network, plan = artifact.network, artifact.plan
    stats = hardware_statistics(network, counts)
    print(f"  {compiled.n_cores} cores; per inference: {stats['hidden_spikes']:.0f} hidden spikes, "
          f"{stats['weights_read']:.0%} of the dense weight reads, "
          f"{stats['distinct_weights_read']:.0%} of weight rows read at all "
          f"(FPGA prototype: {PROTOTYPE['hidden_spikes']} / {PROTOTYPE['weights_read']:.0%} / "
          f"{PROTOTYPE['distinct_weights_read']:.0%})", file=out)
    print(f"[3/3] co-simulating {n} of {len(labels)} test images (whole system, cocotb)...",
          file=out, flush=True)
    rows, failed = [], False
    for simulator in simulators:
        report = verify_network(network, plan, counts[:n], labels[:n], simulator,
                                progress=out is sys.stdout)
        rows.append(report.row())
        failed |= not report.ok
    print(TABLE_HEADER, file=out)
    print("-" * len(TABLE_HEADER), file=out)
    print("\n".join(rows), file=out)
    print("golden/RTL: test accuracy of the golden model and of the RTL on the co-simulated images; "
          "bit-exact: images whose class, decision tick, every output and hidden spike and its "
          "clock cycle equal the models'; bound: lower bound on cycles/inference "
          f"(sim.system_cycle.lower_bound_cycles). Total {time.perf_counter() - t0:.0f} s.",
          file=out)
    return 1 if failed else 0
