"""`judge.judges`, `combine`, `min_judges` and `selftest:` in .llmops.yml (issue 14)."""

from __future__ import annotations

import pytest

from llmops_action.core.config import parse_config
from llmops_action.engine.evaluate import metrics_hash
from llmops_action.errors import UserInputError

HEAD = "datasets: [d.jsonl]\nprovider: {type: outputs, path: o.jsonl}\nmetrics: [{type: judge, criterion: safety}]\n"


def test_the_single_judge_form_stays_valid_and_its_hash_unchanged() -> None:
    one = parse_config(HEAD + "judge: {model: gemini-2.5-pro, samples: 3}\n")
    assert [(j.model, j.provider) for j in one.judge.panel] == [("gemini-2.5-pro", "gemini")]
    assert one.judge.judges == [] and one.judge.combine == "mean"
    # a stored baseline's metrics hash must not move because the panel keys exist now
    assert metrics_hash(one) == metrics_hash(
        parse_config(HEAD + "judge: {model: gemini-2.5-pro, samples: 3}\n")
    )
    assert "judges" not in one.judge.model_dump(exclude_defaults=True)


def test_a_panel_with_an_openai_compatible_judge() -> None:
    cfg = parse_config(
        HEAD
        + """judge:
  combine: median
  min_judges: 2
  judges:
    - {model: gemini-2.5-flash}
    - {model: gemini-2.5-pro}
    - {model: llama3.1, provider: openai, base_url: "http://localhost:11434/v1", name: ollama}
"""
    )
    assert [j.label for j in cfg.judge.panel] == ["gemini-2.5-flash", "gemini-2.5-pro", "ollama"]
    assert cfg.judge.min_judges == 2 and cfg.judge.combine == "median"
    assert metrics_hash(cfg) != metrics_hash(parse_config(HEAD))


@pytest.mark.parametrize(
    ("judge", "message", "line"),
    [
        ("judge:\n  model: x\n  judges: [{model: a}]\n", "give either 'model' (one judge) or 'judges'", 4),
        ("judge:\n  judges: [{model: a}, {model: a}]\n", "two judges are labelled 'a'", 4),
        (
            "judge:\n  min_judges: 3\n  judges: [{model: a}, {model: b}]\n",
            "min_judges 3 is more than the 2",
            4,
        ),
        ("judge:\n  judges: [{model: a, provider: anthropic}]\n", "Input should be 'gemini' or 'openai'", 5),
        ("judge:\n  combine: vote\n", "Input should be 'mean', 'median' or 'min'", 5),
        ("selftest: {language: english}\n", "String should match pattern", 4),
    ],
)
def test_bad_panels_are_errors_with_their_line(judge: str, message: str, line: int) -> None:
    with pytest.raises(UserInputError) as exc:
        parse_config(HEAD + judge)
    assert message in exc.value.message
    assert exc.value.line == line


def test_selftest_section() -> None:
    cfg = parse_config(HEAD + "selftest: {language: en, mutations: [empty, hallucinate]}\n")
    assert cfg.selftest.language == "en" and cfg.selftest.mutations == ["empty", "hallucinate"]


def test_the_readmes_panel_example_loads() -> None:
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(judge:\n  combine:.*?)```", readme, re.S)
    assert block, "README.md lost its judge panel example"
    cfg = parse_config(HEAD + block.group(1))
    assert [j.label for j in cfg.judge.panel] == ["gemini-2.5-flash", "gemini-2.5-pro", "ollama"]
    assert cfg.judge.min_judges == 2


def test_a_one_judge_configs_hash_has_no_panel_keys_so_stored_baselines_still_match() -> None:
    import hashlib
    import json

    cfg = parse_config(HEAD)
    before_issue_14 = cfg.model_dump(
        mode="json", include={"suite", "prompts", "datasets", "provider", "judge", "metrics"}, by_alias=True
    )
    for key in ("judges", "combine", "min_judges"):
        del before_issue_14["judge"][key]
    blob = json.dumps(before_issue_14, sort_keys=True, separators=(",", ":"))
    assert cfg.config_hash() == hashlib.sha256(blob.encode()).hexdigest()[:16]
    panel = parse_config(HEAD + "judge: {judges: [{model: a}, {model: b}]}\n")
    assert panel.config_hash() != cfg.config_hash()
