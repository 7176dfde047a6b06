"""Emit a neuron core as Verilog plus its memory image and a self-describing manifest."""

from __future__ import annotations

import dataclasses
import enum
import json
from pathlib import Path

from amaranth.back import verilog
from amaranth.lib import wiring

from ..sim.contract import SpikeforgeError
from ..sim.core import CoreConfig
from .core import Command, NeuronCore

__all__ = ["TOP_NAME", "emit_core", "port_list", "weights_hex"]

TOP_NAME = "spikeforge_core"


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


def weights_hex(config: CoreConfig) -> str:
    """The weight memory image: one two's-complement word of ``weight_bits`` per line
    (``ceil(weight_bits / 4)`` hex digits), address ``j * n_neurons + n``, ``$readmemh``
    format."""
    bits = config.params.weight_bits
    digits = (bits + 3) // 4
    mask = (1 << bits) - 1
    return "".join(f"{int(w) & mask:0{digits}x}\n" for w in config.weights.reshape(-1))


def _params_json(params) -> dict:
    out = {}
    for f in dataclasses.fields(params):
        value = getattr(params, f.name)
        out[f.name] = value.value if isinstance(value, enum.Enum) else value
    return out


def emit_core(config: CoreConfig, out_dir) -> dict[str, Path]:
    """Write ``spikeforge_core.v``, ``weights.hex`` and ``core.json`` for ``config`` into
    ``out_dir`` (created if missing). Returns ``{"verilog", "weights", "manifest"}`` paths.

    The Verilog's weight memory is already initialised from ``config.weights`` (Amaranth
    emits the initial contents); ``weights.hex`` holds the same image for tools that load
    memories with ``$readmemh`` or through the host port.
    """
    if not isinstance(config, CoreConfig):
        raise SpikeforgeError(f"config: must be a CoreConfig, got {type(config).__name__}")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise SpikeforgeError(f"out_dir: {out_dir} exists and is not a directory")
    out_dir.mkdir(parents=True, exist_ok=True)

    core = NeuronCore(config)
    ports = port_list(core)
    text = verilog.convert(core, name=TOP_NAME)
    paths = {"verilog": out_dir / f"{TOP_NAME}.v", "weights": out_dir / "weights.hex",
             "manifest": out_dir / "core.json"}
    paths["verilog"].write_text(text)
    paths["weights"].write_text(weights_hex(config))
    manifest = {
        "top": TOP_NAME,
        "n_neurons": config.n_neurons,
        "n_inputs": config.n_inputs,
        "params": _params_json(config.params),
        "max_events_per_tick": config.max_events_per_tick,
        "accumulator_bits": config.accumulator_bits,
        "ports": ports,
        "commands": {c.name.lower(): c.value for c in Command},
        "host": core.host_map.as_dict(),
        "weights_image": {"file": paths["weights"].name, "order": "j * n_neurons + n",
                          "word_bits": config.params.weight_bits,
                          "depth": config.n_inputs * config.n_neurons},
        "timing": {
            "cycles_per_event": "n_neurons + 2",
            "update_cycles": "n_neurons + 2 (+1 if neuron n_neurons-1 spikes), no stalls",
            "clear_cycles": "n_neurons + 1",
            "output_latency": "neuron + 3 cycles after the TICK handshake, no stalls",
            "model": "spikeforge.sim.cycle",
        },
    }
    paths["manifest"].write_text(json.dumps(manifest, indent=2) + "\n")
    return paths
