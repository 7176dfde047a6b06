"""Discrete-time current-based LIF neurons with surrogate gradients (float, BPTT).

The float twin of the contract's neuron (:mod:`spikeforge.sim.contract`), in the same
order of operations, one tick::

    i[t]     = alpha * i[t-1] + x[t]                 # synaptic current (x: weighted input)
    v[t]     = beta * v[t-1] + i[t]                  # membrane
    theta[t] = threshold + a[t-1]                    # a = 0 unless adaptive
    s[t]     = H(v[t] - theta[t])                    # spike (Heaviside; surrogate gradient)
    v[t]     = v[t] - s[t] * theta[t]   (reset="subtract")   or   v[t] * (1 - s[t])  (reset="zero")
    a[t]     = rho * a[t-1] + adapt_step * s[t]      # adaptive threshold (Bellec et al. 2018)

(the contract decays ``i`` at the end of a tick, which is the same recursion). In a
:class:`LIFNet` a spike emitted in tick ``t`` reaches the next layer in tick ``t + 1``, as in
the hardware. The backward pass of ``H`` uses a surrogate derivative (Neftci, Mostafa &
Zenke 2019; snnTorch names):

* ``fast_sigmoid``: ``dS/dv = 1 / (slope * |v - theta| + 1)**2`` (Zenke & Ganguli 2018),
* ``arctan``: ``dS/dv = (alpha_sg / 2) / (1 + (pi / 2 * alpha_sg * (v - theta))**2)``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
from torch import nn

from spikeforge.ir.errors import ConfigError
from spikeforge.model.datasets import load_dataset
from spikeforge.model.encoders import latency_encode, rate_encode
from spikeforge.model.ttfs import TrainResult

SURROGATES = ("fast_sigmoid", "arctan")
RESETS = ("subtract", "zero")


class _Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, kind: str, scale: float):
        ctx.save_for_backward(x)
        ctx.kind, ctx.scale = kind, scale
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if ctx.kind == "fast_sigmoid":
            d = 1.0 / (ctx.scale * x.abs() + 1.0) ** 2
        else:
            d = (ctx.scale / 2) / (1 + (math.pi / 2 * ctx.scale * x) ** 2)
        return grad * d, None, None


def spike_fn(x: torch.Tensor, surrogate: str = "fast_sigmoid", scale: float | None = None):
    """Heaviside ``x >= 0`` forward, surrogate derivative backward (``scale``: the slope of
    the fast sigmoid, default 25, or ``alpha_sg`` of arctan, default 2)."""
    if surrogate not in SURROGATES:
        raise ConfigError(f"surrogate: must be one of {SURROGATES}, got {surrogate!r}")
    if scale is None:
        scale = 25.0 if surrogate == "fast_sigmoid" else 2.0
    return _Spike.apply(x, surrogate, float(scale))


@dataclass
class LIFState:
    """State of a population, each ``[batch, n]``."""

    i: torch.Tensor
    v: torch.Tensor
    a: torch.Tensor

    @classmethod
    def zeros(cls, batch: int, n: int, like: torch.Tensor) -> "LIFState":
        z = torch.zeros(batch, n, dtype=like.dtype, device=like.device)
        return cls(z, z.clone(), z.clone())


class LIF(nn.Module):
    """A population of current-based LIF neurons (no weights; feed it weighted input).

    ``alpha``, ``beta``, ``rho`` in [0, 1] are per-tick decay factors, ``threshold > 0``,
    ``reset`` ``"subtract"`` or ``"zero"``; ``adaptive`` enables ``theta = threshold + a``.
    ``detach_reset`` stops the gradient through the reset term (snnTorch option)."""

    def __init__(self, alpha: float = 0.5, beta: float = 0.8, threshold: float = 1.0,
                 reset: str = "subtract", adaptive: bool = False, rho: float = 0.95,
                 adapt_step: float = 0.2, surrogate: str = "fast_sigmoid",
                 surrogate_scale: float | None = None, detach_reset: bool = False):
        super().__init__()
        for name, value in (("alpha", alpha), ("beta", beta), ("rho", rho)):
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name}: decay factor must be in [0, 1], got {value}")
        if not threshold > 0:
            raise ConfigError(f"threshold: must be positive, got {threshold}")
        if reset not in RESETS:
            raise ConfigError(f"reset: must be one of {RESETS}, got {reset!r}")
        if surrogate not in SURROGATES:
            raise ConfigError(f"surrogate: must be one of {SURROGATES}, got {surrogate!r}")
        if adapt_step < 0:
            raise ConfigError(f"adapt_step: must be >= 0, got {adapt_step}")
        self.alpha, self.beta, self.threshold = float(alpha), float(beta), float(threshold)
        self.reset, self.adaptive = reset, bool(adaptive)
        self.rho, self.adapt_step = float(rho), float(adapt_step)
        self.surrogate, self.surrogate_scale = surrogate, surrogate_scale
        self.detach_reset = detach_reset

    def forward(self, x: torch.Tensor, state: LIFState | None = None):
        """One tick: weighted input ``x [batch, n]`` -> ``(spikes [batch, n], new state)``."""
        if state is None:
            state = LIFState.zeros(x.shape[0], x.shape[1], x)
        i = self.alpha * state.i + x
        v = self.beta * state.v + i
        theta = self.threshold + state.a if self.adaptive else self.threshold
        s = spike_fn(v - theta, self.surrogate, self.surrogate_scale)
        r = s.detach() if self.detach_reset else s
        v = v - r * theta if self.reset == "subtract" else v * (1 - r)
        a = self.rho * state.a + self.adapt_step * s if self.adaptive else state.a
        return s, LIFState(i, v, a)

    def run(self, x_seq: torch.Tensor):
        """Weighted input ``[ticks, batch, n]`` -> ``(spikes, v, theta)``, each ``[ticks, batch, n]``."""
        state = None
        spikes, vs, thetas = [], [], []
        for x in x_seq:
            theta = (self.threshold + (state.a if state is not None else 0 * x)
                     if self.adaptive else torch.full_like(x, self.threshold))
            s, state = self(x, state)
            spikes.append(s)
            vs.append(state.v)
            thetas.append(theta)
        return torch.stack(spikes), torch.stack(vs), torch.stack(thetas)


class LIFNet(nn.Module):
    """Fully connected spiking network ``sizes = [n_in, hidden..., n_classes]``: each layer a
    bias-free ``nn.Linear`` followed by :class:`LIF`. Input spikes ``[ticks, batch, n_in]``;
    returns output spikes ``[ticks, batch, n_classes]`` and the output membrane. One tick of
    delay per layer (``delay=True``, as in the hardware): spikes of layer ``l`` at tick ``t``
    enter layer ``l + 1`` at tick ``t + 1``. Classification: most output spikes, ties to the
    lowest index (the contract's ``SPIKE_COUNT``)."""

    def __init__(self, sizes=(64, 100, 10), delay: bool = True, seed: int = 0, **lif_kwargs):
        super().__init__()
        if len(sizes) < 2 or any(not isinstance(s, int) or s < 1 for s in sizes):
            raise ConfigError(f"sizes: need at least [n_in, n_out] positive integers, got {sizes!r}")
        torch.manual_seed(seed)
        self.sizes = list(sizes)
        self.delay = delay
        self.fcs = nn.ModuleList(nn.Linear(a, b, bias=False) for a, b in zip(sizes[:-1], sizes[1:]))
        self.lifs = nn.ModuleList(LIF(**lif_kwargs) for _ in self.fcs)

    def forward(self, spikes_in: torch.Tensor, record: bool = False, dropout_in: float = 0.0,
                dropout_hidden: float = 0.0, generator: torch.Generator | None = None):
        """``(output spikes, output membrane)`` over ``[ticks, batch, n]``; ``record``: also
        every layer's ``(spikes, v, theta)``. ``dropout_in`` / ``dropout_hidden``: training
        only, each input event / hidden spike dropped independently per tick
        (:func:`drop_spikes`, masks drawn from ``generator``); the deployed network has none."""
        if spikes_in.ndim != 3 or spikes_in.shape[-1] != self.sizes[0]:
            raise ConfigError(f"spikes_in: expected [ticks, batch, {self.sizes[0]}], got "
                              f"{list(spikes_in.shape)}")
        s = drop_spikes(spikes_in, dropout_in, generator)
        layers = []
        last = len(self.fcs) - 1
        for k, (fc, lif) in enumerate(zip(self.fcs, self.lifs)):
            if k > 0 and self.delay:
                s = torch.cat([torch.zeros_like(s[:1]), s[:-1]])
            s, v, theta = lif.run(fc(s))
            layers.append((s, v, theta))
            if k < last:
                s = drop_spikes(s, dropout_hidden, generator)
        return (s, v, layers) if record else (s, v)

    @staticmethod
    def predict_from(spikes_out: torch.Tensor) -> torch.Tensor:
        return torch.argmax(spikes_out.sum(0), dim=1)  # argmax: first maximum, lowest index

    def description(self) -> dict:
        """The float network description :func:`spikeforge.compiler.quantize.quantize`
        takes (:func:`spike_count_description`)."""
        return spike_count_description(zip(self.fcs, self.lifs))


def spike_count_description(layers) -> dict:
    """The description :func:`spikeforge.compiler.quantize.quantize` takes, of ``layers``:
    ``(nn.Linear, neuron)`` pairs, the neuron having ``alpha``, ``beta``, ``threshold`` and
    ``reset``, and for an adaptive neuron (``adaptive`` true) ``rho`` and ``adapt_step`` (weights
    ``[out, in]`` float64, spike-count decision). A non-adaptive neuron's ``rho`` is left out:
    it has no adaptation to decay, and the quantizer gives it the canonical "no decay"."""
    return {"layers": [_layer_description(fc, neuron) for fc, neuron in layers],
            "decision": "spike-count"}


def _layer_description(fc, neuron) -> dict:
    layer = {"weight": fc.weight.detach().double().numpy(), "alpha": neuron.alpha,
             "beta": neuron.beta, "threshold": neuron.threshold, "reset": neuron.reset}
    if getattr(neuron, "adaptive", False):
        layer.update(adaptive=True, rho=neuron.rho, adapt_step=neuron.adapt_step)
    return layer


def drop_spikes(s: torch.Tensor, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Inverted dropout: each element of ``s`` zeroed with probability ``p``, the rest scaled by
    ``1 / (1 - p)`` so that a layer's expected input is the deployed network's (``s`` itself
    when ``p`` is 0)."""
    if not p:
        return s
    keep = torch.rand(s.shape, generator=generator, dtype=s.dtype, device=s.device) >= p
    return s * keep / (1.0 - p)


def lif_loss(spikes_out: torch.Tensor, target: torch.Tensor, scale: float = 1.0,
             label_smoothing: float = 0.0) -> torch.Tensor:
    """Cross-entropy of the softmax over output spike counts (snnTorch ``ce_count_loss``),
    the targets smoothed by ``label_smoothing``."""
    return nn.functional.cross_entropy(scale * spikes_out.sum(0), target,
                                       label_smoothing=label_smoothing)


def encode_dataset(kind: str, x, max_value: int, ticks: int, seed: int = 0) -> torch.Tensor:
    if kind == "rate":
        return rate_encode(x, ticks, max_value=max_value, seed=seed)
    if kind == "latency":
        return latency_encode(x, ticks, max_value=max_value)
    raise ConfigError(f"encoder: must be 'rate' or 'latency', got {kind!r}")


def _lif_accuracy(net, spikes, y, batch=512):
    net.eval()
    correct = 0
    with torch.no_grad():
        for s in range(0, spikes.shape[1], batch):
            out, _ = net(spikes[:, s:s + batch])
            correct += (LIFNet.predict_from(out) == y[s:s + batch]).sum().item()
    return correct / max(1, spikes.shape[1])


def train_lif(dataset, hidden=(100,), epochs: int = 10, encoder: str = "rate", ticks: int = 16,
              batch_size: int = 64, lr: float = 5e-3, seed: int = 0, progress: bool = True,
              max_train: int | None = None, net: LIFNet | None = None, loss_scale: float = 0.3,
              cosine: bool = False, **lif_kwargs) -> TrainResult:
    """Train a :class:`LIFNet` with BPTT and Adam on a dataset (spike-count cross-entropy).
    Rate-coded inputs are re-drawn every epoch (LFSR seed ``seed + epoch``); the test set
    uses seed ``seed``. ``cosine``: anneal the learning rate from ``lr`` to 0 over ``epochs``
    (otherwise constant)."""
    from tqdm.auto import tqdm

    if isinstance(hidden, int):
        hidden = (hidden,)
    x_tr, y_tr = dataset.train_x, dataset.train_y
    if max_train is not None:
        x_tr, y_tr = x_tr[:max_train], y_tr[:max_train]
    y_tr, y_te = torch.as_tensor(y_tr), torch.as_tensor(dataset.test_y)
    if net is None:
        net = LIFNet([dataset.n_features, *hidden, dataset.n_classes], seed=seed, **lif_kwargs)
    te = encode_dataset(encoder, dataset.test_x, dataset.max_value, ticks, seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs)) if cosine else None
    g = torch.Generator().manual_seed(seed)
    history = []
    start = time.perf_counter()
    epoch_seconds = []
    bar = tqdm(range(epochs), desc=f"lif {dataset.name} ({encoder})", disable=not progress)
    tr = None
    for epoch in bar:
        if tr is None or encoder == "rate":
            tr = encode_dataset(encoder, x_tr, dataset.max_value, ticks, seed + epoch)
        epoch_start = time.perf_counter()
        net.train()
        perm = torch.randperm(tr.shape[1], generator=g)
        total = 0.0
        for s in range(0, len(perm), batch_size):
            idx = perm[s:s + batch_size]
            out, _ = net(tr[:, idx])
            loss = lif_loss(out, y_tr[idx], loss_scale)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        if sched is not None:
            sched.step()
        epoch_seconds.append(time.perf_counter() - epoch_start)
        acc_tr, acc_te = _lif_accuracy(net, tr, y_tr), _lif_accuracy(net, te, y_te)
        history.append((total / len(perm), acc_tr, acc_te))
        bar.set_postfix(loss=f"{total / len(perm):.3f}", train=f"{acc_tr:.3f}", test=f"{acc_te:.3f}")
    return TrainResult.of(net, time.perf_counter() - start, history, epoch_seconds)


def main(argv=None):
    """``python -m spikeforge.model.lif [--dataset digits] [--encoder rate] [--epochs 10]``"""
    import argparse

    ap = argparse.ArgumentParser(description="Train a current-based LIF network (BPTT)")
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--path", default=None)
    ap.add_argument("--encoder", default="rate", choices=["rate", "latency"])
    ap.add_argument("--hidden", type=int, nargs="*", default=[100])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--ticks", type=int, default=16)
    ap.add_argument("--lr", type=float, default=5e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-train", type=int, default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    ds = load_dataset(args.dataset, path=args.path)
    r = train_lif(ds, tuple(args.hidden), args.epochs, args.encoder, args.ticks, lr=args.lr,
                  max_train=args.max_train)
    print(f"{ds.name} ({args.encoder}, {args.ticks} ticks): hidden={args.hidden} "
          f"epochs={args.epochs} train acc {r.train_accuracy:.4f} test acc "
          f"{r.test_accuracy:.4f} in {r.seconds:.1f} s")


if __name__ == "__main__":
    main()

