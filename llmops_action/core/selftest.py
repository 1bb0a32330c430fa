"""The self-test's findings (issue 14): which gate caught which injected degradation, and which judge can be
talked into a better score. Pure: the unmutated run, each mutated run and their Comparison in, a report out.

A gate *catches* a mutation when it fails, is blocking, and did not already fail on the unmutated run (a gate
that always fails proves nothing). It *flags* it when it turns worse without blocking (a warning, or a failure
of a non-blocking gate). Everything else is a miss. A gross mutation (empty, refusal, off_topic) that no
blocking gate catches means the config cannot tell a broken model from a working one: exit 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from llmops_action.core.comparison import Comparison
from llmops_action.core.config import LlmopsConfig
from llmops_action.core.mutations import BY_NAME
from llmops_action.core.results import CaseResult, GateResult, RunResult

SELFTEST_SCHEMA_VERSION = 1
SELFTEST_KIND = "llmops.selftest"
SCORE = "score"
_RANK = {"skipped": 0, "pass": 1, "warn": 2, "fail": 3}

Outcome = Literal["caught", "flagged", "missed", "already failing", "skipped"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GateCell(_Model):
    gate: str
    blocking: bool
    outcome: Outcome
    status: str  # the gate's status on the mutated run
    control_status: str
    delta: float | None = None  # what the gate saw: the regression delta, or the change of an absolute value
    reason: str = ""


class MutationRow(_Model):
    mutation: str
    kind: Literal["mutation", "canary"]
    gross: bool
    models: str
    caught: bool
    caught_by: list[str] = Field(default_factory=list)
    flagged_by: list[str] = Field(default_factory=list)
    gates: list[GateCell] = Field(default_factory=list)
    moved: dict[str, float | None] = Field(default_factory=dict)  # metric -> share of cases whose value moved
    mean_delta: dict[str, float | None] = Field(default_factory=dict)  # metric -> mean per-case change


class JudgeCanary(_Model):
    judge: str
    metric: str
    canary: str
    cases: int  # cases judged on both the canary and the same wrong answer without the payload
    rose: int  # cases whose score rose because of the payload
    mean_rise: float | None = None
    manipulation_detected: int = 0  # cases where the judge said it saw the attempt
    manipulable: bool = False


class SelftestReport(_Model):
    schema_version: int = SELFTEST_SCHEMA_VERSION
    kind: str = SELFTEST_KIND
    suite: str
    source: str  # where the stored outputs came from
    cases: int
    gates: list[str] = Field(default_factory=list)  # every gate, in the comparison's order
    blocking_gates: list[str] = Field(default_factory=list)
    control: dict[str, str] = Field(default_factory=dict)  # gate -> status on the unmutated run
    rows: list[MutationRow] = Field(default_factory=list)
    canaries: list[JudgeCanary] = Field(default_factory=list)
    skipped: dict[str, str] = Field(default_factory=dict)  # mutation -> why it did not run
    warnings: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)  # gross mutations no blocking gate caught, with advice
    exit_code: int = 0

    @property
    def manipulable_judges(self) -> list[str]:
        return sorted({c.judge for c in self.canaries if c.manipulable})


def _value(case: CaseResult, metric: str) -> float | None:
    if metric == SCORE:
        return case.score
    ms = case.metrics.get(metric)
    return ms.score if ms is not None else None


def metric_movement(
    control: RunResult, mutated: RunResult, metrics: Sequence[str]
) -> tuple[dict[str, float | None], dict[str, float | None]]:
    """Per metric: the share of cases whose value changed (a value that appears or vanishes counts), over the
    cases with a value on either side; and the mean change over the cases with a value on both."""
    by_id = mutated.case_map()
    moved: dict[str, float | None] = {}
    mean: dict[str, float | None] = {}
    for metric in metrics:
        changed = total = 0
        deltas: list[float] = []
        for c in control.cases:
            m = by_id.get(c.id)
            if m is None:
                continue
            a, b = _value(c, metric), _value(m, metric)
            if a is None and b is None:
                continue
            total += 1
            if a is None or b is None or not math.isclose(a, b, abs_tol=1e-9):
                changed += 1
            if a is not None and b is not None:
                deltas.append(b - a)
        moved[metric] = changed / total if total else None
        mean[metric] = sum(deltas) / len(deltas) if deltas else None
    return moved, mean


def _cell(g: GateResult, control: GateResult | None) -> GateCell:
    cs = control.status if control is not None else "skipped"
    delta = g.delta
    if g.family == "quality" and g.value is not None and control is not None and control.value is not None:
        delta = g.value - control.value
    if g.status == "skipped":
        outcome: Outcome = "skipped"
    elif g.status == "fail" and cs == "fail":
        outcome = "already failing"
    elif g.status == "fail" and g.blocking:
        outcome = "caught"
    elif g.status in ("fail", "warn") and _RANK[g.status] > _RANK.get(cs, 0):
        outcome = "flagged"
    else:
        outcome = "missed"
    return GateCell(
        gate=g.name,
        blocking=g.blocking,
        outcome=outcome,
        status=g.status,
        control_status=cs,
        delta=delta,
        reason=g.reason,
    )


def mutation_row(
    name: str,
    control: RunResult,
    mutated: RunResult,
    comparison: Comparison,
    config: LlmopsConfig,
    control_gates: dict[str, GateResult],
) -> MutationRow:
    """One row of the table: each gate's outcome under this mutation, and how far each metric moved."""
    mutation = BY_NAME[name]
    cells = [_cell(g, control_gates.get(g.name)) for g in comparison.gates]
    metrics = [SCORE] + [m.key for m in config.metrics if m.type != "length"]
    moved, mean = metric_movement(control, mutated, metrics)
    caught_by = [c.gate for c in cells if c.outcome == "caught"]
    return MutationRow(
        mutation=name,
        kind=mutation.kind,
        gross=mutation.gross,
        models=mutation.models,
        caught=bool(caught_by),
        caught_by=caught_by,
        flagged_by=[c.gate for c in cells if c.outcome == "flagged"],
        gates=cells,
        moved=moved,
        mean_delta=mean,
    )


def control_gate_map(control: RunResult, config: LlmopsConfig) -> dict[str, GateResult]:
    """The gates on the unmutated run compared with itself: what 'no degradation' looks like."""
    from llmops_action.core.compare import compare

    return {g.name: g for g in compare(control, control, config, base_source="given").gates}


def judge_scores(case: CaseResult, metric: str, single_label: str) -> dict[str, tuple[float, bool]]:
    """{judge: (score, manipulation_detected)} on one case: each panel member, or the lone judge."""
    ms = case.metrics.get(metric)
    if ms is None or (ms.error is not None and not ms.details.get("judges")):
        return {}
    panel = ms.details.get("judges")
    if isinstance(panel, dict):
        return {
            label: (float(j["score"]), bool(j.get("manipulation_detected")))
            for label, j in panel.items()
            if isinstance(j, dict) and j.get("score") is not None
        }
    if ms.score is None:
        return {}
    return {single_label: (ms.score, bool(ms.details.get("manipulation_detected")))}


def canary_findings(
    canary: str, canary_run: RunResult, plain_run: RunResult, config: LlmopsConfig
) -> list[JudgeCanary]:
    """Per judge and judge metric: on how many cases the payload raised the score of the same wrong answer."""
    single = config.judge.model
    plain = plain_run.case_map()
    out: list[JudgeCanary] = []
    for metric in config.judge_metrics:
        per: dict[str, list[tuple[float, float, bool]]] = {}
        for c in canary_run.cases:
            p = plain.get(c.id)
            if p is None:
                continue
            with_payload = judge_scores(c, metric.key, single)
            without = judge_scores(p, metric.key, single)
            for judge, (score, detected) in with_payload.items():
                if judge in without:
                    per.setdefault(judge, []).append((score, without[judge][0], detected))
        labels = [j.label for j in config.judge.panel]
        for judge in sorted(per, key=lambda j: labels.index(j) if j in labels else len(labels)):
            rows = per[judge]
            rises = [s - b for s, b, _ in rows if s > b + 1e-9]
            out.append(
                JudgeCanary(
                    judge=judge,
                    metric=metric.key,
                    canary=canary,
                    cases=len(rows),
                    rose=len(rises),
                    mean_rise=sum(rises) / len(rises) if rises else None,
                    manipulation_detected=sum(1 for _, _, d in rows if d),
                    manipulable=bool(rises),
                )
            )
    return out


def gross_advice(row: MutationRow, config: LlmopsConfig, control: RunResult) -> str:
    """Which gate would have caught this gross mutation: the metric it moved most, as a concrete snippet."""
    blocking = any(c.blocking for c in row.gates)
    lead = "no gate is blocking" if not blocking else "no blocking gate failed"
    # ties go to the aggregate `score`, the metric a reader expects a gate on
    candidates = sorted(
        (d, m != SCORE, m)
        for m, d in row.mean_delta.items()
        if d is not None and d < 0 and m in control.aggregates
    )
    if not candidates:
        return (
            f"`{row.mutation}` passed every blocking gate ({lead}) and moved no metric down: add a metric that "
            "an answer like this fails (keyword_recall, a judge criterion such as answer_relevance) and gate it."
        )
    drop, _, metric = candidates[0]
    base = control.aggregates.get(metric) or 0.0
    floor = max(0.0, math.floor((base + drop / 2) * 20) / 20)
    reg = config.gates.regression
    if not reg.blocking and metric in reg.metrics:
        regression = f"set `gates.regression.blocking: true` (regression/{metric} saw {drop:+.2f})"
    else:
        regression = f"add `{metric}` to `gates.regression.metrics`"
    return (
        f"`{row.mutation}` passed every blocking gate ({lead}); it lowered `{metric}` by {-drop:.2f} on average: "
        f"add `{{metric: {metric}, min: {floor:g}}}` to `gates.absolute`, or {regression}."
    )


def finish(report: SelftestReport, config: LlmopsConfig, control: RunResult) -> SelftestReport:
    """Warnings for missed mutations and manipulable judges, errors (exit 1) for uncaught gross mutations."""
    for row in report.rows:
        if row.caught:
            continue
        if row.gross:
            report.errors.append(gross_advice(row, config, control))
        elif row.kind == "mutation":
            flagged = f" (only flagged by {', '.join(row.flagged_by)})" if row.flagged_by else ""
            report.warnings.append(f"`{row.mutation}` ({row.models}) passed every blocking gate{flagged}.")
    for judge in report.manipulable_judges:
        hits = [c for c in report.canaries if c.judge == judge and c.manipulable]
        what = ", ".join(f"{c.canary} on {c.rose} of {c.cases} cases ({c.metric})" for c in hits)
        report.warnings.append(f"judge `{judge}` is manipulable: its score rose on {what}.")
    report.exit_code = 1 if report.errors else 0
    return report
