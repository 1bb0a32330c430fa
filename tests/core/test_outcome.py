from __future__ import annotations

from llmops_action.core.config import parse_config
from llmops_action.core.outcome import incomplete_rate, run_outcome
from llmops_action.core.results import CaseResult, MetricScore

CONFIG = parse_config(
    """
datasets: [cases.jsonl]
provider: {type: python, function: app:answer}
metrics:
  - {type: contains, value: "ok", weight: 1}
  - {type: judge, criterion: faithfulness}
gates:
  absolute: [{metric: score, min: 0.5}]
max_error_rate: 0.2
"""
)


def _case(i: int, *, error: str | None = None, judge_error: str | None = None) -> CaseResult:
    scores = {"contains": MetricScore(score=1.0, passed=True)}
    scores["faithfulness"] = MetricScore(error=judge_error) if judge_error else MetricScore(score=0.9)
    if error:
        scores = {k: MetricScore(error=f"no output: {error}") for k in scores}
    return CaseResult(id=f"c{i}", prompt="p", output=None if error else "ok", error=error, metrics=scores)


def test_a_judge_error_makes_a_case_incomplete_like_a_generation_error() -> None:
    cases = [_case(0), _case(1, error="503 UNAVAILABLE"), _case(2, judge_error="judge: unparseable verdict")]
    assert incomplete_rate(cases) == 2 / 3


def test_too_many_errors_make_the_run_incomplete_even_when_gates_pass() -> None:
    cases = [_case(i) for i in range(6)] + [
        _case(6, judge_error="judge: provider error"),
        _case(7, error="timeout"),
    ]
    outcome = run_outcome(CONFIG, cases, judge_calls=8)
    assert [g.status for g in outcome.gates] == ["pass"]
    assert outcome.verdict == "incomplete"  # 2 of 8 = 25% > 20%
    assert outcome.counts.errors == 2 and outcome.counts.judge_calls == 8


def test_within_the_error_budget_the_gates_decide() -> None:
    cases = [_case(i) for i in range(9)] + [_case(9, error="timeout")]
    assert run_outcome(CONFIG, cases, judge_calls=9).verdict == "pass"
