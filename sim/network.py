"""Golden model of a multi-layer network of the arithmetic contract.

A network (:class:`~spikeforge.ir.network.IntegerNetwork`) is a chain of fully connected layers,
each a population of contract neurons (:class:`~spikeforge.ir.params.NeuronParams`) with integer weights
``weights[j, n]`` from presynaptic input ``j`` to neuron ``n``. Timing follows the contract:

* layer 0 receives the external input events of tick ``t`` in the event phase of tick ``t``;
* a spike of layer ``l`` in the update phase of tick ``t`` is an input event of layer
  ``l + 1`` in tick ``t + 1`` (one tick of delay per layer), so the output layer of an
  ``L``-layer network first reacts to input of tick 0 in tick ``L - 1``.

The arithmetic is not re-implemented here: the event phase is the exact sum of the weights of
this tick's events (a matrix product, or for sparse events -- a time-to-first-spike input
spikes once -- the sum of the gathered weight rows of the inputs that spiked; both exact),
and the update phase is :func:`spikeforge.sim.golden.update_phase`. Everything is vectorised
over the batch with numpy integers (``int32`` where every value of the contract fits,
else ``int64``).

Speed: :func:`classify` (decisions only) keeps no hidden spikes and lets every sample of a
FIRST_SPIKE network leave the batch at its decision tick, as the hardware stops there;
:func:`run_network` does the same with ``early_exit=True`` and otherwise (the default, the
reference trace that stored expectations compare against) runs every tick.

Decisions (:class:`~spikeforge.ir.params.Decision`) are taken from the output (last)
layer as the contract says; ``decision_tick`` is the tick at the end of which the decision is
known (the early-exit tick of a first-spike network).

Overflow (more events in a tick than a layer's ``max_events_per_tick``) is the contract's:
the accumulator wraps, and :attr:`NetworkTrace.error` is the system's ``error`` flag of each
inference. :func:`run_network` (the reference trace the co-simulation compares against)
takes such input as the hardware does; :func:`classify` refuses it unless ``strict=False``
(an accuracy figure should not rest on inputs the hardware flags as errors), and
:func:`overflowing_images` names them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikeforge.ir.errors import ConfigError
from spikeforge.ir.network import NO_CLASS, IntegerLayer, IntegerNetwork
from spikeforge.ir.params import Decision, accumulator_bits, shifted_weights
from spikeforge.sim.golden import CoreState, update_phase, wrap_array

#: :attr:`NetworkTrace.error` of an inference whose flag depends on cycle timing (see there)
ERROR_UNDETERMINED = -1


@dataclass
class NetworkTrace:
    """What a network did for a batch of inferences.

    * ``spikes[l]`` -- ``[batch, ticks, n_neurons of layer l]`` bool, spikes emitted by layer
      ``l`` in the update phase of each tick;
    * ``input_counts`` -- ``[batch, ticks, n_inputs]`` the external events actually delivered;
    * ``output_v`` -- ``[batch, ticks, n_out]`` membrane of the output layer at the end of each
      tick (``output_v[:, -1]`` is what ``MEMBRANE_MAX`` reads);
    * ``decision`` -- ``[batch]`` class (``NO_CLASS`` = -1 for a first-spike inference without
      any output spike);
    * ``decision_tick`` -- ``[batch]`` the tick at the end of which the decision is known:
      for ``FIRST_SPIKE`` the tick of the first output spike (the early-exit tick), and
      ``ticks - 1`` when no output neuron spiked; for ``SPIKE_COUNT`` and ``MEMBRANE_MAX``
      always ``ticks - 1``;
    * ``max_events`` -- each layer's ``max_events_per_tick`` (what :meth:`overflow` and
      :attr:`error` compare the events with; empty: unknown, nothing overflows).
    """

    spikes: list[np.ndarray]
    input_counts: np.ndarray
    output_v: np.ndarray
    decision: np.ndarray
    decision_tick: np.ndarray
    decision_mode: Decision
    layer_sizes: list[tuple[int, int]]  # (n_inputs, n_neurons) per layer
    max_events: tuple = ()

    @property
    def ticks(self) -> int:
        return int(self.input_counts.shape[1])

    @property
    def ticks_run(self) -> np.ndarray:
        """``[batch]`` ticks the system runs: ``decision_tick + 1`` in every mode (a
        FIRST_SPIKE inference stops after its decision tick, the others run every tick)."""
        return self.decision_tick + 1

    def layer_event_counts(self, layer: int) -> np.ndarray:
        """``[batch, ticks + 1]``: the events each core of ``layer`` takes for tick t, as its
        ``max_events_per_tick`` counts them (between two TICKs): the external events of tick
        t (layer 0), the previous layer's spikes of tick t - 1 (others). Column ``ticks``:
        the previous layer's spikes of the last tick, which reach the cores in the last
        update phase although no tick consumes them."""
        batch, ticks = self.input_counts.shape[:2]
        out = np.zeros((batch, ticks + 1), dtype=np.int64)
        if layer == 0:
            out[:, :ticks] = self.input_counts.sum(axis=2, dtype=np.int64)
        else:
            out[:, 1:] = self.spikes[layer - 1].sum(axis=2, dtype=np.int64)
        return out

    def overflow(self) -> np.ndarray:
        """``[batch, layers, ticks + 1]`` bool: layer l's cores take more than its
        ``max_events_per_tick`` events for tick t (:meth:`layer_event_counts`)."""
        batch, ticks = self.input_counts.shape[:2]
        out = np.zeros((batch, len(self.layer_sizes), ticks + 1), dtype=bool)
        for l, limit in enumerate(self.max_events):
            out[:, l] = self.layer_event_counts(l) > limit
        return out

    @property
    def error(self) -> np.ndarray:
        """``[batch]`` int8: the system's ``error`` flag at ``done`` (the contract's rule):
        1 when a layer's cores took more than ``max_events_per_tick`` events for a tick
        whose events all arrive before the inference ends -- layer 0: ticks ``0 ..
        ticks_run - 1``; a layer l >= 1: ticks ``1 .. ticks_run`` (the spikes of layer l - 1
        in every tick run, the last one included) -- else 0. :data:`ERROR_UNDETERMINED`
        (-1) where only a FIRST_SPIKE inference's decision tick d brings too many events to
        a later layer (its events of tick d + 1): the run stops at the deciding spike inside
        that update phase, and whether the offending event comes two cycles before
        ``done`` is a matter of timing (when d is decided at the tick's end instead --
        several output cores, only higher classes spiked -- the flag is 1)."""
        over = self.overflow()
        batch, layers, width = over.shape
        t = np.arange(width)[None, :]
        run = self.ticks_run[:, None]
        definite = (over[:, 0] & (t < run)).any(axis=1)
        racing = np.zeros(batch, dtype=bool)
        if layers > 1:
            hidden = over[:, 1:] & (t <= run)[:, None, :]  # [batch, layers - 1, ticks + 1]
            stopped = (self.decision != NO_CLASS) if self.decision_mode is Decision.FIRST_SPIKE \
                else np.zeros(batch, dtype=bool)
            last = hidden[np.arange(batch), :, self.ticks_run.clip(max=width - 1)].any(axis=1)
            hidden[np.arange(batch), :, self.ticks_run.clip(max=width - 1)] &= ~stopped[:, None]
            definite |= hidden.any(axis=(1, 2))
            racing = stopped & last & ~definite
        return np.where(definite, 1, np.where(racing, ERROR_UNDETERMINED, 0)).astype(np.int8)

    def first_overflows(self) -> list:
        """Per image the ``(layer, tick, events, max_events_per_tick)`` of the earliest
        overflow that :attr:`error` counts (by tick, then layer), or None: what a mismatch
        of the error flag names."""
        over = self.overflow()  # [batch, layers, ticks + 1]
        t = np.arange(over.shape[2])[None, None, :]
        run = self.ticks_run[:, None, None]
        counted = over & np.where(np.arange(over.shape[1])[None, :, None] == 0, t < run, t <= run)
        out = [None] * over.shape[0]
        for b in np.flatnonzero(counted.any(axis=(1, 2))):
            l, tick = min(((int(l), int(tt)) for l, tt in np.argwhere(counted[b])),
                          key=lambda x: (x[1], x[0]))
            out[b] = (l, tick, int(self.layer_event_counts(l)[b, tick]), int(self.max_events[l]))
        return out

    def first_overflow(self, image: int) -> tuple[int, int, int, int] | None:
        """:meth:`first_overflows` of one image."""
        return self.first_overflows()[image]


    def layer_input_counts(self, layer: int) -> np.ndarray:
        """``[batch, ticks, n_inputs]`` input events of ``layer`` per tick (the external input
        for layer 0; the previous layer's spikes, delayed by one tick, otherwise)."""
        if layer == 0:
            return self.input_counts
        previous = self.spikes[layer - 1]
        delayed = np.zeros(previous.shape, dtype=np.int64)
        delayed[:, 1:] = previous[:, :-1]
        return delayed

    def statistics(self, until_decision: bool = True) -> "NetworkStatistics":
        """Work done per sample, counting ticks ``0..decision_tick`` (``until_decision``: the
        hardware exits early there) or all ticks."""
        batch, ticks = self.input_counts.shape[:2]
        if until_decision:
            ticks_run = self.decision_tick + 1
        else:
            ticks_run = np.full(batch, ticks, dtype=np.int64)
        mask = np.arange(ticks)[None, :] < ticks_run[:, None]  # [batch, ticks]
        input_events, distinct, synaptic, per_ticks = [], [], [], []
        for l, (n_in, n_out) in enumerate(self.layer_sizes):
            if l == 0:
                source = self.input_counts
                per_tick = source.sum(axis=2, dtype=np.int64)  # [batch, ticks]
                first = _first_tick(source > 0)  # [batch, n_in]
            else:  # the previous layer's spikes, one tick later
                source = self.spikes[l - 1]
                per_tick = np.zeros((batch, ticks), dtype=np.int64)
                per_tick[:, 1:] = source.sum(axis=2, dtype=np.int64)[:, :-1]
                first = _first_tick(source) + 1
            per_tick = per_tick * mask
            events = per_tick.sum(axis=1)
            per_ticks.append(per_tick)
            input_events.append(events)
            synaptic.append(events * n_out)
            distinct.append((first < ticks_run[:, None]).sum(axis=1) / n_in)
        input_events = np.stack(input_events, axis=1)
        synaptic = np.stack(synaptic, axis=1)
        dense = np.array([n_in * n_out for n_in, n_out in self.layer_sizes], dtype=np.int64)
        fraction = synaptic / (dense[None, :] * ticks_run[:, None])
        hidden = np.zeros(batch, dtype=np.int64)
        for layer_spikes in self.spikes[:-1]:
            hidden += (layer_spikes.sum(axis=2, dtype=np.int64) * mask).sum(axis=1)
        output = (self.spikes[-1].sum(axis=2, dtype=np.int64) * mask).sum(axis=1)
        return NetworkStatistics(ticks_run, input_events, synaptic, fraction,
                                 np.stack(distinct, axis=1), hidden, output,
                                 np.stack(per_ticks, axis=1))


def _first_tick(active: np.ndarray) -> np.ndarray:
    """``[batch, n]`` first tick in which ``active[batch, ticks, n]`` is true (``ticks`` if never)."""
    ticks = active.shape[1]
    return np.where(active.any(axis=1), np.argmax(active, axis=1), ticks)


@dataclass
class NetworkStatistics:
    """Work per sample (arrays with a leading batch axis; ``[batch, layers]`` per layer).

    * ``ticks_run`` -- ``[batch]`` ticks simulated (``decision_tick + 1`` with early exit);
    * ``input_events`` -- events delivered to each layer's event phase;
    * ``synaptic_events`` -- ``input_events * n_neurons``: weights read (= synaptic
      operations, the NeuroBench definition for a fully connected layer);
    * ``weights_read_fraction`` -- ``synaptic_events / (n_inputs * n_neurons * ticks_run)``,
      the fraction of the weight reads of a dense (clock-driven) implementation;
    * ``distinct_weights_read_fraction`` -- fraction of the layer's weight rows read at least
      once (inputs that spiked at least once / ``n_inputs``);
    * ``hidden_spikes`` -- ``[batch]`` spikes of all layers but the output one in the ticks run;
    * ``output_spikes`` -- ``[batch]`` spikes of the output layer in the ticks run;
    * ``input_events_per_tick`` -- ``[batch, layers, ticks]``: ``input_events`` tick by
      tick (0 in the ticks not run).
    """

    ticks_run: np.ndarray
    input_events: np.ndarray
    synaptic_events: np.ndarray
    weights_read_fraction: np.ndarray
    distinct_weights_read_fraction: np.ndarray
    hidden_spikes: np.ndarray
    output_spikes: np.ndarray
    input_events_per_tick: np.ndarray


def decide(output_spikes: np.ndarray, final_v: np.ndarray, mode: Decision):
    """The contract's decision from ``output_spikes[batch, ticks, n_out]`` (bool) and the
    output membrane after the last tick ``final_v[batch, n_out]`` (int or float).

    Returns ``(decision[batch], decision_tick[batch])``; ties go to the lowest index
    (``argmax`` returns the first maximum).
    """
    if not isinstance(mode, Decision):
        raise ConfigError(f"decision: must be one of {[d.value for d in Decision]}, got {mode!r}")
    batch, ticks, _ = output_spikes.shape
    last = np.full(batch, ticks - 1, dtype=np.int64)
    if mode is Decision.FIRST_SPIKE:
        any_per_tick = output_spikes.any(axis=2)  # [batch, ticks]
        spiked = any_per_tick.any(axis=1)
        first_tick = np.argmax(any_per_tick, axis=1)
        first_class = np.argmax(output_spikes[np.arange(batch), first_tick], axis=1)
        decision = np.where(spiked, first_class, NO_CLASS).astype(np.int64)
        return decision, np.where(spiked, first_tick, last).astype(np.int64)
    if mode is Decision.SPIKE_COUNT:
        return np.argmax(output_spikes.sum(axis=1), axis=1).astype(np.int64), last
    return np.argmax(final_v, axis=1).astype(np.int64), last


# The event phase as a float matrix product (BLAS) is exact while every partial sum is an
# integer of magnitude below 2**24 (float32) or 2**53 (float64); otherwise int64. A partial
# sum of the sparse gather below is a sum of a subset of the same events: the bound holds.
def _event_dtype(layer: IntegerLayer, most_events: int | None = None):
    """``most_events``: the most events of a tick (default ``max_events_per_tick``; more
    when the input overflows)."""
    events = layer.max_events_per_tick if most_events is None else most_events
    # the largest weight shifted, not the shifted array: no copy of the weights per call
    worst = events * (int(np.abs(layer.weights).max(initial=0)) << layer.params.weight_shift)
    if worst < (1 << 24):
        return np.float32
    if worst < (1 << 53):
        return np.float64
    return np.int64


#: the event phase gathers weight rows instead of a dense product below this density of
#: events (nonzero counts / (batch * n_inputs)); measured on 784x600 float32 weights
SPARSE_DENSITY = 0.05


def _state_dtype(layer: IntegerLayer):
    """int32 for the layer's state when every value the contract computes fits: the event
    phase's accumulator, and a decay's product ``x * factor`` (plus its rounding bias) of
    every state; else int64. Half the memory traffic of the update phase."""
    p = layer.params
    widest = max(p.current_bits, p.membrane_bits, p.adapt_bits + 1)
    if (accumulator_bits(p, layer.max_events_per_tick) <= 31
            and widest + p.decay_bits + 1 <= 31):
        return np.int32
    return np.int64


def _to_int(product: np.ndarray, dtype=np.int64) -> np.ndarray:
    """The exact integers of ``product`` (integer-valued floats or int64) as ``dtype``."""
    if product.dtype.kind == "f":
        product = np.rint(product)
    return product.astype(dtype)


def _gather(rows: np.ndarray, inputs: np.ndarray, n: np.ndarray, weights: np.ndarray,
            n_rows: int, dtype=np.int64) -> np.ndarray:
    """Exact event phase of sparse events: event k adds ``n[k]`` times the weight row
    ``inputs[k]`` to sample row ``rows[k]`` (``rows`` ascending). The weight rows of the
    inputs that spiked are gathered and added in rounds -- round r adds every sample's r-th
    event, so no sample appears twice in a round and a plain fancy-index add is exact --
    instead of a product over every input. Returns ``[n_rows, n_neurons]`` of ``dtype``."""
    product = np.zeros((n_rows, weights.shape[1]), dtype=weights.dtype)
    if rows.size:
        new = np.ones(rows.size, dtype=bool)
        new[1:] = rows[1:] != rows[:-1]
        starts = np.flatnonzero(new)
        rank = np.arange(rows.size) - np.repeat(starts, np.diff(np.append(starts, rows.size)))
        repeated = n.max() > 1  # several events of one input in one tick
        for r in range(int(rank.max()) + 1):
            k = np.flatnonzero(rank == r) if r else starts
            gathered = weights[inputs[k]]
            if repeated:
                gathered *= n[k].astype(weights.dtype)[:, None]
            product[rows[k]] += gathered
    return _to_int(product, dtype)


def _event_phase(counts: np.ndarray, weights: np.ndarray, dtype=np.int64) -> np.ndarray:
    """Exact ``counts @ weights`` as ``dtype`` (``counts[batch, n_inputs]``, ``weights``
    already in the chosen dtype): a dense product, or :func:`_gather` for sparse events (a
    time-to-first-spike layer's input spikes once per inference)."""
    batch, n_inputs = counts.shape
    rows, inputs = np.divmod(np.flatnonzero(counts), n_inputs)  # faster than a 2-D nonzero
    if rows.size < SPARSE_DENSITY * batch * n_inputs:
        return _gather(rows, inputs, counts[rows, inputs], weights, batch, dtype)
    return _to_int(np.ascontiguousarray(counts, dtype=weights.dtype) @ weights, dtype)


def _flat_nonzero(flat: np.ndarray) -> np.ndarray:
    """``np.flatnonzero`` of a contiguous 1-D integer array, faster on sparse data: the
    nonzero 8-byte words first, then the nonzero bytes inside them (numpy's nonzero tests
    one small element at a time and a 3-D nonzero is slower still)."""
    raw = flat.view(np.uint8)
    if raw.size % 8:
        return np.flatnonzero(flat)
    words = raw.view(np.uint64)
    k = np.flatnonzero(words)
    word, byte = np.nonzero(words[k].view(np.uint8).reshape(-1, 8))
    index = (k[word] * 8 + byte) // flat.itemsize
    return index if flat.itemsize == 1 else np.unique(index)


class _ExternalEvents:
    """The external input, tick by tick. A sparse input (below :data:`SPARSE_DENSITY`) is
    turned into its events once -- ``(sample, input, count)`` grouped by tick -- so that a
    tick's events are a slice, not a scan of a ``[batch, n_inputs]`` plane."""

    def __init__(self, counts: np.ndarray):
        self.counts = counts
        batch, ticks, _ = counts.shape
        self.sparse = np.count_nonzero(counts) < SPARSE_DENSITY * counts.size
        if self.sparse:
            flat = np.ascontiguousarray(counts).reshape(-1)
            index = _flat_nonzero(flat)
            b, rest = np.divmod(index, ticks * counts.shape[2])
            t, j = np.divmod(rest, counts.shape[2])
            order = np.argsort(t, kind="stable")  # by tick, then sample, then input
            self.b, self.j, self.n = b[order], j[order], flat[index[order]]
            self.bounds = np.searchsorted(t[order], np.arange(ticks + 1))
            self.position = np.arange(batch)  # sample -> its row among the running ones

    def event_phase(self, t: int, samples: np.ndarray, weights: np.ndarray,
                    dtype) -> np.ndarray:
        """The synaptic input of layer 0 in tick ``t`` for the running ``samples``."""
        if not self.sparse:
            rows = slice(None) if samples.size == len(self.counts) else samples
            return _event_phase(self.counts[rows, t], weights, dtype)
        lo, hi = self.bounds[t], self.bounds[t + 1]
        position = self.position[self.b[lo:hi]]
        running = position >= 0
        return _gather(position[running], self.j[lo:hi][running], self.n[lo:hi][running],
                       weights, samples.size, dtype)

    def leave(self, samples: np.ndarray, running: np.ndarray) -> None:
        """Renumber after the samples where ``running`` is false left."""
        if self.sparse:
            self.position[samples] = -1
            self.position[samples[running]] = np.arange(int(running.sum()))


def _pad_ticks(counts: np.ndarray, ticks, n_inputs: int) -> np.ndarray:
    """``counts`` cut or padded with silent ticks to ``ticks`` ticks."""
    batch, ticks_in, _ = counts.shape
    ticks = ticks_in if ticks is None else ticks
    if not isinstance(ticks, (int, np.integer)) or isinstance(ticks, bool) or ticks < 1:
        raise ConfigError(f"ticks: must be a positive integer, got {ticks!r}")
    if ticks == ticks_in:
        return counts
    padded = np.zeros((batch, ticks, n_inputs), dtype=counts.dtype)
    n = min(ticks, ticks_in)
    padded[:, :n] = counts[:, :n]
    return padded


def _most_events(network: IntegerNetwork, counts: np.ndarray) -> list[int]:
    """The most events any layer's cores can take in one tick of this input: layer 0 the
    input's busiest tick, a later layer its fan-in (every neuron of the previous layer
    spikes at most once a tick)."""
    first = int(counts.sum(axis=2, dtype=np.int64).max(initial=0)) if counts.size else 0
    return [first] + [layer.n_inputs for layer in network.layers[1:]]


def _accumulate(state: CoreState, synaptic: np.ndarray, layer: IntegerLayer,
                wraps: bool) -> None:
    """The event phase's sum into ``state.i``; with ``wraps`` (the layer may take more than
    ``max_events_per_tick`` events) in int64, kept modulo ``2**accumulator_bits`` (the
    contract's overflow) and returned to the state's dtype."""
    if not wraps:
        state.i = state.i + synaptic
        return
    total = state.i.astype(np.int64) + synaptic.astype(np.int64)
    state.i = wrap_array(total, layer.accumulator_bits).astype(state.i.dtype)


def _keep(state: CoreState, keep: np.ndarray) -> CoreState:
    return CoreState(state.i[keep], state.v[keep], state.a[keep], state.fired[keep])


@dataclass
class _Tick:
    """What one tick did: ``samples`` (the running ones), per layer their spikes
    ``[len(samples), n]`` (None for a layer not recorded), the output membrane."""

    samples: np.ndarray
    spikes: list
    output_v: np.ndarray


def _simulate(network: IntegerNetwork, counts: np.ndarray, early: bool,
              record: list[bool]) -> list[_Tick]:
    """Every tick of the batch (see :func:`run_network`); ``record[l]``: keep layer l's
    spikes. With ``early``, a sample stops running after the tick of its first output spike
    and the run ends when none is left."""
    batch, ticks = counts.shape[:2]
    external = _ExternalEvents(counts)
    most = _most_events(network, counts)
    wraps = [m > layer.max_events_per_tick for m, layer in zip(most, network.layers)]
    event_weights = [shifted_weights(layer.weights, layer.params).astype(
                         _event_dtype(layer, max(m, layer.max_events_per_tick)))
                     for m, layer in zip(most, network.layers)]
    dtypes = [_state_dtype(layer) for layer in network.layers]
    # a layer that may wrap sums in int64 first (the event phase's dtype can be narrower)
    sums = [np.int64 if w else d for w, d in zip(wraps, dtypes)]
    states = [CoreState(*(np.zeros((batch, layer.n_neurons), dtype) for _ in range(3)),
                        np.zeros((batch, layer.n_neurons), dtype=bool))
              for layer, dtype in zip(network.layers, dtypes)]
    samples = np.arange(batch)
    previous = [None] * len(network.layers)  # each layer's spikes of the previous tick
    out = []
    for t in range(ticks):
        if samples.size == 0:
            break
        for l, layer in enumerate(network.layers):
            if l == 0:
                _accumulate(states[0], external.event_phase(t, samples, event_weights[0],
                                                            sums[0]), layer, wraps[0])
            elif t > 0:  # no events in tick 0; the update phase still runs below
                _accumulate(states[l], _event_phase(previous[l - 1], event_weights[l], sums[l]),
                            layer, wraps[l])
        for l, layer in enumerate(network.layers):
            states[l], previous[l] = update_phase(states[l], layer.params)
        out.append(_Tick(samples, [s if keep else None for s, keep in zip(previous, record)],
                         states[-1].v))
        if early:
            running = ~previous[-1].any(axis=1)
            if not running.all():
                external.leave(samples, running)
                samples = samples[running]
                states = [_keep(state, running) for state in states]
                previous = [p[running] for p in previous]
    return out


def _assemble(record: list[_Tick], layer: int, shape) -> np.ndarray:
    """``[batch, ticks, n]`` spikes of ``layer`` from the ticks' records (False where not run)."""
    spikes = np.zeros(shape, dtype=bool)
    for t, tick in enumerate(record):
        spikes[tick.samples, t] = tick.spikes[layer]
    return spikes


def _output_v(record: list[_Tick], batch: int, ticks: int, n_out: int) -> np.ndarray:
    output_v = np.zeros((batch, ticks, n_out), dtype=np.int64)
    for t, tick in enumerate(record):
        output_v[tick.samples, t] = tick.output_v
    return output_v


def run_network(network: IntegerNetwork, input_counts, ticks: int | None = None, *,
                early_exit: bool = False) -> NetworkTrace:
    """Run a batch of inferences from cleared state.

    ``input_counts[batch, ticks_in, n_inputs]`` are external input events per tick
    (``[ticks_in, n_inputs]`` is one sample). ``ticks`` (default ``ticks_in``) is the
    length of the inference; missing input ticks are silent (zero), so e.g. ``ticks =
    ticks_in + len(layers) - 1`` lets the last input reach the output layer.

    ``early_exit`` (FIRST_SPIKE networks; ignored otherwise): simulate each sample only up to
    its decision tick, as the hardware does -- a sample leaves the batch at the end of the
    first tick in which an output neuron spikes, and the run ends when every sample has
    left. Everything up to and including each sample's ``decision_tick`` (spikes, input
    counts, ``output_v``) and the decisions are identical to the full run; later ticks of a
    decided sample are not simulated (no spikes, ``output_v`` 0, ``max_events_per_tick`` not
    checked there) and ``statistics(until_decision=False)`` is meaningless for it. The full
    run (default) is the reference trace that stored expectations compare against.

    Sparse input (a time-to-first-spike code: each input spikes once) is summed as the weight
    rows of the inputs that spiked instead of a dense product; the result is the same.
    """
    counts = _pad_ticks(network.check_input(input_counts), ticks, network.n_inputs)
    batch, ticks = counts.shape[:2]
    early = early_exit and network.decision is Decision.FIRST_SPIKE
    record = _simulate(network, counts, early, [True] * len(network.layers))
    spikes = [_assemble(record, l, (batch, ticks, layer.n_neurons))
              for l, layer in enumerate(network.layers)]
    output_v = _output_v(record, batch, ticks, network.n_outputs)
    decision, decision_tick = decide(spikes[-1], output_v[:, -1], network.decision)
    return NetworkTrace(spikes, counts, output_v, decision, decision_tick, network.decision,
                        [(layer.n_inputs, layer.n_neurons) for layer in network.layers],
                        tuple(layer.max_events_per_tick for layer in network.layers))


def _classify(network: IntegerNetwork, counts: np.ndarray, ticks) -> np.ndarray:
    """Decisions of one chunk: only the output layer is recorded, FIRST_SPIKE exits early."""
    counts = _pad_ticks(counts, ticks, network.n_inputs)
    batch, ticks = counts.shape[:2]
    last = len(network.layers) - 1
    early = network.decision is Decision.FIRST_SPIKE
    record = _simulate(network, counts, early, [l == last for l in range(last + 1)])
    spikes = _assemble(record, last, (batch, ticks, network.n_outputs))
    final_v = _output_v(record[-1:], batch, 1, network.n_outputs)[:, 0]
    return decide(spikes, final_v, network.decision)[0]


def classify(network: IntegerNetwork, input_counts, ticks: int | None = None,
             batch_size: int = 1024, strict: bool = True) -> np.ndarray:
    """Decisions only (the same as ``run_network(...).decision``), run in chunks of
    ``batch_size`` samples to bound memory; hidden spikes are not kept, and a FIRST_SPIKE
    network stops each sample at its decision (``early_exit``).

    ``strict`` (default): refuse an input with more events in a tick than the first
    layer's ``max_events_per_tick``, naming it -- the hardware would flag that inference
    as an error, so its class is no evidence of accuracy. ``strict=False``: decide it as
    the hardware does (the accumulator wraps)."""
    counts = network.check_input(input_counts, strict=strict)
    out = [_classify(network, counts[start:start + batch_size], ticks)
           for start in range(0, counts.shape[0], batch_size)]
    return np.concatenate(out)


def overflowing_images(network: IntegerNetwork, input_counts) -> np.ndarray:
    """Indices of the images of ``input_counts`` with more events in some tick than the
    first layer's ``max_events_per_tick`` (the hardware flags them with ``error``; their
    accumulators wrap): what ``verify`` and ``compile`` can report about user data."""
    counts = network.check_input(input_counts)
    per_tick = counts.sum(axis=2, dtype=np.int64)
    return np.flatnonzero((per_tick > network.layers[0].max_events_per_tick).any(axis=1))
