"""A panel of judges on one metric and one case, combined into one score (issue 14).

Each judge runs through judge.judge_case exactly as a lone judge does (its own nonce-fenced request, its own
cache entries since the provider identity is part of the key, the same schema and strict parser). A judge that
fails is an error for that judge only. The consensus pools the normalised scores of every sample of every judge
that answered and combines them (mean, median or min); it exists only when at least `min_judges` judges
answered (default: all). Below the quorum the metric is an error for the case: never a neutral score, and never
a quiet "one judge said so" passed off as a panel.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from typing import Any

from llmops_action.core.config import JudgeConfig, JudgeSpec, MetricConfig
from llmops_action.core.dataset import Case
from llmops_action.core.results import MetricScore
from llmops_action.engine.judge import NO_CREDENTIALS, judge_case
from llmops_action.engine.providers.base import ModelRequest, ModelResponse, Provider

Complete = Callable[[ModelRequest], ModelResponse]
COMBINE: dict[str, Callable[[Sequence[float]], float]] = {
    "mean": statistics.fmean,
    "median": statistics.median,
    "min": min,
}
_KEPT = ("raw_scores", "reasoning", "manipulation_detected", "judge_model_version", "cache_hits", "std")


def _judge_cfg(cfg: JudgeConfig, spec: JudgeSpec) -> JudgeConfig:
    # model_copy skips validation on purpose: a member is a one-judge config, the panel's checks are done.
    return cfg.model_copy(update={"model": spec.model, "base_url": spec.base_url, "judges": []})


def judge_panel(
    metric: MetricConfig,
    case: Case,
    output: str,
    members: Sequence[tuple[JudgeSpec, Provider | None]],
    complete_for: Callable[[JudgeSpec, Provider], Complete],
    cfg: JudgeConfig,
    *,
    retrieved: Sequence[str] | None = None,
) -> MetricScore:
    """Every judge on `output`, then the consensus. `complete_for` gives one judge's call (runner, cache)."""
    lo, hi = metric.scale
    per: dict[str, MetricScore] = {}
    for spec, provider in members:
        if provider is None:
            per[spec.label] = MetricScore(
                error=f"judge: {NO_CREDENTIALS} for {spec.provider} judge {spec.label}"
            )
            continue
        per[spec.label] = judge_case(
            metric, case, output, complete_for(spec, provider), _judge_cfg(cfg, spec), retrieved=retrieved
        )
    answered = {k: s for k, s in per.items() if s.error is None and s.score is not None}
    quorum = cfg.min_judges or len(members)
    details: dict[str, Any] = {
        "criterion": metric.criterion,
        "scale": [lo, hi],
        "combine": cfg.combine,
        "min_judges": quorum,
        "judges_answered": len(answered),
        "judges": {
            label: {"model": spec.model, "provider": spec.provider, **_member(per[label])}
            for spec, _ in members
            for label in [spec.label]
        },
    }
    if len(answered) < quorum:
        why = "; ".join(f"{k}: {s.error}" for k, s in per.items() if s.error)
        return MetricScore(
            error=f"judge consensus: {len(answered)} of {len(members)} judges answered, {quorum} needed ({why})",
            details=details,
        )
    raw = [r for s in answered.values() for r in s.details.get("raw_scores", [])]
    score = COMBINE[cfg.combine]([(r - lo) / (hi - lo) for r in raw])
    first = next(iter(answered))
    details.update(
        raw_scores=raw,
        reasoning=f"{first}: {answered[first].details.get('reasoning', '')}",
        manipulation_detected=any(s.details.get("manipulation_detected") for s in answered.values()),
        cache_hits=sum(int(s.details.get("cache_hits", 0)) for s in answered.values()),
    )
    passed = None if metric.threshold is None else score >= metric.threshold
    return MetricScore(score=score, passed=passed, details=details)


def _member(s: MetricScore) -> dict[str, Any]:
    if s.error is not None:
        return {"score": None, "error": s.error}
    return {"score": s.score, "error": None, **{k: s.details[k] for k in _KEPT if k in s.details}}
