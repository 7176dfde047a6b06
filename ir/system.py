"""The system settings: everything besides the plan that decides what RTL is built.

One :class:`SystemConfig` is taken by the RTL (:class:`spikeforge.hdl.system.SpikeforgeSystem`),
the system cycle model (:mod:`spikeforge.sim.system_cycle`), the co-simulation and the artifact
manifest, so the four agree by construction instead of through matching defaults. A
:class:`~spikeforge.ir.plan.HardwarePlan` and a :class:`SystemConfig` fully determine the RTL.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from spikeforge.ir.errors import ConfigError
from spikeforge.ir.jsonform import check_fields
from spikeforge.ir.params import Decision, as_decision


@dataclass(frozen=True)
class SystemConfig:
    """Settings of the whole inference engine.

    * ``decision`` -- how the decision unit reads the output layer (the contract's
      :class:`~spikeforge.ir.params.Decision`);
    * ``fifo_depth`` -- depth of the FIFO after each layer's spike merger (0: none);
    * ``guard`` -- cycles the tick controller waits for quiet before it trusts it (>= 1; see
      :class:`spikeforge.hdl.tick.TickController`);
    * ``tick_bits`` -- width of tick numbers (``n_ticks``, ``tick``, ``result_tick``);
    * ``cycle_bits`` -- width of the inference cycle counter ``cycles``.
    """

    decision: Decision = Decision.FIRST_SPIKE
    fifo_depth: int = 0
    guard: int = 2
    tick_bits: int = 16
    cycle_bits: int = 32

    def __post_init__(self):
        object.__setattr__(self, "decision", as_decision(self.decision))
        for name, lo, hi in (("fifo_depth", 0, 1 << 16), ("guard", 1, 64), ("tick_bits", 1, 32),
                             ("cycle_bits", 1, 64)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
                raise ConfigError(f"{name}: must be an integer in {lo}..{hi}, got {value!r}")

    def to_dict(self) -> dict:
        return {f.name: (self.decision.value if f.name == "decision" else getattr(self, f.name))
                for f in fields(self)}

    @classmethod
    def from_dict(cls, d) -> "SystemConfig":
        """The inverse of :meth:`to_dict`; every field required, unknown fields refused."""
        check_fields(d, [f.name for f in fields(cls)], "system")
        return cls(**d)
