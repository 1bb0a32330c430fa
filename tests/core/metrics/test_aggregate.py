from __future__ import annotations

import numpy as np
import pytest

from llmops_action.core.config import LlmopsConfig, MetricConfig
from llmops_action.core.metrics.aggregate import aggregate_run, case_score, percentile
from llmops_action.core.results import CaseResult, MetricScore

BLEU = MetricConfig(type="bleu", weight=0.2)
ROUGE = MetricConfig(type="rouge_l", weight=0.2)
FAITH = MetricConfig(type="judge", criterion="faithfulness", weight=0.6)
PII = MetricConfig(type="pii")
LENGTH = MetricConfig(type="length")
METRICS = [BLEU, ROUGE, FAITH, PII, LENGTH]


def config(metrics: list[MetricConfig] = METRICS) -> LlmopsConfig:
    return LlmopsConfig.model_validate(
        {"datasets": ["d.jsonl"], "provider": {"type": "outputs", "path": "o.jsonl"}, "metrics": metrics}
    )


def ok(score: float, **details: object) -> MetricScore:
    return MetricScore(score=score, details=dict(details))


def test_case_score_is_the_weighted_mean() -> None:
    scores = {"bleu": ok(0.5), "rouge_l": ok(1.0), "faithfulness": ok(0.75)}
    assert case_score(METRICS, scores) == pytest.approx(0.2 * 0.5 + 0.2 * 1.0 + 0.6 * 0.75)


def test_a_skipped_weighted_metric_is_left_out_and_weights_renormalised() -> None:
    scores = {
        "bleu": ok(0.5),
        "rouge_l": ok(1.0),
        "faithfulness": MetricScore(skipped="no judge credentials"),
    }
    assert case_score(METRICS, scores) == pytest.approx(0.75)


def test_an_errored_or_missing_weighted_metric_gives_no_case_score() -> None:
    assert (
        case_score(METRICS, {"bleu": ok(1), "rouge_l": ok(1), "faithfulness": MetricScore(error="judge: x")})
        is None
    )
    assert case_score(METRICS, {"bleu": ok(1), "rouge_l": ok(1)}) is None


def test_no_weighted_score_at_all_is_none() -> None:
    assert case_score([PII], {"pii": ok(1.0)}) is None
    assert (
        case_score(
            METRICS, {k: MetricScore(skipped="no reference") for k in ("bleu", "rouge_l", "faithfulness")}
        )
        is None
    )


def case(
    i: int, metrics: dict[str, MetricScore], *, error: str | None = None, latency: float = 10.0
) -> CaseResult:
    return CaseResult(
        id=f"c{i}",
        prompt="p",
        output=None if error else "out",
        error=error,
        latency_ms=None if error else latency,
        metrics=metrics,
    )


def offline_cases() -> list[CaseResult]:
    out = []
    for i, (b, r) in enumerate([(0.2, 0.4), (0.6, 0.8), (1.0, 1.0)]):
        out.append(
            case(
                i,
                {
                    "bleu": ok(b),
                    "rouge_l": ok(r),
                    "faithfulness": MetricScore(skipped="no judge credentials"),
                    "pii": MetricScore(score=1.0, passed=True),
                    "length": MetricScore(details={"chars": 10 * (i + 1), "words": 2}),
                },
                latency=10.0 * (i + 1),
            )
        )
    reason = "no output: generation failed: boom"
    out.append(
        case(
            3,
            {k: MetricScore(error=reason) for k in ("bleu", "rouge_l", "pii", "length")}
            | {"faithfulness": MetricScore(skipped="no judge credentials")},
            error="boom",
        )
    )
    return out


def test_aggregate_run_offline_judge() -> None:
    metrics, flat = aggregate_run(config(), offline_cases())
    assert list(metrics) == ["bleu", "rouge_l", "faithfulness", "pii", "length", "score"]
    bleu = metrics["bleu"]
    assert (bleu.n, bleu.errors, bleu.weight, bleu.kind) == (3, 1, 0.2, "score")
    assert bleu.mean == pytest.approx(0.6) and bleu.std == pytest.approx(np.std([0.2, 0.6, 1.0], ddof=1))
    faith = metrics["faithfulness"]
    assert faith.mean is None and faith.skipped == "no judge credentials" and faith.n == 0
    assert metrics["pii"].kind == "pass_fail" and metrics["pii"].mean == 1.0
    assert metrics["length"].kind == "info" and metrics["length"].mean == pytest.approx(20.0)
    score = metrics["score"]
    assert score.skipped is None  # it has a value: a gate on it can pass
    assert score.mean == pytest.approx(np.mean([0.3, 0.7, 1.0])) and score.n == 3 and score.errors == 1
    assert score.excluded == {"faithfulness": "no judge credentials (4 of 4 cases)"}
    assert flat["score"] == score.mean and flat["bleu"] == bleu.mean and flat["faithfulness"] is None
    assert flat["error_rate"] == 0.25
    assert flat["latency_p50_ms"] == pytest.approx(20.0)
    assert flat["latency_p95_ms"] == pytest.approx(np.percentile([10, 20, 30], 95))
    assert flat["input_tokens_total"] is None and flat["cost_usd"] is None  # unknown, not zero
    assert flat["judge_error_rate"] is None


def test_score_is_skipped_when_every_weighted_metric_was_skipped() -> None:
    cases = [case(0, {"faithfulness": MetricScore(skipped="no judge credentials")})]
    metrics, flat = aggregate_run(config([FAITH]), cases)
    assert metrics["score"].mean is None and flat["score"] is None
    assert "every weighted metric was skipped" in (metrics["score"].skipped or "")


def test_judge_errors_feed_judge_error_rate_and_usage_totals() -> None:
    cases = [
        case(0, {"faithfulness": ok(1.0)}).model_copy(
            update={"input_tokens": 10, "output_tokens": 5, "cost_usd": 0.5}
        ),
        case(1, {"faithfulness": MetricScore(error="judge: bad")}).model_copy(update={"input_tokens": 7}),
    ]
    metrics, flat = aggregate_run(config([FAITH]), cases)
    assert flat["judge_error_rate"] == 0.5
    assert metrics["score"].errors == 1 and metrics["score"].n == 1
    assert flat["input_tokens_total"] == 17 and flat["output_tokens_total"] == 5 and flat["cost_usd"] == 0.5


def test_percentile() -> None:
    assert percentile([], 50) is None
    assert percentile([None, 3.0], 95) == 3.0
    assert percentile([1, 2, 3, 4], 50) == pytest.approx(2.5)
