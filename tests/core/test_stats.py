"""Paired statistics, checked against scipy.stats on the same data."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from llmops_action.core.stats import (
    bca_interval,
    chi2_sf,
    decide,
    holm,
    mcnemar_exact,
    paired_stats,
    sign_flip_p,
    t_ppf,
)


def judge_scores(rng: np.random.Generator, n: int, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Base and head judge scores on a 1-5 scale normalised to [0, 1], sharing each case's true quality."""
    quality = rng.uniform(1.5, 4.8, n)
    base = np.clip(np.rint(quality + rng.normal(0, 0.4, n)), 1, 5)
    head = np.clip(np.rint(quality + 4 * shift + rng.normal(0, 0.4, n)), 1, 5)
    return (base - 1) / 4, (head - 1) / 4


def test_from_20_pairs_the_test_is_scipys_one_sided_paired_t_test_and_its_interval() -> None:
    rng = np.random.default_rng(3)
    base, head = judge_scores(rng, 40, shift=-0.05)
    ps = paired_stats(base, head, alpha=0.05)
    ref = sps.ttest_rel(head, base, alternative="less")
    d = head - base
    # the interval is two-sided at 1 - 2 alpha: each end is scipy's one-sided 95% bound
    upper = sps.ttest_rel(head, base, alternative="less").confidence_interval(0.95).high
    lower = sps.ttest_rel(head, base, alternative="greater").confidence_interval(0.95).low
    assert ps.ci_method == "t" and ps.confidence == pytest.approx(0.90)
    assert ps.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert ps.ci_high == pytest.approx(upper, abs=1e-9)
    assert ps.ci_low == pytest.approx(lower, abs=1e-9)
    assert ps.delta == pytest.approx(d.mean())
    assert ps.improved + ps.regressed + ps.unchanged == 40


@pytest.mark.parametrize("seed", range(6))
def test_the_interval_agrees_with_the_test_at_every_n(seed: int) -> None:
    """A "significant drop" never stands beside an interval that includes 0."""
    rng = np.random.default_rng(seed)
    for n in (5, 8, 12, 17, 20, 35):
        base, head = judge_scores(rng, n, shift=-0.06)
        ps = paired_stats(base, head, alpha=0.05, seed=seed)
        if ps.ci_high is not None and ps.p_value is not None:
            assert (ps.p_value < 0.05) == (ps.ci_high < 0), (n, ps)


def test_below_20_pairs_the_sign_flip_bound_is_the_smallest_rejected_shift() -> None:
    """The upper end inverts scipy's exact permutation test: just above it the shifted test rejects."""
    rng = np.random.default_rng(4)
    base, head = rng.normal(0.6, 0.1, 9), rng.normal(0.52, 0.1, 9)
    ps = paired_stats(base, head, alpha=0.05)
    d = head - base
    assert ps.ci_method == "sign-flip" and ps.ci_high is not None and ps.ci_low is not None

    def p_at(theta: float) -> float:
        res = sps.permutation_test(
            (d - theta,), np.mean, permutation_type="samples", alternative="less", n_resamples=np.inf
        )
        return float(res.pvalue)

    assert p_at(ps.ci_high + 1e-9) < 0.05 <= p_at(ps.ci_high - 1e-9)
    assert ps.ci_low < ps.delta < ps.ci_high  # type: ignore[operator]


@pytest.mark.parametrize("n", [2, 3, 4])
def test_at_tiny_n_it_says_it_cannot_detect_a_drop_and_the_threshold_decides(n: int) -> None:
    base = np.full(n, 0.9)
    head = np.full(n, 0.2) + np.arange(n) * 0.01
    ps = paired_stats(base, head, alpha=0.05)
    assert not ps.detectable and ps.mde is None
    assert f"cannot detect a drop at n = {n}" in ps.note
    assert ps.p_value is not None and ps.p_value >= 0.05  # the smallest p it can give is 2^-n
    assert decide(ps.p_value, ps.delta, 0.05, 0.05, detectable=False) == "block"
    assert decide(ps.p_value, -0.01, 0.05, 0.05, detectable=False) == "pass"
    assert paired_stats(np.full(5, 0.9), np.full(5, 0.2)).detectable


@pytest.mark.parametrize("df", [1, 2, 5, 29, 200])
@pytest.mark.parametrize("q", [0.9, 0.975, 0.995, 0.025])
def test_t_quantile_matches_scipy(df: int, q: float) -> None:
    assert t_ppf(q, df) == pytest.approx(sps.t.ppf(q, df), rel=1e-9)


def test_bca_interval_agrees_with_scipy_bootstrap_within_monte_carlo_error() -> None:
    rng = np.random.default_rng(11)
    d = rng.gamma(1.5, 0.1, 200) - 0.12  # skewed, so BCa differs from the percentile interval
    lo, hi = bca_interval(d, n_boot=20_000, rng=np.random.default_rng(0))
    ref = sps.bootstrap((d,), np.mean, method="BCa", n_resamples=20_000, random_state=1).confidence_interval
    width = ref.high - ref.low
    assert lo == pytest.approx(ref.low, abs=0.03 * width)
    assert hi == pytest.approx(ref.high, abs=0.03 * width)


def test_paired_stats_are_reproducible_with_a_seed() -> None:
    rng = np.random.default_rng(5)
    base, head = judge_scores(rng, 18, shift=-0.1)
    assert paired_stats(base, head, seed=7) == paired_stats(base, head, seed=7)


def test_exact_sign_flip_matches_scipy_permutation_test() -> None:
    rng = np.random.default_rng(2)
    base, head = rng.normal(0.6, 0.1, 12), rng.normal(0.55, 0.1, 12)
    res = sps.permutation_test(
        (head, base),
        lambda x, y, axis: np.mean(x - y, axis=axis),
        permutation_type="samples",
        alternative="less",
        n_resamples=np.inf,
    )
    p = sign_flip_p(head - base, rng=np.random.default_rng(0))
    assert p == pytest.approx(res.pvalue, rel=1e-12)


def test_monte_carlo_sign_flip_is_close_to_scipy_and_never_zero() -> None:
    rng = np.random.default_rng(4)
    d = rng.normal(-0.02, 0.1, 80)
    res = sps.permutation_test(
        (d,),
        np.mean,
        permutation_type="samples",
        alternative="less",
        n_resamples=20_000,
        random_state=0,
    )
    p = sign_flip_p(d, n_perm=20_000, rng=np.random.default_rng(1))
    assert p == pytest.approx(res.pvalue, abs=0.01)
    far = sign_flip_p(np.full(60, -1.0) + rng.normal(0, 0.01, 60), n_perm=999, rng=np.random.default_rng(0))
    assert far == pytest.approx(1 / 1000)


def test_zero_deltas_do_not_change_the_exact_p_value() -> None:
    d = np.array([-0.25, -0.25, 0.0, -0.5, 0.25, -0.25, 0.0, 0.0])
    with_zeros = sign_flip_p(d, rng=np.random.default_rng(0))
    without = sign_flip_p(d[d != 0], rng=np.random.default_rng(0))
    assert with_zeros == without
    assert sign_flip_p(np.zeros(5), rng=np.random.default_rng(0)) == 1.0


def test_mde_is_the_80_percent_power_drop_for_the_observed_sd() -> None:
    rng = np.random.default_rng(8)
    base, head = judge_scores(rng, 100)
    ps = paired_stats(base, head, alpha=0.05)
    sd = np.std(head - base, ddof=1)
    # for the test used (the t-test at n = 100), at the n paired
    expected = (sps.t.ppf(0.95, 99) + sps.t.ppf(0.8, 99)) * sd / math.sqrt(100)
    assert ps.mde == pytest.approx(expected)
    assert paired_stats(base[:25], head[:25]).mde > ps.mde  # type: ignore[operator]


def test_fewer_than_two_pairs_is_insufficient_data_and_never_blocks() -> None:
    ps = paired_stats(np.array([0.9]), np.array([0.1]))
    assert ps.note == "insufficient data"
    assert ps.p_value is None and ps.ci_method == "none" and ps.mde is None
    assert ps.delta == pytest.approx(-0.8)
    assert decide(ps.p_value, ps.delta, 0.05, 0.05) == "warn"
    empty = paired_stats(np.array([]), np.array([]))
    assert empty.n == 0 and empty.delta is None


def test_nan_pairs_are_dropped() -> None:
    ps = paired_stats(np.array([0.5, np.nan, 0.7, 0.2]), np.array([0.5, 0.9, np.nan, 0.4]))
    assert ps.n == 2 and ps.unchanged == 1 and ps.improved == 1


def test_decision_rule() -> None:
    assert decide(0.01, -0.06, 0.05, 0.05) == "block"
    assert decide(0.01, -0.02, 0.05, 0.05) == "warn"  # significant but small
    assert decide(0.30, -0.08, 0.05, 0.05) == "warn"  # large but not significant
    assert decide(0.30, -0.01, 0.05, 0.05) == "pass"
    assert decide(0.01, 0.10, 0.05, 0.05) == "warn"
    assert decide(0.50, 0.0, 0.0, 0.05) == "pass"  # threshold 0: no change is no drop
    assert decide(None, None, 0.05, 0.05) == "pass"


def test_mcnemar_matches_binomtest() -> None:
    rng = np.random.default_rng(6)
    base = rng.random(60) < 0.8
    head = np.where(rng.random(60) < 0.2, ~base, base)
    b = int(np.sum(base & ~head))
    c = int(np.sum(~base & head))
    assert mcnemar_exact(base, head) == pytest.approx(sps.binomtest(b, b + c, 0.5).pvalue, rel=1e-12)
    assert mcnemar_exact(base, base) == 1.0


def test_holm_matches_the_textbook_example() -> None:
    assert holm([0.01, 0.04, 0.03, None]) == pytest.approx([0.03, 0.06, 0.06, None])  # type: ignore[arg-type]
    assert holm([]) == []


@given(st.lists(st.one_of(st.none(), st.floats(0, 1)), max_size=12))
def test_holm_is_monotone_and_never_below_the_raw_p(p: list[float | None]) -> None:
    adj = holm(p)
    pairs = sorted((v, a) for v, a in zip(p, adj, strict=True) if v is not None)
    assert all(v <= a <= 1.0 for v, a in pairs)  # type: ignore[operator]
    assert all(a <= a_next for (_, a), (_, a_next) in itertools.pairwise(pairs))  # type: ignore[operator]
    assert [a is None for a in adj] == [v is None for v in p]


@settings(max_examples=50, deadline=None)
@given(st.floats(0.01, 80), st.integers(1, 40))
def test_chi2_survival_matches_scipy(x: float, df: int) -> None:
    assert chi2_sf(x, df) == pytest.approx(sps.chi2.sf(x, df), rel=1e-8, abs=1e-300)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=2, max_size=40), st.integers(0, 3))
def test_identical_runs_never_block(scores: list[float], seed: int) -> None:
    x = np.array(scores)
    ps = paired_stats(x, x.copy(), seed=seed, n_perm=200)
    assert ps.unchanged == len(scores) and ps.delta == 0
    assert ps.p_value == 1.0
    assert decide(ps.p_value, ps.delta, 0.05, 0.05) == "pass"
