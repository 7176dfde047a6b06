"""Event statistics of the real N-MNIST recording against the saccade simulator.

    .venv/bin/python benchmarks/bench_events.py              # 200 MNIST test digits (~1 minute)
    .venv/bin/python benchmarks/bench_events.py --quick      # 20 digits, no pictures

Reads ``../shared/data/events/nmnist-sample.bin`` (one real N-MNIST recording, class unknown),
finds its three saccades (:func:`spikeforge.model.events.saccade_bounds`), simulates the
first ``--digits`` MNIST test digits with :class:`~spikeforge.model.events.SaccadeSimulator`
(default settings, seed ``--seed``) and prints one markdown table: per saccade the real value
and the simulated mean +- standard deviation over the digits, for events, ON fraction,
spatial spread (sd of x and of y), active pixels, mean and peak event rate, and isolated
(noise-like) events. The real digit is one digit of unknown class, so a simulated mean
within about one standard deviation of it is what "alike" can mean here. Then the binning of
the real recording into ticks (host side). Pictures (without ``--quick``) go to
``docs/img/events_*.png``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from spikeforge.model.datasets import load_dataset
from spikeforge.model.events import (
    SaccadeSimulator,
    bin_events,
    event_rate,
    plot_saccades,
    read_nmnist,
    saccade_bounds,
    saccade_statistics,
)

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "events" / "nmnist-sample.bin"
STATS = [("events", "events", "{:.0f}"), ("on_fraction", "ON fraction", "{:.3f}"),
         ("std_x", "spread x (sd, px)", "{:.2f}"), ("std_y", "spread y (sd, px)", "{:.2f}"),
         ("active_pixels", "active pixels", "{:.0f}"), ("mean_rate", "mean rate (ev/ms)", "{:.1f}"),
         ("peak_rate", "peak rate (ev/ms, 5 ms bins)", "{:.1f}"),
         ("isolated", "isolated events (fraction)", "{:.3f}")]


def rows_of(stream, bounds) -> list[dict]:
    """The three saccades' statistics, then the whole recording's (one window 0..end)."""
    return saccade_statistics(stream, bounds) + saccade_statistics(stream, (bounds[-1],))


def table(real_rows, sim_rows) -> str:
    """Markdown: per statistic, per saccade and for the whole recording, the real value and
    the simulated mean ± sd."""
    parts = ["saccade 1", "saccade 2", "saccade 3", "recording"]
    head = ["statistic"] + [f"{part} {who}" for part in parts for who in ("real", "sim")]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, name, fmt in STATS:
        cells = [name]
        for k in range(4):
            values = np.array([r[k][key] for r in sim_rows], dtype=float)
            cells += [fmt.format(real_rows[k][key]),
                      f"{fmt.format(values.mean())} ± {fmt.format(values.std())}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def rate_plot(real, sims, path: Path, bounds) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t_stop = bounds[-1]
    real_rate = event_rate(real, 2000, t_stop) / 2
    sim_rates = np.stack([event_rate(s, 2000, t_stop) for s in sims]) / 2
    centers = (np.arange(real_rate.size) + 0.5) * 2
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.plot(centers, real_rate, color="black", label="real recording")
    mean, sd = sim_rates.mean(0), sim_rates.std(0)
    ax.plot(centers, mean, color="tab:green", label=f"simulated, mean of {len(sims)} MNIST digits")
    ax.fill_between(centers, mean - sd, mean + sd, color="tab:green", alpha=0.25, label="± 1 sd")
    for b in bounds[:-1]:
        ax.axvline(b / 1000, color="gray", linestyle="--")
    ax.set(xlabel="t (ms)", ylabel="events / ms")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def describe_binning(real, tick_us: int) -> str:
    counts = bin_events(real, tick_us)
    return (f"binning (host side) at {tick_us} us per tick: {counts.shape[0]} ticks x "
            f"{counts.shape[1]} inputs, {int(counts.sum())} events, at most "
            f"{int(counts.sum(1).max())} events in one tick, at most {int(counts.max())} events of "
            f"one input in one tick")


def load_tonic(src: Path) -> dict:
    """tonic's numpy-only modules (reader, ToFrame, Denoise) from its source tree ``src``
    (the ``tonic`` folder of its wheel), without importing the package: tonic itself pulls in
    librosa, h5py and importRosbag, which spikeforge does not depend on."""
    import importlib.util
    import types

    package = types.ModuleType("tonic")
    package.__path__ = [str(src)]
    sys.modules["tonic"] = package
    modules = {}
    for name, file in (("io", "io.py"), ("slicers", "slicers.py"),
                       ("to_frame", "functional/to_frame.py"), ("denoise", "functional/denoise.py")):
        spec = importlib.util.spec_from_file_location(f"tonic.{name}", src / file)
        module = importlib.util.module_from_spec(spec)
        sys.modules[f"tonic.{name}"] = module
        spec.loader.exec_module(module)
        modules[name] = module
    return modules


def tonic_crosscheck(src: Path, real, tick_us: int = 10_000) -> None:
    """The reader, the binning and the isolated-event count against tonic's own code."""
    from spikeforge.model.events import isolated

    tonic = load_tonic(src)
    dtype = np.dtype([("x", int), ("y", int), ("t", int), ("p", int)])
    events = tonic["io"].read_mnist_file(str(REAL), dtype=dtype)
    same = len(events) == len(real) and all(np.array_equal(events[k], getattr(real, k)) for k in "xytp")
    print(f"tonic read_mnist_file: {len(events)} events, every column equal: {same}")
    frames = tonic["to_frame"].to_frame_numpy(events, (34, 34, 2), time_window=tick_us,
                                              include_incomplete=True)
    mine = bin_events(real, tick_us, t0=int(real.t[0]))  # tonic slices from the first event
    equal = frames.shape[0] == mine.shape[0] and np.array_equal(frames.reshape(len(frames), -1), mine)
    print(f"tonic ToFrame(time_window={tick_us}) {frames.shape} == bin_events(t0=first event) "
          f"{mine.shape}: {equal}")
    kept = tonic["denoise"].denoise_numpy(events.copy(), filter_time=tick_us)
    iso = isolated(real, tick_us)
    late = real.t >= real.t[0] + tick_us  # tonic keeps every event of the first filter_time
    mine_kept = real.events[~iso | ~late]
    same = len(kept) == len(mine_kept) and all(np.array_equal(kept[k], mine_kept[k]) for k in "xytp")
    print(f"tonic Denoise(filter_time={tick_us}) drops {len(events) - len(kept)}; isolated() marks "
          f"{int(iso.sum())}, {int(iso[late].sum())} of them after the first {tick_us} us; the "
          f"events kept are the same: {same}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=200, help="MNIST test digits to simulate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="20 digits, no pictures")
    parser.add_argument("--img", default=str(ROOT / "docs" / "img"), help="where the PNGs go")
    parser.add_argument("--tonic-src", type=Path, default=None,
                        help="the tonic/ folder of an unpacked tonic wheel: cross-check against it")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if not REAL.is_file():
        print(f"bench_events: error: {REAL}: the real recording is not here (team machines only)")
        return 2
    digits = 20 if args.quick else args.digits
    real = read_nmnist(REAL)
    bounds = saccade_bounds(real)
    print(f"real recording: {len(real)} events, x {real.x.min()}..{real.x.max()}, "
          f"y {real.y.min()}..{real.y.max()}, t {real.t.min()}..{real.t.max()} us, "
          f"ON {real.on_fraction:.4f}; saccades end at {bounds[0]}, {bounds[1]}, {bounds[2]} us")
    mnist = load_dataset("mnist")
    sim = SaccadeSimulator()
    start = time.perf_counter()
    sims = sim.simulate_many(mnist.test_x[:digits], seed=args.seed)
    seconds = time.perf_counter() - start
    print(f"simulated {digits} MNIST test digits in {seconds:.1f} s ({seconds / digits * 1000:.0f} ms "
          f"per digit), {sim}")
    real_rows = rows_of(real, bounds)
    sim_rows = [rows_of(s, sim.leg_ends_us) for s in sims]
    print()
    print(table(real_rows, sim_rows))
    print()
    print(describe_binning(real, 10_000))
    if args.tonic_src is not None:
        tonic_crosscheck(args.tonic_src, real)
    if not args.quick:
        img = Path(args.img)
        img.mkdir(parents=True, exist_ok=True)
        plot_saccades(real, img / "events_real.png", bounds,
                      title="real N-MNIST recording (nmnist-sample.bin): event rate and saccades")
        plot_saccades(sims[0], img / "events_simulated.png", sim.leg_ends_us,
                      title=f"simulated: MNIST test digit 0 (label {mnist.test_y[0]}), seed {args.seed}")
        rate_plot(real, sims, img / "events_rate.png", sim.leg_ends_us)
        print(f"pictures: {img}/events_real.png, events_simulated.png, events_rate.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
