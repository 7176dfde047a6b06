"""compiler/nirgraph.py: NIR graphs in and out (forward Euler at dt), refusals by node."""

import nir
import numpy as np
import pytest

from spikeforge.compiler.nirgraph import (
    float_network_of_integer,
    from_nir,
    read_nir,
    to_nir,
    write_nir,
)
from spikeforge.compiler.quantize import float_reference_forward, quantize
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.network import (
    FloatLayer,
    FloatNetwork,
    IntegerLayer,
    IntegerNetwork,
)
from spikeforge.ir.params import Decision, NeuronParams, Reset
from spikeforge.sim.network import run_network

DT = 1e-3


def _network(reset_1="subtract"):
    rng = np.random.default_rng(0)
    return FloatNetwork([
        FloatLayer(rng.normal(size=(5, 4)), alpha=0.8, beta=0.9, threshold=1.5, reset="zero"),
        FloatLayer(rng.normal(size=(3, 5)), alpha=0.0, beta=0.7, threshold=1.0, reset=reset_1),
        FloatLayer(rng.normal(size=(2, 3)), alpha=0.0, beta=1.0, threshold=2.0, reset="zero"),
    ], Decision.SPIKE_COUNT)


def test_round_trip_through_a_file_is_exact(tmp_path):
    net = _network()
    write_nir(to_nir(net, DT, subtract_reset_as_zero=True), tmp_path / "net.nir")
    graph = read_nir(tmp_path / "net.nir")
    assert [type(graph.nodes[f"lif{l}"]).__name__ for l in range(3)] == ["CubaLIF", "LIF", "IF"]
    back = from_nir(graph)  # dt, decision and resets from the metadata
    assert back.decision is Decision.SPIKE_COUNT
    for a, b in zip(net.layers, back.layers):
        assert np.allclose(a.weight, b.weight, rtol=1e-12, atol=0)
        for name in ("alpha", "beta", "threshold", "reset"):
            assert getattr(a, name) == pytest.approx(getattr(b, name)), name


def test_euler_mapping_by_hand():
    """A CubaLIF written by hand (snnTorch's export convention at dt = 1e-4): the
    contract's alpha/beta are 1 - dt/tau, the weights fold in w_in dt/tau_syn and
    r dt/tau_mem; and the float networks before and after run the same spikes."""
    dt, n = 1e-4, 3
    w = np.arange(6, dtype=float).reshape(3, 2) - 2
    one = np.ones(n)
    graph = nir.NIRGraph.from_list(
        nir.Input(input_type=np.array([2])), nir.Linear(weight=w),
        nir.CubaLIF(tau_syn=one * 5e-4, tau_mem=one * 1e-3, r=one * 2.0, v_leak=one * 0,
                    v_threshold=one * 0.7, v_reset=one * 0, w_in=one * 3.0),
        nir.Output(output_type=np.array([n])))
    (layer,) = from_nir(graph, dt, "first-spike").layers
    assert layer.alpha == pytest.approx(0.8) and layer.beta == pytest.approx(0.9)
    assert np.allclose(layer.weight, w * 3.0 * (dt / 5e-4) * (2.0 * dt / 1e-3))
    assert layer.threshold == 0.7 and layer.reset is Reset.ZERO


def test_integer_network_exports_as_its_float_semantics():
    """An artifact's integer network goes out as floats (weights and threshold in integer
    units, decays k / 2**decay_bits) and comes back with the same float spikes."""
    rng = np.random.default_rng(1)
    layers = [IntegerLayer(rng.integers(-60, 60, (6, 5)),
                           NeuronParams(alpha=3000, beta=3500, threshold=40, reset=Reset.ZERO)),
              IntegerLayer(rng.integers(-60, 60, (5, 3)), NeuronParams(alpha=0, threshold=30))]
    integer = IntegerNetwork(layers, Decision.SPIKE_COUNT)
    floats = float_network_of_integer(integer)
    assert floats.layers[0].alpha == 3000 / 4096 and floats.layers[0].threshold == 40
    back = from_nir(to_nir(integer, DT, subtract_reset_as_zero=True))
    counts = rng.integers(0, 2, (3, 8, 6))
    a, b = float_reference_forward(floats, counts), float_reference_forward(back, counts)
    assert sum(s.sum() for s in a.spikes) > 0
    assert all(np.array_equal(x, y) for x, y in zip(a.spikes, b.spikes))


def _lif_graph():
    one = np.ones(3)
    return nir.NIRGraph(
        nodes={"in": nir.Input(input_type=np.array([2])), "fc": nir.Linear(weight=np.ones((3, 2))),
               "lif": nir.LIF(tau=one * 1e-3, r=one, v_leak=one * 0, v_threshold=one,
                              v_reset=one * 0),
               "out": nir.Output(output_type=np.array([3]))},
        edges=[("in", "fc"), ("fc", "lif"), ("lif", "out")])


@pytest.mark.parametrize("change, message", [
    (lambda g: g.nodes["lif"].__setattr__("v_leak", np.ones(3) * 0.1), "node 'lif': v_leak must be 0"),
    (lambda g: g.nodes["lif"].__setattr__("v_reset", np.ones(3) * 0.2), "node 'lif': v_reset must be 0"),
    (lambda g: g.nodes["lif"].__setattr__("tau", np.array([1e-3, 2e-3, 1e-3])),
     "node 'lif': tau differs between neurons"),
    (lambda g: g.nodes["lif"].__setattr__("tau", np.ones(3) * 1e-5),
     "node 'lif': tau = 1e-05 s is shorter than dt"),
    (lambda g: g.edges.append(("lif", "fc")), "node 'lif': has several successors"),
    (lambda g: g.nodes["lif"].__setattr__("tau", np.ones(5) * 1e-3),
     "node 'lif': tau has 5 values for 3 neurons"),
])
def test_refusals_name_the_node(change, message):
    graph = _lif_graph()
    from_nir(graph, DT, "spike-count")  # as built: accepted
    change(graph)
    with pytest.raises(ConfigError, match=message):
        from_nir(graph, DT, "spike-count")


def test_refusals_of_the_graph_and_the_export():
    one = np.ones(2)
    affine = nir.NIRGraph.from_list(
        nir.Input(input_type=np.array([2])), nir.Affine(weight=np.ones((2, 2)), bias=one),
        nir.IF(r=one, v_threshold=one), nir.Output(output_type=np.array([2])))
    with pytest.raises(ConfigError, match="Affine with a non-zero bias"):
        from_nir(affine, DT, "spike-count")
    with pytest.raises(ConfigError, match="dt: NIR has no time step"):
        from_nir(affine)
    conv = nir.NIRGraph.from_list(
        nir.Input(input_type=np.array([2])), nir.Linear(weight=np.ones((2, 2))),
        nir.Threshold(threshold=one), nir.Output(output_type=np.array([2])))
    with pytest.raises(ConfigError, match="Threshold is not a neuron spikeforge can run"):
        from_nir(conv, DT, "spike-count")
    with pytest.raises(ConfigError, match=r"layers\[1\]: reset subtract has no NIR form"):
        to_nir(_network(), DT)
    ttfs = FloatNetwork([FloatLayer(np.ones((2, 2)), alpha=0.9, beta=1.0, fire_once=True)])
    with pytest.raises(ConfigError, match=r"layers\[0\]: fire_once: NIR neurons have no"):
        to_nir(ttfs, DT)
    leaky_current = FloatNetwork([FloatLayer(np.ones((2, 2)), alpha=0.9, beta=1.0)])
    with pytest.raises(ConfigError, match="non-leaky membrane .* has no finite NIR form"):
        to_nir(leaky_current, DT, subtract_reset_as_zero=True)


def test_unreadable_file_is_named(tmp_path):
    bad = tmp_path / "bad.nir"
    bad.write_text("not hdf5")
    with pytest.raises(ConfigError, match="bad.nir: not a readable NIR file"):
        read_nir(bad)
    with pytest.raises(ConfigError, match="no such file"):
        read_nir(tmp_path / "missing.nir")


def _li_output_graph(kind):
    """64-16-10 with a leaky-integrator output (LI, or CubaLI), all weights positive: the
    largest membranes a non-spiking output can have."""
    rng = np.random.default_rng(3)
    h, o = np.ones(16), np.ones(10)
    li = (nir.LI(tau=o * 2e-3, r=o * 20.0, v_leak=o * 0) if kind == "LI" else
          nir.CubaLI(tau_syn=o * 2e-3, tau_mem=o * 4e-3, r=o * 40.0, v_leak=o * 0, w_in=o * 20.0))
    return nir.NIRGraph.from_list(
        nir.Input(input_type=np.array([64])), nir.Linear(weight=rng.uniform(0, 1, (16, 64))),
        nir.LIF(tau=h * 1e-3, r=h * 10.0, v_leak=h * 0, v_threshold=h * 3, v_reset=h * 0),
        nir.Linear(weight=rng.uniform(0, 1, (10, 16))), li,
        nir.Output(output_type=np.array([10])))


@pytest.mark.parametrize("kind", ["LI", "CubaLI"])
def test_leaky_integrator_output_never_fires_also_quantized(kind):
    """An LI/CubaLI output (membrane-max) gets a finite threshold that neither the float nor
    the 8-bit layer reaches even when every input spikes in every tick (it used to be 1e30,
    which no membrane width holds, so `spikeforge import` failed in quantize)."""
    net = from_nir(_li_output_graph(kind), 1e-4, "membrane-max")
    integer = quantize(net, ticks=40).network
    counts = np.ones((2, 40, 64), dtype=np.int64)  # the worst case: every input, every tick
    floats, golden = float_reference_forward(net, counts), run_network(integer, counts)
    assert floats.spikes[0].sum() > 0 and golden.spikes[0].sum() > 0  # the hidden layer fires
    assert floats.spikes[1].sum() == 0 and golden.spikes[1].sum() == 0
    assert np.all(golden.output_v[:, -1] > 0)  # the membranes are there to be read
    with pytest.raises(ConfigError, match=f"node '{kind.lower()}': {kind} does not spike, so "
                                          f"the output can only be read by membrane-max"):
        from_nir(_li_output_graph(kind), 1e-4, "spike-count")


def test_dt_is_any_positive_real_number():
    """A numpy scalar (a float32 dt read from a file) is a time step like a float; a bool,
    a string, zero, infinity and NaN are not (float32 used to be refused)."""
    graph = _lif_graph()
    (layer,) = from_nir(graph, np.float32(1e-3), "spike-count").layers
    assert layer.beta == pytest.approx(0.0)  # tau = dt: no memory
    assert to_nir(FloatNetwork([layer]), np.float64(1e-3)).metadata["spikeforge"]["dt"] == 1e-3
    for bad in (True, "1e-3", 0.0, np.inf, np.nan):
        with pytest.raises(ConfigError, match="dt: must be a positive number of seconds"):
            from_nir(graph, bad, "spike-count")
        with pytest.raises(ConfigError, match="dt: must be a positive number of seconds"):
            to_nir(FloatNetwork([layer]), bad)
