"""The approximate, integer-only on-chip learning rule of the TTFS FPGA prototype.

Source: Mostafa 2017 (Supervised learning based on temporal coding in spiking neural
networks, IEEE TNNLS), whose FPGA prototype learns on chip with a simplified rule, described
as: *update hidden->output weights so the correct output neuron spikes first, only weights
that actually contributed to output timing; backpropagate time deltas using only the sign of
the weights; a hidden neuron's delta comes from two parallel popcounts and a comparison.*
The paper gives the rule in words; the exact form below is our reading of it, stated so
that the hardware (hdl/, later) and this model implement the same thing.

Forward
=======
The network is a two-layer (input -> hidden -> output) TTFS network on the arithmetic
contract (non-leaky IF, ``fire_once``, decaying current; see
:mod:`spikeforge.model.ttfs_discrete`), run by the golden model
(:class:`~spikeforge.sim.network.IntegerNetwork`). For one sample it yields the first
spike tick ``t_j`` of every input, ``t_h`` of every hidden and ``t_o`` of every output neuron
(``T`` = the number of ticks if a neuron never spikes).

Causal sets (which weights "contributed to the timing")
=======================================================
* output ``o``: the hidden neurons whose spike was delivered no later than ``o``'s spike,
  ``C_o = {h : t_h + 1 <= t_o}`` (one tick of delay per layer). With ``window="decision"``
  (default) ``t_o`` is capped at the decision tick ``t_dec + margin`` (``t_dec`` = the first
  output spike): an early-exit chip stops there and never sees later hidden spikes, and only
  hidden spikes before ``t_dec`` can make the correct output win. An output that never
  spiked uses ``t_o = T - 1`` before the cap (``window="spike"``: no cap, the literal
  causal sets of the exact gradient);
* hidden ``h`` (only if it spiked): the inputs with ``t_j <= t_h``.

Weights outside the causal sets are never touched (in the hardware: never read back).

Output deltas (ternary)
=======================
With ``c`` the label and ``m`` an integer margin in ticks (``t_c = T`` if ``c`` did not
spike), the *offenders* are the outputs ``o != c`` that spiked at ``t_o <= t_c + m``
(a tie counts against ``c``, as the contract's decision breaks ties to the lowest index):

* ``s_c = +1`` ("speed up") if ``c`` did not spike or there is an offender; else the sample
  is learned and nothing changes;
* ``s_o = -1`` ("slow down") for the earliest offender(s) (``slow_down="first"``, default:
  only the output that took, or nearly took, the decision, so that one sample pushes one
  output up and one down) or for every offender (``slow_down="all"``);
* ``s_o = 0`` otherwise.

Hidden deltas (two popcounts and a comparison)
==============================================
Exact TTFS gradients (Mostafa) say ``dt_o/dt_h`` has the sign of ``w_ho`` for ``h`` in
``C_o`` (and is 0 otherwise). Keeping only the signs, an output that should speed up
wants each causal hidden neuron with a positive weight to fire earlier and each one with a
negative weight to fire later, and the reverse for an output that should slow down. For each
spiking hidden neuron ``h``::

    up_h   = popcount_o [h in C_o and s_o * sign(w_ho) > 0]     # votes "h earlier"
    down_h = popcount_o [h in C_o and s_o * sign(w_ho) < 0]     # votes "h later"
    s_h    = +1 if up_h > down_h,  -1 if down_h > up_h,  0 if equal

(a zero weight votes for nothing).

Weight updates (fixed point, saturating)
========================================
Making a neuron fire earlier means increasing the weights of its causal inputs
(``dt_out/dw_i < 0`` for every causal input in the exact rule), so::

    w_ho += eta_out    * s_o   for h in C_o
    w_jh += eta_hidden * s_h   for j causal to h

Weights are stored as ``weight_bits + frac_bits`` signed integers (a fixed-point weight with
``frac_bits`` fraction bits; ``eta`` is in units of its LSB) and saturate at the limits of
that range; the forward pass reads the top ``weight_bits`` bits, ``w >> frac_bits`` (floor),
so the weights seen by the network are saturating ``weight_bits``-bit integers.
``frac_bits = 0`` is pure 8-bit learning with integer steps. The stored weight starts at
``(w << frac_bits) + 2**(frac_bits - 1)``, the middle of ``w``'s LSB: starting at its bottom
would make the floor read asymmetric (the first step down reads as ``w - 1`` while a step up
needs ``2**frac_bits`` of accumulated steps) and bias learning toward smaller weights. Thresholds and decays do not
change. Everything is integer; there is no multiplication (``s`` is a sign).

``batch_size = 1`` is the hardware's online rule (update after every sample); a larger
batch sums the updates of ``batch_size`` samples computed with the same weights (faster in
numpy, the same rule otherwise).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from spikeforge.ir.errors import ConfigError
from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.ir.params import signed_range
from spikeforge.model.datasets import load_dataset
from spikeforge.model.ttfs import TTFSNet, train_ttfs
from spikeforge.model.ttfs_discrete import inference_ticks, input_counts, integer_network
from spikeforge.sim.network import run_network


def first_ticks(spikes: np.ndarray) -> np.ndarray:
    """``[batch, n]`` first spike tick of ``spikes[batch, ticks, n]`` (``ticks`` if none)."""
    ticks = spikes.shape[1]
    return np.where(spikes.any(axis=1), np.argmax(spikes, axis=1), ticks)


def output_signs(t_out: np.ndarray, labels: np.ndarray, ticks: int, margin: int = 0,
                 slow_down: str = "first") -> np.ndarray:
    """``[batch, n_out]`` ternary output deltas (+1 speed up, -1 slow down, 0) from the first
    output spike ticks ``t_out [batch, n_out]`` (``>= ticks``: no spike) and the labels.
    ``slow_down="first"``: only the earliest offending wrong output(s) slow down; ``"all"``:
    every offending wrong output."""
    batch = t_out.shape[0]
    rows = np.arange(batch)
    labels = np.asarray(labels)
    never = t_out >= ticks
    t_c = np.where(never[rows, labels], ticks, t_out[rows, labels])
    wrong = (~never) & (t_out <= (t_c + margin)[:, None])      # spiked no later than t_c + m
    wrong[rows, labels] = False
    if slow_down == "first":
        earliest = np.where(wrong, t_out, ticks).min(axis=1)
        wrong &= t_out == earliest[:, None]
    elif slow_down != "all":
        raise ConfigError(f"slow_down: must be 'first' or 'all', got {slow_down!r}")
    s = -wrong.astype(np.int64)
    s[rows, labels] = (never[rows, labels] | wrong.any(axis=1)).astype(np.int64)
    return s


def hidden_signs(causal_out: np.ndarray, s_out: np.ndarray, w_out: np.ndarray) -> np.ndarray:
    """``[batch, n_hidden]`` hidden deltas from two popcounts and a comparison.

    ``causal_out[batch, H, M]`` (bool, ``h in C_o``), ``s_out[batch, M]`` and the effective
    hidden->output weights ``w_out[H, M]`` (only their signs are used)."""
    vote = causal_out * (s_out[:, None, :] * np.sign(w_out)[None])  # [B, H, M] in {-1, 0, 1}
    up = (vote > 0).sum(axis=2)
    down = (vote < 0).sum(axis=2)
    return np.sign(up - down).astype(np.int64)


@dataclass
class PopcountLearner:
    """A two-layer TTFS :class:`IntegerNetwork` that learns with the popcount rule.

    ``network``: the starting integer network (its params stay fixed); ``frac_bits``: extra
    fraction bits of the stored weights; ``eta_out``/``eta_hidden``: steps in LSBs of the
    stored weights (``eta_hidden = 0`` freezes the first layer); ``margin`` in ticks."""

    network: IntegerNetwork
    ticks: int
    frac_bits: int = 8
    eta_out: int = 64
    eta_hidden: int = 16
    margin: int = 0
    slow_down: str = "first"
    window: str = "decision"
    acc: list = field(init=False)

    def __post_init__(self):
        if len(self.network.layers) != 2:
            raise ConfigError(f"network: the popcount rule needs 2 layers (input->hidden->output), "
                              f"got {len(self.network.layers)}")
        if self.window not in ("decision", "spike"):
            raise ConfigError(f"window: must be 'decision' or 'spike', got {self.window!r}")
        if self.slow_down not in ("first", "all"):
            raise ConfigError(f"slow_down: must be 'first' or 'all', got {self.slow_down!r}")
        for name in ("frac_bits", "eta_out", "eta_hidden", "margin"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 0:
                raise ConfigError(f"{name}: must be a non-negative integer, got {value!r}")
        # start in the middle of each weight's LSB, so that the floor read below moves the
        # weight by one LSB after the same accumulated step up or down (from exactly w << F a
        # single negative step would already read as w - 1)
        half = (1 << self.frac_bits) >> 1
        self.acc = [(layer.weights.astype(np.int64) << self.frac_bits) + half
                    for layer in self.network.layers]

    def _bounds(self, layer):
        return signed_range(layer.params.weight_bits + self.frac_bits)

    def current_network(self) -> IntegerNetwork:
        layers = tuple(IntegerLayer(a >> self.frac_bits, L.params, L.max_events_per_tick)
                       for a, L in zip(self.acc, self.network.layers))
        return IntegerNetwork(layers, self.network.decision)

    def step(self, counts: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Run a batch, apply the rule once (summed over the batch); returns the decisions."""
        net = self.current_network()
        trace = run_network(net, counts, self.ticks)
        T = self.ticks
        t_in = first_ticks(counts.astype(bool))                       # [B, N]
        t_h = first_ticks(trace.spikes[0])                            # [B, H]
        t_o = first_ticks(trace.spikes[1])                            # [B, M]
        s_o = output_signs(t_o, labels, T, self.margin, self.slow_down)  # [B, M]
        t_o_eff = np.where(t_o >= T, T - 1, t_o)
        if self.window == "decision":  # nothing after the decision tick (+ margin) is seen
            t_dec = np.minimum(t_o.min(axis=1) + self.margin, T - 1)
            t_o_eff = np.minimum(t_o_eff, t_dec[:, None])
        causal_out = (t_h[:, :, None] + 1) <= t_o_eff[:, None, :]     # [B, H, M]
        causal_out &= (t_h < T)[:, :, None]
        w_out = net.layers[1].weights
        s_h = hidden_signs(causal_out, s_o, w_out) * (t_h < T)        # [B, H]
        d_out = np.einsum("bhm,bm->hm", causal_out.astype(np.int64), s_o) * self.eta_out
        updates = [None, d_out]
        if self.eta_hidden:
            causal_in = (t_in[:, :, None] <= t_h[:, None, :]) & (t_in < T)[:, :, None]
            updates[0] = np.einsum("bjh,bh->jh", causal_in.astype(np.int64), s_h) * self.eta_hidden
        for l, d in enumerate(updates):
            if d is not None:
                lo, hi = self._bounds(self.network.layers[l])
                self.acc[l] = np.clip(self.acc[l] + d, lo, hi)
        return trace.decision


@dataclass
class PopcountResult:
    learner: PopcountLearner
    train_accuracy: float
    test_accuracy: float
    seconds: float
    history: list  # per epoch: (train acc during the epoch, test acc)


def train_popcount(network: IntegerNetwork, train_counts_fn, y_train, test_counts_fn, y_test,
                   ticks: int, epochs: int = 10, batch_size: int = 16, frac_bits: int = 8,
                   eta_out: int = 64, eta_hidden: int = 16, margin: int = 0, seed: int = 0,
                   progress: bool = True, slow_down: str = "first",
                   window: str = "decision") -> PopcountResult:
    """Train with the popcount rule. ``*_counts_fn(index_array)`` returns the
    ``[batch, ticks, n_in]`` input events of those samples (so that big data sets are encoded
    chunk by chunk)."""
    from tqdm.auto import tqdm

    learner = PopcountLearner(network, ticks, frac_bits, eta_out, eta_hidden, margin, slow_down,
                              window)
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    rng = np.random.default_rng(seed)
    history, start = [], time.perf_counter()
    bar = tqdm(range(epochs), desc="popcount rule", disable=not progress)
    for _ in bar:
        perm = rng.permutation(len(y_train))
        correct = 0
        for s in range(0, len(perm), batch_size):
            idx = perm[s:s + batch_size]
            correct += int((learner.step(train_counts_fn(idx), y_train[idx]) == y_train[idx]).sum())
        te = golden_accuracy(learner.current_network(), test_counts_fn, y_test, ticks)
        history.append((correct / len(perm), te))
        bar.set_postfix(train=f"{history[-1][0]:.3f}", test=f"{te:.3f}")
    tr = history[-1][0] if history else float("nan")
    te = history[-1][1] if history else golden_accuracy(network, test_counts_fn, y_test, ticks)
    return PopcountResult(learner, tr, te, time.perf_counter() - start, history)


def golden_accuracy(network: IntegerNetwork, counts_fn, y, ticks: int, batch: int = 512) -> float:
    y = np.asarray(y)
    correct = 0
    for s in range(0, len(y), batch):
        idx = np.arange(s, min(s + batch, len(y)))
        correct += int((run_network(network, counts_fn(idx), ticks).decision == y[idx]).sum())
    return correct / max(1, len(y))


def compare(dataset, hidden: int = 100, ticks_per_tau: int = 32, epochs: int = 15,
            rule_epochs: int = 10, batch_size: int = 16, frac_bits: int = 8, eta_out: int = 64,
            eta_hidden: int = 16, margin: int = 0, seed: int = 0, progress: bool = True):
    """Rows ``(name, test accuracy (8-bit golden), seconds)``: exact-gradient training of the
    same network (mapped to ``K`` ticks per tau, 8 bits), and the popcount rule from a random
    network and from the exactly-trained first layer (+ random output layer)."""
    import torch

    k = ticks_per_tau
    ticks = inference_ticks(k, 2)
    mv = dataset.max_value
    tr_fn = lambda idx: input_counts(dataset.train_x[idx], mv, k, ticks=ticks)  # noqa: E731
    te_fn = lambda idx: input_counts(dataset.test_x[idx], mv, k, ticks=ticks)  # noqa: E731
    rows = []
    exact = train_ttfs(dataset, (hidden,), epochs, seed=seed, progress=progress)
    exact_int = integer_network(exact.net, k).network
    rows.append((f"exact gradient (Adam, {epochs} epochs, float) -> 8-bit golden",
                 golden_accuracy(exact_int, te_fn, dataset.test_y, ticks), exact.seconds))
    rand = TTFSNet([dataset.n_features, hidden, dataset.n_classes], seed=seed + 1)
    rand_int = integer_network(rand, k).network
    rows.append(("random network, untrained",
                 golden_accuracy(rand_int, te_fn, dataset.test_y, ticks), 0.0))
    runs = [("popcount rule, both layers, from random", rand_int, eta_hidden)]
    # exactly-trained first layer, random output layer (the output layer from rand)
    mixed = TTFSNet([dataset.n_features, hidden, dataset.n_classes], seed=seed + 1)
    with torch.no_grad():
        mixed.layers[0].w.copy_(exact.net.layers[0].w)
    mixed_int = integer_network(mixed, k).network
    runs.append(("popcount rule, output layer only, exact first layer", mixed_int, 0))
    runs.append(("popcount rule, both layers, exact first layer", mixed_int, eta_hidden))
    for name, start_net, eta_h in runs:
        r = train_popcount(start_net, tr_fn, dataset.train_y, te_fn, dataset.test_y, ticks,
                           rule_epochs, batch_size, frac_bits, eta_out, eta_h, margin, seed,
                           progress)
        best = max((te for _, te in r.history), default=r.test_accuracy)
        rows.append((f"{name} ({rule_epochs} epochs; best epoch {best:.4f})", r.test_accuracy,
                     r.seconds))
    return rows


def main(argv=None):
    """``python -m spikeforge.model.popcount_rule [--dataset digits]``: the comparison table."""
    import argparse

    import torch

    ap = argparse.ArgumentParser(description="Popcount on-chip learning rule vs exact gradients")
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--path", default=None)
    ap.add_argument("--hidden", type=int, default=100)
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--rule-epochs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--frac-bits", type=int, default=8)
    ap.add_argument("--eta-out", type=int, default=64)
    ap.add_argument("--eta-hidden", type=int, default=16)
    ap.add_argument("--margin", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    ds = load_dataset(args.dataset, path=args.path)
    rows = compare(ds, args.hidden, args.k, args.epochs, args.rule_epochs, args.batch_size,
                   args.frac_bits, args.eta_out, args.eta_hidden, args.margin)
    print(f"{ds.name}, {ds.n_features}-{args.hidden}-{ds.n_classes}, K = {args.k} ticks/tau, "
          f"8-bit weights (+{args.frac_bits} fraction bits while learning)")
    print("| training | test accuracy (8-bit golden) | seconds |\n|---|---|---|")
    for name, acc, secs in rows:
        print(f"| {name} | {acc:.4f} | {secs:.1f} |")


if __name__ == "__main__":
    main()
