"""``spikeforge cost``: memory and compute cost of a compiled artifact or a model file
(:mod:`spikeforge.sim.cost`), over test images run through the golden model."""

from __future__ import annotations

import json
from pathlib import Path

from spikeforge.commands.options import integer
from spikeforge.compiler.artifact import load_artifact
from spikeforge.flow import load_expected
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.params import Decision
from spikeforge.sim.cost import network_cost
from spikeforge.sim.network import run_network

__all__ = ["register", "cmd_cost"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "cost", help="memory and compute cost of an artifact or a model file",
        description="Memory cost (weights + neuron state + spike memory, in bits) and compute "
                    "cost (spike-driven accumulations per inference) of a network, with "
                    "NeuroBench's footprint, sparsities and dense/effective synaptic operations. "
                    "An artifact directory is run on its expected.npz images; a model file "
                    "(from `spikeforge train`) on the first --images test images. Work is "
                    "counted up to the decision for a first-spike network (the hardware's "
                    "early exit).")
    p.add_argument("design", type=Path, metavar="ARTIFACT_OR_MODEL",
                   help="a compiled directory or a model file")
    p.add_argument("--images", type=integer(1), default=None, metavar="N",
                   help="test images (default: all of expected.npz; 1000 for a model file)")
    p.add_argument("--path", default=None, help="directory of the IDX files (model files only)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(handler=cmd_cost)


def _artifact_inputs(directory: Path, images: int | None):
    network = load_artifact(directory).network
    counts = load_expected(directory / "expected.npz")["input_counts"]
    if images is not None:
        if images > len(counts):
            raise ConfigError(f"--images: {directory / 'expected.npz'} holds {len(counts)} "
                              f"images, got {images}")
        counts = counts[:images]
    return network, counts


def _model_inputs(path: Path, images: int | None, data_path):
    # torch is imported only for model files (seconds)
    from spikeforge.model.datasets import load_dataset
    from spikeforge.model.modelfile import encode_test_images, integer_network_of, load_model

    model = load_model(path)
    network = integer_network_of(model)
    ds = load_dataset(model["dataset"], path=data_path)
    n = min(len(ds.test_y), 1000) if images is None else images
    if n > len(ds.test_y):
        raise ConfigError(f"--images: {ds.name} has {len(ds.test_y)} test images, got {n}")
    return network, encode_test_images(model, ds, n)


def cmd_cost(args) -> int:
    if args.design.is_dir():
        if args.path is not None:
            raise ConfigError(f"--path: {args.design} is an artifact directory; its images are "
                              f"in expected.npz")
        network, counts = _artifact_inputs(args.design, args.images)
    else:
        network, counts = _model_inputs(args.design, args.images, args.path)
    trace = run_network(network, counts)
    report = network_cost(network, trace, until_decision=network.decision is Decision.FIRST_SPIKE)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.format())
    return 0
