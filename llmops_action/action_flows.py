"""The Action's flows, one per route: pr, push, schedule, shard (report mode is in action_report.py).

Each flow calls the same library functions the CLI calls (flows.run_pr / run_push, evaluate) and then
talks to GitHub through llmops_action.github. Commit statuses go pending first and always end in a final
state: a `finally` turns a crash into `error`, so a required check never hangs on "pending".
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmops_action.action import STATE_FOR, ZERO_SHA, Context, exit_code
from llmops_action.action_io import append_summary
from llmops_action.errors import EXIT_BAD_INPUT, EXIT_INCOMPLETE, EXIT_OK, LlmopsError

if TYPE_CHECKING:
    from llmops_action.core.comparison import Comparison
    from llmops_action.core.results import GateResult, RunResult
    from llmops_action.github import GitHubClient

FAMILIES = ("quality", "regression", "drift")
PR_FILE = "pr.json"
REPORT_MODE_HELP = (
    "To post the comment and statuses on fork pull requests, add the report-mode pair: this workflow uploads "
    "the artifact, and a `workflow_run` workflow runs llmops-action with `mode: report` and `artifact-path:` "
    "(see examples/workflows/llmops-report.yml and README.md#forks)."
)


# --- GitHub plumbing ------------------------------------------------------------------------------------


def make_client(ctx: Context) -> GitHubClient:
    from llmops_action.github import GitHubClient, RetryPolicy

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

    def final(self, families: Mapping[str, str], gates: list[GateResult], verdict: str) -> None:
        if self.client is None:
            return
        states: dict[str, tuple[Any, str]] = {}
        for fam in FAMILIES:
            if verdict == "incomplete":
                states[fam] = ("error", f"llmops {fam}: run incomplete (provider or judge errors)")
            else:
                status = families.get(fam, "skipped")
                states[fam] = (
                    STATE_FOR[status],
                    describe(fam, status, [g for g in gates if g.family == fam]),
                )
        self.client.set_statuses(self.sha, states, self.target_url)
        self.open = False

    def crash(self, why: str) -> None:
        """The `finally` path: never leave a pending status behind, never raise over the real error."""
        if self.client is None or not self.open:
            return
        with contextlib.suppress(LlmopsError):
            self.client.set_statuses(
                self.sha, {f: ("error", f"llmops {f}: {why}") for f in FAMILIES}, self.target_url
            )
        self.open = False


def describe(family: str, status: str, gates: list[GateResult]) -> str:
    if not gates:
        return f"llmops {family}: no gates" if status == "skipped" else f"llmops {family}: {status}"
    order = {"fail": 0, "warn": 1, "pass": 2, "skipped": 3}
    worst = sorted(gates, key=lambda g: order.get(g.status, 9))[0]
    detail = worst.reason or (
        f"{worst.metric} {worst.value:.3f}" if worst.value is not None else worst.metric
    )
    return f"llmops {family} {status}: {worst.name}: {detail}"


def families_of(gates: list[GateResult]) -> dict[str, str]:
    from llmops_action.core.comparison import Comparison, RunRef

    return dict(Comparison(suite="x", head=RunRef(), gates=gates).gate_families())


def _check_status_permission(ctx: Context, statuses: Statuses) -> str | None:
    """Set pending; a token that cannot write statuses means report-only. Returns why, or None."""
    from llmops_action.github import GitHubPermissionError

    try:
        statuses.pending()
    except GitHubPermissionError as exc:
        statuses.open = False
        return f"the token cannot write ({exc.permission} is missing)"
    return None


# --- shared output ----------------------------------------------------------------------------------------


def comparison_outputs(ctx: Context, c: Comparison, head: RunResult | None, results: Path | None) -> None:
    score = head.aggregates.get("score") if head is not None else None
    delta = next((m.delta for m in c.metrics if m.name == "score"), None)
    psis = [d.psi_adjusted for d in c.drift if d.psi_adjusted is not None]
    ctx.outputs.update(
        {
            "verdict": c.verdict,
            "score": _num(score),
            "score-delta": _num(delta),
            "psi-max": _num(max(psis) if psis else None),  # adjusted PSI, the value the drift rule uses
            "results-path": _rel(ctx, results),
        }
    )
    ctx.outputs.setdefault("comment-url", "")


def _num(x: float | None) -> str:
    return "" if x is None else f"{x:.4f}"


def _rel(ctx: Context, p: Path | None) -> str:
    if p is None:
        return ""
    try:
        return p.resolve().relative_to(ctx.workspace.resolve()).as_posix()
    except ValueError:
        return str(p)


def annotate(ctx: Context, c: Comparison) -> None:
    config_file = _rel(ctx, ctx.config_path)
    for g in c.gates:
        if g.status == "fail" and g.blocking:
            ctx.console.error(
                f"gate {g.name} failed: {g.reason}", file=config_file, title=f"llmops {g.family}"
            )
        elif g.status in ("warn", "fail"):
            ctx.console.warning(f"gate {g.name}: {g.reason}", file=config_file, title=f"llmops {g.family}")
    for w in c.warnings:
        ctx.console.warning(w, title="llmops-action")


def summarize(ctx: Context, files: Mapping[str, Path]) -> None:
    summary = files.get("summary")
    if summary is not None and summary.is_file():
        append_summary(ctx.env.get("GITHUB_STEP_SUMMARY"), summary.read_text(encoding="utf-8"), ctx.console)


# --- pull_request -----------------------------------------------------------------------------------------


def _pr_facts(ctx: Context) -> tuple[int | None, str | None, str, bool, str]:
    pr = ctx.payload.get("pull_request") or {}
    number = pr.get("number") or ctx.payload.get("number")
    head = pr.get("head") or {}
    base = pr.get("base") or {}
    head_sha = head.get("sha") or ctx.env.get("GITHUB_SHA")
    base_ref = ctx.inputs.base_ref or base.get("sha") or base.get("ref") or "origin/main"
    head_repo = (head.get("repo") or {}).get("full_name")
    base_repo = (base.get("repo") or {}).get("full_name") or ctx.repo
    fork = (head_repo is None and bool(pr)) or (head_repo is not None and head_repo != base_repo)
    return (int(number) if number else None), head_sha, base_ref, fork, head_repo or "(deleted fork)"


def pr_flow(ctx: Context) -> int:
    from llmops_action.core.report.render import comment_marker
    from llmops_action.flows import run_pr
    from llmops_action.github import GitHubPermissionError

    number, head_sha, base_ref, fork, head_repo = _pr_facts(ctx)
    inputs = ctx.inputs
    why_not_post: str | None = None
    if fork:
        why_not_post = (
            f"this pull request comes from the fork {head_repo}, which gets no write token or secrets"
        )
    elif not inputs.github_token:
        why_not_post = "no github-token was given"
    client = make_client(ctx) if why_not_post is None else None
    statuses = Statuses(client if inputs.status else None, head_sha or "", ctx.run_url)
    if client is not None and head_sha and (denied := _check_status_permission(ctx, statuses)):
        why_not_post, client = denied, None
        statuses = Statuses(None, "", None)
    code = EXIT_OK
    try:
        outcome = run_pr(
            ctx.config_path,
            progress=True,  # lines every few seconds in the job log (no TTY on a runner)
            base_ref=base_ref,
            out_dir=ctx.out_dir,
            api_key=None if fork else (inputs.gemini_api_key or None),
            use_cache=inputs.cache,
            event=ctx.event_name or "pull_request",
            pr_number=number,
            head_sha=head_sha,
            links={"workflow_run": ctx.run_url} if ctx.run_url else None,
            store=_store(ctx),
        )
        c = outcome.comparison
        _write_pr_file(ctx, number, head_sha, base_ref)
        comparison_outputs(ctx, c, outcome.head, outcome.files.get("results"))
        summarize(ctx, outcome.files)
        annotate(ctx, c)
        families = c.gate_families()
        code = exit_code(families, c.verdict, inputs.fail_on)
        if client is not None and inputs.comment and number is not None:
            body = outcome.files["comment"].read_text(encoding="utf-8")
            try:
                posted = client.upsert_comment(number, body, comment_marker(c.suite), evaluated_sha=head_sha)
            except GitHubPermissionError as exc:
                ctx.console.error(exc.format(), title="llmops-action: permission")
                code = EXIT_BAD_INPUT
            else:
                ctx.outputs["comment-url"] = posted.url or ""
                if posted.action == "skipped-stale":
                    ctx.console.notice(
                        f"The PR head moved to {posted.current_head} after this run evaluated {head_sha}: "
                        "the comment was left for the newer run."
                    )
        statuses.final(families, c.gates, c.verdict)
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


def _store(ctx: Context) -> Any:
    """The baseline-branch input overrides the config's git-branch store (same remote)."""
    if not ctx.inputs.baseline_branch:
        return None
    from llmops_action.baseline.git_branch import GitBranchBaselineStore
    from llmops_action.core.config import load_config

    cfg = load_config(ctx.config_path)
    if cfg.baseline.store != "git-branch":
        return None
    return GitBranchBaselineStore(
        ctx.config_path.parent, branch=ctx.inputs.baseline_branch, remote=cfg.baseline.remote
    )


def _write_pr_file(ctx: Context, number: int | None, head_sha: str | None, base_ref: str) -> None:
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    data = {"number": number, "head_sha": head_sha, "base": base_ref, "repository": ctx.repo}
    (ctx.out_dir / PR_FILE).write_text(json.dumps(data), encoding="utf-8")


# --- push -------------------------------------------------------------------------------------------------


def push_flow(ctx: Context) -> int:
    from llmops_action.flows import run_push
    from llmops_action.github import GitHubPermissionError
    from llmops_action.gitutil import GitError

    p = ctx.payload
    ref = p.get("ref") or ctx.env.get("GITHUB_REF", "")
    after = p.get("after") or ctx.env.get("GITHUB_SHA") or ""
    if p.get("deleted") or after == ZERO_SHA:
        ctx.console.notice(f"{ref} was deleted: there is nothing to evaluate.")
        return EXIT_OK
    if not ref.startswith("refs/heads/"):
        ctx.console.notice(f"{ref} is not a branch: baselines are saved for the default branch only.")
        return EXIT_OK
    branch = ref.removeprefix("refs/heads/")
    client = make_client(ctx) if ctx.inputs.github_token else None
    default = (p.get("repository") or {}).get("default_branch") or (
        client.default_branch() if client else None
    )
    if ctx.inputs.mode == "auto" and default and branch != default:
        ctx.console.notice(f"'{branch}' is not the default branch '{default}': no baseline is saved.")
        return EXIT_OK
    statuses = Statuses(client if ctx.inputs.status else None, after, ctx.run_url)
    if statuses.client is not None and (denied := _check_status_permission(ctx, statuses)):
        ctx.console.warning(f"Commit statuses are not set: {denied}.", title="llmops-action: permission")
        statuses = Statuses(None, "", None)
    try:
        try:
            outcome = run_push(
                ctx.config_path,
                progress=True,  # lines every few seconds in the job log (no TTY on a runner)
                out_dir=ctx.out_dir,
                api_key=ctx.inputs.gemini_api_key or None,
                use_cache=ctx.inputs.cache,
                event="push",
                store=_store(ctx),
            )
        except GitError as exc:
            if any(m in exc.stderr for m in ("403", "Permission to", "denied", "not allowed")):
                raise GitHubPermissionError("baseline", "git push was refused") from None
            raise
        result = outcome.result
        families = families_of(result.gates)
        for fam in ("regression", "drift"):
            families[fam] = "skipped"
        results_path = ctx.out_dir / "results.json"
        if not results_path.is_file():
            result.write(results_path)
        ctx.outputs.update(
            {
                "verdict": result.verdict,
                "score": _num(result.aggregates.get("score")),
                "score-delta": "",
                "psi-max": "",
                "comment-url": "",
                "results-path": _rel(ctx, results_path),
            }
        )
        saved = outcome.location or "not saved (the run is incomplete)"
        append_summary(
            ctx.env.get("GITHUB_STEP_SUMMARY"),
            f"## llmops-action: baseline for `{branch}` @ `{after[:12]}`\n\n"
            f"- verdict: **{result.verdict}**, score: {_num(result.aggregates.get('score')) or 'n/a'}\n"
            f"- cases: {result.counts.cases}, errors: {result.counts.errors}\n- baseline: `{saved}`\n",
            ctx.console,
        )
        for g in result.gates:
            if g.status == "fail" and g.blocking:
                ctx.console.error(f"gate {g.name} failed: {g.reason}", title=f"llmops {g.family}")
        statuses.final(families, result.gates, result.verdict)
        return exit_code(families, result.verdict, ctx.inputs.fail_on)
    finally:
        statuses.crash("the run failed; see the workflow log")


# --- schedule / workflow_dispatch -------------------------------------------------------------------------


def alert_marker(suite: str) -> str:
    from llmops_action.core.report.render import comment_marker

    return comment_marker(suite).replace("llmops-action:comment", "llmops-action:alert")


def schedule_flow(ctx: Context) -> int:
    from llmops_action.flows import run_pr

    client = make_client(ctx) if ctx.inputs.github_token else None
    default = (ctx.payload.get("repository") or {}).get("default_branch") or (
        client.default_branch() if client else "main"
    )
    outcome = run_pr(
        ctx.config_path,
        progress=True,  # lines every few seconds in the job log (no TTY on a runner)
        base_ref=ctx.inputs.base_ref or default,
        out_dir=ctx.out_dir,
        api_key=ctx.inputs.gemini_api_key or None,
        use_cache=ctx.inputs.cache,
        event=ctx.event_name or "schedule",
        links={"workflow_run": ctx.run_url} if ctx.run_url else None,
        store=_store(ctx),
    )
    c = outcome.comparison
    comparison_outputs(ctx, c, outcome.head, outcome.files.get("results"))
    summarize(ctx, outcome.files)
    annotate(ctx, c)
    families = c.gate_families()
    code = exit_code(families, c.verdict, ctx.inputs.fail_on)
    failing = [f for f in ctx.inputs.fail_on if families.get(f) == "fail"]
    if client is None:
        return code
    marker = alert_marker(c.suite)
    sha = (c.head.sha or "")[:12]
    if failing:
        title = f"llmops: {', '.join(failing)} gate failed on {default} ({c.suite})"
        lines = [
            f"The scheduled evaluation of `{default}` at `{sha}` failed the {', '.join(failing)} gate(s).",
            f"Run: {ctx.run_url or '(run URL unavailable)'}",
            "",
            "| gate | family | status | value | threshold |",
            "| --- | --- | --- | --- | --- |",
        ]
        for g in c.gates:
            if g.status in ("fail", "warn"):
                lines.append(
                    f"| {g.name} | {g.family} | {g.status} | {_num(g.value)} | {_num(g.threshold)} |"
                )
        body = "\n".join(lines) + "\n\n" + outcome.files["comment"].read_text(encoding="utf-8")
        issue = client.upsert_issue(marker, title, body)
        ctx.console.warning(f"Alert issue {issue.action}: {issue.url}", title="llmops-action")
    else:
        client.close_issue(marker, f"The scheduled evaluation at `{sha}` passes again: {ctx.run_url or ''}")
    return code


# --- shard -------------------------------------------------------------------------------------------------


def shard_flow(ctx: Context) -> int:
    from llmops_action.core.shard import parse_shard
    from llmops_action.evaluate import evaluate
    from llmops_action.gitutil import current_branch, head_sha
    from llmops_action.workspace import load_workspace

    ws = load_workspace(ctx.config_path)
    pr = ctx.payload.get("pull_request") or {}
    result = evaluate(
        ws,
        progress=True,  # lines every few seconds in the job log (no TTY on a runner)
        out_dir=ctx.out_dir,
        api_key=ctx.inputs.gemini_api_key or None,
        use_cache=ctx.inputs.cache,
        shard=parse_shard(ctx.inputs.shard),
        git_sha=(pr.get("head") or {}).get("sha") or head_sha(ws.root),
        git_branch=current_branch(ws.root),
        event=ctx.event_name or None,
        pr_number=pr.get("number"),
    )
    path = ctx.out_dir / "results.json"
    if not path.is_file():
        result.write(path)
    ctx.outputs.update(
        {
            "verdict": result.verdict,
            "score": _num(result.aggregates.get("score")),
            "results-path": _rel(ctx, path),
        }
    )
    ctx.console.notice(
        f"Shard {ctx.inputs.shard}: {result.counts.cases} cases evaluated. Merge the shards with "
        "`llmops-action merge` before comparing."
    )
    return EXIT_INCOMPLETE if result.verdict == "incomplete" else EXIT_OK
