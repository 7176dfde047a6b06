"""The tick controller: advances global time when every core and every link is quiet.

Timing contract (:mod:`spikeforge.sim.contract`): a spike emitted in the update phase of
tick t is an input event of the next layer in tick t + 1. The controller runs an inference
as follows::

    start ─► CLEAR every core ─► wait quiet ─► tick 0:
        EVENT(t):  external events of tick t are injected (``event_phase`` high); wait quiet
        UPDATE(t): TICK to every core; cores update and emit spikes, the routers deliver them
                   to the next layer's cores (event phase of t + 1); wait quiet
        ``tick_done`` pulses (``tick`` = t); stop after tick n_ticks - 1 or when ``stop``
        is high in the cycle after ``tick_done``; else t + 1 and EVENT again.
    A ``stop`` during UPDATE(t) (a decision at a spike) ends the run at once: ``finished``
    pulses in that cycle instead of waiting for quiet, and no further tick is issued.

Work still in flight at such a stop (cores finishing the update phase, spikes in mergers,
FIFOs and routers) is not aborted -- a core takes no command while it is busy -- but drains
on its own: the spikes still reach their destination cores (as events that the next CLEAR
erases). The next ``start`` waits for it: its CLEAR is offered only when everything is quiet
again and, because a stop is not a handshake that the guard covers, at least ``guard``
cycles after the stop (the guard countdown is loaded at the stop and runs on in IDLE; a
``start`` does not reset it). What the drained spikes may do to the system's outputs is the
system's business (:class:`spikeforge.hdl.system.SpikeforgeSystem` discards them).

Overlapped input (``overlap=True``): the input of tick t + 1 is injected during UPDATE(t)
instead of after it, so the first layer takes its next events while the later layers still
take tick t's spikes (issue 10, point 3)::

    ... EVENT(0) ─► UPDATE(t) + input of t + 1 (``input_open``; not after the last tick);
        wait quiet ─► ``tick_done`` (and ``finished`` after the last tick: no CHECK)
        ─► EVENT(t + 1) ─► TICK at once ─► UPDATE(t + 1)

Contract: a layer-0 core takes its events of tick t + 1 only after it accepted TICK(t)
(they are offered from the cycle after the offer, and a core takes no event while its
update phase runs), and TICK(t + 1) still waits for quiet, so every event of tick t + 1 is
integrated between the two updates, as the contract says. Quiet at the end of UPDATE(t)
includes the input port (closed by tick t + 1's marker), so EVENT(t + 1) finds quiet as it
was and offers TICK at once (the guard is not reloaded: EVENT(t + 1) starts no input).
Without ``stops`` there is no CHECK cycle: a tick costs two cycles less than with the
barrier plus the event phase that the overlap hides. With ``stops`` (a first-spike decision
that may stop at a ``tick_done``: stops_at_tick_end) CHECK stays, a cycle after each tick.
A stop in UPDATE(t) may leave tick t + 1's input half taken: the window shuts at the stop,
and the events the first layer took are integrated without effect (no TICK(t + 1) follows)
and erased by the next CLEAR.

"Quiet" means every ``core_idle`` bit and every ``link_idle`` bit is high. ``link_idle``
collects the ``idle`` outputs of the FIFOs, arbiters and routers (and of an input port, and
the negated ``valid`` of any plain stream between them): no packet is in flight. Because a
busy flag may rise one or more cycles after the event that makes a block busy (a core's
``idle`` falls in the cycle after it accepts a command), quiet is only trusted ``guard``
cycles after the last command acceptance (or the start of an event phase): a block made
busy by a handshake in cycle c, or by ``event_phase`` first being high in cycle c, must show
it (``idle`` low) by cycle c + ``guard``. (NeuronCore's ``idle`` is low from c + 1.) Quiet is
registered, so the controller acts on the cycle before's: once reached it holds until the
controller's next command or event phase, so the late view costs one cycle per wait and
nothing else.

The TICK (and CLEAR) command is offered to all cores in the same cycle, and only in a cycle
in which everything is quiet. Every core must accept it in that cycle (a core's
``command.ready`` must be high whenever it is idle and has no input pending, as
:class:`~spikeforge.hdl.core.NeuronCore`'s is): a core that took its TICK later could receive
spikes of tick t from a faster core before its own update of tick t. A core that does not
accept at once still gets the command exactly once (acceptance is tracked per core), but the
sticky ``error`` output reports the protocol violation.
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from spikeforge.hdl.core import Command

__all__ = ["TickController"]


class TickController(wiring.Component):
    """Sequences CLEAR, event phases and TICK commands of all cores of a system.

    Parameters
    ----------
    n_cores : int
        Number of cores (command streams and ``core_idle`` bits).
    n_links : int
        Number of ``link_idle`` bits (0 allowed).
    tick_bits : int
        Width of the tick counter and of ``n_ticks``.
    guard : int
        Cycles after a command is accepted (or a new event phase begins) before quiet is
        trusted (at least 1).
    overlap : bool
        Overlapped input (see "Overlapped input" above).
    stops : bool
        ``stop`` may be raised at a tick's end (a first-spike decision of several output
        cores): an overlapped controller keeps the CHECK cycle after each tick for it.
    command_shape, tick_command, clear_command
        The command payload and its two values (default :class:`spikeforge.hdl.core.Command`).

    Attributes
    ----------
    start : ``In(1)``
        Pulse (while ``running`` is low) to begin an inference. Samples ``n_ticks``.
    n_ticks : ``In(tick_bits)``
        Number of ticks to run (0: CLEAR only). Sampled with ``start``.
    stop : ``In(1)``
        Early-exit request (e.g. :attr:`DecisionUnit.stop`). Sampled in every cycle of an
        update phase (the run ends in that cycle) and, without ``overlap`` or with
        ``stops``, in the cycle after each ``tick_done`` (the run ends after that tick).
    core_idle : ``In(n_cores)``
        Bit k: core k is idle (between phases, output drained).
    link_idle : ``In(n_links)``
        Bit k: link k holds no packet.
    command : ``Out(stream.Signature(command_shape)).array(n_cores)``
        Command to each core. ``valid`` is high (all at once) in the cycle the command is
        issued, and stays high for a core until that core accepts it.
    tick : ``Out(tick_bits)``
        The current tick t (0 after ``start``). Spikes that cores emit while ``tick`` is t are
        spikes of tick t.
    event_phase : ``Out(1)``
        High during the event phase of tick ``tick`` (the EVENT state).
    input_open : ``Out(1)``
        An input port may inject the events of the next tick to begin now (it must report
        busy on a ``link_idle`` bit until done): ``event_phase``, and with ``overlap`` also
        the update phase of every tick but the last (the events of tick ``tick + 1``).
    input_reopen : ``Out(1)``
        One-cycle pulse: the next tick's input begins after this edge (``clear``, and
        ``tick_done``; with ``overlap`` the TICK's offer instead of ``tick_done``).
    input_marker : ``In(1)``
        The input port takes the marker that closes the open tick's input in this cycle
        (only while ``input_accepting``).
    input_accepting : ``Out(1)``
        ``input_open`` and the open tick's marker not yet taken: the input port's window,
        with ``closed`` set by ``input_marker`` and cleared by ``input_reopen``. A flip-flop,
        set by the transitions into the window (``elaborate``), so that the input handshake
        starts from one register. It relies on the input port's idle bit ``~input_accepting``
        being a ``link_idle`` bit, as ``input_open`` requires.
    update_phase : ``Out(1)``
        High from issuing TICK until the end of tick ``tick``.
    tick_done : ``Out(1)``
        One-cycle pulse at the end of tick ``tick``: every core has finished its update
        phase and every spike it emitted has been delivered.
    clear : ``Out(1)``
        One-cycle pulse when a run starts (to clear e.g. the decision unit).
    running : ``Out(1)``
        High from ``start`` until the run ends.
    finished : ``Out(1)``
        One-cycle pulse when the run ends.
    done : ``Out(1)``
        High after a run ended, until the next ``start``.
    ticks_run : ``Out(tick_bits + 1)``
        Number of ticks begun (TICK issued) in the current or last run; at the end of a run
        the ticks run, the stopped one included.
    error : ``Out(1)``
        Sticky until the next ``start``: some core did not accept a command in the cycle it
        was offered to all cores (see above).

    Timing
    ------
    With everything quiet, a tick costs ``guard`` + 2 cycles of event phase, the cores'
    update time (+ delivery) and one cycle for the registered quiet, at least ``guard`` + 1
    cycles, and one cycle for the stop decision. A
    ``stop`` high in UPDATE at cycle c: ``finished`` at c, ``done`` from c + 1, IDLE from c + 1.
    """

    def __init__(self, n_cores: int, *, n_links: int = 0, tick_bits: int = 16, guard: int = 2,
                 overlap: bool = False, stops: bool = False, command_shape=Command,
                 tick_command=Command.TICK, clear_command=Command.CLEAR):
        if not isinstance(n_cores, int) or n_cores < 1:
            raise ValueError(f"n_cores: must be a positive integer, got {n_cores!r}")
        if not isinstance(n_links, int) or n_links < 0:
            raise ValueError(f"n_links: must be a non-negative integer, got {n_links!r}")
        if not isinstance(guard, int) or guard < 1:
            raise ValueError(f"guard: must be an integer >= 1, got {guard!r}")
        if not isinstance(tick_bits, int) or tick_bits < 1:
            raise ValueError(f"tick_bits: must be a positive integer, got {tick_bits!r}")
        self.n_cores = n_cores
        self.n_links = n_links
        self.tick_bits = tick_bits
        self.guard = guard
        self.overlap = bool(overlap)
        # a CHECK cycle after each tick: always at the barrier, overlapped where stop may come
        self.check = not self.overlap or bool(stops)
        self._tick_command = tick_command
        self._clear_command = clear_command
        super().__init__({
            "start": In(1),
            "n_ticks": In(tick_bits),
            "stop": In(1),
            "core_idle": In(n_cores),
            "link_idle": In(n_links),
            "command": Out(stream.Signature(command_shape)).array(n_cores),
            "tick": Out(tick_bits),
            "event_phase": Out(1),
            "input_open": Out(1),
            "input_reopen": Out(1),
            "input_marker": In(1),
            "input_accepting": Out(1),
            "update_phase": Out(1),
            "tick_done": Out(1),
            "clear": Out(1),
            "running": Out(1),
            "finished": Out(1),
            "done": Out(1),
            "ticks_run": Out(tick_bits + 1),
            "error": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        N = self.n_cores
        # quiet, registered: the AND of every core's and link's idle bit is a wide tree, and
        # behind it the command offer and the cores' acceptance were the critical path of
        # the ECP5 builds. The controller sees quiet a cycle late, which the guard already
        # allows for (quiet trusted from c + guard + 1 on reflects the blocks at c + guard,
        # by which a block made busy at c must show it: the same requirement as before),
        # and once reached, quiet holds until the controller's next command or event phase.
        # Cost: a phase that ends after its guard ends one cycle later.
        quiet, quiet_next = Signal(), Signal()
        m.d.comb += quiet_next.eq(self.core_idle.all() &
                                  (self.link_idle.all() if self.n_links else Const(1)))
        m.d.sync += quiet.eq(quiet_next)
        # guard countdown: ``guard`` after a command acceptance (loaded at the accepting
        # edge, so counted from the cycle after it), ``guard + 1`` when an event phase begins
        # (loaded on the edge into its first cycle): either way quiet is trusted from the
        # cycle that reads the blocks as they are ``guard`` cycles after the cause
        wait = Signal(range(self.guard + 2))
        # ``wait == 0``, kept as a register beside ``wait`` (every assignment of wait sets it
        # too, through ``set_wait``): no compare between the counter and the command offer
        wait_zero = Signal(init=1)
        # pending, wait and wait_zero are registers of next values written out below
        # (``*_next``, comb): the command's valid bits are loaded from pending_next (the
        # guard's next values served a first version that loaded the offer from them too,
        # six LUT levels on the iCE40; see valid below)
        wait_next, wait_zero_next = Signal.like(wait), Signal()
        pending = Signal(N)  # cores that still have to accept the current command
        pending_next = Signal(N)
        m.d.comb += [wait_next.eq(wait), wait_zero_next.eq(wait_zero),
                     pending_next.eq(pending)]
        m.d.sync += [wait.eq(wait_next), wait_zero.eq(wait_zero_next),
                     pending.eq(pending_next)]

        def set_wait(value):
            m.d.comb += [wait_next.eq(value), wait_zero_next.eq(int(value == 0))]

        guarded_quiet = Signal()
        m.d.comb += guarded_quiet.eq(wait_zero & quiet)
        with m.If(~wait_zero):
            m.d.comb += [wait_next.eq(wait - 1), wait_zero_next.eq(wait == 1)]

        is_tick = Signal()  # the current command is TICK (else CLEAR)
        offer = Signal()  # offer the command to every core this cycle (first offer)
        accepted = Signal(N)
        # the cores' ready bits: where the command is offered nothing is pending (every
        # command ends with pending == 0, a stop clears it), so there a core misses the offer
        # iff it is not ready, and the error test is the wide AND of the ready bits alone,
        # not of the acceptances behind the offer (stop 27's iCE40 critical path, 21.9 ns:
        # wait -> quiet -> offer -> acceptances -> the error register's enable)
        ready = Signal(N)
        # the commands' valid bits, offer | pending, as registers of their next values (below):
        # the offer reads quiet, wait_zero and the state, and behind it each core's command
        # acceptance, its phase and its 16 lane groups' CLEAR copies were the 64-lane MNIST
        # build's critical path (stop 41: quiet -> 4 LUT levels -> a copy's enable, 8.6 ns)
        valid = Signal(N)
        for k, cmd in enumerate(self.command):
            m.d.comb += [
                cmd.valid.eq(valid[k]),
                accepted[k].eq(cmd.valid & cmd.ready),
                ready[k].eq(cmd.ready),
            ]
            with m.If(is_tick):
                m.d.comb += cmd.payload.eq(self._tick_command)
            with m.Else():
                m.d.comb += cmd.payload.eq(self._clear_command)
        # the ticks after the current one (n_ticks - 1 at start, modulo 2**bits; one less at
        # each next tick) and whether n_ticks is 0, sampled at start: the compares below then
        # need no adder (``tick + 1 == n_ticks`` was the ECP5 build's critical path, 8.5 ns,
        # and ``n_ticks == 0`` sat in the iCE40 build's path to ``finished``)
        left = Signal(self.tick_bits)
        no_ticks = Signal()
        # "tick is the last one" (left == 0), a register set wherever the tick changes (at
        # start and at each next tick), so it holds from the tick's first cycle: the input
        # window of UPDATE is set from it in EVENT's first cycle (overlapped). Before stop
        # 36 it was the compare tick == final registered a cycle late, and that compare sat
        # in front of the window (digits-l2 on the iCE40: 6 LUT levels).
        last = Signal()

        def next_tick():
            m.d.sync += [self.tick.eq(self.tick + 1), left.eq(left - 1), last.eq(left == 1)]

        # The state is one-hot, a flip-flop per state (``in_state``), and each flag's next
        # value is written out below as a sum of the transitions into its state: every
        # condition reads flags, not a decode of an encoded state, and no flag waits for a
        # chain of the other states' conditions (stop 36: behind Amaranth's encoded FSM the
        # transitions were 5-6 LUT levels deep on both iCE40 designs, the critical paths of
        # most placements). The offer into every core's command handshake, the phases into
        # the input port's and the routers' handshakes, and ``tick_done`` / ``finished`` /
        # ``running`` start from these flip-flops. ``in_offer``: ISSUE_CLEAR or EVENT (the
        # states that offer a command); ``in_clearing_last``: CLEARING of a run of 0 ticks
        # (``no_ticks`` is sampled at start), so that ``finished`` there needs no AND of the
        # state with ``no_ticks`` behind ``ended``.
        in_state = {s: Signal(name=f"in_{s.lower()}", init=int(s == "IDLE"))
                    for s in ("IDLE", "ISSUE_CLEAR", "CLEARING", "EVENT", "UPDATE", "CHECK")}
        in_offer = Signal()
        in_clearing_last = Signal()

        ended = Signal()  # the command is taken and everything is quiet
        m.d.comb += [
            offer.eq(in_offer & guarded_quiet),
            ended.eq((pending == 0) & guarded_quiet),
            self.event_phase.eq(in_state["EVENT"]),
            self.input_open.eq(in_state["EVENT"] | (in_state["UPDATE"] & ~last)
                               if self.overlap else in_state["EVENT"]),
            self.input_reopen.eq(self.clear | (in_state["EVENT"] & offer
                                               if self.overlap else self.tick_done)),
            self.update_phase.eq(in_state["UPDATE"]),
            self.running.eq(~in_state["IDLE"]),
            self.clear.eq(in_state["IDLE"] & self.start),
            # a stop in UPDATE ends the run at once (no tick_done)
            self.tick_done.eq(in_state["UPDATE"] & ended & ~self.stop),
            self.finished.eq((in_clearing_last & ended)
                             | (in_state["UPDATE"] & (self.stop if self.check
                                                      else self.stop | (ended & last)))
                             | (in_state["CHECK"] & (self.stop | last))),
        ]

        # -- transitions (each a one-cycle condition) and the flags' next values ---------
        def transition(name, condition):
            t = Signal(name=f"t_{name}")
            m.d.comb += t.eq(condition)
            return t

        idle, issue, clearing = in_state["IDLE"], in_state["ISSUE_CLEAR"], in_state["CLEARING"]
        event, update, check = in_state["EVENT"], in_state["UPDATE"], in_state["CHECK"]
        t_start = transition("start", idle & self.start)
        t_clear = transition("clear", issue & guarded_quiet)  # CLEAR offered
        t_cleared = transition("cleared", clearing & ended)
        t_tick = transition("tick", event & guarded_quiet)  # TICK offered
        t_stop = transition("stop", update & self.stop)  # decided at a spike
        t_updated = transition("updated", update & ~self.stop & ended)
        # the run ends, or the next tick's event phase begins (without CHECK: from UPDATE)
        direct = not self.check
        ends = ((t_cleared & no_ticks) | t_stop | (check & (self.stop | last))
                | (t_updated & last if direct else 0))
        to_event = ((t_cleared & ~no_ticks) | (check & ~self.stop & ~last)
                    | (t_updated & ~last if direct else 0))
        in_offer_next = Signal()
        m.d.comb += in_offer_next.eq(t_start | to_event | (in_offer & ~guarded_quiet))
        m.d.sync += [
            idle.eq((idle & ~self.start) | ends),
            issue.eq(t_start | (issue & ~guarded_quiet)),
            clearing.eq(t_clear | (clearing & ~ended)),
            event.eq(to_event | (event & ~guarded_quiet)),
            update.eq(t_tick | (update & ~self.stop & ~ended)),
            check.eq(t_updated if self.check else 0),
            in_offer.eq(in_offer_next),
            in_clearing_last.eq((t_clear & no_ticks) | (in_clearing_last & ~ended)),
        ]
        # input_accepting (= input_open & ~closed): a marker closes the window; entering
        # EVENT from CLEARING or (at the barrier) CHECK opens it (closed was cleared by the
        # clear or tick_done before), and so does, overlapped, the TICK's offer (input_reopen)
        # for UPDATE's window of the next tick, unless this one is the last. Overlapped, EVENT
        # entered from UPDATE or CHECK finds tick t + 1's marker taken: UPDATE ended quiet,
        # and quiet includes the open input port (so the window is shut in every transition
        # but a stop's, and no marker comes with one). tests/sim/blocks/test_tick.py checks
        # it cycle by cycle.
        m.d.sync += self.input_accepting.eq(
            (t_cleared & ~no_ticks) | (0 if self.overlap and self.check
                                       else check & ~self.stop & ~last)
            | (t_tick & ~last if self.overlap else 0)
            | (self.input_accepting & ~self.input_marker & ~t_stop))

        # -- the registers each transition loads -------------------------------------------
        with m.If(t_start):
            # wait is not reset: after a stop it still guards the drain
            m.d.sync += [left.eq(self.n_ticks - 1), no_ticks.eq(self.n_ticks == 0),
                         last.eq(self.n_ticks == 1), self.tick.eq(0), self.done.eq(0),
                         self.ticks_run.eq(0), is_tick.eq(0), self.error.eq(0)]
        with m.If(t_clear | t_tick):  # the command offered to every core
            m.d.comb += pending_next.eq(~accepted)
            set_wait(self.guard)
            with m.If(~ready.all()):  # = ~accepted.all() here (see ready)
                m.d.sync += self.error.eq(1)
        with m.If(t_tick):  # a tick counts from its TICK on, so a stop needs no update
            m.d.sync += self.ticks_run.eq(self.ticks_run + 1)
        with m.If(clearing | update):  # the command's late acceptors
            m.d.comb += pending_next.eq(pending & ~accepted)
            with m.If(accepted.any()):  # a late acceptor gets its full guard time too
                set_wait(self.guard)
        with m.If(t_cleared):
            with m.If(no_ticks):
                m.d.sync += self.done.eq(1)
            with m.Else():
                m.d.sync += is_tick.eq(1)
                set_wait(self.guard + 1)
        with m.If(t_stop):  # end now, let the rest drain
            m.d.sync += self.done.eq(1)
            m.d.comb += pending_next.eq(0)
            set_wait(self.guard)
        if direct:  # no stop after a tick: the next tick, or the end
            with m.If(t_updated):
                with m.If(last):
                    m.d.sync += self.done.eq(1)
                with m.Else():  # its input is in, quiet holds: no guard
                    next_tick()
        with m.If(check):
            with m.If(self.stop | last):
                m.d.sync += self.done.eq(1)
            with m.Else():
                next_tick()
                if not (self.overlap and self.check):  # overlapped: the input is in, quiet holds
                    set_wait(self.guard + 1)
        # valid = offer | pending of the next cycle. The offer of the next cycle, in_offer &
        # wait_zero & quiet there, written out by the transitions that lead to it (as the AND
        # of in_offer_next and wait_zero_next it was six LUT levels on the iCE40): every
        # transition into EVENT but the overlapped ones (from UPDATE, or from CHECK with
        # ``stops``; UPDATE ended with the guard run out) reloads the guard (a
        # nonzero wait: no offer), and in IDLE and in an offering state that offers nothing
        # the guard only counts down, so there the wait ends iff it is 0 or 1 now. The states
        # are one-hot; tests/sim/blocks/test_tick.py checks valid cycle by cycle
        wait_ends = wait_zero | (wait == 1)
        # (each case's expression as it was before the overlapped CHECK, so that their
        # Verilog -- and the mutation campaign's site ids -- stayed the same)
        onward = (t_updated & ~last if direct
                  else check & ~self.stop & ~last if self.overlap else 0)
        offer_next = quiet_next & ((wait_ends & (t_start | (in_offer & ~guarded_quiet)))
                                   | onward)
        m.d.sync += valid.eq(pending_next | offer_next.replicate(N))
        return m
