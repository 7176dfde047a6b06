"""TTFS layer (Mostafa 2017): forward vs the ODE, exact gradients, training on digits."""

import math

import numpy as np
import pytest
import torch

from spikeforge.ir.errors import ConfigError
from spikeforge.model.datasets import load_digits
from spikeforge.model.ttfs import (
    TTFSNet,
    causal_set,
    encode_ttfs,
    train_ttfs,
    ttfs_forward,
    ttfs_loss,
)


def exact_gradients(z_in, w, z_out):
    """The closed-form Jacobians of Mostafa 2017: ``(dz_out/dw [B, n_in, n_out],
    dz_out/dz_in [B, n_in, n_out])``."""
    c = causal_set(z_in, w, z_out).to(w.dtype)
    denom = (c * w).sum(1, keepdim=True) - 1
    zi = torch.where(torch.isfinite(z_in), z_in, torch.zeros_like(z_in)).unsqueeze(-1)
    zo = torch.where(torch.isfinite(z_out), z_out, torch.zeros_like(z_out)).unsqueeze(1)
    safe = torch.where(denom > 0, denom, torch.ones_like(denom))
    return c * (zi - zo) / safe, c * w / safe


def simulate_ode(t_in, w, t_max: float = 10.0, dt: float = 1e-4) -> np.ndarray:
    """Numerical integration (exact exponential current between steps, Euler-free) of the
    neuron ODE. ``t_in [n_in]`` (``inf`` = no spike), ``w [n_in, n_out]``; returns
    the first spike time of each output (``inf`` if none before ``t_max``)."""
    t_in = np.asarray(t_in, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    steps = int(t_max / dt)
    i = np.zeros(w.shape[1])
    v = np.zeros(w.shape[1])
    out = np.full(w.shape[1], np.inf)
    step_of = np.where(np.isfinite(t_in), np.ceil(t_in / dt - 1e-9), -1).astype(np.int64)
    decay = math.exp(-dt)
    for s in range(steps):
        arrive = step_of == s
        if arrive.any():
            # input at time t_i inside (s-1)dt, s dt]: add its weight, aged to s*dt
            age = s * dt - t_in[arrive]
            i += (w[arrive] * np.exp(-age)[:, None]).sum(0)
            v += (w[arrive] * (1 - np.exp(-age))[:, None]).sum(0)
        # V(t + dt) = V + I (1 - e^-dt), I(t + dt) = I e^-dt; locate crossings inside the step
        v_next = v + i * (1 - decay)
        cross = (v_next >= 1) & np.isinf(out)
        if cross.any():
            # solve V + I (1 - e^-x) = 1 for x in (0, dt]
            x = -np.log(1 - (1 - v[cross]) / i[cross])
            out[cross] = s * dt + x
        v, i = v_next, i * decay
    return out


def random_case(rng, n_in=6, n_out=4, p_silent=0.2):
    t = rng.uniform(0, 2, n_in)
    t[rng.random(n_in) < p_silent] = np.inf
    w = rng.normal(0.4, 0.5, (n_in, n_out))
    return t, w


def test_forward_matches_ode_integration():
    rng = np.random.default_rng(0)
    n_spikes = n_silent = 0
    for _ in range(12):
        t, w = random_case(rng)
        z = ttfs_forward(torch.tensor(np.exp(t))[None], torch.tensor(w))[0].numpy()
        t_ode = simulate_ode(t, w, t_max=8.0, dt=2e-3)
        fired = np.isfinite(t_ode)
        assert (np.isfinite(z) == fired).all()
        np.testing.assert_allclose(np.log(z[fired]), t_ode[fired], atol=1e-6)
        n_spikes += fired.sum()
        n_silent += (~fired).sum()
    assert n_spikes > 20 and n_silent > 3  # both cases exercised


def test_forward_hand_cases():
    # one input, weight 2 at t=0: V = 2 (1 - e^-t) = 1 at t = ln 2, z = 2
    z = ttfs_forward(torch.tensor([[1.0]], dtype=torch.float64), torch.tensor([[2.0]], dtype=torch.float64))
    assert z.item() == pytest.approx(2.0)
    # weight sum below threshold: never fires; an absent input (inf) is ignored
    z = ttfs_forward(torch.tensor([[1.0, float("inf")]]), torch.tensor([[0.9], [5.0]]))
    assert torch.isinf(z).all()
    # a strong late input does not fire before it arrives: causal set grows
    z = ttfs_forward(torch.tensor([[1.0, 3.0]], dtype=torch.float64),
                     torch.tensor([[0.5], [2.0]], dtype=torch.float64))
    assert z.item() == pytest.approx((0.5 * 1 + 2 * 3) / (2.5 - 1))
    with pytest.raises(ConfigError, match="n_in"):
        ttfs_forward(torch.ones(2, 3), torch.ones(4, 1))


def test_autograd_equals_closed_form_and_finite_differences():
    rng = np.random.default_rng(1)
    checked = 0
    for _ in range(20):
        t, w = random_case(rng, n_in=5, n_out=3, p_silent=0.0)
        z_in = torch.tensor(np.exp(t))[None].requires_grad_(True)
        wt = torch.tensor(w, requires_grad=True)
        z_out = ttfs_forward(z_in, wt, closed_form=False)
        if not torch.isfinite(z_out).all():
            continue
        # stay away from the boundaries where the causal set changes
        gap = (z_in.detach().unsqueeze(-1) - z_out.detach().unsqueeze(1)).abs().min()
        if gap < 1e-3:
            continue
        dw, dz = exact_gradients(z_in.detach(), wt.detach(), z_out.detach())
        for m in range(3):
            gw, gz = torch.autograd.grad(z_out[0, m], (wt, z_in), retain_graph=True)
            torch.testing.assert_close(gw[:, m], dw[0, :, m])
            torch.testing.assert_close(gz[0], dz[0, :, m])
        for cf in (True, False):  # closed-form backward and autograd, vs finite differences
            assert torch.autograd.gradcheck(lambda a, b: ttfs_forward(a, b, closed_form=cf),
                                            (z_in, wt), eps=1e-7, atol=1e-5)
        checked += 1
    assert checked >= 8


@pytest.mark.parametrize("closed_form", [True, False])
def test_closed_form_backward_equals_autograd(closed_form):
    """TTFSFunction's closed-form backward == autograd through the masked formula, on a
    batch with absent inputs and silent outputs."""
    rng = np.random.default_rng(3)
    z = np.exp(rng.uniform(0, 2, (16, 12)))
    z[rng.random((16, 12)) < 0.15] = np.inf
    z_in = torch.tensor(z)
    w = torch.tensor(rng.normal(0.3, 0.5, (12, 7)))
    grads = []
    for cf in (True, False):
        a = z_in.clone().requires_grad_(True)
        b = w.clone().requires_grad_(True)
        out = ttfs_forward(a, b, closed_form=cf)
        loss = ttfs_loss(out, torch.zeros(16, dtype=torch.long))
        loss.backward()
        grads.append((out.detach(), a.grad, b.grad))
    assert torch.isinf(grads[0][0]).any() and torch.isfinite(grads[0][0]).any()
    torch.testing.assert_close(grads[0][0], grads[1][0])
    torch.testing.assert_close(grads[0][1], grads[1][1])
    torch.testing.assert_close(grads[0][2], grads[1][2])
    assert torch.isfinite(grads[0][1]).all() and torch.isfinite(grads[0][2]).all()


def test_no_spike_gradients_are_finite_and_zero():
    z_in = torch.tensor([[1.0, 2.0]], requires_grad=True)
    w = torch.tensor([[0.3], [0.2]], requires_grad=True)
    z = ttfs_forward(z_in, w)
    assert torch.isinf(z).all()
    loss = ttfs_loss(z, torch.tensor([0]))
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.equal(w.grad, torch.zeros_like(w)) and torch.equal(z_in.grad, torch.zeros_like(z_in))


def test_weight_sum_cost_pushes_silent_neurons_up():
    net = TTFSNet([4, 3], seed=0)
    with torch.no_grad():
        net.layers[0].w.fill_(0.1)  # sum 0.4 < 1: cannot fire
    cost = net.weight_sum_cost()
    assert cost.item() == pytest.approx(3 * 0.6)
    cost.backward()
    assert (net.layers[0].w.grad < 0).all()  # gradient descent raises the weights


def test_causal_set_and_prediction():
    z_in = torch.tensor([[1.0, 1.5, 10.0]], dtype=torch.float64)
    w = torch.tensor([[1.0, 0.1], [1.0, 0.1], [1.0, 5.0]], dtype=torch.float64)
    z = ttfs_forward(z_in, w)
    c = causal_set(z_in, w, z)
    assert c[0, :, 0].tolist() == [True, True, False]
    assert c[0, :, 1].tolist() == [True, True, True]
    assert TTFSNet.predict_from(z).tolist() == [0]


def test_forward_causal_set_equals_definition():
    from spikeforge.model.ttfs import _masked_forward
    rng = np.random.default_rng(7)
    z = np.exp(rng.uniform(0, 2, (8, 10)))
    z[rng.random((8, 10)) < 0.2] = np.inf
    z_in, w = torch.tensor(z), torch.tensor(rng.normal(0.3, 0.5, (10, 5)))
    z_out, causal = _masked_forward(z_in, w)
    assert torch.equal(causal.transpose(1, 2), causal_set(z_in, w, z_out))


def test_train_ttfs_on_digits():
    ds = load_digits()
    result = train_ttfs(ds, hidden=(64,), epochs=4, progress=False)
    assert result.test_accuracy > 0.75, result.history
    assert len(result.history) == 4
    z = encode_ttfs(ds.test_x[:3], ds.max_value)
    assert z.min() >= 1.0 and z.max() <= np.e + 1e-5


def _grid_inputs(rng, batch, n_in, k=8, p_silent=0.3):
    t = rng.integers(0, k + 1, (batch, n_in)) / k
    t[rng.random((batch, n_in)) < p_silent] = np.inf
    return torch.tensor(np.exp(t))


def test_grouped_forward_equals_sorted_forward_on_a_tick_grid():
    """Inputs on a tick grid (ties included, some silent): the per-level algorithm gives the
    spike times, the no-spike cases and the weight gradients of the sort-and-cumsum one."""
    from spikeforge.model.ttfs import _grouped_forward, _masked_forward
    rng = np.random.default_rng(3)
    z_in = _grid_inputs(rng, 40, 64)
    w = torch.tensor(rng.normal(0.05, 0.15, (64, 12)), requires_grad=True)
    levels = torch.unique(z_in[torch.isfinite(z_in)])
    fast = _grouped_forward(z_in, w, levels)
    exact = _masked_forward(z_in, w)[0]
    spiked = torch.isfinite(exact)
    assert torch.equal(torch.isfinite(fast), spiked)
    assert 0.2 < spiked.double().mean() < 0.95  # both cases exercised
    torch.testing.assert_close(fast[spiked], exact[spiked])
    g_fast = torch.autograd.grad(fast[spiked].sum(), w)[0]
    g_exact = torch.autograd.grad(exact[spiked].sum(), w)[0]
    torch.testing.assert_close(g_fast, g_exact)


def test_ttfs_forward_picks_the_grouped_algorithm_only_without_input_gradients():
    from spikeforge.model import ttfs
    rng = np.random.default_rng(4)
    z_in = _grid_inputs(rng, 8, 64)
    w = torch.tensor(rng.normal(0.05, 0.15, (64, 5)))
    calls = []
    original = ttfs._grouped_forward
    ttfs._grouped_forward = lambda *a: calls.append(1) or original(*a)
    try:
        ttfs.ttfs_forward(z_in, w)
        assert calls == [1]
        ttfs.ttfs_forward(z_in.clone().requires_grad_(True), w)  # needs dz_in: sorted path
        ttfs.ttfs_forward(torch.exp(torch.tensor(rng.uniform(0, 1, (8, 64)))), w)  # many levels
        assert calls == [1]
    finally:
        ttfs._grouped_forward = original


def test_encoding_on_the_tick_grid_and_silent_pixels():
    from spikeforge.model.ttfs import TTFSEncoding
    x = np.array([[16, 8, 0, 15]])
    grid = TTFSEncoding(ticks_per_tau=32)
    assert grid.ticks(x, 16).tolist() == [[0, 16, 32, 2]]
    np.testing.assert_allclose(grid.times(x, 16), [[0, 0.5, 1.0, 2 / 32]])
    silent = TTFSEncoding(ticks_per_tau=32, zero_is_silent=True)
    assert silent.ticks(x, 16).tolist() == [[0, 16, -1, 2]]
    z = encode_ttfs(x, 16, encoding=silent)
    assert torch.isinf(z[0, 2]) and z[0, 0] == 1.0
    assert torch.isinf(encode_ttfs(x, 16, encoding=TTFSEncoding(zero_is_silent=True))[0, 2])
    with pytest.raises(ConfigError, match="ticks_per_tau"):
        TTFSEncoding().ticks(x, 16)


def test_binary_code_puts_the_ink_at_tick_0():
    """``binarize_at``: a pixel >= it spikes at t = 0, every other pixel is silent (with
    ``zero_is_silent``) or at t_max; the same in times, ticks and counts; a bad threshold is
    refused by name."""
    from spikeforge.model.ttfs import TTFSEncoding
    x = np.array([[16, 8, 0, 15, 9]])
    binary = TTFSEncoding(ticks_per_tau=32, zero_is_silent=True, binarize_at=9)
    assert binary.ticks(x, 16).tolist() == [[0, -1, -1, 0, 0]]
    np.testing.assert_array_equal(binary.times(x, 16), [[0, np.inf, np.inf, 0, 0]])
    counts = binary.counts(x, 16, ticks=3)
    assert counts.shape == (1, 3, 5) and counts[0, 0].tolist() == [1, 0, 0, 1, 1]
    assert counts[0, 1:].sum() == 0
    assert TTFSEncoding(ticks_per_tau=32, binarize_at=9).ticks(x, 16).tolist() == \
        [[0, 32, 32, 0, 0]]
    continuous = TTFSEncoding(zero_is_silent=True, binarize_at=9)
    np.testing.assert_array_equal(continuous.times(x, 16), [[0, np.inf, np.inf, 0, 0]])
    for name in ("binarize_at", "silent_below"):
        for bad in (0, True, 2.5):
            with pytest.raises(ConfigError, match=f"{name}: must be a pixel value >= 1 or None, "
                                                  f"got {bad!r}"):
                TTFSEncoding(**{name: bad})


def test_threshold_code_silences_the_faint_pixels_and_times_the_rest():
    """``silent_below``: the pixels below it send nothing (with or without
    ``zero_is_silent``), the others keep their intensity times."""
    from spikeforge.model.ttfs import TTFSEncoding
    x = np.array([[16, 8, 0, 15, 9]])
    for silent in (False, True):
        code = TTFSEncoding(ticks_per_tau=32, zero_is_silent=silent, silent_below=9)
        assert code.ticks(x, 16).tolist() == [[0, -1, -1, 2, 14]]
        np.testing.assert_array_equal(code.times(x, 16), [[0, np.inf, np.inf, 2 / 32, 14 / 32]])


def test_per_sample_weight_sum_cost_counts_only_present_inputs():
    net = TTFSNet([4, 2], seed=0)
    with torch.no_grad():
        net.layers[0].w.fill_(0.4)  # all four inputs: 1.6 >= 1; two of them: 0.8 < 1
    assert net.weight_sum_cost().item() == 0
    z = torch.tensor([[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, float("inf"), float("inf")]])
    # sample 0 costs nothing, sample 1 costs 0.2 per neuron: batch mean 0.2
    assert net.weight_sum_cost([z]).item() == pytest.approx(0.2)


def test_train_ttfs_on_the_tick_grid_with_silent_pixels():
    from spikeforge.model.ttfs import TTFSEncoding
    ds = load_digits()
    result = train_ttfs(ds, hidden=(64,), epochs=5, progress=False, per_sample_weight_sum=True,
                        encoding=TTFSEncoding(ticks_per_tau=16, zero_is_silent=True),
                        spike_dropout=0.05)
    assert result.test_accuracy > 0.75, result.history


def test_train_ttfs_with_shifted_images():
    from spikeforge.model.ttfs import TTFSEncoding
    ds = load_digits()
    result = train_ttfs(ds, hidden=(64,), epochs=8, progress=False, max_shift=1,
                        encoding=TTFSEncoding(ticks_per_tau=16))
    # a 1-pixel shift is an eighth of a digits image: it learns, but slower than without
    # (0.74 against 0.94 after 8 epochs); on 28x28 MNIST the shift is a mild regulariser
    assert result.test_accuracy > 0.6, result.history


# -- validation split, sparsity costs, silent input rows (issue 11) ----------------------

def test_stratified_split_is_seeded_disjoint_and_keeps_class_shares():
    from spikeforge.model.ttfs import stratified_split
    y = np.repeat(np.arange(4), [50, 30, 15, 5])
    tr, va = stratified_split(y, 20, seed=3)
    assert len(va) == 20 and len(tr) == 80 and not set(tr) & set(va)
    assert np.bincount(y[va]).tolist() == [10, 6, 3, 1]
    tr2, va2 = stratified_split(y, 20, seed=3)
    assert np.array_equal(va, va2)
    assert not np.array_equal(va, stratified_split(y, 20, seed=4)[1])
    with pytest.raises(ConfigError, match="n_val"):
        stratified_split(y, 100)


def test_hidden_spike_cost_counts_spikes_before_the_decision_and_pushes_them_later():
    from spikeforge.model.ttfs import hidden_spike_cost
    inf = float("inf")
    z_h = torch.tensor([[math.exp(0.1), math.exp(0.2), math.exp(0.9), inf]], requires_grad=True)
    z_out = torch.exp(torch.tensor([[0.5, 0.7]]))            # decision at t = 0.5
    cost = hidden_spike_cost([z_h], z_out, temperature=0.01)
    assert cost.item() == pytest.approx(2.0, abs=1e-6)        # two spikes before t = 0.5
    soft = hidden_spike_cost([z_h], z_out, temperature=0.3)
    soft.backward()
    g = z_h.grad[0]
    assert (g[:3] < 0).all() and g[3] == 0                   # later hidden spikes cost less
    z_none = torch.full((1, 2), inf)                          # no decision: the horizon
    assert hidden_spike_cost([z_h.detach()], z_none, 0.01).item() == pytest.approx(3.0)


def test_late_decision_cost_is_the_correct_outputs_time():
    from spikeforge.model.ttfs import late_decision_cost
    t = torch.tensor([[0.5, 1.5], [2.0, float("inf")]])
    z = torch.exp(t).requires_grad_()
    cost = late_decision_cost(z, torch.tensor([1, 1]), horizon=4.0)
    assert cost.item() == pytest.approx((1.5 + 4.0) / 2)
    cost.backward()
    assert z.grad[0, 1] > 0 and z.grad[0, 0] == 0 and z.grad[1].abs().sum() == 0


def test_distillation_cost_is_the_tempered_kl_to_the_teachers_times():
    """0 where the student's output times equal the teacher's, T**2 KL of the tempered
    softmaxes of -z otherwise (recomputed here), a non-spiking output counted as z_cap; its
    gradient moves the student toward the teacher and leaves the teacher alone."""
    from spikeforge.model.ttfs import distillation_cost
    inf = float("inf")
    teacher = torch.exp(torch.tensor([[0.2, 0.9, 1.5], [0.4, 0.3, inf]]))
    assert distillation_cost(teacher.clone(), teacher).item() == pytest.approx(0.0, abs=1e-6)
    student = torch.exp(torch.tensor([[0.6, 0.5, 1.5], [0.4, 0.8, 2.0]])).requires_grad_()
    T, cap = 2.0, 1e4
    p = torch.softmax(-torch.where(torch.isinf(teacher), torch.tensor(cap), teacher) / T, 1)
    q = torch.log_softmax(-student.detach() / T, 1)
    expected = T * T * (torch.special.xlogy(p, p) - p * q).sum(1).mean()
    cost = distillation_cost(student, teacher, T, cap)
    assert cost.item() == pytest.approx(expected.item(), rel=1e-5)
    cost.backward()
    # descent moves class 0's output earlier and class 1's later, as the teacher has them
    assert student.grad[0, 1] < 0 < student.grad[0, 0]


def test_distillation_needs_a_teacher_and_pulls_toward_it():
    """``train_ttfs(k_distill=...)`` without a teacher is refused; with a teacher of another
    hidden size, one epoch of distillation alone (no labels' loss can explain it) brings the
    student's output times closer to the teacher's than the same epoch without it."""
    from spikeforge.ir.errors import ConfigError
    from spikeforge.model.ttfs import TTFSEncoding, distillation_cost
    ds = load_digits()
    enc = TTFSEncoding(ticks_per_tau=16)
    with pytest.raises(ConfigError, match="k_distill: needs a teacher"):
        train_ttfs(ds, (8,), 1, progress=False, encoding=enc, k_distill=1.0)
    teacher = train_ttfs(ds, (32,), 3, progress=False, encoding=enc).net
    weights = [layer.w.detach().clone() for layer in teacher.layers]
    z = encode_ttfs(ds.test_x, ds.max_value, encoding=enc)
    with torch.no_grad():
        z_teacher = teacher(z)

    def gap(k_distill):
        net = train_ttfs(ds, (16,), 2, progress=False, encoding=enc, teacher=weights,
                         k_distill=k_distill).net
        with torch.no_grad():
            return distillation_cost(net(z), z_teacher).item()

    assert gap(5.0) < gap(0.0)


def test_sparsity_costs_cut_hidden_spikes_on_digits():
    from spikeforge.model.ttfs import TTFSEncoding, hidden_spike_cost
    ds = load_digits()
    enc = TTFSEncoding(ticks_per_tau=16)
    z = encode_ttfs(ds.test_x, ds.max_value, encoding=enc)

    def spikes(r):
        with torch.no_grad():
            out, _, outputs = r.net.forward_record(z)
            return hidden_spike_cost(outputs[:-1], out, 1e-3).item()

    plain = train_ttfs(ds, hidden=(64,), epochs=4, progress=False, encoding=enc)
    sparse = train_ttfs(ds, hidden=(64,), epochs=4, progress=False, encoding=enc,
                        k_hidden_spikes=0.03, k_late=0.1)
    assert spikes(sparse) < 0.8 * spikes(plain), (spikes(sparse), spikes(plain))
    assert sparse.test_accuracy > 0.7, sparse.history  # 0.79 measured; plain 0.85


def test_validation_split_training_never_reads_the_test_set_and_zeroes_silent_rows():
    import dataclasses

    from spikeforge.model.augment import Augmentation
    from spikeforge.model.ttfs import TTFSEncoding
    ds = load_digits()
    silent_cols = np.flatnonzero((ds.train_x == 0).all(axis=0))
    assert len(silent_cols) > 0                              # digits has always-blank corners
    poisoned = dataclasses.replace(ds, test_x=None, test_y=None)  # any read would fail
    seen = []
    r = train_ttfs(poisoned, hidden=(32,), epochs=2, progress=False,
                   encoding=TTFSEncoding(ticks_per_tau=16, zero_is_silent=True),
                   per_sample_weight_sum=True, validation=(ds.train_x[:200], ds.train_y[:200]),
                   augment=Augmentation(1, 5.0), zero_silent_rows=True,
                   on_epoch=lambda e, net, h: seen.append((e, h[-1][2])))
    assert r.held_out == "validation" and [e for e, _ in seen] == [0, 1]
    assert r.zero_rows == len(silent_cols)
    w = r.net.layers[0].w.detach()
    assert (w[silent_cols] == 0).all() and (w.abs().sum(1) > 0).sum() == 64 - len(silent_cols)
