"""The treatment / measurement split, pairing and the common composite score: pure functions of configs and runs."""

from __future__ import annotations

import pytest

from llmops_action.core import measurement as ms
from llmops_action.core.config import LlmopsConfig
from llmops_action.core.dataset import Case
from tests.support.results_factory import make_run


def config(**over: object) -> LlmopsConfig:
    data: dict[str, object] = {
        "datasets": ["cases.jsonl"],
        "provider": {"type": "gemini", "model": "gemini-2.5-flash", "temperature": 0.0},
        "judge": {"model": "gemini-2.5-pro", "base_url": "https://judge.example"},
        "metrics": [
            {"type": "judge", "criterion": "faithfulness", "weight": 0.6},
            {"type": "keyword_recall", "weight": 0.4},
        ],
    }
    data.update(over)
    return LlmopsConfig.model_validate(data)


def test_a_treatment_change_leaves_the_measurement_alone() -> None:
    base = config()
    head = config(provider={"type": "gemini", "model": "gemini-2.5-pro", "temperature": 0.2}, prompts=["p2"])
    assert ms.measurement_hash(base) == ms.measurement_hash(head)
    assert ms.treatment_hash(base) != ms.treatment_hash(head)
    assert ms.measurement_changes(base, head) == []


def test_the_head_runs_its_treatment_under_the_bases_measurement() -> None:
    base = config(gates={"regression": {"delta": 0.02}})
    head = config(
        provider={"type": "gemini", "model": "gemini-2.5-pro"},
        metrics=[{"type": "keyword_recall", "weight": 1.0}, {"type": "contains", "value": "x"}],
        gates={"regression": {"delta": 0.5}},
        max_error_rate=0.9,
    )
    governed = ms.governed(head, base)
    assert governed.provider == head.provider
    assert (governed.metrics, governed.gates, governed.judge, governed.max_error_rate) == (
        base.metrics,
        base.gates,
        base.judge,
        base.max_error_rate,
    )
    changes = ms.measurement_changes(base, head)
    assert "adds metric 'contains'" in changes and "removes metric 'faithfulness'" in changes
    assert "changes metric 'keyword_recall' (weight 0.4 -> 1.0)" in changes
    assert "changes gates" in changes and "changes max error rate" in changes


def test_the_preview_keeps_the_bases_judge_endpoint() -> None:
    base = config()
    head = config(judge={"model": "gemini-2.5-flash", "base_url": "https://attacker.example"})
    preview = ms.preview_config(head, base)
    assert preview.judge.model == "gemini-2.5-flash" and preview.judge.base_url == "https://judge.example"


def test_the_case_input_hash_covers_what_feeds_the_app_and_the_metrics_only() -> None:
    case = Case(id="a", prompt="p", vars={"q": "1"}, reference="r", keywords=["k"], tags=["golden"])
    same = case.model_copy(update={"id": "b", "prompt": "other", "tags": []})
    assert ms.case_input_hash(case) == ms.case_input_hash(same)
    for change in ({"vars": {"q": "2"}}, {"reference": "s"}, {"keywords": ["l"]}, {"contexts": ["c"]}):
        assert ms.case_input_hash(case.model_copy(update=change)) != ms.case_input_hash(case), change


def test_pairing_splits_paired_changed_added_and_removed_cases() -> None:
    base = make_run(n=5)
    head = make_run(n=6, sha="b" * 40)
    head.cases = head.cases[1:]
    head.cases[0] = head.cases[0].model_copy(update={"reference": "another reference"})
    pairing = ms.pair_cases(base, head)
    assert [h.id for _, h in pairing.pairs] == ["q-002", "q-003", "q-004"]
    assert [h.id for _, h in pairing.changed] == ["q-001"]
    assert [c.id for c in pairing.added] == ["q-005"]
    assert [c.id for c in pairing.removed] == ["q-000"]


def test_the_composite_score_covers_only_the_weighted_metrics_both_sides_have() -> None:
    base, head = make_run(), make_run(sha="b" * 40)
    head.metrics["faithfulness"] = head.metrics["faithfulness"].model_copy(
        update={"skipped": "no judge credentials"}
    )
    common = ms.common_score({"faithfulness": 0.6, "keyword_recall": 0.4, "json_valid": 0.0}, base, head)
    assert common.weights == {"keyword_recall": 0.4}
    assert common.left_out == {"faithfulness": "head: skipped (no judge credentials)"}
    rescored = ms.rescore_composite(base, common)
    assert [c.score for c in rescored.cases] == pytest.approx(
        [c.metrics["keyword_recall"].score for c in base.cases]
    )
    assert rescored.metrics["score"].excluded == common.left_out
    assert rescored.aggregates["score"] == pytest.approx(rescored.metrics["score"].mean)


def test_an_error_is_not_an_outcome() -> None:
    run = make_run(errors=[2])
    assert ms.error_of(run.cases[2]) is not None and ms.error_of(run.cases[0]) is None
