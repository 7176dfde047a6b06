"""Simulated N-MNIST training (model/event_train.py) on a tiny simulated set: bars, not MNIST.

Vertical and horizontal bars moved through the saccades are two classes a tiny network tells
apart after a few epochs, so the whole path -- simulate, bin, cache, train, quantize with a
bound on the first layer's events per tick, golden model -- runs in seconds without MNIST.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spikeforge.ir.errors import ConfigError, SpikeforgeError
from spikeforge.model.augment import Augmentation
from spikeforge.model.event_train import (
    DISTORT,
    EventCounts,
    batch_counts,
    cached_chunk,
    cached_counts,
    check_regularisation,
    chunk_path,
    dense_inputs,
    distort_digits,
    events_bound,
    float_accuracy,
    golden_accuracy,
    golden_counts,
    growing_train_set,
    input_batch,
    interleaved_chunks,
    merge_ticks,
    most_events_per_tick,
    quantize_event_net,
    simulate_counts,
    train_event_lif,
)
from spikeforge.model.events import SaccadeSimulator, bin_events
from spikeforge.sim.network import classify

DT = 1000  # the coarsest step the tests need: fast


def bars(n: int, seed: int = 0):
    """``n`` 28x28 images, class 0 a vertical bar, class 1 a horizontal one, at random places."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    labels = np.arange(n) % 2
    for k in range(n):
        a, b = rng.integers(6, 18), rng.integers(4, 10)
        if labels[k] == 0:
            images[k, b:b + 18, a:a + 4] = 255
        else:
            images[k, a:a + 4, b:b + 18] = 255
    return images.reshape(n, 784), labels


@pytest.fixture(scope="module")
def tiny():
    x, y = bars(48)
    return simulate_counts(x, y, seed=3, dt_us=DT)


def test_counts_are_the_binned_recordings_and_chunks_do_not_change_them(tmp_path):
    x, y = bars(7)
    streams = SaccadeSimulator(dt_us=DT).simulate_many(x, seed=5)
    expected = np.stack([bin_events(s, 10_000, 32) for s in streams])
    one = cached_counts("t", x, y, 7, seed=5, chunk=7, dt_us=DT, cache_dir=tmp_path / "a")
    three = cached_counts("t", x, y, 7, seed=5, chunk=3, dt_us=DT, cache_dir=tmp_path / "b")
    assert np.array_equal(one.dense(), expected) and np.array_equal(three.dense(), expected)
    assert np.array_equal(one.n_events, expected.sum(axis=(1, 2)))
    assert len(list((tmp_path / "b").glob("*.npz"))) == 3
    # loaded, not simulated again: a cached chunk's content is what comes back
    path = chunk_path("t", 5, 6, 1, DT, cache_dir=tmp_path / "b")
    EventCounts.from_dense(np.zeros((1, 32, 2312), np.int64), [9]).save(path)
    again = cached_counts("t", x, y, 7, seed=5, chunk=3, dt_us=DT, cache_dir=tmp_path / "b")
    assert again.labels[-1] == 9 and again.n_events[-1] == 0
    assert np.array_equal(again.dense()[:6], expected[:6])


def test_simulate_many_first_gives_the_recordings_of_the_whole_set():
    x, _ = bars(4)
    sim = SaccadeSimulator(dt_us=DT)
    whole = sim.simulate_many(x, seed=2)
    part = sim.simulate_many(x[2:], seed=2, first=2)
    assert all(np.array_equal(a.events, b.events) for a, b in zip(whole[2:], part))
    with pytest.raises(ConfigError, match="first"):
        sim.simulate_many(x, first=-1)


def test_bad_cache_file_is_named(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, format="something else")
    with pytest.raises(SpikeforgeError, match="bad.npz"):
        EventCounts.load(bad)


def test_merge_clip_subset_and_bounds(tiny):
    dense = tiny.dense()
    assert np.array_equal(merge_ticks(dense, 2), dense[:, 0::2] + dense[:, 1::2])
    assert merge_ticks(dense, 3).shape[1] == 11 and merge_ticks(dense, 3).sum() == dense.sum()
    assert np.array_equal(batch_counts(tiny, [4, 1], max_count=1), np.minimum(dense[[4, 1]], 1))
    assert np.array_equal(tiny.subset([4, 1]).dense(), dense[[4, 1]])
    assert tiny.max_count() == dense.max() > 1  # events of one input in one tick do repeat
    assert tiny.max_events_per_tick() == dense.sum(axis=2).max()
    assert most_events_per_tick(tiny, max_count=None) == dense.sum(axis=2).max()
    assert events_bound(tiny, margin=1.5) == int(np.ceil(1.5 * np.minimum(dense, 1).sum(axis=2).max()))


def test_shift_moves_every_event_by_the_same_pixels(tiny):
    rng = np.random.default_rng(0)
    shifted = input_batch(dense_inputs(tiny), [0], shift=2, rng=rng).numpy()[:, 0]
    dx, dy = np.random.default_rng(0).integers(-2, 3, size=(1, 2))[0]
    planes = np.minimum(tiny.dense([0])[0], 1).reshape(32, 2, 34, 34)
    assert (dx, dy) != (0, 0)
    moved = np.roll(planes, (dy, dx), axis=(2, 3))
    shifted = shifted.reshape(32, 2, 34, 34)
    # np.roll wraps around, the shift drops what leaves the sensor: equal 2 px inside the border
    assert np.array_equal(shifted[:, :, 2:-2, 2:-2], moved[:, :, 2:-2, 2:-2])
    assert shifted.sum() <= planes.sum() and shifted[:, :, 2:-2, 2:-2].sum() > 0.9 * planes.sum()


def test_train_quantize_and_bound_the_first_layer(tiny):
    train, val = tiny.subset(range(32)), tiny.subset(range(32, 48))
    r = train_event_lif(train, val, hidden=(16,), epochs=6, lr=5e-3, progress=False)
    assert float_accuracy(r.net, val) >= 0.9, r.history
    bound = events_bound(train)
    network = quantize_event_net(r.net, ticks=32, max_events_per_tick=bound)
    assert network.layers[0].max_events_per_tick == bound
    assert network.layers[1].max_events_per_tick == 16
    assert golden_accuracy(network, val) >= 0.9
    # the contract refuses an image with more events in a tick than the bound, naming it
    tight = quantize_event_net(r.net, ticks=32, max_events_per_tick=most_events_per_tick(val) - 1)
    with pytest.raises(ConfigError, match="max_events_per_tick"):
        classify(tight, golden_counts(val, range(len(val))))


def test_growing_train_set_follows_its_schedule(tmp_path):
    assert interleaved_chunks(2000) == [0, 1500, 500, 1000]
    x, y = bars(6)
    for first in (0, 2, 4):
        cached_chunk("train", x, y, first, 2, seed=1, dt_us=DT, cache_dir=tmp_path)
    at = growing_train_set([4, 0, 2], first_chunks=1, per_epoch=1, seed=1, chunk=2, dt_us=DT,
                           cache_dir=tmp_path)
    whole = cached_counts("train", x, y, 6, seed=1, chunk=2, dt_us=DT, cache_dir=tmp_path).dense()
    assert np.array_equal(at(0).dense(), whole[4:6])
    assert np.array_equal(at(2).dense(), whole[[4, 5, 0, 1, 2, 3]]) and len(at(5)) == 6


def test_distorted_chunks_are_the_distorted_digits_simulated_and_cached_apart(tmp_path):
    x, y = bars(5)
    plain = cached_chunk("train", x, y, 0, 5, seed=4, dt_us=DT, cache_dir=tmp_path)
    bent = cached_chunk("train", x, y, 0, 5, seed=4, dt_us=DT, cache_dir=tmp_path, augment=DISTORT)
    # the digits themselves are distorted (per digit: chunking does not change a distortion)
    images = distort_digits(x, DISTORT, seed=4)
    assert all((images[i] != x[i]).any() for i in range(5))
    assert np.array_equal(distort_digits(x[2:], DISTORT, seed=4, first=2), images[2:])
    assert np.array_equal(bent.dense(), simulate_counts(images, y, seed=4, dt_us=DT).dense())
    assert not np.array_equal(bent.dense(), plain.dense())
    # each distortion has its own file, none shares the undistorted one
    other = Augmentation(max_rotation=4.0)
    names = {chunk_path("train", 4, 0, 5, DT, cache_dir=tmp_path, augment=a).name
             for a in (None, DISTORT, other)}
    assert len(names) == 3 and len(list(tmp_path.glob("*.npz"))) == 2
    again = cached_chunk("train", x, y, 0, 5, seed=4, dt_us=DT, cache_dir=tmp_path, augment=DISTORT)
    assert np.array_equal(again.dense(), bent.dense())


def test_dropout_is_the_network_without_dropout_and_drops_with_it(tiny):
    from spikeforge.model.lif import LIFNet, drop_spikes

    net = LIFNet([2312, 16, 10], seed=1)
    x = input_batch(dense_inputs(tiny), slice(0, 8))
    with torch.no_grad():
        for fc in net.fcs:  # an untrained net is silent: weights large enough to spike
            fc.weight.mul_(8.0)
        plain = net(x)[0]
        assert plain.sum() > 0
        assert torch.equal(net(x, dropout_in=0.0, dropout_hidden=0.0)[0], plain)
        gen = torch.Generator().manual_seed(0)
        dropped = net(x, dropout_in=0.5, dropout_hidden=0.5, generator=gen)[0]
        again = net(x, dropout_in=0.5, dropout_hidden=0.5,
                    generator=torch.Generator().manual_seed(0))[0]
    assert torch.equal(dropped, again) and not torch.equal(dropped, plain)  # seeded masks
    # inverted dropout: about a quarter of the events dropped, the others scaled by 1 / 0.75
    kept = drop_spikes(x, 0.25, torch.Generator().manual_seed(0))
    assert set(torch.unique(kept).tolist()) <= {0.0, float(torch.tensor(1 / 0.75))}
    assert 0.7 < float((kept[x > 0] > 0).float().mean()) < 0.8 and torch.equal(drop_spikes(x, 0.0), x)


def test_lif_loss_smooths_its_targets():
    from spikeforge.model.lif import lif_loss

    out = torch.tensor([[[3.0, 0.0, 1.0]], [[2.0, 1.0, 0.0]]])  # [ticks, batch, classes]
    target = torch.tensor([0])
    logp = torch.log_softmax(0.3 * out.sum(0), dim=1)[0]
    assert torch.isclose(lif_loss(out, target, 0.3), -logp[0])
    smoothed = -(0.9 * logp[0] + 0.1 * logp.mean())  # 0.1 of the target spread over the classes
    assert torch.isclose(lif_loss(out, target, 0.3, 0.1), smoothed)


def test_regularised_training_learns_and_bad_settings_are_named(tiny):
    train, val = tiny.subset(range(32)), tiny.subset(range(32, 48))
    r = train_event_lif(train, val, hidden=(16,), epochs=6, lr=5e-3, progress=False, dropout_in=0.1,
                        dropout_hidden=0.1, weight_decay=1e-4, label_smoothing=0.1)
    assert float_accuracy(r.net, val) >= 0.9, r.history
    plain = train_event_lif(train, val, hidden=(16,), epochs=1, lr=5e-3, progress=False)
    again = train_event_lif(train, val, hidden=(16,), epochs=1, lr=5e-3, progress=False)
    assert torch.equal(plain.net.fcs[0].weight, again.net.fcs[0].weight)  # reproducible
    for option in (dict(dropout_in=0.3), dict(dropout_hidden=0.3), dict(weight_decay=0.1),
                   dict(label_smoothing=0.3)):  # each option changes the training
        reg = train_event_lif(train, val, hidden=(16,), epochs=1, lr=5e-3, progress=False, **option)
        assert not torch.equal(plain.net.fcs[0].weight, reg.net.fcs[0].weight), option
    for bad, match in ((dict(dropout_in=1.0), "dropout_in"), (dict(dropout_hidden=-0.1), "dropout_hidden"),
                       (dict(weight_decay=-1.0), "weight_decay"), (dict(label_smoothing=1.0), "label_smoothing")):
        with pytest.raises(ConfigError, match=match):
            train_event_lif(train, val, hidden=(16,), epochs=1, progress=False, **bad)
    check_regularisation(0.0, 0.0, 0.0, 0.0)


def test_on_epoch_sees_each_epoch_and_the_net_of_that_epoch(tiny):
    """A trial keeps a checkpoint per epoch through ``on_epoch``: it is called once per epoch,
    numbered from 1, with the net being trained, and the last checkpoint is the net returned;
    the hook changes nothing in the training."""
    train, val = tiny.subset(range(32)), tiny.subset(range(32, 48))
    seen = []

    def keep(epoch, net):
        seen.append((epoch, {k: v.clone() for k, v in net.state_dict().items()}))

    r = train_event_lif(train, val, hidden=(16,), epochs=3, lr=5e-3, progress=False, on_epoch=keep)
    assert [e for e, _ in seen] == [1, 2, 3]
    assert not torch.equal(seen[0][1]["fcs.0.weight"], seen[1][1]["fcs.0.weight"])
    assert all(torch.equal(v, r.net.state_dict()[k]) for k, v in seen[-1][1].items())
    plain = train_event_lif(train, val, hidden=(16,), epochs=3, lr=5e-3, progress=False)
    assert torch.equal(plain.net.fcs[0].weight, r.net.fcs[0].weight)
