"""Cycle model of a :class:`spikeforge.hdl.core.NeuronCore`: its control (event, update,
clear), its ``idle``, its spike queue and its output register, one clock edge at a time.

This is the one source of the core's timing: :func:`spikeforge.sim.cycle.predict_tick`
drives it edge by edge, the system model (:mod:`spikeforge.sim.system_cycle`) clocks it
from routers and drains it through a merger, and the RTL mirrors its registers. What the
neurons compute is not simulated: the golden trace says which neurons spike.

With ``L`` lanes and ``G = ceil(N / L)`` words (neuron ``n = g * L + k`` is lane ``k`` of
word ``g``), the registers it keeps are the RTL's:

* ``phase`` and, in EVENT / CLEAR, the edges ``left`` until IDLE (an event issues its
  ``G`` weight words on the ``G`` edges after its handshake; the write-back that follows
  does not hold the core busy, and the next event is accepted at the edge that issues
  the last word, ``G`` edges after: with ``G = 1`` in every cycle, the RTL forwarding
  the write-back that its read comes an edge too early for);
* the update pipeline: ``cnt`` (next word to issue) and one valid bit per stage of the
  :data:`UPDATE_STAGES` registers between a word's read and its write (BRAM output,
  its copy, the multipliers' operands, products, their copies, round, add, compare; the
  write happens at the edge after the last stage);
* ``credit``: words issued and not yet dropped (a word without spikes is dropped at its
  write edge) plus the words in the spike queue; a word is issued only while the credit,
  a register, is below :data:`QUEUE_WORDS`, so the queue never overflows and
  ``spike_out.ready`` never reaches the issue logic combinationally;
* the spike queue (up to :data:`QUEUE_WORDS` words, each: its spiking neurons);
* the output register (``o_valid``, ``o_n``) and the rest of the word it is emitting;
* the skid register (``skid_valid``, ``skid_n``) behind it: the output register's spike
  leaves whenever the skid register is empty -- to ``spike_out`` if ``ready``, else into
  the skid register, which ``spike_out`` shows first -- so ``spike_out.ready`` reaches
  neither the pop nor the queue.

A core with ``double_buffer`` is :class:`DoubleBufferedCoreModel`: the same registers and an
event engine beside them (``ev_left``), which takes events in any phase but CLEAR.
"""

from __future__ import annotations

import enum
from collections import deque

import numpy as np

__all__ = ["CorePhase", "CoreModel", "DoubleBufferedCoreModel", "UPDATE_STAGES",
           "QUEUE_WORDS"]

#: registers between an update word's read (address at edge X) and its write (edge
#: X + UPDATE_STAGES): BRAM output, its copy, the multipliers' operands, products, their
#: copies, rounding, add/saturate, compare
UPDATE_STAGES = 8
#: words the spike queue holds; ``UPDATE_STAGES + 2`` keeps issue at one word per cycle
#: while every word carries one spike and ``spike_out.ready`` stays high
QUEUE_WORDS = UPDATE_STAGES + 2


class CorePhase(enum.Enum):
    """What the core's control is doing."""

    IDLE = enum.auto()
    EVENT = enum.auto()  # issuing the G weight words of an event
    UPDATE = enum.auto()
    CLEAR = enum.auto()


class CoreModel:
    """The control of one :class:`~spikeforge.hdl.core.NeuronCore` (N = ``n_neurons``,
    L = ``lanes``, G = ``ceil(N / L)``).

    * ``idle`` = phase IDLE, the spike queue empty and the output register empty;
      ``spike_in.ready`` (:attr:`in_ready`) = phase IDLE (the queue and the output may still
      be draining), or an event's last word being issued; ``command.ready`` =
      ``idle`` and not ``spike_in.valid`` (with ``events_first=False``: ``idle``, and a
      command beside an event is taken instead).
    * An event or a CLEAR accepted at edge h issues its G words at edges h + 1 .. h + G and
      the core is idle again at cycle h + G + 1; the next event can be accepted at edge
      h + G (an event accepted at the last word restarts the countdown).
    * A TICK accepted at edge T: word ``cnt`` is issued at every edge from T + 1 at which
      ``cnt < G`` and ``credit < QUEUE_WORDS``; an issued word is written (and its spikes
      pushed into the queue) :data:`UPDATE_STAGES` edges later, one more with
      ``tile_stage``. The phase ends at the edge that writes word G - 1.
    * The output register takes the next spike at an edge where it is empty or its spike
      leaves (the skid register is empty): the next lane of the word it is emitting, else
      (if the word is done) the lowest lane of the queue's head word (popped). A word pushed
      at edge X can be popped at X + 1. ``spike_out`` shows the skid register's spike if it
      holds one, else the output register's; the skid register takes the output register's
      spike at an edge where it is empty and ``spike_out`` stalls, and is emptied by a
      handshake.
    """

    def __init__(self, plan_core, events_first: bool = True, tile_stage: bool = False):
        self.events_first = events_first  # NeuronCore's: False in a system
        self.tile_stage = tile_stage
        self.N = plan_core.n_neurons
        inner = getattr(plan_core, "config", None)  # a CorePlan's CoreConfig
        self.L = int(getattr(plan_core, "lanes", None) or getattr(inner, "lanes", None) or 1)
        self.G = -(-self.N // self.L)
        self.layer = getattr(plan_core, "layer", 0)
        self.index = getattr(plan_core, "index", 0)
        self.offset = getattr(plan_core, "neuron_offset", 0)
        self.phase = CorePhase.IDLE
        self.left = 0  # EVENT / CLEAR: edges until IDLE
        self.cnt = 0  # UPDATE: next word to issue
        # UPDATE: valid bit of each pipeline stage; NeuronCore's tile_stage: one more (its
        # lane groups run a cycle behind the control, which takes their spikes at their write)
        self.stages = [False] * (UPDATE_STAGES + int(tile_stage))
        self.w_g = 0  # UPDATE: the next word to reach the write edge
        self.credit = 0
        self.queue = deque()  # words of spikes: lists of ascending neuron indices
        self.rest = []  # spikes of the output word still to emit after o_n
        self.o_valid = False  # the output register
        self.o_n = 0
        self.skid_valid = False  # the skid register
        self.skid_n = 0
        self.spiking = frozenset()  # neurons spiking in the current update phase
        self.golden = np.zeros((0, self.N), dtype=bool)

    def load(self, layer_spikes: np.ndarray) -> None:
        """The golden ``[ticks, n_layer]`` spikes of this core's layer for one inference."""
        self.golden = layer_spikes[:, self.offset:self.offset + self.N]

    @property
    def out_valid(self) -> bool:
        """``spike_out.valid``."""
        return self.o_valid or self.skid_valid

    @property
    def out_n(self) -> int:
        """``spike_out.payload``: the skid register's spike first."""
        return self.skid_n if self.skid_valid else self.o_n

    @property
    def idle(self) -> bool:
        return self.phase is CorePhase.IDLE and not self.queue and not self.out_valid

    @property
    def in_ready(self) -> bool:
        """``spike_in.ready``."""
        return (self.phase is CorePhase.IDLE
                or (self.phase is CorePhase.EVENT and self.left == 1))

    def edges_to_ready(self) -> int:
        """Edges until :attr:`in_ready` (from IDLE or an EVENT / CLEAR countdown)."""
        if self.phase is CorePhase.IDLE:
            return 0
        return self.left - 1 if self.phase is CorePhase.EVENT else self.left

    def command_ready(self, spike_in_valid: bool) -> bool:
        return self.idle and not (spike_in_valid and self.events_first)

    def clock(self, event: bool, command: bool, is_tick: bool, tick: int,
              out_ready: bool) -> None:
        """One edge: ``event``/``command`` accepted in this cycle (a TICK if ``is_tick``, of
        tick ``tick``, else a CLEAR); ``out_ready`` = ``spike_out.ready``."""
        pushed = None
        if self.phase is CorePhase.UPDATE:
            pushed = self._update()
        elif event and self.in_ready and self.phase is CorePhase.EVENT:
            self._accept(event, is_tick, tick)  # the next event, at the last word
        elif self.phase is not CorePhase.IDLE:
            self._count_down()
        elif self.phase is CorePhase.IDLE and (event or command):
            self._accept(event and (self.events_first or not command), is_tick, tick)
        popped = self._output(out_ready)
        if pushed is not None:
            self.queue.append(pushed)
        self.credit -= popped

    def _count_down(self) -> None:
        self.left -= 1
        if self.left == 0:
            self.phase = CorePhase.IDLE

    def _accept(self, event, is_tick, tick) -> None:
        """An event, else the command (TICK or CLEAR)."""
        if event:
            self.phase, self.left = CorePhase.EVENT, self.G
        elif is_tick:
            self.phase, self.cnt, self.w_g = CorePhase.UPDATE, 0, 0
            self.spiking = frozenset(np.flatnonzero(self.golden[tick]).tolist())
        else:
            self.phase, self.left = CorePhase.CLEAR, self.G

    def _update(self) -> list | None:
        """The update pipeline's edge; returns the spikes of the word pushed, or None."""
        issue = self.cnt < self.G and self.credit < QUEUE_WORDS
        written = self.stages[-1]
        self.stages = [issue] + self.stages[:-1]
        self.cnt += issue
        self.credit += issue
        if not written:
            return None
        g = self.w_g
        self.w_g += 1
        if g == self.G - 1:
            self.phase = CorePhase.IDLE
        spikes = [n for n in range(g * self.L, min((g + 1) * self.L, self.N)) if n in self.spiking]
        if not spikes:
            self.credit -= 1  # dropped: a word without spikes takes no queue slot
            return None
        return spikes

    def _output(self, out_ready: bool) -> int:
        """The output and skid registers' edge (from this edge's old queue); returns 1 if
        the output register popped the queue."""
        leaves = self.o_valid and not self.skid_valid
        if self.skid_valid:
            self.skid_valid = not out_ready
        else:
            self.skid_valid, self.skid_n = self.o_valid and not out_ready, self.o_n
        if leaves and self.rest:
            self.o_n = self.rest.pop(0)
            return 0
        if (not self.o_valid or leaves) and self.queue:
            word = self.queue.popleft()
            self.o_valid, self.o_n, self.rest = True, word[0], word[1:]
            return 1
        if leaves:
            self.o_valid = False
        return 0

    # -- fast-forward ------------------------------------------------------------------
    def skippable(self) -> int | None:
        """Edges that change nothing but this core's countdown: None when idle (whether it
        stays so depends on its feed), 0 when its output or update phase may move."""
        if self.out_valid or self.queue:
            return 0
        if self.phase is CorePhase.IDLE:
            return None
        if self.phase is CorePhase.UPDATE:
            return 0
        return self.left - 1  # the edge that ends the phase is stepped

    def skip(self, k: int) -> None:
        if self.phase in (CorePhase.EVENT, CorePhase.CLEAR):
            self.left -= k

    def events_left(self) -> int:
        """Edges until the event (or CLEAR) countdown ends: 0 when idle (the input stream's
        closed form, :meth:`spikeforge.sim.system_cycle.SystemModel._stream`)."""
        return self.left if self.phase is not CorePhase.IDLE else 0

    def set_events_left(self, left: int) -> None:
        """An event's countdown with ``left`` edges to go (0: idle), set by the closed form."""
        self.phase, self.left = (CorePhase.EVENT, left) if left > 0 else (CorePhase.IDLE, 0)


class DoubleBufferedCoreModel(CoreModel):
    """The control of a :class:`~spikeforge.hdl.core.NeuronCore` with ``double_buffer``:
    :class:`CoreModel` with an event engine of its own, which takes events while the
    update runs (they go to the buffer that the update neither reads nor writes).

    * ``ev_left``: edges until the event engine is free (``G`` after an event's handshake,
      counted down at every edge; an event taken at the last word restarts it);
    * ``spike_in.ready`` (:attr:`in_ready`) = ``ev_left <= 1`` and the phase is not CLEAR,
      in every other phase (UPDATE too); ``idle`` = :class:`CoreModel`'s and ``ev_left ==
      0``; a command offered beside an event is taken first where the RTL takes it (the
      event beside it is lost there: a driver never offers both).

    With events only between update phases (a driver that waits for ``idle``, as
    :func:`~spikeforge.sim.cycle.predict_tick`'s) every cycle is :class:`CoreModel`'s.
    """

    def __init__(self, plan_core, events_first: bool = True):
        super().__init__(plan_core, events_first)
        self.ev_left = 0

    @property
    def idle(self) -> bool:
        return super().idle and self.ev_left == 0

    @property
    def in_ready(self) -> bool:
        return self.ev_left <= 1 and self.phase is not CorePhase.CLEAR

    def edges_to_ready(self) -> int:
        if self.phase is CorePhase.CLEAR:
            return self.left
        return max(0, self.ev_left - 1)

    def clock(self, event: bool, command: bool, is_tick: bool, tick: int,
              out_ready: bool) -> None:
        event = event and self.in_ready and not command
        if self.ev_left:
            self.ev_left -= 1
        if event:
            self.ev_left = self.G
        super().clock(False, command, is_tick, tick, out_ready)

    def skippable(self) -> int | None:
        if self.ev_left:
            return 0  # (the engine's countdown is stepped)
        return super().skippable()

    def events_left(self) -> int:
        return self.ev_left

    def set_events_left(self, left: int) -> None:
        self.ev_left = left
