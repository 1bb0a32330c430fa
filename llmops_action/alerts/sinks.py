"""Where alerts go: the GitHub alert issue, a signed generic webhook, a Slack-compatible incoming webhook.

The generic webhook signs its body the way GitHub signs webhook deliveries, so a receiver verifies it
with the same few lines (hmac.compare_digest over the raw bytes):

    X-Llmops-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, keyed with the secret>
    X-Llmops-Event: alert
    X-Llmops-Delivery: <uuid, the same on every retry of one delivery, so receivers can drop repeats>

Deliveries are retried on connection errors, 429 and 5xx with exponential backoff (Retry-After wins
when it is shorter than max_delay); other 4xx fail at once. URLs and keys are secrets: no message
here contains one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmops_action import __version__
from llmops_action.core.alerts import Alert, slack_body

if TYPE_CHECKING:
    from llmops_action.core.alert_config import AlertRetryConfig, SinkConfig

SIGNATURE_HEADER = "X-Llmops-Signature-256"
EVENT_HEADER = "X-Llmops-Event"
DELIVERY_HEADER = "X-Llmops-Delivery"


@dataclass(frozen=True)
class Delivery:
    sink: str
    status: str  # sent | skipped | failed
    attempts: int = 0
    detail: str = ""


class SinkError(Exception):
    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, header: str | None) -> bool:
    """What a receiver does: compare in constant time; no header is a failure."""
    return header is not None and hmac.compare_digest(sign(body, secret), header)


def post_json(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    retry: AlertRetryConfig,
    sleep: Callable[[float], None],
) -> int:
    """POST until a 2xx; returns the attempts made, raises SinkError (without the URL) when they run out."""
    last = ""
    for attempt in range(1, retry.attempts + 1):
        request = urllib.request.Request(url, data=body, method="POST", headers=dict(headers))
        wait = min(retry.max_delay, retry.initial_delay * 2 ** (attempt - 1))
        try:
            with urllib.request.urlopen(request, timeout=retry.timeout) as resp:
                resp.read()
                return attempt
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
            if exc.code != 429 and exc.code < 500:
                raise SinkError(f"refused with {last}", attempt) from None
            after = exc.headers.get("Retry-After") if exc.headers else None
            if after and after.strip().isdigit():
                wait = min(retry.max_delay, float(after))
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            last = type(exc).__name__ + (f": {exc.reason}" if isinstance(exc, urllib.error.URLError) else "")
        if attempt < retry.attempts:
            sleep(wait)
    raise SinkError(f"gave up after {retry.attempts} attempt(s), last: {last}", retry.attempts)


def _headers(kind: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": f"llmops-action/{__version__}",
        EVENT_HEADER: kind,
    }


def send_webhook(
    sink: SinkConfig,
    alert: Alert,
    environ: Mapping[str, str],
    retry: AlertRetryConfig,
    sleep: Callable[[float], None],
    *,
    repository: str | None,
    at: str,
) -> Delivery:
    url = _secret(environ, sink.url_env)
    if url is None:
        return Delivery(sink.label, "skipped", 0, f"${sink.url_env} is not set")
    if sink.type == "slack":
        payload: dict[str, Any] = slack_body(alert)
        headers = {"Content-Type": "application/json", "User-Agent": f"llmops-action/{__version__}"}
    else:
        payload = alert.payload(repository=repository, at=at)
        headers = {**_headers("alert"), DELIVERY_HEADER: str(uuid.uuid4())}
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    if sink.secret_env:
        secret = _secret(environ, sink.secret_env)
        if secret is None:
            # never fall back to an unsigned delivery the receiver would have to trust blindly
            return Delivery(sink.label, "failed", 0, f"${sink.secret_env} (the signing key) is not set")
        headers[SIGNATURE_HEADER] = sign(body, secret)
    try:
        attempts = post_json(url, body, headers, retry, sleep)
    except SinkError as exc:
        return Delivery(sink.label, "failed", exc.attempts, str(exc))
    return Delivery(sink.label, "sent", attempts)


def _secret(environ: Mapping[str, str], name: str | None) -> str | None:
    value = environ.get(name or "", "").strip()
    return value or None


class GitHubIssueSink:
    """The alert issue: one open issue per marker, updated in place while the alert stays open."""

    def __init__(self, client: Any) -> None:  # llmops_action.adapters.github.GitHubClient
        self.client = client

    def raise_(self, sink: SinkConfig, alert: Alert) -> Delivery:
        issue = self.client.upsert_issue(alert.marker(), alert.title, alert.issue_body or alert.message)
        return Delivery(sink.label, "sent", 1, f"issue {issue.action}: {issue.url}")

    def resolve(self, sink: SinkConfig, marker: str, comment: str) -> Delivery:
        issue = self.client.close_issue(marker, comment)
        return Delivery(
            sink.label, "sent" if issue.action == "closed" else "skipped", 1, f"issue {issue.action}"
        )
