from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmops_action.cli.main import main
from llmops_action.core.config import (
    AbsoluteGate,
    CacheConfig,
    JudgeConfig,
    LlmopsConfig,
    MetricConfig,
    ProviderConfig,
    RetryConfig,
    TrackingConfig,
    json_schema,
    load_config,
    parse_config,
)
from llmops_action.errors import UserInputError

BASE = """\
suite: demo
datasets: [data/cases.jsonl]
provider:
  type: python
  function: app:answer
metrics:
  - type: bleu
    weight: 0.5
  - type: judge
    criterion: faithfulness
    weight: 0.5
gates:
  absolute:
    - metric: score
      min: 0.7
"""


def error(text: str, file: str = "cfg.yml") -> UserInputError:
    with pytest.raises(UserInputError) as exc:
        parse_config(text, file)
    return exc.value


def test_a_valid_config_loads_with_defaults() -> None:
    cfg = parse_config(BASE)
    assert cfg.suite == "demo" and cfg.prompts == ["prompts"]
    assert [m.key for m in cfg.metrics] == ["bleu", "faithfulness"]
    assert cfg.concurrency == 8 and cfg.max_error_rate == 0.05
    assert cfg.tracking_config.enabled and cfg.cache.dir == ".llmops/cache"
    assert cfg.metric("faithfulness") is cfg.judge_metrics[0]


def test_tracking_false_is_shorthand() -> None:
    assert parse_config(BASE + "tracking: false\n").tracking_config == TrackingConfig(enabled=False)


@pytest.mark.parametrize(
    ("text", "line", "key", "suggestion"),
    [
        (BASE + "concurency: 4\n", 16, "concurency", "concurrency"),
        (
            BASE.replace("  function: app:answer", "  function: app:answer\n  temprature: 0"),
            6,
            "provider.temprature",
            "temperature",
        ),
        (
            BASE.replace("    weight: 0.5\n  - type: judge", "    wieght: 0.5\n  - type: judge"),
            8,
            "metrics[0].wieght",
            "weight",
        ),
        (BASE.replace("      min: 0.7", "      mni: 0.7"), 15, "gates.absolute[0].mni", "min"),
        (
            BASE + "pricing:\n  gemini-2.5-flash:\n    inptu: 0.3\n    output: 2.5\n",
            18,
            "pricing.gemini-2.5-flash.inptu",
            "input",
        ),
        (BASE + "tracking:\n  enabld: false\n", 17, "tracking.enabld", "enabled"),
    ],
)
def test_unknown_keys_name_file_line_key_and_suggest(text: str, line: int, key: str, suggestion: str) -> None:
    err = error(text)
    assert (err.file, err.line, err.key) == ("cfg.yml", line, key)
    assert err.message == f"unknown key '{key.rsplit('.', 1)[-1]}'"
    assert f"did you mean '{suggestion}'?" in (err.hint or "")
    assert err.format().startswith(f"cfg.yml:{line}, key '{key}': unknown key")


def test_unknown_key_far_from_any_lists_the_valid_ones() -> None:
    err = error(BASE + "zzz: 1\n")
    assert err.hint is not None and "did you mean" not in err.hint
    assert "Valid keys here: version, suite, prompts, datasets" in err.hint


@pytest.mark.parametrize(
    ("old", "new", "key", "suggestion"),
    [
        ("type: python", "type: pyhton", "provider.type", "python"),
        ("type: bleu", "type: rouge", "metrics[0].type", "rouge_l"),
        ("criterion: faithfulness", "criterion: faithfullness", "metrics[1].criterion", "faithfulness"),
    ],
)
def test_wrong_literal_suggests_a_close_value(old: str, new: str, key: str, suggestion: str) -> None:
    err = error(BASE.replace(old, new))
    assert err.key == key and err.line is not None
    assert err.hint == f"did you mean '{suggestion}'?"


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [
        (
            BASE.replace("datasets: [data/cases.jsonl]\n", ""),
            1,
            "datasets",
            "missing required key 'datasets'",
        ),
        (
            BASE.replace("  function: app:answer\n", ""),
            3,
            "provider",
            "provider type 'python' needs 'function'",
        ),
        (BASE.replace("function: app:answer", "function: app.answer"), 3, "provider", "module:function"),
        (
            BASE.replace("weight: 0.5\n  - type: judge", "weight: -1\n  - type: judge"),
            8,
            "metrics[0].weight",
            "greater than or equal to 0",
        ),
        (BASE.replace("gates:", "  - type: bleu\ngates:"), 6, "metrics", "two metrics are named 'bleu'"),
        (
            BASE.replace("gates:", "  - {type: exact_match, name: score}\ngates:"),
            6,
            "metrics",
            "'score' is reserved",
        ),
        (
            BASE.replace("      min: 0.7", "      blocking: false"),
            14,
            "gates.absolute[0]",
            "needs 'min' or 'max'",
        ),
        (BASE + "drift: {warning: 0.3, critical: 0.2}\n", 16, "drift", "critical must be >= warning"),
        (BASE + "version: 2\n", 16, "version", "Input should be 1"),
        (BASE + "concurrency: many\n", 16, "concurrency", "valid integer"),
        (BASE + "tracking: perhaps\n", 16, "tracking", ""),
        (BASE + "1.5: x\n", 16, "1.5", "is not a string"),
    ],
)
def test_every_error_names_file_line_and_key(text: str, line: int, key: str, message: str) -> None:
    err = error(text)
    assert (err.file, err.line, err.key) == ("cfg.yml", line, key)
    assert message in err.message


def test_yaml_syntax_errors_name_the_line() -> None:
    err = error(BASE + "extra: [1, 2\n")
    assert err.line is not None and err.line >= 16 and "invalid YAML" in err.message


@pytest.mark.parametrize("text", ["", "- a list\n", "just a string\n"])
def test_config_must_be_a_mapping(text: str) -> None:
    assert error(text).line == 1


def test_load_config_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="not found") as exc:
        load_config(tmp_path / "nope.yml")
    assert exc.value.file == str(tmp_path / "nope.yml") and exc.value.hint


def test_config_check_exits_2_with_location(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / ".llmops.yml"
    path.write_text(BASE + "concurency: 4\n")
    assert main(["config", "check", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:16, key 'concurency': unknown key 'concurency'" in err
    assert "did you mean 'concurrency'?" in err


def test_config_schema_is_json_schema_with_aliases(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema == json.loads(json.dumps(json_schema()))
    assert schema["$schema"].endswith("2020-12/schema")
    assert "schema" in schema["$defs"]["MetricConfig"]["properties"]  # the alias, as users write it
    import jsonschema

    jsonschema.validate(yaml.safe_load(BASE), schema)


def test_config_hash_ignores_cosmetic_settings() -> None:
    a = parse_config(BASE)
    assert parse_config(BASE + "concurrency: 32\ncache: {enabled: false}\n").config_hash() == a.config_hash()
    assert (
        parse_config(
            BASE.replace("weight: 0.5\n  - type: judge", "weight: 0.4\n  - type: judge")
        ).config_hash()
        != a.config_hash()
    )


# --- properties ------------------------------------------------------------------------------------

names = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
paths = st.from_regex(r"[a-z][a-z0-9_/]{0,12}\.(jsonl|yml|csv)", fullmatch=True)
unit = st.floats(0, 1, allow_nan=False)

providers = st.one_of(
    st.builds(lambda m, t: {"type": "gemini", "model": m, "temperature": t}, names, unit),
    st.builds(lambda f: {"type": "python", "function": f"app.mod:{f}"}, names),
    st.builds(lambda c: {"type": "command", "command": f"./{c}.sh", "timeout": 5}, names),
    st.builds(lambda p: {"type": "outputs", "path": p}, paths),
)

simple_metric = st.sampled_from(
    [
        "exact_match",
        "keyword_recall",
        "context_recall",
        "json_valid",
        "bleu",
        "rouge_l",
        "length",
        "pii",
        "prompt_injection",
    ]
)
metric = st.one_of(
    st.builds(lambda t, w: {"type": t, "weight": w}, simple_metric, unit),
    st.builds(lambda p: {"type": "regex", "pattern": p}, st.sampled_from([r"\d+", "^yes$", "[a-z]+"])),
    st.builds(lambda v, cs: {"type": "contains", "value": v, "case_sensitive": cs}, names, st.booleans()),
    st.builds(
        lambda c, w: {"type": "judge", "criterion": c, "weight": w},
        st.sampled_from(["faithfulness", "answer_relevance", "safety"]),
        unit,
    ),
    st.builds(lambda r: {"type": "judge", "criterion": "custom", "rubric": r, "scale": [1, 10]}, names),
)


def _unique(metrics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**m, "name": f"m{i}"} for i, m in enumerate(metrics)]


gates = st.lists(
    st.builds(
        lambda m, lo, b: {"metric": m, "min": lo, "blocking": b},
        st.sampled_from(["score", "error_rate", "m0"]),
        unit,
        st.booleans(),
    ),
    max_size=3,
)

configs = st.fixed_dictionaries(
    {
        "datasets": st.lists(paths, min_size=1, max_size=3),
        "provider": providers,
        "metrics": st.lists(metric, min_size=1, max_size=5).map(_unique),
    },
    optional={
        "suite": st.from_regex(r"[A-Za-z0-9_.-]{1,12}", fullmatch=True),
        "prompts": st.lists(paths, max_size=3),
        "concurrency": st.integers(1, 256),
        "max_error_rate": unit,
        "gates": st.builds(lambda a: {"absolute": a}, gates),
        "tracking": st.one_of(st.booleans(), st.builds(lambda e: {"enabled": e}, st.booleans())),
        "judge": st.builds(lambda s: {"samples": s}, st.integers(1, 10)),
        "retries": st.builds(lambda a: {"attempts": a}, st.integers(1, 20)),
        "pricing": st.dictionaries(
            names, st.builds(lambda i, o: {"input": i, "output": o}, unit, unit), max_size=2
        ),
    },
)


@settings(max_examples=60, deadline=None)
@given(configs)
def test_generated_valid_configs_load_and_round_trip(data: dict[str, Any]) -> None:
    text = yaml.safe_dump(data, sort_keys=False)
    cfg = parse_config(text)
    assert cfg.provider.type == data["provider"]["type"]
    assert [m.key for m in cfg.metrics] == [m["name"] for m in data["metrics"]]
    dumped = yaml.safe_dump(cfg.model_dump(mode="json", by_alias=True, exclude_none=True), sort_keys=True)
    again = parse_config(dumped)
    assert again == cfg
    assert again.config_hash() == cfg.config_hash()


# Mappings where a key can be inserted, with the model that forbids unknown ones there.
INSERT_POINTS: list[tuple[tuple[str | int, ...], type]] = [
    ((), LlmopsConfig),
    (("provider",), ProviderConfig),
    (("metrics", 0), MetricConfig),
    (("gates", "absolute", 0), AbsoluteGate),
    (("judge",), JudgeConfig),
    (("retries",), RetryConfig),
    (("cache",), CacheConfig),
]


def _valid_keys(model: type) -> set[str]:
    return {f.alias or name for name, f in model.model_fields.items()}  # type: ignore[attr-defined]


unknown_keys = st.text(
    st.characters(whitelist_categories=("Ll", "Lu", "Nd"), whitelist_characters="_-", max_codepoint=0x24F),
    min_size=1,
    max_size=12,
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=configs,
    point=st.sampled_from(INSERT_POINTS),
    key=unknown_keys,
    value=st.one_of(st.integers(), st.text(max_size=5), st.booleans(), st.none()),
)
def test_an_unknown_key_anywhere_is_a_located_error(
    data: dict[str, Any], point: tuple[tuple[str | int, ...], type], key: str, value: Any
) -> None:
    path, model = point
    if key in _valid_keys(model) or key.lower() in (
        "true",
        "false",
        "null",
        "yes",
        "no",
        "on",
        "off",
        "y",
        "n",
    ):
        return
    data = json.loads(json.dumps(data))
    data.setdefault("gates", {"absolute": [{"metric": "score", "min": 0.5}]})
    if not data["gates"].get("absolute"):
        data["gates"]["absolute"] = [{"metric": "score", "min": 0.5}]
    node: Any = data
    for part in path:
        node = node.setdefault(part, {}) if isinstance(part, str) else node[part]
    node[key] = value
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    try:
        parse_config(text, "fuzz.yml")
    except UserInputError as exc:
        assert exc.file == "fuzz.yml"
        assert exc.line is not None
        assert exc.message == f"unknown key '{key}'", (exc.message, text)
        assert exc.key is not None and exc.key.endswith(key)
        assert key in text.splitlines()[exc.line - 1]
    else:
        pytest.fail(f"unknown key {key!r} at {path} was accepted")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_never_crashes(text: str) -> None:
    try:
        parse_config(text, "any.yml")
    except UserInputError as exc:
        assert exc.file == "any.yml"


def test_an_invalid_regex_is_a_config_error_with_its_line() -> None:
    text = "datasets: [d.jsonl]\nprovider: {type: python, function: app:f}\nmetrics:\n  - {type: regex, pattern: '(unclosed'}\n"
    with pytest.raises(UserInputError, match="invalid regex") as exc:
        parse_config(text, ".llmops.yml")
    assert exc.value.line == 4 and exc.value.key == "metrics[0]"


def test_names_a_gate_may_use_are_the_ones_a_run_computes() -> None:
    from llmops_action.core import drift
    from llmops_action.core.config_names import RUN_AGGREGATES, RUN_SIGNALS
    from llmops_action.core.metrics.aggregate import aggregate_run

    config = parse_config(BASE)
    _, flat = aggregate_run(config, [])
    assert set(flat) <= {*(m.key for m in config.metrics), "score", *RUN_AGGREGATES}
    assert set(RUN_AGGREGATES) <= set(flat)
    assert set(RUN_SIGNALS) == {*drift.NUMERIC_RUN_SIGNALS, *drift.CATEGORICAL_RUN_SIGNALS}
