"""A repository's evaluation inputs loaded together: config, active prompts, cases."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from llmops_action.core.config import LlmopsConfig, load_config_located
from llmops_action.core.dataset import Case, load_dataset, oversized_field
from llmops_action.core.prompts import Prompt, RenderedPrompt, load_prompts, render
from llmops_action.errors import UserInputError


@dataclass(frozen=True)
class Workspace:
    config_path: Path
    root: Path  # the folder holding .llmops.yml; every path in the config is relative to it
    config: LlmopsConfig
    prompts: dict[str, Prompt]
    cases: list[Case]


def _where(case: Case) -> tuple[str | None, int | None]:
    file, _, line = (case.source or "").rpartition(":")
    return file or None, int(line) if line.isdigit() else None


def load_workspace(config_path: str | Path, config: LlmopsConfig | None = None) -> Workspace:
    """The config at `config_path` (or `config`, the one that governs: core/trust.py) with the prompts and
    cases of the folder that holds `config_path`."""
    path = Path(config_path)
    located = None
    if config is None:
        config, located = load_config_located(path)
    root = path.resolve().parent
    from llmops_action.adapters.registry import active_versions

    prompts = load_prompts(config.prompts, root, active_versions(root))
    try:
        cases = load_dataset(config.datasets, root)
    except UserInputError as exc:
        if exc.file is None:  # an error about the datasets as a whole: point at the config's `datasets:`
            exc.file, exc.line = str(path), located.line_of(("datasets",)) if located else None
        raise
    for case in cases:
        if case.prompt not in prompts:
            file, line = _where(case)
            raise UserInputError(
                f"case '{case.id}' names prompt '{case.prompt}', which does not exist "
                f"(have: {', '.join(sorted(prompts)) or 'none'})",
                file=file,
                line=line,
                key="prompt",
            )
    return Workspace(config_path=path, root=root, config=config, prompts=prompts, cases=cases)


@dataclass(frozen=True)
class RenderedCases:
    prompts: dict[str, RenderedPrompt]  # by case id
    oversized: dict[str, str]  # case id -> why it is too large to evaluate (an error on that case)
    render_ms: dict[str, float] = field(default_factory=dict)  # by case id: the render span in MLflow


def render_cases(ws: Workspace, cases: list[Case] | None = None) -> RenderedCases:
    """Render every case's prompt once, with no model call: `config check` and `eval` share it, so a template
    that fails on some case is bad input (exit 2) found before any call, naming the case's file and line."""
    limits = ws.config.limits
    rendered: dict[str, RenderedPrompt] = {}
    oversized: dict[str, str] = {}
    render_ms: dict[str, float] = {}
    for case in ws.cases if cases is None else cases:
        too_big = oversized_field(case, limits.max_field_bytes)
        if too_big is not None:
            oversized[case.id] = too_big
            continue
        t0 = time.perf_counter()
        rendered[case.id] = render(
            ws.prompts[case.prompt],
            case.vars,
            case_id=case.id,
            source=case.source,
            max_chars=limits.max_prompt_chars,
        )
        render_ms[case.id] = (time.perf_counter() - t0) * 1000
    return RenderedCases(rendered, oversized, render_ms)
