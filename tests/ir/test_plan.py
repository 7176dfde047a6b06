"""The hardware plan's check (:func:`check_plan`): which plans a system can be built from,
every refusal naming the bad part."""

import dataclasses

import pytest

from spikeforge.ir.core import CoreConfig
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.plan import INPUT_PORT, CorePlan, HardwarePlan, Route, check_plan


def _core(core_id, layer, index, offset, n_neurons, n_inputs):
    return CorePlan(core_id, layer, index, offset, CoreConfig(n_neurons, n_inputs))


# 4 inputs -> layer 0 on two cores (3 + 2 neurons) -> layer 1 on one core (3 neurons)
CORES = (_core(0, 0, 0, 0, 3, 4), _core(1, 0, 1, 3, 2, 4), _core(2, 1, 0, 0, 3, 5))
ROUTES = (Route(INPUT_PORT, 0, 0, 4, 0, (0, 1)), Route(0, 0, 0, 3, 1, (0,)),
          Route(0, 1, 3, 2, 1, (0,)), Route(1, 0, 0, 3, None, ()))


def test_a_canonical_plan_passes_with_its_layers_and_routes():
    layers, routes = check_plan(HardwarePlan(4, CORES, ROUTES))
    assert [[c.core_id for c in cores] for cores in layers] == [[0, 1], [2]]
    assert routes == {(INPUT_PORT, 0): ROUTES[0], (0, 0): ROUTES[1], (0, 1): ROUTES[2],
                      (1, 0): ROUTES[3]}
    assert ROUTES[2].global_index(1) == 4 and ROUTES[3].to_decision_unit
    with pytest.raises(ConfigError, match="local_neuron: 2 outside 0..1"):
        ROUTES[2].global_index(2)


def _route(k, **changes):
    return dataclasses.replace(ROUTES[k], **changes)


@pytest.mark.parametrize("cores, routes, message", [
    (CORES[:2] + (dataclasses.replace(CORES[2], layer=2),), ROUTES,
     "plan.cores: layer 1 has no core"),
    ((CORES[0], dataclasses.replace(CORES[1], index=2), CORES[2]), ROUTES,
     "plan.cores: layer 0 core indices are not 0..1"),
    (CORES, ROUTES + (ROUTES[1],), "plan.routes: two routes from source (0, 0)"),
    (CORES, (_route(0, destination_layer=1, destination_cores=(0,)),) + ROUTES[1:],
     "plan.routes: the input port must feed layer 0 only"),
    (CORES, ROUTES[:1] + (_route(1, destination_layer=None, destination_cores=()),) + ROUTES[2:],
     "plan.routes: only the output layer may feed the decision unit (route from layer 0)"),
    (CORES, ROUTES[:1] + (_route(1, destination_layer=0),) + ROUTES[2:],
     "plan.routes: route from layer 0 to layer 0; only layer l -> l + 1 is supported"),
    (CORES, (_route(0, destination_cores=(0, 2)),) + ROUTES[1:],
     "plan.routes: destination core out of range"),
    (CORES, ROUTES[1:], "plan.routes: no route from the input port"),
    (CORES, ROUTES[:2] + ROUTES[3:], "plan.routes: no route from layer 0 core 1"),
], ids=["empty-layer", "core-index", "duplicate-route", "input-to-layer-1",
        "hidden-to-decision", "layer-to-itself", "destination-core", "no-input-route",
        "no-core-route"])
def test_bad_plans_are_named(cores, routes, message):
    with pytest.raises(ConfigError) as error:
        check_plan(HardwarePlan(4, cores, routes))
    assert str(error.value).startswith(message), str(error.value)


def test_only_a_hardware_plan_is_checked():
    with pytest.raises(ConfigError, match="^plan: must be a HardwarePlan, got dict$"):
        check_plan({"cores": CORES, "routes": ROUTES})
