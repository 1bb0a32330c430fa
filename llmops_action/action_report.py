"""The Action's report mode: a trusted `workflow_run` posts what a fork's pull-request run produced.

The artifact is untrusted: size limits, schema validation, and a head sha that must match what GitHub (not
the artifact) says; the comment is re-rendered from the validated comparison, never taken as written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from llmops_action.action import Context, exit_code
from llmops_action.action_flows import (
    PR_FILE,
    Statuses,
    comparison_outputs,
    make_client,
)
from llmops_action.action_io import append_summary
from llmops_action.core.comparison import Comparison
from llmops_action.errors import EXIT_OK, UserInputError

MAX_ARTIFACT_FILE = 10 * 1024 * 1024
MAX_ARTIFACT_TOTAL = 50 * 1024 * 1024


def _read_untrusted(folder: Path, name: str, limit: int = MAX_ARTIFACT_FILE) -> str | None:
    path = folder / name
    if not path.exists():
        return None
    if path.is_symlink() or not path.is_file():
        raise UserInputError(
            "must be a regular file (links are refused in an untrusted artifact)", file=str(path)
        )
    if path.stat().st_size > limit:
        raise UserInputError(
            f"is over the {limit // (1024 * 1024)} MiB limit for an artifact file", file=str(path)
        )
    return path.read_text(encoding="utf-8", errors="strict")


def load_artifact(folder: Path) -> tuple[Comparison, dict[str, Any]]:
    """Validate a PR run's artifact as untrusted input: sizes, no links, comparison.json's schema."""
    from llmops_action.core.comparison import Comparison

    if not folder.is_dir():
        raise UserInputError(
            "the artifact folder does not exist",
            file=str(folder),
            key="artifact-path",
            hint="Download the PR run's artifact first (actions/download-artifact with run-id).",
        )
    total = sum(p.lstat().st_size for p in folder.rglob("*"))
    if total > MAX_ARTIFACT_TOTAL:
        raise UserInputError(f"the artifact is {total} bytes, over the limit", file=str(folder))
    text = _read_untrusted(folder, "comparison.json")
    if text is None:
        raise UserInputError(
            "comparison.json is missing from the artifact", file=str(folder), key="artifact-path"
        )
    comparison = Comparison.from_json(text, source=str(folder / "comparison.json"))
    pr_text = _read_untrusted(folder, PR_FILE, limit=64 * 1024)
    meta: dict[str, Any] = {}
    if pr_text:
        try:
            loaded = json.loads(pr_text)
        except json.JSONDecodeError:
            loaded = {}
        meta = loaded if isinstance(loaded, dict) else {}
    return comparison, meta


def report_flow(ctx: Context) -> int:
    from llmops_action.core.report.render import comment_marker, render_comment

    inputs = ctx.inputs
    if not inputs.github_token:
        raise UserInputError(
            "mode: report posts the comment and statuses, so it needs a token", key="github-token"
        )
    folder = Path(inputs.artifact_path) if inputs.artifact_path else ctx.out_dir
    folder = folder if folder.is_absolute() else ctx.workspace / folder
    comparison, meta = load_artifact(folder)
    run = ctx.payload.get("workflow_run") or {}
    trusted_head = run.get("head_sha")  # from GitHub's event, not from the artifact
    claimed = comparison.head.sha
    if trusted_head and claimed != trusted_head:
        raise UserInputError(
            f"the artifact says head {claimed}, but the workflow run was for {trusted_head}: refusing it",
            file=str(folder / "comparison.json"),
        )
    number = _report_pr_number(inputs.pr_number, run, meta)
    client = make_client(ctx)
    pull = client.pull(number)
    if pull.base_repo and ctx.repo and pull.base_repo != ctx.repo:
        raise UserInputError(f"PR #{number} belongs to {pull.base_repo}, not {ctx.repo}", key="pr-number")
    if claimed != pull.head_sha:
        ctx.console.notice(
            f"PR #{number} is now at {pull.head_sha}, the artifact is for {claimed}: nothing posted "
            "(the newer commit's run will report)."
        )
        return EXIT_OK
    target = run.get("html_url") or ctx.run_url
    statuses = Statuses(client if inputs.status else None, claimed, target)
    try:
        statuses.pending()
        # Never post the artifact's comment.md: re-render from the validated comparison (escapes untrusted text).
        body = render_comment(comparison)
        if inputs.comment:
            posted = client.upsert_comment(
                number, body, comment_marker(comparison.suite), evaluated_sha=claimed
            )
            ctx.outputs["comment-url"] = posted.url or ""
        comparison_outputs(ctx, comparison, None, None)
        append_summary(ctx.env.get("GITHUB_STEP_SUMMARY"), body, ctx.console)
        families = comparison.gate_families()
        statuses.final(families, comparison.gates, comparison.verdict)
        return exit_code(families, comparison.verdict, inputs.fail_on)
    finally:
        statuses.crash("posting the report failed; see the workflow log")


def _report_pr_number(given: str, run: Mapping[str, Any], meta: Mapping[str, Any]) -> int:
    if given:
        return int(given)
    prs = run.get("pull_requests") or []
    if prs and isinstance(prs[0], dict) and prs[0].get("number"):
        return int(prs[0]["number"])
    # Fork PRs leave workflow_run.pull_requests empty; the artifact's pr.json is untrusted, but the head sha
    # check against the API (PR head == workflow_run.head_sha) rejects a number that points elsewhere.
    number = meta.get("number")
    if isinstance(number, int) and number > 0:
        return number
    raise UserInputError("cannot tell which pull request this artifact belongs to", key="pr-number")
