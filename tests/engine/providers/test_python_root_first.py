"""Two workspaces with a same-named `app` in one process (the bot, a test session): each gets its own."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from llmops_action.engine.providers.python import load_function


def test_the_repository_root_comes_first_even_when_it_was_imported_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "app", raising=False)
    roots = {}
    for name in ("a", "b"):
        roots[name] = tmp_path / name
        roots[name].mkdir()
        (roots[name] / "app.py").write_text(f"def answer():\n    return {name!r}\n", encoding="utf-8")

    assert load_function("app:answer", roots["a"])() == "a"
    assert load_function("app:answer", roots["b"])() == "b"
    assert load_function("app:answer", roots["a"])() == "a"  # a's root is on sys.path already, behind b's
    monkeypatch.delitem(sys.modules, "app", raising=False)
