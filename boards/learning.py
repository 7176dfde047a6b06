"""The design of a learning build of the board: what ``spikeforge build learn:digits``
builds and what :func:`spikeforge.boards.cosim.run_board_learning` (``spikeforge learn
--sim``) co-simulates, made in one place (:func:`learning_design`).

A learning build is the board top of the learner's current network (every stored weight
read as ``acc >> frac_bits``), one core per layer (``plan_network``), the default system
settings of its decision, and the learning engine of ``learner.hardware_config()``
(:class:`~spikeforge.hdl.system.SpikeforgeSystem` with ``learning``; docs/learning.md
section 6). The learner itself (the digits network from a random start and the digits rule)
is made above this layer, by :func:`spikeforge.commands.learn.digits_learner`: the model
package is not imported here.
"""

from __future__ import annotations

from spikeforge.compiler.artifact import Artifact
from spikeforge.compiler.map import plan_network
from spikeforge.ir.learning import LearningConfig
from spikeforge.ir.system import SystemConfig

__all__ = ["learning_design"]


def learning_design(learner, plan=None) -> tuple[Artifact, LearningConfig]:
    """``(artifact, config)`` of the learning build of ``learner`` (a
    :class:`~spikeforge.sim.learning.PopcountLearner`): the artifact's network is the
    learner's current network, its plan ``plan`` (default ``plan_network(network)``), its
    system the default settings of the network's decision; ``config`` the engine's."""
    network = learner.current_network()
    config = learner.hardware_config()
    return (Artifact(network, plan or plan_network(network), SystemConfig(network.decision)),
            config)
