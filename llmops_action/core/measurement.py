"""What scores a run (the measurement) as opposed to what is being scored (the treatment).

A config says two kinds of thing:

- the treatment: the prompts, the provider with its model and parameters, the app code. Changing it is what a
  pull request does and what the regression gate measures; it never disables a gate.
- the measurement: the dataset's cases, the metrics and their definitions (judge model, criteria, rubrics,
  scales, weights), the gates, drift and the error budget. It decides how the treatment is scored.

Both sides of a comparison are scored with one measurement, the base branch's (`governed`). Cases pair by
id and by a hash of their inputs (`pair_cases`): the gate runs over the paired cases whose inputs did not
change; added, removed and changed cases are reported apart. The composite `score` is recomputed over the
weighted metrics both sides have (`common_score`), so a run without the judge is compared with a judged one
on what both measured, never as a false drop.

Pure: configs and RunResults in, configs, pairings and RunResults out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from llmops_action.core.config import LlmopsConfig
from llmops_action.core.dataset import Case
from llmops_action.core.metrics.aggregate import percentile
from llmops_action.core.results import CaseResult, MetricAggregate, MetricScore, RunResult

SCORE = "score"
# The parts of a config that are the measurement; everything else is treatment or plumbing.
MEASUREMENT_FIELDS = ("suite", "metrics", "judge", "gates", "drift", "max_error_rate", "pricing")
TREATMENT_FIELDS = ("prompts", "provider")
CASE_INPUT_FIELDS = ("vars", "reference", "keywords", "contexts")


def _digest(value: Any) -> str:
    blob = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def measurement_of(config: LlmopsConfig) -> dict[str, Any]:
    return config.model_dump(mode="json", include=set(MEASUREMENT_FIELDS), by_alias=True)


def treatment_of(config: LlmopsConfig) -> dict[str, Any]:
    return config.model_dump(mode="json", include=set(TREATMENT_FIELDS), by_alias=True)


def measurement_hash(config: LlmopsConfig) -> str:
    return _digest(measurement_of(config))


def treatment_hash(config: LlmopsConfig) -> str:
    return _digest(treatment_of(config))


def governed(head: LlmopsConfig, base: LlmopsConfig) -> LlmopsConfig:
    """The head's treatment under the base's measurement: what the head is evaluated with for the gate."""
    return head.model_copy(update={name: getattr(base, name) for name in MEASUREMENT_FIELDS})


def preview_config(head: LlmopsConfig, base: LlmopsConfig) -> LlmopsConfig:
    """The head's own measurement for the informational preview, with the base's judge endpoint: a PR may
    change what is measured, never where the judge's key is sent."""
    judge = head.judge.model_copy(update={"base_url": base.judge.base_url})
    return head.model_copy(update={"judge": judge})


def measurement_changes(base: LlmopsConfig, head: LlmopsConfig) -> list[str]:
    """What the head's config changes in the measurement, one short phrase each (empty: nothing)."""
    out: list[str] = []
    bm = {m.key: m for m in base.metrics}
    hm = {m.key: m for m in head.metrics}
    out += [f"adds metric '{k}'" for k in hm if k not in bm]
    out += [f"removes metric '{k}'" for k in bm if k not in hm]
    for key in (k for k in bm if k in hm):
        before = bm[key].model_dump(mode="json", by_alias=True)
        after = hm[key].model_dump(mode="json", by_alias=True)
        fields = [f for f in sorted(before.keys() | after.keys()) if before.get(f) != after.get(f)]
        if fields:
            out.append(
                f"changes metric '{key}' ("
                + ", ".join(f"{f} {before.get(f)!r} -> {after.get(f)!r}" for f in fields)
                + ")"
            )
    for name in ("judge", "gates", "drift", "max_error_rate"):
        if getattr(base, name) != getattr(head, name):
            out.append(f"changes {name.replace('_', ' ')}")
    return out


def case_input_hash(case: Case) -> str:
    """Of what a case feeds the app and the metrics; its id, prompt and tags are left out."""
    return _digest(case.model_dump(mode="json", include=set(CASE_INPUT_FIELDS)))


# --- pairing -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pairing:
    pairs: list[tuple[CaseResult, CaseResult]]  # same id, same inputs: what the gate runs over
    changed: list[tuple[CaseResult, CaseResult]]  # same id, other inputs
    added: list[CaseResult]  # only in head
    removed: list[CaseResult]  # only in base


def _same_inputs(b: CaseResult, h: CaseResult) -> bool:
    if b.input_hash is not None and h.input_hash is not None:
        return b.input_hash == h.input_hash
    # Results written before input hashes were recorded: compare what both files hold.
    return b.vars == h.vars and b.reference == h.reference


def pair_cases(base: RunResult, head: RunResult) -> Pairing:
    by_id = base.case_map()
    head_ids = {c.id for c in head.cases}
    pairs, changed, added = [], [], []
    for h in head.cases:
        b = by_id.get(h.id)
        if b is None:
            added.append(h)
        elif _same_inputs(b, h):
            pairs.append((b, h))
        else:
            changed.append((b, h))
    removed = [b for b in base.cases if b.id not in head_ids]
    return Pairing(pairs=pairs, changed=changed, added=added, removed=removed)


# --- errors versus outcomes ----------------------------------------------------------------------------------


def error_of(case: CaseResult) -> str | None:
    """Why a case could not be scored (a failure around the model), or None.

    A safety block, an empty answer or a max-tokens cut is the model's behaviour and is scored; a timeout, a
    5xx after retries or a judge verdict that could not be parsed is an error, never a score.
    """
    if case.error:
        return case.error
    for name, ms in case.metrics.items():
        if ms.error:
            return f"{name}: {ms.error}"
    return None


def head_errors_on_scored(pairing: Pairing) -> list[tuple[CaseResult, CaseResult, str]]:
    """Paired cases the base scored and the head could not: they count against max_error_rate."""
    out = []
    for b, h in pairing.pairs:
        why = error_of(h)
        if why is not None and error_of(b) is None:
            out.append((b, h, why))
    return out


# --- the same metric set on both sides -----------------------------------------------------------------------


@dataclass(frozen=True)
class CommonScore:
    weights: dict[str, float]  # the weighted metrics both sides have, with the measurement's weights
    left_out: dict[str, str] = field(default_factory=dict)  # weighted metrics left out, and why


def _ran(run: RunResult, key: str) -> str | None:
    """None when `run` has scores for `key`; else why not."""
    agg = run.metrics.get(key)
    if agg is None:
        return "not in the run"
    if agg.skipped:
        return f"skipped ({agg.skipped})"
    return None


def common_score(weights: Mapping[str, float], base: RunResult, head: RunResult) -> CommonScore:
    kept: dict[str, float] = {}
    left_out: dict[str, str] = {}
    for key, weight in weights.items():
        if weight <= 0:
            continue
        why = [f"{side}: {r}" for side, run in (("base", base), ("head", head)) if (r := _ran(run, key))]
        if why:
            left_out[key] = "; ".join(why)
        else:
            kept[key] = weight
    return CommonScore(kept, left_out)


def weights_of(config: LlmopsConfig | None, base: RunResult) -> dict[str, float]:
    """The measurement's weights: the config's, else the ones the base run recorded."""
    if config is not None:
        return {m.key: m.weight for m in config.metrics}
    return {k: a.weight for k, a in base.metrics.items() if k != SCORE}


def weighted_score(weights: Mapping[str, float], scores: Mapping[str, MetricScore]) -> float | None:
    """aggregate.case_score over a weight map: an error on a weighted metric makes the case unscored; a
    metric skipped on this case (no reference, say) is left out and the other weights renormalised."""
    total = wsum = 0.0
    for key, weight in weights.items():
        s = scores.get(key)
        if s is None or s.error is not None:
            return None
        if s.skipped is not None or s.score is None:
            continue
        total += weight * s.score
        wsum += weight
    return total / wsum if wsum > 0 else None


def rescore_composite(run: RunResult, common: CommonScore) -> RunResult:
    """A copy of `run` whose case scores and `score` aggregate cover only `common.weights`."""
    cases = [c.model_copy(update={"score": weighted_score(common.weights, c.metrics)}) for c in run.cases]
    values = [c.score for c in cases if c.score is not None]
    errors = sum(1 for c in cases if c.score is None and any(_errs(c, k) for k in common.weights))
    old = run.metrics.get(SCORE)
    agg = MetricAggregate(
        mean=float(np.mean(values)) if values else None,
        n=len(values),
        errors=errors,
        skipped=None if values or errors else (old.skipped if old else None) or "no weighted metric ran",
        kind="score",
        std=float(np.std(values, ddof=1)) if len(values) > 1 else None,
        p50=percentile(values, 50),
        p95=percentile(values, 95),
        excluded=dict(common.left_out),
    )
    metrics = {**run.metrics, SCORE: agg}
    aggregates = {**run.aggregates, SCORE: agg.mean}
    return run.model_copy(update={"cases": cases, "metrics": metrics, "aggregates": aggregates})


def _errs(case: CaseResult, key: str) -> bool:
    s = case.metrics.get(key)
    return s is None or s.error is not None
