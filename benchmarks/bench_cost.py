"""Memory and compute cost (sim/cost.py) for a network, cross-checked against the
``neurobench`` package's own metrics on the same float network.

    .venv/bin/python benchmarks/bench_cost.py           # the demo's digits LIF network, 450 images
    .venv/bin/python benchmarks/bench_cost.py --quick   # 50 images

neurobench (2.3.0) is not a dependency of spikeforge: it requires numba, tonic and torchaudio,
which would pull a second torch. It is installed here without its dependencies into
``build/bench-env`` (beside snnTorch, which it wraps), and only the metrics that need neither
are used: Footprint, ConnectionSparsity, ActivationSparsity, SynapticOperations.

The network: the integer network of ``spikeforge.flow.train_digits_network`` (the demo's,
LIF 64-32-10, 16 rate-coded ticks), as the float network it is
(:func:`spikeforge.compiler.nirgraph.float_network_of_integer`), run (a) by spikeforge's float
reference (:func:`spikeforge.compiler.quantize.float_reference_forward`) and sim/cost.py, and
(b) as an snnTorch model (``nn.Linear`` + ``snn.Synaptic``, subtract reset right after the
spike) under neurobench. Where the figures differ, the table says why.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import torch
from torch import nn

from spikeforge.compiler.nirgraph import float_network_of_integer
from spikeforge.compiler.quantize import float_reference_forward
from spikeforge.flow import encode_inputs, train_digits_network
from spikeforge.model.datasets import load_dataset
from spikeforge.sim.cost import network_cost
from spikeforge.sim.network import run_network

sys.path.insert(0, str(Path(__file__).resolve().parent))
from snntorch_lif import BENCH_ENV, ensure_snntorch  # noqa: E402

NEUROBENCH_VERSION = "2.3.0"


def ensure_neurobench():
    ensure_snntorch()
    if not (BENCH_ENV / "neurobench").is_dir():
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                        "--target", str(BENCH_ENV), f"neurobench=={NEUROBENCH_VERSION}"],
                       check=True)
    from neurobench.metrics.static import ConnectionSparsity, Footprint
    from neurobench.metrics.workload import ActivationSparsity, SynapticOperations

    return Footprint, ConnectionSparsity, ActivationSparsity, SynapticOperations


class SnnTorchNet(nn.Module):
    """The float network as snnTorch layers; ``forward`` takes one time step (neurobench's
    SNNTorchModel calls it once per step and expects ``(spikes, state)``)."""

    def __init__(self, floats):
        super().__init__()
        import snntorch as snn

        self.fcs, self.lifs = nn.ModuleList(), nn.ModuleList()
        for layer in floats.layers:
            fc = nn.Linear(layer.weight.shape[1], layer.weight.shape[0], bias=False)
            fc.weight.data = torch.tensor(layer.weight, dtype=torch.float32)
            self.fcs.append(fc)
            self.lifs.append(snn.Synaptic(alpha=layer.alpha, beta=layer.beta,
                                          threshold=layer.threshold, reset_mechanism="subtract",
                                          reset_delay=False, init_hidden=True))

    def forward(self, x):
        for fc, lif in zip(self.fcs, self.lifs):
            x = lif(fc(x))
        return x, None


def neurobench_figures(floats, counts):
    Footprint, ConnectionSparsity, ActivationSparsity, SynapticOperations = ensure_neurobench()
    from neurobench.models import SNNTorchModel

    model = SNNTorchModel(SnnTorchNet(floats))
    data = torch.tensor(counts, dtype=torch.float32)  # [batch, ticks, features]
    batch = (data, torch.zeros(len(data), dtype=torch.long))
    model.register_hooks()
    preds = model(data)
    synops = SynapticOperations()
    out = {"footprint_bytes": Footprint()(model),
           "connection_sparsity": ConnectionSparsity()(model),
           "activation_sparsity": ActivationSparsity()(model, preds, batch),
           "synops": synops(model, preds, batch)}
    model.reset_hooks()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    trained = train_digits_network()
    network = trained.network
    ds = load_dataset("digits")
    n = 50 if args.quick else len(ds.test_y)
    counts = encode_inputs(ds.test_x[:n], ds.max_value, trained.ticks, trained.encoder_seed)
    floats = float_network_of_integer(network)
    ours_float = network_cost(network, float_reference_forward(floats, counts), False).to_dict()
    ours_int = network_cost(network, run_network(network, counts), False).to_dict()
    nb = neurobench_figures(floats, counts)
    nbo, nbi = ours_float["neurobench"], ours_int["neurobench"]
    rows = [
        ("footprint (bytes)", f"{nb['footprint_bytes']}", f"{nbo['footprint_bytes']}",
         "neurobench: 4-byte floats for every parameter and buffer -- the weights, alpha, beta, "
         "threshold and snnTorch's syn/mem state of the whole batch it last ran; spikeforge: "
         "the integer widths the hardware stores (8-bit weights, one state per neuron)"),
        ("connection sparsity", f"{nb['connection_sparsity']:.4f}", f"{nbo['connection_sparsity']:.4f}",
         "same definition (zero weights / weights)"),
        ("activation sparsity", f"{nb['activation_sparsity']:.4f}",
         f"{nbo['activation_sparsity']:.4f} (8-bit: {nbi['activation_sparsity']:.4f})",
         "same definition; snnTorch has no tick of delay between layers and fires at v > "
         "threshold (the contract: v >= threshold), so the spikes differ slightly"),
        ("dense synaptic operations", f"{nb['synops']['Dense']:.0f}", f"{nbo['dense_synops']:.0f}",
         "same definition: every synapse in every tick (n_in x n_out x ticks)"),
        ("effective ACs", f"{nb['synops']['Effective_ACs']:.0f}", f"{nbo['effective_synops']:.0f} "
         f"(8-bit: {nbi['effective_synops']:.0f})",
         "same definition (non-zero input and non-zero weight); spikes differ as above"),
        ("accumulations the hardware does", "-", f"{ours_int['accumulations']:.0f}",
         "spikeforge's compute cost: each event reads its whole weight row, zeros included"),
    ]
    print(f"digits {'-'.join(map(str, trained.sizes))} LIF, {trained.ticks} ticks, {n} test images; "
          f"neurobench {NEUROBENCH_VERSION} on the float network under snnTorch, spikeforge "
          f"sim/cost.py on the float reference and on the 8-bit golden model\n")
    print("| figure | neurobench | spikeforge | note |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\nmemory cost (spikeforge, 8-bit): {ours_int['memory_bits']} bits = weights "
          f"{ours_int['weight_bits']} + state {ours_int['state_bits']} + spike memory "
          f"{ours_int['spike_bits']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
