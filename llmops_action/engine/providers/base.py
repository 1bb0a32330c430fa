"""The provider port: complete(request) -> response. Gemini, python, command and outputs adapters implement it;
the judge uses the same port, so retries, rate limits and the cache live in one place (runner.py)."""

from __future__ import annotations

from typing import Any, Protocol

from llmops_action.core.requests import ModelRequest, ModelResponse

__all__ = ["ModelRequest", "ModelResponse", "Provider"]


class Provider(Protocol):
    kind: str
    model: str | None

    def complete(self, request: ModelRequest) -> ModelResponse:
        """One call. Raises llmops_action.errors.ProviderError (retryable or not) on failure."""
        ...

    def cache_identity(self) -> dict[str, Any]:
        """What, beside the request, decides the answer (provider type, model, function...)."""
        ...
