"""Two-sample statistics for A/B experiments (issue 15): numpy only, checked against scipy in tests.

Variant 1 is the treatment, variant 0 the control; every difference is treatment - control.

- Rates: Wilson interval per arm, the pooled two-proportion z-test, Newcombe's hybrid score interval
  for the difference (method 10 of Newcombe 1998, which keeps its coverage where Wald's does not).
- Continuous: t interval per arm, Welch's t-test and its Welch-Satterthwaite interval.
- Sample-ratio mismatch: Pearson's chi-square of the observed split against the configured one.
- Peeking: the mixture sequential probability ratio test (mSPRT, Johari, Pekelis and Walsh 2017,
  "Always valid inference", eq. 11 with a normal mixing distribution N(0, tau^2)). Its p-value, the
  running minimum of 1 / Lambda_n, stays valid however often it is looked at, which is what an
  experiment watched while it runs needs. Vectorised so a whole history is one pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from llmops_action.core.stats import chi2_sf, t_cdf, t_ppf

_N = NormalDist()


def z_quantile(confidence: float) -> float:
    return _N.inv_cdf(0.5 + confidence / 2.0)


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class TestResult:
    estimate: float  # treatment - control
    low: float
    high: float
    statistic: float
    p_value: float
    method: str


# --- rates ---------------------------------------------------------------------------------------


def wilson_interval(k: float, n: float, confidence: float = 0.95) -> Interval:
    if n <= 0:
        return Interval(math.nan, math.nan)
    z = z_quantile(confidence)
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


def newcombe_interval(k0: float, n0: float, k1: float, n1: float, confidence: float = 0.95) -> Interval:
    """Newcombe's hybrid score interval for p1 - p0 from the two Wilson intervals."""
    p0, p1 = k0 / n0, k1 / n1
    w0, w1 = wilson_interval(k0, n0, confidence), wilson_interval(k1, n1, confidence)
    d = p1 - p0
    low = d - math.sqrt((p1 - w1.low) ** 2 + (w0.high - p0) ** 2)
    high = d + math.sqrt((w1.high - p1) ** 2 + (p0 - w0.low) ** 2)
    return Interval(low, high)


def two_proportion_test(k0: float, n0: float, k1: float, n1: float, confidence: float = 0.95) -> TestResult:
    """Pooled z-test of p1 = p0 (two-sided), with Newcombe's interval for p1 - p0."""
    p0, p1 = k0 / n0, k1 / n1
    pooled = (k0 + k1) / (n0 + n1)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n0 + 1 / n1))
    z = (p1 - p0) / se if se > 0 else 0.0
    p = 2 * (1 - _N.cdf(abs(z))) if se > 0 else 1.0
    ci = newcombe_interval(k0, n0, k1, n1, confidence)
    return TestResult(p1 - p0, ci.low, ci.high, z, p, "two-proportion z-test, Newcombe interval")


# --- continuous ----------------------------------------------------------------------------------


def t_interval(mean: float, var: float, n: float, confidence: float = 0.95) -> Interval:
    if n < 2:
        return Interval(math.nan, math.nan)
    half = t_ppf(0.5 + confidence / 2, n - 1) * math.sqrt(var / n)
    return Interval(mean - half, mean + half)


def welch_test(
    m0: float, v0: float, n0: float, m1: float, v1: float, n1: float, confidence: float = 0.95
) -> TestResult:
    """Welch's unequal-variance t-test of mean1 = mean0 (two-sided) and its interval for mean1 - mean0."""
    a, b = v0 / n0, v1 / n1
    se2 = a + b
    d = m1 - m0
    if se2 <= 0:
        return TestResult(
            d, d, d, 0.0 if d == 0 else math.copysign(math.inf, d), 1.0 if d == 0 else 0.0, "welch"
        )
    df = se2 * se2 / (a * a / (n0 - 1) + b * b / (n1 - 1))
    t = d / math.sqrt(se2)
    p = 2 * (1 - t_cdf(abs(t), df))
    half = t_ppf(0.5 + confidence / 2, df) * math.sqrt(se2)
    return TestResult(d, d - half, d + half, t, p, "Welch's t-test")


# --- sample-ratio mismatch -----------------------------------------------------------------------


def srm_test(observed: np.ndarray | list[float], weights: np.ndarray | list[float]) -> tuple[float, float]:
    """Pearson chi-square of the observed counts against the configured split: (statistic, p-value)."""
    obs = np.asarray(observed, dtype=float)
    w = np.asarray(weights, dtype=float)
    expected = obs.sum() * w / w.sum()
    if obs.sum() == 0:
        return 0.0, 1.0
    stat = float(np.sum((obs - expected) ** 2 / expected))
    return stat, chi2_sf(stat, len(obs) - 1)


# --- always-valid sequential test ----------------------------------------------------------------


def msprt_log_lambda(diff: np.ndarray, var: np.ndarray, tau2: np.ndarray | float) -> np.ndarray:
    """log Lambda_n of the normal-mixture SPRT of H0: difference = 0.

    diff: the estimated difference after each observation; var: its variance (var0/n0 + var1/n1);
    tau2: the mixing variance. Where var is 0 (no spread yet) there is no evidence: log Lambda = 0.
    """
    diff = np.asarray(diff, dtype=float)
    var = np.asarray(var, dtype=float)
    tau2 = np.broadcast_to(np.asarray(tau2, dtype=float), var.shape)
    out = np.zeros_like(var)
    ok = (var > 0) & (tau2 > 0) & np.isfinite(diff)
    v, t2, d = var[ok], tau2[ok], diff[ok]
    out[ok] = 0.5 * np.log(v / (v + t2)) + t2 * d * d / (2.0 * v * (v + t2))
    return out


def always_valid_p(log_lambda: np.ndarray) -> np.ndarray:
    """The running minimum of min(1, 1 / Lambda_n): non-increasing, valid at any stopping time."""
    if len(log_lambda) == 0:
        return np.asarray(log_lambda, dtype=float)
    return np.minimum.accumulate(np.minimum(1.0, np.exp(-np.asarray(log_lambda, dtype=float))))


def msprt_units_to_cross(
    diff: float, var0: float, var1: float, w0: float, w1: float, tau2: float, alpha: float, start: float
) -> float | None:
    """Total units at which the mSPRT would cross 1/alpha if the observed difference and spread held.

    None when it never would (no difference, or beyond a billion units).
    """
    if diff == 0 or not math.isfinite(diff):
        return None
    grid = np.geomspace(max(start, 2.0), 1e9, 2000)
    v = var0 / (w0 * grid) + var1 / (w1 * grid)
    crossed = msprt_log_lambda(np.full_like(grid, diff), v, tau2) >= math.log(1 / alpha)
    idx = np.flatnonzero(crossed)
    return float(math.ceil(grid[idx[0]])) if len(idx) else None
