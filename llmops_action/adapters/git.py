"""Plain git through subprocess: the one place this package runs git."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from llmops_action.errors import IncompleteRunError


class GitError(IncompleteRunError):
    def __init__(self, args: list[str], returncode: int, stderr: str) -> None:
        super().__init__(f"git {' '.join(args)} failed ({returncode}): {stderr.strip()[:500]}")
        self.returncode = returncode
        self.stderr = stderr


def git(
    args: list[str],
    cwd: str | Path,
    *,
    check: bool = True,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run git; `env` adds variables (e.g. a temporary GIT_INDEX_FILE) on top of the process environment."""
    full_env = {**os.environ, **(env or {}), "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    proc = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, env=full_env, input=input, check=False
    )
    if check and proc.returncode != 0:
        raise GitError(args, proc.returncode, proc.stderr)
    return proc.stdout


def is_repo(path: str | Path) -> bool:
    try:
        return git(["rev-parse", "--is-inside-work-tree"], path, check=False).strip() == "true"
    except FileNotFoundError:  # git not installed
        return False


def toplevel(path: str | Path) -> Path:
    return Path(git(["rev-parse", "--show-toplevel"], path).strip())


def rev_parse(ref: str, cwd: str | Path) -> str | None:
    out = git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd, check=False).strip()
    return out or None


def head_sha(cwd: str | Path) -> str | None:
    return rev_parse("HEAD", cwd) if is_repo(cwd) else None


def current_branch(cwd: str | Path) -> str | None:
    if not is_repo(cwd):
        return None
    out = git(["rev-parse", "--abbrev-ref", "HEAD"], cwd, check=False).strip()
    return None if out in ("", "HEAD") else out


def merge_base(a: str, b: str, cwd: str | Path) -> str | None:
    out = git(["merge-base", a, b], cwd, check=False).strip()
    return out or None


def first_parent_ancestors(sha: str, cwd: str | Path, limit: int) -> list[str]:
    """sha's first-parent ancestors, nearest first, not including sha itself."""
    if limit <= 0:
        return []
    out = git(["rev-list", "--first-parent", f"--max-count={limit + 1}", sha], cwd, check=False)
    return out.split()[1:]


def show_file(ref: str, path: str, cwd: str | Path) -> str | None:
    """A file's text at a ref, or None when it does not exist there."""
    proc = subprocess.run(["git", "show", f"{ref}:{path}"], cwd=cwd, capture_output=True, check=False)
    return proc.stdout.decode("utf-8") if proc.returncode == 0 else None
