"""Verilog of spikeforge's hardware: the one place where Amaranth designs become Verilog text.

:func:`core_verilog` (module ``spikeforge_core``), :func:`system_verilog` (module
``spikeforge_system``) and :func:`learning_verilog` (``spikeforge_learning``) are what
every consumer simulates, writes or synthesises: the co-simulation, ``spikeforge verilog`` /
``compile`` and the board flow. Source locations are not emitted (``emit_src=False``), so
the text depends only on the design, not on where spikeforge is installed.
"""

from __future__ import annotations

import json
from pathlib import Path

from amaranth.back import verilog
from amaranth.lib import wiring

from spikeforge.hdl.core import Command, NeuronCore
from spikeforge.hdl.learning import LearningEngine
from spikeforge.hdl.system import SpikeforgeSystem
from spikeforge.ir.core import CoreConfig
from spikeforge.ir.errors import ConfigError, SpikeforgeError
from spikeforge.ir.learning import LearningConfig
from spikeforge.ir.memory_image import weights_to_hex
from spikeforge.ir.system import SystemConfig
from spikeforge.sim.blocks.core import UPDATE_STAGES

__all__ = ["CORE_TOP", "SYSTEM_TOP", "LEARNING_TOP", "MAX_CORE_WEIGHTS", "check_core_size",
           "to_verilog", "core_verilog", "system_verilog", "learning_verilog", "emit_core",
           "port_list"]

CORE_TOP = "spikeforge_core"  #: module name of :func:`core_verilog`
SYSTEM_TOP = "spikeforge_system"  #: module name of :func:`system_verilog`
LEARNING_TOP = "spikeforge_learning"  #: module name of :func:`learning_verilog`

#: the most weights (``n_inputs * n_neurons``) of one core spikeforge builds: 4 Mi words, 8
#: times the block RAM of the largest supported board (ULX3S 85F: 3.8 Mbit) at 8 bits; the
#: Verilog of a core takes about 6 s and 0.3 GB for 2**18 weights, growing linearly
MAX_CORE_WEIGHTS = 1 << 22


def check_core_size(n_neurons: int, n_inputs: int, what: str = "core") -> None:
    """:class:`ConfigError` naming ``what`` if a core of ``n_neurons`` x ``n_inputs``
    has more than :data:`MAX_CORE_WEIGHTS` weights: called before anything of that size is
    allocated."""
    if n_neurons * n_inputs > MAX_CORE_WEIGHTS:
        raise ConfigError(f"{what}: {n_neurons} neurons x {n_inputs} inputs = "
                              f"{n_neurons * n_inputs} weights, more than the {MAX_CORE_WEIGHTS} "
                              f"of the largest core spikeforge builds (split the layer over "
                              f"more cores)")


def to_verilog(component: wiring.Component, name: str) -> str:
    """Verilog text of an Amaranth ``wiring.Component`` (its signature gives the ports)."""
    return verilog.convert(component, name=name, emit_src=False)


def core_verilog(config: CoreConfig, weight_bank_words: int = 0,
                 weight_stages: int = 0, sum_stage: bool = False,
                 double_buffer: bool = False) -> str:
    """One :class:`~spikeforge.hdl.core.NeuronCore`, module :data:`CORE_TOP`."""
    return to_verilog(NeuronCore(config, weight_bank_words=weight_bank_words,
                                 weight_stages=weight_stages, sum_stage=sum_stage,
                                 double_buffer=double_buffer), CORE_TOP)


def system_verilog(plan, system: SystemConfig, learning: LearningConfig | None = None) -> str:
    """The whole :class:`~spikeforge.hdl.system.SpikeforgeSystem`, module :data:`SYSTEM_TOP`
    (with the on-chip learning engine if ``learning`` is given)."""
    return to_verilog(SpikeforgeSystem(plan, system, learning), SYSTEM_TOP)


def learning_verilog(config: LearningConfig) -> str:
    """The on-chip learning engine (:class:`~spikeforge.hdl.learning.LearningEngine`),
    module :data:`LEARNING_TOP`."""
    return to_verilog(LearningEngine(config), LEARNING_TOP)


def port_list(core: NeuronCore) -> list[dict]:
    """The top-level Verilog ports of ``core``: ``{"name", "direction", "width"}`` each,
    ``clk`` and ``rst`` (synchronous, active high) first."""
    ports = [{"name": "clk", "direction": "input", "width": 1},
             {"name": "rst", "direction": "input", "width": 1}]
    for path, member, value in core.signature.flatten(core):
        ports.append({
            "name": "__".join(map(str, path)),
            "direction": "input" if member.flow == wiring.In else "output",
            "width": len(value.as_value() if hasattr(value, "as_value") else value),
        })
    return ports


def emit_core(config: CoreConfig, out_dir) -> dict[str, Path]:
    """Write ``spikeforge_core.v``, ``weights.hex`` and ``core.json`` for ``config`` into
    ``out_dir`` (created if missing). Returns ``{"verilog", "weights", "manifest"}`` paths.

    The Verilog's weight memory is already initialised from ``config.weights`` (Amaranth
    emits the initial contents); ``weights.hex`` holds the same image for tools that load
    memories with ``$readmemh`` or through the host port.
    """
    if not isinstance(config, CoreConfig):
        raise SpikeforgeError(f"config: must be a CoreConfig, got {type(config).__name__}")
    check_core_size(config.n_neurons, config.n_inputs, "config")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise SpikeforgeError(f"out_dir: {out_dir} exists and is not a directory")
    out_dir.mkdir(parents=True, exist_ok=True)

    core = NeuronCore(config)
    ports = port_list(core)
    text = to_verilog(core, CORE_TOP)
    paths = {"verilog": out_dir / f"{CORE_TOP}.v", "weights": out_dir / "weights.hex",
             "manifest": out_dir / "core.json"}
    paths["verilog"].write_text(text)
    paths["weights"].write_text(weights_to_hex(config.weights, config.params.weight_bits))
    manifest = {
        "top": CORE_TOP,
        "n_neurons": config.n_neurons,
        "n_inputs": config.n_inputs,
        "params": config.params.to_dict(),
        "max_events_per_tick": config.max_events_per_tick,
        "lanes": config.lanes,
        "accumulator_bits": config.accumulator_bits,
        "ports": ports,
        "commands": {c.name.lower(): c.value for c in Command},
        "host": core.host_map.as_dict(),
        "weights_image": {"file": paths["weights"].name, "order": "j * n_neurons + n",
                          "word_bits": config.params.weight_bits,
                          "depth": config.n_inputs * config.n_neurons},
        "timing": {
            "words": f"G = ceil(n_neurons / lanes) = {config.words}",
            "cycles_per_event": "G",
            "update_cycles": f"G + {UPDATE_STAGES + 1} for a silent tick; "
                             f"max(G + {UPDATE_STAGES + 1}, g + {UPDATE_STAGES + 3} + s) "
                             f"with s spikes in the last spiking word g, no stalls",
            "clear_cycles": "G + 1",
            "output_latency": f"neuron // lanes + {UPDATE_STAGES + 3} cycles after the TICK "
                              f"handshake for the tick's first spike, no stalls",
            "model": "spikeforge.sim.cycle (steps spikeforge.sim.blocks.core.CoreModel)",
        },
    }
    paths["manifest"].write_text(json.dumps(manifest, indent=2) + "\n")
    return paths
