"""Alerts as data (issue 15): what happened, how bad, where to look, and the key that dedupes it.

Four types: regression (a regression gate failed against the baseline), threshold (an absolute gate
failed), anomaly (a value outside the band of recent baselines), experiment (a winner, a sample-ratio
mismatch, a guardrail breach). Three severities: info, warning, critical. The sinks
(llmops_action/alerts/) deliver them; the state store keeps one alert per dedupe key open at a time.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from llmops_action.core.alert_config import SEVERITY_RANK, Severity

AlertType = Literal["regression", "threshold", "anomaly", "experiment"]
ALERT_TYPES = ("regression", "threshold", "anomaly", "experiment")
PAYLOAD_VERSION = 1


@dataclass(frozen=True)
class Alert:
    type: AlertType
    severity: Severity
    title: str
    message: str
    dedupe_key: str
    links: dict[str, str] = field(default_factory=dict)  # run, pr, mlflow, ...
    source: str = ""  # schedule, experiment, test
    state: str = "open"  # open | acknowledged | resolved
    issue_marker: str | None = None  # the GitHub issue sink's hidden marker; default from the key
    issue_body: str | None = None  # the GitHub issue sink's Markdown body; default: the message

    def __post_init__(self) -> None:
        if self.type not in ALERT_TYPES:
            raise ValueError(f"unknown alert type {self.type!r}")
        if self.severity not in SEVERITY_RANK:
            raise ValueError(f"unknown severity {self.severity!r}")

    def at_least(self, severity: str) -> bool:
        return SEVERITY_RANK[self.severity] >= SEVERITY_RANK[severity]

    def marker(self) -> str:
        if self.issue_marker:
            return self.issue_marker
        safe = re.sub(r"[^A-Za-z0-9_.:-]", "_", self.dedupe_key)[:200]
        return f"<!-- llmops-action:alert key={safe} -->"

    def payload(self, *, repository: str | None = None, at: str | None = None) -> dict[str, Any]:
        """The generic webhook's JSON body."""
        data = asdict(self)
        for private in ("issue_marker", "issue_body"):
            data.pop(private)
        return {
            "version": PAYLOAD_VERSION,
            "event": "alert",
            "repository": repository,
            "sent_at": at,
            "alert": data,
        }


# --- anomalies -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Band:
    mean: float
    sd: float
    low: float
    high: float
    n: int

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def baseline_band(history: list[float], *, window: int, k: float, min_history: int) -> Band | None:
    """mean +- k sd of the last `window` finite values; None with fewer than `min_history` of them."""
    values = [v for v in history if v is not None and math.isfinite(v)][-window:]
    if len(values) < min_history:
        return None
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    return Band(mean, sd, mean - k * sd, mean + k * sd, len(values))


def anomaly_alert(
    suite: str, metric: str, value: float, band: Band, *, severity: Severity, links: dict[str, str]
) -> Alert | None:
    if band.contains(value):
        return None
    side = "below" if value < band.low else "above"
    return Alert(
        type="anomaly",
        severity=severity,
        title=f"llmops: {metric} {value:.4f} is {side} the band of the last {band.n} baselines ({suite})",
        message=(
            f"{metric} = {value:.4f}, outside [{band.low:.4f}, {band.high:.4f}] (mean {band.mean:.4f} "
            f"+- {(band.high - band.mean):.4f}) of the last {band.n} baselines."
        ),
        dedupe_key=f"{suite}:anomaly:{metric}",
        links=links,
        source="schedule",
    )


# --- Slack ---------------------------------------------------------------------------------------

_SLACK_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_EMOJI = {"info": ":information_source:", "warning": ":warning:", "critical": ":rotating_light:"}


def slack_text(text: str, limit: int = 2900) -> str:
    """Slack's mrkdwn escaping: with <, > and & escaped no <!channel> or <@user> can be formed."""
    out = re.sub(r"[&<>]", lambda m: _SLACK_ESCAPES[m.group(0)], text)
    return out if len(out) <= limit else out[: limit - 1] + "…"


def slack_body(alert: Alert) -> dict[str, Any]:
    """An incoming-webhook body: `text` (the notification fallback) plus Block Kit blocks."""
    head = f"[{alert.severity}] {alert.title}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": head[:150], "emoji": True}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"{_EMOJI[alert.severity]} {slack_text(alert.message)}"},
        },
    ]
    links = [f"<{url}|{slack_text(name, 60)}>" for name, url in alert.links.items() if _safe_url(url)]
    context = [f"type: {alert.type}", f"state: {alert.state}", f"key: {slack_text(alert.dedupe_key, 200)}"]
    if links:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": " · ".join(links)}})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " | ".join(context)}]})
    return {"text": slack_text(head, 3000), "blocks": blocks}


def _safe_url(url: str) -> bool:
    return url.startswith(("https://", "http://")) and not any(c in url for c in "<>| \n")
