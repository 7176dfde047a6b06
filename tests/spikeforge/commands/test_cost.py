"""``spikeforge cost`` (spikeforge/commands/cost.py) on a compiled artifact."""

import argparse
import json

import pytest

from spikeforge.commands.cost import register
from spikeforge.flow import compile_network
from spikeforge.ir.errors import ConfigError
from spikeforge.sim.cost import network_cost
from spikeforge.sim.network import run_network
from tests.util import random_inputs, random_network


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    network = random_network(5, n_layers=2, max_size=8)
    counts = random_inputs(5, network, images=4, ticks=6).clip(0, 1)
    out = tmp_path_factory.mktemp("cost") / "compiled"
    compile_network(network, out, counts, [0] * len(counts))
    return network, counts, out


def _run(*argv):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["cost", *map(str, argv)])
    return args.handler(args)


def test_cost_of_an_artifact(artifact, capsys):
    network, counts, out = artifact
    assert _run(out, "--json") == 0
    report = json.loads(capsys.readouterr().out)
    want = network_cost(network, run_network(network, counts),
                        until_decision=network.decision.value == "first-spike").to_dict()
    assert report == json.loads(json.dumps(want))
    assert report["images"] == 4
    assert _run(out, "--images", 2) == 0
    assert "accumulations per inference (mean of 2 images" in capsys.readouterr().out


def test_cost_refuses_what_it_cannot_use(artifact):
    _, _, out = artifact
    with pytest.raises(ConfigError, match=r"--images: .*expected.npz holds 4 images, got 9"):
        _run(out, "--images", 9)
    with pytest.raises(ConfigError, match="--path: .* is an artifact directory"):
        _run(out, "--path", "/tmp")
