"""Co-simulation of the neuron core RTL (Icarus and Verilator) against the golden model and
the cycle model: every output event, every neuron's state at the end of every tick and the
clock cycle of every handshake. See :mod:`spikeforge.cosim.core_cosim`."""

import dataclasses
import zlib

import numpy as np
import pytest

from spikeforge.cosim.core_cosim import make_spec, run_core_cosim
from spikeforge.cosim.runner import SIMULATORS, CosimFailure
from spikeforge.ir.core import CoreConfig
from spikeforge.ir.params import NeuronParams, Reset

N_TICKS = 50


def random_config(seed: int, n_neurons: int, n_inputs: int, lanes: int = 1,
                  **params) -> CoreConfig:
    """A core of ``lanes`` lanes whose random weights make its neurons spike now and then:
    weights mostly positive, a threshold of a few typical weights."""
    rng = np.random.default_rng(seed)
    p = NeuronParams(**params)
    lo, hi = -(1 << (p.weight_bits - 1)), (1 << (p.weight_bits - 1)) - 1
    weights = rng.integers(max(lo, -hi // 3), hi + 1, size=(n_inputs, n_neurons))
    return CoreConfig(n_neurons, n_inputs, p, weights, lanes=lanes)


def drawn_config(seed: int, lanes: int) -> CoreConfig:
    """Random size and neuron parameters (reset mode, leak, adaptation, fire_once)."""
    rng = np.random.default_rng(seed)
    decay_bits = int(rng.integers(4, 11))
    one = 1 << decay_bits
    params = dict(weight_bits=8, current_bits=int(rng.integers(10, 17)),
                  membrane_bits=int(rng.integers(12, 17)), decay_bits=decay_bits,
                  alpha=int(rng.integers(one // 2, one + 1)), beta=int(rng.integers(one // 2, one + 1)),
                  threshold=int(rng.integers(80, 300)), reset=[Reset.ZERO, Reset.SUBTRACT][seed % 2],
                  fire_once=bool(rng.random() < 0.3), adaptive=bool(rng.random() < 0.5))
    if params["adaptive"]:
        params.update(adapt_bits=8, rho=int(rng.integers(one // 2, one + 1)), adapt_step=20)
    n_neurons = int(rng.integers(lanes, 5 * lanes + 3))
    return random_config(seed, n_neurons, int(rng.integers(2, 12)), lanes, **params)


CONFIGS = {
    # N not a power of two, leaky current and membrane, subtract reset
    "leaky-subtract-n13": lambda: random_config(
        11, 13, 7, 1, weight_bits=8, current_bits=12, membrane_bits=14, decay_bits=8,
        alpha=192, beta=224, threshold=150, reset=Reset.SUBTRACT),
    # non-leaky membrane with decaying current (temporal coding), zero reset, fire once
    "nonleaky-zero-fireonce-n32-L8": lambda: random_config(
        12, 32, 16, 8, weight_bits=8, decay_bits=8, alpha=200, threshold=260,
        reset=Reset.ZERO, fire_once=True),
    # adaptive threshold, leaky, 24 inputs
    "adaptive-leaky-n20-L4": lambda: random_config(
        13, 20, 24, 4, weight_bits=8, current_bits=16, membrane_bits=16, decay_bits=10,
        alpha=512, beta=960, threshold=120, adaptive=True, adapt_bits=8, rho=900,
        adapt_step=40, reset=Reset.SUBTRACT),
    # narrow widths: the current and the membrane saturate; no decay at all
    "saturating-zero-n5-L2": lambda: random_config(
        14, 5, 3, 2, weight_bits=6, current_bits=7, membrane_bits=8, decay_bits=4,
        threshold=100, reset=Reset.ZERO),
    # the smallest core: one neuron (1-bit output port), one input
    "single-neuron-n1": lambda: random_config(
        15, 1, 1, decay_bits=8, alpha=230, beta=240, threshold=90),
    # large enough for Verilator to split its C++ into several files (precompiled header)
    "large-n100-L8": lambda: random_config(
        16, 100, 64, 8, decay_bits=12, alpha=3072, beta=3584, threshold=900),
    # random neuron parameters and sizes (N not a multiple of L), one per lane count
    **{f"drawn-L{lanes}": (lambda lanes=lanes: drawn_config(20 + lanes, lanes))
       for lanes in (1, 2, 4, 8)},
}


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("simulator", SIMULATORS)
def test_core_matches_models(simulator, name):
    config = CONFIGS[name]()
    result = run_core_cosim(config, simulator, n_ticks=N_TICKS, seed=zlib.crc32(name.encode()) % 1000)
    report = result.report
    assert report["ticks_checked"] == N_TICKS
    assert report["output_events"] > 0, "the stimulus should make some neurons spike"


#: (config, words per weight bank): several banks, the last one shorter
BANKED = [("drawn-L2", 4), ("leaky-subtract-n13", 8),
          pytest.param("large-n100-L8", 256, marks=pytest.mark.slow)]


@pytest.mark.parametrize("name,bank", BANKED)
@pytest.mark.parametrize("simulator", SIMULATORS)
def test_banked_weights_match_models(simulator, name, bank):
    """The weight memory in banks (SystemConfig.weight_banks on a board): the same events,
    states and cycles as the models, host reads and writes included."""
    config = CONFIGS[name]()
    assert config.n_inputs * config.words > 2 * bank  # at least three banks
    result = run_core_cosim(config, simulator, n_ticks=N_TICKS, weight_bank_words=bank,
                            seed=zlib.crc32(name.encode()) % 1000)
    assert result.report["ticks_checked"] == N_TICKS and result.report["output_events"] > 0


#: (config, words per weight bank, weight stages, sum stage): G >= 2 + stages (+ 1) words
STAGED = [("drawn-L2", 4, 1, False), ("leaky-subtract-n13", 0, 2, False),
          ("large-n100-L8", 256, 1, False), ("leaky-subtract-n13", 0, 0, True),
          ("drawn-L2", 4, 0, True), ("large-n100-L8", 256, 1, True)]


@pytest.mark.parametrize("name,bank,stages,sums", STAGED)
@pytest.mark.parametrize("simulator", SIMULATORS)
def test_weight_stages_match_models(simulator, name, bank, stages, sums):
    """Registers between the weight memory and the adders (SystemConfig.weight_stages), and
    behind them (SystemConfig.sum_stage): the write-back comes later, the events, states and
    cycles are the models' (events back to back read every word after its write-back; host
    reads and writes included)."""
    config = CONFIGS[name]()
    assert config.words >= 2 + stages + sums
    result = run_core_cosim(config, simulator, n_ticks=N_TICKS, weight_bank_words=bank,
                            weight_stages=stages, sum_stage=sums,
                            seed=zlib.crc32(name.encode()) % 1000)
    assert result.report["ticks_checked"] == N_TICKS and result.report["output_events"] > 0


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_banked_flipped_weight_is_reported(simulator):
    """A weight bit flipped in a later bank of the banked RTL is found at its tick and
    neuron (the banks' read multiplexer cannot hide a word)."""
    config = CONFIGS["leaky-subtract-n13"]()
    spec = make_spec(config, n_ticks=12, seed=5)
    t0, j = next((t, tick["events"][0]) for t, tick in enumerate(spec["ticks"]) if tick["events"])
    n = 4
    assert j * config.words >= 8, "the corrupted word should be past the first bank"
    weights = config.weights.copy()
    weights[j, n] ^= 1 << (config.params.weight_bits - 3)
    with pytest.raises(CosimFailure) as info:
        run_core_cosim(config, simulator, spec=spec, rtl_config=config.with_weights(weights),
                       weight_bank_words=8)
    mismatch = info.value.result.report["mismatch"]
    assert (mismatch["tick"], mismatch["neuron"]) == (t0, n), str(info.value)


@pytest.mark.parametrize("lanes,n", [(1, 4), (4, 6)])  # with 4 lanes: lane 2 of word 1
@pytest.mark.parametrize("simulator", SIMULATORS)
def test_flipped_weight_bit_is_reported(simulator, lanes, n):
    """One weight bit flipped in the RTL (host write after reset, one lane of a packed word
    with lanes), the golden model keeps the original: the run must fail and name the tick and
    neuron of the first difference."""
    config = dataclasses.replace(CONFIGS["leaky-subtract-n13"](), lanes=lanes)
    spec = make_spec(config, n_ticks=12, seed=5)
    # the first input event of the run, and a neuron it feeds
    t0, j = next((t, tick["events"][0]) for t, tick in enumerate(spec["ticks"]) if tick["events"])
    spec["corrupt"] = {"j": j, "n": n, "bit": config.params.weight_bits - 2}
    with pytest.raises(CosimFailure) as info:
        run_core_cosim(config, simulator, spec=spec)
    message = str(info.value)
    mismatch = info.value.result.report["mismatch"]
    assert f"tick {t0}" in message and f"neuron {n}" in message, message
    assert (mismatch["tick"], mismatch["neuron"]) == (t0, n), mismatch
    assert mismatch["kind"].startswith("state:"), mismatch


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_rtl_built_with_flipped_weight_is_reported(simulator):
    """The Verilog is generated from a config with one weight bit flipped (in lane 0 of the
    second packed word) while the golden model uses the original: the first mismatch names
    the tick and neuron."""
    config = CONFIGS["saturating-zero-n5-L2"]()
    spec = make_spec(config, n_ticks=12, seed=8)
    t0, j = next((t, tick["events"][0]) for t, tick in enumerate(spec["ticks"]) if tick["events"])
    n = 2
    weights = config.weights.copy()
    weights[j, n] ^= 1 << (config.params.weight_bits - 3)  # stays in range: not the sign bit
    with pytest.raises(CosimFailure) as info:
        run_core_cosim(config, simulator, spec=spec, rtl_config=config.with_weights(weights))
    mismatch = info.value.result.report["mismatch"]
    assert (mismatch["tick"], mismatch["neuron"]) == (t0, n), str(info.value)
    assert f"tick {t0}, neuron {n}" in str(info.value)


def test_wrong_cycle_model_is_reported():
    """A cycle model that is one cycle off for output spikes must fail the run, naming the
    tick, the neuron and both cycles."""
    config = CONFIGS["leaky-subtract-n13"]()
    spec = make_spec(config, n_ticks=6, seed=9)
    spec["cycle_skew"] = {"spike_out": 1}
    with pytest.raises(CosimFailure) as info:
        run_core_cosim(config, "icarus", spec=spec)
    mismatch = info.value.result.report["mismatch"]
    assert mismatch["kind"] == "cycle:spike_out", mismatch
    assert mismatch["neuron"] is not None and mismatch["tick"] is not None
    assert mismatch["got"] == f"cycle {mismatch['cycle']}"
    assert mismatch["expected"] == f"cycle {mismatch['cycle'] + 1}"


#: (config, words per weight bank, weight stages, sum stage) of cores with double_buffer
DOUBLE = [("leaky-subtract-n13", 0, 0, False), ("adaptive-leaky-n20-L4", 4, 1, False),
          ("drawn-L2", 0, 0, True), ("single-neuron-n1", 0, 0, False),
          ("drawn-L8", 0, 0, False),
          pytest.param("large-n100-L8", 256, 1, True, marks=pytest.mark.slow)]


@pytest.mark.parametrize("name,bank,stages,sums", DOUBLE)
@pytest.mark.parametrize("simulator", SIMULATORS)
def test_double_buffered_core_matches_models(simulator, name, bank, stages, sums):
    """A core with ``double_buffer`` driven in runs of ticks back to back (each tick's events
    behind the TICK before, taken while its update runs): the same events, states at the end
    of every run and cycles (:func:`~spikeforge.sim.cycle.predict_stream`) as the models."""
    config = CONFIGS[name]()
    result = run_core_cosim(config, simulator, n_ticks=N_TICKS, weight_bank_words=bank,
                            weight_stages=stages, sum_stage=sums, double_buffer=True,
                            seed=zlib.crc32(name.encode()) % 1000)
    report = result.report
    assert report["output_events"] > 0 and report["events_during_update"] > 0, report
    assert report["ticks_checked"] < N_TICKS  # states read after runs, not after every tick


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_double_buffered_flipped_weight_bit_is_reported(simulator):
    """A weight bit flipped in the double-buffered RTL is found at the tick and neuron of the
    first difference (a spike of the first tick, before the run's state is read)."""
    config = CONFIGS["leaky-subtract-n13"]()
    spec = make_spec(config, n_ticks=12, seed=5, double_buffer=True)
    t0, j = next((t, tick["events"][0]) for t, tick in enumerate(spec["ticks"]) if tick["events"])
    n = 4
    spec["corrupt"] = {"j": j, "n": n, "bit": config.params.weight_bits - 2}
    with pytest.raises(CosimFailure) as info:
        run_core_cosim(config, simulator, spec=spec)
    mismatch = info.value.result.report["mismatch"]
    assert (mismatch["tick"], mismatch["neuron"]) == (t0, n), mismatch
