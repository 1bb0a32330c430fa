"""A/B statistics, checked against scipy (and Newcombe's published example) on the same data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate
from scipy import stats as sps

from llmops_action.core.experiment_stats import (
    always_valid_p,
    msprt_log_lambda,
    msprt_units_to_cross,
    newcombe_interval,
    srm_test,
    t_interval,
    two_proportion_test,
    welch_test,
    wilson_interval,
)


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (56, 70), (500, 1000), (999, 1000)])
def test_wilson_interval_matches_scipy(k: int, n: int) -> None:
    ci = sps.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    got = wilson_interval(k, n)
    assert got.low == pytest.approx(ci.low, abs=1e-9)
    assert got.high == pytest.approx(ci.high, abs=1e-9)


def test_newcombe_interval_reproduces_the_papers_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873-890, Table II example (a): 56/70 vs 48/80, method 10
    ci = newcombe_interval(48, 80, 56, 70)
    assert (round(ci.low, 4), round(ci.high, 4)) == (0.0524, 0.3339)


@pytest.mark.parametrize(
    ("k0", "n0", "k1", "n1"), [(48, 80, 56, 70), (500, 1000, 540, 1000), (10, 200, 4, 180)]
)
def test_two_proportion_z_test_equals_the_uncorrected_chi_square(k0: int, n0: int, k1: int, n1: int) -> None:
    table = np.array([[k0, n0 - k0], [k1, n1 - k1]])
    chi2, p, _, _ = sps.chi2_contingency(table, correction=False)
    got = two_proportion_test(k0, n0, k1, n1)
    assert got.statistic**2 == pytest.approx(chi2, rel=1e-9)
    assert got.p_value == pytest.approx(p, rel=1e-6)
    assert got.estimate == pytest.approx(k1 / n1 - k0 / n0)
    assert got.low < got.estimate < got.high


def test_welch_test_matches_scipy() -> None:
    rng = np.random.default_rng(7)
    a, b = rng.normal(10, 2, 120), rng.normal(10.6, 4, 80)
    ref = sps.ttest_ind(b, a, equal_var=False)
    ci = ref.confidence_interval(0.95)
    got = welch_test(a.mean(), a.var(ddof=1), len(a), b.mean(), b.var(ddof=1), len(b))
    assert got.statistic == pytest.approx(ref.statistic, rel=1e-9)
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-6)
    assert (got.low, got.high) == (pytest.approx(ci.low, rel=1e-6), pytest.approx(ci.high, rel=1e-6))


def test_t_interval_matches_scipy() -> None:
    x = np.random.default_rng(3).normal(5, 1, 30)
    lo, hi = sps.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=sps.sem(x))
    got = t_interval(x.mean(), x.var(ddof=1), len(x))
    assert (got.low, got.high) == (pytest.approx(lo, rel=1e-9), pytest.approx(hi, rel=1e-9))


@pytest.mark.parametrize(
    ("obs", "w"), [([450, 550], [0.5, 0.5]), ([900, 100], [0.9, 0.1]), ([5000, 5100], [1, 1])]
)
def test_srm_chi_square_matches_scipy(obs: list[int], w: list[float]) -> None:
    expected = np.array(w) / sum(w) * sum(obs)
    ref = sps.chisquare(obs, expected)
    stat, p = srm_test(obs, w)
    assert stat == pytest.approx(ref.statistic, rel=1e-9)
    assert p == pytest.approx(ref.pvalue, rel=1e-6)


@pytest.mark.parametrize(
    ("diff", "var", "tau2"), [(0.0, 0.01, 0.0025), (0.05, 0.0005, 0.0025), (-0.2, 0.04, 0.01)]
)
def test_msprt_is_the_normal_mixture_likelihood_ratio(diff: float, var: float, tau2: float) -> None:
    """Lambda = integral of N(diff; theta, var) N(theta; 0, tau2) dtheta / N(diff; 0, var), by quadrature."""
    num, _ = integrate.quad(
        lambda th: sps.norm.pdf(diff, th, math.sqrt(var)) * sps.norm.pdf(th, 0, math.sqrt(tau2)),
        -5,
        5,
        points=[diff, 0],
    )
    ref = math.log(num / sps.norm.pdf(diff, 0, math.sqrt(var)))
    got = msprt_log_lambda(np.array([diff]), np.array([var]), tau2)[0]
    assert got == pytest.approx(ref, rel=1e-6, abs=1e-9)


def test_no_spread_is_no_evidence() -> None:
    assert msprt_log_lambda(np.array([0.3]), np.array([0.0]), 0.01)[0] == 0.0


def test_always_valid_p_never_rises() -> None:
    p = always_valid_p(np.array([0.0, 1.0, 3.5, 2.0, 0.5]))
    assert p[0] == 1.0 and p[2] == pytest.approx(math.exp(-3.5))
    assert np.all(np.diff(p) <= 0)


def test_units_to_cross_grows_as_the_effect_shrinks() -> None:
    big = msprt_units_to_cross(0.10, 0.25, 0.25, 0.5, 0.5, 0.0025, 0.05, start=100)
    small = msprt_units_to_cross(0.02, 0.25, 0.25, 0.5, 0.5, 0.0025, 0.05, start=100)
    assert big is not None and small is not None and big < small
    assert msprt_units_to_cross(0.0, 0.25, 0.25, 0.5, 0.5, 0.0025, 0.05, start=100) is None
