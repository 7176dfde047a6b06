"""Cycle models of the system's blocks, one per RTL block of :mod:`spikeforge.hdl`."""
