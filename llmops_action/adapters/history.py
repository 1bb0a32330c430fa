"""Recent runs from the tracking store: the `history` command and the score trend in the PR comment.

Reads whatever store tracking writes to (tracking.uri, MLFLOW_TRACKING_URI, else the project's embedded
sqlite file, `.llmops/mlflow.db` beside the config: pass that folder as `out_dir`). An embedded store
that does not exist yet means "no history", and is not created by reading it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmops_action.adapters.tracking import (
    client_for,
    experiment_name,
    is_embedded,
    mlflow_env,
    public_uri,
    resolve_uri,
    run_url,
)

if TYPE_CHECKING:
    from llmops_action.core.comparison import TrendPoint
    from llmops_action.core.config import TrackingConfig
    from llmops_action.core.results import RunResult

# Operational figures, not quality metrics: left out of a row's "top metrics".
_NOT_QUALITY = {
    "score",
    "latency_p50_ms",
    "latency_p95_ms",
    "input_tokens_total",
    "output_tokens_total",
    "tokens_total",
    "cost_usd",
    "error_rate",
    "cases",
    "errors",
    "cache_hits",
}


@dataclass(frozen=True)
class HistoryRow:
    run_id: str
    run_name: str
    sha: str | None
    branch: str | None
    pr_number: int | None
    event: str | None
    started_at: str
    score: float | None
    verdict: str | None
    metrics: dict[str, float] = field(default_factory=dict)  # quality metrics' means
    url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _embedded_missing(uri: str) -> bool:
    return is_embedded(uri) and not Path(uri.removeprefix("sqlite:///")).is_file()


def recent_runs(
    cfg: TrackingConfig,
    out_dir: Path,
    *,
    suite: str,
    branch: str | None = None,
    n: int = 10,
    repo: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[HistoryRow]:
    """The newest `n` runs of this repository and suite (of one branch when given), newest first.

    Raises whatever mlflow raises (the `history` command reports it); `recent_trend` never raises.
    """
    uri = resolve_uri(cfg, out_dir, environ)
    if _embedded_missing(uri):
        return []
    with mlflow_env(environ):
        client = client_for(uri)
        exp = client.get_experiment_by_name(
            experiment_name(cfg, suite, repo=repo, environ=environ, store=out_dir)
        )
        if exp is None:
            return []
        clauses = ["tags.`llmops.suite` = '{}'".format(suite.replace("'", ""))]
        # A branch name may hold a quote; then filter here rather than build a filter string from it.
        exact = branch is not None and "'" not in branch and "\\" not in branch
        if exact:
            clauses.append(f"tags.`llmops.branch` = '{branch}'")
        runs = client.search_runs(
            [exp.experiment_id],
            " and ".join(clauses),
            max_results=n if (exact or branch is None) else 1000,
            order_by=["attributes.start_time DESC"],
        )
    rows = [_row(r, uri) for r in runs]
    if branch is not None and not exact:
        rows = [r for r in rows if r.branch == branch][:n]
    return rows


def _row(run: Any, uri: str) -> HistoryRow:
    tags, metrics = run.data.tags, run.data.metrics
    pr = tags.get("llmops.pr_number")
    started = datetime.fromtimestamp((run.info.start_time or 0) / 1000, UTC).isoformat(timespec="seconds")
    quality = {
        k: v
        for k, v in sorted(metrics.items())
        if k not in _NOT_QUALITY and not k.startswith(("drift.", "delta."))
    }
    return HistoryRow(
        run_id=run.info.run_id,
        run_name=run.info.run_name or "",
        sha=tags.get("llmops.sha"),
        branch=tags.get("llmops.branch"),
        pr_number=int(pr) if pr and pr.isdigit() else None,
        event=tags.get("llmops.event"),
        started_at=started,
        score=metrics.get("score"),
        verdict=tags.get("llmops.verdict"),
        metrics=quality,
        url=run_url(uri, run.info.experiment_id, run.info.run_id),
    )


def trend_points(rows: list[HistoryRow], *, branch: str, n: int = 10) -> list[TrendPoint]:
    """Oldest first: one point per commit of `branch` (its newest run), PR runs and unscored runs left out."""
    from llmops_action.core.comparison import TrendPoint

    seen: set[str] = set()
    points: list[TrendPoint] = []
    for r in rows:  # newest first
        if r.pr_number is not None or r.score is None or r.branch != branch:
            continue
        key = r.sha or r.run_id
        if key in seen:
            continue
        seen.add(key)
        points.append(TrendPoint(label=f"{branch}@{(r.sha or '')[:7]}", sha=r.sha, score=r.score))
        if len(points) == n:
            break
    return points[::-1]


def head_point(head: RunResult) -> TrendPoint:
    from llmops_action.core.comparison import TrendPoint

    meta = head.run
    sha7 = (meta.git_sha or "")[:7]
    label = f"PR #{meta.pr_number}" if meta.pr_number is not None else f"{meta.git_branch or 'local'}@{sha7}"
    return TrendPoint(label=label, sha=meta.git_sha, score=head.aggregates.get("score"))


def recent_trend(
    cfg: TrackingConfig,
    out_dir: Path,
    *,
    suite: str,
    branch: str,
    n: int = 10,
    repo: str | None = None,
    head: RunResult | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[TrendPoint]:
    """The aggregate score of the last `n` runs of `branch` (oldest first), then `head` when given.

    For the PR comment's chart: never raises and never imports mlflow when tracking is off.
    """
    points: list[TrendPoint] = []
    if cfg.enabled:
        try:
            rows = recent_runs(cfg, out_dir, suite=suite, branch=branch, n=n * 5, repo=repo, environ=environ)
            points = trend_points(rows, branch=branch, n=n)
        except Exception as exc:  # a chart is not worth failing a report for
            uri = public_uri(resolve_uri(cfg, out_dir, environ))
            print(f"llmops-action: warning: no score trend from {uri}: {type(exc).__name__}", file=sys.stderr)
    if head is not None:
        points.append(head_point(head))
    return points
