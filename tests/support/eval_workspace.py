"""A tiny but real evaluation workspace in a temp folder: .llmops.yml, one prompt, a JSONL dataset, an app.

root = make_workspace(tmp_path, n_cases=5, provider={"type": "python", "function": "app:answer"})
ws = load_workspace(root / ".llmops.yml")
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

APP = """
def answer(question, topic="general"):
    if question.startswith("boom"):
        raise RuntimeError("the app failed on purpose")
    return {"output": f"The answer about {topic} is 42. {question}", "input_tokens": 10, "output_tokens": 7,
            "contexts": [f"doc-{topic}"]}
"""

PROMPT = {
    "name": "qa",
    "version": "1.0.0",
    "description": "Answer a question",
    "variables": [
        {"name": "question", "type": "string", "required": True},
        {"name": "topic", "type": "string", "required": False, "default": "general"},
    ],
    "system": "You answer questions about {{ topic }}.",
    "template": "Question: {{ question }}",
}


def default_metrics() -> list[dict[str, Any]]:
    return [
        {"type": "contains", "value": "42", "weight": 1.0},
        {"type": "keyword_recall", "weight": 1.0},
    ]


def make_workspace(
    root: Path,
    *,
    n_cases: int = 5,
    provider: dict[str, Any] | None = None,
    metrics: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
    cases: list[dict[str, Any]] | None = None,
) -> Path:
    """Write the workspace under root and return root. `extra` merges into .llmops.yml."""
    (root / "prompts").mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    (root / "app.py").write_text(APP, encoding="utf-8")
    (root / "prompts" / "qa.yml").write_text(yaml.safe_dump(PROMPT, sort_keys=False), encoding="utf-8")
    if cases is None:
        cases = [
            {
                "id": f"c{i:03d}",
                "prompt": "qa",
                "vars": {"question": f"What is item {i}?", "topic": "math"},
                "reference": "The answer is 42.",
                "keywords": ["42", "answer"],
            }
            for i in range(n_cases)
        ]
    (root / "data" / "cases.jsonl").write_text(
        "\n".join(json.dumps(c) for c in cases) + "\n", encoding="utf-8"
    )
    config: dict[str, Any] = {
        "suite": "tiny",
        "prompts": ["prompts"],
        "datasets": ["data/cases.jsonl"],
        "provider": provider or {"type": "python", "function": "app:answer"},
        "metrics": metrics or default_metrics(),
        "retries": {"attempts": 3, "initial_delay": 0.001, "max_delay": 1.0, "timeout": 5},
        "concurrency": 4,
    }
    config.update(extra or {})
    (root / ".llmops.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return root
