"""The provider port: complete(request) -> response. Gemini, python, command and outputs adapters implement it;
the judge uses the same port, so retries, rate limits and the cache live in one place (runner.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


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


class Provider(Protocol):
    kind: str
    model: str | None

    def complete(self, request: ModelRequest) -> ModelResponse:
        """One call. Raises llmops_action.errors.ProviderError (retryable or not) on failure."""
        ...

    def cache_identity(self) -> dict[str, Any]:
        """What, beside the request, decides the answer (provider type, model, function...)."""
        ...
