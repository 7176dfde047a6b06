"""The data model: what a network and the hardware that runs it *are*.

Small typed, validated dataclasses, each serialized once (``to_dict`` / ``from_dict``):
errors (:mod:`.errors`), neuron parameters and the reset/decision enums (:mod:`.params`),
one core (:mod:`.core`), the integer and float networks (:mod:`.network`), the hardware plan
and its checks (:mod:`.plan`), the system settings (:mod:`.system`) and the ``$readmemh``
memory image (:mod:`.memory_image`).

This package is the bottom layer: it imports nothing of spikeforge above it (only numpy).
What the types *mean* -- the integer arithmetic of a tick -- is :mod:`spikeforge.sim.contract`;
how they are simulated is :mod:`spikeforge.sim`; how they become hardware is
:mod:`spikeforge.hdl` and :mod:`spikeforge.compiler`.
"""
