"""Where a review's files come from: a checkout, a git tree at a sha, or files fetched through the API.

Each source yields the folder that holds `.llmops.yml` (every path in the config is relative to it). A git
tree and fetched files are written to a temporary folder and never executed by being read: that is how a
fork's prompts and datasets are evaluated as data in a privileged run.
"""

from __future__ import annotations

import os
import sys
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol

from llmops_action.adapters.git import git
from llmops_action.errors import UserInputError


class Source(Protocol):
    label: str  # for messages: "checkout", "git tree at abc123", "files fetched through the API"

    def open(self) -> AbstractContextManager[Path | None]:
        """The config's folder, or None when the source has no such folder."""
        ...


@dataclass(frozen=True)
class CheckoutSource:
    """A working tree on disk (actions/checkout, a developer's clone)."""

    folder: Path
    label: str = "checkout"

    @contextmanager
    def open(self) -> Iterator[Path | None]:
        yield self.folder.resolve() if self.folder.is_dir() else None


@dataclass(frozen=True)
class GitTreeSource:
    """The folder `rel` as it is in commit `sha` of `repo`: read from git objects, working tree untouched."""

    repo: Path
    sha: str
    rel: str = "."

    @property
    def label(self) -> str:
        return f"git tree at {self.sha[:12]}"

    @contextmanager
    def open(self) -> Iterator[Path | None]:
        with tempfile.TemporaryDirectory(prefix="llmops-tree-") as tmp:
            yield (
                Path(tmp) / "tree" / self.rel
                if materialise(self.repo, self.sha, self.rel, Path(tmp))
                else None
            )


@dataclass(frozen=True)
class FilesSource:
    """Files fetched through the API (the bot): {path relative to the config's folder: content}."""

    files: Mapping[str, bytes]
    label: str = "files fetched through the API"

    @contextmanager
    def open(self) -> Iterator[Path | None]:
        with tempfile.TemporaryDirectory(prefix="llmops-files-") as tmp:
            root = Path(tmp)
            for rel, data in self.files.items():
                p = PurePosixPath(rel)
                if p.is_absolute() or ".." in p.parts:
                    raise UserInputError(f"refusing fetched file {rel!r}: outside the folder")
                target = root / p
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            yield root


def materialise(repo: Path, sha: str, rel: str, dest: Path) -> bool:
    """Extract the folder `rel` as it is at `sha` into dest/tree; False if it is absent there.

    `git archive` reads objects only: the user's working tree, index and HEAD are untouched.
    """
    spec = f"{sha}:{rel}" if rel != "." else f"{sha}:"
    if git(["cat-file", "-t", spec], repo, check=False).strip() != "tree":
        return False
    tar_path = dest / "tree.tar"
    git(["archive", "--format=tar", "-o", str(tar_path), sha, *([] if rel == "." else ["--", rel])], repo)
    with tarfile.open(tar_path) as tar:
        # The archive comes from the repository, but a PR controls its content: the data filter refuses
        # absolute paths, links out of the tree and device files.
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest / "tree", filter="data")
        else:  # Python < 3.11.4 (Debian bookworm's 3.11.2) has no extraction filters: check by hand
            check_members(tar.getmembers())
            tar.extractall(dest / "tree")
    tar_path.unlink()
    return True


def check_members(members: list[tarfile.TarInfo]) -> None:
    """What tarfile's "data" filter refuses: absolute paths, '..', links out of the tree, devices."""
    for m in members:
        parts = Path(m.name).parts
        if m.name.startswith("/") or ".." in parts or not (m.isfile() or m.isdir() or m.issym()):
            raise UserInputError(f"refusing archive member {m.name!r} from commit")
        if m.issym() and (m.linkname.startswith("/") or ".." in Path(m.linkname).parts):
            raise UserInputError(f"refusing symlink {m.name!r} -> {m.linkname!r} from commit")


def fetch_commit(repo: Path, sha: str, *, pr_number: int | None = None, remote: str = "origin") -> bool:
    """Make `sha` available as objects (no checkout): already there, or fetched by sha or the PR's ref."""
    if git(["cat-file", "-t", sha], repo, check=False).strip() == "commit":
        return True
    refs = [sha] + ([f"refs/pull/{pr_number}/head"] if pr_number else [])
    for ref in refs:
        git(["fetch", "--quiet", "--no-tags", remote, ref], repo, check=False)
        if git(["cat-file", "-t", sha], repo, check=False).strip() == "commit":
            return True
    return False


@contextmanager
def isolated_imports(*roots: Path) -> Iterator[None]:
    """Let a `python` provider import one tree's copy of the app (the base's), then restore the other's.

    Python caches modules by name, so without this the base run would call head's already-imported code.
    Only the user's modules are swapped: never this package's own, nor anything installed.
    """
    resolved = [str(r.resolve()) + os.sep for r in roots]
    installed = (str(Path(sys.prefix).resolve()) + os.sep, str(Path(__file__).resolve().parent) + os.sep)

    def users(name: str, module: object) -> bool:
        path = str(getattr(module, "__file__", None) or "")
        return (
            name.split(".")[0] != "llmops_action"
            and any(path.startswith(r) for r in resolved)
            and not any(path.startswith(i) for i in installed)
        )

    saved_modules = {name: m for name, m in list(sys.modules.items()) if users(name, m)}
    saved_path = list(sys.path)
    for name in saved_modules:
        del sys.modules[name]
    try:
        yield
    finally:
        for name, module in list(sys.modules.items()):
            if users(name, module):
                del sys.modules[name]
        sys.modules.update(saved_modules)
        sys.path[:] = saved_path
