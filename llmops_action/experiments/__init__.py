"""A/B experiments on live traffic (issue 15): assignment, outcomes, results, lifecycle.

    from llmops_action.experiments import assign, load_experiment
    exp = load_experiment(".llmops.yml", "rag-answer-v2")
    variant = assign(exp, user_id)   # "control" or "treatment", the same everywhere, every time

Nothing heavy is imported here: assignment must be cheap in the app's request path.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from llmops_action.experiments.assign import assign, bucket
from llmops_action.experiments.lifecycle import Experiment

if TYPE_CHECKING:
    import os

__all__ = ["Experiment", "assign", "bucket", "load_experiment", "record_outcome"]


def load_experiment(config_path: str | os.PathLike[str], name: str) -> Experiment:
    """The experiment `name` of a `.llmops.yml`, with the state its log in the repository gives it."""
    from llmops_action.core.config import load_config
    from llmops_action.experiments.lifecycle import find_config
    from llmops_action.experiments.lifecycle import load_experiment as _load

    path = Path(config_path)
    return _load(path.resolve().parent, find_config(load_config(path), name))


def record_outcome(*args: object, **kwargs: object) -> str:
    """See llmops_action.experiments.mlflow_outcomes.record_outcome (imports mlflow when called)."""
    from llmops_action.experiments.mlflow_outcomes import record_outcome as _record

    return _record(*args, **kwargs)  # type: ignore[arg-type]
