"""Gemini through google-genai: one generateContent call per request, for generation and for the judge.

The SDK's own retries stay off: it ignores RetryInfo.retryDelay and Retry-After (python-genai #1875), so
runner.py retries, reading both from the ProviderError this module raises.

Tokens: `input_tokens` is usageMetadata.promptTokenCount; `output_tokens` is candidatesTokenCount PLUS
thoughtsTokenCount, because thinking tokens are billed as output and the cost column must match the bill.
Both raw counts stay in `ModelResponse.raw["usage"]`.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from typing import Any

from llmops_action.engine.providers.base import ModelRequest, ModelResponse
from llmops_action.errors import ProviderError, UserInputError

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
API_VERSION = "v1beta"  # google-genai 3.x defaults to v1; the -latest aliases exist only on v1beta
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)s\s*$")


def api_key_from_env(env: dict[str, str] | None = None) -> str | None:
    env = dict(os.environ) if env is None else env
    return env.get("GEMINI_API_KEY") or env.get("GOOGLE_API_KEY") or None


def parse_duration(text: Any) -> float | None:
    """protobuf Duration JSON ('53s', '1.5s') -> seconds."""
    if not isinstance(text, str):
        return None
    m = _DURATION.match(text)
    return float(m[1]) if m else None


def retry_after_of(body: Any, headers: Any = None) -> float | None:
    """RetryInfo.retryDelay from an error body's details (any position), else a numeric Retry-After header."""
    err = body.get("error", body) if isinstance(body, dict) else {}
    details = err.get("details") if isinstance(err, dict) else None
    for d in details if isinstance(details, list) else []:
        if isinstance(d, dict) and str(d.get("@type", "")).endswith("google.rpc.RetryInfo"):
            delay = parse_duration(d.get("retryDelay"))
            if delay is not None:
                return delay
    if headers is not None:
        value = headers.get("retry-after") if hasattr(headers, "get") else None
        try:
            return float(value) if value is not None else None
        except ValueError:  # an HTTP date: rare for this API, not worth parsing
            return None
    return None


_clients: dict[tuple[str, str, int], Any] = {}
_clients_lock = threading.Lock()


def _shared_client(api_key: str, base_url: str, timeout_ms: int) -> Any:
    """One google-genai client per key, endpoint and timeout in the process: building one costs ~50-80 ms (it
    makes three SSL contexts), paid twice per run (provider, judge) and again by every run in a bot worker.
    The client and its httpx2 pool are thread-safe."""
    from google import genai
    from google.genai import types

    key = (hashlib.sha256(api_key.encode()).hexdigest(), base_url, timeout_ms)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = genai.Client(
                api_key=api_key,
                http_options=types.HttpOptions(
                    base_url=base_url,
                    api_version=API_VERSION,
                    timeout=timeout_ms,  # HttpOptions.timeout is in milliseconds
                    retry_options=None,  # our runner retries, honouring RetryInfo
                ),
            )
            _clients[key] = client
        return client


def _enum(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))


class GeminiProvider:
    """Provider and judge backend. Thread-safe: the SDK client's httpx2 pool is shared by the runner's threads."""

    kind = "gemini"
    cacheable = True

    def __init__(
        self,
        model: str,
        *,
        api_key: str,
        base_url: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        if not api_key:
            raise UserInputError(
                "the gemini provider needs an API key",
                key="provider",
                hint="Set GEMINI_API_KEY (or GOOGLE_API_KEY), or use a python/command/outputs provider.",
            )
        from google.genai import types

        self.model = model
        self.base_url = base_url or os.environ.get("GOOGLE_GEMINI_BASE_URL") or DEFAULT_BASE_URL
        self._types = types
        # Provider and judge on one endpoint and key share one quota (and one pacer); a digest, never the key.
        self.quota_key = f"gemini {self.base_url} {hashlib.sha256(api_key.encode()).hexdigest()[:12]}"
        self._client = _shared_client(api_key, self.base_url, int(timeout * 1000))

    def cache_identity(self) -> dict[str, Any]:
        return {"type": self.kind, "model": self.model, "base_url": self.base_url}

    def _config(self, request: ModelRequest) -> Any:
        kwargs: dict[str, Any] = {}
        if request.system:
            kwargs["system_instruction"] = request.system
        if request.temperature is not None:
            kwargs["temperature"] = request.temperature
        if request.seed is not None:
            kwargs["seed"] = request.seed
        if request.max_tokens is not None:
            kwargs["max_output_tokens"] = request.max_tokens
        if request.response_schema is not None:
            kwargs["response_mime_type"] = "application/json"
            kwargs["response_json_schema"] = request.response_schema
        return self._types.GenerateContentConfig(**kwargs)

    def complete(self, request: ModelRequest) -> ModelResponse:
        from google.genai import errors

        start = time.perf_counter()
        try:
            resp = self._client.models.generate_content(
                model=self.model, contents=request.user, config=self._config(request)
            )
        except errors.APIError as exc:
            status = int(exc.code) if exc.code else None
            headers = getattr(getattr(exc, "response", None), "headers", None)
            raise ProviderError(
                f"gemini {status} {exc.status or ''}: {exc.message or ''}".strip(),
                retryable=status in RETRYABLE_STATUS,
                retry_after=retry_after_of(exc.details, headers),
                status=status,
            ) from None
        except Exception as exc:
            if _is_transport_error(exc):
                raise ProviderError(
                    f"gemini transport error: {type(exc).__name__}: {exc}", retryable=True
                ) from None
            raise
        latency_ms = (time.perf_counter() - start) * 1000
        return self._response(resp, latency_ms)

    def _response(self, resp: Any, latency_ms: float) -> ModelResponse:
        usage = resp.usage_metadata
        prompt_tokens = getattr(usage, "prompt_token_count", None) if usage else None
        cand_tokens = getattr(usage, "candidates_token_count", None) if usage else None
        thoughts = getattr(usage, "thoughts_token_count", None) if usage else None
        output_tokens = (
            None if cand_tokens is None and thoughts is None else (cand_tokens or 0) + (thoughts or 0)
        )
        feedback = resp.prompt_feedback
        blocked = _enum(feedback.block_reason) if feedback is not None else None
        text: str | None = None
        finish: str | None = None
        if resp.candidates:
            cand = resp.candidates[0]
            finish = _enum(cand.finish_reason)
            parts = cand.content.parts if cand.content and cand.content.parts else []
            # Thought summaries are not the answer: keep only the visible text parts.
            texts = [p.text for p in parts if p.text is not None and not p.thought]
            text = "".join(texts) if texts else None
        raw = {
            "usage": {
                "prompt": prompt_tokens,
                "candidates": cand_tokens,
                "thoughts": thoughts,
                "cached": getattr(usage, "cached_content_token_count", None) if usage else None,
            },
            "response_id": resp.response_id,
        }
        return ModelResponse(
            text=text,
            latency_ms=latency_ms,
            input_tokens=prompt_tokens,
            output_tokens=output_tokens,
            model_version=resp.model_version,
            finish_reason=finish,
            blocked=blocked,
            raw=raw,
        )


def _is_transport_error(exc: BaseException) -> bool:
    """Timeouts and connection failures from the SDK's HTTP stack (httpx2 or httpx), without importing either."""
    for cls in type(exc).__mro__:
        if cls.__module__.split(".")[0] in ("httpx", "httpx2") and cls.__name__ in (
            "TimeoutException",
            "TransportError",
            "NetworkError",
        ):
            return True
    return isinstance(exc, (TimeoutError, ConnectionError))
