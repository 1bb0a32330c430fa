"""Alerts from a scheduled evaluation: failing gates (regression, threshold) and score anomalies.

The Action's schedule flow calls `notify_schedule` once; the GitHub alert issue it opened before this
module existed is still the default sink, with the same marker, title and body.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmops_action.alerts.dispatch import Dispatcher
from llmops_action.alerts.sinks import Delivery
from llmops_action.core.alerts import Alert, anomaly_alert, baseline_band

if TYPE_CHECKING:
    from llmops_action.core.alert_config import AlertsConfig
    from llmops_action.core.comparison import Comparison

_FAMILY_TYPE = {"regression": "regression", "quality": "threshold", "drift": "anomaly"}


def schedule_key(suite: str) -> str:
    return f"{suite}:schedule"


def issue_marker(suite: str) -> str:
    from llmops_action.core.report.render import comment_marker

    return comment_marker(suite).replace("llmops-action:comment", "llmops-action:alert")


def render_issue(c: Comparison, *, branch: str, failing: list[str], run_url: str | None, report: str) -> str:
    from llmops_action.alerts.render import render

    gates = [g for g in c.gates if g.status in ("fail", "warn")]
    sha = (c.head.sha or "")[:12]
    return render(
        "alert_issue.md.j2",
        branch=branch,
        sha=sha,
        failing=failing,
        run_url=run_url,
        gates=gates,
        report=report,
    )


def schedule_alerts(
    c: Comparison, cfg: AlertsConfig, *, branch: str, failing: list[str], run_url: str | None, report: str
) -> list[Alert]:
    """The alerts one scheduled run raises (pure): one for failing gates, one per anomaly."""
    links = {"run": run_url} if run_url else {}
    if c.links.get("mlflow_run"):
        links["mlflow"] = c.links["mlflow_run"]
    out: list[Alert] = []
    if failing:
        kind = next(
            (_FAMILY_TYPE[f] for f in ("regression", "quality", "drift") if f in failing), "threshold"
        )
        blocking = any(g.blocking and g.status == "fail" and g.family in failing for g in c.gates)
        out.append(
            Alert(
                type=kind,  # type: ignore[arg-type]
                severity="critical" if blocking else "warning",
                title=f"llmops: {', '.join(failing)} gate failed on {branch} ({c.suite})",
                message=f"The scheduled evaluation of {branch} at {(c.head.sha or '')[:12]} failed the "
                f"{', '.join(failing)} gate(s).",
                dedupe_key=schedule_key(c.suite),
                links=links,
                source="schedule",
                issue_marker=issue_marker(c.suite),
                issue_body=render_issue(c, branch=branch, failing=failing, run_url=run_url, report=report),
            )
        )
    a = cfg.anomaly
    score = next((m.head_mean for m in c.metrics if m.name == "score"), None)
    history = [p.score for p in c.trend if p.score is not None and p.sha != c.head.sha]
    band = baseline_band(history, window=a.window, k=a.k, min_history=a.min_history) if a.enabled else None
    if (
        band is not None
        and score is not None
        and (alert := anomaly_alert(c.suite, "score", score, band, severity=a.severity, links=links))
    ):
        out.append(alert)
    return out


def notify_schedule(
    ctx: Any, client: Any, c: Comparison, failing: list[str], branch: str, comment: Path
) -> list[Delivery]:
    """Raise what this run found and resolve what it no longer finds; one log line per delivery."""
    from llmops_action.core.config import load_config

    cfg = load_config(ctx.config_path).alerts
    dispatcher = Dispatcher(cfg, ctx.config_path.parent, ctx.env, github=client, repository=ctx.repo)
    report = comment.read_text(encoding="utf-8") if comment.is_file() else ""
    alerts = schedule_alerts(c, cfg, branch=branch, failing=failing, run_url=ctx.run_url, report=report)
    deliveries = dispatcher.raise_alerts(alerts)
    keys = {a.dedupe_key for a in alerts}
    sha = (c.head.sha or "")[:12]
    if schedule_key(c.suite) not in keys:
        deliveries += dispatcher.resolve(
            schedule_key(c.suite),
            marker=issue_marker(c.suite),
            comment=f"The scheduled evaluation at `{sha}` passes again: {ctx.run_url or ''}",
        )
    anomaly_key = f"{c.suite}:anomaly:score"
    if anomaly_key not in keys and dispatcher.store.is_active(anomaly_key):
        deliveries += dispatcher.resolve(
            anomaly_key,
            marker=Alert("anomaly", "info", "", "", anomaly_key).marker(),
            comment=f"The score at `{sha}` is back in its band.",
        )
    for d in deliveries:
        if d.status == "failed":
            ctx.console.warning(f"alert sink {d.sink}: {d.detail}", title="llmops-action: alerts")
        elif d.status == "sent" and d.detail.startswith("issue "):
            ctx.console.warning(f"Alert {d.detail}", title="llmops-action")
        elif d.status == "sent":
            sys.stderr.write(f"llmops-action: alert sent to {d.sink}\n")
    return deliveries
