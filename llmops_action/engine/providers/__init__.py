"""Providers produce the output to be scored. `make_provider` builds one from the config's `provider:` section.

Imports are deferred so that `llmops-action --help` never loads google-genai.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llmops_action.core.config import JudgeConfig, JudgeSpec, ProviderConfig
    from llmops_action.engine.providers.base import Provider


def make_provider(
    cfg: ProviderConfig, *, root: Path, api_key: str | None = None, timeout: float = 60.0
) -> Provider:
    """The provider the config names. `timeout` (seconds) applies to gemini calls; command uses cfg.timeout."""
    if cfg.type == "gemini":
        from llmops_action.engine.providers.gemini import GeminiProvider
        from llmops_action.errors import UserInputError

        if not api_key:
            raise UserInputError(
                "provider type 'gemini' needs an API key",
                key="provider",
                hint="Set GEMINI_API_KEY (or GOOGLE_API_KEY), or use a python/command/outputs provider offline.",
            )
        assert cfg.model is not None
        return GeminiProvider(
            cfg.model, api_key=api_key, base_url=cfg.base_url, timeout=min(timeout, cfg.timeout)
        )
    if cfg.type == "python":
        from llmops_action.engine.providers.python import PythonProvider

        assert cfg.function is not None
        return PythonProvider(cfg.function, root, timeout=cfg.timeout)
    if cfg.type == "command":
        from llmops_action.engine.providers.command import CommandProvider

        assert cfg.command is not None
        return CommandProvider(cfg.command, root, timeout=cfg.timeout)
    from llmops_action.core.paths import check_inside, confine
    from llmops_action.engine.providers.outputs import OutputsProvider

    assert cfg.path is not None
    path = confine(root, cfg.path, key="provider.path", file=str(root / ".llmops.yml"))
    return OutputsProvider(check_inside(root, path, key="provider.path") if path.exists() else path)


def make_judge_provider(cfg: JudgeConfig, *, api_key: str, timeout: float = 60.0) -> Provider:
    from llmops_action.engine.providers.gemini import GeminiProvider

    return GeminiProvider(cfg.model, api_key=api_key, base_url=cfg.base_url, timeout=timeout)


def make_panel_judge(
    spec: JudgeSpec, *, gemini_key: str | None, env: Mapping[str, str], timeout: float = 60.0
) -> Provider | None:
    """One judge of a panel, or None when its credentials are missing (the judge then errors on every case).

    An OpenAI-compatible judge reads its key from `api_key_env` (default OPENAI_API_KEY); a judge on a
    configured base_url with no such variable set is a local server that needs no key."""
    if spec.provider == "gemini":
        if not gemini_key:
            return None
        from llmops_action.engine.providers.gemini import GeminiProvider

        return GeminiProvider(spec.model, api_key=gemini_key, base_url=spec.base_url, timeout=timeout)
    from llmops_action.engine.providers.openai_compat import OpenAICompatProvider

    key = env.get(spec.api_key_env or "OPENAI_API_KEY") or None
    if key is None and (spec.api_key_env or not spec.base_url):
        return None
    return OpenAICompatProvider(spec.model, api_key=key or "no-key", base_url=spec.base_url, timeout=timeout)
