"""Co-simulate the on-chip learning engine (:class:`spikeforge.hdl.learning.LearningEngine`)
against the Python rule (:class:`~spikeforge.model.popcount_rule.PopcountLearner`), online,
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

import random

import numpy as np

from spikeforge.cosim.runner import CocotbResult, run_cocotb, spec_file
from spikeforge.hdl.verilog import LEARNING_TOP, learning_verilog
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.learning import LR_DECAY_BITS
from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.ir.params import NeuronParams, as_decision

SPEC_ENV = "SPIKEFORGE_LEARN_SPEC"
TB_MODULE = "spikeforge.cosim.learn_tb"

#: the rule's fields a spec carries (those of :class:`PopcountLearner` the engine implements)
RULE_FIELDS = ("frac_bits", "shift_out", "shift_hidden", "ramp", "margin", "shift_revive")


def network_to_dict(network: IntegerNetwork) -> dict:
    return {"layers": [{"weights": L.weights.tolist(), "params": L.params.to_dict(),
                        "max_events_per_tick": L.max_events_per_tick} for L in network.layers],
            "decision": network.decision.value}


def network_from_dict(d: dict) -> IntegerNetwork:
    layers = tuple(IntegerLayer(np.array(L["weights"], dtype=np.int64),
                                NeuronParams.from_dict(L["params"]), L["max_events_per_tick"])
                   for L in d["layers"])
    return IntegerNetwork(layers, as_decision(d["decision"]))


def learning_spec(learner, counts: np.ndarray, labels, lr_decays=None, *, seed: int = 0,
                  p_gap: float = 0.3, max_gap: int = 3, cycle_skew: int = 0) -> dict:
    """A run of ``learner`` (its network, its settings, its current stores) over the samples
    ``counts [S, ticks, n_inputs]`` with ``labels [S]`` and per-sample ``lr_decays``
    (default 0); each spike is offered after a gap (0, or with probability ``p_gap``
    1..``max_gap`` cycles). ``cycle_skew`` shifts the cycle model's prediction (a test hook:
    a deliberately wrong model must fail the run)."""
    learner.hardware_config()  # refuses the settings the engine does not implement
    counts = np.asarray(counts)
    labels = [int(c) for c in labels]
    lr_decays = [0] * len(labels) if lr_decays is None else [int(d) for d in lr_decays]
    if counts.ndim != 3 or len(counts) != len(labels) or len(lr_decays) != len(labels):
        raise ConfigError(f"counts: expected [samples, ticks, inputs] with one label and one "
                          f"lr_decay per sample, got {list(counts.shape)}, {len(labels)} labels, "
                          f"{len(lr_decays)} lr_decays")
    if any(not 0 <= d < (1 << LR_DECAY_BITS) for d in lr_decays):
        raise ConfigError(f"lr_decays: must be in 0..{(1 << LR_DECAY_BITS) - 1}")
    samples = [{"events": np.argwhere(c).tolist(), "counts": c[c != 0].tolist(), "label": y,
                "lr_decay": d} for c, y, d in zip(counts, labels, lr_decays)]
    return {"network": network_to_dict(learner.network),
            "stores": [a.tolist() for a in learner.acc], "ticks": learner.ticks,
            "rule": {name: getattr(learner, name) for name in RULE_FIELDS},
            "samples": samples, "gaps": {"seed": random.Random(seed).randrange(1 << 30),
                                         "p": p_gap, "max": max_gap},
            "cycle_skew": int(cycle_skew)}


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
