"""What the prompt subcommands share: the config's prompts with every version, and how paths are shown."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llmops_action.core.config import LlmopsConfig
    from llmops_action.core.prompts import Prompt


# --- loading ---------------------------------------------------------------------------------------


def load_all(args: argparse.Namespace) -> tuple[Path, LlmopsConfig, dict[str, dict[str, Prompt]]]:
    from llmops_action.core.config import load_config
    from llmops_action.core.prompts import load_prompt_versions

    config = load_config(args.config)
    root = Path(args.config).resolve().parent
    return root, config, load_prompt_versions(config.prompts, root)


def versions_of(name: str, all_versions: dict[str, dict[str, Prompt]]) -> dict[str, Prompt]:
    import difflib

    from llmops_action.errors import UserInputError

    if name not in all_versions:
        close = difflib.get_close_matches(name, list(all_versions), n=1)
        raise UserInputError(
            f"no prompt named '{name}' (have: {', '.join(sorted(all_versions)) or 'none'})",
            key="NAME",
            hint=f"did you mean '{close[0]}'?" if close else None,
        )
    return all_versions[name]


def running(name: str, versions: dict[str, Prompt], root: Path) -> str:
    """Same choice as load_prompts: the registry's active version, else the highest semver."""
    from llmops_action.adapters.registry import load_entry
    from llmops_action.core.prompts import semver_key

    active = load_entry(root, name).active
    return active if active is not None else max(versions, key=semver_key)


def resolve(spec: str, root: Path, all_versions: dict[str, dict[str, Prompt]]) -> Prompt:
    """NAME (the running version) or NAME@VERSION."""
    from llmops_action.errors import UserInputError

    name, _, version = spec.partition("@")
    versions = versions_of(name, all_versions)
    version = version or running(name, versions, root)
    if version not in versions:
        from llmops_action.core.prompts import semver_key

        raise UserInputError(
            f"prompt '{name}' has no version {version} (have: {', '.join(sorted(versions, key=semver_key))})",
            key="NAME@VERSION",
        )
    return versions[version]


# --- list / show / render ---------------------------------------------------------------------------


def rel(source: str | None, root: Path) -> str:
    if not source:
        return ""
    try:
        return str(Path(source).resolve().relative_to(root))
    except ValueError:
        return source
