"""Event-camera input: the address-event stream, the N-MNIST reader, a saccade simulator and
binning into ticks (docs/events.md).

Address events
==============
An :class:`EventStream` is a sensor size (``width`` x ``height``) and a numpy structured
array :data:`EVENT_DTYPE` of events ``(x, y, p, t)``: pixel column ``x`` in ``0..width-1``,
row ``y`` in ``0..height-1``, polarity ``p`` (1 = ON, the log intensity rose by a contrast
threshold; 0 = OFF, it fell) and the time ``t`` in microseconds (``t >= 0``, non-decreasing).
It serializes itself once, as ``.npz`` (:meth:`EventStream.save` / :meth:`EventStream.load`,
format :data:`NPZ_FORMAT`); every check names the field it rejects.

N-MNIST binary format
=====================
5 bytes (40 bits) per event, big-endian bit fields::

    byte 0 = x, byte 1 = y, bit 7 of byte 2 = p,
    t = (byte2 & 0x7F) << 16 | byte3 << 8 | byte4          (23 bits, microseconds)

An event whose ``y`` byte is 240 is not an event but a timestamp overflow marker: every later
timestamp gets ``2**13`` added (the rule of Orchard's reference reader and of tonic's
``read_mnist_file``). :func:`read_nmnist` / :func:`parse_nmnist` read it,
:func:`encode_nmnist` writes it.

Saccade simulator
=================
:class:`SaccadeSimulator` turns a 28x28 MNIST digit into an N-MNIST-like recording on a
34x34 sensor: the digit (upper-left corner at sensor position ``(0, 0)``) moves by the
displacement ``d(t)`` along the triangle ``(0,0) -> (3.5,7) -> (7,0) -> (0,0)`` pixels, leg
``k`` running from ``leg_ends_us[k-1]`` to ``leg_ends_us[k]`` with the minimum-jerk profile
``d = a + (b - a) * s(tau)``, ``s = 10 tau^3 - 15 tau^4 + 6 tau^5`` (``tau`` the fraction of
the leg: the pan-tilt unit starts and stops each leg at rest, as the real event rate shows;
its speed peaks at 1.875 times the mean in the middle of the leg). Every ``dt_us`` each
pixel's log intensity is sampled::

    I(x, y, t) = black + (1 - black) * (1 - g(x - dx(t), y - dy(t)))  (g: blurred image in [0,1])
    L = ln I

(``dark_digit=True``, the default: the digit is darker than its background, which is what the
real recording shows -- the leading edge of the moving digit emits OFF events and the
trailing edge ON, docs/events.md; ``dark_digit=False`` uses ``g`` instead of ``1 - g``.)

A pixel remembers ``L_ref``; it emits ON when ``L - L_ref >= C_on(x, y)`` and OFF when
``L_ref - L >= C_off(x, y)``, at the time the linear interpolation of ``L`` between two
samples crosses the threshold (rounded to the microsecond, never before the pixel's
refractory period ends), and then ``L_ref = L``. Thresholds carry per-pixel mismatch: ``C = threshold * (1 +
threshold_mismatch * N(0, 1))``, at least ``threshold / 10``. After an event the pixel's reset
is held for ``refractory_us``: ``L_ref`` follows ``L`` and no event is emitted, so the change
during the refractory period is lost (one event per pixel per refractory period at most).
Background noise: each pixel emits ON and OFF events as independent Poisson processes of
``noise_hz / 2`` each, over the whole recording (not subject to the refractory period).
Everything random comes from ``seed``: the thresholds' mismatch, then the noise.

Binning (host side)
===================
:func:`bin_events` turns a stream into the golden model's ``input_counts[ticks, n_inputs]``
(:func:`spikeforge.sim.network.run_network`): tick ``k`` holds the events with
``t0 + k * tick_us <= t < t0 + (k + 1) * tick_us``, and event ``(x, y, p)`` is input
``j = p * height * width + y * width + x`` (channel 0..width*height-1 OFF, then ON: tonic's
``ToFrame`` layout ``[T, P, H, W]`` flattened), so a 34x34 sensor gives 2312 inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spikeforge.ir.errors import ConfigError, SpikeforgeError

#: the structured dtype of an event: pixel x, y, polarity p (1 = ON), time t in microseconds
EVENT_DTYPE = np.dtype([("x", "<u2"), ("y", "<u2"), ("p", "u1"), ("t", "<i8")])
NPZ_FORMAT = "spikeforge-events-1"
NMNIST_SIZE = 34  #: the N-MNIST sensor is 34 x 34 pixels
NMNIST_OVERFLOW_Y = 240  #: y byte of a timestamp overflow marker
NMNIST_OVERFLOW_US = 2 ** 13
NMNIST_T_MAX = 2 ** 23 - 1


# -- the address-event stream ----------------------------------------------------------------

def _first_bad(mask: np.ndarray) -> int:
    return int(np.argmax(mask))


def _check_column(name: str, a: np.ndarray, n: int) -> None:
    """One column for :meth:`EventStream.from_arrays`: ``n`` integers that fit its dtype (the
    sensor bounds and the time order are the stream's own checks)."""
    if a.size != n:
        raise ConfigError(f"{name}: has {a.size} values, x has {n}")
    if not a.size:
        return
    if not np.issubdtype(a.dtype, np.integer) and a.dtype != bool:
        raise ConfigError(f"{name}: must be integers, got dtype {a.dtype}")
    if name != "t" and a.min() < 0:
        raise ConfigError(f"events.{name}: {int(a.min())} at event {_first_bad(a < 0)} is negative")
    if name != "t" and a.max() > 65535:
        raise ConfigError(f"events.{name}: {int(a.max())} at event {_first_bad(a > 65535)} is "
                          f"outside 0..65535")


@dataclass(frozen=True, eq=False)
class EventStream:
    """Address events of one recording (module docstring: fields, units, checks).

    ``events`` is a read-only :data:`EVENT_DTYPE` array sorted by ``t``; build one from
    columns with :meth:`from_arrays`."""

    events: np.ndarray
    width: int = NMNIST_SIZE
    height: int = NMNIST_SIZE

    def __post_init__(self):
        for name in ("width", "height"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= 65535:
                raise ConfigError(f"{name}: must be an integer in 1..65535, got {value!r}")
            object.__setattr__(self, name, int(value))
        events = np.asarray(self.events)
        if events.dtype != EVENT_DTYPE or events.ndim != 1:
            raise ConfigError(f"events: must be a 1-D array of dtype {EVENT_DTYPE.descr}, "
                              f"got {events.ndim}-D {events.dtype}")
        self._check(events)
        events = events.copy()
        events.setflags(write=False)
        object.__setattr__(self, "events", events)

    def _check(self, events: np.ndarray) -> None:
        for name, limit in (("x", self.width), ("y", self.height), ("p", 2)):
            bad = events[name] >= limit
            if bad.any():
                i = _first_bad(bad)
                raise ConfigError(f"events.{name}: {int(events[name][i])} at event {i} is outside "
                                  f"0..{limit - 1}")
        t = events["t"]
        if t.size and (t < 0).any():
            i = _first_bad(t < 0)
            raise ConfigError(f"events.t: {int(t[i])} us at event {i} is negative")
        if t.size > 1 and (np.diff(t) < 0).any():
            i = _first_bad(np.diff(t) < 0) + 1
            raise ConfigError(f"events.t: {int(t[i])} us at event {i} is earlier than "
                              f"{int(t[i - 1])} us before it (events must be sorted by time)")

    @classmethod
    def from_arrays(cls, x, y, p, t, width: int = NMNIST_SIZE, height: int = NMNIST_SIZE,
                    sort: bool = True) -> "EventStream":
        """A stream from four equally long columns (``sort``: stable sort by ``t`` first)."""
        arrays = {k: np.asarray(v).ravel() for k, v in zip(EVENT_DTYPE.names, (x, y, p, t))}
        n = arrays["x"].size
        for name, a in arrays.items():
            _check_column(name, a, n)
        events = np.empty(n, dtype=EVENT_DTYPE)
        for name, a in arrays.items():
            events[name] = a
        if sort:
            events = events[np.argsort(events["t"], kind="stable")]
        return cls(events, width, height)

    # columns and simple figures
    x = property(lambda self: self.events["x"])
    y = property(lambda self: self.events["y"])
    p = property(lambda self: self.events["p"])
    t = property(lambda self: self.events["t"])

    def __len__(self) -> int:
        return int(self.events.size)

    @property
    def on_fraction(self) -> float:
        """Fraction of ON events (``nan`` for an empty stream)."""
        return float(self.p.mean()) if len(self) else math.nan

    def window(self, t_start: int, t_stop: int) -> "EventStream":
        """The events with ``t_start <= t < t_stop``."""
        lo, hi = np.searchsorted(self.t, [t_start, t_stop], side="left")
        return EventStream(self.events[lo:hi], self.width, self.height)

    def frame(self, polarity: int | None = None) -> np.ndarray:
        """``[height, width]`` event counts (of one polarity, or both)."""
        ev = self.events if polarity is None else self.events[self.p == polarity]
        counts = np.zeros((self.height, self.width), dtype=np.int64)
        np.add.at(counts, (ev["y"].astype(np.intp), ev["x"].astype(np.intp)), 1)
        return counts

    # the one serialization
    def save(self, path) -> Path:
        """Write ``path`` (``.npz``: ``format``, ``width``, ``height``, ``x``, ``y``, ``p``,
        ``t`` with the dtypes of :data:`EVENT_DTYPE`); returns the path written."""
        path = Path(path)
        try:
            with open(path, "wb") as f:
                np.savez(f, format=np.array(NPZ_FORMAT), width=np.array(self.width),
                         height=np.array(self.height),
                         **{name: self.events[name] for name in EVENT_DTYPE.names})
        except OSError as exc:
            raise SpikeforgeError(f"{path}: cannot write: {exc.strerror or exc}") from None
        return path

    @classmethod
    def load(cls, path) -> "EventStream":
        """Read a file written by :meth:`save`; every field is checked and named."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        except (OSError, ValueError) as exc:
            raise SpikeforgeError(f"{path}: not a readable .npz event file: {exc}") from None
        missing = [k for k in ("format", "width", "height", *EVENT_DTYPE.names) if k not in arrays]
        if missing:
            raise SpikeforgeError(f"{path}: missing field {missing[0]!r}")
        if str(arrays["format"]) != NPZ_FORMAT:
            raise SpikeforgeError(f"{path}: format: expected {NPZ_FORMAT!r}, got {str(arrays['format'])!r}")
        for name in EVENT_DTYPE.names:
            if arrays[name].dtype != EVENT_DTYPE[name] or arrays[name].ndim != 1:
                raise SpikeforgeError(f"{path}: {name}: expected a 1-D {EVENT_DTYPE[name]} array, "
                                      f"got {arrays[name].ndim}-D {arrays[name].dtype}")
        try:
            stream = cls.from_arrays(*(arrays[n] for n in EVENT_DTYPE.names),
                                     width=_scalar(arrays["width"]), height=_scalar(arrays["height"]),
                                     sort=False)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        return stream


def _scalar(a: np.ndarray):
    return a.item() if a.ndim == 0 and np.issubdtype(a.dtype, np.integer) else a


# -- the N-MNIST binary format ---------------------------------------------------------------

def parse_nmnist(data: bytes, name: str = "<bytes>") -> EventStream:
    """Events of an N-MNIST file's bytes (module docstring: the format). Overflow markers
    (``y`` byte 240) add ``2**13`` us to every later event and are dropped; the result is
    sorted by time (stable)."""
    if len(data) % 5:
        raise SpikeforgeError(f"{name}: {len(data)} bytes is not a whole number of 5-byte "
                              f"N-MNIST events (truncated?)")
    raw = np.frombuffer(data, dtype=np.uint8).reshape(-1, 5).astype(np.int64)
    x, y = raw[:, 0], raw[:, 1]
    p = raw[:, 2] >> 7
    t = ((raw[:, 2] & 0x7F) << 16) | (raw[:, 3] << 8) | raw[:, 4]
    overflow = y == NMNIST_OVERFLOW_Y
    t = t + NMNIST_OVERFLOW_US * np.cumsum(overflow)  # a marker counts for itself and later
    keep = ~overflow
    bad = keep & ((x >= NMNIST_SIZE) | (y >= NMNIST_SIZE))
    if bad.any():
        i = _first_bad(bad)
        raise SpikeforgeError(f"{name}: event {i} has x={int(x[i])}, y={int(y[i])}, outside the "
                              f"{NMNIST_SIZE}x{NMNIST_SIZE} N-MNIST sensor")
    return EventStream.from_arrays(x[keep], y[keep], p[keep], t[keep])


def read_nmnist(path) -> EventStream:
    """:func:`parse_nmnist` of the file ``path``."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SpikeforgeError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return parse_nmnist(data, str(path))


def encode_nmnist(stream: EventStream) -> bytes:
    """The N-MNIST bytes of ``stream`` (no overflow markers: ``t`` must fit 23 bits)."""
    if stream.width > NMNIST_SIZE or stream.height > NMNIST_SIZE:
        raise ConfigError(f"stream: a {stream.width}x{stream.height} sensor does not fit the "
                          f"{NMNIST_SIZE}x{NMNIST_SIZE} N-MNIST format")
    t = stream.t
    if len(stream) and t.max() > NMNIST_T_MAX:
        i = _first_bad(t > NMNIST_T_MAX)
        raise ConfigError(f"events.t: {int(t[i])} us at event {i} does not fit the 23-bit "
                          f"N-MNIST timestamp (max {NMNIST_T_MAX})")
    raw = np.empty((len(stream), 5), dtype=np.uint8)
    raw[:, 0], raw[:, 1] = stream.x, stream.y
    raw[:, 2] = (stream.p.astype(np.int64) << 7) | (t >> 16)
    raw[:, 3], raw[:, 4] = (t >> 8) & 0xFF, t & 0xFF
    return raw.tobytes()


# -- figures of a recording ------------------------------------------------------------------

def event_rate(stream: EventStream, bin_us: int = 1000, t_stop: int | None = None) -> np.ndarray:
    """Events per bin of ``bin_us`` from t = 0 (``[n_bins]``)."""
    t_stop = int(stream.t.max()) + 1 if t_stop is None and len(stream) else (t_stop or bin_us)
    edges = np.arange(0, t_stop + bin_us, bin_us)
    return np.histogram(stream.t, bins=edges)[0]


def saccade_bounds(stream: EventStream, smooth_us: int = 6000) -> tuple[int, int, int]:
    """Where the three saccades of an N-MNIST recording end, in us: the minima of the event
    rate (1 ms bins smoothed by a ``smooth_us`` box) in 60..140 ms and 180..270 ms -- the
    sensor is at rest at a corner of the triangle -- and the last event + 1."""
    if not len(stream):
        raise ConfigError("stream: has no events, so it has no saccades to find")
    rate = event_rate(stream, 1000, t_stop=max(int(stream.t.max()) + 1, 300_000))
    k = max(1, smooth_us // 1000)
    smooth = np.convolve(rate, np.ones(k) / k, mode="same")
    first = 60 + int(np.argmin(smooth[60:140]))
    second = 180 + int(np.argmin(smooth[180:270]))
    return first * 1000, second * 1000, int(stream.t.max()) + 1


def isolated(stream: EventStream, filter_time_us: int = 10_000) -> np.ndarray:
    """``[n]`` bool: no event at any of the 4 neighbouring pixels in the ``filter_time_us``
    before (and at the time of) this event -- the events that tonic's ``Denoise`` drops
    (tonic also keeps every event of the first ``filter_time_us``; this does not)."""
    last = np.full((stream.height + 2, stream.width + 2), -np.inf)  # 1-pixel border
    out = np.zeros(len(stream), dtype=bool)
    for i, (x, y, t) in enumerate(zip(stream.x.tolist(), stream.y.tolist(), stream.t.tolist())):
        last[y + 1, x + 1] = t
        near = max(last[y, x + 1], last[y + 2, x + 1], last[y + 1, x], last[y + 1, x + 2])
        out[i] = near <= t - filter_time_us
    return out


def saccade_statistics(stream: EventStream, bounds) -> list[dict]:
    """Per window (``bounds``: their end times, the first window starting at t = 0; the three
    saccades' ends, or one end for the whole recording): events, ON fraction, spatial
    spread (standard deviation of x and of y, in pixels), active pixels (pixels with an event),
    mean and peak event rate (events/ms; peak over 5 ms bins), the fraction of
    :func:`isolated` events (noise-like)."""
    rows, start = [], 0
    for k, stop in enumerate(bounds):
        part = stream.window(start, stop)
        rate = event_rate(part, 5000, t_stop=stop)[start // 5000:]
        rows.append({
            "saccade": k + 1, "events": len(part), "on_fraction": part.on_fraction,
            "std_x": float(part.x.std()) if len(part) else math.nan,
            "std_y": float(part.y.std()) if len(part) else math.nan,
            "active_pixels": int((part.frame() > 0).sum()),
            "mean_rate": len(part) / ((stop - start) / 1000),
            "peak_rate": float(rate.max()) / 5 if rate.size else 0.0,
            "isolated": float(isolated(part).mean()) if len(part) else math.nan})
        start = stop
    return rows


def plot_saccades(stream: EventStream, path, bounds=None, title: str = "") -> Path:
    """A PNG of the recording: the event rate over time (ON and OFF, 2 ms bins, saccade
    bounds marked) above the accumulated frame of each saccade (ON - OFF counts)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bounds = saccade_bounds(stream) if bounds is None else bounds
    fig = plt.figure(figsize=(9, 5.6))
    grid = fig.add_gridspec(2, 3, height_ratios=[1, 1.3])
    ax = fig.add_subplot(grid[0, :])
    edges_ms = np.arange(0, bounds[-1] + 2000, 2000) / 1000
    for pol, name, color in ((1, "ON", "tab:red"), (0, "OFF", "tab:blue")):
        ax.hist(stream.t[stream.p == pol] / 1000, bins=edges_ms, histtype="step", color=color,
                label=name)
    for b in bounds[:-1]:
        ax.axvline(b / 1000, color="gray", linestyle="--")
    ax.set(xlabel="t (ms)", ylabel="events / 2 ms", title=title)
    ax.legend(loc="upper right")
    start = 0
    for k, stop in enumerate(bounds):
        part = stream.window(start, stop)
        img = part.frame(1) - part.frame(0)
        lim = max(1, int(np.abs(img).max()))
        a = fig.add_subplot(grid[1, k])
        a.imshow(img, cmap="bwr", vmin=-lim, vmax=lim, interpolation="nearest")
        a.set(title=f"saccade {k + 1}: {len(part)} events ({start // 1000}-{stop // 1000} ms)",
              xticks=[], yticks=[], xlabel="red: ON, blue: OFF (net count per pixel)")
        a.xaxis.label.set_fontsize(7)
        a.title.set_fontsize(8)
        start = stop
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


# -- the saccade simulator -------------------------------------------------------------------

#: corners of the sensor's triangular path, in pixels (x, y); the digit moves by these
TRIANGLE = ((0.0, 0.0), (3.5, 7.0), (7.0, 0.0), (0.0, 0.0))
#: leg end times of the real recording: the two rate minima :func:`saccade_bounds` finds
#: (97 and 224 ms) and its last event (311.2 ms), rounded to the ms
REAL_LEG_ENDS_US = (97_000, 224_000, 311_000)


def displacement(t_us, leg_ends_us=REAL_LEG_ENDS_US) -> np.ndarray:
    """``[len(t), 2]`` displacement ``(dx, dy)`` of the digit at times ``t_us``: along each leg
    of :data:`TRIANGLE` the minimum-jerk profile ``s(tau) = 10 tau^3 - 15 tau^4 + 6 tau^5`` of
    the leg's time fraction ``tau``; after the last leg, at rest at the origin."""
    t = np.atleast_1d(np.asarray(t_us, dtype=np.float64))
    starts = np.array((0, *leg_ends_us[:-1]), dtype=np.float64)
    ends = np.array(leg_ends_us, dtype=np.float64)
    leg = np.clip(np.searchsorted(ends, t, side="right"), 0, 2)
    tau = np.clip((t - starts[leg]) / (ends[leg] - starts[leg]), 0.0, 1.0)
    s = tau ** 3 * (10 - 15 * tau + 6 * tau ** 2)
    corners = np.array(TRIANGLE)
    return corners[leg] + (corners[leg + 1] - corners[leg]) * s[:, None]


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur (kernel radius ``ceil(3 sigma)``, zero outside the image)."""
    if sigma <= 0:
        return image
    r = int(math.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    rows = np.apply_along_axis(lambda v: np.convolve(v, k, mode="same"), 1, image)
    return np.apply_along_axis(lambda v: np.convolve(v, k, mode="same"), 0, rows)


def _shift_matrices(size: int, n: int, shifts) -> np.ndarray:
    """``[len(shifts), size, n]`` linear interpolation weights: sensor coordinate ``x`` reads
    image coordinate ``x - shift`` (weights ``1 - f`` and ``f`` on its two neighbours, 0
    outside the image)."""
    shifts = np.asarray(shifts, dtype=np.float64)
    u = np.arange(size)[None, :] - shifts[:, None]
    u0 = np.floor(u).astype(np.int64)
    f = u - u0
    m = np.zeros((shifts.size, size, n + 2))  # columns -1 .. n: the two just outside the image
    steps, rows = np.meshgrid(np.arange(shifts.size), np.arange(size), indexing="ij")
    for col, w in ((u0, 1 - f), (u0 + 1, f)):
        inside = (col >= -1) & (col <= n)
        np.add.at(m, (steps[inside], rows[inside], col[inside] + 1), w[inside])
    return m[:, :, 1:-1]


def _sample(image: np.ndarray, size: int, dx, dy) -> np.ndarray:
    """``[len(dx), size, size]`` bilinear samples of ``image`` shifted by each ``(dx, dy)``
    (0 outside): ``S = Wy @ image @ Wx.T`` with the :func:`_shift_matrices` of each axis."""
    h, w = image.shape
    wy = _shift_matrices(size, h, np.atleast_1d(dy))
    wx = _shift_matrices(size, w, np.atleast_1d(dx))
    return (wy @ image) @ wx.transpose(0, 2, 1)


def _check_number(name: str, value, low, strict: bool, integer: bool) -> None:
    """``value`` is a finite number (an integer if ``integer``) above ``low`` (or equal to it
    unless ``strict``); else a :class:`ConfigError` naming ``name``."""
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value) \
            or value < low or (strict and value == low):
        what = "an integer" if integer else "a number"
        raise ConfigError(f"{name}: must be {what} {'>' if strict else '>='} {low}, got {value!r}")


@dataclass(frozen=True)
class SaccadeSimulator:
    """N-MNIST-like recordings from MNIST digits (module docstring: the equations).

    ``threshold`` and ``noise_hz`` are fitted to the real recording, ``leg_ends_us`` and
    ``dark_digit`` read off it; docs/events.md has the comparison."""

    threshold: float = 0.3          #: contrast threshold C, in ln units
    threshold_mismatch: float = 0.1  #: relative standard deviation of C across pixels
    refractory_us: int = 1000
    noise_hz: float = 0.3           #: background events per pixel per second (ON + OFF)
    black: float = 0.1              #: the monitor's black level, relative to white
    blur: float = 0.5               #: optical blur, Gaussian sigma in sensor pixels
    dark_digit: bool = True         #: the digit darker than its background (see the docstring)
    dt_us: int = 100                #: sampling step of the log intensity
    leg_ends_us: tuple = REAL_LEG_ENDS_US
    size: int = NMNIST_SIZE
    max_value: int = 255            #: pixel value of full white

    def __post_init__(self):
        for name, low, strict, integer in (
                ("threshold", 0, True, False), ("threshold_mismatch", 0, False, False),
                ("refractory_us", 0, False, True), ("noise_hz", 0, False, False),
                ("black", 0, True, False), ("blur", 0, False, False), ("dt_us", 1, False, True),
                ("size", 1, False, True), ("max_value", 1, False, True)):
            _check_number(name, getattr(self, name), low, strict, integer)
        if self.black >= 1:
            raise ConfigError(f"black: must be a number > 0 and < 1, got {self.black!r}")
        if not isinstance(self.dark_digit, (bool, np.bool_)):
            raise ConfigError(f"dark_digit: must be True or False, got {self.dark_digit!r}")
        ends = tuple(self.leg_ends_us) if isinstance(self.leg_ends_us, (tuple, list)) else ()
        if len(ends) != 3 or not all(isinstance(e, (int, np.integer)) for e in ends) \
                or not 0 < ends[0] < ends[1] < ends[2] <= NMNIST_T_MAX:
            raise ConfigError(f"leg_ends_us: must be three increasing positive integers (us) up to "
                              f"{NMNIST_T_MAX}, got {self.leg_ends_us!r}")
        object.__setattr__(self, "leg_ends_us", tuple(int(e) for e in ends))

    def log_intensity(self, images: np.ndarray, t_us) -> np.ndarray:
        """``[len(t_us), batch, size, size]`` ln I on the sensor at the times ``t_us`` for
        ``images[batch, h, w]`` (already scaled to [0, 1] and blurred)."""
        d = displacement(t_us, self.leg_ends_us)
        wy = _shift_matrices(self.size, images.shape[1], d[:, 1]).astype(np.float32)
        wx = _shift_matrices(self.size, images.shape[2], d[:, 0]).astype(np.float32)
        rows = wy[:, None] @ images.astype(np.float32)[None]  # [s, batch, size, w]
        g = rows @ wx[:, None].transpose(0, 1, 3, 2)
        intensity = self.black + (1 - self.black) * (1 - g if self.dark_digit else g)
        return np.log(intensity, dtype=np.float32)

    def simulate(self, image, seed=0) -> EventStream:
        """The recording of one digit ``image`` (``[28, 28]`` or 784 values in
        ``0..max_value``), deterministic in ``seed`` (an int or a ``numpy.random.SeedSequence``)."""
        return self._simulate_batch(self._scaled(image)[None], [seed])[0]

    def simulate_many(self, images, seed: int = 0, batch: int = 16, first: int = 0) -> list[EventStream]:
        """One recording per image; image ``i`` gets the seed ``SeedSequence([seed, first + i])``,
        so its recording is ``simulate(images[i], SeedSequence([seed, first + i]))`` whatever
        ``batch`` (how many digits are simulated together: vectorised, faster). ``first``: the
        index of ``images[0]`` in a larger set simulated in pieces (same recordings as one call)."""
        if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
            raise ConfigError(f"batch: must be a positive integer, got {batch!r}")
        if isinstance(first, bool) or not isinstance(first, (int, np.integer)) or first < 0:
            raise ConfigError(f"first: must be a non-negative integer, got {first!r}")
        images = list(images)
        out = []
        for start in range(0, len(images), batch):
            scaled = [self._scaled(img) for img in images[start:start + batch]]
            if any(a.shape != scaled[0].shape for a in scaled):
                raise ConfigError(f"images: all images must have one shape, got "
                                  f"{sorted({a.shape for a in scaled})}")
            chunk = np.stack(scaled)
            seeds = [np.random.SeedSequence([seed, first + i]) for i in range(start, start + len(chunk))]
            out += self._simulate_batch(chunk, seeds)
        return out

    def _scaled(self, image) -> np.ndarray:
        a = np.asarray(image, dtype=np.float64)
        if a.size == 784 and a.ndim == 1:
            a = a.reshape(28, 28)
        if a.ndim != 2 or not a.size:
            raise ConfigError(f"image: must be a 2-D image or 784 pixel values, got shape "
                              f"{list(np.shape(image))}")
        if not np.isfinite(a).all() or a.min() < 0 or a.max() > self.max_value:
            raise ConfigError(f"image: pixel values must be in 0..{self.max_value}")
        return np.clip(_blur(a / self.max_value, self.blur), 0.0, 1.0)

    def _simulate_batch(self, images: np.ndarray, seeds) -> list[EventStream]:
        """Recordings of ``images[batch, h, w]`` (scaled), one seed each: the thresholds'
        mismatch first, then the noise, from each image's own generator."""
        rngs = [np.random.default_rng(s) for s in seeds]
        shape = (self.size, self.size)
        c_on, c_off = (np.stack([np.maximum(self.threshold * (1 + self.threshold_mismatch * r.standard_normal(shape)),
                                            self.threshold / 10) for r in rngs]).astype(np.float32)
                        for _ in range(2))
        b, x, y, p, t = self._pixel_events(images, c_on, c_off)
        streams = []
        for k, rng in enumerate(rngs):
            mine = b == k
            noise = self._noise(rng)
            columns = (np.concatenate([a[mine], n]) for a, n in zip((x, y, p, t), noise))
            streams.append(EventStream.from_arrays(*columns, self.size, self.size))
        return streams

    def _pixel_events(self, images, c_on, c_off, chunk: int = 256):
        """Threshold crossings of every pixel (module docstring), as columns batch index, x,
        y, p, t (intensity frames computed ``chunk`` samples at a time)."""
        times = np.arange(0, self.leg_ends_us[-1] + 1, self.dt_us, dtype=np.float64)
        ref = prev = self.log_intensity(images, times[:1])[0]
        blocked_until = np.full(ref.shape, -1.0, dtype=np.float32)  # exact: t < 2**24 us
        out = []
        for start in range(1, len(times), chunk):
            frames = self.log_intensity(images, times[start:start + chunk])
            for t, now in zip(times[start:start + chunk], frames):
                held = blocked_until > t  # reset still held: the reference follows L
                ref = np.where(held, now, ref)
                diff = now - ref
                on = ~held & (diff >= c_on)
                fire = on | (~held & (-diff >= c_off))
                if fire.any():
                    level = np.where(on, ref + c_on, ref - c_off)
                    frac = np.clip((level - prev) / np.where(now != prev, now - prev, 1.0), 0.0, 1.0)
                    # not before the reset was released (that is inside this step)
                    te = np.maximum(np.rint(t - self.dt_us + frac * self.dt_us), blocked_until)
                    index = np.nonzero(fire)
                    out.append((*index, on[index].astype(np.int64), te[index].astype(np.int64)))
                    ref = np.where(fire, now, ref)
                    blocked_until = np.where(fire, te + self.refractory_us, blocked_until)
                prev = now
        if not out:
            return tuple(np.zeros(0, dtype=np.int64) for _ in range(5))
        b, y, x, p, t = (np.concatenate(c) for c in zip(*out))
        return b, x, y, p, t

    def _noise(self, rng: np.random.Generator):
        """Poisson background events, ``noise_hz / 2`` per pixel and polarity, as columns."""
        duration = self.leg_ends_us[-1]
        n = rng.poisson(self.noise_hz * duration * 1e-6 * self.size * self.size)
        return (rng.integers(0, self.size, n), rng.integers(0, self.size, n),
                rng.integers(0, 2, n), rng.integers(0, duration, n))


# -- binning into ticks (on the host) --------------------------------------------------------

def n_event_inputs(width: int = NMNIST_SIZE, height: int = NMNIST_SIZE) -> int:
    """Input channels of a sensor: two polarities per pixel (2312 for 34 x 34)."""
    return 2 * width * height


def bin_events(stream: EventStream, tick_us: int, ticks: int | None = None, t0: int = 0,
               max_count: int | None = None) -> np.ndarray:
    """``[ticks, 2 * height * width]`` int64 event counts per tick and input channel (module
    docstring: tick ``k`` and channel ``j``). ``ticks`` defaults to enough ticks for the last
    event; events before ``t0`` or after the last tick are dropped. ``max_count`` clips each
    count (``1``: at most one event per input per tick)."""
    for name, value in (("tick_us", tick_us), ("ticks", ticks), ("max_count", max_count)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1):
            raise ConfigError(f"{name}: must be a positive integer, got {value!r}")
    if isinstance(t0, bool) or not isinstance(t0, (int, np.integer)) or t0 < 0:
        raise ConfigError(f"t0: must be a non-negative integer (us), got {t0!r}")
    tick = (stream.t - t0) // tick_us
    if ticks is None:
        ticks = int(tick.max()) + 1 if len(stream) and tick.max() >= 0 else 1
    keep = (stream.t >= t0) & (tick < ticks)
    plane = stream.width * stream.height
    channel = stream.p.astype(np.int64) * plane + stream.y.astype(np.int64) * stream.width + stream.x
    counts = np.zeros((ticks, 2 * plane), dtype=np.int64)
    np.add.at(counts, (tick[keep], channel[keep]), 1)
    return counts if max_count is None else np.minimum(counts, max_count)


def bin_batch(streams, tick_us: int, ticks: int, t0: int = 0, max_count: int | None = None) -> np.ndarray:
    """``[batch, ticks, n_inputs]`` of :func:`bin_events` for several streams."""
    return np.stack([bin_events(s, tick_us, ticks, t0, max_count) for s in streams])
