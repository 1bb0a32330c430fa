"""Per-case deltas: what the worst cases of a comparison show (outputs, question, reference, judge reason).

Pure: paired CaseResults in, CaseDeltas out, ordered the largest drop first and by id among equal drops.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from llmops_action.core.comparison import CaseDelta
from llmops_action.core.results import CaseResult, MetricScore, RunResult

SCORE = "score"  # the weighted aggregate of each case
REASON_KEYS = ("reasoning", "reason", "explanation", "rationale")


def case_value(case: CaseResult, metric: str) -> float | None:
    if metric == SCORE:
        return case.score
    ms = case.metrics.get(metric)
    return ms.score if ms is not None else None


def error_delta(base: CaseResult, head: CaseResult, metric: str, why: str) -> CaseDelta:
    return CaseDelta(
        id=head.id,
        prompt=head.prompt,
        metric=metric,
        base_score=case_value(base, metric),
        head_score=None,
        delta=None,
        base_output=base.output,
        head_output=head.output,
        head_error=why,
    )


def case_deltas(
    base: RunResult, head: RunResult, pairs: list[tuple[CaseResult, CaseResult]], metric: str
) -> list[CaseDelta]:
    """Per-case deltas on `metric`, most negative first, with outputs and the judge's reason."""
    out = []
    for b, h in pairs:
        bv, hv = case_value(b, metric), case_value(h, metric)
        if bv is None or hv is None:
            continue
        out.append(
            CaseDelta(
                id=h.id,
                prompt=h.prompt,
                metric=metric,
                base_score=bv,
                head_score=hv,
                delta=hv - bv,
                base_output=b.output,
                head_output=h.output,
                judge_reason=judge_reason(h, metric, b),
                head_error=h.error,
                vars={k: _clip(v) for k, v in h.vars.items()},
                reference=_clip(h.reference),
                **_judge_score(h, metric, b),
            )
        )
    # the largest drop first; equal drops (to rounding noise) by id, so the order is stable across runs
    out.sort(key=lambda d: (round(d.delta, 9) if d.delta is not None else 0.0, d.id))
    return out


VAR_CHARS = 4000  # a worst case shows the question, not a whole document: comparison.json stays small


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > VAR_CHARS:
        return value[:VAR_CHARS] + f"… ({len(value) - VAR_CHARS:,} more characters)"
    return value


def _judge_score(case: CaseResult, metric: str, base_case: CaseResult) -> dict[str, Any]:
    """The head's judge metric shown beside its reason: `metric` itself, or for the aggregate the judge
    metric that fell most (the one judge_reason quotes)."""
    judged = [k for k, ms in case.metrics.items() if "criterion" in ms.details or _has_reason(ms)]
    if metric != SCORE:
        judged = [metric] if metric in judged else []
    if not judged:
        return {}

    def drop(name: str) -> float:
        hv, bv = case_value(case, name), case_value(base_case, name)
        return (hv - bv) if hv is not None and bv is not None else 0.0

    name = min(judged, key=drop)
    return {"judge_metric": name, "judge_score": case_value(case, name)}


def _has_reason(ms: MetricScore) -> bool:
    return any(isinstance(ms.details.get(k), str) and ms.details.get(k, "").strip() for k in REASON_KEYS)


def judge_reason(case: CaseResult, metric: str, base_case: CaseResult | None = None) -> str | None:
    """The judge's explanation for `metric` on this case; for the aggregate, the judge metric that fell most."""
    candidates: Iterable[str]
    if metric != SCORE:
        candidates = [metric]
    else:

        def drop(name: str) -> float:
            hv = case_value(case, name)
            bv = case_value(base_case, name) if base_case is not None else None
            return (hv - bv) if hv is not None and bv is not None else 0.0

        candidates = sorted(case.metrics, key=drop)
    for name in candidates:
        ms = case.metrics.get(name)
        if ms is None:
            continue
        for key in REASON_KEYS:
            value = ms.details.get(key)
            if isinstance(value, str) and value.strip():
                return value if metric != SCORE else f"{name}: {value}"
    return None
