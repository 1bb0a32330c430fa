"""Deterministic assignment of a unit (a user, a visitor, a session) to a variant, without a server.

The hash, so any language can reimplement it (test vectors: assignment_vectors.json beside this file):

    key    = UTF-8 bytes of  <experiment name> + ":" + <unit id>
    digest = SHA-256(key)
    bucket = (first 8 bytes of digest, read as an unsigned big-endian 64-bit integer) mod 10000
    variant = "control" if bucket < control_basis_points else "treatment"

control_basis_points is the control's share of the split out of 10,000, rounded to the nearest integer
(50/50 -> 5000, 90/10 -> 9000, 1/2 -> 3333). Experiment names cannot contain ":", so the key is
unambiguous. The modulo bias (2^64 mod 10^4 of 2^64 values) is below 1e-15.

The state decides too: only a running experiment splits traffic. A draft, paused or cancelled one serves
the control to everyone; a completed one serves its winner.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from llmops_action.core.experiment_config import BASIS_POINTS

if TYPE_CHECKING:
    from llmops_action.core.experiment_config import ExperimentConfig
    from llmops_action.experiments.lifecycle import Experiment


def bucket(experiment_name: str, unit_id: str) -> int:
    """The unit's bucket in [0, 10000) for this experiment."""
    digest = hashlib.sha256(f"{experiment_name}:{unit_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BASIS_POINTS


def split_variant(config: ExperimentConfig, unit_id: str) -> str:
    """The variant by the hash and the split alone, whatever the state."""
    control_bp, _ = config.split.basis_points()
    return "control" if bucket(config.name, str(unit_id)) < control_bp else "treatment"


def assign(experiment: Experiment | ExperimentConfig, unit_id: str) -> str:
    """ "control" or "treatment" for this unit.

    `experiment` is an Experiment (config and state, from load_experiment) or a bare ExperimentConfig,
    which is taken as running. Paused, draft and cancelled experiments return the control; a completed
    one returns its winner.
    """
    from llmops_action.experiments.lifecycle import Experiment

    if not isinstance(experiment, Experiment):
        return split_variant(experiment, unit_id)
    if experiment.state == "running":
        return split_variant(experiment.config, unit_id)
    if experiment.state == "completed" and experiment.winner:
        return experiment.winner
    return "control"
