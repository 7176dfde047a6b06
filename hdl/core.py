"""The neuron core: a time-multiplexed, event-driven current-based LIF core.

``lanes`` copies of one pipelined update datapath serve all ``n_neurons`` logical neurons of
a core; their state lives in block RAM, ``lanes`` neurons per word, and so do the weights.
The arithmetic is :mod:`spikeforge.sim.contract`, bit for bit; the cycle timing is
:mod:`spikeforge.sim.cycle` (stepping :class:`spikeforge.sim.blocks.core.CoreModel`), cycle
for cycle.
"""

from __future__ import annotations

import enum as py_enum
from types import SimpleNamespace

from amaranth.hdl import C, Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import enum, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from spikeforge.ir.core import CoreConfig
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.params import Reset
from spikeforge.ir.system import LANES_PER_LUT, SPLIT_WORDS, has_lane_groups, weight_stages_fit
from spikeforge.sim.blocks.core import QUEUE_WORDS, UPDATE_STAGES

__all__ = ["Command", "Region", "Param", "HostMap", "HostBusSignature", "NeuronCore",
           "HOST_DATA_BITS", "HOST_REGION_BITS", "OUTREG_ATTRIBUTE",
           "COPY_ATTRIBUTE"]


HOST_DATA_BITS = 32  #: width of ``host.w_data`` / ``host.r_data``
HOST_REGION_BITS = 3  #: width of the region field of a host address


class Command(enum.Enum, shape=1):
    """Payload of the ``command`` stream."""

    TICK = 0  #: run the update phase over all neurons (ends the tick)
    CLEAR = 1  #: zero ``i``, ``v``, ``a``, ``fired`` of every neuron and the overflow flag


class Region(py_enum.IntEnum):
    """The regions of the host address map (the high bits of ``host.addr``)."""

    WEIGHT = 0  #: index ``j * n_neurons + n``: weight from input j to neuron n (signed)
    CURRENT = 1  #: index n: synaptic current ``i`` (signed)
    MEMBRANE = 2  #: index n: membrane potential ``v`` (signed)
    ADAPT = 3  #: index n: threshold adaptation ``a`` (unsigned)
    FIRED = 4  #: index n: the ``fired`` bit
    PARAM = 5  #: index: a :class:`Param` register (unsigned)


class Param(py_enum.IntEnum):
    """Indices of the parameter registers in :attr:`Region.PARAM`."""

    THRESHOLD = 0
    ALPHA = 1
    BETA = 2
    RHO = 3
    ADAPT_STEP = 4


class HostMap:
    """The host address map of a core built from ``config``.

    ``address = (region << index_bits) | index``, ``index_bits`` the width needed for the
    largest index (``n_inputs * n_neurons - 1`` of the weight region, at least 3 bits so
    that every :class:`Param` index fits). ``addr_bits = index_bits + 3``.

    >>> from spikeforge.ir.core import CoreConfig
    >>> m = HostMap(CoreConfig(n_neurons=5, n_inputs=3))
    >>> m.index_bits, m.addr_bits, m.address(Region.MEMBRANE, 4)
    (4, 7, 36)
    """

    def __init__(self, config: CoreConfig):
        self.n_neurons = config.n_neurons
        self.n_inputs = config.n_inputs
        self.index_bits = max(3, ceil_log2(config.n_inputs * config.n_neurons))
        self.addr_bits = self.index_bits + HOST_REGION_BITS

    def depth(self, region: Region) -> int:
        """Number of valid indices of ``region``."""
        region = Region(region)
        if region is Region.WEIGHT:
            return self.n_inputs * self.n_neurons
        if region is Region.PARAM:
            return len(Param)
        return self.n_neurons

    def address(self, region: Region, index: int) -> int:
        """Host address of ``index`` in ``region``; raises ``ValueError`` if out of range."""
        region = Region(region)
        if not 0 <= int(index) < self.depth(region):
            raise ValueError(f"host address: index {index} is outside region {region.name} "
                             f"(0..{self.depth(region) - 1})")
        return (int(region) << self.index_bits) | int(index)

    def weight_address(self, j: int, n: int) -> int:
        """Host address of the weight from input ``j`` to neuron ``n``."""
        if not (0 <= j < self.n_inputs and 0 <= n < self.n_neurons):
            raise ValueError(f"host address: weight [{j}, {n}] is outside "
                             f"[{self.n_inputs}, {self.n_neurons}]")
        return self.address(Region.WEIGHT, j * self.n_neurons + n)

    def as_dict(self) -> dict:
        """A JSON-friendly description of the map (written to ``core.json``)."""
        return {
            "index_bits": self.index_bits,
            "addr_bits": self.addr_bits,
            "data_bits": HOST_DATA_BITS,
            "read_latency": 1,
            "regions": {r.name.lower(): {"region": int(r), "base": int(r) << self.index_bits,
                                         "depth": self.depth(r)} for r in Region},
            "params": {p.name.lower(): int(p) for p in Param},
        }


class HostBusSignature(wiring.Signature):
    """The host bus of a core, from the host's (initiator's) view; the core has ``In(...)``
    of it. The bus carries its address map (as amaranth-soc attaches a ``MemoryMap`` to a
    bus): ``signature.host_map`` says what every address means.

    ``addr``, ``w_en``, ``w_data``, ``r_en`` are driven by the host; ``r_data`` and
    ``r_valid`` by the core.
    """

    def __init__(self, host_map: HostMap):
        if not isinstance(host_map, HostMap):
            raise TypeError(f"host_map: must be a HostMap, got {type(host_map).__name__}")
        self._host_map = host_map
        super().__init__({
            "addr": Out(host_map.addr_bits),
            "w_en": Out(1),
            "w_data": Out(HOST_DATA_BITS),
            "r_en": Out(1),
            "r_data": In(HOST_DATA_BITS),
            "r_valid": In(1),
        })

    @property
    def host_map(self) -> HostMap:
        return self._host_map

    @property
    def addr_bits(self) -> int:
        return self._host_map.addr_bits

    def __eq__(self, other):
        return (isinstance(other, HostBusSignature) and self.members == other.members
                and self.host_map.as_dict() == other.host_map.as_dict())

    def __repr__(self):
        return f"HostBusSignature({self.host_map.n_inputs}x{self.host_map.n_neurons})"


class _Phase(enum.Enum):
    IDLE = 0
    EVENT = 1  # issuing the G weight words of one input event
    UPDATE = 2
    CLEAR = 3


def _index_shape(count: int):
    """Payload shape of an index stream: ``range(count)`` but at least one bit wide, so that
    the Verilog port exists even for ``count == 1``."""
    return unsigned(max(1, ceil_log2(count)))


def const_divmod(m: Module, value, divisor: int, limit: int):
    """``(value // divisor, value % divisor)`` for ``0 <= value < limit`` as combinational
    signals. A power of two is a slice; any other divisor a multiplication by the rounded-up
    reciprocal ``M = ceil(2**s / divisor)``, ``s = b + ceil_log2(divisor)`` with ``b`` bits of
    ``value``: then ``(value * M) >> s`` is exactly the quotient for every ``value < 2**b``
    (the error ``M * divisor - 2**s < divisor <= 2**(s - b)``)."""
    q = Signal(range(max(2, -(-limit // divisor))))
    r = Signal(range(max(2, divisor)))
    if divisor & (divisor - 1) == 0:
        shift = ceil_log2(divisor)
        m.d.comb += [q.eq(value >> shift), r.eq(value[:shift] if shift else 0)]
        return q, r
    b = max(1, ceil_log2(limit))
    s = b + ceil_log2(divisor)
    reciprocal = -(-(1 << s) // divisor)
    m.d.comb += [q.eq((value[:b] * reciprocal) >> s), r.eq(value - q * divisor)]
    return q, r


def _lowest_tree(level):
    """The index carried by the lowest ``(any, index)`` pair of ``level`` whose ``any`` is
    set (0 when none is), as a balanced tree of 2:1 choices, ceil(log2 len(level)) levels:
    halves ``lo``, ``hi`` give ``hi``'s index with a leading 1 when only ``hi`` has a set
    bit, else ``lo``'s with a leading 0."""
    while len(level) > 1:
        if len(level) % 2:
            level.append((C(0, 1), Cat(*[C(0, 1)] * len(level[0][1]))))
        level = [(a_lo | a_hi, Mux(~a_lo & a_hi, Cat(i_hi, C(1, 1)), Cat(i_lo, C(0, 1))))
                 for (a_lo, i_lo), (a_hi, i_hi) in zip(level[::2], level[1::2])]
    return level[0][1]


def _lowest(m: Module, mask, lanes: int):
    """Index of the lowest set bit of ``mask`` (0 when empty) and ``mask`` without it.

    The index is :func:`_lowest_tree` over the lanes, ceil(log2 L) levels (a chain of L
    priority multiplexers was the ECP5 build's critical path with 64 lanes, 12.9 ns, eleven
    LUT levels into ``o_n``)."""
    k = Signal(range(max(2, lanes)))
    m.d.comb += k.eq(_lowest_tree([(mask[lane], Cat()) for lane in range(lanes)]))
    rest = Signal(lanes)
    m.d.comb += rest.eq(mask & (mask - 1))
    return k, rest


#: weight banks whose selected words one register of a banked core's weight read ORs
_BANKS_PER_REGISTER = 4

#: the widest signed operand of a multiplier block of the supported families (ECP5
#: MULT18X18D): a product of a wider state is built of two partial products, each
#: registered straight out of its block, summed a stage later (Yosys splits a wide product
#: over two blocks and adds them behind the blocks' outputs in the same cycle: the 21-bit
#: current of the TTFS 784-600-10 core, s1b_i -> MULT18X18D -> 3.4 ns of routing -> a
#: carry chain -> s2_pi, 10.4 ns in a 144-neuron test design at stop 44)
_PRODUCT_SPLIT_BITS = 18
#: the low partial product's operand (unsigned), narrow enough for either family's block
#: (iCE40 SB_MAC16: 16-bit signed operands)
_PRODUCT_LOW_BITS = 15

def needs_multiplier(factor: int) -> bool:
    """A product by the constant ``factor`` needs a multiplier block: not 0, not a power of
    two (Yosys makes those a constant or a shift)."""
    return factor > 0 and factor & (factor - 1) != 0


#: the attribute that marks a register as a copy that synthesis must not merge with its
#: twins (boards/build.py keeps such flip-flops); copies split a select's fanout
COPY_ATTRIBUTE = "spikeforge_copy"

#: the attribute that marks a register behind a block RAM read port for the block RAM's own
#: output register (boards/outreg.py moves it there in ECP5 builds; nothing else reads it)
OUTREG_ATTRIBUTE = "spikeforge_outreg"


def _two_or_more(mask):
    """``mask`` has two or more bits set (= ``(mask & (mask - 1)).any()``), as a balanced
    tree of (any, two or more) pairs: no carry chain (the subtraction's, 64 bits, and the OR
    behind it were the 64-lane MNIST build's critical path into ``o_more``, 10.0 ns)."""
    level = [(bit, C(0, 1)) for bit in mask]
    while len(level) > 1:
        if len(level) % 2:
            level.append((C(0, 1), C(0, 1)))
        level = [(a | b, m_a | m_b | (a & b))
                 for (a, m_a), (b, m_b) in zip(level[::2], level[1::2])]
    return level[0][1]


def _group_low(bits):
    """Index (2 bits) of the lowest set bit of a group of up to :data:`LANES_PER_LUT` bits,
    0 when none is set: each index bit is one LUT of the group's bits."""
    index = C(0, 2)
    for b in reversed(range(len(bits))):
        index = Mux(bits[b], b, index)
    return index


def _word_groups(lanes: int) -> list[range]:
    """A word's lanes in groups of :data:`LANES_PER_LUT` (the last may be shorter)."""
    return [range(j, min(j + LANES_PER_LUT, lanes))
            for j in range(0, lanes, LANES_PER_LUT)]


def _group_summary(mask, lanes: int):
    """``(any, low)`` of every group of ``mask``: whether it has a set bit, and the index of
    its lowest one (2 bits each) -- what a word of the spike queue carries beside its bits."""
    groups = [Cat(*(mask[b] for b in g)) for g in _word_groups(lanes)]
    return Cat(*(g.any() for g in groups)), Cat(*(_group_low(g) for g in groups))


def _take_lowest(mask, g_any, g_low, lanes: int):
    """The lowest set bit of a word held with its group summary (:func:`_group_summary`):
    ``(index, mask without it, the summary of that, whether that has a bit left)``.

    The index is a tree over the groups' registered ``(any, low)`` pairs, ceil(log2(L / 4))
    levels (the :func:`_lowest` tree over 64 lanes, six levels and the output register's
    multiplexer behind it, was the 64-lane MNIST build's critical path at stop 39, 9.3 ns).
    Only the lowest group changes: ``first`` marks it (its ``any``, no lower group's); its
    bits lose their lowest, its ``any`` becomes "two or more" and its ``low`` the index of
    its second bit -- each a function of the group's four bits and ``first``. A bit is left
    if two groups have one or one group has two: a tree over the groups, not the lanes
    (:func:`_two_or_more` over the 64 lanes was the build's critical path into ``o_more``
    once the index was a tree over the groups, 8.7 ns)."""
    index = _lowest_tree([(g_any[j], g_low.word_select(j, 2)) for j in range(len(g_any))])
    rest, any_next, low_next, twos = [], [], [], []
    for j, g in enumerate(_word_groups(lanes)):
        first = g_any[j] & ~g_any[:j].any() if j else g_any[j]
        bits = [mask[b] for b in g]
        # a bit stays unless it is the group's lowest (no lower bit set) in the first group
        kept = [bits[i] & Cat(*bits[:i]).any() if i else C(0, 1) for i in range(len(bits))]
        rest += [Mux(first, kept[i], bits[i]) for i in range(len(bits))]
        twos.append(_two_or_more(bits))
        any_next.append(Mux(first, twos[-1], g_any[j]))
        low_next.append(Mux(first, _group_low(Cat(*kept)), g_low.word_select(j, 2)))
    more = _two_or_more(g_any) | _or_all(twos)
    return index, Cat(*rest), Cat(*any_next), Cat(*low_next), more


def _early_compare(config: CoreConfig) -> bool:
    """Whether a core compares its membranes with the threshold at S3 (a register) instead
    of S4: cores wider than one LUT without adaptation, so that the spike bits' OR
    (_any_spike) starts from registers (the compare and the OR behind it were the 64-lane
    MNIST build's paths into ``s4_any_*``, 8.5 ns at stop 39)."""
    return config.lanes > LANES_PER_LUT and not config.params.adaptive


def _times(value, k: int):
    """``value * k`` for a constant ``k >= 0`` as shifts and adds. Yosys maps a product by a
    constant that is not a power of two onto a multiplier block, on the ECP5 a MULT18X18D
    whose 3.93 ns were in front of a banked core's event address (``spike_in.payload * G``:
    the critical path of the mnist-l82 build with G = 5, 8.3 ns)."""
    terms = [value << i for i in range(k.bit_length()) if k >> i & 1]
    total = terms[0] if terms else C(0, 1)
    for term in terms[1:]:
        total = total + term
    return total


def _copies(name: str, count: int) -> list[Signal]:
    """``count`` one-bit registers ``name_c0`` ... that synthesis keeps apart
    (:data:`COPY_ATTRIBUTE`)."""
    return [Signal(name=f"{name}_c{g}", attrs={COPY_ATTRIBUTE: 1}) for g in range(count)]


def _any_spike(m: Module, fires, tail: int, last, group: int = LANES_PER_LUT):
    """``spike_mask.any()`` of a core of more lanes than one LUT reads: the OR of registers
    that each hold the OR of up to ``group`` lanes' spike bits, loaded at the edge that
    loads the bits themselves (S4, from ``fires``). The lanes below ``tail`` hold a neuron
    in every word; the others only before the ``last`` word. A 64-input OR of the spike
    bits and the push behind it into the queue's counter were the 64-lane MNIST build's
    critical path (stop 39: s4_spike -> q_at, seven LUT levels, 10.4 ns). Where ``fires``
    come from registers (the early compare) one register takes all lanes' OR (``group``
    = L): the OR of its 16 registers was in front of the push, ``idle`` and ``q_at``."""
    def any_of(lanes, part):
        groups = []
        for j in range(0, len(lanes), group):
            r = Signal(name=f"s4_any_{part}_{j // group}", reset_less=True)
            m.d.sync += r.eq(Cat(*lanes[j:j + group]).any())
            groups.append(r)
        return Cat(*groups).any() if groups else C(0, 1)

    return any_of(fires[:tail], "all") | (~last & any_of(fires[tail:], "pad"))


def _or_all(values):
    """The OR of ``values``, as a balanced tree."""
    while len(values) > 1:
        values = [values[k] | values[k + 1] if k + 1 < len(values) else values[k]
                  for k in range(0, len(values), 2)]
    return values[0]


class NeuronCore(wiring.Component):
    """A time-multiplexed current-based LIF core (arithmetic: :mod:`~spikeforge.sim.contract`)
    with ``L = config.lanes`` parallel lanes and a pipelined update datapath.

    ``config.n_neurons`` (N) neurons share L copies of the datapath: neuron ``n = g*L + k`` is
    lane ``k`` of word ``g`` (``G = ceil(N / L)`` words; the lanes past N of the last word are
    padding, hold zeros and never spike). Neuron state (``i``, ``v``, ``a``, ``fired``) lives
    in four memories of depth G, L lanes wide (one synchronous read port, transparent for
    the write port, and one write port with one enable per lane each); the weights in a
    memory of depth ``n_inputs * G`` whose word ``j*G + g`` packs ``w[j, g*L .. g*L + L-1]``,
    initialised from ``config.weights``. The parameters (threshold, alpha, beta, rho,
    adapt_step) live in registers that reset to ``config.params`` and can be rewritten through
    the host port; widths, reset mode, ``fire_once``, ``adaptive`` and L are fixed at build
    time.

    A tick is: any number of input events on ``spike_in`` (at most ``max_events_per_tick``),
    then a :attr:`Command.TICK` on ``command``, which runs the update phase and emits the
    spiking neurons' indices on ``spike_out`` in ascending order. :attr:`Command.CLEAR`
    starts a new inference.

    Datapath
    --------
    Event: word ``g`` of input j and state word ``g`` are read at one edge, registered at the
    next (P), and ``i + w`` of all L lanes is written at the edge after. A CLEAR writes
    zeros to word ``cnt`` of every state memory at each of its G edges.
    Update, one word per edge, registers per lane: BRAM output (R), its copy (P); ``sat(i)``
    and the multipliers' operands (S0); ``v*beta`` and ``a*rho`` (S1, the registered products,
    and S1b, their copies);
    ``decay(v)``, ``i*alpha``, ``decay(a)``, ``theta = threshold + a`` (S2);
    ``v1 = sat(decay(v) + i)``, ``decay(i)``, ``sat(decay(a) + step)`` (S3);
    ``spike = v1 >= theta`` (and not fired, for ``fire_once``), ``v1 - theta`` (S4); then at
    the write edge only the reset multiplexers and the write of all L lanes. A word with a spiking lane is pushed into a spike queue of
    ``QUEUE_WORDS`` words; an output register emits one index per cycle from it, through a
    skid register. A word is issued only while a registered credit (words in flight + words
    queued) is below ``QUEUE_WORDS`` (a core of fewer words never reaches it, and has no
    credit), and the output register moves on whenever the skid
    register is empty, so ``spike_out.ready`` reaches only the skid register and ``idle``:
    never the queue, the credit, the datapath or a memory enable.

    A core of more lanes than one LUT reads (L > 4) keeps wide reductions behind registers:
    the queue's head word and the output word carry each group of four lanes' ``any`` and
    lowest index (the next index is a tree over the groups); the spike bits' OR and
    ``o_rest.any()`` are registers; the state memories' write selects have a copy per group
    of lanes (``spikeforge_copy``, kept apart by the board build), and where they are not in
    block RAM and G >= 3 each state memory is a memory per group of lanes with read and
    write address registers of its own (:meth:`_split_state`: the same reads and writes);
    without adaptation the threshold compare is at S3 (``v1 >= theta`` as
    ``decay(v) + (i - theta) >= 0``). Same cycles, same Verilog for L <= 4.

    Parameters
    ----------
    config : :class:`~spikeforge.ir.core.CoreConfig`
        Geometry, lanes, neuron parameters, initial weights and the event bound of the core.
    weight_bank_words : int
        0: the weights in one memory. A power of two D: in banks of D words (the last one
        shorter, each in block RAM; one bank where D words hold them all), which read an event's words a cycle ahead into a
        register of their own (``w_out_<b>``, marked for the ECP5 block RAM's output
        register: boards/outreg.py), then into registers of up to four banks' words each
        (zero unless their bank was read), ORed one stage later, so that a block RAM's
        output reaches a flip-flop with no multiplexer in between (Yosys maps an ECP5 or
        iCE40 memory deeper than one block RAM with a multiplexer behind the block RAMs'
        slow clock-to-out). Same timing and results for every D
        (:attr:`SystemConfig.weight_banks <spikeforge.ir.system.SystemConfig>` chooses D).
    full_banks : bool
        With banks: every bank D words deep, the last one too (its words past the weights
        zero and never read), so that Yosys maps it in the same block RAM aspect as the
        others. A short last bank wider than 18 bits goes to the ECP5's 512 x 36 aspect,
        which reads over both ports and keeps no output register (boards/outreg.py), so
        its 5.6 ns clock-to-out stays in the path (stop 76: 88.1 MHz, 103.7 with full
        banks). More block RAMs; the same timing and results
        (:attr:`SystemConfig.full_banks <spikeforge.ir.system.SystemConfig>`).
    lane_copies : bool
        A one-word core of more than :data:`LANES_PER_LUT` lanes selects its write-back
        bypass (``e_again``: the event just before wrote the word this one reads) with a
        register per lane group instead of one register into every lane (stop 76). The
        same timing and results
        (:attr:`SystemConfig.lane_copies <spikeforge.ir.system.SystemConfig>`).
    events_first : bool
        True (default): an event offered beside a command is taken first and
        ``command.ready`` waits for it. False: commands are taken on ``idle`` alone (see
        ``command``), for drivers that never offer both at once (a system's tick controller).
    state_block_ram : bool
        Mark the neuron-state memories ``ram_style = "block"``, so that Yosys puts them in
        block RAM even where it would choose flip-flops or LUT RAM
        (:attr:`SystemConfig.state_memories <spikeforge.ir.system.SystemConfig>`). A
        synthesis attribute only: the same behaviour and cycles.
    weight_stages : int
        k more registers between the weight word ``p_w`` and the accumulators' adders
        (``t_w_0`` ...; the current read beside it, ``t_i_0`` ..., goes through as many):
        an event's words are written back k edges later. The next event reads word g
        G edges after this one's, so with G >= 2 + k words (else a ``ConfigError``) it
        still reads every word in or after the edge of its write-back: the same cycles
        and results for every k (:attr:`SystemConfig.weight_stages
        <spikeforge.ir.system.SystemConfig>`, which says what a build measured).
    sum_stage : bool
        A register behind the accumulators' adders (``s_sum``): the event's sums are
        written back from it, one edge later, as if ``weight_stages`` were one more (G >=
        3 + k words, else a ``ConfigError``): the same cycles and results
        (:attr:`SystemConfig.sum_stage <spikeforge.ir.system.SystemConfig>`).
    double_buffer : bool
        Two event buffers beside the current memory (``mem_x0``, ``mem_x1``: L lanes of the
        accumulator's width, the same kind of memory, a memory per lane group where the state
        memories are split: :meth:`_split_state`), which then holds the decayed current
        alone: a tick's events add their weights into the buffer ``ev_buf`` names, and its
        TICK flips ``ev_buf``. The update of tick t reads ``i`` plus the other buffer (added
        in front of S0's saturation), writes the decayed current into ``i`` and a zero into
        that buffer, while an event engine of its own (``ev_on``, ``ecnt``) takes the
        events of tick t + 1 into ``ev_buf``'s buffer; each write-back carries its buffer
        through the transport stages (a TICK may come before it). Every memory keeps one
        read and one write port. The host reads ``i`` as the current plus both buffers
        and a write of ``i`` zeroes them: the same values as without. ``spike_in.ready``
        is the event engine's (free, or at an event's last word) in every phase but
        CLEAR; ``idle`` needs both engines idle. Needs ``weight_stages`` + ``sum_stage``
        below S (a write-back of an event before the TICK lands before the update's first
        zero into its buffer), else a ``ConfigError``
        (:attr:`SystemConfig.double_buffer <spikeforge.ir.system.SystemConfig>`).
    tile_stage : bool
        The lane groups a cycle behind the control (a core of lane groups, single-buffered,
        its state in LUT RAM: :func:`~spikeforge.ir.system.has_lane_groups`, else a
        ``ConfigError``). Every group reads, updates and writes its words an edge after the
        control would without the stage: the groups' read and write address registers are
        loaded from one register each (``<name>_raddr_t``, ``s_waddr_t``), their copies of
        the write selects from the control's own registers a cycle late, and each group
        registers its event weights (``t_w_g<g>``). So no path from the control's logic
        ends in a group: each starts at a register with only a route behind it (the
        ECP5's MNIST-fast and TTFS 784-600-10 builds were held by such paths across the
        die, stops 51-72). The control takes the spikes at the groups' write edge:
        the update phase is a stage longer (S + 1); events and CLEAR keep their cycles;
        host reads answer a cycle later (latency 2) and the host is kept out a cycle
        longer after an event and in the first idle cycle after a CLEAR, whose last word
        the groups write then (:attr:`SystemConfig.tile_stage
        <spikeforge.ir.system.SystemConfig>`).

    Attributes
    ----------
    spike_in : ``In(stream.Signature(unsigned(max(1, ceil_log2(n_inputs)))))``
        Input spike events. ``payload`` is the presynaptic index j. Accepting event j adds
        ``w[j, n] * 2**weight_shift`` to the accumulator ``i`` of every neuron n (the shift
        is wiring: zeros below the stored weight), reading only the G weight
        words of input j. ``ready`` is high between phases (no event issue, update or
        clear in progress; the spike queue and ``spike_out`` may still be draining: events
        touch neither) and in the cycle in which an event reads its last word: events
        then follow each other every G cycles (with G = 1 in every cycle); with
        ``double_buffer`` also while an update runs (see there). A payload
        ``>= n_inputs`` is a driver error (undefined result).
    command : ``In(stream.Signature(Command))``
        :attr:`Command.TICK` or :attr:`Command.CLEAR`. ``ready`` is high when ``idle`` is
        high and ``spike_in.valid`` is low (a pending event is accepted first; a well-behaved
        driver never offers both at once). With ``events_first=False`` ``ready`` is
        ``idle`` alone and a command offered beside an event is taken instead of it (the
        event's handshake still happens: it is lost): for a driver that never offers both at
        once, as the :class:`~spikeforge.hdl.tick.TickController` of a system, which offers
        commands only when every core and link is quiet. ``spike_in.valid`` then reaches no
        command path (it was the iCE40 system builds' critical path).
    spike_out : ``Out(stream.Signature(unsigned(max(1, ceil_log2(n_neurons)))))``
        Output spike events of the update phase: ``payload`` is the neuron index, in
        ascending order. Honours backpressure (the spike queue and the issue credit hold the
        pipeline back); nothing is dropped or duplicated. ``valid`` and ``payload`` come
        from two registers: the skid register's spike if it holds one (it took the output
        register's spike in a stalled cycle), else the output register's.
    idle : ``Out(1)``
        High when no event issue, update or clear is in progress and the spike queue and
        ``spike_out`` are drained: the core is between phases. The first cycle with ``idle``
        high after a TICK ends that tick.
    overflow : ``Out(1)``
        Sticky: more than ``max_events_per_tick`` events were accepted since the last TICK
        or CLEAR (a contract violation; the accumulators may have wrapped). Set from the
        cycle after the offending handshake; cleared by CLEAR.
    host : ``In(HostBusSignature(host_map))``
        Memory-mapped access to weights, state and parameters (see :class:`HostMap`,
        :meth:`host_address`; one neuron or weight per address, whatever L). Honoured
        **only while** ``idle`` **is high and no event write-back is pending** (not in
        the 2 + ``weight_stages`` (+ 1 with ``sum_stage``, + 1 with ``tile_stage``) cycles
        after ``idle`` rises at the end of an event, nor, with ``tile_stage``, in the first
        cycle after a CLEAR);
        ignored otherwise
        (no write happens, ``r_valid`` stays low). A write with ``w_en`` high takes effect at
        the clock edge (one lane of one word: the other lanes keep their values); writes to
        an index past the end of its region are dropped. A read with ``r_en`` high in cycle
        c returns ``r_data`` with ``r_valid`` high in cycle c + 1 (fixed latency 1; 2 with
        ``tile_stage``, whose state reads see the writes of cycle c + 1 too). Signed
        fields (weight, ``i``, ``v``) are read sign-extended to 32 bits (``i`` truncated to
        its low 32 bits if the accumulator is wider) and written from the low bits of
        ``w_data``; unsigned fields are read zero-extended and written from the low bits. A
        read and a write of the same location in the same cycle reads the old weight, or
        the new state (the state read ports are transparent). Reads
        past the end of a region return unspecified data, and so does a weight read in
        the cycle an event is accepted in a core with weight banks (``weight_bank_words``:
        the banks read the event's first word then; a system never reads weights).

    Reset (``rst``, synchronous) returns the control logic to idle, empties the pipeline,
    the spike queue and the output register, clears ``overflow`` and restores the parameter
    registers to ``config.params``; it does not touch the memories (weights and state keep
    their contents; the state memories power up zeroed). Issue CLEAR after a reset to start
    a new inference.

    Timing
    ------
    Cycle c is the c-th rising clock edge after reset; a handshake "at cycle c" has
    ``valid`` and ``ready`` both high when sampled at edge c. The exact timing is the
    register-level model :class:`spikeforge.sim.blocks.core.CoreModel` (driven by
    :func:`spikeforge.sim.cycle.predict_tick`). With G = ``ceil(N / L)``, S =
    ``UPDATE_STAGES`` (8), Q = ``QUEUE_WORDS`` (10):

    * **Event**: accepted at cycle h, the words are read at edges h + 1 .. h + G and
      written back at h + 3 + k .. h + G + 2 + k (k = ``weight_stages``, one more with
      ``sum_stage``; at most G - 2 where k > 0). The next event can be accepted at cycle h + G
      (``cycles_per_event = G``): with G >= 2 its word g is read at h + G + 1 + g, in or
      after the edge that writes the previous event's word g (a read of a word in the edge
      it is written sees the new value); with G = 1 its one word is read an edge before
      the previous event's write-back, which is forwarded to its sum instead. A command
      is accepted from cycle h + G + 1 (``idle``).
    * **Update phase**: TICK accepted at cycle T. Word g is read at the g-th edge from
      T + 1 at which the credit is below Q (T + 1 + g without throttling) and written S
      edges later, where its spiking lanes are pushed into the queue. The output register
      takes the next spike (next lane of its word, else the queue's head word, popped) at an
      edge where it is empty or the skid register is; its spike goes to the skid register
      at an edge where ``spike_out`` stalls and the skid register is empty. A word pushed at
      edge X is popped at X + 1 at the earliest, so the first spike, neuron n, handshakes at
      T + n//L + S + 3 at the earliest. ``idle`` is high again from the first cycle after
      word G - 1's write edge with the queue, the output and the skid register empty:
      T + G + S + 1 for a silent tick. ``spike_in.ready`` is high from the first cycle
      after word G - 1's write edge, whatever the queue still holds.
    * **Clear**: CLEAR accepted at cycle h, ``idle`` again from cycle h + G + 1.
    * **Double-buffered** (``double_buffer``): events are timed as above in any phase but
      CLEAR, beside an update (its own timing unchanged); ``idle`` from the first cycle
      with both the update (as above) and the event engine done. The exact timing is
      :class:`~spikeforge.sim.blocks.core.DoubleBufferedCoreModel`
      (:func:`~spikeforge.sim.cycle.predict_stream`); with events only while idle, every
      cycle is the single-buffered core's.
    * **Tile stage** (``tile_stage``): as above with S + 1 for S in the update phase.
    * **Host**: no effect on timing (only honoured while idle).
    """

    def __init__(self, config: CoreConfig, *, weight_bank_words: int = 0,
                 full_banks: bool = False, lane_copies: bool = False,
                 events_first: bool = True, state_block_ram: bool = False,
                 weight_stages: int = 0, sum_stage: bool = False,
                 double_buffer: bool = False, tile_stage: bool = False):
        if not isinstance(config, CoreConfig):
            raise ConfigError(f"config: must be a CoreConfig, got {type(config).__name__}")
        if (not isinstance(weight_bank_words, int) or weight_bank_words < 0
                or weight_bank_words & (weight_bank_words - 1)):
            raise ConfigError(f"weight_bank_words: must be 0 or a power of two, got "
                              f"{weight_bank_words!r}")
        if not isinstance(full_banks, bool):
            raise ConfigError(f"full_banks: must be True or False, got {full_banks!r}")
        if full_banks and not weight_bank_words:
            raise ConfigError("full_banks: needs weight banks (weight_bank_words > 0)")
        if not isinstance(lane_copies, bool):
            raise ConfigError(f"lane_copies: must be True or False, got {lane_copies!r}")
        if not isinstance(events_first, bool):
            raise ConfigError(f"events_first: must be True or False, got {events_first!r}")
        if not isinstance(state_block_ram, bool):
            raise ConfigError(f"state_block_ram: must be True or False, got "
                              f"{state_block_ram!r}")
        if not isinstance(weight_stages, int) or isinstance(weight_stages, bool) \
                or weight_stages < 0:
            raise ConfigError(f"weight_stages: must be an integer >= 0, got {weight_stages!r}")
        if not isinstance(sum_stage, bool):
            raise ConfigError(f"sum_stage: must be True or False, got {sum_stage!r}")
        if not isinstance(double_buffer, bool):
            raise ConfigError(f"double_buffer: must be True or False, got {double_buffer!r}")
        if not isinstance(tile_stage, bool):
            raise ConfigError(f"tile_stage: must be True or False, got {tile_stage!r}")
        if tile_stage and (state_block_ram or not has_lane_groups(config.lanes, config.words)):
            raise ConfigError(f"tile_stage: needs lane groups, a core of more than "
                              f"{LANES_PER_LUT} lanes and at least {SPLIT_WORDS} words with its "
                              f"state in LUT RAM; this one has {config.lanes} lanes and "
                              f"{config.words} word{'s' if config.words != 1 else ''}"
                              + (", its state in block RAM" if state_block_ram else ""))
        if tile_stage and double_buffer:
            raise ConfigError("tile_stage: not with double_buffer (a double-buffered core has "
                              "no tile stage yet)")
        if double_buffer and weight_stages + sum_stage >= UPDATE_STAGES:
            # an event taken before a TICK writes its buffer back up to k + 1 edges after
            # the TICK; the update's first zero-write of that buffer is S edges after it
            raise ConfigError(f"double_buffer: needs weight_stages + sum_stage below "
                              f"{UPDATE_STAGES}, got {weight_stages} + {int(sum_stage)}")
        has = (f"this one has {config.words} ({config.n_neurons} neurons in {config.lanes} "
               f"lanes): its next event would read a word before it is written back")
        if not weight_stages_fit(config.words, weight_stages):
            raise ConfigError(f"weight_stages: {weight_stages} needs a core of at least "
                              f"{2 + weight_stages} words, {has}")
        if sum_stage and not weight_stages_fit(config.words, weight_stages + 1):
            raise ConfigError(f"sum_stage: behind {weight_stages} weight stages needs a core "
                              f"of at least {3 + weight_stages} words, {has}")
        self.config = config
        self.weight_stages = weight_stages
        self.sum_stage = sum_stage
        self.double_buffer = double_buffer
        self.tile_stage = tile_stage
        self.events_first = events_first
        self.state_block_ram = state_block_ram
        # banks wherever asked for, one where one holds the memory: the bank's read ahead
        # into a register of its own gives the route from the block RAM a cycle (the
        # one-memory core's p_w right behind a DP16KD in its 36-bit mode, whose output
        # register the board build cannot use, was the 64-lane MNIST build's critical path)
        self.weight_bank_words = weight_bank_words
        self.full_banks = full_banks
        self.lane_copies = lane_copies
        self.host_map = HostMap(config)
        super().__init__({
            "spike_in": In(stream.Signature(_index_shape(config.n_inputs))),
            "command": In(stream.Signature(Command)),
            "spike_out": Out(stream.Signature(_index_shape(config.n_neurons))),
            "idle": Out(1),
            "overflow": Out(1),
            "host": In(HostBusSignature(self.host_map)),
        })

    def host_address(self, region: Region, index: int) -> int:
        """Host address of ``index`` in ``region`` (see :class:`HostMap`)."""
        return self.host_map.address(region, index)

    def packed_weights(self) -> list[int]:
        """The initial weight memory: word ``j*G + g`` = lanes ``w[j, g*L + k]`` (k = 0 in the
        low bits), padding lanes zero."""
        cfg = self.config
        L, G, wb = cfg.lanes, cfg.words, cfg.params.weight_bits
        mask = (1 << wb) - 1
        packed = []
        for j in range(cfg.n_inputs):
            for g in range(G):
                lanes = cfg.weights[j, g * L:(g + 1) * L]
                packed.append(sum((int(w) & mask) << (k * wb) for k, w in enumerate(lanes)))
        return packed

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        p = cfg.params
        N, J, L, G = cfg.n_neurons, cfg.n_inputs, cfg.lanes, cfg.words
        acc, mb, ab, wb = cfg.accumulator_bits, p.membrane_bits, p.adapt_bits, p.weight_bits
        lane_bits = {"i": acc, "v": mb, "a": ab, "f": 1}

        # -- memories: L lanes per word, one enable per lane ---------------------------------
        # (the one-memory core is elaborated exactly as before banks existed, in the same
        # order, so that its Verilog -- and the mutation campaign's site ids -- stay the same)
        if self.weight_bank_words:
            rp_w, wp_w, p_w = self._weight_banks(m)
        else:
            m.submodules.mem_w = mem_w = Memory(shape=unsigned(L * wb), depth=J * G,
                                                init=self.packed_weights())
        mems, wps, rps = {}, {}, {}
        # a synthesis attribute only (SystemConfig.state_memories): no behaviour changes
        attrs = {"ram_style": "block"} if self.state_block_ram else None
        # wider than one LUT, in LUT RAM, at least SPLIT_WORDS deep: a memory per group of
        # lanes (_split_state)
        split = has_lane_groups(L, G) and not self.state_block_ram
        for name, bits in lane_bits.items():
            if split:
                wps[name], rps[name] = self._split_state(m, name, bits)
                continue
            m.submodules[f"mem_{name}"] = mems[name] = Memory(shape=unsigned(L * bits),
                                                              depth=G, init=[], attrs=attrs)
            wps[name] = mems[name].write_port(granularity=bits)
            rps[name] = mems[name].read_port(transparent_for=(wps[name],))
        if not self.weight_bank_words:
            wp_w = mem_w.write_port(granularity=wb)
            rp_w = mem_w.read_port()
        db = self.double_buffer
        xs = []  # double_buffer: the event buffers x0, x1, as (write port, read port)
        for b in range(2 if db else 0):
            if split:
                # as the state memories, a memory per lane group: with one memory the
                # read address register reached every lane's LUT RAM of the buffer across
                # the die, the double-buffered TTFS 784-600-10 build's critical path (stop
                # 60: 67.8 MHz, 13.85 of 14.74 ns routing, core 0_2's x1)
                xs.append(self._split_state(m, f"x{b}", acc))
                continue
            m.submodules[f"mem_x{b}"] = mem = Memory(shape=unsigned(L * acc), depth=G, init=[],
                                                     attrs=attrs)
            wp = mem.write_port(granularity=acc)
            xs.append((wp, mem.read_port(transparent_for=(wp,))))

        def lanes_of(data, bits, signed_=False):
            out = [data.word_select(k, bits) for k in range(L)]
            return [x.as_signed() for x in out] if signed_ else out

        # -- parameter registers -------------------------------------------------------------
        F = p.decay_bits
        thr = Signal(unsigned(mb - 1), init=p.threshold)
        alpha = Signal(unsigned(F + 1), init=p.alpha)
        beta = Signal(unsigned(F + 1), init=p.beta)
        rho = Signal(unsigned(F + 1), init=p.rho)
        step = Signal(unsigned(ab), init=p.adapt_step)
        params = {Param.THRESHOLD: thr, Param.ALPHA: alpha, Param.BETA: beta, Param.RHO: rho,
                  Param.ADAPT_STEP: step}

        # -- control -------------------------------------------------------------------------
        phase = Signal(_Phase)
        # phase == CLEAR, a register of its own (set and cleared with phase): it selects the
        # state memories' write address, which reaches every LUT RAM of a many-lane core,
        # and a decode of phase in front of that select was the critical path of the
        # 64-lane MNIST-fast build on the ECP5 at stop 27 (84.7 MHz: phase -> 4 LUTs -> the
        # LUT RAMs' write address, 10.3 of its 11.8 ns routing)
        clearing = Signal()
        # the state memories' write data select among CLEAR's zeros, the update's words, the
        # event write-back (current) and the host: in a core wider than one LUT each group
        # of lanes has its own copies of the selects (clearing, written, e_p), loaded beside
        # them (the 64-lane MNIST build's write data hung on one LUT of clearing and written
        # with a fanout of 2,304: 9.1 ns into the LUT RAMs at stop 39)
        n_copies = len(_word_groups(L)) if L > LANES_PER_LUT else 0
        copy = {name: _copies(name, n_copies) for name in ("clearing", "written", "e_p")}
        cnt = Signal(range(G + 1))  # word issue counter
        if db:
            # the event engine, beside the phases: on while it reads an event's words
            # (ecnt: the next one); ev_buf: the buffer this tick's events go to
            ev_on, ecnt, ev_buf = Signal(), Signal(range(G + 1)), Signal()
        w_addr = Signal(range(max(2, J * G)))  # weight word of the event being read
        ev_count = Signal(range(cfg.max_events_per_tick + 1))
        overflow = Signal()
        # event write-back pipeline: R (read data), P (registered), write
        e_r, e_r_g = Signal(), Signal(range(max(2, G)))
        e_p = Signal()
        # update pipeline valid bits (R, P, S0, S1, S1b, S2, S3, S4) and the word at the write edge
        u_valid = Signal(UPDATE_STAGES)
        w_g = Signal(range(max(2, G)))
        w_base = Signal(range(G * L + 1))  # w_g * L
        # spike queue, credit, output register
        Q = QUEUE_WORDS
        # entry 0 is the head (a shift register: no read multiplexer on the output path)
        q_mask = [Signal(L, name=f"q_mask_{e}") for e in range(Q)]
        q_base = [Signal(range(G * L + 1), name=f"q_base_{e}") for e in range(Q)]
        # q_at[e]: the queue holds e words (one-hot: the pop and the entries' write enables
        # read single register bits; stop 26: decoding a counter q_n there was the iCE40
        # build's critical path, 24 ns)
        q_at = Signal(Q + 1, init=1)
        credit = Signal(range(Q + 1))
        o_valid = Signal()
        o_n = Signal.like(self.spike_out.payload)
        # skid register behind the output register: holds o's spike when spike_out stalls
        s_valid = Signal()
        s_n = Signal.like(self.spike_out.payload)
        o_base = Signal(range(G * L + 1))
        o_rest = Signal(L)
        # o_rest.any(), a register of its own loaded with o_rest (below), so the pop reads
        # four register bits (o_valid, s_valid, o_more, q_at[0]): one LUT. The reduction
        # and the pop behind it into every queue entry's enable were the 64-lane MNIST
        # build's critical path (stop 39: o_rest -> pop -> q_mask_4's enable, six LUT
        # levels, 10.3 ns), and with two lanes the iCE40 TTFS demo's (stop 53: the pop
        # three LUT levels deep, then the queue's enables and data, 21.4 ns)
        o_more = Signal(name="o_more") if L > 1 else C(0, 1)

        # idle = phase IDLE, queue, output and skid registers empty; kept as a register (its next
        # value is computed below) so that the streams' ready and the host gating start
        # from a flip-flop
        idle = Signal(init=1)
        # spike_in.ready: between phases (the queue and output registers may still hold
        # spikes: events use neither, and the update that filled them has written its last
        # word), or an event reading its last word -- a register too
        in_ready = Signal(init=1)
        m.d.comb += [
            self.idle.eq(idle),
            self.overflow.eq(overflow),
            self.spike_in.ready.eq(in_ready),
            self.command.ready.eq(idle & ~self.spike_in.valid if self.events_first else idle),
            self.spike_out.valid.eq(o_valid | s_valid),
            self.spike_out.payload.eq(Mux(s_valid, s_n, o_n)),
        ]
        ev_accept = self.spike_in.valid & self.spike_in.ready
        cmd_accept = self.command.valid & self.command.ready
        take_clear = cmd_accept & (self.command.payload == Command.CLEAR)
        # an event taken: a command taken beside it wins unless events come first
        took = ev_accept if self.events_first else ev_accept & ~cmd_accept

        # -- P stage: every read port's data, registered (off the BRAM's clock-to-out) -------
        # data registers have no reset: a reset multiplexer would sit behind the BRAM's
        # clock-to-out, the slowest part of the path (5.8 ns on the ECP5)
        if not self.weight_bank_words:
            p_w = Signal(L * wb, reset_less=True)
        p_data = {name: Signal(L * bits, name=f"p_{name}", reset_less=True)
                  for name, bits in lane_bits.items()}
        if not self.weight_bank_words:
            m.d.sync += p_w.eq(rp_w.data)
        for name in lane_bits:
            m.d.sync += p_data[name].eq(rps[name].data)
        m.d.sync += [e_p.eq(e_r), e_r.eq(0)]
        p_x = [Signal(L * acc, name=f"p_x{b}", reset_less=True) for b in range(len(xs))]
        for px, (_, rp) in zip(p_x, xs):
            m.d.sync += px.eq(rp.data)
        if db:
            # each event's buffer, beside its word e_r_g (the TICK that flips ev_buf may
            # come while its write-back is still in the pipeline)
            # p_b: one register, or wider than a LUT a copy per lane group, each selecting
            # its lanes' buffer: one p_b's select of every lane's buffer word, the adders
            # and the buffers' write data behind it, was the double-buffered TTFS
            # 784-600-10 build's critical path once the buffers were split (stop 61: 70.1
            # MHz, 12.0 of 14.3 ns routing)
            e_r_b = Signal(name="e_r_b")
            p_bs = _copies("p_b", n_copies) if n_copies else [Signal(name="p_b")]
            for c in p_bs:
                m.d.sync += c.eq(e_r_b)
        # -- weight transport stages: the word and the current it is added to, registered
        # weight_stages more times, the write-back as many edges later (e_t, e_t_g) --------
        e_wb, w_wb, i_wb, e_g_ahead, pending = e_p, p_w, p_data["i"], e_r_g, [e_r]
        if db:
            if n_copies:
                part = [slice(g.start * acc, g.stop * acc) for g in _word_groups(L)]
                i_wb = Cat(*(Mux(c, p_x[1][bits], p_x[0][bits]) for c, bits in zip(p_bs, part)))
            else:
                i_wb = Mux(p_bs[0], p_x[1], p_x[0])
            e_b_ahead = e_r_b
        for t in range(self.weight_stages):
            e_t = Signal(name=f"e_t{t}")
            e_t_g = Signal(range(max(2, G)), name=f"e_t{t}_g")
            t_w = Signal(L * wb, name=f"t_w_{t}", reset_less=True)
            t_i = Signal(L * acc, name=f"t_i_{t}", reset_less=True)
            m.d.sync += [e_t.eq(e_wb), e_t_g.eq(e_g_ahead), t_w.eq(w_wb), t_i.eq(i_wb)]
            if db:
                e_t_b = Signal(name=f"e_t{t}_b")
                m.d.sync += e_t_b.eq(e_b_ahead)
                e_b_ahead = e_t_b
            pending.append(e_wb)
            e_wb, w_wb, i_wb, e_g_ahead = e_t, t_w, t_i, e_t_g
        # (loops, not comprehensions: a comprehension would capture e_r, u_valid, ... in a
        # closure, and Amaranth's naming of `e_r, e_r_g = ...` from the bytecode fails then)
        if self.sum_stage:
            # the sums registered (s_sum, below) and written back an edge later: one more
            # stage of the event's flag and word
            e_s, e_s_g = Signal(name="e_s"), Signal(range(max(2, G)), name="e_s_g")
            m.d.sync += [e_s.eq(e_wb), e_s_g.eq(e_g_ahead)]
            if db:
                e_s_b = Signal(name="e_s_b")
                m.d.sync += e_s_b.eq(e_b_ahead)
                e_b_ahead = e_s_b
            pending.append(e_wb)
            e_wb, e_g_ahead = e_s, e_s_g
        if self.tile_stage:
            # the groups write back a cycle after the control's write-back stage (they read
            # a cycle behind it); the write address (s_waddr_t, below) and the groups' copies
            # follow the control's stage, a register behind it
            e_tile = Signal(name="e_tile")
            m.d.sync += e_tile.eq(e_wb)
            pending.append(e_wb)
            e_wb = e_tile
        for c in copy["e_p"]:  # loaded beside the stage that writes back
            m.d.sync += c.eq(pending[-1])

        # -- host port (only while idle and the write-back is done); writes first: the
        # datapath's writes below override them ---------------------------------------------
        host_ok = Signal(init=1)  # a register: idle & ~e_r & ~e_p (next value below)
        h_addr = self._host_decode(m)
        host_writes, host_state_write = self._host_writes(m, host_ok, h_addr, wp_w, wps,
                                                          params)

        # -- event write-back (from P, the last transport stage or the sum stage); a CLEAR's
        # writes below take precedence: every word it overrides is zeroed by the CLEAR
        # itself in a later cycle ----------------------------------------------------------
        if G == 1:
            # one word: events follow each other every cycle, and each reads the word an
            # edge before the write-back of the event just before it (two edges behind its
            # read), so where a write-back was in the cycle before (only that event's can
            # be: the next one reads in or after the edge of every earlier write-back) its
            # sum, kept in e_sum, stands for the word read
            if self.lane_copies and L > LANES_PER_LUT:
                # its select a register per lane group: one register into every lane's
                # select was the ECP5 784-64-10 build's limit (stop 76: e_again into ten
                # lanes' adders, 4.7 ns of routing)
                e_sum = Signal(L * acc, name="e_sum", reset_less=True)
                groups = _word_groups(L)
                again = _copies("e_again", len(groups))
                m.d.sync += [c.eq(e_wb) for c in again]
                i_wb = Cat(*(Mux(c, e_sum[g.start * acc:g.stop * acc],
                                 i_wb[g.start * acc:g.stop * acc])
                             for c, g in zip(again, groups)))
            else:
                e_again = Signal(name="e_again")
                e_sum = Signal(L * acc, name="e_sum", reset_less=True)
                m.d.sync += e_again.eq(e_wb)
                i_wb = Mux(e_again, e_sum, i_wb)
        if self.tile_stage:
            # each group's weights, a register of its own: its adders take them a cycle
            # after the control's stage, beside the current its memory read a cycle late
            tw = []
            for g, group in enumerate(_word_groups(L)):
                tw.append(Signal(len(group) * wb, name=f"t_w_g{g}", reset_less=True))
                m.d.sync += tw[-1].eq(w_wb[group.start * wb:group.stop * wb])
            w_wb = Cat(*tw)
        added = lanes_of(w_wb, wb, True)
        if p.weight_shift:  # the contract adds w * 2**weight_shift: zeros below the weight
            added = [w.shift_left(p.weight_shift) for w in added]
        sums = [i + w for i, w in zip(lanes_of(i_wb, acc, True), added)]
        if self.sum_stage:
            # the carry chain of a wide current into the block RAMs' write data, behind
            # the write-data select, was the iCE40 TTFS demo's critical path (stop 54:
            # p_w -> 2 LUTs -> 17 carries -> 2 LUTs -> block RAM, 22.5 ns)
            s_sum = Signal(L * acc, name="s_sum", reset_less=True)
            m.d.sync += s_sum.eq(Cat(*(s[:acc] for s in sums)))
            sums = lanes_of(s_sum, acc, True)
        if not db:
            with m.If(e_wb):
                m.d.comb += [wps["i"].data.eq(Cat(*(s[:acc] for s in sums))),
                             wps["i"].en.eq(-1)]
        if G == 1:
            m.d.sync += e_sum.eq(Cat(*(s[:acc] for s in sums)))

        # -- update datapath -----------------------------------------------------------------
        issue = Signal()
        # the credit is 0 at every TICK (taken only while idle: nothing in flight, queue,
        # output and skid registers empty) and grows by one per issued word, so it stays at
        # most G: a core of fewer than Q words is never throttled, and has no credit logic
        # (stop 37: the credit's compare sat in front of digits-l2's output core's word
        # counter, 5 LUT levels, and the credit itself was 6)
        throttled = G >= Q
        # issuing = phase UPDATE with words left to issue (cnt < G), a register of its own:
        # set with the TICK (take_command, below), held only in UPDATE until the last word's
        # issue. Decoded from phase and cnt, it put four LUT levels between the credit and
        # cnt's enable, the iCE40 TTFS demo's critical path at stop 54 (22.1 ns)
        issuing = Signal()
        m.d.comb += issue.eq(issuing & ((credit < Q) if throttled else 1))
        m.d.sync += issuing.eq(issuing & (phase == _Phase.UPDATE) & ~(issue & (cnt == G - 1)))
        m.d.sync += u_valid.eq(Cat(issue, u_valid[:-1]))
        for c in copy["written"]:  # with tile_stage a cycle later, as the groups write
            m.d.sync += c.eq(u_valid[-1] if self.tile_stage else u_valid[-2])
        i_in = None
        if db:
            # the update of a tick reads the decayed current and the buffer of its events
            # (the one the events of the next tick do not go to), zeroed as it writes:
            # selected into a P register of its own from the two read ports (ev_buf holds
            # from a word's read to its S0: a TICK flips it only with the update drained).
            # Selected behind p_x0 / p_x1, ev_buf's select was one LUT level and a route of
            # 4.3 ns in front of the update's first adder, the critical path of the iCE40
            # digits latency design with its hidden core double-buffered (stop 65: 49.5 MHz,
            # mean of seven placements 48.5; with this register 51.5 and 51.1)
            x_u = Signal(L * acc, name="p_xu", reset_less=True)
            m.d.sync += x_u.eq(Mux(ev_buf, xs[0][1].data, xs[1][1].data))
            # wrapped to the accumulator as the contract's event phase wraps (i + a sum of
            # more than max_events_per_tick events, modulo 2**acc); without the wrap an
            # overflowing tick saturated where the single-buffered core wraps (stop 69)
            i_in = [(a + x)[:acc].as_signed() for a, x in zip(lanes_of(p_data["i"], acc, True),
                                                              lanes_of(x_u, acc, True))]
        spikes, fires, writes = self._update_lanes(m, p_data, thr, alpha, beta, rho, step,
                                                   i_in)
        # the word at the lanes' write edge: the control's (w_g, written), or with tile_stage
        # the one the control wrote a cycle before (the groups write a cycle behind it)
        if self.tile_stage:
            g_written, g_last = Signal(name="written_g"), Signal(name="w_last_g")
            g_base = Signal.like(w_base, name="w_base_g")
            m.d.sync += [g_written.eq(u_valid[-1]), g_last.eq(w_g == G - 1), g_base.eq(w_base)]
        else:
            g_written, g_base = u_valid[-1], w_base

        def last_word():  # (an expression per use, as before tiles: the same Verilog)
            return g_last if self.tile_stage else w_g == G - 1

        # padding lanes of the last word never spike
        valid_lanes = Signal(L)
        tail = N - (G - 1) * L
        m.d.comb += valid_lanes.eq(Mux(last_word(), (1 << tail) - 1, (1 << L) - 1))
        spike_mask = Signal(L)
        m.d.comb += spike_mask.eq(Cat(*spikes) & valid_lanes)
        spike_any = (_any_spike(m, fires, tail, last_word(),
                                L if _early_compare(cfg) else LANES_PER_LUT)
                     if L > LANES_PER_LUT
                     else spike_mask.any())
        written = u_valid[-1]
        push = Signal()
        m.d.comb += push.eq(g_written & spike_any)
        if self.tile_stage:
            with m.If(g_written):
                for name in writes:
                    m.d.comb += [wps[name].data.eq(writes[name]), wps[name].en.eq(-1)]
            with m.If(written):
                m.d.sync += [w_g.eq(w_g + 1), w_base.eq(w_base + L)]
            with m.If(g_written & g_last):
                m.d.sync += phase.eq(_Phase.IDLE)
        else:
            with m.If(written):
                for name in writes:
                    m.d.comb += [wps[name].data.eq(writes[name]), wps[name].en.eq(-1)]
                m.d.sync += [w_g.eq(w_g + 1), w_base.eq(w_base + L)]
                with m.If(w_g == G - 1):
                    m.d.sync += phase.eq(_Phase.IDLE)

        # -- output register, fed by the queue, and its skid register ---------------------------
        # o's spike leaves it (to spike_out, or into the skid register if spike_out stalls)
        # whenever the skid register is empty: a register, so spike_out.ready reaches only
        # s_valid and the idle flag, never the pop or the queue's enables
        leaves = o_valid & ~s_valid
        ready = self.spike_out.ready
        with m.If(s_valid):
            m.d.sync += s_valid.eq(~ready)
        with m.Else():
            m.d.sync += [s_valid.eq(o_valid & ~ready), s_n.eq(o_n)]
        # kept (Yosys's keep): one net of its own, computed once from four register bits
        # (o_more above) and fanned out to the queue's entries, not folded into each
        # entry's enable (stop 54, iCE40: the queue's paths 21.8 ns before, 19.9 after)
        pop = Signal(attrs={"keep": 1})
        grouped = L > LANES_PER_LUT
        if grouped:
            # the output word and the queue's head word carry their group summaries
            # (_take_lowest): the head's is loaded with its bits, from the spike bits or
            # from entry 1 (below), so no tree over all the lanes sits in front of o_n
            n_groups = len(_word_groups(L))
            o_g_any, o_g_low = Signal(n_groups, name="o_g_any"), Signal(2 * n_groups,
                                                                        name="o_g_low")
            h_g_any, h_g_low = Signal(n_groups, name="q_g_any_0"), Signal(2 * n_groups,
                                                                          name="q_g_low_0")
            r_k, r_rest, r_g_any, r_g_low, r_more = _take_lowest(o_rest, o_g_any, o_g_low, L)
            h_k, h_rest, h_g_any1, h_g_low1, h_more = _take_lowest(q_mask[0], h_g_any,
                                                                   h_g_low, L)
        else:
            r_k, r_rest = _lowest(m, o_rest, L)
            h_k, h_rest = _lowest(m, q_mask[0], L)
            r_more, h_more = r_rest.any(), h_rest.any()

        def plus_lane(base, k):
            # base is a multiple of L: with L a power of two the sum is a concatenation
            if L & (L - 1) == 0:
                shift = ceil_log2(L)
                return Cat(k[:shift], base[shift:]) if shift else base
            return base + k

        with m.If(leaves & o_more):
            m.d.sync += [o_n.eq(plus_lane(o_base, r_k)), o_rest.eq(r_rest)]
            if L > 1:
                m.d.sync += o_more.eq(r_more)
            if grouped:
                m.d.sync += [o_g_any.eq(r_g_any), o_g_low.eq(r_g_low)]
        with m.Elif((~o_valid | leaves) & ~q_at[0]):
            m.d.comb += pop.eq(1)
            m.d.sync += [o_valid.eq(1), o_n.eq(plus_lane(q_base[0], h_k)), o_base.eq(q_base[0]),
                         o_rest.eq(h_rest)]
            if L > 1:
                m.d.sync += o_more.eq(h_more)
            if grouped:
                m.d.sync += [o_g_any.eq(h_g_any1), o_g_low.eq(h_g_low1)]
        with m.Elif(leaves):
            m.d.sync += o_valid.eq(0)
        # the queue: a pop shifts every entry down; a written word is stored behind the last
        # entry, and counts (q_at) only if it has a spike (push): a word without one is left
        # in the first free entry, which is not read before it is written again. So the
        # entries' write enables do not wait for the spike bits' OR (stop 25: that OR and
        # the enables were the digits ECP5 build's critical path, 8.5 ns)
        for e in range(Q):
            # behind the last: entry e if e + 1 words are queued and one pops, or e and none
            with m.If(g_written & Mux(pop, q_at[e + 1], q_at[e])):
                m.d.sync += [q_mask[e].eq(spike_mask), q_base[e].eq(g_base)]
                if grouped and e == 0:
                    m.d.sync += Cat(h_g_any, h_g_low).eq(Cat(*_group_summary(spike_mask, L)))
            if e + 1 < Q:
                with m.Elif(pop):
                    m.d.sync += [q_mask[e].eq(q_mask[e + 1]), q_base[e].eq(q_base[e + 1])]
                    if grouped and e == 0:
                        m.d.sync += Cat(h_g_any, h_g_low).eq(Cat(*_group_summary(q_mask[1],
                                                                                 L)))
        with m.If(push & ~pop):
            m.d.sync += q_at.eq(q_at << 1)
        with m.Elif(pop & ~push):
            m.d.sync += q_at.eq(q_at >> 1)
        if throttled:
            # the pop, the end of the queue's and the output register's logic, selects
            # between two sums instead of entering the adder (digits-l2's iCE40 build at stop
            # 42: the output register -> pop -> the credit's carry chain, 20.4 ns)
            rest = Signal.like(credit, name="credit_rest")
            m.d.comb += rest.eq(credit + issue - (g_written & ~spike_any))
            m.d.sync += credit.eq(Mux(pop, rest - 1, rest))

        # -- idle and host_ok of the next cycle ------------------------------------------------
        # an event is accepted only in IDLE or at an event's last word (in_ready), and it
        # keeps the phase out of IDLE in both: so the phase's part is written as (the phase
        # ends, if no event comes) & ~ev_accept, and the input handshake (ev_accept, from the
        # system's input port) enters the last LUT of idle and in_ready instead of the
        # phase's multiplexer (stop 36: 4 LUT levels behind it on the iCE40)
        phase_ends = Signal()
        with m.Switch(phase):
            with m.Case(_Phase.IDLE):
                m.d.comb += phase_ends.eq(~cmd_accept)
            with m.Case(_Phase.UPDATE):
                m.d.comb += phase_ends.eq(g_written & last_word())
            with m.Default():
                m.d.comb += phase_ends.eq(cnt == G - 1)
        if not db:
            phase_idle_next = Signal()
            m.d.comb += phase_idle_next.eq(phase_ends & ~ev_accept)
        queue_empty_next = ~push & (q_at[0] | (q_at[1] & pop))
        out_empty_next = ~pop & ~(leaves & o_more) & (~o_valid | leaves)
        skid_empty_next = ready | ~(o_valid | s_valid)
        drained_next = Signal()
        m.d.comb += drained_next.eq(phase_ends & queue_empty_next & out_empty_next
                                    & skid_empty_next)
        idle_next = Signal()
        if db:
            # the event engine on in the next cycle: an event taken, or words left
            ev_on_next = took | (ev_on & (ecnt != G - 1))
            m.d.comb += idle_next.eq(drained_next & ~ev_on_next)
        else:
            m.d.comb += idle_next.eq(drained_next & ~ev_accept)
        # host_ok = idle and no event write-back pending (e_r, e_p of the next cycle)
        # an event whose next edge reads its last word (cnt = G - 2 now) takes the next one
        # at that edge: word g of the next event is then read in or after the edge that
        # writes this event's word g (the write-back is two edges behind the read). (No
        # event is accepted at cnt = G - 2: ready is low there.) With one word every event
        # taken reads its last word at the next edge, and the write-back it reads too early
        # is forwarded (e_sum, above)
        if db:
            # spike_in.ready: the event engine free or at its last word, whatever the
            # update does, and no CLEAR (taken, or words left) in the next cycle
            last_next = ev_on & (ecnt == G - 2) if G >= 2 else took
            clear_next = take_clear | (clearing & (cnt != G - 1))
            m.d.sync += [idle.eq(idle_next),
                         in_ready.eq(~clear_next & (~ev_on_next | last_next)),
                         host_ok.eq(idle_next & ~ev_on & ~_or_all(pending))]
        else:
            if G >= 2:
                last_next = (phase == _Phase.EVENT) & (cnt == G - 2)
            else:
                last_next = took
            host_ok_next = idle_next & (phase != _Phase.EVENT) & ~_or_all(pending)
            if self.tile_stage:  # the groups' last CLEAR write is a cycle after idle rises
                host_ok_next &= ~clearing
            m.d.sync += [idle.eq(idle_next), in_ready.eq(phase_idle_next | last_next),
                         host_ok.eq(host_ok_next)]

        # -- event counting and overflow -----------------------------------------------------
        with m.If(ev_accept):
            with m.If(ev_count == cfg.max_events_per_tick):
                m.d.sync += overflow.eq(1)
            with m.Else():
                m.d.sync += ev_count.eq(ev_count + 1)

        # -- the phases ----------------------------------------------------------------------
        with m.Switch(phase):
            with m.Case(_Phase.IDLE):
                if not db:  # (the event engine's, below)
                    m.d.comb += rp_w.addr.eq(h_addr["w_word"])
                for rp in rps.values():
                    m.d.comb += rp.addr.eq(h_addr["s_word"])

                def take_event():
                    m.d.sync += [phase.eq(_Phase.EVENT), cnt.eq(0),
                                 w_addr.eq(self.spike_in.payload * G)]

                def take_command():
                    m.d.sync += [cnt.eq(0), ev_count.eq(0)]
                    with m.If(self.command.payload == Command.TICK):
                        m.d.sync += [phase.eq(_Phase.UPDATE), w_g.eq(0), w_base.eq(0),
                                     issuing.eq(1)]
                        if db:  # the next tick's events go to the other buffer
                            m.d.sync += ev_buf.eq(~ev_buf)
                    with m.Else():
                        m.d.sync += [phase.eq(_Phase.CLEAR), clearing.eq(1), overflow.eq(0)]

                if db:  # events: the event engine's (below)
                    with m.If(cmd_accept):
                        take_command()
                elif self.events_first:  # a command waits for the events offered beside it
                    with m.If(ev_accept):
                        take_event()
                    with m.Elif(cmd_accept):
                        take_command()
                else:  # commands first: no command register waits on spike_in.valid
                    with m.If(cmd_accept):
                        take_command()
                    with m.Elif(ev_accept):
                        take_event()
            with m.Case(_Phase.EVENT):
                m.d.comb += [rp_w.addr.eq(w_addr), rps["i"].addr.eq(cnt)]
                m.d.sync += [e_r.eq(1), e_r_g.eq(cnt), cnt.eq(cnt + 1), w_addr.eq(w_addr + 1)]
                with m.If(ev_accept):  # the next event, at the last word
                    m.d.sync += [cnt.eq(0), w_addr.eq(self.spike_in.payload * G)]
                with m.Elif(cnt == G - 1):
                    m.d.sync += phase.eq(_Phase.IDLE)
            with m.Case(_Phase.CLEAR):
                m.d.sync += cnt.eq(cnt + 1)
                with m.If(cnt == G - 1):
                    m.d.sync += [phase.eq(_Phase.IDLE), clearing.eq(0)]
            with m.Case(_Phase.UPDATE):
                for rp in rps.values():
                    m.d.comb += rp.addr.eq(cnt)
                with m.If(issue):
                    m.d.sync += cnt.eq(cnt + 1)
        if db:
            # the event engine: an event's G words, read at the edges after its handshake
            # in any phase but CLEAR (spike_in.ready), the next event taken at the last
            m.d.comb += rp_w.addr.eq(Mux(ev_on, w_addr, h_addr["w_word"]))
            with m.If(ev_on):
                m.d.sync += [e_r.eq(1), e_r_g.eq(ecnt), e_r_b.eq(ev_buf), ecnt.eq(ecnt + 1),
                             w_addr.eq(w_addr + 1)]
                with m.If(ecnt == G - 1):
                    m.d.sync += ev_on.eq(0)
            with m.If(took):
                m.d.sync += [ev_on.eq(1), ecnt.eq(0), w_addr.eq(self.spike_in.payload * G)]
            for b, (_, rp) in enumerate(xs):
                m.d.comb += rp.addr.eq(Mux(ev_on & (ev_buf == b), ecnt,
                                           Mux(phase == _Phase.UPDATE, cnt, h_addr["s_word"])))
        # clearing's copies, written whole (no enable): a CLEAR taken (a command is taken
        # only in IDLE, and beside an event only where commands come first), else held
        # until the last word. Set and cleared beside clearing, under the phase's decode and
        # the command handshake, they had an enable of four LUT levels (stop 41: the 64-lane
        # MNIST build's critical path ended at a copy's enable across the die, 8.6 ns)
        for c in copy["clearing"]:
            if self.tile_stage:  # a cycle behind clearing: the groups clear a cycle later
                m.d.sync += c.eq(clearing)
            else:
                m.d.sync += c.eq(Mux(c, cnt != G - 1, take_clear))
        # CLEAR's writes, last: they take precedence over every other write (see above)
        with m.If(clearing):
            for wp in wps.values():
                m.d.comb += [wp.data.eq(0), wp.en.eq(-1)]
        if n_copies:
            self._lane_writes(m, wps, copy, host_writes, sums, writes, events=not db)
        # the state memories' write address: one register loaded a cycle ahead (the
        # update's word w_g, one more after this cycle's write, where the pipeline writes
        # next; else the event write-back's, from the stage ahead; CLEAR's word too: 0
        # where one is taken, else cnt + 1; after its last word nothing writes, as a CLEAR
        # is taken only in IDLE), read wherever the host writes no state (never where the
        # datapath writes: the host writes only while idle and no write-back is pending; in
        # a system, never). Wider than a LUT, the address reaches every lane's LUT RAM:
        # behind the select of cnt and the register, the 64-lane MNIST build's write
        # address was a critical path (stop 41, seed 1: 8.5 ns, 4.8 of them the last route
        # across the die). In block RAM, Yosys compares it with the read address, ahead of
        # a register, for the read ports' transparency: behind CLEAR's select that compare
        # was seven LUT levels, the iCE40 TTFS demo's critical path once the sum stage had
        # taken the event adders' (stop 54, 22.4 ns)
        s_waddr = Signal(range(max(2, G)), name="s_waddr")
        datapath_word = w_g + written if db else Mux(u_valid[-2], w_g + written, e_g_ahead)
        waddr_next = Mux(take_clear, 0, Mux(clearing, cnt + 1, datapath_word))
        if split:  # a copy of the register per lane group and memory
            if self.tile_stage:  # loaded from one register: the groups write a cycle later
                s_waddr_t = Signal.like(s_waddr, name="s_waddr_t")
                m.d.sync += s_waddr_t.eq(waddr_next)
                waddr_next = s_waddr_t
            for wp in wps.values():
                for port, waddr in wp.groups:
                    m.d.sync += waddr.eq(waddr_next)
                    m.d.comb += port.addr.eq(Mux(host_state_write, wp.addr, waddr))
        else:
            m.d.sync += s_waddr.eq(waddr_next)
            with m.If(~host_state_write):
                m.d.comb += [wp.addr.eq(s_waddr) for wp in wps.values()]

        if db:
            self._buffer_writes(m, xs, host_writes, host_state_write, h_addr, sums, ev_buf,
                                SimpleNamespace(wb=e_wb, ahead=pending[-1], g_ahead=e_g_ahead,
                                                b_ahead=e_b_ahead),
                                SimpleNamespace(written=written, w_g=w_g, cnt=cnt,
                                                clearing=clearing, take_clear=take_clear))

        if self.weight_bank_words:
            # the banks read an event's next word in the next cycle where the phase will be
            # EVENT with a word after the one read then: an event taken in IDLE (where a
            # command taken beside it wins unless events come first) or at the last word
            # of one, or a word after the next left (G >= 2; cnt is the word read now).
            # Written whole, no enable: as set-and-clear beside phase's transitions it was
            # an enable of four LUT levels, the banked iCE40 digits-l2 build's critical path
            if db:
                # ev_accept, not took: the command taken beside an offered event (the
                # only case where the two differ) is masked in the banks' select by the
                # cmd_took registers instead, a cycle later. A command is taken only where
                # idle, and idle means no words left, so the masked select is the old one
                # in every cycle. With took here the command handshake was four LUT
                # levels in front of these registers, the digits latency build's critical
                # path (stop 69's build: command valid -> w_read_ahead_c0, 20.2 ns; 4 of 7
                # placements ended there)
                ahead_next = ev_accept | (ev_on & (ecnt < G - 2))
                for c in rp_w.cmd_took:
                    m.d.sync += c.eq(cmd_accept)
            else:
                ahead_next = Mux(phase == _Phase.IDLE, took,
                                 (phase == _Phase.EVENT) & (ev_accept | (cnt < G - 2)))
            for c in rp_w.read_ahead:  # one register per bank (none where G = 1)
                m.d.sync += c.eq(ahead_next)
            # the banks read a cycle ahead (_weight_banks): an event's next word, or the
            # first word of the event taken in this cycle; w_addr + 1 from a register of
            # its own (an adder in front of the banks' address was the 784-64-10 build's
            # critical path)
            w_addr1 = Signal.like(w_addr, name="w_addr1")
            first = _times(self.spike_in.payload, G)
            with m.If(ev_accept):
                m.d.sync += w_addr1.eq(first + 1)
            with m.Elif(ev_on if db else phase == _Phase.EVENT):
                m.d.sync += w_addr1.eq(w_addr1 + 1)
            m.d.comb += [rp_w.take.eq(ev_accept), rp_w.first.eq(first),
                         rp_w.index.eq(self.spike_in.payload),
                         rp_w.ahead.eq(w_addr1), rp_w.host_addr.eq(h_addr["w_word"]),
                         rp_w.host_read.eq(host_ok & self.host.r_en
                                           & (h_addr["region"] == Region.WEIGHT))]
        current = None
        if db:  # the host reads i as the decayed current plus both buffers, wrapped as the
            # single-buffered core's accumulator wraps
            current = Cat(*((a + x + y)[:acc] for a, x, y in zip(
                *(lanes_of(d, acc, True) for d in (rps["i"].data, xs[0][1].data,
                                                   xs[1][1].data)))))
        self._host_reads(m, host_ok, h_addr, rp_w, rps, params, current)
        return m

    def _buffer_writes(self, m, xs, host, host_state_write, h, sums, ev_buf, ev, up):
        """The write ports of the event buffers x0, x1 (``double_buffer``): an event's
        write-back to the buffer it read (``ev``: this cycle's write-back ``wb``, the next
        cycle's ``ahead`` with its word and buffer), the update's zeros into the buffer it
        read (``up``), CLEAR's zeros, and the host's zeros where it writes ``i``. The write
        address of each is a register loaded a cycle ahead, as the state memories' is."""
        G, acc = self.config.words, self.config.accumulator_bits
        b_now = Signal(name="e_wb_b")  # the buffer of this cycle's write-back
        m.d.sync += b_now.eq(ev.b_ahead)
        sums_word = Cat(*(s[:acc] for s in sums))
        for b, (wp, _) in enumerate(xs):
            ev_we = ev.wb & (b_now == b)
            zero_we = up.written & (ev_buf != b)
            waddr_next = Mux(up.take_clear, 0, Mux(
                up.clearing, up.cnt + 1,
                Mux(ev.ahead & (ev.b_ahead == b), ev.g_ahead, up.w_g + up.written)))
            if hasattr(wp, "groups"):  # split (_split_state): a copy per lane group
                m.d.comb += wp.addr.eq(h["s_word"])
                for port, waddr in wp.groups:
                    m.d.sync += waddr.eq(waddr_next)
                    m.d.comb += port.addr.eq(Mux(host_state_write, wp.addr, waddr))
            else:
                waddr = Signal(range(max(2, G)), name=f"x{b}_waddr")
                m.d.sync += waddr.eq(waddr_next)
                m.d.comb += wp.addr.eq(Mux(host_state_write, h["s_word"], waddr))
            m.d.comb += [wp.data.eq(Mux(ev_we & ~up.clearing, sums_word, 0)),
                         wp.en.eq(Mux(up.clearing | ev_we | zero_we, -1, host["i"][1]))]

    def _update_lanes(self, m, p_data, thr, alpha, beta, rho, step, i_in=None):
        """The update pipeline S0 -> S1 -> S2 -> S3 -> S4 of every lane (from the P registers) and
        the write-edge logic; returns the spike bits (S4 registers), their values one edge
        earlier (``fires``) and the packed write data per memory. ``i_in``: each lane's
        current read, where it is not the P register of ``i`` alone."""
        cfg, p, L = self.config, self.config.params, self.config.lanes
        F, acc, cb, mb, ab = (p.decay_bits, cfg.accumulator_bits, p.current_bits,
                              p.membrane_bits, p.adapt_bits)
        theta_shape = unsigned(max(mb - 1, ab) + 1)
        early = _early_compare(cfg)

        def reg(shape, name, value, init=0):
            r = Signal(shape, name=name, reset_less=True, init=init)  # data: valid bits elsewhere
            m.d.sync += r.eq(value)
            return r

        def saturate(x, bits, name):
            """``x`` (signed) clamped to ``bits`` bits. ``x`` fits when its bits from
            ``bits - 1`` up are all equal (sign extension); else its sign picks the limit.
            Tests of bits, not comparisons with the limits: a comparison is a carry chain
            behind the adder's (the iCE40's critical path, stop 25). ``x`` is named once,
            so that the Verilog computes it once for the three uses."""
            if len(x) <= bits:
                return x
            named = Signal(x.shape(), name=name)
            m.d.comb += named.eq(x)
            x = named
            top = x[bits - 1:]
            lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
            return Mux(top.all() | ~top.any(), x[:bits].as_signed(), Mux(x[-1], lo, hi))

        def clip_high(x, bits):
            """unsigned ``x`` clamped to ``2**bits - 1`` (a test of its high bits)."""
            return Mux(x[bits:].any(), (1 << bits) - 1, x[:bits]) if len(x) > bits else x

        def partials(x, factor, name):
            """``x * factor`` as ``(high, low)`` partial products, each registered
            (``s1_<name>h``, ``s1_<name>l``): ``x = high_part * 2**LOW + low_part`` with the
            low part unsigned, so ``x * factor = (high << LOW) + low`` exactly."""
            low_x = x[:_PRODUCT_LOW_BITS]
            high_x = x[_PRODUCT_LOW_BITS:]
            high_x = high_x.as_signed() if x.shape().signed else high_x
            low = reg((low_x * factor).shape(), f"s1_{name}l", low_x * factor)
            high = reg((high_x * factor).shape(), f"s1_{name}h", high_x * factor)
            return high, low

        def joined(high, low):
            return (high << _PRODUCT_LOW_BITS) + low

        def product(shape, name, x, factor, factor_init):
            """``x * factor`` two edges after ``x``: registered out of the multiplier
            (``s1_<name>``) and copied (``s1b_<name>``), or, for an ``x`` wider than
            :data:`_PRODUCT_SPLIT_BITS` and a factor that starts as a true multiplier, its
            partial products summed into the copy register."""
            if len(x) > _PRODUCT_SPLIT_BITS and needs_multiplier(factor_init):
                return reg(shape, f"s1b_{name}", joined(*partials(x, factor, name)))
            return reg(shape, f"s1b_{name}", reg(shape, f"s1_{name}", x * factor))

        def round_shift(product):
            """``product / 2**F`` rounded toward zero (the contract's decay)."""
            return (product + Mux(product[-1], (1 << F) - 1, 0)) >> F

        spikes, fire_bits, writes = [], [], {"i": [], "v": [], "a": [], "f": []}
        if i_in is None:
            i_in = [x.as_signed() for x in (p_data["i"].word_select(k, acc) for k in range(L))]
        v_in = [x.as_signed() for x in (p_data["v"].word_select(k, mb) for k in range(L))]
        a_in = [p_data["a"].word_select(k, ab) for k in range(L)]
        f_in = [p_data["f"][k] for k in range(L)]
        for k in range(L):
            # S0: the multipliers' operands, registered. The P registers sit by the block
            # RAMs (their clock-to-out is the slow part of that path); these can sit by the
            # DSPs, so the route into a multiplier starts next to it (Yosys does not pack
            # fabric registers into the ECP5 MULT18X18D's own input registers)
            is0 = reg(signed(cb), f"s0_i_{k}", saturate(i_in[k], cb, f"i_in_{k}"))
            v0 = reg(signed(mb), f"s0_v_{k}", v_in[k])
            a0 = reg(unsigned(ab), f"s0_a_{k}", a_in[k])
            f0 = reg(1, f"s0_f_{k}", f_in[k])
            # S1: registered products v*beta, a*rho; S1b: their copies. Both registers of
            # the DSP's output are plain copies, so nextpnr can place the first by the DSP and
            # the second by the logic behind it (with one register, stop 26 measured 2.2 ns of
            # routing from the DSP: 20 rows). An ECP5 build moves the first into the
            # MULT18X18D's output register (boards/outreg.py), whose setup from the inputs is
            # shorter than the multiplier's path out plus the route to a flip-flop
            is1 = reg(signed(cb), f"s1b_i_{k}", reg(signed(cb), f"s1_i_{k}", is0))
            pv1 = product(signed(mb + F + 2), f"pv_{k}", v0, beta, p.beta)
            a1 = reg(unsigned(ab), f"s1b_a_{k}", reg(unsigned(ab), f"s1_a_{k}", a0))
            f1 = reg(1, f"s1b_f_{k}", reg(1, f"s1_f_{k}", f0))
            # S2: decay(v), i*alpha, decay(a), theta
            dv2 = reg(signed(mb + 2), f"s2_dv_{k}", round_shift(pv1))
            is2 = reg(signed(cb), f"s2_i_{k}", is1)
            if len(is0) > _PRODUCT_SPLIT_BITS and needs_multiplier(p.alpha):
                # partial products out of S0, copied, summed into S2
                high, low = partials(is0, alpha, f"pi_{k}")
                high = reg(high.shape(), f"s1b_pi_{k}h", high)
                low = reg(low.shape(), f"s1b_pi_{k}l", low)
                pi2 = reg(signed(cb + F + 2), f"s2_pi_{k}", joined(high, low))
            else:
                pi2 = reg(signed(cb + F + 2), f"s2_pi_{k}", is1 * alpha)
            # without adaptation theta is the threshold register, which an inference build
            # never writes: with the threshold as its initial value too, Yosys makes these
            # copies constants (with 0 it kept a flip-flop for each bit the threshold has set,
            # merged over the lanes: one register fanned out to 64 lanes' compares, the
            # 64-lane MNIST build's critical path at stop 39, 4.9 ns of routing)
            theta_init = 0 if p.adaptive else p.threshold
            theta2 = reg(theta_shape, f"s2_theta_{k}", thr + a1 if p.adaptive else thr,
                         init=theta_init)
            f2 = reg(1, f"s2_f_{k}", f1)
            if p.adaptive:
                pa1 = product(unsigned(ab + F + 1), f"pa_{k}", a0, rho, p.rho)
                ad2 = reg(unsigned(ab + 2), f"s2_ad_{k}", pa1 >> F)
            # S3: v1 = sat(decay(v) + i), decay(i), adaptation candidates
            v3 = reg(signed(mb), f"s3_v_{k}", saturate(dv2 + is2, mb, f"s3_sum_{k}"))
            if early:
                # the compare a stage early: sat(dv + i) >= theta is dv + (i - theta) >= 0,
                # as theta lies within the membrane's range (0 <= theta <= its maximum)
                im2 = reg((is1 - thr).shape(), f"s2_im_{k}", is1 - thr)
                above = reg(1, f"s3_ge_{k}", dv2 + im2 >= 0)
            i3 = reg(signed(cb + 2), f"s3_i_{k}", round_shift(pi2))
            theta3 = reg(theta_shape, f"s3_theta_{k}", theta2, init=theta_init)
            f3 = reg(1, f"s3_f_{k}", f2)
            # S4: the threshold compare and both outcomes of the reset, registered
            theta_s = Cat(theta3, C(0, 1)).as_signed()
            if not early:
                above = v3 >= theta_s
            fires = above & ~f3 if p.fire_once else above
            spike = reg(1, f"s4_spike_{k}", fires)
            fire_bits.append(fires)
            v_keep = reg(signed(mb), f"s4_v_{k}", v3)
            v_reset = reg(signed(mb), f"s4_vr_{k}",
                          v3 - theta_s if p.reset is Reset.SUBTRACT else 0)
            i4 = reg(signed(acc), f"s4_i_{k}", i3)
            f4 = reg(1, f"s4_f_{k}", f3)
            # write edge: only multiplexers between the S4 registers and the memories
            v_out = Signal(signed(mb), name=f"w_v_{k}")
            m.d.comb += v_out.eq(Mux(spike, v_reset, v_keep))
            if p.adaptive:
                ad3 = reg(unsigned(ab), f"s3_ad_{k}", clip_high(ad2, ab))
                as3 = reg(unsigned(ab), f"s3_as_{k}", clip_high(ad2 + step, ab))
                ad4 = reg(unsigned(ab), f"s4_ad_{k}", ad3)
                as4 = reg(unsigned(ab), f"s4_as_{k}", as3)
                a_out = Signal(unsigned(ab), name=f"w_a_{k}")
                m.d.comb += a_out.eq(Mux(spike, as4, ad4))
                writes["a"].append(a_out)
            spikes.append(spike)
            writes["i"].append(i4)
            writes["v"].append(v_out)
            writes["f"].append(f4 | spike)
        # without adaptation the update never changes a (only the host writes it)
        return spikes, fire_bits, {name: Cat(*values) for name, values in writes.items()
                                   if values}

    def _host_decode(self, m):
        """Word and lane of the host address: state index n -> (n // L, n % L); weight index
        j*N + n -> (j*G + n // L, n % L)."""
        cfg, hm = self.config, self.host_map
        N, J, L, G = cfg.n_neurons, cfg.n_inputs, cfg.lanes, cfg.words
        index = self.host.addr[:hm.index_bits]
        s_word, s_lane = const_divmod(m, index, L, 1 << hm.index_bits)
        j, n = const_divmod(m, index, N, 1 << hm.index_bits)
        g, w_lane = const_divmod(m, n, L, N)
        w_word = Signal(range(max(2, J * G)))
        m.d.comb += w_word.eq(j * G + g)
        return {"region": self.host.addr[hm.index_bits:], "index": index, "s_word": s_word,
                "s_lane": s_lane, "w_word": w_word, "w_lane": w_lane}

    def _weight_banks(self, m):
        """The weight memory as banks of ``weight_bank_words`` words: a read port and a
        write port that look like one memory's (``addr``, ``data``; ``addr``, ``data``,
        ``en``), and ``p_w``, the word read two edges ago, from the banks' own registers.

        The banks read one cycle ahead, the address the datapath reads in the next cycle:
        ``ahead``, the event's next word, where their ``read_ahead`` registers say the
        next cycle reads a word of the event after this one (in a double-buffered core
        unless its ``cmd_took`` registers say a command was taken); else the host's
        (``host_addr``) where it reads a weight (``host_read``) and no event is taken
        (``take``), else ``first``, the first word of the event offered -- read whether
        or not it is taken, so that the input handshake is not in front of the block RAMs'
        address (``addr``, which the phase logic shared with the one-memory core sets, is
        not read). Their data
        go through two registers -- ``w_out_<b>``, directly behind the block RAM (on the
        ECP5 the DP16KD's own output register can hold it: boards/outreg.py), then
        ``p_w_<k>``, the OR of up to four banks' words, each zero unless its bank was read
        -- so ``p_w``, their OR, holds the word an event reads two edges after the one-memory
        core's read of it, as that core's ``p_w`` does. ``rp.data`` (the host's read, one
        edge after ``host_addr``) comes from the banks' outputs through a bank multiplexer;
        in a system the host never reads weights and Yosys removes it with ``host_read``."""
        cfg = self.config
        L, wb, depth, D = cfg.lanes, cfg.params.weight_bits, cfg.n_inputs * cfg.words, \
            self.weight_bank_words
        shift = ceil_log2(D)
        packed = self.packed_weights()
        n_banks = -(-depth // D)
        # a double-buffered core masks its read-ahead with the command taken (elaborate)
        ahead_masked = self.double_buffer and cfg.words > 1
        # the two ports' signals, named as a Memory port's, and the read-ahead
        rp = SimpleNamespace(addr=Signal(range(depth), name="w_raddr"),
                             data=Signal(L * wb, name="w_rdata"),
                             read_ahead=_copies("w_read_ahead", n_banks if cfg.words > 1 else 0),
                             cmd_took=_copies("w_cmd_took", n_banks if ahead_masked else 0),
                             take=Signal(name="w_read_take"),
                             host_read=Signal(name="w_read_host_en"),
                             first=Signal(range(depth), name="w_read_first"),
                             index=Signal.like(self.spike_in.payload, name="w_read_index"),
                             ahead=Signal(range(depth), name="w_read_ahead"),
                             host_addr=Signal(range(depth), name="w_read_host"))
        wp = SimpleNamespace(addr=Signal(range(depth), name="w_waddr"),
                             data=Signal(L * wb, name="w_wdata"), en=Signal(L, name="w_wen"))
        # the address each bank reads: a register of its own selects ``ahead`` (a decode
        # of the phase there was the 5-core MNIST build's critical path, 8.8 ns; one
        # register for all banks, the 64-lane MNIST build's: one LUT per address bit
        # for 87 block RAMs across the die); else ``first``, whether or not the event is
        # taken (with the input handshake as the select, ``input_accepting`` ->
        # ``spike_in.ready`` -> the banks' address was that build's critical path at
        # seed 1, 9.5 ns), but for the host's reads of weights, which no system makes
        host_first = Mux(rp.host_read & ~rp.take, rp.host_addr, rp.first)
        # the bank of the word read at this edge, one-hot, and a cycle later (the bank of
        # the word in the w_out registers): each bank's p_w register takes its w_out only
        # when it is the bank read (else 0), so the word is the OR of the p_w registers --
        # no select logic behind the block RAMs, an OR tree behind flip-flops. Only an
        # event's read reaches p_w (its write-back), so ``hot`` follows the event's
        # address alone, decoded before the select: ``take`` is the input handshake, which
        # comes late (in front of the decode it was the 5-core MNIST build's critical
        # path, 9.1 ns; a phase decode in front of it the 784-64-10 build's, 8.9 ns)
        def hot_of(addr):
            return C(1, n_banks) << addr[shift:]

        G = cfg.words
        if G & (G - 1):
            # the first word's bank from the event's index, not from its address (index *
            # G, an adder where G is not a power of two): bank b holds the first words of
            # the indices ceil(b * D / G) .. ceil((b + 1) * D / G) - 1, a function of the
            # index's bits alone (the adder's carry chains in front of the decode were the
            # iCE40 TTFS demo's critical path at stop 54, 21.5 ns)
            bounds = [-(-b * D // G) for b in range(n_banks + 1)]
            hot_first = Cat(*((rp.index >= lo) & (rp.index < hi)
                              for lo, hi in zip(bounds, bounds[1:])))
        else:
            hot_first = hot_of(rp.first)

        hot = Signal(n_banks, name="w_bank_hot")
        hot_p = Signal(n_banks, name="w_bank_hot_p")
        sel_r = Signal(range(n_banks), name="w_bank_r")
        m.d.sync += [hot.eq(Mux(rp.take, hot_first, hot_of(rp.ahead))),
                     hot_p.eq(hot), sel_r.eq(rp.host_addr[shift:])]
        p_w = Signal(L * wb, name="p_w")
        reads, selected = [], []
        for b in range(n_banks):
            # in block RAM even where short (the last bank): a short one in logic would put
            # its read's LUTs behind the read-ahead address, whose select is the input
            # handshake (the 5-core MNIST build's 256-word last banks: 9.1 ns)
            bank = Memory(shape=unsigned(L * wb),
                          depth=D if self.full_banks else min(D, depth - b * D),
                          init=packed[b * D:(b + 1) * D], attrs={"ram_style": "block"})
            m.submodules[f"mem_w_{b}"] = bank
            r, w = bank.read_port(), bank.write_port(granularity=wb)
            out = Signal(L * wb, name=f"w_out_{b}", reset_less=True,
                         attrs={OUTREG_ATTRIBUTE: 1})
            m.d.sync += out.eq(r.data)
            addr = host_first
            if rp.read_ahead:
                ahead = rp.read_ahead[b] & ~rp.cmd_took[b] if rp.cmd_took else rp.read_ahead[b]
                addr = Mux(ahead, rp.ahead, host_first)
            m.d.comb += [r.addr.eq(addr[:shift]), w.addr.eq(wp.addr[:shift]),
                         w.data.eq(wp.data), w.en.eq(Mux(wp.addr[shift:] == b, wp.en, 0))]
            reads.append(r.data)
            selected.append(Mux(hot_p[b], out, 0))
        # a host write at the edge that takes an event: the one-memory core reads the
        # event's first word an edge later and sees the write, the banks read it at that
        # edge and see the old word; the written lanes are taken from the write, two edges
        # later, by the p_w register of the bank read (a system that never writes weights,
        # every inference-only build, keeps none of this logic)
        fix = Signal(L, name="w_fix")
        fix_p = Signal(L, name="w_fix_p")
        fix_data = Signal(L * wb, name="w_fix_data", reset_less=True)
        fix_data_p = Signal(L * wb, name="w_fix_data_p", reset_less=True)
        m.d.sync += [fix.eq(Mux(rp.take & (wp.addr == rp.first), wp.en, 0)), fix_p.eq(fix),
                     fix_data.eq(wp.data), fix_data_p.eq(fix_data)]
        # the p_w registers take the selected words of up to four banks each (two LUT
        # levels), so that the OR behind them, in front of the accumulators' adders, has a
        # quarter of the inputs (the 784-64-10 core's 25 banks: 7, two levels, not three)
        registered = []
        for k in range(0, n_banks, _BANKS_PER_REGISTER):
            p_group = Signal(L * wb, name=f"p_w_{k // _BANKS_PER_REGISTER}", reset_less=True)
            word = _or_all(selected[k:k + _BANKS_PER_REGISTER])
            mine = hot_p[k:k + _BANKS_PER_REGISTER].any()
            m.d.sync += p_group.eq(Cat(*(Mux(fix_p[lane] & mine, fix_data_p.word_select(lane, wb),
                                             word.word_select(lane, wb))
                                         for lane in range(L))))
            registered.append(p_group)
        m.d.comb += p_w.eq(_or_all(registered))
        with m.Switch(sel_r):  # the host's read (not on the datapath)
            for b, word in enumerate(reads):
                with m.Case(b):
                    m.d.comb += rp.data.eq(word)
        return rp, wp, p_w

    def _split_state(self, m, name, bits):
        """State memory ``name`` of a core wider than one LUT and at least
        :data:`~spikeforge.ir.system.SPLIT_WORDS` words deep, in LUT RAM, as a memory per
        group of lanes (:func:`_word_groups`) behind a write port and a read port that look
        like the whole memory's (``addr``, ``data``, ``en``; ``addr``, ``data``).

        Each group's memory reads asynchronously at an address register of its own,
        loaded with ``addr`` at every edge, and writes at ``groups``' address register
        (loaded by the caller; ``addr`` where the host writes): the data of an address set
        before an edge is the word after that edge's write, as the whole memory's
        transparent synchronous read port gives it. Both registers are copies
        (:data:`COPY_ATTRIBUTE`): with one memory, Yosys's read address register and the
        write address register reached every lane's LUT RAM across the die, the TTFS
        784-600-10 build's critical path (stop 51: 46.4 MHz at the default seed, 20.65 of
        21.54 ns routing; 66.5 MHz at seed 2, on ``s_waddr``). With ``tile_stage`` the
        groups' read address registers are loaded from one register (``<name>_raddr_t``)
        that takes ``addr``: every group reads a cycle behind the control, and the control's
        logic reaches no group's register."""
        L, G = self.config.lanes, self.config.words
        word = range(G)  # G >= SPLIT_WORDS
        w = SimpleNamespace(addr=Signal(word, name=f"{name}_waddr"),
                            data=Signal(L * bits, name=f"{name}_wdata"),
                            en=Signal(L, name=f"{name}_wen"), groups=[])
        r = SimpleNamespace(addr=Signal(word, name=f"{name}_raddr"),
                            data=Signal(L * bits, name=f"{name}_rdata"))
        words = []
        addr = r.addr
        if self.tile_stage:  # the groups read a cycle behind the control (tile_stage)
            addr = Signal(word, name=f"{name}_raddr_t")
            m.d.sync += addr.eq(r.addr)
        for g, group in enumerate(_word_groups(L)):
            mem = Memory(shape=unsigned(len(group) * bits), depth=G, init=[])
            m.submodules[f"mem_{name}_{g}"] = mem
            wp, rp = mem.write_port(granularity=bits), mem.read_port(domain="comb")
            raddr = Signal(word, name=f"{name}_raddr_c{g}", attrs={COPY_ATTRIBUTE: 1})
            waddr = Signal(word, name=f"{name}_waddr_c{g}", attrs={COPY_ATTRIBUTE: 1})
            lanes = slice(group.start * bits, group.stop * bits)
            m.d.sync += raddr.eq(addr)
            m.d.comb += [rp.addr.eq(raddr), wp.data.eq(w.data[lanes]),
                         wp.en.eq(w.en[group.start:group.stop])]
            w.groups.append((wp, waddr))
            words.append(rp.data)
        m.d.comb += r.data.eq(Cat(*words))
        return w, r

    def _lane_writes(self, m, wps, copy, host, sums, writes, events=True):
        """The state memories' write data and enables of a core wider than one LUT, lane
        group by lane group under the group's copies of the selects: the same priority as
        the port-wide assignments they override (CLEAR's zeros, the update's word, the
        event write-back's sum where ``events`` write ``i``, the host's value)."""
        acc = self.config.accumulator_bits
        for name, wp in wps.items():
            bits = len(wp.data) // self.config.lanes
            value, enable = host[name]
            data, en = [], []
            for g, group in enumerate(_word_groups(self.config.lanes)):
                clearing, written, e_p = (copy[c][g] for c in ("clearing", "written", "e_p"))
                for k in group:
                    lane, on = value, clearing | enable[k]
                    if name == "i" and events:
                        lane, on = Mux(e_p, sums[k][:acc], lane), on | e_p
                    if name in writes:
                        lane = Mux(written, writes[name].word_select(k, bits), lane)
                        on = on | written
                    data.append(Mux(clearing, 0, lane))
                    en.append(on)
            m.d.comb += [wp.data.eq(Cat(*data)), wp.en.eq(Cat(*en))]

    def _host_writes(self, m, host_ok, h, wp_w, wps, params):
        """Host writes. Address and data drive the write ports by default, only the enables
        depend on ``host_ok``; the datapath's writes, assigned later, override them (their
        conditions are registers, so ``idle`` does not reach the write data). Returns the
        host's value (one lane's) and lane enables for each state memory, and whether the
        host writes a state memory in this cycle."""
        cfg, p = self.config, self.config.params
        N, J, L = cfg.n_neurons, cfg.n_inputs, cfg.lanes
        acc, mb, ab, wb = cfg.accumulator_bits, p.membrane_bits, p.adapt_bits, p.weight_bits
        data = self.host.w_data
        write = Signal()
        m.d.comb += write.eq(host_ok & self.host.w_en)
        m.d.comb += [wp_w.addr.eq(h["w_word"]), wp_w.data.eq(Cat(*[data[:wb]] * L)),
                     wp_w.en.eq(Mux(write & (h["region"] == Region.WEIGHT) & (h["index"] < J * N),
                                    1 << h["w_lane"], 0))]
        regions = ((Region.CURRENT, "i", min(acc, HOST_DATA_BITS), acc),
                   (Region.MEMBRANE, "v", mb, mb), (Region.ADAPT, "a", ab, ab),
                   (Region.FIRED, "f", 1, 1))
        values = {}
        # an expression, not a signal: where it is not used it emits nothing
        state_write = write & (h["index"] < N) & Cat(*(h["region"] == r
                                                       for r, *_ in regions)).any()
        for region, name, bits, lane in regions:
            value = Signal(lane, name=f"h_{name}")
            field = data[:bits]
            m.d.comb += value.eq(field.as_signed() if name in "iv" else field)
            enable = Mux(write & (h["region"] == region) & (h["index"] < N), 1 << h["s_lane"], 0)
            m.d.comb += [wps[name].addr.eq(h["s_word"]), wps[name].data.eq(Cat(*[value] * L)),
                         wps[name].en.eq(enable)]
            values[name] = value, enable
        with m.If(write & (h["region"] == Region.PARAM)):
            with m.Switch(h["index"]):
                for param, reg in params.items():
                    with m.Case(param):
                        m.d.sync += reg.eq(data[:len(reg)])
        return values, state_write

    def _host_reads(self, m, host_ok, h, rp_w, rps, params, current=None):
        """Host reads: the region and lane registered at ``r_en``, the read port's word and
        that lane one cycle later (``current``: the word of ``i``'s lanes, where it is not
        its memory's alone)."""
        cfg, p = self.config, self.config.params
        L = cfg.lanes
        acc, mb, ab, wb = cfg.accumulator_bits, p.membrane_bits, p.adapt_bits, p.weight_bits
        r_region = Signal(HOST_REGION_BITS)
        r_lane = Signal(range(max(2, L)))
        r_param = Signal(HOST_DATA_BITS)
        # with tile_stage the lane groups read a cycle later: r_valid, and the data of
        # every region, a cycle later too (latency 2)
        r_valid = Signal(name="r_valid_1") if self.tile_stage else self.host.r_valid
        m.d.sync += r_valid.eq(0)
        with m.If(host_ok & self.host.r_en):
            m.d.sync += [r_valid.eq(1), r_region.eq(h["region"]), r_param.eq(0),
                         r_lane.eq(Mux(h["region"] == Region.WEIGHT, h["w_lane"], h["s_lane"]))]
            with m.Switch(h["index"]):
                for param, reg in params.items():
                    with m.Case(param):
                        m.d.sync += r_param.eq(reg)
        # host read data (one cycle after r_en): the read port's word, lane r_lane
        i_word = rps["i"].data if current is None else current
        sources = {Region.WEIGHT: (rp_w.data, wb, True), Region.CURRENT: (i_word, acc, True),
                   Region.MEMBRANE: (rps["v"].data, mb, True),
                   Region.ADAPT: (rps["a"].data, ab, False), Region.FIRED: (rps["f"].data, 1, False)}
        if self.tile_stage:
            # the weight word and the parameter, read a cycle after r_en, held a cycle
            r_held = Signal(HOST_DATA_BITS, name="r_held")
            with m.Switch(r_region):
                with m.Case(Region.WEIGHT):
                    m.d.sync += r_held.eq(rp_w.data.word_select(r_lane, wb).as_signed())
                with m.Default():
                    m.d.sync += r_held.eq(r_param)
            r_region_1, r_lane_1 = r_region, r_lane
            r_region = Signal.like(r_region_1, name="r_region_2")
            r_lane = Signal.like(r_lane_1, name="r_lane_2")
            m.d.sync += [self.host.r_valid.eq(r_valid), r_region.eq(r_region_1),
                         r_lane.eq(r_lane_1)]
            sources = {region: source for region, source in sources.items()
                       if region != Region.WEIGHT}
            r_param = r_held
        with m.Switch(r_region):
            for region, (word, bits, signed_) in sources.items():
                with m.Case(region):
                    lane = word.word_select(r_lane, bits)
                    m.d.comb += self.host.r_data.eq(lane.as_signed() if signed_ else lane)
            with m.Default():
                m.d.comb += self.host.r_data.eq(r_param)
