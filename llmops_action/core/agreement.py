"""How much a panel of judges agrees: Krippendorff's alpha (ordinal) and the cases where judges disagree.

Pure: per-case, per-judge scores in (from the judge metrics' details in results.json), figures out.

- Alpha treats the judges as coders and the cases as units; a case only one judge scored adds nothing
  (no pair), and the value domain is the set of scores observed, as in Krippendorff (2011). Ordinal: the
  distance between two scores grows with how many judgements fall between them, so 1 vs 2 is a small
  disagreement where few cases sit, and 1 vs 5 a large one. Undefined (None) when every score is the same.
- A case is a disagreement when its judges' scores span two or more points of a 1-5 scale (half the scale's
  range, on another scale). Each judge's score on a case is the mean of its samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from llmops_action.core.config import LlmopsConfig, MetricConfig
from llmops_action.core.results import CaseResult

DISAGREE_POINTS_1_TO_5 = 2.0


def alpha_ordinal(data: Any) -> float | None:
    """Krippendorff's alpha, ordinal metric. `data`: judges x cases, NaN where a judge gave no score."""
    a = np.asarray(data, dtype=float)
    if a.ndim != 2:
        raise ValueError("data must be a 2-D array: judges x cases")
    present = ~np.isnan(a)
    values = np.unique(a[present])
    if values.size < 2:
        return None
    index = np.where(present, np.searchsorted(values, np.where(present, a, values[0])), -1)
    counts = np.stack([(index == v).sum(axis=0) for v in range(values.size)], axis=1).astype(float)
    m = counts.sum(axis=1)
    counts, m = counts[m >= 2], m[m >= 2]
    if counts.size == 0:
        return None
    # coincidences: ordered pairs of values from different judges within a case, each case weighing 1/(m-1)
    pairs = counts[:, :, None] * counts[:, None, :] - np.einsum("uv,vw->uvw", counts, np.eye(values.size))
    o = (pairs / (m - 1)[:, None, None]).sum(axis=0)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    cum = np.cumsum(n_c)
    lo = np.minimum.outer(np.arange(values.size), np.arange(values.size))
    hi = np.maximum.outer(np.arange(values.size), np.arange(values.size))
    between = cum[hi] - cum[lo] + n_c[lo]
    delta2 = (between - (n_c[:, None] + n_c[None, :]) / 2.0) ** 2
    expected = (np.outer(n_c, n_c) * delta2).sum()
    if expected == 0:
        return None
    return float(1.0 - (n - 1) * (o * delta2).sum() / expected)


@dataclass
class Agreement:
    metric: str
    judges: list[str]
    alpha: float | None
    cases: int  # cases scored by two or more judges
    disagreement_share: float | None
    disagreements: list[dict[str, Any]] = field(default_factory=list)  # {id, scores: {judge: raw}, span}


def judge_scores(case: CaseResult, metric: str) -> dict[str, float]:
    """{judge label: mean raw score} of the judges that answered on this case."""
    ms = case.metrics.get(metric)
    judges = ms.details.get("judges") if ms is not None else None
    out: dict[str, float] = {}
    for label, j in (judges or {}).items():
        raw = j.get("raw_scores") if isinstance(j, dict) else None
        if isinstance(raw, list) and raw:
            out[label] = float(np.mean(raw))
    return out


def agreement(metric: MetricConfig, judges: Sequence[str], cases: Sequence[CaseResult]) -> Agreement:
    lo, hi = metric.scale
    threshold = DISAGREE_POINTS_1_TO_5 / 4.0 * (hi - lo)
    table = np.full((len(judges), len(cases)), np.nan)
    disagreements = []
    units = 0
    for u, case in enumerate(cases):
        scores = judge_scores(case, metric.key)
        for j, label in enumerate(judges):
            if label in scores:
                table[j, u] = scores[label]
        if len(scores) >= 2:
            units += 1
            span = max(scores.values()) - min(scores.values())
            if span >= threshold - 1e-9:
                disagreements.append({"id": case.id, "scores": scores, "span": span})
    disagreements.sort(key=lambda d: (-d["span"], d["id"]))
    return Agreement(
        metric=metric.key,
        judges=list(judges),
        alpha=alpha_ordinal(table) if units else None,
        cases=units,
        disagreement_share=len(disagreements) / units if units else None,
        disagreements=disagreements,
    )


def panel_agreements(config: LlmopsConfig, cases: Sequence[CaseResult]) -> list[Agreement]:
    """One Agreement per judge metric, when the config has a panel of two or more judges."""
    labels = [j.label for j in config.judge.judges]
    if len(labels) < 2:
        return []
    return [agreement(m, labels, cases) for m in config.judge_metrics]


def agreement_aggregates(config: LlmopsConfig, cases: Sequence[CaseResult]) -> dict[str, float | None]:
    """The flat values gates (and MLflow) see: `<metric>.judge_alpha`, `<metric>.judge_disagreement`."""
    out: dict[str, float | None] = {}
    for a in panel_agreements(config, cases):
        out[f"{a.metric}.judge_alpha"] = a.alpha
        out[f"{a.metric}.judge_disagreement"] = a.disagreement_share
    return out
