"""A judge behind an OpenAI-compatible endpoint (`POST {base_url}/chat/completions`): a local vLLM or Ollama
server, a gateway, or OpenAI itself, through the official `openai` client (issue 14).

The client's own retries stay off (max_retries=0) so that runner.py retries every judge alike, reading
Retry-After from the error. The verdict schema goes out as `response_format: json_schema` (strict, so the
properties are all required and no others allowed); the answer is parsed as strictly as a Gemini one.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from llmops_action.engine.providers.base import ModelRequest, ModelResponse
from llmops_action.errors import ProviderError

DEFAULT_BASE_URL = "https://api.openai.com/v1"
RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
# OpenAI's finish reasons, in the Gemini vocabulary judge.py checks (STOP is the only good one).
_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY"}


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The verdict schema as OpenAI's strict mode wants it: no property beyond the listed ones."""
    out = copy.deepcopy(schema)
    if out.get("type") == "object":
        out["additionalProperties"] = False
        out["required"] = list(out.get("properties", {}))
    return out


class OpenAICompatProvider:
    """Thread-safe: the client's connection pool is shared by the runner's threads."""

    kind = "openai"
    cacheable = True

    def __init__(
        self, model: str, *, api_key: str, base_url: str | None = None, timeout: float = 60.0
    ) -> None:
        from openai import OpenAI

        self.model = model
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self._client = OpenAI(api_key=api_key, base_url=self.base_url, timeout=timeout, max_retries=0)

    def cache_identity(self) -> dict[str, Any]:
        # The endpoint is part of the identity: the same model name on two servers is two judges.
        return {"type": self.kind, "model": self.model, "base_url": self.base_url}

    def _kwargs(self, request: ModelRequest) -> dict[str, Any]:
        messages = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.append({"role": "user", "content": request.user})
        kwargs: dict[str, Any] = {"model": self.model, "messages": messages}
        if request.temperature is not None:
            kwargs["temperature"] = request.temperature
        if request.seed is not None:
            kwargs["seed"] = request.seed
        if request.max_tokens is not None:
            kwargs["max_tokens"] = request.max_tokens
        if request.response_schema is not None:
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": "verdict",
                    "strict": True,
                    "schema": strict_schema(request.response_schema),
                },
            }
        return kwargs

    def complete(self, request: ModelRequest) -> ModelResponse:
        import openai

        start = time.perf_counter()
        try:
            resp = self._client.chat.completions.create(**self._kwargs(request))
        except openai.APIStatusError as exc:
            status = exc.status_code
            retry_after = _retry_after(exc.response.headers.get("retry-after"))
            raise ProviderError(
                f"openai-compatible {status}: {_message(exc)}",
                retryable=status in RETRYABLE_STATUS,
                retry_after=retry_after,
                status=status,
            ) from None
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            raise ProviderError(
                f"openai-compatible transport error: {type(exc).__name__}", retryable=True
            ) from None
        latency_ms = (time.perf_counter() - start) * 1000
        choice = resp.choices[0] if resp.choices else None
        message = choice.message if choice is not None else None
        refusal = getattr(message, "refusal", None) if message is not None else None
        usage = resp.usage
        return ModelResponse(
            text=message.content if message is not None else None,
            latency_ms=latency_ms,
            input_tokens=usage.prompt_tokens if usage else None,
            output_tokens=usage.completion_tokens if usage else None,
            model_version=resp.model,
            finish_reason=_FINISH.get(str(choice.finish_reason), str(choice.finish_reason))
            if choice
            else None,
            blocked=f"refusal: {refusal}" if refusal else None,
            raw={"response_id": resp.id, "system_fingerprint": resp.system_fingerprint},
        )


def _message(exc: Any) -> str:
    body = exc.body if isinstance(getattr(exc, "body", None), dict) else {}
    err = body.get("error", body) if isinstance(body, dict) else {}
    return str(err.get("message") if isinstance(err, dict) and err.get("message") else exc.message)


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
