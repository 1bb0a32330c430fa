"""`experiments:` and `alerts:` in .llmops.yml: what loads, and what is refused with file, line and key."""

from __future__ import annotations

import pytest

from llmops_action.core.config import parse_config
from llmops_action.errors import UserInputError

BASE = """\
datasets: [d.jsonl]
provider: {type: outputs, path: o.jsonl}
metrics: [{type: exact_match}]
"""

EXPERIMENT = """\
experiments:
  - name: rag-v2
    prompt: rag_answer
    variants:
      control: {version: 1.0.0}
      treatment: {version: 1.1.0}
    split: {control: 90, treatment: 10}
    metric: {name: thumbs_up, type: rate}
    guardrails:
      - {name: latency_ms, type: continuous, direction: decrease, tolerance: 50}
"""


def test_an_experiment_loads_with_its_defaults() -> None:
    cfg = parse_config(BASE + EXPERIMENT)
    (e,) = cfg.experiments
    assert e.split.basis_points() == (9000, 1000)
    assert (e.min_samples, e.planned_samples, e.alpha) == (100, 1000, 0.05)
    assert e.variant_label("treatment") == "rag_answer@1.1.0"
    assert cfg.alerts.sinks[0].type == "github-issue"  # today's alert issue stays the default


def test_the_experiment_does_not_change_the_config_hash() -> None:
    assert parse_config(BASE + EXPERIMENT).config_hash() == parse_config(BASE).config_hash()


@pytest.mark.parametrize(
    ("yaml_text", "message", "line", "key"),
    [
        (
            EXPERIMENT.replace("{version: 1.1.0}", "{model: gemini-2.5-pro}"),
            "variant 'treatment' needs 'version'",
            5,
            "experiments[0]",
        ),
        (
            EXPERIMENT.replace("name: rag-v2", "name: 'rag:v2'"),
            "should match pattern",
            5,
            "experiments[0].name",
        ),
        (
            EXPERIMENT.replace("type: rate", "type: ratio"),
            "'rate' or 'continuous'",
            11,
            "experiments[0].metric.type",
        ),
        (
            EXPERIMENT + EXPERIMENT.removeprefix("experiments:\n"),
            "two experiments are named 'rag-v2'",
            4,
            "experiments",
        ),
    ],
)
def test_a_bad_experiment_names_the_line_and_key(yaml_text: str, message: str, line: int, key: str) -> None:
    with pytest.raises(UserInputError) as exc:
        parse_config(BASE + yaml_text, ".llmops.yml")
    assert message in exc.value.message
    assert (exc.value.file, exc.value.line, exc.value.key) == (".llmops.yml", line, key)


def test_a_webhook_url_in_the_config_is_refused() -> None:
    text = BASE + "alerts:\n  sinks:\n    - {type: webhook, url: 'https://hooks.example/x'}\n"
    with pytest.raises(UserInputError) as exc:
        parse_config(text, ".llmops.yml")
    assert "secret" in exc.value.message and "url_env" in exc.value.message
    assert exc.value.line == 6


def test_sinks_name_their_environment_variables() -> None:
    text = BASE + (
        "alerts:\n  sinks:\n"
        "    - {type: webhook, url_env: HOOK_URL, secret_env: HOOK_KEY}\n"
        "    - {type: slack, url_env: SLACK_URL, min_severity: critical}\n"
    )
    sinks = parse_config(text).alerts.sinks
    assert [(s.type, s.url_env, s.min_severity) for s in sinks] == [
        ("webhook", "HOOK_URL", "info"),
        ("slack", "SLACK_URL", "critical"),
    ]
    with pytest.raises(UserInputError, match="needs 'url_env'"):
        parse_config(BASE + "alerts:\n  sinks: [{type: slack}]\n")
    with pytest.raises(UserInputError, match="should match pattern"):
        parse_config(BASE + "alerts:\n  sinks: [{type: slack, url_env: 'https://x'}]\n")
