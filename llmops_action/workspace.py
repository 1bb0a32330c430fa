"""A repository's evaluation inputs loaded together: config, active prompts, cases."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from llmops_action.core.config import LlmopsConfig, load_config
from llmops_action.core.dataset import Case, load_dataset
from llmops_action.core.prompts import Prompt, load_prompts
from llmops_action.errors import UserInputError


@dataclass(frozen=True)
class Workspace:
    config_path: Path
    root: Path  # the folder holding .llmops.yml; every path in the config is relative to it
    config: LlmopsConfig
    prompts: dict[str, Prompt]
    cases: list[Case]


def load_workspace(config_path: str | Path, config: LlmopsConfig | None = None) -> Workspace:
    """The config at `config_path` (or `config`, the one that governs: core/trust.py) with the prompts and
    cases of the folder that holds `config_path`."""
    path = Path(config_path)
    config = config or load_config(path)
    root = path.resolve().parent
    from llmops_action.registry import active_versions

    prompts = load_prompts(config.prompts, root, active_versions(root))
    cases = load_dataset(config.datasets, root)
    for case in cases:
        if case.prompt not in prompts:
            file, _, line = (case.source or "").rpartition(":")
            raise UserInputError(
                f"case '{case.id}' names prompt '{case.prompt}', which does not exist "
                f"(have: {', '.join(sorted(prompts)) or 'none'})",
                file=file or None,
                line=int(line) if line.isdigit() else None,
                key="prompt",
            )
    return Workspace(config_path=path, root=root, config=config, prompts=prompts, cases=cases)
