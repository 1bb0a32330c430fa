"""jinja2 rendering for alert and experiment text, with the report's escaping filters."""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2

from llmops_action.core.report.filters import FILTERS
from llmops_action.core.report.render import TEMPLATES


def _num4(x: float | None) -> str:
    return "" if x is None else f"{x:.4f}"


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=False,  # Markdown and plain text; untrusted fields go through the escaping filters
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    env.filters["num4"] = _num4
    return env


def render(template: str, **values: Any) -> str:
    return _env().get_template(template).render(**values)
