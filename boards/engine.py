"""The on-chip end of the host protocol: :class:`ProtocolEngine`, the RTL that parses request
frames from the UART, drives the inference engine and sends the replies.

The frame format, the commands, replies and error codes are those of
:mod:`spikeforge.boards.protocol` (whose docstring is the protocol's definition); this module
adds only the hardware.
"""

from __future__ import annotations

import operator
from functools import reduce

from amaranth.hdl import Cat, Const, Module, Mux, ResetInserter, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from spikeforge.boards.protocol import (
    MAX_LR_DECAY,
    PROTOCOL_VERSION,
    STORE_MAX_WORDS,
    SYNC,
    Cmd,
    ErrorCode,
    Reply,
)
from spikeforge.boards.specs import FEED_DEPTH, MAX_INPUT_DEPTH, MIN_INPUT_DEPTH
from spikeforge.hdl.core import COPY_ATTRIBUTE, OUTREG_ATTRIBUTE
from spikeforge.hdl.learning import StoreMap, update_cycles
from spikeforge.ir.params import Decision

__all__ = ["ProtocolEngine", "RegisterSlice", "INPUT_BUFFER"]

#: the name of the engine's input buffer memory (the ECP5 build's Yosys script names it)
INPUT_BUFFER = "buf"

#: payload bytes per group of the reply multiplexer's first stage (a power of two)
_LANE = 8


class RegisterSlice(wiring.Component):
    """A two-register skid slice, FIFO ports (``w_data``, ``w_en``, ``w_rdy``; ``r_data``,
    ``r_en``, ``r_rdy``): one item per cycle through it, one cycle from write to read.

    ``r_rdy`` and ``r_data`` are the output register, ``w_rdy`` is "the skid register is
    empty" -- all three flip-flops. An item written while the output register is full and not
    read goes to the skid register, which the output register takes next. Each register's
    next value is one function of ``r_en`` and registers: the short path from the reader's
    handshake that :class:`SyncFIFOBuffered` (level counter, read enable of its storage)
    did not give (the iCE40 build's critical path at stop 28: 23.9 ns from the slice's
    ``r_rdy`` through the system's input handshake back into the slice).

    ``copies``: the output register's low ``copy_width`` bits once more in that many
    registers (``r_copies``, equal to ``r_data[:copy_width]`` in every cycle), which the
    board build keeps apart (:data:`~spikeforge.hdl.core.COPY_ATTRIBUTE`): one per reader
    far from the others (the system's ``inp_copies``).
    """

    def __init__(self, width: int, *, copies: int = 0, copy_width: int = 0):
        self.copy_width = copy_width
        super().__init__({"w_data": In(width), "w_en": In(1), "w_rdy": Out(1),
                          "r_data": Out(width), "r_en": In(1), "r_rdy": Out(1),
                          "r_copies": Out(copy_width).array(copies)})

    def elaborate(self, platform):
        m = Module()
        skid_valid = Signal()
        skid = Signal.like(self.w_data)
        m.d.comb += self.w_rdy.eq(~skid_valid)
        write = self.w_en & ~skid_valid
        copies = [Signal(self.copy_width, name=f"r_copy_{g}", attrs={COPY_ATTRIBUTE: 1})
                  for g in range(len(self.r_copies))]
        m.d.comb += [port.eq(copy) for port, copy in zip(self.r_copies, copies)]
        with m.If(~self.r_rdy | self.r_en):  # the output register takes an item, if any
            item = Mux(skid_valid, skid, self.w_data)
            m.d.sync += [self.r_rdy.eq(skid_valid | write), skid_valid.eq(0),
                         self.r_data.eq(item), *(c.eq(item) for c in copies)]
        with m.Elif(write):
            m.d.sync += [skid_valid.eq(1), skid.eq(self.w_data)]
        return m


def reply_count_bits(system) -> int:
    """Width of the engine's per-class spike counters (a system without the spike-count
    decision; sent as 16 bits either way): 1 where every output core fires once (a
    ``fire_once`` neuron spikes at most once until CLEAR, sim/contract.py, and a run's
    counters start at 0, so a class counts 0 or 1), else 16 (saturating). Ten 16-bit
    counters, their carries and saturation flags were ~350 of the iCE40 TTFS demo's 4,843
    logic cells, at 92 % of the device."""
    once = all(core.config.params.fire_once for core in system.layers[-1])
    return 1 if once else 16


class ProtocolEngine(wiring.Component):
    """Parses request frames from ``rx``, drives a :class:`~spikeforge.hdl.system.SpikeforgeSystem`
    (instantiated inside as ``system``) and sends reply frames on ``tx``.

    Parameters: ``system`` (the payload), ``input_depth`` (items in the input buffer, a block
    RAM of 16-bit words), ``timeout_cycles`` (inter-byte timeout inside a frame).

    Ports: ``rx`` (In stream of bytes), ``tx`` (Out stream of bytes), ``running`` (Out 1,
    an inference is in progress), ``error`` (Out 1, the last request was answered with an
    ERROR; cleared by the next successful one), ``frame_ok`` (Out 1, pulse per executed
    request).

    A ``system`` built with the learning engine (``system.learning`` set) also answers
    ``TRAIN`` (a RUN with the system's ``train`` high at the start), ``LEARN`` (the command
    offered on the system's ``learn`` stream; the reply waits until ``learn_busy`` falls and
    carries the cycles it was high) and ``STORE`` (the ``WEIGHTS`` reply streams the store
    words: the ``store`` port's address follows the reply's byte index, and each word's bytes
    are taken from its read data while they are sent, so no register file holds them). Every
    addition is made only for such a system: the Verilog of an inference-only build is the
    one it had before learning existed, but for the ``INFO`` reply (version, learns byte).

    ``load_stage``: a LOAD item is written into the input buffer from registers, an edge
    after its last byte, instead of from the receive state machine's logic in that byte's
    cycle (the ECP5 board build's: stop 76's 784-256-10 build placed a buffer block RAM 6.2
    ns of routing away from that logic, 84.3 MHz). Nothing reads an item before REPLY
    commits it, bytes later, and the next item's write is two bytes later, so the registers
    never hold two writes; the replies and results are the same.
    """

    def __init__(self, system, *, input_depth: int = 1024, timeout_cycles: int = 1_000_000,
                 load_stage: bool = False):
        if not isinstance(input_depth, int) or not MIN_INPUT_DEPTH <= input_depth <= MAX_INPUT_DEPTH:
            raise ValueError(f"input_depth: must be in {MIN_INPUT_DEPTH}..{MAX_INPUT_DEPTH}, "
                             f"got {input_depth!r}")
        if not isinstance(timeout_cycles, int) or timeout_cycles < 16:
            raise ValueError(f"timeout_cycles: must be an integer >= 16, got {timeout_cycles!r}")
        if not isinstance(load_stage, bool):
            raise ValueError(f"load_stage: must be True or False, got {load_stage!r}")
        self.system = system
        self.input_depth = input_depth
        self.timeout_cycles = timeout_cycles
        self.load_stage = load_stage
        self.n_inputs = system.plan.n_inputs
        self.n_classes = system.n_classes
        if self.n_inputs > 0x7FFF:
            raise ValueError(f"n_inputs {self.n_inputs}: the protocol carries 15-bit indices")
        if self.n_classes > 0x7FFF:
            raise ValueError(f"n_classes {self.n_classes}: too many for the result frame")
        super().__init__({
            "rx": In(stream.Signature(8)),
            "tx": Out(stream.Signature(8)),
            "running": Out(1),
            "error": Out(1),
            "frame_ok": Out(1),
        })

    def info_payload(self) -> bytes:
        """The payload of the ``INFO`` reply (constant: the build's)."""
        decision = 1 if self.system.decision_mode is Decision.SPIKE_COUNT else 0
        return (bytes([PROTOCOL_VERSION]) + self.n_inputs.to_bytes(2, "little")
                + self.n_classes.to_bytes(2, "little") + self.input_depth.to_bytes(2, "little")
                + bytes([decision, int(self.system.learning is not None)]))

    def result_length(self) -> int:
        return 14 + 2 * self.n_classes + 8 * self.system.n_layers

    def elaborate(self, platform):
        m = Module()
        sysm = self.system
        m.submodules.system = sysm
        depth = self.input_depth
        C = self.n_classes
        learning = sysm.learning

        # no read of the buffer collides with a write: LOAD writes past the committed
        # items (load_addr >= wptr), the feed reads below them (fptr < wptr for every
        # issued read; at fptr == wptr nothing is issued and the word read is dropped with
        # ``landed`` low). The ECP5 build tells Yosys so (boards/build.py), which then
        # leaves out its emulation of a read beside a write (a bypass multiplexer behind
        # the block RAM, 46 flip-flops), and the read's register ``landed_data`` can move
        # into the block RAM (boards/outreg.py)
        m.submodules[INPUT_BUFFER] = buf = Memory(shape=16, depth=depth, init=[])
        wp = buf.write_port()
        rp = buf.read_port()
        if self.load_stage:  # the LOAD write, an edge late (the class docstring)
            load_w_addr, load_w_data = Signal.like(wp.addr), Signal(16)
            load_w_en = Signal()
            m.d.sync += load_w_en.eq(0)
            m.d.comb += [wp.addr.eq(load_w_addr), wp.data.eq(load_w_data),
                         wp.en.eq(load_w_en)]

        # -- receive state
        cmd = Signal(8)
        length = Signal(16)
        count = Signal(16)  # payload bytes received
        # the next payload byte is the frame's last (count + 1 == length), a register set
        # a byte ahead from ``rem``, the payload bytes still to come (a down-counter: the
        # adder and compare ``count + 2 == length`` in front of it were on the iCE40
        # builds' critical paths, and so was ``count + 1 == length`` in the cycle after the
        # byte, a carry chain of 12 logic elements); the length's low byte is 0 / 1,
        # registered with it, so that LEN1's tests of the length are an 8-bit compare of
        # the byte and an AND
        last_byte = Signal()
        rem = Signal(16)
        len_lo_zero, len_lo_one = Signal(), Signal()
        csum = Signal(8)
        lo_byte = Signal(8)
        load_addr = Signal(range(depth))  # the buffer address of the LOAD item being received
        load_room = Signal()  # ... and whether it is inside the buffer
        wptr = Signal(range(depth + 1))  # committed items
        # wptr - 1 (modulo its width), a register of its own: the feed's end-of-items compare
        # was fptr == wptr - 1, whose subtractor (a carry chain) ended in fetched_all, the
        # iCE40 build's critical path at stop 32 (22.2 ns, bench_mnist_fast's digits design)
        last_item = Signal.like(wptr, init=(1 << len(wptr)) - 1)
        bad_input = Signal()
        param = Signal(16)
        # idle cycles inside a frame; ``at_limit`` is registered (``timer == timeout_cycles``
        # one cycle ahead) so that no wide compare sits in front of the state machine
        timer = Signal(range(self.timeout_cycles + 1))
        at_limit = Signal()
        n_items = Signal(17)
        m.d.comb += n_items.eq(length[1:])
        # the header's checks, registered in CHK_PREP
        known, good_len, param_zero, full = Signal(), Signal(), Signal(), Signal()
        sum_ok = Signal()  # the frame's checksum, registered in CHK
        # the command decoded, registered in CHK_PREP: DECIDE's chain of checks starts from
        # flip-flops (its compares of the 8-bit command were the iCE40 build's critical path)
        is_cmd = {c: Signal(name=f"is_{c.name.lower()}") for c in (Cmd.PING, Cmd.LOAD,
                                                                   Cmd.CLEAR, Cmd.RUN)}
        last_cmd = Cmd.READ
        if learning is not None:  # the learning commands (learning builds only)
            last_cmd = Cmd.STORE
            is_cmd.update({c: Signal(name=f"is_{c.name.lower()}")
                           for c in (Cmd.TRAIN, Cmd.LEARN, Cmd.STORE)})
            store_map = StoreMap(learning)
            # the second and third payload words (STORE: the address's high half, count)
            param1, param2 = Signal(16, name="param1"), Signal(16, name="param2")
            store_addr = Signal(32)
            m.d.comb += store_addr.eq(Cat(param, param1))
            # LEARN's and STORE's parameters out of range (BAD_PARAM), registered in CHK_PREP
            learn_bad, store_bad = Signal(name="learn_bad"), Signal(name="store_bad")
            o_train, o_learn = Signal(name="o_train"), Signal(name="o_learn")  # DECIDE
            train = Signal()  # the system's train input for the next run
            m.d.comb += sysm.train.eq(train)
            learn_cycles = Signal(range(update_cycles(learning, learning.n_inputs) + 2))
        # wptr + n_items, registered every cycle: both are constant from the frame's length
        # bytes to its reply, so it has settled long before CHK_PREP reads it (the adder and
        # the compare in one cycle were the iCE40 core16x32 build's critical path at stop 33,
        # 22.8 ns)
        wptr_next = Signal(18)
        m.d.sync += wptr_next.eq(wptr + n_items)

        # -- DECIDE's outcome: an error (o_code) or the reply o_kind, and what to do
        o_error, o_commit, o_clear, o_run = Signal(), Signal(), Signal(), Signal()
        o_code = Signal(8)
        o_kind = Signal(8)

        # -- reply state
        kind = Signal(8)  # reply CMD byte
        err_code = Signal(8)
        err_cmd = Signal(8)
        tx_sum = Signal(8)
        fsm_lane = Signal()  # in the sender's LANE: the lane registers load
        send = Signal()  # pulse: the reply is decided, the sender starts
        m.d.sync += send.eq(0)

        # -- run state: the buffer's items reach the system through a small FIFO, read ahead
        # (fptr: the next item to read; a read's data arrives one cycle later, inflight, and
        # is registered once more, landed, before it is written to the FIFO: a buffer of
        # several block RAMs has a multiplexer behind their slow clock-to-out), and the system
        # gets up to one item per cycle; the FIFO's own output is a register too
        # (SyncFIFOBuffered), so the input handshake starts from flip-flops
        fptr = Signal(range(depth + 1))
        fetched_all = Signal()  # fptr == wptr, kept as a register (no compare in the handshake)
        in_run = Signal()  # the state machine is in RUN (a register of its own: see RUN's feed)
        # items issued and not yet read out of the feed (the read in flight, the landed one
        # and the feed's level), counted up and down: the room check is a compare of a small
        # register, not an adder of the feed's level (which was the iCE40 build's critical
        # path, through the issue decision into fetched_all)
        held = Signal(range(FEED_DEPTH + 1))
        inflight = Signal()
        landed = Signal()  # landed_data holds the item read two cycles ago
        # no reset: it is read only with ``landed`` (which resets), and a reset in front of
        # it would keep it out of the block RAM's output register; ``keep``: its name and
        # mark outlive the feed's port name for the same net in Yosys's netlist
        landed_data = Signal(16, reset_less=True, attrs={OUTREG_ATTRIBUTE: 1, "keep": 1})
        issue = Signal()
        # high exactly in RUN_START (a register set and cleared on the edges into and out
        # of it, like in_run): it resets the feed and the slice, and from the state's decode
        # it was in front of every one of their enables (an iCE40 near-critical path)
        flush = Signal()
        feed = SyncFIFOBuffered(width=16, depth=FEED_DEPTH)
        m.submodules.feed = ResetInserter(flush)(feed)
        # a register slice between the feed and the system's input: its w_rdy and r_rdy are
        # flip-flops, so the system's input handshake (ready through the input port and the
        # multicast) and the engine's run state are not one combinational path
        # (and, where the system takes the index once per layer-0 core, a copy of its index
        # register per core)
        copies = len(sysm.inp_copies) if sysm.system.input_copies else 0
        slice_ = RegisterSlice(16, copies=copies, copy_width=15)
        m.submodules.slice = ResetInserter(flush)(slice_)
        have_result = Signal()
        # the system's start, a register set in RUN_START (high in RUN's first cycle, where
        # the idle system takes it): the state decode and the system's start logic (the
        # tick controller's clear into the input port) were one path, the iCE40 build's
        # critical one
        start = Signal()
        m.d.sync += start.eq(0)
        m.d.comb += sysm.start.eq(start)
        # the per-class spike counts of the reply: a spike-count system's own (its decision
        # unit's counters, whole again after the scan), else the engine's counters below
        own_counts = sysm.decision_mode is not Decision.SPIKE_COUNT
        counts = ([Signal(reply_count_bits(sysm), name=f"count_{c}") for c in range(C)]
                  if own_counts else list(sysm.class_counts))

        # the receiver's side of the engine: rx is open (ready) from a register; a frame (or
        # its timeout) is announced by a one-cycle pulse, and the receiver is released once
        # the reply is out
        rx_open = Signal(init=1)
        got_frame, got_timeout, release = Signal(), Signal(), Signal()
        is_load = Signal()  # the frame's command is LOAD, registered at the CMD byte
        m.d.sync += [got_frame.eq(0), got_timeout.eq(0), release.eq(0)]

        m.d.sync += self.frame_ok.eq(0)
        rx_take = self.rx.valid & self.rx.ready
        # The receiver works on a register of the byte taken (``byte`` in the cycle after
        # the take, ``took``), so its logic starts from flip-flops beside it, not from the
        # UART's (the checksum's, the command's and the state's enables behind the take were
        # the iCE40 builds' near-critical paths). No byte is taken in ``took``'s cycle
        # (``rx.ready`` is low there), so a byte is never taken before the one before it
        # was seen; a UART delivers a byte every 10 bit times anyway.
        took = Signal()
        byte = Signal(8)  # the last byte taken (held until the next take)
        m.d.sync += took.eq(rx_take)
        with m.If(rx_take):
            m.d.sync += byte.eq(self.rx.payload)
        # the byte's compares that steer the receiver's state, registered with it (the
        # 8-bit compare and the state decode in one cycle were the iCE40 builds' critical
        # path, byte -> rx_fsm_state, 20.2 ns)
        is_sync, is_zero = Signal(), Signal()
        m.d.sync += [is_sync.eq(self.rx.payload == SYNC), is_zero.eq(self.rx.payload == 0)]
        m.d.comb += self.rx.ready.eq(rx_open & ~took)
        # an item's range check, in the cycle after its high byte was seen (the 15-bit
        # compare behind the byte was on the iCE40 builds' near-critical paths): lo_byte and
        # byte still hold the item there, and bad_input is set long before the frame's
        # checksum byte
        item_check = Signal()
        m.d.sync += item_check.eq(0)
        item = Cat(lo_byte, byte)
        with m.If(item_check & ~item[15] & (item[:15] >= self.n_inputs)):
            m.d.sync += bad_input.eq(1)

        def reply(code_kind, code=None):  # a reply known where it is decided: via REPLY
            m.d.sync += [o_error.eq(code is not None), o_commit.eq(0), o_clear.eq(0),
                         o_run.eq(0)]
            if learning is not None:
                m.d.sync += o_learn.eq(0)
            m.d.sync += o_code.eq(code) if code is not None else o_kind.eq(code_kind)
            m.next = "REPLY"

        def reply_decided():  # the reply chosen (o_kind, or an ERROR with o_code)
            m.d.sync += [err_code.eq(o_code), err_cmd.eq(cmd), self.error.eq(o_error),
                         self.frame_ok.eq(~o_error), kind.eq(Mux(o_error, Reply.ERROR, o_kind)),
                         send.eq(1)]
            with m.Switch(Cat(o_kind, o_error)):
                for i, code_kind in enumerate(kinds):
                    if code_kind != Reply.ERROR:
                        with m.Case(int(code_kind)):
                            m.d.sync += kind_sel.eq(i)
                with m.Default():
                    m.d.sync += kind_sel.eq(kinds.index(Reply.ERROR))
            m.next = "IDLE"  # the sender takes over; the receiver holds until it is done

        # frame-level timeout (only inside a frame): TIMEOUT at the timeout_cycles + 1-th
        # cycle without a byte, counted from the cycle after the take of the last one (the
        # receiver sees a byte there, ``took``); at_limit says timer == timeout_cycles,
        # computed a cycle early
        def with_timeout():  # in a receiver state
            with m.If(took):
                m.d.sync += [timer.eq(0), at_limit.eq(0)]
            with m.Elif(at_limit):
                m.d.sync += [rx_open.eq(0), got_timeout.eq(1)]
                m.next = "HOLD"
            with m.Else():
                m.d.sync += [timer.eq(timer + 1),
                             at_limit.eq(timer == self.timeout_cycles - 1)]

        # -- reply bytes
        def le(value, n):
            if isinstance(value, int):
                return [Const((value >> (8 * i)) & 0xFF, 8) for i in range(n)]
            wide = Signal(8 * n)
            m.d.comb += wide.eq(value)  # sign-extends a signed value
            return [wide[8 * i:8 * i + 8] for i in range(n)]

        # the system's result outputs, registered: the reply multiplexer reads these copies,
        # so no logic of the system lies in front of it (they are read at least a cycle
        # after the run ended, when the outputs no longer change)
        result = {}
        for key, value in [("class", sysm.result_class), ("tick", sysm.result_tick),
                           ("ticks_run", sysm.ticks_run), ("error", sysm.error),
                           ("none", sysm.result_none)]:
            result[key] = Signal.like(value, name=f"result_{key}")
            m.d.sync += result[key].eq(value)
        # the cycle and work counters are the system's registers (hdl/system.py): read
        # directly, not copied -- 160 flip-flops of copies were 3.5 % of the iCE40 TTFS
        # digits build's logic cells, the device 86 % full and its timing routing-bound
        result["cycles"] = sysm.cycles
        work = [value for counter in ("events", "spikes") for value in getattr(sysm, counter)]
        payloads = {
            Reply.ERROR: [err_code, err_cmd],
            Reply.ACK: le(wptr, 2),
            Reply.INFO: [Const(b, 8) for b in self.info_payload()],
            Reply.RESULT: (le(result["class"], 2) + le(result["tick"], 2)
                           + le(result["ticks_run"], 2) + le(result["cycles"], 4)
                           + [Cat(result["error"], result["none"], Const(0, 6))]
                           + le(C, 2) + [b for c in counts for b in le(c, 2)]
                           + [Const(sysm.n_layers, 8)] + [b for w in work for b in le(w, 4)]),
        }

        if learning is not None:
            payloads[Reply.LEARNED] = le(learn_cycles, 4)
        # the reply kinds whose payload is streamed rather than multiplexed: WEIGHTS, the store
        # words, is 4 * count bytes (count from the request)
        streamed = {Reply.WEIGHTS: 4 * STORE_MAX_WORDS} if learning is not None else {}

        # the reply frame's byte index k and the payload's pidx = k - 4 (a counter of its
        # own), only as wide as the longest reply needs: the payload multiplexer decodes pidx
        # for every byte, so each extra bit widens every compare (pidx starts at -4, which
        # wraps to 2**bits - 4 > longest and so selects no byte)
        longest = max([len(items) for items in payloads.values()] + list(streamed.values()))
        k = Signal((longest + 4).bit_length())
        pidx = Signal.like(k)
        kinds = list(payloads) + list(streamed)
        kind_sel = Signal(range(len(kinds)))  # kind as an index into kinds, set with it

        # The reply byte is made in three registered steps (the sender's LANE: for each reply
        # kind and each group of _LANE payload bytes, the byte pidx selects within the group;
        # PICK: the payload byte from the kind's groups, and which field byte k is;
        # FORM: the byte itself) and offered from a register in SEND, so no path runs
        # from the byte counter through the payload multiplexer into the UART, and the
        # multiplexer is two narrow ones (a 50-byte RESULT frame through one was the
        # iCE40 build's critical path: six LUT levels). The UART takes a byte every 10 bit
        # times (>= 40 cycles), so the extra cycles per byte cost nothing.
        plen = Signal(16)
        last_k = Signal(16)
        with m.Switch(kind_sel):
            for i, items in enumerate(payloads.values()):
                with m.Case(i):
                    m.d.comb += [plen.eq(len(items)), last_k.eq(len(items) + 4)]
            if learning is not None:
                with m.Case(kinds.index(Reply.WEIGHTS)):  # count words of 4 bytes
                    m.d.comb += [plen.eq(param2 << 2), last_k.eq((param2 << 2) + 4)]
        lane_bits = _LANE.bit_length() - 1
        lanes = []  # lanes[i][g]: kind i's byte pidx[:lane_bits] of group g
        for i, items in enumerate(payloads.values()):
            groups = [items[g:g + _LANE] for g in range(0, len(items), _LANE)]
            lanes.append([Signal(8, name=f"lane_{i}_{g}") for g in range(len(groups))])
            for lane, group in zip(lanes[-1], groups):
                with m.If(fsm_lane):
                    with m.Switch(pidx[:lane_bits]):
                        for j, b in enumerate(group):
                            with m.Case(j):
                                m.d.sync += lane.eq(b)
        # PICK's multiplexer as an AND-OR of the lanes under one-hot flags, registered in LANE
        # (the kind and the group are stable from there on): the select's decode in front
        # of a multiplexer of every lane was the iCE40 builds' critical path (kind_sel ->
        # pbyte_r, five LUT levels, 20.3 ns). No flag is set for a pidx past the payload
        # (SYNC and the header: pidx < 0 wraps high), so pbyte is 0 there.
        picked = []
        for i, kind_lanes in enumerate(lanes):
            for g, lane in enumerate(kind_lanes):
                flag = Signal(name=f"pick_{i}_{g}")
                with m.If(fsm_lane):
                    m.d.sync += flag.eq(Cat(pidx[lane_bits:], kind_sel)
                                        == (g | (i << (len(pidx) - lane_bits))))
                picked.append(lane & flag.replicate(8))
        pbyte = Signal(8)
        m.d.comb += pbyte.eq(reduce(operator.or_, picked))
        if learning is not None:
            # WEIGHTS: the store port reads word pidx // 4 of the request (its address is
            # stable from LANE on, the read data valid from PICK, where pbyte is
            # taken); the rx state machine holds the request's words until the reply is out
            m.d.comb += sysm.store.addr.eq(store_addr + pidx[2:])
            pick_weights = Signal()  # (registered in LANE, as the flags above)
            with m.If(fsm_lane):
                m.d.sync += pick_weights.eq(kind_sel == kinds.index(Reply.WEIGHTS))
            with m.If(pick_weights):
                m.d.comb += pbyte.eq(sysm.store.r_data.word_select(pidx[:2], 8))
        pbyte_r = Signal(8)
        field = Signal(3)  # byte k is 0 SYNC, 1 CMD, 2 LEN lo, 3 LEN hi, 4 payload, 5 CHK
        is_last = Signal()
        tx_byte = Signal(8)

        # -- system inputs defaults
        m.d.comb += [
            sysm.out_spikes.ready.eq(1),
            sysm.n_ticks.eq(param),
            rp.addr.eq(fptr),
            rp.en.eq(1),
            feed.w_data.eq(landed_data),
            feed.w_en.eq(landed),
        ]
        m.d.sync += [inflight.eq(issue), landed.eq(inflight), landed_data.eq(rp.data)]
        # the slice feeds the system in any state (it is filled only in RUN and flushed at the
        # next RUN_START), so the input handshake does not pass through the engine's FSM; the
        # system takes items only while it runs (it holds those offered before or after)
        m.d.comb += [
            sysm.inp.valid.eq(slice_.r_rdy),
            sysm.inp.payload.index.eq(slice_.r_data[:15]),
            sysm.inp.payload.last.eq(slice_.r_data[15]),
            slice_.r_en.eq(sysm.inp.valid & sysm.inp.ready),
        ]
        if copies:
            m.d.comb += [port.eq(c) for port, c in zip(sysm.inp_copies, slice_.r_copies)]
        with m.If(issue):
            # fptr == wptr - 1 rather than fptr + 1 == wptr: wptr is constant in a run, so the
            # compare needs no adder behind fptr (fptr < wptr whenever an item is issued), and
            # wptr - 1 is the register last_item
            m.d.sync += [fptr.eq(fptr + 1), fetched_all.eq(fptr == last_item)]
        feed_read = feed.r_en & feed.r_rdy
        with m.If(flush):
            m.d.sync += held.eq(0)
        with m.Elif(issue & ~feed_read):
            m.d.sync += held.eq(held + 1)
        with m.Elif(~issue & feed_read):
            m.d.sync += held.eq(held - 1)

        # The receiver: its own state machine, so that taking a byte (``rx.ready`` is the
        # register ``rx_open``) and the per-byte logic decode three state bits, not the whole
        # engine's (one state machine's decode in front of the checksum's and the header's
        # enables was the iCE40 build's critical path, eight LUT levels). It runs only while
        # the engine waits for a frame: at the frame's checksum byte, or its timeout, it
        # closes ``rx``, pulses ``got_frame`` (or ``got_timeout``) and holds until the reply
        # has been sent (``release``), so no byte is taken between a request and its reply.
        with m.FSM(name="rx_fsm"):
            with m.State("SYNC"):
                m.d.sync += [timer.eq(0), at_limit.eq(0)]
                with m.If(took & is_sync):
                    m.d.sync += [cmd.eq(0), csum.eq(0)]
                    m.next = "CMD"
            with m.State("CMD"):
                with_timeout()
                with m.If(took):
                    m.d.sync += [cmd.eq(byte), csum.eq(byte), is_load.eq(byte == Cmd.LOAD)]
                    m.next = "LEN0"
            with m.State("LEN0"):
                with_timeout()
                with m.If(took):
                    m.d.sync += [length[:8].eq(byte), csum.eq(csum + byte),
                                 len_lo_zero.eq(is_zero), len_lo_one.eq(byte == 1)]
                    m.next = "LEN1"
            with m.State("LEN1"):
                with_timeout()
                with m.If(took):
                    m.d.sync += [length[8:].eq(byte), csum.eq(csum + byte), count.eq(0),
                                 bad_input.eq(0), param.eq(0), rem.eq(Cat(length[:8], byte)),
                                 last_byte.eq(len_lo_one & is_zero)]
                    with m.If(len_lo_zero & is_zero):
                        m.next = "CHK"
                    with m.Else():
                        m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                with_timeout()
                with m.If(took):
                    m.d.sync += [csum.eq(csum + byte), count.eq(count + 1)]
                    with m.If(count[0] == 0):
                        # the item's place in the input buffer, registered with its low byte
                        # (the adder and the compare behind wptr ended in the buffer's write
                        # port in the next byte's cycle: the iCE40 digits-l2 build's critical
                        # path at stop 33, 23.9 ns)
                        m.d.sync += [lo_byte.eq(byte), load_addr.eq(wptr + count[1:]),
                                     load_room.eq(wptr + count[1:] < depth)]
                    with m.Else():
                        value = Cat(lo_byte, byte)
                        with m.If(count[1:] == 0):
                            m.d.sync += param.eq(value)
                        if learning is not None:
                            with m.If(count[1:] == 1):
                                m.d.sync += param1.eq(value)
                            with m.If(count[1:] == 2):
                                m.d.sync += param2.eq(value)
                        # stage LOAD items past the committed ones; committed only in REPLY
                        with m.If(is_load & load_room):
                            if self.load_stage:
                                m.d.sync += [load_w_addr.eq(load_addr),
                                             load_w_data.eq(value), load_w_en.eq(1)]
                            else:
                                m.d.comb += [wp.addr.eq(load_addr), wp.data.eq(value),
                                             wp.en.eq(1)]
                        m.d.sync += item_check.eq(1)
                    m.d.sync += [rem.eq(rem - 1), last_byte.eq(rem == 2)]
                    with m.If(last_byte):
                        m.next = "CHK"
            with m.State("CHK"):
                with_timeout()
                with m.If(took):  # the checksum byte
                    m.d.sync += [sum_ok.eq((csum + byte)[:8] == 0), rx_open.eq(0),
                                 got_frame.eq(1)]
                    m.next = "HOLD"
            with m.State("HOLD"):
                with m.If(release):
                    m.d.sync += rx_open.eq(1)
                    m.next = "SYNC"

        # RUN's feed, under in_run: a register that is high exactly in RUN (set and cleared
        # on the edges into and out of it), so that the feed's read enable and the FIFO's
        # bookkeeping behind it do not start from the state machine's state decode (two LUT
        # levels in front of them were the iCE40 core16x32 build's critical path at stop 31:
        # fsm_state -> RUN decode -> feed.r_en -> the FIFO's r_rdy enable, 23.1 ns)
        with m.If(in_run):
            m.d.comb += self.running.eq(1)
            # read ahead while the FIFO (with the read in flight) has room
            m.d.comb += issue.eq(~fetched_all & (held < FEED_DEPTH))
            # past the last stored item: tick markers until the system stops. "Nothing held"
            # (no read in flight, none landed, the feed empty), not ~inflight & ~landed &
            # ~feed.r_rdy: SyncFIFOBuffered shows a written item on r_rdy a cycle late, so that
            # let a marker overtake the last stored item when it was an event (a run whose
            # items do not end with a marker; tests/boards/test_cosim.py)
            drained = Signal()
            m.d.comb += drained.eq(fetched_all & (held == 0))
            # items, then markers, into the slice; left-over markers are flushed with it
            m.d.comb += [
                slice_.w_en.eq(feed.r_rdy | drained),
                slice_.w_data.eq(Mux(feed.r_rdy, feed.r_data, 1 << 15)),
                feed.r_en.eq(slice_.w_rdy),
            ]
        with m.FSM():
            with m.State("IDLE"):
                with m.If(got_timeout):
                    reply(None, ErrorCode.TIMEOUT)
                with m.Elif(got_frame):
                    m.next = "CHK_PREP"
            with m.State("CHK_PREP"):
                # every check of the frame but the checksum (registered by the receiver) is
                # registered here, so DECIDE starts from flip-flops (no adder or compare of
                # the header in front of it)
                with m.Switch(cmd):
                    with m.Case(Cmd.LOAD):
                        m.d.sync += good_len.eq(~length[0])
                    with m.Case(Cmd.RUN):
                        m.d.sync += good_len.eq(length == 2)
                    if learning is not None:
                        with m.Case(Cmd.TRAIN, Cmd.LEARN):
                            m.d.sync += good_len.eq(length == 2)
                        with m.Case(Cmd.STORE):
                            m.d.sync += good_len.eq(length == 6)
                    with m.Default():
                        m.d.sync += good_len.eq(length == 0)
                m.d.sync += [is_cmd[c].eq(cmd == c) for c in is_cmd]
                m.d.sync += [known.eq((cmd >= Cmd.PING) & (cmd <= last_cmd)),
                             full.eq(wptr_next > depth),
                             param_zero.eq(param == 0)]
                if learning is not None:
                    # LEARN: label < n_classes, lr_decay <= 31; STORE: 1..STORE_MAX_WORDS
                    # words, all in the address's layer
                    index = store_addr[:store_map.index_bits]
                    # (wide enough for any index + STORE_MAX_WORDS; a larger count is bad)
                    end = Signal(range((1 << store_map.index_bits) + STORE_MAX_WORDS))
                    m.d.comb += end.eq(index + param2)
                    in_layer = Mux(store_addr[store_map.index_bits],
                                   end <= store_map.depths[1], end <= store_map.depths[0])
                    m.d.sync += [
                        learn_bad.eq((param[:8] >= C) | (param[8:] > MAX_LR_DECAY)),
                        store_bad.eq((param2 == 0) | (param2 > STORE_MAX_WORDS)
                                     | (store_addr[store_map.addr_bits:] != 0) | ~in_layer),
                    ]
                m.next = "DECIDE"
            with m.State("DECIDE"):
                # the checks in their order of priority, into registers: REPLY acts on them,
                # so no chain of checks lies in front of the reply's many enables (it was
                # the iCE40 build's critical path); one cycle more per request
                m.d.sync += [o_error.eq(1), o_commit.eq(0), o_clear.eq(0), o_run.eq(0)]
                if learning is not None:
                    m.d.sync += o_learn.eq(0)
                # o_code and o_kind are written in every DECIDE (each is read only with its
                # o_error): their enables are the state alone, the chain below only their
                # data (as enables, the chain was the iCE40 builds' critical path, 21-22 ns)
                m.d.sync += [o_code.eq(ErrorCode.NO_RESULT), o_kind.eq(Reply.ACK)]
                with m.If(~sum_ok):
                    m.d.sync += o_code.eq(ErrorCode.BAD_CHECKSUM)
                with m.Elif(~known):
                    m.d.sync += o_code.eq(ErrorCode.UNKNOWN_COMMAND)
                with m.Elif(~good_len):
                    m.d.sync += o_code.eq(ErrorCode.BAD_LENGTH)
                with m.Elif(is_cmd[Cmd.PING]):
                    m.d.sync += [o_error.eq(0), o_kind.eq(Reply.INFO)]
                with m.Elif(is_cmd[Cmd.LOAD]):
                    with m.If(full):
                        m.d.sync += o_code.eq(ErrorCode.BUFFER_FULL)
                    with m.Elif(bad_input):
                        m.d.sync += o_code.eq(ErrorCode.BAD_INPUT)
                    with m.Else():
                        m.d.sync += [o_error.eq(0), o_kind.eq(Reply.ACK), o_commit.eq(1)]
                with m.Elif(is_cmd[Cmd.CLEAR]):
                    m.d.sync += [o_error.eq(0), o_kind.eq(Reply.ACK), o_clear.eq(1)]
                with m.Elif(is_cmd[Cmd.RUN]):
                    with m.If(param_zero):
                        m.d.sync += o_code.eq(ErrorCode.BAD_PARAM)
                    with m.Else():
                        m.d.sync += [o_error.eq(0), o_run.eq(1)]
                        if learning is not None:
                            m.d.sync += o_train.eq(0)
                if learning is not None:
                    with m.Elif(is_cmd[Cmd.TRAIN]):
                        with m.If(param_zero):
                            m.d.sync += o_code.eq(ErrorCode.BAD_PARAM)
                        with m.Else():
                            m.d.sync += [o_error.eq(0), o_run.eq(1), o_train.eq(1)]
                    with m.Elif(is_cmd[Cmd.LEARN]):
                        with m.If(learn_bad):
                            m.d.sync += o_code.eq(ErrorCode.BAD_PARAM)
                        with m.Else():
                            m.d.sync += [o_error.eq(0), o_learn.eq(1)]
                    with m.Elif(is_cmd[Cmd.STORE]):
                        with m.If(store_bad):
                            m.d.sync += o_code.eq(ErrorCode.BAD_PARAM)
                        with m.Else():
                            m.d.sync += [o_error.eq(0), o_kind.eq(Reply.WEIGHTS)]
                with m.Else():  # READ
                    with m.If(have_result):
                        m.d.sync += [o_error.eq(0), o_kind.eq(Reply.RESULT)]
                    with m.Else():
                        m.d.sync += o_code.eq(ErrorCode.NO_RESULT)
                m.next = "REPLY"
            with m.State("REPLY"):
                with m.If(o_run):
                    m.d.sync += flush.eq(1)
                    m.next = "RUN_START"
                    if learning is not None:
                        m.d.sync += train.eq(o_train)
                if learning is not None:
                    with m.Elif(o_learn):
                        m.next = "LEARN_OFFER"
                with m.Else():
                    with m.If(o_commit):
                        m.d.sync += [wptr.eq(wptr_next), last_item.eq(wptr_next - 1)]
                    with m.If(o_clear):
                        m.d.sync += [wptr.eq(0), last_item.eq(-1)]
                    reply_decided()
            with m.State("RUN_START"):
                # (flush is high here: items left over from the last run)
                with m.If(sysm.idle):
                    m.d.sync += [start.eq(1), fptr.eq(0), fetched_all.eq(wptr == 0),
                                 in_run.eq(1), flush.eq(0)]
                    m.next = "RUN"
            with m.State("RUN"):
                # the feed's logic is outside the state machine, under in_run (before it)
                with m.If(~sysm.busy & ~start):  # (busy rises at the start's edge)
                    m.d.sync += in_run.eq(0)
                    m.next = "RUN_END"
            with m.State("RUN_END"):
                m.d.sync += [wptr.eq(0), last_item.eq(-1), have_result.eq(1)]
                reply(Reply.RESULT)
            if learning is not None:
                with m.State("LEARN_OFFER"):  # the command, until the engine takes it
                    m.d.comb += [sysm.learn.valid.eq(1),
                                 sysm.learn.payload.label.eq(param[:8]),
                                 sysm.learn.payload.lr_decay.eq(param[8:])]
                    with m.If(sysm.learn.ready):
                        m.d.sync += learn_cycles.eq(0)
                        m.next = "LEARN_WAIT"
                with m.State("LEARN_WAIT"):  # (busy is high from the cycle after the handshake)
                    with m.If(sysm.learn_busy):
                        m.d.sync += learn_cycles.eq(learn_cycles + 1)
                    with m.Else():
                        reply(Reply.LEARNED)

        # The sender: its own state machine (as the receiver), so that the reply's byte
        # counters, field and checksum decode three state bits, not the whole engine's (the
        # engine's state decode in front of their enables was on the iCE40 builds'
        # near-critical paths). ``send`` (a pulse from the reply's decision, which has set
        # ``kind`` and ``kind_sel``) starts it; it releases the receiver after the last byte.
        # ``tx.valid`` is a flip-flop, set with the move into SEND and cleared with the
        # byte's handshake: as the state's decode it was in front of the UART's shift
        # register enables (the iCE40 TTFS demo build's critical path at stop 53, 21.3 ns)
        sending = Signal()
        m.d.comb += [self.tx.valid.eq(sending), self.tx.payload.eq(tx_byte)]
        with m.FSM(name="tx_fsm"):
            with m.State("IDLE"):
                with m.If(send):
                    m.d.sync += [k.eq(0), pidx.eq(-4), tx_sum.eq(0), field.eq(0)]
                    m.next = "LANE"
            with m.State("LANE"):
                m.d.comb += fsm_lane.eq(1)
                # the byte just sent into the checksum (SYNC, and the field 0 that a new
                # reply starts with, add nothing): here the adder's enable is the state
                # alone, not the UART's ready as in SEND (the iCE40 builds' near-critical path)
                with m.If(field != 0):
                    m.d.sync += tx_sum.eq(tx_sum + tx_byte)
                m.next = "PICK"
            with m.State("PICK"):
                m.d.sync += [pbyte_r.eq(pbyte), is_last.eq(k == last_k)]
                with m.If(k == last_k):
                    m.d.sync += field.eq(5)
                with m.Elif(k < 4):
                    m.d.sync += field.eq(k[:2])
                with m.Else():
                    m.d.sync += field.eq(4)
                m.next = "FORM"
            with m.State("FORM"):
                with m.Switch(field):
                    with m.Case(0):
                        m.d.sync += tx_byte.eq(SYNC)
                    with m.Case(1):
                        m.d.sync += tx_byte.eq(kind)
                    with m.Case(2):
                        m.d.sync += tx_byte.eq(plen[:8])
                    with m.Case(3):
                        m.d.sync += tx_byte.eq(plen[8:])
                    with m.Case(4):
                        m.d.sync += tx_byte.eq(pbyte_r)
                    with m.Default():
                        m.d.sync += tx_byte.eq(-tx_sum)
                m.d.sync += sending.eq(1)
                m.next = "SEND"
            with m.State("SEND"):
                with m.If(self.tx.ready):
                    m.d.sync += [k.eq(k + 1), pidx.eq(pidx + 1), sending.eq(0)]
                    with m.If(is_last):
                        m.d.sync += release.eq(1)
                        m.next = "IDLE"
                    with m.Else():
                        m.next = "LANE"

        if own_counts:
            self._count_spikes(m, sysm, counts, start)
        return m

    @staticmethod
    def _count_spikes(m, sysm, counts, start):
        """The reply's per-class spike counters of a system without spike-count decision."""
        # saturating, counting the out_spikes handshake of the cycle before: the handshake
        # (the controller's phase, the decision's stop, the output merger) and the class
        # decode behind it were one path into the counters' enables, the iCE40 build's
        # critical path at stop 28 (23.7 ns). The counts are read in the sender's PICK, four
        # states after RUN, which ends when busy is low: after the last handshake
        # (out_spikes.valid needs a live tick), so the late count is in by then
        spiked = Signal()
        spiked_class = Signal.like(sysm.out_spikes.payload.neuron)
        m.d.sync += [spiked.eq(sysm.out_spikes.valid),
                     spiked_class.eq(sysm.out_spikes.payload.neuron)]
        # full[c]: counts[c] == 0xFFFF, a register loaded with the count: the 16-bit compare
        # in front of the enable made counter -> compare -> enable -> counter five LUT
        # levels, the iCE40 TTFS demo's critical path at stop 54 (21.4 ns)
        # (one-bit counts, reply_count_bits: set by a spike, no flag needed)
        full = ([Signal(name=f"count_full_{c}") for c in range(len(counts))]
                if len(counts[0]) > 1 else [])
        with m.If(spiked):
            with m.Switch(spiked_class):
                for c, reg in enumerate(counts):
                    with m.Case(c):
                        if not full:
                            m.d.sync += reg.eq(1)
                            continue
                        with m.If(~full[c]):
                            m.d.sync += [reg.eq(reg + 1), full[c].eq(reg == 0xFFFE)]
        with m.If(start):  # cleared by the registered start, not in the state machine
            m.d.sync += [c.eq(0) for c in counts + full]
