"""ANN -> SNN conversion ("shadow training"): train a ReLU MLP, convert it to the contract's
integrate-and-fire network, quantize it like any other network.

The ANN is an MLP without biases (the contract's neurons have none): ``a_l = ReLU(W_l a_{l-1})``,
``a_0 = x / max_value`` in [0, 1]. The SNN runs the same weights on integrate-and-fire neurons
with reset by subtraction (Rueckauer et al. 2017), which the contract expresses as
``alpha = 0`` (the current holds one tick's input only), ``beta = 1`` (no leak),
``reset = subtract``: per tick ``v += W s_in; s = v >= theta; v -= theta * s``. Over T ticks
a neuron's spike rate approximates its ReLU activation divided by ``theta`` (clipped at one
spike per tick) when its input is a rate code of the previous layer.

**Data-based normalisation** (Diehl et al. 2015, the percentile variant of Rueckauer 2017):
with ``lambda_l`` the ``percentile`` of layer l's ReLU activations over training images
(``lambda_0 = 1``: the input rates are already in [0, 1]),

    W_l' = W_l * lambda_{l-1} / lambda_l,    theta = 1,

so that a rate of one spike per tick stands for ``lambda_l``: almost no neuron saturates, and
activations above the percentile are clipped. The output layer is read by spike count
(ties to the lowest index, the contract's ``SPIKE_COUNT``). Inputs are the project's LFSR
rate code (:func:`spikeforge.model.encoders.rate_encode`), which the board's input port can
reproduce.

The float SNN is :func:`spikeforge.compiler.quantize.float_reference_forward`; the 8-bit one
is :func:`spikeforge.compiler.quantize.quantize` with ``ticks`` (which bounds the membrane)
and the golden model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from spikeforge.compiler.quantize import quantize
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.params import Decision
from spikeforge.model.encoders import rate_encode

__all__ = ["train_ann", "ann_accuracy", "activation_scales", "convert", "rate_counts",
           "ConvertedNetwork", "convert_and_quantize"]


def _mlp(sizes, seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    layers = []
    for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out, bias=False))
        if l < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def train_ann(x: np.ndarray, y: np.ndarray, hidden=(256,), epochs: int = 10, seed: int = 0,
              lr: float = 1e-3, batch: int = 128, dropout_input: float = 0.0) -> nn.Sequential:
    """A bias-free ReLU MLP ``[features, *hidden, classes]`` trained with Adam on
    cross-entropy; ``x`` in [0, 1] (``[n, features]``), ``y`` integer labels."""
    if epochs < 1:
        raise ConfigError(f"epochs: must be at least 1, got {epochs}")
    hidden = tuple(int(h) for h in hidden)
    if not hidden or min(hidden) < 1:
        raise ConfigError(f"hidden: one or more positive layer sizes, got {hidden}")
    n_classes = int(np.max(y)) + 1
    net = _mlp((x.shape[1], *hidden, n_classes), seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    xt, yt = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(len(xt), generator=g).split(batch):
            xb = xt[idx]
            if dropout_input:
                xb = nn.functional.dropout(xb, dropout_input)
            loss = nn.functional.cross_entropy(net(xb), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.eval()


def _weights(net: nn.Sequential) -> list[np.ndarray]:
    """``[out, in]`` float64 weight matrices of the MLP's linear layers."""
    return [m.weight.detach().double().numpy() for m in net if isinstance(m, nn.Linear)]


@torch.no_grad()
def ann_accuracy(net: nn.Sequential, x: np.ndarray, y: np.ndarray) -> float:
    pred = net(torch.as_tensor(x, dtype=torch.float32)).argmax(1).numpy()
    return float((pred == np.asarray(y)).mean())


def activation_scales(net: nn.Sequential, x: np.ndarray, percentile: float = 99.9) -> list[float]:
    """``lambda_l`` of every layer: the ``percentile`` of its ReLU activations (the output
    layer's raw activations, clipped at zero) over the images ``x``."""
    if not 0 < percentile <= 100:
        raise ConfigError(f"percentile: must be in (0, 100], got {percentile}")
    scales, a = [], np.asarray(x, dtype=np.float64)
    for w in _weights(net):
        a = np.maximum(a @ w.T, 0.0)
        positive = a[a > 0]
        scales.append(float(np.percentile(positive, percentile)) if positive.size else 1.0)
    return scales


def convert(net: nn.Sequential, x_norm: np.ndarray, percentile: float = 99.9) -> list[dict]:
    """The float SNN (a description for :func:`spikeforge.compiler.quantize.quantize`):
    normalised weights ``W_l * lambda_{l-1} / lambda_l``, integrate-and-fire neurons with
    ``theta = 1``, subtract reset, no current carried over (``alpha = 0``)."""
    scales = activation_scales(net, x_norm, percentile)
    previous, layers = 1.0, []
    for w, lam in zip(_weights(net), scales):
        layers.append({"weight": w * previous / lam, "alpha": 0.0, "beta": 1.0,
                       "threshold": 1.0, "reset": "subtract"})
        previous = lam
    return layers


def rate_counts(x: np.ndarray, ticks: int, max_value: int, seed: int = 0) -> np.ndarray:
    """The LFSR rate code of images ``x [n, features]`` as event counts ``[n, ticks,
    features]`` (uint8), the input both SNNs and the hardware see."""
    spikes = rate_encode(x, ticks, max_value=max_value, seed=seed)
    return spikes.numpy().transpose(1, 0, 2).astype(np.uint8)


@dataclass
class ConvertedNetwork:
    description: list  #: the float SNN (weights [out, in] and parameters per layer)
    scales: list  #: lambda_l per layer
    network: object  #: the quantized IntegerNetwork
    ticks: int  #: input ticks the quantization's state widths were sized for


def convert_and_quantize(net: nn.Sequential, x_norm: np.ndarray, ticks: int,
                         percentile: float = 99.9, weight_bits: int = 8) -> ConvertedNetwork:
    """Convert and quantize to ``weight_bits`` (spike-count decision); the state widths are
    sized for ``ticks`` input ticks plus the network's depth."""
    description = convert(net, x_norm, percentile)
    run_ticks = ticks + len(description) - 1
    q = quantize(description, weight_bits=weight_bits, ticks=run_ticks,
                 decision=Decision.SPIKE_COUNT)
    return ConvertedNetwork(description, activation_scales(net, x_norm, percentile),
                            q.network, ticks)
