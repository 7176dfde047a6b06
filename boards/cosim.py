"""Co-simulate the board top end to end: host driver -> UART -> protocol engine -> system.

:func:`run_board_cosim` builds :class:`~spikeforge.boards.top.BoardCore` for a plan (UART
divisor 4 so that a byte is 40 cycles), runs the cocotb bench :mod:`.board_tb` on it (the real
:class:`~spikeforge.boards.host.SpikeforgeBoard` driver talking through a UART model) and
returns the bench's report; :func:`check_board_report` compares it with the golden model
(class, decision tick, ticks run, per-class output spike counts, error flag) and with the
expected replies to the malformed requests of :func:`malformed_requests`.
"""

from __future__ import annotations

import numpy as np

from spikeforge.boards.protocol import (
    MARKER,
    SYNC,
    Cmd,
    ErrorCode,
    Reply,
    checksum,
    encode_frame,
    items_payload,
)
from spikeforge.boards.top import BoardCore
from spikeforge.compiler.map import plan_network
from spikeforge.cosim.runner import CocotbResult, run_cocotb, spec_file
from spikeforge.cosim.system_cosim import expected_counters, expected_run, expected_spikes
from spikeforge.hdl.system import SpikeforgeSystem
from spikeforge.hdl.verilog import to_verilog
from spikeforge.ir.params import Decision
from spikeforge.ir.system import SystemConfig
from spikeforge.sim.system_cycle import ticks_to_run

__all__ = ["board_verilog", "malformed_requests", "run_board_cosim", "check_board_report",
           "expected_results", "SIM_DIVISOR"]

TOP_NAME = "spikeforge_board"
SIM_DIVISOR = 4
TB_MODULE = "spikeforge.boards.board_tb"
SPEC_ENV = "SPIKEFORGE_BOARD_SPEC"  # the bench reads its spec (JSON) from this path


def board_verilog(plan, system: SystemConfig, *, input_depth: int = 256, timeout_cycles: int = 600,
                  divisor: int = SIM_DIVISOR) -> str:
    core = BoardCore(SpikeforgeSystem(plan, system), divisor=divisor, clk_hz=2000,
                     input_depth=input_depth, timeout_cycles=timeout_cycles)
    return to_verilog(core, TOP_NAME)


def malformed_requests(n_inputs: int, input_depth: int) -> list[tuple[bytes, int, int]]:
    """``(request bytes, expected reply CMD, expected error code or None)``: READ before any
    RUN, a bad checksum, an unknown command, wrong lengths, an out-of-range input index, a
    zero tick count, a buffer overflow, garbage before a PING, and a truncated frame (ended
    by the timeout)."""
    bad_sum = bytearray(encode_frame(Cmd.PING))
    bad_sum[-1] ^= 0x01
    truncated = bytes([SYNC, Cmd.LOAD, 10, 0, 1, 0, 2])
    too_many = [0] * (input_depth + 1)
    out = [
        (encode_frame(Cmd.READ), Reply.ERROR, ErrorCode.NO_RESULT),
        (bytes(bad_sum), Reply.ERROR, ErrorCode.BAD_CHECKSUM),
        (encode_frame(0x42, b"\x01\x02"), Reply.ERROR, ErrorCode.UNKNOWN_COMMAND),
        (encode_frame(Cmd.RUN, b"\x05\x00\x00"), Reply.ERROR, ErrorCode.BAD_LENGTH),
        (encode_frame(Cmd.LOAD, b"\x01\x00\x02"), Reply.ERROR, ErrorCode.BAD_LENGTH),
        (encode_frame(Cmd.PING, b"\x00"), Reply.ERROR, ErrorCode.BAD_LENGTH),
        (encode_frame(Cmd.LOAD, items_payload([0, n_inputs, MARKER])), Reply.ERROR,
         ErrorCode.BAD_INPUT),
        (encode_frame(Cmd.RUN, b"\x00\x00"), Reply.ERROR, ErrorCode.BAD_PARAM),
        (encode_frame(Cmd.LOAD, items_payload(too_many)), Reply.ERROR, ErrorCode.BUFFER_FULL),
        (b"\x00\xff\x13" + encode_frame(Cmd.PING), Reply.INFO, None),
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


def expected_results(network, input_counts, n_ticks: int, plan=None) -> list[dict]:
    """What the RESULT frame must say for every image, from the golden model. A first-spike
    run stops at the deciding spike, so its spike counts (and the spike counters) are those
    of the spikes before the stop, which the system cycle model of ``plan`` (default
    ``plan_network(network)``) orders; the event counters are the golden model's
    ``statistics().input_events``."""
    trace, timings, _ = expected_run(network, plan or plan_network(network), input_counts, n_ticks)
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
                    timeout_cycles: int = 600, malformed: bool = True) -> CocotbResult:
    """Run the bench; ``result.report`` holds what the host driver received."""
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
        text = board_verilog(plan, SystemConfig(network.decision), input_depth=input_depth,
                             timeout_cycles=timeout_cycles)
        return run_cocotb(text, TOP_NAME, TB_MODULE, simulator, extra_env={SPEC_ENV: name})


def check_board_report(report: dict, network, input_counts, n_ticks: int | None = None,
                       input_depth: int = 256, malformed: bool = True, plan=None) -> None:
    """Raise ``AssertionError`` naming the first difference (``plan``: the board's, if it is
    not ``plan_network(network)``)."""
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
            elif code is not None:
                assert payload[0] == code, (f"malformed request {k} ({request.hex()}): expected "
                                            f"error {code.name}, got {payload.hex()}")
    assert not report["errors"], report["errors"]
    expected = expected_results(network, counts, n_ticks, plan)
    for b, (want, got) in enumerate(zip(expected, report["results"], strict=True)):
        for key in ("cls", "decision_tick", "ticks_run", "counts", "error", "events", "spikes"):
            assert got[key] == want[key], (f"image {b}: {key}: board {got[key]}, golden "
                                           f"{want[key]} (board result {got})")
        if network.decision is Decision.FIRST_SPIKE:
            assert got["no_spike"] == want["no_spike"], (b, got, want)
        assert got["cycles"] > 0
    if expected:
        assert report["read_again"] == report["results"][-1]
