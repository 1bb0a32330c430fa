"""The Action's side of a Review: commit statuses, the sticky comment, outputs, annotations, the summary.

Commit statuses go pending first and always end in a final state: `Statuses.crash` (called from a
`finally`) turns a crash into `error`, so a required check never hangs on "pending" by accident. A review
that is pending on purpose (a fork's code needs a maintainer) ends pending, with that sentence.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from llmops_action.action.context import Context
from llmops_action.action.io import append_summary
from llmops_action.core.statuses import FAMILIES, error_statuses
from llmops_action.errors import LlmopsError

if TYPE_CHECKING:
    from llmops_action.adapters.github import GitHubClient
    from llmops_action.core.comparison import Comparison
    from llmops_action.core.results import RunResult
    from llmops_action.core.statuses import Statuses as StatusMap
    from llmops_action.review_types import Review

REPORT_MODE_HELP = (
    "To post the comment and statuses on fork pull requests, add the report-mode pair: a `workflow_run` "
    "workflow runs llmops-action with `mode: report`, which evaluates the fork's prompts and datasets as data "
    "under the base's config (see examples/workflows/llmops-report.yml and README.md#forks)."
)


def make_client(ctx: Context) -> GitHubClient:
    from llmops_action.adapters.github import GitHubClient, RetryPolicy

    env = ctx.env
    policy = RetryPolicy(
        backoff=float(env.get("LLMOPS_GITHUB_BACKOFF", "1.0")),
        max_wait=float(env.get("LLMOPS_GITHUB_MAX_WAIT", "120")),
    )
    throttle = env.get("LLMOPS_GITHUB_THROTTLE", "true").lower() != "false"
    return GitHubClient(
        ctx.inputs.github_token,
        ctx.repo,
        api_url=env.get("GITHUB_API_URL") or "https://api.github.com",
        policy=policy,
        seconds_between_requests=0.25 if throttle else None,
        seconds_between_writes=1.0 if throttle else None,
    )


class Statuses:
    """The three llmops/* statuses of one commit: pending, then exactly one final state each."""

    def __init__(self, client: GitHubClient | None, sha: str, target_url: str | None) -> None:
        self.client, self.sha, self.target_url = client, sha, target_url
        self.open = False

    def pending(self) -> None:
        if self.client is None:
            return
        self.open = True  # before the call: a crash between two POSTs still gets its final `error`
        self.client.set_statuses(
            self.sha, {f: ("pending", f"llmops {f}: evaluating") for f in FAMILIES}, self.target_url
        )

    def final(self, states: StatusMap) -> None:
        if self.client is None or not states:
            return
        self.client.set_statuses(self.sha, dict(states), self.target_url)
        self.open = False

    def crash(self, why: str) -> None:
        """The `finally` path: never leave a pending status behind, never raise over the real error."""
        if self.client is None or not self.open:
            return
        with contextlib.suppress(LlmopsError):
            self.client.set_statuses(self.sha, dict(error_statuses(why)), self.target_url)
        self.open = False


def check_status_permission(statuses: Statuses) -> str | None:
    """Set pending; a token that cannot write statuses means report-only. Returns why, or None."""
    from llmops_action.adapters.github import GitHubPermissionError

    try:
        statuses.pending()
    except GitHubPermissionError as exc:
        statuses.open = False
        return f"the token cannot write ({exc.permission} is missing)"
    return None


def comparison_outputs(ctx: Context, c: Comparison, head: RunResult | None, results: Path | None) -> None:
    score = head.aggregates.get("score") if head is not None else None
    delta = next((m.delta for m in c.metrics if m.name == "score"), None)
    psis = [d.psi_adjusted for d in c.drift if d.psi_adjusted is not None]  # the value the drift rule uses
    ctx.outputs.update(
        {
            "verdict": c.verdict,
            "score": num(score),
            "score-delta": num(delta),
            "psi-max": num(max(psis) if psis else None),
            "results-path": rel(ctx, results),
        }
    )
    ctx.outputs.setdefault("comment-url", "")


def review_outputs(ctx: Context, review: Review) -> None:
    """Outputs, job summary and annotations of a review (pending ones included)."""
    if review.comparison is None:
        ctx.outputs.update({"verdict": review.verdict, "score": "", "score-delta": "", "psi-max": ""})
        ctx.outputs.setdefault("comment-url", "")
        ctx.outputs.setdefault("results-path", "")
        if review.comment:
            append_summary(ctx.env.get("GITHUB_STEP_SUMMARY"), review.comment, ctx.console)
        if review.pending:
            ctx.console.warning(f"{review.pending} ({review.trust.reason})", title="llmops-action: pending")
        return
    comparison_outputs(ctx, review.comparison, review.head, review.files.get("results"))
    summarize(ctx, review.files)
    annotate(ctx, review.comparison)


def num(x: float | None) -> str:
    return "" if x is None else f"{x:.4f}"


def rel(ctx: Context, p: Path | None) -> str:
    if p is None:
        return ""
    try:
        return p.resolve().relative_to(ctx.workspace.resolve()).as_posix()
    except ValueError:
        return str(p)


def annotate(ctx: Context, c: Comparison) -> None:
    config_file = rel(ctx, ctx.config_path)
    for g in c.gates:
        if g.status == "fail" and g.blocking:
            ctx.console.error(
                f"gate {g.name} failed: {g.reason}", file=config_file, title=f"llmops {g.family}"
            )
        elif g.status in ("warn", "fail"):
            ctx.console.warning(f"gate {g.name}: {g.reason}", file=config_file, title=f"llmops {g.family}")
    for w in c.warnings:
        ctx.console.warning(w, title="llmops-action")
    for change in c.gate_changes:
        ctx.console.notice(f"takes effect after merge: {change}", title="llmops-action: gate change")


def summarize(ctx: Context, files: Mapping[str, Path]) -> None:
    summary = files.get("summary")
    if summary is not None and summary.is_file():
        append_summary(ctx.env.get("GITHUB_STEP_SUMMARY"), summary.read_text(encoding="utf-8"), ctx.console)


def post_comment(ctx: Context, client: GitHubClient, number: int, review: Review) -> bool:
    """Create or update the sticky comment; False when the token may not (the caller exits 2)."""
    from llmops_action.adapters.github import GitHubPermissionError
    from llmops_action.core.report.render import comment_marker

    if not review.comment:
        return True
    try:
        posted = client.upsert_comment(
            number, review.comment, comment_marker(review.suite or "default"), evaluated_sha=review.head_sha
        )
    except GitHubPermissionError as exc:
        ctx.console.error(exc.format(), title="llmops-action: permission")
        return False
    ctx.outputs["comment-url"] = posted.url or ""
    if posted.action == "skipped-stale":
        ctx.console.notice(
            f"The PR head moved to {posted.current_head} after this run evaluated {review.head_sha}: "
            "the comment was left for the newer run."
        )
    return True
