"""Current-based LIF with surrogate gradients: dynamics, surrogate, adaptation, training."""

import math

import pytest
import torch

from spikeforge.ir.errors import ConfigError
from spikeforge.model.datasets import load_digits
from spikeforge.model.lif import LIF, LIFNet, lif_loss, spike_fn, train_lif


def test_dynamics_follow_the_equations():
    lif = LIF(alpha=0.5, beta=0.9, threshold=1.0)
    x = torch.tensor([[0.6], [0.0], [0.0], [0.0]])
    s, v, _ = lif.run(x[:, None, :])
    # i: 0.6, 0.3, 0.15, 0.075 ; v: 0.6, 0.84, 0.906, 0.8904
    i, vv, expect_v = 0.0, 0.0, []
    for t in range(4):
        i = 0.5 * i + x[t, 0].item()
        vv = 0.9 * vv + i
        expect_v.append(vv)
    torch.testing.assert_close(v[:, 0, 0], torch.tensor(expect_v))
    assert s.sum() == 0
    # a spike with subtract reset keeps the residue; zero reset clears
    for reset, residue in (("subtract", 0.5), ("zero", 0.0)):
        s, v, _ = LIF(alpha=0.0, beta=1.0, reset=reset).run(torch.tensor([[[1.5]]]))
        assert s.item() == 1 and v.item() == pytest.approx(residue)


def test_surrogate_gradient_nonzero_and_shapes():
    x = torch.linspace(-1, 1, 11, requires_grad=True)
    for kind, peak in (("fast_sigmoid", 1.0), ("arctan", 1.0)):
        s = spike_fn(x, kind)
        assert s.tolist() == [float(v >= 0) for v in x.tolist()]
        (g,) = torch.autograd.grad(s.sum(), x)
        assert (g > 0).all() and g[5].item() == pytest.approx(peak)  # maximal at threshold
        assert g[0] < g[4]
    y = torch.tensor(0.1, requires_grad=True)
    (g,) = torch.autograd.grad(spike_fn(y, "fast_sigmoid", 10.0), y)
    assert g.item() == pytest.approx(1 / (10 * 0.1 + 1) ** 2)
    y = torch.tensor(0.1, requires_grad=True)
    (g,) = torch.autograd.grad(spike_fn(y, "arctan", 2.0), y)
    assert g.item() == pytest.approx(1 / (1 + (math.pi / 2 * 2 * 0.1) ** 2))


def test_network_gradients_reach_first_layer():
    net = LIFNet([20, 30, 5], seed=0)
    x = (torch.rand(10, 4, 20, generator=torch.Generator().manual_seed(0)) < 0.5).float()
    out, _ = net(x)
    loss = lif_loss(out, torch.tensor([0, 1, 2, 3]))
    loss.backward()
    for fc in net.fcs:
        assert fc.weight.grad is not None and fc.weight.grad.abs().sum() > 0


def test_adaptive_threshold_rises_with_spikes_and_decays():
    lif = LIF(alpha=0.0, beta=0.0, threshold=1.0, adaptive=True, rho=0.9, adapt_step=0.5)
    x = torch.full((6, 1, 1), 2.0)
    x[4:] = 0.0
    s, v, theta = lif.run(x)
    assert s[:4, 0, 0].tolist() == [1, 1, 1, 0]  # theta 1, 1.5, 1.95, 2.355 > 2
    th = theta[:, 0, 0].tolist()
    assert th[0] == 1.0 and th[1] == pytest.approx(1.5) and th[2] == pytest.approx(1.95)
    assert th[4] < th[3] and th[5] < th[4]  # decays without spikes
    plain = LIF(alpha=0.0, beta=0.0).run(x)[0]
    assert plain.sum() > s.sum()


def test_delay_one_tick_per_layer():
    net = LIFNet([1, 1, 1], seed=0, alpha=0.0, beta=0.0)
    with torch.no_grad():
        for fc in net.fcs:
            fc.weight.fill_(2.0)
    x = torch.zeros(4, 1, 1)
    x[0] = 1
    out, _, layers = net(x, record=True)
    assert layers[0][0][:, 0, 0].tolist() == [1, 0, 0, 0]
    assert out[:, 0, 0].tolist() == [0, 1, 0, 0]


def test_bad_parameters():
    with pytest.raises(ConfigError, match="beta"):
        LIF(beta=1.5)
    with pytest.raises(ConfigError, match="reset"):
        LIF(reset="hard")
    with pytest.raises(ConfigError, match="surrogate"):
        spike_fn(torch.zeros(1), "relu")
    with pytest.raises(ConfigError, match="spikes_in"):
        LIFNet([4, 2])(torch.zeros(3, 2, 5))


@pytest.mark.parametrize("encoder, minimum", [("rate", 0.85), ("latency", 0.85)])
def test_train_lif_on_digits(encoder, minimum):
    r = train_lif(load_digits(), hidden=(64,), epochs=6, encoder=encoder, progress=False)
    assert r.test_accuracy > minimum, r.history
    assert r.seconds < 30
