"""An experiment's outcomes in, its result and decision out (pure; issue 15).

The unit of analysis is the unit of randomisation (the user or visitor), not the record: a unit's value
for a metric is the mean of its records (a rate takes its latest record, so a thumbs-down after a
thumbs-up counts as down), and a unit seen in both variants is left out and counted.

Decision, in this order:
1. the sample-ratio check fails: the result is invalid (assignment or logging is broken);
2. fewer than min_samples units in a variant: keep running, with the units still needed;
3. a guardrail regressed (its always-valid test crossed in the harmful direction by more than its
   tolerance): stop, no winner;
4. the primary metric's always-valid test crossed its boundary: the better variant wins;
5. otherwise keep running, with the sample the boundary would need if the observed effect held.
The fixed-n test (z-test or Welch) is shown only once every variant has its planned sample: before
that, a fixed-n p-value read while peeking is how false winners are made.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from llmops_action.core.experiment_config import VARIANTS, ExperimentConfig, ExperimentMetric
from llmops_action.core.experiment_stats import (
    TestResult,
    always_valid_p,
    msprt_log_lambda,
    msprt_units_to_cross,
    srm_test,
    t_interval,
    two_proportion_test,
    welch_test,
    wilson_interval,
)

RESULT_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class OutcomeTable:
    """Outcome records as columns. Variant codes: 0 control, 1 treatment; time in epoch seconds."""

    unit: np.ndarray  # int64 codes of unit ids
    variant: np.ndarray  # int8
    metric: np.ndarray  # int32 codes into `metrics`
    value: np.ndarray  # float64
    time: np.ndarray  # float64
    metrics: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.unit)


@dataclass(frozen=True)
class ArmStats:
    n: int
    mean: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class SequentialResult:
    p_value: float  # always valid
    log_lambda: float
    threshold: float  # log(1 / alpha)
    crossed: bool
    crossed_at_units: int | None  # units in the experiment when the boundary was first crossed
    effect_at_crossing: float | None


@dataclass(frozen=True)
class MetricResult:
    name: str
    type: str
    direction: str
    arms: dict[str, ArmStats]
    difference: float | None  # treatment - control, now
    sequential: SequentialResult | None
    fixed: TestResult | None  # only once the planned sample is reached
    planned_reached: bool
    needed_per_variant: int | None  # units per variant still needed; None when no estimate exists
    regressed: bool = False  # guardrails


@dataclass(frozen=True)
class SrmResult:
    observed: dict[str, int]
    expected_share: dict[str, float]
    statistic: float
    p_value: float
    passed: bool


@dataclass(frozen=True)
class ExperimentResult:
    name: str
    state: str
    winner: str | None  # the lifecycle's winner (completed experiments)
    variants: dict[str, str]  # control/treatment -> what it serves
    srm: SrmResult
    primary: MetricResult
    guardrails: list[MetricResult]
    decision: str  # winner | keep-running | invalid | stop
    recommended_winner: str | None
    reasons: list[str]
    mixed_units: int
    units: int
    schema_version: int = RESULT_SCHEMA_VERSION
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return _clean(asdict(self))


def _clean(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, np.generic):
        return _clean(x.item())
    return x


@dataclass(frozen=True)
class UnitSeries:
    variant: np.ndarray  # int8 per unit
    value: np.ndarray
    time: np.ndarray  # first record per unit
    mixed: int


def unit_series(table: OutcomeTable, metric: str | None, kind: str = "continuous") -> UnitSeries:
    """One row per unit (for one metric, or for any record when metric is None), sorted by unit."""
    if metric is None:
        sel = slice(None)
    else:
        code = table.metrics.index(metric) if metric in table.metrics else -1
        sel = table.metric == code
    u, v, x, t = table.unit[sel], table.variant[sel], table.value[sel], table.time[sel]
    if len(u) == 0:
        empty = np.zeros(0)
        return UnitSeries(empty.astype(np.int8), empty, empty, 0)
    # O(n) with bincount over the unit codes (to_table makes them dense); sparse codes are remapped first
    u = u.astype(np.int64, copy=False)
    if u.min() < 0 or u.max() >= 4 * len(u) + 1024:
        u = np.unique(u, return_inverse=True)[1].reshape(-1)
    size = int(u.max()) + 1
    count = np.bincount(u, minlength=size)
    present = count > 0
    treated = np.bincount(u, weights=v, minlength=size)
    mixed = present & (treated > 0) & (treated < count)
    first = np.full(size, np.inf)
    np.minimum.at(first, u, t)
    if kind == "rate":  # the latest record (ties averaged)
        last = np.full(size, -np.inf)
        np.maximum.at(last, u, t)
        latest = t == last[u]
        n_latest = np.bincount(u[latest], minlength=size)
        value = np.bincount(u[latest], weights=x[latest], minlength=size) / np.maximum(n_latest, 1)
    else:
        value = np.bincount(u, weights=x, minlength=size) / np.maximum(count, 1)
    keep = present & ~mixed
    variant = (treated[keep] > 0).astype(np.int8)
    return UnitSeries(variant, value[keep], first[keep], int(mixed.sum()))


def _arm(x: np.ndarray, kind: str) -> ArmStats:
    n = len(x)
    if n == 0:
        return ArmStats(0, None, None, None)
    mean = float(x.mean())
    ci = (
        wilson_interval(float(x.sum()), n)
        if kind == "rate"
        else t_interval(mean, float(x.var(ddof=1)) if n > 1 else 0.0, n)
    )
    low = None if math.isnan(ci.low) else ci.low
    high = None if math.isnan(ci.high) else ci.high
    return ArmStats(n, mean, low, high)


def _var(x: np.ndarray, kind: str) -> float:
    if len(x) < 2:
        return math.nan
    if kind == "rate":
        m = float(x.mean())
        return m * (1 - m)
    return float(x.var(ddof=1))


def _sequential(s: UnitSeries, m: ExperimentMetric, cfg: ExperimentConfig) -> SequentialResult | None:
    """The mSPRT over the units in order of arrival, evaluated after every unit once both arms have min_samples."""
    order = np.argsort(s.time, kind="stable")
    is1 = s.variant[order] == 1
    x = s.value[order]
    x = x - x.mean()  # variance is shift-invariant; centring keeps the running sums of squares exact
    n1 = np.cumsum(is1)
    n0 = np.arange(1, len(x) + 1) - n1
    eligible = (n0 >= cfg.min_samples) & (n1 >= cfg.min_samples)
    if not eligible.any():
        return None
    first = int(np.argmax(eligible))
    x1, x0 = np.where(is1, x, 0.0), np.where(is1, 0.0, x)
    n0e, n1e = n0[first:].astype(float), n1[first:].astype(float)
    m1 = np.cumsum(x1)[first:] / n1e
    m0 = np.cumsum(x0)[first:] / n0e
    if m.type == "rate":
        # back to the 0/1 scale for p(1 - p)
        shift = s.value[order].mean()
        p1, p0 = m1 + shift, m0 + shift
        v1, v0 = p1 * (1 - p1), p0 * (1 - p0)
    else:
        v1 = (np.cumsum(x1 * x1)[first:] - n1e * m1 * m1) / (n1e - 1)
        v0 = (np.cumsum(x0 * x0)[first:] - n0e * m0 * m0) / (n0e - 1)
    diff = m1 - m0
    var = np.clip(v0, 0, None) / n0e + np.clip(v1, 0, None) / n1e
    tau2 = cfg.mixing_sd**2 * np.clip((v0 + v1) / 2, 0, None)
    log_lam = msprt_log_lambda(diff, var, tau2)
    p_av = always_valid_p(log_lam)
    threshold = math.log(1 / cfg.alpha)
    hits = np.flatnonzero(log_lam >= threshold)
    crossed = len(hits) > 0
    at = int(hits[0]) if crossed else None
    return SequentialResult(
        p_value=float(p_av[-1]),
        log_lambda=float(log_lam[-1]),
        threshold=threshold,
        crossed=crossed,
        crossed_at_units=None if at is None else first + at + 1,
        effect_at_crossing=None if at is None else float(diff[at]),
    )


def analyse_metric(
    table: OutcomeTable, m: ExperimentMetric, cfg: ExperimentConfig, *, guardrail: bool = False
) -> MetricResult:
    s = unit_series(table, m.name, m.type)
    x0, x1 = s.value[s.variant == 0], s.value[s.variant == 1]
    arms = {"control": _arm(x0, m.type), "treatment": _arm(x1, m.type)}
    n0, n1 = len(x0), len(x1)
    diff = float(x1.mean() - x0.mean()) if n0 and n1 else None
    seq = _sequential(s, m, cfg) if n0 and n1 else None
    planned = n0 >= cfg.planned_samples and n1 >= cfg.planned_samples
    fixed: TestResult | None = None
    if planned:
        if m.type == "rate":
            fixed = two_proportion_test(float(x0.sum()), n0, float(x1.sum()), n1)
        else:
            fixed = welch_test(float(x0.mean()), _var(x0, m.type), n0, float(x1.mean()), _var(x1, m.type), n1)
    sign = 1.0 if m.direction == "increase" else -1.0
    regressed = False
    if guardrail and seq is not None and seq.crossed and diff is not None:
        regressed = sign * diff < -m.tolerance
    if guardrail and fixed is not None and fixed.p_value < cfg.alpha and diff is not None:
        regressed = regressed or sign * diff < -m.tolerance
    needed = _needed(n0, n1, diff, x0, x1, m, cfg, seq)
    return MetricResult(m.name, m.type, m.direction, arms, diff, seq, fixed, planned, needed, regressed)


def _needed(
    n0: int,
    n1: int,
    diff: float | None,
    x0: np.ndarray,
    x1: np.ndarray,
    m: ExperimentMetric,
    cfg: ExperimentConfig,
    seq: SequentialResult | None,
) -> int | None:
    """Units per variant still needed: to the minimum, then to where the boundary would be crossed."""
    to_min = max(0, cfg.min_samples - min(n0, n1))
    if seq is not None and seq.crossed:
        return to_min
    if diff is None or min(n0, n1) < 2:
        return max(to_min, cfg.min_samples)
    w0, w1 = cfg.split.weights()
    v0, v1 = _var(x0, m.type), _var(x1, m.type)
    tau2 = cfg.mixing_sd**2 * (v0 + v1) / 2
    total = msprt_units_to_cross(diff, v0, v1, w0, w1, tau2, cfg.alpha, start=n0 + n1)
    if total is None:
        return None
    return max(to_min, math.ceil(max(w0 * total - n0, w1 * total - n1, 0)))


def check_srm(table: OutcomeTable, cfg: ExperimentConfig) -> tuple[SrmResult, int, int]:
    s = unit_series(table, None)
    counts = [int((s.variant == 0).sum()), int((s.variant == 1).sum())]
    w = cfg.split.weights()
    stat, p = srm_test(counts, w)
    srm = SrmResult(
        dict(zip(VARIANTS, counts, strict=True)),
        dict(zip(VARIANTS, w, strict=True)),
        stat,
        p,
        p >= cfg.srm_alpha,
    )
    return srm, s.mixed, sum(counts)


def analyse(
    cfg: ExperimentConfig, table: OutcomeTable, *, state: str = "running", winner: str | None = None
) -> ExperimentResult:
    srm, mixed, units = check_srm(table, cfg)
    primary = analyse_metric(table, cfg.metric, cfg)
    guards = [analyse_metric(table, g, cfg, guardrail=True) for g in cfg.guardrails]
    reasons: list[str] = []
    warnings: list[str] = []
    if mixed:
        warnings.append(f"{mixed} unit(s) appear in both variants and were left out: check the assignment")
    n = min(primary.arms["control"].n, primary.arms["treatment"].n)
    decision, recommended = "keep-running", None
    if not srm.passed:
        # checked before the minimum sample: a broken assignment is worth knowing about at once
        decision = "invalid"
        reasons.append(
            f"sample-ratio mismatch: observed {srm.observed['control']}/{srm.observed['treatment']} against a "
            f"configured {srm.expected_share['control']:.0%}/{srm.expected_share['treatment']:.0%} split "
            f"(p = {srm.p_value:.2g}); the result is invalid until assignment or logging is fixed"
        )
    elif n < cfg.min_samples:
        reasons.append(f"{n} of {cfg.min_samples} units per variant so far: keep running")
    elif bad := [g.name for g in guards if g.regressed]:
        decision = "stop"
        reasons.append(f"guardrail(s) regressed: {', '.join(bad)}; do not ship the treatment")
    elif primary.sequential is not None and primary.sequential.crossed:
        effect = primary.difference or 0.0
        sign = 1.0 if cfg.metric.direction == "increase" else -1.0
        crossing = primary.sequential.effect_at_crossing or 0.0
        if effect * crossing <= 0:
            reasons.append("the boundary was crossed but the effect has since reversed: keep running")
        else:
            decision = "winner"
            recommended = "treatment" if sign * effect > 0 else "control"
            reasons.append(
                f"{recommended} wins on {cfg.metric.name} (always-valid p = {primary.sequential.p_value:.3g} "
                f"< {cfg.alpha}); complete the experiment with --winner {recommended}"
            )
    else:
        need = primary.needed_per_variant
        reasons.append(
            "keep running: no significant difference yet"
            + (f"; about {need} more units per variant if the observed effect holds" if need else "")
        )
    return ExperimentResult(
        name=cfg.name,
        state=state,
        winner=winner,
        variants={v: cfg.variant_label(v) for v in VARIANTS},
        srm=srm,
        primary=primary,
        guardrails=guards,
        decision=decision,
        recommended_winner=recommended,
        reasons=reasons,
        mixed_units=mixed,
        units=units,
        warnings=warnings,
    )
