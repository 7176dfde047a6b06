"""Co-simulate the board top end to end: host driver -> UART -> protocol engine -> system.

:func:`run_board_cosim` builds :class:`~spikeforge.boards.top.BoardCore` for a plan (UART
divisor 4 so that a byte is 40 cycles), runs the cocotb bench :mod:`.board_tb` on it (the real
:class:`~spikeforge.boards.host.SpikeforgeBoard` driver talking through a UART model) and
returns the bench's report; :func:`check_board_report` compares it with the golden model
(class, decision tick, ticks run, per-class output spike counts, error flag) and with the
expected replies to the malformed requests of :func:`malformed_requests`.

A learning build (:func:`run_board_learning`) trains online over the UART: per sample the
driver LOADs its items, TRAINs and LEARNs, and at the end reads every store back;
:func:`check_board_learning` compares each training RESULT with the golden model run with
the weights the rule (:class:`~spikeforge.sim.learning.PopcountLearner`, one sample at a
time) holds before the sample, each LEARNED with
:func:`~spikeforge.hdl.learning.update_cycles`, the stores with the rule's ``acc``, and the
replies to :func:`learning_requests` (the learning commands' errors, and two reads of the
initial stores).
"""

from __future__ import annotations

import copy

import numpy as np

from spikeforge.boards.protocol import (
    MARKER,
    STORE_MAX_WORDS,
    SYNC,
    Cmd,
    ErrorCode,
    Frame,
    Reply,
    checksum,
    encode_frame,
    encode_store,
    items_payload,
    parse_result,
)
from spikeforge.boards.learning import learning_design
from spikeforge.boards.top import BoardCore
from spikeforge.compiler.map import plan_network
from spikeforge.cosim.runner import CocotbResult, run_cocotb, spec_file
from spikeforge.cosim.system_cosim import (
    build_args_for,
    expected_counters,
    expected_run,
    expected_spikes,
)
from spikeforge.hdl.learning import StoreMap, update_cycles
from spikeforge.hdl.system import SpikeforgeSystem
from spikeforge.hdl.verilog import to_verilog
from spikeforge.ir.learning import LearningConfig
from spikeforge.ir.params import Decision
from spikeforge.ir.system import SystemConfig
from spikeforge.sim.learning import PopcountLearner, touched_rows
from spikeforge.sim.network import ERROR_UNDETERMINED, run_network
from spikeforge.sim.system_cycle import ticks_to_run

__all__ = ["board_verilog", "malformed_requests", "run_board_cosim", "check_board_report",
           "expected_results", "SIM_DIVISOR", "learning_requests", "expected_learning",
           "run_board_learning", "check_board_learning"]

TOP_NAME = "spikeforge_board"
SIM_DIVISOR = 4
TB_MODULE = "spikeforge.boards.board_tb"
SPEC_ENV = "SPIKEFORGE_BOARD_SPEC"  # the bench reads its spec (JSON) from this path


def board_verilog(plan, system: SystemConfig, *, input_depth: int = 256, timeout_cycles: int = 600,
                  divisor: int = SIM_DIVISOR, learning: LearningConfig | None = None,
                  load_stage: bool = False) -> str:
    """The Verilog of the board core for ``plan`` (``learning``: a learning build;
    ``load_stage``: the ECP5 build's LOAD write,
    :class:`~spikeforge.boards.engine.ProtocolEngine`)."""
    core = BoardCore(SpikeforgeSystem(plan, system, learning), divisor=divisor, clk_hz=2000,
                     input_depth=input_depth, timeout_cycles=timeout_cycles,
                     load_stage=load_stage)
    return to_verilog(core, TOP_NAME)


def malformed_requests(n_inputs: int, input_depth: int) -> list[tuple[bytes, int, object]]:
    """``(request bytes, expected reply CMD, expected error code or None)``: READ before any
    RUN, a bad checksum, an unknown command, wrong lengths (one wrong only in its high
    byte), an out-of-range input index, a zero tick count, a run of one stored event and no
    marker (the engine's own markers must not overtake it), a buffer overflow behind a
    stored tick marker (the refused items must not wrap around onto it: the run after it
    takes no event), garbage before a PING, the learning commands (an inference-only build
    does not know them), and a truncated frame (ended by the timeout). A run's expected code
    ``("events", n)``: ``n`` layer-0 events in its RESULT."""
    bad_sum = bytearray(encode_frame(Cmd.PING))
    bad_sum[-1] ^= 0x01
    truncated = bytes([SYNC, Cmd.LOAD, 10, 0, 1, 0, 2])
    too_many = [1] * (input_depth + 1)  # input 1: a stored event, if one lands
    out = [
        (encode_frame(Cmd.READ), Reply.ERROR, ErrorCode.NO_RESULT),
        (bytes(bad_sum), Reply.ERROR, ErrorCode.BAD_CHECKSUM),
        (encode_frame(0x42, b"\x01\x02"), Reply.ERROR, ErrorCode.UNKNOWN_COMMAND),
        (encode_frame(Cmd.RUN, b"\x05\x00\x00"), Reply.ERROR, ErrorCode.BAD_LENGTH),
        (encode_frame(Cmd.LOAD, b"\x01\x00\x02"), Reply.ERROR, ErrorCode.BAD_LENGTH),
        (encode_frame(Cmd.PING, b"\x00"), Reply.ERROR, ErrorCode.BAD_LENGTH),
        # LEN 258: RUN's length in the low byte, so only the high byte makes it wrong
        (encode_frame(Cmd.RUN, b"\x05\x00" + bytes(256)), Reply.ERROR, ErrorCode.BAD_LENGTH),
        (encode_frame(Cmd.LOAD, items_payload([0, n_inputs, MARKER])), Reply.ERROR,
         ErrorCode.BAD_INPUT),
        (encode_frame(Cmd.RUN, b"\x00\x00"), Reply.ERROR, ErrorCode.BAD_PARAM),
        (encode_frame(Cmd.CLEAR), Reply.ACK, None),
        (encode_frame(Cmd.LOAD, items_payload([1])), Reply.ACK, None),
        (encode_frame(Cmd.RUN, b"\x01\x00"), Reply.RESULT, ("events", 1)),
        (encode_frame(Cmd.LOAD, items_payload([MARKER])), Reply.ACK, None),
        (encode_frame(Cmd.LOAD, items_payload(too_many)), Reply.ERROR, ErrorCode.BUFFER_FULL),
        (encode_frame(Cmd.RUN, b"\x01\x00"), Reply.RESULT, ("events", 0)),
        (b"\x00\xff\x13" + encode_frame(Cmd.PING), Reply.INFO, None),
        (encode_frame(Cmd.TRAIN, b"\x05\x00"), Reply.ERROR, ErrorCode.UNKNOWN_COMMAND),
        (encode_frame(Cmd.LEARN, b"\x00\x00"), Reply.ERROR, ErrorCode.UNKNOWN_COMMAND),
        (encode_frame(Cmd.STORE, encode_store(0, 1)), Reply.ERROR, ErrorCode.UNKNOWN_COMMAND),
        (truncated, Reply.ERROR, ErrorCode.TIMEOUT),
        (encode_frame(Cmd.CLEAR), Reply.ACK, None),
    ]
    assert checksum(bytes(bad_sum[1:-1])) != bad_sum[-1]
    return out


def overflow_requests(n_inputs: int) -> list[tuple[bytes, int, str | None]]:
    """A tick with more events than ``max_events_per_tick`` (the default bound, ``n_inputs``):
    LOAD is accepted, the RESULT has its error flag set. Sent after the images (the flag is
    cleared by the next ``start``, so any position would do:
    ``tests/hdl/test_system_error.py`` shows it for overflows in any tick)."""
    return [(encode_frame(Cmd.LOAD, items_payload([0] * (n_inputs + 1) + [MARKER])),
             Reply.ACK, None),
            (encode_frame(Cmd.RUN, b"\x01\x00"), Reply.RESULT, "overflow")]


def expected_results(network, input_counts, n_ticks: int, plan=None,
                     system: SystemConfig | None = None) -> list[dict]:
    """What the RESULT frame must say for every image, from the golden model. A first-spike
    run stops at the deciding spike, so its spike counts (and the spike counters) are those
    of the spikes before the stop, which the system cycle model of ``plan`` (default
    ``plan_network(network)``) and ``system`` (default: the tick barrier) orders; the event
    counters are the golden model's ``statistics().input_events``."""
    trace, timings, _ = expected_run(network, plan or plan_network(network), input_counts, n_ticks,
                                     system=system)
    events = trace.statistics(until_decision=True).input_events
    out = []
    for b, timing in enumerate(timings):
        run = ticks_to_run(trace, b, n_ticks)
        spikes = [expected_spikes(trace, b, l, run, timing.monitor_events[l])
                  for l in range(len(network.layers))]
        stopped = [n for n, _ in expected_spikes(trace, b, len(network.layers) - 1, run,
                                                 timing.out_events)]
        counts = np.bincount(np.asarray(stopped, dtype=np.int64), minlength=network.n_outputs)
        out.append({"cls": int(trace.decision[b]), "decision_tick": int(trace.decision_tick[b]),
                    "ticks_run": run, "counts": [int(c) for c in counts], "error": False,
                    "no_spike": bool(counts.sum() == 0), **expected_counters(events[b], spikes)})
    return out


def run_board_cosim(network, plan, input_counts, simulator: str = "icarus", *,
                    n_ticks: int | None = None, input_depth: int = 256,
                    timeout_cycles: int = 600, malformed: bool = True,
                    system: SystemConfig | None = None,
                    load_stage: bool = False) -> CocotbResult:
    """Run the bench; ``result.report`` holds what the host driver received. ``system``:
    the system's settings (default ``SystemConfig(network.decision)``, the tick barrier);
    ``load_stage``: as :func:`board_verilog`."""
    counts = network.check_input(input_counts)
    n_ticks = n_ticks or counts.shape[1]
    raw = malformed_requests(network.n_inputs, input_depth) if malformed else []
    spec = {"divisor": SIM_DIVISOR, "n_ticks": n_ticks,
            "images": counts.tolist(), "raw": [r.hex() for r, _, _ in raw],
            "raw_after": [r.hex() for r, _, _ in overflow_requests(network.n_inputs)]
            if malformed else [],
            "read_timeout_cycles": 4 * timeout_cycles + 200_000,
            "items_per_frame": 64}
    with spec_file(spec, "board") as name:
        text = board_verilog(plan, system or SystemConfig(network.decision),
                             input_depth=input_depth,
                             timeout_cycles=timeout_cycles, load_stage=load_stage)
        return run_cocotb(text, TOP_NAME, TB_MODULE, simulator, extra_env={SPEC_ENV: name})


def check_board_report(report: dict, network, input_counts, n_ticks: int | None = None,
                       input_depth: int = 256, malformed: bool = True, plan=None,
                       system: SystemConfig | None = None) -> None:
    """Raise ``AssertionError`` naming the first difference (``plan``: the board's, if it is
    not ``plan_network(network)``; ``system``: as :func:`run_board_cosim`'s)."""
    counts = network.check_input(input_counts)
    n_ticks = n_ticks or counts.shape[1]
    info = report["info"]
    assert info["n_inputs"] == network.n_inputs, info
    assert info["n_classes"] == network.n_outputs, info
    assert info["input_depth"] == input_depth, info
    assert info["decision"] == network.decision.value, info
    if malformed:
        requests = malformed_requests(network.n_inputs, input_depth) + overflow_requests(
            network.n_inputs)
        for k, ((request, kind, code), got) in enumerate(
                zip(requests, report["raw"] + report["raw_after"], strict=True)):
            assert got["cmd"] == kind, (f"malformed request {k} ({request.hex()}): expected reply "
                                        f"0x{int(kind):02x}, got {got}")
            payload = bytes.fromhex(got["payload"])
            if code == "overflow":
                assert payload[10] & 1, f"overflowing tick: error flag not set in {payload.hex()}"
            elif isinstance(code, tuple):
                events = parse_result(Frame(kind, payload)).events[0]
                assert events == code[1], (f"request {k} ({request.hex()}): {events} layer-0 "
                                           f"events, expected {code[1]}")
            elif code is not None:
                assert payload[0] == code, (f"malformed request {k} ({request.hex()}): expected "
                                            f"error {code.name}, got {payload.hex()}")
    assert not report["errors"], report["errors"]
    expected = expected_results(network, counts, n_ticks, plan, system)
    for b, (want, got) in enumerate(zip(expected, report["results"], strict=True)):
        for key in ("cls", "decision_tick", "ticks_run", "counts", "error", "events", "spikes"):
            assert got[key] == want[key], (f"image {b}: {key}: board {got[key]}, golden "
                                           f"{want[key]} (board result {got})")
        if network.decision is Decision.FIRST_SPIKE:
            assert got["no_spike"] == want["no_spike"], (b, got, want)
        assert got["cycles"] > 0
    if expected:
        assert report["read_again"] == report["results"][-1]


# -- learning builds ----------------------------------------------------------------------------

def learning_requests(config) -> list[tuple[bytes, int, object]]:
    """``(request bytes, expected reply CMD, expected error code, or the store words a
    WEIGHTS reply must hold)`` for a learning build of ``config`` (sent before any training,
    so the stores are the initial ones): each learning command with a wrong length or a
    parameter out of range, STOREs past the end of a layer or the address map, and two
    STOREs that must succeed (the first words, and the last word of layer 0: its end)."""
    store_map = StoreMap(config)
    n_classes = config.n_outputs
    H, M = config.n_hidden, config.n_outputs
    first = [int(x) for x in config.stores[0].ravel()[:3]]
    last0 = int(config.stores[0][-1, -1])
    bad = ErrorCode.BAD_PARAM
    return [
        (encode_frame(Cmd.TRAIN, b"\x00\x00"), Reply.ERROR, bad),
        (encode_frame(Cmd.TRAIN, b"\x05\x00\x00"), Reply.ERROR, ErrorCode.BAD_LENGTH),
        (encode_frame(Cmd.LEARN, bytes([n_classes, 0])), Reply.ERROR, bad),
        (encode_frame(Cmd.LEARN, bytes([0, 32])), Reply.ERROR, bad),
        (encode_frame(Cmd.LEARN, b"\x00"), Reply.ERROR, ErrorCode.BAD_LENGTH),
        (encode_frame(Cmd.STORE, encode_store(0, 1)[:4] + b"\x00\x00"), Reply.ERROR, bad),
        (encode_frame(Cmd.STORE, encode_store(0, 1)[:4] + bytes([STORE_MAX_WORDS + 1, 0])),
         Reply.ERROR, bad),
        (encode_frame(Cmd.STORE, encode_store(store_map.address(1, H - 1, M - 1), 2)),
         Reply.ERROR, bad),
        (encode_frame(Cmd.STORE, encode_store(1 << store_map.addr_bits, 1)), Reply.ERROR, bad),
        (encode_frame(Cmd.STORE, encode_store(0, 1)[:4]), Reply.ERROR, ErrorCode.BAD_LENGTH),
        (encode_frame(Cmd.STORE, encode_store(0, len(first))), Reply.WEIGHTS, first),
        (encode_frame(Cmd.STORE, encode_store(store_map.address(0, config.n_inputs - 1, H - 1),
                                              1)), Reply.WEIGHTS, [last0]),
    ]


def expected_learning(learner: PopcountLearner, counts, labels, lr_decays=None) -> dict:
    """What a learning run over the UART must report: per sample the training RESULT (the
    golden model with the weights the rule holds before the sample, every tick run: class,
    decision tick, ticks run, per-class output spikes, error flag, work counters) and the
    update's cycles (:func:`update_cycles`); the stores after the last sample. The rule
    moves on one sample at a time, with the sample's ``lr_decay``; ``learner`` is not
    changed."""
    learner = copy.deepcopy(learner)
    config = learner.hardware_config()
    counts = np.asarray(counts, dtype=np.int64)
    lr_decays = [0] * len(labels) if lr_decays is None else [int(d) for d in lr_decays]
    T = learner.ticks
    results, cycles = [], []
    for k in range(len(labels)):
        sample = counts[k:k + 1]
        network = learner.current_network()
        trace = run_network(network, sample, T, early_exit=False)
        events = trace.statistics(until_decision=False).input_events[0]
        out_counts = trace.spikes[-1][0].sum(axis=0)
        error = int(trace.error[0])
        results.append({
            "cls": int(trace.decision[0]), "decision_tick": int(trace.decision_tick[0]),
            "ticks_run": T, "counts": [int(c) for c in out_counts],
            "error": None if error == ERROR_UNDETERMINED else bool(error),
            "no_spike": bool(out_counts.sum() == 0), "events": [int(e) for e in events],
            "spikes": [int(s[0].sum()) for s in trace.spikes]})
        cycles.append(update_cycles(config, int(touched_rows(sample, trace,
                                                             learner.margin)[0])))
        learner.lr_decay = lr_decays[k]
        learner.step(sample, np.array([int(labels[k])]))
    return {"results": results, "cycles": cycles, "stores": [a.copy() for a in learner.acc]}


def run_board_learning(learner: PopcountLearner, counts, labels, lr_decays=None,
                       simulator: str = "icarus", *, plan=None, input_depth: int = 256,
                       timeout_cycles: int = 600, label_offset: int = 0,
                       verilog_text: str | None = None) -> CocotbResult:
    """Train ``learner``'s network online on a learning board over the UART (the bench's
    ``learn`` run): the :func:`learning_requests` first, then per sample LOAD, TRAIN,
    LEARN, then both stores read back. ``plan``: the cores (default
    ``plan_network(learner.current_network())``); ``label_offset``: a fault of the host
    (every label sent off by it, modulo the classes); ``verilog_text``: another design (a
    mutant). ``learner`` is not changed; ``result.report`` holds what the driver received."""
    artifact, config = learning_design(learner, plan)
    network = artifact.network
    counts = network.check_input(np.asarray(counts, dtype=np.int64))
    lr_decays = [0] * len(labels) if lr_decays is None else [int(d) for d in lr_decays]
    raw = learning_requests(config)
    spec = {"divisor": SIM_DIVISOR, "n_ticks": learner.ticks, "images": [],
            "raw": [r.hex() for r, _, _ in raw], "raw_after": [],
            "read_timeout_cycles": 4 * timeout_cycles + 200_000, "items_per_frame": 64,
            "learn": {"config": config.to_dict(), "label_offset": int(label_offset),
                      "samples": [{"counts": c.tolist(), "label": int(y), "lr_decay": d}
                                  for c, y, d in zip(counts, labels, lr_decays)]}}
    with spec_file(spec, "board_learn") as name:
        text = verilog_text if verilog_text is not None else board_verilog(
            artifact.plan, artifact.system, input_depth=input_depth,
            timeout_cycles=timeout_cycles, learning=config)
        return run_cocotb(text, TOP_NAME, TB_MODULE, simulator, extra_env={SPEC_ENV: name},
                          build_args=build_args_for(simulator))


def check_board_learning(report: dict, learner: PopcountLearner, counts, labels,
                         lr_decays=None, *, input_depth: int = 256,
                         expected: dict | None = None) -> None:
    """Raise ``AssertionError`` naming the first difference of a :func:`run_board_learning`
    report: the INFO (a learning build), the replies to :func:`learning_requests`, then per
    sample (by index) the training RESULT's fields and the LEARNED cycles, then the first
    store word that differs from the rule's (layer, pre, post). ``expected``: the run's
    :func:`expected_learning` if already made."""
    config = learner.hardware_config()
    info = report["info"]
    assert info["learns"], f"INFO: the board does not learn: {info}"
    assert (info["n_inputs"], info["n_classes"], info["input_depth"]) == \
        (config.n_inputs, config.n_outputs, input_depth), info
    for k, ((request, kind, want), got) in enumerate(
            zip(learning_requests(config), report["raw"], strict=True)):
        assert got["cmd"] == kind, (f"learning request {k} ({request.hex()}): expected reply "
                                    f"0x{int(kind):02x}, got {got}")
        payload = bytes.fromhex(got["payload"])
        if kind == Reply.ERROR:
            assert payload[0] == want, (f"learning request {k} ({request.hex()}): expected "
                                        f"error {want.name}, got {payload.hex()}")
        else:
            words = [int.from_bytes(payload[4 * i:4 * i + 4], "little", signed=True)
                     for i in range(len(payload) // 4)]
            assert len(payload) == 4 * len(want) and words == want, \
                f"learning request {k} ({request.hex()}): store words {words}, expected {want}"
    assert not report["errors"], report["errors"]
    expected = expected or expected_learning(learner, counts, labels, lr_decays)
    assert len(report["train"]) == len(expected["results"]), \
        f"{len(report['train'])} training results for {len(expected['results'])} samples"
    for b, (want, got, cycles_want, cycles_got) in enumerate(zip(
            expected["results"], report["train"], expected["cycles"], report["learned"],
            strict=True)):
        for key in ("cls", "decision_tick", "ticks_run", "counts", "no_spike", "error",
                    "events", "spikes"):
            if key == "error" and want[key] is None:
                continue
            assert got[key] == want[key], (f"sample {b}: training RESULT {key}: board "
                                           f"{got[key]}, golden {want[key]} (board result {got})")
        assert cycles_got == cycles_want, (f"sample {b}: LEARNED {cycles_got} cycles, the "
                                           f"cycle model says {cycles_want}")
    for layer, (want, got) in enumerate(zip(expected["stores"], report["stores"], strict=True)):
        got = np.asarray(got, dtype=np.int64)
        assert got.shape == want.shape, f"stores[{layer}]: shape {got.shape}, rule {want.shape}"
        bad = np.argwhere(got != want)
        if len(bad):
            pre, post = (int(x) for x in bad[0])
            raise AssertionError(f"stores[{layer}] after {len(labels)} samples: weight "
                                 f"[{pre}, {post}] board {int(got[pre, post])}, rule "
                                 f"{int(want[pre, post])} ({len(bad)} "
                                 + ("word differs)" if len(bad) == 1 else "words differ)"))
