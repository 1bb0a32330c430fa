"""The JSON documents this tool writes and reads back (results.json, comparison.json): atomic writes, and
reads that check the kind and schema version before trusting the content."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from llmops_action.core.yamlpos import error_message, format_path
from llmops_action.errors import UserInputError

M = TypeVar("M", bound=BaseModel)


def write_atomic(path: str | Path, text: str) -> Path:
    """Write via a temporary file and a rename: a crash never leaves a half-written file."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(p)
    return p


def read_document(model: type[M], text: str, source: str, *, kind: str, schema_version: int) -> M:
    """Parse and validate one document; anything else is a UserInputError naming the file and the key."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserInputError(f"not JSON: {exc.msg}", file=source, line=exc.lineno) from None
    if not isinstance(data, dict) or data.get("kind") != kind:
        raise UserInputError(f"not an llmops-action {kind} document (its 'kind' is not {kind})", file=source)
    if data.get("schema_version") != schema_version:
        raise UserInputError(
            f"schema_version {data.get('schema_version')!r} is not supported (this version reads {schema_version})",
            file=source,
            key="schema_version",
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise UserInputError(
            f"invalid {kind} document: {error_message(err)}", file=source, key=format_path(err["loc"])
        ) from None
