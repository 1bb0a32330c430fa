"""Real git repositories in a temporary folder: a bare remote and clones of it.

Usage:
    remote = bare_remote(tmp_path / "remote.git")
    a = clone(remote, tmp_path / "a")
    a.write("README.md", "hi"); a.commit("init"); a.push()
    b = clone(remote, tmp_path / "b")

`isolate_git(monkeypatch, tmp_path)` keeps the machine's global git config (identity, signing, hooks)
out of a test, so the test sees what a fresh CI runner sees.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

IDENTITY = {"user.name": "Test Dev", "user.email": "dev@example.com"}


def run_git(args: list[str], cwd: Path, *, input: str | None = None) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    proc = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, env=env, input=input, check=False
    )
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed in {cwd}: {proc.stderr}")
    return proc.stdout


@dataclass
class GitRepo:
    path: Path

    def git(self, *args: str, input: str | None = None) -> str:
        return run_git(list(args), self.path, input=input)

    def write(self, rel: str, text: str) -> Path:
        p = self.path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        return p

    def copy_tree(
        self, src: Path, rel: str = ".", *, ignore: tuple[str, ...] = ("__pycache__", "cache")
    ) -> Path:
        """Copy a folder in (an example project, say), leaving caches behind."""
        dest = self.path / rel
        shutil.copytree(src, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns(*ignore))
        return dest

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "--quiet", "--no-verify", "--allow-empty", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def checkout(self, branch: str, *, new: bool = False) -> None:
        self.git("checkout", "--quiet", *(["-b"] if new else []), branch)

    def push(self, branch: str | None = None) -> None:
        self.git("push", "--quiet", "-u", "origin", branch or self.current_branch())

    def current_branch(self) -> str:
        return self.git("rev-parse", "--abbrev-ref", "HEAD").strip()

    def status(self) -> str:
        """Porcelain status including the index: what a store must leave untouched."""
        return self.git("status", "--porcelain", "--untracked-files=all")

    def set_identity(self) -> None:
        for key, value in IDENTITY.items():
            self.git("config", key, value)


def init_repo(path: Path, *, identity: bool = True) -> GitRepo:
    path.mkdir(parents=True, exist_ok=True)
    run_git(["init", "--quiet", "-b", "main"], path)
    repo = GitRepo(path)
    if identity:
        repo.set_identity()
    return repo


def bare_remote(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    run_git(["init", "--quiet", "--bare", "-b", "main"], path)
    return path


def clone(remote: Path, dest: Path, *, identity: bool = True) -> GitRepo:
    run_git(["clone", "--quiet", str(remote), str(dest)], dest.parent)
    repo = GitRepo(dest)
    if identity:
        repo.set_identity()
    return repo


def remote_with_clones(
    tmp_path: Path, n: int = 2, *, seed_files: dict[str, str] | None = None
) -> tuple[Path, list[GitRepo]]:
    """A bare remote with one commit on main (seed_files, or a README) and `n` clones of it."""
    remote = bare_remote(tmp_path / "remote.git")
    seed = init_repo(tmp_path / "seed")
    for rel, text in (seed_files or {"README.md": "seed\n"}).items():
        seed.write(rel, text)
    seed.commit("initial")
    seed.git("remote", "add", "origin", str(remote))
    seed.push("main")
    return remote, [clone(remote, tmp_path / f"clone{i}") for i in range(n)]


def isolate_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No global/system git config and no identity variables: a fresh runner."""
    empty = tmp_path / "empty-gitconfig"
    empty.write_text("", encoding="utf-8")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"):
        monkeypatch.delenv(name, raising=False)
