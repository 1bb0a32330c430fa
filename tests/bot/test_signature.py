"""Webhook signatures, as GitHub documents them (validating-webhook-deliveries)."""

from __future__ import annotations

from llmops_action.bot.signature import sign, verify


def test_githubs_documented_example() -> None:
    # docs.github.com: secret "It's a Secret to Everybody", payload "Hello, World!"
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign("It's a Secret to Everybody", b"Hello, World!") == expected
    assert verify(b"Hello, World!", expected, ["It's a Secret to Everybody"])


def test_current_or_previous_secret_but_nothing_else() -> None:
    body = b'{"action":"opened"}'
    assert verify(body, sign("old", body), ["new", "old"])
    assert not verify(body, sign("other", body), ["new", "old"])
    assert not verify(body, None, ["new"])
    assert not verify(body, "sha1=" + sign("new", body)[7:], ["new"])
    assert not verify(body + b" ", sign("new", body), ["new"])
    assert not verify(body, sign("new", body), [])  # no secret: nothing verifies
