"""The float and integer networks of the data model."""

import torch

from spikeforge.ir.network import FloatLayer


def test_float_layer_accepts_torch_scalars():
    layer = FloatLayer(torch.ones(2, 3), alpha=torch.tensor(0.5), adaptive=torch.tensor(False))
    assert layer.alpha == 0.5 and layer.adaptive is False and layer.weight.shape == (2, 3)
