"""Prompts as they were at a git ref, read with `git show` / `git ls-tree` (no checkout).

Used by `prompt diff NAME --ref main`: the config, the prompt files and the registry are all read
at the ref, so the diff compares what actually ran there with what runs now.
"""

from __future__ import annotations

import fnmatch
import posixpath
from dataclasses import dataclass
from pathlib import Path

from llmops_action.adapters import git as gitutil
from llmops_action.adapters.registry import REGISTRY_DIR, parse_registry
from llmops_action.core.prompts import PROMPT_SUFFIXES, Prompt, parse_prompt, semver_key
from llmops_action.core.yamlpos import load_yaml
from llmops_action.errors import UserInputError

DEFAULT_PROMPT_PATTERNS = ("prompts",)


@dataclass(frozen=True)
class RefPrompts:
    ref: str
    versions: dict[str, dict[str, Prompt]]  # {name: {version: Prompt}}
    active: dict[str, str]  # the registry at the ref: {name: version}

    def running(self, name: str) -> Prompt | None:
        """The version that ran at the ref: the registry's choice, else the highest semver."""
        versions = self.versions.get(name)
        if not versions:
            return None
        want = self.active.get(name)
        if want in versions:
            return versions[want]
        return versions[max(versions, key=semver_key)]


def _matches(file: str, pattern: str) -> bool:
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(file, pattern)
    return file == pattern or (file.startswith(pattern.rstrip("/") + "/") and file.endswith(PROMPT_SUFFIXES))


def _prompt_patterns(text: str | None, source: str) -> list[str]:
    """Only the `prompts` key: an old config may not validate under today's schema, and need not."""
    if text is None:
        return list(DEFAULT_PROMPT_PATTERNS)
    data = load_yaml(text, source).data
    patterns = data.get("prompts", list(DEFAULT_PROMPT_PATTERNS)) if isinstance(data, dict) else None
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise UserInputError("'prompts' must be a list of paths", file=source, key="prompts")
    return patterns


def prompts_at_ref(config_path: str | Path, ref: str) -> RefPrompts:
    """Every prompt version and the registry's active versions at `ref`, for the config at config_path."""
    root = Path(config_path).resolve().parent
    if not gitutil.is_repo(root):
        raise UserInputError(f"{root} is not inside a git repository, so --ref cannot be read", key="ref")
    top = gitutil.toplevel(root).resolve()
    sha = gitutil.rev_parse(ref, top)
    if sha is None:
        raise UserInputError(f"unknown git ref '{ref}'", key="ref", hint="Fetch it first (fetch-depth: 0).")
    rel_root = root.relative_to(top).as_posix()
    rel_root = "" if rel_root == "." else rel_root

    def rel(path: str) -> str:
        return posixpath.normpath(posixpath.join(rel_root, path)) if rel_root else posixpath.normpath(path)

    config_rel = rel(Path(config_path).name)
    patterns = [
        rel(p) for p in _prompt_patterns(gitutil.show_file(sha, config_rel, top), f"{ref}:{config_rel}")
    ]
    listing = gitutil.git(["ls-tree", "-r", "-z", "--name-only", sha, "--", rel_root or "."], top)
    files = sorted(f for f in listing.split("\0") if f and f.endswith(PROMPT_SUFFIXES))

    versions: dict[str, dict[str, Prompt]] = {}
    for f in files:
        if not any(_matches(f, p) for p in patterns):
            continue
        text = gitutil.show_file(sha, f, top)
        if text is None:
            continue
        prompt = parse_prompt(text, f"{ref}:{f}")
        versions.setdefault(prompt.name, {})[prompt.version] = prompt

    active: dict[str, str] = {}
    registry_rel = rel(REGISTRY_DIR.as_posix())
    for name in versions:
        reg = f"{registry_rel}/{name}.json"
        text = gitutil.show_file(sha, reg, top)
        if text is not None:
            entry = parse_registry(text, f"{ref}:{reg}")
            if entry.active:
                active[name] = entry.active
    return RefPrompts(ref=ref, versions=versions, active=active)
