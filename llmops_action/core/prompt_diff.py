"""Unified diffs between two prompt definitions (system, template, variables)."""

from __future__ import annotations

import difflib
import json
from typing import Any


def prompt_text(content: dict[str, Any]) -> list[str]:
    """A stable, line-oriented view of a prompt's content, so diffs read like the YAML a human wrote."""
    lines = ["# system"]
    lines += (content.get("system") or "").splitlines()
    lines.append("# template")
    lines += (content.get("template") or "").splitlines()
    lines.append("# variables")
    for var in content.get("variables") or []:
        lines.append(json.dumps(var, sort_keys=True))
    return lines


def unified_prompt_diff(
    old: dict[str, Any] | None, new: dict[str, Any] | None, old_label: str, new_label: str
) -> str:
    a = prompt_text(old) if old is not None else []
    b = prompt_text(new) if new is not None else []
    return "\n".join(difflib.unified_diff(a, b, fromfile=old_label, tofile=new_label, lineterm=""))
