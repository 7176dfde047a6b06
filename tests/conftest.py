"""Suite-wide hooks.

A test (or its fixture) that reaches a simulator which cannot run here meets
:class:`~spikeforge.cosim.runner.SimulatorMissing` from the library; it is skipped with the
reason, except on CI, where it fails (:func:`tests.util.skip_missing_simulator`). The library
itself never raises pytest's exceptions.
"""

import pytest

from spikeforge.cosim.runner import SimulatorMissing
from tests.util import skip_missing_simulator


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    try:
        return (yield)
    except SimulatorMissing as error:
        skip_missing_simulator(error)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    try:
        return (yield)
    except SimulatorMissing as error:
        skip_missing_simulator(error)
