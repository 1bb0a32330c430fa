from __future__ import annotations

from pathlib import Path

import pytest

from llmops_action.core.config import JudgeConfig, ProviderConfig
from llmops_action.engine.providers import make_judge_provider, make_provider
from llmops_action.engine.providers.command import CommandProvider
from llmops_action.engine.providers.gemini import GeminiProvider
from llmops_action.engine.providers.outputs import OutputsProvider
from llmops_action.engine.providers.python import PythonProvider
from llmops_action.errors import UserInputError


def test_each_type(tmp_path: Path) -> None:
    (tmp_path / "mkprov_h1.py").write_text("def f(**kw):\n    return 'x'\n")
    (tmp_path / "o.jsonl").write_text('{"id": "a", "output": "x"}\n')
    assert isinstance(
        make_provider(ProviderConfig(type="python", function="mkprov_h1:f"), root=tmp_path), PythonProvider
    )
    assert isinstance(
        make_provider(ProviderConfig(type="command", command="cat"), root=tmp_path), CommandProvider
    )
    assert isinstance(
        make_provider(ProviderConfig(type="outputs", path="o.jsonl"), root=tmp_path), OutputsProvider
    )
    g = make_provider(ProviderConfig(type="gemini", model="gemini-2.5-flash"), root=tmp_path, api_key="k")
    assert isinstance(g, GeminiProvider) and g.cache_identity() == {
        "type": "gemini",
        "model": "gemini-2.5-flash",
        "base_url": g.base_url,  # a gateway answers differently: it is part of the cache key
    }
    j = make_judge_provider(JudgeConfig(model="gemini-2.5-pro", base_url="http://127.0.0.1:9"), api_key="k")
    assert j.model == "gemini-2.5-pro"


def test_gemini_without_key_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="API key") as e:
        make_provider(ProviderConfig(type="gemini", model="gemini-2.5-flash"), root=tmp_path, api_key=None)
    assert "GEMINI_API_KEY" in (e.value.hint or "")
