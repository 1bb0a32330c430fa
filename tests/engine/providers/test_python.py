from __future__ import annotations

from pathlib import Path

import pytest

from llmops_action.engine.providers.base import ModelRequest
from llmops_action.engine.providers.python import PythonProvider
from llmops_action.errors import ProviderError, UserInputError

APP = """
import time

def plain(question):
    return "A: " + question

def rich(question):
    return {"output": question.upper(), "input_tokens": 3, "output_tokens": 2, "contexts": ["doc-1", "doc-2"]}

def broken(question):
    raise KeyError("no index")

def wrong_type(question):
    return 42

def slow(question):
    time.sleep(2)
    return "late"
"""


def req(**variables: object) -> ModelRequest:
    return ModelRequest(system="", user="", case_id="c1", variables=dict(variables))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "myapp_h1").mkdir()
    (tmp_path / "myapp_h1" / "__init__.py").write_text("")
    (tmp_path / "myapp_h1" / "serve.py").write_text(APP)
    return tmp_path


def test_string_result(repo: Path) -> None:
    r = PythonProvider("myapp_h1.serve:plain", repo).complete(req(question="why?"))
    assert r.text == "A: why?" and r.latency_ms >= 0 and r.input_tokens is None


def test_dict_result_with_tokens_and_contexts(repo: Path) -> None:
    r = PythonProvider("myapp_h1.serve:rich", repo).complete(req(question="why?"))
    assert (r.text, r.input_tokens, r.output_tokens) == ("WHY?", 3, 2)
    assert r.raw == {"contexts": ["doc-1", "doc-2"]}


def test_exception_becomes_a_non_retryable_provider_error(repo: Path) -> None:
    with pytest.raises(ProviderError) as e:
        PythonProvider("myapp_h1.serve:broken", repo).complete(req(question="x"))
    assert not e.value.retryable
    assert "KeyError" in e.value.message and "no index" in e.value.message


def test_wrong_arguments_are_a_provider_error(repo: Path) -> None:
    with pytest.raises(ProviderError, match="TypeError"):
        PythonProvider("myapp_h1.serve:plain", repo).complete(req(query="x"))


def test_wrong_return_type(repo: Path) -> None:
    with pytest.raises(ProviderError, match="returned int"):
        PythonProvider("myapp_h1.serve:wrong_type", repo).complete(req(question="x"))


def test_timeout(repo: Path) -> None:
    with pytest.raises(ProviderError, match=r"timed out after 0\.1s"):
        PythonProvider("myapp_h1.serve:slow", repo, timeout=0.1).complete(req(question="x"))


@pytest.mark.parametrize(
    ("spec", "message"),
    [("nope_h1_missing:fn", "cannot import"), ("myapp_h1.serve:absent", "has no attribute")],
)
def test_bad_function_is_bad_input(repo: Path, spec: str, message: str) -> None:
    with pytest.raises(UserInputError, match=message):
        PythonProvider(spec, repo)


def test_same_module_name_in_two_workspaces(tmp_path: Path) -> None:
    for name, word in (("a", "first"), ("b", "second")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "sameapp_h1.py").write_text(f"def f():\n    return '{word}'\n")
    assert PythonProvider("sameapp_h1:f", tmp_path / "a").complete(req()).text == "first"
    assert PythonProvider("sameapp_h1:f", tmp_path / "b").complete(req()).text == "second"
