"""spikeforge/report.py and ``spikeforge report``: the page and its figures are written and
what they plot is what the golden model says."""

import argparse
import re

import numpy as np
import pytest

from spikeforge.commands.report import register
from spikeforge.flow import compile_network
from spikeforge.ir.errors import ConfigError
from spikeforge.report import accuracy_by_ticks, membrane_traces
from spikeforge.sim.network import classify, run_network
from tests.util import random_inputs, random_network

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    network = random_network(7, n_layers=2, max_size=10)
    counts = random_inputs(7, network, images=5, ticks=8).clip(0, 1)
    labels = classify(network, counts)  # so that accuracy is 100 %
    labels[1] = (labels[1] + 1) % network.n_outputs  # ... except for one image
    out = tmp_path_factory.mktemp("report") / "compiled"
    compile_network(network, out, counts, labels)
    return network, counts, labels, out


def _run(*argv):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["report", *map(str, argv)])
    return args.handler(args)


def test_report_page_and_figures(compiled, tmp_path, capsys):
    _, _, _, out = compiled
    assert _run(out, "--out", tmp_path / "r", "--images", "0,2", "--neurons", "0,1;0") == 0
    assert "index.html" in capsys.readouterr().out
    page = (tmp_path / "r" / "index.html").read_text()
    figures = re.findall(r"src=['\"]([^'\"]+)['\"]", page)
    assert sorted(figures) == sorted(["accuracy.png", "decision_ticks.png", "raster_0.png",
                                      "membrane_0.png", "raster_2.png", "membrane_2.png"])
    for name in figures:
        assert (tmp_path / "r" / name).read_bytes()[:8] == PNG, name
    assert "golden accuracy 80.00%" in page and "accumulations per inference" in page


def test_what_the_figures_plot(compiled):
    network, counts, labels, _ = compiled
    trace = run_network(network, counts)
    acc, spikes = accuracy_by_ticks(network, trace, labels)
    assert acc[-1] == pytest.approx(0.8)
    total = sum(s.sum() for s in trace.spikes) / len(counts)
    assert spikes[-1] == pytest.approx(total) and np.all(np.diff(spikes) >= 0)
    # membrane traces are the golden network's: the output layer's equal output_v
    assert np.array_equal(membrane_traces(network, trace, 3, len(network.layers) - 1),
                          trace.output_v[3])


def test_report_refusals(compiled, tmp_path):
    _, _, _, out = compiled
    with pytest.raises(ConfigError, match=r"--images: 9 is outside 0..4"):
        _run(out, "--out", tmp_path, "--images", "9")
    with pytest.raises(ConfigError, match="--neurons: one list per layer"):
        _run(out, "--out", tmp_path, "--neurons", "0")
    with pytest.raises(ConfigError, match="--images: expected comma-separated whole numbers"):
        _run(out, "--out", tmp_path, "--images", "a")
    with pytest.raises(ConfigError, match="--build: .* not a readable build report.json"):
        _run(out, "--out", tmp_path, "--build", tmp_path / "missing.json")
