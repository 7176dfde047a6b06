"""spikeforge.compiler: trained float network -> integer network -> hardware plan -> artifact.

* :mod:`~spikeforge.compiler.quantize` -- float network description -> :class:`IntegerNetwork`
  (per-layer scale, round-half-even, state widths), float reference forward pass, accuracy;
* :mod:`~spikeforge.compiler.inputs` -- silent inputs (all-zero first-layer rows) dropped:
  the compacted network and the sensor-to-network :class:`InputMap` the host applies;
* :mod:`~spikeforge.compiler.map` -- :class:`HardwarePlan`: layers split over cores, routing;
* :mod:`~spikeforge.compiler.artifact` -- the versioned compiled artifact (manifest + memory
  images), :func:`save_artifact` / :func:`load_artifact` with validation of every field.

The integer network itself and its golden model live in :mod:`spikeforge.sim.network`.
"""
