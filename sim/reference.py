"""Scalar reference of the arithmetic contract: one neuron, plain Python ints, no cleverness.

Slow and deliberately literal -- it transcribes the update phase of
:mod:`spikeforge.sim.contract` line by line. It exists so that the vectorised golden model
and the RTL can be checked against something obviously right.
"""

from __future__ import annotations

from spikeforge.ir.params import NeuronParams, Reset, accumulator_bits, shifted_weights
from spikeforge.sim.contract import decay, saturate, saturate_unsigned, wrap


class ScalarNeuron:
    """One neuron of the contract. ``receive`` is the event phase, ``update`` the update phase.

    ``accumulator_bits``: the width of ``i`` during the event phase (the core's
    ``accumulator_bits``); every event's sum is kept modulo ``2**accumulator_bits`` as the
    register does, one event at a time (the golden model wraps the tick's sum once: the same
    by modular arithmetic). ``wrapped`` records that some sum did not fit. None: an
    unbounded accumulator (no wrap; enough for the worked example)."""

    def __init__(self, params: NeuronParams, accumulator_bits: int | None = None):
        self.params = params
        self.accumulator_bits = accumulator_bits
        self.wrapped = False
        self.clear()

    def clear(self) -> None:
        self.i = 0
        self.v = 0
        self.a = 0
        self.fired = False

    def receive(self, weight: int) -> None:
        """Event phase: add one weight, in the accumulator's width (it wraps only with more
        than ``max_events_per_tick`` events in a tick; see the contract)."""
        total = self.i + weight
        self.i = total if self.accumulator_bits is None else wrap(total, self.accumulator_bits)
        self.wrapped |= self.i != total

    def update(self) -> bool:
        """Update phase; returns whether the neuron spiked in this tick."""
        p = self.params
        self.i = saturate(self.i, p.current_bits)
        self.v = saturate(decay(self.v, p.beta, p.decay_bits) + self.i, p.membrane_bits)
        theta = p.threshold + (self.a if p.adaptive else 0)
        spike = self.v >= theta and not (p.fire_once and self.fired)
        if spike:
            if p.reset is Reset.SUBTRACT:
                self.v = self.v - theta
            else:
                self.v = 0
            self.fired = True
        if p.adaptive:
            step = p.adapt_step if spike else 0
            self.a = saturate_unsigned(decay(self.a, p.rho, p.decay_bits) + step, p.adapt_bits)
        self.i = decay(self.i, p.alpha, p.decay_bits)
        return spike


def run_reference(weights, params: NeuronParams, events_per_tick,
                  max_events_per_tick: int | None = None):
    """Run a core of scalar neurons. ``weights[j][n]``; ``events_per_tick[t]`` is the list of
    presynaptic indices delivered in tick t (repeats allowed, more than
    ``max_events_per_tick`` too: the accumulator then wraps; default bound ``len(weights)``).

    Returns ``(spikes, states)``: ``spikes`` a list of (tick, neuron) in emission order,
    ``states[t][n]`` the tuple (i, v, a, fired) at the end of tick t.
    """
    n_neurons = len(weights[0])
    bound = len(weights) if max_events_per_tick is None else max_events_per_tick
    acc = accumulator_bits(params, bound)
    neurons = [ScalarNeuron(params, acc) for _ in range(n_neurons)]
    added = shifted_weights(weights, params)  # w * 2**weight_shift
    spikes, states = [], []
    for t, events in enumerate(events_per_tick):
        for j in events:
            for n, neuron in enumerate(neurons):
                neuron.receive(int(added[j][n]))
        for n, neuron in enumerate(neurons):
            if neuron.update():
                spikes.append((t, n))
        states.append([(nr.i, nr.v, nr.a, nr.fired) for nr in neurons])
    return spikes, states
