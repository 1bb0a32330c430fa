"""A tiny offline LLM project for PR-flow tests: an "app" that follows its prompt's instruction.

`command` flavour: app.py reads the case (with the rendered prompt) on stdin and names the capital only
when the system prompt tells it to, so dropping that instruction in a new prompt version degrades every
answer. `python` flavour: app.answer(country) names the capital when the module's FOLLOW flag is on, so a
change to the app's code (not the prompt) degrades it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

CAPITALS = {
    "France": "Paris",
    "Germany": "Berlin",
    "Italy": "Rome",
    "Spain": "Madrid",
    "Portugal": "Lisbon",
    "Austria": "Vienna",
    "Poland": "Warsaw",
    "Greece": "Athens",
    "Sweden": "Stockholm",
    "Norway": "Oslo",
    "Finland": "Helsinki",
    "Denmark": "Copenhagen",
    "Ireland": "Dublin",
    "Belgium": "Brussels",
    "Netherlands": "Amsterdam",
    "Hungary": "Budapest",
    "Czechia": "Prague",
    "Romania": "Bucharest",
    "Bulgaria": "Sofia",
    "Croatia": "Zagreb",
    "Serbia": "Belgrade",
    "Slovakia": "Bratislava",
    "Slovenia": "Ljubljana",
    "Estonia": "Tallinn",
    "Latvia": "Riga",
    "Lithuania": "Vilnius",
    "Iceland": "Reykjavik",
    "Japan": "Tokyo",
    "China": "Beijing",
    "India": "Delhi",
    "Egypt": "Cairo",
    "Kenya": "Nairobi",
    "Peru": "Lima",
    "Chile": "Santiago",
    "Cuba": "Havana",
    "Canada": "Ottawa",
}

INSTRUCTION = "Always name the capital city in your answer."

COMMAND_APP = f'''"""Stands in for an LLM app: it follows the instruction in its system prompt, or it does not."""
import json
import sys

CAPITALS = {CAPITALS!r}

case = json.load(sys.stdin)
country = case["vars"]["country"]
if "name the capital" in case["rendered"]["system"]:
    print(f"The capital of {{country}} is {{CAPITALS[country]}}.")
else:
    print(f"{{country}} is a lovely country with a rich history.")
'''

PYTHON_APP = f'''"""Stands in for an LLM app whose behaviour lives in code."""
CAPITALS = {CAPITALS!r}
FOLLOW = True


def answer(country: str) -> str:
    if FOLLOW:
        return f"The capital of {{country}} is {{CAPITALS[country]}}."
    return f"{{country}} is a lovely country with a rich history."
'''


def prompt_yaml(version: str = "1.0.0", *, instruction: bool = True) -> str:
    system = "You are a geography assistant. " + (INSTRUCTION if instruction else "Be friendly.")
    return (
        f"name: answer\nversion: {version}\ndescription: Answer geography questions\n"
        "variables:\n  - {name: country, type: string, required: true}\n"
        f"system: |\n  {system}\n"
        "template: |\n  What is the capital of {{ country }}?\n"
    )


def config_yaml(*, provider: str = "command", store: str = "dir", mode: str = "stored") -> str:
    if provider == "command":
        provider_line = (
            f"provider: {{type: command, command: {json.dumps(sys.executable + ' -S -I app.py')}}}"
        )
    else:
        provider_line = "provider: {type: python, function: 'app:answer'}"
    return f"""suite: capitals
prompts: [prompts]
datasets: [cases.jsonl]
{provider_line}
metrics:
  - {{type: keyword_recall, weight: 1.0}}
gates:
  absolute:
    - {{metric: error_rate, max: 0.0}}
  regression:
    metrics: [score]
baseline: {{store: {store}, path: .llmops/baselines, mode: {mode}}}
tracking: false
concurrency: 8
"""


def write_project(
    folder: Path, *, provider: str = "command", store: str = "dir", mode: str = "stored"
) -> Path:
    """Write the project into folder; returns the path of its .llmops.yml."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "prompts").mkdir(exist_ok=True)
    (folder / "prompts" / "answer.yml").write_text(prompt_yaml(), encoding="utf-8")
    (folder / "app.py").write_text(COMMAND_APP if provider == "command" else PYTHON_APP, encoding="utf-8")
    lines = [
        json.dumps({"id": f"cap-{i:02d}", "prompt": "answer", "vars": {"country": c}, "keywords": [capital]})
        for i, (c, capital) in enumerate(CAPITALS.items())
    ]
    (folder / "cases.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / ".gitignore").write_text(
        ".llmops/baselines/\n.llmops/cache/\nout/\n__pycache__/\n", encoding="utf-8"
    )
    config = folder / ".llmops.yml"
    config.write_text(config_yaml(provider=provider, store=store, mode=mode), encoding="utf-8")
    return config


def degrade_prompt(folder: Path, version: str = "1.1.0") -> None:
    """A new prompt version that drops the instruction the app relies on."""
    (folder / "prompts" / "answer.yml").write_text(prompt_yaml(version, instruction=False), encoding="utf-8")


# --- a Gemini flavour: the fake Gemini echoes the prompt, so a prompt that drops the country loses every keyword ---

GEMINI_CONFIG = """suite: capitals
prompts: [prompts]
datasets: [cases.jsonl]
provider: {{type: gemini, model: gemini-2.5-flash}}
metrics:
  - {{type: keyword_recall, weight: 1.0}}
gates:
  absolute:
    - {{metric: error_rate, max: 0.0}}
  regression:
    metrics: [score]
baseline: {{{store}}}
tracking: false
"""
GEMINI_PROMPT = """name: answer
version: {version}
variables:
  - {{name: country, type: string, required: true}}
system: You are a geography assistant.
template: |
  {template}
"""
ASKS_THE_CAPITAL = "What is the capital of {{ country }}?"
FORGETS_THE_COUNTRY = "Which capital do you like?"


def gemini_prompt(version: str, template: str = ASKS_THE_CAPITAL) -> str:
    return GEMINI_PROMPT.format(version=version, template=template)


def write_gemini_project(root: Path, *, store: str) -> None:
    """20 capitals answered by a Gemini model; `store` is the baseline setting (e.g. "store: git-branch")."""
    files = {
        ".llmops.yml": GEMINI_CONFIG.format(store=store),
        "prompts/answer.yml": gemini_prompt("1.0.0"),
        "cases.jsonl": "".join(
            json.dumps({"id": f"c{i:02d}", "prompt": "answer", "vars": {"country": c}, "keywords": [c]})
            + "\n"
            for i, c in enumerate(list(CAPITALS)[:20])
        ),
    }
    for rel, text in files.items():
        path = Path(root) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
