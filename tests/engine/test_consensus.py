"""A panel of judges end to end: a Gemini judge (local Gemini server) and an OpenAI-compatible judge (local
/v1/chat/completions server), combined per case, their agreement in results.json, the comment and MLflow's
metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import krippendorff
import numpy as np
import pytest

from llmops_action.adapters.tracking import run_metrics
from llmops_action.core.compare import compare
from llmops_action.core.config import AbsoluteGate, GatesConfig
from llmops_action.core.gates import absolute_gates
from llmops_action.core.report.render import render_comment
from llmops_action.core.results import RunResult
from llmops_action.engine.evaluate import evaluate
from llmops_action.engine.workspace import load_workspace
from tests.support import openai_server
from tests.support.gemini_server import GeminiServer
from tests.support.grounded_workspace import FAITHFULNESS, make_grounded_workspace
from tests.support.judges import block, gemini_handler, grounded_verdict, openai_handler
from tests.support.openai_server import OpenAIServer

pytestmark = pytest.mark.slow

HARSH_ON = "Passwords must be rotated"  # the OpenAI-compatible judge gives this case 2 instead of 5
DOWN_ON = "Exports of audit logs"  # ... and answers 503 on this one


def strict_local_verdict(system: str, user: str) -> dict[str, Any]:
    verdict = grounded_verdict(system, user)
    if HARSH_ON in (block(user, "output") or ""):
        verdict = {**verdict, "score": 2, "reasoning": "too terse"}
    return verdict


def local_handler(body: dict[str, Any], model: str) -> openai_server.Answer:
    if DOWN_ON in openai_server.request_text(body):
        return openai_server.error_body(503, "model is loading")
    return openai_handler(strict_local_verdict)(body, model)


def _panel_run(tmp_path: Path, gemini: GeminiServer, local: OpenAIServer, **judge: Any) -> RunResult:
    root = make_grounded_workspace(
        tmp_path,
        metrics=[FAITHFULNESS],
        judge={
            "judges": [
                {"model": "gemini-2.5-flash", "base_url": gemini.url},
                {"model": "llama-3.1-8b", "provider": "openai", "base_url": local.url, "name": "local"},
            ],
            **judge,
        },
    )
    return evaluate(load_workspace(root / ".llmops.yml"), api_key="test-key", out_dir=tmp_path / "out")


@pytest.fixture
def servers() -> Any:
    with GeminiServer(gemini_handler()) as gemini, OpenAIServer(local_handler) as local:
        yield gemini, local


def _by_id(run: RunResult) -> dict[str, Any]:
    return {c.id: c.metrics["faithfulness"] for c in run.cases}


def test_the_consensus_uses_the_answering_judges_when_the_quorum_is_met(tmp_path: Path, servers: Any) -> None:
    gemini, local = servers
    run = _panel_run(tmp_path, gemini, local, min_judges=1, combine="mean")
    scores = _by_id(run)

    assert scores["g00"].score == 1.0  # both judges: 5 and 5
    assert scores["g03"].score == pytest.approx((1.0 + 0.25) / 2)  # 5 (gemini) and 2 (local), normalised
    down = scores["g05"]
    assert down.score == 1.0 and down.details["judges_answered"] == 1
    assert down.details["judges"]["local"]["error"].startswith("judge: provider error: openai-compatible 503")
    stored = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    per_judge = stored["cases"][3]["metrics"]["faithfulness"]["details"]["judges"]
    assert per_judge["gemini-2.5-flash"]["raw_scores"] == [5] and per_judge["local"]["raw_scores"] == [2]
    assert local.judge_requests()[0].body["response_format"]["json_schema"]["strict"] is True
    assert run.run.judge is not None and run.run.judge.model == "gemini-2.5-flash+local"


def test_below_the_quorum_the_metric_is_an_error_never_a_score(tmp_path: Path, servers: Any) -> None:
    gemini, local = servers
    run = _panel_run(tmp_path, gemini, local)  # min_judges defaults to every judge
    down = _by_id(run)["g05"]

    assert down.score is None
    assert down.error is not None and down.error.startswith(
        "judge consensus: 1 of 2 judges answered, 2 needed"
    )
    assert next(c for c in run.cases if c.id == "g05").score is None
    assert run.metrics["faithfulness"].errors == 1


def test_combine_min_takes_the_harshest_judgement(tmp_path: Path, servers: Any) -> None:
    gemini, local = servers
    run = _panel_run(tmp_path, gemini, local, min_judges=1, combine="min")
    assert _by_id(run)["g03"].score == 0.25


def test_agreement_reaches_results_the_comment_and_mlflow(tmp_path: Path, servers: Any) -> None:
    gemini, local = servers
    run = _panel_run(tmp_path, gemini, local, min_judges=1)

    flash = [5.0] * 8
    llama = [5.0, 5.0, 5.0, 2.0, 5.0, np.nan, 5.0, 5.0]
    expected = krippendorff.alpha(reliability_data=[flash, llama], level_of_measurement="ordinal")
    assert run.aggregates["faithfulness.judge_alpha"] == pytest.approx(expected)
    assert run.aggregates["faithfulness.judge_disagreement"] == pytest.approx(1 / 7)
    metrics = run_metrics(run)
    assert metrics["faithfulness.judge_alpha"] == pytest.approx(expected)
    comparison = compare(run, run, load_workspace(tmp_path / ".llmops.yml").config)
    comment = render_comment(comparison)
    assert "### Judge agreement" in comment
    assert "| faithfulness | gemini-2.5-flash, local |" in comment
    assert "| g03 | gemini-2.5-flash 5, local 2 |" in comment
    gates = GatesConfig(absolute=[AbsoluteGate(metric="faithfulness.judge_alpha", min=0.5)])
    [gate] = absolute_gates(gates, run.aggregates, run.metrics)  # agreement can be gated like any aggregate
    assert gate.status == "fail" and gate.value == pytest.approx(expected)


def test_a_panel_without_any_credentials_is_skipped_like_a_lone_judge(tmp_path: Path) -> None:
    root = make_grounded_workspace(
        tmp_path,
        metrics=[FAITHFULNESS],
        judge={
            "judges": [{"model": "a"}, {"model": "b", "provider": "openai", "api_key_env": "NO_SUCH_KEY"}]
        },
    )
    run = evaluate(load_workspace(root / ".llmops.yml"), env={})
    assert run.metrics["faithfulness"].skipped == "no judge credentials"


def test_each_judge_answers_once_and_only_its_errors_are_asked_again(tmp_path: Path, servers: Any) -> None:
    gemini, local = servers
    _panel_run(tmp_path, gemini, local, min_judges=1)
    first = (len(gemini.judge_requests()), len(local.judge_requests()))

    _panel_run(tmp_path, gemini, local, min_judges=1)

    assert len(gemini.judge_requests()) == first[0]  # every Gemini verdict came from its cache
    again = local.judge_requests()[first[1] :]
    assert again and all(
        DOWN_ON in openai_server.request_text(r.body) for r in again
    )  # errors are never cached
