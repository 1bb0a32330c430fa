"""`git-branch` baseline store: an orphan branch with one write-once file per (sha, suite, config hash).

Writes use plumbing only (hash-object, a temporary GIT_INDEX_FILE, commit-tree, push), so the user's
working tree, index and HEAD are never touched. Concurrent writers are serialised by the remote: a push
that is not a fast-forward is rejected, and the writer fetches the new tip, re-applies its one file on
top and pushes again (bounded attempts). Reads use `git show <tip>:<path>` after fetching the branch
once per store instance (one flow).

Without a remote of the configured name (a purely local repository) the branch is a local ref,
updated with a compare-and-swap `update-ref`, which gives the same retry semantics.
"""

from __future__ import annotations

import logging
import os
import random
import tempfile
import time
from pathlib import Path

from llmops_action.adapters.baseline.store import BaselineKey, BaselineRecord, check_saveable
from llmops_action.adapters.git import GitError, git, is_repo, rev_parse, show_file, toplevel
from llmops_action.core.results import RunResult
from llmops_action.errors import UserInputError

log = logging.getLogger(__name__)

DEFAULT_IDENTITY = ("llmops-action", "llmops-action@users.noreply.github.com")
# What git prints when another writer moved the branch between our fetch and our push.
_RACE_MARKERS = (
    "non-fast-forward",
    "fetch first",
    "[rejected]",
    "cannot lock ref",
    "failed to lock",
    "failed to update ref",
    "incorrect old value",
    "stale info",
    "but expected",
)


class GitBranchBaselineStore:
    def __init__(
        self,
        root: Path,
        *,
        branch: str = "llmops-baselines",
        remote: str = "origin",
        max_attempts: int = 8,
        backoff: float = 0.1,
    ) -> None:
        if not is_repo(root):
            raise UserInputError(
                f"the git-branch baseline store needs a git checkout, and {root} is not one",
                key="baseline.store",
                hint="Run inside the repository, or use `baseline: {store: dir, path: .llmops/baselines}`.",
            )
        self.repo = toplevel(root)
        self.branch = branch
        self.remote = remote
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.has_remote = remote in git(["remote"], self.repo).split()
        self.ref = f"refs/remotes/{remote}/{branch}" if self.has_remote else f"refs/heads/{branch}"
        self._fetched = False
        self.fetches = 0
        self.push_attempts = 0
        self.push_retries = 0  # rejected pushes that were retried: evidence of a race handled

    # -- reading -----------------------------------------------------------------------------------

    def _fetch(self) -> str | None:
        """Bring the remote branch into our remote-tracking ref; its tip, or None when it does not exist."""
        self._fetched = True
        if not self.has_remote:
            return rev_parse(self.ref, self.repo)
        self.fetches += 1
        try:
            git(
                ["fetch", "--quiet", "--no-tags", self.remote, f"+refs/heads/{self.branch}:{self.ref}"],
                self.repo,
            )
        except GitError as exc:
            if "couldn't find remote ref" not in exc.stderr:
                raise
            # The branch does not exist (yet, or any more): forget a stale tracking ref.
            git(["update-ref", "-d", self.ref], self.repo, check=False)
            return None
        return rev_parse(self.ref, self.repo)

    def _tip(self) -> str | None:
        if not self._fetched:
            return self._fetch()
        return rev_parse(self.ref, self.repo)

    def location(self, key: BaselineKey) -> str:
        prefix = f"{self.remote}/{self.branch}" if self.has_remote else self.branch
        return f"{prefix}:{key.relpath}"

    def load(self, sha: str, suite: str, config_hash: str) -> RunResult | None:
        key = BaselineKey(sha, suite, config_hash)
        tip = self._tip()
        if tip is None:
            return None
        text = show_file(tip, key.relpath, self.repo)
        return None if text is None else RunResult.from_json(text, self.location(key))

    def list(self, suite: str | None = None) -> list[BaselineRecord]:
        tip = self._tip()
        if tip is None:
            return []
        added = self._added_at(tip)
        records = []
        for path in git(["ls-tree", "-r", "--name-only", tip], self.repo).splitlines():
            key = BaselineKey.from_relpath(path)
            if key is None or (suite and key.suite != suite):
                continue
            text = show_file(tip, path, self.repo)
            score = RunResult.from_json(text, path).aggregates.get("score") if text else None
            records.append(
                BaselineRecord(
                    sha=key.sha,
                    suite=key.suite,
                    config_hash=key.config_hash,
                    saved_at=added.get(path),
                    score=score,
                    location=self.location(key),
                )
            )
        records.sort(key=lambda r: (r.saved_at or "", r.sha), reverse=True)
        return records

    def _added_at(self, tip: str) -> dict[str, str]:
        """Commit time of the commit that added each file, from one `git log`."""
        out = git(["log", "--format=%x00%cI", "--name-only", "--diff-filter=A", tip], self.repo)
        added: dict[str, str] = {}
        for chunk in out.split("\x00")[1:]:
            lines = [ln for ln in chunk.splitlines() if ln.strip()]
            if lines:
                for path in lines[1:]:
                    added.setdefault(path, lines[0])
        return added

    # -- writing -----------------------------------------------------------------------------------

    def save(self, result: RunResult) -> str:
        key = check_saveable(result)
        blob = git(["hash-object", "-w", "--stdin"], self.repo, input=result.to_json()).strip()
        for attempt in range(1, self.max_attempts + 1):
            tip = self._fetch()  # always the freshest tip before a write
            if tip is not None and self._exists(tip, key.relpath):
                return self.location(key)  # write-once: someone (maybe us) saved this key already
            commit = self._commit(tip, key, blob)
            self.push_attempts += 1
            try:
                self._publish(commit, tip)
            except GitError as exc:
                if attempt == self.max_attempts or not any(m in exc.stderr for m in _RACE_MARKERS):
                    raise
                self.push_retries += 1
                log.info(
                    "baseline push to %s was rejected (attempt %d/%d); fetching and retrying",
                    self.branch,
                    attempt,
                    self.max_attempts,
                )
                time.sleep(self.backoff * attempt * (0.5 + random.random()))
                continue
            if self.has_remote:
                git(["update-ref", self.ref, commit], self.repo)
            return self.location(key)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _exists(self, tip: str, path: str) -> bool:
        try:
            git(["cat-file", "-e", f"{tip}:{path}"], self.repo)
        except GitError:
            return False
        return True

    def _commit(self, tip: str | None, key: BaselineKey, blob: str) -> str:
        """A commit adding one file on top of `tip` (or a root commit), built without the user's index."""
        with tempfile.TemporaryDirectory(prefix="llmops-index-") as tmp:
            env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
            git(["read-tree", tip] if tip else ["read-tree", "--empty"], self.repo, env=env)
            git(["update-index", "--add", "--cacheinfo", f"100644,{blob},{key.relpath}"], self.repo, env=env)
            tree = git(["write-tree"], self.repo, env=env).strip()
        parents = ["-p", tip] if tip else []
        message = f"baseline {key.suite} {key.sha[:12]} (config {key.config_hash})"
        args = [*self._identity(), "commit-tree", "--no-gpg-sign", tree, *parents, "-m", message]
        return git(args, self.repo).strip()

    def _publish(self, commit: str, tip: str | None) -> None:
        if self.has_remote:
            git(
                ["push", "--quiet", "--no-verify", self.remote, f"{commit}:refs/heads/{self.branch}"],
                self.repo,
            )
        else:
            # Compare-and-swap: fails if the branch moved since `tip` (the zero sha means "must not exist").
            git(["update-ref", self.ref, commit, tip or "0" * 40], self.repo)

    def _identity(self) -> list[str]:
        """The configured identity when there is one, else the bot's (Actions runners have none).

        GIT_COMMITTER_* / GIT_AUTHOR_* variables still win over `-c user.*`, as git documents.
        """
        name = git(["config", "user.name"], self.repo, check=False).strip()
        email = git(["config", "user.email"], self.repo, check=False).strip()
        if name and email:
            return []
        return ["-c", f"user.name={DEFAULT_IDENTITY[0]}", "-c", f"user.email={DEFAULT_IDENTITY[1]}"]
