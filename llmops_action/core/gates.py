"""Gates: absolute (quality), regression versus the baseline, and drift; and the verdict they add up to.

Each gate has a stable name (`quality/score>=0.75`, `regression/score`, `drift/latency_ms`) so commit
statuses and history can follow it across runs. A gate that cannot be evaluated never passes silently:
a skipped or missing metric fails an absolute gate, saying why; regression gates without a comparable
baseline are "skipped" with the reason the report shows ("no baseline", "not comparable: ...").
"""

from __future__ import annotations

import math
from typing import Literal

from llmops_action.core.comparison import DriftSignal, MetricDelta, UsageSummary
from llmops_action.core.config import AbsoluteGate, DriftConfig, GatesConfig, RegressionGates
from llmops_action.core.results import GateResult, MetricAggregate


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.4g}"


def _present(v: float | None) -> bool:
    return v is not None and not math.isnan(v)


# --- quality -------------------------------------------------------------------------------------


def absolute_gates(
    cfg: GatesConfig, aggregates: dict[str, float | None], metrics: dict[str, MetricAggregate]
) -> list[GateResult]:
    """One gate per bound (min and/or max) of every configured absolute gate, family "quality"."""
    out: list[GateResult] = []
    for gate in cfg.absolute:
        bounds: list[tuple[str, float]] = []
        if gate.min is not None:
            bounds.append((">=", gate.min))
        if gate.max is not None:
            bounds.append(("<=", gate.max))
        for op, threshold in bounds:
            out.append(_absolute(gate, op, threshold, aggregates, metrics, both=len(bounds) == 2))
    return out


def _absolute(
    gate: AbsoluteGate,
    op: str,
    threshold: float,
    aggregates: dict[str, float | None],
    metrics: dict[str, MetricAggregate],
    *,
    both: bool,
) -> GateResult:
    if gate.name:
        name = f"quality/{gate.name}" + (f"{op}{threshold:g}" if both else "")
    else:
        name = f"quality/{gate.metric}{op}{threshold:g}"
    common = {
        "name": name,
        "family": "quality",
        "metric": gate.metric,
        "blocking": gate.blocking,
        "op": op,
        "threshold": threshold,
    }
    why_missing = _why_missing(gate.metric, aggregates, metrics)
    if why_missing is not None:
        return GateResult(status="fail", reason=why_missing, **common)
    value = aggregates.get(gate.metric)
    if not _present(value):
        value = metrics[gate.metric].mean
    assert value is not None
    ok = value >= threshold if op == ">=" else value <= threshold
    reason = f"{gate.metric} = {_fmt(value)} {'meets' if ok else 'violates'} {op} {threshold:g}"
    agg = metrics.get(gate.metric)
    if ok and agg is not None and agg.excluded:
        # A partial aggregate (a weighted metric was skipped) must not pass quietly; a violation still fails.
        left_out = ", ".join(f"'{k}' ({why})" for k, why in agg.excluded.items())
        return GateResult(
            status="warn", value=value, reason=f"{reason}, but it leaves out {left_out}", **common
        )
    return GateResult(status="pass" if ok else "fail", value=value, reason=reason, **common)


def _why_missing(
    metric: str, aggregates: dict[str, float | None], metrics: dict[str, MetricAggregate]
) -> str | None:
    """None when the gate's value exists; otherwise the reason the gate fails."""
    agg = metrics.get(metric)
    if agg is not None and agg.skipped:
        return f"metric '{metric}' was skipped: {agg.skipped}"
    if metric not in aggregates and agg is None:
        known = sorted(set(aggregates) | set(metrics))
        return f"unknown metric '{metric}'; known: {', '.join(known) or '(none)'}"
    if _present(aggregates.get(metric)) or (agg is not None and _present(agg.mean)):
        return None
    if metric == "score":
        skipped = [f"'{k}' ({a.skipped})" for k, a in metrics.items() if a.weight > 0 and a.skipped]
        if skipped:
            return f"metric 'score' was skipped: weighted metric {', '.join(skipped)} was skipped"
        return "metric 'score' has no value: a weighted metric has no score on some case"
    if agg is not None and agg.n == 0 and agg.errors:
        return f"metric '{metric}' has no value: it failed on all {agg.errors} cases"
    return f"metric '{metric}' has no value"


# --- regression ----------------------------------------------------------------------------------


def regression_gates(
    cfg: RegressionGates,
    deltas: list[MetricDelta],
    *,
    base_usage: UsageSummary | None,
    head_usage: UsageSummary,
) -> list[GateResult]:
    """One gate per gated metric (by its MetricDelta decision), plus p95 latency and cost rules in percent.

    Only a missing baseline skips them. Both sides are scored under one measurement and paired by case
    inputs, so what a PR changes (prompts, model, parameters, cases) is what the gate measures: it never
    turns the gate off."""
    names = [f"regression/{m}" for m in cfg.metrics]
    if cfg.latency_p95_pct is not None:
        names.append("regression/latency_p95")
    if cfg.cost_pct is not None:
        names.append("regression/cost")
    if base_usage is None:
        return [
            GateResult(
                name=n,
                family="regression",
                metric=n.split("/", 1)[1],
                status="skipped",
                blocking=cfg.blocking,
                reason="no baseline",
            )
            for n in names
        ]
    assert base_usage is not None
    by_name = {d.name: d for d in deltas}
    out = [_metric_regression(cfg, m, by_name) for m in cfg.metrics]
    if cfg.latency_p95_pct is not None:
        out.append(
            _pct_gate(
                cfg,
                "regression/latency_p95",
                "latency_p95_ms",
                base_usage.latency_p95_ms,
                head_usage.latency_p95_ms,
                cfg.latency_p95_pct,
                min_delta=cfg.latency_p95_min_ms or None,
            )
        )
    if cfg.cost_pct is not None:
        out.append(
            _pct_gate(
                cfg, "regression/cost", "cost_usd", base_usage.cost_usd, head_usage.cost_usd, cfg.cost_pct
            )
        )
    return out


def _metric_regression(cfg: RegressionGates, metric: str, by_name: dict[str, MetricDelta]) -> GateResult:
    common = {
        "name": f"regression/{metric}",
        "family": "regression",
        "metric": metric,
        "blocking": cfg.blocking,
        "op": "delta",
        "threshold": -cfg.delta,
        "alpha": cfg.alpha,
    }
    d = by_name.get(metric)
    if d is None:
        known = ", ".join(sorted(by_name)) or "(none)"
        return GateResult(status="fail", reason=f"unknown metric '{metric}'; known: {known}", **common)
    values = {
        "value": d.head_mean,
        "base": d.base_mean,
        "delta": d.delta,
        "ci": (d.ci_low, d.ci_high) if d.ci_low is not None and d.ci_high is not None else None,
        "p_value": d.p_adjusted if d.p_adjusted is not None else d.p_value,
    }
    if d.note.startswith("skipped"):
        return GateResult(status="fail", reason=f"metric '{metric}' was {d.note}", **common, **values)
    if d.n_paired < 2 or d.delta is None:
        return GateResult(
            status="warn",
            reason=f"insufficient data: {d.n_paired} paired cases with a value"
            + (f" ({d.note})" if d.note else ""),
            **common,
            **values,
        )
    p = values["p_value"]
    level = f"{d.confidence:.0%} " if d.confidence is not None else ""
    ci = f" ({level}CI {_fmt(d.ci_low)}..{_fmt(d.ci_high)})" if values["ci"] else ""
    test = {"t": "paired t-test", "sign-flip": "sign-flip test"}.get(d.ci_method or "", "")
    detail = f"Δ {d.delta:+.4g}{ci}, p={_fmt(p)}{f' ({test})' if test else ''} vs alpha {cfg.alpha:g}, "
    detail += f"practical threshold -{cfg.delta:g}, n={d.n_paired}, MDE {'n/a' if d.mde is None else f'{d.mde:.3g}'}"
    status: Literal["pass", "warn", "fail"] = {"block": "fail", "warn": "warn", "pass": "pass"}[d.decision]
    if not d.detectable:
        what = "a drop beyond the practical threshold" if status == "fail" else "no drop beyond the threshold"
        return GateResult(
            status=status,
            reason=f"cannot detect a drop at n = {d.n_paired}; decided on the practical threshold alone: "
            f"{what}: {detail}",
            **common,
            **values,
        )
    verdict_text = {
        "fail": "significant drop beyond the threshold",
        "warn": "one of significance and size holds",
        "pass": "no meaningful drop",
    }
    return GateResult(status=status, reason=f"{verdict_text[status]}: {detail}", **common, **values)


def _pct_gate(
    cfg: RegressionGates,
    name: str,
    metric: str,
    base: float | None,
    head: float | None,
    pct: float,
    *,
    min_delta: float | None = None,
) -> GateResult:
    """Fails when `metric` grows by more than `pct` percent and, when given, by at least `min_delta`."""
    common = {
        "name": name,
        "family": "regression",
        "metric": metric,
        "blocking": cfg.blocking,
        "op": "pct",
        "threshold": pct,
        "min_delta": min_delta,
    }
    if base is None or head is None:
        missing = "base" if base is None else "head"
        return GateResult(
            status="skipped", base=base, value=head, reason=f"no {metric} on the {missing} run", **common
        )
    if base <= 0:
        return GateResult(
            status="skipped",
            base=base,
            value=head,
            reason=f"base {metric} is {base:g}; a percentage is undefined",
            **common,
        )
    growth = (head - base) / base * 100.0
    ok = growth <= pct or (min_delta is not None and head - base < min_delta)
    floor = f" and +{min_delta:g}" if min_delta is not None else ""
    reason = (
        f"{metric} {_fmt(base)} -> {_fmt(head)} ({growth:+.1f}%, {head - base:+.4g}; limit +{pct:g}%{floor})"
    )
    return GateResult(
        status="pass" if ok else "fail", base=base, value=head, delta=head - base, reason=reason, **common
    )


# --- drift ---------------------------------------------------------------------------------------


def drift_gates(cfg: DriftConfig, signals: list[DriftSignal]) -> list[GateResult]:
    """Critical drift fails when the signal is opted in to blocking (cfg.block), else warns; warning warns."""
    out = []
    for s in signals:
        blocking = s.blocking or s.signal in cfg.block
        if s.status == "skipped":
            status, reason = "skipped", s.note or "skipped"
        elif s.status == "critical":
            status = "fail" if blocking else "warn"
            reason = f"critical drift: adjusted PSI {_fmt(s.psi_adjusted)} >= {cfg.critical:g}, p={_fmt(s.p_value)}"
        elif s.status == "warning":
            status = "warn"
            reason = (
                f"drift warning: adjusted PSI {_fmt(s.psi_adjusted)} >= {cfg.warning:g}, p={_fmt(s.p_value)}"
            )
        else:
            status = "pass"
            reason = f"adjusted PSI {_fmt(s.psi_adjusted)}, p={_fmt(s.p_value)}"
        if s.top_bin and status in ("warn", "fail"):
            reason += f"; moved most: {s.top_bin}"
        out.append(
            GateResult(
                name=f"drift/{s.signal}",
                family="drift",
                metric=s.signal,
                status=status,
                blocking=blocking,
                op="psi",
                threshold=cfg.critical if blocking else cfg.warning,
                alpha=cfg.alpha,
                value=s.psi_adjusted,
                p_value=s.p_value,
                reason=reason,
            )
        )
    return out


# --- verdict -------------------------------------------------------------------------------------


def verdict(gates: list[GateResult]) -> Literal["pass", "warn", "fail"]:
    if any(g.status == "fail" and g.blocking for g in gates):
        return "fail"
    if any(g.status == "warn" or g.status == "fail" for g in gates):
        return "warn"
    return "pass"
