"""Rule metrics: exact match, contains, regex, JSON validity, and the `length` info metric."""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import regex as regex_engine

from llmops_action.core.requests import ModelResponse
from llmops_action.core.results import MetricScore

# A whole output wrapped in one markdown fence: ```json ... ``` (language tag optional).
_FENCE = re.compile(r"\A```[ \t]*(?:json|JSON)?[ \t]*\r?\n(?P<body>.*?)\r?\n?```\Z", re.DOTALL)


def _verdict(ok: bool, **details: Any) -> MetricScore:
    return MetricScore(score=1.0 if ok else 0.0, passed=ok, details=details)


def exact_match(output: str, target: str | None, *, case_sensitive: bool = True) -> MetricScore:
    """Output equals the target (the metric's `value`, else the case's reference) after trimming
    leading/trailing whitespace. No reference is a skip, not a failure."""
    if target is None:
        return MetricScore(skipped="no reference")
    a, b = output.strip(), target.strip()
    if not case_sensitive:
        a, b = a.casefold(), b.casefold()
    return _verdict(a == b)


def contains(output: str, value: str, *, case_sensitive: bool = True) -> MetricScore:
    if case_sensitive:
        return _verdict(value in output)
    return _verdict(value.casefold() in output.casefold())


# Patterns come from a config a pull request can change, and outputs from a model: a backtracking pattern
# on a long output could hang the run, so matching uses the `regex` engine, which can stop on a timeout.
REGEX_TIMEOUT_S = 2.0


@functools.lru_cache(maxsize=256)
def _compile(pattern: str, flags: int) -> Any:
    return regex_engine.compile(pattern, flags)


def regex(
    output: str, pattern: str, *, case_sensitive: bool = True, timeout: float = REGEX_TIMEOUT_S
) -> MetricScore:
    """A search anywhere in the output (anchor with ^...$ for a full match); MULTILINE is not set."""
    try:
        compiled = _compile(pattern, 0 if case_sensitive else regex_engine.IGNORECASE)
    except regex_engine.error as exc:
        return MetricScore(error=f"invalid regex {pattern!r}: {exc}")
    try:
        found = compiled.search(output, timeout=timeout)
    except TimeoutError:
        return MetricScore(
            error=f"regex {pattern!r} gave up after {timeout:g}s on this output (catastrophic backtracking?)"
        )
    return _verdict(found is not None)


def strip_json_fence(text: str) -> tuple[str, bool]:
    """Models often wrap JSON in a ```json fence even when asked not to; the payload is still valid
    JSON for the app that strips it, so one fence around the whole output is removed (and recorded).
    Anything else around the JSON (prose before or after) is not tolerated."""
    stripped = text.strip()
    m = _FENCE.match(stripped)
    return (m["body"], True) if m else (stripped, False)


def json_valid(output: str, schema: dict[str, Any] | None = None) -> MetricScore:
    """The output parses as JSON (one surrounding ```json fence tolerated) and, when a schema is set,
    validates against it (the draft named by its $schema, else 2020-12)."""
    body, fenced = strip_json_fence(output)
    try:
        value = json.loads(body)
    except json.JSONDecodeError as exc:
        return _verdict(
            False, fenced=fenced, reason=f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        )
    if schema is None:
        return _verdict(True, fenced=fenced)
    import jsonschema

    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return MetricScore(error=f"invalid JSON Schema in config: {exc.message}")
    error = jsonschema.exceptions.best_match(cls(schema).iter_errors(value))
    if error is None:
        return _verdict(True, fenced=fenced, schema=True)
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return _verdict(False, fenced=fenced, reason=f"schema: at {where}: {_clip(error.message)}")


def length(output: str, response: ModelResponse | None) -> MetricScore:
    """An info metric (kind "info"): no score; characters, words, latency and tokens in details."""
    details: dict[str, Any] = {"chars": len(output), "words": len(output.split())}
    if response is not None:
        details["latency_ms"] = response.latency_ms
        details["input_tokens"] = response.input_tokens
        details["output_tokens"] = response.output_tokens
    return MetricScore(details=details)


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
