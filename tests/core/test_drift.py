"""PSI drift: binning, smoothing, p-values (checked against scipy), statuses, and the signals of two runs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from llmops_action.core.config import DriftConfig
from llmops_action.core.drift import (
    ERROR,
    MISSING,
    drift_signals,
    drift_table,
    expected_null_psi,
    psi_categorical,
    psi_numeric,
    status_for,
    target_bins,
)
from llmops_action.core.results import CaseResult, MetricScore, ModelInfo, RunMeta, RunResult

CFG = DriftConfig()


def test_bin_count_follows_the_sample_size() -> None:
    assert target_bins(10, 10) == 2
    assert target_bins(23, 400) == 4
    assert target_bins(50, 50) == 10
    assert target_bins(10_000, 9_000) == 10


def test_psi_by_hand_with_half_counts() -> None:
    base = np.array([1.0] * 10 + [2.0] * 10)
    head = np.array([1.0] * 5 + [2.0] * 15)
    sig = psi_numeric(base, head, name="x")
    # 4 target bins; base quartiles 1, 1.5, 2 make (-inf,1) [1,1.5) [1.5,2) =2 >2, of which two hold values.
    assert [b.label for b in sig.bins] == ["[1, 1.5)", "= 2"]
    fb = np.array([10.5, 10.5]) / 21
    fh = np.array([5.5, 15.5]) / 21
    assert sig.psi == pytest.approx(float(np.sum((fh - fb) * np.log(fh / fb))))
    assert sig.psi_adjusted == pytest.approx(max(0.0, sig.psi - expected_null_psi(2, 20, 20)))  # type: ignore[operator]
    assert sig.p_method == "permutation"
    assert sig.top_bin in {"[1, 1.5)", "= 2"}


def test_outer_edges_are_open_and_values_above_the_base_maximum_have_their_own_bin() -> None:
    base = np.arange(100, dtype=float)
    head = np.arange(100, dtype=float) + 1000
    sig = psi_numeric(base, head, cfg=CFG)
    assert sig.bins[0].label.startswith("(-inf")
    assert sig.bins[-1].label.endswith("inf)")
    assert sig.bins[-1].head_frac > 0.95
    assert sig.status == "critical"
    assert sig.top_bin == sig.bins[-1].label

    scores = np.repeat([0.5, 0.75, 1.0], 40)
    moved = psi_numeric(scores, scores - 0.25 * (scores == 1.0), cfg=CFG)  # every top score drops a notch
    assert any(b.label == "= 1" for b in moved.bins)
    assert moved.status == "critical"


def test_chi2_p_value_matches_scipy_contingency_for_large_samples() -> None:
    rng = np.random.default_rng(0)
    base, head = rng.normal(0, 1, 400), rng.normal(0.15, 1, 300)
    sig = psi_numeric(base, head, cfg=CFG)
    edges = np.quantile(base, np.arange(1, 10) / 10)
    table = np.array(
        [np.bincount(np.searchsorted(edges, x, side="right"), minlength=10) for x in (base, head)]
    )
    _, p, dof, _ = sps.chi2_contingency(table, correction=False)
    assert sig.p_method == "chi2"
    assert sig.p_value == pytest.approx(p, rel=1e-8)
    assert dof == len(sig.bins) - 1


def test_permutation_p_value_below_50_per_side_is_seeded_and_calibrated() -> None:
    rng = np.random.default_rng(1)
    base, head = rng.normal(0, 1, 40), rng.normal(0, 1, 40)
    a = psi_numeric(base, head, seed=3)
    assert a.p_method == "permutation"
    assert a == psi_numeric(base, head, seed=3)
    shifted = psi_numeric(base, head + 1.5, seed=3)
    assert shifted.p_value is not None and shifted.p_value < 0.01
    assert shifted.psi > a.psi  # type: ignore[operator]


def test_categorical_union_with_missing_and_error_buckets() -> None:
    base = ["STOP"] * 45 + [None] * 5
    head = ["STOP"] * 30 + ["MAX_TOKENS"] * 10 + [ERROR] * 10
    sig = psi_categorical(base, head, name="finish_reason", cfg=CFG)
    labels = {b.label for b in sig.bins}
    assert labels == {"STOP", "MAX_TOKENS", MISSING, ERROR}
    assert sig.status != "ok"
    contingency = np.array([[0, 5, 0, 45], [10, 0, 10, 30]])
    assert sig.p_value == pytest.approx(sps.chi2_contingency(contingency, correction=False)[1], rel=1e-8)


def test_one_category_on_both_sides_is_no_drift() -> None:
    sig = psi_categorical(["ok"] * 30, ["ok"] * 30, cfg=CFG)
    assert sig.psi == 0 and sig.p_value == 1.0 and sig.status == "ok" and sig.top_bin is None


def test_too_little_data_is_skipped_with_a_note() -> None:
    sig = psi_numeric([0.1, 0.2, None], [0.3] * 40, name="faithfulness")
    assert sig.status == "skipped"
    assert "too little data" in sig.note


def test_status_needs_both_a_large_adjusted_psi_and_a_small_p() -> None:
    cfg = DriftConfig(warning=0.1, critical=0.2)
    assert status_for(0.5, 0.02, DriftConfig()) == "ok"  # not significant at 0.01
    assert status_for(0.05, 1e-6, cfg) == "ok"
    assert status_for(0.15, 1e-6, cfg) == "warning"
    assert status_for(0.2, 1e-6, cfg) == "critical"
    assert status_for(None, None, cfg) == "ok"


def test_large_samples_of_one_distribution_stay_ok_and_small_noise_is_absorbed_by_the_adjustment() -> None:
    rng = np.random.default_rng(9)
    big = psi_numeric(rng.lognormal(size=200_000), rng.lognormal(size=150_000), cfg=CFG)
    assert big.status == "ok" and big.psi < 0.01  # type: ignore[operator]
    small = psi_numeric(rng.normal(size=50), rng.normal(size=50), cfg=CFG)
    assert small.psi > 0.1  # type: ignore[operator]  # raw PSI at n=50 is mostly noise...
    assert small.psi_adjusted < small.psi  # type: ignore[operator]  # ...which the adjustment removes


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=10, max_size=80),
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=10, max_size=80),
)
def test_psi_is_never_negative(base: list[float], head: list[float]) -> None:
    sig = psi_numeric(np.array(base), np.array(head), n_perm=99)
    assert sig.psi is not None and sig.psi >= -1e-12
    assert all(b.contribution >= -1e-12 for b in sig.bins)
    assert sum(b.base_frac for b in sig.bins) == pytest.approx(1.0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.floats(0, 1), st.none()), min_size=10, max_size=120))
def test_identical_samples_are_ok(values: list[float | None]) -> None:
    sig = psi_numeric(values, list(values), cfg=CFG, n_perm=99)
    assert sig.status in {"ok", "skipped"}
    if sig.status == "ok":
        assert sig.psi == pytest.approx(0.0, abs=1e-12)


# --- signals of two runs -----------------------------------------------------------------------------


def _run(
    rng: np.random.Generator, n: int, *, judge_shift: float = 0.0, errors: int = 0, slow: float = 1.0
) -> RunResult:
    meta = RunMeta(
        suite="s",
        tool_version="0",
        config_hash="c",
        dataset_hash="d",
        metrics_hash="m",
        provider=ModelInfo(type="gemini", model="gemini-2.5-flash"),
        started_at="2025-01-01T00:00:00Z",
        finished_at="2025-01-01T00:01:00Z",
    )
    cases = []
    for i in range(n):
        if i < errors:
            cases.append(
                CaseResult(
                    id=f"c{i}",
                    prompt="p",
                    error="503 UNAVAILABLE",
                    metrics={"faithfulness": MetricScore(error="no output")},
                )
            )
            continue
        f = float(np.clip(np.rint(rng.uniform(2, 5) + 4 * judge_shift), 1, 5) - 1) / 4
        text = "x" * int(rng.integers(50, 400))
        cases.append(
            CaseResult(
                id=f"c{i}",
                prompt="p",
                output=text,
                finish_reason="STOP",
                latency_ms=float(rng.lognormal(6, 0.3)) * slow,
                output_tokens=len(text) // 4,
                metrics={"faithfulness": MetricScore(score=f)},
                score=f,
            )
        )
    from llmops_action.core.results import MetricAggregate

    return RunResult(run=meta, cases=cases, metrics={"faithfulness": MetricAggregate(kind="score")})


def test_run_signals_cover_judge_score_latency_tokens_length_error_and_finish_reason() -> None:
    rng = np.random.default_rng(0)
    sigs = drift_signals(_run(rng, 80), _run(rng, 80), CFG)
    assert [s.signal for s in sigs] == [
        "faithfulness",
        "score",
        "latency_ms",
        "output_tokens",
        "output_length",
        "error",
        "finish_reason",
    ]
    assert all(s.status == "ok" for s in sigs)


def test_slower_head_and_failing_cases_drift_and_block_only_when_opted_in() -> None:
    rng = np.random.default_rng(1)
    cfg = DriftConfig(block=["latency_ms"])
    sigs = {s.signal: s for s in drift_signals(_run(rng, 80), _run(rng, 80, slow=3.0, errors=20), cfg)}
    assert sigs["latency_ms"].status == "critical" and sigs["latency_ms"].blocking
    assert sigs["error"].status == "critical" and not sigs["error"].blocking
    assert sigs["error"].top_bin == ERROR
    assert sigs["finish_reason"].status == "critical"


def test_signals_filter_and_unknown_names() -> None:
    rng = np.random.default_rng(2)
    cfg = DriftConfig(signals=["latency_ms", "tone"])
    sigs = drift_signals(_run(rng, 30), _run(rng, 30), cfg, judge_metrics=["faithfulness"])
    assert [s.signal for s in sigs] == ["latency_ms", "tone"]
    assert sigs[1].status == "skipped" and "unknown signal" in sigs[1].note and "faithfulness" in sigs[1].note


def test_drift_table_detects_kinds_per_feature() -> None:
    rng = np.random.default_rng(3)
    ref = {"country": list(rng.choice(["fr", "de", "us"], 300)), "propensity": list(rng.beta(2, 5, 300))}
    cur = {
        "country": list(rng.choice(["fr", "de", "us", "br"], 300)),
        "propensity": list(rng.beta(2, 5, 300) + 0.2),
    }
    sigs = {s.signal: s for s in drift_table(ref, cur, None, CFG)}
    assert sigs["country"].kind == "categorical" and sigs["country"].top_bin == "br"
    assert sigs["propensity"].kind == "numeric" and sigs["propensity"].status == "critical"
