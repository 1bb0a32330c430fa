"""The weighted case score and the run's aggregates.

Case score: the weighted mean of the metrics with weight > 0.
- A weighted metric with an error (or missing) makes the case score None: a case the judge failed on is not
  scored on BLEU alone, which would hide the failure.
- A weighted metric that was *skipped* (no judge credentials offline, no reference on this case) is left out
  and the remaining weights are renormalised, so 0.2 BLEU + 0.2 ROUGE-L + 0.6 judge becomes BLEU/ROUGE-L only
  (each 0.5). The run's `score` aggregate lists what was left out in `excluded`, so a reader sees that the
  offline score is not the online one. A gate on the skipped metric itself still fails.
- Info metrics (length) have no score; a weight on one is left out the same way.

Run aggregates per metric: mean over the cases with a score, n, errors, sample std (ddof=1), p50/p95;
`skipped` is set only when no case has a score and none errored (the reason the metric never ran), because a
gate treats a skipped aggregate as a failure. For `length` (kind "info") mean/p50/p95 are output characters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from llmops_action.core.config import LlmopsConfig, MetricConfig
from llmops_action.core.metrics import metric_kind
from llmops_action.core.results import CaseResult, MetricAggregate, MetricScore


def percentile(values: Iterable[float | None], q: float) -> float | None:
    """q-th percentile (0-100, linear interpolation) of the values that are not None; None when there are none."""
    data = [float(v) for v in values if v is not None]
    if not data:
        return None
    return float(np.percentile(np.asarray(data, dtype=float), q))


def _usable(score: MetricScore | None) -> str:
    """One weighted metric on one case: "score", "skip" or "error"."""
    if score is None or score.error is not None:
        return "error"
    if score.skipped is not None or score.score is None:
        return "skip"
    return "score"


def case_score(metrics: Sequence[MetricConfig], scores: dict[str, MetricScore]) -> float | None:
    """Weighted mean over the weighted metrics that have a score; None when one of them has an error or is
    missing, or when none has a score (all skipped, or no metric has a weight)."""
    total = 0.0
    weights = 0.0
    for m in metrics:
        if m.weight <= 0:
            continue
        s = scores.get(m.key)
        state = _usable(s)
        if state == "error":
            return None
        if state == "score":
            assert s is not None and s.score is not None
            total += m.weight * s.score
            weights += m.weight
    return total / weights if weights > 0 else None


def _skip_reason(s: MetricScore | None) -> str:
    if s is None:
        return "missing"
    return s.skipped or ("info metric, no score" if s.score is None else "")


def _metric_aggregate(metric: MetricConfig, cases: list[CaseResult]) -> MetricAggregate:
    kind = metric_kind(metric)
    scores = [c.metrics.get(metric.key) for c in cases]
    errors = sum(1 for s in scores if s is None or s.error is not None)
    if kind == "info":
        values = [float(s.details["chars"]) for s in scores if s is not None and "chars" in s.details]
    else:
        values = [float(s.score) for s in scores if s is not None and s.score is not None and s.error is None]
    skipped = None
    if not values and not errors:
        reasons = Counter(s.skipped for s in scores if s is not None and s.skipped)
        skipped = reasons.most_common(1)[0][0] if reasons else "no cases"
    return MetricAggregate(
        mean=float(np.mean(values)) if values else None,
        n=len(values),
        errors=errors,
        skipped=skipped,
        kind=kind,
        weight=metric.weight,
        std=float(np.std(values, ddof=1)) if len(values) > 1 else None,
        p50=percentile(values, 50),
        p95=percentile(values, 95),
    )


def _score_aggregate(config: LlmopsConfig, cases: list[CaseResult]) -> MetricAggregate:
    weighted = [m for m in config.metrics if m.weight > 0]
    values: list[float] = []
    errors = 0
    skips: dict[str, Counter[str]] = {m.key: Counter() for m in weighted}
    for c in cases:
        s = case_score(config.metrics, c.metrics)
        if s is not None:
            values.append(s)
        for m in weighted:
            ms = c.metrics.get(m.key)
            if _usable(ms) == "skip":
                skips[m.key][_skip_reason(ms)] += 1
        if s is None and any(_usable(c.metrics.get(m.key)) == "error" for m in weighted):
            errors += 1
    excluded = {
        key: ", ".join(f"{reason} ({n} of {len(cases)} cases)" for reason, n in reasons.most_common())
        for key, reasons in skips.items()
        if reasons
    }
    skipped = None
    if not values and not errors:
        skipped = (
            "no metric has a weight > 0"
            if not weighted
            else "every weighted metric was skipped: " + "; ".join(f"{k}: {v}" for k, v in excluded.items())
        )
    return MetricAggregate(
        mean=float(np.mean(values)) if values else None,
        n=len(values),
        errors=errors,
        skipped=skipped,
        kind="score",
        weight=0.0,
        std=float(np.std(values, ddof=1)) if len(values) > 1 else None,
        p50=percentile(values, 50),
        p95=percentile(values, 95),
        excluded=excluded,
    )


def _total(values: Iterable[float | int | None]) -> float | None:
    """Sum of the known values; None when no case reported one (unknown is not zero)."""
    known = [float(v) for v in values if v is not None]
    return float(sum(known)) if known else None


def aggregate_run(
    config: LlmopsConfig, cases: list[CaseResult]
) -> tuple[dict[str, MetricAggregate], dict[str, float | None]]:
    """Per-metric aggregates (config order, then "score") and the flat values gates name.

    Flat: each metric key -> its mean; "score"; "latency_p50_ms" / "latency_p95_ms" over cases with an
    output; "input_tokens_total", "output_tokens_total", "cost_usd" (generation), "judge_cost_usd" (None when no
    case reported any);
    "error_rate" = cases whose generation failed / cases; "judge_error_rate" = judge metric results that are
    errors / judge metric results on cases with an output (None without judge metrics).
    """
    metrics = {m.key: _metric_aggregate(m, cases) for m in config.metrics}
    metrics["score"] = _score_aggregate(config, cases)
    flat: dict[str, float | None] = {key: agg.mean for key, agg in metrics.items()}
    answered = [c for c in cases if c.error is None and c.output is not None]
    judge_keys = [m.key for m in config.judge_metrics]
    judged = [c.metrics.get(k) for c in answered for k in judge_keys]
    judged = [s for s in judged if s is None or s.skipped is None]
    flat.update(
        latency_p50_ms=percentile((c.latency_ms for c in answered), 50),
        latency_p95_ms=percentile((c.latency_ms for c in answered), 95),
        input_tokens_total=_total(c.input_tokens for c in cases),
        output_tokens_total=_total(c.output_tokens for c in cases),
        cost_usd=_total(c.cost_usd for c in cases),
        judge_cost_usd=_total(c.judge_cost_usd for c in cases),
        error_rate=sum(1 for c in cases if c.error is not None) / len(cases) if cases else None,
        judge_error_rate=(sum(1 for s in judged if s is None or s.error) / len(judged)) if judged else None,
    )
    return metrics, flat
