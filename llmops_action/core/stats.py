"""Paired statistics for base-versus-head comparisons, in numpy alone (scipy is not a runtime dependency).

On the cases both runs share, d = head - base per case:

- interval: paired BCa bootstrap (fixed seed) of the mean of d for n >= 30, a Student t interval below,
  because BCa's acceleration and bias estimates are unreliable on a handful of points;
- p-value: one-sided sign-flip permutation test of "head is worse than base" (mean d < 0), exact by
  enumeration when at most 16 deltas are non-zero (zero deltas do not change any flipped sum), Monte
  Carlo with the +1 correction otherwise, so that p is never 0;
- minimum detectable effect: the drop a one-sided test at `alpha` would detect with 80% power for this n
  and the observed sd of d (normal approximation);
- McNemar exact test for pass/fail metrics, Holm's step-down adjustment across gated metrics.

The special functions (t quantile, chi-square survival) are here because drift.py needs the latter too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np

EXACT_MAX_NONZERO = 16
BOOTSTRAP_MIN_N = 30
_CHUNK_ELEMENTS = 1 << 21  # resample rows are drawn in blocks of about 2M cells: 16 MB, cache-friendly
_STD_NORMAL = NormalDist()


@dataclass(frozen=True)
class PairedStats:
    n: int
    mean_base: float | None
    mean_head: float | None
    delta: float | None
    ci_low: float | None
    ci_high: float | None
    ci_method: Literal["bca-bootstrap", "t", "none"]
    p_value: float | None  # one-sided: head worse than base
    improved: int
    regressed: int
    unchanged: int
    mde: float | None
    note: str = ""


def paired_stats(
    base: np.ndarray,
    head: np.ndarray,
    *,
    alpha: float = 0.05,
    seed: int = 0,
    n_boot: int = 10_000,
    n_perm: int = 10_000,
    tol: float = 1e-9,
    confidence: float = 0.95,
) -> PairedStats:
    """Statistics of head - base over paired cases (same index = same case). NaN pairs are dropped."""
    b = np.asarray(base, dtype=np.float64)
    h = np.asarray(head, dtype=np.float64)
    if b.shape != h.shape or b.ndim != 1:
        raise ValueError(f"base and head must be 1-d arrays of equal length, got {b.shape} and {h.shape}")
    keep = np.isfinite(b) & np.isfinite(h)
    b, h = b[keep], h[keep]
    d = h - b
    n = int(d.size)
    improved = int(np.count_nonzero(d > tol))
    regressed = int(np.count_nonzero(d < -tol))
    unchanged = n - improved - regressed
    if n < 2:
        return PairedStats(
            n=n,
            mean_base=float(b.mean()) if n else None,
            mean_head=float(h.mean()) if n else None,
            delta=float(d.mean()) if n else None,
            ci_low=None,
            ci_high=None,
            ci_method="none",
            p_value=None,
            improved=improved,
            regressed=regressed,
            unchanged=unchanged,
            mde=None,
            note="insufficient data",
        )
    boot_seed, perm_seed = np.random.SeedSequence(seed).spawn(2)
    mean = float(d.mean())
    sd = float(d.std(ddof=1))
    if n >= BOOTSTRAP_MIN_N:
        lo, hi = bca_interval(d, confidence=confidence, n_boot=n_boot, rng=np.random.default_rng(boot_seed))
        method: Literal["bca-bootstrap", "t"] = "bca-bootstrap"
    else:
        half = t_ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n)
        lo, hi = mean - half, mean + half
        method = "t"
    p = sign_flip_p(d, n_perm=n_perm, rng=np.random.default_rng(perm_seed))
    z = _STD_NORMAL.inv_cdf(1 - alpha) + _STD_NORMAL.inv_cdf(0.8)
    return PairedStats(
        n=n,
        mean_base=float(b.mean()),
        mean_head=float(h.mean()),
        delta=mean,
        ci_low=float(lo),
        ci_high=float(hi),
        ci_method=method,
        p_value=p,
        improved=improved,
        regressed=regressed,
        unchanged=unchanged,
        mde=_mde(z, sd, n, alpha),
    )


def _mde(z: float, sd: float, n: int, alpha: float) -> float | None:
    """The drop detectable with 80% power, or None where it is undefined: with zero variance, or when n is
    so small that the sign-flip test cannot reach alpha at all (its smallest p-value is 2**-n)."""
    if sd < 1e-12 or 0.5**n > alpha:  # 1e-12: floating-point noise of equal deltas is no variance
        return None
    return z * sd / math.sqrt(n)


def bootstrap_means(d: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Means of `n_boot` resamples with replacement, drawn as int32 index blocks to bound memory."""
    n = d.size
    out = np.empty(n_boot)
    rows = max(1, _CHUNK_ELEMENTS // n)
    for start in range(0, n_boot, rows):
        stop = min(n_boot, start + rows)
        idx = rng.integers(0, n, size=(stop - start, n), dtype=np.int32)
        out[start:stop] = d[idx].mean(axis=1)
    return out


def bca_interval(
    d: np.ndarray, *, confidence: float = 0.95, n_boot: int = 10_000, rng: np.random.Generator
) -> tuple[float, float]:
    """BCa interval for the mean, following scipy.stats.bootstrap(method="BCa") step for step.

    The jackknife acceleration is O(n) for the mean: the leave-one-out influence of case i is d_i - mean.
    """
    mean = float(d.mean())
    if float(d.max() - d.min()) == 0.0:
        return mean, mean
    theta = bootstrap_means(d, n_boot, rng)
    # Share of resamples below the estimate, ties counted half (scipy's _percentile_of_score).
    share = (np.count_nonzero(theta < mean) + np.count_nonzero(theta <= mean)) / (2 * n_boot)
    share = min(max(share, 0.5 / n_boot), 1 - 0.5 / n_boot)
    z0 = _STD_NORMAL.inv_cdf(share)
    u = d - mean
    a = float((u**3).sum() / (6 * (u**2).sum() ** 1.5))
    tail = (1 - confidence) / 2
    levels = []
    for z_alpha in (_STD_NORMAL.inv_cdf(tail), _STD_NORMAL.inv_cdf(1 - tail)):
        num = z0 + z_alpha
        levels.append(_STD_NORMAL.cdf(z0 + num / (1 - a * num)))
    lo, hi = np.percentile(theta, [100 * levels[0], 100 * levels[1]])
    return float(lo), float(hi)


def sign_flip_p(d: np.ndarray, *, n_perm: int = 10_000, rng: np.random.Generator) -> float:
    """One-sided p-value for mean(d) < 0: the share of sign flips whose sum is <= the observed sum."""
    nz = d[d != 0]
    observed = float(nz.sum())
    slack = 1e-12 * max(1.0, float(np.abs(nz).sum()))  # equal sums computed in another order still tie
    m = nz.size
    if m <= EXACT_MAX_NONZERO:
        codes = np.arange(1 << m, dtype=np.int64)[:, None]
        signs = 1.0 - 2.0 * ((codes >> np.arange(m)) & 1)
        sums = signs @ nz
        return float(np.count_nonzero(sums <= observed + slack) / sums.size)
    total = float(nz.sum())
    hits = 0
    rows = max(1, _CHUNK_ELEMENTS // m)
    for start in range(0, n_perm, rows):
        k = min(n_perm, start + rows) - start
        raw = np.frombuffer(rng.bytes((k * m + 7) // 8), dtype=np.uint8)
        bits = np.unpackbits(raw)[: k * m].reshape(k, m)
        # flipping the cases whose bit is 1: sum = total - 2 * sum(flipped)
        sums = total - 2.0 * (bits.astype(np.float64) @ nz)
        hits += int(np.count_nonzero(sums <= observed + slack))
    return (hits + 1) / (n_perm + 1)


def holm(p: Sequence[float | None]) -> list[float | None]:
    """Holm step-down adjusted p-values; None (no test) stays None and does not count as a test."""
    present = [(v, i) for i, v in enumerate(p) if v is not None]
    m = len(present)
    out: list[float | None] = [None] * len(p)
    running = 0.0
    for rank, (v, i) in enumerate(sorted(present)):
        running = max(running, min(1.0, (m - rank) * v))
        out[i] = running
    return out


def mcnemar_exact(base_pass: np.ndarray, head_pass: np.ndarray) -> float:
    """Two-sided exact McNemar: a binomial(b + c, 1/2) test on the discordant pairs."""
    bp = np.asarray(base_pass, dtype=bool)
    hp = np.asarray(head_pass, dtype=bool)
    b = int(np.count_nonzero(bp & ~hp))
    c = int(np.count_nonzero(~bp & hp))
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    log_half = n * math.log(0.5)
    tail = sum(
        math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + log_half)
        for i in range(k + 1)
    )
    return min(1.0, 2 * tail)


def decide(
    p: float | None, delta: float | None, threshold: float, alpha: float
) -> Literal["pass", "warn", "block"]:
    """BLOCK when the drop is significant and at least `threshold`; WARN when only one holds."""
    significant = p is not None and p < alpha
    # With threshold 0 a zero delta is no drop: require a strictly negative delta as well.
    large = delta is not None and delta < 0 and delta <= -threshold
    if significant and large:
        return "block"
    if significant or large:
        return "warn"
    return "pass"


# --- special functions ---------------------------------------------------------------------------


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, dd = 1.0, 1.0 - qab * x / qap
    dd = 1.0 / (dd if abs(dd) > tiny else tiny)
    h = dd
    for m in range(1, 500):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        dd = 1.0 + aa * dd
        dd = 1.0 / (dd if abs(dd) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        h *= dd * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        dd = 1.0 + aa * dd
        dd = 1.0 / (dd if abs(dd) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        delta = dd * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def t_ppf(q: float, df: float) -> float:
    """Quantile of Student's t by bisection on the cdf (called a few times per comparison)."""
    if not 0.0 < q < 1.0:
        raise ValueError("q must be in (0, 1)")
    if q < 0.5:
        return -t_ppf(1.0 - q, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < q:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if t_cdf(mid, df) < q:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-13 * max(1.0, hi):
            break
    return (lo + hi) / 2.0


def gammaincc(a: float, x: float) -> float:
    """Regularised upper incomplete gamma Q(a, x): a series below a + 1, a continued fraction above."""
    if x <= 0.0:
        return 1.0
    log_front = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0 / a
        ap = a
        for _ in range(1000):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-16:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = b + an / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return math.exp(log_front) * h


def chi2_sf(x: float, df: int) -> float:
    """P(X >= x) for X ~ chi-square(df)."""
    if df <= 0:
        return 1.0
    return gammaincc(df / 2.0, x / 2.0)
