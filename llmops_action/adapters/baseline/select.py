"""Which stored run a pull request is compared with.

Start at the merge-base of head and the base branch (what the PR actually branched from); when that
commit has no record for this suite and config hash, walk its first-parent ancestors (the base
branch's own history, not the commits merged into it) to the nearest one that does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from llmops_action.adapters.baseline.store import BaselineStore
from llmops_action.adapters.git import first_parent_ancestors, merge_base, rev_parse
from llmops_action.core.results import RunResult
from llmops_action.errors import UserInputError


@dataclass(frozen=True)
class BaseChoice:
    result: RunResult | None
    sha: str | None  # the commit whose record is used
    source: Literal["stored", "ancestor", "none"]
    merge_base: str | None
    searched: int = 0  # commits looked at, merge-base included


def resolve_ref(ref: str, repo: Path, remote: str = "origin") -> str:
    """A branch name, tag or sha as a commit; a bare branch name also tries `<remote>/<name>`,
    since a PR checkout usually has `origin/main` but no local `main`."""
    sha = rev_parse(ref, repo) or rev_parse(f"{remote}/{ref}", repo)
    if sha is None:
        raise UserInputError(
            f"base ref '{ref}' is not a commit in {repo}",
            key="base-ref",
            hint="Fetch it first (actions/checkout with `fetch-depth: 0`, or `git fetch origin "
            f"{ref}`), or pass --base-ref with a branch that exists.",
        )
    return sha


def select_base(
    store: BaselineStore | None,
    repo: Path,
    *,
    head_sha: str,
    base_ref: str,
    suite: str,
    config_hash: str,
    max_ancestors: int = 50,
) -> BaseChoice:
    base_sha = resolve_ref(base_ref, repo)
    mb = merge_base(head_sha, base_sha, repo)
    if mb is None:
        return BaseChoice(None, None, "none", None)
    if store is None:
        return BaseChoice(None, None, "none", mb)
    candidates = [mb, *first_parent_ancestors(mb, repo, max_ancestors)]
    for i, sha in enumerate(candidates):
        found = store.load(sha, suite, config_hash)
        if found is not None:
            return BaseChoice(found, sha, "stored" if i == 0 else "ancestor", mb, searched=i + 1)
    return BaseChoice(None, None, "none", mb, searched=len(candidates))


def stored_choice(
    store: BaselineStore | None, sha: str | None, *, suite: str, config_hash: str
) -> BaseChoice:
    """The record of exactly `sha` (the PR's base sha, when there is no git history to walk: the bot)."""
    found = store.load(sha, suite, config_hash) if store is not None and sha else None
    return BaseChoice(found, sha if found is not None else None, "stored" if found else "none", sha)
