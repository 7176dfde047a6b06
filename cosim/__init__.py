"""Co-simulation harness: run cocotb testbenches on Icarus Verilog or Verilator from pytest.

* :mod:`.runner` -- Amaranth component or Verilog files in, a cocotb run out (cached
  builds, results XML parsed, failures raised with the cocotb message).
* :mod:`.drivers` -- reusable cocotb drivers and monitors (valid/ready streams, host bus,
  cycle counter), in the style of cocotbext-axi.
* :mod:`.compare` -- the first-mismatch finder used to compare a run with the golden and
  cycle models.
* :mod:`.core_cosim` (+ the cocotb bench :mod:`.core_tb`) -- co-simulate a neuron core
  against the golden and cycle models; ``benchmark_core_cosim`` measures cycles/s.
* :mod:`.system_cosim` (+ the cocotb bench :mod:`.system_tb`) -- co-simulate the whole system
  (:func:`~spikeforge.hdl.verilog.system_verilog`) against the golden network and the system
  cycle model, image after image.

This package is the harness *above* the RTL and the compiler: it builds designs with
:mod:`spikeforge.hdl.verilog` and compares them with :mod:`spikeforge.sim`. The benches and
:mod:`.drivers` import cocotb and run inside a simulator only; the other modules are plain
Python.
"""
