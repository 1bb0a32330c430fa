"""The review core's data: what goes in (PullSources, Services) and what comes out (Review, Alert).

Plain dataclasses so the Action, the CLI and the bot build them without knowing the engine. A Review has a
JSON form with a schema version (`Review.to_json()`), for the bot's queue and for debugging.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from llmops_action.core.statuses import CONCLUSION_FOR, Statuses
from llmops_action.core.trust import Trust

if TYPE_CHECKING:
    from llmops_action.adapters.baseline.store import BaselineStore
    from llmops_action.adapters.tracking import TrackingOutcome
    from llmops_action.core.comparison import Comparison
    from llmops_action.core.config import LlmopsConfig
    from llmops_action.core.results import RunResult
    from llmops_action.engine.sources import Source

REVIEW_SCHEMA_VERSION = 1
REVIEW_KIND = "llmops.review"


@dataclass(frozen=True)
class PullSources:
    """Where the files of a review come from.

    `repo`: a git repository holding the head and base commits (a checkout; in a privileged run, the base's
    own checkout with the fork's head fetched as objects). `head`: the head's config folder (a
    CheckoutSource, or a GitTreeSource / FilesSource when the head is read as data). `config`: the config's
    path relative to the repository root, as in the `config` input. `base`: the base's config folder
    fetched at the PR's base sha, with no git repository at all (the bot; `fetched`): `repo` is then just
    the fetched head tree, the merge-base is `facts.base_sha` and the stored baseline is looked up by that
    sha alone (no ancestor walk without git).
    """

    repo: Path
    head: Source
    config: str = ".llmops.yml"
    base: Source | None = None
    fetched: bool = False  # the files were fetched (no git repository): every sha comes from the facts

    @classmethod
    def for_checkout(cls, config_path: Path) -> PullSources:
        """A working tree: the head is the folder holding `config_path`, in the repository around it."""
        from llmops_action.adapters.git import is_repo, toplevel
        from llmops_action.engine.sources import CheckoutSource

        folder = Path(config_path).resolve().parent
        if not is_repo(folder):
            return cls(repo=folder, head=CheckoutSource(folder), config=Path(config_path).name)
        top = toplevel(folder).resolve()
        rel = Path(config_path).resolve().relative_to(top).as_posix()
        return cls(repo=top, head=CheckoutSource(folder), config=rel)

    def repo_root(self) -> Path:
        from llmops_action.adapters.git import is_repo, toplevel
        from llmops_action.errors import UserInputError

        if not is_repo(self.repo):
            raise UserInputError(
                f"a review needs a git checkout, and {self.repo} is not inside one",
                hint="Run it from a clone of the repository (actions/checkout with `fetch-depth: 0` on CI).",
            )
        return toplevel(self.repo).resolve()

    def config_path(self) -> Path:
        return self.repo / self.config


@dataclass
class Services:
    """What the review uses from the outside world.

    `out_dir`: where the report files go. `api_key`: the Gemini key (the gemini provider and the judge only).
    `store`: a baseline store overriding the configured one; `baseline_branch`: the Action's input that
    overrides a git-branch store's branch. `state_dir`: where the cache and a `dir` store live (the Action:
    under RUNNER_TEMP, so nothing the PR commits is read as either); None: the config's folders (local runs).
    `holds_secrets`: this context has a key or a write token (default: an api_key is set). `permission` /
    `label_by_writer`: what the caller checked through the API for a comment command or the
    `llmops:trusted` label. `unverified`: (name, value) figures a fork's own run supplied, shown in the
    comment as unverified and never used for a status. `github`: the caller's client, for callers that pass
    services along to publishing; the review itself never posts. `config_filter`: applied to every config
    the review loads (the bot drops what would send its key or its records somewhere a repository names).
    """

    out_dir: Path
    api_key: str | None = None
    store: BaselineStore | None = None
    baseline_branch: str | None = None
    state_dir: Path | None = None
    use_cache: bool = True
    progress: bool = False
    links: dict[str, str] | None = None
    base_ref: str | None = None
    holds_secrets: bool | None = None
    permission: str | None = None
    label_by_writer: bool = False
    unverified: Sequence[tuple[str, str]] = ()
    github: Any = None
    config_filter: Callable[[LlmopsConfig], LlmopsConfig] | None = None

    @property
    def secrets(self) -> bool:
        return bool(self.api_key) if self.holds_secrets is None else self.holds_secrets


@dataclass
class Review:
    """What a review decided: statuses (or check runs), the comment, the comparison, the exit code.

    `pending`: why nothing was evaluated here (a fork's code needs a maintainer), else None.
    """

    kind: Literal["pull_request", "push", "schedule"]
    trust: Trust
    statuses: Statuses
    exit_code: int
    comparison: Comparison | None = None
    comment: str | None = None
    head: RunResult | None = None
    base: RunResult | None = None
    base_sha: str | None = None
    merge_base: str | None = None
    files: dict[str, Path] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    location: str | None = None  # push: where the baseline was saved (None: not saved)
    existing: bool = False  # push: the commit had its baseline already; nothing was evaluated or written
    tracking: TrackingOutcome | None = None
    pending: str | None = None
    suite: str | None = None
    head_sha: str | None = None
    families: dict[str, str] = field(default_factory=dict)  # worst gate status per family

    @property
    def verdict(self) -> str:
        if self.pending:
            return "pending"
        if self.comparison is not None:
            return self.comparison.verdict
        return self.head.verdict if self.head is not None else "skipped"

    def check_runs(self) -> dict[str, tuple[str, str]]:
        """{family: (conclusion, summary)}: the statuses as check-run conclusions (pending asks for action)."""
        return {f: (CONCLUSION_FOR[state], text) for f, (state, text) in self.statuses.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": REVIEW_SCHEMA_VERSION,
            "kind": REVIEW_KIND,
            "review": self.kind,
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "suite": self.suite,
            "head_sha": self.head_sha,
            "base_sha": self.base_sha,
            "trust": {
                "reason": self.trust.reason,
                "head_code_trusted": self.trust.head_code_trusted,
                "head_as_data": self.trust.head_as_data,
            },
            "pending": self.pending,
            "statuses": {f: {"state": s, "description": d} for f, (s, d) in self.statuses.items()},
            "check_runs": {f: {"conclusion": c, "summary": d} for f, (c, d) in self.check_runs().items()},
            "comment": self.comment,
            "comparison": json.loads(self.comparison.to_json()) if self.comparison is not None else None,
            "warnings": list(self.warnings),
            "baseline_location": self.location,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)
