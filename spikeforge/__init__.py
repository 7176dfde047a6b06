"""spikeforge: spiking neural networks from PyTorch to bit-exact, co-simulated FPGA hardware."""

__version__ = "0.1.0"
