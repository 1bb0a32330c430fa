"""A local fake of the Gemini REST API (`POST /v1beta/models/{model}:generateContent`) for tests and benchmarks.

It answers with the real body shapes in `../shared/fixtures/gemini-api/` so google-genai is exercised for real
(the SDK uses httpx2, which `responses` cannot intercept). Point a client at it with
`HttpOptions(base_url=server.url, api_version="v1beta")`, or give `server.url` as `base_url` in the config.

API
---
``GeminiServer(handler=None, *, latency=0.0, faults=None, seed=0, quota=None)`` — context manager; binds 127.0.0.1:0.

- ``.url``: ``http://127.0.0.1:<port>``.
- ``.requests``: list of :class:`RecordedRequest` (``path``, ``model``, ``headers`` (lower-case keys), ``body``
  (parsed JSON), ``status`` answered, ``fault`` injected or None). Thread-safe to read after calls return.
- ``.enqueue(status, body, headers=None)``: canned answers, served first-in first-out before the handler.
- ``.handler``: a callable ``(request_json, model) -> (status, body_dict, headers_dict)``; default
  :func:`default_handler` (an echo for generation, a schema-shaped JSON object for requests with a response schema).
- ``.latency``: seconds slept before every answer (set it any time).
- ``.quota``: a :class:`Quota` (requests per minute) enforced before anything else, answered the API's way: 429
  RESOURCE_EXHAUSTED with a per-minute QuotaFailure and a RetryInfo.retryDelay; None (default) for no quota.
- ``.faults``: :class:`Faults` shares (0-1) of requests that get a 429 with ``RetryInfo``, a 503, a slow answer,
  or (only for requests with a response schema, i.e. judge calls) malformed JSON text. Decided by a seeded RNG.

Helpers to build bodies: :func:`response_body`, :func:`judge_body`, :func:`error_body`, :func:`fixture`,
:func:`request_text` (the user text of a request), :func:`request_system` and :func:`has_schema`.

Example::

    with GeminiServer() as server:
        server.enqueue(*error_body(429, retry_delay="0.2s"))
        client = genai.Client(api_key="k", http_options=HttpOptions(base_url=server.url, api_version="v1beta"))
        ...
        assert server.requests[0].body["contents"][0]["parts"][0]["text"] == "hi"
"""

from __future__ import annotations

import copy
import json
import os
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.support.local_http import BackgroundServer

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(os.environ.get("LLMOPS_SHARED", REPO.parent / "shared")) / "fixtures" / "gemini-api"

Answer = tuple[int, dict[str, Any], dict[str, str]]
Handler = Callable[[dict[str, Any], str], Answer]

_PATH = re.compile(r"^/v1beta/models/([^/:]+):generateContent$")


def fixture(name: str) -> dict[str, Any]:
    """A real body from the fixtures folder, e.g. fixture('generateContent.response.prompt-blocked.json')."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def response_body(
    text: str,
    *,
    prompt_tokens: int = 8,
    output_tokens: int = 11,
    thoughts_tokens: int | None = None,
    model_version: str = "gemini-2.5-flash",
    finish_reason: str = "STOP",
) -> dict[str, Any]:
    """A modern GenerateContentResponse, shaped like the recorded 2.5-flash thinking response."""
    body = fixture("generateContent.response.gemini-2.5-flash.thinking.json")
    body["candidates"][0]["content"]["parts"] = [{"text": text}]
    body["candidates"][0]["finishReason"] = finish_reason
    body["modelVersion"] = model_version
    usage = {"promptTokenCount": prompt_tokens, "candidatesTokenCount": output_tokens}
    if thoughts_tokens is not None:
        usage["thoughtsTokenCount"] = thoughts_tokens
    usage["totalTokenCount"] = prompt_tokens + output_tokens + (thoughts_tokens or 0)
    usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt_tokens}]
    body["usageMetadata"] = usage
    return body


def error_body(code: int, *, retry_delay: str | None = "1s", message: str | None = None) -> Answer:
    """(status, body, headers) for 400 (the recorded fixture), 429 (with RetryInfo, shape of python-genai #2044),
    503 (cookbook #425) or any other code."""
    if code == 400:
        return 400, fixture("error.400.invalid-argument.json"), {}
    if code == 429:
        details: list[dict[str, Any]] = [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                        "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                        "quotaDimensions": {"location": "global", "model": "gemini-2.5-flash"},
                        "quotaValue": "10",
                    }
                ],
            },
            {
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [
                    {
                        "description": "Learn more about Gemini API quotas",
                        "url": "https://ai.google.dev/gemini-api/docs/rate-limits",
                    }
                ],
            },
        ]
        if retry_delay is not None:
            details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay})
        msg = message or f"You exceeded your current quota... Please retry in {retry_delay}."
        return (
            429,
            {"error": {"code": 429, "message": msg, "status": "RESOURCE_EXHAUSTED", "details": details}},
            {},
        )
    if code == 503:
        msg = message or "The model is overloaded. Please try again later."
        return 503, {"error": {"code": 503, "message": msg, "status": "UNAVAILABLE"}}, {}
    status = {404: "NOT_FOUND", 403: "PERMISSION_DENIED", 408: "DEADLINE_EXCEEDED", 500: "INTERNAL"}.get(
        code, "UNKNOWN"
    )
    return code, {"error": {"code": code, "message": message or status, "status": status}}, {}


def request_text(body: dict[str, Any]) -> str:
    """The text of the last user turn."""
    parts = body.get("contents", [{}])[-1].get("parts", [])
    return "".join(p.get("text", "") for p in parts)


def request_system(body: dict[str, Any]) -> str:
    parts = (body.get("systemInstruction") or {}).get("parts", [])
    return "".join(p.get("text", "") for p in parts)


def _schema_of(body: dict[str, Any]) -> dict[str, Any] | None:
    cfg = body.get("generationConfig") or {}
    return cfg.get("responseJsonSchema") or cfg.get("responseSchema")


def has_schema(body: dict[str, Any]) -> bool:
    return _schema_of(body) is not None


def _fill(schema: dict[str, Any]) -> Any:
    """A value satisfying a (JSON or OpenAPI-subset) schema: integers at their maximum, so a default judge
    answer is a clear, checkable 'best score'."""
    kind = str(schema.get("type", "object")).lower()
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        props = schema.get("properties", {})
        return {k: _fill(v) for k, v in props.items()}
    if kind == "integer":
        return int(schema.get("maximum", 5))
    if kind == "number":
        return float(schema.get("maximum", 1.0))
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    return "looks fine"


def judge_body(verdict: dict[str, Any] | str) -> dict[str, Any]:
    """A judge answer: the verdict object as JSON text (or raw text, to send malformed JSON)."""
    text = verdict if isinstance(verdict, str) else json.dumps(verdict)
    return response_body(text, prompt_tokens=120, output_tokens=40)


def default_handler(body: dict[str, Any], model: str) -> Answer:
    """Generation: echo the user text. Judge (a response schema is set): a JSON object filling the schema."""
    schema = _schema_of(body)
    if schema is not None:
        return 200, judge_body(_fill(schema)), {}
    text = request_text(body)
    return 200, response_body(f"echo: {text}", prompt_tokens=len(text.split()) + 1, model_version=model), {}


@dataclass
class Faults:
    """Shares of requests that fail in a given way (each in [0, 1], drawn once per request, in this order)."""

    rate_limited: float = 0.0  # 429 with RetryInfo.retryDelay
    unavailable: float = 0.0  # 503
    slow: float = 0.0  # sleep `slow_seconds` before answering normally
    malformed_judge: float = 0.0  # judge requests only: text that is not JSON
    retry_delay: str = "0.01s"
    slow_seconds: float = 0.3


class Quota:
    """A per-minute request quota: a token bucket refilled continuously at rpm/60 per second, holding at most
    `burst` requests (default one second's worth). Smoothed like this, N requests need N*60/rpm seconds; a
    fixed minute window would let a whole run through in its first second. Thread-safe."""

    def __init__(
        self, rpm: float, *, burst: float | None = None, clock: Callable[[], float] = time.monotonic
    ):
        self.rpm = rpm
        self.rate = rpm / 60.0
        self.burst = burst if burst is not None else max(1.0, self.rate)
        self._clock = clock
        self._tokens = self.burst
        self._last = clock()
        self._lock = threading.Lock()
        self.admitted = 0
        self.refused = 0

    def take(self) -> float | None:
        """None when the request is admitted, else the seconds until it would be."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                self.admitted += 1
                return None
            self.refused += 1
            return (1.0 - self._tokens) / self.rate

    def refusal(self, delay: float) -> Answer:
        """The 429 the API sends for a per-minute quota, with this quota's value and the delay."""
        status, body, headers = error_body(
            429,
            retry_delay=f"{delay:.6f}s",
            message=f"You exceeded your current quota, please check your plan and billing details. "
            f"Please retry in {delay:.6f}s.",
        )
        for d in body["error"]["details"]:
            for v in d.get("violations", []):
                v["quotaValue"] = str(int(self.rpm))
        return status, body, headers


@dataclass
class RecordedRequest:
    path: str
    model: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int = 0
    fault: str | None = None
    at: float = field(default_factory=time.monotonic)


class GeminiServer(BackgroundServer):
    """A threaded fake Gemini server on 127.0.0.1 (random port). See the module docstring."""

    def __init__(
        self,
        handler: Handler | None = None,
        *,
        latency: float = 0.0,
        faults: Faults | None = None,
        seed: int = 0,
        quota: Quota | None = None,
    ) -> None:
        self.handler: Handler = handler or default_handler
        self.quota = quota
        self.latency = latency
        self.faults = faults or Faults()
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Answer] = deque()
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._httpd: ThreadingHTTPServer | None = None

    # -- scripting ------------------------------------------------------------------------------------------
    def enqueue(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        with self._lock:
            self._queue.append((status, body, headers or {}))

    def _fault(self, body: dict[str, Any]) -> str | None:
        f = self.faults
        with self._lock:
            draw = self._rng.random()
        edge = 0.0
        for name, share in (("429", f.rate_limited), ("503", f.unavailable), ("slow", f.slow)):
            edge += share
            if draw < edge:
                return name
        if has_schema(body):
            edge += f.malformed_judge
            if draw < edge:
                return "malformed"
        return None

    def _answer(self, body: dict[str, Any], model: str) -> tuple[Answer, str | None]:
        with self._lock:
            canned = self._queue.popleft() if self._queue else None
        if canned is not None:
            return canned, None
        fault = self._fault(body)
        if fault == "429":
            return error_body(429, retry_delay=self.faults.retry_delay), fault
        if fault == "503":
            return error_body(503), fault
        if fault == "slow":
            time.sleep(self.faults.slow_seconds)
        if fault == "malformed":
            return (200, judge_body('{"reasoning": "cut off", "score": '), {}), fault
        return self.handler(body, model), fault

    # -- lifecycle ------------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> GeminiServer:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: the SDK's connection pool reuses sockets
            disable_nagle_algorithm = True  # headers and body go out in two writes; Nagle would add ~40 ms

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                match = _PATH.match(self.path.split("?")[0])
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {}
                rec = RecordedRequest(
                    path=self.path,
                    model=match[1] if match else "",
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                with server._lock:
                    server.requests.append(rec)
                quota = server.quota
                wait = quota.take() if quota is not None and match else None
                if quota is not None and wait is not None:
                    # Refused on arrival: a quota check costs the API no model time.
                    (status, out, headers), fault = quota.refusal(wait), "quota"
                else:
                    if server.latency:
                        time.sleep(server.latency)
                    if match is None:
                        (status, out, headers), fault = error_body(404, message=f"no route {self.path}"), None
                    else:
                        (status, out, headers), fault = server._answer(copy.deepcopy(body), match[1])
                rec.status, rec.fault = status, fault
                data = json.dumps(out).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                try:
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to answer

        return self._serve(_Handler)

    # -- assertions -----------------------------------------------------------------------------------------
    def judge_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if has_schema(r.body)]

    def generation_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if not has_schema(r.body)]


def main(argv: list[str] | None = None) -> None:
    """`python -m tests.support.gemini_server [--latency S] [--quota-rpm Q]`: serve in this process (so a
    benchmark's client does not share a GIL with the server), print the URL on stdout, stop when stdin closes,
    then print one JSON line of what the quota admitted and refused."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--quota-rpm", type=float, default=None)
    parser.add_argument("--quota-burst", type=float, default=None)
    args = parser.parse_args(argv)
    quota = Quota(args.quota_rpm, burst=args.quota_burst) if args.quota_rpm else None
    with GeminiServer(latency=args.latency, quota=quota) as server:
        print(server.url, flush=True)
        sys.stdin.read()
    if quota is not None:
        print(json.dumps({"admitted": quota.admitted, "refused": quota.refused}), flush=True)


if __name__ == "__main__":
    main()
