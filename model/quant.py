"""Quantized LIF network whose forward pass *is* the arithmetic contract.

:class:`QuantLIFNet` runs :func:`spikeforge.sim.golden.update_phase` on torch int64 tensors
with integer weights, so its spikes are, bit for bit and tick for tick, those of
``GoldenCore.of(CoreConfig(...)).run(...)`` and of the RTL (the tests check the first equality).
Each layer is one core: ``weights[j, n]`` signed ``weight_bits`` integers, one
:class:`~spikeforge.ir.params.NeuronParams` per layer; a spike of layer ``l`` in tick ``t``
is an input event of layer ``l + 1`` in tick ``t + 1``.

Training through it (quantization-aware training): next to the integer state runs a float
*shadow* with the contract's recursion in real numbers
(``i = alpha/2**d * i + x``, ``v = beta/2**d * v + i``, ...), whose **values are replaced by the
integer ones** (``shadow = int + (shadow - shadow.detach())``) so the forward values are the
contract's exactly while gradients flow through the float recursion:

* weights: parameters are floats in integer units; the forward uses
  ``w_q = clamp(round(w))`` with a straight-through estimator (``dw_q/dw = 1``);
* spikes: the contract's Heaviside, with the surrogate derivative of
  :func:`spikeforge.model.lif.spike_fn` at ``(v - theta) / threshold``.

:func:`quantize_lif_net` turns a trained float :class:`~spikeforge.model.lif.LIFNet` into a
:class:`QuantLIFNet` with the compiler's quantization rule
(:func:`spikeforge.compiler.quantize.quantize`: per layer ``scale = (2**(weight_bits-1) - 1) /
max|W|``, weights, threshold and ``adapt_step`` times ``scale`` rounded half to even, decays
``round(k * 2**decay_bits)``) at 16-bit current and membrane.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from spikeforge.compiler.quantize import quantize
from spikeforge.ir.core import CoreConfig
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.params import NeuronParams, Reset, signed_range
from spikeforge.model.datasets import load_dataset
from spikeforge.model.lif import LIFNet, encode_dataset, lif_loss, spike_fn, train_lif
from spikeforge.sim.golden import CoreState, GoldenCore, decay_array, saturate_array, update_phase


def _ste_round(w: torch.Tensor, lo: int, hi: int) -> torch.Tensor:
    q = torch.round(w).clamp(lo, hi)
    return w + (q - w).detach()


class QuantLIFLayer(nn.Module):
    """One core: float weight parameters in integer units, and the core's ``NeuronParams``."""

    def __init__(self, weights, params: NeuronParams, surrogate: str = "fast_sigmoid",
                 surrogate_scale: float | None = None):
        super().__init__()
        if not isinstance(params, NeuronParams):
            raise ConfigError(f"params: must be a NeuronParams, got {type(params).__name__}")
        w = torch.as_tensor(np.asarray(weights).astype(np.float32))  # a writable copy
        if w.ndim != 2:
            raise ConfigError(f"weights: must be [n_inputs, n_neurons], got shape {list(w.shape)}")
        self.w = nn.Parameter(w.clone())
        self.params = params
        self.surrogate, self.surrogate_scale = surrogate, surrogate_scale

    def int_weights(self) -> np.ndarray:
        lo, hi = signed_range(self.params.weight_bits)
        return torch.round(self.w.detach()).clamp(lo, hi).to(torch.int64).numpy()

    def core(self) -> CoreConfig:
        return CoreConfig(self.w.shape[1], self.w.shape[0], self.params, self.int_weights())

    def forward(self, s_in: torch.Tensor):
        """``s_in [ticks, batch, n_in]`` (0/1) -> ``(spikes float [ticks, batch, n], trace)``;
        ``trace`` holds the integer ``spikes`` (bool) and ``v`` ``[ticks, batch, n]``."""
        p = self.params
        one = float(p.one)
        lo, hi = signed_range(p.weight_bits)
        wq = _ste_round(self.w, lo, hi)
        ticks, batch, _ = s_in.shape
        n = wq.shape[1]
        state = CoreState.zeros((batch, n), like=torch.zeros(1, device=s_in.device))
        cur = torch.zeros(batch, n, dtype=wq.dtype, device=s_in.device)
        mem = torch.zeros_like(cur)
        out, int_spikes, int_v = [], [], []
        for t in range(ticks):
            x = s_in[t] @ wq                                   # exact integers (float)
            state.i = state.i + torch.round(x.detach()).to(torch.int64)
            # pre-reset membrane (for the surrogate only; the spikes come from update_phase)
            i_sat = saturate_array(state.i, p.current_bits)
            v_pre = saturate_array(decay_array(state.v, p.beta, p.decay_bits) + i_sat,
                                   p.membrane_bits)
            theta = p.threshold + state.a if p.adaptive else torch.full_like(state.v, p.threshold)
            state, spikes = update_phase(state, p)
            # float shadow, values pinned to the contract's integers
            cur = p.alpha / one * cur + x
            cur = i_sat.to(cur.dtype) + (cur - cur.detach())
            mem = p.beta / one * mem + cur
            mem = v_pre.to(mem.dtype) + (mem - mem.detach())
            th = theta.to(mem.dtype)
            surr = spike_fn((mem - th) / p.threshold, self.surrogate, self.surrogate_scale)
            s = spikes.to(mem.dtype) + (surr - surr.detach())
            mem = mem - s * th if p.reset is Reset.SUBTRACT else mem * (1 - s)
            mem = state.v.to(mem.dtype) + (mem - mem.detach())
            out.append(s)
            int_spikes.append(spikes)
            int_v.append(state.v)
        return torch.stack(out), {"spikes": torch.stack(int_spikes), "v": torch.stack(int_v)}


class QuantLIFNet(nn.Module):
    """A stack of :class:`QuantLIFLayer` (one core each), one tick of delay per layer.
    Classification by spike count, ties to the lowest index (``Decision.SPIKE_COUNT``)."""

    def __init__(self, layers):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        for a, b in zip(self.layers[:-1], self.layers[1:]):
            if a.w.shape[1] != b.w.shape[0]:
                raise ConfigError(f"layers: {a.w.shape[1]} neurons feed a layer with "
                                  f"{b.w.shape[0]} inputs")

    def forward(self, spikes_in: torch.Tensor, record: bool = False):
        if spikes_in.ndim != 3 or spikes_in.shape[-1] != self.layers[0].w.shape[0]:
            raise ConfigError(f"spikes_in: expected [ticks, batch, {self.layers[0].w.shape[0]}], "
                              f"got {list(spikes_in.shape)}")
        s = spikes_in.to(self.layers[0].w.dtype)
        traces = []
        for k, layer in enumerate(self.layers):
            if k > 0:
                s = torch.cat([torch.zeros_like(s[:1]), s[:-1]])
            s, trace = layer(s)
            traces.append(trace)
        return (s, traces) if record else s

    def cores(self) -> list[CoreConfig]:
        return [layer.core() for layer in self.layers]

    def golden_run(self, spikes_in: torch.Tensor):
        """Run the same network on the golden model, core by core: per layer the
        :class:`~spikeforge.sim.golden.Trace` (batched ``[batch, ticks, n]``)."""
        counts = spikes_in.detach().cpu().numpy().transpose(1, 0, 2).astype(np.int64)
        traces = []
        for k, core in enumerate(self.cores()):
            if k > 0:
                prev = traces[-1].spikes.astype(np.int64)
                counts = np.concatenate([np.zeros_like(prev[:, :1]), prev[:, :-1]], axis=1)
            traces.append(GoldenCore.of(core).run(counts))
        return traces

    @staticmethod
    def predict_from(spikes_out: torch.Tensor) -> torch.Tensor:
        return torch.argmax(spikes_out.detach().sum(0), dim=1)


def quantize_lif_net(net: LIFNet, weight_bits: int = 8, decay_bits: int = 12,
                     current_bits: int = 16, membrane_bits: int = 16,
                     adapt_bits: int = 8) -> QuantLIFNet:
    """Integer twin of a float :class:`LIFNet`, by the one quantization rule of
    :func:`spikeforge.compiler.quantize.quantize`, at fixed state widths: training changes the
    weights, so the widths cannot follow their worst case. ``qnet.quantization`` is that
    function's report, i.e. the figures of exactly the integers this network starts from."""
    result = quantize(net.description(), weight_bits=weight_bits, decay_bits=decay_bits,
                      current_bits=current_bits, membrane_bits=membrane_bits,
                      adapt_bits=adapt_bits)
    layers = [QuantLIFLayer(layer.weights, layer.params, lif.surrogate, lif.surrogate_scale)
              for layer, lif in zip(result.network.layers, net.lifs)]
    qnet = QuantLIFNet(layers)
    qnet.quantization = result
    return qnet


def train_quant(qnet: QuantLIFNet, dataset, epochs: int = 2, encoder: str = "rate",
                ticks: int = 16, batch_size: int = 64, lr: float = 0.5, seed: int = 0,
                loss_scale: float = 0.3, progress: bool = True, max_train: int | None = None):
    """Quantization-aware fine-tuning of ``qnet`` (Adam on the integer-unit weights, so
    ``lr`` is in weight LSBs). Returns ``(train acc, test acc, seconds, history)``;
    accuracies are those of the integer forward pass, i.e. of the hardware."""
    from tqdm.auto import tqdm

    x_tr, y_tr = dataset.train_x, dataset.train_y
    if max_train is not None:
        x_tr, y_tr = x_tr[:max_train], y_tr[:max_train]
    y_tr, y_te = torch.as_tensor(y_tr), torch.as_tensor(dataset.test_y)
    te = encode_dataset(encoder, dataset.test_x, dataset.max_value, ticks, seed)
    opt = torch.optim.Adam(qnet.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    history, start = [], time.perf_counter()
    acc = lambda s, y: quant_accuracy(qnet, s, y)  # noqa: E731
    bar = tqdm(range(epochs), desc=f"qat {dataset.name}", disable=not progress)
    tr = None
    for epoch in bar:
        if tr is None or encoder == "rate":
            tr = encode_dataset(encoder, x_tr, dataset.max_value, ticks, seed + epoch)
        perm = torch.randperm(tr.shape[1], generator=g)
        total = 0.0
        for s in range(0, len(perm), batch_size):
            idx = perm[s:s + batch_size]
            loss = lif_loss(qnet(tr[:, idx]), y_tr[idx], loss_scale)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        history.append((total / len(perm), acc(tr, y_tr), acc(te, y_te)))
        bar.set_postfix(loss=f"{history[-1][0]:.3f}", test=f"{history[-1][2]:.3f}")
    tr_acc, te_acc = (history[-1][1], history[-1][2]) if history else (acc(tr, y_tr) if tr is not None else 0.0, acc(te, y_te))
    return tr_acc, te_acc, time.perf_counter() - start, history


def quant_accuracy(qnet: QuantLIFNet, spikes: torch.Tensor, y: torch.Tensor, batch: int = 512) -> float:
    correct = 0
    with torch.no_grad():
        for s in range(0, spikes.shape[1], batch):
            out = qnet(spikes[:, s:s + batch])
            correct += (QuantLIFNet.predict_from(out) == y[s:s + batch]).sum().item()
    return correct / max(1, spikes.shape[1])


def main(argv=None):
    """``python -m spikeforge.model.quant``: train a float LIFNet, quantize it, fine-tune with
    QAT, and check the integer forward pass against the golden model on the test set."""
    import argparse

    ap = argparse.ArgumentParser(description="Float LIF -> integer network on the contract")
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--path", default=None)
    ap.add_argument("--encoder", default="rate", choices=["rate", "latency"])
    ap.add_argument("--hidden", type=int, nargs="*", default=[100])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--qat-epochs", type=int, default=2)
    ap.add_argument("--ticks", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    ds = load_dataset(args.dataset, path=args.path)
    r = train_lif(ds, tuple(args.hidden), args.epochs, args.encoder, args.ticks)
    qnet = quantize_lif_net(r.net)
    te = encode_dataset(args.encoder, ds.test_x, ds.max_value, args.ticks, 0)
    y = torch.as_tensor(ds.test_y)
    q0 = quant_accuracy(qnet, te, y)
    _, q1, secs, _ = train_quant(qnet, ds, args.qat_epochs, args.encoder, args.ticks)
    out = qnet(te).detach()
    golden = qnet.golden_run(te)[-1].spikes
    same = np.array_equal(golden, out.numpy().transpose(1, 0, 2).astype(bool))
    print(f"{ds.name} ({args.encoder}): float test acc {r.test_accuracy:.4f} ({r.seconds:.1f} s); "
          f"quantized {q0:.4f}; after {args.qat_epochs} QAT epochs {q1:.4f} ({secs:.1f} s); "
          f"integer forward == golden on all {len(y)} test images: {same}")


if __name__ == "__main__":
    main()
