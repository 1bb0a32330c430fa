"""Prompt registry: the active version per prompt and an append-only activation log.

Kept as JSON in the repository (`.llmops/registry/<name>.json`, relative to the config's folder), so
activations are reviewed in PRs like any other change:

    {"name": "rag_answer", "active": "1.2.0",
     "log": [{"version": "1.2.0", "previous": "1.1.0", "action": "activate",
              "at": "2025-01-01T12:00:00Z", "by": "Ada", "note": "better recall"}]}

The log is never rewritten: every write checks that the old log is a prefix of the new one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from llmops_action.core.textfile import read_text
from llmops_action.errors import UserInputError

if TYPE_CHECKING:
    from llmops_action.core.prompts import Prompt

REGISTRY_DIR = Path(".llmops") / "registry"
Action = Literal["activate", "rollback"]


@dataclass(frozen=True)
class LogEntry:
    version: str
    previous: str | None
    action: Action
    at: str  # UTC, ISO 8601
    by: str
    note: str = ""


@dataclass(frozen=True)
class RegistryEntry:
    name: str
    active: str | None
    log: tuple[LogEntry, ...] = field(default_factory=tuple)

    def to_json(self) -> str:
        data = {"name": self.name, "active": self.active, "log": [asdict(e) for e in self.log]}
        return json.dumps(data, indent=2) + "\n"


def registry_dir(root: Path) -> Path:
    return root / REGISTRY_DIR


def registry_file(root: Path, name: str) -> Path:
    return registry_dir(root) / f"{name}.json"


def _parse(text: str, source: str, name: str | None = None) -> RegistryEntry:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserInputError(f"registry file is not JSON: {exc.msg}", file=source, line=exc.lineno) from None
    if not isinstance(data, dict) or not isinstance(data.get("log", []), list):
        raise UserInputError("registry file must be an object with 'name', 'active' and 'log'", file=source)
    log: list[LogEntry] = []
    for i, raw in enumerate(data.get("log", [])):
        try:
            entry = LogEntry(**raw)
        except TypeError as exc:
            raise UserInputError(f"bad log entry: {exc}", file=source, key=f"log[{i}]") from None
        if not isinstance(entry.version, str) or not isinstance(entry.previous, str | None):
            raise UserInputError("versions must be strings", file=source, key=f"log[{i}].version")
        if entry.action not in ("activate", "rollback"):
            raise UserInputError(f"unknown action '{entry.action}'", file=source, key=f"log[{i}].action")
        log.append(entry)
    active = data.get("active")
    if active is not None and not isinstance(active, str):
        raise UserInputError("'active' must be a version string", file=source, key="active")
    return RegistryEntry(
        name=str(data.get("name") or name or Path(source).stem), active=active, log=tuple(log)
    )


def parse_registry(text: str, source: str) -> RegistryEntry:
    """A registry file's text (e.g. read at a git ref) as a RegistryEntry."""
    return _parse(text, source)


def load_entry(root: Path, name: str) -> RegistryEntry:
    """The registry entry for a prompt; an empty one when the prompt was never activated."""
    path = registry_file(root, name)
    if not path.exists():
        return RegistryEntry(name=name, active=None)
    return _parse(read_text(path, "registry file"), str(path), name)


def active_versions(root: Path) -> dict[str, str]:
    """{prompt name: active version} for every prompt with a registry file."""
    folder = registry_dir(root)
    if not folder.is_dir():
        return {}
    out: dict[str, str] = {}
    for f in sorted(folder.glob("*.json")):
        entry = _parse(read_text(f, "registry file"), str(f), f.stem)
        if entry.active:
            out[f.stem] = entry.active
    return out


def history(root: Path, name: str) -> list[LogEntry]:
    """The activation log, oldest first."""
    return list(load_entry(root, name).log)


def default_actor(root: Path) -> str:
    """Who is acting: git's user.name, else $USER, else 'unknown'."""
    from llmops_action.adapters import git as gitutil

    try:
        name = gitutil.git(["config", "user.name"], root, check=False).strip()
    except FileNotFoundError:  # no git binary
        name = ""
    return name or os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _write(root: Path, old: RegistryEntry, new: RegistryEntry) -> RegistryEntry:
    """Write atomically; refuse to change anything already in the log."""
    if new.log[: len(old.log)] != old.log:
        raise AssertionError("registry log is append-only")  # a bug here, never user input
    path = registry_file(root, new.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(new.to_json(), encoding="utf-8")
    tmp.replace(path)
    return new


def _example(available: Mapping[str, Prompt] | None) -> str:
    """A version a hint can name that exists (the highest), so the hint can be copied as is."""
    if not available:
        return "VERSION"
    from llmops_action.core.prompts import semver_key

    return max(available, key=semver_key)


def _check_version(name: str, version: str, available: Mapping[str, Prompt]) -> None:
    if version not in available:
        from llmops_action.core.prompts import semver_key

        have = ", ".join(sorted(available, key=semver_key)) or "none"
        raise UserInputError(
            f"prompt '{name}' has no version {version}: no prompt file defines {name}@{version} (have: {have})",
            key=name,
        )


def _running_version(entry: RegistryEntry, available: Mapping[str, Prompt]) -> str | None:
    """What runs today: the registry's choice, else (as load_prompts does) the highest semver."""
    if entry.active is not None:
        return entry.active
    if not available:
        return None
    from llmops_action.core.prompts import semver_key

    return max(available, key=semver_key)


def activate(
    root: Path,
    name: str,
    version: str,
    *,
    available: Mapping[str, Prompt],
    by: str | None = None,
    note: str = "",
) -> RegistryEntry:
    """Make `version` the active one. `available` is {version: Prompt} for this prompt name.

    Activating the version that is already active changes nothing and logs nothing.
    """
    _check_version(name, version, available)
    entry = load_entry(root, name)
    if entry.active == version:
        return entry
    previous = _running_version(entry, available)
    log_entry = LogEntry(
        version=version,
        previous=None if previous == version else previous,
        action="activate",
        at=_now(),
        by=by or default_actor(root),
        note=note,
    )
    return _write(root, entry, RegistryEntry(name=name, active=version, log=(*entry.log, log_entry)))


def rollback_target(log: tuple[LogEntry, ...] | list[LogEntry]) -> str | None:
    """The version that was active before the current one was put in place, undo-style.

    Replays the log as an undo stack: an activation pushes the version it replaced; a rollback
    pops down to the version it restored. Following `previous` pointers naively would flip between
    two versions; this walks back: v1 -> v2 -> v3, rollback -> v2, rollback -> v1.
    A rollback to a version not on the stack (`--to` further back than the stack reaches) counts
    as an activation.
    """
    stack: list[str | None] = []
    for entry in log:
        if entry.action == "rollback" and entry.version in stack:
            while stack.pop() != entry.version:
                pass
        else:
            stack.append(entry.previous)
    return stack[-1] if stack else None


def rollback(
    root: Path,
    name: str,
    *,
    to: str | None = None,
    available: Mapping[str, Prompt] | None = None,
    by: str | None = None,
    note: str = "",
) -> RegistryEntry:
    """Go back to the previously active version (or to `to`, which must have been active before).

    When `available` ({version: Prompt}) is given, the target must still have a prompt file.
    """
    entry = load_entry(root, name)
    if not entry.log or entry.active is None:
        raise UserInputError(
            f"prompt '{name}' has never been activated, so there is nothing to roll back to",
            file=str(registry_file(root, name)),
            hint=f"Use `llmops-action prompt activate {name}@{_example(available)}` to pin a version.",
        )
    if to is None:
        target = rollback_target(entry.log)
        if target is None:
            raise UserInputError(
                f"prompt '{name}' has no earlier active version to roll back to (active: {entry.active})",
                file=str(registry_file(root, name)),
                key="log",
            )
    else:
        seen = {e.version for e in entry.log} | {e.previous for e in entry.log if e.previous}
        if to not in seen:
            raise UserInputError(
                f"prompt '{name}' was never active at version {to} (known: {', '.join(sorted(seen))})",
                file=str(registry_file(root, name)),
                hint=f"Use `llmops-action prompt activate {name}@{to if to in (available or {}) else _example(available)}`"
                " for a version never active before.",
            )
        target = to
    if target == entry.active:
        raise UserInputError(f"prompt '{name}' is already at version {target}", key=name)
    if available is not None:
        _check_version(name, target, available)
    log_entry = LogEntry(
        version=target,
        previous=entry.active,
        action="rollback",
        at=_now(),
        by=by or default_actor(root),
        note=note,
    )
    return _write(root, entry, RegistryEntry(name=name, active=target, log=(*entry.log, log_entry)))
