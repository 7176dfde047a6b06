"""The host driver (boards/host.py) against a scripted transport, and it installs without
Amaranth: it, the protocol codec and the board specs import in a Python where Amaranth (and
amaranth-boards) cannot be imported.

Each import runs in a fresh interpreter, with a ``sys.meta_path`` finder in front that refuses
every ``amaranth`` / ``amaranth_boards`` module, as if the packages were not installed. The RTL
half of the protocol (:mod:`spikeforge.boards.engine`) is the control: it must fail there, so a
driver that reached for it would fail too.
"""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from spikeforge.boards.host import SpikeforgeBoard
from spikeforge.boards.protocol import PROTOCOL_VERSION, Cmd, ProtocolError, Reply, encode_frame

HIDDEN = ("amaranth", "amaranth_boards")

_SCRIPT = textwrap.dedent("""
    import importlib
    import importlib.abc
    import sys

    HIDDEN = {hidden!r}


    class Hidden(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in HIDDEN:
                raise ModuleNotFoundError(f"No module named {{name!r}} (hidden)", name=name)
            return None


    assert not [m for m in sys.modules if m.split(".")[0] in HIDDEN], "imported at startup"
    sys.meta_path.insert(0, Hidden())
    try:
        import amaranth  # noqa: F401
    except ModuleNotFoundError:
        pass
    else:
        raise SystemExit("the finder did not hide amaranth")
    importlib.import_module({module!r})
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in HIDDEN)
    assert not loaded, loaded
    print("imported", {module!r})
""")


def _import_without_amaranth(module: str, cwd) -> subprocess.CompletedProcess:
    # cwd away from the repository root: there, ./spikeforge would shadow the installed
    # package, whose subpackages live in the other top-level folders
    script = _SCRIPT.format(hidden=HIDDEN, module=module)
    return subprocess.run([sys.executable, "-c", script], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("module", ["spikeforge.boards.host", "spikeforge.boards.protocol",
                                    "spikeforge.boards.specs"])
def test_imports_without_amaranth(module, tmp_path):
    run = _import_without_amaranth(module, tmp_path)
    assert run.returncode == 0, f"{module} needs Amaranth:\n{run.stderr}"
    assert f"imported {module}" in run.stdout


def test_the_engine_needs_amaranth(tmp_path):
    """The control: the protocol's RTL cannot import where Amaranth is hidden."""
    run = _import_without_amaranth("spikeforge.boards.engine", tmp_path)
    assert run.returncode != 0
    assert "ModuleNotFoundError: No module named 'amaranth" in run.stderr, run.stderr


class ScriptedTransport:
    """Answers each request with a canned reply; records what was written."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.written = []
        self.out = b""

    def write(self, data):
        self.written.append(bytes(data))
        if self.replies:
            self.out += self.replies.pop(0)

    def read(self, n):
        data, self.out = self.out[:n], self.out[n:]
        return data


def test_driver_chunks_loads_and_times_out():
    info = bytes([PROTOCOL_VERSION, 3, 0, 2, 0, 16, 0, 0, 0])
    result = (bytes(2) + bytes([1, 0, 2, 0]) + (99).to_bytes(4, "little") + bytes([0])
              + (2).to_bytes(2, "little") + bytes([1, 0, 0, 0])
              + bytes([2]) + b"".join(v.to_bytes(4, "little") for v in (3, 1, 1, 1)))
    replies = [encode_frame(Reply.INFO, info), encode_frame(Reply.ACK, b"\x00\x00"),
               encode_frame(Reply.ACK, b"\x04\x00"), encode_frame(Reply.ACK, b"\x06\x00"),
               encode_frame(Reply.RESULT, result)]
    t = ScriptedTransport(replies)
    board = SpikeforgeBoard(t, items_per_frame=4)
    r = board.infer(np.array([[1, 0, 2], [0, 1, 0]]))
    assert r.cycles == 99 and r.counts == (1, 0)
    assert (r.events, r.spikes) == ((3, 1), (1, 1))
    assert [w[1] for w in t.written] == [Cmd.PING, Cmd.CLEAR, Cmd.LOAD, Cmd.LOAD, Cmd.RUN]
    with pytest.raises(ValueError, match="input buffer"):
        board.infer(np.ones((4, 3), dtype=int) * 2)
    with pytest.raises(ProtocolError, match="timeout"):
        board.read_result()


def test_driver_refuses_a_board_of_another_protocol_or_an_impossible_result():
    """The driver believed any INFO (another protocol version, no inputs) and any RESULT;
    now each is a ProtocolError naming what is wrong, before anything is sent to such a
    board."""
    v1 = ScriptedTransport([encode_frame(Reply.INFO, bytes([1, 3, 0, 2, 0, 16, 0, 0, 0]))])
    with pytest.raises(ProtocolError, match="protocol version 1, this driver speaks version 3"):
        SpikeforgeBoard(v1).infer(np.zeros((2, 3), dtype=int))
    assert [w[1] for w in v1.written] == [Cmd.PING]
    no_inputs = ScriptedTransport([encode_frame(Reply.INFO, bytes([3, 0, 0, 2, 0, 16, 0, 0, 0]))])
    with pytest.raises(ProtocolError, match="n_inputs 0"):
        SpikeforgeBoard(no_inputs).ping()
    info = encode_frame(Reply.INFO, bytes([3, 3, 0, 2, 0, 16, 0, 0, 0]))
    ran_too_long = (bytes(2) + bytes([1, 0, 9, 0]) + (99).to_bytes(4, "little") + bytes([0])
                    + (2).to_bytes(2, "little") + bytes(4)  # 9 ticks run of the 2 asked for
                    + bytes([1]) + bytes(8))
    replies = [info, encode_frame(Reply.ACK, b"\x00\x00"), encode_frame(Reply.ACK, b"\x02\x00"),
               encode_frame(Reply.RESULT, ran_too_long)]
    with pytest.raises(ProtocolError, match="9 ticks run of the 2 asked for"):
        SpikeforgeBoard(ScriptedTransport(replies)).infer(np.zeros((2, 3), dtype=int))


def test_driver_learning_commands():
    """TRAIN, LEARN and STORE requests of the learning commands: the stores are read in
    requests of at most STORE_MAX_WORDS words at StoreMap's addresses (layer 1 at
    ``1 << index_bits``), and a board built without the engine is refused before anything is
    sent."""
    from spikeforge.hdl.learning import StoreMap
    from spikeforge.ir.learning import LearningConfig

    n, h, m = 3, 7, 2  # 21 and 14 words: two requests, then one
    stores = (np.arange(n * h).reshape(n, h) - 10, -np.arange(h * m).reshape(h, m))
    config = LearningConfig(n_inputs=n, n_hidden=h, n_outputs=m, ticks=4, weight_bits=(8, 8),
                            frac_bits=2, shift_out=1, shift_hidden=1, shift_revive=0, ramp=4,
                            margin=1, stores=stores)
    words = [int(x) for x in stores[0].ravel()] + [int(x) for x in stores[1].ravel()]

    def weights(chunk):
        return encode_frame(Reply.WEIGHTS, b"".join(w.to_bytes(4, "little", signed=True)
                                                    for w in chunk))

    result = (bytes(2) + bytes([1, 0, 2, 0]) + (99).to_bytes(4, "little") + bytes([0])
              + (2).to_bytes(2, "little") + bytes(4) + bytes([2]) + bytes(16))
    replies = [encode_frame(Reply.INFO, bytes([PROTOCOL_VERSION, 3, 0, 2, 0, 16, 0, 0, 1])),
               encode_frame(Reply.ACK, b"\x00\x00"), encode_frame(Reply.ACK, b"\x03\x00"),
               encode_frame(Reply.RESULT, result),
               encode_frame(Reply.LEARNED, (1234).to_bytes(4, "little")),
               weights(words[:16]), weights(words[16:21]), weights(words[21:])]
    t = ScriptedTransport(replies)
    board = SpikeforgeBoard(t)
    assert board.train(np.array([[1, 0, 0], [0, 0, 0]]), 2).cycles == 99
    assert board.learn(1, 5) == 1234
    with pytest.raises(ValueError, match="label: must be in 0..1, got 2"):
        board.learn(2)
    got0, got1 = board.read_stores(config)
    assert np.array_equal(got0, stores[0]) and np.array_equal(got1, stores[1])
    sent = [(w[1], w[4:-1]) for w in t.written]
    assert [c for c, _ in sent] == [Cmd.PING, Cmd.CLEAR, Cmd.LOAD, Cmd.TRAIN, Cmd.LEARN,
                                    Cmd.STORE, Cmd.STORE, Cmd.STORE]
    assert sent[3][1] == b"\x02\x00" and sent[4][1] == bytes([1, 5])
    layer1 = StoreMap(config).address(1, 0, 0)
    assert [(int.from_bytes(p[:4], "little"), int.from_bytes(p[4:], "little"))
            for _, p in sent[5:]] == [(0, 16), (16, 5), (layer1, 14)]
    plain = ScriptedTransport([encode_frame(Reply.INFO,
                                            bytes([PROTOCOL_VERSION, 3, 0, 2, 0, 16, 0, 0, 0]))])
    with pytest.raises(ProtocolError, match="learn: the board was built without the learning"):
        SpikeforgeBoard(plain).learn(0)
    assert [w[1] for w in plain.written] == [Cmd.PING]
