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
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from llmops_action.core.paths import check_inside, confine
from llmops_action.core.textfile import read_text
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

DEFAULT_MAX_PROMPT_CHARS = 200_000


class _CappedSandbox(SandboxedEnvironment):
    """The sandbox plus a size cap: `'x' * 10**9`, `'x'.ljust(10**9)` or `2 ** 10**9` stop before they allocate.

    jinja2's sandbox already refuses `range()` above MAX_RANGE (OverflowError); it does not bound string
    arithmetic. A loop that builds a huge output is stopped while streaming (see `_render_capped`).
    """

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, max_chars: int) -> None:
        super().__init__(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)
        self.max_chars = max_chars
        self.filters = {name: self._capped(f) for name, f in self.filters.items()}

    def _too_big(self, *values: Any) -> bool:
        return any(isinstance(v, int) and not isinstance(v, bool) and abs(v) > self.max_chars for v in values)

    def _capped(self, f: Any) -> Any:
        @functools.wraps(f)  # keeps jinja's pass_context / pass_environment marks
        def capped(*args: Any, **kwargs: Any) -> Any:
            if self._too_big(*args, *kwargs.values()):
                raise SecurityError(f"a filter argument is over the {self.max_chars:,}-character cap")
            return f(*args, **kwargs)

        return capped

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > 64:
            raise SecurityError("exponent too large for the sandbox")
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(n, int)
                    and len(seq) * n > self.max_chars
                ):
                    raise SecurityError(f"a repeated string is over the {self.max_chars:,}-character cap")
        return super().call_binop(context, operator, left, right)

    def call(self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if self._too_big(*args, *kwargs.values()):
            raise SecurityError(f"a call argument is over the {self.max_chars:,}-character cap")
        return super().call(__context, __obj, *args, **kwargs)


@functools.lru_cache(maxsize=8)
def _env(max_chars: int) -> _CappedSandbox:
    return _CappedSandbox(max_chars)


_ENV = _env(DEFAULT_MAX_PROMPT_CHARS)  # for parsing only; the cap matters when rendering


@functools.lru_cache(maxsize=256)
def _compiled(source: str, max_chars: int = DEFAULT_MAX_PROMPT_CHARS) -> jinja2.Template:
    """Compiling costs ~3 ms per template; an eval renders the same few templates for every case."""
    return _env(max_chars).from_string(source)


def _render_capped(template: jinja2.Template, values: Mapping[str, Any], budget: int) -> str:
    """Stream the render and stop once it passes `budget` characters, before it holds 600 MB."""
    parts: list[str] = []
    size = 0
    for chunk in template.generate(values):
        size += len(chunk)
        if size > budget:
            raise _TooLong()
        parts.append(chunk)
    return "".join(parts)


class _TooLong(Exception):
    pass


class RenderedPrompt(BaseModel):
    model_config = ConfigDict(frozen=True)

    system: str
    user: str


def render(
    prompt: Prompt,
    variables: Mapping[str, Any],
    *,
    case_id: str | None = None,
    source: str | None = None,
    max_chars: int = DEFAULT_MAX_PROMPT_CHARS,
) -> RenderedPrompt:
    """Render system and template within `max_chars`; errors name the case (and its `source` file:line).

    Every failure of an untrusted template (missing variable, sandbox, size cap, an exception inside the
    template) is a UserInputError, so the run stops with exit 2 before any model call.
    """
    where = f"case '{case_id}'" if case_id else "render"
    file, line = prompt.source, None
    if source:
        f, _, n = source.rpartition(":")
        file, line = (f, int(n)) if n.isdigit() else (source, None)
        where += f" (prompt file {prompt.source})" if prompt.source else ""

    def fail(message: str, key: str | None = None) -> UserInputError:
        return UserInputError(f"{where}: {message}", file=file, line=line, key=key)

    values: dict[str, Any] = {}
    for var in prompt.variables:
        if var.name in variables:
            value = variables[var.name]
            if (value is not None and not isinstance(value, _TYPES[var.type])) or (
                var.type in ("integer", "number") and isinstance(value, bool)
            ):
                raise fail(
                    f"variable '{var.name}' of prompt '{prompt.name}' must be {var.type}, "
                    f"got {type(value).__name__}",
                    f"vars.{var.name}" if source else f"variables.{var.name}",
                )
            values[var.name] = value
        elif var.required and var.default is None:
            raise fail(
                f"missing required variable '{var.name}' for prompt '{prompt.name}'",
                f"vars.{var.name}" if source else f"variables.{var.name}",
            )
        else:
            values[var.name] = var.default
    for k, v in variables.items():  # undeclared variables still render, declared ones win
        values.setdefault(k, v)
    cap = f"the rendered prompt is over {max_chars:,} characters (limits.max_prompt_chars)"
    try:
        system = (
            _render_capped(_compiled(prompt.system, max_chars), values, max_chars) if prompt.system else ""
        )
        user = _render_capped(_compiled(prompt.template, max_chars), values, max_chars - len(system))
    except _TooLong:
        raise fail(cap) from None
    except jinja2.UndefinedError as exc:
        raise fail(f"prompt '{prompt.name}' uses an undefined variable: {exc.message}") from None
    except jinja2.TemplateSyntaxError as exc:
        raise UserInputError(
            f"template syntax error: {exc.message}", file=prompt.source, line=exc.lineno
        ) from None
    except (SecurityError, OverflowError) as exc:
        raise fail(f"prompt '{prompt.name}' is blocked by the template sandbox: {exc}") from None
    except MemoryError:
        raise fail(cap) from None
    except Exception as exc:  # anything a template can raise is the template's fault, not a crash
        raise fail(f"prompt '{prompt.name}' failed to render: {type(exc).__name__}: {exc}") from None
    return RenderedPrompt(system=system, user=user)


def variable_names(prompt: Prompt) -> set[str]:
    """Every variable the prompt declares or its templates use."""
    import jinja2.meta

    used = set(jinja2.meta.find_undeclared_variables(_ENV.parse(prompt.template)))
    if prompt.system:
        used |= jinja2.meta.find_undeclared_variables(_ENV.parse(prompt.system))
    return {v.name for v in prompt.variables} | used


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
    return parse_prompt(read_text(p, "prompt file"), str(p))


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
