"""Gates: quality (absolute), regression versus the baseline, drift, and the verdict."""

from __future__ import annotations

from llmops_action.core.comparison import DriftSignal, MetricDelta, UsageSummary
from llmops_action.core.config import AbsoluteGate, DriftConfig, GatesConfig, RegressionGates
from llmops_action.core.gates import absolute_gates, drift_gates, regression_gates, verdict
from llmops_action.core.results import GateResult, MetricAggregate

AGGS: dict[str, float | None] = {
    "score": 0.81,
    "faithfulness": 0.78,
    "latency_p95_ms": 1800.0,
    "error_rate": 0.0,
}
METRICS = {
    "faithfulness": MetricAggregate(mean=0.78, n=40, weight=0.6),
    "keyword_recall": MetricAggregate(mean=0.9, n=40, weight=0.4),
}


def test_absolute_min_and_max_have_stable_names_and_pass_or_fail() -> None:
    cfg = GatesConfig(
        absolute=[
            AbsoluteGate(metric="score", min=0.75),
            AbsoluteGate(metric="latency_p95_ms", max=1500, blocking=False),
            AbsoluteGate(metric="faithfulness", min=0.7, max=0.95, name="faith"),
        ]
    )
    gates = absolute_gates(cfg, AGGS, METRICS)
    assert [g.name for g in gates] == [
        "quality/score>=0.75",
        "quality/latency_p95_ms<=1500",
        "quality/faith>=0.7",
        "quality/faith<=0.95",
    ]
    assert [g.status for g in gates] == ["pass", "fail", "pass", "pass"]
    assert all(g.family == "quality" for g in gates)
    assert gates[1].value == 1800.0 and not gates[1].blocking
    assert "violates" in gates[1].reason


def test_a_gate_on_a_skipped_metric_fails_and_says_why() -> None:
    metrics = {**METRICS, "faithfulness": MetricAggregate(skipped="no judge credentials", weight=0.6)}
    aggs = {**AGGS, "faithfulness": None, "score": None}
    cfg = GatesConfig(
        absolute=[AbsoluteGate(metric="faithfulness", min=0.7), AbsoluteGate(metric="score", min=0.5)]
    )
    faith, score = absolute_gates(cfg, aggs, metrics)
    assert faith.status == "fail"
    assert faith.reason == "metric 'faithfulness' was skipped: no judge credentials"
    assert score.status == "fail"
    assert "no judge credentials" in score.reason and "'faithfulness'" in score.reason


def test_a_partial_aggregate_that_meets_its_bound_warns_instead_of_passing() -> None:
    metrics = {
        **METRICS,
        "score": MetricAggregate(mean=0.9, n=40, excluded={"faithfulness": "skipped: no judge credentials"}),
    }
    (gate,) = absolute_gates(
        GatesConfig(absolute=[AbsoluteGate(metric="score", min=0.75)]), {**AGGS, "score": 0.9}, metrics
    )
    assert gate.status == "warn" and "leaves out 'faithfulness'" in gate.reason


def test_unknown_metric_fails_listing_known_names() -> None:
    (gate,) = absolute_gates(
        GatesConfig(absolute=[AbsoluteGate(metric="faithfulnes", min=0.7)]), AGGS, METRICS
    )
    assert gate.status == "fail"
    assert gate.reason.startswith("unknown metric 'faithfulnes'; known: error_rate, faithfulness")


def test_metric_with_only_errors_fails() -> None:
    metrics = {"faithfulness": MetricAggregate(n=0, errors=40)}
    (gate,) = absolute_gates(
        GatesConfig(absolute=[AbsoluteGate(metric="faithfulness", min=0.7)]), {"faithfulness": None}, metrics
    )
    assert gate.status == "fail" and "failed on all 40 cases" in gate.reason


def _delta(name: str = "score", decision: str = "pass", **kw: object) -> MetricDelta:
    values: dict[str, object] = {
        "base_mean": 0.8,
        "head_mean": 0.72,
        "delta": -0.08,
        "ci_low": -0.11,
        "ci_high": -0.05,
        "p_value": 0.001,
        "p_adjusted": 0.002,
        "n_paired": 60,
        "mde": 0.03,
        "gated": True,
    }
    values.update(kw)
    return MetricDelta(name=name, decision=decision, **values)  # type: ignore[arg-type]


USAGE_BASE = UsageSummary(cases=60, latency_p95_ms=1000.0, cost_usd=0.10)


def test_regression_gate_follows_the_metric_decision() -> None:
    cfg = RegressionGates(metrics=["score", "faithfulness", "keyword_recall"])
    deltas = [
        _delta("score", "block"),
        _delta("faithfulness", "warn", delta=-0.02),
        _delta("keyword_recall", "pass", delta=0.01, p_value=0.9, p_adjusted=0.9),
    ]
    gates = regression_gates(cfg, deltas, base_usage=USAGE_BASE, head_usage=USAGE_BASE)
    assert [(g.name, g.status) for g in gates] == [
        ("regression/score", "fail"),
        ("regression/faithfulness", "warn"),
        ("regression/keyword_recall", "pass"),
    ]
    score = gates[0]
    assert score.ci == (-0.11, -0.05) and score.p_value == 0.002 and score.threshold == -0.05
    assert "MDE" in score.reason


def test_latency_and_cost_rules_in_percent() -> None:
    cfg = RegressionGates(metrics=[], latency_p95_pct=20, cost_pct=10)
    head = UsageSummary(cases=60, latency_p95_ms=1300.0, cost_usd=0.105)
    lat, cost = regression_gates(cfg, [], base_usage=USAGE_BASE, head_usage=head)
    assert (lat.name, lat.status) == ("regression/latency_p95", "fail")
    assert "+30.0%" in lat.reason
    assert (cost.name, cost.status) == ("regression/cost", "pass")
    no_cost = regression_gates(cfg, [], base_usage=USAGE_BASE, head_usage=UsageSummary(latency_p95_ms=900.0))[
        1
    ]
    assert no_cost.status == "skipped" and "no cost_usd on the head run" in no_cost.reason


def test_a_latency_floor_keeps_jitter_on_a_fast_app_from_blocking() -> None:
    cfg = RegressionGates(metrics=[], latency_p95_pct=25, latency_p95_min_ms=200)
    fast = UsageSummary(cases=60, latency_p95_ms=40.0)
    [jitter] = regression_gates(cfg, [], base_usage=fast, head_usage=UsageSummary(latency_p95_ms=55.0))
    assert jitter.status == "pass" and "+37.5%" in jitter.reason and "limit +25% and +200" in jitter.reason
    [slower] = regression_gates(
        cfg, [], base_usage=USAGE_BASE, head_usage=UsageSummary(latency_p95_ms=1300.0)
    )
    assert slower.status == "fail" and slower.min_delta == 200


def test_only_a_missing_baseline_skips_the_regression_gates() -> None:
    cfg = RegressionGates(latency_p95_pct=20)
    gates = regression_gates(cfg, [_delta("score", "block")], base_usage=USAGE_BASE, head_usage=USAGE_BASE)
    assert [g.status for g in gates] == ["fail", "pass"]
    none = regression_gates(cfg, [], base_usage=None, head_usage=USAGE_BASE)
    assert {g.reason for g in none} == {"no baseline"}


def test_regression_on_a_skipped_metric_fails_and_insufficient_data_warns() -> None:
    cfg = RegressionGates(metrics=["faithfulness", "score", "tone"])
    deltas = [
        MetricDelta(name="faithfulness", note="skipped: no judge credentials"),
        MetricDelta(name="score", delta=-0.3, n_paired=1, note="insufficient data"),
    ]
    faith, score, tone = regression_gates(cfg, deltas, base_usage=USAGE_BASE, head_usage=USAGE_BASE)
    assert (
        faith.status == "fail" and faith.reason == "metric 'faithfulness' was skipped: no judge credentials"
    )
    assert score.status == "warn" and "insufficient data" in score.reason
    assert tone.status == "fail" and "unknown metric 'tone'" in tone.reason


def _signal(name: str, status: str, blocking: bool = False) -> DriftSignal:
    return DriftSignal(
        signal=name,
        kind="numeric",
        status=status,
        blocking=blocking,
        psi=0.6,
        psi_adjusted=0.4,
        p_value=1e-4,
        top_bin="> 5",  # type: ignore[arg-type]
    )


def test_drift_warns_by_default_and_blocks_only_when_opted_in() -> None:
    cfg = DriftConfig(block=["error"])
    gates = drift_gates(
        cfg,
        [
            _signal("latency_ms", "critical"),
            _signal("error", "critical", True),
            _signal("score", "warning"),
            _signal("tokens", "ok"),
        ],
    )
    assert [(g.name, g.status, g.blocking) for g in gates] == [
        ("drift/latency_ms", "warn", False),
        ("drift/error", "fail", True),
        ("drift/score", "warn", False),
        ("drift/tokens", "pass", False),
    ]
    assert "moved most: > 5" in gates[1].reason


def _gate(status: str, blocking: bool = True) -> GateResult:
    return GateResult(
        name=f"quality/{status}", family="quality", metric="m", status=status, blocking=blocking
    )  # type: ignore[arg-type]


def test_verdict() -> None:
    assert verdict([]) == "pass"
    assert verdict([_gate("pass"), _gate("skipped")]) == "pass"
    assert verdict([_gate("pass"), _gate("warn")]) == "warn"
    assert verdict([_gate("fail", blocking=False)]) == "warn"
    assert verdict([_gate("warn"), _gate("fail")]) == "fail"


def test_a_gate_that_cannot_detect_a_drop_says_so_and_decides_on_the_threshold() -> None:
    cfg = RegressionGates(metrics=["score"])
    d = _delta("score", "block", n_paired=3, detectable=False, mde=None, delta=-0.4)
    (gate,) = regression_gates(cfg, [d], base_usage=USAGE_BASE, head_usage=USAGE_BASE)
    assert gate.status == "fail"
    assert gate.reason.startswith("cannot detect a drop at n = 3; decided on the practical threshold alone")
    assert "MDE n/a" in gate.reason
