from __future__ import annotations

import numpy as np
import pytest

from llmops_action.core.compare import NO_BASELINE, compare, paired_cases, prompt_changes, usage_summary
from llmops_action.core.config import GatesConfig, LlmopsConfig, RegressionGates
from tests.support.results_factory import make_run, prompt_info

BASE_SHA, HEAD_SHA = "a" * 40, "b" * 40


def _config(**gates: object) -> LlmopsConfig:
    return LlmopsConfig.model_validate(
        {
            "datasets": ["data/cases.jsonl"],
            "provider": {"type": "outputs", "path": "outputs.jsonl"},
            "metrics": [
                {"type": "judge", "criterion": "faithfulness", "weight": 0.6},
                {"type": "keyword_recall", "weight": 0.4},
                {"type": "json_valid"},
            ],
            "gates": gates or {},
        }
    )


def gate(c, name):  # type: ignore[no-untyped-def]
    return next(g for g in c.gates if g.name == name)


def test_a_degraded_head_fails_the_regression_gate() -> None:
    base = make_run(sha=BASE_SHA)
    head = make_run(sha=HEAD_SHA, run_seed=2, shift=-0.25)
    c = compare(base, head, _config())

    assert c.verdict == "fail"
    assert c.like_for_like and c.not_comparable == []
    g = gate(c, "regression/score")
    assert g.status == "fail" and g.blocking
    score = next(m for m in c.metrics if m.name == "score")
    assert score.gated and score.decision == "block"
    assert score.delta is not None and score.delta < -0.1
    assert score.ci_low is not None and score.ci_high is not None and score.ci_high < 0
    assert score.p_adjusted is not None and score.p_adjusted < 0.05
    assert score.n_paired == 40 and score.regressed > score.improved
    # The drop is on what was measured, not invented: the head mean equals the head's own aggregate.
    assert score.head_mean == pytest.approx(np.mean([x.score for x in head.cases]))


def test_identical_runs_pass_with_a_zero_delta() -> None:
    base = make_run(sha=BASE_SHA)
    c = compare(base, base.model_copy(deep=True), _config())
    assert c.verdict == "pass"
    assert gate(c, "regression/score").status == "pass"
    score = next(m for m in c.metrics if m.name == "score")
    assert score.delta == 0 and score.unchanged == 40 and score.decision == "pass"
    assert c.worst_cases == []
    assert c.prompt_changes == []


@pytest.mark.parametrize(
    "field",
    ["dataset_hash", "metrics_hash", "config_hash"],
)
def test_a_difference_in_the_recorded_hashes_never_turns_the_gate_off(field: str) -> None:
    base = make_run(sha=BASE_SHA)
    head = make_run(sha=HEAD_SHA, run_seed=2, shift=-0.25, **{field: "other"})
    c = compare(base, head, _config())
    assert c.like_for_like and c.not_comparable == []
    assert gate(c, "regression/score").status == "fail"


def test_added_removed_and_changed_cases_are_reported_apart_and_the_gate_runs_on_the_rest() -> None:
    base = make_run(sha=BASE_SHA, n=40)
    head = make_run(sha=HEAD_SHA, n=45, run_seed=2)
    head.cases = [c for c in head.cases if c.id not in ("q-000", "q-001")]  # removed
    head.cases[0] = head.cases[0].model_copy(update={"vars": {"question": "another question?"}})  # changed
    c = compare(base, head, _config())
    cc = c.case_changes
    assert cc.added == [f"q-{i:03d}" for i in range(40, 45)]
    assert cc.removed == ["q-000", "q-001"]
    assert cc.changed == ["q-002"]
    assert cc.removed_base_mean == pytest.approx(np.mean([x.score for x in base.cases[:2]]))
    assert c.paired_cases == 37
    assert next(m for m in c.metrics if m.name == "score").n_paired == 37
    assert gate(c, "regression/score").status != "skipped"


def test_a_judge_less_head_is_compared_on_the_metrics_both_sides_have() -> None:
    """The fork case: no judge on the head is never a false drop, and the comment says what was left out."""
    base = make_run(sha=BASE_SHA)
    head = make_run(sha=HEAD_SHA, run_seed=2)
    head.metrics["faithfulness"] = head.metrics["faithfulness"].model_copy(
        update={"skipped": "no judge credentials", "mean": None, "n": 0}
    )
    for case in head.cases:
        case.metrics["faithfulness"] = case.metrics["faithfulness"].model_copy(
            update={"score": None, "skipped": "no judge credentials"}
        )
        case.score = case.metrics["keyword_recall"].score  # renormalised over what ran
    c = compare(base, head, _config())
    assert "faithfulness" in c.score_left_out and "no judge credentials" in c.score_left_out["faithfulness"]
    score = next(m for m in c.metrics if m.name == "score")
    kr = [x.metrics["keyword_recall"].score for x in base.cases]
    assert score.base_mean == pytest.approx(np.mean(kr))  # the base is re-scored on keyword_recall alone
    assert gate(c, "regression/score").status == "pass"
    assert any("left out: 'faithfulness'" in w for w in c.warnings)


def test_head_errors_on_cases_the_base_scored_are_named_among_the_worst_and_count() -> None:
    base = make_run(sha=BASE_SHA)
    few = compare(base, make_run(sha=HEAD_SHA, errors=[5]), _config())
    assert few.head_errors_on_scored == 1 and few.verdict != "incomplete"
    assert few.worst_cases[0].id == "q-005" and "503" in (few.worst_cases[0].head_error or "")
    many = compare(base, make_run(sha=HEAD_SHA, errors=[1, 2, 3]), _config())  # 3/40 > 5%
    assert many.verdict == "incomplete"
    assert any("could not score 3 of the 40" in w for w in many.warnings)


def test_a_prompt_change_alone_keeps_the_comparison_like_for_like() -> None:
    base = make_run(sha=BASE_SHA)
    head = make_run(sha=HEAD_SHA, prompts=[prompt_info(version="1.3.0", system="Be brief.")])
    c = compare(base, head, None)
    assert c.like_for_like
    [change] = c.prompt_changes
    assert change.status == "changed" and (change.old_version, change.new_version) == ("1.2.0", "1.3.0")
    assert "-You are a document search assistant." in change.diff and "+Be brief." in change.diff
    assert not change.version_unchanged and c.warnings == []


def test_content_changed_without_a_version_bump_warns() -> None:
    base = make_run(sha=BASE_SHA)
    head = make_run(sha=HEAD_SHA, prompts=[prompt_info(template="{{ question }}")])
    c = compare(base, head, None)
    assert c.prompt_changes[0].version_unchanged
    assert any("still 1.2.0" in w for w in c.warnings)


def test_added_and_removed_prompts_are_listed() -> None:
    changes = prompt_changes(
        [prompt_info(), prompt_info(name="old_one")],
        [prompt_info(), prompt_info(name="new_one", version="0.1.0")],
    )
    assert [(p.name, p.status) for p in changes] == [("new_one", "added"), ("old_one", "removed")]
    assert changes[0].diff.startswith("--- /dev/null")


def test_without_a_baseline_regression_gates_are_skipped_and_the_warning_says_how_to_get_one() -> None:
    head = make_run(sha=HEAD_SHA)
    c = compare(None, head, _config(absolute=[{"metric": "score", "min": 0.99}]))
    assert c.base is None and c.base_source == "none"
    assert gate(c, "regression/score").status == "skipped"
    assert gate(c, "regression/score").reason == "no baseline yet"
    assert gate(c, "quality/score>=0.99").status == "fail"
    assert c.verdict == "fail"
    assert NO_BASELINE in c.warnings and "push to the default branch" in NO_BASELINE
    assert "base" not in c.score_distribution and c.score_distribution["head"]


def test_an_incomplete_head_makes_the_comparison_incomplete() -> None:
    base = make_run(sha=BASE_SHA)
    c = compare(base, make_run(sha=HEAD_SHA, verdict="incomplete"), None)
    assert c.verdict == "incomplete"


def test_cases_pair_by_id_and_inputs_errors_included() -> None:
    base = make_run(sha=BASE_SHA, errors=[3])
    head = make_run(sha=HEAD_SHA, n=42, errors=[5, 6])
    pairs = paired_cases(base, head)
    assert len(pairs) == 40 and "q-040" not in {h.id for _, h in pairs}
    c = compare(base, head, None)
    assert c.paired_cases == 40 and c.only_head == 2 and c.only_base == 0
    assert {e["id"] for e in c.extra["head_errors"]} == {"q-005", "q-006"}
    assert next(m for m in c.metrics if m.name == "score").n_paired == 37  # scored on both sides


def test_worst_cases_are_the_biggest_drops_with_outputs_and_the_judges_reason() -> None:
    base = make_run(sha=BASE_SHA)
    head = make_run(sha=HEAD_SHA, run_seed=2, shift=-0.2, output=lambda i, f: f"head answer {i}")
    c = compare(base, head, None)
    deltas = [d.delta for d in c.worst_cases]
    assert len(deltas) == 10 and deltas == sorted(deltas) and all(d is not None and d < 0 for d in deltas)
    all_drops = sorted(d["delta"] for d in c.extra["case_deltas"])
    assert deltas == all_drops[:10]
    w = c.worst_cases[0]
    assert (
        w.head_output == f"head answer {int(w.id[2:])}"
        and w.base_output
        and w.base_output.startswith("According")
    )
    assert w.judge_reason and "supported" in w.judge_reason


def test_pass_fail_metrics_get_mcnemar_and_only_gated_metrics_are_holm_adjusted() -> None:
    base = make_run(sha=BASE_SHA)
    head = make_run(sha=HEAD_SHA, run_seed=2, shift=-0.1)
    cfg = _config(regression={"metrics": ["score", "faithfulness"]})
    c = compare(base, head, cfg)
    by = {m.name: m for m in c.metrics}
    assert by["json_valid"].kind == "pass_fail" and by["json_valid"].mcnemar_p is not None
    assert by["keyword_recall"].mcnemar_p is None
    assert by["keyword_recall"].p_adjusted is None and not by["keyword_recall"].gated
    for name in ("score", "faithfulness"):
        m = by[name]
        assert m.gated and m.p_value is not None and m.p_adjusted is not None and m.p_adjusted >= m.p_value
    assert {g.name for g in c.gates if g.family == "regression"} == {
        "regression/score",
        "regression/faithfulness",
    }


def test_too_few_paired_cases_is_insufficient_data_never_a_pass() -> None:
    base = make_run(sha=BASE_SHA, n=1)
    c = compare(base, make_run(sha=HEAD_SHA, n=1, shift=-0.3), None)
    score = next(m for m in c.metrics if m.name == "score")
    assert "insufficient data" in score.note and score.decision == "warn"
    assert gate(c, "regression/score").status == "warn"


def test_usage_summaries_come_from_the_cases() -> None:
    run = make_run(sha=HEAD_SHA, errors=[0])
    u = usage_summary(run)
    lat = [x.latency_ms for x in run.cases if x.latency_ms is not None]
    assert u.latency_p95_ms == pytest.approx(np.percentile(lat, 95))
    assert u.output_tokens == sum(x.output_tokens or 0 for x in run.cases)
    assert u.errors == 1 and u.cache_hits == sum(x.cache_hit for x in run.cases)


def test_latency_and_cost_rules_use_the_usage_summaries() -> None:
    base = make_run(sha=BASE_SHA)
    head = make_run(sha=HEAD_SHA, latency_scale=2.0)
    cfg = LlmopsConfig.model_validate(
        {
            **_config().model_dump(by_alias=True, exclude={"gates"}),
            "gates": GatesConfig(regression=RegressionGates(latency_p95_pct=20.0)).model_dump(),
        }
    )
    c = compare(base, head, cfg)
    assert gate(c, "regression/latency_p95").status == "fail"


def test_trend_and_links_are_carried_through_and_the_result_round_trips() -> None:
    from llmops_action.core.comparison import Comparison, TrendPoint

    c = compare(
        make_run(sha=BASE_SHA),
        make_run(sha=HEAD_SHA),
        None,
        base_source="stored",
        trend=[TrendPoint(label="main@aaaaaaa", score=0.8)],
        links={"workflow_run": "https://github.com/o/r/actions/runs/1"},
    )
    assert c.base_source == "stored" and c.trend[0].score == 0.8
    assert Comparison.from_json(c.to_json()) == c


def test_a_skipped_metric_says_why_and_is_not_tested() -> None:
    base = make_run(sha=BASE_SHA)
    head = make_run(sha=HEAD_SHA)
    head.metrics["faithfulness"] = head.metrics["faithfulness"].model_copy(
        update={"skipped": "no judge credentials", "mean": None, "n": 0}
    )
    for case in head.cases:
        case.metrics["faithfulness"] = case.metrics["faithfulness"].model_copy(
            update={"score": None, "skipped": "no judge credentials"}
        )
    c = compare(base, head, _config(regression={"metrics": ["faithfulness"]}))
    m = next(m for m in c.metrics if m.name == "faithfulness")
    assert m.note == "skipped: no judge credentials" and m.delta is None and m.p_value is None
    # A gated metric that could not be measured never passes quietly.
    assert gate(c, "regression/faithfulness").status == "fail"


def test_an_informational_metric_shows_its_means_but_is_never_tested() -> None:
    from llmops_action.core.results import MetricAggregate, MetricScore

    runs = []
    for sha, chars in (("b" * 40, 80.0), (HEAD_SHA, 200.0)):
        run = make_run(sha=sha)
        run.metrics["length"] = MetricAggregate(mean=chars, n=len(run.cases), kind="info")
        for case in run.cases:
            case.metrics["length"] = MetricScore(details={"chars": chars})
        runs.append(run)

    [length] = [m for m in compare(*runs, None).metrics if m.name == "length"]

    assert (length.base_mean, length.head_mean) == (80.0, 200.0)
    assert length.p_value is None and length.decision == "pass"
    assert length.note == "informational: means only, not tested"
