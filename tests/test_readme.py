"""The README is the first thing a user runs: its commands and examples must stay true."""

from __future__ import annotations

import re
from pathlib import Path

from llmops_action.core.config import parse_config

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def _opening_commands() -> list[str]:
    block = re.search(r"```sh\n(.*?)```", README, re.S)
    assert block, "README.md must open with a sh block of commands"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_the_quickstart_and_the_test_command() -> None:
    quickstart, tests = _opening_commands()
    assert "llmops-action eval --config examples/quickstart/.llmops.yml" in quickstart
    assert "pytest" in tests


def test_ci_runs_the_readmes_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert _opening_commands()[1] in ci


def test_the_readmes_config_example_loads() -> None:
    example = re.search(r"```yaml\n(# \.llmops\.yml.*?)```", README, re.S)
    assert example, "README.md lost its .llmops.yml example"
    config = parse_config(example.group(1), "README.md")
    assert config.metric("faithfulness") is not None
    assert [g.metric for g in config.gates.absolute] == [
        "faithfulness",
        "score",
        "latency_p95_ms",
        "error_rate",
    ]
