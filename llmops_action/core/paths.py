"""Paths a config names: relative, inside the repository, and not a symlink out of it.

A config arrives in pull requests, so every path it names is confined before it is read: no absolute path,
no `..`, and a file whose real location (symlinks followed) is outside the root is refused (exit 2).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from llmops_action.errors import UserInputError


def relative_inside(configured: str, key: str, file: str | None) -> PurePosixPath:
    p = PurePosixPath(configured.replace("\\", "/"))
    if p.is_absolute() or Path(configured).is_absolute() or ".." in p.parts:
        raise UserInputError(
            f"'{configured}' leaves the repository; paths here must be relative and stay inside it",
            file=file,
            key=key,
        )
    return p


def confine(root: Path, pattern: str, *, key: str, file: str | None = None) -> Path:
    """`root / pattern`, refusing absolute paths and `..`: a config names files inside its own folder."""
    return root / relative_inside(pattern, key, file)


def check_inside(root: Path, path: Path, *, key: str, file: str | None = None) -> Path:
    """`path` itself, once its real location (symlinks followed) is known to be inside `root`."""
    if not path.resolve().is_relative_to(root.resolve()):
        raise UserInputError(
            f"{path.relative_to(root) if path.is_relative_to(root) else path} links outside the repository",
            file=file,
            key=key,
        )
    return path
