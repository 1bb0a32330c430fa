"""Render the self-test report (`selftest.md`) and write it with `selftest.json` (issue 14).

Same jinja2 environment and escape filters as the PR comment; the report is rendered from the one
SelftestReport object, as the comment is from the one Comparison.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llmops_action.core.documents import write_atomic
from llmops_action.core.report import escape
from llmops_action.core.report.render import _env, _squeeze_blank_lines
from llmops_action.core.selftest import SelftestReport

ICON = {"caught": "✅", "flagged": "⚠️", "missed": "❌", "already failing": "➖", "skipped": "⏭️"}


def _view(r: SelftestReport) -> dict[str, Any]:
    metrics: list[str] = []
    for row in r.rows:
        metrics += [m for m in row.moved if m not in metrics]
    gates = [g for g in r.gates if g in r.blocking_gates]
    cells = {
        row.mutation: [next((c for c in row.gates if c.gate == g), None) for g in gates] for row in r.rows
    }
    side = {
        row.mutation: [c.gate for c in row.gates if not c.blocking and c.outcome == "flagged"]
        for row in r.rows
    }
    return {
        "gates": gates,
        "metrics": metrics,
        "cells": cells,
        "side": side,
        "icon": ICON,
        "errors": [message(e) for e in r.errors],
        "warnings": [message(w) for w in r.warnings],
    }


def message(text: str) -> str:
    """Our own sentences (mutation, metric, gate and judge names from the base's config): code spans kept,
    HTML and mentions neutralised all the same."""
    return escape.neutralize_mentions(escape.escape_html(escape.clean(text, 2000))).replace("\n", " ")


def render_selftest(report: SelftestReport) -> str:
    text = _env().get_template("selftest.md.j2").render(r=report, v=_view(report))
    return _squeeze_blank_lines(text).strip() + "\n"


def selftest_text(report: SelftestReport) -> str:
    """The terminal's version: one line per mutation with the gates that caught it and the deltas they saw."""
    text = _env().get_template("selftest.txt.j2").render(r=report)
    return _squeeze_blank_lines(text).strip() + "\n"


def write_selftest(report: SelftestReport, out_dir: Path) -> dict[str, Path]:
    """selftest.json and selftest.md in out_dir, each written atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return {
        "selftest.json": write_atomic(out_dir / "selftest.json", report.model_dump_json(indent=2)),
        "selftest.md": write_atomic(out_dir / "selftest.md", render_selftest(report)),
    }
