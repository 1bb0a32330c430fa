"""RunResult: everything one evaluation produced, and its JSON form (`results.json`).

A case that failed is kept with its error; a metric that could not be computed carries an error or
a skip reason and no score. Nothing here invents a neutral value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from llmops_action.core.documents import read_document, write_atomic
from llmops_action.core.textfile import read_text

RESULTS_SCHEMA_VERSION = 1
RESULTS_KIND = "llmops.run"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PromptInfo(_Model):
    name: str
    version: str
    hash: str
    system: str = ""
    template: str = ""
    variables: list[dict[str, Any]] = Field(default_factory=list)


class ModelInfo(_Model):
    type: str
    model: str | None = None
    model_version: str | None = None


class RunMeta(_Model):
    suite: str
    tool_version: str
    config_hash: str
    dataset_hash: str
    metrics_hash: str
    git_sha: str | None = None
    git_branch: str | None = None
    event: str | None = None
    pr_number: int | None = None
    prompts: list[PromptInfo] = Field(default_factory=list)
    provider: ModelInfo
    judge: ModelInfo | None = None
    started_at: str
    finished_at: str
    shard: str | None = None


class MetricScore(_Model):
    """One metric on one case: a score in [0, 1], or an error, or a skip reason. Never two of them."""

    score: float | None = None
    error: str | None = None
    skipped: str | None = None
    passed: bool | None = None  # for pass/fail metrics (McNemar)
    details: dict[str, Any] = Field(default_factory=dict)  # e.g. judge reasoning, samples, spread, raw value


class CaseResult(_Model):
    id: str
    prompt: str
    prompt_version: str | None = None
    tags: list[str] = Field(default_factory=list)
    vars: dict[str, Any] = Field(default_factory=dict)
    reference: str | None = None
    keywords: list[str] = Field(default_factory=list)  # the case's expected keywords (MLflow expectations)
    input_hash: str | None = None  # of vars, reference, keywords, contexts: cases pair by id and by this
    output: str | None = None
    error: str | None = None  # generation failed; metrics then carry no score
    finish_reason: str | None = None
    blocked: str | None = None  # promptFeedback.blockReason
    latency_ms: float | None = None
    render_ms: float | None = None  # rendering the prompt (a span of the case's MLflow trace)
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None  # the app's generation; the judge's is apart: it is the evaluation's cost
    judge_cost_usd: float | None = None
    cache_hit: bool = False
    judge_cache_hits: int = 0
    metrics: dict[str, MetricScore] = Field(default_factory=dict)
    score: float | None = None  # weighted aggregate; None when any weighted metric lacks a score


class MetricAggregate(_Model):
    mean: float | None = None
    n: int = 0
    errors: int = 0
    skipped: str | None = None
    kind: Literal["score", "pass_fail", "info"] = "score"
    weight: float = 0.0
    std: float | None = None
    p50: float | None = None
    p95: float | None = None
    # Weighted metrics left out of this aggregate, with why (e.g. `score` without the judge offline).
    excluded: dict[str, str] = Field(default_factory=dict)


class GateResult(_Model):
    """A gate's outcome. Stable `name` so statuses and history can follow it across runs."""

    name: str
    family: Literal["quality", "regression", "drift"]
    metric: str
    status: Literal["pass", "warn", "fail", "skipped"]
    blocking: bool = True
    op: str | None = None  # ">=", "<=", "delta", "psi"
    threshold: float | None = None
    value: float | None = None
    base: float | None = None
    delta: float | None = None
    ci: tuple[float, float] | None = None
    p_value: float | None = None
    alpha: float | None = None  # the significance level the rule also requires (regression, drift)
    min_delta: float | None = None  # the absolute growth the rule also requires (latency floor)
    reason: str = ""


class Counts(_Model):
    cases: int = 0
    errors: int = 0
    cache_hits: int = 0
    judge_cache_hits: int = 0
    judge_calls: int = 0


class CallStats(_Model):
    """What the provider and judge calls cost against the server's quota (issue 13)."""

    requests: int = 0  # sent, retries included
    throttled: int = 0  # answered 429, or 503 with a retry hint
    retries: int = 0
    free_retries: int = 0  # refusals with a retry hint retried without spending an attempt
    rate_cuts: int = 0
    waited_s: float = 0.0  # cool-downs, pacing and backoff, summed over workers
    allowed_rpm: float | None = None  # the rate the server allowed at the end, when it ever refused


class RunResult(_Model):
    schema_version: int = RESULTS_SCHEMA_VERSION
    kind: str = RESULTS_KIND
    run: RunMeta
    cases: list[CaseResult]
    metrics: dict[str, MetricAggregate] = Field(default_factory=dict)
    aggregates: dict[str, float | None] = Field(
        default_factory=dict,
        description="Flat values gates can name: each metric's mean, score, latency_p50_ms, latency_p95_ms, "
        "output_tokens_total, input_tokens_total, cost_usd, error_rate.",
    )
    counts: Counts = Field(default_factory=Counts)
    calls: CallStats | None = None
    gates: list[GateResult] = Field(default_factory=list)
    verdict: Literal["pass", "warn", "fail", "incomplete"] = "pass"

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    def write(self, path: str | Path) -> Path:
        """Write atomically: a crash never leaves a half-written file."""
        return write_atomic(path, self.to_json())

    @classmethod
    def from_json(cls, text: str, source: str = "results.json") -> RunResult:
        return read_document(cls, text, source, kind=RESULTS_KIND, schema_version=RESULTS_SCHEMA_VERSION)

    @classmethod
    def read(cls, path: str | Path) -> RunResult:
        p = Path(path)
        return cls.from_json(read_text(p, "results file"), str(p))

    def case_map(self) -> dict[str, CaseResult]:
        return {c.id: c for c in self.cases}
