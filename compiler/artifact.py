"""The compiled artifact: one versioned, self-describing directory holding the integer
network and its hardware plan, from which simulation, co-simulation and board builds start.

Layout (``format`` ``"spikeforge-artifact"``, ``format_version`` 2)::

    artifact/
      manifest.json            everything but the weights (see below)
      core<k>_weights.npy      weights of core k, int8 (weight_bits <= 8) or int16, shape
                               [n_inputs, n_neurons] (= [j, n])
      core<k>_weights.hex      the same words for $readmemh: one weight per line, address
                               j * N + n (N = the core's n_neurons), two's complement in
                               weight_bits, ceil(weight_bits / 4) hex digits

``manifest.json``::

    {"format": "spikeforge-artifact", "format_version": 2, "generator": "spikeforge 0.1.0",
     "system": {"decision": "first-spike", "fifo_depth": 0, "guard": 2, "tick_bits": 16,
                "cycle_bits": 32},
     "network": {"n_inputs": 784,
                 "layers": [{"n_inputs": 784, "n_neurons": 100, "max_events_per_tick": 784,
                             "accumulator_bits": 26, "params": {<every NeuronParams field>}}]},
     "plan": {"cores": [{"core_id": 0, "layer": 0, "index": 0, "neuron_offset": 0,
                         "n_neurons": 50, "n_inputs": 784, "accumulator_bits": 26,
                         "memory_bits": ..., "weights": {"shape": [784, 50], "dtype": "int8",
                         "order": "j*N+n", "npy": {"file": ..., "sha256": ...},
                         "hex": {"file": ..., "sha256": ...}}}, ...],
              "routes": [{"source_layer": -1, "source_core": 0, "source_offset": 0,
                          "source_size": 784, "destination_layer": 0,
                          "destination_cores": [0, 1]}, ...]}}

An artifact of a network whose silent inputs were dropped (:mod:`spikeforge.compiler.inputs`)
also holds ``"inputs": {"n_sensor": 784, "kept": [...]}``: network input ``k`` is sensor input
``kept[k]``, and the host drops events of the others; without it the network's inputs are the
sensor's.

``system`` is :meth:`SystemConfig.to_dict <spikeforge.ir.system.SystemConfig.to_dict>` and
``params`` :meth:`NeuronParams.to_dict <spikeforge.ir.params.NeuronParams.to_dict>`; with the
plan they fully determine the RTL (:func:`spikeforge.hdl.verilog.system_verilog`). Version 1
(no ``system``; the decision under ``network``) is refused with a request to compile again.

A layer's weights are the concatenation of its cores' weights (cores in ``index`` order), so
they are stored once. :func:`load_artifact` checks every field, every file (present, sha256,
dtype, shape, weight range, .npy and .hex agree) and the consistency between them, and
raises :class:`~spikeforge.ir.errors.ConfigError` naming the field on any problem.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spikeforge import __version__
from spikeforge.compiler.inputs import InputMap
from spikeforge.compiler.map import canonical_routes, network_from_plan
from spikeforge.ir.core import CoreConfig
from spikeforge.ir.errors import ConfigError
from spikeforge.ir.memory_image import ORDER, hex_to_weights, weights_to_hex
from spikeforge.ir.network import IntegerLayer, IntegerNetwork
from spikeforge.ir.params import NeuronParams, accumulator_bits, check_weights
from spikeforge.ir.plan import INPUT_PORT, CorePlan, HardwarePlan, Route, core_memory_bits
from spikeforge.ir.system import SystemConfig

FORMAT = "spikeforge-artifact"
FORMAT_VERSION = 2
MANIFEST = "manifest.json"



@dataclass(frozen=True, eq=False)
class Artifact:
    """What an artifact holds: the integer network, its plan and the system settings, and
    ``inputs``, the map from the sensor's inputs to the network's (None: the same)."""

    network: IntegerNetwork
    plan: HardwarePlan
    system: SystemConfig
    inputs: InputMap | None = None

    def sensor_input(self, sensor_counts):
        """``[..., n_sensor]`` event counts of the sensor -> the network's input."""
        return sensor_counts if self.inputs is None else self.inputs.apply(sensor_counts)


# -- writing -------------------------------------------------------------------------------

def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def weight_dtype(weight_bits: int):
    return np.int8 if weight_bits <= 8 else np.int16


def manifest_of(network: IntegerNetwork, plan: HardwarePlan, system: SystemConfig,
                files: dict, inputs: InputMap | None = None) -> dict:
    """The manifest dict; ``files[core_id] = {"npy": {...}, "hex": {...}}``."""
    layers = [{"n_inputs": layer.n_inputs, "n_neurons": layer.n_neurons,
               "max_events_per_tick": layer.max_events_per_tick,
               "accumulator_bits": layer.accumulator_bits,
               "params": layer.params.to_dict()} for layer in network.layers]
    cores = []
    for core in plan.cores:
        bits = core.config.params.weight_bits
        cores.append({
            "core_id": core.core_id, "layer": core.layer, "index": core.index,
            "neuron_offset": core.neuron_offset, "n_neurons": core.n_neurons,
            "n_inputs": core.n_inputs, "accumulator_bits": core.config.accumulator_bits,
            "memory_bits": core.memory_bits, "lanes": core.config.lanes,
            "weights": {"shape": [core.n_inputs, core.n_neurons],
                        "dtype": np.dtype(weight_dtype(bits)).name, "order": ORDER,
                        **files[core.core_id]}})
    routes = [r.to_dict() for r in plan.routes]
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION,
                "generator": f"spikeforge {__version__}",
                "system": system.to_dict(),
                "network": {"n_inputs": network.n_inputs, "layers": layers},
                "plan": {"cores": cores, "routes": routes}}
    if inputs is not None and not inputs.identity:
        manifest["inputs"] = inputs.to_dict()
    return manifest


def save_artifact(network: IntegerNetwork, plan: HardwarePlan, path,
                  system: SystemConfig | None = None, inputs: InputMap | None = None) -> Path:
    """Write ``network``, ``plan`` (which must implement ``network``), ``system`` (default:
    ``SystemConfig(network.decision)``; its decision must be the network's) and ``inputs``
    (the sensor map of a compacted network, or None) to the directory ``path`` (created if
    needed; files of the same names are overwritten). Returns the manifest's path. The
    manifest is written last, so a half-written artifact has none."""
    if not isinstance(network, IntegerNetwork):
        raise ConfigError(f"network: must be an IntegerNetwork, got {type(network).__name__}")
    if not isinstance(plan, HardwarePlan):
        raise ConfigError(f"plan: must be a HardwarePlan, got {type(plan).__name__}")
    system = SystemConfig(network.decision) if system is None else system
    if not isinstance(system, SystemConfig):
        raise ConfigError(f"system: must be a SystemConfig, got {type(system).__name__}")
    if system.decision is not network.decision:
        raise ConfigError(f"system.decision: {system.decision.value} but the network decides by "
                          f"{network.decision.value}")
    if inputs is not None and (not isinstance(inputs, InputMap)
                               or inputs.n_inputs != network.n_inputs):
        raise ConfigError(f"inputs: must be an InputMap onto the network's {network.n_inputs} "
                          f"inputs")
    try:
        implemented = network_from_plan(plan, network.decision)
    except ConfigError as error:
        raise ConfigError(f"plan: {error}") from None
    if implemented != network:
        raise ConfigError("plan: its cores do not implement this network (weights, parameters "
                          "or shapes differ); plan it again with plan_network(network)")
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    files = {}
    for core in plan.cores:
        bits = core.config.params.weight_bits
        npy_name = f"core{core.core_id}_weights.npy"
        hex_name = f"core{core.core_id}_weights.hex"
        np.save(directory / npy_name, core.config.weights.astype(weight_dtype(bits)),
                allow_pickle=False)
        (directory / hex_name).write_text(weights_to_hex(core.config.weights, bits))
        files[core.core_id] = {"npy": {"file": npy_name, "sha256": sha256_of(directory / npy_name)},
                               "hex": {"file": hex_name, "sha256": sha256_of(directory / hex_name)}}
    manifest = directory / MANIFEST
    manifest.write_text(json.dumps(manifest_of(network, plan, system, files, inputs), indent=2)
                        + "\n")
    return manifest


# -- reading and validation ----------------------------------------------------------------

def _fail(path: str, message: str):
    raise ConfigError(f"{MANIFEST}: {path}: {message}")


class _Object:
    """A JSON object being read; every access names its field path in errors."""

    def __init__(self, value, path: str):
        if not isinstance(value, dict):
            _fail(path, f"must be an object, got {_json_type(value)}")
        self.value, self.path, self.read = value, path, set()

    def field(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, kind: str, optional: bool = False):
        """``kind``: 'int', 'bool', 'str', 'list', 'object', 'int?' (int or null)."""
        self.read.add(key)
        name = self.field(key)
        if key not in self.value:
            if optional:
                return None
            _fail(name, "missing")
        value = self.value[key]
        ok = {"int": lambda v: type(v) is int, "int?": lambda v: v is None or type(v) is int,
              "bool": lambda v: type(v) is bool, "str": lambda v: type(v) is str,
              "list": lambda v: type(v) is list, "object": lambda v: type(v) is dict}[kind](value)
        if not ok:
            expected = {"int": "an integer", "int?": "an integer or null", "bool": "true or false",
                        "str": "a string", "list": "a list", "object": "an object"}[kind]
            _fail(name, f"must be {expected}, got {_json_type(value)} {json.dumps(value)[:40]}")
        return _Object(value, name) if kind == "object" else value

    def get_int(self, key: str, lo: int | None = None, hi: int | None = None) -> int:
        value = self.get(key, "int")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            _fail(self.field(key), f"must be in {lo}..{'' if hi is None else hi}, got {value}")
        return value

    def done(self) -> None:
        unknown = sorted(set(self.value) - self.read)
        if unknown:
            _fail(self.field(unknown[0]), "unknown field (a typo, or a newer format?)")


def _json_type(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def _read_params(obj: _Object) -> NeuronParams:
    obj.read.update(obj.value)
    try:
        return NeuronParams.from_dict(obj.value)
    except ConfigError as error:  # "threshold: must be ..." -> "<path>.threshold: must be ..."
        raise ConfigError(f"{MANIFEST}: {obj.path}.{error}") from None


def _read_system(obj: _Object) -> SystemConfig:
    obj.read.update(obj.value)
    try:
        return SystemConfig.from_dict(obj.value)
    except ConfigError as error:
        raise ConfigError(f"{MANIFEST}: {obj.path}.{error}") from None


def _safe_file(directory: Path, image: _Object, what: str) -> tuple[Path, str]:
    name = image.get("file", "str")
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        _fail(image.field("file"), f"must be a plain file name inside the artifact, got {name!r}")
    digest = image.get("sha256", "str")
    image.done()
    path = directory / name
    if not path.is_file():
        _fail(image.field("file"), f"{what} file {name!r} is missing from {directory}")
    actual = sha256_of(path)
    if actual != digest.lower():
        _fail(image.field("sha256"), f"{name} has sha256 {actual}, the manifest says {digest} "
                                      f"(file changed or corrupted)")
    return path, name


def _read_weights(directory: Path, weights: _Object, n_inputs: int, n_neurons: int,
                  params: NeuronParams) -> np.ndarray:
    shape = weights.get("shape", "list")
    if shape != [n_inputs, n_neurons]:
        _fail(weights.field("shape"), f"must be [n_inputs, n_neurons] = [{n_inputs}, {n_neurons}], "
                                      f"got {shape}")
    dtype = weights.get("dtype", "str")
    expected_dtype = np.dtype(weight_dtype(params.weight_bits)).name
    if dtype != expected_dtype:
        _fail(weights.field("dtype"), f"must be {expected_dtype!r} for weight_bits = "
                                      f"{params.weight_bits}, got {dtype!r}")
    order = weights.get("order", "str")
    if order != ORDER:
        _fail(weights.field("order"), f"must be {ORDER!r}, got {order!r}")
    npy_image = weights.get("npy", "object", optional=True)
    hex_image = weights.get("hex", "object", optional=True)
    weights.done()
    if npy_image is None and hex_image is None:
        _fail(weights.path, "needs an 'npy' or a 'hex' image")
    result = None
    if npy_image is not None:
        path, name = _safe_file(directory, npy_image, "weight image")
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            _fail(npy_image.field("file"), f"{name} is not a readable .npy array: {error}")
        if array.dtype != np.dtype(expected_dtype):
            _fail(npy_image.field("file"), f"{name} holds dtype {array.dtype}, the manifest says "
                                           f"{expected_dtype}")
        if list(array.shape) != [n_inputs, n_neurons]:
            _fail(npy_image.field("file"), f"{name} has shape {list(array.shape)}, expected "
                                           f"[{n_inputs}, {n_neurons}]")
        try:
            check_weights(array, params, name=f"{MANIFEST}: {npy_image.field('file')}: {name}")
        except ConfigError as error:
            raise ConfigError(str(error)) from None
        result = array.astype(np.int64)
    if hex_image is not None:
        path, name = _safe_file(directory, hex_image, "weight image")
        words = hex_to_weights(path.read_text(errors="replace"), (n_inputs, n_neurons),
                               params.weight_bits, f"{MANIFEST}: {hex_image.field('file')}: {name}")
        if result is not None and not np.array_equal(words, result):
            j, n = (int(x) for x in np.argwhere(words != result)[0])
            _fail(hex_image.field("file"), f"{name} disagrees with the .npy image at address "
                                           f"{j * n_neurons + n} (j={j}, n={n})")
        result = words
    return result


def load_artifact(path) -> Artifact:
    """Read and validate an artifact directory written by :func:`save_artifact`."""
    directory = Path(path)
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise ConfigError(f"{manifest_path}: missing (not a spikeforge artifact directory?)")
    try:
        document = json.loads(manifest_path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"{MANIFEST}: not valid JSON: {error}") from None
    root = _Object(document, "")
    fmt = root.get("format", "str")
    if fmt != FORMAT:
        _fail("format", f"must be {FORMAT!r}, got {fmt!r}")
    version = root.get("format_version", "int")
    if version == 1:
        _fail("format_version", "1 is an older format without the system settings; compile "
                                "the model again (spikeforge compile)")
    if version != FORMAT_VERSION:
        _fail("format_version", f"unknown format_version {version}; this spikeforge reads "
                                f"{FORMAT_VERSION}")
    root.get("generator", "str", optional=True)
    system = _read_system(root.get("system", "object"))
    inputs_obj = root.get("inputs", "object", optional=True)

    # network: shapes and parameters
    net = root.get("network", "object")
    n_inputs = net.get_int("n_inputs", 1)
    layer_list = net.get("layers", "list")
    net.done()
    if not layer_list:
        _fail(net.field("layers"), "a network needs at least one layer")
    layer_info = []  # (n_inputs, n_neurons, max_events, params)
    for l, entry in enumerate(layer_list):
        layer = _Object(entry, f"{net.field('layers')}[{l}]")
        layer_inputs = layer.get_int("n_inputs", 1)
        layer_neurons = layer.get_int("n_neurons", 1)
        max_events = layer.get_int("max_events_per_tick", 1)
        acc = layer.get_int("accumulator_bits", 1)
        params = _read_params(layer.get("params", "object"))
        layer.done()
        expected_inputs = n_inputs if l == 0 else layer_info[-1][1]
        if layer_inputs != expected_inputs:
            source = "network.n_inputs" if l == 0 else f"network.layers[{l - 1}].n_neurons"
            _fail(layer.field("n_inputs"), f"is {layer_inputs} but {source} is {expected_inputs} "
                                           f"(shape mismatch between layers)")
        if acc != accumulator_bits(params, max_events):
            _fail(layer.field("accumulator_bits"), f"is {acc} but the contract gives "
                                                   f"{accumulator_bits(params, max_events)}")
        layer_info.append((layer_inputs, layer_neurons, max_events, params))
    n_layers = len(layer_info)
    inputs = None if inputs_obj is None else _read_inputs(inputs_obj, n_inputs)

    # plan: cores and their memory images
    plan = root.get("plan", "object")
    core_list = plan.get("cores", "list")
    route_list = plan.get("routes", "list")
    plan.done()
    root.done()
    cores = []
    for k, entry in enumerate(core_list):
        core = _Object(entry, f"plan.cores[{k}]")
        core_id = core.get_int("core_id", 0)
        if core_id != k:
            _fail(core.field("core_id"), f"must equal the core's position {k}, got {core_id}")
        layer = core.get_int("layer", 0, n_layers - 1)
        index = core.get_int("index", 0)
        layer_inputs, layer_neurons, max_events, params = layer_info[layer]
        offset = core.get_int("neuron_offset", 0, layer_neurons - 1)
        size = core.get_int("n_neurons", 1, layer_neurons - offset)
        core_inputs = core.get_int("n_inputs", 1)
        if core_inputs != layer_inputs:
            _fail(core.field("n_inputs"), f"is {core_inputs} but network.layers[{layer}].n_inputs "
                                          f"is {layer_inputs}")
        acc = core.get_int("accumulator_bits", 1)
        if acc != accumulator_bits(params, max_events):
            _fail(core.field("accumulator_bits"), f"is {acc} but network.layers[{layer}] gives "
                                                  f"{accumulator_bits(params, max_events)}")
        memory = core.get_int("memory_bits", 1)
        if memory != core_memory_bits(core_inputs, size, params, acc):
            _fail(core.field("memory_bits"), f"is {memory} but the core needs "
                                             f"{core_memory_bits(core_inputs, size, params, acc)}")
        weights = _read_weights(directory, core.get("weights", "object"), core_inputs, size, params)
        # artifacts written before lanes existed were built with one lane
        lanes = core.get("lanes", "int", optional=True)
        core.done()
        try:
            config = CoreConfig(size, core_inputs, params, weights, max_events,
                                1 if lanes is None else lanes)
        except ConfigError as error:
            _fail(core.path, str(error))
        cores.append(CorePlan(core_id, layer, index, offset, config))

    # every layer is covered exactly, by cores in index order with contiguous slices
    layer_slices = []
    for l, (_, layer_neurons, _, _) in enumerate(layer_info):
        mine = [(k, c) for k, c in enumerate(cores) if c.layer == l]
        if not mine:
            _fail("plan.cores", f"no core computes network.layers[{l}]")
        expected_offset = 0
        for position, (k, c) in enumerate(mine):
            if c.index != position:
                _fail(f"plan.cores[{k}].index", f"must be {position} (cores of layer {l} are "
                                                f"numbered 0, 1, ... in order), got {c.index}")
            if c.neuron_offset != expected_offset:
                _fail(f"plan.cores[{k}].neuron_offset", f"must be {expected_offset} (the end of the "
                                                        f"previous core of layer {l}), got "
                                                        f"{c.neuron_offset}")
            expected_offset += c.n_neurons
        if expected_offset != layer_neurons:
            _fail(f"plan.cores[{mine[-1][0]}].n_neurons", f"the cores of layer {l} cover "
                                                          f"{expected_offset} neurons, the layer "
                                                          f"has {layer_neurons}")
        layer_slices.append([(c.neuron_offset, c.n_neurons) for _, c in mine])

    # routes: each refers to existing cores, and together they are the complete multicast
    cores_per_layer = [len(s) for s in layer_slices]
    routes = []
    for r, entry in enumerate(route_list):
        route = _Object(entry, f"plan.routes[{r}]")
        source_layer = route.get_int("source_layer", INPUT_PORT, n_layers - 1)
        source_cores = 1 if source_layer == INPUT_PORT else cores_per_layer[source_layer]
        source_core = route.get("source_core", "int")
        if not 0 <= source_core < source_cores:
            what = "the input port" if source_layer == INPUT_PORT else f"layer {source_layer}"
            _fail(route.field("source_core"), f"core {source_core} does not exist ({what} has "
                                              f"{source_cores} core(s))")
        source_offset = route.get_int("source_offset", 0)
        source_size = route.get_int("source_size", 1)
        destination = route.get("destination_layer", "int?")
        if destination is not None and not 0 <= destination < n_layers:
            _fail(route.field("destination_layer"), f"layer {destination} does not exist "
                                                    f"(layers 0..{n_layers - 1}; null = decision unit)")
        destination_cores = route.get("destination_cores", "list")
        route.done()
        for c, value in enumerate(destination_cores):
            if type(value) is not int:
                _fail(f"{route.field('destination_cores')}[{c}]", f"must be an integer, got "
                                                                  f"{json.dumps(value)}")
            if destination is None or not 0 <= value < cores_per_layer[destination]:
                where = ("the decision unit has no cores" if destination is None
                         else f"layer {destination} has {cores_per_layer[destination]} core(s)")
                _fail(f"{route.field('destination_cores')}[{c}]", f"routes to non-existent core "
                                                                  f"{value} ({where})")
        routes.append(Route(source_layer, source_core, source_offset, source_size, destination,
                            tuple(destination_cores)))
    expected_routes = canonical_routes(n_inputs, layer_slices)
    expected_by_source = {(e.source_layer, e.source_core): e for e in expected_routes}
    seen = set()
    for r, route in enumerate(routes):
        key = (route.source_layer, route.source_core)
        if key in seen:
            _fail(f"plan.routes[{r}]", f"a second route for source {key} (one route per source)")
        seen.add(key)
        expected = expected_by_source[key]
        for name in ("source_offset", "source_size", "destination_layer", "destination_cores"):
            if getattr(route, name) != getattr(expected, name):
                value = getattr(expected, name)
                _fail(f"plan.routes[{r}].{name}", f"is {json.dumps(_jsonable(getattr(route, name)))}"
                                                  f", the plan needs {json.dumps(_jsonable(value))}")
    missing = [key for key in expected_by_source if key not in seen]
    if missing:
        _fail("plan.routes", f"no route for source (layer, core) = {missing[0]}: its spikes would "
                             f"be lost")
    layers = []
    for l, (_, _, max_events, params) in enumerate(layer_info):
        weights = np.concatenate([c.config.weights for c in cores if c.layer == l], axis=1)
        layers.append(IntegerLayer(weights, params, max_events))
    return Artifact(IntegerNetwork(tuple(layers), system.decision),
                    HardwarePlan(n_inputs, tuple(cores), tuple(routes)), system, inputs)


def _read_inputs(obj: _Object, n_inputs: int) -> InputMap:
    n_sensor = obj.get_int("n_sensor", n_inputs)
    kept = obj.get("kept", "list")
    obj.done()
    if len(kept) != n_inputs or any(type(k) is not int for k in kept):
        _fail(obj.field("kept"), f"must list {n_inputs} sensor input indices (one per network "
                                 f"input)")
    try:
        return InputMap(n_sensor, np.array(kept, dtype=np.int64))
    except ConfigError as error:
        _fail(obj.path, str(error))


def _jsonable(value):
    return list(value) if isinstance(value, tuple) else value
