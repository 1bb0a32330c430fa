from __future__ import annotations

import krippendorff
import numpy as np
import pytest

from llmops_action.core.agreement import agreement, agreement_aggregates, alpha_ordinal
from llmops_action.core.config import parse_config
from llmops_action.core.results import CaseResult, MetricScore

NAN = np.nan


def test_alpha_matches_the_krippendorff_package_on_random_tables_with_gaps() -> None:
    rng = np.random.default_rng(7)
    for _ in range(100):
        judges, cases = int(rng.integers(2, 5)), int(rng.integers(3, 40))
        truth = rng.integers(1, 6, size=cases)
        data = np.clip(truth + rng.integers(-1, 2, size=(judges, cases)), 1, 5).astype(float)
        data[rng.random(data.shape) < 0.15] = NAN
        if np.unique(data[~np.isnan(data)]).size < 2:
            continue
        expected = krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal")
        assert alpha_ordinal(data) == pytest.approx(expected, abs=1e-12)


def test_krippendorffs_own_example() -> None:
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the 4 coders x 12 units table.
    data = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
        [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
    ]
    assert alpha_ordinal(data) == pytest.approx(0.815, abs=5e-4)
    assert alpha_ordinal(data) == pytest.approx(
        krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal")
    )


def test_alpha_is_undefined_when_every_score_is_the_same_or_no_case_has_two_judges() -> None:
    assert alpha_ordinal([[5, 5, 5], [5, 5, 5]]) is None
    assert alpha_ordinal([[1, NAN], [NAN, 5]]) is None


CONFIG = parse_config(
    """
datasets: [d.jsonl]
provider: {type: outputs, path: o.jsonl}
judge:
  judges: [{model: gemini-2.5-flash}, {model: llama3, provider: openai, base_url: "http://127.0.0.1:1/v1"}]
metrics: [{type: judge, criterion: faithfulness}]
"""
)


def _case(cid: str, flash: list[int] | None, llama: list[int] | None) -> CaseResult:
    judges = {
        label: {"score": None, "error": "judge: boom"} if raw is None else {"score": 0.0, "raw_scores": raw}
        for label, raw in (("gemini-2.5-flash", flash), ("llama3", llama))
    }
    return CaseResult(
        id=cid, prompt="p", metrics={"faithfulness": MetricScore(score=0.5, details={"judges": judges})}
    )


def test_disagreement_is_two_points_or_more_and_the_cases_are_listed() -> None:
    cases = [
        _case("agree", [5], [5]),
        _case("one-apart", [4], [3]),
        _case("two-apart", [5], [3]),
        _case("far", [1, 1], [5, 4]),  # samples: each judge's mean, 1 vs 4.5
        _case("one-judge", [5], None),
    ]
    a = agreement(CONFIG.judge_metrics[0], ["gemini-2.5-flash", "llama3"], cases)

    assert a.cases == 4  # the case only one judge scored has no pair
    assert a.disagreement_share == pytest.approx(2 / 4)
    assert [d["id"] for d in a.disagreements] == ["far", "two-apart"]
    assert a.disagreements[0]["scores"] == {"gemini-2.5-flash": 1.0, "llama3": 4.5}
    data = [[5, 4, 5, 1, 5], [5, 3, 3, 4.5, NAN]]
    assert a.alpha == pytest.approx(krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal"))
    flat = agreement_aggregates(CONFIG, cases)
    assert flat == {
        "faithfulness.judge_alpha": a.alpha,
        "faithfulness.judge_disagreement": a.disagreement_share,
    }


def test_a_single_judge_has_no_agreement_figures() -> None:
    single = parse_config(
        "datasets: [d.jsonl]\nprovider: {type: outputs, path: o.jsonl}\n"
        "metrics: [{type: judge, criterion: faithfulness}]\n"
    )
    assert agreement_aggregates(single, [_case("x", [5], [1])]) == {}
