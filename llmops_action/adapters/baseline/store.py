"""The baseline store port: one stored RunResult per (commit sha, suite, config hash), written once.

Backends: `dir` (a local folder), `git-branch` (an orphan branch) and `mlflow` (runs tagged with the
key; built in its own module). Callers only see this protocol and `open_store`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from llmops_action.errors import UserInputError

if TYPE_CHECKING:
    from llmops_action.core.config import BaselineConfig
    from llmops_action.core.results import RunResult

_SHA = re.compile(r"^[0-9a-f]{7,64}$")
_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class BaselineKey:
    sha: str
    suite: str
    config_hash: str

    def __post_init__(self) -> None:
        # The key becomes a path on disk and in a git tree: refuse anything that could escape it.
        if not _SHA.match(self.sha):
            raise UserInputError(f"not a commit sha: '{self.sha}'", key="sha")
        for name in ("suite", "config_hash"):
            value = getattr(self, name)
            if not _SAFE.match(value) or value in (".", ".."):
                raise UserInputError(f"unsafe baseline {name}: '{value}'", key=name)

    @property
    def relpath(self) -> str:
        """`<suite>/<sha>/<config_hash>.json`: one small file per key, never a growing one."""
        return f"{self.suite}/{self.sha}/{self.config_hash}.json"

    @classmethod
    def of(cls, result: RunResult) -> BaselineKey:
        if not result.run.git_sha:
            raise UserInputError(
                "this run has no commit sha, so it cannot be stored as a baseline",
                hint="Evaluate inside a git checkout, or pass the sha the results belong to.",
            )
        return cls(result.run.git_sha, result.run.suite, result.run.config_hash)

    @classmethod
    def from_relpath(cls, relpath: str) -> BaselineKey | None:
        parts = relpath.split("/")
        if len(parts) != 3 or not parts[2].endswith(".json"):
            return None
        try:
            return cls(parts[1], parts[0], parts[2].removesuffix(".json"))
        except UserInputError:
            return None


@dataclass(frozen=True)
class BaselineRecord:
    sha: str
    suite: str
    config_hash: str
    saved_at: str | None  # ISO 8601
    score: float | None  # the run's aggregate `score`
    location: str

    def to_dict(self) -> dict[str, object]:
        return {
            "sha": self.sha,
            "suite": self.suite,
            "config_hash": self.config_hash,
            "saved_at": self.saved_at,
            "score": self.score,
            "location": self.location,
        }


@runtime_checkable
class BaselineStore(Protocol):
    def load(self, sha: str, suite: str, config_hash: str) -> RunResult | None:
        """The stored run for this key, or None."""
        ...

    def save(self, result: RunResult) -> str:
        """Store once and return its location; saving an existing key returns the existing location."""
        ...

    def list(self, suite: str | None = None) -> list[BaselineRecord]:
        """Every stored record (of one suite), newest first."""
        ...


def check_saveable(result: RunResult) -> BaselineKey:
    """A baseline must be a whole, trustworthy run: never a shard or an incomplete one."""
    if result.run.shard:
        raise UserInputError(
            f"this run is shard {result.run.shard}; a baseline must cover every case",
            hint="Merge the shards first: llmops-action merge shard-*/results.json --out merged/",
        )
    if result.verdict == "incomplete":
        raise UserInputError(
            "this run is incomplete (too many provider or judge errors); it is not saved as a baseline"
        )
    return BaselineKey.of(result)


def open_store(
    cfg: BaselineConfig, root: Path, *, tracking_uri: str | None = None, experiment: str | None = None
) -> BaselineStore:
    """The store `.llmops.yml` names. `root` is the folder holding the config (paths are relative to it)."""
    if cfg.store == "dir":
        from llmops_action.adapters.baseline.dir import DirBaselineStore

        path = Path(cfg.path)
        return DirBaselineStore(path if path.is_absolute() else root / path)
    if cfg.store == "git-branch":
        from llmops_action.adapters.baseline.git_branch import GitBranchBaselineStore

        return GitBranchBaselineStore(root, branch=cfg.branch, remote=cfg.remote)
    if cfg.store == "mlflow":
        try:
            from llmops_action.adapters.baseline.mlflow import MlflowBaselineStore  # type: ignore[import-not-found]
        except ImportError as exc:
            raise UserInputError(
                f"the mlflow baseline store is not available in this installation ({exc})",
                key="baseline.store",
                hint="Use `baseline: {store: git-branch}` or `store: dir`, or install llmops-action with mlflow.",
            ) from None
        return MlflowBaselineStore(tracking_uri, experiment)  # type: ignore[no-any-return]
    raise UserInputError(f"unknown baseline store '{cfg.store}'", key="baseline.store")
