"""Prompt registry: the active version per prompt and an append-only activation log.

Kept as JSON in the repository (`.llmops/registry/<name>.json`), so activations are reviewed in PRs.
"""

from __future__ import annotations

import json
from pathlib import Path

REGISTRY_DIR = Path(".llmops") / "registry"


def registry_dir(root: Path) -> Path:
    return root / REGISTRY_DIR


def active_versions(root: Path) -> dict[str, str]:
    """{prompt name: active version} for every prompt with a registry file."""
    folder = registry_dir(root)
    if not folder.is_dir():
        return {}
    out: dict[str, str] = {}
    for f in sorted(folder.glob("*.json")):
        data = json.loads(f.read_text(encoding="utf-8"))
        if data.get("active"):
            out[f.stem] = data["active"]
    return out
