"""Test cases from JSONL, YAML or CSV. Every error names the file and the line."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from llmops_action.core.prompts import expand_paths
from llmops_action.core.textfile import read_text
from llmops_action.core.yamlpos import error_message, format_path, load_yaml
from llmops_action.errors import UserInputError

DATASET_SUFFIXES = (".jsonl", ".yml", ".yaml", ".csv")
Tag = Literal["golden", "regression", "benchmark", "user"]


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(..., min_length=1)
    prompt: str
    vars: dict[str, Any] = Field(default_factory=dict)
    reference: str | None = None
    keywords: list[str] = Field(default_factory=list)
    contexts: list[str] = Field(default_factory=list, description="Expected context documents (ids or text).")
    tags: list[Tag] = Field(default_factory=list)
    source: str | None = Field(None, exclude=True, description="file:line, for error messages.")


def _case(raw: Any, file: str, line: int) -> Case:
    if not isinstance(raw, dict):
        raise UserInputError("a case must be an object", file=file, line=line)
    if "id" in raw and not isinstance(raw["id"], str):
        raw = {**raw, "id": str(raw["id"])}
    try:
        return Case.model_validate({**raw, "source": f"{file}:{line}"})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise UserInputError(error_message(err), file=file, line=line, key=format_path(err["loc"])) from None


def _jsonl(text: str, file: str) -> Iterable[Case]:
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserInputError(f"invalid JSON: {exc.msg} (column {exc.colno})", file=file, line=n) from None
        yield _case(raw, file, n)


def _yaml(text: str, file: str) -> Iterable[Case]:
    located = load_yaml(text, file)
    data = located.data
    if isinstance(data, dict) and "cases" in data:
        data, prefix = data["cases"], ("cases",)
    else:
        prefix = ()
    if not isinstance(data, list):
        raise UserInputError(
            "a YAML dataset must be a list of cases (or a mapping with 'cases')", file=file, line=1
        )
    for i, raw in enumerate(data):
        yield _case(raw, file, located.line_of((*prefix, i)) or 1)


_LIST_COLUMNS = ("keywords", "contexts", "tags")


def _csv(text: str, file: str) -> Iterable[Case]:
    """Columns id, prompt, reference, keywords|contexts|tags ('|'-separated); any other column is a variable."""
    reader = csv.DictReader(io.StringIO(text))
    for row in reader:
        line = reader.line_num
        raw: dict[str, Any] = {"vars": {}}
        for key, value in row.items():
            if key is None:
                raise UserInputError("row has more fields than the header", file=file, line=line)
            if key in ("id", "prompt", "reference"):
                raw[key] = value
            elif key in _LIST_COLUMNS:
                raw[key] = [v.strip() for v in (value or "").split("|") if v.strip()]
            else:
                raw["vars"][key.removeprefix("vars.")] = value
        yield _case(raw, file, line)


def load_dataset_file(path: Path) -> list[Case]:
    text = read_text(path, "dataset file")
    parse = {".jsonl": _jsonl, ".csv": _csv}.get(path.suffix, _yaml)
    return list(parse(text, str(path)))


def load_dataset(patterns: Iterable[str], root: Path) -> list[Case]:
    """All cases in file order. A duplicate id is an error naming both places; no case at all is an error
    naming the files read."""
    cases: list[Case] = []
    seen: dict[str, str] = {}
    paths = expand_paths(patterns, root, DATASET_SUFFIXES, key="datasets")
    for path in paths:
        for case in load_dataset_file(path):
            if case.id in seen:
                file, _, line = (case.source or "").rpartition(":")
                raise UserInputError(
                    f"duplicate case id '{case.id}' (first at {seen[case.id]})",
                    file=file,
                    line=int(line) if line.isdigit() else None,
                    key="id",
                )
            seen[case.id] = case.source or ""
            cases.append(case)
    if not cases:
        read = ", ".join(_shown(p, root) for p in paths) or "no file matched"
        raise UserInputError(f"the datasets hold no cases (read: {read})", key="datasets")
    return cases


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    return len(json.dumps(value, ensure_ascii=False, default=str).encode("utf-8"))


def format_bytes(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def oversized_field(case: Case, limit: int) -> str | None:
    """Why the case is too large to evaluate (its first field over `limit` bytes), or None."""
    fields: list[tuple[str, Any]] = [(f"vars.{k}", v) for k, v in case.vars.items()]
    fields += [("reference", case.reference), ("keywords", case.keywords), ("contexts", case.contexts)]
    for name, value in fields:
        if value is None:
            continue
        size = _size(value)
        if size > limit:
            return (
                f"case field '{name}' is {format_bytes(size)}, over the {format_bytes(limit)} limit "
                "(limits.max_field_bytes)"
            )
    return None
