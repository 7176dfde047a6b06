"""The on-chip learning engine: the popcount rule of :mod:`spikeforge.sim.learning` in
RTL, one training sample at a time (``batch_size = 1``, the chip's online rule).

The engine keeps the learning weights -- the ``B + F``-bit stores ``acc`` of both layers,
of which the forward pass reads ``acc >> F`` -- and the first spike tick of every input,
hidden and output neuron of the sample, which it records from three observation ports as
the forward pass produces them. A ``command`` (the label and the step's right shift
``lr_decay``) applies the rule: the same quantities, in the same order, as the docstring of
:mod:`spikeforge.sim.learning` (window ``"strict"``, revive ``"end"``, slow-down
``"first"``, feature ``"ramp"``); every operation is a compare, an add, a clip, a shift or a
sign (no multiplier).

Passes of one update (``N``, ``H``, ``M`` = inputs, hidden, outputs; ``T`` = ticks; a
missing spike reads as tick ``T``)::

    SCAN   M cycles   t_dec = min_o t_o; t_off = the earliest offender's tick
                      (o != c, t_o <= t_c + margin), with c the label
    PREP   1 cycle    r = min(t_dec, T - 1), r_end = min(t_dec + margin, T - 1),
                      learn = (t_c = T) or an offender exists
    OUT    H*M cycles for h, for o: acc_ho += s_o * ((g(r - t_h) << shift_out) >> lr_decay)
                      (saturating); votes of the pre-update sign of acc_ho >> F counted
                      in two popcounts; at o = M - 1: s_h = sign(up - down)
    ROW    2 cycles   per input j: read t_j; rows with no spike or t_j > r_end are left
                      alone (no step of the rule touches them)
    COLS   H cycles   per touched row, for h: acc_jh += s_h * ((g(t_h - t_j + 1) <<
                      shift_hidden) >> lr_decay) + [t_h >= r_end] * ((g(r_end - t_j + 1)
                      << shift_revive) >> lr_decay), one saturation
    WIPE   H cycles   the hidden ticks forgotten (ROW forgets each input's)
    DONE   1 cycle

so an update keeps ``busy`` high for ``M + 1 + H*M + 2*N + H*touched + H + 1`` cycles
after the command's handshake (``touched``: inputs with a spike at or before ``r_end``;
without a hidden pass, ``shift_hidden = None``: ``M + 1 + H*M + H + 1``):
:func:`update_cycles`. OUT and COLS are a three-stage pipeline, one weight per cycle: stage
0 addresses the memories, stage 1 computes the step from their read data, the write-back
stage adds it, saturates and writes the store (its last write falls in WIPE or DONE, so
the pipeline adds no cycle).

A tick memory word is the tick with a ``recorded`` bit above it; the engine clears every
word it has read before the next sample, so a neuron that does not spike reads as tick ``T``
(a parity or generation tag instead would alias after a few samples).

Interfaces:

* ``record`` (in), one per :class:`SpikeLayer` (inputs, hidden, outputs):
  :func:`RecordSignature` -- ``valid`` pulses once per spike, ``neuron``, ``tick`` (< ``T``);
  no backpressure, all three may pulse in one cycle. Taken while idle, ignored while busy.
  A neuron spikes at most once per sample (``fire_once``; one input event per input). A
  sample's records must be followed by its command: the engine forgets them only in the
  update;
* ``command`` (in): :func:`command_layout` -- ``label``, ``lr_decay``: ready while idle;
  ``busy`` is high from the cycle after its handshake to the end of DONE;
* ``weight`` (out): :func:`WeightChangeSignature` -- ``valid`` pulses in the cycle the
  update writes a stored weight whose inference weight ``acc >> F`` changed, with
  ``layer``, ``pre``, ``post`` and the new ``value`` (signed ``B`` bits): what the
  inference cores must be told (:class:`~spikeforge.hdl.system.SpikeforgeSystem` writes it
  into their weight memories);
* ``host`` (in): :class:`StoreBusSignature` -- the stores, read and written while idle
  (read latency 1), address ``(layer << index_bits) | index`` with index ``j * H + h``
  (layer 0) or ``h * M + o`` (layer 1), data the signed ``acc`` sign-extended to 32 bits.
"""

from __future__ import annotations

import enum as py_enum
from types import SimpleNamespace

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from spikeforge.ir.errors import ConfigError
from spikeforge.ir.learning import LR_DECAY_BITS, LearningConfig
from spikeforge.ir.params import signed_range

__all__ = ["SpikeLayer", "RecordSignature", "WeightChangeSignature", "command_layout",
           "StoreMap", "StoreBusSignature", "LearningEngine", "update_cycles",
           "STORE_DATA_BITS"]

STORE_DATA_BITS = 32  #: width of ``host.w_data`` / ``host.r_data``


class SpikeLayer(py_enum.IntEnum):
    """The ``layer`` field of a spike: whose first spike it is."""

    INPUT = 0
    HIDDEN = 1
    OUTPUT = 2


def _tick_bits(config: LearningConfig) -> int:
    return max(1, config.ticks.bit_length())  # holds T, the "no spike" tick


def _neuron_bits(config: LearningConfig) -> int:
    return max(1, ceil_log2(max(config.n_inputs, config.n_hidden, config.n_outputs)))


def RecordSignature(config: LearningConfig) -> wiring.Signature:
    """A first-spike observation port (from the observer's view: all members ``Out``)."""
    return wiring.Signature({"valid": Out(1), "neuron": Out(_neuron_bits(config)),
                             "tick": Out(_tick_bits(config))})


def WeightChangeSignature(config: LearningConfig) -> wiring.Signature:
    """The inference-weight change port, from the engine's view."""
    return wiring.Signature({"valid": Out(1), "layer": Out(1), "pre": Out(_neuron_bits(config)),
                             "post": Out(_neuron_bits(config)),
                             "value": Out(signed(max(config.weight_bits)))})


def command_layout(config: LearningConfig) -> data.StructLayout:
    """Payload of ``command``: ``label`` in the low bits, then ``lr_decay``."""
    return data.StructLayout({"label": max(1, ceil_log2(config.n_outputs)),
                              "lr_decay": LR_DECAY_BITS})


class StoreMap:
    """The host address map of the stores: ``(layer << index_bits) | index``."""

    def __init__(self, config: LearningConfig):
        self.depths = (config.n_inputs * config.n_hidden, config.n_hidden * config.n_outputs)
        self.shapes = ((config.n_inputs, config.n_hidden), (config.n_hidden, config.n_outputs))
        self.index_bits = max(1, ceil_log2(max(self.depths)))
        self.addr_bits = self.index_bits + 1

    def address(self, layer: int, pre: int, post: int) -> int:
        """Host address of the stored weight from ``pre`` to ``post`` in ``layer``."""
        rows, cols = self.shapes[layer]
        if not (0 <= pre < rows and 0 <= post < cols):
            raise ValueError(f"store address: weight [{pre}, {post}] is outside layer {layer}'s "
                             f"[{rows}, {cols}]")
        return (layer << self.index_bits) | (pre * cols + post)


class StoreBusSignature(wiring.Signature):
    """The stores' host bus from the host's view (the members of the core's host bus, so
    one driver serves both): ``addr``, ``w_en``, ``w_data``, ``r_en`` from the host,
    ``r_data``, ``r_valid`` from the engine."""

    def __init__(self, store_map: StoreMap):
        self.store_map = store_map
        super().__init__({"addr": Out(store_map.addr_bits), "w_en": Out(1),
                          "w_data": Out(STORE_DATA_BITS), "r_en": Out(1),
                          "r_data": In(STORE_DATA_BITS), "r_valid": In(1)})


def update_cycles(config: LearningConfig, touched_rows: int) -> int:
    """The cycles an update keeps ``busy`` high (see the module docstring): a command
    accepted at cycle ``c`` leaves the engine idle again from cycle ``c + update_cycles + 1``;
    ``touched_rows`` inputs spiked at or before ``r_end``."""
    m, h, n = config.n_outputs, config.n_hidden, config.n_inputs
    hidden = 2 * n + h * touched_rows if config.learns_hidden else 0
    return m + 1 + h * m + hidden + h + 1


class LearningEngine(wiring.Component):
    """The popcount rule's learning engine for ``config`` (module docstring).

    Signature
    ---------
    record : ``In(RecordSignature(config)).array(3)``
    command : ``In(stream.Signature(command_layout(config)))``
    busy : ``Out(1)``
    weight : ``Out(WeightChangeSignature(config))``
    host : ``In(StoreBusSignature(StoreMap(config)))``
    """

    def __init__(self, config: LearningConfig):
        if not isinstance(config, LearningConfig):
            raise ConfigError(f"config: must be a LearningConfig, got {type(config).__name__}")
        self.config = config
        self.store_map = StoreMap(config)
        super().__init__({
            "record": In(RecordSignature(config)).array(len(SpikeLayer)),
            "command": In(stream.Signature(command_layout(config))),
            "busy": Out(1),
            "weight": Out(WeightChangeSignature(config)),
            "host": In(StoreBusSignature(self.store_map)),
        })

    # -- arithmetic of the rule (combinational) ---------------------------------------------

    def _ramp(self, m, n):
        """``g(n) = min(n, R)`` for ``n >= 1``, else 0."""
        ramp = self.config.ramp
        g = Signal(range(ramp + 1))
        m.d.comb += g.eq(Mux(n < 1, 0, Mux(n > ramp, ramp, n)))
        return g

    def _step(self, g, shift, lr_decay):
        """``(g << shift) >> lr_decay`` (non-negative)."""
        return (g << shift) >> lr_decay

    @staticmethod
    def _saturate(m, value, bits, name):
        lo, hi = signed_range(bits)
        out = Signal(signed(bits), name=name)
        m.d.comb += out.eq(Mux(value > hi, hi, Mux(value < lo, lo, value)))
        return out

    def elaborate(self, platform):
        cfg = self.config
        N, H, M, T = cfg.n_inputs, cfg.n_hidden, cfg.n_outputs, cfg.ticks
        R = cfg.ramp
        tb = _tick_bits(cfg)
        tick = unsigned(tb)
        wide = signed(tb + 3)  # tick differences and sums with the margin
        m = Module()

        # -- memories: tick of each input / hidden neuron (with its "recorded" bit), the
        # hidden deltas, the two stores
        m.submodules.t_in = t_in = Memory(shape=unsigned(tb + 1), depth=N, init=[])
        m.submodules.t_hid = t_hid = Memory(shape=unsigned(tb + 1), depth=H, init=[])
        m.submodules.s_hid = s_hid = Memory(shape=signed(2), depth=H, init=[])
        acc_bits = (cfg.acc_bits(0), cfg.acc_bits(1))
        m.submodules.store0 = store0 = Memory(shape=signed(acc_bits[0]), depth=N * H,
                                              init=[int(x) for x in cfg.stores[0].ravel()])
        m.submodules.store1 = store1 = Memory(shape=signed(acc_bits[1]), depth=H * M,
                                              init=[int(x) for x in cfg.stores[1].ravel()])
        t_in_w, t_in_r = t_in.write_port(), t_in.read_port()
        t_hid_w, t_hid_r = t_hid.write_port(), t_hid.read_port()
        s_hid_w, s_hid_r = s_hid.write_port(), s_hid.read_port()
        st0_w, st0_r = store0.write_port(), store0.read_port()
        st1_w, st1_r = store1.write_port(), store1.read_port()

        t_out = [Signal(tick, name=f"t_out_{o}") for o in range(M)]
        out_seen = Signal(M)

        def recorded(word):
            """The tick of a tick-memory word, ``T`` unless recorded in this sample."""
            return Mux(word[tb], word[:tb], T)

        def out_tick(o):
            """Output ``o``'s first spike tick, ``T`` if it did not spike in this sample."""
            return Mux(out_seen.bit_select(o, 1), _select(m, t_out, o, tick), T)

        # -- registers of one update
        label = Signal(range(max(2, M)))
        lr_decay = Signal(LR_DECAY_BITS)
        t_c, t_dec, t_off = Signal(tick), Signal(tick), Signal(tick)
        r, r_end = Signal(tick), Signal(tick)
        learn, offender = Signal(), Signal()
        o_cnt = Signal(range(max(2, M)))
        h_cnt = Signal(range(max(2, H)))
        j_cnt = Signal(range(max(2, N)))
        addr0 = Signal(range(max(2, N * H + 1)))
        addr1 = Signal(range(max(2, H * M + 1)))
        t_j = Signal(tick)
        revive = Signal(range((R << (cfg.shift_revive or 0)) + 1))
        up_votes = Signal(range(M + 1))
        down_votes = Signal(range(M + 1))

        # stage 1 of the OUT and COLS pipelines
        out_v, out_o, out_h, out_addr = (Signal(name="out_v"), Signal.like(o_cnt, name="out_o"),
                                         Signal.like(h_cnt, name="out_h"),
                                         Signal.like(addr1, name="out_addr"))
        col_v, col_addr = Signal(name="col_v"), Signal.like(addr0, name="col_addr")
        col_j, col_h = Signal.like(j_cnt, name="col_j"), Signal.like(h_cnt, name="col_h")
        m.d.sync += [out_v.eq(0), col_v.eq(0)]

        idle = Signal()
        cmd = self.command
        m.d.comb += [cmd.ready.eq(idle), self.busy.eq(~idle)]

        # -- recording the forward pass's first spikes (each layer has its own memory)
        rec_in, rec_hid, rec_out = (self.record[k] for k in SpikeLayer)
        with m.If(idle & rec_in.valid):
            m.d.comb += [t_in_w.addr.eq(rec_in.neuron), t_in_w.data.eq(rec_in.tick | (1 << tb)),
                         t_in_w.en.eq(1)]
        with m.If(idle & rec_hid.valid):
            m.d.comb += [t_hid_w.addr.eq(rec_hid.neuron),
                         t_hid_w.data.eq(rec_hid.tick | (1 << tb)), t_hid_w.en.eq(1)]
        with m.If(idle & rec_out.valid):
            for o in range(M):
                with m.If(rec_out.neuron == o):
                    m.d.sync += [t_out[o].eq(rec_out.tick), out_seen[o].eq(1)]

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += idle.eq(1)
                with m.If(cmd.valid & cmd.ready):
                    m.d.sync += [label.eq(cmd.payload.label), lr_decay.eq(cmd.payload.lr_decay),
                                 t_c.eq(out_tick(cmd.payload.label)), t_dec.eq(T), t_off.eq(T),
                                 o_cnt.eq(0)]
                    m.next = "SCAN"
            with m.State("SCAN"):
                t_o = Signal(tick)
                m.d.comb += t_o.eq(out_tick(o_cnt))
                with m.If(t_o < t_dec):
                    m.d.sync += t_dec.eq(t_o)
                is_offender = ((o_cnt != label) & (t_o < T)
                               & (t_o <= t_c + cfg.margin))
                with m.If(is_offender & (t_o < t_off)):
                    m.d.sync += t_off.eq(t_o)
                m.d.sync += o_cnt.eq(o_cnt + 1)
                with m.If(o_cnt == M - 1):
                    m.d.sync += o_cnt.eq(0)
                    m.next = "PREP"
            with m.State("PREP"):
                end = Signal(wide)
                m.d.comb += end.eq(t_dec + cfg.margin)
                m.d.sync += [r.eq(Mux(t_dec < T, t_dec, T - 1)),
                             r_end.eq(Mux(end < T, end, T - 1)),
                             offender.eq(t_off < T), learn.eq((t_c == T) | (t_off < T)),
                             h_cnt.eq(0), addr1.eq(0), up_votes.eq(0), down_votes.eq(0)]
                m.next = "OUT"
            with m.State("OUT"):  # stage 0: address acc_ho and t_h
                m.d.comb += [st1_r.addr.eq(addr1), t_hid_r.addr.eq(h_cnt)]
                m.d.sync += [out_v.eq(1), out_o.eq(o_cnt), out_h.eq(h_cnt), out_addr.eq(addr1),
                             addr1.eq(addr1 + 1), o_cnt.eq(o_cnt + 1)]
                with m.If(o_cnt == M - 1):
                    m.d.sync += [o_cnt.eq(0), h_cnt.eq(h_cnt + 1)]
                    with m.If(h_cnt == H - 1):
                        m.d.sync += [h_cnt.eq(0), j_cnt.eq(0), addr0.eq(0)]
                        m.next = "ROW" if cfg.learns_hidden else "WIPE"
            if cfg.learns_hidden:
                with m.State("ROW"):
                    m.d.comb += t_in_r.addr.eq(j_cnt)
                    m.next = "CHECK"
                with m.State("CHECK"):
                    tj = Signal(tick)
                    m.d.comb += [tj.eq(recorded(t_in_r.data)),  # read: forget it
                                 t_in_w.addr.eq(j_cnt), t_in_w.data.eq(0), t_in_w.en.eq(1)]
                    # r_end <= T - 1: a row without a spike (tick T) is never touched
                    with m.If(tj <= r_end):
                        # here n = r_end - t_j + 1 >= 1: the ramp's clip from above only
                        n = Signal(range(T + 1))
                        m.d.comb += n.eq(r_end - tj + 1)
                        g = Mux(n > R, R, n)
                        step = (self._step(g, cfg.shift_revive, lr_decay)
                                if cfg.shift_revive is not None else 0)
                        m.d.sync += [t_j.eq(tj), revive.eq(step), h_cnt.eq(0)]
                        m.next = "COLS"
                    with m.Else():
                        m.d.sync += [addr0.eq(addr0 + H), j_cnt.eq(j_cnt + 1)]
                        m.next = "ROW"
                        with m.If(j_cnt == N - 1):
                            m.next = "WIPE"
                with m.State("COLS"):  # stage 0: address acc_jh, t_h, s_h
                    m.d.comb += [st0_r.addr.eq(addr0), t_hid_r.addr.eq(h_cnt),
                                 s_hid_r.addr.eq(h_cnt)]
                    m.d.sync += [col_v.eq(1), col_addr.eq(addr0), col_j.eq(j_cnt), col_h.eq(h_cnt),
                                 addr0.eq(addr0 + 1),
                                 h_cnt.eq(h_cnt + 1)]
                    with m.If(h_cnt == H - 1):
                        m.d.sync += [h_cnt.eq(0), j_cnt.eq(j_cnt + 1)]
                        m.next = "ROW"
                        with m.If(j_cnt == N - 1):
                            m.next = "WIPE"
            with m.State("WIPE"):  # (stage 1's last read of t_h was at the edge before)
                m.d.comb += [t_hid_w.addr.eq(h_cnt), t_hid_w.data.eq(0), t_hid_w.en.eq(1)]
                m.d.sync += h_cnt.eq(h_cnt + 1)
                with m.If(h_cnt == H - 1):
                    m.d.sync += h_cnt.eq(0)
                    m.next = "DONE"
            with m.State("DONE"):
                m.d.sync += out_seen.eq(0)
                m.next = "IDLE"

        # the write-back stage's registers, shared by both passes (never busy at once)
        step_bits = max(R << cfg.shift_out, (R << (cfg.shift_hidden or 0))
                        + (R << (cfg.shift_revive or 0))).bit_length() + 1
        wb = SimpleNamespace(valid=Signal(name="wb_valid"), layer=Signal(name="wb_layer"),
                             addr=Signal(range(max(2, N * H, H * M)), name="wb_addr"),
                             pre=Signal.like(j_cnt if N >= H else h_cnt, name="wb_pre"),
                             post=Signal.like(h_cnt if H >= M else o_cnt, name="wb_post"),
                             acc=Signal(signed(max(acc_bits)), name="wb_acc"),
                             delta=Signal(signed(step_bits), name="wb_delta"))
        self._writeback(m, wb, (st0_w if cfg.learns_hidden else None, st1_w))
        self._out_stage(m, wb, st1_r, t_hid_r, s_hid_w, out_v, out_o, out_h, out_addr,
                        recorded, out_tick, label, learn, offender, t_off, r, lr_decay,
                        up_votes, down_votes)
        if cfg.learns_hidden:
            self._cols_stage(m, wb, st0_r, t_hid_r, s_hid_r, col_v, col_addr, col_j, col_h,
                             recorded, t_j, r_end, revive, lr_decay)
        self._host(m, idle, st0_r, st0_w, st1_r, st1_w)
        return m

    def _out_stage(self, m, wb, st1_r, t_hid_r, s_hid_w, valid, o, h, addr, recorded,
                   out_tick, label, learn, offender, t_off, r, lr_decay, up_votes, down_votes):
        """Stage 1 of OUT: the output delta ``s_o``, the step of ``acc_ho`` (added in the
        write-back stage), the votes."""
        cfg = self.config
        F = cfg.frac_bits
        acc = st1_r.data
        t_h = recorded(t_hid_r.data)
        n = Signal(signed(t_h.shape().width + 2))
        m.d.comb += n.eq(r - t_h)  # r <= T - 1: a silent neuron (t_h = T) is never causal
        causal = n >= 1
        # s_o: +1 for the label when the sample must move, -1 for the earliest offender(s)
        is_label = o == label
        s_up = is_label & learn
        s_down = ~is_label & offender & (out_tick(o) == t_off)
        # the sign of the weight the forward pass read, acc >> F (0 for 0 <= acc < 2**F)
        negative = acc < 0
        positive = ~negative & (acc[F:] != 0)
        vote_up = causal & ((s_up & positive) | (s_down & negative))
        vote_down = causal & ((s_up & negative) | (s_down & positive))
        step = self._step(self._ramp(m, n), cfg.shift_out, lr_decay)
        up = Signal.like(up_votes, name="up_total")
        down = Signal.like(down_votes, name="down_total")
        m.d.comb += [up.eq(up_votes + vote_up), down.eq(down_votes + vote_down)]
        with m.If(valid):
            self._to_writeback(m, wb, 1, addr, h, o, acc, Mux(s_up, step, Mux(s_down, -step, 0)))
            m.d.sync += [up_votes.eq(up), down_votes.eq(down)]
            with m.If(o == cfg.n_outputs - 1):  # the popcounts of h are complete
                m.d.comb += [s_hid_w.addr.eq(h), s_hid_w.en.eq(1),
                             s_hid_w.data.eq(Mux(up > down, 1, Mux(down > up, -1, 0)))]
                m.d.sync += [up_votes.eq(0), down_votes.eq(0)]

    def _cols_stage(self, m, wb, st0_r, t_hid_r, s_hid_r, valid, addr, j, h, recorded, t_j,
                    r_end, revive, lr_decay):
        """Stage 1 of COLS: the hidden step and the revive of ``acc_jh`` (added, with one
        saturation, in the write-back stage)."""
        cfg = self.config
        t_h = recorded(t_hid_r.data)
        n = Signal(signed(t_h.shape().width + 2))
        m.d.comb += n.eq(Mux(t_h < cfg.ticks, t_h - t_j + 1, 0))
        step = self._step(self._ramp(m, n), cfg.shift_hidden, lr_decay)
        s_h = s_hid_r.data
        hidden = Mux(s_h > 0, step, Mux(s_h < 0, -step, 0))
        silent = t_h >= r_end  # no spike before the last tick the chip ran (T if none)
        with m.If(valid):
            self._to_writeback(m, wb, 0, addr, j, h, st0_r.data, hidden + Mux(silent, revive, 0))

    @staticmethod
    def _to_writeback(m, wb, layer, addr, pre, post, acc, delta):
        m.d.sync += [wb.valid.eq(1), wb.layer.eq(layer), wb.addr.eq(addr), wb.pre.eq(pre),
                     wb.post.eq(post), wb.acc.eq(acc), wb.delta.eq(delta)]

    def _writeback(self, m, wb, ports):
        """The write-back stage (stage 2 of both pipelines): ``acc + delta``, saturated to
        the layer's width, into its store; the inference weight's change reported. A
        register stage of its own, so that the tick arithmetic of stage 1 and the add and
        clip are not one path (the engine's critical path was both: 21.6 ns on the ECP5)."""
        cfg = self.config
        m.d.sync += wb.valid.eq(0)
        for layer, port in enumerate(ports):
            if port is None:
                continue
            new = self._saturate(m, wb.acc + wb.delta, cfg.acc_bits(layer), f"new_acc_{layer}")
            with m.If(wb.valid & (wb.layer == layer)):
                m.d.comb += [port.addr.eq(wb.addr), port.data.eq(new), port.en.eq(1)]
                self._report_change(m, layer, wb.pre, wb.post, wb.acc, new)

    def _report_change(self, m, layer, pre, post, old, new):
        """``weight`` pulses where the inference weight ``acc >> F`` moves."""
        F = self.config.frac_bits
        value = new.as_signed() >> F
        with m.If(value != (old.as_signed() >> F)):
            m.d.comb += [self.weight.valid.eq(1), self.weight.layer.eq(layer),
                         self.weight.pre.eq(pre), self.weight.post.eq(post),
                         self.weight.value.eq(value)]

    def _host(self, m, idle, st0_r, st0_w, st1_r, st1_w):
        """The stores' host port, honoured while idle (the update's ports are quiet then)."""
        bus, sm = self.host, self.store_map
        index = bus.addr[:sm.index_bits]
        layer = bus.addr[sm.index_bits]
        r_layer = Signal()
        with m.If(idle):
            m.d.comb += [st0_r.addr.eq(index), st1_r.addr.eq(index)]
            with m.If(bus.w_en):
                for lay, port in enumerate((st0_w, st1_w)):
                    with m.If(layer == lay):
                        m.d.comb += [port.addr.eq(index), port.data.eq(bus.w_data),
                                     port.en.eq(1)]
        m.d.sync += [bus.r_valid.eq(idle & bus.r_en), r_layer.eq(layer)]
        m.d.comb += bus.r_data.eq(Mux(r_layer, st1_r.data, st0_r.data))


def _select(m, signals, index, shape):
    """``signals[index]`` as a new signal (a case per element)."""
    out = Signal(shape)
    with m.Switch(index):
        for k, s in enumerate(signals):
            with m.Case(k):
                m.d.comb += out.eq(s)
    return out
