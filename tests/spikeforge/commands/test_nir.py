"""``spikeforge export`` and ``spikeforge import`` (spikeforge/commands/nir.py)."""

import argparse

import numpy as np
import pytest
import torch

from spikeforge.commands.nir import register
from spikeforge.compiler.nirgraph import float_network_of_integer, to_nir, write_nir
from spikeforge.compiler.quantize import float_network_from_description, quantize
from spikeforge.flow import compile_network
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.network import FloatLayer, FloatNetwork, IntegerLayer, IntegerNetwork
from spikeforge.ir.params import Decision, NeuronParams, Reset
from spikeforge.model.modelfile import load_model, save_model


def _run(*argv):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(map(str, argv)))
    return args.handler(args)


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    """A compiled 64-16-10 network (digits-sized), zero reset."""
    rng = np.random.default_rng(2)
    params = NeuronParams(alpha=2048, beta=3800, threshold=50, reset=Reset.ZERO)
    network = IntegerNetwork([IntegerLayer(rng.integers(-40, 41, (64, 16)), params),
                              IntegerLayer(rng.integers(-40, 41, (16, 10)), params)],
                             Decision.SPIKE_COUNT)
    out = tmp_path_factory.mktemp("nir") / "compiled"
    counts = rng.integers(0, 2, (2, 6, 64))
    compile_network(network, out, counts, [0, 1])
    return network, out


def test_export_then_import_gives_the_artifact_back(artifact, tmp_path, capsys):
    network, out = artifact
    assert _run("export", out, tmp_path / "net.nir", "--dt", "1e-3") == 0
    assert "2 layers, dt 0.001 s" in capsys.readouterr().out
    assert _run("import", tmp_path / "net.nir", "--out", tmp_path / "model.pt",
                "--dataset", "digits", "--ticks", "8") == 0
    assert "8-bit golden" in capsys.readouterr().out
    model = load_model(tmp_path / "model.pt")
    assert model["sizes"] == [64, 16, 10] and model["encoding"]["ticks"] == 8
    imported = float_network_from_description(model["network"])
    want = float_network_of_integer(network)
    assert imported.decision is Decision.SPIKE_COUNT
    for a, b in zip(imported.layers, want.layers):
        assert np.allclose(a.weight, b.weight) and a.alpha == pytest.approx(b.alpha)
        assert a.beta == pytest.approx(b.beta) and a.threshold == b.threshold
    # quantized again, it is the artifact's integer network
    assert quantize(model["network"], ticks=8).network.layers[0].weights.shape == (64, 16)


def test_export_and_import_refusals(artifact, tmp_path):
    _, out = artifact
    small = FloatNetwork([FloatLayer(np.ones((3, 10)), alpha=0.5, beta=0.5, reset="zero")],
                         Decision.SPIKE_COUNT)
    write_nir(to_nir(small, 1e-3), tmp_path / "small.nir")
    with pytest.raises(ConfigError, match="small.nir: network: has 10 inputs but dataset "
                                          "digits has 64 features"):
        _run("import", tmp_path / "small.nir", "--out", tmp_path / "m.pt", "--dataset",
             "digits", "--ticks", "4")
    assert not (tmp_path / "m.pt").exists()
    model = tmp_path / "subtract.pt"
    save_model({"format": "spikeforge-model", "version": 1, "kind": "lif", "dataset": "digits",
                "sizes": [10, 3], "encoding": {"kind": "rate", "ticks": 4}, "metrics": {},
                "network": {"layers": [{"weight": torch.ones(3, 10), "alpha": 0.5,
                                        "beta": 0.5, "reset": "subtract"}],
                            "decision": "spike-count"}}, model)
    with pytest.raises(ConfigError, match=r"layers\[0\]: reset subtract has no NIR form"):
        _run("export", model, tmp_path / "x.nir", "--dt", "1e-3")
    assert _run("export", model, tmp_path / "x.nir", "--dt", "1e-3",
                "--subtract-reset-as-zero") == 0
    with pytest.raises(SystemExit):  # --dt is required: NIR has no time step
        _run("export", out, tmp_path / "y.nir")


def test_import_of_a_leaky_integrator_output(tmp_path, capsys):
    """A graph whose output layer is an LI (membrane-max) imports to a model file whose
    8-bit network quantizes (the LI used to get threshold 1e30, which no membrane width
    holds: the import failed in quantize); with spike-count it is refused by node."""
    import nir

    rng = np.random.default_rng(4)
    h, o = np.ones(16), np.ones(10)
    graph = nir.NIRGraph.from_list(
        nir.Input(input_type=np.array([64])), nir.Linear(weight=rng.normal(0, 1, (16, 64))),
        nir.LIF(tau=h * 1e-3, r=h * 10.0, v_leak=h * 0, v_threshold=h, v_reset=h * 0),
        nir.Linear(weight=rng.normal(0, 1, (10, 16))),
        nir.LI(tau=o * 1e-3, r=o * 10.0, v_leak=o * 0), nir.Output(output_type=np.array([10])))
    write_nir(graph, tmp_path / "li.nir")
    assert _run("import", tmp_path / "li.nir", "--out", tmp_path / "li.pt", "--dataset", "digits",
                "--ticks", "8", "--dt", "1e-4", "--decision", "membrane-max") == 0
    assert "decision membrane-max" in capsys.readouterr().out
    integer = quantize(load_model(tmp_path / "li.pt")["network"], ticks=8).network
    assert integer.decision is Decision.MEMBRANE_MAX
    with pytest.raises(ConfigError, match="node 'li': LI does not spike"):
        _run("import", tmp_path / "li.nir", "--out", tmp_path / "sc.pt", "--dataset", "digits",
             "--ticks", "8", "--dt", "1e-4", "--decision", "spike-count")
