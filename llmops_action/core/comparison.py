"""Comparison: a head RunResult against a base, with statistics, drift, gates and prompt diffs.

The PR comment, the job summary, comparison.json and junit.xml are all rendered from this one object.
Built by core/compare.py; this module only holds the data shapes and their JSON form.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from llmops_action.core.documents import read_document, write_atomic
from llmops_action.core.results import GateResult

COMPARISON_SCHEMA_VERSION = 1
COMPARISON_KIND = "llmops.comparison"

Decision = Literal["pass", "warn", "block"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunRef(_Model):
    sha: str | None = None
    branch: str | None = None
    config_hash: str | None = None
    dataset_hash: str | None = None
    metrics_hash: str | None = None
    judge_model: str | None = None
    judge_model_version: str | None = None
    provider_model: str | None = None
    cases: int = 0
    errors: int = 0


class MetricDelta(_Model):
    name: str
    kind: Literal["score", "pass_fail", "info"] = "score"
    gated: bool = False
    base_mean: float | None = None
    head_mean: float | None = None
    delta: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_method: str | None = None  # the test, whose inversion the interval is: "t" | "sign-flip" | "none"
    confidence: float | None = None  # of the two-sided interval, 1 - 2 alpha: each end is a one-sided bound
    detectable: bool = True  # False: the test cannot reach alpha at this n; the practical threshold decides
    p_value: float | None = None  # one-sided (head < base): paired t-test, or sign-flip test below n = 20
    p_adjusted: float | None = None  # Holm across gated metrics
    mcnemar_p: float | None = None
    n_paired: int = 0
    improved: int = 0
    regressed: int = 0
    unchanged: int = 0
    mde: float | None = None
    decision: Decision = "pass"
    note: str = ""  # e.g. "insufficient data", "skipped: no judge credentials"


class DriftBin(_Model):
    label: str
    base_frac: float
    head_frac: float
    contribution: float


class DriftSignal(_Model):
    signal: str
    kind: Literal["numeric", "categorical"]
    psi: float | None = None
    psi_adjusted: float | None = None
    p_value: float | None = None
    p_method: Literal["chi2", "permutation"] | None = None
    status: Literal["ok", "warning", "critical", "skipped"] = "ok"
    blocking: bool = False
    n_base: int = 0
    n_head: int = 0
    bins: list[DriftBin] = Field(default_factory=list)
    top_bin: str | None = None
    note: str = ""


class PromptChange(_Model):
    name: str
    status: Literal["added", "removed", "changed"]
    old_version: str | None = None
    new_version: str | None = None
    old_hash: str | None = None
    new_hash: str | None = None
    diff: str = ""  # unified diff of system, template and variables
    version_unchanged: bool = False  # content changed but the version did not: a warning


class CaseDelta(_Model):
    id: str
    prompt: str
    metric: str
    base_score: float | None
    head_score: float | None
    delta: float | None
    base_output: str | None = None
    head_output: str | None = None
    judge_reason: str | None = None
    head_error: str | None = None
    # what the reviewer needs beside the outputs: the question, the expected answer, the head's judgement
    vars: dict[str, Any] = Field(default_factory=dict)
    reference: str | None = None
    judge_metric: str | None = None
    judge_score: float | None = None


class UsageSummary(_Model):
    cases: int = 0
    errors: int = 0
    cost_usd: float | None = None
    input_tokens: int | None = None  # None: no case reported tokens (an app through the python provider)
    output_tokens: int | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    cache_hits: int = 0
    judge_cache_hits: int = 0


class TrendPoint(_Model):
    label: str  # e.g. "main@abc1234" or "PR #12"
    sha: str | None = None
    score: float | None = None


class CaseChanges(_Model):
    """Cases that are not paired: added to or removed from the dataset, or paired by id with other inputs."""

    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    changed: list[str] = Field(default_factory=list)
    removed_base_mean: float | None = None  # of the case metric, over the removed cases the base scored
    changed_base_mean: float | None = None


class MeasurementPreview(_Model):
    """Both sides under the head's measurement: what the change will mean after merge. Informational."""

    changes: list[str] = Field(default_factory=list)
    verdict: Literal["pass", "warn", "fail", "incomplete"] = "pass"
    gates: list[GateResult] = Field(default_factory=list)
    metrics: list[MetricDelta] = Field(default_factory=list)
    paired_cases: int = 0
    note: str = ""


class Comparison(_Model):
    schema_version: int = COMPARISON_SCHEMA_VERSION
    kind: str = COMPARISON_KIND
    suite: str
    head: RunRef
    base: RunRef | None = None  # None: no baseline was found or evaluated
    base_source: Literal["stored", "ancestor", "rerun", "given", "none"] = "none"
    like_for_like: bool = False
    not_comparable: list[str] = Field(default_factory=list)  # why not like-for-like
    verdict: Literal["pass", "warn", "fail", "incomplete"] = "pass"
    gates: list[GateResult] = Field(default_factory=list)
    metrics: list[MetricDelta] = Field(default_factory=list)
    drift: list[DriftSignal] = Field(default_factory=list)
    prompt_changes: list[PromptChange] = Field(default_factory=list)
    worst_cases: list[CaseDelta] = Field(default_factory=list)
    usage_base: UsageSummary | None = None
    usage_head: UsageSummary = Field(default_factory=UsageSummary)
    score_distribution: dict[str, list[float]] = Field(
        default_factory=dict
    )  # {"base": [...], "head": [...]} per-case scores
    trend: list[TrendPoint] = Field(default_factory=list)
    links: dict[str, str] = Field(default_factory=dict)  # "workflow_run", "mlflow_run"
    paired_cases: int = 0
    only_head: int = 0
    only_base: int = 0
    # One measurement scores both sides: "base" (the base branch's config), or "given" (compare's --config).
    measurement: str = "given"
    case_changes: CaseChanges = Field(default_factory=CaseChanges)
    score_left_out: dict[str, str] = Field(default_factory=dict)  # weighted metrics one side lacks, and why
    head_errors_on_scored: int = 0  # paired cases the base scored and the head could not (errors)
    head_measurement: MeasurementPreview | None = None
    warnings: list[str] = Field(default_factory=list)
    # The trust policy's word on this run (core/trust.py): which config governed ("first run: ..."), keys
    # withheld, results a fork supplied and nobody verified. Shown, never gated on.
    trust_notes: list[str] = Field(default_factory=list)
    # What the PR changes in the gates, max_error_rate, baseline, judge, metrics or drift: the base's governed
    # this run; these take effect after merge.
    gate_changes: list[str] = Field(default_factory=list)
    extra: dict[str, Any] = Field(default_factory=dict)

    def gate_families(self) -> dict[str, Literal["pass", "warn", "fail", "skipped"]]:
        """Worst status per family (quality, regression, drift): what the commit statuses show."""
        order = {"skipped": 0, "pass": 1, "warn": 2, "fail": 3}
        out: dict[str, Literal["pass", "warn", "fail", "skipped"]] = {}
        for fam in ("quality", "regression", "drift"):
            statuses = [
                g.status for g in self.gates if g.family == fam and (g.blocking or g.status != "fail")
            ]
            statuses += [
                "warn" for g in self.gates if g.family == fam and not g.blocking and g.status == "fail"
            ]
            out[fam] = max(statuses, key=order.__getitem__) if statuses else "skipped"
        return out

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    def write(self, path: str | Path) -> Path:
        """Write atomically: a crash never leaves a half-written file."""
        return write_atomic(path, self.to_json())

    @classmethod
    def from_json(cls, text: str, source: str = "comparison.json") -> Comparison:
        return read_document(
            cls, text, source, kind=COMPARISON_KIND, schema_version=COMPARISON_SCHEMA_VERSION
        )
