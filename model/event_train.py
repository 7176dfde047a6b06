"""Simulated N-MNIST through the surrogate-gradient LIF network (issue 14, point 2).

Data. MNIST digits become recordings with :class:`spikeforge.model.events.SaccadeSimulator`
(``dt_us`` = :data:`DT_US`), binned on the host into ``ticks`` ticks of ``tick_us`` µs
(:func:`spikeforge.model.events.bin_events`): ``counts[k, j]`` = the events of input
``j = p*1156 + y*34 + x`` with ``k*tick_us <= t < (k+1)*tick_us``. The counts are kept sparse
(:class:`EventCounts`, one row of non-zero bins per digit) and cached in ``build/nmnist/`` as
``.npz`` chunks named by split, seed, ``dt_us``, tick and first digit: digit ``i`` of a split
gets the simulator seed ``SeedSequence([seed, i])`` whatever the chunking, so a chunk is
reproducible on its own.

Training. :func:`train_event_lif` trains :class:`spikeforge.model.lif.LIFNet` (BPTT, Adam,
spike-count cross-entropy, as :func:`spikeforge.model.lif.train_lif`) on the counts as they are:
the float input of tick ``k`` is ``counts[k]`` (an input delivered ``c`` times adds its weight
``c`` times, as the hardware's event phase does), so no image encoder is involved.

Deployment. :func:`quantize_event_net` quantizes to 8 bits (``quantize``, as
``train_lif_model``) and sets the first layer's ``max_events_per_tick`` (:func:`events_bound`:
1.5 x the most events in one tick of a training digit); the golden model refuses an image above
it. Inputs are clipped to one event per input per tick by default (``max_count=1``): at
10 ms ticks the clipped inputs trained better than the counts themselves (docs/events.md);
an artifact's ``expected.npz`` holds either. ``benchmarks/bench_nmnist.py`` runs it all.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from spikeforge.compiler.quantize import quantize
from spikeforge.ir.errors import ConfigError, SpikeforgeError
from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.model.augment import Augmentation
from spikeforge.model.events import SaccadeSimulator, bin_events
from spikeforge.sim.network import classify

DT_US = 500          #: simulator step: 5.5x faster than 100 us, ~3 % more events (docs/events.md)
TICK_US = 10_000     #: one tick = 10 ms
TICKS = 32           #: 320 ms: the three saccades end at 311 ms
TRAIN_SEED, TEST_SEED = 1, 2
CACHE_DIR = Path(__file__).resolve().parent.parent / "build" / "nmnist"
CACHE_FORMAT = "spikeforge-nmnist-counts-1"
#: small affine distortions of the digits themselves before simulation (a training set of
#: distorted digits; validation and test are never distorted): rotation, scale, shear, shift
DISTORT = Augmentation(max_shift=1, max_rotation=8.0, max_scale=0.08, max_shear=0.1)


@dataclass
class EventCounts:
    """Binned event counts of ``n`` digits, sparse: digit ``i``'s non-zero bins are
    ``flat[offsets[i]:offsets[i+1]]`` (``tick * n_inputs + input``) with ``count[...]`` events
    each. ``labels[n]``, ``n_events[n]`` (events inside the ticks)."""

    offsets: np.ndarray
    flat: np.ndarray
    count: np.ndarray
    labels: np.ndarray
    n_events: np.ndarray
    ticks: int
    n_inputs: int

    def __len__(self) -> int:
        return len(self.labels)

    @classmethod
    def from_dense(cls, counts: np.ndarray, labels) -> "EventCounts":
        """From ``counts[n, ticks, n_inputs]``."""
        n, ticks, n_in = counts.shape
        rows = counts.reshape(n, -1)
        nz = [np.flatnonzero(r) for r in rows]
        offsets = np.concatenate([[0], np.cumsum([len(z) for z in nz])]).astype(np.int64)
        flat = np.concatenate(nz).astype(np.int32) if n else np.zeros(0, np.int32)
        count = np.concatenate([r[z] for r, z in zip(rows, nz)]) if n else np.zeros(0)
        if count.size and count.max() > 255:
            raise ConfigError(f"counts: {int(count.max())} events of one input in one tick do not fit uint8")
        return cls(offsets, flat, count.astype(np.uint8), np.asarray(labels, np.int64),
                   rows.sum(1).astype(np.int64), ticks, n_in)

    @classmethod
    def concat(cls, parts) -> "EventCounts":
        parts = list(parts)
        if not parts:
            raise ConfigError("parts: nothing to concatenate")
        if len({(p.ticks, p.n_inputs) for p in parts}) != 1:
            raise ConfigError("parts: chunks with different ticks or inputs")
        ends = np.cumsum([0] + [p.offsets[-1] for p in parts])
        offsets = np.concatenate([[0]] + [p.offsets[1:] + e for p, e in zip(parts, ends)])
        return cls(offsets, np.concatenate([p.flat for p in parts]),
                   np.concatenate([p.count for p in parts]),
                   np.concatenate([p.labels for p in parts]),
                   np.concatenate([p.n_events for p in parts]), parts[0].ticks, parts[0].n_inputs)

    def subset(self, idx) -> "EventCounts":
        idx = np.asarray(idx, dtype=np.int64)
        sl = [slice(self.offsets[i], self.offsets[i + 1]) for i in idx]
        lens = np.array([s.stop - s.start for s in sl], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
        flat = np.concatenate([self.flat[s] for s in sl]) if len(idx) else self.flat[:0]
        count = np.concatenate([self.count[s] for s in sl]) if len(idx) else self.count[:0]
        return EventCounts(offsets, flat, count, self.labels[idx], self.n_events[idx],
                           self.ticks, self.n_inputs)

    def dense(self, idx=None) -> np.ndarray:
        """``[len(idx), ticks, n_inputs]`` int64 counts of the digits ``idx`` (all by default)."""
        idx = np.arange(len(self)) if idx is None else np.asarray(idx, dtype=np.int64)
        out = np.zeros((len(idx), self.ticks * self.n_inputs), dtype=np.int64)
        for row, i in enumerate(idx):
            s = slice(self.offsets[i], self.offsets[i + 1])
            out[row, self.flat[s]] = self.count[s]
        return out.reshape(len(idx), self.ticks, self.n_inputs)

    def max_count(self) -> int:
        """Most events of one input in one tick."""
        return int(self.count.max()) if self.count.size else 0

    def max_events_per_tick(self) -> int:
        """Most events in one tick of one digit (the first layer's ``max_events_per_tick``
        must be at least this)."""
        if not self.flat.size:
            return 0
        digit = np.repeat(np.arange(len(self)), np.diff(self.offsets))
        key = digit * self.ticks + self.flat // self.n_inputs
        return int(np.bincount(key, weights=self.count).max())

    def save(self, path, **meta) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, format=CACHE_FORMAT, offsets=self.offsets, flat=self.flat,
                            count=self.count, labels=self.labels, n_events=self.n_events,
                            ticks=self.ticks, n_inputs=self.n_inputs,
                            **{k: np.asarray(v) for k, v in meta.items()})
        tmp.replace(path)  # a chunk is either complete or absent
        return path

    @classmethod
    def load(cls, path) -> "EventCounts":
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                if str(z["format"]) != CACHE_FORMAT:
                    raise SpikeforgeError(f"{path}: format {z['format']!s}, expected {CACHE_FORMAT}")
                return cls(z["offsets"], z["flat"], z["count"], z["labels"], z["n_events"],
                           int(z["ticks"]), int(z["n_inputs"]))
        except (OSError, KeyError, ValueError) as e:
            raise SpikeforgeError(f"{path}: not an N-MNIST counts cache ({e})") from None


def distort_digits(images, augment: Augmentation, seed: int, first: int = 0) -> np.ndarray:
    """``images [n, 784]`` (28 x 28), digit ``i`` distorted by ``augment`` with the generator
    ``default_rng([seed, first + i, 1])``: per digit, so a digit's distortion does not depend on
    the chunk it is simulated in, and apart from the simulator's own ``[seed, i]`` stream."""
    images = np.asarray(images)
    flat = images.reshape(len(images), 28 * 28)
    out = np.empty_like(flat)
    for i in range(len(flat)):
        rng = np.random.default_rng([seed, first + i, 1])
        out[i] = augment(flat[i:i + 1], (28, 28), rng)[0]
    return out.reshape(images.shape)


def simulate_counts(images, labels, seed: int, first: int = 0, dt_us: int = DT_US,
                    tick_us: int = TICK_US, ticks: int = TICKS, batch: int = 16,
                    augment: Augmentation | None = None) -> EventCounts:
    """Simulate ``images`` (digit ``i`` with seed ``SeedSequence([seed, first + i])``) and bin;
    ``augment``: each digit distorted first (:func:`distort_digits`)."""
    if augment is not None:
        images = distort_digits(images, augment, seed, first)
    sim = SaccadeSimulator(dt_us=dt_us)
    streams = sim.simulate_many(images, seed=seed, batch=batch, first=first)
    counts = np.stack([bin_events(s, tick_us, ticks) for s in streams])
    return EventCounts.from_dense(counts, labels)


def augment_tag(augment: Augmentation | None) -> str:
    """The cache-name part of a distortion: ``""`` for none, else ``-aug`` and 8 hex digits
    of its parameters (undistorted and differently distorted chunks never share a file)."""
    if augment is None:
        return ""
    return "-aug" + hashlib.sha256(repr(augment).encode()).hexdigest()[:8]


def chunk_path(split: str, seed: int, first: int, n: int, dt_us: int = DT_US,
               tick_us: int = TICK_US, ticks: int = TICKS, cache_dir=CACHE_DIR,
               augment: Augmentation | None = None) -> Path:
    return Path(cache_dir) / (f"{split}-s{seed}{augment_tag(augment)}-dt{dt_us}-tick{tick_us}x{ticks}"
                              f"-{first:05d}-{n:05d}.npz")


def cached_counts(split: str, images, labels, n: int, seed: int, chunk: int = 500,
                  dt_us: int = DT_US, tick_us: int = TICK_US, ticks: int = TICKS,
                  cache_dir=CACHE_DIR, progress: bool = False,
                  augment: Augmentation | None = None) -> EventCounts:
    """Counts of ``images[:n]``, simulated chunk by chunk and cached (``chunk_path``); a chunk
    already in ``cache_dir`` is loaded, not simulated again."""
    if n > len(images):
        raise ConfigError(f"n: {n} digits asked for, the split has {len(images)}")
    return EventCounts.concat(cached_chunk(split, images, labels, first, min(chunk, n - first), seed,
                                           dt_us, tick_us, ticks, cache_dir, progress, augment)
                              for first in range(0, n, chunk))


def cached_chunk(split: str, images, labels, first: int, n: int, seed: int, dt_us: int = DT_US,
                 tick_us: int = TICK_US, ticks: int = TICKS, cache_dir=CACHE_DIR,
                 progress: bool = False, augment: Augmentation | None = None) -> EventCounts:
    """Counts of ``images[first:first + n]`` (seeds ``[seed, first + i]``; ``augment``: the
    digits distorted first): loaded from :func:`chunk_path`, or simulated and saved there."""
    path = chunk_path(split, seed, first, n, dt_us, tick_us, ticks, cache_dir, augment)
    if path.exists():
        return EventCounts.load(path)
    start = time.perf_counter()
    part = simulate_counts(images[first:first + n], labels[first:first + n], seed, first,
                           dt_us, tick_us, ticks, augment=augment)
    part.save(path, seed=seed, first=first, dt_us=dt_us, tick_us=tick_us,
              augment=repr(augment) if augment is not None else "")
    if progress:
        print(f"{path.name}: {n} digits in {time.perf_counter() - start:.1f} s", flush=True)
    return part


def merge_ticks(counts: np.ndarray, merge: int) -> np.ndarray:
    """``counts[..., ticks, n]`` with every ``merge`` consecutive ticks summed (a tick of
    ``merge * tick_us``; a last partial group is summed too)."""
    if merge == 1:
        return counts
    ticks = counts.shape[-2]
    pad = (-ticks) % merge
    if pad:
        counts = np.concatenate([counts, np.zeros(counts.shape[:-2] + (pad, counts.shape[-1]),
                                                  counts.dtype)], axis=-2)
    shape = counts.shape[:-2] + (counts.shape[-2] // merge, merge, counts.shape[-1])
    return counts.reshape(shape).sum(axis=-2)


def batch_counts(data: EventCounts, idx, merge: int = 1, max_count: int | None = 1) -> np.ndarray:
    """``[len(idx), ticks, n_inputs]`` int64 counts of the digits ``idx``, ``merge`` ticks
    summed (:func:`merge_ticks`), then clipped to ``max_count`` events per input per tick
    (None: not clipped). Default 1: the clipped inputs trained better (docs/events.md);
    ``spikeforge.flow.save_expected`` stores counts as well as 0/1 events."""
    counts = merge_ticks(data.dense(idx), merge)
    return counts if max_count is None else np.minimum(counts, max_count)


def dense_inputs(data: EventCounts, merge: int = 1, max_count: int | None = 1,
                 batch: int = 250) -> np.ndarray:
    """``[n, ticks, n_inputs]`` uint8 counts of every digit (:func:`batch_counts`), built
    ``batch`` digits at a time, each made uint8 before they are joined (the int64
    intermediate of 19,000 digits is 11 GB)."""
    parts = []
    for s in range(0, len(data), batch):
        part = batch_counts(data, np.arange(s, min(s + batch, len(data))), merge, max_count)
        if part.size and part.max() > 255:
            raise ConfigError(f"counts: {int(part.max())} events of one input in one tick do not fit uint8")
        parts.append(part.astype(np.uint8))
    return (np.concatenate(parts) if parts
            else np.zeros((0, -(-data.ticks // merge), data.n_inputs), dtype=np.uint8))


def input_batch(x: np.ndarray, idx, shift: int = 0, rng: np.random.Generator | None = None,
                size: int = 34) -> torch.Tensor:
    """The float input ``[ticks, batch, n_inputs]`` of the digits ``idx`` of ``x`` (from
    :func:`dense_inputs`): their counts as they are. ``shift`` > 0 (training only): each
    digit's events moved by a random whole number of pixels in ``-shift..shift`` along x and
    y, events pushed off the sensor dropped -- translation augmentation (the saccades
    themselves place the digit anywhere within 7 px)."""
    b = torch.from_numpy(x[idx if isinstance(idx, slice) else np.asarray(idx)]).float()
    if shift:
        n, t, _ = b.shape
        planes = b.view(n, t, 2, size, size)
        out = torch.zeros_like(planes)
        for k, (dx, dy) in enumerate(rng.integers(-shift, shift + 1, size=(n, 2))):
            src = planes[k, :, :, max(0, -dy):size - max(0, dy), max(0, -dx):size - max(0, dx)]
            out[k, :, :, max(0, dy):size - max(0, -dy), max(0, dx):size - max(0, -dx)] = src
        b = out.view(n, t, -1)
    return b.transpose(0, 1)


def float_accuracy(net, data: EventCounts, merge: int = 1, max_count: int | None = 1,
                   batch: int = 250) -> float:
    """Spike-count accuracy of the float :class:`LIFNet` on ``data``."""
    from spikeforge.model.lif import LIFNet

    net.eval()
    correct = 0
    with torch.no_grad():
        for s in range(0, len(data), batch):
            idx = np.arange(s, min(s + batch, len(data)))
            out, _ = net(input_batch(dense_inputs(data.subset(idx), merge, max_count), slice(None)))
            correct += int((LIFNet.predict_from(out).numpy() == data.labels[idx]).sum())
    return correct / max(1, len(data))


def check_regularisation(dropout_in: float, dropout_hidden: float, weight_decay: float,
                         label_smoothing: float) -> None:
    """One-line ``ConfigError`` naming a regularisation setting out of range (a dropout of 1
    would silence the layer; a negative decay or smoothing has no meaning)."""
    for name, value in (("dropout_in", dropout_in), ("dropout_hidden", dropout_hidden)):
        if not 0.0 <= value < 1.0:
            raise ConfigError(f"{name}: a dropout probability must be in [0, 1), got {value}")
    if weight_decay < 0:
        raise ConfigError(f"weight_decay: must be >= 0, got {weight_decay}")
    if not 0.0 <= label_smoothing < 1.0:
        raise ConfigError(f"label_smoothing: must be in [0, 1), got {label_smoothing}")


def train_event_lif(train: EventCounts, val: EventCounts | None = None, hidden=(128,),
                    epochs: int = 10, merge: int = 1, batch_size: int = 64, lr: float = 2e-3,
                    seed: int = 0, shift: int = 0, loss_scale: float = 0.3, cosine: bool = True,
                    max_count: int | None = 1, progress: bool = True, net=None,
                    dropout_in: float = 0.0, dropout_hidden: float = 0.0, weight_decay: float = 0.0,
                    label_smoothing: float = 0.0,
                    on_epoch: Callable[[int, torch.nn.Module], None] | None = None, **lif_kwargs):
    """Train a :class:`spikeforge.model.lif.LIFNet` ``[n_inputs, *hidden, 10]`` on binned event
    counts with BPTT and Adam (spike-count cross-entropy, :func:`spikeforge.model.lif.lif_loss`;
    ``cosine``: learning rate annealed to 0 over ``epochs``). History per epoch: (loss, train
    accuracy of the epoch's batches, ``val`` accuracy or nan). ``train`` may be a function of
    the epoch (0, 1, ...) returning the epoch's training set (a set that grows as the
    simulation proceeds, :func:`growing_train_set`). Regularisation, training only (the
    network deployed is the plain ``LIFNet``): ``dropout_in`` / ``dropout_hidden`` drop input
    events / hidden spikes (``LIFNet.forward``), ``weight_decay`` > 0 makes the optimizer
    AdamW (decoupled decay), ``label_smoothing`` smooths the cross-entropy's targets.
    ``on_epoch(epoch, net)`` (epoch 1, 2, ...), if given, is called after each epoch's
    validation: a trial keeps a checkpoint per epoch or scores another held-out set there,
    without a second training loop (the optimizer and the annealed rate stay as they are).
    Returns a :class:`spikeforge.model.ttfs.TrainResult` (``held_out="validation"``)."""
    from spikeforge.model.lif import LIFNet, lif_loss

    check_regularisation(dropout_in, dropout_hidden, weight_decay, label_smoothing)
    from spikeforge.model.ttfs import TrainResult

    if isinstance(hidden, int):
        hidden = (hidden,)
    n_classes = 10
    if net is None:
        n_inputs = (train(0) if callable(train) else train).n_inputs
        net = LIFNet([n_inputs, *hidden, n_classes], seed=seed, **lif_kwargs)
    opt = (torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay) if weight_decay
           else torch.optim.Adam(net.parameters(), lr=lr))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs)) if cosine else None
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)  # the dropout masks: reproducible per seed
    data_at = train if callable(train) else (lambda epoch: train)
    x, data = None, None
    history, epoch_seconds = [], []
    start = time.perf_counter()
    for epoch in range(epochs):
        t0 = time.perf_counter()
        net.train()
        if data_at(epoch) is not data:  # built once per training set: batches from sparse rows are slow
            data = data_at(epoch)
            x, labels = dense_inputs(data, merge, max_count), torch.as_tensor(data.labels)
        perm = rng.permutation(len(data))
        total, correct = 0.0, 0
        for s in range(0, len(perm), batch_size):
            idx = perm[s:s + batch_size]
            out, _ = net(input_batch(x, idx, shift, rng), dropout_in=dropout_in,
                         dropout_hidden=dropout_hidden, generator=gen)
            loss = lif_loss(out, labels[idx], loss_scale, label_smoothing)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            correct += int((LIFNet.predict_from(out.detach()) == labels[idx]).sum())
        if sched is not None:
            sched.step()
        epoch_seconds.append(time.perf_counter() - t0)
        acc_val = float_accuracy(net, val, merge, max_count) if val is not None else float("nan")
        history.append((total / len(perm), correct / len(perm), acc_val))
        if progress:
            print(f"epoch {epoch + 1}/{epochs}: loss {total / len(perm):.3f} train {correct / len(perm):.4f} "
                  f"val {acc_val:.4f} ({epoch_seconds[-1]:.0f} s)", flush=True)
        if on_epoch is not None:
            on_epoch(epoch + 1, net)
    return TrainResult.of(net, time.perf_counter() - start, history, epoch_seconds, "validation")


def most_events_per_tick(data: EventCounts, merge: int = 1, max_count: int | None = 1,
                         batch: int = 250) -> int:
    """Most input events in one tick of one digit of ``data`` (as :func:`batch_counts` gives them)."""
    return max((int(batch_counts(data, np.arange(s, min(s + batch, len(data))), merge, max_count)
                    .sum(axis=2).max()) for s in range(0, len(data), batch)), default=0)


def interleaved_chunks(n: int, chunk: int = 500) -> list[int]:
    """First digits of the chunks of ``n`` digits in the order two simulation processes make
    them, one from each end: 0, last, 500, last - 500, ..."""
    firsts = list(range(0, n, chunk))
    out = []
    while firsts:
        out.append(firsts.pop(0))
        if firsts:
            out.append(firsts.pop())
    return out


def growing_train_set(order, first_chunks: int, per_epoch: int, seed: int = TRAIN_SEED,
                      chunk: int = 500, wait_s: float = 10.0, dt_us: int = DT_US, cache_dir=CACHE_DIR):
    """``epoch -> EventCounts``: the training chunks ``order[:first_chunks + per_epoch * epoch]``
    (first digits, :func:`interleaved_chunks`), loaded from the cache, waiting for a chunk
    that is still being simulated. Deterministic: the same epochs see the same digits."""
    cache = {}

    def at(epoch: int) -> EventCounts:
        firsts = tuple(order[:first_chunks + per_epoch * epoch])
        if firsts not in cache:
            for f in firsts:
                while not chunk_path("train", seed, f, chunk, dt_us, cache_dir=cache_dir).exists():
                    time.sleep(wait_s)
            cache.clear()
            cache[firsts] = EventCounts.concat(
                EventCounts.load(chunk_path("train", seed, f, chunk, dt_us, cache_dir=cache_dir))
                for f in firsts)
        return cache[firsts]
    return at


def events_bound(data: EventCounts, merge: int = 1, max_count: int | None = 1,
                 margin: float = 1.5) -> int:
    """The first layer's ``max_events_per_tick``: ``margin`` times the most events in one
    (merged) tick of any digit of ``data`` (the training set), rounded up. The contract
    refuses an input with more; :func:`check_accepted` checks a data set against it."""
    return int(math.ceil(margin * most_events_per_tick(data, merge, max_count)))


def quantize_event_net(net, ticks: int, max_events_per_tick: int, weight_bits: int = 8):
    """The trained float ``LIFNet`` as an :class:`IntegerNetwork` (8-bit weights,
    :func:`spikeforge.compiler.quantize.quantize` with ``ticks``, as ``train_lif_model``
    does) whose first layer accepts at most ``max_events_per_tick`` input events per tick."""
    network = quantize(net.description(), weight_bits=weight_bits, ticks=ticks).network
    first = network.layers[0]
    layers = (IntegerLayer(first.weights, first.params, max_events_per_tick),) + network.layers[1:]
    return IntegerNetwork(layers, network.decision)


def golden_counts(data: EventCounts, idx, merge: int = 1, max_count: int | None = 1) -> np.ndarray:
    """``[len(idx), ticks, n_inputs]`` uint8 input counts for the golden model / hardware
    (:func:`batch_counts`)."""
    counts = batch_counts(data, idx, merge, max_count)
    if counts.size and counts.max() > 255:
        raise ConfigError(f"counts: {int(counts.max())} events of one input in one tick do not fit uint8")
    return counts.astype(np.uint8)


def golden_decisions(network, data: EventCounts, merge: int = 1, max_count: int | None = 1,
                     batch: int = 250) -> np.ndarray:
    """The golden model's class of every digit of ``data`` (``network.check_input`` refuses a
    digit with more events in a tick than the first layer's ``max_events_per_tick``)."""
    out = [classify(network, golden_counts(data, np.arange(s, min(s + batch, len(data))), merge, max_count))
           for s in range(0, len(data), batch)]
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def golden_accuracy(network, data: EventCounts, merge: int = 1, max_count: int | None = 1) -> float:
    return float(np.mean(golden_decisions(network, data, merge, max_count) == data.labels))


def main(argv=None):
    """``python -m spikeforge.model.event_train simulate --train 10000 --test 2000``"""
    import argparse

    from spikeforge.model.datasets import load_dataset

    ap = argparse.ArgumentParser(description="Simulated N-MNIST: simulate and cache")
    ap.add_argument("what", choices=["simulate"])
    ap.add_argument("--train", type=int, default=10000)
    ap.add_argument("--test", type=int, default=2000)
    ap.add_argument("--chunk", type=int, default=500)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    ds = load_dataset("mnist")
    for split, x, y, n, seed in (("test", ds.test_x, ds.test_y, args.test, TEST_SEED),
                                 ("train", ds.train_x, ds.train_y, args.train, TRAIN_SEED)):
        c = cached_counts(split, x, y, n, seed, args.chunk, progress=True)
        print(f"{split}: {len(c)} digits, {c.n_events.mean():.0f} events each, "
              f"max {c.max_events_per_tick()} events per tick, max {c.max_count()} per input", flush=True)


if __name__ == "__main__":
    main()
