"""The Action's report mode: a trusted `workflow_run` reviews a fork's pull request itself.

It never sets a status from what the fork's run wrote. It evaluates the fork's prompts and datasets as data
(git objects at the fork's head sha: nothing of the fork is checked out or run) under the base's config, and
the statuses come from that evaluation (core/trust.py). A config that needs the fork's code (python,
command) is not evaluated: quality and regression stay pending, "needs a maintainer". The fork run's
artifact is optional and untrusted: size limits, schema, a head sha that must match what GitHub says; its
figures appear in the comment as "supplied by the fork, unverified", never as a status.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from llmops_action.action.context import PR_FILE, Context, exit_code, head_as_data, services_for
from llmops_action.action.publish import Statuses, make_client, post_comment, review_outputs
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
    from llmops_action.review import review_pull_request

    inputs = ctx.inputs
    if not inputs.github_token:
        raise UserInputError(
            "mode: report posts the comment and statuses, so it needs a token", key="github-token"
        )
    facts = ctx.facts
    run = ctx.payload.get("workflow_run") or {}
    trusted_head = facts.head_sha  # from GitHub's event, not from the artifact
    artifact, meta = _artifact(ctx, trusted_head)
    number = _report_pr_number(inputs.pr_number, run, meta)
    client = make_client(ctx)
    pull = client.pull(number)
    if pull.base_repo and ctx.repo and pull.base_repo != ctx.repo:
        raise UserInputError(f"PR #{number} belongs to {pull.base_repo}, not {ctx.repo}", key="pr-number")
    head_sha = trusted_head or pull.head_sha
    if head_sha != pull.head_sha:
        ctx.console.notice(
            f"PR #{number} is now at {pull.head_sha}, this run is for {head_sha}: nothing posted "
            "(the newer commit's run will report)."
        )
        return EXIT_OK
    facts = dataclasses.replace(
        facts,
        pr_number=number,
        head_sha=pull.head_sha,
        head_repo=pull.head_repo,
        base_sha=pull.base_sha,
        base_ref=pull.base_ref,
    )
    sources = head_as_data(ctx, facts)
    services = services_for(ctx, api_key=inputs.gemini_api_key, holds_secrets=True)
    services.unverified = _unverified(artifact)
    statuses = Statuses(client if inputs.status else None, head_sha, run.get("html_url") or ctx.run_url)
    try:
        statuses.pending()
        review = review_pull_request(facts, sources, services)
        review_outputs(ctx, review)
        if inputs.comment:
            post_comment(ctx, client, number, review)
        statuses.final(review.statuses)
        return exit_code(review.families, review.verdict, inputs.fail_on)
    finally:
        statuses.crash("the trusted review failed; see the workflow log")


def _artifact(ctx: Context, trusted_head: str | None) -> tuple[Comparison | None, dict[str, Any]]:
    """The fork run's artifact, when one was downloaded: validated, and only ever shown as unverified."""
    folder = Path(ctx.inputs.artifact_path) if ctx.inputs.artifact_path else None
    if folder is None:
        return None, {}
    folder = folder if folder.is_absolute() else ctx.workspace / folder
    comparison, meta = load_artifact(folder)
    claimed = comparison.head.sha
    if trusted_head and claimed != trusted_head:
        raise UserInputError(
            f"the artifact says head {claimed}, but the workflow run was for {trusted_head}: refusing it",
            file=str(folder / "comparison.json"),
        )
    return comparison, meta


def _unverified(c: Comparison | None) -> list[tuple[str, str]]:
    if c is None:
        return []
    score = next((m.head_mean for m in c.metrics if m.name == "score"), None)
    failing = [g.name for g in c.gates if g.status == "fail"]
    return [
        ("verdict", c.verdict),
        ("score", "" if score is None else f"{score:.4f}"),
        ("failing gates", ", ".join(failing) or "none"),
    ]


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
