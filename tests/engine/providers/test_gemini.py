"""GeminiProvider through google-genai against the local fake server (real SDK, real HTTP, real bodies)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llmops_action.engine.providers.base import ModelRequest
from llmops_action.engine.providers.gemini import (
    GeminiProvider,
    api_key_from_env,
    parse_duration,
    retry_after_of,
)
from llmops_action.errors import ProviderError, UserInputError
from tests.support.gemini_server import GeminiServer, error_body, fixture, response_body

KEY = "test-key-not-a-secret"


@pytest.fixture
def server() -> Iterator[GeminiServer]:
    with GeminiServer() as s:
        yield s


@pytest.fixture
def gemini(server: GeminiServer) -> GeminiProvider:
    return GeminiProvider("gemini-2.5-flash", api_key=KEY, base_url=server.url, timeout=5)


def ask(provider: GeminiProvider, **kw: object) -> object:
    return provider.complete(ModelRequest(system=kw.pop("system", ""), user="hello", case_id="c1", **kw))  # type: ignore[arg-type]


def test_normal_answer_fills_text_tokens_version_and_finish(
    server: GeminiServer, gemini: GeminiProvider
) -> None:
    server.enqueue(200, fixture("generateContent.response.gemini-2.0-flash.audio-prompt.json"))
    r = ask(gemini)
    assert r.text.startswith("This clip is an audio recording")
    assert (r.input_tokens, r.output_tokens) == (754, 49)
    assert r.model_version == "gemini-2.0-flash"
    assert r.finish_reason == "STOP" and r.blocked is None
    assert r.latency_ms > 0


def test_request_maps_system_temperature_seed_max_tokens(
    server: GeminiServer, gemini: GeminiProvider
) -> None:
    ask(gemini, system="Be brief.", temperature=0.2, seed=7, max_tokens=64)
    req = server.requests[-1]
    assert req.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert req.headers["x-goog-api-key"] == KEY
    assert req.body["systemInstruction"]["parts"][0]["text"] == "Be brief."
    assert req.body["contents"][0] == {"parts": [{"text": "hello"}], "role": "user"}
    assert req.body["generationConfig"] == {"temperature": 0.2, "seed": 7, "maxOutputTokens": 64}


def test_response_schema_asks_for_json(server: GeminiServer, gemini: GeminiProvider) -> None:
    schema = {"type": "object", "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 5}}}
    r = ask(gemini, response_schema=schema)
    cfg = server.requests[-1].body["generationConfig"]
    assert cfg["responseMimeType"] == "application/json"
    assert cfg["responseJsonSchema"] == schema
    assert r.text == '{"score": 5}'


def test_thinking_tokens_count_as_output_for_cost(server: GeminiServer, gemini: GeminiProvider) -> None:
    server.enqueue(200, fixture("generateContent.response.gemini-2.5-flash.thinking.json"))
    r = ask(gemini)
    assert r.text == "AI learns patterns from data to make decisions or predictions."
    assert r.input_tokens == 8
    assert r.output_tokens == 11 + 829
    assert r.raw["usage"] == {"prompt": 8, "candidates": 11, "thoughts": 829, "cached": None}


def test_blocked_prompt_is_a_result_not_an_exception(server: GeminiServer, gemini: GeminiProvider) -> None:
    server.enqueue(200, fixture("generateContent.response.prompt-blocked.json"))
    r = ask(gemini)
    assert r.text is None
    assert r.blocked == "SAFETY"


def test_json_in_markdown_fence_is_returned_verbatim(server: GeminiServer, gemini: GeminiProvider) -> None:
    server.enqueue(200, fixture("generateContent.response.json-in-markdown-fence.json"))
    r = ask(gemini)
    assert r.text.startswith("```json\n{")  # stripping the fence is the metric's or the judge parser's job


def test_non_stop_finish_reason_is_recorded(server: GeminiServer, gemini: GeminiProvider) -> None:
    server.enqueue(200, response_body("cut", finish_reason="MAX_TOKENS"))
    assert ask(gemini).finish_reason == "MAX_TOKENS"


def test_400_is_not_retryable(server: GeminiServer, gemini: GeminiProvider) -> None:
    server.enqueue(*error_body(400))
    with pytest.raises(ProviderError) as e:
        ask(gemini)
    assert e.value.status == 400 and not e.value.retryable
    assert "INVALID_ARGUMENT" in e.value.message
    assert len(server.requests) == 1  # the SDK did not retry on its own


def test_429_carries_retry_delay_from_retry_info(server: GeminiServer, gemini: GeminiProvider) -> None:
    server.enqueue(*error_body(429, retry_delay="1.5s"))
    with pytest.raises(ProviderError) as e:
        ask(gemini)
    assert e.value.retryable and e.value.status == 429
    assert e.value.retry_after == 1.5
    assert KEY not in str(e.value)
    assert len(server.requests) == 1


def test_retry_after_header_when_no_retry_info(server: GeminiServer, gemini: GeminiProvider) -> None:
    status, body, _ = error_body(429, retry_delay=None)
    server.enqueue(status, body, {"Retry-After": "3"})
    with pytest.raises(ProviderError) as e:
        ask(gemini)
    assert e.value.retry_after == 3.0


def test_503_is_retryable_without_delay(server: GeminiServer, gemini: GeminiProvider) -> None:
    server.enqueue(*error_body(503))
    with pytest.raises(ProviderError) as e:
        ask(gemini)
    assert e.value.retryable and e.value.status == 503 and e.value.retry_after is None


def test_timeout_is_retryable(server: GeminiServer) -> None:
    server.latency = 1.0
    slow = GeminiProvider("gemini-2.5-flash", api_key=KEY, base_url=server.url, timeout=0.2)
    with pytest.raises(ProviderError) as e:
        ask(slow)
    assert e.value.retryable and e.value.status is None


def test_connection_refused_is_retryable() -> None:
    with GeminiServer() as s:
        url = s.url
    dead = GeminiProvider("gemini-2.5-flash", api_key=KEY, base_url=url, timeout=2)
    with pytest.raises(ProviderError) as e:
        ask(dead)
    assert e.value.retryable


def test_base_url_from_environment(server: GeminiServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.url)
    p = GeminiProvider("gemini-2.5-flash", api_key=KEY)
    assert ask(p).text == "echo: hello"


def test_missing_key_is_bad_input() -> None:
    with pytest.raises(UserInputError):
        GeminiProvider("gemini-2.5-flash", api_key="")


@pytest.mark.parametrize(
    ("text", "seconds"), [("53s", 53.0), ("1.5s", 1.5), ("0.010s", 0.01), ("soon", None), (None, None)]
)
def test_parse_duration(text: object, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


def test_retry_info_found_at_any_position() -> None:
    _, body, _ = error_body(429, retry_delay="47s")
    body["error"]["details"].reverse()
    assert retry_after_of(body) == 47.0
    assert retry_after_of({"error": {"code": 503}}) is None


def test_api_key_from_env_prefers_gemini() -> None:
    assert api_key_from_env({"GOOGLE_API_KEY": "g", "GEMINI_API_KEY": "k"}) == "k"
    assert api_key_from_env({"GOOGLE_API_KEY": "g"}) == "g"
    assert api_key_from_env({}) is None
