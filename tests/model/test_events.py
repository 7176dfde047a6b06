"""Event-camera input (model/events.py): the N-MNIST reader against an independent encoder and
the real recording, the address-event stream and its file, the saccade simulator, binning."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from spikeforge.ir.errors import ConfigError, SpikeforgeError
from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.ir.params import Decision, NeuronParams
from spikeforge.model.events import (
    EVENT_DTYPE,
    REAL_LEG_ENDS_US,
    EventStream,
    SaccadeSimulator,
    _sample,
    bin_batch,
    bin_events,
    displacement,
    encode_nmnist,
    isolated,
    n_event_inputs,
    parse_nmnist,
    plot_saccades,
    read_nmnist,
    saccade_bounds,
    saccade_statistics,
)
from spikeforge.sim.network import run_network
from tests.util import needs_mnist

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "events" / "nmnist-sample.bin"
REAL_SHA256 = "3c9159329633efbb6879bba1b430598b78cc06a779a55d1259ec13e203ad00ee"
needs_real = pytest.mark.skipif(not REAL.is_file(), reason=f"no real N-MNIST recording here ({REAL}: "
                                                         "the team machines' ../shared only)")


def nmnist_bytes(events) -> bytes:
    """The N-MNIST format written independently of the module: per event ``x``, ``y``, then
    ``p`` and the 23-bit ``t`` as one big-endian 24-bit integer."""
    out = bytearray()
    for x, y, p, t in events:
        out += bytes([x, y]) + ((p << 23) | t).to_bytes(3, "big")
    return bytes(out)


def random_events(seed: int, n: int = 300):
    rng = np.random.default_rng(seed)
    t = np.sort(rng.integers(0, 2 ** 23, n))
    t[0], t[-1] = 0, 2 ** 23 - 1  # both ends of the 23-bit field
    x, y, p = rng.integers(0, 34, n), rng.integers(0, 34, n), rng.integers(0, 2, n)
    x[0], y[0] = 33, 33
    return [tuple(int(v) for v in e) for e in zip(x, y, p, t)]


def stream_of(*events, width=34, height=34) -> EventStream:
    x, y, p, t = zip(*events) if events else ((), (), (), ())
    return EventStream.from_arrays(x, y, p, t, width, height)


# -- the N-MNIST reader ----------------------------------------------------------------------

def test_reader_decodes_an_independently_encoded_file(tmp_path):
    events = random_events(1)
    path = tmp_path / "a.bin"
    path.write_bytes(nmnist_bytes(events))
    stream = read_nmnist(path)
    assert len(stream) == len(events)
    for name, column in zip("xypt", zip(*events)):
        assert getattr(stream, name).tolist() == list(column), name
    assert stream.events.dtype == EVENT_DTYPE and (stream.width, stream.height) == (34, 34)


def test_overflow_marker_adds_2_to_the_13_to_later_events():
    """Orchard's reference reader and tonic: an event with y = 240 is a marker, not an event."""
    events = [(1, 2, 1, 100), (3, 4, 0, 8000), (0, 240, 0, 0), (5, 6, 1, 50), (0, 240, 0, 0),
              (7, 8, 0, 60)]
    stream = parse_nmnist(nmnist_bytes(events))
    assert stream.t.tolist() == [100, 8000, 50 + 8192, 60 + 2 * 8192]
    assert stream.x.tolist() == [1, 3, 5, 7]


def test_unsorted_file_is_sorted_stably():
    stream = parse_nmnist(nmnist_bytes([(1, 1, 1, 50), (2, 2, 0, 10), (3, 3, 1, 50)]))
    assert stream.t.tolist() == [10, 50, 50] and stream.x.tolist() == [2, 1, 3]


@pytest.mark.parametrize("data, message", [
    (b"\x00" * 7, "7 bytes is not a whole number of 5-byte"),
    (nmnist_bytes([(1, 1, 0, 5), (34, 2, 1, 9)]), "event 1 has x=34, y=2"),
    (nmnist_bytes([(1, 200, 0, 5)]), "event 0 has x=1, y=200"),
])
def test_bad_file_is_named(data, message):
    with pytest.raises(SpikeforgeError, match=message) as info:
        parse_nmnist(data, "sample.bin")
    assert str(info.value).startswith("sample.bin: ")


def test_missing_file_is_named(tmp_path):
    with pytest.raises(SpikeforgeError, match="nothere.bin: cannot read"):
        read_nmnist(tmp_path / "nothere.bin")


def test_encoder_writes_the_bytes_it_reads():
    data = nmnist_bytes(random_events(2))
    assert encode_nmnist(parse_nmnist(data)) == data
    with pytest.raises(ConfigError, match="events.t: 8388608 us at event 0 does not fit"):
        encode_nmnist(stream_of((0, 0, 1, 2 ** 23)))
    with pytest.raises(ConfigError, match="40x34 sensor does not fit"):
        encode_nmnist(stream_of((0, 0, 1, 5), width=40))


@needs_real
def test_real_recording():
    """The figures of ../shared/data/events/README.md."""
    assert hashlib.sha256(REAL.read_bytes()).hexdigest() == REAL_SHA256
    stream = read_nmnist(REAL)
    assert len(stream) == 4325
    assert (int(stream.x.min()), int(stream.x.max()), int(stream.y.min()), int(stream.y.max())) == (0, 33, 0, 33)
    assert (int(stream.t.min()), int(stream.t.max())) == (654, 311175)
    assert int(stream.p.sum()) == 2145 and round(stream.on_fraction, 3) == 0.496


@needs_real
def test_real_recording_has_three_saccades():
    stream = read_nmnist(REAL)
    bounds = saccade_bounds(stream)
    assert bounds == (97_000, 224_000, 311_176)
    assert REAL_LEG_ENDS_US == (bounds[0], bounds[1], round(bounds[2], -3))
    rows = saccade_statistics(stream, bounds)
    assert [r["events"] for r in rows] == [1365, 1413, 1547]
    # the digit moves by +7 pixels in y during leg 1 (tonic's stabilize subtracts it) ...
    first, last = stream.window(0, 20_000), stream.window(70_000, 97_000)
    assert last.y.mean() - first.y.mean() > 2.5
    # ... and its leading edge emits OFF events in every leg: the simulator's dark_digit
    start = 0
    for stop, (ax, ay) in zip(bounds, [(0, 1), (1, -1), (-1, 0)]):  # motion direction of the leg
        leg = stream.window(start, stop)
        ahead = [np.sign(d) * (c[leg.p == 0].mean() - c[leg.p == 1].mean())
                 for d, c in ((ax, leg.x), (ay, leg.y)) if d]
        assert min(ahead) > 3, (start, ahead)
        start = stop


@needs_real
@needs_mnist
def test_simulated_mnist_resembles_the_real_recording():
    """Whole-recording figures of 16 simulated MNIST test digits against the real recording
    (one digit of unknown class): the real value within 1.5 sd of the simulated mean
    (benchmarks/bench_events.py prints the full table for 200 digits)."""
    from spikeforge.model.datasets import load_dataset

    real = read_nmnist(REAL)
    sim = SaccadeSimulator()
    streams = sim.simulate_many(load_dataset("mnist").test_x[:16], seed=0)
    want = saccade_statistics(real, (saccade_bounds(real)[-1],))[0]
    rows = [saccade_statistics(s, (sim.leg_ends_us[-1],))[0] for s in streams]
    for key in ("events", "on_fraction", "std_x", "std_y", "active_pixels", "mean_rate", "peak_rate"):
        values = np.array([r[key] for r in rows])
        assert abs(values.mean() - want[key]) < 1.5 * values.std() + 1e-3, (key, want[key], values.mean())


# -- the address-event stream ----------------------------------------------------------------

@pytest.mark.parametrize("columns, kwargs, message", [
    (([34], [0], [1], [0]), {}, r"events.x: 34 at event 0 is outside 0..33"),
    (([0, 0], [0, 9], [1, 0], [0, 5]), {"height": 9}, r"events.y: 9 at event 1 is outside 0..8"),
    (([0], [0], [2], [0]), {}, r"events.p: 2 at event 0 is outside 0..1"),
    (([0], [0], [1], [-3]), {}, r"events.t: -3 us at event 0 is negative"),
    (([0, 0], [0, 0], [1, 1], [5, 4]), {"sort": False}, r"events.t: 4 us at event 1 is earlier"),
    (([0], [-1], [1], [0]), {}, r"events.y: -1 at event 0 is negative"),
    (([0], [0], [1], [0.5]), {}, r"t: must be integers"),
    (([0, 1], [0], [1], [0]), {}, r"y: has 1 values, x has 2"),
    (([0], [0], [1], [0]), {"width": 0}, r"width: must be an integer in 1..65535"),
])
def test_stream_checks_name_the_field(columns, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        EventStream.from_arrays(*columns, **kwargs)


def test_stream_wants_the_event_dtype():
    with pytest.raises(ConfigError, match="events: must be a 1-D array of dtype"):
        EventStream(np.zeros(3, dtype=np.int64))


def test_stream_file_round_trip(tmp_path):
    stream = parse_nmnist(nmnist_bytes(random_events(3)))
    loaded = EventStream.load(stream.save(tmp_path / "s.npz"))
    assert np.array_equal(loaded.events, stream.events) and loaded.events.dtype == EVENT_DTYPE
    assert (loaded.width, loaded.height) == (34, 34)
    assert not loaded.events.flags.writeable


def _write_npz(path, **override):
    fields = {"format": np.array("spikeforge-events-1"), "width": np.array(34), "height": np.array(34),
              "x": np.array([1], "<u2"), "y": np.array([2], "<u2"), "p": np.array([1], "u1"),
              "t": np.array([5], "<i8")}
    fields.update(override)
    np.savez(path, **{k: v for k, v in fields.items() if v is not None})
    return path


@pytest.mark.parametrize("override, error, message", [
    ({"t": None}, SpikeforgeError, "missing field 't'"),
    ({"format": np.array("other-1")}, SpikeforgeError, "format: expected 'spikeforge-events-1'"),
    ({"x": np.array([1], "<i4")}, SpikeforgeError, "x: expected a 1-D uint16 array, got 1-D int32"),
    ({"x": np.array([40], "<u2")}, ConfigError, "events.x: 40 at event 0 is outside 0..33"),
    ({"width": np.array(0)}, ConfigError, "width: must be an integer"),
])
def test_stream_file_checks_name_the_field(tmp_path, override, error, message):
    path = _write_npz(tmp_path / "bad.npz", **override)
    with pytest.raises(error, match=message) as info:
        EventStream.load(path)
    assert "bad.npz" in str(info.value)


def test_not_an_npz_file(tmp_path):
    (tmp_path / "x.npz").write_bytes(b"garbage")
    with pytest.raises(SpikeforgeError, match="x.npz: not a readable .npz event file"):
        EventStream.load(tmp_path / "x.npz")


def test_window_frame_and_statistics():
    s = stream_of((1, 1, 1, 0), (2, 1, 0, 10), (2, 1, 1, 1000), (30, 30, 1, 2000), (1, 2, 0, 2500))
    assert s.window(10, 2000).t.tolist() == [10, 1000]
    frame = s.frame()
    assert frame[1, 2] == 2 and frame[1, 1] == 1 and frame.sum() == 5
    assert s.frame(1).sum() == 3 and s.on_fraction == 0.6
    # (2,1)@10 has its neighbour (1,1) 10 us before; (2,1)@1000 too; (1,2)@2500 has (1,1)@0
    assert isolated(s, 5000).tolist() == [True, False, False, True, False]
    assert isolated(s, 5).tolist() == [True, True, True, True, True]
    rows = saccade_statistics(s, (1000, 2000, 3000))
    assert [r["events"] for r in rows] == [2, 1, 2]
    assert rows[0]["on_fraction"] == 0.5 and rows[2]["active_pixels"] == 2
    assert rows[0]["mean_rate"] == 2.0 and rows[2]["peak_rate"] == 2 / 5


def test_empty_stream_has_no_saccades():
    with pytest.raises(ConfigError, match="stream: has no events"):
        saccade_bounds(stream_of())


def test_plot_writes_a_png(tmp_path):
    s = parse_nmnist(nmnist_bytes(random_events(4)))
    path = plot_saccades(s, tmp_path / "p.png", bounds=(3_000_000, 6_000_000, 8_400_000), title="t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- the saccade simulator -------------------------------------------------------------------

def digit(kind: str = "bar") -> np.ndarray:
    """A 28x28 test image, 0..255: a slanted bar (a '1') or a ring (a '0')."""
    yy, xx = np.mgrid[0:28, 0:28]
    if kind == "bar":
        mask = np.abs((xx - 14) + 0.3 * (yy - 14)) < 2.0
        mask &= np.abs(yy - 14) < 10
    else:
        r = np.hypot(xx - 14, yy - 14)
        mask = (r > 6) & (r < 9)
    return (mask * 255).astype(np.uint8)


def test_displacement_follows_the_triangle():
    ends = REAL_LEG_ENDS_US
    d = displacement([0, ends[0], ends[1], ends[2], ends[0] / 2, (ends[0] + ends[1]) / 2, 10 ** 7])
    assert np.allclose(d, [(0, 0), (3.5, 7), (7, 0), (0, 0), (1.75, 3.5), (5.25, 3.5), (0, 0)])
    # at rest at every corner (minimum jerk), fastest in the middle of a leg: 1.875 x the mean
    eps = 1.0
    for t in (0, ends[0], ends[1]):
        assert np.abs(displacement(t + eps) - displacement(t)).max() < 1e-9
    speed = np.hypot(*(displacement(ends[0] / 2 + eps) - displacement(ends[0] / 2))[0]) / eps
    assert speed == pytest.approx(1.875 * np.hypot(3.5, 7) / ends[0], rel=1e-6)


def test_shifted_image_is_the_bilinear_interpolation():
    image = np.random.default_rng(0).random((28, 28))

    def pixel(r, c):
        return image[r, c] if 0 <= r < 28 and 0 <= c < 28 else 0.0

    for dx, dy in [(0, 0), (3.5, 7), (1.25, 0.3), (7, 0), (-0.4, 33.6)]:
        got = _sample(image, 34, dx, dy)[0]
        for y in range(34):
            for x in range(34):
                u0, v0 = int(np.floor(x - dx)), int(np.floor(y - dy))
                fu, fv = x - dx - u0, y - dy - v0
                want = ((pixel(v0, u0) * (1 - fu) + pixel(v0, u0 + 1) * fu) * (1 - fv)
                        + (pixel(v0 + 1, u0) * (1 - fu) + pixel(v0 + 1, u0 + 1) * fu) * fv)
                assert got[y, x] == pytest.approx(want, abs=1e-12), (dx, dy, x, y)


SHORT = {"leg_ends_us": (30_000, 60_000, 90_000)}  #: a faster recording for the tests


def test_simulator_is_seeded_and_batch_independent():
    sim = SaccadeSimulator(**SHORT)
    a, b = sim.simulate(digit(), seed=5), sim.simulate(digit(), seed=5)
    assert np.array_equal(a.events, b.events) and len(a) > 500
    assert not np.array_equal(a.events, sim.simulate(digit(), seed=6).events)
    images = [digit("bar"), digit("ring"), digit("bar")]
    one_by_one = sim.simulate_many(images, seed=9, batch=1)
    together = sim.simulate_many(images, seed=9, batch=3)
    assert all(np.array_equal(x.events, y.events) for x, y in zip(one_by_one, together))
    assert np.array_equal(one_by_one[1].events, sim.simulate(images[1], np.random.SeedSequence([9, 1])).events)
    assert not np.array_equal(one_by_one[0].events, one_by_one[2].events)  # own noise, own mismatch


def test_simulated_recording_looks_like_n_mnist():
    sim = SaccadeSimulator()
    s = sim.simulate(digit("ring"), seed=1)
    assert (s.width, s.height) == (34, 34) and int(s.x.max()) <= 33 and int(s.y.max()) <= 33
    assert 0 <= int(s.t.min()) and int(s.t.max()) <= REAL_LEG_ENDS_US[-1]
    assert 0.4 < s.on_fraction < 0.6
    rows = saccade_statistics(s, sim.leg_ends_us)
    assert all(r["events"] > 300 for r in rows)
    # at rest at the corners: few events around them (noise, the last crossings)
    rate = np.histogram(s.t, bins=np.arange(0, 312_000, 2000))[0]
    assert rate[REAL_LEG_ENDS_US[0] // 2000] < rate.max() / 5


def test_refractory_period_holds_for_every_pixel():
    sim = SaccadeSimulator(threshold=0.05, refractory_us=3000, noise_hz=0)
    s = sim.simulate(digit("ring"), seed=2)
    order = np.lexsort((s.t, s.y.astype(np.int64) * 34 + s.x))
    pixel = (s.y.astype(np.int64) * 34 + s.x)[order]
    gaps = np.diff(s.t[order])[pixel[1:] == pixel[:-1]]
    assert gaps.size > 100 and gaps.min() >= 3000
    fast = SaccadeSimulator(threshold=0.05, refractory_us=0, noise_hz=0).simulate(digit("ring"), seed=2)
    assert len(fast) > len(s)


def test_background_noise_rate_and_polarity():
    blank = np.zeros((28, 28))
    assert len(SaccadeSimulator(noise_hz=0).simulate(blank, seed=0)) == 0
    s = SaccadeSimulator(noise_hz=5.0).simulate(blank, seed=0)
    mean = 5.0 * 0.311 * 34 * 34
    assert abs(len(s) - mean) < 5 * np.sqrt(mean)
    assert 0.45 < s.on_fraction < 0.55 and isolated(s).mean() > 0.5


def test_threshold_and_mismatch():
    counts = [len(SaccadeSimulator(threshold=c, noise_hz=0, **SHORT).simulate(digit(), seed=3))
              for c in (0.2, 0.3, 0.5)]
    assert counts[0] > counts[1] > counts[2] > 0
    exact = SaccadeSimulator(threshold_mismatch=0, noise_hz=0, **SHORT)
    a, b = exact.simulate(digit(), seed=3), exact.simulate(digit(), seed=4)
    assert np.array_equal(a.events, b.events)  # without mismatch or noise nothing is random
    mismatched = SaccadeSimulator(threshold_mismatch=0.2, noise_hz=0, **SHORT)
    assert not np.array_equal(mismatched.simulate(digit(), seed=3).events, mismatched.simulate(digit(), seed=4).events)


@pytest.mark.parametrize("dark, leading", [(True, 0), (False, 1)])
def test_leading_edge_polarity(dark, leading):
    """In leg 1 the digit moves down (+y): its leading edge is its lower edge."""
    s = SaccadeSimulator(dark_digit=dark, noise_hz=0).simulate(digit("ring"), seed=0)
    leg1 = s.window(0, REAL_LEG_ENDS_US[0])
    lower = leg1.y[leg1.p == leading].mean() - leg1.y[leg1.p == 1 - leading].mean()
    assert lower > 2


@pytest.mark.parametrize("kwargs, message", [
    ({"threshold": 0}, "threshold: must be a number > 0, got 0"),
    ({"threshold": "0.3"}, "threshold: must be a number > 0"),
    ({"black": 1.0}, "black: must be a number > 0 and < 1, got 1.0"),
    ({"noise_hz": -1}, "noise_hz: must be a number >= 0"),
    ({"dt_us": 0}, "dt_us: must be an integer >= 1"),
    ({"size": 34.5}, "size: must be an integer >= 1, got 34.5"),
    ({"blur": float("nan")}, "blur: must be a number >= 0"),
    ({"leg_ends_us": (1, 2, 2 ** 23)}, "leg_ends_us: must be three increasing positive integers"),
    ({"leg_ends_us": (3, 2, 1)}, "leg_ends_us: must be three increasing positive integers"),
    ({"leg_ends_us": 5}, "leg_ends_us: must be three increasing"),
    ({"dark_digit": "yes"}, "dark_digit: must be True or False"),
])
def test_simulator_settings_are_checked(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        SaccadeSimulator(**kwargs)


@pytest.mark.parametrize("image, message", [
    (np.zeros((3, 4, 5)), "image: must be a 2-D image or 784 pixel values, got shape \\[3, 4, 5\\]"),
    (np.full((28, 28), 256), "image: pixel values must be in 0..255"),
    (np.full(784, np.nan), "image: pixel values must be in 0..255"),
])
def test_bad_image_is_named(image, message):
    with pytest.raises(ConfigError, match=message):
        SaccadeSimulator().simulate(image)


def test_images_of_different_shapes_are_refused():
    with pytest.raises(ConfigError, match="images: all images must have one shape"):
        SaccadeSimulator().simulate_many([np.zeros((28, 28)), np.zeros((20, 20))])


# -- binning into ticks ----------------------------------------------------------------------

def frames_reference(stream, tick_us, ticks):
    """tonic's ToFrame layout [T, P, H, W], counted one event at a time, flattened."""
    frames = np.zeros((ticks, 2, stream.height, stream.width), dtype=np.int64)
    for x, y, p, t in stream.events.tolist():
        if t // tick_us < ticks:
            frames[t // tick_us, p, y, x] += 1
    return frames.reshape(ticks, -1)


def test_binning_channels_and_ticks():
    s = stream_of((1, 2, 1, 1500), (1, 2, 1, 1999), (0, 0, 0, 0), (33, 33, 0, 2000), (5, 0, 1, 9000))
    counts = bin_events(s, 1000)
    assert counts.shape == (10, 2312) and n_event_inputs() == 2312 and counts.sum() == 5
    assert counts[1, 1156 + 2 * 34 + 1] == 2 and counts[0, 0] == 1 and counts[2, 33 * 34 + 33] == 1
    assert counts[9, 1156 + 5] == 1
    assert np.array_equal(bin_events(s, 1000, ticks=3), counts[:3])  # later events dropped
    assert np.array_equal(bin_events(s, 1000, ticks=2, t0=1000), counts[1:3])
    assert bin_events(s, 1000, max_count=1)[1, 1156 + 2 * 34 + 1] == 1


def test_binning_matches_per_event_frames():
    s = SaccadeSimulator().simulate(digit("ring"), seed=7)
    assert np.array_equal(bin_events(s, 10_000, ticks=32), frames_reference(s, 10_000, 32))


def test_binned_events_run_through_the_golden_model():
    """The counts are what sim.network.run_network takes (2312 inputs, counts per tick)."""
    streams = SaccadeSimulator().simulate_many([digit("bar"), digit("ring")], seed=0)
    counts = bin_batch(streams, 20_000, ticks=16)
    assert counts.shape == (2, 16, 2312) and counts.sum() == sum(len(s) for s in streams) - \
        sum(int((s.t >= 320_000).sum()) for s in streams)
    params = NeuronParams(weight_bits=8, current_bits=16, membrane_bits=16, decay_bits=8,
                          alpha=200, beta=230, threshold=300)
    weights = np.random.default_rng(0).integers(-20, 40, size=(2312, 10))
    trace = run_network(IntegerNetwork((IntegerLayer(weights, params, max_events_per_tick=4096),),
                                       Decision.SPIKE_COUNT), counts)
    assert np.array_equal(trace.input_counts, counts)
    assert trace.spikes[0].any()


@needs_real
def test_real_recording_runs_through_the_golden_model():
    """10 ms ticks: 32 ticks, at most 318 events in one tick (docs/events.md)."""
    counts = bin_events(read_nmnist(REAL), 10_000)
    assert counts.shape == (32, 2312) and counts.sum() == 4325 and counts.sum(1).max() == 318
    params = NeuronParams(weight_bits=8, current_bits=16, membrane_bits=16, decay_bits=8,
                          alpha=200, beta=230, threshold=300)
    weights = np.random.default_rng(1).integers(-20, 40, size=(2312, 10))
    trace = run_network(IntegerNetwork((IntegerLayer(weights, params),), Decision.SPIKE_COUNT), counts)
    assert trace.input_counts.shape == (1, 32, 2312) and trace.spikes[0].any()


@pytest.mark.parametrize("kwargs, message", [
    ({"tick_us": 0}, "tick_us: must be a positive integer, got 0"),
    ({"tick_us": 10.5}, "tick_us: must be a positive integer"),
    ({"tick_us": 10, "ticks": 0}, "ticks: must be a positive integer"),
    ({"tick_us": 10, "max_count": -1}, "max_count: must be a positive integer"),
    ({"tick_us": 10, "t0": -5}, "t0: must be a non-negative integer"),
])
def test_binning_settings_are_checked(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        bin_events(stream_of((0, 0, 1, 5)), **kwargs)
