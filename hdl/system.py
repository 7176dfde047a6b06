"""The whole accelerator: the cores of a :class:`~spikeforge.ir.plan.HardwarePlan` wired
by routers, a tick controller and a decision unit.

Structure (built from ``plan.routes``; the compiler's canonical routes)::

    inp ──► input multicast ──────────────────────────────► layer-0 cores
    layer-l cores ─► SpikeMerger ─► [StreamFIFO] ─► SpikeRouter(offsets) ─► layer-(l+1) cores
    output cores  ─► SpikeMerger ─► [StreamFIFO] ─► +offset ─► out_spikes ─► (handshake) DecisionUnit
    TickController: CLEAR / event phase / TICK to every core, waits for quiet (cores + links)

Every spike of a core of layer ``l`` is multicast to every core of layer ``l + 1`` its route
names, translated to the destination's presynaptic index ``route.source_offset + neuron``
(the global neuron index in layer ``l``). The optional FIFO (``fifo_depth > 0``) sits between
each merger and its router.

Timing is exactly :mod:`spikeforge.sim.system_cycle` (see there for the cycle-level
description and the driver convention).
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import C, Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from spikeforge.hdl.core import NeuronCore, Region
from spikeforge.hdl.decision import DecisionUnit
from spikeforge.hdl.learning import (
    LearningEngine,
    SpikeLayer,
    StoreBusSignature,
    StoreMap,
    command_layout,
)
from spikeforge.hdl.router import Multicast, SpikeMerger, SpikeRouter, StreamFIFO, index_bits_for
from spikeforge.hdl.tick import TickController
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.learning import LearningConfig
from spikeforge.ir.params import Decision
from spikeforge.ir.plan import INPUT_PORT, check_plan
from spikeforge.ir.system import (
    SystemConfig,
    check_double_buffer,
    core_sum_stage,
    core_tile_stage,
    core_weight_stages,
    double_buffered,
    input_withdrawn,
    weight_bank_words,
)
from spikeforge.sim.blocks.decision import decisive_classes, stops_at_tick_end

__all__ = ["SpikeforgeSystem", "InputItem", "OutputSpike", "MonitorSignature",
           "LEARNING_MIN_HIDDEN", "CLASS_COUNT_BITS"]

#: width of ``class_counts`` (the decision unit's saturating per-class spike counters)
CLASS_COUNT_BITS = 16

#: the fewest hidden neurons of a learning build: the weight changes' two registers drain
#: while the engine wipes its hidden ticks (``SpikeforgeSystem._learning_engine``)
LEARNING_MIN_HIDDEN = 3


class InputItem(data.StructLayout):
    """Payload of the ``inp`` stream: ``index`` (external input index j, an event) and
    ``last`` (1: the item is the marker that closes the current tick's input; ``index`` is
    then ignored)."""

    def __init__(self, index_bits: int):
        self.index_bits = index_bits
        super().__init__({"index": unsigned(index_bits), "last": unsigned(1)})

    def pack(self, index: int, last: bool = False) -> int:
        return (int(bool(last)) << self.index_bits) | int(index)


class OutputSpike(data.StructLayout):
    """Payload of ``out_spikes``: ``neuron`` (class index = global output neuron) and
    ``tick`` (the tick in whose update phase the neuron spiked)."""

    def __init__(self, neuron_bits: int, tick_bits: int):
        self.neuron_bits = neuron_bits
        super().__init__({"neuron": unsigned(neuron_bits), "tick": unsigned(tick_bits)})

    def unpack(self, value: int) -> tuple[int, int]:
        """``(neuron, tick)`` of a payload given as an integer."""
        return value & ((1 << self.neuron_bits) - 1), value >> self.neuron_bits


def MonitorSignature(neuron_bits: int) -> wiring.Signature:
    """A non-stalling observation port: ``valid`` pulses for one cycle per spike, ``neuron``
    is the spiking neuron's global index in its layer."""
    return wiring.Signature({"valid": Out(1), "neuron": Out(neuron_bits)})


class SpikeforgeSystem(wiring.Component):
    """A complete inference engine for one :class:`~spikeforge.ir.plan.HardwarePlan`.

    Parameters
    ----------
    plan : HardwarePlan
        Cores (one :class:`~spikeforge.hdl.core.NeuronCore` per ``CorePlan``, built from its
        ``CoreConfig``) and routes (canonical: input port -> layer 0, layer l -> l + 1,
        output layer -> decision unit).
    system : SystemConfig
        The settings every model of the system shares (:mod:`spikeforge.ir.system`):
        ``decision`` -- ``FIRST_SPIKE`` (early exit at the first output spike, see "Deciding
        at the spike" below), ``SPIKE_COUNT`` (argmax scan of ``n_classes + 2`` cycles after the last
        tick) or ``MEMBRANE_MAX`` (after the last tick the output cores' membranes are read
        through their host ports, one per cycle in class order, into the decision unit:
        ``n_classes + 2`` cycles); ``fifo_depth`` -- depth of the
        :class:`~spikeforge.hdl.router.StreamFIFO` after each merger (0: none); ``tick_bits``
        -- width of tick numbers (``n_ticks``, ``tick``, ``result_tick``,
        ``out_spikes.tick``); ``guard`` -- the :class:`~spikeforge.hdl.tick.TickController`
        guard; ``cycle_bits`` -- width of ``cycles``; ``overlap`` -- tick t + 1's input
        is taken during tick t's update phase (``inp.ready`` may then be high while
        ``tick`` is still t; a first-spike run may stop with it half taken).

    Ports (all synchronous to ``clk``; ``rst`` synchronous, active high)
    ----------------------------------------------------------------------
    start : ``In(1)``
        Sampled every cycle; while ``idle`` is high, a 1 starts an inference (and samples
        ``n_ticks``): every core is cleared, then ticks 0, 1, ... run until ``n_ticks``
        ticks are done or (FIRST_SPIKE) the first tick with an output spike ends.
        Ignored while ``busy``.
    n_ticks : ``In(tick_bits)``
        Number of ticks of the inference (>= 1), sampled with ``start``.
    inp : ``In(stream.Signature(InputItem(index_bits)))``
        External input events. For every tick t the host sends the events of tick t (items
        with ``last = 0``; ``index`` = input j, repeats allowed, at most
        ``layers[0].max_events_per_tick``), then one marker item with ``last = 1``, which
        closes tick t's input (a tick without events is just the marker). ``ready`` is high
        only during tick t's event phase (``overlap``: from tick t - 1's update phase on)
        and before its marker was taken: an event is taken when every layer-0 core accepts
        it (its ``spike_in.ready``), the marker at once. Items offered early (e.g. tick
        t + 1's during tick t's update, without ``overlap``) wait.
        The host sends its ticks in order; when ``done`` rises it drops whatever it still
        has for the inference (a first-spike network stops early, overlapped possibly in the
        middle of tick ``ticks_run``'s input; ``ready`` stays low).
    inp_copies : ``In(index_bits).array(len(layers[0]))``
        Only where ``system.input_copies`` is set: ``inp.payload.index`` once more for each
        layer-0 core, which takes its events' index from its copy (the source keeps them
        equal to ``inp.payload.index`` in every cycle: a register per core, each placed by its
        core's weight banks).
    out_spikes : ``Out(stream.Signature(OutputSpike(neuron_bits, tick_bits)))``
        Every spike of the output layer: ``neuron`` = class index, ``tick`` = its tick.
        Backpressured by ``ready`` (a stall delays the tick's end; nothing is dropped). Within
        a core's spikes of one tick the order is ascending; cores interleave round-robin.
        The decision unit sees a spike at its handshake.
    monitor : ``Out(MonitorSignature(max_neuron_bits)).array(n_layers)``
        ``monitor[l].valid`` pulses in the cycle a spike of layer l leaves its merger
        (``neuron`` = global index in layer l; tick = ``tick`` in that cycle). Observation
        only (no backpressure): lets a bench check every spike of every layer.
    done : ``Out(1)``
        The result of the last inference is valid (``result_*``); high from the end of the
        inference until the next ``start``. Low after reset.
    result_class : ``Out(signed(ceil_log2(n_classes) + 1))``
        The decision (contract): FIRST_SPIKE -1 when no output neuron spiked.
    result_tick : ``Out(tick_bits)``
        The decision tick (``NetworkTrace.decision_tick``): FIRST_SPIKE the tick of the first
        output spike, else (and without a spike) ``ticks_run - 1``.
    result_none : ``Out(1)``
        No output spike at all in the inference.
    busy / idle : ``Out(1)``
        ``busy`` rises at the edge that takes ``start`` (cycle S) and falls at the edge of
        the first cycle D at which ``done`` is high; ``idle = ~busy`` (``start`` is honoured
        from cycle D + 1).
    tick : ``Out(tick_bits)``
        The current tick. ``tick_done`` : ``Out(1)`` pulses at the end of each tick.
    ticks_run : ``Out(tick_bits + 1)``
        Ticks begun (TICK issued) in the current / last inference: at ``done``, the ticks run.
    cycles : ``Out(cycle_bits)``
        Cycles of the current inference: 0 after the start edge S, +1 per busy cycle; after
        the inference it holds ``D - S``, D = the first cycle ``done`` is sampled high
        (:func:`spikeforge.sim.system_cycle.predict_run` predicts S and D).
    error : ``Out(1)``
        Sticky until ``start``: a tick-controller protocol error or a core's ``overflow``
        (more input events in a tick than ``max_events_per_tick``). Low after reset.
    events : ``Out(cycle_bits).array(n_layers)``
        Work counter: the input events of layer l in the ticks run, i.e. the weight rows its
        cores read for the inference (every core of the layer reads its part of each row):
        for layer 0 the events taken at ``inp``, for layer l >= 1 the spikes of layer l - 1
        in ticks 0 .. ticks_run - 2 (a spike of tick t is an event of tick t + 1; the last
        tick's spikes are never integrated, and those still draining after a stop are not
        counted). Equal to the golden model's ``NetworkTrace.statistics().input_events``;
        ``events[l] * layer_size[l]`` are the weights read (synaptic operations).
    spikes : ``Out(cycle_bits).array(n_layers)``
        Work counter: the spikes of layer l reported by ``monitor[l]`` in the inference
        (FIRST_SPIKE: those of the decision tick up to the stop only).

    The counters are 0 after the start edge S and hold their values from ``done`` until the
    next start; both are bounded by ``cycles`` (one event or spike per cycle at most).
    class_counts : ``Out(16).array(n_classes)``
        SPIKE_COUNT only: the ``out_spikes`` of each class in the inference (saturating at
        2**16 - 1): the decision unit's counters, read by the board engine's reply. Valid
        while ``done``, until the next start.

    Learning builds (``learning``: a :class:`~spikeforge.ir.learning.LearningConfig`; the
    on-chip learning engine, :mod:`spikeforge.hdl.learning`, docs/learning.md section 6)
    have four ports more:

    train : ``In(1)``
        Sampled with ``start``: a *training inference*, which the decision does not stop
        (every tick runs; ``result_*`` as ever) and whose first spikes the engine records.
    learn : ``In(stream.Signature(command_layout(learning)))``
        ``label`` and ``lr_decay`` of the sample just run; taken while the system is idle.
        The update writes every inference weight that moves into the cores.
    learn_busy : ``Out(1)``
        The update runs (``update_cycles``); ``start`` waits for it.
    store : ``In(StoreBusSignature(StoreMap(learning)))``
        The engine's stores, read and written while it is idle (latency 1).

    Deciding at the spike (FIRST_SPIKE)
    -----------------------------------
    The decision unit decides at the ``out_spikes`` handshake (cycle h) of a spike of the
    output core owning classes ``0 .. N0 - 1`` (:func:`~spikeforge.sim.blocks.decision.decisive_classes`;
    with one output core: the first output spike); a tick whose only spikes come from other
    output cores is decided at its ``tick_done`` (cycle h), as a lower class could still
    arrive. ``result_*`` and ``done`` are valid from h + 1 (``done`` = the decision unit's
    ``valid`` and its ``stop``, or the tick controller's ``done``); the tick controller ends
    the run in cycle h + 1 and issues no further tick. Only what the decision needs is
    reported: from the cycle after the deciding handshake (``stop`` high) and outside the
    event and update phases, output packets are consumed and dropped (``out_spikes.valid``
    low, whatever ``out_spikes.ready``) and no ``monitor`` pulse is given. The work still in
    flight then (cores finishing the stopped tick's update phase, spikes in mergers, FIFOs
    and routers) drains without a trace: its spikes reach their cores as events that the next
    inference's CLEAR erases, and that CLEAR is issued only once everything is quiet, at
    least ``guard`` cycles after the stop (:class:`~spikeforge.hdl.tick.TickController`), so
    the next inference is unaffected. A ``start`` may come from h + 2 (the drain delays
    that inference's CLEAR, and :mod:`spikeforge.sim.system_cycle` predicts by how much).
    """

    def __init__(self, plan, system: SystemConfig = SystemConfig(),
                 learning: LearningConfig | None = None):
        if not isinstance(system, SystemConfig):
            raise ConfigError(f"system: must be a SystemConfig, got {type(system).__name__}")
        self.learning = learning
        self.plan = plan
        self.system = system
        self.decision_mode = system.decision
        self.fifo_depth = system.fifo_depth
        self.tick_bits = tick_bits = system.tick_bits
        self.guard = system.guard
        cycle_bits = system.cycle_bits
        self.layers, self.routes = check_plan(plan)
        self.n_layers = len(self.layers)
        check_double_buffer(system, self.n_layers)
        self.layer_sizes = [sum(c.n_neurons for c in cores) for cores in self.layers]
        self.n_classes = self.layer_sizes[-1]
        self.input_layout = InputItem(index_bits_for(plan.n_inputs))
        self.out_layout = OutputSpike(index_bits_for(self.n_classes), tick_bits)
        self.monitor_bits = max(index_bits_for(n) for n in self.layer_sizes)
        ports = {}
        if self.decision_mode is Decision.SPIKE_COUNT:
            ports["class_counts"] = Out(CLASS_COUNT_BITS).array(self.n_classes)
        if system.input_copies:
            ports["inp_copies"] = In(self.input_layout.index_bits).array(len(self.layers[0]))
        if learning is not None:
            self._check_learning(learning)
            ports |= {"train": In(1), "learn": In(stream.Signature(command_layout(learning))),
                      "learn_busy": Out(1), "store": In(StoreBusSignature(StoreMap(learning)))}
        super().__init__({
            "start": In(1),
            "n_ticks": In(tick_bits),
            "inp": In(stream.Signature(self.input_layout)),
            "out_spikes": Out(stream.Signature(self.out_layout)),
            "monitor": Out(MonitorSignature(self.monitor_bits)).array(self.n_layers),
            "done": Out(1),
            "result_class": Out(signed(max(1, ceil_log2(self.n_classes)) + 1)),
            "result_tick": Out(tick_bits),
            "result_none": Out(1),
            "busy": Out(1),
            "idle": Out(1),
            "tick": Out(tick_bits),
            "tick_done": Out(1),
            "ticks_run": Out(tick_bits + 1),
            "cycles": Out(cycle_bits),
            "error": Out(1),
            "events": Out(cycle_bits).array(self.n_layers),
            "spikes": Out(cycle_bits).array(self.n_layers),
            **ports,
        })

    def _check_learning(self, learning) -> None:
        """A learning build needs the network the engine learns: two layers, the first-spike
        decision, the engine's geometry, and stores that read as the plan's weights."""
        if not isinstance(learning, LearningConfig):
            raise ConfigError(f"learning: must be a LearningConfig or None, got "
                              f"{type(learning).__name__}")
        if self.n_layers != 2 or self.decision_mode is not Decision.FIRST_SPIKE:
            raise ConfigError(f"learning: the engine learns a two-layer first-spike network, got "
                              f"{self.n_layers} layers deciding by {self.decision_mode.value}")
        sizes = (self.plan.n_inputs, *self.layer_sizes)
        if sizes != (learning.n_inputs, learning.n_hidden, learning.n_outputs):
            raise ConfigError(f"learning: the engine is {learning.n_inputs}-{learning.n_hidden}-"
                              f"{learning.n_outputs}, the plan {'-'.join(map(str, sizes))}")
        if learning.n_hidden < LEARNING_MIN_HIDDEN:
            raise ConfigError(f"learning: a learning build needs at least "
                              f"{LEARNING_MIN_HIDDEN} hidden neurons (its weight writes drain "
                              f"while the engine wipes the hidden ticks), got "
                              f"{learning.n_hidden}")
        if learning.ticks >= 1 << self.tick_bits:
            raise ConfigError(f"learning: {learning.ticks} ticks do not fit tick_bits = "
                              f"{self.tick_bits}")
        for l, cores in enumerate(self.layers):
            for c in cores:
                if c.config.params.weight_shift:  # the rule's stores are the weights' units
                    raise ConfigError(f"learning: layer {l} has weight_shift "
                                      f"{c.config.params.weight_shift}; the learning engine "
                                      f"needs 0")
                store = learning.stores[l][:, c.neuron_offset:c.neuron_offset + c.n_neurons]
                bad = np.argwhere((store >> learning.frac_bits) != c.config.weights)
                if c.config.params.weight_bits != learning.weight_bits[l] or len(bad):
                    where = (f"weight [{bad[0][0]}, {bad[0][1] + c.neuron_offset}]" if len(bad)
                             else "weight_bits")
                    raise ConfigError(f"learning: stores[{l}] >> frac_bits is not the plan's "
                                      f"layer {l} ({where} differs)")

    def _bank_words(self, config) -> int:
        """Words per weight bank of a core (0: one memory), from ``system.weight_banks``."""
        family = self.system.weight_banks
        width = config.lanes * config.params.weight_bits
        return weight_bank_words(width, family, config.n_inputs * config.words) if family else 0

    def elaborate(self, platform):
        m = Module()
        layers, routes = self.layers, self.routes
        L = self.n_layers
        cores = {}
        flat = []
        for l, layer in enumerate(layers):
            for c in layer:
                # commands first: the controller offers them only at quiet (no event beside)
                core = NeuronCore(c.config, weight_bank_words=self._bank_words(c.config),
                                  full_banks=self.system.full_banks,
                                  lane_copies=self.system.lane_copies,
                                  events_first=False,
                                  state_block_ram=self.system.state_memories == "block",
                                  weight_stages=core_weight_stages(self.system,
                                                                   c.config.words),
                                  sum_stage=core_sum_stage(self.system, c.config.words),
                                  double_buffer=double_buffered(self.system.double_buffer, l),
                                  tile_stage=core_tile_stage(self.system, l, L, c.config.lanes,
                                                             c.config.words))
                m.submodules[f"core_{l}_{c.index}"] = core
                cores[(l, c.index)] = core
                flat.append(core)
        links = []

        ctrl = TickController(len(flat), n_links=0, tick_bits=self.tick_bits, guard=self.guard,
                              overlap=self.system.overlap,
                              stops=stops_at_tick_end(self.decision_mode, self.plan))
        m.submodules.ctrl = ctrl
        out_mb = layers[-1][0].config.params.membrane_bits
        dec = DecisionUnit(self.n_classes, self.decision_mode, index_bits=self.out_layout.neuron_bits,
                           tick_bits=self.tick_bits, membrane_bits=out_mb,
                           count_bits=CLASS_COUNT_BITS, decisive_below=decisive_classes(self.plan))
        m.submodules.decision = dec
        if self.decision_mode is Decision.SPIKE_COUNT:
            m.d.comb += [port.eq(c) for port, c in zip(self.class_counts, dec.counts)]
        # a training inference (learning builds) runs every tick: the decision does not stop it
        stop = dec.stop
        if self.learning is not None:
            training = Signal()
            stop = dec.stop & ~training
        # live: spikes are part of the inference (inside a tick, before a decision's stop);
        # spikes draining after a stop are dropped, not reported
        live = Signal()
        in_tick = Signal()
        m.d.comb += [in_tick.eq(ctrl.event_phase | ctrl.update_phase), live.eq(in_tick & ~stop)]

        # -- input port -> layer-0 cores ----------------------------------------------------
        in_route = routes[(INPUT_PORT, 0)]
        dest0 = list(in_route.destination_cores)
        n0 = len(layers[0])
        mc_in = Multicast(unsigned(self.input_layout.index_bits), n0,
                          withdraw=input_withdrawn(self.system))
        m.submodules.input_multicast = mc_in
        # the window (the controller's input_open, until the tick's marker is taken) is a
        # flip-flop of the controller's: the input handshake into every layer-0 core then
        # starts from one register (stop 36: input_open & ~closed in front of it made the
        # iCE40 build's critical path, closed -> 7 LUTs -> a core's idle). A marker is taken
        # whenever it is offered in the window (its ready does not wait for the multicast).
        accepting = ctrl.input_accepting
        m.d.comb += [
            mc_in.i.valid.eq(self.inp.valid & accepting & ~self.inp.payload.last),
            mc_in.i.payload.eq(self.inp.payload.index),
            mc_in.dest.eq(sum(1 << d for d in dest0)),
            self.inp.ready.eq(accepting & (self.inp.payload.last | mc_in.i.ready)),
            ctrl.input_marker.eq(self.inp.valid & accepting & self.inp.payload.last),
        ]
        input_idle = Signal()
        m.d.comb += input_idle.eq(~accepting)
        # the multicast's idle (= ~i.valid) is not a link of its own: wherever input_idle is
        # 1, accepting is 0, so i.valid is 0 and the multicast is idle; leaving it out keeps
        # the input handshake (inp.valid, from outside) off the controller's quiet (the iCE40
        # critical path at stop 31: busy & the slice's r_rdy -> i.valid -> the AND of the
        # idle bits -> quiet, 23.8 ns)
        links.append(input_idle)
        # spike_in sources per core
        spike_in_src = {}
        for d in range(n0):
            spike_in_src[(0, d)] = mc_in.o[d]

        # -- layer l -> layer l + 1, and the output layer -> out_spikes ---------------------
        dec_hit = None  # the decision's spike handshake (the last layer's)
        for l, layer in enumerate(layers):
            K = len(layer)
            out_bits = max(len(cores[(l, c.index)].spike_out.payload) for c in layer)
            merger = SpikeMerger(K, out_bits)
            m.submodules[f"merger_{l}"] = merger
            links.append(merger.idle)
            for k in range(K):
                src = cores[(l, k)].spike_out
                m.d.comb += [
                    merger.i[k].valid.eq(src.valid),
                    merger.i[k].payload.eq(src.payload),
                    src.ready.eq(merger.i[k].ready),
                ]
            offsets = {k: routes[(l, k)].source_offset for k in range(K)}
            # monitor: the merger's output handshake
            mon_offset = Signal(self.monitor_bits)
            with m.Switch(merger.o.payload.source):
                for k, off in offsets.items():
                    if off:
                        with m.Case(k):
                            m.d.comb += mon_offset.eq(off)
            m.d.comb += [
                self.monitor[l].valid.eq(merger.o.valid & merger.o.ready & live),
                self.monitor[l].neuron.eq(merger.o.payload.index + mon_offset),
            ]
            if self.fifo_depth:
                fifo = StreamFIFO(merger.layout, self.fifo_depth)
                m.submodules[f"fifo_{l}"] = fifo
                links.append(fifo.idle)
                wiring.connect(m, merger.o, fifo.i)
                packets = fifo.o
            else:
                packets = merger.o
            if l < L - 1:
                n_dest = len(layers[l + 1])
                table = {k: list(routes[(l, k)].destination_cores) for k in range(K)}
                offs = {(k, d): offsets[k] for k in range(K) for d in table[k]}
                in_bits = index_bits_for(layers[l + 1][0].n_inputs)
                router = SpikeRouter(merger.layout, n_dest, table, offsets=offs,
                                     out_index_bits=in_bits)
                m.submodules[f"router_{l}"] = router
                links.append(router.idle)
                wiring.connect(m, packets, router.i)
                for d in range(n_dest):
                    spike_in_src[(l + 1, d)] = router.o[d]
            else:
                out_offset = Signal(self.out_layout.neuron_bits)
                with m.Switch(packets.payload.source):
                    for k, off in offsets.items():
                        if off:
                            with m.Case(k):
                                m.d.comb += out_offset.eq(off)
                m.d.comb += [
                    self.out_spikes.valid.eq(packets.valid & live),
                    self.out_spikes.payload.neuron.eq(packets.payload.index + out_offset),
                    self.out_spikes.payload.tick.eq(ctrl.tick),
                    packets.ready.eq(self.out_spikes.ready | ~live),
                ]
                # the decision reads the output handshake without the stop, which rises
                # with its valid, after which it reads no spike: through live, the stop
                # reached its own enable (stop -> live -> the decision's hit -> decide ->
                # stop, the iCE40 TTFS demo's critical path at stop 54, 21.4 ns)
                dec_hit = packets.valid & in_tick & self.out_spikes.ready
        for (l, k), core in cores.items():
            src = spike_in_src[(l, k)]
            copied = self.system.input_copies and l == 0
            m.d.comb += [
                core.spike_in.valid.eq(src.valid),
                core.spike_in.payload.eq(self.inp_copies[k] if copied else src.payload),
                src.ready.eq(core.spike_in.ready),
            ]

        # -- tick controller --------------------------------------------------------------
        ctrl_links = Signal(len(links))
        m.d.comb += ctrl_links.eq(Cat(*links))
        quiet_links = Signal()
        m.d.comb += quiet_links.eq(ctrl_links.all())
        # TickController was built with n_links=0: fold the links into the core_idle bits
        for k, core in enumerate(flat):
            wiring.connect(m, ctrl.command[k], core.command)
            m.d.comb += ctrl.core_idle[k].eq(core.idle & quiet_links)

        busy = Signal()
        m.d.comb += [
            ctrl.start.eq(self.start & ~busy if self.learning is None
                          else self.start & ~busy & ~self.learn_busy),
            ctrl.n_ticks.eq(self.n_ticks),
            ctrl.stop.eq(stop),
            dec.tick.eq(ctrl.tick),
            dec.tick_done.eq(ctrl.tick_done),
            dec.clear.eq(ctrl.clear),
            dec.finish.eq(ctrl.finished),
            dec.spike.valid.eq(dec_hit),
            dec.spike.payload.eq(self.out_spikes.payload.neuron),
        ]

        # -- membrane read-out (MEMBRANE_MAX) ---------------------------------------------
        if self.decision_mode is Decision.MEMBRANE_MAX:
            n = self.n_classes
            reading = Signal()
            g = Signal(range(n + 1))  # the class whose membrane is read this cycle
            with m.If(reading):
                m.d.sync += g.eq(g + 1)
                with m.If(g == n - 1):
                    m.d.sync += reading.eq(0)
            with m.If(ctrl.finished):
                m.d.sync += [reading.eq(1), g.eq(0)]
            r_valid, r_value = [], 0
            for c in layers[-1]:
                core = cores[(L - 1, c.index)]
                ib = core.host_map.index_bits
                sel = reading & (g >= c.neuron_offset) & (g < c.neuron_offset + c.n_neurons)
                local = Signal(ib)
                m.d.comb += [
                    local.eq(g - c.neuron_offset),
                    core.host.addr.eq(Cat(local, C(int(Region.MEMBRANE), 3))),
                    core.host.r_en.eq(sel),
                ]
                r_valid.append(core.host.r_valid)
                r_value = Mux(core.host.r_valid, core.host.r_data[:out_mb].as_signed(), r_value)
            m.d.comb += [
                dec.membrane.valid.eq(Cat(*r_valid).any()),
                dec.membrane.payload.eq(r_value),
            ]

        # -- result, status, cycle counter ------------------------------------------------
        done = Signal()
        m.d.comb += [
            done.eq(dec.valid & (ctrl.done | stop)),
            self.done.eq(done),
            self.result_class.eq(dec.cls),
            self.result_none.eq(dec.none),
            self.busy.eq(busy),
            self.idle.eq(~busy),
            self.tick.eq(ctrl.tick),
            self.tick_done.eq(ctrl.tick_done),
            self.ticks_run.eq(ctrl.ticks_run),
        ]
        if self.decision_mode is Decision.FIRST_SPIKE:
            m.d.comb += self.result_tick.eq(Mux(dec.none, ctrl.ticks_run - 1, dec.first_tick))
        else:
            m.d.comb += self.result_tick.eq(ctrl.ticks_run - 1)
        def starting():  # a start is taken (not while the learning engine writes weights)
            begin = self.start & ~busy
            return begin if self.learning is None else begin & ~self.learn_busy

        with m.If(busy):
            m.d.sync += self.cycles.eq(self.cycles + 1)
            with m.If(done):
                m.d.sync += busy.eq(0)
        with m.If(starting()):
            m.d.sync += [busy.eq(1), self.cycles.eq(0)]
        overflow = Signal()
        m.d.comb += overflow.eq(Cat(c.overflow for c in flat).any())
        error = Signal()
        # A core's overflow stays up until its CLEAR; latching it only while ticks run keeps
        # the previous inference's overflow out of the next one (between start and CLEAR).
        with m.If(overflow & (ctrl.event_phase | ctrl.update_phase)):
            m.d.sync += error.eq(1)
        with m.If(starting()):
            m.d.sync += error.eq(0)
        m.d.comb += self.error.eq(error | ctrl.error)
        self._work_counters(m, ctrl, mc_in.i.valid & mc_in.i.ready, start=starting())
        if self.learning is not None:
            with m.If(starting()):
                m.d.sync += training.eq(self.train)
            self._learning_engine(m, cores, ctrl, training, busy, mc_in)
        return m

    def _learning_engine(self, m, cores, ctrl, training, busy, mc_in):
        """The learning engine (learning builds): it records a training inference's first
        spikes (the input events taken, the layers' monitor pulses, at ``tick``), takes
        ``learn`` commands between inferences, and its weight changes go into the cores'
        weight memories through their host ports (the cores are idle then).

        The changes pass two registers on their way: the engine's port (combinational from
        its write-back arithmetic), then each core's word index (``pre * n + post``) and the
        core's own address decode would otherwise be one path (29.8 MHz on the ECP5 for
        digits, against the engine's 55; 54.8 MHz with the registers). ``learn_busy`` stays
        high while a change is in them; the engine's last change comes in the second cycle
        of its WIPE pass (H cycles, then DONE) at the latest, so with ``n_hidden >=``
        :data:`LEARNING_MIN_HIDDEN` (checked) both registers are empty when the engine's
        ``busy`` falls and ``learn_busy`` is ``busy``, cycle for cycle
        (:func:`~spikeforge.hdl.learning.update_cycles`)."""
        m.submodules.learning = engine = LearningEngine(self.learning)
        taps = ((mc_in.i.valid & mc_in.i.ready, self.inp.payload.index),
                (self.monitor[0].valid, self.monitor[0].neuron),
                (self.monitor[1].valid, self.monitor[1].neuron))
        for layer, (valid, neuron) in zip(SpikeLayer, taps):
            rec = engine.record[layer]
            m.d.comb += [rec.valid.eq(valid & training), rec.neuron.eq(neuron),
                         rec.tick.eq(ctrl.tick)]
        m.d.comb += [
            engine.command.valid.eq(self.learn.valid & ~busy),
            engine.command.payload.eq(self.learn.payload),
            self.learn.ready.eq(engine.command.ready & ~busy),
            engine.host.addr.eq(self.store.addr), engine.host.w_en.eq(self.store.w_en),
            engine.host.w_data.eq(self.store.w_data), engine.host.r_en.eq(self.store.r_en),
            self.store.r_data.eq(engine.host.r_data), self.store.r_valid.eq(engine.host.r_valid),
        ]
        port = engine.weight  # register 1: the port's fields
        changed, layer_bit, pre, post, value_in = (
            Signal.like(getattr(port, name), name=f"learn_change_{name}")
            for name in ("valid", "layer", "pre", "post", "value"))
        m.d.sync += [changed.eq(port.valid), layer_bit.eq(port.layer), pre.eq(port.pre),
                     post.eq(port.post), value_in.eq(port.value)]
        writing = [changed]
        for l, layer in enumerate(self.layers):
            for c in layer:
                core = cores[(l, c.index)]
                local = post - c.neuron_offset
                mine = ((layer_bit == l) & (post >= c.neuron_offset)
                        & (post < c.neuron_offset + c.n_neurons))
                index = Signal(core.host_map.index_bits, name=f"learn_index_{l}_{c.index}")
                value = Signal.like(core.host.w_data, name=f"learn_value_{l}_{c.index}")
                write = Signal(name=f"learn_write_{l}_{c.index}")
                m.d.sync += [  # register 2: the core's word and write enable
                    index.eq(pre * c.n_neurons + local),
                    value.eq(value_in),
                    write.eq(changed & mine),
                ]
                m.d.comb += [
                    core.host.addr.eq(Cat(index, C(int(Region.WEIGHT), 3))),
                    core.host.w_data.eq(value),
                    core.host.w_en.eq(write),
                ]
                writing.append(write)
        m.d.comb += self.learn_busy.eq(engine.busy | Cat(writing).any())

    def _work_counters(self, m, ctrl, input_taken, start):
        """``events`` and ``spikes`` (see the class docstring). A layer's spikes of the
        current tick are held in ``this_tick`` and become the next layer's events in the
        next tick's event phase -- only if there is one, so that the last tick's spikes (and
        a stopped tick's) never count as events. No spike leaves a core in an event phase
        (cores spike in the update phase, and the tick before ended quiet), so ``this_tick``
        is added in the phase's first cycle and is 0 in the others.

        The input events are counted a cycle after they are taken (``taken``, registered):
        the take depends on every layer-0 core's readiness through the multicast, and as an
        enable of the 32-bit counter it was the iCE40 build's critical path. An inference
        takes its last input in an event phase, long before ``done`` -- or, overlapped, in
        the update phase of the tick before: a first-spike run may stop there with the next
        tick's input half taken, so those events are held in ``next_tick_in`` and counted in
        the next tick's event phase, where there is one (as the spikes of a tick are)."""
        taken = Signal()
        m.d.sync += taken.eq(input_taken)
        if self.system.overlap and self.decision_mode is Decision.FIRST_SPIKE:
            # as wide as the counter: a tick beyond max_events_per_tick (an error) is still
            # counted exactly
            held = Signal.like(self.events[0], name="next_tick_in", reset_less=True)
            with m.If(start):
                m.d.sync += held.eq(0)
            with m.Elif(ctrl.event_phase):
                m.d.sync += [held.eq(0), self.events[0].eq(self.events[0] + held + taken)]
            with m.Elif(taken):
                m.d.sync += held.eq(held + 1)
        else:
            with m.If(taken):
                m.d.sync += self.events[0].eq(self.events[0] + 1)
        for l in range(self.n_layers):
            mon = self.monitor[l].valid
            with m.If(mon):
                m.d.sync += self.spikes[l].eq(self.spikes[l] + 1)
            with m.If(start):
                m.d.sync += [self.spikes[l].eq(0), self.events[l].eq(0)]
            if l + 1 == self.n_layers:
                break
            # counted a cycle after the monitor pulse (``seen``), and with no reset (``start``
            # zeroes it before every run): its enable then ORs neither the domain reset nor
            # the merger's handshake (the iCE40 digits-l2 build's critical path, 21.7 ns,
            # ran from the reset through both into this enable). A spike's pulse is at least
            # three cycles before the next event phase (the registered quiet sees its packet
            # in the link or the destination core busy), so ``seen`` lands before it.
            seen = Signal(name=f"spike_seen_{l}")
            m.d.sync += seen.eq(mon)
            this_tick = Signal(range(self.layer_sizes[l] + 1), name=f"spikes_this_tick_{l}",
                               reset_less=True)
            with m.If(start):
                m.d.sync += this_tick.eq(0)
            with m.Elif(ctrl.event_phase):
                m.d.sync += [this_tick.eq(0),
                             self.events[l + 1].eq(self.events[l + 1] + this_tick)]
            with m.Elif(seen):
                m.d.sync += this_tick.eq(this_tick + 1)
