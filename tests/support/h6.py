"""A small real project on disk (config, prompts in two versions, a dataset), and git helpers."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

CONFIG = """\
suite: demo
prompts: [prompts]
datasets: [data/cases.jsonl]
provider: {type: python, function: "app:answer"}
metrics:
  - {type: exact_match, weight: 1.0}
  - {type: length}
"""

GREET_V1 = """\
name: greet
version: 1.0.0
description: Say hello
variables:
  - {name: who, type: string}
system: You are polite.
template: "Hello {{ who }}"
"""

GREET_V2 = """\
name: greet
version: 1.1.0
description: Say hello warmly
variables:
  - {name: who, type: string}
  - {name: mood, type: string, required: false, default: warm}
system: You are polite and {{ mood }}.
template: "Hello dear {{ who }}"
"""

GREET_V3 = GREET_V2.replace("1.1.0", "2.0.0").replace("dear", "dearest")

CASES = """\
{"id": "c1", "prompt": "greet", "vars": {"who": "Ada"}, "reference": "Hello Ada"}
{"id": "c2", "prompt": "greet", "vars": {"who": "Linus"}, "reference": "Hello Linus"}
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def make_project(root: Path, *, v3: bool = False) -> Path:
    """Returns the config path."""
    write(root / "prompts" / "greet_v1.yml", GREET_V1)
    write(root / "prompts" / "greet_v2.yml", GREET_V2)
    if v3:
        write(root / "prompts" / "greet_v3.yml", GREET_V3)
    write(root / "data" / "cases.jsonl", CASES)
    return write(root / ".llmops.yml", CONFIG)


def git(root: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "Test Author",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "Test Author",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(root),
    }
    return subprocess.run(
        ["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True
    ).stdout


def init_repo(root: Path) -> None:
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test Author")
    git(root, "config", "user.email", "t@example.com")


def commit_all(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()
