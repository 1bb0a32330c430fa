from __future__ import annotations

import pytest

from llmops_action.core.metrics.rules import (
    contains,
    exact_match,
    json_valid,
    length,
    regex,
    strip_json_fence,
)
from llmops_action.engine.providers.base import ModelResponse


def test_exact_match_trims_and_respects_case_flag() -> None:
    assert exact_match("  Paris \n", "Paris").passed is True
    assert exact_match("paris", "Paris").score == 0.0
    assert exact_match("paris", "Paris", case_sensitive=False).score == 1.0
    assert exact_match("Paris", None).skipped == "no reference"


def test_contains_case_flag_and_unicode() -> None:
    assert contains("Grüße aus Köln", "KÖLN").passed is False
    assert contains("Grüße aus Köln", "KÖLN", case_sensitive=False).passed is True
    assert contains("", "x").score == 0.0


def test_regex_search_and_invalid_pattern_is_an_error_not_a_score() -> None:
    assert regex("Order #1234 shipped", r"#\d{4}").passed is True
    assert regex("ORDER", r"^order$", case_sensitive=False).passed is True
    bad = regex("x", r"(unclosed")
    assert bad.score is None and bad.error and "invalid regex" in bad.error


def test_a_backtracking_regex_gives_up_with_an_error_instead_of_hanging() -> None:
    slow = regex("a" * 40 + "!", r"^(a|aa)+$", timeout=0.2)
    assert slow.score is None and slow.error and "gave up after 0.2s" in slow.error


@pytest.mark.parametrize(
    ("text", "ok", "fenced"),
    [
        ('{"a": 1}', True, False),
        ("  [1, 2]\n", True, False),
        ('```json\n{"a": 1}\n```', True, True),
        ('```\n{"a": 1}\n```', True, True),
        ('{"a": 1} and some trailing prose', False, False),
        ('Here you go: ```json\n{"a": 1}\n```', False, False),
        ("", False, False),
        ('{"name": "Zoë 😀"}', True, False),
    ],
)
def test_json_valid_edges(text: str, ok: bool, fenced: bool) -> None:
    s = json_valid(text)
    assert s.passed is ok
    assert s.score == (1.0 if ok else 0.0)
    assert s.details["fenced"] is fenced


def test_json_valid_against_a_schema() -> None:
    schema = {"type": "object", "required": ["answer"], "properties": {"answer": {"type": "string"}}}
    assert json_valid('{"answer": "yes"}', schema).passed is True
    bad = json_valid('{"answer": 3}', schema)
    assert bad.passed is False and "answer" in bad.details["reason"]
    assert json_valid("{}", schema).passed is False


def test_json_valid_with_an_invalid_schema_is_an_error() -> None:
    s = json_valid("{}", {"type": "no-such-type"})
    assert s.error and "invalid JSON Schema" in s.error


def test_strip_json_fence_only_strips_a_whole_fence() -> None:
    assert strip_json_fence("```json\n[1]\n```") == ("[1]", True)
    assert strip_json_fence("```json\n[1]\n``` extra") == ("```json\n[1]\n``` extra", False)


def test_length_is_info_with_usage_details() -> None:
    s = length("héllo wörld", ModelResponse(text="x", latency_ms=12.5, input_tokens=3, output_tokens=4))
    assert s.score is None and s.error is None and s.skipped is None
    assert s.details == {"chars": 11, "words": 2, "latency_ms": 12.5, "input_tokens": 3, "output_tokens": 4}
