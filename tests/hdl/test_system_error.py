"""SpikeforgeSystem.error across inferences run back to back (Amaranth simulator).

An image whose input overflows a tick (more events than ``layers[0].max_events_per_tick``)
must report ``error`` = 1 at its ``done``, wherever the overflowing tick is (the first, a
middle one or the last of the inference); the next, normal image must report ``error`` = 0
at its ``done`` -- the cores' ``overflow`` (sticky until their CLEAR) must not leak into it --
and its result must be the golden model's.
"""

import dataclasses
import random

import numpy as np
import pytest
import test_system_top as top

from spikeforge.compiler.map import plan_network
from spikeforge.cosim.system_cosim import random_inputs, random_network
from spikeforge.hdl.system import SpikeforgeSystem
from spikeforge.ir.network import IntegerNetwork
from spikeforge.ir.params import Decision
from spikeforge.ir.system import SystemConfig
from spikeforge.sim.network import run_network
from spikeforge.sim.system_cycle import ticks_to_run


def bounded_network(seed, decision):
    """A random 2-layer network whose first layer takes at most ``bound`` (< n_inputs)
    events per tick."""
    base = random_network(seed, n_layers=2, max_size=8, decision=decision)
    bound = max(2, base.n_inputs // 2)
    first = dataclasses.replace(base.layers[0], max_events_per_tick=bound)
    return IntegerNetwork((first,) + base.layers[1:], decision), bound


def tick_items(counts_tick, rng):
    """Items of one tick: every event (shuffled), then the marker; no gaps."""
    events = [int(j) for j in np.repeat(np.arange(len(counts_tick)), counts_tick)]
    rng.shuffle(events)
    return [(j, 0, 0) for j in events] + [(0, 1, 0)]


def run_images(seed, decision, overflow_at, n_ticks=4, fifo_depth=0, start_gaps=None):
    """Run one image per entry of ``overflow_at`` back to back on one system: an entry t
    (a tick) makes that image overflow in tick t, ``None`` makes it a normal image.
    Returns ``(network, observations, normal counts)``."""
    rng = random.Random(seed)
    network, bound = bounded_network(seed, decision)
    npc = [rng.randint(1, layer.n_neurons) for layer in network.layers]
    plan = plan_network(network, neurons_per_core=npc)
    counts = random_inputs(seed, network, len(overflow_at), n_ticks, p=0.4)
    # keep every tick within the bound: drop events beyond the first ``bound`` ones
    for b in range(counts.shape[0]):
        for t in range(n_ticks):
            active = np.flatnonzero(counts[b, t])
            counts[b, t, active[bound:]] = 0
    network.check_input(counts)  # the normal ticks are legal
    items = []
    for b, t_over in enumerate(overflow_at):
        image = []
        for t in range(n_ticks):
            row = counts[b, t].copy()
            if t == t_over:  # bound + 1 .. bound + 3 events, repeats allowed
                row[:] = 0
                for _ in range(bound + 1 + rng.randint(0, 2)):
                    row[rng.randrange(network.n_inputs)] += 1
                assert row.sum() > bound
            image += tick_items(row, rng)
        items.append(image)
    if start_gaps is None:
        start_gaps = [rng.choice([0, 0, 1, 3]) for _ in overflow_at]
    dut = SpikeforgeSystem(plan, SystemConfig(decision, fifo_depth=fifo_depth))
    top.N_TICKS[0] = n_ticks
    got = top.simulate(dut, items, start_gaps, lambda cycle: True, start_cycle=2)
    assert len(got) == len(overflow_at)
    return network, got, counts


def check_errors(seed, decision, overflow_at, **kwargs):
    n_ticks = kwargs.setdefault("n_ticks", 4)
    network, got, counts = run_images(seed, decision, overflow_at, **kwargs)
    trace = run_network(network, counts, n_ticks)
    for b, (t_over, obs) in enumerate(zip(overflow_at, got)):
        where = f"seed {seed} {decision.name} image {b} (overflow tick {t_over})"
        if t_over is not None:
            assert obs["ticks_run"] > t_over, f"{where}: the overflowing tick did not run"
            assert obs["error"] == 1, f"{where}: overflow not reported at done"
        else:
            assert obs["error"] == 0, f"{where}: error flag set at done of a normal image"
            # nothing of the overflowing image leaks into the result either
            ticks_run = ticks_to_run(trace, b, n_ticks)
            assert obs["ticks_run"] == ticks_run, where
            assert obs["cls"] == int(trace.decision[b]), f"{where}: class"
            assert obs["tick"] == int(trace.decision_tick[b]) % (1 << 16), f"{where}: decision tick"
            out = sorted((n, t) for n, t, _ in obs["out"])
            want = sorted((int(n), int(t)) for t, n in np.argwhere(
                trace.spikes[-1][b, :ticks_run]))
            assert out == want, f"{where}: output spikes"


N = 4  # ticks per image


@pytest.mark.parametrize("decision", [Decision.SPIKE_COUNT, Decision.MEMBRANE_MAX])
@pytest.mark.parametrize("where", ["last", "first", "middle"])
def test_overflow_reported_once_then_cleared(decision, where):
    """A (overflow) / B (normal) / A / B with no gap before B's start: error 1, 0, 1, 0."""
    t = {"last": N - 1, "first": 0, "middle": 1}[where]
    for seed in (1, 2):
        check_errors(seed, decision, [t, None, t, None], n_ticks=N, start_gaps=[0, 0, 0, 0],
                     fifo_depth=seed - 1)


def test_last_and_earlier_overflow_in_one_run():
    """Overflow in the last tick, then a normal image, then one in tick 0, two normal
    images, one in a middle tick and a normal one; random start gaps and a FIFO."""
    check_errors(7, Decision.SPIKE_COUNT, [N - 1, None, 0, None, None, 2, None], n_ticks=N,
                 fifo_depth=2)


def test_first_spike_overflow_in_tick_0():
    """FIRST_SPIKE may stop early, so its overflow is in tick 0 (always run)."""
    for seed in (3, 4):
        check_errors(seed, Decision.FIRST_SPIKE, [0, None, 0, None], n_ticks=N)
