"""cocotb drivers and monitors for spikeforge's interfaces (import inside a simulation only).

One clock loop, :class:`CycleCounter`, runs every driver and monitor of a clock domain, so a
cycle costs two simulator callbacks however many interfaces there are:

* after each **rising edge** the loop calls every driver's ``_drive(cycle)``, which writes
  the inputs that the *next* rising edge will sample;
* at each **falling edge** it calls every driver's ``_sample(cycle)``, which reads the
  settled values that the next rising edge samples (a handshake seen here *happens* at
  that edge). The design must be clocked on rising edges only (Amaranth's ``sync``).

Cycle numbering
===============
Cycle ``c`` is the ``c``-th rising edge of ``clk`` at which ``rst`` is sampled low, counting
from 0: cycle 0 is the first edge at which the design leaves reset and its registers take
non-reset values. "Event X happens at cycle c" means the signals of X (e.g. valid and
ready both high) are sampled high *at* rising edge ``c``. While the design is in reset,
``counter.cycle`` stays 0 and no handshake is recorded. :attr:`CycleCounter.offset` shifts
the numbering if a model counts from another origin.

Interfaces
==========
Streams follow Amaranth's ``lib.stream`` naming: ``<prefix>__valid``, ``<prefix>__ready``,
``<prefix>__payload``. :class:`StreamSource` drives valid/payload (an idle gap of a
caller-chosen number of cycles before each item is offered), :class:`StreamSink` drives
ready from a caller-supplied ``ready(cycle) -> bool``; both record ``(payload, cycle)`` of
every handshake. :class:`HostBus` reads and writes the memory-mapped host port
(``host__addr``, ``__w_en``, ``__w_data``, ``__r_en``, ``__r_data``, ``__r_valid``).
Observation ports (``<prefix>__valid`` pulses and fields, no ready): :class:`PulseSource`
shows items one cycle each, :class:`PulseMonitor` records them.
"""

from __future__ import annotations

import collections
import random
from typing import Callable, Iterable

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import Event, FallingEdge, RisingEdge

__all__ = ["CycleCounter", "StreamSource", "StreamSink", "StreamSequence", "HostBus",
           "LevelMonitor", "PulseSource", "PulseMonitor", "signal", "random_gaps", "random_ready"]


def signal(dut, prefix: str, name: str):
    """The Verilog signal ``<prefix>__<name>`` of ``dut`` (Amaranth's flattened port name)."""
    full = f"{prefix}__{name}" if prefix else name
    try:
        return getattr(dut, full)
    except AttributeError:
        raise AttributeError(f"{dut._name} has no signal {full!r}") from None


def _int(handle) -> int:
    value = handle.value
    # A one-bit port is a `Logic` in Verilator (no to_unsigned), a `LogicArray` in Icarus.
    return value.to_unsigned() if hasattr(value, "to_unsigned") else int(value)


def _bit(handle) -> bool:
    value = handle.value
    return str(value) == "1"


# -- patterns ---------------------------------------------------------------------------------

def random_gaps(rng: random.Random, p_zero: float = 0.5, max_gap: int = 4) -> Callable[[int], int]:
    """A gap function: 0 with probability ``p_zero``, else uniform in 1..max_gap."""
    def gap(index: int) -> int:
        return 0 if rng.random() < p_zero else rng.randint(1, max_gap)
    return gap


class random_ready:
    """A ready pattern that is a pure function of the cycle: ready with probability
    ``p_ready`` in each cycle, drawn once per cycle from ``rng`` (memoised), so a model can
    query the same pattern (``pattern(cycle)``) in any order and get what the bench drove."""

    def __init__(self, rng: random.Random, p_ready: float = 0.6):
        self.rng, self.p_ready = rng, p_ready
        self.bits: list[bool] = []

    def __call__(self, cycle: int) -> bool:
        if cycle < 0:
            return False
        while len(self.bits) <= cycle:
            self.bits.append(self.rng.random() < self.p_ready)
        return self.bits[cycle]


# -- the clock loop -----------------------------------------------------------------------------

class CycleCounter:
    """Counts rising edges after reset release and runs the drivers of one clock domain.

    ``counter.cycle`` is, between a rising edge and the next, the number of the *next*
    rising edge (see the module docstring). Start it with :meth:`start`; :meth:`reset`
    holds ``rst`` high for some cycles and releases it.
    """

    def __init__(self, clk, rst=None, period_ns: int = 10, offset: int = 0):
        self.clk = clk
        self.rst = rst
        self.period_ns = period_ns
        self.offset = offset
        self.cycle = offset  # number of the next counted rising edge
        self.edges = 0  # every rising edge, reset or not
        self.in_reset = rst is not None
        self._agents: list = []
        self._waiters: list[tuple[int, Event]] = []
        self._task = None

    def add(self, agent) -> None:
        self._agents.append(agent)

    def start(self) -> "CycleCounter":
        if self.clk is not None:
            Clock(self.clk, self.period_ns, unit="ns").start()
        self._task = cocotb.start_soon(self._run())
        return self

    async def reset(self, cycles: int = 2) -> None:
        """Hold ``rst`` high for ``cycles`` rising edges, then release it; returns just
        after the edge that sampled reset last (the next edge is cycle 0)."""
        if self.rst is None:
            return
        self.rst.value = 1
        self.in_reset = True
        for _ in range(cycles):
            await RisingEdge(self.clk)
        self.rst.value = 0
        self.cycle = self.offset

    async def _run(self) -> None:
        clk = self.clk
        rising, falling = RisingEdge(clk), FallingEdge(clk)
        while True:
            await falling
            counted = self.rst is None or not _bit(self.rst)
            self.in_reset = not counted
            if counted:
                for agent in self._agents:
                    agent._sample(self.cycle)
            await rising
            self.edges += 1
            if counted:
                self.cycle += 1
                if self._waiters:
                    still = []
                    for target, event in self._waiters:
                        (event.set() if self.cycle >= target else still.append((target, event)))
                    self._waiters = still
            for agent in self._agents:
                agent._drive(self.cycle, counted)

    async def wait_until(self, cycle: int) -> None:
        """Return just after rising edge ``cycle - 1`` (``self.cycle == cycle``)."""
        if self.cycle >= cycle:
            return
        event = Event()
        self._waiters.append((cycle, event))
        await event.wait()

    async def cycles(self, n: int) -> None:
        await self.wait_until(self.cycle + n)


class _Agent:
    def __init__(self, counter: CycleCounter):
        self.counter = counter
        counter.add(self)

    def _sample(self, cycle: int) -> None:  # falling edge before rising edge `cycle`
        pass

    def _drive(self, cycle: int, counted: bool) -> None:  # just after an edge; next is `cycle`
        pass


# -- streams ------------------------------------------------------------------------------------

class StreamSource(_Agent):
    """Drives a valid/ready stream: ``valid`` and ``payload`` in, ``ready`` out of the DUT.

    Before each item it holds ``valid`` low for ``gap`` cycles, counted from the cycle after
    the previous handshake (or from reset release): ``gap`` comes from :meth:`send`'s
    argument, else ``gaps(index)`` (a callable of the item's index) or ``gaps[index]``
    (a list), else 0. ``valid`` stays high until the handshake (AXI-style, no retraction).
    ``handshakes`` records ``(payload, cycle)`` of every item transferred.
    """

    def __init__(self, dut, prefix: str, counter: CycleCounter, gaps=None, name: str | None = None):
        super().__init__(counter)
        self.name = name or prefix
        self.valid = signal(dut, prefix, "valid")
        self.ready = signal(dut, prefix, "ready")
        self.payload = signal(dut, prefix, "payload")
        self.gaps = gaps
        self.queue: collections.deque = collections.deque()  # (payload, gap, tag)
        self.handshakes: list[tuple[int, int]] = []
        self.offered: list[int] = []  # cycle at which each item was first offered
        self.tags: list = []
        self._index = 0
        self._current = None  # (payload, gap_left, tag) being offered or waited for
        self._offering = False
        self._idle = Event()
        self._idle.set()
        self._listeners: list[Callable[[int, int], None]] = []
        self._drive_edge = -1
        self.valid.value = 0

    def _gap_for(self, index: int) -> int:
        if self.gaps is None:
            return 0
        if callable(self.gaps):
            return int(self.gaps(index))
        return int(self.gaps[index]) if index < len(self.gaps) else 0

    def send(self, payload: int, gap: int | None = None, tag=None) -> None:
        """Queue an item (non-blocking)."""
        if gap is None:
            gap = self._gap_for(self._index)
        self._index += 1
        self.queue.append((int(payload), int(gap), tag))
        self._idle.clear()

    def send_all(self, payloads: Iterable[int]) -> None:
        for p in payloads:
            self.send(p)

    def on_handshake(self, callback: Callable[[int, int], None]) -> None:
        """Call ``callback(payload, cycle)`` at every handshake (from the clock loop)."""
        self._listeners.append(callback)

    @property
    def busy(self) -> bool:
        return bool(self.queue) or self._current is not None

    async def wait_idle(self) -> None:
        """Wait until every queued item has been transferred."""
        if self.busy:
            await self._idle.wait()

    def _sample(self, cycle: int) -> None:
        if self._offering and _bit(self.ready):
            payload, _, tag = self._current
            self.handshakes.append((payload, cycle))
            self.tags.append(tag)
            self._current = None
            self._offering = False
            for callback in self._listeners:
                callback(payload, cycle)

    def _drive(self, cycle: int, counted: bool) -> None:
        if not counted or self._drive_edge == self.counter.edges:
            return  # (a StreamSequence may already have called this in this drive phase)
        if self._current is None and self.queue:
            self._current = list(self.queue.popleft())
        if self._current is None:
            self.valid.value = 0
            if not self._idle.is_set():
                self._idle.set()
            return
        self._drive_edge = self.counter.edges  # acted: not again in this drive phase
        if self._offering:
            return  # hold valid and payload until the handshake
        if self._current[1] > 0:
            self._current[1] -= 1
            self.valid.value = 0
            return
        self.payload.value = self._current[0]
        self.valid.value = 1
        self._offering = True
        self.offered.append(cycle)


class StreamSink(_Agent):
    """Receives a valid/ready stream: drives ``ready`` from ``ready(cycle) -> bool`` (default
    always ready) and records ``(payload, cycle)`` of every handshake in ``items``."""

    def __init__(self, dut, prefix: str, counter: CycleCounter,
                 ready: Callable[[int], bool] | None = None, name: str | None = None):
        super().__init__(counter)
        self.name = name or prefix
        self.valid = signal(dut, prefix, "valid")
        self.ready = signal(dut, prefix, "ready")
        self.payload = signal(dut, prefix, "payload")
        self.pattern = ready or (lambda cycle: True)
        self.items: list[tuple[int, int]] = []
        self._ready_now = False
        self._listeners: list[Callable[[int, int], None]] = []
        self._count_waiters: list[tuple[int, Event]] = []
        self.ready.value = 0

    def on_handshake(self, callback: Callable[[int, int], None]) -> None:
        self._listeners.append(callback)

    async def wait_count(self, n: int) -> None:
        """Wait until ``n`` items have been received in total."""
        if len(self.items) >= n:
            return
        event = Event()
        self._count_waiters.append((n, event))
        await event.wait()

    def _sample(self, cycle: int) -> None:
        if self._ready_now and _bit(self.valid):
            item = (_int(self.payload), cycle)
            self.items.append(item)
            for callback in self._listeners:
                callback(*item)
            if self._count_waiters:
                still = []
                for n, event in self._count_waiters:
                    (event.set() if len(self.items) >= n else still.append((n, event)))
                self._count_waiters = still

    def _drive(self, cycle: int, counted: bool) -> None:
        ready = bool(self.pattern(cycle)) if counted else False
        if ready != self._ready_now:
            self.ready.value = int(ready)
            self._ready_now = ready


class StreamSequence(_Agent):
    """Offers items on one or more :class:`StreamSource` s strictly one after another: item
    ``k+1`` is queued on its source in the cycle item ``k`` handshakes, so its gap counts
    from ``previous handshake + 1`` even across streams (the driver convention of
    :mod:`spikeforge.sim.cycle`). The first item's reference cycle -- the first cycle this
    agent could drive -- is recorded as ``start_cycle``.

    ``items``: ``(source, payload, gap)`` triples. ``await seq.done()`` waits for the last
    handshake; ``cycles`` holds every item's handshake cycle.
    """

    def __init__(self, counter: CycleCounter, items):
        super().__init__(counter)
        self.items = list(items)
        self.cycles: list[int] = []
        self.start_cycle: int | None = None
        self._next = 0
        self._waiting = False
        self._done = Event()
        for source in {id(src): src for src, _, _ in self.items}.values():
            source.on_handshake(self._handshake)
        if not self.items:
            self._done.set()

    def _handshake(self, payload: int, cycle: int) -> None:
        if self._waiting:
            self._waiting = False
            self.cycles.append(cycle)
            if len(self.cycles) == len(self.items):
                self._done.set()

    def _drive(self, cycle: int, counted: bool) -> None:
        if not counted or self._waiting or self._next >= len(self.items):
            return
        if self.start_cycle is None:
            self.start_cycle = cycle
        source, payload, gap = self.items[self._next]
        self._next += 1
        self._waiting = True
        source.send(payload, gap=gap)
        source._drive(cycle, counted)  # take it now, in this drive phase (order-independent)

    async def done(self) -> None:
        await self._done.wait()


class LevelMonitor(_Agent):
    """Records the cycles at which a 1-bit signal, sampled at rising edges, changes:
    ``changes`` is a list of ``(cycle, value)``; ``value`` is the latest sample."""

    def __init__(self, dut, name: str, counter: CycleCounter):
        super().__init__(counter)
        self.handle = getattr(dut, name)
        self.value: bool | None = None
        self.last_cycle: int | None = None
        self.changes: list[tuple[int, bool]] = []

    def _sample(self, cycle: int) -> None:
        self.last_cycle = cycle
        value = _bit(self.handle)
        if value != self.value:
            self.value = value
            self.changes.append((cycle, value))

    def first_high_since(self, cycle: int) -> int | None:
        """First cycle ``>= cycle`` at which the signal was sampled high (None if not yet)."""
        if self.last_cycle is None or self.last_cycle < cycle:
            return None  # not sampled yet
        level = False
        for c, v in self.changes:
            if c <= cycle:
                level = v
        if level:
            return cycle
        for c, v in self.changes:
            if c > cycle and v:
                return c
        return None


# -- observation ports (valid pulses, no ready) ---------------------------------------------------

class PulseSource(_Agent):
    """Drives a non-stalling observation port ``<prefix>__valid`` with fields
    ``<prefix>__<field>``: each item (a dict of field values) is shown for one cycle, with
    ``valid`` high, after ``gap`` idle cycles counted from the cycle after the previous
    item. ``pulses`` records ``(item, cycle)``."""

    def __init__(self, dut, prefix: str, counter: CycleCounter, fields: Iterable[str]):
        super().__init__(counter)
        self.valid = signal(dut, prefix, "valid")
        self.fields = {name: signal(dut, prefix, name) for name in fields}
        self.queue: collections.deque = collections.deque()  # [item, gap]
        self.pulses: list[tuple[dict, int]] = []
        self._high = None
        self._idle = Event()
        self._idle.set()
        self.valid.value = 0

    def send(self, item: dict, gap: int = 0) -> None:
        self.queue.append([dict(item), int(gap)])
        self._idle.clear()

    async def wait_idle(self) -> None:
        """Wait until every queued item has been shown."""
        if self.queue or self._high is not None:
            await self._idle.wait()

    def _sample(self, cycle: int) -> None:
        if self._high is not None:
            self.pulses.append((self._high, cycle))
            self._high = None
            if not self.queue:
                self._idle.set()

    def _drive(self, cycle: int, counted: bool) -> None:
        if counted and self.queue:
            if self.queue[0][1] > 0:
                self.queue[0][1] -= 1
            else:
                self._high, _ = self.queue.popleft()
                for name, value in self._high.items():
                    self.fields[name].value = int(value)
                self.valid.value = 1
                return
        self.valid.value = 0


class PulseMonitor(_Agent):
    """Records every cycle in which ``<prefix>__valid`` is high: ``items`` holds
    ``(fields, cycle)`` with the ``fields`` read as unsigned integers, or as two's
    complement for those named in ``signed``."""

    def __init__(self, dut, prefix: str, counter: CycleCounter, fields: Iterable[str],
                 signed: Iterable[str] = ()):
        super().__init__(counter)
        self.valid = signal(dut, prefix, "valid")
        self.fields = {name: signal(dut, prefix, name) for name in fields}
        self.signed = set(signed)
        self.items: list[tuple[dict, int]] = []

    def _sample(self, cycle: int) -> None:
        if _bit(self.valid):
            values = {}
            for name, handle in self.fields.items():
                value = _int(handle)
                if name in self.signed and value >> (len(handle) - 1):
                    value -= 1 << len(handle)
                values[name] = value
            self.items.append((values, cycle))


# -- host bus -----------------------------------------------------------------------------------

class HostBus(_Agent):
    """The core's memory-mapped host port.

    A write drives ``w_en`` with ``addr``/``w_data`` for one cycle. A read drives ``r_en``
    with ``addr`` for one cycle and takes ``r_data`` at the first later-or-same cycle with
    ``r_valid`` high (``timeout`` cycles at most). :meth:`read_many` pipelines reads, one
    ``r_en`` per cycle, and takes the results in order from the cycles ``r_valid`` is high
    (for a fixed-latency port). Requests are served one at a time in order; ``log`` records
    ``(kind, addr, data, request_cycle, done_cycle)`` of single reads and writes.
    """

    def __init__(self, dut, prefix: str, counter: CycleCounter, timeout: int = 64):
        super().__init__(counter)
        self.addr = signal(dut, prefix, "addr")
        self.w_en = signal(dut, prefix, "w_en")
        self.w_data = signal(dut, prefix, "w_data")
        self.r_en = signal(dut, prefix, "r_en")
        self.r_data = signal(dut, prefix, "r_data")
        self.r_valid = signal(dut, prefix, "r_valid")
        self.timeout = timeout
        self.requests: collections.deque = collections.deque()
        self.log: list[tuple] = []
        self.reads = 0
        self.writes = 0
        self._active = None
        self._strobe_high = False
        self.w_en.value = 0
        self.r_en.value = 0

    async def write(self, addr: int, data: int) -> None:
        request = {"kind": "w", "addrs": [int(addr)], "data": int(data) & 0xFFFF_FFFF,
                   "event": Event(), "result": []}
        self.requests.append(request)
        await request["event"].wait()

    async def read_many(self, addrs) -> list[int]:
        request = {"kind": "r", "addrs": [int(a) for a in addrs], "event": Event(), "result": []}
        if not request["addrs"]:
            return []
        self.requests.append(request)
        await request["event"].wait()
        if "error" in request:
            raise request["error"]
        return request["result"]

    async def read(self, addr: int) -> int:
        return (await self.read_many([addr]))[0]

    def _finish(self, cycle: int, error: Exception | None = None) -> None:
        request, self._active = self._active, None
        if error is not None:
            request["error"] = error
        if len(request["addrs"]) == 1:
            data = request["data"] if request["kind"] == "w" else (request["result"] or [None])[0]
            self.log.append((request["kind"], request["addrs"][0], data, request["issue"], cycle))
        request["event"].set()

    def _sample(self, cycle: int) -> None:
        request = self._active
        if request is None or request.get("issued", 0) == 0:
            return
        if request["kind"] == "w":
            self.writes += 1
            self._finish(cycle)  # the write happens at this edge
        elif _bit(self.r_valid) and len(request["result"]) < request["issued"]:
            request["result"].append(_int(self.r_data))
            self.reads += 1
            request["last"] = cycle
            if len(request["result"]) == len(request["addrs"]):
                self._finish(cycle)
        elif cycle - request.get("last", request["issue"]) > self.timeout:
            addr = request["addrs"][len(request["result"])]
            self._finish(cycle, TimeoutError(
                f"host read of address {addr:#x}: no r_valid within {self.timeout} cycles "
                f"(cycle {cycle}; the core honours the host port only while idle)"))

    def _drive(self, cycle: int, counted: bool) -> None:
        if self._strobe_high:  # strobes last one cycle unless a burst goes on
            self.w_en.value = 0
            self.r_en.value = 0
            self._strobe_high = False
        if not counted:
            return
        if self._active is None and self.requests:
            self._active = self.requests.popleft()
            self._active["issue"] = cycle
        request = self._active
        if request is None or request.get("issued", 0) >= len(request["addrs"]):
            return
        self.addr.value = request["addrs"][request.get("issued", 0)]
        if request["kind"] == "w":
            self.w_data.value = request["data"]
            self.w_en.value = 1
        else:
            self.r_en.value = 1
        request["issued"] = request.get("issued", 0) + 1
        self._strobe_high = True
