"""The tick controller model (sim/blocks/tick.py) against :class:`TickController`
(hdl/tick.py), and its documented state sequence with exact cycles.

Lockstep: random ``start``/``n_ticks``/``stop``, mock cores that are busy for a random time
after each command they accept (and now and then a cycle longer), command ``ready`` that
sometimes stalls (the late-acceptance path with ``error``), an input port that closes each
tick's window with a marker at a random cycle; every cycle every output of the model (and
the port's window, ``input_open`` until the marker) must be the RTL's.
"""

import random

import pytest

from spikeforge.hdl.core import Command
from spikeforge.hdl.tick import TickController
from spikeforge.sim.blocks.tick import TickControllerModel, TickState
from tests.util import run


def tick_lockstep(seed, n_cores, guard, p_stall, cycles=1500, overlap=False, stops=False):
    rng = random.Random(seed)
    dut = TickController(n_cores, n_links=1, guard=guard, tick_bits=4, overlap=overlap,
                         stops=stops)
    model = TickControllerModel(n_cores, guard, overlap, stops)
    busy = [0] * n_cores
    was_idle = [False] * n_cores
    # an input port: its window is input_open until the tick's marker, which it sends at
    # random in the window; its idle bit (the window shut) is the controller's one link
    port = {"closed": False}
    seen = {"states": set(), "finished": 0, "error": 0, "markers": 0}

    async def bench(ctx):
        for c in range(cycles):
            start = rng.random() < 0.2
            n_ticks = rng.choice([0, 1, 2, 3, 5])
            stop = rng.random() < 0.15
            # a busy core may stay busy a while longer for no reason, but an idle one stays
            # idle until it takes a command (the registered quiet relies on that)
            idle = [b == 0 and (was or rng.random() >= 0.05) for b, was in zip(busy, was_idle)]
            was_idle[:] = idle
            ready = [i and rng.random() >= p_stall for i in idle]
            ctx.set(dut.start, int(start))
            ctx.set(dut.n_ticks, n_ticks)
            ctx.set(dut.stop, int(stop))
            ctx.set(dut.core_idle, sum(int(i) << k for k, i in enumerate(idle)))
            for k in range(n_cores):
                ctx.set(dut.command[k].ready, int(ready[k]))
            accepting = model.input_open and not port["closed"]
            marker = accepting and rng.random() < 0.3
            ctx.set(dut.link_idle, int(not accepting))
            ctx.set(dut.input_marker, int(marker))
            model.settle(start, all(idle) and not accepting, stop)
            s = model.state
            where = (seed, c, s)
            assert ctx.get(dut.input_accepting) == accepting, where
            want_cmd = Command.TICK if model.is_tick else Command.CLEAR
            for k in range(n_cores):
                assert ctx.get(dut.command[k].valid) == model.command_valid(k), (where, k)
                if model.command_valid(k):
                    assert ctx.get(dut.command[k].payload) == want_cmd, (where, k)
            assert ctx.get(dut.clear) == model.clear, where
            assert ctx.get(dut.tick_done) == model.tick_done, where
            assert ctx.get(dut.finished) == model.finished, where
            assert ctx.get(dut.event_phase) == model.event_phase, where
            assert ctx.get(dut.input_open) == model.input_open, where
            assert ctx.get(dut.input_reopen) == model.input_reopen, where
            assert ctx.get(dut.update_phase) == (s is TickState.UPDATE), where
            assert ctx.get(dut.running) == (s is not TickState.IDLE), where
            assert ctx.get(dut.done) == model.done, where
            assert ctx.get(dut.error) == model.error, where
            assert ctx.get(dut.ticks_run) == model.ticks_run, where
            assert ctx.get(dut.tick) == model.tick, where
            seen["states"].add(s)
            seen["finished"] += model.finished
            seen["error"] += model.error
            seen["markers"] += marker
            port["closed"] = (port["closed"] or marker) and not model.input_reopen
            accepted = 0
            for k in range(n_cores):
                busy[k] = max(0, busy[k] - 1)
                if model.command_valid(k) and ready[k]:
                    accepted |= 1 << k
                    busy[k] = rng.randrange(0, 4)
                    was_idle[k] = False
            model.clock(n_ticks, accepted)
            await ctx.tick()

    run(dut, bench)
    return seen


@pytest.mark.parametrize("overlap,stops", [(False, False), (True, False), (True, True)])
@pytest.mark.parametrize("seed,n_cores,guard,p_stall", [
    (0, 1, 1, 0.0), (1, 3, 2, 0.0), (2, 2, 3, 0.3), (3, 4, 1, 0.3)])
def test_controller_matches_rtl_cycle_by_cycle(seed, n_cores, guard, p_stall, overlap, stops):
    seen = tick_lockstep(seed, n_cores, guard, p_stall, overlap=overlap, stops=stops)
    no_check = overlap and not stops
    assert seen["states"] == set(TickState) - ({TickState.CHECK} if no_check else set())
    assert seen["finished"] >= 5 and seen["markers"] >= 5
    assert (seen["error"] > 0) == (p_stall > 0)


# -- the documented sequence, exact cycles -----------------------------------------------

def run_quiet(guard, n_ticks, quiet=lambda c: True, stop=lambda c: False, refuse=None,
              cycles=None, overlap=False, stops=False):
    """Start at cycle 0, every core accepts every command at once (but core 0 refuses while
    ``refuse(c)``); returns per cycle (state, wait, outputs)."""
    ctl = TickControllerModel(2, guard, overlap, stops)
    trace = []
    for c in range(cycles or 8 + (n_ticks + 1) * (3 + 3 * guard)):
        ctl.settle(c == 0, quiet(c), stop(c))
        names = ("offer", "clear", "tick_done", "finished") + (
            ("input_open", "input_reopen") if overlap else ())
        outs = {name for name in names if getattr(ctl, name)}
        trace.append((ctl.state, ctl.wait, outs))
        accepted = sum(1 << k for k in range(2) if ctl.command_valid(k)
                       and not (k == 0 and refuse is not None and refuse(c)))
        ctl.clock(n_ticks, accepted)
    return trace, ctl


@pytest.mark.parametrize("guard", [1, 2, 3])
@pytest.mark.parametrize("n_ticks", [1, 3])
def test_state_sequence_and_guard_countdown(guard, n_ticks):
    g = guard
    S = TickState
    states = [S.IDLE, S.ISSUE_CLEAR] + [S.CLEARING] * (g + 1)
    for _ in range(n_ticks):
        states += [S.EVENT] * (g + 2) + [S.UPDATE] * (g + 1) + [S.CHECK]
    trace, ctl = run_quiet(g, n_ticks)
    got = [s for s, _, _ in trace]
    assert got[:len(states)] == states
    assert set(got[len(states):]) == {S.IDLE}
    # the guard: a phase after a command starts with wait = guard, an event phase with
    # guard + 1, and counts down to 0
    clearing = [w for s, w, _ in trace if s is S.CLEARING]
    assert clearing == list(range(g, -1, -1))
    first_event = [w for s, w, _ in trace if s is S.EVENT][:g + 2]
    assert first_event == list(range(g + 1, -1, -1))
    # exact pulses: clear at 0, CLEAR offered at 1, tick t ends at 5 + 3g + t (4 + 2g)
    assert trace[0][2] == {"clear"} and trace[1][2] == {"offer"}
    offers = [c for c, (_, _, o) in enumerate(trace) if "offer" in o]
    assert offers == [1] + [4 + 2 * g + t * (4 + 2 * g) for t in range(n_ticks)]
    done = [c for c, (_, _, o) in enumerate(trace) if "tick_done" in o]
    assert done == [5 + 3 * g + t * (4 + 2 * g) for t in range(n_ticks)]
    fin = [c for c, (_, _, o) in enumerate(trace) if "finished" in o]
    assert fin == [done[-1] + 1]
    assert ctl.done and ctl.ticks_run == n_ticks and ctl.tick == n_ticks - 1 and not ctl.error


@pytest.mark.parametrize("guard", [1, 2])
def test_overlapped_input_is_open_in_the_update_phase_and_event_offers_at_once(guard):
    """``overlap``: the next tick's input is open in UPDATE (not the last tick's), reopens at
    the TICK offer, the end of UPDATE goes straight on to EVENT (no CHECK), and EVENT(t + 1)
    offers TICK in its first cycle (the guard is not reloaded: its input is in already);
    after the last tick ``finished`` comes with its ``tick_done``."""
    g, S, n_ticks = guard, TickState, 3
    states = [S.IDLE, S.ISSUE_CLEAR] + [S.CLEARING] * (g + 1) + [S.EVENT] * (g + 2)
    for t in range(n_ticks):
        states += [S.UPDATE] * (g + 1) + ([S.EVENT] if t + 1 < n_ticks else [S.IDLE])
    trace, ctl = run_quiet(g, n_ticks, overlap=True)
    got = [s for s, _, _ in trace]
    assert got[:len(states)] == states
    done = [c for c, (_, _, o) in enumerate(trace) if "tick_done" in o]
    assert [c for c, (_, _, o) in enumerate(trace) if "finished" in o] == [done[-1]]
    opened = [s for s, _, o in trace if "input_open" in o]
    assert opened == [S.EVENT] * (g + 2) + ([S.UPDATE] * (g + 1) + [S.EVENT]) * (n_ticks - 1)
    reopen = [c for c, (_, _, o) in enumerate(trace) if "input_reopen" in o]
    offers = [c for c, (_, _, o) in enumerate(trace) if "offer" in o]
    assert reopen == [0] + offers[1:]  # the clear, then every TICK offer
    assert ctl.done and ctl.ticks_run == n_ticks and not ctl.error


@pytest.mark.parametrize("guard", [1, 2])
def test_overlapped_with_stops_checks_after_every_tick_and_offers_at_once(guard):
    """``overlap`` with ``stops`` (first-spike): the end of UPDATE goes through one CHECK
    cycle, where a stop or the last tick ends the run, and EVENT(t + 1) still offers TICK in
    its first cycle (no guard: the input is in)."""
    g, S, n_ticks = guard, TickState, 3
    states = [S.IDLE, S.ISSUE_CLEAR] + [S.CLEARING] * (g + 1) + [S.EVENT] * (g + 2)
    for t in range(n_ticks):
        states += [S.UPDATE] * (g + 1) + [S.CHECK] + ([S.EVENT] if t + 1 < n_ticks else [S.IDLE])
    trace, ctl = run_quiet(g, n_ticks, overlap=True, stops=True)
    got = [s for s, _, _ in trace]
    assert got[:len(states)] == states
    done = [c for c, (_, _, o) in enumerate(trace) if "tick_done" in o]
    assert [c for c, (_, _, o) in enumerate(trace) if "finished" in o] == [done[-1] + 1]
    opened = [s for s, _, o in trace if "input_open" in o]
    assert opened == [S.EVENT] * (g + 2) + ([S.UPDATE] * (g + 1) + [S.EVENT]) * (n_ticks - 1)
    assert ctl.done and ctl.ticks_run == n_ticks and not ctl.error
    # a stop in the CHECK cycle of tick 1 ends the run there, after two ticks
    check_1 = [c for c, (s, _, _) in enumerate(trace) if s is S.CHECK][1]
    trace, ctl = run_quiet(g, n_ticks, overlap=True, stops=True, stop=lambda c: c == check_1)
    assert [c for c, (_, _, o) in enumerate(trace) if "finished" in o] == [check_1]
    assert ctl.ticks_run == 2 and ctl.done


def test_zero_ticks_only_clears():
    trace, ctl = run_quiet(2, 0)
    fin = [c for c, (_, _, o) in enumerate(trace) if "finished" in o]
    assert fin == [4]  # CLEAR offered at 1, CLEARING 2..4 (guard 2), finished there
    assert ctl.done and ctl.ticks_run == 0
    assert not any("tick_done" in o for _, _, o in trace)


def test_stop_ends_the_run_in_the_check_cycle():
    g = 1
    first_check = 6 + 3 * g  # the CHECK cycle of tick 0
    trace, ctl = run_quiet(g, 5, stop=lambda c: c == first_check + (4 + 2 * g))
    assert [c for c, (_, _, o) in enumerate(trace) if "finished" in o] == [
        first_check + 4 + 2 * g]
    assert ctl.ticks_run == 2 and ctl.done


def test_quiet_is_trusted_only_when_the_guard_is_zero():
    g = 2
    # quiet low from cycle 2 to 9: CLEARING waits for it; the guard has run out by then
    trace, _ = run_quiet(g, 1, quiet=lambda c: not 2 <= c <= 9)
    states = [s for s, _, _ in trace]
    assert states[2:12] == [TickState.CLEARING] * 10
    # quiet again at 10, registered: read at 11, where the phase ends
    assert states[12] is TickState.EVENT
    # EVENT at 12: wait = g + 1, so the TICK is offered g + 1 cycles later though all is quiet
    assert "offer" in trace[13 + g][2] and not any("offer" in o for _, _, o in trace[12:13 + g])


def test_late_acceptance_sets_error_and_reloads_the_guard():
    g = 2
    # core 0 refuses the CLEAR at cycle 1 and takes it at cycle 4
    trace, ctl = run_quiet(g, 1, refuse=lambda c: c < 4)
    states = [(s, w) for s, w, _ in trace]
    # CLEARING from 2 with wait 2, 1, 0 (pending keeps it there), the acceptance at 4
    # reloads wait = g at the edge: 5 and 6 count down, quiet trusted at 7
    assert states[2:8] == [(TickState.CLEARING, 2), (TickState.CLEARING, 1),
                           (TickState.CLEARING, 0), (TickState.CLEARING, 2),
                           (TickState.CLEARING, 1), (TickState.CLEARING, 0)]
    assert states[8][0] is TickState.EVENT
    assert ctl.error and ctl.done  # sticky until the next start


def test_stop_in_the_update_phase_ends_the_run_at_once_and_guards_the_drain():
    """``stop`` high in UPDATE (a decision at a spike, cores still busy): ``finished`` in
    that cycle, not ``tick_done``; ``ticks_run`` counts the stopped tick; the guard is
    reloaded there and runs on in IDLE, and a ``start`` does not reset it, so the next
    CLEAR is offered only ``guard`` cycles after the stop even if everything looks quiet."""
    g = 3
    update = 4 + 2 * g + 1  # the first UPDATE cycle of tick 0 (TICK offered at 4 + 2g)
    stop_at = update + 1
    ctl = TickControllerModel(2, g)
    log = []
    for c in range(stop_at + 12):
        start = c in (0, stop_at + 1)  # the next run starts right after the stop
        quiet = not update <= c <= stop_at  # the cores are busy until the stop
        ctl.settle(start, quiet, c == stop_at)
        log.append((c, ctl.state, ctl.finished, ctl.tick_done, ctl.offer))
        accepted = 0b11 if ctl.offer else 0
        if c == stop_at:
            assert ctl.finished and not ctl.tick_done and ctl.state is TickState.UPDATE
        ctl.clock(1, accepted)
        if c == stop_at:
            assert ctl.done and ctl.ticks_run == 1 and ctl.state is TickState.IDLE
    clear_offers = [c for c, s, _, _, offer in log if offer and s is TickState.ISSUE_CLEAR]
    # wait = g at the stop edge, counts down from there: 0 first at stop_at + g + 1
    assert clear_offers == [1, stop_at + g + 1]


def test_stop_wins_over_the_end_of_the_update_phase():
    g = 1
    end = 4 + 3 * g  # tick_done of tick 0 without a stop
    trace, ctl = run_quiet(g, 5, stop=lambda c: c == end)
    assert trace[end][2] == {"finished"} and ctl.ticks_run == 1 and ctl.done
