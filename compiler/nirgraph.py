"""NIR (the Neuromorphic Intermediate Representation, ``nir`` 1.0) in and out.

NIR describes continuous-time neurons without a time step; spikeforge's contract is discrete
(one update per tick). The two are tied by forward-Euler steps of length ``dt`` (seconds),
the discretisation snnTorch's and Norse's NIR exporters and importers use. With it, a NIR
``CubaLIF`` (``tau_syn dI/dt = -I + w_in W S``, ``tau_mem dv/dt = v_leak - v + r I``) is the
contract layer

    alpha = 1 - dt / tau_syn,    beta = 1 - dt / tau_mem,
    weight[n, j] = W[n, j] * w_in[n] * (dt / tau_syn[n]) * (r[n] * dt / tau_mem[n]),

(so that per tick ``i = alpha i + W' s``, ``v = beta v + i``: the contract's order) with
``threshold = v_threshold``; ``LIF`` is the same with the current lasting one tick
(``alpha = 0``, ``weight = W r dt / tau``), ``IF`` with ``beta = 1`` (``weight = W r dt``).
An infinite ``tau`` is refused (the input would never reach the state: ``IF`` is the neuron
without leak). A neuron fires at ``v >= threshold`` in the contract and at
``v > v_threshold`` in NIR; for float states the difference has measure zero.

What cannot be said in the other language is refused with the node's name and the reason:

* NIR -> spikeforge: a graph that is not a chain ``Input -> (Linear|Affine -> neuron)+ ->
  Output`` (an optional ``Flatten`` after the input), biases (the contract has none),
  ``v_leak != 0`` (the contract leaks toward 0), ``v_reset != 0`` (the contract resets to 0
  or subtracts the threshold), parameters that differ between the neurons of one layer (a
  core shares them), decays outside [0, 1] (``tau < dt``), and any other node type.
  ``LI``/``CubaLI`` (leaky integrators without spikes) are accepted as the output layer of a
  membrane-max network (any other decision is refused): they get a threshold 8 times the bound
  on their membrane, so that neither the float nor the 8-bit layer fires (an infinite
  threshold would not quantize).
* spikeforge -> NIR: NIR resets to a value only, so a layer with ``reset = subtract`` is
  refused unless ``subtract_reset_as_zero`` is set (the graph then records
  ``metadata["spikeforge"]["reset"]``, which :func:`from_nir` reads back; other tools will
  reset to zero); ``fire_once`` and adaptive thresholds have no NIR form and are refused.

Both directions record ``dt`` and the decision in ``metadata["spikeforge"]``; reading a graph
without them needs them given (there is no silent default).
"""

from __future__ import annotations

import numbers
import os
from pathlib import Path

import numpy as np

from spikeforge.ir.errors import ConfigError
from spikeforge.ir.network import FloatLayer, FloatNetwork, IntegerNetwork
from spikeforge.ir.params import Decision, Reset, as_decision, shifted_weights

__all__ = ["from_nir", "to_nir", "float_network_of_integer", "read_nir", "write_nir"]

_NEURONS = ("CubaLIF", "LIF", "IF", "LI", "CubaLI")


def _nir():
    try:
        import nir
    except ImportError:  # pragma: no cover - nir is a dependency
        raise ConfigError("NIR support needs the `nir` package (pip install nir)") from None
    return nir


def _check_dt(dt) -> None:
    """ConfigError unless ``dt`` is a positive, finite real number of seconds (numpy scalars
    too, e.g. a float32 read from a file; not a bool)."""
    if isinstance(dt, bool) or not isinstance(dt, numbers.Real) or not 0 < dt < np.inf:
        raise ConfigError(f"dt: must be a positive number of seconds, got {dt!r}")


def _uniform(node_name: str, field: str, value, n: int) -> float:
    """The one value of a per-neuron parameter (a scalar, or one value per neuron), or
    ConfigError if the neurons differ or their number is not the ``n`` rows of the weights."""
    array = np.asarray(value, dtype=np.float64).reshape(-1)
    if array.size not in (1, n):
        raise ConfigError(f"node {node_name!r}: {field} has {array.size} values for {n} neurons "
                          f"(the rows of the weights before it)")
    if array.size and not np.allclose(array, array.flat[0], rtol=1e-6, atol=0):
        raise ConfigError(f"node {node_name!r}: {field} differs between neurons "
                          f"({array.min():g}..{array.max():g}); a spikeforge layer shares one value")
    return float(array.flat[0])


def _decay(node_name: str, field: str, tau: float, dt: float) -> float:
    """``1 - dt / tau``, or ConfigError if that is no decay factor in [0, 1)."""
    if not np.isfinite(tau):
        raise ConfigError(f"node {node_name!r}: {field} = {tau:g}: with an infinite time "
                          f"constant the input never reaches the state (use IF for no leak)")
    if not tau >= dt:
        raise ConfigError(f"node {node_name!r}: {field} = {tau:g} s is shorter than dt = {dt:g} s "
                          f"(the decay per tick 1 - dt/{field} would be negative)")
    return 1.0 - dt / tau


def _chain(graph, nir) -> list[str]:
    """The node names from Input to Output, or ConfigError naming what breaks the chain."""
    succ = {}
    for src, dst in graph.edges:
        if src in succ:
            raise ConfigError(f"node {src!r}: has several successors ({succ[src]!r}, {dst!r}); "
                              f"spikeforge runs a chain of fully connected layers")
        succ[src] = dst
    inputs = [k for k, v in graph.nodes.items() if isinstance(v, nir.Input)]
    if len(inputs) != 1:
        raise ConfigError(f"graph: needs exactly one Input node, has {len(inputs)}")
    order, seen = [inputs[0]], {inputs[0]}
    while order[-1] in succ:
        nxt = succ[order[-1]]
        if nxt in seen:
            raise ConfigError(f"node {nxt!r}: is part of a cycle (recurrent connections are not "
                              f"supported)")
        order.append(nxt)
        seen.add(nxt)
    if set(graph.nodes) - seen:
        raise ConfigError(f"graph: nodes {sorted(set(graph.nodes) - seen)} are not on the chain "
                          f"from the input to the output")
    if not isinstance(graph.nodes[order[-1]], nir.Output):
        raise ConfigError(f"node {order[-1]!r}: the chain ends in a "
                          f"{type(graph.nodes[order[-1]]).__name__}, not an Output")
    return order


def _neuron_layer(name, node, weight, dt, last, decision) -> FloatLayer:
    kind = type(node).__name__
    n = weight.shape[0]
    if kind not in _NEURONS:
        raise ConfigError(f"node {name!r}: {kind} is not a neuron spikeforge can run "
                          f"(supported: {', '.join(_NEURONS)})")
    if kind in ("LI", "CubaLI") and not last:
        raise ConfigError(f"node {name!r}: {kind} does not spike, so it can only be the output "
                          f"layer (read by membrane-max)")
    if kind in ("LI", "CubaLI") and decision is not Decision.MEMBRANE_MAX:
        raise ConfigError(f"node {name!r}: {kind} does not spike, so the output can only be read "
                          f"by membrane-max, not {decision.value}")
    if hasattr(node, "v_leak") and _uniform(name, "v_leak", node.v_leak, n) != 0:
        raise ConfigError(f"node {name!r}: v_leak must be 0 (the contract's membrane decays "
                          f"toward 0)")
    if getattr(node, "v_reset", None) is not None and _uniform(name, "v_reset", node.v_reset, n) != 0:
        raise ConfigError(f"node {name!r}: v_reset must be 0 (the contract resets to 0 or "
                          f"subtracts the threshold)")
    r = _uniform(name, "r", node.r, n)
    if kind in ("CubaLIF", "CubaLI"):
        w_in = _uniform(name, "w_in", getattr(node, "w_in", 1.0), n)
        alpha = _decay(name, "tau_syn", _uniform(name, "tau_syn", node.tau_syn, n), dt)
        beta = _decay(name, "tau_mem", _uniform(name, "tau_mem", node.tau_mem, n), dt)
        scale = w_in * (1 - alpha) * r * (1 - beta)  # w_in dt/tau_syn * r dt/tau_mem
    elif kind in ("LIF", "LI"):
        alpha, beta = 0.0, _decay(name, "tau", _uniform(name, "tau", node.tau, n), dt)
        scale = r * (1 - beta)  # r dt / tau
    else:  # IF: dv/dt = r I
        alpha, beta, scale = 0.0, 1.0, r * dt
    if kind in ("LI", "CubaLI"):
        threshold = _never_reached(weight * scale, alpha, beta)
    else:
        threshold = _uniform(name, "v_threshold", node.v_threshold, n)
    try:
        return FloatLayer(weight * scale, alpha=alpha, beta=beta, threshold=threshold,
                          reset=Reset.ZERO)
    except ConfigError as error:
        raise ConfigError(f"node {name!r}: {error}") from None


def _never_reached(weight: np.ndarray, alpha: float, beta: float) -> float:
    """A threshold no membrane of the layer reaches: 8 times the bound
    ``max_n sum_j max(W[n, j], 0) / ((1 - alpha)(1 - beta))`` on ``v`` when each input spikes
    at most once per tick. The factor 8 = 2 * 2 * 2 covers the 8-bit rounding: a rounded
    weight is at most twice its scaled value, and each rounded decay's ``1 / (1 - k)`` at most
    twice the float one while ``(1 - k) 2**decay_bits >= 1``; so the quantized layer does not
    fire either (:func:`~spikeforge.compiler.quantize.state_bits` sizes the membrane to hold
    the threshold). Finite, unlike an infinite threshold, so that the layer quantizes."""
    positive = float(np.clip(weight, 0, None).sum(axis=1).max())
    largest = float(np.abs(weight).max())
    return 8 * max(positive, largest) / ((1 - alpha) * (1 - beta))


def _text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def _spikeforge_metadata(graph) -> dict:
    """``metadata["spikeforge"]`` as plain Python (an HDF5 round trip gives bytes and numpy
    scalars)."""
    meta = dict((getattr(graph, "metadata", None) or {}).get("spikeforge", {}) or {})
    if "dt" in meta:
        meta["dt"] = float(meta["dt"])
    if "decision" in meta:
        meta["decision"] = _text(meta["decision"])
    if "reset" in meta:
        meta["reset"] = [_text(r) for r in np.atleast_1d(meta["reset"])]
    return meta


def from_nir(graph, dt: float | None = None, decision=None) -> FloatNetwork:
    """A :class:`FloatNetwork` from a NIR graph (see the module docstring). ``dt`` (seconds)
    and ``decision`` default to what a spikeforge export recorded in the graph's metadata;
    without it they must be given."""
    nir = _nir()
    meta = _spikeforge_metadata(graph)
    dt = meta.get("dt") if dt is None else dt
    if dt is None:
        raise ConfigError("dt: NIR has no time step and this graph records none; give the "
                          "tick length in seconds (snnTorch exports with 1e-4, Norse 1e-3)")
    _check_dt(dt)
    decision = meta.get("decision") if decision is None else decision
    if decision is None:
        raise ConfigError("decision: this graph records no decision; give first-spike, "
                          "spike-count or membrane-max")
    decision = as_decision(decision)
    order = _chain(graph, nir)
    layers, pending = [], None
    for name in order[1:-1]:
        node = graph.nodes[name]
        if isinstance(node, nir.Flatten) and not layers and pending is None:
            continue
        if isinstance(node, (nir.Linear, nir.Affine)):
            if pending is not None:
                raise ConfigError(f"node {name!r}: two weight layers in a row (after "
                                  f"{pending[0]!r}); put a neuron layer between them")
            if isinstance(node, nir.Affine) and np.any(np.asarray(node.bias) != 0):
                raise ConfigError(f"node {name!r}: Affine with a non-zero bias; the contract's "
                                  f"neurons have no bias")
            weight = np.asarray(node.weight, dtype=np.float64)
            if weight.ndim != 2:
                raise ConfigError(f"node {name!r}: weight must be 2-D [out, in], got shape "
                                  f"{list(weight.shape)}")
            pending = (name, weight)
            continue
        if pending is None:
            raise ConfigError(f"node {name!r}: a {type(node).__name__} must follow a Linear or "
                              f"Affine node")
        last = name == order[-2]
        layers.append(_neuron_layer(name, node, pending[1], dt, last, decision))
        pending = None
    if pending is not None:
        raise ConfigError(f"node {pending[0]!r}: a weight layer without neurons after it")
    if not layers:
        raise ConfigError("graph: no layer of neurons")
    resets = meta.get("reset")
    if resets is not None:
        if len(resets) != len(layers):
            raise ConfigError(f"metadata: spikeforge.reset has {len(resets)} entries for "
                              f"{len(layers)} layers")
        for l, (layer, reset) in enumerate(zip(layers, resets)):
            try:
                layer.reset = Reset(reset)
            except ValueError:
                raise ConfigError(f"metadata: spikeforge.reset[{l}] = {reset!r} is not one of "
                                  f"{[r.value for r in Reset]}") from None
    return FloatNetwork(layers, decision)


def float_network_of_integer(network: IntegerNetwork) -> FloatNetwork:
    """The float network an integer one is (weights and threshold in integer units, decays
    ``k / 2**decay_bits``), without the contract's rounding and saturation."""
    layers = []
    for layer in network.layers:
        p = layer.params
        one = float(1 << p.decay_bits)
        layers.append(FloatLayer(shifted_weights(layer.weights, p).T.astype(np.float64),
                                 alpha=p.alpha / one,
                                 beta=p.beta / one, threshold=float(p.threshold), reset=p.reset,
                                 fire_once=p.fire_once, adaptive=p.adaptive, rho=p.rho / one,
                                 adapt_step=float(p.adapt_step)))
    return FloatNetwork(layers, network.decision)


def _neuron_node(layer: FloatLayer, l: int, dt: float, nir):
    """The NIR neuron of one layer: IF (alpha = 0, beta = 1), LIF (alpha = 0) or CubaLIF,
    with ``r`` and ``w_in`` chosen so that :func:`from_nir` gives the layer back (snnTorch's
    choice: ``r dt / tau_mem = 1``, ``w_in dt / tau_syn = 1``)."""
    ones = np.ones(layer.weight.shape[0])
    threshold, zero = ones * layer.threshold, ones * 0.0
    if layer.alpha == 1:
        raise ConfigError(f"layers[{l}]: alpha = 1 (a current that never decays) has no finite "
                          f"NIR form (CubaLIF's input scale is dt/tau_syn)")
    if layer.beta == 1:
        if layer.alpha != 0:
            raise ConfigError(f"layers[{l}]: a non-leaky membrane (beta = 1) fed by a decaying "
                              f"current (alpha = {layer.alpha:g}) has no finite NIR form: "
                              f"CubaLIF needs tau_mem < inf for its current to reach v")
        return nir.IF(r=ones / dt, v_threshold=threshold, v_reset=zero)
    tau_mem = dt / (1 - layer.beta)
    if layer.alpha == 0:
        return nir.LIF(tau=ones * tau_mem, r=ones * tau_mem / dt, v_leak=zero,
                       v_threshold=threshold, v_reset=zero)
    tau_syn = dt / (1 - layer.alpha)
    return nir.CubaLIF(tau_syn=ones * tau_syn, tau_mem=ones * tau_mem, r=ones * tau_mem / dt,
                       v_leak=zero, v_threshold=threshold, v_reset=zero,
                       w_in=ones * tau_syn / dt)


def to_nir(network, dt: float, subtract_reset_as_zero: bool = False):
    """A NIR graph of ``network`` (a :class:`FloatNetwork`, or an :class:`IntegerNetwork`
    through :func:`float_network_of_integer`): ``Input -> (Linear -> IF|LIF|CubaLIF)+ ->
    Output``, the inverse of :func:`from_nir` at ``dt``."""
    nir = _nir()
    _check_dt(dt)
    if isinstance(network, IntegerNetwork):
        network = float_network_of_integer(network)
    nodes = {"input": nir.Input(input_type=np.array([network.layers[0].weight.shape[1]]))}
    edges, previous = [], "input"
    for l, layer in enumerate(network.layers):
        for flag, what in (("fire_once", "a spike-once flag"), ("adaptive", "an adaptive threshold")):
            if getattr(layer, flag):
                raise ConfigError(f"layers[{l}]: {flag}: NIR neurons have no {what}")
        if layer.reset is Reset.SUBTRACT and not subtract_reset_as_zero:
            raise ConfigError(f"layers[{l}]: reset subtract has no NIR form (NIR resets to "
                              f"v_reset); export with subtract_reset_as_zero=True "
                              f"(--subtract-reset-as-zero) to reset to zero elsewhere, recorded in the graph's metadata")
        nodes[f"linear{l}"] = nir.Linear(weight=layer.weight.copy())
        nodes[f"lif{l}"] = _neuron_node(layer, l, dt, nir)
        edges += [(previous, f"linear{l}"), (f"linear{l}", f"lif{l}")]
        previous = f"lif{l}"
    nodes["output"] = nir.Output(output_type=np.array([network.layers[-1].weight.shape[0]]))
    edges.append((previous, "output"))
    meta = {"spikeforge": {"dt": float(dt), "decision": network.decision.value,
                           "reset": [layer.reset.value for layer in network.layers]}}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)


def read_nir(path):
    """``nir.read(path)`` with errors that name the file."""
    nir = _nir()
    try:
        return nir.read(str(path))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except Exception as error:  # h5py raises OSError/KeyError/ValueError for non-NIR files
        raise ConfigError(f"{path}: not a readable NIR file ({type(error).__name__}: "
                          f"{str(error).splitlines()[0] if str(error) else ''})") from None


def write_nir(graph, path) -> None:
    """``nir.write`` to a temporary file beside ``path``, renamed at the end (an interrupted
    write leaves an older file intact); errors name the file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        _nir().write(str(tmp), graph)
        os.replace(tmp, path)
    except OSError as error:
        raise ConfigError(f"{path}: cannot write the NIR file ({error.strerror or error})") from None
    finally:
        tmp.unlink(missing_ok=True)
