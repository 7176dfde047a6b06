"""The neuron core: a time-multiplexed, event-driven current-based LIF core.

One update datapath serves all ``n_neurons`` logical neurons of a core; their state lives in
block RAM, and so do the weights. The arithmetic is :mod:`spikeforge.sim.contract`, bit for
bit; the cycle timing is :mod:`spikeforge.sim.cycle`, cycle for cycle.
"""

from __future__ import annotations

import enum as py_enum

from amaranth.hdl import C, Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import enum, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from spikeforge.ir.core import CoreConfig
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.params import Reset

__all__ = ["Command", "Region", "Param", "HostMap", "HostBusSignature", "NeuronCore",
           "HOST_DATA_BITS", "HOST_REGION_BITS"]


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
    EVENT = 1  # reading the weights of one input event
    EVENT_LAST = 2  # writing back the last neuron of an event
    UPDATE = 3
    CLEAR = 4


def _index_shape(count: int):
    """Payload shape of an index stream: ``range(count)`` but at least one bit wide, so that
    the Verilog port exists even for ``count == 1``."""
    return unsigned(max(1, ceil_log2(count)))


class NeuronCore(wiring.Component):
    """A time-multiplexed current-based LIF core (arithmetic: :mod:`~spikeforge.sim.contract`).

    ``config.n_neurons`` (N) neurons share one update datapath. Neuron state (``i``, ``v``,
    ``a``, ``fired``) lives in four memories of depth N (one synchronous read port and one
    write port each); the weights in a memory of depth ``n_inputs * N`` in ``j * N + n``
    order, initialised from ``config.weights``. The parameters (threshold, alpha, beta, rho,
    adapt_step) live in registers that reset to ``config.params`` and can be rewritten through
    the host port; widths, reset mode, ``fire_once`` and ``adaptive`` are fixed at build time.

    A tick is: any number of input events on ``spike_in`` (at most ``max_events_per_tick``),
    then a :attr:`Command.TICK` on ``command``, which runs the update phase and emits the
    spiking neurons' indices on ``spike_out`` in ascending order. :attr:`Command.CLEAR`
    starts a new inference.

    Parameters
    ----------
    config : :class:`~spikeforge.ir.core.CoreConfig`
        Geometry, neuron parameters, initial weights and the event bound of the core.

    Attributes
    ----------
    spike_in : ``In(stream.Signature(unsigned(max(1, ceil_log2(n_inputs)))))``
        Input spike events. ``payload`` is the presynaptic index j. Accepting event j adds
        ``w[j, n]`` to the accumulator ``i`` of every neuron n, reading only the N weights of
        input j. ``ready`` is high exactly when ``idle`` is high. A payload
        ``>= n_inputs`` is a driver error (undefined result).
    command : ``In(stream.Signature(Command))``
        :attr:`Command.TICK` or :attr:`Command.CLEAR`. ``ready`` is high when ``idle`` is
        high and ``spike_in.valid`` is low (a pending event is accepted first; a well-behaved
        driver never offers both at once).
    spike_out : ``Out(stream.Signature(unsigned(max(1, ceil_log2(n_neurons)))))``
        Output spike events of the update phase: ``payload`` is the neuron index, in
        ascending order. Honours backpressure: while a spike waits on ``ready`` the update
        pipeline stalls; nothing is dropped or duplicated. ``valid`` comes straight from a
        register.
    idle : ``Out(1)``
        High when no event, update or clear is in progress and ``spike_out`` is drained:
        the core is between phases. The first cycle with ``idle`` high after a TICK ends that
        tick.
    overflow : ``Out(1)``
        Sticky: more than ``max_events_per_tick`` events were accepted since the last TICK
        or CLEAR (a contract violation; the accumulators may have wrapped). Set from the
        cycle after the offending handshake; cleared by CLEAR.
    host : ``In(HostBusSignature(host_map))``
        Memory-mapped access to weights, state and parameters (see :class:`HostMap`,
        :meth:`host_address`). Honoured **only while** ``idle`` **is high**; ignored
        otherwise (no write happens, ``r_valid`` stays low). A write with ``w_en`` high
        takes effect at the clock edge; writes to an index past the end of its region are
        dropped. A read with ``r_en`` high in cycle c returns ``r_data`` with ``r_valid``
        high in cycle c + 1 (fixed latency 1). Signed fields (weight, ``i``, ``v``) are read
        sign-extended to 32 bits (``i`` truncated to its low 32 bits if the accumulator is
        wider) and written from the low bits of ``w_data``; unsigned fields are read
        zero-extended and written from the low bits. A read and a write of the same
        location in the same cycle reads the old value. Reads past the end of a region
        return unspecified data.

    Reset (``rst``, synchronous) returns the control logic to idle, empties the output
    register, clears ``overflow`` and restores the parameter registers to ``config.params``;
    it does not touch the memories (weights and state keep their contents; the state
    memories power up zeroed). Issue CLEAR after a reset to start a new inference.

    Timing
    ------
    Cycle c is the c-th rising clock edge after reset; a handshake "at cycle c" has
    ``valid`` and ``ready`` both high when sampled at edge c. (:mod:`spikeforge.sim.cycle`
    models this exactly.) With N = ``n_neurons``:

    * **Event**: accepted at cycle h, the core is busy and accepts its next event or command
      at cycle h + N + 2 at the earliest (``cycles_per_event = N + 2``: N weight reads, one
      per cycle, a write-back and one turnaround cycle).
    * **Update phase**: TICK accepted at cycle T. Neuron n is read in cycle T + 1 + n and
      evaluated (state written back) in cycle e(n) = T + 2 + n when nothing stalls. A
      spiking neuron's index is loaded into the single output register and is offered on
      ``spike_out`` from cycle e(n) + 1 (so the first possible handshake of neuron n is
      T + 3 + n). A spiking neuron cannot be evaluated while the output register still
      holds an earlier spike that is not taken in that same cycle: its evaluation waits
      (stalls the pipeline, including the read of the next neuron). Hence
      e(n) = max(e(n-1) + 1, h(prev)) for a spiking n (h(prev): handshake cycle of the
      previous spike of this tick), e(n) = e(n-1) + 1 otherwise, with e(-1) = T + 1.
      ``idle`` is high again from cycle max(e(N-1) + 1, h(last) + 1); without stalls
      that is T + N + 2, or T + N + 3 if neuron N-1 spiked.
    * **Clear**: CLEAR accepted at cycle h, ``idle`` again from cycle h + N + 1.
    * **Host**: no effect on timing (only honoured while idle).
    """

    def __init__(self, config: CoreConfig):
        if not isinstance(config, CoreConfig):
            raise ConfigError(f"config: must be a CoreConfig, got {type(config).__name__}")
        self.config = config
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

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        p = cfg.params
        N, J = cfg.n_neurons, cfg.n_inputs
        F = p.decay_bits
        acc_bits = cfg.accumulator_bits
        cb, mb, ab, wb = p.current_bits, p.membrane_bits, p.adapt_bits, p.weight_bits
        index_bits = self.host_map.index_bits

        # -- memories ------------------------------------------------------------------------
        weights = [int(w) for w in cfg.weights.reshape(-1)]
        m.submodules.mem_w = mem_w = Memory(shape=signed(wb), depth=J * N, init=weights)
        m.submodules.mem_i = mem_i = Memory(shape=signed(acc_bits), depth=N, init=[])
        m.submodules.mem_v = mem_v = Memory(shape=signed(mb), depth=N, init=[])
        m.submodules.mem_a = mem_a = Memory(shape=unsigned(ab), depth=N, init=[])
        m.submodules.mem_f = mem_f = Memory(shape=unsigned(1), depth=N, init=[])
        state_mems = (mem_i, mem_v, mem_a, mem_f)
        wp_w = mem_w.write_port()
        rp_w = mem_w.read_port()
        wp_i, wp_v, wp_a, wp_f = (mem.write_port() for mem in state_mems)
        rp_i, rp_v, rp_a, rp_f = (mem.read_port() for mem in state_mems)
        state_rps = (rp_i, rp_v, rp_a, rp_f)
        state_wps = (wp_i, wp_v, wp_a, wp_f)

        # -- parameter registers -------------------------------------------------------------
        thr = Signal(unsigned(mb - 1), init=p.threshold)
        alpha = Signal(unsigned(F + 1), init=p.alpha)
        beta = Signal(unsigned(F + 1), init=p.beta)
        rho = Signal(unsigned(F + 1), init=p.rho)
        step = Signal(unsigned(ab), init=p.adapt_step)
        params = {Param.THRESHOLD: thr, Param.ALPHA: alpha, Param.BETA: beta, Param.RHO: rho,
                  Param.ADAPT_STEP: step}

        # -- control -------------------------------------------------------------------------
        phase = Signal(_Phase)
        cnt = Signal(range(N + 1))  # neuron issue counter
        w_addr = Signal(range(max(2, J * N)))  # weight address of the event being read
        ev_wb = Signal()  # event write-back stage valid
        wb_n = Signal(range(max(2, N)))  # neuron of the event write-back stage
        c_valid = Signal()  # update evaluation stage valid
        c_n = Signal(range(max(2, N)))  # neuron in the evaluation stage
        out_valid = Signal()
        out_n = Signal.like(self.spike_out.payload)
        ev_count = Signal(range(cfg.max_events_per_tick + 1))
        overflow = Signal()

        idle = Signal()
        m.d.comb += [
            idle.eq((phase == _Phase.IDLE) & ~out_valid),
            self.idle.eq(idle),
            self.overflow.eq(overflow),
            self.spike_in.ready.eq(idle),
            self.command.ready.eq(idle & ~self.spike_in.valid),
            self.spike_out.valid.eq(out_valid),
            self.spike_out.payload.eq(out_n),
        ]

        ev_accept = self.spike_in.valid & self.spike_in.ready
        cmd_accept = self.command.valid & self.command.ready

        # output register: emptied by a handshake, (re)loaded by the update stage below
        with m.If(self.spike_out.valid & self.spike_out.ready):
            m.d.sync += out_valid.eq(0)

        # -- update datapath (combinational, from the state read ports) ----------------------
        def decay(x, k):
            xs = x if x.shape().signed else Cat(x, C(0, 1)).as_signed()
            product = Signal(signed(len(xs) + len(k) + 1))
            m.d.comb += product.eq(xs * k)
            biased = product + Mux(product < 0, (1 << F) - 1, 0)
            return biased >> F

        def saturate(x, bits):
            lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
            out = Signal(signed(bits))
            m.d.comb += out.eq(Mux(x > hi, hi, Mux(x < lo, lo, x)))
            return out

        def saturate_unsigned(x, bits):
            out = Signal(unsigned(bits))
            m.d.comb += out.eq(Mux(x > (1 << bits) - 1, (1 << bits) - 1, Mux(x < 0, 0, x)))
            return out

        i_s = saturate(rp_i.data, cb)
        v1 = saturate(decay(rp_v.data, beta) + i_s, mb)
        theta = Signal(unsigned(max(mb - 1, ab) + 1))
        if p.adaptive:
            m.d.comb += theta.eq(thr + rp_a.data)
        else:
            m.d.comb += theta.eq(thr)
        theta_s = Cat(theta, C(0, 1)).as_signed()
        spike = Signal()
        if p.fire_once:
            m.d.comb += spike.eq((v1 >= theta_s) & ~rp_f.data)
        else:
            m.d.comb += spike.eq(v1 >= theta_s)
        v2 = Signal(signed(mb))
        if p.reset is Reset.SUBTRACT:
            m.d.comb += v2.eq(Mux(spike, v1 - theta_s, v1))
        else:
            m.d.comb += v2.eq(Mux(spike, 0, v1))
        a2 = Signal(unsigned(ab))
        if p.adaptive:
            m.d.comb += a2.eq(saturate_unsigned(decay(rp_a.data, rho) + Mux(spike, step, 0), ab))
        else:
            m.d.comb += a2.eq(rp_a.data)
        f2 = Signal()
        m.d.comb += f2.eq(rp_f.data | spike)
        i2 = Signal(signed(acc_bits))
        m.d.comb += i2.eq(decay(i_s, alpha))

        # event accumulation
        i_acc = Signal(signed(acc_bits))
        m.d.comb += i_acc.eq(rp_i.data + rp_w.data)

        # -- event counting and overflow -----------------------------------------------------
        with m.If(ev_accept):
            with m.If(ev_count == cfg.max_events_per_tick):
                m.d.sync += overflow.eq(1)
            with m.Else():
                m.d.sync += ev_count.eq(ev_count + 1)

        # -- event write-back stage (runs in EVENT and EVENT_LAST) ---------------------------
        m.d.sync += ev_wb.eq(0)
        with m.If(ev_wb):
            m.d.comb += [wp_i.addr.eq(wb_n), wp_i.data.eq(i_acc), wp_i.en.eq(1)]

        # -- host port (only while idle) -----------------------------------------------------
        h_region = self.host.addr[index_bits:]
        h_index = self.host.addr[:index_bits]
        r_region = Signal(HOST_REGION_BITS)
        r_param = Signal(HOST_DATA_BITS)
        m.d.sync += self.host.r_valid.eq(0)

        # -- the phases ----------------------------------------------------------------------
        with m.Switch(phase):
            with m.Case(_Phase.IDLE):
                # read ports serve the host
                m.d.comb += rp_w.addr.eq(h_index)
                for rp in state_rps:
                    m.d.comb += rp.addr.eq(h_index)
                with m.If(ev_accept):
                    m.d.sync += [phase.eq(_Phase.EVENT), cnt.eq(0),
                                 w_addr.eq(self.spike_in.payload * N)]
                with m.Elif(cmd_accept):
                    m.d.sync += [cnt.eq(0), ev_count.eq(0)]
                    with m.If(self.command.payload == Command.TICK):
                        m.d.sync += [phase.eq(_Phase.UPDATE), c_valid.eq(0)]
                    with m.Else():
                        m.d.sync += [phase.eq(_Phase.CLEAR), overflow.eq(0)]
                with m.If(idle & self.host.w_en):
                    with m.Switch(h_region):
                        with m.Case(Region.WEIGHT):
                            m.d.comb += [wp_w.addr.eq(h_index), wp_w.data.eq(self.host.w_data[:wb]),
                                         wp_w.en.eq(h_index < J * N)]
                        i_bits = min(acc_bits, HOST_DATA_BITS)
                        for region, wp, bits in ((Region.CURRENT, wp_i, i_bits),
                                                 (Region.MEMBRANE, wp_v, mb),
                                                 (Region.ADAPT, wp_a, ab),
                                                 (Region.FIRED, wp_f, 1)):
                            with m.Case(region):
                                data = self.host.w_data[:bits]
                                if region in (Region.CURRENT, Region.MEMBRANE):
                                    data = data.as_signed()
                                m.d.comb += [wp.addr.eq(h_index), wp.data.eq(data),
                                             wp.en.eq(h_index < N)]
                        with m.Case(Region.PARAM):
                            with m.Switch(h_index):
                                for param, reg in params.items():
                                    with m.Case(param):
                                        m.d.sync += reg.eq(self.host.w_data[:len(reg)])
                with m.If(idle & self.host.r_en):
                    m.d.sync += [self.host.r_valid.eq(1), r_region.eq(h_region), r_param.eq(0)]
                    with m.Switch(h_index):
                        for param, reg in params.items():
                            with m.Case(param):
                                m.d.sync += r_param.eq(reg)

            with m.Case(_Phase.EVENT):
                m.d.comb += [rp_w.addr.eq(w_addr), rp_i.addr.eq(cnt)]
                m.d.sync += [ev_wb.eq(1), wb_n.eq(cnt), cnt.eq(cnt + 1), w_addr.eq(w_addr + 1)]
                with m.If(cnt == N - 1):
                    m.d.sync += phase.eq(_Phase.EVENT_LAST)

            with m.Case(_Phase.EVENT_LAST):
                m.d.sync += phase.eq(_Phase.IDLE)

            with m.Case(_Phase.UPDATE):
                issue = cnt < N
                stall = c_valid & spike & out_valid & ~self.spike_out.ready
                for rp in state_rps:
                    m.d.comb += [rp.addr.eq(cnt), rp.en.eq(~stall)]
                with m.If(~stall):
                    m.d.sync += [c_valid.eq(issue), c_n.eq(cnt)]
                    with m.If(issue):
                        m.d.sync += cnt.eq(cnt + 1)
                    with m.Else():
                        m.d.sync += phase.eq(_Phase.IDLE)
                    with m.If(c_valid):
                        for wp, data in zip(state_wps, (i2, v2, a2, f2)):
                            m.d.comb += [wp.addr.eq(c_n), wp.data.eq(data), wp.en.eq(1)]
                        with m.If(spike):
                            m.d.sync += [out_valid.eq(1), out_n.eq(c_n)]

            with m.Case(_Phase.CLEAR):
                for wp in state_wps:
                    m.d.comb += [wp.addr.eq(cnt), wp.data.eq(0), wp.en.eq(1)]
                m.d.sync += cnt.eq(cnt + 1)
                with m.If(cnt == N - 1):
                    m.d.sync += phase.eq(_Phase.IDLE)

        # host read data (one cycle after r_en)
        with m.Switch(r_region):
            with m.Case(Region.WEIGHT):
                m.d.comb += self.host.r_data.eq(rp_w.data)
            with m.Case(Region.CURRENT):
                m.d.comb += self.host.r_data.eq(rp_i.data)
            with m.Case(Region.MEMBRANE):
                m.d.comb += self.host.r_data.eq(rp_v.data)
            with m.Case(Region.ADAPT):
                m.d.comb += self.host.r_data.eq(rp_a.data)
            with m.Case(Region.FIRED):
                m.d.comb += self.host.r_data.eq(rp_f.data)
            with m.Default():
                m.d.comb += self.host.r_data.eq(r_param)

        return m
