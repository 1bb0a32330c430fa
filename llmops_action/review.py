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
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from llmops_action.adapters.baseline.store import check_saveable
from llmops_action.adapters.git import current_branch
from llmops_action.adapters.git import head_sha as git_head_sha
from llmops_action.adapters.tracking_process import aborted_on_error, feed, live_tracking
from llmops_action.core.config import load_config
from llmops_action.core.events import EventFacts
from llmops_action.core.results import RunResult
from llmops_action.core.statuses import final_statuses
from llmops_action.core.trust import decide
from llmops_action.engine.workspace import Workspace, load_workspace
from llmops_action.errors import EXIT_INCOMPLETE, EXIT_OK, UserInputError, exit_code_for
from llmops_action.review_steps import (
    RESULTS_FILE,
    configured_store,
    evaluate_side,
    open_configured_store,
    review_head,
    tracked_changes,
)
from llmops_action.review_types import PullSources, Review, Services

if TYPE_CHECKING:
    from llmops_action.adapters.baseline.store import BaselineStore
    from llmops_action.adapters.tracking_process import Tracker

log = logging.getLogger(__name__)

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
    return review_head(facts, sources, services, trust, kind="pull_request")


# --- push and schedule ----------------------------------------------------------------------------------


def review_push(
    facts: EventFacts,
    sources: PullSources,
    services: Services,
    *,
    results: Path | None = None,
    allow_dirty: bool = False,
    reuse_existing: bool = False,
    notify: Callable[[str], None] | None = None,
) -> Review:
    """Evaluate the pushed commit (or take `results`) and save it as that commit's baseline, once.

    Only trusted events save: a push to the default branch (core/trust.py), or an explicit `baseline save`.
    With `reuse_existing`, a commit whose baseline is stored already is not evaluated again (baselines are
    write-once, so the evaluation would be thrown away). `notify` hears what is being done, step by step.
    """
    say = notify or (lambda _message: None)
    trust = decide(facts, secrets=services.secrets)
    if not trust.act:
        return Review(kind="push", trust=trust, statuses={}, exit_code=EXIT_OK)
    config_path = sources.config_path()
    config = load_config(config_path)
    ws = load_workspace(config_path, services.config_filter(config) if services.config_filter else config)
    tracker: Tracker | None = None  # logs the evaluation to MLflow as it runs (none for given results)
    if results is not None:
        result = RunResult.read(results)
        if result.run.config_hash != ws.config.config_hash():
            log.warning("results config hash %s differs from the config's", result.run.config_hash)
    elif sources.fetched:  # the bot: files fetched at the pushed sha, no git repository
        if facts.head_sha is None:
            raise UserInputError("a push review of fetched files needs the pushed sha")
        tracker = live_tracking(ws, ws.root)
        with aborted_on_error(tracker):
            result = evaluate_side(
                ws, services, facts.head_sha, facts, branch=facts.branch, on_case=feed(tracker)
            )
        services.out_dir.mkdir(parents=True, exist_ok=True)
        result.write(services.out_dir / RESULTS_FILE)
    else:
        repo = sources.repo_root()
        sha = facts.head_sha or git_head_sha(repo)
        if sha is None:
            raise UserInputError("the repository has no commit yet", hint="Commit something first.")
        if reuse_existing and (found := _stored(ws, services, sha)) is not None:
            stored, where = found
            review = Review(
                kind="push", trust=trust, statuses={}, exit_code=exit_code_for(stored.verdict), head=stored
            )
            review.location, review.existing = where, True
            review.suite, review.head_sha = stored.run.suite, stored.run.git_sha
            return review
        say(f"evaluating commit {sha[:12]} (suite {ws.config.suite}, {len(ws.cases)} cases)")
        if not allow_dirty and facts.head_sha is None and (dirty := tracked_changes(repo, ws.root)):
            raise UserInputError(
                f"uncommitted changes to {', '.join(dirty[:5])}: a baseline must be exactly commit {sha[:12]}",
                hint="Commit or stash them first (or pass --allow-dirty if you really mean it).",
            )
        branch = facts.branch or current_branch(repo)
        tracker = live_tracking(ws, ws.root)
        with aborted_on_error(tracker):
            result = evaluate_side(ws, services, sha, facts, branch=branch, on_case=feed(tracker))
        services.out_dir.mkdir(parents=True, exist_ok=True)
        result.write(services.out_dir / RESULTS_FILE)
    families = dict(_families(result))
    statuses = final_statuses(families, result.gates, result.verdict)
    review = Review(
        kind="push", trust=trust, statuses=statuses, exit_code=EXIT_INCOMPLETE, head=result, families=families
    )
    review.files["results"] = results or services.out_dir / RESULTS_FILE
    review.suite, review.head_sha = result.run.suite, result.run.git_sha
    if result.verdict != "incomplete":  # an incomplete run is logged, never saved as a baseline
        with aborted_on_error(tracker):
            check_saveable(result)
            say(f"saving it to the {ws.config.baseline.store} baseline store")
            review.location = _store(ws, services).save(result)
        review.exit_code = exit_code_for(result.verdict)
    if tracker is not None:
        tracker.finish(result, {RESULTS_FILE: services.out_dir / RESULTS_FILE})
    return review


def _store(ws: Workspace, services: Services) -> BaselineStore:
    return (
        services.store
        or configured_store(ws.config, ws.root, ws.config_path, services)
        or open_configured_store(ws, state_dir=services.state_dir)
    )


def _stored(ws: Workspace, services: Services, sha: str) -> tuple[RunResult, str] | None:
    """The baseline already stored for this commit (and this suite and config), with where it is."""
    store = _store(ws, services)
    stored = store.load(sha, ws.config.suite, ws.config.config_hash())
    if stored is None:
        return None
    where = next(
        (
            r.location
            for r in store.list(ws.config.suite)
            if r.sha == sha and r.config_hash == stored.run.config_hash
        ),
        "the baseline store",
    )
    return stored, where


def _families(result: RunResult) -> dict[str, str]:
    from llmops_action.core.comparison import Comparison, RunRef

    families = dict(Comparison(suite="x", head=RunRef(), gates=result.gates).gate_families())
    return {**families, "regression": "skipped", "drift": "skipped"}


def review_schedule(facts: EventFacts, sources: PullSources, services: Services) -> Review:
    """Evaluate the default branch against its last baseline. What it raises (an alert issue, webhooks) is
    the publisher's: llmops_action/alerts/schedule.py turns the comparison into alerts for the sinks."""
    trust = decide(facts, secrets=services.secrets)
    return review_head(facts, sources, services, trust, kind="schedule")
