"""Co-simulate the on-chip learning engine (:class:`spikeforge.hdl.learning.LearningEngine`)
against the Python rule (:class:`~spikeforge.sim.learning.PopcountLearner`), online,
one training sample at a time.

:func:`learning_spec` describes a run: the starting network, the rule's settings and the
samples (input events, label, ``lr_decay``); :func:`run_learning_cosim` emits the engine's
Verilog (:func:`~spikeforge.hdl.verilog.learning_verilog`, or a given text: a mutant),
builds it (cached) for Icarus or Verilator and runs the cocotb bench
:mod:`spikeforge.cosim.learn_tb`. For every sample the bench runs the golden forward pass
with the weights the rule holds, streams its first spikes into the engine (random gaps),
sends the command, and compares

* the cycle at which the engine is idle again with :func:`~spikeforge.hdl.learning.update_cycles`,
* every stored weight of both layers, read back through the host bus, with the rule's
  ``acc`` after the same sample,

and fails with the first mismatch (sample, layer, weight index, expected, got, cycle).
The forward pass is the golden model's here (the engine is not yet wired into the system).
"""

from __future__ import annotations

import copy
import random

import numpy as np

from spikeforge.compiler.map import plan_network
from spikeforge.cosim.runner import CocotbResult, run_cocotb, spec_file
from spikeforge.cosim.system_cosim import StallPattern, build_args_for, system_spec
from spikeforge.hdl.learning import StoreMap, update_cycles
from spikeforge.hdl.verilog import LEARNING_TOP, SYSTEM_TOP, learning_verilog, system_verilog
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.learning import LR_DECAY_BITS
from spikeforge.ir.params import signed_range
from spikeforge.ir.system import SystemConfig
from spikeforge.sim.learning import first_ticks, touched_rows
from spikeforge.sim.network import run_network
from spikeforge.sim.system_cycle import SystemModel

SPEC_ENV = "SPIKEFORGE_LEARN_SPEC"
TB_MODULE = "spikeforge.cosim.learn_tb"

#: the rule's fields a spec carries (those of :class:`PopcountLearner` the engine implements)
RULE_FIELDS = ("frac_bits", "shift_out", "shift_hidden", "ramp", "margin", "shift_revive")


def covering_samples(learner, counts: np.ndarray, labels, every: int = 4):
    """``(counts, labels)`` with the rule's rare branches reached: of every ``every`` samples
    the last is labelled with the class the network (as the rule has trained it so far)
    decides, so the decision is right and the label moves only if another output spikes
    within the margin; after it come the sample with every other input's events removed
    (rows the update skips between rows it touches: a digits image, whose zero pixels spike
    too, touches every row) and the sample with only every eighth input's events (too weak
    to make an output spike: ``t_dec = T``, ``r_end`` clipped to ``T - 1``, the silent label
    moved, the silent hidden neurons revived). A random network's wrong decisions on whole
    images alone leave these branches untried (the engine's mutation campaign found four
    such faults: benchmarks/bench_learning_mutants.py). ``every`` + 2 samples come of every
    ``every``."""
    rule = copy.deepcopy(learner)
    counts, labels = np.asarray(counts), [int(y) for y in labels]
    out_counts, out_labels = [], []
    for k, (sample, label) in enumerate(zip(counts, labels)):
        extra = k % every == every - 1
        if extra:
            decision = int(run_network(rule.current_network(), sample[None], rule.ticks)
                           .decision[0])
            label = decision if decision >= 0 else label
        batch = [(sample, label)]
        if extra:
            halved, sparse = sample.copy(), np.zeros_like(sample)
            halved[:, 1::2] = 0
            sparse[:, ::8] = sample[:, ::8]
            batch += [(halved, label), (sparse, label)]
        for c, y in batch:
            out_counts.append(c)
            out_labels.append(y)
            rule.step(c[None], np.array([y]))
    return np.stack(out_counts), np.array(out_labels)


def learning_spec(learner, counts: np.ndarray, labels, lr_decays=None, *, seed: int = 0,
                  p_gap: float = 0.3, max_gap: int = 3, cycle_skew: int = 0,
                  host_writes: int = 8, boundary_rows: int = 4) -> dict:
    """A run of ``learner`` (its network, its settings, its current stores) over the samples
    ``counts [S, ticks, n_inputs]`` with ``labels [S]`` and per-sample ``lr_decays``
    (default 0); each spike is offered after a gap (0, or with probability ``p_gap``
    1..``max_gap`` cycles). ``cycle_skew`` shifts the cycle model's prediction (a test hook:
    a deliberately wrong model must fail the run). The bench first writes stored weights
    through the host bus, and sets its rule's alike: ``host_writes`` words (drawn with
    ``seed``, of both layers) with values drawn from the store's whole range, then the
    output-store rows of the ``boundary_rows`` hidden neurons that spike first in the first
    sample, the first half of them -1 in every word, the others 0: the two sides of the
    weight-sign test (``acc >> F`` is -1 and 0), in the rows that vote in the first update
    (the engine's mutation campaign found the test's bound at -1 unchecked without them)."""
    counts = np.asarray(counts)
    labels = [int(c) for c in labels]
    lr_decays = [0] * len(labels) if lr_decays is None else [int(d) for d in lr_decays]
    if counts.ndim != 3 or len(counts) != len(labels) or len(lr_decays) != len(labels):
        raise ConfigError(f"counts: expected [samples, ticks, inputs] with one label and one "
                          f"lr_decay per sample, got {list(counts.shape)}, {len(labels)} labels, "
                          f"{len(lr_decays)} lr_decays")
    if any(not 0 <= d < (1 << LR_DECAY_BITS) for d in lr_decays):
        raise ConfigError(f"lr_decays: must be in 0..{(1 << LR_DECAY_BITS) - 1}")
    rng = np.random.default_rng(seed)
    config = learner.hardware_config()
    writes = []
    for _ in range(host_writes):
        layer = int(rng.integers(2))
        pre, post = (int(rng.integers(n)) for n in config.stores[layer].shape)
        lo, hi = signed_range(config.acc_bits(layer))
        writes.append([layer, pre, post, int(rng.integers(lo, hi + 1))])
    writes += _boundary_writes(learner, writes, counts[:1], boundary_rows)
    samples = [{"events": np.argwhere(c).tolist(), "counts": c[c != 0].tolist(), "label": y,
                "lr_decay": d} for c, y, d in zip(counts, labels, lr_decays)]
    return {"network": learner.network.to_dict(),
            "stores": [a.tolist() for a in learner.acc], "ticks": learner.ticks,
            "rule": {name: getattr(learner, name) for name in RULE_FIELDS},
            "samples": samples, "gaps": {"seed": random.Random(seed).randrange(1 << 30),
                                         "p": p_gap, "max": max_gap},
            "cycle_skew": int(cycle_skew), "host_writes": writes}


def _boundary_writes(learner, writes, first_sample, rows: int) -> list[list[int]]:
    """``[1, h, o, value]`` for every output ``o`` of the ``rows`` hidden neurons ``h`` that
    spike first in ``first_sample`` (with ``writes`` applied): -1 for the first half of them,
    0 for the rest (see :func:`learning_spec`)."""
    if rows == 0 or len(first_sample) == 0:
        return []
    rule = copy.deepcopy(learner)
    for layer, pre, post, value in writes:
        rule.acc[layer][pre, post] = value
    t_h = first_ticks(run_network(rule.current_network(), first_sample, rule.ticks).spikes[0])[0]
    early = np.argsort(t_h, kind="stable")[:rows]
    n_out = learner.acc[1].shape[1]
    return [[1, int(h), o, -1 if k < (len(early) + 1) // 2 else 0]
            for k, h in enumerate(early) for o in range(n_out)]


def run_learning_cosim(learner, counts, labels, lr_decays=None, simulator: str = "icarus", *,
                       seed: int = 0, verilog_text: str | None = None, check: bool = True,
                       **spec_options) -> CocotbResult:
    """Co-simulate ``learner``'s engine over the samples (see :func:`learning_spec`).

    ``verilog_text``: the design to simulate (default: :func:`learning_verilog` of
    ``learner.hardware_config()``; another text makes a negative test). ``learner`` is not
    changed (the bench runs its own copy of the rule). Returns the :class:`CocotbResult`;
    its ``report`` holds the samples checked, weights compared, cycles and (on failure)
    ``mismatch``. Raises :class:`~spikeforge.cosim.runner.CosimFailure` on a mismatch if
    ``check``."""
    spec = learning_spec(learner, counts, labels, lr_decays, seed=seed, **spec_options)
    text = verilog_text if verilog_text is not None else learning_verilog(learner.hardware_config())
    with spec_file(spec, "learn") as name:
        return run_cocotb(text, LEARNING_TOP, TB_MODULE, simulator, extra_env={SPEC_ENV: name},
                          check=check)


# -- the engine inside the system: training inferences, learning, the next inference ------------

SYSTEM_SPEC_ENV = "SPIKEFORGE_LEARN_SYSTEM_SPEC"
SYSTEM_TB_MODULE = "spikeforge.cosim.learn_system_tb"

#: idle cycles after a store read-back before the next inference starts
READBACK_SLACK = 16


def learning_system_spec(learner, plan, system, counts, labels, lr_decays=None, *,
                         seed: int = 0, p_gap: float = 0.3) -> dict:
    """What the learning-system bench is given: per sample a training inference (the system
    bench's expectations, :func:`~spikeforge.cosim.system_cosim.system_spec` with
    ``train``, computed with the weights the rule holds before the sample), then its learn
    command, the update's cycles and the stores the rule holds after it. The next inference
    starts once the update is done and the stores are read back (its ``start_gap``).
    ``learner`` moves on through the samples (pass a copy to keep it)."""
    config = learner.hardware_config()
    counts = np.asarray(counts)
    lr_decays = [0] * len(labels) if lr_decays is None else list(lr_decays)
    words = sum(StoreMap(config).depths)
    T, start, images, learn = learner.ticks, 1, [], []
    # one cycle model for the whole run: its blocks keep their state between the inferences
    model = SystemModel(plan, system, out_ready=StallPattern(seed, 1.0), train=True)
    for k in range(len(labels)):
        learner.lr_decay = int(lr_decays[k])
        spec, trace = system_spec(learner.current_network(), plan, counts[k:k + 1], T, system,
                                  seed=seed, p_gap=p_gap, start_cycle=start, train=True,
                                  model=model)
        image = spec["images"][0]
        cycles = update_cycles(config, int(touched_rows(counts[k:k + 1], trace,
                                                        learner.margin)[0]))
        learner.step(counts[k:k + 1], np.array([labels[k]]))
        # learn handshake at D + 1, busy for `cycles`, the read-back of every word, slack
        image["start_gap"] = 1 + cycles + 1 + words + READBACK_SLACK
        start = image["done"] + 1 + image["start_gap"]
        images.append(image)
        learn.append({"label": int(labels[k]), "lr_decay": int(lr_decays[k]),
                      "update_cycles": cycles,
                      "stores": np.concatenate([a.ravel() for a in learner.acc]).tolist()})
    return {**spec, "images": images, "learn": learn, "config": config.to_dict()}


def run_learning_system_cosim(learner, counts, labels, lr_decays=None,
                              simulator: str = "icarus", *, plan=None, system=None,
                              seed: int = 0, p_gap: float = 0.3,
                              verilog_text: str | None = None, spec: dict | None = None,
                              check: bool = True) -> CocotbResult:
    """Train ``learner``'s network on the system with the learning engine, online, one
    sample at a time: every training inference compared as the system bench compares an
    inference (every spike of every layer as (tick, neuron, cycle), the class, the cycles),
    with the weights the rule holds; then the learn command, the engine's busy cycles and
    every stored weight read back through the ``store`` port against the rule's. The weights
    the engine writes into the cores are checked by the next inference. ``plan``: the
    cores (default: one per layer, :func:`~spikeforge.compiler.map.plan_network` of the
    rule's current weights). ``spec``: the run's :func:`learning_system_spec` if already
    made (its models take ~2 s per digits sample: two simulators can share one).
    ``learner`` is not changed. Returns the :class:`CocotbResult`; raises
    :class:`~spikeforge.cosim.runner.CosimFailure` on a mismatch if ``check``."""
    system = system or SystemConfig()
    network = learner.current_network()
    plan = plan or plan_network(network)
    config = learner.hardware_config()
    if spec is None:
        spec = learning_system_spec(copy.deepcopy(learner), plan, system, counts, labels,
                                    lr_decays, seed=seed, p_gap=p_gap)
    text = verilog_text if verilog_text is not None else system_verilog(plan, system, config)
    with spec_file(spec, "learn_system") as name:
        return run_cocotb(text, SYSTEM_TOP, SYSTEM_TB_MODULE, simulator,
                          extra_env={SYSTEM_SPEC_ENV: name}, check=check,
                          build_args=build_args_for(simulator))
