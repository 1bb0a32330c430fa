"""The ASGI app: POST /webhook, GET /healthz, /readyz, /metrics, /jobs.

Verify, then parse, then route (gidgethub's order): the signature is checked over the raw bytes before
anything is read from them; the handler only queues, so GitHub gets its 202 well within its 10 s.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from llmops_action.bot.handlers import Context, route
from llmops_action.bot.messages import render
from llmops_action.bot.metrics import make_registry
from llmops_action.bot.queue import BotQueue
from llmops_action.bot.settings import BotSettings
from llmops_action.bot.signature import verify

log = logging.getLogger("llmops_action.bot")

MAX_BODY = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB
READY_CACHE_SECONDS = 30.0


def create_app(settings: BotSettings, queue: BotQueue | None = None, github_probe: Any = None) -> Starlette:
    settings.require_webhook_secret()
    queue = queue or BotQueue(settings)
    registry, deliveries, ack = make_registry(queue.state)
    ready: dict[str, Any] = {"at": 0.0, "github": None}

    def count(event: str, result: str) -> None:
        deliveries.labels(event=event or "unknown", result=result).inc()

    async def webhook(request: Request) -> Response:
        started = time.perf_counter()
        try:
            return await _webhook(request)
        finally:
            ack.observe(time.perf_counter() - started)

    async def _webhook(request: Request) -> Response:
        event = request.headers.get("x-github-event", "")
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY:
            count(event, "rejected")
            return JSONResponse({"error": "payload over 25 MB"}, status_code=413)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                count(event, "rejected")
                return JSONResponse({"error": "payload over 25 MB"}, status_code=413)
        raw = bytes(body)
        if not verify(raw, request.headers.get("x-hub-signature-256"), settings.webhook_secrets):
            count(event, "rejected")
            return JSONResponse({"error": "bad or missing X-Hub-Signature-256"}, status_code=401)
        try:
            payload = json.loads(raw)
        except ValueError:
            count(event, "rejected")
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        if not isinstance(payload, dict):
            count(event, "rejected")
            return JSONResponse({"error": "body is not a JSON object"}, status_code=400)
        delivery = request.headers.get("x-github-delivery", "")
        handler = route(event, payload)
        if handler is None:
            count(event, "ignored")
            return JSONResponse({"result": "ignored"}, status_code=202)
        result = await run_in_threadpool(_handle, handler, event, delivery, payload)
        count(event, result)
        return JSONResponse({"result": result}, status_code=202)

    def _handle(handler: Any, event: str, delivery: str, payload: dict[str, Any]) -> str:
        key = f"delivery:{delivery}"
        if delivery and not queue.state.set_if_absent(key, str(time.time())):
            return "duplicate"  # GitHub redelivers with the same id
        try:
            ctx = Context(event, payload.get("action"), delivery, payload, queue)
            result = handler(ctx)
        except Exception:
            # Let GitHub's redelivery retry it: forget we saw it.
            if delivery:
                queue.state.delete(key)
            raise
        return "ignored" if result == "ignored" else ("accepted" if result == "accepted" else "duplicate")

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    def _ready() -> dict[str, Any]:
        checks: dict[str, Any] = {}
        try:
            queue.state.ping()
            checks["queue"] = {"ok": True, "backend": queue.backend, "pending": queue.size()}
        except Exception as exc:
            checks["queue"] = {"ok": False, "error": type(exc).__name__}
        now = time.time()
        if ready["github"] is None or now - ready["at"] > READY_CACHE_SECONDS or not ready["github"]["ok"]:
            try:
                if github_probe is not None:
                    github_probe()
                ready["github"] = {"ok": True}
            except Exception as exc:
                ready["github"] = {"ok": False, "error": type(exc).__name__}
            ready["at"] = now
        checks["github"] = ready["github"]
        return checks

    async def readyz(request: Request) -> Response:
        checks = await run_in_threadpool(_ready)
        ok = all(c["ok"] for c in checks.values())
        return JSONResponse(checks, status_code=200 if ok else 503)

    async def metrics(request: Request) -> Response:
        data = await run_in_threadpool(generate_latest, registry)
        return Response(data, media_type=CONTENT_TYPE_LATEST)

    async def jobs_page(request: Request) -> Response:
        if not _operator(request, settings.operator_token):
            return PlainTextResponse("operator token required", status_code=401)
        jobs = await run_in_threadpool(queue.state.jobs, limit=200)
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse({"backend": queue.backend, "jobs": jobs})
        return HTMLResponse(render("jobs.html.j2", jobs=jobs, backend=queue.backend))

    return Starlette(
        routes=[
            Route("/webhook", webhook, methods=["POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            Route("/jobs", jobs_page),
        ]
    )


def _operator(request: Request, token: str | None) -> bool:
    """`Authorization: Bearer T` (or `?token=T` for a browser bookmark), compared in constant time."""
    if not token:
        return False  # no token configured: the page is closed
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    given = given or request.query_params.get("token", "")
    return hmac.compare_digest(given.encode(), token.encode())


def serve(settings: BotSettings, host: str, port: int) -> None:
    import uvicorn

    app = create_app(settings, github_probe=_probe(settings))
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def _probe(settings: BotSettings) -> Any:
    if not settings.app_id or not settings.private_key:
        return None
    from llmops_action.bot.github_app import GitHubApp

    app = GitHubApp(settings)
    return app.app_info
