"""``spikeforge report``: an HTML page with figures for a compiled artifact.

Everything is computed from the artifact and its ``expected.npz`` images by the golden
model (the RTL computes the same, bit for bit, as ``spikeforge verify`` shows):

* accuracy and spikes per image against the number of ticks run (each prefix of the run
  decided as the contract decides);
* the histogram of decision ticks (the early exit of a first-spike network);
* for chosen images: a spike raster of the input and of every layer, and the membrane
  traces of chosen neurons (by default the most active neurons of each layer);
* the memory and compute cost (:mod:`spikeforge.sim.cost`);
* the resource table of a board build (``report.json`` of ``spikeforge build``), if given.

Figures are PNG files beside ``index.html`` (matplotlib, headless Agg backend).
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

from spikeforge.compiler.artifact import load_artifact
from spikeforge.flow import EXPECTED, load_expected
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.params import Decision
from spikeforge.sim.cost import network_cost
from spikeforge.sim.golden import GoldenCore
from spikeforge.sim.network import decide, run_network

__all__ = ["write_report", "accuracy_by_ticks"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def accuracy_by_ticks(network, trace, labels) -> tuple[np.ndarray, np.ndarray]:
    """``(accuracy[t], mean spikes per image[t])`` when the run stops after ``t + 1`` ticks."""
    ticks = trace.ticks
    acc, spikes = np.zeros(ticks), np.zeros(ticks)
    total = sum(s.sum(axis=2) for s in trace.spikes)  # [batch, ticks]
    for t in range(ticks):
        decision, _ = decide(trace.spikes[-1][:, :t + 1], trace.output_v[:, t], network.decision)
        acc[t] = float((decision == labels).mean())
        spikes[t] = float(total[:, :t + 1].sum(axis=1).mean())
    return acc, spikes


def _figure_accuracy(network, trace, labels, path: Path) -> None:
    plt = _pyplot()
    acc, spikes = accuracy_by_ticks(network, trace, labels)
    ticks = np.arange(1, trace.ticks + 1)
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    ax.plot(ticks, acc * 100, color="C0")
    ax.set_xlabel("ticks run")
    ax.set_ylabel("accuracy (%)", color="C0")
    twin = ax.twinx()
    twin.plot(ticks, spikes, color="C1")
    twin.set_ylabel("spikes per image (all layers)", color="C1")
    ax.set_title("accuracy and spikes against ticks (golden model)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _figure_decision_ticks(trace, path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    ax.hist(trace.decision_tick, bins=np.arange(trace.ticks + 1) - 0.5, color="C2")
    ax.set_xlabel("decision tick")
    ax.set_ylabel("images")
    ax.set_title("when the decision is known")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _figure_raster(trace, image: int, path: Path) -> None:
    plt = _pyplot()
    layers = [trace.input_counts[image] > 0] + [s[image] for s in trace.spikes]
    names = ["input"] + [f"layer {l}" for l in range(len(trace.spikes))]
    fig, axes = plt.subplots(len(layers), 1, figsize=(6.5, 1.5 + 1.4 * len(layers)), sharex=True)
    for ax, spikes, name in zip(axes, layers, names):
        t, n = np.nonzero(spikes)
        ax.scatter(t, n, s=4, marker="|", color="k")
        ax.set_ylabel(f"{name}\nneuron")
        ax.set_ylim(-0.5, spikes.shape[1] - 0.5)
    axes[-1].set_xlabel("tick")
    axes[0].set_title(f"image {image}: spikes of every layer")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def membrane_traces(network, trace, image: int, layer: int) -> np.ndarray:
    """``v[ticks, n_neurons]`` of ``layer`` for ``image`` (the layer's golden core rerun on
    the events the trace says it received)."""
    core = GoldenCore.of(network.layers[layer].core_config())
    return core.run(trace.layer_input_counts(layer)[image]).v


def _figure_membranes(network, trace, image: int, neurons, path: Path) -> None:
    plt = _pyplot()
    n_layers = len(network.layers)
    fig, axes = plt.subplots(n_layers, 1, figsize=(6.5, 2.2 * n_layers), sharex=True)
    axes = np.atleast_1d(axes)
    for layer, ax in enumerate(axes):
        v = membrane_traces(network, trace, image, layer)
        chosen = neurons[layer] if neurons is not None else \
            np.argsort(-trace.spikes[layer][image].sum(axis=0), kind="stable")[:4]
        for n in chosen:
            ax.plot(v[:, n], drawstyle="steps-post", label=f"neuron {n}")
        threshold = network.layers[layer].params.threshold
        ax.axhline(threshold, color="k", lw=0.8, ls="--")
        ax.set_ylabel(f"layer {layer}\nv")
        ax.legend(fontsize=7, loc="upper right")
    axes[-1].set_xlabel("tick (state at the end of the tick; dashed: threshold)")
    axes[0].set_title(f"image {image}: membrane potential of chosen neurons")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _table(header, rows) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _build_table(build_report: Path) -> str:
    try:
        report = json.loads(Path(build_report).read_text())
        util = report["utilization"]
    except (OSError, ValueError, KeyError) as error:
        raise ConfigError(f"--build: {build_report}: not a readable build report.json "
                          f"({type(error).__name__}: {error})") from None
    rows = [[name, u.get("used"), u.get("available")] for name, u in util.items()]
    fmax = report.get("fmax_mhz") or report.get("fmax")
    return (_table(["resource", "used", "available"], rows)
            + f"<p>board {html.escape(str(report.get('board')))}, Fmax "
              f"{html.escape(str(fmax))} MHz</p>")


def write_report(directory, out=None, images=(0,), neurons=None, build_report=None) -> Path:
    """Write ``index.html`` and its figures for the artifact ``directory`` into ``out``
    (default ``directory/report``); ``images``: indices into ``expected.npz`` for the rasters
    and membrane traces; ``neurons``: per layer the neurons to trace (default: the four most
    active). Returns the path of ``index.html``."""
    directory = Path(directory)
    artifact = load_artifact(directory)
    network = artifact.network
    expected = load_expected(directory / EXPECTED)
    counts, labels = expected["input_counts"], expected["labels"]
    for image in images:
        if not 0 <= image < len(labels):
            raise ConfigError(f"--images: {image} is outside 0..{len(labels) - 1} "
                              f"(images in {directory / EXPECTED})")
    if neurons is not None:
        if len(neurons) != len(network.layers):
            raise ConfigError(f"--neurons: one list per layer ({len(network.layers)}), got "
                              f"{len(neurons)}")
        for l, chosen in enumerate(neurons):
            bad = [n for n in chosen if not 0 <= n < network.layers[l].n_neurons]
            if bad:
                raise ConfigError(f"--neurons: layer {l} has neurons 0..{network.layers[l].n_neurons - 1}, "
                                  f"got {bad}")
    out = Path(out) if out is not None else directory / "report"
    out.mkdir(parents=True, exist_ok=True)
    trace = run_network(network, counts)
    _figure_accuracy(network, trace, labels, out / "accuracy.png")
    _figure_decision_ticks(trace, out / "decision_ticks.png")
    sections = []
    for image in images:
        _figure_raster(trace, image, out / f"raster_{image}.png")
        _figure_membranes(network, trace, image, neurons, out / f"membrane_{image}.png")
        sections.append(f"<h3>image {image} (label {labels[image]}, decided "
                        f"{trace.decision[image]} at tick {trace.decision_tick[image]})</h3>"
                        f"<img src='raster_{image}.png'><img src='membrane_{image}.png'>")
    cost = network_cost(network, trace, network.decision is Decision.FIRST_SPIKE)
    sizes = "-".join(str(n) for n in [network.n_inputs] + [l.n_neurons for l in network.layers])
    accuracy = float((trace.decision == labels).mean())
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>spikeforge report: {html.escape(str(directory))}</title>
<style>body{{font-family:sans-serif;max-width:980px;margin:auto}} img{{max-width:100%}}
table{{border-collapse:collapse}} td,th{{border:1px solid #aaa;padding:2px 6px;text-align:right}}
pre{{background:#f4f4f4;padding:6px}}</style></head><body>
<h1>spikeforge report</h1>
<p>artifact <code>{html.escape(str(directory))}</code>: network {sizes}, decision
{network.decision.value}, {len(artifact.plan.cores)} cores; {len(labels)} images of
expected.npz, {trace.ticks} ticks; golden accuracy {accuracy:.2%} (the RTL's, bit for bit,
where <code>spikeforge verify</code> says BIT-EXACT).</p>
<h2>Accuracy and spikes against ticks</h2><img src="accuracy.png">
<h2>Decision ticks</h2><img src="decision_ticks.png">
<h2>Spikes and membranes</h2>{''.join(sections)}
<h2>Memory and compute cost</h2><pre>{html.escape(cost.format())}</pre>
{('<h2>Board build</h2>' + _build_table(build_report)) if build_report else ''}
</body></html>
"""
    index = out / "index.html"
    index.write_text(page)
    return index
