"""Float network -> integer network of the arithmetic contract.

Input: a plain description of a trained float network of fully connected layers
(:class:`FloatLayer` / :class:`FloatNetwork`, built from a list of dicts or a torch state dict
by :func:`float_network_from_description`). Its float semantics are those of the contract
without rounding or saturation (:func:`float_reference_forward`)::

    i     = i + W x                       # event phase (x: input events of this tick)
    v     = beta * v + i
    theta = threshold + a
    spike = v >= theta and not (fire_once and fired)
    v     = v - theta (subtract)  or  0 (zero)      if spike
    a     = rho * a + adapt_step * spike
    i     = alpha * i

Quantization, per layer (spikes between layers are scale-free, so every layer gets its own
scale without changing the next layer):

* ``scale = (2**(weight_bits-1) - 1) / max|w|`` -- or ``/ percentile(|w|, p)`` with
  ``percentile=p``, which clips the largest weights to the integer range;
* integer weight ``= clip(round_half_even(w * scale), -(2**(weight_bits-1) - 1),
  2**(weight_bits-1) - 1)`` -- round half to even (:func:`numpy.rint`), the IEEE default,
  unbiased on ties; the clip is symmetric, so ``-2**(weight_bits-1)`` is never used;
* ``threshold = max(1, round_half_even(threshold * scale))``, ``adapt_step`` likewise (>= 0);
* ``alpha, beta, rho = round_half_even(k * 2**decay_bits)`` clamped to ``0..2**decay_bits``;
* state widths (see :func:`state_bits`): the current and membrane are made wide enough that
  the worst case never saturates; when the worst case is unbounded (no decay and an unknown
  number of ticks) or needs more than ``max_state_bits``, the width is ``max_state_bits`` and
  the state saturates exactly as the contract says (reported as ``may_saturate``).
* ``max_events_per_tick = n_inputs`` (fan-in): each input spikes at most once per tick.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from spikeforge.ir.errors import ConfigError
from spikeforge.ir.network import FloatLayer, FloatNetwork, IntegerLayer, IntegerNetwork, to_numpy
from spikeforge.ir.params import (
    MAX_STATE_BITS,
    Decision,
    NeuronParams,
    Reset,
    as_decision,
    signed_range,
)
from spikeforge.sim.network import NetworkTrace, classify, decide

ROUNDING = "round-half-even"  #: the rounding mode of every float -> integer conversion here

_PARAM_NAMES = ("alpha", "beta", "threshold", "reset", "fire_once", "adaptive", "rho",
                "adapt_step")


def float_network_from_description(description, decision=Decision.FIRST_SPIKE,
                                   defaults: dict | None = None) -> FloatNetwork:
    """Build a :class:`FloatNetwork` from

    * a :class:`FloatNetwork` (returned as is);
    * a list of dicts, one per layer, with key ``weight`` ([out, in]) and any of
      ``alpha, beta, threshold, reset, fire_once, adaptive, rho, adapt_step``;
    * a dict ``{"layers": [...], "decision": "first-spike"}``;
    * a torch state dict (mapping of names to tensors): every 2-D ``<prefix>.weight`` is a
      layer, in the order of the mapping; ``<prefix>.alpha`` etc. (one number each) are its
      parameters; a ``<prefix>.bias`` is refused (the contract has no bias).

    ``defaults`` fills parameters a layer does not give (e.g. ``{"beta": 0.9}``).
    """
    if isinstance(description, FloatNetwork):
        return description
    defaults = dict(defaults or {})
    for key in defaults:
        if key not in _PARAM_NAMES:
            raise ConfigError(f"defaults: unknown parameter {key!r} (known: {', '.join(_PARAM_NAMES)})")
    if isinstance(description, dict) and "layers" in description:
        decision = description.get("decision", decision)
        description = description["layers"]
    if isinstance(description, dict):  # a state dict
        layer_dicts, prefixes = [], []
        for key, value in description.items():
            prefix, _, name = key.rpartition(".")
            if name == "weight" and np.ndim(to_numpy(value)) == 2:
                prefixes.append(prefix)
                layer_dicts.append({"weight": value})
        if not layer_dicts:
            raise ConfigError("state dict: no 2-D '<layer>.weight' entries found")
        for key, value in description.items():
            prefix, _, name = key.rpartition(".")
            if prefix in prefixes:
                if name == "bias":
                    raise ConfigError(f"{key}: biases are not supported by the contract")
                if name in _PARAM_NAMES:
                    layer_dicts[prefixes.index(prefix)][name] = value
        description = layer_dicts
    if not isinstance(description, (list, tuple)):
        raise ConfigError(f"network description: expected a list of layer dicts, a dict with "
                          f"'layers' or a state dict, got {type(description).__name__}")
    layers = []
    for l, entry in enumerate(description):
        if isinstance(entry, FloatLayer):
            layers.append(entry)
            continue
        if not isinstance(entry, dict) or "weight" not in entry:
            raise ConfigError(f"layers[{l}]: must be a dict with a 'weight' [out, in]")
        unknown = set(entry) - set(_PARAM_NAMES) - {"weight"}
        if unknown:
            raise ConfigError(f"layers[{l}]: unknown field(s) {sorted(unknown)}")
        try:
            layers.append(FloatLayer(**{**defaults, **entry}))
        except ConfigError as error:
            raise ConfigError(f"layers[{l}].{error}") from None
    return FloatNetwork(layers, decision)


# -- quantization --------------------------------------------------------------------------

@dataclass
class LayerQuantization:
    """What quantizing one layer did. Errors are relative: RMS error / RMS weight and max
    error / max |weight|, the error being ``w_int / scale - w`` (clipped weights included)."""

    scale: float  #: integer units per float unit
    weight_rms_error: float
    weight_max_error: float
    clipped_fraction: float  #: fraction of weights clipped to the integer range
    threshold_float: float
    threshold_int: int
    alpha: int
    beta: int
    rho: int
    current_bits: int
    membrane_bits: int
    adapt_bits: int
    may_saturate: bool  #: a worst-case input could saturate i or v (contract saturation applies)
    notes: list = field(default_factory=list)


@dataclass
class QuantizationResult:
    network: IntegerNetwork
    layers: list  #: one :class:`LayerQuantization` per layer

    def summary(self) -> str:
        lines = []
        for l, q in enumerate(self.layers):
            lines.append(f"layer {l}: scale {q.scale:.4g}, weight error rms {q.weight_rms_error:.3%} "
                         f"max {q.weight_max_error:.3%}, clipped {q.clipped_fraction:.3%}, threshold "
                         f"{q.threshold_int}, i/v bits {q.current_bits}/{q.membrane_bits}"
                         + (" (may saturate)" if q.may_saturate else ""))
        return "\n".join(lines)


def round_half_even(x):
    """Round to the nearest integer, ties to even (``numpy.rint``)."""
    return np.rint(x)


def weight_scale(w, weight_bits: int, percentile: float | None = None) -> float:
    """A layer's scale ``(2**(weight_bits-1) - 1) / reference``: the reference is the largest
    ``|w|``, or its ``percentile``-th percentile (the largest where that is 0); 0 when every
    weight is 0."""
    magnitude = np.abs(w)
    reference = (float(np.percentile(magnitude, percentile)) if percentile is not None
                 else float(magnitude.max()))
    if reference <= 0:
        reference = float(magnitude.max())
    return ((1 << (weight_bits - 1)) - 1) / reference if reference > 0 else 0.0


def integer_weights(w, scale: float, weight_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """``(w_int, clipped)``: ``round_half_even(w * scale)`` clipped to the symmetric range
    ``+-(2**(weight_bits-1) - 1)`` (``-2**(weight_bits-1)`` is never used), and where it was."""
    w_max_int = (1 << (weight_bits - 1)) - 1
    scaled = round_half_even(w * scale)
    clipped = (scaled < -w_max_int) | (scaled > w_max_int)
    return np.clip(scaled, -w_max_int, w_max_int).astype(np.int64), clipped


def integer_threshold(threshold: float, unit: float) -> int:
    """A threshold in the current's integer units: ``round_half_even(threshold * unit)``,
    at least 1 (``unit``: the layer's scale, times ``2**weight_shift``)."""
    return max(1, int(round_half_even(threshold * unit)))


def quantize_decay(k: float, decay_bits: int) -> int:
    """A decay factor per tick ``k`` in [0, 1] as ``round_half_even(k * 2**decay_bits)``."""
    one = 1 << decay_bits
    return int(min(max(round_half_even(k * one), 0), one))


def _bits_for(lo: float, hi: float) -> int:
    """Smallest signed width holding ``[lo, hi]``."""
    bits = 2
    while signed_range(bits)[0] > lo or signed_range(bits)[1] < hi:
        bits += 1
    return bits


def state_bits(weights: np.ndarray, threshold: int, alpha: int, beta: int, decay_bits: int,
               ticks: int | None, max_state_bits: int = MAX_STATE_BITS):
    """Widths ``(current_bits, membrane_bits, may_saturate)`` of a layer.

    Worst case, each input spiking once per tick: the input of one tick to neuron ``n`` lies in
    ``[S-_n, S+_n]`` (sums of its negative / positive weights). Decay rounds toward zero, so
    ``|i_t| <= alpha |i_{t-1}| + |in_t|`` and ``|i| <= S / (1 - alpha)`` (``S * ticks`` with no
    decay); likewise ``|v| <= I / (1 - beta)`` (``I * ticks``) with ``I`` the bound of ``i``,
    since a reset only moves ``v`` toward 0. If a bound is infinite (no decay, ``ticks``
    unknown) or needs more than ``max_state_bits``, the width is ``max_state_bits`` and
    ``may_saturate`` is True: the state then saturates as the contract says.
    """
    one = 1 << decay_bits
    positive = float(np.clip(weights, 0, None).sum(axis=0).max(initial=0))
    negative = float(np.clip(weights, None, 0).sum(axis=0).min(initial=0))

    def growth(k):
        if k < one:
            return one / (one - k)
        return float(ticks) if ticks is not None else math.inf

    gi, gv = growth(alpha), growth(beta)
    current = _bits_for(negative * gi, positive * gi) if math.isfinite(gi) else math.inf
    membrane = (_bits_for(negative * gi * gv, max(positive * gi * gv, threshold))
                if math.isfinite(gi * gv) else math.inf)
    weight_bits_needed = _bits_for(float(weights.min(initial=0)), float(weights.max(initial=0)))
    current = max(current, weight_bits_needed)
    may_saturate = current > max_state_bits or membrane > max_state_bits
    return int(min(current, max_state_bits)), int(min(membrane, max_state_bits)), may_saturate


def quantize(description, weight_bits: int = 8, decay_bits: int = 12,
             percentile: float | None = None, ticks: int | None = None,
             current_bits: int | None = None, membrane_bits: int | None = None,
             adapt_bits: int = 8, max_state_bits: int = MAX_STATE_BITS,
             decision=None, weight_shift: int = 0) -> QuantizationResult:
    """Quantize a float network (anything :func:`float_network_from_description` accepts).

    ``weight_shift`` (the contract's, every layer): the weights keep ``weight_bits`` and
    their scale; the event phase adds them times ``2**weight_shift``, so the threshold and
    the adaptation step are scaled by ``scale * 2**weight_shift`` and the current gets
    ``weight_shift`` more bits below the weight's LSB.

    ``percentile`` (e.g. 99.9): scale to that percentile of ``|w|`` instead of the maximum,
    clipping the rest. ``ticks``: the inference length, which bounds the state of
    non-decaying neurons (see :func:`state_bits`). ``current_bits`` / ``membrane_bits``
    override the computed widths (the contract's saturation then applies).
    """
    net = float_network_from_description(description)
    decision = net.decision if decision is None else as_decision(decision)
    if not isinstance(weight_bits, int) or not 2 <= weight_bits <= 16:
        raise ConfigError(f"weight_bits: must be in 2..16, got {weight_bits!r}")
    if percentile is not None and not 0 < percentile <= 100:
        raise ConfigError(f"percentile: must be in (0, 100], got {percentile!r}")
    if ticks is not None and (not isinstance(ticks, int) or ticks < 1):
        raise ConfigError(f"ticks: must be a positive integer, got {ticks!r}")
    if not isinstance(weight_shift, int) or isinstance(weight_shift, bool) \
            or not 0 <= weight_shift <= max_state_bits - weight_bits:
        raise ConfigError(f"weight_shift: must be in 0..{max_state_bits - weight_bits} "
                          f"(max_state_bits - weight_bits), got {weight_shift!r}")
    int_layers, reports = [], []
    for l, layer in enumerate(net.layers):
        w = layer.weight.T  # [in, out], the contract's order
        magnitude = np.abs(w)
        scale = weight_scale(w, weight_bits, percentile)
        if scale == 0:
            raise ConfigError(f"layers[{l}].weight: all weights are zero, no scale can be chosen")
        w_int, clipped = integer_weights(w, scale, weight_bits)
        error = w_int / scale - w
        rms_w = float(np.sqrt(np.mean(w ** 2)))
        notes = []
        unit = scale * (1 << weight_shift)  # a float weight of 1 in the current's LSBs
        threshold = integer_threshold(layer.threshold, unit)
        if round_half_even(layer.threshold * unit) < 1:
            notes.append(f"threshold {layer.threshold} * scale {unit:.4g} rounds below 1; "
                         "clamped to 1")
        alpha, beta, rho = (quantize_decay(k, decay_bits)
                            for k in (layer.alpha, layer.beta, layer.rho))
        adapt_step = int(round_half_even(layer.adapt_step * unit)) if layer.adaptive else 0
        if layer.adaptive and adapt_step >= (1 << adapt_bits):
            raise ConfigError(f"layers[{l}].adapt_step: {layer.adapt_step} * scale {unit:.4g} = "
                              f"{adapt_step} does not fit adapt_bits = {adapt_bits}")
        i_bits, v_bits, may_saturate = state_bits(w_int << weight_shift, threshold, alpha, beta,
                                                  decay_bits, ticks, max_state_bits)
        if current_bits is not None:
            may_saturate |= current_bits < i_bits
            i_bits = current_bits
        if membrane_bits is not None:
            may_saturate |= membrane_bits < v_bits
            v_bits = membrane_bits
        i_bits = max(i_bits, weight_bits + weight_shift)
        v_max = (1 << (v_bits - 1)) - 1
        if threshold > v_max:
            raise ConfigError(f"layers[{l}].threshold: {layer.threshold} * scale {unit:.4g} = "
                              f"{threshold} does not fit membrane_bits = {v_bits}")
        if may_saturate:
            notes.append("worst-case input may saturate i or v (contract saturation applies)")
        if layer.adaptive:
            one = 1 << decay_bits
            growth = (one / (one - rho) if rho < one
                      else (ticks if ticks is not None else math.inf))
            if adapt_step * growth > (1 << adapt_bits) - 1:
                notes.append(f"the adaptation a may reach its maximum {(1 << adapt_bits) - 1} "
                             f"(adapt_bits = {adapt_bits}) and saturate there")
        try:
            params = NeuronParams(weight_bits=weight_bits, current_bits=i_bits, membrane_bits=v_bits,
                                  decay_bits=decay_bits, alpha=alpha, beta=beta, threshold=threshold,
                                  reset=layer.reset, fire_once=layer.fire_once,
                                  adaptive=layer.adaptive, adapt_bits=adapt_bits, rho=rho,
                                  adapt_step=adapt_step, weight_shift=weight_shift)
            int_layers.append(IntegerLayer(w_int, params, max_events_per_tick=layer.n_inputs))
        except ConfigError as error:
            raise ConfigError(f"layers[{l}].{error}") from None
        reports.append(LayerQuantization(
            scale=scale, weight_rms_error=float(np.sqrt(np.mean(error ** 2))) / rms_w,
            weight_max_error=float(np.abs(error).max()) / float(magnitude.max()),
            clipped_fraction=float(clipped.mean()), threshold_float=layer.threshold,
            threshold_int=threshold, alpha=alpha, beta=beta, rho=rho, current_bits=i_bits,
            membrane_bits=v_bits, adapt_bits=adapt_bits, may_saturate=may_saturate, notes=notes))
    return QuantizationResult(IntegerNetwork(tuple(int_layers), decision), reports)


# -- float forward pass and accuracy -----------------------------------------------------

def float_reference_forward(description, input_counts, ticks: int | None = None,
                            decision=None) -> NetworkTrace:
    """The float network's forward pass with the contract's timing (one tick of delay per
    layer) and update order, in float64 without rounding or saturation (see the module
    docstring). Returns a :class:`NetworkTrace` whose ``output_v`` is float."""
    net = float_network_from_description(description)
    decision = net.decision if decision is None else as_decision(decision)
    counts = np.asarray(input_counts)
    if counts.ndim == 2:
        counts = counts[None]
    n_in = net.layers[0].n_inputs
    if counts.ndim != 3 or counts.shape[2] != n_in:
        raise ConfigError(f"input_counts: expected shape [batch, ticks, {n_in}], got "
                          f"{list(np.shape(input_counts))}")
    batch, ticks_in, _ = counts.shape
    ticks = ticks_in if ticks is None else ticks
    padded = np.zeros((batch, ticks, n_in))
    padded[:, :min(ticks, ticks_in)] = counts[:, :min(ticks, ticks_in)]
    state = [dict(i=np.zeros((batch, L.n_neurons)), v=np.zeros((batch, L.n_neurons)),
                  a=np.zeros((batch, L.n_neurons)), fired=np.zeros((batch, L.n_neurons), bool))
             for L in net.layers]
    spikes = [np.zeros((batch, ticks, L.n_neurons), dtype=bool) for L in net.layers]
    output_v = np.zeros((batch, ticks, net.layers[-1].n_neurons))
    for t in range(ticks):
        for l, L in enumerate(net.layers):
            if l == 0:
                events = padded[:, t]
            else:
                events = spikes[l - 1][:, t - 1].astype(np.float64) if t > 0 else None
            if events is not None:
                state[l]["i"] = state[l]["i"] + events @ L.weight.T
        for l, L in enumerate(net.layers):
            s = state[l]
            s["v"] = L.beta * s["v"] + s["i"]
            theta = L.threshold + (s["a"] if L.adaptive else 0.0)
            spike = s["v"] >= theta
            if L.fire_once:
                spike &= ~s["fired"]
            if L.reset is Reset.SUBTRACT:
                s["v"] = s["v"] - spike * theta
            else:
                s["v"] = np.where(spike, 0.0, s["v"])
            if L.adaptive:
                s["a"] = L.rho * s["a"] + L.adapt_step * spike
            s["fired"] |= spike
            s["i"] = L.alpha * s["i"]
            spikes[l][:, t] = spike
        output_v[:, t] = state[-1]["v"]
    decision_array, decision_tick = decide(spikes[-1], output_v[:, -1], decision)
    return NetworkTrace(spikes, padded.astype(np.int64), output_v, decision_array, decision_tick,
                        decision, [(L.n_inputs, L.n_neurons) for L in net.layers])


def accuracy(network, counts, labels, ticks: int | None = None, batch_size: int = 1024) -> float:
    """Fraction of samples whose decision equals ``labels`` (an :class:`IntegerNetwork` runs
    the golden model; anything else is taken as a float network description and runs
    :func:`float_reference_forward`). A first-spike inference without a spike (class -1) is
    always wrong."""
    labels = np.asarray(labels).reshape(-1)
    counts = np.asarray(counts)
    if counts.ndim != 3 or counts.shape[0] != labels.shape[0]:
        raise ConfigError(f"counts/labels: expected counts [batch, ticks, n_inputs] and labels "
                          f"[batch] with the same batch, got {list(counts.shape)} and "
                          f"{list(labels.shape)}")
    if labels.shape[0] == 0:
        raise ConfigError("labels: empty")
    if isinstance(network, IntegerNetwork):
        decisions = classify(network, counts, ticks, batch_size)
    else:
        net = float_network_from_description(network)
        decisions = np.concatenate([
            float_reference_forward(net, counts[s:s + batch_size], ticks).decision
            for s in range(0, counts.shape[0], batch_size)])
    return float(np.mean(decisions == labels))
