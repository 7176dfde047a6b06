"""Cycle model of :class:`spikeforge.hdl.tick.TickController`, the FSM that clears the
cores, opens each tick's event phase, issues TICK and waits for quiet."""

from __future__ import annotations

import enum

__all__ = ["TickState", "TickControllerModel"]


class TickState(enum.Enum):
    """The states of the controller's FSM (same names as in the RTL)."""

    IDLE = enum.auto()
    ISSUE_CLEAR = enum.auto()
    CLEARING = enum.auto()
    EVENT = enum.auto()
    UPDATE = enum.auto()
    CHECK = enum.auto()


#: states in which the controller only waits for quiet (and counts its guard down)
_WAITING = frozenset({TickState.ISSUE_CLEAR, TickState.CLEARING, TickState.EVENT,
                      TickState.UPDATE})


class TickControllerModel:
    """:class:`~spikeforge.hdl.tick.TickController` of ``n_cores`` cores.

    * Quiet is registered (the controller reads the cycle before's) and trusted
      (``guarded_quiet``) only when the guard countdown ``wait`` is 0; it is reloaded with
      ``guard`` by every command acceptance and ``guard + 1`` by every new event phase.
    * IDLE --start--> ISSUE_CLEAR (``clear`` pulses) --quiet: CLEAR offered to all cores-->
      CLEARING --all accepted, quiet--> EVENT (``event_phase``) --quiet: TICK offered-->
      UPDATE --all accepted, quiet: ``tick_done``--> CHECK (one cycle) --> EVENT of the next
      tick, or IDLE with ``finished`` after tick ``n_ticks - 1`` or on ``stop``.
    * ``overlap``: the next tick's input is open in UPDATE too (:attr:`input_open`), it
      reopens at the TICK's offer, and the end of UPDATE goes on to EVENT without CHECK
      and without the guard (or ends the run after the last tick: ``finished`` with
      ``tick_done``). With ``stops`` too (a first-spike decision that may stop at a
      ``tick_done``: :func:`~spikeforge.sim.blocks.decision.stops_at_tick_end`; one output
      core stops only in UPDATE) the end of UPDATE goes through CHECK, which ends the run on
      ``stop`` or after the last tick, and else on to EVENT, still without the guard.
    * ``ticks_run`` counts a tick from its TICK offer on.
    * ``stop`` in UPDATE ends the run in that cycle (``finished``, nothing pending) and loads the guard, which runs on in IDLE and is not reset by
      ``start``: the next CLEAR waits for the drain and ``guard`` cycles.
    * A core that does not accept the offered command at once keeps it pending (and sets
      the sticky ``error``).

    :meth:`settle` computes the cycle's combinational outputs, :meth:`clock` the edge.
    """

    def __init__(self, n_cores: int, guard: int, overlap: bool = False, stops: bool = False):
        self.all_cores = (1 << n_cores) - 1
        self.guard = guard
        self.overlap = overlap
        self.check = not overlap or stops  # a CHECK cycle after every tick
        self.state = TickState.IDLE
        self.wait = 0
        self.pending = 0  # cores that still have to accept the current command
        self.is_tick = False
        self.tick = 0
        self.n_ticks = 0
        self.ticks_run = 0
        self.done = False
        self.error = False
        self.guarded_quiet = False
        self.quiet = False  # the registered quiet the controller reads (last cycle's)
        self._quiet_now = False
        self.offer = self.clear = self.tick_done = self.finished = self.stopped = False

    @property
    def event_phase(self) -> bool:
        return self.state is TickState.EVENT

    @property
    def input_open(self) -> bool:
        """The input port may inject the next tick's events (overlapped: also in UPDATE of
        every tick but the last)."""
        return self.event_phase or (self.overlap and self.state is TickState.UPDATE
                                    and self.tick + 1 != self.n_ticks)

    @property
    def input_reopen(self) -> bool:
        """The next tick's input begins after this edge."""
        return self.clear or (self.offer and self.state is TickState.EVENT if self.overlap
                              else self.tick_done)

    @property
    def update_phase(self) -> bool:
        return self.state is TickState.UPDATE

    def settle(self, start: bool, quiet: bool, stop: bool) -> None:
        """The outputs of this cycle: ``start`` (already masked by the system's ``busy``),
        ``quiet`` (cores and links), ``stop`` (the decision unit's early exit)."""
        s = self.state
        self._quiet_now = quiet
        self.guarded_quiet = self.wait == 0 and self.quiet
        ended = self.pending == 0 and self.guarded_quiet
        self.offer = s in (TickState.ISSUE_CLEAR, TickState.EVENT) and self.guarded_quiet
        self.clear = s is TickState.IDLE and start
        self.stopped = s is TickState.UPDATE and stop
        self.tick_done = s is TickState.UPDATE and ended and not stop
        self.finished = ((s is TickState.CLEARING and ended and self.n_ticks == 0)
                         or (s is TickState.CHECK and (stop or self.tick + 1 == self.n_ticks))
                         or self.stopped
                         or (not self.check and self.tick_done
                             and self.tick + 1 == self.n_ticks))

    def command_valid(self, core: int) -> bool:
        return self.offer or bool(self.pending >> core & 1)

    def clock(self, n_ticks: int, accepted: int) -> None:
        """``accepted``: bit mask of the cores that accept the command in this cycle."""
        if self.wait:
            self.wait -= 1
        self.quiet = self._quiet_now
        s = self.state
        if self.clear:
            self._begin(n_ticks)
        elif self.offer:
            self._issue(accepted)
        elif s in (TickState.CLEARING, TickState.UPDATE):
            self._collect(accepted)
        elif s is TickState.CHECK:
            self._next_tick()

    def _begin(self, n_ticks) -> None:
        self.n_ticks, self.tick, self.done, self.ticks_run = n_ticks, 0, False, 0
        self.is_tick, self.error = False, False  # wait runs on (it guards a drain)
        self.state = TickState.ISSUE_CLEAR

    def _issue(self, accepted) -> None:
        self.pending = self.all_cores & ~accepted
        self.error |= self.pending != 0
        self.wait = self.guard
        if self.state is TickState.EVENT:
            self.ticks_run += 1  # a tick counts from its TICK on
        self.state = (TickState.CLEARING if self.state is TickState.ISSUE_CLEAR
                      else TickState.UPDATE)

    def _collect(self, accepted) -> None:
        ended = self.pending == 0 and self.guarded_quiet
        self.pending &= ~accepted
        if accepted:  # a late acceptor gets its full guard time too
            self.wait = self.guard
        if self.stopped:
            self.pending, self.wait = 0, self.guard
            self._finish()
        elif self.tick_done and not self.check:
            self._next_tick()
        elif self.tick_done:
            self.state = TickState.CHECK
        elif self.finished:
            self._finish()
        elif ended:
            self.wait, self.is_tick = self.guard + 1, True  # a new event phase
            self.state = TickState.EVENT

    def _next_tick(self) -> None:
        if self.finished:
            self._finish()
        else:
            self.tick += 1
            if not self.overlap:  # overlapped: the input is in already, quiet holds
                self.wait = self.guard + 1  # a new event phase
            self.state = TickState.EVENT

    def _finish(self) -> None:
        self.done = True
        self.state = TickState.IDLE

    # -- fast-forward ------------------------------------------------------------------
    def waiting(self) -> bool:
        """Nothing but the guard countdown can change while quiet is not reached."""
        return self.state in _WAITING and not self.pending

    def skip(self, k: int) -> None:
        """``k`` cycles in which quiet is not reached (so it reads as not reached after them)."""
        self.wait = max(0, self.wait - k)
        if k:
            self.quiet = False
