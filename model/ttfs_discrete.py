"""Continuous-time TTFS networks (Mostafa 2017) on the discrete-time arithmetic contract.

A :class:`~spikeforge.model.ttfs.TTFSNet` is trained in continuous time: non-leaky
integrate-and-fire neurons, threshold 1, synaptic current decaying with ``tau = 1``::

    dI/dt = -I + sum_i w_i delta(t - t_i),     dV/dt = I,     first spike when V >= 1,

so an input arriving at ``t_i`` contributes ``w_i (1 - exp(-(t - t_i)))`` to ``V(t)``.
This module maps it onto ticks of the contract (:mod:`spikeforge.sim.contract`) and runs it
on the golden model (:class:`spikeforge.sim.network.IntegerNetwork`).

The mapping (``K = ticks_per_tau``, one tick = ``1/K`` tau)
=============================================================
* **current decay** ``alpha = exp(-1/K)`` per tick, quantized to ``alpha_q = round(alpha *
  2**decay_bits) / 2**decay_bits`` (:func:`spikeforge.compiler.quantize.quantize_decay`);
* **no membrane leak**: ``beta = 1``; ``fire_once`` (a TTFS neuron spikes once), zero reset;
* **weights**: the contract's membrane integrates the current *once per tick*
  (``v += i``; ``i *= alpha``), a left Riemann sum of ``dV/dt = I`` without the ``dt``. An
  input event in tick ``n_i`` with discrete weight ``W`` adds, by the end of tick
  ``n >= n_i``, ``W * sum_{k=0}^{n-n_i} alpha_q**k = W (1 - alpha_q**(n-n_i+1)) / (1 - alpha_q)``
  to ``v``. Choosing

      W = w * (1 - alpha_q)        (threshold stays 1)

  makes this exactly ``w (1 - alpha_q**(n - n_i + 1))``, i.e. the continuous
  ``w (1 - exp(-(t - t_i)))`` at ``t - t_i = (n - n_i + 1) / K`` when ``alpha_q = alpha``.
  So **the membrane at the end of tick n equals the continuous V at time (n + 1)/K** for
  inputs at ``t_i = n_i / K``: discretisation introduces no integration error, only timing
  error (the rounding of the input times, and the tick grid of the spikes). Since
  ``1 - alpha ~ 1/K``, the discrete weight is ``~ w / K`` relative to the threshold: the
  integer threshold is ``~ K / max|w| * 127`` for 8-bit weights (:func:`integer_network`
  lets the compiler choose the per-layer scale ``127 / max|W|`` and widths).
* **inputs** (:func:`input_ticks`): the continuous encoding ``t = t_max (1 - p / max_value)``
  (:func:`spikeforge.model.ttfs.encode_ttfs`) becomes one event at tick ``round(t K)``
  (round half to even), an error of at most half a tick.
* **spike timing**: a neuron whose continuous ``V`` crosses 1 in ``(n/K, (n+1)/K]`` spikes
  in the update phase of tick ``n`` (up to the input rounding); the contract delivers that
  spike to the next layer in tick ``n + 1``, i.e. at time ``ceil(t_out K) / K``: each layer
  delays a spike by between 0 and 1 tick (on average half a tick) relative to continuous time.
  With ``L`` layers, continuous output time ``t`` appears near tick ``t K + L/2``.
* **decision**: the contract's ``FIRST_SPIKE`` (earliest tick, ties to the lowest index).
  Ties, which almost never happen in continuous time, become likely when ``K`` is small:
  this and the timing error above are what lower the accuracy at small ``K``.
* **horizon**: an inference runs ``ticks = ceil(horizon_tau * K) + L`` ticks; a
  continuous output spike later than ``horizon_tau`` counts as no spike (class -1, wrong).
* **quantization** (8 bits): integer weights ``round(W * s)``, threshold ``round(s)``
  with ``s = 127 / max|W|`` per layer; the current decays with the contract's rounding
  toward zero, which loses up to one LSB of ``i`` per tick (a small, systematic
  under-estimate of ``V`` that grows with ``K``, hence ``decay_bits`` and the state widths
  matter at large ``K``).

Entry points: :func:`float_description` (the network description that
:func:`spikeforge.compiler.quantize.quantize` accepts), :func:`integer_network`,
:func:`input_counts`, :func:`evaluate` (continuous, discrete float, golden accuracy),
:class:`WeightQuantizer` (quantization-aware training) and
``python -m spikeforge.model.ttfs_discrete`` (the accuracy-versus-K table).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np
import torch

from spikeforge.compiler.quantize import (
    float_network_from_description,
    float_reference_forward,
    integer_threshold,
    integer_weights,
    quantize,
    quantize_decay,
    weight_scale,
)
from spikeforge.ir.errors import ConfigError
from spikeforge.model.datasets import load_dataset
from spikeforge.model.ttfs import TTFSEncoding, TTFSNet, encode_ttfs, train_ttfs
from spikeforge.sim.network import run_network

DEFAULT_DECAY_BITS = 12
DEFAULT_HORIZON_TAU = 4.0


def _check_k(ticks_per_tau) -> int:
    if not isinstance(ticks_per_tau, (int, np.integer)) or isinstance(ticks_per_tau, bool) \
            or ticks_per_tau < 1:
        raise ConfigError(f"ticks_per_tau: must be a positive integer, got {ticks_per_tau!r}")
    return int(ticks_per_tau)


def alpha_q(ticks_per_tau: int, decay_bits: int = DEFAULT_DECAY_BITS) -> int:
    """Integer current decay ``round(exp(-1/K) * 2**decay_bits)``."""
    return quantize_decay(math.exp(-1.0 / _check_k(ticks_per_tau)), decay_bits)


def _weights(net) -> list[np.ndarray]:
    """``[n_in, n_out]`` float64 weights of each layer of a TTFSNet (the ones it computes
    with, :meth:`~spikeforge.model.ttfs.TTFSNet.deployed_weights`) or of a list of arrays."""
    if isinstance(net, TTFSNet):
        return [w.cpu().double().numpy() for w in net.deployed_weights()]
    return [np.asarray(w, dtype=np.float64) for w in net]


@dataclass(frozen=True)
class WeightQuantizer:
    """Quantization-aware training's weights: what :func:`integer_network` makes of a layer's
    ``w``, mapped back to the continuous network (:meth:`TTFSNet.quantize_as`).

    The golden model fires when ``sum_j w_int[j] (1 - alpha_q**n_j) / (1 - alpha_q) >=
    threshold_int`` with ``w_int = round(W s)`` (clipped to ``+-(2**(bits-1) - 1)``),
    ``threshold_int = round(s)``, ``W = w (1 - alpha_q)`` and the layer's scale ``s``
    (:func:`~spikeforge.compiler.quantize.weight_scale`, here of ``percentile``). Against the
    continuous threshold 1 that is the weight

        w_q = w_int / threshold_int / (1 - alpha_q),

    computed with the compiler's own functions, so :func:`integer_network` of ``w_q`` (no
    percentile: its largest weight is already the +-(2**(bits-1) - 1) step) gives back
    ``w_int`` and ``threshold_int``. The gradient passes straight through to ``w``. The
    scale follows ``w`` but carries no gradient. Not modelled: the contract's current decay
    rounding toward zero, and the tick grid of the hidden spikes."""

    ticks_per_tau: int
    weight_bits: int = 8
    decay_bits: int = DEFAULT_DECAY_BITS
    percentile: float | None = None

    def __post_init__(self):
        _check_k(self.ticks_per_tau)
        if not isinstance(self.weight_bits, int) or not 2 <= self.weight_bits <= 16:
            raise ConfigError(f"weight_bits: must be in 2..16, got {self.weight_bits!r}")
        if self.percentile is not None and not 0 < self.percentile <= 100:
            raise ConfigError(f"percentile: must be in (0, 100], got {self.percentile!r}")

    def _gain(self) -> float:  # W = w * gain, as float_description maps it
        return 1.0 - alpha_q(self.ticks_per_tau, self.decay_bits) / (1 << self.decay_bits)

    def integers(self, w) -> tuple[np.ndarray, int]:
        """``(w_int, threshold_int)`` of a layer's ``[n_in, n_out]`` weights."""
        big_w = torch.as_tensor(w).detach().cpu().double().numpy() * self._gain()
        scale = weight_scale(big_w, self.weight_bits, self.percentile)
        if scale == 0:
            return np.zeros(big_w.shape, dtype=np.int64), 1
        return (integer_weights(big_w, scale, self.weight_bits)[0],
                integer_threshold(1.0, scale))

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        w_int, threshold = self.integers(w)
        w_q = torch.as_tensor(w_int / threshold / self._gain(), dtype=w.dtype)
        return w + (w_q - w).detach()


def float_description(net, ticks_per_tau: int, decay_bits: int = DEFAULT_DECAY_BITS) -> dict:
    """The discrete-time float network (see the module docstring) as a description that
    :func:`spikeforge.compiler.quantize.float_network_from_description` accepts:
    ``{"layers": [{"weight": W.T, "alpha", "beta": 1, "threshold": 1, "reset": "zero",
    "fire_once": True}, ...], "decision": "first-spike"}`` with ``W = w (1 - alpha_q)``."""
    k = _check_k(ticks_per_tau)
    one = 1 << decay_bits
    a = alpha_q(k, decay_bits) / one  # exactly representable: quantize() gives back alpha_q
    layers = [{"weight": (w * (1.0 - a)).T.copy(), "alpha": a, "beta": 1.0, "threshold": 1.0,
               "reset": "zero", "fire_once": True} for w in _weights(net)]
    return {"layers": layers, "decision": "first-spike"}


def inference_ticks(ticks_per_tau: int, n_layers: int, horizon_tau: float = DEFAULT_HORIZON_TAU) -> int:
    return int(math.ceil(horizon_tau * _check_k(ticks_per_tau))) + n_layers


def integer_network(net, ticks_per_tau: int, weight_bits: int = 8,
                    decay_bits: int = DEFAULT_DECAY_BITS, horizon_tau: float = DEFAULT_HORIZON_TAU,
                    percentile: float | None = None, weight_shift: int = 0):
    """:class:`~spikeforge.compiler.quantize.QuantizationResult` of the discrete network
    (``.network`` is the :class:`IntegerNetwork` the golden model runs; ``weight_shift``:
    the contract's, the same weights with a finer current)."""
    desc = float_description(net, ticks_per_tau, decay_bits)
    ticks = inference_ticks(ticks_per_tau, len(desc["layers"]), horizon_tau)
    return quantize(desc, weight_bits=weight_bits, decay_bits=decay_bits, ticks=ticks,
                    percentile=percentile, weight_shift=weight_shift)


def input_ticks(x, max_value: int, ticks_per_tau: int, t_max: float = 1.0,
                zero_is_silent: bool = False) -> np.ndarray:
    """Tick of each input's single event: ``round(t_max (1 - p / max_value) * K)``
    (:meth:`~spikeforge.model.ttfs.TTFSEncoding.ticks`; ``-1``: a silent pixel)."""
    return TTFSEncoding(t_max, _check_k(ticks_per_tau), zero_is_silent).ticks(x, max_value)


def input_counts(x, max_value: int, ticks_per_tau: int, t_max: float = 1.0,
                 ticks: int | None = None, zero_is_silent: bool = False) -> np.ndarray:
    """``[batch, ticks, n_inputs]`` uint8 event counts (at most one event per input;
    :meth:`~spikeforge.model.ttfs.TTFSEncoding.counts`)."""
    encoding = TTFSEncoding(t_max, _check_k(ticks_per_tau), zero_is_silent)
    return encoding.counts(x, max_value, ticks)


@dataclass
class DiscreteResult:
    """Accuracies (fractions) of one ``K``; statistics are means per test sample."""

    ticks_per_tau: int
    alpha: int
    ticks: int
    continuous: float
    discrete_float: float
    golden: float
    golden_no_spike: float  #: fraction of test samples without any output spike
    golden_wide: dict  #: {weight_bits: golden accuracy} for the extra widths asked for
    hidden_spikes: float  #: hidden spikes before the decision (golden)
    weights_read: list  #: weight reads per layer until the decision / the layer's weights (golden)
    decision_tick: float
    thresholds: list
    seconds: float


def continuous_accuracy(net, x, y, max_value: int, t_max: float = 1.0, batch: int = 256,
                        encoding: TTFSEncoding | None = None) -> float:
    """Accuracy of the PyTorch network on inputs encoded with ``encoding`` (default:
    continuous times ``t_max (1 - p / max)``)."""

    z = encode_ttfs(x, max_value, t_max, encoding)
    y = torch.as_tensor(np.asarray(y))
    correct = 0
    with torch.no_grad():
        for s in range(0, len(z), batch):
            correct += (TTFSNet.predict_from(net(z[s:s + batch])) == y[s:s + batch]).sum().item()
    return correct / max(1, len(z))


def evaluate(net, x, y, max_value: int, ticks_per_tau: int, weight_bits: int = 8,
             decay_bits: int = DEFAULT_DECAY_BITS, horizon_tau: float = DEFAULT_HORIZON_TAU,
             t_max: float = 1.0, batch_size: int = 256, float_discrete: bool = True,
             extra_weight_bits=(), encoding: TTFSEncoding | None = None,
             weight_shift: int = 0) -> DiscreteResult:
    """Continuous, discrete-float and ``weight_bits`` golden accuracy of ``net`` at ``K``
    (and the golden accuracy at each of ``extra_weight_bits``; ``weight_shift``: the
    ``weight_bits`` network's, the contract's). ``encoding``: the input code
    the network was trained with (its ``t_max`` and ``zero_is_silent`` also shape the events
    of the discrete runs; default continuous times ``t_max (1 - p / max)``)."""
    start = time.perf_counter()
    encoding = TTFSEncoding(t_max) if encoding is None else encoding
    on_grid = replace(encoding, ticks_per_tau=_check_k(ticks_per_tau))
    y = np.asarray(y)
    desc = float_description(net, ticks_per_tau, decay_bits)
    fnet = float_network_from_description(desc)
    q = integer_network(net, ticks_per_tau, weight_bits, decay_bits, horizon_tau,
                        weight_shift=weight_shift)
    ticks = inference_ticks(ticks_per_tau, len(desc["layers"]), horizon_tau)
    wide = {b: integer_network(net, ticks_per_tau, b, decay_bits, horizon_tau).network
            for b in extra_weight_bits}
    wide_dec = {b: [] for b in wide}
    fl, gd, dt, hs = [], [], [], []
    reads = []
    for s in range(0, len(y), batch_size):
        counts = on_grid.counts(x[s:s + batch_size], max_value, ticks)
        if float_discrete:
            fl.append(float_reference_forward(fnet, counts, ticks).decision)
        for b, network in wide.items():
            wide_dec[b].append(run_network(network, counts, ticks).decision)
        trace = run_network(q.network, counts, ticks)
        st = trace.statistics()
        gd.append(trace.decision)
        dt.append(trace.decision_tick)
        hs.append(st.hidden_spikes)
        sizes = np.array([L.n_inputs * L.n_neurons for L in q.network.layers], dtype=np.float64)
        reads.append(st.synaptic_events / sizes[None, :])
    gd = np.concatenate(gd)
    return DiscreteResult(
        ticks_per_tau, alpha_q(ticks_per_tau, decay_bits), ticks,
        continuous_accuracy(net, x, y, max_value, encoding=encoding),
        float(np.mean(np.concatenate(fl) == y)) if float_discrete else float("nan"),
        float(np.mean(gd == y)), float(np.mean(gd == -1)),
        {b: float(np.mean(np.concatenate(d) == y)) for b, d in wide_dec.items()},
        float(np.concatenate(hs).mean()), np.concatenate(reads).mean(axis=0).tolist(),
        float(np.concatenate(dt).mean()), [L.params.threshold for L in q.network.layers],
        time.perf_counter() - start)


def markdown_table(results, weight_bits: int = 8, weight_shift: int = 0) -> str:
    wide = list(results[0].golden_wide) if results else []
    shift = f" << {weight_shift}" if weight_shift else ""
    lines = ["| K (ticks/tau) | alpha (/2**decay_bits) | ticks | continuous | discrete float | "
             f"{weight_bits}-bit golden{shift} | " + "".join(f"{b}-bit golden | " for b in wide)
             + "no spike | hidden spikes | weights read (per layer) | thresholds |",
             "|---" * (10 + len(wide)) + "|"]
    for r in results:
        lines.append(f"| {r.ticks_per_tau} | {r.alpha} | {r.ticks} | {r.continuous:.4f} | "
                     f"{r.discrete_float:.4f} | {r.golden:.4f} | "
                     + "".join(f"{r.golden_wide[b]:.4f} | " for b in wide)
                     + f"{r.golden_no_spike:.4f} | "
                     f"{r.hidden_spikes:.1f} | {' / '.join(f'{f:.3f}' for f in r.weights_read)} | "
                     f"{' / '.join(str(t) for t in r.thresholds)} |")
    return "\n".join(lines)


def main(argv=None):
    """``python -m spikeforge.model.ttfs_discrete [--dataset digits] [--k 16 32 64 128]``"""
    import argparse

    ap = argparse.ArgumentParser(description="Continuous TTFS -> discrete ticks on the contract")
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--path", default=None)
    ap.add_argument("--hidden", type=int, nargs="*", default=[100])
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--k", type=int, nargs="*", default=[16, 32, 64, 128])
    ap.add_argument("--weight-bits", type=int, default=8)
    ap.add_argument("--weight-shift", type=int, default=0,
                    help="the --weight-bits network's event phase adds w << S")
    ap.add_argument("--extra-weight-bits", type=int, nargs="*", default=[12])
    ap.add_argument("--decay-bits", type=int, default=DEFAULT_DECAY_BITS)
    ap.add_argument("--horizon", type=float, default=DEFAULT_HORIZON_TAU)
    ap.add_argument("--max-train", type=int, default=None)
    ap.add_argument("--max-test", type=int, default=None)
    ap.add_argument("--no-float", action="store_true", help="skip the (slow) discrete float run")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    ds = load_dataset(args.dataset, path=args.path)
    r = train_ttfs(ds, tuple(args.hidden), args.epochs, max_train=args.max_train)
    print(f"{ds.name}: trained hidden={args.hidden} epochs={args.epochs}: continuous test acc "
          f"{r.test_accuracy:.4f} ({r.seconds:.1f} s)")
    x, y = ds.test_x[:args.max_test], ds.test_y[:args.max_test]
    results = [evaluate(r.net, x, y, ds.max_value, k, args.weight_bits, args.decay_bits,
                        args.horizon, float_discrete=not args.no_float,
                        extra_weight_bits=args.extra_weight_bits,
                        weight_shift=args.weight_shift) for k in args.k]
    print(markdown_table(results, args.weight_bits, args.weight_shift))


if __name__ == "__main__":
    main()
