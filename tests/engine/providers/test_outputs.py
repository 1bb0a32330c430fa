from __future__ import annotations

from pathlib import Path

import pytest

from llmops_action.engine.providers.base import ModelRequest
from llmops_action.engine.providers.outputs import OutputsProvider
from llmops_action.errors import ProviderError, UserInputError


def req(case_id: str) -> ModelRequest:
    return ModelRequest(system="", user="", case_id=case_id)


def test_outputs_keyed_by_case_id(tmp_path: Path) -> None:
    f = tmp_path / "out.jsonl"
    f.write_text(
        '{"id": "a", "output": "alpha", "input_tokens": 5, "output_tokens": 1, "latency_ms": 12.5}\n'
        "\n"
        '{"id": 2, "output": "two", "contexts": ["d1"]}\n'
    )
    p = OutputsProvider(f)
    a = p.complete(req("a"))
    assert (a.text, a.input_tokens, a.output_tokens, a.latency_ms) == ("alpha", 5, 1, 12.5)
    assert p.complete(req("2")).raw == {"contexts": ["d1"]}


def test_missing_id_is_an_error_for_that_case_only(tmp_path: Path) -> None:
    f = tmp_path / "out.jsonl"
    f.write_text('{"id": "a", "output": "alpha"}\n')
    with pytest.raises(ProviderError, match="no output for case 'zzz'") as e:
        OutputsProvider(f).complete(req("zzz"))
    assert not e.value.retryable


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('{"id": "a", "output": "x"}\n{"id": "b", "output": \n', 2, "invalid JSON"),
        ('{"id": "a", "output": 3}\n', 1, "'output' must be a string"),
        ('{"id": "a", "output": "x"}\n{"id": "a", "output": "y"}\n', 2, "duplicate id"),
        ('["a"]\n', 1, "'id'"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    f = tmp_path / "out.jsonl"
    f.write_text(text)
    with pytest.raises(UserInputError, match=message) as e:
        OutputsProvider(f)
    assert e.value.file == str(f) and e.value.line == line


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="not found"):
        OutputsProvider(tmp_path / "nope.jsonl")
