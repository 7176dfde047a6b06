"""``spikeforge report``: an HTML page with figures for a compiled artifact
(:mod:`spikeforge.report`)."""

from __future__ import annotations

from pathlib import Path

from spikeforge.ir.errors import ConfigError
from spikeforge.report import write_report

__all__ = ["register", "cmd_report"]


def _indices(text: str, option: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"{option}: expected comma-separated whole numbers, got {text!r}") from None
    if not values:
        raise ConfigError(f"{option}: expected at least one number, got {text!r}")
    return values


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "report", help="write an HTML report with figures for a compiled artifact",
        description="Accuracy and spikes against ticks, the decision-tick histogram, spike "
                    "rasters and membrane traces of chosen images and neurons, memory and "
                    "compute cost, and a board build's resources, as index.html with PNG figures.")
    p.add_argument("dir", type=Path, metavar="DIR", help="output directory of `spikeforge compile`")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="where to write index.html and the figures (default: DIR/report)")
    p.add_argument("--images", default="0", metavar="I,J,...",
                   help="images of expected.npz to show in detail (default: 0)")
    p.add_argument("--neurons", default=None, metavar="L0;L1;...",
                   help="neurons whose membranes to trace, per layer, e.g. '0,3;1,2' "
                        "(default: the four most active of each layer)")
    p.add_argument("--build", type=Path, default=None, metavar="REPORT_JSON",
                   help="report.json of `spikeforge build`, for the resource table")
    p.set_defaults(handler=cmd_report)


def cmd_report(args) -> int:
    images = _indices(args.images, "--images")
    neurons = None
    if args.neurons is not None:
        neurons = [_indices(part, "--neurons") for part in args.neurons.split(";")]
    index = write_report(args.dir, args.out, images, neurons, args.build)
    print(f"report: {index}")
    return 0
