"""Experiment results that do not fool anyone: peeking, sample-ratio mismatch, guardrails, fixed-n."""

from __future__ import annotations

import numpy as np
import pytest

from llmops_action.core.experiment_analysis import OutcomeTable, analyse, unit_series
from llmops_action.core.experiment_config import ExperimentConfig
from llmops_action.core.experiment_simulation import simulate_peeking, simulated_table


def config(**over: object) -> ExperimentConfig:
    base: dict[str, object] = {
        "name": "exp",
        "variants": {"control": {"model": "a"}, "treatment": {"model": "b"}},
        "metric": {"name": "up", "type": "rate"},
    }
    return ExperimentConfig.model_validate({**base, **over})


@pytest.mark.slow
def test_peeking_every_50_units_keeps_false_winners_under_5_percent() -> None:
    rates = simulate_peeking(config(), simulations=200, units=2000, peek_every=50, p0=0.5, p1=0.5, seed=11)
    assert rates.sequential <= 0.05
    # the same data read with a fixed-n z-test at every peek names far more false winners
    assert rates.naive > 0.10
    assert rates.naive > 3 * rates.sequential


def test_a_true_5_point_lift_on_50_percent_finds_the_treatment() -> None:
    rates = simulate_peeking(config(), simulations=10, units=8000, peek_every=500, p0=0.5, p1=0.55, seed=5)
    assert rates.sequential_treatment >= 0.8


def test_a_45_55_split_configured_50_50_trips_the_srm_check() -> None:
    t = simulated_table(np.random.default_rng(1), 4000, 0.5, 0.6, treatment_share=0.55, metric="up")
    r = analyse(config(), t)
    assert not r.srm.passed and r.srm.p_value < 0.001
    assert r.decision == "invalid" and r.recommended_winner is None
    assert "sample-ratio mismatch" in r.reasons[0]


def test_a_90_10_split_configured_90_10_passes_it() -> None:
    t = simulated_table(np.random.default_rng(2), 5000, 0.5, 0.5, treatment_share=0.1, metric="up")
    assert analyse(config(split={"control": 90, "treatment": 10}), t).srm.passed


def test_below_the_minimum_sample_it_says_how_many_units_are_still_needed() -> None:
    t = simulated_table(np.random.default_rng(3), 120, 0.5, 0.9, treatment_share=0.5, metric="up")
    r = analyse(config(), t)
    n = min(a.n for a in r.primary.arms.values())
    assert r.decision == "keep-running" and r.primary.sequential is None
    assert r.primary.needed_per_variant is not None and r.primary.needed_per_variant >= 100 - n
    assert f"{n} of 100 units per variant" in r.reasons[0]


def test_the_fixed_n_result_waits_for_the_planned_sample() -> None:
    cfg = config(planned_samples=1000)
    t = simulated_table(np.random.default_rng(4), 1500, 0.5, 0.5, treatment_share=0.5, metric="up")
    assert analyse(cfg, t).primary.fixed is None
    t = simulated_table(np.random.default_rng(4), 2600, 0.5, 0.5, treatment_share=0.5, metric="up")
    fixed = analyse(cfg, t).primary.fixed
    assert fixed is not None and fixed.method.startswith("two-proportion") and fixed.low < 0 < fixed.high


def _with_guardrail(rng: np.random.Generator, n: int, latency_shift: float) -> OutcomeTable:
    t = simulated_table(rng, n, 0.5, 0.6, treatment_share=0.5, metric="up")
    latency = rng.normal(800, 50, n) + latency_shift * t.variant
    return OutcomeTable(
        unit=np.r_[t.unit, t.unit],
        variant=np.r_[t.variant, t.variant],
        metric=np.r_[t.metric, np.ones(n, np.int32)],
        value=np.r_[t.value, latency],
        time=np.r_[t.time, t.time],
        metrics=("up", "latency_ms"),
    )


def test_a_guardrail_regression_stops_the_experiment_without_a_winner() -> None:
    cfg = config(
        guardrails=[{"name": "latency_ms", "type": "continuous", "direction": "decrease", "tolerance": 10}]
    )
    r = analyse(cfg, _with_guardrail(np.random.default_rng(6), 3000, latency_shift=40))
    assert r.guardrails[0].regressed
    assert r.decision == "stop" and r.recommended_winner is None
    ok = analyse(cfg, _with_guardrail(np.random.default_rng(6), 3000, latency_shift=0))
    assert not ok.guardrails[0].regressed and ok.decision == "winner" and ok.recommended_winner == "treatment"


def test_a_decrease_metric_names_the_lower_variant_the_winner() -> None:
    cfg = config(metric={"name": "up", "type": "rate", "direction": "decrease"})
    t = simulated_table(np.random.default_rng(8), 4000, 0.5, 0.6, treatment_share=0.5, metric="up")
    assert analyse(cfg, t).recommended_winner == "control"


def test_a_unit_is_counted_once_and_a_unit_in_both_variants_is_left_out() -> None:
    t = OutcomeTable(
        unit=np.array([1, 1, 2, 3, 3]),
        variant=np.array([0, 0, 1, 0, 1], np.int8),
        metric=np.zeros(5, np.int32),
        value=np.array([1.0, 0.0, 1.0, 1.0, 1.0]),
        time=np.array([0.0, 5.0, 1.0, 2.0, 3.0]),
        metrics=("up",),
    )
    s = unit_series(t, "up", "rate")
    assert s.mixed == 1 and list(s.variant) == [0, 1]
    assert list(s.value) == [0.0, 1.0]  # unit 1's latest record wins for a rate
    assert list(unit_series(t, "up", "continuous").value) == [0.5, 1.0]
    assert "both variants" in analyse(config(), t).warnings[0]


def test_the_result_serialises_to_json() -> None:
    import json

    t = simulated_table(np.random.default_rng(9), 500, 0.5, 0.5, treatment_share=0.5, metric="up")
    data = json.loads(json.dumps(analyse(config(), t).to_dict()))
    assert data["primary"]["arms"]["control"]["n"] > 0 and data["schema_version"] == 1
