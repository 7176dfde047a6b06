"""Co-simulate one neuron core (:class:`spikeforge.hdl.core.NeuronCore`) against the golden
model and the cycle model.

:func:`make_spec` draws a random stimulus (spike trains, event and command gaps, an
output-ready stall pattern) for a :class:`~spikeforge.ir.core.CoreConfig` of any number of
lanes (the spec carries ``config.to_dict()``, ``lanes`` included);
:func:`run_core_cosim` emits the core's Verilog, builds it (cached) for Icarus or Verilator
and runs the cocotb bench :mod:`spikeforge.cosim.core_tb`, which compares

* every output event ``(tick, neuron)`` with ``GoldenCore.of(config).run(counts)``,
* every neuron's ``i``, ``v``, ``a``, ``fired`` at the end of every tick (read back through
  the host port) with the golden trace,
* the clock cycle of every handshake (input events, commands, output spikes) and of the
  end of every tick (``idle``) with :mod:`spikeforge.sim.cycle`,

and fails with the first mismatch (:class:`~spikeforge.cosim.compare.Mismatch`: which
quantity, tick, neuron, expected, got, cycle). :func:`benchmark_core_cosim` returns the
simulated cycles and wall time of one run.
"""

from __future__ import annotations

import random
import time

from spikeforge.cosim.runner import CocotbResult, run_cocotb, spec_file
from spikeforge.hdl.verilog import CORE_TOP, core_verilog
from spikeforge.ir.core import CoreConfig

SPEC_ENV = "SPIKEFORGE_CORE_SPEC"
TB_MODULE = "spikeforge.cosim.core_tb"


# -- (de)serialising a configuration -----------------------------------------------------------

# -- stimulus ----------------------------------------------------------------------------------

def make_spec(config: CoreConfig, n_ticks: int = 50, seed: int = 0, *, max_events: int = 6,
              p_event_gap: float = 0.5, max_gap: int = 3, p_ready: float = 0.6,
              read_state: bool = True, corrupt: dict | None = None,
              double_buffer: bool = False) -> dict:
    """A random stimulus for ``config``: per tick up to ``max_events`` input events
    (random indices, repeats allowed, never more than ``max_events_per_tick``), each offered
    after a random gap (0 with probability ``p_event_gap``, else 1..max_gap), a TICK after a
    random gap; ``spike_out.ready`` high with probability ``p_ready`` per cycle.
    ``corrupt``: ``{"j", "n", "bit"}`` flips one bit of the RTL's weight ``w[j, n]`` through
    the host port after reset (the golden model keeps the original). A ``cycle_skew``
    entry (``{"stream": cycles}``) shifts the cycle model's prediction for one stream: a
    test hook to prove that timing differences are caught. ``double_buffer``: the RTL is
    built with it, and the ticks are driven in runs of 1-5 (``runs``) back to back, each
    tick's events behind the TICK before (the state read after each run)."""
    rng = random.Random(seed)
    limit = min(max_events, config.max_events_per_tick)
    ticks = []
    for _ in range(n_ticks):
        k = rng.randint(0, limit)
        events = [rng.randrange(config.n_inputs) for _ in range(k)]
        gaps = [0 if rng.random() < p_event_gap else rng.randint(1, max_gap) for _ in events]
        ticks.append({"events": events, "event_gaps": gaps,
                      "command_gap": 0 if rng.random() < 0.5 else rng.randint(1, max_gap)})
    spec = {"config": config.to_dict(), "ticks": ticks,
            "ready": {"seed": rng.randrange(1 << 30), "p": p_ready},
            "clear_gap": rng.randint(0, 2), "read_state": read_state, "corrupt": corrupt,
            "double_buffer": double_buffer, "runs": []}
    while double_buffer and sum(spec["runs"]) < n_ticks:  # (drawn last: the rest is the same)
        spec["runs"].append(min(n_ticks - sum(spec["runs"]), rng.randint(1, 5)))
    return spec


# -- running -----------------------------------------------------------------------------------

def run_core_cosim(config: CoreConfig, simulator: str = "icarus", *, n_ticks: int = 50,
                   seed: int = 0, spec: dict | None = None, check: bool = True,
                   rtl_config: CoreConfig | None = None, weight_bank_words: int = 0,
                   weight_stages: int = 0, sum_stage: bool = False,
                   **spec_options) -> CocotbResult:
    """Co-simulate ``config`` on ``simulator`` with a random stimulus (or ``spec``).

    The models use ``config``; the RTL is built from ``rtl_config`` (default: ``config``;
    a different one makes a negative test), with its weights in banks of
    ``weight_bank_words`` words (0: one memory), ``weight_stages`` registers between
    them and the adders and, with ``sum_stage``, one behind the adders (and with the
    spec's ``double_buffer``: ``make_spec``'s, a keyword here). Returns the
    :class:`CocotbResult`; its ``report`` holds the cycles simulated, the number of events
    compared and (on failure) ``mismatch``, the first mismatch as a dict. Raises
    :class:`~spikeforge.cosim.runner.CosimFailure` on a mismatch if ``check``.
    """
    spec = spec or make_spec(config, n_ticks, seed, **spec_options)
    with spec_file(spec, "core") as name:
        return run_cocotb(core_verilog(rtl_config or config, weight_bank_words,
                                       weight_stages, sum_stage,
                                       spec.get("double_buffer", False)), CORE_TOP,
                          TB_MODULE, simulator,
                          extra_env={SPEC_ENV: name}, check=check)


def benchmark_core_cosim(config: CoreConfig, simulator: str = "verilator", *,
                         n_ticks: int = 50, seed: int = 0, **spec_options) -> dict:
    """Run one co-simulation and measure it: ``{"cycles", "wall_s", "sim_s",
    "cycles_per_s", "build_s", "simulator"}``. ``wall_s`` covers the simulator process
    (start-up included), ``sim_s`` the cocotb test alone; ``build_s`` is 0 when a cached
    build was reused (run twice to measure the steady state)."""
    start = time.perf_counter()
    result = run_core_cosim(config, simulator, n_ticks=n_ticks, seed=seed, **spec_options)
    total = time.perf_counter() - start
    cycles = int(result.report["cycles"])
    sim_s = result.testcases[0].wall_s if result.testcases else float("nan")
    return {"simulator": simulator, "cycles": cycles, "wall_s": result.wall_s, "sim_s": sim_s,
            "cycles_per_s": cycles / sim_s if sim_s else float("nan"),
            "build_s": result.build_s, "total_s": total}
