"""Cycle model of a :class:`spikeforge.hdl.core.NeuronCore` as the system sees it: its
control (event, update, clear), its ``idle`` and its single output register.

The timing is the one :mod:`spikeforge.sim.cycle` states; this model steps it one clock
edge at a time so that the system can feed it from routers and drain it through a merger.
What the neurons compute is not simulated: the golden trace says which neurons spike.
"""

from __future__ import annotations

import enum

import numpy as np

from spikeforge.sim.cycle import clear_cycles, cycles_per_event

__all__ = ["CorePhase", "CoreModel"]


class CorePhase(enum.Enum):
    """What the core's control is doing."""

    IDLE = enum.auto()
    EVENT = enum.auto()  # the RTL's EVENT and EVENT_LAST: a fixed number of busy cycles
    UPDATE = enum.auto()
    CLEAR = enum.auto()


class CoreModel:
    """The control of one :class:`~spikeforge.hdl.core.NeuronCore` (N = ``n_neurons``).

    * ``idle`` = phase IDLE and the output register empty; ``spike_in.ready`` = ``idle``,
      ``command.ready`` = ``idle`` and not ``spike_in.valid``.
    * An event or a CLEAR accepted at edge h keeps the core busy for a fixed time: idle again
      at ``h + cycles_per_event`` (``N + 2``) or ``h + clear_cycles`` (``N + 1``).
    * A TICK runs the update pipeline: one neuron issued per edge, evaluated one edge later;
      a spiking neuron is loaded into the output register, and its evaluation stalls while
      the register holds an earlier spike that is not taken in that cycle. The phase ends at
      the edge that evaluates the last neuron; the core is idle once the register has drained
      (``sim.cycle``'s ``e(n)`` and idle cycle).
    """

    def __init__(self, plan_core):
        self.N = plan_core.n_neurons
        self.layer = plan_core.layer
        self.index = plan_core.index
        self.offset = plan_core.neuron_offset
        # edges after the accepting one until the phase ends (sim.cycle's idle cycle)
        self._event_edges = cycles_per_event(plan_core) - 1
        self._clear_edges = clear_cycles(plan_core) - 1
        self.phase = CorePhase.IDLE
        self.left = 0  # EVENT / CLEAR: edges until IDLE
        self.cnt = 0  # UPDATE: next neuron to issue
        self.c_valid = False  # UPDATE: evaluation stage holds neuron c_n
        self.c_n = 0
        self.out_valid = False  # the output register (spike_out.valid / payload)
        self.out_n = 0
        self.spiking = frozenset()  # neurons spiking in the current update phase
        self.golden = np.zeros((0, self.N), dtype=bool)

    def load(self, layer_spikes: np.ndarray) -> None:
        """The golden ``[ticks, n_layer]`` spikes of this core's layer for one inference."""
        self.golden = layer_spikes[:, self.offset:self.offset + self.N]

    @property
    def idle(self) -> bool:
        return self.phase is CorePhase.IDLE and not self.out_valid

    def command_ready(self, spike_in_valid: bool) -> bool:
        return self.idle and not spike_in_valid

    def clock(self, event: bool, command: bool, is_tick: bool, tick: int,
              out_ready: bool) -> None:
        """One edge: ``event``/``command`` accepted in this cycle (a TICK if ``is_tick``, of
        tick ``tick``, else a CLEAR); ``out_ready`` = ``spike_out.ready``."""
        loaded = None
        if self.phase is CorePhase.UPDATE:
            loaded = self._update(out_ready)
        elif self.phase is not CorePhase.IDLE:
            self._count_down()
        elif event or command:
            self._accept(event, is_tick, tick)
        if loaded is not None:
            self.out_valid, self.out_n = True, loaded
        elif self.out_valid and out_ready:
            self.out_valid = False

    def _count_down(self) -> None:
        self.left -= 1
        if self.left == 0:
            self.phase = CorePhase.IDLE

    def _accept(self, event, is_tick, tick) -> None:
        """An event, else the command (TICK or CLEAR)."""
        if event:
            self.phase, self.left = CorePhase.EVENT, self._event_edges
        elif is_tick:
            self.phase, self.cnt, self.c_valid = CorePhase.UPDATE, 0, False
            self.spiking = frozenset(np.flatnonzero(self.golden[tick]).tolist())
        else:
            self.phase, self.left = CorePhase.CLEAR, self._clear_edges

    def _update(self, out_ready) -> int | None:
        evaluated = self.c_n if self.c_valid else None
        spike = evaluated is not None and evaluated in self.spiking
        if spike and self.out_valid and not out_ready:
            return None  # stall: the output register is still full
        self.c_valid, self.c_n = self.cnt < self.N, self.cnt
        if self.c_valid:
            self.cnt += 1
        else:
            self.phase = CorePhase.IDLE
        return evaluated if spike else None

    # -- fast-forward ------------------------------------------------------------------
    def skippable(self) -> int | None:
        """Edges that change nothing but this core's countdown: None when idle (whether it
        stays so depends on its feed), 0 when its output or update phase may move."""
        if self.out_valid:
            return 0
        if self.phase is CorePhase.IDLE:
            return None
        if self.phase is CorePhase.UPDATE:
            return 0
        return self.left - 1  # the edge that ends the phase is stepped

    def skip(self, k: int) -> None:
        if self.phase in (CorePhase.EVENT, CorePhase.CLEAR):
            self.left -= k
