"""Address-event routing: packets, FIFOs, fair merging and table-driven multicast.

Spikes travel between cores as address-event packets on valid/ready streams
(:mod:`amaranth.lib.stream`). A packet names the core that emitted the spike (``source``)
and the neuron index inside that core (``index``). A system is built from four blocks:

* :class:`StreamFIFO` -- a :class:`~amaranth.lib.fifo.SyncFIFOBuffered` with stream ports;
* :class:`RoundRobinArbiter` -- K streams into one, fair round-robin among requesting inputs;
* :class:`SpikeMerger` -- K cores' ``spike_out`` streams (bare neuron indices) into one
  packet stream, tagging each spike with the id of the core it came from;
* :class:`Multicast` / :class:`SpikeRouter` -- one packet stream out to M destinations by a
  routing table fixed at elaboration, optionally translating (source, neuron) into the
  destination core's presynaptic index.

All blocks obey the stream rules: ``valid`` never depends combinationally on ``ready``; once
``valid`` is high it stays high, with ``payload`` unchanged, until the handshake (``valid``
and ``ready`` high at the same clock edge). No block drops or duplicates a packet (except that
:class:`SpikeRouter` consumes a packet whose routing entry is empty and pulses ``unrouted``).
Every block has an ``idle`` output that is high when it holds no packet, so that the tick
controller can tell that no packet of the current tick is in flight.
"""

from __future__ import annotations

from collections.abc import Mapping

from amaranth.hdl import Cat, Module, Shape, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

__all__ = ["SpikePacket", "StreamFIFO", "RoundRobinArbiter", "SpikeMerger", "Multicast",
           "SpikeRouter", "index_bits_for"]


def index_bits_for(count: int) -> int:
    """Width of an unsigned field that numbers ``count`` things (at least 1 bit)."""
    if not isinstance(count, int) or count < 1:
        raise ValueError(f"count: must be a positive integer, got {count!r}")
    return max(1, ceil_log2(count))


def _positive(value, name):
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name}: must be a positive integer, got {value!r}")
    return value


class SpikePacket(data.StructLayout):
    """Layout of an address-event packet.

    Parameters
    ----------
    source_bits : int
        Width of the ``source`` field.
    index_bits : int
        Width of the ``index`` field.

    Fields
    ------
    index : ``unsigned(index_bits)``
        Index of the spiking neuron inside its source core (low bits of the packet).
    source : ``unsigned(source_bits)``
        Id of the core (or input port) that emitted the spike.
    """

    def __init__(self, source_bits: int, index_bits: int):
        self.source_bits = _positive(source_bits, "source_bits")
        self.index_bits = _positive(index_bits, "index_bits")
        super().__init__({"index": unsigned(index_bits), "source": unsigned(source_bits)})

    def pack(self, source: int, index: int) -> int:
        """The integer value of the packet ``(source, index)`` (for testbenches)."""
        return (source << self.index_bits) | index

    def unpack(self, value: int) -> tuple[int, int]:
        """``(source, index)`` of a packet given as an integer."""
        return value >> self.index_bits, value & ((1 << self.index_bits) - 1)


class StreamFIFO(wiring.Component):
    """A first-in first-out queue of stream payloads.

    A :class:`~amaranth.lib.fifo.SyncFIFOBuffered` (block-RAM friendly: the memory is read
    synchronously and ``o.payload`` comes from a register) with stream ports.

    Parameters
    ----------
    shape : shape-castable
        Shape of the payload (e.g. a :class:`SpikePacket`).
    depth : int
        Number of packets the queue holds: ``depth - 1`` in memory plus the output register.
        Full throughput (one packet per cycle in and out) needs ``depth >= 3``; depth 2
        passes a packet every other cycle once the queue backs up, depth 1 (a single
        register) every other cycle always.

    Attributes
    ----------
    i : ``In(stream.Signature(shape))``
        Packets in. ``ready`` is high while the queue is not full.
    o : ``Out(stream.Signature(shape))``
        Packets out, in the order they came in. ``valid`` and ``payload`` come from registers.
    level : ``Out(range(depth + 1))``
        Number of packets held (including the one offered on ``o``).
    idle : ``Out(1)``
        High when the queue is empty (``level == 0``).

    Timing
    ------
    A packet accepted on ``i`` at cycle c is offered on ``o`` from cycle c + 2 if the queue was
    empty (depth >= 2; c + 1 for depth 1), later otherwise.
    """

    def __init__(self, shape, depth: int):
        self._shape = shape
        self.depth = _positive(depth, "depth")
        super().__init__({
            "i": In(stream.Signature(shape)),
            "o": Out(stream.Signature(shape)),
            "level": Out(range(depth + 1)),
            "idle": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        width = Shape.cast(self._shape).width
        m.submodules.fifo = fifo = SyncFIFOBuffered(width=width, depth=self.depth)
        m.d.comb += [
            fifo.w_data.eq(self.i.payload),
            fifo.w_en.eq(self.i.valid),
            self.i.ready.eq(fifo.w_rdy),
            self.o.payload.eq(fifo.r_data),
            self.o.valid.eq(fifo.r_rdy),
            fifo.r_en.eq(self.o.ready),
            self.level.eq(fifo.level),
            self.idle.eq(fifo.level == 0),
        ]
        return m


class RoundRobinArbiter(wiring.Component):
    """Merges K streams into one with fair round-robin arbitration and a registered output.

    In each cycle in which the output register is free (empty, or its packet is taken in that
    cycle) the arbiter grants the first requesting input (``valid`` high) in the order
    ``last + 1, last + 2, ..., last + K`` (mod K), where ``last`` is the input granted most
    recently (``K - 1`` after reset, so input 0 has priority first). The granted input's
    packet is accepted (its ``ready`` is high) and loaded into the output register.

    Fairness: an input that keeps ``valid`` high is granted after at most K - 1 grants to
    other inputs. Nothing is dropped or duplicated; the packets of one input leave in order.

    Parameters
    ----------
    shape : shape-castable
        Shape of the payload.
    n_inputs : int
        Number of input streams K.

    Attributes
    ----------
    i : ``In(stream.Signature(shape)).array(n_inputs)``
        Input streams. ``i[k].ready`` is high only in the cycle in which input k is granted
        (it depends combinationally on the ``valid`` of all inputs and on ``o.ready``).
    o : ``Out(stream.Signature(shape))``
        Merged stream. ``valid`` and ``payload`` come from registers.
    grant : ``Out(range(n_inputs))``
        The input the packet on ``o`` came from. Valid while ``o.valid`` is high.
    idle : ``Out(1)``
        High when the output register holds no packet (``~o.valid``).

    Timing
    ------
    A packet granted at cycle c is offered on ``o`` from cycle c + 1. Throughput: one packet
    per cycle (when ``o.ready`` is high), whichever inputs it comes from.
    """

    def __init__(self, shape, n_inputs: int):
        self._shape = shape
        self.n_inputs = _positive(n_inputs, "n_inputs")
        super().__init__({
            "i": In(stream.Signature(shape)).array(n_inputs),
            "o": Out(stream.Signature(shape)),
            "grant": Out(range(n_inputs)),
            "idle": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        K = self.n_inputs
        last = Signal(range(K), init=K - 1)
        sel = Signal(range(K))
        any_valid = Signal()
        load = Signal()
        m.d.comb += [
            any_valid.eq(Cat(i.valid for i in self.i).any()),
            load.eq((~self.o.valid | self.o.ready) & any_valid),
            self.idle.eq(~self.o.valid),
        ]
        # sel: first valid input after `last`. Statements later in a block win, so the
        # candidates are listed from the lowest priority (last itself) to the highest.
        with m.Switch(last):
            for l in range(K):
                with m.Case(l):
                    for j in range(K, 0, -1):
                        k = (l + j) % K
                        with m.If(self.i[k].valid):
                            m.d.comb += sel.eq(k)
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(load):
            m.d.sync += [self.o.valid.eq(1), last.eq(sel), self.grant.eq(sel)]
            with m.Switch(sel):
                for k in range(K):
                    with m.Case(k):
                        m.d.comb += self.i[k].ready.eq(1)
                        m.d.sync += self.o.payload.eq(self.i[k].payload)
        return m


class SpikeMerger(wiring.Component):
    """Merges the ``spike_out`` streams of K cores into one stream of :class:`SpikePacket`.

    Input k carries bare neuron indices; the merged packet is ``(source_ids[k], index)``.
    Arbitration, latency and throughput are those of :class:`RoundRobinArbiter`.

    Parameters
    ----------
    n_inputs : int
        Number of input streams K.
    index_bits : int
        Width of the neuron indices (a narrower ``spike_out`` is connected field by field,
        not with :func:`wiring.connect`, which needs identical shapes).
    source_bits : int or None
        Width of the packet's ``source`` field (default: enough for ``max(source_ids)``).
    source_ids : sequence of int or None
        The source id stamped on packets of each input (default ``0 .. K-1``).

    Attributes
    ----------
    i : ``In(stream.Signature(unsigned(index_bits))).array(n_inputs)``
        Neuron indices from each core.
    o : ``Out(stream.Signature(SpikePacket(source_bits, index_bits)))``
        Tagged packets.
    idle : ``Out(1)``
        High when no packet is held (``~o.valid``).
    """

    def __init__(self, n_inputs: int, index_bits: int, *, source_bits: int | None = None,
                 source_ids=None):
        self.n_inputs = _positive(n_inputs, "n_inputs")
        if source_ids is None:
            source_ids = list(range(n_inputs))
        source_ids = [int(s) for s in source_ids]
        if len(source_ids) != n_inputs or min(source_ids) < 0:
            raise ValueError(f"source_ids: need {n_inputs} non-negative ids, got {source_ids}")
        if source_bits is None:
            source_bits = index_bits_for(max(source_ids) + 1)
        if max(source_ids) >= 1 << source_bits:
            raise ValueError(f"source_ids: {max(source_ids)} does not fit in source_bits="
                             f"{source_bits}")
        self.source_ids = source_ids
        self.layout = SpikePacket(source_bits, index_bits)
        super().__init__({
            "i": In(stream.Signature(unsigned(index_bits))).array(n_inputs),
            "o": Out(stream.Signature(self.layout)),
            "idle": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.arbiter = arb = RoundRobinArbiter(self.layout, self.n_inputs)
        for k, (src, port) in enumerate(zip(self.source_ids, self.i)):
            m.d.comb += [
                arb.i[k].valid.eq(port.valid),
                arb.i[k].payload.index.eq(port.payload),
                arb.i[k].payload.source.eq(src),
                port.ready.eq(arb.i[k].ready),
            ]
        wiring.connect(m, arb.o, wiring.flipped(self.o))
        m.d.comb += self.idle.eq(arb.idle)
        return m


class Multicast(wiring.Component):
    """Copies each packet of one stream to a set of M output streams.

    The set of destinations of the packet on ``i`` is the bitmask ``dest`` (sampled with the
    packet: it must be stable while ``i.valid`` is high, as the payload is). The packet is
    offered to every destination in the set at once; a register remembers which of them have
    already taken it, so a destination that stalls delays only itself and the next packet,
    and no destination ever receives a packet twice. ``i`` is accepted in the cycle in which
    the last outstanding destination takes it. A packet with an empty set is accepted at once
    and goes nowhere.

    Parameters
    ----------
    shape : shape-castable
        Shape of the payload.
    n_outputs : int
        Number of outputs M.
    withdraw : bool
        False (default): ``i`` is a stream (a packet offered stays until it is taken).
        True: ``i.valid`` may fall before every destination has taken the packet; the
        packet is then withdrawn and forgotten (who took it is cleared with it), so the next
        packet goes to every destination in its set. For the system's input port, whose
        window a first-spike stop closes at once (:func:`spikeforge.ir.system.input_withdrawn`).

    Attributes
    ----------
    i : ``In(stream.Signature(shape))``
        Packets in. ``ready`` depends combinationally on the ``o[d].ready`` (not on
        ``i.valid``): every output in ``dest`` has taken the packet or is ready.
    dest : ``In(n_outputs)``
        Destination mask of the packet on ``i`` (bit d: output d). Valid while ``i.valid``.
    o : ``Out(stream.Signature(shape)).array(n_outputs)``
        Copies. ``o[d].valid`` is ``i.valid & dest[d]`` until output d takes the packet;
        ``o[d].payload`` is ``i.payload``.
    idle : ``Out(1)``
        High when no packet is being distributed (``~i.valid``).

    Timing
    ------
    Combinational (no latency); one packet per cycle when every destination is ready.
    """

    def __init__(self, shape, n_outputs: int, *, withdraw: bool = False):
        self._shape = shape
        self.n_outputs = _positive(n_outputs, "n_outputs")
        if not isinstance(withdraw, bool):
            raise ValueError(f"withdraw: must be True or False, got {withdraw!r}")
        self.withdraw = withdraw
        super().__init__({
            "i": In(stream.Signature(shape)),
            "dest": In(n_outputs),
            "o": Out(stream.Signature(shape)).array(n_outputs),
            "idle": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        M = self.n_outputs
        if M == 1:  # one output takes the packet as i is accepted: wires, no ``done``
            o = self.o[0]
            m.d.comb += [
                o.payload.eq(self.i.payload),
                o.valid.eq(self.i.valid & self.dest[0]),
                self.i.ready.eq(~self.dest[0] | o.ready),
                self.idle.eq(~self.i.valid),
            ]
            return m
        done = Signal(M)  # outputs that have already taken the current packet
        taken = Signal(M)  # outputs that take it in this cycle
        for d, o in enumerate(self.o):
            m.d.comb += [
                o.payload.eq(self.i.payload),
                o.valid.eq(self.i.valid & self.dest[d] & ~done[d]),
                taken[d].eq(o.valid & o.ready),
            ]
        # ready from the outputs' ready alone, not through i.valid (equal to "every output
        # has taken or takes the packet" whenever i.valid is high): a source whose valid
        # depends on ready-like state of its own (the system's input port, the board's
        # register slice) then closes no loop through the multicast: that loop was on the
        # critical path of the board builds (digits on the ECP5: 101.0 -> 110.6 MHz)
        m.d.comb += [
            self.i.ready.eq(Cat(~self.dest[d] | done[d] | o.ready
                                for d, o in enumerate(self.o)).all()),
            self.idle.eq(~self.i.valid),
        ]
        # a packet taken, or (withdraw) one withdrawn, is forgotten
        forget = (~self.i.valid | self.i.ready) if self.withdraw else self.i.valid & self.i.ready
        with m.If(forget):
            m.d.sync += done.eq(0)
        with m.Else():
            m.d.sync += done.eq(done | taken)
        return m


def _normalise_routes(routes, n_sources, n_outputs):
    sources = list(routes) if isinstance(routes, Mapping) else range(len(routes))
    for s in sources:
        if not isinstance(s, int) or not 0 <= s < n_sources:
            raise ValueError(f"routes: source {s!r} is not in 0..{n_sources - 1} (the range of "
                             f"the packet's source field)")
    table = []
    for s in range(n_sources):
        entry = routes.get(s, 0) if isinstance(routes, Mapping) else (
            routes[s] if s < len(routes) else 0)
        if isinstance(entry, int):
            mask = entry
        else:
            mask = 0
            for d in entry:
                if not isinstance(d, int) or not 0 <= d < n_outputs:
                    raise ValueError(f"routes[{s}]: destination {d!r} is not in 0..{n_outputs - 1}")
                mask |= 1 << d
        if not 0 <= mask < 1 << n_outputs:
            raise ValueError(f"routes[{s}]: mask {mask:#x} has bits outside {n_outputs} outputs")
        table.append(mask)
    return table


class SpikeRouter(wiring.Component):
    """Routes :class:`SpikePacket` packets to M destinations by a table fixed at elaboration.

    ``routes[source]`` lists the destinations of every packet from ``source`` (an int
    bitmask, or an iterable of output numbers; a mapping ``{source: ...}`` is accepted too;
    sources not in the table have no destinations). Delivery is a :class:`Multicast`: a packet
    is consumed only when every destination has taken it, each exactly once.

    With ``offsets`` the outputs carry the destination core's presynaptic index instead of
    the packet: output d carries ``index + offsets[(source, d)]`` truncated to
    ``out_index_bits`` (offsets missing from the mapping are 0). A core whose inputs are the
    concatenation of several source layers gets each source's base as its offset.

    Parameters
    ----------
    layout : :class:`SpikePacket`
        Layout of the input packets.
    n_outputs : int
        Number of destinations M.
    routes : sequence or mapping
        The routing table (see above), normally written by the compiler.
    offsets : mapping ``{(source, dest): int}`` or None
        Index translation table; ``None`` forwards packets unchanged.
    out_index_bits : int or None
        Width of the translated index (required with ``offsets``).

    Attributes
    ----------
    i : ``In(stream.Signature(layout))``
        Packets in.
    o : ``Out(stream.Signature(layout or unsigned(out_index_bits))).array(n_outputs)``
        Per-destination streams (packets, or presynaptic indices with ``offsets``).
    unrouted : ``Out(1)``
        Pulses in the cycle a packet with an empty routing entry is consumed (dropped).
    idle : ``Out(1)``
        High when no packet is being distributed (``~i.valid``).

    Timing
    ------
    Combinational; one packet per cycle when every destination is ready.
    """

    def __init__(self, layout: SpikePacket, n_outputs: int, routes, *, offsets=None,
                 out_index_bits: int | None = None):
        if not isinstance(layout, SpikePacket):
            raise TypeError(f"layout: must be a SpikePacket, got {layout!r}")
        self.layout = layout
        self.n_outputs = _positive(n_outputs, "n_outputs")
        self.n_sources = 1 << layout.source_bits
        self.routes = _normalise_routes(routes, self.n_sources, n_outputs)
        if offsets is not None:
            if out_index_bits is None:
                raise ValueError("out_index_bits: required when offsets are given")
            offsets = {(int(s), int(d)): int(off) for (s, d), off in dict(offsets).items()}
            for (s, d), off in offsets.items():
                if not (0 <= s < self.n_sources and 0 <= d < n_outputs and off >= 0):
                    raise ValueError(f"offsets[{(s, d)}] = {off}: source, destination or offset "
                                     f"out of range")
            out_shape = unsigned(_positive(out_index_bits, "out_index_bits"))
        else:
            out_shape = layout
        self.offsets = offsets
        self.out_index_bits = out_index_bits
        super().__init__({
            "i": In(stream.Signature(layout)),
            "o": Out(stream.Signature(out_shape)).array(n_outputs),
            "unrouted": Out(1),
            "idle": Out(1),
        })

    def destinations(self, source: int) -> list[int]:
        """The outputs that receive packets from ``source`` (for testbenches)."""
        return [d for d in range(self.n_outputs) if self.routes[source] >> d & 1]

    def translate(self, source: int, index: int, dest: int):
        """What output ``dest`` carries for packet ``(source, index)`` (for testbenches)."""
        if self.offsets is None:
            return self.layout.pack(source, index)
        return (index + self.offsets.get((source, dest), 0)) & ((1 << self.out_index_bits) - 1)

    def elaborate(self, platform):
        m = Module()
        M = self.n_outputs
        m.submodules.multicast = mc = Multicast(self.layout, M)
        dest = Signal(M)
        with m.Switch(self.i.payload.source):
            for s, mask in enumerate(self.routes):
                if mask:
                    with m.Case(s):
                        m.d.comb += dest.eq(mask)
        m.d.comb += [
            mc.i.valid.eq(self.i.valid),
            mc.i.payload.eq(self.i.payload),
            self.i.ready.eq(mc.i.ready),
            mc.dest.eq(dest),
            self.unrouted.eq(self.i.valid & (dest == 0)),
            self.idle.eq(mc.idle),
        ]
        for d in range(M):
            o, src = self.o[d], mc.o[d]
            m.d.comb += [o.valid.eq(src.valid), src.ready.eq(o.ready)]
            if self.offsets is None:
                m.d.comb += o.payload.eq(src.payload)
            else:
                offset = Signal(self.out_index_bits)
                with m.Switch(src.payload.source):
                    for (s, dd), off in self.offsets.items():
                        if dd == d and off:
                            with m.Case(s):
                                m.d.comb += offset.eq(off)
                m.d.comb += o.payload.eq(src.payload.index + offset)
        return m
