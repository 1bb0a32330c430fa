"""Alerts delivered to a real local HTTP receiver: signatures, retries, dedupe, severities, Slack's shape."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import jsonschema
import pytest

from llmops_action.alerts.dispatch import Dispatcher
from llmops_action.alerts.sinks import DELIVERY_HEADER, SIGNATURE_HEADER, verify
from llmops_action.core.alert_config import AlertsConfig
from llmops_action.core.alerts import Alert
from tests.support.alert_receiver import AlertReceiver

SECRET = "s3cret-signing-key"

# The incoming-webhook body Slack accepts, for the blocks we send (Block Kit: header, section, context).
_TEXT = {
    "type": "object",
    "required": ["type", "text"],
    "properties": {
        "type": {"enum": ["plain_text", "mrkdwn"]},
        "text": {"type": "string", "minLength": 1, "maxLength": 3000},
    },
}
SLACK_SCHEMA = {
    "type": "object",
    "required": ["text", "blocks"],
    "properties": {
        "text": {"type": "string", "minLength": 1},
        "blocks": {
            "type": "array",
            "maxItems": 50,
            "items": {
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["type", "text"],
                        "properties": {
                            "type": {"const": "header"},
                            "text": {
                                "type": "object",
                                "properties": {
                                    "type": {"const": "plain_text"},
                                    "text": {"type": "string", "maxLength": 150},
                                },
                            },
                        },
                    },
                    {
                        "type": "object",
                        "required": ["type", "text"],
                        "properties": {"type": {"const": "section"}, "text": _TEXT},
                    },
                    {
                        "type": "object",
                        "required": ["type", "elements"],
                        "properties": {
                            "type": {"const": "context"},
                            "elements": {"type": "array", "items": _TEXT, "maxItems": 10},
                        },
                    },
                ]
            },
        },
    },
}


def alert(severity: str = "critical", key: str = "suite:schedule", message: str = "score fell") -> Alert:
    return Alert(
        "regression",
        severity,
        "llmops: regression on main",
        message,
        key,
        {"run": "https://github.com/o/r/actions/runs/1"},
        "schedule",
    )  # type: ignore[arg-type]


def dispatcher(
    tmp_path: Path, sinks: list[dict[str, object]], env: dict[str, str]
) -> tuple[Dispatcher, list[float]]:
    cfg = AlertsConfig.model_validate(
        {"sinks": sinks, "retries": {"attempts": 4, "initial_delay": 0.5, "max_delay": 4}}
    )
    sleeps: list[float] = []
    return Dispatcher(cfg, tmp_path, env, repository="o/r", sleep=sleeps.append), sleeps


def test_the_webhook_body_is_signed_and_the_signature_verifies(tmp_path: Path) -> None:
    with AlertReceiver() as rx:
        d, _ = dispatcher(
            tmp_path,
            [{"type": "webhook", "url_env": "HOOK", "secret_env": "KEY"}],
            {"HOOK": rx.url, "KEY": SECRET},
        )
        (delivery,) = d.raise_alerts([alert()])
    assert delivery.status == "sent"
    (got,) = rx.requests
    expected = "sha256=" + hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert got.headers[SIGNATURE_HEADER] == expected and verify(
        got.body, SECRET, got.headers[SIGNATURE_HEADER]
    )
    assert not verify(got.body, "another key", got.headers[SIGNATURE_HEADER])
    body = json.loads(got.body)
    assert body["alert"]["type"] == "regression" and body["alert"]["dedupe_key"] == "suite:schedule"
    assert body["alert"]["state"] == "open" and body["repository"] == "o/r"
    assert SECRET not in got.body.decode()


def test_500_twice_then_200_delivers_one_alert_with_one_delivery_id(tmp_path: Path) -> None:
    with AlertReceiver(statuses=[500, 500]) as rx:
        d, sleeps = dispatcher(tmp_path, [{"type": "webhook", "url_env": "HOOK"}], {"HOOK": rx.url})
        (delivery,) = d.raise_alerts([alert()])
    assert (delivery.status, delivery.attempts) == ("sent", 3)
    assert len(rx.accepted()) == 1 and len(rx.requests) == 3
    assert len({r.headers[DELIVERY_HEADER] for r in rx.requests}) == 1  # so a receiver can drop repeats
    assert sleeps == [0.5, 1.0]  # exponential backoff


def test_a_receiver_that_keeps_failing_is_reported_without_its_url(tmp_path: Path) -> None:
    with AlertReceiver(statuses=[503] * 10) as rx:
        d, sleeps = dispatcher(tmp_path, [{"type": "webhook", "url_env": "HOOK"}], {"HOOK": rx.url})
        (delivery,) = d.raise_alerts([alert()])
    assert delivery.status == "failed" and "HTTP 503" in delivery.detail and rx.url not in delivery.detail
    assert len(rx.requests) == 4 and sleeps == [0.5, 1.0, 2.0]


def test_a_4xx_is_not_retried(tmp_path: Path) -> None:
    with AlertReceiver(statuses=[404]) as rx:
        d, _ = dispatcher(tmp_path, [{"type": "webhook", "url_env": "HOOK"}], {"HOOK": rx.url})
        (delivery,) = d.raise_alerts([alert()])
    assert delivery.status == "failed" and len(rx.requests) == 1


def test_the_same_alert_does_not_fire_twice_while_open(tmp_path: Path) -> None:
    with AlertReceiver() as rx:
        d, _ = dispatcher(tmp_path, [{"type": "webhook", "url_env": "HOOK"}], {"HOOK": rx.url})
        first = d.raise_alerts([alert()])
        again = d.raise_alerts([alert(message="score fell further")])
        # a fresh dispatcher (the next scheduled run) reads the persisted state
        d2, _ = dispatcher(tmp_path, [{"type": "webhook", "url_env": "HOOK"}], {"HOOK": rx.url})
        third = d2.raise_alerts([alert()])
        other = d2.raise_alerts([alert(key="suite:anomaly:score")])
        assert len(rx.requests) == 2
        d2.store.set_state("suite:schedule", "acknowledged", by="ada")
        assert d2.raise_alerts([alert()])[0].status == "skipped"
        resolved = d2.resolve("suite:schedule", marker="m", comment="passes again")
        reopened = d2.raise_alerts([alert()])
    assert [x.status for x in (*first, *again, *third, *other)] == ["sent", "skipped", "skipped", "sent"]
    assert "already open" in again[0].detail
    assert resolved[0].status == "sent" and json.loads(rx.requests[2].body)["alert"]["state"] == "resolved"
    assert reopened[0].status == "sent" and len(rx.requests) == 4


def test_each_sink_gets_only_alerts_at_or_above_its_min_severity(tmp_path: Path) -> None:
    with AlertReceiver() as hook, AlertReceiver() as slack:
        d, _ = dispatcher(
            tmp_path,
            [
                {"type": "webhook", "url_env": "HOOK"},
                {"type": "slack", "url_env": "SLACK", "min_severity": "critical"},
            ],
            {"HOOK": hook.url, "SLACK": slack.url},
        )
        out = d.raise_alerts([alert("warning", key="a"), alert("critical", key="b")])
    assert [(x.sink, x.status) for x in out] == [
        ("webhook", "sent"),
        ("slack", "skipped"),
        ("webhook", "sent"),
        ("slack", "sent"),
    ]
    assert len(hook.requests) == 2 and len(slack.requests) == 1


def test_the_slack_body_has_text_and_blocks_and_cannot_ping_the_channel(tmp_path: Path) -> None:
    with AlertReceiver() as rx:
        d, _ = dispatcher(tmp_path, [{"type": "slack", "url_env": "SLACK"}], {"SLACK": rx.url})
        d.raise_alerts([alert(message="answer said <!channel> & <@U123> look")])
    (got,) = rx.requests
    body = json.loads(got.body)
    jsonschema.validate(body, SLACK_SCHEMA)
    assert SIGNATURE_HEADER not in got.headers
    section = body["blocks"][1]["text"]["text"]
    assert "<!channel>" not in section and "&lt;!channel&gt; &amp; &lt;@U123&gt;" in section
    assert "<https://github.com/o/r/actions/runs/1|run>" in body["blocks"][2]["text"]["text"]


def test_a_missing_signing_key_fails_instead_of_sending_unsigned(tmp_path: Path) -> None:
    with AlertReceiver() as rx:
        d, _ = dispatcher(
            tmp_path, [{"type": "webhook", "url_env": "HOOK", "secret_env": "KEY"}], {"HOOK": rx.url}
        )
        (delivery,) = d.raise_alerts([alert()])
    assert delivery.status == "failed" and "$KEY" in delivery.detail and not rx.requests


def test_an_unset_url_variable_skips_the_sink(tmp_path: Path) -> None:
    d, _ = dispatcher(tmp_path, [{"type": "webhook", "url_env": "HOOK"}], {})
    (delivery,) = d.raise_alerts([alert()])
    assert delivery.status == "skipped" and "$HOOK is not set" in delivery.detail


def test_alert_types_and_severities_are_checked() -> None:
    with pytest.raises(ValueError, match="alert type"):
        Alert("outage", "info", "t", "m", "k")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="severity"):
        Alert("anomaly", "fatal", "t", "m", "k")  # type: ignore[arg-type]
