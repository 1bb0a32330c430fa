"""Small real RunResults for baseline-store tests (no evaluation needed)."""

from __future__ import annotations

from llmops_action.core.results import CaseResult, MetricAggregate, MetricScore, ModelInfo, RunMeta, RunResult


def make_run(
    sha: str,
    *,
    suite: str = "default",
    config_hash: str = "cfg0000000000001",
    score: float = 0.8,
    n: int = 3,
    shard: str | None = None,
    verdict: str = "pass",
) -> RunResult:
    cases = [
        CaseResult(
            id=f"c{i}",
            prompt="answer",
            output=f"output {i} for {sha[:7]}",
            metrics={"contains": MetricScore(score=score, passed=score >= 0.5)},
            score=score,
        )
        for i in range(n)
    ]
    meta = RunMeta(
        suite=suite,
        tool_version="test",
        config_hash=config_hash,
        dataset_hash="d" * 16,
        metrics_hash="m" * 16,
        git_sha=sha,
        provider=ModelInfo(type="python"),
        started_at="2025-01-01T00:00:00Z",
        finished_at="2025-01-01T00:00:01Z",
        shard=shard,
    )
    return RunResult(
        run=meta,
        cases=cases,
        metrics={"contains": MetricAggregate(mean=score, n=n, weight=1.0)},
        aggregates={"score": score, "contains": score},
        verdict=verdict,  # type: ignore[arg-type]
    )


def fake_sha(i: int) -> str:
    return f"{i:040x}"
