"""evaluate(): the whole pipeline on tiny real workspaces, with the python provider and with Gemini through
google-genai against the local fake server."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmops_action.core.results import RunResult
from llmops_action.engine.evaluate import evaluate
from llmops_action.engine.runner import RetryPolicy, Runner
from llmops_action.engine.workspace import load_workspace
from llmops_action.errors import UserInputError
from tests.support.eval_workspace import make_workspace
from tests.support.gemini_server import Faults, GeminiServer, error_body, fixture, request_text

JUDGE = {"type": "judge", "criterion": "answer_relevance", "weight": 1.0}


@pytest.fixture
def server() -> Iterator[GeminiServer]:
    with GeminiServer() as s:
        yield s


def gemini_ws(
    root: Path, server: GeminiServer, *, n: int = 4, metrics: list[dict[str, Any]] | None = None, **extra: Any
) -> Any:
    make_workspace(
        root,
        n_cases=n,
        provider={"type": "gemini", "model": "gemini-2.5-flash", "base_url": server.url, "temperature": 0.0},
        metrics=metrics or [{"type": "contains", "value": "item", "weight": 1.0}, JUDGE],
        extra={"judge": {"model": "gemini-2.5-flash", "base_url": server.url}, **extra},
    )
    return load_workspace(root / ".llmops.yml")


class Recorder:
    """An injected sleeper: records the delays, sleeps for none of them."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def fast_runner(sleep: Recorder, concurrency: int = 4) -> Runner:
    return Runner(
        concurrency=concurrency, policy=RetryPolicy(3, 0.001, 5.0), sleep=sleep, rng=random.Random(0)
    )


# -- python provider, offline ----------------------------------------------------------------------------------


def test_python_provider_end_to_end_writes_results(tmp_path: Path) -> None:
    cases = [
        {
            "id": f"c{i}",
            "prompt": "qa",
            "vars": {"question": f"Q{i}?"},
            "keywords": ["42"],
            "tags": ["golden"],
        }
        for i in range(5)
    ]
    make_workspace(tmp_path, cases=cases, extra={"gates": {"absolute": [{"metric": "score", "min": 0.9}]}})
    ws = load_workspace(tmp_path / ".llmops.yml")
    result = evaluate(ws, out_dir=tmp_path / "out", git_sha="abc123", git_branch="main", event="push")

    saved = RunResult.read(tmp_path / "out" / "results.json")
    assert saved == result
    assert [c.id for c in saved.cases] == [f"c{i}" for i in range(5)]
    case = saved.cases[0]
    assert case.output == "The answer about general is 42. Q0?"
    assert (case.input_tokens, case.output_tokens, case.prompt_version) == (10, 7, "1.0.0")
    assert case.metrics["contains"].score == 1.0 and case.score == 1.0
    assert saved.verdict == "pass" and [g.status for g in saved.gates] == ["pass"]
    meta = saved.run
    assert (meta.git_sha, meta.git_branch, meta.event, meta.suite) == ("abc123", "main", "push", "tiny")
    assert meta.config_hash == ws.config.config_hash()
    (prompt,) = meta.prompts
    assert prompt.name == "qa" and prompt.template == "Question: {{ question }}" and prompt.hash
    assert prompt.system.startswith("You answer questions")
    assert meta.provider.type == "python" and meta.judge is None
    assert saved.counts.cases == 5 and saved.counts.errors == 0


def test_app_exception_is_recorded_on_the_case_never_scored(tmp_path: Path) -> None:
    cases = [
        {"id": "ok", "prompt": "qa", "vars": {"question": "fine?"}, "keywords": ["42"]},
        {"id": "bad", "prompt": "qa", "vars": {"question": "boom now"}, "keywords": ["42"]},
    ]
    make_workspace(tmp_path, cases=cases, extra={"max_error_rate": 0.6})
    result = evaluate(load_workspace(tmp_path / ".llmops.yml"))
    bad = result.case_map()["bad"]
    assert "RuntimeError" in (bad.error or "") and bad.output is None and bad.score is None
    assert all(s.score is None and s.error for s in bad.metrics.values())
    assert result.case_map()["ok"].score == 1.0
    assert result.verdict == "pass"  # 1 of 2 failed, within max_error_rate 0.6


def test_error_rate_above_the_limit_makes_the_run_incomplete(tmp_path: Path) -> None:
    cases = [
        {"id": f"c{i}", "prompt": "qa", "vars": {"question": "boom" if i < 2 else "ok"}} for i in range(10)
    ]
    make_workspace(tmp_path, cases=cases)
    result = evaluate(load_workspace(tmp_path / ".llmops.yml"))
    assert result.verdict == "incomplete"
    assert result.aggregates["error_rate"] == pytest.approx(0.2)


def test_render_errors_stop_the_run_before_any_call(tmp_path: Path, server: GeminiServer) -> None:
    root = tmp_path
    make_workspace(
        root,
        cases=[{"id": "c1", "prompt": "qa", "vars": {"topic": "no question"}}],
        provider={"type": "gemini", "model": "gemini-2.5-flash", "base_url": server.url},
    )
    with pytest.raises(UserInputError, match=r"case 'c1'.*question"):
        evaluate(load_workspace(root / ".llmops.yml"), api_key="k", out_dir=root / "out")
    assert server.requests == [] and not (root / "out").exists()


def test_shards_partition_the_cases(tmp_path: Path) -> None:
    make_workspace(tmp_path, n_cases=12)
    ws = load_workspace(tmp_path / ".llmops.yml")
    parts = [evaluate(ws, shard=(i, 3), use_cache=False) for i in (1, 2, 3)]
    ids = [c.id for p in parts for c in p.cases]
    assert sorted(ids) == sorted(c.id for c in ws.cases)
    assert {p.run.shard for p in parts} == {"1/3", "2/3", "3/3"}
    assert len({p.run.dataset_hash for p in parts}) == 1  # the whole dataset, not the shard


def test_outputs_provider_missing_case_is_an_error(tmp_path: Path) -> None:
    make_workspace(
        tmp_path,
        n_cases=3,
        provider={"type": "outputs", "path": "outputs.jsonl"},
        extra={"max_error_rate": 0.5},
    )
    (tmp_path / "outputs.jsonl").write_text(
        '{"id": "c000", "output": "42 answer"}\n{"id": "c001", "output": "no"}\n'
    )
    result = evaluate(load_workspace(tmp_path / ".llmops.yml"))
    by_id = result.case_map()
    assert by_id["c000"].score == 1.0 and by_id["c001"].metrics["contains"].score == 0.0
    assert "no output for case 'c002'" in (by_id["c002"].error or "")


# -- gemini through the local server ---------------------------------------------------------------------------


def test_gemini_generation_and_judge(tmp_path: Path, server: GeminiServer) -> None:
    ws = gemini_ws(tmp_path, server, pricing={"gemini-2.5-flash": {"input": 0.3, "output": 2.5}})
    result = evaluate(ws, api_key="k", runner=fast_runner(Recorder()))
    assert [r.status for r in server.requests] == [200] * 8
    assert len(server.judge_requests()) == 4 and result.counts.judge_calls == 4
    case = result.cases[0]
    assert case.output == "echo: Question: What is item 0?"
    assert case.metrics["answer_relevance"].score == 1.0  # the fake judge gives the top of the scale
    assert case.cost_usd == pytest.approx((case.input_tokens * 0.3 + case.output_tokens * 2.5) / 1e6)
    # The judge runs on the same model here, so it is priced too, but apart from the app's own cost.
    assert case.judge_cost_usd is not None and case.judge_cost_usd > 0
    assert result.aggregates["judge_cost_usd"] == pytest.approx(
        sum(c.judge_cost_usd or 0 for c in result.cases)
    )
    assert result.run.provider.model_version == "gemini-2.5-flash"
    assert result.run.judge is not None and result.run.judge.model_version == "gemini-2.5-flash"
    gen = server.generation_requests()[0].body
    assert gen["systemInstruction"]["parts"][0]["text"] == "You answer questions about math."
    assert gen["generationConfig"]["temperature"] == 0.0


def test_second_run_hits_the_generation_cache(tmp_path: Path, server: GeminiServer) -> None:
    ws = gemini_ws(tmp_path, server, metrics=[{"type": "contains", "value": "item"}])
    first = evaluate(ws, api_key="k")
    before = len(server.requests)
    second = evaluate(ws, api_key="k")
    assert first.counts.cache_hits == 0 and second.counts.cache_hits == 4
    assert len(server.requests) == before  # nothing asked twice
    assert [c.output for c in second.cases] == [c.output for c in first.cases]
    third = evaluate(ws, api_key="k", use_cache=False)
    assert third.counts.cache_hits == 0 and len(server.requests) == before + 4


def test_no_key_skips_the_judge_and_a_gate_on_it_fails(tmp_path: Path) -> None:
    make_workspace(
        tmp_path,
        metrics=[{"type": "contains", "value": "42", "weight": 1.0}, JUDGE],
        extra={"gates": {"absolute": [{"metric": "answer_relevance", "min": 0.5}]}},
    )
    result = evaluate(load_workspace(tmp_path / ".llmops.yml"))
    assert all(c.metrics["answer_relevance"].skipped == "no judge credentials" for c in result.cases)
    assert all(c.metrics["answer_relevance"].score is None for c in result.cases)
    assert result.gates[0].status == "fail" and result.verdict == "fail"


def test_429_with_retry_info_is_retried_after_the_delay(tmp_path: Path, server: GeminiServer) -> None:
    ws = gemini_ws(tmp_path, server, n=1, metrics=[{"type": "contains", "value": "item"}])
    server.enqueue(*error_body(429, retry_delay="3s"))
    sleep = Recorder()
    result = evaluate(ws, api_key="k", runner=fast_runner(sleep))
    assert [r.status for r in server.requests] == [429, 200]
    # Three seconds from the refusal, less the microseconds the client took to get back to the pacer.
    assert sleep.delays and sleep.delays[0] == pytest.approx(3.0, abs=0.05)
    assert result.cases[0].error is None and result.cases[0].metrics["contains"].score == 1.0


def test_503_then_success(tmp_path: Path, server: GeminiServer) -> None:
    ws = gemini_ws(tmp_path, server, n=1, metrics=[{"type": "contains", "value": "item"}])
    server.enqueue(*error_body(503))
    server.enqueue(*error_body(503))
    result = evaluate(ws, api_key="k", runner=fast_runner(Recorder()))
    assert [r.status for r in server.requests] == [503, 503, 200]
    assert result.cases[0].output == "echo: Question: What is item 0?"


def test_400_is_recorded_not_retried(tmp_path: Path, server: GeminiServer) -> None:
    ws = gemini_ws(tmp_path, server, n=1, max_error_rate=1.0)
    server.enqueue(*error_body(400))
    result = evaluate(ws, api_key="k", runner=fast_runner(Recorder()))
    assert [r.status for r in server.requests] == [400]
    case = result.cases[0]
    assert "400 INVALID_ARGUMENT" in (case.error or "") and case.output is None and case.score is None
    assert case.metrics["answer_relevance"].error and case.metrics["answer_relevance"].score is None
    assert not server.judge_requests()


def test_a_blocked_prompt_is_the_models_behaviour_and_is_scored_not_dropped(
    tmp_path: Path, server: GeminiServer
) -> None:
    ws = gemini_ws(tmp_path, server, n=1, max_error_rate=1.0)
    server.enqueue(200, fixture("generateContent.response.prompt-blocked.json"))
    result = evaluate(ws, api_key="k")
    case = result.cases[0]
    assert case.blocked == "SAFETY" and case.output is None and case.error is None
    # the deterministic metric scores the empty answer; the judge criterion gets the scale's minimum
    assert case.metrics["contains"].score == 0.0 and case.metrics["contains"].error is None
    relevance = case.metrics["answer_relevance"]
    assert relevance.score == 0.0 and "prompt blocked (SAFETY)" in relevance.details["reasoning"]
    assert case.score is not None and result.verdict != "incomplete"
    assert not server.judge_requests()


def test_thinking_tokens_reach_the_case(tmp_path: Path, server: GeminiServer) -> None:
    ws = gemini_ws(tmp_path, server, n=1, metrics=[{"type": "contains", "value": "AI"}])
    server.enqueue(200, fixture("generateContent.response.gemini-2.5-flash.thinking.json"))
    case = evaluate(ws, api_key="k").cases[0]
    assert (case.input_tokens, case.output_tokens) == (8, 840)


def test_json_in_a_markdown_fence_is_scored_by_the_metric(tmp_path: Path, server: GeminiServer) -> None:
    ws = gemini_ws(tmp_path, server, n=1, metrics=[{"type": "json_valid"}])
    server.enqueue(200, fixture("generateContent.response.json-in-markdown-fence.json"))
    case = evaluate(ws, api_key="k").cases[0]
    assert case.output is not None and case.output.startswith("```json")
    assert case.metrics["json_valid"].score is not None or case.metrics["json_valid"].error


def test_fault_injection_no_case_lost_nothing_scored_unjudged(tmp_path: Path) -> None:
    faults = Faults(rate_limited=0.12, unavailable=0.12, slow=0.05, malformed_judge=0.25, slow_seconds=0.05)
    with GeminiServer(faults=faults, seed=7) as server:
        ws = gemini_ws(tmp_path, server, n=40, concurrency=8, max_error_rate=1.0)
        result = evaluate(ws, api_key="k", runner=fast_runner(Recorder(), concurrency=8), use_cache=False)
        requests = list(server.requests)

    assert sorted(c.id for c in result.cases) == sorted(c.id for c in ws.cases)
    faults_seen = {r.fault for r in requests}
    assert {"429", "503", "slow", "malformed"} <= faults_seen
    valid_verdicts = [
        request_text(r.body)
        for r in requests
        if r.body.get("generationConfig", {}).get("responseJsonSchema")
        and r.status == 200
        and r.fault != "malformed"
    ]
    judged_errors = 0
    for case in result.cases:
        judged = case.metrics["answer_relevance"]
        assert (judged.score is None) != (judged.error is None) or judged.skipped  # exactly one of them
        if case.error:
            assert case.output is None and judged.score is None and case.score is None
            continue
        gen_ok = [
            r
            for r in requests
            if not r.body.get("generationConfig", {}).get("responseJsonSchema")
            and r.status == 200
            and request_text(r.body) == f"Question: {case.vars['question']}"
        ]
        assert gen_ok, f"{case.id} has an output but no successful generation request"
        if judged.score is not None:
            # A score needs a well-formed verdict the server actually sent for this very output.
            assert any(case.output in text for text in valid_verdicts), case.id
        else:
            judged_errors += 1
            assert judged.error and case.score is None
    malformed = sum(1 for r in requests if r.fault == "malformed")
    assert malformed > 0
    assert result.counts.cases == 40
    assert judged_errors > 0  # with a quarter of verdicts malformed, some fail twice and stay errors


def test_a_second_run_is_served_from_the_cache_judge_included(tmp_path: Path, server: GeminiServer) -> None:
    ws = gemini_ws(tmp_path, server, cache={"enabled": True, "dir": str(tmp_path / "cache")})
    first = evaluate(ws, api_key="k", runner=fast_runner(Recorder()))
    sent = len(server.requests)

    second = evaluate(ws, api_key="k", runner=fast_runner(Recorder()))

    assert len(server.requests) == sent, "every generation and judgement came from the cache"
    assert second.counts.cache_hits == 4 and second.counts.judge_cache_hits == 4
    assert [c.metrics["answer_relevance"].score for c in second.cases] == [
        c.metrics["answer_relevance"].score for c in first.cases
    ]


def test_a_run_served_from_the_cache_keeps_the_model_versions(tmp_path: Path, server: GeminiServer) -> None:
    ws = gemini_ws(tmp_path, server, cache={"enabled": True, "dir": str(tmp_path / "cache")})
    first = evaluate(ws, api_key="k", runner=fast_runner(Recorder()))
    second = evaluate(ws, api_key="k", runner=fast_runner(Recorder()))
    assert second.counts.judge_cache_hits == 4 and second.counts.judge_calls == 0
    assert first.run.judge is not None and second.run.judge is not None
    assert second.run.judge.model_version == first.run.judge.model_version == "gemini-2.5-flash"
    assert second.run.provider.model_version == first.run.provider.model_version


# -- the cache keeps only what was accepted -------------------------------------------------------------------


def test_a_judge_reply_that_failed_validation_is_not_cached_and_the_next_run_re_asks(
    tmp_path: Path, server: GeminiServer
) -> None:
    from tests.support.gemini_server import default_handler, has_schema, judge_body

    healthy = server.handler
    server.handler = lambda body, model: (
        (200, judge_body("The answer is fine, I think."), {})
        if has_schema(body)
        else default_handler(body, model)
    )
    ws = gemini_ws(tmp_path, server, n=2, max_error_rate=1.0)
    first = evaluate(ws, api_key="k")
    assert all("unparseable verdict" in (c.metrics["answer_relevance"].error or "") for c in first.cases)
    asked = len(server.judge_requests())
    assert asked == 4  # two attempts per case, neither cached

    server.handler = healthy
    second = evaluate(ws, api_key="k")
    assert len(server.judge_requests()) - asked == 2  # asked again: the malformed replies were never stored
    assert all(c.metrics["answer_relevance"].score is not None for c in second.cases)
    assert all(c.cache_hit for c in second.cases)  # the generations (with a finish reason) were cached

    third = evaluate(ws, api_key="k")
    assert len(server.judge_requests()) - asked == 2 and third.counts.judge_calls == 0


def test_a_reweighted_judge_metric_hits_the_cache(tmp_path: Path, server: GeminiServer) -> None:
    ws = gemini_ws(tmp_path, server, n=2)
    evaluate(ws, api_key="k")
    asked = len(server.judge_requests())
    reweighted = gemini_ws(
        tmp_path,
        server,
        n=2,
        metrics=[
            {"type": "contains", "value": "item", "weight": 1.0},
            {**JUDGE, "weight": 0.9, "threshold": 0.5},
        ],
    )
    again = evaluate(reweighted, api_key="k")
    assert len(server.judge_requests()) == asked and again.counts.judge_calls == 0
