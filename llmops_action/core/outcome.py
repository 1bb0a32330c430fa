"""From scored cases to a run's outcome: aggregates, absolute gates, verdict and counts.

One definition, used by `eval` and by `merge`, so a merged run is judged exactly as an unsharded one.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmops_action.core.agreement import agreement_aggregates
from llmops_action.core.config import LlmopsConfig
from llmops_action.core.gates import absolute_gates, verdict
from llmops_action.core.metrics.aggregate import aggregate_run
from llmops_action.core.results import CaseResult, Counts, GateResult, MetricAggregate


@dataclass(frozen=True)
class RunOutcome:
    metrics: dict[str, MetricAggregate]
    aggregates: dict[str, float | None]
    gates: list[GateResult]
    verdict: str
    counts: Counts


def is_incomplete_case(case: CaseResult) -> bool:
    """A case the run could not fully score: its generation or any metric (the judge included) failed."""
    return case.error is not None or any(s.error for s in case.metrics.values())


def incomplete_rate(cases: list[CaseResult]) -> float:
    return sum(map(is_incomplete_case, cases)) / len(cases) if cases else 0.0


def run_outcome(config: LlmopsConfig, cases: list[CaseResult], *, judge_calls: int) -> RunOutcome:
    """An error rate above max_error_rate makes the run incomplete, whatever its gates say."""
    metrics, aggregates = aggregate_run(config, cases)
    aggregates.update(agreement_aggregates(config, cases))  # a judge panel's agreement, gateable
    gates = absolute_gates(config.gates, aggregates, metrics)
    outcome = "incomplete" if incomplete_rate(cases) > config.max_error_rate else verdict(gates)
    counts = Counts(
        cases=len(cases),
        errors=sum(map(is_incomplete_case, cases)),
        cache_hits=sum(1 for c in cases if c.cache_hit),
        judge_cache_hits=sum(c.judge_cache_hits for c in cases),
        judge_calls=judge_calls,
    )
    return RunOutcome(metrics, aggregates, gates, outcome, counts)
