"""`outputs` provider: precomputed outputs from a JSONL file, one `{"id", "output", ...}` per line.

Optional keys per line: input_tokens, output_tokens, latency_ms, contexts, model_version.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from llmops_action.core.textfile import read_text
from llmops_action.engine.providers.base import ModelRequest, ModelResponse
from llmops_action.errors import ProviderError, UserInputError


def load_outputs(path: Path) -> dict[str, dict[str, Any]]:
    try:
        text = read_text(path, "outputs file")
    except UserInputError as exc:
        exc.key = exc.key or "provider.path"
        raise
    rows: dict[str, dict[str, Any]] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserInputError(
                f"invalid JSON: {exc.msg} (column {exc.colno})", file=str(path), line=n
            ) from None
        if not isinstance(row, dict) or "id" not in row:
            raise UserInputError("each line must be an object with an 'id'", file=str(path), line=n, key="id")
        if not isinstance(row.get("output"), str):
            raise UserInputError("'output' must be a string", file=str(path), line=n, key="output")
        case_id = str(row["id"])
        if case_id in rows:
            raise UserInputError(f"duplicate id '{case_id}'", file=str(path), line=n, key="id")
        rows[case_id] = row
    return rows


class OutputsProvider:
    kind = "outputs"
    model: str | None = None
    cacheable = False  # reading a file is cheaper than the cache

    def __init__(self, path: Path) -> None:
        self.path = path
        self._rows = load_outputs(path)
        self._digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]

    def cache_identity(self) -> dict[str, Any]:
        return {"type": self.kind, "path": str(self.path), "sha256": self._digest}

    def complete(self, request: ModelRequest) -> ModelResponse:
        row = self._rows.get(request.case_id)
        if row is None:
            raise ProviderError(f"no output for case '{request.case_id}' in {self.path}", retryable=False)
        contexts = row.get("contexts")
        latency = row.get("latency_ms")
        return ModelResponse(
            text=row["output"],
            latency_ms=float(latency) if isinstance(latency, (int, float)) else 0.0,
            input_tokens=row.get("input_tokens") if isinstance(row.get("input_tokens"), int) else None,
            output_tokens=row.get("output_tokens") if isinstance(row.get("output_tokens"), int) else None,
            model_version=row.get("model_version"),
            raw={"contexts": [str(c) for c in contexts]} if isinstance(contexts, list) else None,
        )
