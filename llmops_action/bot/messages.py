"""User-facing text of the bot, from jinja2 templates in bot/templates/."""

from __future__ import annotations

from typing import Any

import jinja2

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("llmops_action.bot", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined,
)


def render(name: str, **values: Any) -> str:
    return _ENV.get_template(name).render(**values)
