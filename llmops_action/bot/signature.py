"""Webhook signatures, sans I/O: `X-Hub-Signature-256` is an HMAC-SHA256 of the raw body.

https://docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

PREFIX = "sha256="


def sign(secret: str, body: bytes) -> str:
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, header: str | None, secrets: Iterable[str]) -> bool:
    """True when `header` is the signature of `body` under one of `secrets` (current, then previous).

    Every secret is compared (no early exit on the first), in constant time each.
    """
    if not header or not header.startswith(PREFIX):
        return False
    given = header.encode()
    ok = False
    for secret in secrets:
        ok |= hmac.compare_digest(sign(secret, body).encode(), given)
    return ok
