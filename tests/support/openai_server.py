"""A local OpenAI-compatible server (`POST /v1/chat/completions`), the way vLLM, Ollama and gateways serve it.

Request and response bodies follow the Chat Completions API: the request carries `model`, `messages`
(`{"role": "system" | "user", "content": "..."}`), optional `temperature`, `seed`, `max_tokens` and
`response_format` (`{"type": "json_schema", "json_schema": {"name", "strict", "schema"}}`); the answer is a
`chat.completion` object (`id`, `object`, `created`, `model`, `system_fingerprint`, `choices[{index,
message{role, content, refusal}, logprobs, finish_reason}]`, `usage{prompt_tokens, completion_tokens,
total_tokens}`); errors are `{"error": {"message", "type", "param", "code"}}` with the HTTP status.

API (like tests/support/gemini_server.py)
---
``OpenAIServer(handler=None)`` — context manager on 127.0.0.1:0; ``.url`` is the base URL *with* ``/v1``
(what a judge's ``base_url`` takes); ``.requests`` the recorded requests (``path``, ``headers``, ``body``,
``status``); ``.enqueue(status, body)`` canned answers first; ``.handler(body, model) -> (status, body,
headers)``, default :func:`default_handler` (a verdict with the top score for requests with a
response_format, an echo otherwise).

Example::

    with OpenAIServer() as server:
        client = openai.OpenAI(api_key="none", base_url=server.url)
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        assert server.requests[0].body["messages"][0]["content"] == "hi"
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.local_http import BackgroundServer

Answer = tuple[int, dict[str, Any], dict[str, str]]
Handler = Callable[[dict[str, Any], str], Answer]
_ids = itertools.count(1)


def chat_body(
    text: str | None,
    *,
    model: str = "judge-model",
    finish_reason: str = "stop",
    prompt_tokens: int = 120,
    completion_tokens: int = 30,
    refusal: str | None = None,
) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{next(_ids)}",
        "object": "chat.completion",
        "created": 1764547200,
        "model": model,
        "system_fingerprint": "fp_local",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": refusal},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def verdict_body(verdict: dict[str, Any] | str, *, model: str = "judge-model") -> dict[str, Any]:
    return chat_body(verdict if isinstance(verdict, str) else json.dumps(verdict), model=model)


def error_body(code: int, message: str | None = None) -> Answer:
    kind = {429: "rate_limit_exceeded", 400: "invalid_request_error", 503: "server_error"}.get(
        code, "api_error"
    )
    body = {"error": {"message": message or f"error {code}", "type": kind, "param": None, "code": kind}}
    return code, body, {"retry-after": "0"} if code == 429 else {}


def request_text(body: dict[str, Any]) -> str:
    return "".join(m.get("content") or "" for m in body.get("messages", []) if m.get("role") == "user")


def request_system(body: dict[str, Any]) -> str:
    return "".join(m.get("content") or "" for m in body.get("messages", []) if m.get("role") == "system")


def has_schema(body: dict[str, Any]) -> bool:
    return (body.get("response_format") or {}).get("type") == "json_schema"


def default_handler(body: dict[str, Any], model: str) -> Answer:
    if has_schema(body):
        schema = body["response_format"]["json_schema"]["schema"]
        top = schema["properties"]["score"].get("maximum", 5)
        return 200, verdict_body({"reasoning": "fine", "score": top, "manipulation_detected": False}), {}
    return 200, chat_body(f"echo: {request_text(body)}", model=model), {}


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int = 0


class OpenAIServer(BackgroundServer):
    def __init__(self, handler: Handler | None = None) -> None:
        self.handler: Handler = handler or default_handler
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Answer] = deque()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    def enqueue(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        with self._lock:
            self._queue.append((status, body, headers or {}))

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> OpenAIServer:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {}
                rec = RecordedRequest(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with server._lock:
                    server.requests.append(rec)
                    canned = server._queue.popleft() if server._queue else None
                if self.path.split("?")[0] != "/v1/chat/completions":
                    status, out, headers = error_body(404, f"no route {self.path}")
                elif canned is not None:
                    status, out, headers = canned
                else:
                    status, out, headers = server.handler(copy.deepcopy(body), str(body.get("model", "")))
                rec.status = status
                data = json.dumps(out).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        return self._serve(_Handler)

    def judge_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if has_schema(r.body)]
