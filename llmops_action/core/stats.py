"""Paired statistics for base-versus-head comparisons, in numpy alone (scipy is not a runtime dependency).

On the cases both runs share, d = head - base per case. The question is one-sided ("is head worse?"), so the
test and the interval are built as one:

- n >= T_TEST_MIN_N (20): a one-sided paired t-test, whose null is a zero mean (no symmetry assumed; the
  central limit theorem carries it at this n, also for skewed, ordinal 1-5 and pass/fail deltas), and the
  t-interval at level 1 - 2*alpha: each end is a one-sided (1 - alpha) bound, so "significant drop" holds
  exactly when the interval's upper end is below 0.
- below: the exact sign-flip permutation test, which assumes the deltas are symmetric about their mean (true
  under "no change", where base and head are exchangeable), and the interval that inverts it (the upper end
  is the smallest shift the test rejects; it is an order statistic of the subset means of d). The smallest
  p it can give is 2^-n: at n <= 4 (alpha 0.05) it cannot detect any drop, and says so; the gate then
  decides on the practical threshold alone.
- minimum detectable effect: the drop the test used detects with 80% power at the n paired, for the
  observed sd of d (t quantiles; an approximation for the sign-flip test); None when the test cannot detect.
- McNemar exact test for pass/fail metrics, Holm's step-down adjustment across gated metrics.

A paired BCa bootstrap is kept for callers that want a percentile-type interval (bench_stats); the
comparison does not use it because it under-covers on pass/fail deltas (0.91 at n = 30).
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
T_TEST_MIN_N = 20
POWER = 0.8
_CHUNK_ELEMENTS = 1 << 21  # resample rows are drawn in blocks of about 2M cells: 16 MB, cache-friendly
_STD_NORMAL = NormalDist()

Test = Literal["t", "sign-flip", "none"]


@dataclass(frozen=True)
class PairedStats:
    n: int
    mean_base: float | None
    mean_head: float | None
    delta: float | None
    ci_low: float | None  # None: the test cannot bound the mean at this n (or no data)
    ci_high: float | None
    ci_method: Test
    p_value: float | None  # one-sided: head worse than base
    improved: int
    regressed: int
    unchanged: int
    mde: float | None
    note: str = ""
    confidence: float = 0.90  # of the two-sided interval: 1 - 2 * alpha
    detectable: bool = False  # the test can reach alpha at this n

    @property
    def test(self) -> Test:
        return self.ci_method


def cannot_detect_note(n: int, alpha: float) -> str:
    return (
        f"cannot detect a drop at n = {n}: the smallest p-value the sign-flip test can give is "
        f"{0.5**n:.3g}, not below alpha {alpha:g}; the gate decides on the practical threshold alone"
    )


def paired_stats(
    base: np.ndarray,
    head: np.ndarray,
    *,
    alpha: float = 0.05,
    seed: int = 0,
    n_perm: int = 10_000,
    tol: float = 1e-9,
    n_boot: int | None = None,  # accepted for older callers; the comparison no longer bootstraps
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
    counts = {"improved": improved, "regressed": regressed, "unchanged": unchanged}
    confidence = 1 - 2 * alpha
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
            mde=None,
            note="insufficient data",
            confidence=confidence,
            **counts,
        )
    mean = float(d.mean())
    sd = float(d.std(ddof=1))
    if n >= T_TEST_MIN_N:
        p, lo, hi = t_test(d, alpha=alpha)
        method: Test = "t"
        detectable, note = True, ""
    else:
        p, lo, hi = sign_flip(d, alpha=alpha, n_perm=n_perm, rng=np.random.default_rng(seed))
        method = "sign-flip"
        detectable = 0.5**n < alpha
        note = "" if detectable else cannot_detect_note(n, alpha)
    mde = (t_ppf(1 - alpha, n - 1) + t_ppf(POWER, n - 1)) * sd / math.sqrt(n) if detectable else None
    return PairedStats(
        n=n,
        mean_base=float(b.mean()),
        mean_head=float(h.mean()),
        delta=mean,
        ci_low=lo,
        ci_high=hi,
        ci_method=method,
        p_value=p,
        mde=mde,
        note=note,
        confidence=confidence,
        detectable=detectable,
        **counts,
    )


def t_test(d: np.ndarray, *, alpha: float) -> tuple[float, float, float]:
    """(one-sided p for mean(d) < 0, lower and upper (1 - alpha) one-sided bounds) of the paired t-test."""
    n = d.size
    mean = float(d.mean())
    se = float(d.std(ddof=1)) / math.sqrt(n)
    if se == 0.0:
        # Every case moved by the same amount: no spread to weigh it against, the sign is certain.
        return (0.0 if mean < 0 else 1.0), mean, mean
    p = t_cdf(mean / se, n - 1)
    half = t_ppf(1 - alpha, n - 1) * se
    return p, mean - half, mean + half


def _subset_means(d: np.ndarray, n_perm: int, rng: np.random.Generator) -> np.ndarray:
    """Means of d over every non-empty subset (n <= EXACT_MAX_NONZERO), else over n_perm random subsets.

    A sign flip of the subset F moves the sum by -2 * sum_F(d - theta), so the flipped sum stays at or
    below the observed one exactly when mean_F(d) >= theta: these means decide the test at every shift.
    """
    n = d.size
    if n <= EXACT_MAX_NONZERO:
        codes = np.arange(1, 1 << n, dtype=np.int64)[:, None]
        bits = ((codes >> np.arange(n)) & 1).astype(np.float64)
    else:
        raw = np.frombuffer(rng.bytes((n_perm * n + 7) // 8), dtype=np.uint8)
        bits = np.unpackbits(raw)[: n_perm * n].reshape(n_perm, n).astype(np.float64)
    size = bits.sum(axis=1)
    sums = bits @ d
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(size > 0, sums / np.maximum(size, 1), np.inf)  # empty subset: counts at any shift


def _upper_from_means(means: np.ndarray, alpha: float) -> float | None:
    total = means.size + 1  # the identity (empty subset) is always counted
    # the shift theta is rejected when (1 + #{means >= theta}) / total < alpha
    allowed = math.ceil(alpha * total - 1) - 1  # the largest count still below alpha * total - 1
    if allowed < 0:
        return None  # the test cannot reject any shift at this n
    return float(np.partition(-means, allowed)[allowed] * -1.0)


def sign_flip(
    d: np.ndarray, *, alpha: float, n_perm: int = 10_000, rng: np.random.Generator
) -> tuple[float, float | None, float | None]:
    """(one-sided p for mean(d) < 0, lower bound, upper bound) of the sign-flip test and its inversion.

    Each bound is one-sided at 1 - alpha; the upper one is below 0 exactly when p < alpha, since both come
    from the same subset means. None: the test cannot reject any shift at this n (2^-n >= alpha).
    """
    means = _subset_means(d, n_perm, rng)
    slack = 1e-12 * max(1.0, float(np.abs(d).max()))  # equal sums computed in another order still tie
    p = float((1 + np.count_nonzero(means >= -slack)) / (means.size + 1))
    hi = _upper_from_means(means, alpha)
    neg = _upper_from_means(-means, alpha)  # subset means of -d are the negated subset means of d
    return p, (-neg if neg is not None else None), hi


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
    p: float | None, delta: float | None, threshold: float, alpha: float, *, detectable: bool = True
) -> Literal["pass", "warn", "block"]:
    """BLOCK when the drop is significant and at least `threshold`; WARN when only one holds.

    When the test cannot reach alpha at this n (`detectable` False), the practical threshold decides alone:
    a drop of at least `threshold` blocks, since no amount of evidence could ever make it significant."""
    significant = p is not None and p < alpha
    # With threshold 0 a zero delta is no drop: require a strictly negative delta as well.
    large = delta is not None and delta < 0 and delta <= -threshold
    if not detectable:
        return "block" if large else "pass"
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
