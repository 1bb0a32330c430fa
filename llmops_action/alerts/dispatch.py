"""Raise and resolve alerts through every configured sink, once per dedupe key while it stays open.

- The GitHub issue sink is updated on every raise (the open issue shows the latest run) and closed on
  resolve; the issue itself is the visible state.
- Webhook and Slack sinks are notified when an alert opens (none before, or the last one resolved)
  and when it resolves; repeats while open or acknowledged notify nobody.
- A sink gets only alerts at or above its min_severity.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmops_action.alerts.sinks import Delivery, GitHubIssueSink, send_webhook
from llmops_action.alerts.state import AlertStore
from llmops_action.core.alerts import Alert

if TYPE_CHECKING:
    from llmops_action.core.alert_config import AlertsConfig


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Dispatcher:
    def __init__(
        self,
        cfg: AlertsConfig,
        root: Path,
        environ: Mapping[str, str],
        *,
        github: Any = None,  # a GitHubClient, or None when no token is available
        repository: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.cfg, self.environ, self.repository, self.sleep = cfg, environ, repository, sleep
        self.store = AlertStore(root / cfg.state_file)
        self.github = GitHubIssueSink(github) if github is not None else None

    def raise_alerts(self, alerts: Iterable[Alert], *, force: bool = False) -> list[Delivery]:
        """`force` (the test alert): every sink, whatever the severity, and no state kept."""
        out: list[Delivery] = []
        sinks = sorted(self.cfg.sinks, key=lambda s: s.type != "github-issue")  # the issue first: see below
        for alert in alerts:
            fresh = True if force else self.store.open(alert)
            for sink in sinks:
                if not force and not alert.at_least(sink.min_severity):
                    out.append(
                        Delivery(sink.label, "skipped", 0, f"{alert.severity} is below {sink.min_severity}")
                    )
                elif sink.type == "github-issue":
                    d = self._github(sink, alert)
                    # An issue that was already open means the alert was: the state file may be new (each
                    # Actions run starts from a fresh checkout), the open issue is the state that persists.
                    fresh = fresh and not d.detail.startswith("issue updated")
                    out.append(d)
                elif not fresh:
                    out.append(Delivery(sink.label, "skipped", 0, f"already open: {alert.dedupe_key}"))
                else:
                    out.append(self._webhook(sink, alert))
        return out

    def _webhook(self, sink: Any, alert: Alert) -> Delivery:
        return send_webhook(
            sink, alert, self.environ, self.cfg.retries, self.sleep, repository=self.repository, at=_now()
        )

    def _github(self, sink: Any, alert: Alert) -> Delivery:
        if self.github is None:
            return Delivery(sink.label, "skipped", 0, "no github-token")
        return self.github.raise_(sink, alert)

    def resolve(self, key: str, *, marker: str, comment: str) -> list[Delivery]:
        """The condition cleared: close the issue, and tell the webhooks if the alert was active."""
        rec = self.store.load().get(key)
        was_active = self.store.resolve(key)
        out: list[Delivery] = []
        for sink in self.cfg.sinks:
            if sink.type == "github-issue":
                if self.github is not None:
                    out.append(self.github.resolve(sink, marker, comment))
            elif was_active and rec is not None and _rank(rec.get("severity")) >= _rank(sink.min_severity):
                alert = Alert(
                    type=rec.get("type", "threshold"),
                    severity=rec.get("severity", "info"),
                    title=f"resolved: {rec.get('title', key)}",
                    message=comment,
                    dedupe_key=key,
                    state="resolved",
                    source="resolve",
                )
                out.append(self._webhook(sink, alert))
        return out


def _rank(severity: object) -> int:
    from llmops_action.core.alert_config import SEVERITY_RANK

    return SEVERITY_RANK.get(str(severity), 0)


def make_test_alert(repository: str | None) -> Alert:
    return Alert(
        type="threshold",
        severity="info",
        title="llmops-action test alert",
        message="A test alert from `llmops-action alerts test`: this sink is wired up. Nothing is wrong.",
        dedupe_key="llmops:test",
        links={"repository": f"https://github.com/{repository}"} if repository else {},
        source="test",
    )


def github_from_env(environ: Mapping[str, str]) -> Any:
    """A client for the alert issue from GITHUB_TOKEN and GITHUB_REPOSITORY (as in Actions), else None."""
    token, repo = environ.get("GITHUB_TOKEN"), environ.get("GITHUB_REPOSITORY")
    if not token or not repo:
        return None
    from llmops_action.adapters.github import GitHubClient

    throttle = environ.get("LLMOPS_GITHUB_THROTTLE", "true").lower() != "false"  # as the Action reads it
    return GitHubClient(
        token,
        repo,
        api_url=environ.get("GITHUB_API_URL") or "https://api.github.com",
        seconds_between_requests=0.25 if throttle else None,
        seconds_between_writes=1.0 if throttle else None,
    )
