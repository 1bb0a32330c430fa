"""The names a config may refer to (metrics, aggregates, drift signals), checked when the config loads.

A gate naming a metric that does not exist is bad input at load time, not a failed gate after a full run.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from llmops_action.core.yamlpos import Located, format_path
from llmops_action.errors import UserInputError

if TYPE_CHECKING:
    from llmops_action.core.config import LlmopsConfig

# The flat values of a run a gate may name besides the metrics (core/metrics/aggregate.py computes them).
RUN_AGGREGATES = (
    "latency_p50_ms",
    "latency_p95_ms",
    "input_tokens_total",
    "output_tokens_total",
    "cost_usd",
    "judge_cost_usd",
    "error_rate",
    "judge_error_rate",
)
# Drift signals of every run besides the judge criteria (core/drift.py computes them).
RUN_SIGNALS = ("score", "latency_ms", "output_tokens", "output_length", "error", "finish_reason")


def metric_names_for_gates(config: LlmopsConfig) -> list[str]:
    """What an absolute gate may name: each metric, `score`, and the run's flat aggregates."""
    # a judge panel's agreement aggregates (core/agreement.py) are gate-able too
    panel = [
        f"{m.key}.{suffix}" for m in config.judge_metrics for suffix in ("judge_alpha", "judge_disagreement")
    ]
    return [*(m.key for m in config.metrics), "score", *RUN_AGGREGATES, *panel]


def check_metric_names(config: LlmopsConfig, located: Located) -> None:
    """A gate or signal naming a metric that does not exist is bad input at load time, not a failed gate
    after a full run (which would also replace a good results.json)."""
    keys = [m.key for m in config.metrics]
    judge = [m.key for m in config.judge_metrics]
    checks: list[tuple[tuple[str | int, ...], str, list[str]]] = []
    for i, gate in enumerate(config.gates.absolute):
        checks.append((("gates", "absolute", i, "metric"), gate.metric, metric_names_for_gates(config)))
    for i, name in enumerate(config.gates.regression.metrics):
        checks.append((("gates", "regression", "metrics", i), name, [*keys, "score"]))
    signals = [*judge, *RUN_SIGNALS]
    for field in ("signals", "block"):
        for i, name in enumerate(getattr(config.drift, field) or []):
            checks.append((("drift", field, i), name, signals))
    for loc, name, known in checks:
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        raise UserInputError(
            f"unknown metric '{name}'" if loc[0] == "gates" else f"unknown drift signal '{name}'",
            file=located.file,
            line=located.line_of(loc),
            key=format_path(loc),
            hint=(f"did you mean '{close[0]}'? " if close else "") + f"Known here: {', '.join(known)}.",
        )
