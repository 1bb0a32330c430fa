"""What a scheduled run raises: the failing-gates alert (the alert issue) and score anomalies."""

from __future__ import annotations

from llmops_action.alerts.schedule import issue_marker, schedule_alerts
from llmops_action.core.alert_config import AlertsConfig
from llmops_action.core.alerts import baseline_band
from llmops_action.core.comparison import Comparison, MetricDelta, RunRef, TrendPoint
from llmops_action.core.results import GateResult

CFG = AlertsConfig()


def comparison(score: float, history: list[float], gates: list[GateResult] | None = None) -> Comparison:
    return Comparison(
        suite="qs",
        head=RunRef(sha="a" * 40),
        gates=gates or [],
        metrics=[MetricDelta(name="score", head_mean=score)],
        trend=[TrendPoint(label=f"main@{i}", sha=f"{i:040d}", score=s) for i, s in enumerate(history)],
        links={"mlflow_run": "http://127.0.0.1:5000/#/experiments/1/runs/abc"},
    )


def test_a_failing_regression_gate_raises_the_alert_issue_of_the_suite() -> None:
    gate = GateResult(
        name="regression:score",
        family="regression",
        metric="score",
        status="fail",
        value=0.61,
        threshold=0.05,
    )
    c = comparison(0.61, [], [gate])
    (a,) = schedule_alerts(
        c,
        CFG,
        branch="main",
        failing=["regression"],
        run_url="https://github.com/o/r/actions/runs/9",
        report="REPORT",
    )
    assert (a.type, a.severity, a.dedupe_key) == ("regression", "critical", "qs:schedule")
    assert a.marker() == issue_marker("qs") == "<!-- llmops-action:alert suite=qs -->"
    assert a.title == "llmops: regression gate failed on main (qs)"
    assert a.issue_body is not None
    assert "| regression:score | regression | fail | 0.6100 | 0.0500 |" in a.issue_body
    assert a.issue_body.rstrip().endswith("REPORT") and "actions/runs/9" in a.issue_body
    assert a.links == {
        "run": "https://github.com/o/r/actions/runs/9",
        "mlflow": "http://127.0.0.1:5000/#/experiments/1/runs/abc",
    }


def test_a_score_outside_the_band_of_recent_baselines_is_an_anomaly() -> None:
    history = [0.80, 0.82, 0.81, 0.79, 0.80, 0.81]
    (a,) = schedule_alerts(comparison(0.70, history), CFG, branch="main", failing=[], run_url=None, report="")
    assert (a.type, a.severity, a.dedupe_key) == ("anomaly", "warning", "qs:anomaly:score")
    assert "below the band of the last 6 baselines" in a.title
    assert (
        schedule_alerts(comparison(0.805, history), CFG, branch="main", failing=[], run_url=None, report="")
        == []
    )


def test_too_little_history_is_no_anomaly() -> None:
    assert (
        schedule_alerts(
            comparison(0.1, [0.8, 0.8, 0.8]), CFG, branch="main", failing=[], run_url=None, report=""
        )
        == []
    )
    assert baseline_band([0.8, 0.9], window=10, k=3, min_history=3) is None


def test_the_band_uses_only_the_last_window_baselines() -> None:
    band = baseline_band([100.0] * 5 + [1.0, 1.1, 0.9], window=3, k=2, min_history=3)
    assert band is not None and band.n == 3 and abs(band.mean - 1.0) < 1e-12
    assert band.contains(1.1) and not band.contains(1.5)
