"""The Action's routes, one per kind of event: parse the facts, call the review core, publish.

pull_request -> review_pull_request; push -> review_push (the baseline); schedule / workflow_dispatch ->
review_schedule (alert issue); a shard -> evaluate one share. Report mode (workflow_run) is action_report.py.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING

from llmops_action.action.context import PR_FILE, Context, exit_code, head_as_data, services_for
from llmops_action.action.io import append_summary
from llmops_action.action.publish import (
    REPORT_MODE_HELP,
    Statuses,
    check_status_permission,
    make_client,
    num,
    post_comment,
    rel,
    review_outputs,
)
from llmops_action.core.events import EventFacts
from llmops_action.core.trust import TRUSTED_LABEL, WRITE_PERMISSIONS, decide
from llmops_action.errors import EXIT_BAD_INPUT, EXIT_INCOMPLETE, EXIT_OK, UserInputError
from llmops_action.review_types import PullSources

if TYPE_CHECKING:
    from llmops_action.adapters.github import GitHubClient

# --- pull_request -----------------------------------------------------------------------------------------


def pr_flow(ctx: Context) -> int:
    from llmops_action.review import review_pull_request

    facts = ctx.facts
    if facts.event in ("push", "schedule", "workflow_dispatch"):
        # `mode: pr` on an event of this repository's own branch: its checkout is the head, trusted code.
        facts = dataclasses.replace(facts, event="pull_request", head_repo=facts.repo, head_sha=None)
    if facts.head_sha is None:
        facts = dataclasses.replace(facts, head_sha=ctx.env.get("GITHUB_SHA") or None)
    inputs = ctx.inputs
    # pull_request_target runs in the base's context (its secrets, a write token) even for a fork.
    privileged = facts.event == "pull_request_target"
    own_run_of_a_fork = facts.is_fork and not privileged
    why_not_post: str | None = None
    if own_run_of_a_fork:
        why_not_post = f"this pull request comes from the fork {facts.head_repo or '(deleted fork)'}, which gets no write token or secrets"
    elif not inputs.github_token:
        why_not_post = "no github-token was given"
    client = make_client(ctx) if why_not_post is None else None
    statuses = Statuses(client if inputs.status else None, facts.head_sha or "", ctx.run_url)
    if client is not None and facts.head_sha and (denied := check_status_permission(statuses)):
        why_not_post, client = denied, None
        statuses = Statuses(None, "", None)
    code = EXIT_OK
    try:
        # A fork's own run holds no secret (GitHub gives it none); its results are the fork's, unverified.
        key = None if own_run_of_a_fork else inputs.gemini_api_key
        services = services_for(ctx, api_key=key, holds_secrets=bool(key) or client is not None)
        services.label_by_writer = (
            _trusted_label(ctx, facts, client) if privileged and facts.is_fork else False
        )
        trust = decide(facts, secrets=services.secrets, label_by_writer=services.label_by_writer)
        if trust.head_as_data:
            sources = head_as_data(ctx, facts)
        else:
            sources = PullSources.for_checkout(ctx.config_path)
            if privileged and facts.is_fork:
                _check_checkout_is_head(sources, facts)
        review = review_pull_request(facts, sources, services)
        _write_pr_file(ctx, facts)
        review_outputs(ctx, review)
        code = exit_code(review.families, review.verdict, inputs.fail_on)
        posting = client is not None and inputs.comment and facts.pr_number is not None
        if posting and not post_comment(ctx, client, facts.pr_number, review):  # type: ignore[arg-type]
            code = EXIT_BAD_INPUT
        statuses.final(review.statuses)
    finally:
        statuses.crash("the run failed; see the workflow log")
    if why_not_post is not None:
        ctx.console.notice(
            f"Report only: {why_not_post}. The evaluation ran without secrets where needed (judge metrics "
            f"skipped), the job summary and the artifact hold the results, and nothing was posted. "
            + REPORT_MODE_HELP,
            title="llmops-action: report mode",
        )
        return code if code in (EXIT_BAD_INPUT, EXIT_INCOMPLETE) else EXIT_OK
    return code


def _trusted_label(ctx: Context, facts: EventFacts, client: GitHubClient | None) -> bool:
    """The maintainer's path: this very event adds `llmops:trusted`, and its sender can write (asked of the
    API, not read from the payload). A later push to the PR is a new event without it: label again."""
    if client is None or facts.action != "labeled" or facts.label_added != TRUSTED_LABEL or not facts.sender:
        return False
    permission = client.permission(facts.sender)
    trusted = permission in WRITE_PERMISSIONS
    ctx.console.notice(
        f"{facts.sender} ({permission} permission) labelled this fork PR {TRUSTED_LABEL}: "
        + ("its code runs with this repository's secrets." if trusted else "only a writer's label counts."),
        title="llmops-action: trust",
    )
    return trusted


def _check_checkout_is_head(sources: PullSources, facts: EventFacts) -> None:
    from llmops_action.adapters.git import head_sha

    have = head_sha(sources.repo_root())
    if have != facts.head_sha:
        raise UserInputError(
            f"the checkout is at {have}, not the labelled head {facts.head_sha}",
            hint="Check out the exact sha that was reviewed: actions/checkout with "
            "`ref: ${{ github.event.pull_request.head.sha }}` (README.md#forks).",
        )


def _write_pr_file(ctx: Context, facts: EventFacts) -> None:
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    data = {
        "number": facts.pr_number,
        "head_sha": facts.head_sha,
        "base": ctx.inputs.base_ref or facts.base_sha or facts.base_ref,
        "repository": ctx.repo,
    }
    (ctx.out_dir / PR_FILE).write_text(json.dumps(data), encoding="utf-8")


# --- push -------------------------------------------------------------------------------------------------


def push_flow(ctx: Context) -> int:
    from llmops_action.adapters.git import GitError
    from llmops_action.adapters.github import GitHubPermissionError
    from llmops_action.review import review_push

    facts = ctx.facts
    if facts.head_sha is None and not facts.deleted:
        facts = dataclasses.replace(facts, head_sha=ctx.env.get("GITHUB_SHA") or None)
    if facts.ref is None:
        facts = dataclasses.replace(facts, ref=ctx.env.get("GITHUB_REF") or None)
    client = make_client(ctx) if ctx.inputs.github_token else None
    if ctx.inputs.mode != "auto":  # an explicit `mode: push` saves the baseline of whatever branch runs it
        facts = dataclasses.replace(facts, default_branch=None)
    elif facts.default_branch is None and client is not None and facts.branch is not None:
        facts = dataclasses.replace(facts, default_branch=client.default_branch())
    trust = decide(facts, secrets=True)
    if not trust.act:
        ctx.console.notice(f"{trust.reason}: nothing to evaluate, no baseline is saved.")
        return EXIT_OK
    statuses = Statuses(client if ctx.inputs.status else None, facts.head_sha or "", ctx.run_url)
    if statuses.client is not None and (denied := check_status_permission(statuses)):
        ctx.console.warning(f"Commit statuses are not set: {denied}.", title="llmops-action: permission")
        statuses = Statuses(None, "", None)
    try:
        services = services_for(ctx, api_key=ctx.inputs.gemini_api_key, holds_secrets=True)
        try:
            review = review_push(facts, PullSources.for_checkout(ctx.config_path), services)
        except GitError as exc:
            if any(m in exc.stderr for m in ("403", "Permission to", "denied", "not allowed")):
                raise GitHubPermissionError("baseline", "git push was refused") from None
            raise
        result = review.head
        assert result is not None
        results_path = ctx.out_dir / "results.json"
        if not results_path.is_file():
            result.write(results_path)
        ctx.outputs.update(
            {
                "verdict": result.verdict,
                "score": num(result.aggregates.get("score")),
                "score-delta": "",
                "psi-max": "",
                "comment-url": "",
                "results-path": rel(ctx, results_path),
            }
        )
        saved = review.location or "not saved (the run is incomplete)"
        append_summary(
            ctx.env.get("GITHUB_STEP_SUMMARY"),
            f"## llmops-action: baseline for `{facts.branch}` @ `{(facts.head_sha or '')[:12]}`\n\n"
            f"- verdict: **{result.verdict}**, score: {num(result.aggregates.get('score')) or 'n/a'}\n"
            f"- cases: {result.counts.cases}, errors: {result.counts.errors}\n- baseline: `{saved}`\n",
            ctx.console,
        )
        for g in result.gates:
            if g.status == "fail" and g.blocking:
                ctx.console.error(f"gate {g.name} failed: {g.reason}", title=f"llmops {g.family}")
        statuses.final(review.statuses)
        return exit_code(review.families, result.verdict, ctx.inputs.fail_on)
    finally:
        statuses.crash("the run failed; see the workflow log")


# --- schedule / workflow_dispatch -------------------------------------------------------------------------


def schedule_flow(ctx: Context) -> int:
    from llmops_action.review import review_schedule

    client = make_client(ctx) if ctx.inputs.github_token else None
    facts = ctx.facts
    default = facts.default_branch or (client.default_branch() if client else "main")
    facts = dataclasses.replace(facts, default_branch=default, base_ref=default)
    services = services_for(ctx, api_key=ctx.inputs.gemini_api_key, holds_secrets=True)
    review = review_schedule(facts, PullSources.for_checkout(ctx.config_path), services)
    review_outputs(ctx, review)
    code = exit_code(review.families, review.verdict, ctx.inputs.fail_on)
    from llmops_action.alerts.schedule import notify_schedule  # issue 15: alerts route through the sinks

    assert review.comparison is not None
    failing = [f for f in ctx.inputs.fail_on if review.families.get(f) == "fail"]
    notify_schedule(ctx, client, review.comparison, failing, default, ctx.out_dir / "comment.md")
    return code


# --- shard -------------------------------------------------------------------------------------------------


def shard_flow(ctx: Context) -> int:
    from llmops_action.adapters.git import current_branch, head_sha
    from llmops_action.core.shard import parse_shard
    from llmops_action.core.trust import cache_dir
    from llmops_action.engine.evaluate import evaluate
    from llmops_action.engine.workspace import load_workspace

    ws = load_workspace(ctx.config_path)
    facts = ctx.facts
    result = evaluate(
        ws,
        out_dir=ctx.out_dir,
        api_key=None if facts.is_fork else (ctx.inputs.gemini_api_key or None),
        use_cache=ctx.inputs.cache,
        shard=parse_shard(ctx.inputs.shard),
        git_sha=facts.head_sha or head_sha(ws.root),
        git_branch=current_branch(ws.root),
        event=ctx.event_name or None,
        pr_number=facts.pr_number,
        cache_dir=cache_dir(ws.config.cache.dir, root=ws.root, state_dir=ctx.state_dir),
    )
    path = ctx.out_dir / "results.json"
    if not path.is_file():
        result.write(path)
    ctx.outputs.update(
        {
            "verdict": result.verdict,
            "score": num(result.aggregates.get("score")),
            "results-path": rel(ctx, path),
        }
    )
    ctx.console.notice(
        f"Shard {ctx.inputs.shard}: {result.counts.cases} cases evaluated. Merge the shards with "
        "`llmops-action merge` before comparing."
    )
    return EXIT_INCOMPLETE if result.verdict == "incomplete" else EXIT_OK
