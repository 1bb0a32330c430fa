"""The review core: one function per kind of event, shared by the Action, the CLI's `pr` and the bot.

    facts = facts_from_payload(event_name, payload)                       # core/events.py
    sources = PullSources(repo=checkout, head=CheckoutSource(checkout))   # sources.py
    review = review_pull_request(facts, sources, Services(out_dir=out))
    review.comment, review.statuses, review.exit_code, review.to_json()

The trust policy (core/trust.py) decides what may run and under whose config: the base's measurement and
gates, the head's prompts and provider; a fork's code never runs in a context that holds secrets (the review
then ends `pending` with "needs a maintainer"). The review writes its report files into `services.out_dir`
and posts nothing: publishing is the caller's (action_publish.py for the Action, the bot's worker).
Data shapes (Services, PullSources, Review) are in review_types.py.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path, PurePosixPath

from llmops_action.baseline.select import resolve_ref, select_base
from llmops_action.baseline.store import BaselineStore, check_saveable, open_store
from llmops_action.core.config import LlmopsConfig, load_config
from llmops_action.core.events import EventFacts
from llmops_action.core.results import RunResult
from llmops_action.core.statuses import final_statuses, pending_statuses
from llmops_action.core.trust import (
    FIRST_RUN,
    NEEDS_MAINTAINER,
    UNVERIFIED,
    Governance,
    Trust,
    cache_dir,
    decide,
    dir_store_path,
    govern,
)
from llmops_action.errors import EXIT_INCOMPLETE, EXIT_OK, LlmopsError, UserInputError, exit_code_for
from llmops_action.gitutil import current_branch, git, merge_base
from llmops_action.gitutil import head_sha as git_head_sha
from llmops_action.review_types import Alert, PullSources, Review, Services
from llmops_action.sources import CheckoutSource, GitTreeSource, isolated_imports
from llmops_action.workspace import Workspace, load_workspace

__all__ = ["PullSources", "Review", "Services", "review_pull_request", "review_push", "review_schedule"]

log = logging.getLogger(__name__)

RESULTS_FILE = "results.json"
BASE_RESULTS_FILE = "base-results.json"


def open_configured_store(ws: Workspace, *, state_dir: Path | None = None) -> BaselineStore:
    """The store the config names; a `dir` store is resolved inside the repository (core/trust.py)."""
    cfg = ws.config.baseline
    if cfg.store == "dir":
        from llmops_action.baseline.dir import DirBaselineStore

        return DirBaselineStore(
            dir_store_path(cfg.path, root=ws.root, state_dir=state_dir, file=str(ws.config_path))
        )
    return open_store(
        cfg,
        ws.root,
        tracking_uri=ws.config.tracking_config.uri or _env_tracking_uri(),
        experiment=ws.config.tracking_config.experiment,
    )


def _env_tracking_uri() -> str | None:
    import os

    return os.environ.get("MLFLOW_TRACKING_URI") or None


def _store(config: LlmopsConfig, root: Path, config_path: Path, services: Services) -> BaselineStore | None:
    if config.baseline.mode != "stored":
        return None
    if services.store is not None:
        return services.store
    if services.baseline_branch and config.baseline.store == "git-branch":
        from llmops_action.baseline.git_branch import GitBranchBaselineStore

        return GitBranchBaselineStore(root, branch=services.baseline_branch, remote=config.baseline.remote)
    ws = Workspace(config_path=config_path, root=root, config=config, prompts={}, cases=[])
    return open_configured_store(ws, state_dir=services.state_dir)


def _tracked_changes(repo: Path, folder: Path) -> list[str]:
    """Modified tracked files under the config folder: the run would not be the commit's."""
    rel = folder.resolve().relative_to(repo).as_posix()
    out = git(["status", "--porcelain", "--untracked-files=no", "--", rel], repo)
    return [line[3:] for line in out.splitlines() if line.strip()]


def _dirty_warning(repo: Path, folder: Path, sha: str) -> list[str]:
    dirty = _tracked_changes(repo, folder)
    if not dirty:
        return []
    return [
        f"Head is the working tree, which differs from {sha[:12]} in {len(dirty)} tracked file(s) "
        f"({', '.join(dirty[:3])}{', ...' if len(dirty) > 3 else ''})."
    ]


def _load_base_config(root: Path | None, name: str, sha: str, warnings: list[str]) -> LlmopsConfig | None:
    if root is None or not (root / name).is_file():
        return None
    try:
        return load_config(root / name)
    except UserInputError as exc:
        warnings.append(
            f"The base commit {sha[:12]}'s config does not load ({exc.message}); no base to compare with."
        )
        return None


@contextmanager
def _tree(repo: Path, sha: str | None, folder: str) -> Iterator[Path | None]:
    with GitTreeSource(repo, sha, folder).open() if sha else nullcontext(None) as root:
        yield root


# --- pull requests ------------------------------------------------------------------------------------


def review_pull_request(facts: EventFacts, sources: PullSources, services: Services) -> Review:
    """Evaluate a pull request's head under the base's measurement, compare, and write the reports.

    `facts.head_sha` names the commit under review (None: the checkout's HEAD, and a dirty working tree is
    evaluated as it is, with a warning). The base is `services.base_ref`, else the PR's base sha or ref.
    Raises UserInputError (exit 2) for a bad config, prompt, dataset or path; a failed gate is a result.
    """
    trust = decide(
        facts,
        secrets=services.secrets,
        permission=services.permission,
        label_by_writer=services.label_by_writer,
    )
    if not trust.act:
        return Review(kind="pull_request", trust=trust, statuses={}, exit_code=EXIT_OK)
    return _review_head(facts, sources, services, trust, kind="pull_request")


def _review_head(
    facts: EventFacts, sources: PullSources, services: Services, trust: Trust, *, kind: str
) -> Review:
    repo = sources.repo_root()
    head_sha = facts.head_sha or git_head_sha(repo)
    if head_sha is None:
        raise UserInputError("the repository has no commit yet", hint="Commit something first.")
    base_ref = services.base_ref or facts.base_sha or facts.base_ref or "main"
    base_tip = resolve_ref(base_ref, repo)  # fail fast on a wrong base ref: before any model call
    mb = merge_base(head_sha, base_tip, repo)
    rel = PurePosixPath(sources.config)
    folder, name = (rel.parent.as_posix() or "."), rel.name
    warnings: list[str] = []
    if facts.head_sha is None and isinstance(sources.head, CheckoutSource):
        warnings += _dirty_warning(repo, sources.head.folder, head_sha)
    # The base's config governs; it is read at the merge-base (what the base run is scored with), or at the
    # base's tip when the head shares no history with it.
    governing_sha = mb or base_tip
    with sources.head.open() as head_root, _tree(repo, governing_sha, folder) as base_root:
        if head_root is None or not (head_root / name).is_file():
            raise UserInputError("config file not found", file=str(sources.config), hint="Pass --config.")
        head_cfg = load_config(head_root / name)
        base_cfg = _load_base_config(base_root, name, governing_sha, warnings)
        gov = govern(base_cfg, head_cfg)
        config = gov.config
        if not trust.may_run(config.provider.type) or (trust.head_as_data and gov.first_run):
            return _needs_maintainer(facts, head_sha, config, trust, gov, services, kind=kind)
        if config.provider.type == "gemini" and not gov.provider_key:
            raise UserInputError(
                gov.notes[-1] + " The gemini provider cannot run without a key; the change takes effect "
                "after merge.",
                file=str(sources.config),
                key="provider.base_url",
            )
        ws = load_workspace(head_root / name, config)
        provider = None
        if trust.head_as_data and config.provider.type == "outputs" and base_root is not None:
            # A fork's outputs file is the fork's claim, not a measurement: outputs committed in the base.
            from llmops_action.providers import make_provider

            provider = make_provider(config.provider, root=base_root, timeout=config.retries.timeout)
        store_root = repo / folder
        store = _store(config, store_root, store_root / name, services)
        head = _evaluate(ws, services, head_sha, facts, provider=provider, branch=_branch(facts, repo))
        base, source, base_sha = _choose_base(
            store,
            repo,
            head_sha,
            base_ref,
            config,
            (base_root, base_cfg, name),
            head_root,
            services,
            facts,
            warnings,
        )
        return _finish(kind, trust, gov, head, base, source, base_sha, mb, base_ref, services, warnings)


def _branch(facts: EventFacts, repo: Path) -> str | None:
    return facts.head_ref or current_branch(repo)


def _evaluate(
    ws: Workspace,
    services: Services,
    sha: str,
    facts: EventFacts,
    *,
    provider: object | None = None,
    branch: str | None,
) -> RunResult:
    from llmops_action.evaluate import evaluate

    return evaluate(
        ws,
        api_key=services.api_key,
        use_cache=services.use_cache,
        git_sha=sha,
        git_branch=branch,
        event=facts.event,
        pr_number=facts.pr_number,
        progress=services.progress,
        provider=provider,  # type: ignore[arg-type]
        cache_dir=cache_dir(ws.config.cache.dir, root=ws.root, state_dir=services.state_dir),
    )


def _choose_base(
    store: BaselineStore | None,
    repo: Path,
    head_sha: str,
    base_ref: str,
    config: LlmopsConfig,
    base_tree: tuple[Path | None, LlmopsConfig | None, str],
    head_root: Path,
    services: Services,
    facts: EventFacts,
    warnings: list[str],
) -> tuple[RunResult | None, str, str | None]:
    select = {
        "head_sha": head_sha,
        "base_ref": base_ref,
        "suite": config.suite,
        "config_hash": config.config_hash(),
    }
    try:
        choice = select_base(store, repo, max_ancestors=config.baseline.max_ancestors, **select)
    except (LlmopsError, OSError) as exc:
        # An unreachable store or a damaged record must not hide the comparison: re-evaluate the base.
        message = exc.message if isinstance(exc, LlmopsError) else str(exc)
        warnings.append(f"The baseline store could not be read ({message}); the base was re-evaluated.")
        choice = select_base(None, repo, **select)
    if choice.result is not None:
        return choice.result, choice.source, choice.sha
    if choice.merge_base is None:
        warnings.append(f"Head shares no history with '{base_ref}': there is no base to compare with.")
        return None, "none", None
    base_root, base_cfg, name = base_tree
    if base_root is None or base_cfg is None:
        if not any("config does not load" in w for w in warnings):
            warnings.append(f"The base commit {choice.merge_base[:12]} has no config: {FIRST_RUN}.")
        return None, "none", None
    base_ws = load_workspace(base_root / name, base_cfg)
    with isolated_imports(head_root, base_root):
        base = _evaluate(base_ws, services, choice.merge_base, facts, branch=base_ref)
    return base, "rerun", choice.merge_base


def _finish(
    kind: str,
    trust: Trust,
    gov: Governance,
    head: RunResult,
    base: RunResult | None,
    source: str,
    base_sha: str | None,
    mb: str | None,
    base_ref: str,
    services: Services,
    warnings: list[str],
) -> Review:
    from llmops_action.reporting import compare_and_report

    out_dir = services.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"results": head.write(out_dir / RESULTS_FILE)}
    if source == "rerun" and base is not None:
        files["base_results"] = base.write(out_dir / BASE_RESULTS_FILE)
    notes = [*gov.notes, *_unverified_notes(services)]
    report = compare_and_report(
        base,
        head,
        gov.config,
        out_dir,
        base_source=source,
        trend_branch=base_ref,
        links=services.links,
        warnings=warnings,
        extra_files={"results": files["results"]},
        gate_changes=gov.gate_changes,
        notes=notes,
    )
    c = report.comparison
    status_notes = {"regression": FIRST_RUN} if gov.first_run else None
    return Review(
        kind=kind,  # type: ignore[arg-type]
        trust=trust,
        statuses=final_statuses(c.gate_families(), c.gates, c.verdict, notes=status_notes),
        exit_code=exit_code_for(c.verdict),
        comparison=c,
        comment=report.paths["comment"].read_text(encoding="utf-8"),
        head=head,
        base=base,
        base_sha=base_sha,
        merge_base=mb,
        files={**report.paths, **files},
        warnings=warnings,
        tracking=report.tracking,
        suite=c.suite,
        head_sha=head.run.git_sha,
        families=dict(c.gate_families()),
    )


def _unverified_notes(services: Services) -> list[str]:
    if not services.unverified:
        return []
    figures = ", ".join(f"{k} {v}" for k, v in services.unverified)
    return [f"Results {UNVERIFIED} (never a status): {figures}."]


def _needs_maintainer(
    facts: EventFacts,
    head_sha: str,
    config: LlmopsConfig,
    trust: Trust,
    gov: Governance,
    services: Services,
    *,
    kind: str,
) -> Review:
    from llmops_action.core.report.render import render_pending

    message = (
        f"{FIRST_RUN}, and a fork cannot bring its own gates; a maintainer must run it"
        if gov.first_run
        else NEEDS_MAINTAINER
    )
    body = render_pending(
        suite=config.suite,
        head_sha=head_sha,
        reason=trust.reason,
        message=message,
        provider=config.provider.type,
        notes=gov.notes + [f"Changes to the gates (take effect after merge): {c}" for c in gov.gate_changes],
        unverified=list(services.unverified),
        unverified_label=UNVERIFIED,
    )
    services.out_dir.mkdir(parents=True, exist_ok=True)
    comment = services.out_dir / "comment.md"
    comment.write_text(body, encoding="utf-8")
    return Review(
        kind=kind,  # type: ignore[arg-type]
        trust=trust,
        statuses=pending_statuses(message),
        exit_code=EXIT_OK,
        comment=body,
        files={"comment": comment},
        pending=message,
        suite=config.suite,
        head_sha=head_sha,
    )


# --- push and schedule ----------------------------------------------------------------------------------


def review_push(
    facts: EventFacts,
    sources: PullSources,
    services: Services,
    *,
    results: Path | None = None,
    allow_dirty: bool = False,
) -> Review:
    """Evaluate the pushed commit (or take `results`) and save it as that commit's baseline, once.

    Only trusted events save: a push to the default branch (core/trust.py), or an explicit `baseline save`.
    """
    trust = decide(facts, secrets=services.secrets)
    if not trust.act:
        return Review(kind="push", trust=trust, statuses={}, exit_code=EXIT_OK)
    config_path = sources.config_path()
    ws = load_workspace(config_path)
    if results is not None:
        result = RunResult.read(results)
        if result.run.config_hash != ws.config.config_hash():
            log.warning("results config hash %s differs from the config's", result.run.config_hash)
    else:
        repo = sources.repo_root()
        sha = facts.head_sha or git_head_sha(repo)
        if sha is None:
            raise UserInputError("the repository has no commit yet", hint="Commit something first.")
        if not allow_dirty and facts.head_sha is None and (dirty := _tracked_changes(repo, ws.root)):
            raise UserInputError(
                f"uncommitted changes to {', '.join(dirty[:5])}: a baseline must be exactly commit {sha[:12]}",
                hint="Commit or stash them first (or pass --allow-dirty if you really mean it).",
            )
        result = _evaluate(ws, services, sha, facts, branch=facts.branch or current_branch(repo))
        services.out_dir.mkdir(parents=True, exist_ok=True)
        result.write(services.out_dir / RESULTS_FILE)
    families = dict(_families(result))
    statuses = final_statuses(families, result.gates, result.verdict)
    review = Review(
        kind="push", trust=trust, statuses=statuses, exit_code=EXIT_INCOMPLETE, head=result, families=families
    )
    review.files["results"] = results or services.out_dir / RESULTS_FILE
    review.suite, review.head_sha = result.run.suite, result.run.git_sha
    if result.verdict == "incomplete":
        return review
    check_saveable(result)
    store = (
        services.store
        or _store(ws.config, ws.root, ws.config_path, services)
        or open_configured_store(ws, state_dir=services.state_dir)
    )
    review.location = store.save(result)
    review.exit_code = exit_code_for(result.verdict)
    if results is None:
        from llmops_action.tracking import track_result

        track_result(
            ws.config, result, services.out_dir, files={RESULTS_FILE: services.out_dir / RESULTS_FILE}
        )
    return review


def _families(result: RunResult) -> dict[str, str]:
    from llmops_action.core.comparison import Comparison, RunRef

    families = dict(Comparison(suite="x", head=RunRef(), gates=result.gates).gate_families())
    return {**families, "regression": "skipped", "drift": "skipped"}


def alert_marker(suite: str) -> str:
    from llmops_action.core.report.render import comment_marker

    return comment_marker(suite).replace("llmops-action:comment", "llmops-action:alert")


def review_schedule(
    facts: EventFacts, sources: PullSources, services: Services, *, fail_on: tuple[str, ...]
) -> Review:
    """Evaluate the default branch against its last baseline; an alert opens when a `fail_on` family fails
    and closes when they pass again."""
    trust = decide(facts, secrets=services.secrets)
    review = _review_head(facts, sources, services, trust, kind="schedule")
    c = review.comparison
    assert c is not None
    default = facts.default_branch or services.base_ref or "main"
    sha = (c.head.sha or "")[:12]
    families = c.gate_families()
    failing = [f for f in fail_on if families.get(f) == "fail"]
    run = (services.links or {}).get("workflow_run")
    if not failing:
        review.alerts.append(
            Alert(
                alert_marker(c.suite),
                "",
                f"The scheduled evaluation at `{sha}` passes again: {run or ''}",
                False,
            )
        )
        return review
    lines = [
        f"The scheduled evaluation of `{default}` at `{sha}` failed the {', '.join(failing)} gate(s).",
        f"Run: {run or '(run URL unavailable)'}",
        "",
        "| gate | family | status | value | threshold |",
        "| --- | --- | --- | --- | --- |",
    ]
    num = lambda x: "" if x is None else f"{x:.4f}"  # noqa: E731
    for g in c.gates:
        if g.status in ("fail", "warn"):
            lines.append(f"| {g.name} | {g.family} | {g.status} | {num(g.value)} | {num(g.threshold)} |")
    title = f"llmops: {', '.join(failing)} gate failed on {default} ({c.suite})"
    body = "\n".join(lines) + "\n\n" + (review.comment or "")
    review.alerts.append(Alert(alert_marker(c.suite), title, body, True))
    return review
