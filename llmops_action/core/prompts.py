"""Versioned prompt files: loading, sandboxed rendering, content hash.

Templates arrive in pull requests, so they are untrusted code: rendering uses jinja2's
SandboxedEnvironment with StrictUndefined.
"""

from __future__ import annotations

import functools
import glob
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from llmops_action.core.paths import check_inside, confine
from llmops_action.core.yamlpos import error_message, format_path, load_yaml
from llmops_action.errors import UserInputError

_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
PROMPT_SUFFIXES = (".yml", ".yaml")


class Variable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(..., pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    type: Literal["string", "integer", "number", "boolean", "list", "object"] = "string"
    required: bool = True
    default: Any = None
    description: str | None = None


class Prompt(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(..., pattern=r"^[A-Za-z0-9_.-]+$")
    version: str
    description: str = ""
    variables: list[Variable] = Field(default_factory=list)
    system: str = ""
    template: str
    source: str | None = Field(None, exclude=True)

    @field_validator("version", mode="before")
    @classmethod
    def _semver(cls, v: Any) -> str:
        v = str(v)
        if not _SEMVER.match(v):
            raise ValueError(f"version '{v}' is not semver (MAJOR.MINOR.PATCH)")
        return v

    def content(self) -> dict[str, Any]:
        """What the hash covers: everything that changes the request sent to the model."""
        return {
            "system": self.system,
            "template": self.template,
            "variables": [v.model_dump(mode="json", exclude_none=True) for v in self.variables],
        }

    @property
    def content_hash(self) -> str:
        blob = json.dumps(self.content(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "list": (list,),
    "object": (dict,),
}

_ENV = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> jinja2.Template:
    """Compiling costs ~3 ms per template; an eval renders the same few templates for every case."""
    return _ENV.from_string(source)


class RenderedPrompt(BaseModel):
    model_config = ConfigDict(frozen=True)

    system: str
    user: str


def render(prompt: Prompt, variables: Mapping[str, Any], *, case_id: str | None = None) -> RenderedPrompt:
    """Render system and template; missing variables name the case and the variable."""
    where = f"case '{case_id}'" if case_id else "render"
    values: dict[str, Any] = {}
    for var in prompt.variables:
        if var.name in variables:
            value = variables[var.name]
            if (value is not None and not isinstance(value, _TYPES[var.type])) or (
                var.type in ("integer", "number") and isinstance(value, bool)
            ):
                raise UserInputError(
                    f"{where}: variable '{var.name}' of prompt '{prompt.name}' must be {var.type}, "
                    f"got {type(value).__name__}",
                    file=prompt.source,
                    key=f"variables.{var.name}",
                )
            values[var.name] = value
        elif var.required and var.default is None:
            raise UserInputError(
                f"{where}: missing required variable '{var.name}' for prompt '{prompt.name}'",
                file=prompt.source,
                key=f"variables.{var.name}",
            )
        else:
            values[var.name] = var.default
    for k, v in variables.items():  # undeclared variables still render, declared ones win
        values.setdefault(k, v)
    try:
        system = _compiled(prompt.system).render(values) if prompt.system else ""
        user = _compiled(prompt.template).render(values)
    except jinja2.UndefinedError as exc:
        raise UserInputError(
            f"{where}: prompt '{prompt.name}' uses an undefined variable: {exc.message}", file=prompt.source
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        raise UserInputError(
            f"template syntax error: {exc.message}", file=prompt.source, line=exc.lineno
        ) from None
    except jinja2.exceptions.SecurityError as exc:
        raise UserInputError(f"template blocked by the sandbox: {exc}", file=prompt.source) from None
    return RenderedPrompt(system=system, user=user)


def parse_prompt(text: str, file: str) -> Prompt:
    located = load_yaml(text, file)
    if not isinstance(located.data, dict):
        raise UserInputError("a prompt file must be a YAML mapping", file=file, line=1)
    try:
        prompt = Prompt.model_validate({**located.data, "source": file})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        raise UserInputError(
            error_message(err), file=file, line=located.line_of(loc), key=format_path(loc)
        ) from None
    try:
        _ENV.parse(prompt.template)
        if prompt.system:
            _ENV.parse(prompt.system)
    except jinja2.TemplateSyntaxError as exc:
        key = "template" if exc.source == prompt.template else "system"
        base = located.line_of((key,)) or 0
        raise UserInputError(
            f"template syntax error: {exc.message}", file=file, line=base + (exc.lineno or 1), key=key
        ) from None
    return prompt


def load_prompt(path: str | Path) -> Prompt:
    p = Path(path)
    try:
        return parse_prompt(p.read_text(encoding="utf-8"), str(p))
    except FileNotFoundError:
        raise UserInputError("prompt file not found", file=str(p)) from None


def expand_paths(
    patterns: Iterable[str], root: Path, suffixes: tuple[str, ...], *, key: str = "prompts"
) -> list[Path]:
    """Files, folders (recursed) or globs, relative to root; sorted for a stable order.

    A pull request writes these paths: absolute ones, `..` and symlinks out of root are refused (exit 2).
    """
    config_file = str(root / ".llmops.yml")
    out: list[Path] = []
    for pattern in patterns:
        full = confine(root, pattern, key=key, file=config_file)
        if full.is_dir():
            out.extend(sorted(p for p in full.rglob("*") if p.suffix in suffixes and p.is_file()))
        elif any(c in pattern for c in "*?["):
            out.extend(sorted(Path(p) for p in glob.glob(str(full), recursive=True) if Path(p).is_file()))
        elif full.is_file():
            out.append(full)
        else:
            raise UserInputError(f"no such file or folder: {pattern}", file=str(root / ".llmops.yml"))
    seen: set[Path] = set()
    unique = [p for p in out if not (p in seen or seen.add(p))]
    return [check_inside(root, p, key=key, file=config_file) for p in unique]


def semver_key(version: str) -> tuple[int, int, int, int, str]:
    m = _SEMVER.match(version)
    assert m, version
    pre = version.split("+")[0].partition("-")[2]
    # A release sorts after its pre-releases.
    return (int(m[1]), int(m[2]), int(m[3]), 0 if pre else 1, pre)


def load_prompt_versions(patterns: Iterable[str], root: Path) -> dict[str, dict[str, Prompt]]:
    """Every version of every prompt: {name: {version: Prompt}}. A (name, version) twice is an error."""
    found: dict[str, dict[str, Prompt]] = {}
    for path in expand_paths(patterns, root, PROMPT_SUFFIXES):
        prompt = load_prompt(path)
        versions = found.setdefault(prompt.name, {})
        if prompt.version in versions:
            raise UserInputError(
                f"prompt '{prompt.name}' version {prompt.version} is defined twice "
                f"(also in {versions[prompt.version].source})",
                file=str(path),
                key="version",
            )
        versions[prompt.version] = prompt
    return found


def load_prompts(
    patterns: Iterable[str], root: Path, active: Mapping[str, str] | None = None
) -> dict[str, Prompt]:
    """The prompt that runs for each name: the registry's active version, else the highest semver."""
    chosen: dict[str, Prompt] = {}
    for name, versions in load_prompt_versions(patterns, root).items():
        want = (active or {}).get(name)
        if want is not None:
            if want not in versions:
                raise UserInputError(
                    f"the registry activates {name}@{want}, but no prompt file has that version "
                    f"(have: {', '.join(sorted(versions, key=semver_key))})",
                    key=name,
                )
            chosen[name] = versions[want]
        else:
            chosen[name] = versions[max(versions, key=semver_key)]
    return chosen
