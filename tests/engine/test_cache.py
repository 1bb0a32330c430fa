from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from llmops_action.engine.cache import Cache, cache_key
from llmops_action.engine.providers.base import ModelRequest, ModelResponse

IDENTITY = {"type": "gemini", "model": "gemini-2.5-flash"}


def request(**kw: Any) -> ModelRequest:
    base: dict[str, Any] = {"system": "sys", "user": "hi", "case_id": "c1", "temperature": 0.0}
    return ModelRequest(**{**base, **kw})


def test_round_trip_marks_cache_hit(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    key = cache_key(IDENTITY, request(), "generation")
    assert cache.get(key) is None
    cache.put(
        key, ModelResponse(text="hello", latency_ms=12.0, input_tokens=3, output_tokens=1, model_version="v")
    )
    hit = cache.get(key)
    assert hit is not None and hit.cache_hit and hit.text == "hello" and hit.input_tokens == 3
    assert cache.hits == {"generation": 1, "judge": 0} and cache.misses["generation"] == 1


def test_responses_without_text_are_not_cached(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    key = cache_key(IDENTITY, request(), "generation")
    cache.put(key, ModelResponse(text=None, latency_ms=1.0, blocked="SAFETY"))
    assert cache.get(key) is None
    assert not any(tmp_path.rglob("*.json"))


def test_corrupt_entry_is_a_miss_and_is_rewritten(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    key = cache_key(IDENTITY, request(), "judge")
    cache.put(key, ModelResponse(text="first", latency_ms=1.0))
    (entry,) = tmp_path.rglob("*.json")
    entry.write_text('{"format": 1, "key": "' + key + '", "respo')
    assert cache.get(key, "judge") is None
    cache.put(key, ModelResponse(text="second", latency_ms=1.0))
    assert cache.get(key, "judge").text == "second"  # type: ignore[union-attr]
    assert json.loads(entry.read_text())["key"] == key
    assert not list(tmp_path.rglob("*.tmp"))


def test_entry_under_the_wrong_key_is_ignored(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    a, b = (cache_key(IDENTITY, request(user=u), "generation") for u in ("a", "b"))
    cache.put(a, ModelResponse(text="for a", latency_ms=1.0))
    target = tmp_path / b[:2] / f"{b}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text((tmp_path / a[:2] / f"{a}.json").read_text())
    assert cache.get(b) is None


# -- the key: stable across processes, different when any input differs -------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
schemas = st.none() | st.dictionaries(st.text(max_size=8), json_scalars, max_size=3)
requests = st.builds(
    ModelRequest,
    system=st.text(max_size=40),
    user=st.text(max_size=80),
    case_id=st.text(max_size=10),
    temperature=st.none() | st.floats(0, 2, allow_nan=False),
    seed=st.none() | st.integers(0, 2**31),
    max_tokens=st.none() | st.integers(1, 10_000),
    response_schema=schemas,
    sample=st.integers(0, 9),
)
identities = st.fixed_dictionaries(
    {"type": st.sampled_from(["gemini", "python", "command", "outputs"]), "model": st.text(max_size=20)}
)
kinds = st.sampled_from(["generation", "judge"])

CHILD = """
import json, sys
from llmops_action.engine.cache import cache_key
from llmops_action.engine.providers.base import ModelRequest
for line in sys.stdin:
    d = json.loads(line)
    print(cache_key(d["identity"], ModelRequest(**d["request"]), d["kind"]))
"""


@settings(max_examples=8, deadline=None)  # one subprocess per example: few examples, many keys each
@given(st.lists(st.tuples(identities, requests, kinds), min_size=1, max_size=30))
def test_key_is_stable_across_processes(items: list[tuple[dict[str, Any], ModelRequest, Any]]) -> None:
    lines = [json.dumps({"identity": i, "request": dataclasses.asdict(r), "kind": k}) for i, r, k in items]
    proc = subprocess.run(
        [sys.executable, "-c", CHILD],
        input="\n".join(lines),
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "random", "PATH": "/usr/bin:/bin"},
    )
    assert proc.stdout.split() == [cache_key(i, r, k) for i, r, k in items]


def _mutations(r: ModelRequest) -> list[ModelRequest]:
    return [
        dataclasses.replace(r, system=r.system + "!"),
        dataclasses.replace(r, user=r.user + "!"),
        dataclasses.replace(r, temperature=(r.temperature or 0.0) + 0.5),
        dataclasses.replace(r, seed=(r.seed or 0) + 1),
        dataclasses.replace(r, max_tokens=(r.max_tokens or 0) + 1),
        dataclasses.replace(r, response_schema={**(r.response_schema or {}), "__extra": 1}),
        dataclasses.replace(r, sample=r.sample + 1),
    ]


@settings(max_examples=100, deadline=None)
@given(identities, requests, kinds)
def test_key_changes_when_any_input_changes(identity: dict[str, Any], r: ModelRequest, kind: Any) -> None:
    key = cache_key(identity, r, kind)
    variants = [cache_key(identity, m, kind) for m in _mutations(r)]
    variants.append(cache_key({**identity, "model": identity["model"] + "x"}, r, kind))
    variants.append(cache_key({**identity, "function": "m:f"}, r, kind))
    variants.append(cache_key(identity, r, "judge" if kind == "generation" else "generation"))
    assert key not in variants
    assert len(set(variants)) == len(variants)


@given(identities, requests)
def test_key_ignores_the_case_id_and_variables(identity: dict[str, Any], r: ModelRequest) -> None:
    """The model sees only the rendered request: two cases that render the same share an answer."""
    other = dataclasses.replace(r, case_id=r.case_id + "x", variables={"v": 1})
    assert cache_key(identity, r, "generation") == cache_key(identity, other, "generation")
