"""Time-to-first-spike networks with exact gradients (Mostafa 2017).

H. Mostafa, "Supervised learning based on temporal coding in spiking neural networks",
IEEE TNNLS 29(7), 2018 (arXiv:1606.08165).

Neuron
======
Non-leaky integrate-and-fire with exponentially decaying synaptic current (tau = 1) and
threshold 1::

    dI/dt = -I + sum_i w_i delta(t - t_i),      dV/dt = I,      spike when V >= 1.

Between input spikes ``V(t) = sum_{i: t_i <= t} w_i (1 - exp(-(t - t_i)))``. With
``z = exp(t)`` the first output spike, caused by the *causal set* ``C`` of inputs that
arrived before it, is

    z_out = sum_{i in C} w_i z_i / (sum_{i in C} w_i - 1).

Forward: sort the inputs by ``z``; for each prefix of ``k`` sorted inputs the candidate
``z_k = (sum w z) / (sum w - 1)`` is valid iff ``sum w > 1``, ``z_k >= z_(k)`` and
(``k`` is the last input or ``z_k < z_(k+1)``); the first valid prefix is ``C`` and gives the
spike, no valid prefix means no spike (``z_out = inf``). Inputs with ``z = inf`` (no spike)
are never in ``C``.

Gradients (exact, for ``i in C``; 0 otherwise)::

    dz_out/dw_i = (z_i - z_out) / (sum_C w - 1),      dz_out/dz_i = w_i / (sum_C w - 1).

:func:`ttfs_forward` computes ``z_out`` with sort, cumsum and masks. By default its
backward is :class:`TTFSFunction`, these closed-form Jacobians applied to the causal set
saved by the forward; with ``closed_form=False`` autograd runs through the masked formula
instead (the selection of ``C`` is piecewise constant, so it yields the same gradients).
The tests check both against the formulas and finite differences. Neurons that do not
spike give ``inf`` with zero, finite gradients. (If an output spike coincides exactly with
an input arrival, ``z_out == z_(k)``, that input is in ``C``.)

Training loss (Mostafa): cross-entropy of ``softmax(-z_out)`` plus
``K * sum_neurons max(0, 1 - sum_i w_i)``, which keeps every neuron's input weight sum
above threshold so that it can fire.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from spikeforge.ir.errors import ConfigError
from spikeforge.model.datasets import load_dataset

INF = float("inf")


def _check_shapes(z_in, w):
    if z_in.ndim != 2 or w.ndim != 2 or z_in.shape[1] != w.shape[0]:
        raise ConfigError(f"z_in, w: expected [batch, n_in] and [n_in, n_out], got "
                          f"{list(z_in.shape)} and {list(w.shape)}")


def _masked_forward(z_in: torch.Tensor, w: torch.Tensor):
    """``(z_out [B, M], causal set [B, M, N] bool)`` by sort, cumsum and masks; differentiable
    through the selected candidate. Work arrays are ``[B, M, N]`` so the cumulative sums run
    along contiguous memory."""
    z_sorted, order = torch.sort(z_in, dim=1)                       # [B, N]
    finite = torch.isfinite(z_sorted)
    z_safe = torch.where(finite, z_sorted, torch.zeros_like(z_sorted))
    w_sorted = w.T[:, order].transpose(0, 1)                        # [B, M, N]
    w_sorted = w_sorted * finite.unsqueeze(1)                       # absent inputs weigh 0
    sum_w = torch.cumsum(w_sorted, dim=2)
    sum_wz = torch.cumsum(w_sorted * z_safe.unsqueeze(1), dim=2)
    denom = sum_w - 1
    ok_denom = denom > 0
    cand = sum_wz / torch.where(ok_denom, denom, torch.ones_like(denom))
    z_next = torch.cat([z_sorted[:, 1:], torch.full_like(z_sorted[:, :1], INF)], dim=1)
    valid = (ok_denom & (cand >= z_safe.unsqueeze(1)) & (cand < z_next.unsqueeze(1))
             & finite.unsqueeze(1))
    # the first valid prefix: valid and no valid prefix before it
    first = valid & (torch.cumsum(valid.to(torch.int32), dim=2) == 1)
    spiked = first.any(dim=2)                                       # [B, M]
    z_out = (cand * first).sum(dim=2)
    z_out = torch.where(spiked, z_out, torch.full_like(z_out, INF))
    # causal set: sorted positions up to and including the first valid prefix
    in_c_sorted = torch.flip(torch.cumsum(torch.flip(first.to(torch.int32), [2]), dim=2), [2]) > 0
    causal = torch.zeros_like(in_c_sorted).scatter_(
        2, order.unsqueeze(1).expand_as(in_c_sorted), in_c_sorted)
    return z_out, causal


def _grouped_forward(z_in: torch.Tensor, w: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """``z_out [B, N]`` when the finite input times take few distinct values ``levels`` (sorted),
    as after mapping inputs onto a tick grid. Inputs at one level enter the causal set together,
    so the prefix sums need only be taken per level: ``per_level_w = onehot @ w`` is one
    ``[B, L, M] x [M, N]`` product instead of ``[B, M, N]`` sort-and-gather work arrays.
    Differentiable in ``w`` (autograd through the selected candidate gives the exact gradient
    ``(z_i - z_out) / (S - 1)``); ``z_in`` gets no gradient."""
    n_levels = len(levels)
    level_of = torch.searchsorted(levels, z_in.contiguous())      # inf -> n_levels
    onehot = torch.zeros(z_in.shape[0], n_levels + 1, z_in.shape[1], dtype=w.dtype)
    onehot.scatter_(1, level_of.unsqueeze(1), 1.0)
    onehot = onehot[:, :n_levels]                                   # [B, L, M]
    per_level_w = onehot @ w                                        # [B, L, N]
    sum_w = torch.cumsum(per_level_w, dim=1)
    sum_wz = torch.cumsum(per_level_w * levels.to(w.dtype)[None, :, None], dim=1)
    present = onehot.sum(2) > 0                                     # [B, L]
    z_present = torch.where(present, levels.to(z_in.dtype)[None, :], torch.full_like(present, INF,
                                                                                      dtype=z_in.dtype))
    # the next level at which an input of this sample arrives (inf: none)
    after = torch.flip(torch.cummin(torch.flip(z_present, [1]), dim=1).values, [1])
    z_next = torch.cat([after[:, 1:], torch.full_like(after[:, :1], INF)], dim=1)
    denom = sum_w - 1
    ok_denom = denom > 0
    cand = sum_wz / torch.where(ok_denom, denom, torch.ones_like(denom))
    valid = (ok_denom & present.unsqueeze(2) & (cand >= levels.to(cand.dtype)[None, :, None])
             & (cand < z_next.unsqueeze(2)))
    first = valid & (torch.cumsum(valid.to(torch.int32), dim=1) == 1)
    z_out = (cand * first).sum(dim=1)
    return torch.where(first.any(dim=1), z_out, torch.full_like(z_out, INF))


class TTFSFunction(torch.autograd.Function):
    """``z_out = TTFSFunction.apply(z_in, w)`` with the closed-form backward of Mostafa 2017
    (less memory and time than autograd through the masked formula; the tests check that
    both give the same gradients)."""

    @staticmethod
    def forward(ctx, z_in, w):
        with torch.no_grad():
            z_out, causal = _masked_forward(z_in, w)
        ctx.save_for_backward(z_in, w, z_out, causal)
        return z_out

    @staticmethod
    def backward(ctx, grad):
        z_in, w, z_out, causal = ctx.saved_tensors
        c = causal.to(w.dtype)                                      # [B, M, N]
        wt = w.T                                                    # [M, N]
        spiked = torch.isfinite(z_out)
        denom = (c * wt).sum(2) - 1                                 # sum_C w - 1 (> 0)
        coef = torch.where(spiked, grad / torch.where(spiked, denom, torch.ones_like(denom)),
                           torch.zeros_like(grad))
        zi = torch.where(torch.isfinite(z_in), z_in, torch.zeros_like(z_in))
        zo = torch.where(spiked, z_out, torch.zeros_like(z_out))
        cg = c * coef.unsqueeze(2)                                  # [B, M, N]
        grad_w = (cg * (zi.unsqueeze(1) - zo.unsqueeze(2))).sum(0).T  # (z_i - z_out) / (S - 1)
        grad_z = (cg * wt).sum(1)                                   # w_i / (S - 1)
        return grad_z, grad_w


GROUPED_MAX_LEVELS = 256


def ttfs_forward(z_in: torch.Tensor, w: torch.Tensor, closed_form: bool = True) -> torch.Tensor:
    """First spike ``z_out [batch, n_out]`` of non-leaky IF neurons with weights
    ``w [n_in, n_out]`` for input spike times ``z_in [batch, n_in]`` (``z = exp(t)``,
    ``inf`` = no spike). ``closed_form``: gradients from :class:`TTFSFunction`; otherwise
    autograd through the masked formula (same values).

    When ``z_in`` needs no gradient and its finite values fall on few levels (inputs on a
    tick grid, at most ``n_in / 4`` and :data:`GROUPED_MAX_LEVELS` of them), the same spike
    times come from :func:`_grouped_forward`, tens of times faster for an input layer."""
    _check_shapes(z_in, w)
    if not z_in.requires_grad:
        levels = torch.unique(z_in[torch.isfinite(z_in)])
        if len(levels) <= min(GROUPED_MAX_LEVELS, z_in.shape[1] // 4):
            return _grouped_forward(z_in, w, levels)
    if closed_form:
        return TTFSFunction.apply(z_in, w)
    return _masked_forward(z_in, w)[0]


def causal_set(z_in: torch.Tensor, w: torch.Tensor, z_out: torch.Tensor) -> torch.Tensor:
    """``[batch, n_in, n_out]`` mask of the inputs that arrived before each output spike."""
    return (z_in.unsqueeze(-1) < z_out.unsqueeze(1)) & torch.isfinite(z_out).unsqueeze(1)


# -- layers and network ------------------------------------------------------------------

class TTFSLayer(nn.Module):
    """A fully connected layer of non-leaky IF neurons; forward maps ``z_in`` to ``z_out``."""

    def __init__(self, n_in: int, n_out: int, generator: torch.Generator | None = None,
                 w_mean: float | None = None, w_std: float | None = None):
        super().__init__()
        # every neuron's expected input weight sum ~ 2 * threshold, so it fires
        mean = 2.0 / n_in if w_mean is None else w_mean
        std = 2.0 / math.sqrt(n_in) if w_std is None else w_std
        w = torch.randn(n_in, n_out, generator=generator, dtype=torch.float64) * std + mean
        self.w = nn.Parameter(w.float())
        self.quantizer = None  # see TTFSNet.quantize_as

    def weight(self) -> torch.Tensor:
        """The weights the layer computes with: ``w``, or what its quantizer makes of it."""
        return self.w if self.quantizer is None else self.quantizer(self.w)

    def forward(self, z_in):
        return ttfs_forward(z_in, self.weight())

    def weight_sum_cost(self, z_in: torch.Tensor | None = None) -> torch.Tensor:
        """Mostafa's ``sum_neurons max(0, 1 - sum_i w_i)``. Given the layer's input
        ``z_in [batch, n_in]``, the sum runs over the inputs that spiked in each sample
        (batch mean): a neuron whose *present* inputs weigh less than the threshold cannot
        fire, whatever its silent inputs weigh."""
        if z_in is None:
            return torch.relu(1 - self.w.sum(0)).sum()
        present = torch.isfinite(z_in).to(self.w.dtype)
        return torch.relu(1 - present @ self.w).sum(1).mean()


class TTFSNet(nn.Module):
    """A stack of :class:`TTFSLayer`. ``sizes = [n_in, hidden..., n_classes]``. Classification:
    the output neuron with the earliest spike (smallest ``z``; ties to the lowest index).
    ``input_activity``: the fraction of inputs that spike (below 1 when silent pixels send
    nothing); the first layer's initial weights are scaled so that the weights of the inputs
    that do spike still sum to about twice the threshold."""

    def __init__(self, sizes=(784, 600, 10), seed: int = 0, input_activity: float = 1.0):
        super().__init__()
        if len(sizes) < 2 or any(not isinstance(s, int) or s < 1 for s in sizes):
            raise ConfigError(f"sizes: need at least [n_in, n_out] positive integers, got {sizes!r}")
        if not 0 < input_activity <= 1:
            raise ConfigError(f"input_activity: must be in (0, 1], got {input_activity!r}")
        g = torch.Generator().manual_seed(seed)
        self.sizes = list(sizes)
        active = max(1.0, sizes[0] * input_activity)
        first = TTFSLayer(sizes[0], sizes[1], g, 2.0 / active, 2.0 / math.sqrt(active))
        self.layers = nn.ModuleList([first] + [TTFSLayer(a, b, g) for a, b in
                                               zip(sizes[1:-1], sizes[2:])])

    def forward(self, z_in, record: bool = False, spike_dropout: float = 0.0):
        """Output spike times ``z_out``; with ``record``, ``(z_out, [each layer's input])``.
        ``spike_dropout``: the probability that each layer input spike is dropped (a
        regulariser for training)."""
        z, inputs, _ = self.forward_record(z_in, spike_dropout)
        return (z, inputs) if record else z

    def forward_record(self, z_in, spike_dropout: float = 0.0):
        """``(z_out, inputs, outputs)``: as :meth:`forward` with ``record``, plus each layer's
        output *before* the next layer's dropout (the spikes the hardware would emit)."""
        z, inputs, outputs = z_in, [], []
        for layer in self.layers:
            if spike_dropout:
                drop = torch.rand(z.shape) < spike_dropout
                z = torch.where(drop, torch.full_like(z, INF), z)
            inputs.append(z)
            z = layer(z)
            outputs.append(z)
        return z, inputs, outputs

    def quantize_as(self, quantizer) -> None:
        """Quantization-aware training: every layer computes with ``quantizer(w)`` (e.g.
        :class:`spikeforge.model.ttfs_discrete.WeightQuantizer`, the weights the golden model
        will run, with a straight-through gradient to ``w``); None: with ``w`` itself."""
        for layer in self.layers:
            layer.quantizer = quantizer

    def deployed_weights(self) -> list:
        """One ``[n_in, n_out]`` tensor per layer: the weights the network computes with (under
        :meth:`quantize_as`, already on the quantizer's grid), the ones to save and compile."""
        with torch.no_grad():
            return [layer.weight().detach().clone() for layer in self.layers]

    def weight_sum_cost(self, inputs=None):
        """Sum of the layers' weight-sum costs (per sample, given each layer's input)."""
        if inputs is None:
            return sum(layer.weight_sum_cost() for layer in self.layers)
        return sum(layer.weight_sum_cost(z.detach()) for layer, z in zip(self.layers, inputs))

    @staticmethod
    def predict_from(z_out: torch.Tensor) -> torch.Tensor:
        return torch.argmin(z_out, dim=1)


@dataclass(frozen=True)
class TTFSEncoding:
    """How a pixel ``p`` becomes an input spike time: ``t = t_max (1 - p / max_value)``
    (brighter is earlier), rounded to the grid of ``ticks_per_tau`` ticks per tau when given
    (the times the hardware can deliver); with ``zero_is_silent`` a pixel of 0 sends no spike
    (``t = inf``), as in the FPGA prototype, which sends no events for the background.

    ``binarize_at`` (a pixel value ``>= 1``) first maps ``p >= binarize_at`` to ``max_value``
    and every other pixel to 0: with ``zero_is_silent``, the image's ink spikes at ``t = 0``
    and the rest is silent, so the input->hidden weights read are the ink's rows alone,
    whenever the network decides. ``silent_below`` (a pixel value ``>= 1``) keeps the
    intensity code above it and silences the pixels below it (``zero_is_silent`` is
    ``silent_below = 1``): the same bound on the rows read, with the ink's times kept."""

    t_max: float = 1.0
    ticks_per_tau: int | None = None
    zero_is_silent: bool = False
    binarize_at: int | None = None
    silent_below: int | None = None

    def __post_init__(self):
        for name in ("binarize_at", "silent_below"):
            b = getattr(self, name)
            if b is not None and (isinstance(b, bool) or not isinstance(b, (int, np.integer))
                                  or b < 1):
                raise ConfigError(f"{name}: must be a pixel value >= 1 or None, got {b!r}")

    @property
    def silences(self) -> bool:
        """Whether some pixels send no spike (silent zeros, or the pixels below
        ``silent_below``)."""
        return self.zero_is_silent or self.silent_below is not None

    def _pixels(self, x, max_value: int) -> np.ndarray:
        """The pixels the code times, with ``0`` for the ones it silences."""
        p = np.asarray(x, dtype=np.float64)
        if self.silent_below is not None:
            p = np.where(p >= self.silent_below, p, 0.0)
        if self.binarize_at is not None:
            p = np.where(p >= self.binarize_at, float(max_value), 0.0)
        return p

    def ticks(self, x, max_value: int) -> np.ndarray:
        """Tick of each pixel's event on the grid of ``ticks_per_tau`` (round half to even);
        ``-1`` for silent pixels."""
        if self.ticks_per_tau is None:
            raise ConfigError("ticks_per_tau: needed to place input spikes on ticks")
        p = self._pixels(x, max_value)
        tk = np.rint(self.t_max * (1.0 - p / max_value) * self.ticks_per_tau).astype(np.int64)
        return np.where(p == 0, -1, tk) if self.silences else tk

    def counts(self, x, max_value: int, ticks: int | None = None) -> np.ndarray:
        """``[batch, ticks, n_inputs]`` uint8 event counts (at most one event per input;
        ``ticks`` default: up to the latest event)."""
        tk = self.ticks(x, max_value)
        ticks = int(tk.max(initial=0)) + 1 if ticks is None else ticks
        batch, n = tk.shape
        counts = np.zeros((batch, ticks, n), dtype=np.uint8)
        b, j = np.nonzero((tk >= 0) & (tk < ticks))
        counts[b, tk[b, j], j] = 1
        return counts

    def times(self, x, max_value: int) -> np.ndarray:
        """Spike times ``t`` (float64, ``inf`` for silent pixels)."""
        if self.ticks_per_tau is not None:
            tk = self.ticks(x, max_value)
            return np.where(tk < 0, np.inf, tk / self.ticks_per_tau)
        p = self._pixels(x, max_value)
        t = self.t_max * (1.0 - p / max_value)
        return np.where(p == 0, np.inf, t) if self.silences else t


def encode_ttfs(x: np.ndarray, max_value: int, t_max: float = 1.0,
                encoding: TTFSEncoding | None = None) -> torch.Tensor:
    """Input spike times of :class:`TTFSEncoding` (default: ``t = t_max (1 - p / max_value)``,
    continuous, every pixel spikes) as ``z = exp(t)`` float32 ``[batch, features]``."""
    encoding = TTFSEncoding(t_max) if encoding is None else encoding
    return torch.exp(torch.as_tensor(encoding.times(x, max_value))).float()


def _capped(z: torch.Tensor, z_cap: float) -> torch.Tensor:
    """``z`` with non-spiking outputs (``inf``) and everything later counted as ``z_cap``
    (no gradient there): the output times the losses compare."""
    return torch.where(torch.isfinite(z), z, torch.full_like(z, z_cap)).clamp(max=z_cap)


def ttfs_loss(z_out: torch.Tensor, target: torch.Tensor, net: TTFSNet | None = None,
              k_weight_sum: float = 1.0, z_cap: float = 1e4, inputs=None) -> torch.Tensor:
    """Cross-entropy of ``softmax(-z_out)`` (non-spiking outputs count as ``z_cap``, with no
    gradient) plus ``k_weight_sum`` times the weight-sum cost of ``net`` (per sample when
    ``inputs``, each layer's input, are given: see :meth:`TTFSLayer.weight_sum_cost`)."""
    loss = nn.functional.cross_entropy(-_capped(z_out, z_cap), target)
    if net is not None and k_weight_sum:
        loss = loss + k_weight_sum * net.weight_sum_cost(inputs)
    return loss


def decision_time(z_out: torch.Tensor, horizon: float = 4.0) -> torch.Tensor:
    """``[batch]`` time ``t = ln z`` of the earliest output spike (the first-spike decision);
    ``horizon`` (no gradient) when no output spikes."""
    z_min = z_out.min(dim=1).values
    finite = torch.isfinite(z_min)
    t = torch.log(torch.where(finite, z_min, torch.ones_like(z_min)))
    return torch.where(finite, t, torch.full_like(t, horizon))


def hidden_spike_cost(hidden: list, z_out: torch.Tensor, temperature: float = 0.1,
                      horizon: float = 4.0) -> torch.Tensor:
    """Soft count of the hidden spikes before the decision, batch mean::

        sum_layers sum_h sigmoid((t_dec - t_h) / temperature),   t = ln z,

    ``t_dec`` = :func:`decision_time`, held constant (no gradient: pulling the earliest output
    earlier, whatever its class, makes one class win everything); hidden neurons that never
    spike count 0. Its gradient moves hidden spikes later or removes them."""
    t_dec = decision_time(z_out.detach(), horizon)
    cost = torch.zeros((), dtype=z_out.dtype)
    for z in hidden:
        finite = torch.isfinite(z)
        t = torch.log(torch.where(finite, z, torch.ones_like(z)))
        soft = torch.sigmoid((t_dec[:, None] - t) / temperature)
        cost = cost + torch.where(finite, soft, torch.zeros_like(soft)).sum(1).mean()
    return cost


def late_decision_cost(z_out: torch.Tensor, target: torch.Tensor,
                       horizon: float = 4.0) -> torch.Tensor:
    """Mean spike time ``t = ln z`` (in tau) of the *correct* output neuron (``horizon``, no
    gradient, when it does not spike): a cost on late decisions that moves the right class
    earlier, so the first spike -- the decision -- comes sooner and is still the right one."""
    z = z_out.gather(1, target[:, None])[:, 0]
    return decision_time(z[:, None], horizon).mean()


def distillation_cost(z_out: torch.Tensor, z_teacher: torch.Tensor, temperature: float = 2.0,
                      z_cap: float = 1e4) -> torch.Tensor:
    """Knowledge distillation (Hinton et al. 2015) in spike times: the batch mean of
    ``T**2 * KL(softmax(-z_teacher / T) || softmax(-z_out / T))``, ``T`` = ``temperature``,
    non-spiking outputs counted as ``z_cap`` as in :func:`ttfs_loss`. It moves the student's
    output times toward the order and spacing of a teacher's (e.g. a dense network's)."""
    target = torch.softmax(-_capped(z_teacher.detach(), z_cap) / temperature, dim=1)
    return (temperature ** 2) * nn.functional.kl_div(
        torch.log_softmax(-_capped(z_out, z_cap) / temperature, dim=1), target,
        reduction="batchmean")


def stratified_split(y, n_val: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(train_idx, val_idx)`` (sorted) holding out ``n_val`` samples, each class in
    proportion to its share of ``y`` (largest remainders), chosen by a seeded permutation."""
    y = np.asarray(y)
    if not 0 < n_val < len(y):
        raise ConfigError(f"n_val: must be between 1 and {len(y) - 1}, got {n_val!r}")
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    share = counts * n_val / len(y)
    take = np.floor(share).astype(np.int64)
    extra = np.argsort(-(share - take), kind="stable")[:n_val - take.sum()]
    take[extra] += 1
    val = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:t]
                          for c, t in zip(classes, take)])
    val = np.sort(val)
    return np.setdiff1d(np.arange(len(y)), val), val


def active_inputs(z: torch.Tensor) -> torch.Tensor:
    """``[n_in]`` bool: the inputs that spike in at least one sample of ``z [batch, n_in]``."""
    return torch.isfinite(z).any(dim=0)


def zero_inactive_rows(net: TTFSNet, active: torch.Tensor) -> int:
    """Set the first layer's weight rows of the inputs not in ``active`` to 0 (they never
    spike, so the hardware need not store them); returns how many rows that is."""
    with torch.no_grad():
        net.layers[0].w[~active] = 0.0
    return int((~active).sum())


@dataclass
class TrainResult:
    """What a training run produced. Accuracies are fractions in [0, 1]."""

    net: nn.Module
    train_accuracy: float
    test_accuracy: float
    seconds: float  #: the whole run, per-epoch evaluation included
    history: list = field(default_factory=list)  # per epoch: (loss, train acc, test acc)
    epoch_seconds: list = field(default_factory=list)  #: per epoch, the training steps alone
    held_out: str = "test"  #: what ``test_accuracy`` and history's third column measured
    zero_rows: int = 0  #: first-layer weight rows zeroed (inputs silent on the training set)

    @classmethod
    def of(cls, net, seconds: float, history: list, epoch_seconds: list,
           held_out: str = "test", zero_rows: int = 0) -> "TrainResult":
        """The result of a run whose last epoch (if any) gives the accuracies."""
        train, test = (history[-1][1], history[-1][2]) if history else (0.0, 0.0)
        return cls(net, train, test, seconds, history, epoch_seconds, held_out, zero_rows)

    @property
    def seconds_per_epoch(self) -> float:
        """Mean time of an epoch's training steps (no encoding, no evaluation)."""
        return sum(self.epoch_seconds) / max(1, len(self.epoch_seconds))


def _accuracy(net, z, y, batch=128):  # [batch, n_out, n_in] work arrays: keep them small
    net.eval()
    correct = 0
    with torch.no_grad():
        for s in range(0, len(z), batch):
            out = net(z[s:s + batch])
            correct += (TTFSNet.predict_from(out) == y[s:s + batch]).sum().item()
    return correct / max(1, len(z))


def _load_weights(net: TTFSNet, weights) -> None:
    """Copies one tensor per layer into ``net``; a count or shape that differs is refused by
    layer."""
    if len(weights) != len(net.layers):
        raise ConfigError(f"init: {len(weights)} weight tensors for a network of "
                          f"{len(net.layers)} layers")
    for i, (layer, w) in enumerate(zip(net.layers, weights)):
        if tuple(w.shape) != tuple(layer.w.shape):
            raise ConfigError(f"init: layer {i} weights are {tuple(w.shape)}, the network's "
                              f"{tuple(layer.w.shape)}")
        with torch.no_grad():
            layer.w.copy_(torch.as_tensor(w, dtype=layer.w.dtype))


def train_ttfs(dataset, hidden=(100,), epochs: int = 15, batch_size: int = 32, lr: float = 3e-3,
               k_weight_sum: float = 1.0, t_max: float = 1.0, seed: int = 0,
               progress: bool = True, max_train: int | None = None,
               encoding: TTFSEncoding | None = None,
               per_sample_weight_sum: bool = False, clip_grad_norm: float | None = 1.0,
               spike_dropout: float = 0.0, max_shift: int = 0, *, validation=None,
               augment=None, k_hidden_spikes: float = 0.0, k_late: float = 0.0,
               sparsity_temperature: float = 0.1, zero_silent_rows: bool = False,
               train_eval_max: int | None = None, on_epoch=None, init=None,
               teacher=None, k_distill: float = 0.0,
               distill_temperature: float = 2.0, quantizer=None) -> TrainResult:
    """Train a :class:`TTFSNet` on a :class:`~spikeforge.model.datasets.Dataset` with Adam
    (learning rate cosine-annealed from ``lr`` to 0 over ``epochs``).

    Inputs are encoded with :func:`encode_ttfs` (``encoding``, default continuous times
    ``t_max (1 - p / max)``; on a tick grid training is much faster). The loss is
    :func:`ttfs_loss` (``per_sample_weight_sum``: its weight-sum cost over the inputs present
    in each sample) plus ``k_hidden_spikes`` * :func:`hidden_spike_cost` (temperature
    ``sparsity_temperature``) plus ``k_late`` * :func:`late_decision_cost`. Regularisers:
    ``spike_dropout`` (see :meth:`TTFSNet.forward`), ``augment`` (a callable
    ``augment(x, shape, rng, max_value)``, e.g. :class:`spikeforge.model.augment.Augmentation`,
    applied to the training images afresh every epoch) or else ``max_shift`` (every epoch each
    training image moves by up to that many pixels,
    :meth:`~spikeforge.model.datasets.Dataset.shifted`). Gradients are clipped to norm
    ``clip_grad_norm`` per step (``1 / (sum_C w - 1)`` makes single samples' gradients huge;
    without clipping an MNIST network reached 47 % after 4 epochs, with it 91 %).

    ``validation = (x_val, y_val)``: the held-out set evaluated after every epoch (history's
    third column, ``test_accuracy``; ``held_out = "validation"``) -- the test set is then never
    touched. ``zero_silent_rows``: the inputs that never spike in the (unaugmented) training
    images are silenced during training as well and their first-layer weight rows kept at 0
    (``zero_rows`` says how many). ``train_eval_max``: training accuracy on the first so many
    training images only. ``on_epoch(epoch, net, history)`` is called after each epoch
    (checkpoints). ``init``: one weight tensor per layer to start from instead of the seeded
    random start (fine-tuning a trained network, e.g. with sparsity costs added); the shapes
    must be those of ``hidden`` on this dataset. ``teacher``: one weight tensor per layer of
    a network of the same input and output sizes (any hidden layers), whose output times the
    student is pulled toward by ``k_distill`` * :func:`distillation_cost` (temperature
    ``distill_temperature``), on the same augmented images. ``quantizer``: quantization-aware
    training (:meth:`TTFSNet.quantize_as`); every forward pass, the held-out accuracies
    included, computes with the quantized weights, and ``net.deployed_weights()`` are them."""
    from tqdm.auto import tqdm

    if isinstance(hidden, int):
        hidden = (hidden,)
    torch.manual_seed(seed)
    x_tr, y_tr = dataset.train_x, dataset.train_y
    if max_train is not None:
        x_tr, y_tr = x_tr[:max_train], y_tr[:max_train]
    z_tr = encode_ttfs(x_tr, dataset.max_value, t_max, encoding)
    x_ho, y_ho = (dataset.test_x, dataset.test_y) if validation is None else validation
    z_ho = encode_ttfs(x_ho, dataset.max_value, t_max, encoding)
    y_tr = torch.as_tensor(y_tr)
    y_ho = torch.as_tensor(np.asarray(y_ho))
    active = active_inputs(z_tr) if zero_silent_rows else torch.ones(z_tr.shape[1], dtype=torch.bool)

    def encode(x):  # silenced inputs send nothing, in training as on the hardware
        z = encode_ttfs(x, dataset.max_value, t_max, encoding)
        z[:, ~active] = INF
        return z

    activity = float(torch.isfinite(z_tr).float().mean()) if len(z_tr) else 1.0
    net = TTFSNet([z_tr.shape[1], *hidden, dataset.n_classes], seed=seed,
                  input_activity=max(activity, 1e-3))
    if init is not None:
        _load_weights(net, init)
    zero_rows = zero_inactive_rows(net, active)
    net.quantize_as(quantizer)
    teacher_net = None
    if k_distill:
        if teacher is None:
            raise ConfigError("k_distill: needs a teacher")
        teacher_net = TTFSNet([z_tr.shape[1], *(w.shape[1] for w in teacher[:-1]),
                               dataset.n_classes], seed=seed)
        _load_weights(teacher_net, teacher)
        teacher_net.eval()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs))
    g = torch.Generator().manual_seed(seed)
    n_eval = len(z_tr) if train_eval_max is None else min(len(z_tr), train_eval_max)
    history = []
    start = time.perf_counter()
    epoch_seconds = []
    bar = tqdm(range(epochs), desc=f"ttfs {dataset.name}", disable=not progress)
    for epoch in bar:
        z_epoch = z_tr
        rng = np.random.default_rng(seed + 1 + epoch)
        if augment is not None:
            z_epoch = encode(augment(x_tr, dataset.shape, rng, dataset.max_value))
        elif max_shift:
            z_epoch = encode(dataset.shifted(x_tr, max_shift, rng))
        epoch_start = time.perf_counter()
        net.train()
        perm = torch.randperm(len(z_tr), generator=g)
        total = 0.0
        for s in range(0, len(perm), batch_size):
            idx = perm[s:s + batch_size]
            z_out, inputs, outputs = net.forward_record(z_epoch[idx], spike_dropout)
            loss = ttfs_loss(z_out, y_tr[idx], net, k_weight_sum,
                             inputs=inputs if per_sample_weight_sum else None)
            if k_hidden_spikes:
                loss = loss + k_hidden_spikes * hidden_spike_cost(outputs[:-1], z_out,
                                                                  sparsity_temperature)
            if k_late:
                loss = loss + k_late * late_decision_cost(z_out, y_tr[idx])
            if teacher_net is not None:
                with torch.no_grad():
                    z_teacher = teacher_net(z_epoch[idx])
                loss = loss + k_distill * distillation_cost(z_out, z_teacher,
                                                            distill_temperature)
            opt.zero_grad()
            loss.backward()
            if clip_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(net.parameters(), clip_grad_norm)
            opt.step()
            zero_inactive_rows(net, active)
            total += loss.item() * len(idx)
        sched.step()
        epoch_seconds.append(time.perf_counter() - epoch_start)
        tr, ho = _accuracy(net, z_tr[:n_eval], y_tr[:n_eval]), _accuracy(net, z_ho, y_ho)
        history.append((total / len(perm), tr, ho))
        bar.set_postfix(loss=f"{total / len(perm):.3f}", train=f"{tr:.3f}", held_out=f"{ho:.3f}")
        if on_epoch is not None:
            on_epoch(epoch, net, history)
    return TrainResult.of(net, time.perf_counter() - start, history, epoch_seconds,
                          "test" if validation is None else "validation", zero_rows)


def main(argv=None):
    """``python -m spikeforge.model.ttfs [--dataset digits] [--hidden 100] [--epochs 15]``"""
    import argparse

    ap = argparse.ArgumentParser(description="Train a TTFS network (Mostafa 2017)")
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--path", default=None)
    ap.add_argument("--hidden", type=int, nargs="*", default=[100])
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-train", type=int, default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    ds = load_dataset(args.dataset, path=args.path)
    r = train_ttfs(ds, tuple(args.hidden), args.epochs, args.batch_size, args.lr,
                   max_train=args.max_train)
    print(f"{ds.name}: hidden={args.hidden} epochs={args.epochs} train acc {r.train_accuracy:.4f} "
          f"test acc {r.test_accuracy:.4f} in {r.seconds:.1f} s")


if __name__ == "__main__":
    main()
