"""What one Action run knows about where it runs, built once from the environment; shared by the routes.

Its own module so the entry point (action.py), the routes (action_routes.py, action_report.py) and the
publishing helpers (action_publish.py) import it without importing each other in a circle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmops_action.action.inputs import ActionInputs
from llmops_action.action.io import Console
from llmops_action.core.events import EventFacts, facts_from_payload
from llmops_action.errors import EXIT_GATE_FAILED, EXIT_INCOMPLETE, EXIT_OK, UserInputError
from llmops_action.review_types import PullSources, Services

PR_FILE = "pr.json"  # written next to the reports so a report-mode run knows which PR they belong to
STATE_FOLDER = "llmops"  # under RUNNER_TEMP: the cache and a `dir` baseline store, restored by actions/cache


@dataclass
class Context:
    """Everything one run knows about where it runs; built once from the environment."""

    env: Mapping[str, str]
    inputs: ActionInputs
    console: Console
    workspace: Path
    event_name: str
    payload: dict[str, Any]
    repo: str
    run_url: str | None
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def out_dir(self) -> Path:
        return self.inputs.output_dir(self.workspace)

    @property
    def config_path(self) -> Path:
        return self.inputs.config_path(self.workspace)

    @property
    def facts(self) -> EventFacts:
        return facts_from_payload(self.event_name, self.payload, repo=self.repo or None)

    @property
    def state_dir(self) -> Path | None:
        """Outside the workspace, so nothing a pull request commits is read as a cache entry or a baseline
        (core/trust.py): LLMOPS_STATE_DIR (action.yml sets it; actions/cache restores it), else under
        RUNNER_TEMP. None outside a runner: the config's own folders."""
        if state := self.env.get("LLMOPS_STATE_DIR"):
            return Path(state)
        temp = self.env.get("RUNNER_TEMP")
        return Path(temp) / STATE_FOLDER if temp else None


def exit_code(families: Mapping[str, str], verdict: str, fail_on: tuple[str, ...]) -> int:
    if verdict == "incomplete":
        return EXIT_INCOMPLETE
    if any(families.get(f) == "fail" for f in fail_on):
        return EXIT_GATE_FAILED
    return EXIT_OK


def services_for(ctx: Context, *, api_key: str | None, holds_secrets: bool | None = None) -> Services:
    inputs = ctx.inputs
    return Services(
        out_dir=ctx.out_dir,
        api_key=api_key or None,
        use_cache=inputs.cache,
        links={"workflow_run": ctx.run_url} if ctx.run_url else None,
        base_ref=inputs.base_ref or None,
        baseline_branch=inputs.baseline_branch or None,
        state_dir=ctx.state_dir,
        holds_secrets=holds_secrets,
        progress=True,  # lines every few seconds in the job log (no TTY on a runner)
    )


def head_as_data(ctx: Context, facts: EventFacts) -> PullSources:
    """The PR head as data: its git objects fetched into the base's checkout (nothing of it checked out or
    run), read as a tree at the head sha; the checkout itself is the base's."""
    from pathlib import PurePosixPath

    from llmops_action.engine.sources import GitTreeSource, fetch_commit

    checkout = PullSources.for_checkout(ctx.config_path)
    repo = checkout.repo_root()
    sha = facts.head_sha or ""
    if not fetch_commit(repo, sha, pr_number=facts.pr_number):
        raise UserInputError(
            f"cannot fetch the pull request's head {sha} into {repo}",
            hint="Check out the base with `fetch-depth: 0`; the head is fetched as refs/pull/N/head.",
        )
    folder = PurePosixPath(checkout.config).parent.as_posix() or "."
    return PullSources(repo=repo, head=GitTreeSource(repo, sha, folder), config=checkout.config)
