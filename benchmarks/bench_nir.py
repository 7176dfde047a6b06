"""NIR round trips with snnTorch, measured (issue 15, point 1; docs/nir.md).

    .venv/bin/python benchmarks/bench_nir.py            # 64-32-10, 8 epochs, 50 co-simulated images
    .venv/bin/python benchmarks/bench_nir.py --quick    # 64-16-10, 2 epochs, 8 images (< 2 minutes)

One table, five steps, all on scikit-learn's digits (embedded), LFSR rate-coded inputs of
``--ticks`` ticks (:func:`spikeforge.model.encoders.rate_encode`: the counts the hardware gets),
spike-count decision:

1. **snnTorch trains** ``64-H-10``: bias-free ``nn.Linear`` + ``snn.Synaptic`` with
   ``reset_mechanism="zero", reset_delay=False`` -- the contract's reset (to zero, in the
   tick of the spike); snnTorch's default (subtract, applied one step late) has no NIR form
   (NIR resets to ``v_reset``) and is not the contract's. Trained by
   :func:`spikeforge.model.lif.train_lif` itself (same loop, loss, optimiser, encoder seeds).
2. **snnTorch exports** with its own ``export_to_nir`` to a file, which spikeforge imports
   (:func:`~spikeforge.compiler.nirgraph.from_nir` at snnTorch's ``dt = 1e-4``). Both float
   models run the same test inputs; spikeforge runs ``T + L - 1`` ticks (input zero after
   ``T``) because the contract delays each layer by one tick and snnTorch does not, so the
   output spikes of the two are the same ticks shifted by ``L - 1``. Agreement of the predicted
   class and of every output neuron's spike count is reported against snnTorch in float32 (its
   own precision) and in float64 (spikeforge's): what remains at float64 is the threshold
   (snnTorch fires at ``v > thr``, the contract at ``v >= thr``).
3. **Quantized** to 8 bits (:func:`~spikeforge.compiler.quantize.quantize`), **compiled**
   (:func:`spikeforge.flow.compile_network`) and **co-simulated** on Verilator
   (:func:`spikeforge.flow.verify_artifact`): images bit-exact, 8-bit golden accuracy beside
   snnTorch's float accuracy.
4. **spikeforge exports** that network (:func:`~spikeforge.compiler.nirgraph.to_nir`,
   ``write_nir``); the file is read back by ``nir.read`` and by snnTorch's
   ``import_from_nir``; the snnTorch module runs the test set and is compared with
   spikeforge's float model. Also the compiled artifact, exported by ``spikeforge export``
   (integer weights as floats), run in snnTorch against the 8-bit golden model.
5. **The reverse**: a network trained by spikeforge (:func:`spikeforge.model.lif.train_lif`,
   ``reset="zero"``) exported and run in snnTorch, against spikeforge's float model; and, to
   show why a subtract reset is refused by default, the same with spikeforge's default
   ``reset="subtract"`` exported with ``subtract_reset_as_zero`` (snnTorch then resets to 0).

snnTorch and nirtorch are not dependencies of spikeforge: they are installed without their
dependencies into ``build/bench-env`` (:func:`snntorch_lif.ensure_snntorch`,
:func:`ensure_nirtorch`), next to the project's pinned torch.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import os
import subprocess
import sys
import time
import warnings
from importlib.metadata import version
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from snntorch_lif import BENCH_ENV, ensure_snntorch  # noqa: E402
from torch import nn  # noqa: E402

from spikeforge.commands.nir import register  # noqa: E402
from spikeforge.compiler.nirgraph import from_nir, read_nir, to_nir, write_nir  # noqa: E402
from spikeforge.compiler.quantize import (  # noqa: E402
    float_network_from_description,
    float_reference_forward,
    quantize,
)
from spikeforge.flow import compile_network, encode_inputs, verify_artifact  # noqa: E402
from spikeforge.model.datasets import load_dataset  # noqa: E402
from spikeforge.model.lif import train_lif  # noqa: E402
from spikeforge.sim.network import classify, run_network  # noqa: E402

NIRTORCH_VERSION = "2.6"
SNNTORCH_DT = 1e-4  # snnTorch's export_to_nir and import_from_nir fix dt at 1e-4 s
OUT = Path(__file__).resolve().parents[1] / "build" / "bench" / "nir"


def ensure_nirtorch():
    """Import nirtorch (which snnTorch's NIR export and import need) from ``build/bench-env``,
    installing it there first, pinned and without dependencies, as snnTorch is."""
    ensure_snntorch()
    if not (BENCH_ENV / "nirtorch").is_dir():
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                        "--target", str(BENCH_ENV), f"nirtorch=={NIRTORCH_VERSION}"], check=True)
    import nirtorch

    return nirtorch


class SnnTorchNet(nn.Module):
    """``nn.Sequential`` of bias-free ``nn.Linear`` + ``snn.Synaptic`` (hidden state inside,
    ``init_hidden=True``, as ``export_to_nir`` traces it), reset to zero in the spike's step.

    ``alpha``, ``beta`` and the threshold are given per neuron: snnTorch's exporter takes a
    NIR node's shape from them, and scalars make a shapeless CubaLIF that ``nir`` refuses
    (``type mismatch: 0.output: [[16]] -> 1.input: []``)."""

    def __init__(self, sizes, alpha=0.5, beta=0.8, threshold=1.0, seed=0, slope=25.0):
        super().__init__()
        snn = ensure_snntorch()
        from snntorch import surrogate

        torch.manual_seed(seed)
        layers = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(a, b, bias=False),
                       snn.Synaptic(alpha=torch.full((b,), alpha), beta=torch.full((b,), beta),
                                    threshold=torch.full((b,), threshold),
                                    spike_grad=surrogate.fast_sigmoid(slope=slope),
                                    reset_mechanism="zero", reset_delay=False, init_hidden=True)]
        self.seq = nn.Sequential(*layers)

    def forward(self, spikes_in):
        """``[ticks, batch, n_in]`` -> ``(output spikes [ticks, batch, n_out], None)``, the
        call convention :func:`spikeforge.model.lif.train_lif` trains."""
        reset_states(self.seq)
        return torch.stack([self.seq(x) for x in spikes_in]), None


def reset_states(module) -> None:
    """Zero the hidden state of every snnTorch neuron in ``module`` (a new inference)."""
    for m in module.modules():
        if hasattr(m, "reset_mem"):
            m.reset_mem()


def float64(module):
    """A float64 copy of a snnTorch module. Its spike functions return float32 (``(x > 0).float()``),
    so each ``nn.Linear`` casts its (0/1, exact) input back to float64."""
    module = copy.deepcopy(module).double()
    for m in module.modules():
        if isinstance(m, nn.Linear):
            m.register_forward_pre_hook(lambda _, inputs: tuple(x.double() for x in inputs))
    return module


def snntorch_counts(step, spikes_in, batch=500) -> np.ndarray:
    """Output spike counts ``[images, n_out]`` of a one-step snnTorch module ``step`` (its
    output, or the first item of a tuple, is the output spikes) over ``spikes_in [T, N, n]``."""
    counts = []
    with torch.no_grad():
        for s in range(0, spikes_in.shape[1], batch):
            reset_states(step)
            total = 0
            for x in spikes_in[:, s:s + batch]:
                out = step(x)
                total = total + (out[0] if isinstance(out, tuple) else out)
            counts.append(total.double().numpy())
    return np.concatenate(counts)


def spikeforge_counts(network, padded) -> tuple[np.ndarray, np.ndarray]:
    """spikeforge's float model (float64, the contract's timing): output spike counts and
    the spike-count decision over ``padded`` ``[images, T + L - 1, n]``."""
    trace = float_reference_forward(network, padded)
    return trace.spikes[-1].sum(1), trace.decision


def agreement(a_counts, b_counts) -> str:
    """Predicted classes (argmax, ties to the lowest index: both tools' rule) and output
    spike counts (image x neuron) equal."""
    same_class = int((a_counts.argmax(1) == b_counts.argmax(1)).sum())
    same_count = int((a_counts == b_counts).sum())
    return (f"class {same_class}/{len(a_counts)} ({same_class / len(a_counts):.2%}), "
            f"spike counts {same_count}/{a_counts.size} ({same_count / a_counts.size:.2%})")


def pad(counts, layers: int) -> np.ndarray:
    """``[N, T, n]`` event counts followed by ``layers - 1`` silent ticks."""
    return np.concatenate([counts, np.zeros((counts.shape[0], layers - 1, counts.shape[2]),
                                            counts.dtype)], axis=1)


def run_command(*argv) -> None:
    """``spikeforge import`` / ``export`` through their own handlers (the CLI's parser)."""
    parser = argparse.ArgumentParser(prog="spikeforge")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args([str(a) for a in argv])
    args.handler(args)


def snntorch_of_file(path):
    """``nir.read`` then snnTorch's ``import_from_nir``: a one-step module."""
    import nir
    from snntorch.import_nir import import_from_nir

    graph = nir.read(str(path))
    kinds = [type(graph.nodes[k]).__name__ for k in graph.nodes]
    with contextlib.redirect_stdout(io.StringIO()):  # its "replace rnn subgraph" chatter
        return import_from_nir(graph), kinds


class Inputs:
    """The test set's LFSR rate code (seed 0), as snnTorch takes it (``[T, N, n]`` float32) and
    as spikeforge's models take it (``[N, T + L - 1, n]`` event counts, silent at the end)."""

    def __init__(self, ds, ticks: int, layers: int):
        counts = encode_inputs(ds.test_x, ds.max_value, ticks, 0)  # [N, T, n] uint8
        self.snntorch = torch.from_numpy(counts.transpose(1, 0, 2).astype(np.float32))
        self.padded = pad(counts, layers)
        self.labels = np.asarray(ds.test_y)
        self.ticks, self.layers = ticks, layers


def step_snntorch_trains(ds, x, hidden, epochs, lr, rows):
    """1: snnTorch trains; its float32 and float64 output spike counts on the test set."""
    import snntorch

    net = SnnTorchNet([ds.n_features, hidden, ds.n_classes])
    train_lif(ds, (hidden,), epochs, "rate", x.ticks, lr=lr, net=net, progress=False,
              cosine=True)
    snn32 = snntorch_counts(net.seq, x.snntorch)
    snn64 = snntorch_counts(float64(net.seq), x.snntorch.double())
    rows.append(("1", f"snnTorch {snntorch.__version__} trains {ds.n_features}-{hidden}-10 "
                 f"Linear + Synaptic (reset zero, immediate), {epochs} epochs, {x.ticks} ticks: "
                 f"float32 test accuracy", f"{accuracy_of(snn32, x):.2%}"))
    return net, snn32, snn64


def step_spikeforge_imports(net, x, snn32, snn64, rows):
    """2: snnTorch's own export to a file; spikeforge's import; float agreement."""
    import nir
    from snntorch.export_nir import export_to_nir

    path = OUT / "snntorch.nir"
    n_in = net.seq[0].in_features
    nir.write(str(path), export_to_nir(net.seq, torch.zeros(1, n_in), ignore_dims=[0]))
    imported = from_nir(read_nir(path), dt=SNNTORCH_DT, decision="spike-count")
    counts, _ = spikeforge_counts(imported, x.padded)
    rows.append(("2", f"snnTorch export_to_nir -> {path.name} -> spikeforge from_nir(dt=1e-4), "
                 f"run {x.ticks}+{x.layers - 1} ticks: vs snnTorch float32",
                 agreement(counts, snn32)))
    rows.append(("2", "the same vs snnTorch run in float64", agreement(counts, snn64)))
    rows.append(("2", "spikeforge float accuracy (float64)", f"{accuracy_of(counts, x):.2%}"))
    return imported, counts


def step_compile(imported, x, snn32, images, rows):
    """3: 8-bit quantization, compile, Verilator co-simulation of ``images`` test images."""
    integer = quantize(imported, ticks=x.ticks + x.layers - 1).network
    golden = classify(integer, x.padded)
    artifact = OUT / "snntorch_artifact"
    compile_network(integer, artifact, x.padded[:images], x.labels[:images])
    report = verify_artifact(artifact, images=images, simulator="verilator", jobs=1)
    rows.append(("3", "quantized to 8 bits: golden accuracy (snnTorch float32 beside it); "
                 "golden class = snnTorch's",
                 f"{float((golden == x.labels).mean()):.2%} ({accuracy_of(snn32, x):.2%}); "
                 f"{int((golden == snn32.argmax(1)).sum())}/{len(golden)}"))
    rows.append(("3", f"compiled, co-simulated on Verilator (verify_artifact, {report.engine} "
                 f"engine), first {images} test images",
                 f"{report.bit_exact_images}/{report.images} bit-exact, RTL accuracy "
                 f"{report.rtl_accuracy:.2%} = golden {report.golden_accuracy:.2%}"
                 + ("" if report.ok else f"; MISMATCH {report.mismatch}")))
    return integer, artifact, report


def step_spikeforge_exports(imported, integer, artifact, x, sf_counts, snn32, rows):
    """4: spikeforge's export of the float network (read by nir and snnTorch), and of the
    compiled artifact (``spikeforge export``) against the 8-bit golden model."""
    path = OUT / "spikeforge.nir"
    write_nir(to_nir(imported, SNNTORCH_DT), path)
    module, kinds = snntorch_of_file(path)
    counts = snntorch_counts(module, x.snntorch)
    rows.append(("4", f"spikeforge to_nir -> {path.name} -> nir.read ({'/'.join(kinds)}) -> "
                 f"snnTorch import_from_nir: vs spikeforge float", agreement(counts, sf_counts)))
    rows.append(("4", "the same vs the original snnTorch network", agreement(counts, snn32)))
    path = OUT / "artifact.nir"
    with contextlib.redirect_stdout(io.StringIO()):
        run_command("export", artifact, path, "--dt", SNNTORCH_DT)
    module, _ = snntorch_of_file(path)
    golden = run_network(integer, x.padded).spikes[-1].sum(1)
    rows.append(("4", f"`spikeforge export ARTIFACT {path.name}` (8-bit weights as floats) -> "
                 f"snnTorch: vs the 8-bit golden model",
                 agreement(snntorch_counts(module, x.snntorch), golden)))


def step_reverse(ds, x, hidden, epochs, lr, rows):
    """5: networks trained by spikeforge, exported, run in snnTorch."""
    for reset in ("zero", "subtract"):
        trained = train_lif(ds, (hidden,), epochs, "rate", x.ticks, lr=lr, progress=False,
                            cosine=True, reset=reset)
        network = float_network_from_description(trained.net.description())
        path = OUT / f"spikeforge_trained_{reset}.nir"
        write_nir(to_nir(network, SNNTORCH_DT, subtract_reset_as_zero=reset == "subtract"), path)
        module, _ = snntorch_of_file(path)
        mine, _ = spikeforge_counts(network, x.padded)
        what = (f"spikeforge trains (spikeforge.model.lif, reset zero) -> {path.name} -> "
                f"snnTorch: vs spikeforge float" if reset == "zero" else
                "the same trained with reset subtract, exported with subtract_reset_as_zero "
                "(snnTorch resets to 0): vs spikeforge float")
        rows.append(("5", what, agreement(snntorch_counts(module, x.snntorch), mine)
                     + f"; spikeforge float accuracy {accuracy_of(mine, x):.2%}"))


def accuracy_of(counts, x) -> float:
    """Spike-count decision (argmax, ties to the lowest index) against the labels."""
    return float((counts.argmax(1) == x.labels).mean())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="64-16-10, 2 epochs, 8 images")
    ap.add_argument("--ticks", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--images", type=int, default=None, help="test images to co-simulate")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # nirtorch's extract_nir_graph
    hidden, epochs, images = (16, 2, 8) if args.quick else (32, 8, 50)
    images = args.images or images
    ensure_nirtorch()
    import snntorch

    start = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    ds = load_dataset("digits")
    x = Inputs(ds, args.ticks, layers=2)
    rows, seconds = [], {}

    def timed(name, fn, *a):
        t = time.perf_counter()
        result = fn(*a)
        seconds[name] = time.perf_counter() - t
        return result

    net, snn32, snn64 = timed("1", step_snntorch_trains, ds, x, hidden, epochs, args.lr, rows)
    imported, sf_counts = timed("2", step_spikeforge_imports, net, x, snn32, snn64, rows)
    integer, artifact, report = timed("3", step_compile, imported, x, snn32, images, rows)
    timed("4", step_spikeforge_exports, imported, integer, artifact, x, sf_counts, snn32, rows)
    timed("5", step_reverse, ds, x, hidden, epochs, args.lr, rows)
    print(f"NIR round trips on digits ({len(x.labels)} test images, LFSR rate code, "
          f"{args.ticks} ticks, dt {SNNTORCH_DT:g} s), snnTorch {snntorch.__version__}, "
          f"nir {version('nir')}, nirtorch {NIRTORCH_VERSION}; "
          f"{time.perf_counter() - start:.0f} s in all")
    print()
    print("| step | check | result | s |")
    print("|---|---|---|---|")
    shown = set()
    for step, what, result in rows:
        cost = "" if step in shown else f"{seconds[step]:.0f}"
        shown.add(step)
        print(f"| {step} | {what} | {result} | {cost} |")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
