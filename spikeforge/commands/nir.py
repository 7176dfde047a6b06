"""``spikeforge import`` and ``spikeforge export``: networks in and out as NIR graphs
(:mod:`spikeforge.compiler.nirgraph`)."""

from __future__ import annotations

from pathlib import Path

from spikeforge.commands.options import check_output_file, integer, number
from spikeforge.compiler.artifact import load_artifact
from spikeforge.compiler.nirgraph import from_nir, read_nir, to_nir, write_nir
from spikeforge.compiler.quantize import float_network_from_description
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.params import Decision

__all__ = ["register", "cmd_import", "cmd_export"]

DT_HELP = ("tick length in seconds: NIR has no time step (snnTorch exports with 1e-4, Norse "
           "1e-3)")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "import", help="turn a NIR graph into a spikeforge model file",
        description="Read a NIR graph (Input -> (Linear|Affine -> IF|LIF|CubaLIF)+ -> Output, "
                    "LI/CubaLI as a membrane-max output), map it to the contract's discrete "
                    "time with forward-Euler steps of --dt, and write a model file that "
                    "`spikeforge compile` takes, fed by the LFSR rate code of --dataset over "
                    "--ticks ticks (its float and 8-bit accuracy on the test set are printed). "
                    "Anything spikeforge cannot run is refused with the node and the reason.")
    p.add_argument("graph", type=Path, metavar="GRAPH.nir")
    p.add_argument("--out", type=Path, required=True, metavar="MODEL", help="model file to write")
    p.add_argument("--dataset", required=True, choices=["digits", "mnist", "fashion-mnist"])
    p.add_argument("--ticks", type=integer(1, 100_000), required=True,
                   help="rate-code ticks per inference")
    p.add_argument("--dt", type=number(0, lo_open=True), default=None, metavar="SECONDS",
                   help=DT_HELP + "; default: the dt a spikeforge export recorded")
    p.add_argument("--decision", choices=[d.value for d in Decision], default=None,
                   help="how the output layer is read (default: what the graph records)")
    p.add_argument("--path", default=None, help="directory of the IDX files (mnist, fashion-mnist)")
    p.set_defaults(handler=cmd_import)

    p = subparsers.add_parser(
        "export", help="write an artifact or a model file as a NIR graph",
        description="Write the network of a compiled artifact (integer weights, as floats) or "
                    "of a model file (float weights) as a NIR graph of Linear and IF/LIF/CubaLIF "
                    "nodes at --dt. dt, the decision and the resets are recorded in the graph's "
                    "metadata, so `spikeforge import` reads it back exactly.")
    p.add_argument("design", type=Path, metavar="ARTIFACT_OR_MODEL")
    p.add_argument("out", type=Path, metavar="GRAPH.nir")
    p.add_argument("--dt", type=number(0, lo_open=True), required=True, metavar="SECONDS",
                   help=DT_HELP)
    p.add_argument("--subtract-reset-as-zero", action="store_true",
                   help="export reset-by-subtraction layers although NIR can only reset to a "
                        "value (other tools will reset to zero)")
    p.set_defaults(handler=cmd_export)


def cmd_import(args) -> int:
    check_output_file(args.out, "--out")
    from spikeforge.model.datasets import load_dataset
    from spikeforge.model.modelfile import rate_model_of, save_model

    network = from_nir(read_nir(args.graph), args.dt, args.decision)
    ds = load_dataset(args.dataset, path=args.path)
    try:
        model = rate_model_of(network, ds, args.ticks, {"imported_from": str(args.graph)})
    except ConfigError as error:
        raise ConfigError(f"{args.graph}: {error}") from None
    save_model(model, args.out)
    sizes = "-".join(map(str, model["sizes"]))
    m = model["metrics"]
    print(f"{args.graph} -> {args.out}: {sizes}, decision {network.decision.value}, "
          f"{args.ticks} ticks; {ds.name} test accuracy float {m['float_test_accuracy']:.2%}, "
          f"8-bit golden {m['golden_test_accuracy']:.2%}")
    return 0


def cmd_export(args) -> int:
    check_output_file(args.out, "out")
    if args.design.is_dir():
        network = load_artifact(args.design).network
    else:
        from spikeforge.model.modelfile import load_model

        network = float_network_from_description(load_model(args.design)["network"])
    write_nir(to_nir(network, args.dt, args.subtract_reset_as_zero), args.out)
    print(f"{args.design} -> {args.out}: {len(network.layers)} layers, dt {args.dt:g} s")
    return 0
