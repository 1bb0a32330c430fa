"""Metrics: deterministic scoring of one case, and what kind each metric is.

Every score is on 0-1. A metric that cannot be computed says why: `skipped` (nothing to compare with, e.g.
no reference) or `error` (no output, a bad pattern). It never gets a neutral score instead.
Judge metrics are scored by llmops_action.engine.judge (they need a model call); aggregation is in aggregate.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from llmops_action.core.config import MetricConfig
from llmops_action.core.dataset import Case
from llmops_action.core.metrics import guardrails, lexical, rules
from llmops_action.core.requests import ModelResponse
from llmops_action.core.results import MetricScore

MetricKind = Literal["score", "pass_fail", "info"]

_PASS_FAIL = frozenset({"exact_match", "contains", "regex", "json_valid", "pii", "prompt_injection"})


def metric_kind(metric: MetricConfig) -> MetricKind:
    """pass_fail metrics score 1.0/0.0 and set `passed`; info metrics (length) carry details, no score."""
    if metric.type == "length":
        return "info"
    return "pass_fail" if metric.type in _PASS_FAIL else "score"


def no_output_reason(response: ModelResponse | None) -> str:
    if response is None:
        return "generation failed"
    if response.blocked:
        return f"prompt blocked ({response.blocked})"
    if response.finish_reason and response.finish_reason != "STOP":
        return f"finish reason {response.finish_reason}"
    return "the provider returned no text"


def score_metric(
    metric: MetricConfig, case: Case, output: str, response: ModelResponse | None
) -> MetricScore:
    """One deterministic metric on one output."""
    t = metric.type
    if t == "exact_match":
        target = metric.value if metric.value is not None else case.reference
        s = rules.exact_match(output, target, case_sensitive=metric.case_sensitive)
    elif t == "contains":
        assert metric.value is not None  # the config requires it
        s = rules.contains(output, metric.value, case_sensitive=metric.case_sensitive)
    elif t == "regex":
        assert metric.pattern is not None
        s = rules.regex(output, metric.pattern, case_sensitive=metric.case_sensitive)
    elif t == "json_valid":
        s = rules.json_valid(output, metric.json_schema)
    elif t == "length":
        s = rules.length(output, response)
    elif t == "keyword_recall":
        s = lexical.keyword_recall(output, case.keywords)
    elif t == "context_recall":
        s = lexical.context_recall(output, case.contexts, response.raw if response else None)
    elif t == "bleu":
        s = lexical.bleu(output, case.reference)
    elif t == "rouge_l":
        s = lexical.rouge_l(output, case.reference)
    elif t == "pii":
        s = guardrails.pii(output)
    elif t == "prompt_injection":
        s, _ = guardrails.prompt_injection(output, case.vars)
    else:
        raise ValueError(f"{t} is not a deterministic metric")
    # A threshold turns a continuous score into pass/fail for McNemar and improved/regressed counts.
    if s.score is not None and s.passed is None and metric.threshold is not None:
        s = s.model_copy(update={"passed": s.score >= metric.threshold})
    return s


def score_deterministic(
    metrics: Sequence[MetricConfig],
    case: Case,
    output: str | None,
    response: ModelResponse | None,
) -> dict[str, MetricScore]:
    """Every non-judge metric, in config order, keyed by MetricConfig.key.

    With no output (generation failed, prompt blocked) every metric is an error "no output: <reason>";
    prompt_injection still records the markers it found in the inputs, as details of that error.
    """
    out: dict[str, MetricScore] = {}
    for metric in metrics:
        if metric.type == "judge":
            continue
        if output is None:
            details = {}
            if metric.type == "prompt_injection":
                details = guardrails.prompt_injection(None, case.vars)[0].details
            out[metric.key] = MetricScore(error=f"no output: {no_output_reason(response)}", details=details)
        else:
            out[metric.key] = score_metric(metric, case, output, response)
    return out


__all__ = ["MetricKind", "metric_kind", "no_output_reason", "score_deterministic", "score_metric"]
