"""The OpenAI-compatible judge against a local /v1/chat/completions server speaking the real shapes."""

from __future__ import annotations

import pytest

from llmops_action.core.config import JudgeSpec
from llmops_action.core.metrics.judge_prompt import response_schema
from llmops_action.engine.providers import make_panel_judge
from llmops_action.engine.providers.base import ModelRequest
from llmops_action.engine.providers.openai_compat import OpenAICompatProvider, strict_schema
from llmops_action.errors import ProviderError
from tests.support.openai_server import OpenAIServer, chat_body, error_body

pytestmark = pytest.mark.slow

REQUEST = ModelRequest(
    system="You are a judge.", user="Grade this.", case_id="c1", temperature=0.0, seed=7,
    response_schema=response_schema((1, 5)),
)  # fmt: skip


def test_the_request_carries_messages_and_a_strict_json_schema() -> None:
    with OpenAIServer() as server:
        response = OpenAICompatProvider("llama3", api_key="none", base_url=server.url).complete(REQUEST)
        body = server.requests[0].body
        assert server.requests[0].path == "/v1/chat/completions"
        assert server.requests[0].headers["authorization"] == "Bearer none"
    assert body["model"] == "llama3"
    assert body["messages"] == [
        {"role": "system", "content": "You are a judge."},
        {"role": "user", "content": "Grade this."},
    ]
    assert body["temperature"] == 0.0 and body["seed"] == 7
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["additionalProperties"] is False
    assert fmt["json_schema"]["schema"]["required"] == ["reasoning", "score", "manipulation_detected"]
    assert response.text is not None and '"score": 5' in response.text
    assert (response.input_tokens, response.output_tokens, response.finish_reason) == (120, 30, "STOP")


def test_strict_schema_leaves_the_original_alone() -> None:
    schema = response_schema((1, 5))
    assert "additionalProperties" not in schema and strict_schema(schema)["additionalProperties"] is False


def test_a_rate_limit_is_retryable_and_a_bad_request_is_not() -> None:
    with OpenAIServer() as server:
        provider = OpenAICompatProvider("m", api_key="none", base_url=server.url)
        server.enqueue(*error_body(429, "slow down"))
        with pytest.raises(ProviderError) as limited:
            provider.complete(REQUEST)
        server.enqueue(*error_body(400, "bad schema"))
        with pytest.raises(ProviderError) as bad:
            provider.complete(REQUEST)
        assert len(server.requests) == 2  # the client's own retries are off: runner.py retries
    assert limited.value.retryable and limited.value.retry_after == 0.0
    assert "429" in limited.value.message and "slow down" in limited.value.message
    assert not bad.value.retryable and "bad schema" in bad.value.message


def test_length_and_refusal_are_reported_as_the_judge_expects() -> None:
    with OpenAIServer() as server:
        provider = OpenAICompatProvider("m", api_key="none", base_url=server.url)
        server.enqueue(200, chat_body('{"reasoning": "cut', finish_reason="length"))
        server.enqueue(200, chat_body(None, refusal="I can't grade that."))
        assert provider.complete(REQUEST).finish_reason == "MAX_TOKENS"
        assert provider.complete(REQUEST).blocked == "refusal: I can't grade that."


def test_an_unreachable_server_is_a_retryable_transport_error() -> None:
    with OpenAIServer() as server:
        url = server.url
    with pytest.raises(ProviderError) as exc:
        OpenAICompatProvider("m", api_key="none", base_url=url, timeout=2).complete(REQUEST)
    assert exc.value.retryable and "transport error" in exc.value.message


def test_credentials_decide_which_panel_judges_exist() -> None:
    local = JudgeSpec(model="m", provider="openai", base_url="http://127.0.0.1:9/v1")
    hosted = JudgeSpec(model="gpt-4.1-mini", provider="openai")
    gemini = JudgeSpec(model="gemini-2.5-flash")
    assert make_panel_judge(local, gemini_key=None, env={}) is not None  # a local server needs no key
    assert make_panel_judge(hosted, gemini_key=None, env={}) is None
    assert make_panel_judge(hosted, gemini_key=None, env={"OPENAI_API_KEY": "k"}) is not None
    assert make_panel_judge(gemini, gemini_key=None, env={}) is None
    named = JudgeSpec(model="m", provider="openai", base_url="http://gw/v1", api_key_env="GATEWAY_KEY")
    assert make_panel_judge(named, gemini_key=None, env={}) is None
