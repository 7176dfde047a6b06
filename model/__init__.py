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
* :mod:`.ttfs_discrete` -- a continuous-time ``TTFSNet`` on ``K`` ticks per tau of the
  contract (``float_description``, ``integer_network``, ``evaluate``;
  ``python -m spikeforge.model.ttfs_discrete``).
* :mod:`.popcount_rule` -- the integer, sign-and-popcount on-chip learning rule of the FPGA
  prototype (``PopcountLearner``, ``train_popcount``; ``python -m spikeforge.model.popcount_rule``).
* :mod:`.events` -- event-camera input: ``EventStream``, the N-MNIST reader,
  ``SaccadeSimulator``, ``bin_events`` (docs/events.md).
* :mod:`.convert` -- ANN -> SNN conversion: ``train_ann``, ``convert_and_quantize``.
* :mod:`.stdp` -- unsupervised STDP (Diehl & Cook 2015) and ASP, ``train``, ``to_integer_network``.
* :mod:`.modelfile` -- model files (what ``spikeforge train`` writes): ``train_ttfs_model``,
  ``train_lif_model``, ``save_model``, ``load_model``, ``integer_network_of``,
  ``encode_test_images``.

Submodules are imported on demand (``from spikeforge.model.lif import LIFNet``) so that
``import spikeforge.model`` stays cheap.
"""
