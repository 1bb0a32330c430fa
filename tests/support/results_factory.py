"""Realistic RunResult objects for tests: seeded, paired by case id, shaped like what the runner writes.

Each case has a latent difficulty shared by every run built with the same `case_seed`, so a base and a head
built from it are *paired* the way two evaluations of one dataset are. `shift` moves the head's judge and
keyword scores (a degraded prompt: shift=-0.25); `noise` is the judge's per-run noise.

    base = make_run(sha="a" * 40)
    head = make_run(sha="b" * 40, run_seed=2, shift=-0.25)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from llmops_action.core.results import (
    CaseResult,
    Counts,
    MetricAggregate,
    MetricScore,
    ModelInfo,
    PromptInfo,
    RunMeta,
    RunResult,
)

WEIGHTS = {"faithfulness": 0.6, "keyword_recall": 0.4}
KINDS = {"faithfulness": "score", "keyword_recall": "score", "json_valid": "pass_fail"}

RAG_SYSTEM = "You are a document search assistant. Answer only from the documents."
RAG_TEMPLATE = "# Documents\n{{ context }}\n# Question\n{{ question }}\n"
RAG_VARIABLES: list[dict[str, Any]] = [
    {"name": "context", "type": "string", "required": True},
    {"name": "question", "type": "string", "required": True},
]


def prompt_info(
    name: str = "rag_answer",
    version: str = "1.2.0",
    system: str = RAG_SYSTEM,
    template: str = RAG_TEMPLATE,
    variables: list[dict[str, Any]] | None = None,
) -> PromptInfo:
    """A PromptInfo whose hash is computed the way core/prompts.Prompt.content_hash computes it."""
    variables = RAG_VARIABLES if variables is None else variables
    content = {"system": system, "template": template, "variables": variables}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return PromptInfo(
        name=name, version=version, hash=digest[:16], system=system, template=template, variables=variables
    )


def _q(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else None


def aggregate(
    cases: list[CaseResult], kinds: dict[str, str] | None = None
) -> tuple[dict[str, MetricAggregate], dict[str, float | None]]:
    """Per-metric aggregates and the flat `aggregates` dict, from the cases (as the runner computes them)."""
    kinds = KINDS if kinds is None else kinds
    metrics: dict[str, MetricAggregate] = {}
    names = list(dict.fromkeys(m for c in cases for m in c.metrics))
    for name in names:
        scored = [
            c.metrics[name].score for c in cases if name in c.metrics and c.metrics[name].score is not None
        ]
        errors = sum(1 for c in cases if c.error or (name in c.metrics and c.metrics[name].error))
        vals = [float(s) for s in scored if s is not None]
        metrics[name] = MetricAggregate(
            mean=float(np.mean(vals)) if vals else None,
            n=len(vals),
            errors=errors,
            kind=kinds.get(name, "score"),  # type: ignore[arg-type]
            weight=WEIGHTS.get(name, 0.0),
            std=float(np.std(vals, ddof=1)) if len(vals) > 1 else None,
            p50=_q(vals, 50),
            p95=_q(vals, 95),
        )
    scores = [c.score for c in cases if c.score is not None]
    lat = [c.latency_ms for c in cases if c.latency_ms is not None]
    aggs: dict[str, float | None] = {k: v.mean for k, v in metrics.items()}
    aggs.update(
        score=float(np.mean(scores)) if scores else None,
        latency_p50_ms=_q(lat, 50),
        latency_p95_ms=_q(lat, 95),
        output_tokens_total=float(sum(c.output_tokens or 0 for c in cases)),
        input_tokens_total=float(sum(c.input_tokens or 0 for c in cases)),
        cost_usd=float(sum(c.cost_usd or 0.0 for c in cases)),
        error_rate=sum(1 for c in cases if c.error) / len(cases) if cases else None,
    )
    return metrics, aggs


def make_run(
    *,
    n: int = 40,
    case_seed: int = 0,
    run_seed: int = 1,
    shift: float = 0.0,
    noise: float = 0.05,
    sha: str = "a" * 40,
    branch: str = "main",
    suite: str = "default",
    config_hash: str = "cfg0000000000001",
    dataset_hash: str = "ds00000000000001",
    metrics_hash: str = "mt00000000000001",
    prompts: list[PromptInfo] | None = None,
    errors: Sequence[int] = (),
    output: Callable[[int, float], str] | None = None,
    latency_scale: float = 1.0,
    verdict: str = "pass",
) -> RunResult:
    """A run of `n` cases of the `rag_answer` prompt with a judge metric, keyword recall and a JSON check.

    `errors`: indices of cases whose generation failed (kept, with an error and no scores).
    `output(i, faithfulness) -> str`: the model output of case i (default: a plausible sentence).
    """
    latent = np.random.default_rng(case_seed).uniform(0.55, 0.95, size=n)
    rng = np.random.default_rng(run_seed)
    prompts = [prompt_info()] if prompts is None else prompts
    cases: list[CaseResult] = []
    for i in range(n):
        cid = f"q-{i:03d}"
        if i in errors:
            cases.append(
                CaseResult(
                    id=cid,
                    prompt="rag_answer",
                    prompt_version=prompts[0].version if prompts else None,
                    vars={"question": f"question {i}?", "context": f"document {i}"},
                    reference=f"the answer is {round(latent[i] * 100)}",
                    error="ProviderError: 503 UNAVAILABLE after 4 attempts",
                    metrics={m: MetricScore(skipped="generation failed") for m in KINDS},
                )
            )
            continue
        faith = float(np.clip(np.round((latent[i] + shift + rng.normal(0, noise)) * 4) / 4, 0.0, 1.0))
        recall = float(np.clip(latent[i] + shift / 2 + rng.normal(0, noise), 0.0, 1.0))
        valid = bool(rng.uniform() < latent[i] + shift)
        text = (
            output(i, faith)
            if output
            else f"According to document {i}, the answer is {round(latent[i] * 100)}."
        )
        out_tokens = int(20 + rng.integers(0, 40))
        cases.append(
            CaseResult(
                id=cid,
                prompt="rag_answer",
                prompt_version=prompts[0].version if prompts else None,
                tags=["golden"] if i % 5 == 0 else [],
                vars={"question": f"question {i}?", "context": f"document {i}"},
                reference=f"the answer is {round(latent[i] * 100)}",
                output=text,
                finish_reason="STOP",
                latency_ms=float(rng.gamma(4.0, 120.0) * latency_scale),
                input_tokens=int(150 + rng.integers(0, 50)),
                output_tokens=out_tokens,
                cost_usd=out_tokens * 2.5e-6,
                cache_hit=bool(i % 7 == 0),
                judge_cache_hits=1 if i % 9 == 0 else 0,
                metrics={
                    "faithfulness": MetricScore(
                        score=faith,
                        details={
                            "reasoning": f"Claims in case {i} are {'fully' if faith >= 0.75 else 'partly'} supported.",
                            "raw": 1 + faith * 4,
                        },
                    ),
                    "keyword_recall": MetricScore(score=recall),
                    "json_valid": MetricScore(score=1.0 if valid else 0.0, passed=valid),
                },
                score=WEIGHTS["faithfulness"] * faith + WEIGHTS["keyword_recall"] * recall,
            )
        )
    metrics, aggs = aggregate(cases)
    run = RunMeta(
        suite=suite,
        tool_version="0.1.0",
        config_hash=config_hash,
        dataset_hash=dataset_hash,
        metrics_hash=metrics_hash,
        git_sha=sha,
        git_branch=branch,
        event="pull_request",
        prompts=prompts,
        provider=ModelInfo(type="gemini", model="gemini-2.5-flash", model_version="gemini-2.5-flash-001"),
        judge=ModelInfo(type="gemini", model="gemini-2.5-pro", model_version="gemini-2.5-pro-002"),
        started_at="2025-01-01T00:00:00Z",
        finished_at="2025-01-01T00:02:00Z",
    )
    return RunResult(
        run=run,
        cases=cases,
        metrics=metrics,
        aggregates=aggs,
        counts=Counts(
            cases=n,
            errors=len(errors),
            cache_hits=sum(c.cache_hit for c in cases),
            judge_cache_hits=sum(c.judge_cache_hits for c in cases),
            judge_calls=n - len(errors),
        ),
        verdict=verdict,  # type: ignore[arg-type]
    )


def with_outputs(run: RunResult, outputs: dict[str, str]) -> RunResult:
    """A copy of `run` whose cases (by id) carry the given outputs, e.g. adversarial text for report tests."""
    cases = [c.model_copy(update={"output": outputs.get(c.id, c.output)}) for c in run.cases]
    return run.model_copy(update={"cases": cases})
