from __future__ import annotations

import pytest

from llmops_action.bot.slash import Command, parse


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/llmops rerun", Command("rerun")),
        ("/llmops accept the tone is intended", Command("accept", "the tone is intended")),
        ("Thanks!\n/llmops accept ok for now\nmore text", Command("accept", "ok for now")),
        ("/llmops", Command("help")),
        ("/llmops frobnicate", Command("help")),
        ("/LLMOPS rerun", None),
        ("please /llmops rerun", None),
        ("", None),
    ],
)
def test_parse(body: str, expected: Command | None) -> None:
    assert parse(body) == expected
