"""The benchmark's LIF network trained with snnTorch, for a side-by-side row in bench_model.py.

snnTorch is not a dependency of spikeforge. :func:`ensure_snntorch` installs it, without its
(undeclared) dependencies, into ``build/bench-env`` -- a folder of the benchmark's own that is
put on ``sys.path`` -- so the project's pinned torch in ``.venv`` is never touched.

The network is the one :class:`spikeforge.model.lif.LIFNet` trains: ``n_in-hidden-10``,
bias-free ``nn.Linear`` layers, each followed by ``snn.Synaptic`` (current-based LIF with the
same ``alpha``, ``beta``, threshold 1, reset by subtraction, fast-sigmoid surrogate of the
same slope), the same LFSR rate-coded inputs, the same spike-count cross-entropy, optimiser, learning
rate, batch size and epochs -- it is trained by :func:`spikeforge.model.lif.train_lif` itself.
Two differences are snnTorch's own semantics and are kept: a
spike resets the membrane one step later (snnTorch subtracts the threshold from the *next*
step's membrane), and there is no tick of delay between layers.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch
from torch import nn

SNNTORCH_VERSION = "1.0.0"
BENCH_ENV = Path(__file__).resolve().parents[1] / "build" / "bench-env"


def ensure_snntorch():
    """Import snnTorch from ``build/bench-env``, installing it there first if needed."""
    if not (BENCH_ENV / "snntorch").is_dir():
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                        "--target", str(BENCH_ENV), f"snntorch=={SNNTORCH_VERSION}"], check=True)
    if str(BENCH_ENV) not in sys.path:
        sys.path.insert(0, str(BENCH_ENV))
    import snntorch

    return snntorch


class SnnTorchLIFNet(nn.Module):
    """``sizes = [n_in, hidden..., n_classes]`` of ``nn.Linear`` + ``snn.Synaptic``."""

    def __init__(self, sizes, alpha: float = 0.5, beta: float = 0.8, threshold: float = 1.0,
                 seed: int = 0, slope: float = 25.0):
        super().__init__()
        snn = ensure_snntorch()
        from snntorch import surrogate

        self.reset = "subtract"  # the contract's subtract reset (snnTorch applies it a step later)
        torch.manual_seed(seed)
        self.fcs = nn.ModuleList(nn.Linear(a, b, bias=False) for a, b in zip(sizes[:-1], sizes[1:]))
        self.lifs = nn.ModuleList(
            snn.Synaptic(alpha=alpha, beta=beta, threshold=threshold, reset_mechanism=self.reset,
                         spike_grad=surrogate.fast_sigmoid(slope=slope)) for _ in self.fcs)
        self.alpha, self.beta, self.threshold = alpha, beta, threshold

    def forward(self, spikes_in: torch.Tensor):
        """``[ticks, batch, n_in]`` input spikes -> ``(output spikes [ticks, batch, n_classes],
        None)``, the call convention of :class:`spikeforge.model.lif.LIFNet`, so that
        :func:`spikeforge.model.lif.train_lif` trains it with its own loop."""
        states = [lif.init_synaptic() for lif in self.lifs]
        out = []
        for x in spikes_in:
            for k, (fc, lif) in enumerate(zip(self.fcs, self.lifs)):
                x, syn, mem = lif(fc(x), *states[k])
                states[k] = (syn, mem)
            out.append(x)
        return torch.stack(out), None


def train_snntorch(dataset, hidden: int, epochs: int, ticks: int, lr: float, batch_size: int = 64,
                   loss_scale: float = 0.3, max_train: int | None = None, seed: int = 0,
                   cosine: bool = False, slope: float = 25.0):
    """Train with :func:`spikeforge.model.lif.train_lif` itself (same loop, encoder seeds,
    loss, optimiser, schedule and timing). Returns its ``TrainResult``."""
    from spikeforge.model.lif import train_lif

    net = SnnTorchLIFNet([dataset.n_features, hidden, dataset.n_classes], seed=seed, slope=slope)
    return train_lif(dataset, (hidden,), epochs, "rate", ticks, batch_size=batch_size, lr=lr,
                     seed=seed, progress=False, max_train=max_train, net=net,
                     loss_scale=loss_scale, cosine=cosine)


def description(net: SnnTorchLIFNet) -> dict:
    """The float network description :func:`spikeforge.compiler.quantize.quantize` takes."""
    from spikeforge.model.lif import spike_count_description

    return spike_count_description((fc, net) for fc in net.fcs)
