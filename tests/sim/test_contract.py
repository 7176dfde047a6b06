"""The arithmetic contract: its worked examples, scalar reference == vectorised golden model,
corner cases (saturation, reset modes, adaptation)."""

import doctest
from fractions import Fraction

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spikeforge.sim.contract as contract
import spikeforge.sim.golden as golden
from spikeforge.ir.core import CoreConfig
from spikeforge.ir.params import NeuronParams, Reset, signed_range
from spikeforge.sim.contract import decay, saturate, wrap
from spikeforge.sim.golden import CoreState, GoldenCore, decay_array, update_phase, wrap_array
from spikeforge.sim.reference import ScalarNeuron, run_reference


def test_worked_examples_in_the_contract_hold():
    for module in (contract, golden):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__


@given(x=st.integers(-(1 << 40), 1 << 40), decay_bits=st.integers(1, 16), data=st.data())
def test_decay_rounds_toward_zero(x, decay_bits, data):
    factor = data.draw(st.integers(0, 1 << decay_bits))
    exact = Fraction(x * factor, 1 << decay_bits)
    expected = int(exact)  # int() of a Fraction truncates toward zero
    assert decay(x, factor, decay_bits) == expected
    assert abs(decay(x, factor, decay_bits)) <= abs(x)
    assert int(decay_array(np.array([x]), factor, decay_bits)[0]) == expected
    assert int(decay_array(torch.tensor([x]), factor, decay_bits)[0]) == expected


def test_leaky_states_reach_zero_from_both_signs():
    for start in (1000, -1000, 1, -1):
        x, steps = start, 0
        while x != 0:
            x, steps = decay(x, 3500, 12), steps + 1
            assert steps < 100
    assert decay(-1, 4095, 12) == 0 and decay(-1, 4096, 12) == -1


@st.composite
def neuron_params(draw):
    weight_bits = draw(st.integers(2, 8))
    decay_bits = draw(st.integers(1, 12))
    one = 1 << decay_bits
    membrane_bits = draw(st.integers(4, 20))
    factor = st.one_of(st.just(one), st.just(0), st.integers(0, one))
    adapt_bits = draw(st.integers(1, 10))
    return NeuronParams(
        weight_bits=weight_bits,
        current_bits=draw(st.integers(weight_bits, 20)),  # narrow widths exercise saturation
        membrane_bits=membrane_bits,
        decay_bits=decay_bits,
        alpha=draw(factor), beta=draw(factor),
        threshold=draw(st.integers(1, (1 << (membrane_bits - 1)) - 1)),
        reset=draw(st.sampled_from(Reset)),
        fire_once=draw(st.booleans()),
        adaptive=draw(st.booleans()),
        adapt_bits=adapt_bits,
        rho=draw(factor),
        adapt_step=draw(st.integers(0, (1 << adapt_bits) - 1)),
    )


@st.composite
def core_and_events(draw):
    params = draw(neuron_params())
    n_inputs, n_neurons = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    lo, hi = signed_range(params.weight_bits)
    extreme = st.sampled_from([lo, hi])
    weights = draw(st.lists(st.lists(st.one_of(st.integers(lo, hi), extreme),
                                     min_size=n_neurons, max_size=n_neurons),
                            min_size=n_inputs, max_size=n_inputs))
    ticks = draw(st.integers(1, 12))
    # the bound: often below the events of a tick, so that the accumulator wraps (overflow)
    bound = draw(st.one_of(st.just(3 * n_inputs), st.integers(1, 3 * n_inputs)))
    events = draw(st.lists(st.lists(st.integers(0, n_inputs - 1), max_size=3 * n_inputs),
                           min_size=ticks, max_size=ticks))
    return CoreConfig(n_neurons, n_inputs, params, np.array(weights), bound), events


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(core_and_events())
def test_golden_model_equals_scalar_reference(case):
    """Also past ``max_events_per_tick``: the reference wraps every event's sum in the
    accumulator's width, the golden model the tick's sum once; both keep every state, and
    ``Trace.overflow`` is the core's sticky flag, counted here literally."""
    config, events = case
    ref_spikes, ref_states = run_reference(config.weights.tolist(), config.params, events,
                                           config.max_events_per_tick)
    core = GoldenCore.of(config)
    trace = core.run(core.counts_from_events(events))
    flag, sticky = [], False
    for tick in events:
        sticky = sticky or len(tick) > config.max_events_per_tick
        flag.append(sticky)
    assert trace.overflow.tolist() == flag
    assert trace.spike_events() == ref_spikes
    for t, state in enumerate(ref_states):
        for n, (i, v, a, fired) in enumerate(state):
            got = (int(trace.i[t, n]), int(trace.v[t, n]), int(trace.a[t, n]),
                   bool(trace.fired[t, n]))
            assert got == (i, v, a, fired), f"tick {t} neuron {n}"
            lo, hi = signed_range(config.params.membrane_bits)
            assert lo <= v <= hi


@settings(max_examples=50, deadline=None)
@given(core_and_events())
def test_golden_model_runs_identically_on_torch_tensors(case):
    """The training forward pass runs the same update phase on torch int64 tensors."""
    config, events = case
    core = GoldenCore.of(config)
    counts = core.counts_from_events(events)
    expected = core.run(counts)
    weights = torch.tensor(config.weights)
    state = CoreState.zeros((config.n_neurons,), like=weights)
    for t in range(len(events)):
        state.i = state.i + torch.tensor(counts[t]) @ weights
        if counts[t].sum() > config.max_events_per_tick:  # the contract's overflow
            state.i = wrap_array(state.i, config.accumulator_bits)
        state, spikes = update_phase(state, config.params)
        assert spikes.numpy().tolist() == expected.spikes[t].tolist()
        assert state.v.numpy().tolist() == expected.v[t].tolist()


def test_event_phase_is_exact_and_order_independent():
    """Saturating per event would depend on arrival order; the contract clamps once."""
    params = NeuronParams(current_bits=8, membrane_bits=16, threshold=1000)
    neuron_a, neuron_b = ScalarNeuron(params), ScalarNeuron(params)
    for w in (127, 127, -128):
        neuron_a.receive(w)
    for w in (-128, 127, 127):
        neuron_b.receive(w)
    neuron_a.update(), neuron_b.update()
    assert neuron_a.v == neuron_b.v == 126


@given(x=st.integers(-(1 << 50), 1 << 50), bits=st.integers(2, 48))
def test_wrap_is_the_registers_two_s_complement(x, bits):
    got = wrap(x, bits)
    lo, hi = signed_range(bits)
    assert lo <= got <= hi and (got - x) % (1 << bits) == 0
    assert int(wrap_array(np.array([x]), bits)[0]) == got
    assert int(wrap_array(torch.tensor([x]), bits)[0]) == got


def test_overflowing_event_phase_wraps_in_any_order():
    """Past ``max_events_per_tick`` the accumulator (17 bits for 16-bit currents and one
    8-bit event) keeps the sum modulo 2**17 -- per event in the reference, once per tick in
    the golden model: the same in any order. The old contract's exact sum would saturate at
    the top of the current's range instead of wrapping to a negative current."""
    params = NeuronParams(threshold=30000)
    config = CoreConfig(1, 2, params, np.array([[127], [-128]]), max_events_per_tick=1)
    assert config.accumulator_bits == 17
    events = [[0] * 600 + [1] * 3]  # 600 * 127 - 384 = 75816 -> 75816 - 2**17 = -55256
    for order in (events, [events[0][::-1]], [[0, 1] * 3 + [0] * 597]):
        _, states = run_reference(config.weights.tolist(), params, order, 1)
        assert states[0][0][1] == saturate(wrap(75816, 17), 16) == -32768
    trace = GoldenCore.of(config).run(np.array([[600, 3]]))
    assert int(trace.v[0, 0]) == -32768 and trace.overflow.tolist() == [True]
    exact = ScalarNeuron(params)  # an unbounded accumulator: the old, refused reading
    for j in events[0]:
        exact.receive(int(config.weights[j, 0]))
    exact.update()
    assert exact.i > 0 > int(trace.i[0, 0]) and exact.v > 0 > int(trace.v[0, 0])


def test_saturation_corner_cases():
    params = NeuronParams(current_bits=8, membrane_bits=10, threshold=511)
    neuron = ScalarNeuron(params)
    for _ in range(3):
        neuron.receive(127)
    assert neuron.update() is False  # i = 381 -> clamped to 127
    assert (neuron.v, neuron.i) == (127, 127)
    for _ in range(3):
        assert neuron.update() is False
    assert neuron.v == 508
    assert neuron.update() is True and neuron.v == 0  # 508 + 127 clamped to 511, minus 511
    low = ScalarNeuron(NeuronParams(current_bits=8, membrane_bits=8, threshold=1))
    for _ in range(4):
        low.receive(-128)
        low.update()
    assert low.v == -128  # saturates at the bottom of the membrane range


def test_reset_modes_and_fire_once():
    sub = ScalarNeuron(NeuronParams(threshold=10, reset=Reset.SUBTRACT))
    zero = ScalarNeuron(NeuronParams(threshold=10, reset=Reset.ZERO))
    once = ScalarNeuron(NeuronParams(threshold=10, fire_once=True))
    for neuron in (sub, zero, once):
        neuron.receive(25)
    assert [sub.update(), sub.v] == [True, 15]
    assert [zero.update(), zero.v] == [True, 0]
    assert [once.update(), once.v, once.update(), once.v] == [True, 15, False, 15 + 25]


def test_adaptive_threshold_rises_and_decays():
    p = NeuronParams(decay_bits=8, threshold=10, adaptive=True, rho=128, adapt_step=8)
    neuron = ScalarNeuron(p)
    neuron.receive(10)
    assert neuron.update() and neuron.a == 8  # spiked at theta = 10; a = 0/2 + 8
    assert not neuron.update() and neuron.a == 4  # v = 0 + 10 < 10 + 8
    assert neuron.update() and neuron.v == 10 + 10 - 14 and neuron.a == 2 + 8
