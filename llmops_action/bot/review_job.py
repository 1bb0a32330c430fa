"""THE seam between the bot and the evaluation: `run_review(job, services) -> ReviewOutcome`.

Everything else in the bot (server, signatures, queue, auth, check runs, slash commands, operator page)
knows nothing of how a review is computed. Today this module fetches the head and base trees through the
API and calls the library pieces the CLI's `pr` path calls (load_workspace, evaluate, compare_and_report,
the baseline stores); when the review core (llmops_action/review.py, issue 10) lands, this one function
switches to `review_pull_request(facts, sources, services)`.

Data only: the trees are files in a temporary folder. A config whose provider is `python` or `command`
(the app's own code) is refused with a message, never run; a repository's config cannot point the Gemini
key at its own endpoint (base_url is dropped), cannot name the tracking server, and brings no cache.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmops_action.bot.checks import Annotation
from llmops_action.bot.jobs import Job
from llmops_action.bot.messages import render
from llmops_action.bot.settings import README_DATA_ONLY, BotSettings
from llmops_action.bot.sources import fetch_tree
from llmops_action.errors import UserInputError

if TYPE_CHECKING:
    from llmops_action.core.config import LlmopsConfig
    from llmops_action.core.results import GateResult, RunResult
    from llmops_action.github import GitHubClient
    from llmops_action.workspace import Workspace

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


def baseline_store(settings: BotSettings, repo: str) -> Any:
    from llmops_action.baseline.mlflow import MlflowBaselineStore

    return MlflowBaselineStore(settings.tracking_uri, f"llmops-bot/{repo}")


def _sanitized(ws: Workspace) -> Workspace:
    """The repository's config as data the bot can run without handing a secret to the repository."""
    from llmops_action.core.config import TrackingConfig

    cfg = ws.config
    update: dict[str, Any] = {
        "provider": cfg.provider.model_copy(update={"base_url": None}),
        "judge": cfg.judge.model_copy(update={"base_url": None}),
        "tracking": TrackingConfig(enabled=False),
    }
    return dataclasses.replace(ws, config=cfg.model_copy(update=update))


def _load(root: Path, config_path: str) -> tuple[Workspace | None, str | None]:
    """(workspace, None), (None, None) without a config, or (None, message) for a config that must not run."""
    from llmops_action.core.config import load_config
    from llmops_action.workspace import load_workspace

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
        return _sanitized(load_workspace(path)), None
    except UserInputError as exc:
        return None, render("bad_config.md.j2", error=exc.format())


def _evaluate(ws: Workspace, settings: BotSettings, job: Job, sha: str, branch: str | None) -> RunResult:
    from llmops_action.evaluate import evaluate

    return evaluate(
        ws,
        api_key=settings.gemini_api_key,
        use_cache=False,  # a cache folder in the repository is something the PR wrote: never trusted
        git_sha=sha,
        git_branch=branch,
        event={"pr": "pull_request"}.get(job.kind, job.kind),
        pr_number=job.pr,
    )


def _stored_base(services: Services, job: Job, config: LlmopsConfig, sha: str) -> RunResult | None:
    """The base's baseline: the bot's MLflow first, then the repository's baseline branch (the Action's)."""
    from llmops_action.baseline.store import BaselineKey
    from llmops_action.core.results import RunResult

    found = baseline_store(services.settings, job.repo).load(sha, config.suite, config.config_hash())
    if found is not None:
        return found
    relpath = BaselineKey(sha, config.suite, config.config_hash()).relpath
    try:
        content = services.client._call(
            "read", lambda: services.client._repo.get_contents(relpath, ref=config.baseline.branch)
        )
    except Exception:
        return None  # no baseline branch, or no record for this sha: re-evaluate the base
    if isinstance(content, list):
        return None
    return RunResult.from_json(content.decoded_content.decode("utf-8"), source=relpath)


def _annotations(ws: Workspace, root: Path, changed: set[str], verdict: str) -> list[Annotation]:
    level = "failure" if verdict == "fail" else "warning" if verdict == "warn" else "notice"
    out = []
    for prompt in ws.prompts.values():
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


def run_review(job: Job, services: Services, on_start: Callable[[], None]) -> ReviewOutcome:
    """Evaluate `job` (pr, push or schedule). `on_start` is called once there is something to evaluate."""
    from llmops_action.reporting import compare_and_report

    with tempfile.TemporaryDirectory(prefix="llmops-bot-") as tmp:
        head_root = fetch_tree(
            services.client,
            services.token,
            job.head_sha,
            Path(tmp) / "head",
            api_url=services.settings.api_url,
        )
        head_ws, refusal = _load(head_root, job.config_path)
        base_ws = base_root = None
        if job.kind == "pr" and job.base_sha:
            base_root = fetch_tree(
                services.client,
                services.token,
                job.base_sha,
                Path(tmp) / "base",
                api_url=services.settings.api_url,
            )
            base_ws, base_refusal = _load(base_root, job.config_path)
            refusal = refusal or base_refusal
        if refusal is not None:
            on_start()
            kind = "refused" if "needs the Action" in refusal else "bad-config"
            return ReviewOutcome(kind, message=refusal, head_sha=job.head_sha)
        if head_ws is None:
            return ReviewOutcome("no-config", head_sha=job.head_sha)
        on_start()
        config = head_ws.config
        head = _evaluate(
            head_ws, services.settings, job, job.head_sha, job.base_ref if job.kind != "pr" else None
        )
        store = baseline_store(services.settings, job.repo)
        base: RunResult | None = None
        source = "none"
        measurement = config
        if job.kind == "pr" and base_ws is not None and job.base_sha:
            # The base's config scores and gates the comparison: a PR cannot loosen its own gates.
            measurement = base_ws.config
            base = _stored_base(services, job, base_ws.config, job.base_sha)
            source = "stored"
            if base is None:
                base = _evaluate(base_ws, services.settings, job, job.base_sha, job.base_ref)
                source = "rerun"
        elif job.kind == "schedule":
            records = store.list(config.suite)
            if records:
                r = records[0]
                base = store.load(r.sha, r.suite, r.config_hash)
                source = "stored"
        report = compare_and_report(
            base,
            head,
            measurement,
            Path(tmp) / "out",
            base_source=source,
            trend=[],
            trend_branch=job.base_ref,
        )
        c = report.comparison
        outcome = ReviewOutcome(
            "evaluated",
            suite=config.suite,
            verdict=c.verdict,
            comment=report.paths["comment"].read_text(encoding="utf-8"),
            families=dict(c.gate_families()),
            gates=list(c.gates),
            head_sha=job.head_sha,
            schedule=config.schedule,
        )
        if job.kind == "push" and head.verdict != "incomplete":
            outcome.baseline = store.save(head)  # write-once: an existing key keeps its first record
        if job.kind == "pr" and job.pr is not None:
            outcome.annotations = _annotations(
                head_ws, head_root, _changed_files(services.client, job.pr), c.verdict
            )
        return outcome
