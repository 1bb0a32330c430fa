"""ModelRequest / ModelResponse: the providers' port, in the core so that metrics and the judge prompt (pure)
never import the engine. providers/base.py re-exports them beside the Provider protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ModelRequest:
    system: str
    user: str
    case_id: str
    variables: dict[str, Any] = field(default_factory=dict)  # raw case vars, for python/command providers
    case: dict[str, Any] = field(default_factory=dict)  # the whole case as JSON, for command providers
    temperature: float | None = None
    seed: int | None = None
    max_tokens: int | None = None
    response_schema: dict[str, Any] | None = None  # JSON Schema; the judge asks for JSON output
    sample: int = 0  # sample index, part of the cache key


@dataclass
class ModelResponse:
    text: str | None
    latency_ms: float
    input_tokens: int | None = None
    output_tokens: int | None = None
    model_version: str | None = None
    finish_reason: str | None = None
    blocked: str | None = None  # promptFeedback.blockReason: the prompt was refused, no text
    cache_hit: bool = False
    raw: dict[str, Any] | None = None
