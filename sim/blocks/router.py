"""Cycle models of the routing blocks of :mod:`spikeforge.hdl.router`: the spike merger
(round-robin arbiter with a registered output), the stream FIFO and the multicast / router.

A block's combinational outputs of a cycle are computed from its registers and inputs by a
method that stores them (like signals), and :meth:`clock` applies the clock edge. Packets
are ``(source core, neuron index)`` tuples.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

__all__ = ["MergerModel", "FifoModel", "MulticastModel", "RouterModel", "packets_of"]


def packets_of(payload) -> tuple:
    """The packets of a link's payload: a packet, or a bundle of them
    (:class:`MergerModel`'s ``width``)."""
    return payload if isinstance(payload[0], tuple) else (payload,)


class MergerModel:
    """:class:`~spikeforge.hdl.router.SpikeMerger` (a
    :class:`~spikeforge.hdl.router.RoundRobinArbiter`): K cores' ``spike_out`` into one
    packet stream through one output register.

    In a cycle in which the register is free (empty, or taken in that cycle) the first
    requesting input in the order ``last + 1, ..., last + K`` (``last`` = the input granted
    most recently, ``K - 1`` after reset) is granted: its ``ready`` is high and its spike is
    offered on the output from the next cycle. One packet per cycle; ``idle`` = register empty.

    ``width`` W > 1 (not built: the link of two events a cycle into an output layer, studied
    with :mod:`spikeforge.sim.planned`): up to W requesting inputs are granted in a free
    cycle, the first W in the same order (``last`` = the last of them), and the register
    holds them as one bundle, a tuple of packets in grant order, taken by one handshake.
    """

    def __init__(self, n_inputs: int, width: int = 1):
        if width < 1:
            raise ValueError(f"merger: width must be at least 1, got {width}")
        self.K = n_inputs
        self.width = width
        self.last = n_inputs - 1
        self.o_valid = False
        self.o_payload = None
        self.o_ready = False
        self.grant = None  # the (first) input granted in this cycle
        self.grants = ()  # every input granted in this cycle
        self._granted = ()  # their packets

    @property
    def idle(self) -> bool:
        return not self.o_valid

    @property
    def handshake(self) -> bool:
        return self.o_valid and self.o_ready

    def arbitrate(self, spikes: Sequence[int | None], o_ready: bool) -> None:
        """This cycle's grant (kept in ``grant``, and with ``grants`` every input granted):
        ``spikes[k]`` = input k's neuron index when it is valid, else None; ``o_ready`` =
        the output's ``ready``."""
        self.o_ready = o_ready
        self.grant, self.grants = None, ()
        if self.o_valid and not o_ready:
            return
        granted = []
        for j in range(1, self.K + 1):
            k = (self.last + j) % self.K
            if spikes[k] is not None:
                granted.append(k)
                if len(granted) == self.width:
                    break
        if granted:
            self.grant, self.grants = granted[0], tuple(granted)
            self._granted = tuple((k, spikes[k]) for k in granted)

    def clock(self) -> None:
        if self.handshake:
            self.o_valid = False
        if self.grant is not None:
            self.o_valid, self.last = True, self.grants[-1]
            self.o_payload = self._granted if self.width > 1 else self._granted[0]


class FifoModel:
    """:class:`~spikeforge.hdl.router.StreamFIFO`, i.e. Amaranth's ``SyncFIFOBuffered``:
    ``depth - 1`` memory words (synchronous read) in front of an output register.

    ``i.ready`` = the memory is not full (depth 1: the register is empty); a word is moved
    into the empty (or emptied) output register at the next edge, so a packet written into an
    empty queue at cycle c is offered from c + 2 (depth 1: c + 1). ``idle`` = ``level == 0``.
    """

    def __init__(self, depth: int):
        self.depth = depth
        self.words = deque()  # depth >= 2: the memory
        self.o_valid = False  # SyncFIFOBuffered's r_rdy / r_data
        self.o_payload = None

    @property
    def level(self) -> int:
        return len(self.words) + int(self.o_valid)

    @property
    def idle(self) -> bool:
        return self.level == 0

    @property
    def i_ready(self) -> bool:
        if self.depth == 1:
            return not self.o_valid
        return len(self.words) != self.depth - 1

    @property
    def refilling(self) -> bool:
        """The output register loads a word at the next edge whatever ``o.ready`` is."""
        return bool(self.words) and not self.o_valid

    def clock(self, write: bool, payload, o_ready: bool) -> None:
        if self.depth == 1:
            if write:
                self.o_payload, self.o_valid = payload, True
            elif self.o_valid and o_ready:
                self.o_valid = False
            return
        if self.words and (not self.o_valid or o_ready):
            self.o_payload = self.words.popleft()
            self.o_valid = True
        elif o_ready:
            self.o_valid = False
        if write:
            self.words.append(payload)


class MulticastModel:
    """:class:`~spikeforge.hdl.router.Multicast`: one packet offered to a set of
    destinations at once, combinationally.

    ``o[d].valid`` = ``i.valid`` and d a destination that has not taken the packet yet (a
    register remembers who has); ``i.ready`` = every destination has taken it or is ready
    (so, with ``i.valid``, takes it in this cycle). ``idle`` = not ``i.valid``.
    ``withdraw``: a packet whose ``i.valid`` falls before it is taken is forgotten.
    """

    def __init__(self, n_outputs: int, withdraw: bool = False):
        self.M = n_outputs
        self.withdraw = withdraw
        self.done = set()  # destinations that have taken the current packet
        self.i_valid = False
        self.i_ready = True
        self._nothing = (False,) * n_outputs
        self.o_valid = self._nothing
        self.taken = frozenset()

    @property
    def idle(self) -> bool:
        return not self.i_valid

    @property
    def handshake(self) -> bool:
        return self.i_valid and self.i_ready

    def offer(self, valid: bool, dests, o_ready: Sequence[bool]) -> None:
        """This cycle's packet (``valid``) for ``dests``; ``o_ready[d]`` = destination d's
        ``ready``."""
        self.i_valid = valid
        if not valid:  # the common case, kept cheap
            self.o_valid, self.taken = self._nothing, frozenset()
        else:
            self.o_valid = [d in dests and d not in self.done for d in range(self.M)]
            self.taken = {d for d in range(self.M) if self.o_valid[d] and o_ready[d]}
        self.i_ready = all(d in self.done or o_ready[d] for d in dests)

    def clock(self) -> None:
        if self.handshake or (self.withdraw and not self.i_valid):
            self.done = set()
        else:
            self.done |= self.taken


class RouterModel(MulticastModel):
    """:class:`~spikeforge.hdl.router.SpikeRouter`: a :class:`MulticastModel` whose
    destinations are the routing table's entry for the packet's source core."""

    def __init__(self, table: Sequence, n_outputs: int):
        super().__init__(n_outputs)
        self.table = [set(entry) for entry in table]

    def dests(self, payload) -> set:
        """The destinations of a packet, or of a bundle (a tuple of packets: every
        destination of one of them; each takes the bundle, and the packets routed to it)."""
        if isinstance(payload[0], tuple):
            return set().union(*(self.table[source] for source, _ in payload))
        return self.table[payload[0]]

    def route(self, valid: bool, payload, o_ready: Sequence[bool]) -> None:
        self.offer(valid, self.dests(payload) if valid else (), o_ready)
