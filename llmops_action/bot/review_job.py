"""THE seam between the bot and the evaluation: `run_review(job, services, on_start) -> ReviewOutcome`.

Everything else in the bot (server, signatures, queue, auth, check runs, slash commands, operator page)
knows nothing of how a review is computed. This module fetches the head and base trees through the API
into a temporary folder, builds the event's facts, and calls the review core (llmops_action/review.py)
the Action and the CLI's `pr` call: the trust policy there decides the measurement (the base's config),
the providers and the keys. The bot's context is the base's with secrets (like `pull_request_target`).

Data only: the trees are files in a temporary folder. A config whose provider is `python` or `command`
(the app's own code) is refused with a message, never run; a repository's config cannot point the Gemini
key at its own endpoint (base_url is dropped), cannot name the tracking server, and its cache folder is
never read (the cache lives under the bot's data folder).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from llmops_action.bot.checks import Annotation
from llmops_action.bot.jobs import Job
from llmops_action.bot.messages import render
from llmops_action.bot.settings import README_DATA_ONLY, BotSettings
from llmops_action.bot.sources import fetch_tree
from llmops_action.errors import UserInputError

if TYPE_CHECKING:
    from llmops_action.adapters.github import GitHubClient
    from llmops_action.core.config import LlmopsConfig
    from llmops_action.core.events import EventFacts
    from llmops_action.core.results import GateResult, RunResult
    from llmops_action.review_types import Review

CODE_PROVIDERS = ("python", "command")


@dataclass
class Services:
    client: GitHubClient
    token: str = field(repr=False)
    settings: BotSettings


@dataclass
class ReviewOutcome:
    status: str  # "evaluated" | "no-config" | "refused" | "bad-config"
    suite: str | None = None
    verdict: str | None = None
    comment: str | None = None  # the sticky comment's body (pull requests)
    families: dict[str, str] = field(default_factory=dict)
    gates: list[GateResult] = field(default_factory=list)
    annotations: list[Annotation] = field(default_factory=list)
    message: str | None = None  # refused / bad-config: what the check runs say
    baseline: str | None = None  # push: where the baseline was stored
    head_sha: str | None = None
    schedule: str | None = None  # the config's cron for continuous evaluation (push to the default branch)


class BotBaselineStore:
    """The bot's baselines: its own MLflow (write-once), then the records the Action pushed to the
    repository's baseline branch, read through the API (never from the trees under review)."""

    def __init__(self, services: Services, repo: str, branch: str) -> None:
        from llmops_action.adapters.baseline.mlflow import MlflowBaselineStore

        self.mlflow = MlflowBaselineStore(services.settings.tracking_uri, f"llmops-bot/{repo}")
        self.client, self.branch = services.client, branch

    def load(self, sha: str, suite: str, config_hash: str) -> RunResult | None:
        from llmops_action.adapters.baseline.store import BaselineKey
        from llmops_action.core.results import RunResult

        found = self.mlflow.load(sha, suite, config_hash)
        if found is not None:
            return found
        relpath = BaselineKey(sha, suite, config_hash).relpath
        client = self.client
        try:
            content = client._call("read", lambda: client._repo.get_contents(relpath, ref=self.branch))
        except Exception:
            return None  # no baseline branch, or no record for this sha: the base is re-evaluated
        if isinstance(content, list):
            return None
        return RunResult.from_json(content.decoded_content.decode("utf-8"), source=relpath)

    def save(self, result: RunResult) -> str:
        return self.mlflow.save(result)  # write-once: an existing key keeps its first record

    def list(self, suite: str | None = None) -> list[Any]:
        return self.mlflow.list(suite)


def _sanitized(config: LlmopsConfig) -> LlmopsConfig:
    """A repository's config as data the bot can run without handing a secret to the repository."""
    from llmops_action.core.config import TrackingConfig

    update: dict[str, Any] = {
        "provider": config.provider.model_copy(update={"base_url": None}),
        "judge": config.judge.model_copy(update={"base_url": None}),
        "tracking": TrackingConfig(enabled=False),
    }
    return config.model_copy(update=update)


def _load(root: Path, config_path: str) -> tuple[LlmopsConfig | None, str | None]:
    """(config, None), (None, None) without a config, or (None, message) for a config that must not run."""
    from llmops_action.core.config import load_config
    from llmops_action.engine.workspace import load_workspace

    path = root / config_path
    if not path.is_file():
        return None, None
    try:
        config = load_config(path)
    except UserInputError as exc:
        return None, render("bad_config.md.j2", error=exc.format())
    if config.provider.type in CODE_PROVIDERS:
        return None, render(
            "needs_action.md.j2", provider=config.provider.type, config=config_path, readme=README_DATA_ONLY
        )
    try:
        load_workspace(path, config)  # a broken prompt or dataset is the repository's to fix: say so early
    except UserInputError as exc:
        return None, render("bad_config.md.j2", error=exc.format())
    return config, None


def _annotations(root: Path, config_path: str, changed: set[str], verdict: str) -> list[Annotation]:
    from llmops_action.engine.workspace import load_workspace

    level = "failure" if verdict == "fail" else "warning" if verdict == "warn" else "notice"
    out = []
    for prompt in load_workspace(root / config_path).prompts.values():
        if not prompt.source:
            continue
        try:
            rel = (
                Path(prompt.source.rpartition(":")[0] or prompt.source).resolve().relative_to(root.resolve())
            )
        except ValueError:
            continue
        if rel.as_posix() in changed:
            out.append(
                Annotation(
                    rel.as_posix(),
                    f"prompt {prompt.name} {prompt.version} changed in this PR; llmops verdict: {verdict}",
                    level,
                )
            )
    return out


def _changed_files(client: GitHubClient, number: int) -> set[str]:
    return client._call("read", lambda: {f.filename for f in client._repo.get_pull(number).get_files()})


def _facts(job: Job, base_sha: str | None) -> EventFacts:
    """The job's event as the trust policy sees it. A PR is judged in the base's context with the bot's
    secrets, which is what `pull_request_target` means: a fork's files are data, its gates the base's."""
    from llmops_action.core.events import EventFacts

    common = {"repo": job.repo, "head_sha": job.head_sha, "base_sha": base_sha}
    if job.kind == "pr":
        return EventFacts(
            "pull_request_target", pr_number=job.pr, head_repo=job.head_repo, base_ref=job.base_ref, **common
        )
    branch = job.base_ref or "main"
    event = "push" if job.kind == "push" else "schedule"
    return EventFacts(event, default_branch=branch, ref=f"refs/heads/{branch}", base_ref=branch, **common)


def _review(
    job: Job, services: Services, tmp: Path, head: Path, base: Path | None, cfg: LlmopsConfig
) -> Review:
    from llmops_action import review as core
    from llmops_action.engine.sources import CheckoutSource
    from llmops_action.review_types import PullSources
    from llmops_action.review_types import Services as CoreServices

    settings = services.settings
    store = BotBaselineStore(services, job.repo, cfg.baseline.branch)
    base_sha = job.base_sha
    if job.kind == "schedule":  # the default branch against its last baseline, under its own config
        base, records = head, store.list(cfg.suite)
        base_sha = records[0].sha if records else None
    folder = PurePosixPath(job.config_path).parent.as_posix()
    sources = PullSources(
        repo=head,
        head=CheckoutSource(head / folder),
        base=CheckoutSource(base / folder) if base is not None else None,
        config=job.config_path,
        fetched=True,
    )
    core_services = CoreServices(
        out_dir=tmp / "out",
        api_key=settings.gemini_api_key,
        store=store,
        state_dir=settings.data_dir / "review-state" / job.repo,  # the cache: never the repository's
        holds_secrets=True,
        config_filter=_sanitized,
    )
    facts = _facts(job, base_sha)
    if job.kind == "pr":
        return core.review_pull_request(facts, sources, core_services)
    if job.kind == "push":
        return core.review_push(facts, sources, core_services)
    return core.review_schedule(facts, sources, core_services)


def run_review(job: Job, services: Services, on_start: Callable[[], None]) -> ReviewOutcome:
    """Evaluate `job` (pr, push or schedule). `on_start` is called once there is something to evaluate."""
    with tempfile.TemporaryDirectory(prefix="llmops-bot-") as tmp:
        fetch = {"client": services.client, "token": services.token, "api_url": services.settings.api_url}
        head_root = fetch_tree(sha=job.head_sha, dest=Path(tmp) / "head", **fetch)
        head_cfg, refusal = _load(head_root, job.config_path)
        base_root, base_cfg = None, None
        if job.kind == "pr" and job.base_sha:
            base_root = fetch_tree(sha=job.base_sha, dest=Path(tmp) / "base", **fetch)
            base_cfg, base_refusal = _load(base_root, job.config_path)
            refusal = refusal or base_refusal
        if refusal is not None:
            on_start()
            kind = "refused" if "needs the Action" in refusal else "bad-config"
            return ReviewOutcome(kind, message=refusal, head_sha=job.head_sha)
        if head_cfg is None:
            return ReviewOutcome("no-config", head_sha=job.head_sha)
        on_start()
        try:
            review = _review(job, services, Path(tmp), head_root, base_root, base_cfg or head_cfg)
        except UserInputError as exc:
            return ReviewOutcome(
                "bad-config", message=render("bad_config.md.j2", error=exc.format()), head_sha=job.head_sha
            )
        if not review.trust.act:
            return ReviewOutcome("no-config", head_sha=job.head_sha, message=review.trust.reason)
        if review.pending:  # a fork's first run cannot bring its own gates: a maintainer runs the Action
            return ReviewOutcome("refused", message=review.comment or review.pending, head_sha=job.head_sha)
        gates = review.comparison.gates if review.comparison is not None else review.head.gates  # type: ignore[union-attr]
        outcome = ReviewOutcome(
            "evaluated",
            suite=review.suite,
            verdict=review.verdict,
            comment=review.comment,
            families=dict(review.families),
            gates=list(gates),
            baseline=review.location,
            head_sha=job.head_sha,
            schedule=head_cfg.schedule,
        )
        if job.kind == "pr" and job.pr is not None:
            changed = _changed_files(services.client, job.pr)
            outcome.annotations = _annotations(head_root, job.config_path, changed, outcome.verdict or "")
        return outcome
