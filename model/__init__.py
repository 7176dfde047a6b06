"""spikeforge.model: datasets, spike encoders, and PyTorch spiking layers and training.

* :mod:`.datasets` -- ``load_dataset("digits" | "mnist" | "fashion-mnist")``, IDX reader.
* :mod:`.encoders` -- rate (hardware-reproducible LFSR), latency, rank-order, delta and
  population codes, ``[ticks, batch, features]``.
* :mod:`.ttfs` -- time-to-first-spike layer with exact gradients (Mostafa 2017),
  ``TTFSNet``, ``train_ttfs`` (``python -m spikeforge.model.ttfs``).
* :mod:`.lif` -- current-based LIF with surrogate gradients, ``LIFNet``, ``train_lif``
  (``python -m spikeforge.model.lif``).
* :mod:`.quant` -- ``QuantLIFNet``: the forward pass on the arithmetic contract
  (``sim.golden.update_phase`` on int64 tensors), ``quantize``, ``train_quant``.

Submodules are imported on demand (``from spikeforge.model.lif import LIFNet``) so that
``import spikeforge.model`` stays cheap.
"""
