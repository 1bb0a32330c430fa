"""The steps of a review (review.py is the public face): stores, the base's tree and config, evaluating a
side, choosing the base, and turning a comparison into a Review.

Also where the trust policy is applied: `review_head` governs the head's config by the base's
(core/trust.py), refuses code providers where the head's code may not run, and withholds a key the head
would send elsewhere.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path, PurePosixPath

from llmops_action.adapters.baseline.select import BaseChoice, resolve_ref, select_base, stored_choice
from llmops_action.adapters.baseline.store import BaselineStore, open_store
from llmops_action.adapters.git import current_branch, git, merge_base
from llmops_action.adapters.git import head_sha as git_head_sha
from llmops_action.adapters.tracking_process import Tracker, aborted_on_error, feed, live_tracking
from llmops_action.core.config import LlmopsConfig, load_config
from llmops_action.core.events import EventFacts
from llmops_action.core.results import CaseResult, RunResult
from llmops_action.core.statuses import final_statuses, pending_statuses
from llmops_action.core.trust import (
    FIRST_RUN,
    NEEDS_MAINTAINER,
    UNVERIFIED,
    Governance,
    Trust,
    cache_dir,
    dir_store_path,
    govern,
)
from llmops_action.engine import measure
from llmops_action.engine.sources import CheckoutSource, GitTreeSource, isolated_imports
from llmops_action.engine.workspace import Workspace, load_workspace
from llmops_action.errors import EXIT_OK, LlmopsError, UserInputError, exit_code_for
from llmops_action.review_types import PullSources, Review, Services

RESULTS_FILE = "results.json"
BASE_RESULTS_FILE = "base-results.json"


def open_configured_store(ws: Workspace, *, state_dir: Path | None = None) -> BaselineStore:
    """The store the config names; a `dir` store is resolved inside the repository (core/trust.py)."""
    cfg = ws.config.baseline
    if cfg.store == "dir":
        from llmops_action.adapters.baseline.dir import DirBaselineStore

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
    return os.environ.get("MLFLOW_TRACKING_URI") or None


def configured_store(
    config: LlmopsConfig, root: Path, config_path: Path, services: Services
) -> BaselineStore | None:
    if config.baseline.mode != "stored":
        return None
    if services.store is not None:
        return services.store
    if services.baseline_branch and config.baseline.store == "git-branch":
        from llmops_action.adapters.baseline.git_branch import GitBranchBaselineStore

        return GitBranchBaselineStore(root, branch=services.baseline_branch, remote=config.baseline.remote)
    ws = Workspace(config_path=config_path, root=root, config=config, prompts={}, cases=[])
    return open_configured_store(ws, state_dir=services.state_dir)


def tracked_changes(repo: Path, folder: Path) -> list[str]:
    """Modified tracked files under the config folder: the run would not be the commit's."""
    rel = folder.resolve().relative_to(repo).as_posix()
    out = git(["status", "--porcelain", "--untracked-files=no", "--", rel], repo)
    return [line[3:] for line in out.splitlines() if line.strip()]


def _dirty_warning(repo: Path, folder: Path, sha: str) -> list[str]:
    dirty = tracked_changes(repo, folder)
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


def review_head(
    facts: EventFacts, sources: PullSources, services: Services, trust: Trust, *, kind: str
) -> Review:
    repo = sources.repo if sources.fetched else sources.repo_root()
    head_sha = facts.head_sha or (None if sources.fetched else git_head_sha(repo))
    if head_sha is None:
        raise UserInputError("the repository has no commit yet", hint="Commit something first.")
    base_ref = services.base_ref or facts.base_sha or facts.base_ref or "main"
    if sources.fetched:  # two fetched trees (the bot): the PR's base sha is the merge-base GitHub computed
        base_tip = mb = facts.base_sha
    else:
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
    base_tree = sources.base.open() if sources.base is not None else _tree(repo, governing_sha, folder)
    with sources.head.open() as head_root, base_tree as base_root:
        if head_root is None or not (head_root / name).is_file():
            raise UserInputError("config file not found", file=str(sources.config), hint="Pass --config.")
        head_cfg = _filtered(load_config(head_root / name), services)
        base_cfg = _load_base_config(base_root, name, governing_sha or "", warnings)
        base_cfg = _filtered(base_cfg, services) if base_cfg is not None else None
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
        store_root = repo / folder
        tracker = live_tracking(ws, store_root)
        with aborted_on_error(tracker):
            provider = None
            if trust.head_as_data and config.provider.type == "outputs" and base_root is not None:
                # A fork's outputs file is the fork's claim, not a measurement: outputs committed in the base.
                from llmops_action.engine.providers import make_provider

                provider = make_provider(config.provider, root=base_root, timeout=config.retries.timeout)
            store = configured_store(config, store_root, store_root / name, services)
            # One cache for both sides: a base re-run or re-scoring after the head costs no calls for unchanged
            # requests (issue 9). It lives where the trust policy says, outside what the PR commits.
            cache = cache_dir(config.cache.dir, root=ws.root, state_dir=services.state_dir)
            branch = facts.head_ref or (facts.branch if sources.fetched else current_branch(repo))
            head = evaluate_side(
                ws,
                services,
                head_sha,
                facts,
                provider=provider,
                branch=branch,
                cache=cache,
                on_case=feed(tracker),
            )
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
                cache,
                fetched=sources.fetched,
                mb=mb,
                track_root=store_root,
            )
            measured = {"api_key": services.api_key, "use_cache": services.use_cache, "cache_dir": cache}
            if base is not None and source in ("stored", "ancestor"):
                base = measure.align(base, ws, config, **measured, warnings=warnings)
            own = dataclasses.replace(ws, config=head_cfg)
            preview = measure.preview(base, head, own, base_cfg, **measured)
            return _finish(
                kind,
                trust,
                gov,
                head,
                base,
                source,
                base_sha,
                mb,
                base_ref,
                services,
                warnings,
                preview,
                root=store_root,
                live=tracker,
            )


def _filtered(config: LlmopsConfig, services: Services) -> LlmopsConfig:
    return services.config_filter(config) if services.config_filter is not None else config


def evaluate_side(
    ws: Workspace,
    services: Services,
    sha: str,
    facts: EventFacts,
    *,
    provider: object | None = None,
    branch: str | None,
    cache: Path | None = None,
    on_case: Callable[[CaseResult], None] | None = None,
) -> RunResult:
    from llmops_action.engine.evaluate import evaluate

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
        cache_dir=cache or cache_dir(ws.config.cache.dir, root=ws.root, state_dir=services.state_dir),
        on_case=on_case,
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
    cache: Path | None = None,
    *,
    fetched: bool = False,
    mb: str | None = None,
    track_root: Path | None = None,
) -> tuple[RunResult | None, str, str | None]:
    select = {
        "head_sha": head_sha,
        "base_ref": base_ref,
        "suite": config.suite,
        "config_hash": config.config_hash(),
    }
    try:
        if fetched:  # no git history to walk: the record of the PR's base sha, or none
            choice = stored_choice(store, mb, suite=config.suite, config_hash=config.config_hash())
        else:
            choice = select_base(store, repo, max_ancestors=config.baseline.max_ancestors, **select)
    except (LlmopsError, OSError) as exc:
        # An unreachable store or a damaged record must not hide the comparison: re-evaluate the base.
        message = exc.message if isinstance(exc, LlmopsError) else str(exc)
        warnings.append(f"The baseline store could not be read ({message}); the base was re-evaluated.")
        choice = BaseChoice(None, None, "none", mb) if fetched else select_base(None, repo, **select)
    if choice.result is not None:
        return choice.result, choice.source, choice.sha
    if (other := measure.stored_at(store, choice.merge_base, config.suite)) is not None:
        return other, "stored", choice.merge_base  # scored under another config: re-scored below, not re-run
    if choice.merge_base is None:
        why = "No base sha and no baseline stored" if fetched else f"Head shares no history with '{base_ref}'"
        warnings.append(f"{why}: there is no base to compare with.")
        return None, "none", None
    base_root, base_cfg, name = base_tree
    if base_root is None or base_cfg is None:
        if not any("config does not load" in w for w in warnings):
            warnings.append(f"The base commit {choice.merge_base[:12]} has no config: {FIRST_RUN}.")
        return None, "none", None
    base_ws = load_workspace(base_root / name, base_cfg)
    # The re-run evaluates the merge-base commit, not the PR: it is logged as a run of the base branch, which
    # the head's run then names (llmops.base_run_id), so MLflow's UI compares the two side by side.
    tracker = live_tracking(base_ws, track_root) if track_root is not None else None
    base_facts = dataclasses.replace(facts, pr_number=None)
    with aborted_on_error(tracker), isolated_imports(head_root, base_root):
        base = evaluate_side(
            base_ws,
            services,
            choice.merge_base,
            base_facts,
            branch=base_ref,
            cache=cache,
            on_case=feed(tracker),
        )
    if tracker is not None:
        tracker.finish(base)
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
    preview: measure.Preview | None = None,
    root: Path | None = None,  # the config's folder in the checkout: the project's MLflow store is there
    live: Tracker | None = None,
) -> Review:
    from llmops_action.publish import compare_and_report

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
        measurement="given" if gov.first_run else "base",
        preview=preview,
        root=root,
        live=live,
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
