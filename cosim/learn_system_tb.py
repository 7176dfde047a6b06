"""cocotb bench of a system with the learning engine (runs inside the simulator; see
:func:`spikeforge.cosim.learn_cosim.run_learning_system_cosim`).

The spec (``$SPIKEFORGE_LEARN_SYSTEM_SPEC``) is the system bench's, one training inference
per sample (:func:`~spikeforge.cosim.learn_cosim.learning_system_spec`), plus per sample the
learn command, the update's cycles and the stores after it. The system bench's driver
(:class:`~spikeforge.cosim.system_tb.SystemDriver`) runs the inferences with ``train`` high;
when an inference is done (cycle D) the learn command is offered at D + 1, where it must be
taken; ``learn_busy`` must be high from D + 2 for the update's cycles; then every stored
weight is read back through ``store``. Every inference is compared as the system bench
compares one (:func:`~spikeforge.cosim.compare.compare_image`), with the weights the rule
held before its sample: so the weights the engine wrote into the cores are checked too.
The test fails with the first mismatch, the JSON report holds it.
"""

from __future__ import annotations

import json
import os

import cocotb
import numpy as np
from cocotb.triggers import Event

from spikeforge.cosim.compare import Mismatch, compare_image, first_mismatch
from spikeforge.cosim.drivers import CycleCounter, HostBus, LevelMonitor, StreamSource, _Agent
from spikeforge.cosim.learn_cosim import SYSTEM_SPEC_ENV
from spikeforge.cosim.system_tb import SystemDriver
from spikeforge.hdl.learning import StoreMap, command_layout
from spikeforge.ir.learning import LearningConfig


class LearnCommands(_Agent):
    """Offers sample b's learn command in the cycle after inference b is done (the
    system driver records ``done`` in its sample; this agent samples after it)."""

    def __init__(self, counter, driver, command, learn, layout):
        super().__init__(counter)
        self.driver, self.command, self.learn, self.layout = driver, command, learn, layout
        self.done_cycles: list[int] = []
        self.events: list[Event] = [Event() for _ in learn]

    def _sample(self, cycle: int) -> None:
        b = len(self.done_cycles)
        if b < len(self.driver.results) and b < len(self.learn):
            self.done_cycles.append(self.driver.results[b]["done"])
            item = self.learn[b]
            fields = {"label": item["label"], "lr_decay": item["lr_decay"]}
            self.command.send(self.layout.const(fields).as_value().value)
            self.events[b].set()


@cocotb.test()
async def system_learns_as_the_rule(dut):
    with open(os.environ[SYSTEM_SPEC_ENV]) as f:
        spec = json.load(f)
    config = LearningConfig.from_dict(spec["config"])
    store_map = StoreMap(config)
    addresses = [store_map.address(layer, a, b) for layer in range(2)
                 for a in range(store_map.shapes[layer][0])
                 for b in range(store_map.shapes[layer][1])]
    dut.train.value = 1
    counter = CycleCounter(dut.clk, dut.rst)
    driver = SystemDriver(dut, counter, spec)
    command = StreamSource(dut, "learn", counter)
    commands = LearnCommands(counter, driver, command, spec["learn"], command_layout(config))
    busy = LevelMonitor(dut, "learn_busy", counter)
    store = HostBus(dut, "store", counter)
    counter.start()
    await counter.reset(3)

    found, learned = [], 0
    for b, item in enumerate(spec["learn"]):
        exp = spec["images"][b]
        limit = exp["done"] + max(2000, exp["cycles"])
        while not commands.events[b].is_set() and counter.cycle <= limit:
            await counter.cycles(64)
        if not commands.events[b].is_set():
            found.append(Mismatch(f"image {b}: done", driver.current_tick, None,
                                  f"done at cycle {exp['done']}", "not done", counter.cycle,
                                  f"the inference did not finish within {limit} cycles"))
            break
        done = commands.done_cycles[b]
        await counter.wait_until(done + 3 + item["update_cycles"])
        taken = command.handshakes[b][1] if b < len(command.handshakes) else None
        high = [c for c, v in busy.changes if c > done and v]
        low = [c for c, v in busy.changes if c > done and not v]
        got = (taken, high[0] if high else None, low[0] if low else None)
        want = (done + 1, done + 2, done + 2 + item["update_cycles"])
        problem = None
        if got != want:
            problem = Mismatch(f"sample {b}: learn (handshake, busy rises, busy falls)", None,
                               None, want, got, done)
        else:
            values = [v - (1 << 32) if v >> 31 else v for v in await store.read_many(addresses)]
            bad = np.flatnonzero(np.array(values) != np.array(item["stores"]))
            if len(bad):
                i = int(bad[0])
                layer = int(i >= store_map.depths[0])
                pre, post = divmod(i - layer * store_map.depths[0], store_map.shapes[layer][1])
                problem = Mismatch(f"sample {b}: stored weight, layer {layer} [{pre}, {post}]",
                                   None, None, item["stores"][i], values[i], counter.cycle,
                                   f"{len(bad)} weight(s) differ")
        # the held counters are read in the cycle before the next start; then the whole
        # inference is compared: a difference there is the cause of a learning one
        while "counters" not in driver.results[b]:
            await counter.cycles(1)
        found += compare_image(b, exp, driver.results[b], spec.get("check_timing", True))
        if found or problem:
            found = found or [problem]
            break
        learned += 1

    first = first_mismatch(*found) if found else None
    report = {"cycles": counter.cycle, "samples": len(spec["learn"]), "samples_learned": learned,
              "inferences": len(driver.results),
              "classes": [r["cls"] for r in driver.results],
              "mismatch": first.to_dict() if first else None}
    path = os.environ.get("SPIKEFORGE_COSIM_REPORT")
    if path:
        with open(path, "w") as f:
            json.dump(report, f, default=str)
    if first is not None:
        raise AssertionError(str(first))
