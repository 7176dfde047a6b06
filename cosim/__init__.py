"""Co-simulation harness: run cocotb testbenches on Icarus Verilog or Verilator from pytest.

* :mod:`.runner` -- Amaranth component or Verilog files in, a cocotb run out (cached
  builds, results XML parsed, failures raised with the cocotb message).
* :mod:`.drivers` -- reusable cocotb drivers and monitors (valid/ready streams, host bus,
  cycle counter), in the style of cocotbext-axi.
* :mod:`.compare` -- the first-mismatch finder used to compare a run with the golden and
  cycle models.
* :mod:`.core_cosim` (+ the cocotb bench :mod:`.core_tb`) -- co-simulate a neuron core
  against the golden and cycle models; :func:`benchmark_core_cosim` measures cycles/s.

:mod:`.drivers` imports cocotb and is meant to be imported inside a simulation only; the
other modules are plain Python.
"""

from spikeforge.cosim.compare import Mismatch, first_mismatch
from spikeforge.cosim.core_cosim import benchmark_core_cosim, make_spec, run_core_cosim
from spikeforge.cosim.runner import (
                                     SIMULATORS,
                                     CocotbResult,
                                     CosimFailure,
                                     require_simulator,
                                     run_cocotb,
                                     simulator_missing,
)
