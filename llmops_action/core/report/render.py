"""Render a Comparison into the PR comment, the job summary, comparison.json and junit.xml.

One jinja2 environment (autoescape off because the output is Markdown, StrictUndefined so a typo in a
template fails loudly). Untrusted values reach the output only through the escape filters registered here
(see escape.py for what each guards against). Sizes are enforced by re-rendering with fewer items rather
than by cutting text, so a cut can never land inside a fence or a `<details>`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from llmops_action.core.comparison import Comparison
from llmops_action.core.report import escape
from llmops_action.core.report.filters import FILTERS, VERDICT_ICON, code, gate_rank, sha
from llmops_action.core.results import GateResult, RunResult

COMMENT_BUDGET = 60_000  # characters; GitHub refuses comments over 65,536
SUMMARY_LIMIT = 1_048_576  # bytes; GitHub's limit for one step summary
TEMPLATES = Path(__file__).with_name("templates")

BASE_SOURCE_TEXT = {
    "stored": "stored baseline of the merge-base",
    "ancestor": "nearest ancestor with a stored baseline",
    "rerun": "base re-evaluated in this run",
    "given": "given results file",
    "none": "no baseline",
}
LINK_NAMES = {"workflow_run": "workflow run", "mlflow_run": "MLflow run", "mlflow": "MLflow"}


@dataclass(frozen=True)
class Limits:
    """How much of each repeatable item a rendering includes; shrunk step by step to fit a budget."""

    cases: int
    diffs: int
    rows: int = 1_000_000  # table rows per table (gates, metrics, drift)
    case_rows: int = 1_000_000  # summary's all-cases table
    output_chars: int = 1500
    diff_chars: int = 8000
    reason_chars: int = 600


@dataclass
class _View:
    marker: str
    limits: Limits
    case_metric: str
    base_source_text: str
    links: list[tuple[str, str]]
    tool_version: str
    distribution: dict[str, Any] | None
    trend: dict[str, Any] | None
    gates: list[GateResult] = field(default_factory=list)  # failing first
    failed: list[str] = field(default_factory=list)  # names of the blocking gates that failed
    warned: list[str] = field(default_factory=list)  # names of the gates that warn (or fail, non-blocking)
    case_rows: list[dict[str, Any]] = field(default_factory=list)
    omitted: str = ""


# --- public API ----------------------------------------------------------------------------------


def comment_marker(suite: str) -> str:
    """The hidden marker the GitHub client looks for to update the comment of this suite in place."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", suite)[:100] or "default"
    return f"<!-- llmops-action:comment suite={safe} -->"


def render_comment(c: Comparison, *, budget: int = COMMENT_BUDGET) -> str:
    """The PR comment: at most `budget` characters, dropping worst cases, then diffs, then table rows."""
    view = _view(c, Limits(cases=len(c.worst_cases), diffs=_n_diffs(c)))
    text = _render("comment.md.j2", c, view)
    while len(text) > budget:
        smaller = _shrink(view.limits, c)
        if smaller is None:
            return _minimal(c, view, budget)
        view.limits = smaller
        view.omitted = _omitted_note(c, smaller, "this comment", "the job summary")
        text = _render("comment.md.j2", c, view)
    return text


def render_summary(c: Comparison, head: RunResult, *, limit: int = SUMMARY_LIMIT) -> str:
    """The full report for the job summary and summary.md: every case, full diffs, at most `limit` bytes."""
    limits = Limits(
        cases=len(c.worst_cases),
        diffs=_n_diffs(c),
        output_chars=20_000,
        diff_chars=200_000,
        reason_chars=4000,
    )
    view = _view(c, limits)
    view.case_rows = _case_rows(c, head)
    view.marker = ""
    text = _render("summary.md.j2", c, view)
    while len(text.encode()) > limit:
        lim = view.limits
        if lim.case_rows > 10 and lim.case_rows > 0:
            smaller: Limits | None = replace(lim, case_rows=min(lim.case_rows, len(view.case_rows)) // 2)
        elif lim.output_chars > 2000:
            smaller = replace(lim, output_chars=2000, diff_chars=20_000)
        else:
            smaller = _shrink(lim, c)
        if smaller is None:
            return _minimal(c, view, limit)
        view.limits = smaller
        view.omitted = _omitted_note(c, smaller, "this summary", "comparison.json and results.json")
        view.case_rows = view.case_rows[: smaller.case_rows]
        text = _render("summary.md.j2", c, view)
    return text


def render_junit(c: Comparison) -> str:
    from llmops_action.core.report.junit import render_junit as _junit

    return _junit(c)


def write_reports(c: Comparison, head: RunResult, out_dir: Path) -> dict[str, Path]:
    """Write comment.md, summary.md, comparison.json and junit.xml. All are rendered first, then each is
    written to a temporary file and renamed, so a failure never leaves a half-written report set."""
    contents = {
        "comment": ("comment.md", render_comment(c)),
        "summary": ("summary.md", render_summary(c, head)),
        "comparison": ("comparison.json", c.to_json()),
        "junit": ("junit.xml", render_junit(c)),
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmps: dict[str, tuple[Path, Path]] = {}
    try:
        for key, (name, text) in contents.items():
            final = out_dir / name
            tmp = out_dir / f".{name}.tmp"
            tmp.write_text(text, encoding="utf-8")
            tmps[key] = (tmp, final)
        for tmp, final in tmps.values():
            tmp.replace(final)
    finally:
        for tmp, _ in tmps.values():
            tmp.unlink(missing_ok=True)
    return {key: final for key, (_, final) in tmps.items()}


# --- shrinking -----------------------------------------------------------------------------------


def _n_diffs(c: Comparison) -> int:
    return sum(1 for p in c.prompt_changes if p.diff)


def _shrink(lim: Limits, c: Comparison) -> Limits | None:
    """The next smaller rendering: shorter outputs, fewer worst cases, shorter then fewer diffs, fewer rows."""
    if lim.output_chars > 600 and lim.cases > 0:
        return replace(lim, output_chars=600, reason_chars=300)
    if lim.cases > 0:
        return replace(lim, cases=lim.cases - 1)
    if lim.diff_chars > 3000 and lim.diffs > 0:
        return replace(lim, diff_chars=3000)
    if lim.diffs > 0:
        return replace(lim, diffs=lim.diffs - 1)
    longest = max(len(c.gates), len(c.metrics), len(c.drift))
    if min(lim.rows, longest) > 5:
        return replace(lim, rows=min(lim.rows, longest) // 2)
    return None


def _omitted_note(c: Comparison, lim: Limits, here: str, there: str) -> str:
    cases = max(0, len(c.worst_cases) - lim.cases)
    diffs = max(0, _n_diffs(c) - lim.diffs)
    parts = []
    if cases:
        parts.append(f"{cases} worst case{'s' if cases != 1 else ''}")
    if diffs:
        parts.append(f"{diffs} prompt diff{'s' if diffs != 1 else ''}")
    rows = sum(max(0, n - lim.rows) for n in (len(c.gates), len(c.metrics), len(c.drift)))
    if rows:
        parts.append(f"{rows} table row{'s' if rows != 1 else ''}")
    if lim.output_chars < 1500 or lim.diff_chars < 8000:
        parts.append("the tails of long outputs and diffs")
    total = cases + diffs + rows
    what = ", ".join(parts) if parts else "some detail"
    return f"{total} item{'s' if total != 1 else ''} left out of {here} to stay within the size limit ({what}); {there} has them."


def _minimal(c: Comparison, view: _View, budget: int) -> str:
    """Last resort when even the tables do not fit: the marker, the verdict and where to look."""
    lines = [
        view.marker,
        f"## {VERDICT_ICON.get(c.verdict, '')} LLM evaluation: {c.verdict} · suite {code(c.suite)}",
        "",
        f"Head {sha(c.head.sha)} vs base {sha(c.base.sha if c.base else None)}.",
        "",
        f"The report is too large to show here ({len(c.gates)} gates, {len(c.metrics)} metrics, "
        f"{len(c.drift)} drift signals); the job summary and the artifact have it in full.",
    ]
    failed = [g for g in c.gates if g.status == "fail" and g.blocking]
    if failed:
        names = ", ".join(escape.prose(g.name, 80) for g in failed[:10])
        more = f" and {len(failed) - 10} more" if len(failed) > 10 else ""
        lines += ["", f"Failed blocking gates: {names}{more}."]
    text = "\n".join(lines) + "\n"
    return text if len(text.encode()) <= budget else view.marker + "\n"


# --- view --------------------------------------------------------------------------------------------


def _view(c: Comparison, limits: Limits) -> _View:
    from llmops_action import __version__

    links = []
    for key, url in c.links.items():
        safe = escape.link_url(url)
        if safe:
            links.append((LINK_NAMES.get(key, key), safe))
    return _View(
        marker=comment_marker(c.suite),
        limits=limits,
        case_metric=str(c.extra.get("case_metric", "score")),
        base_source_text=BASE_SOURCE_TEXT.get(c.base_source, c.base_source),
        links=links,
        tool_version=__version__,
        distribution=_distribution(c),
        trend=_trend(c),
        gates=sorted(c.gates, key=gate_rank),  # stable: config order within a rank
        failed=[g.name for g in c.gates if g.status == "fail" and g.blocking],
        warned=[g.name for g in c.gates if g.status == "warn" or (g.status == "fail" and not g.blocking)],
    )


def _distribution(c: Comparison, bins: int = 10) -> dict[str, Any] | None:
    series = {k: v for k, v in c.score_distribution.items() if v}
    if not series:
        return None
    values = [x for v in series.values() for x in v]
    lo, hi = min(values), max(values)
    if lo >= 0.0 and hi <= 1.0:
        lo, hi = 0.0, 1.0
    elif hi <= lo:
        hi = lo + 1.0
    width = (hi - lo) / bins
    labels = [f'"{lo + i * width:.2g}-{lo + (i + 1) * width:.2g}"' for i in range(bins)]

    def counts(v: list[float]) -> list[int]:
        out = [0] * bins
        for x in v:
            # (0.3 - 0) / 0.1 is 2.9999999999999996 in floating point: round before flooring, so a score on
            # a boundary lands in the bin its label starts with (0.3 in "0.3-0.4")
            i = math.floor(round((x - lo) / width, 9))
            out[min(bins - 1, max(0, i))] += 1
        return out

    out = []
    if "base" in series:
        out.append({"kind": "bar", "counts": counts(series["base"])})
    if "head" in series:
        out.append({"kind": "line" if "base" in series else "bar", "counts": counts(series["head"])})
    title = "cases per score bin: bars base, line head" if len(out) == 2 else "cases per score bin (head)"
    return {"title": title, "labels": labels, "series": out}


def _trend(c: Comparison) -> dict[str, Any] | None:
    points = [p for p in c.trend if p.score is not None]
    if len(points) < 2:  # one point is not a trend
        return None
    return {
        "labels": [f'"{escape.label(p.label)}"' for p in points],
        "scores": [f"{p.score:.4f}" for p in points],
    }


def _case_rows(c: Comparison, head: RunResult) -> list[dict[str, Any]]:
    deltas = {d["id"]: d for d in c.extra.get("case_deltas", []) if isinstance(d, dict) and "id" in d}
    metric = str(c.extra.get("case_metric", "score"))
    rows = []
    for case in head.cases:
        d = deltas.get(case.id, {})
        head_value = (
            case.score
            if metric == "score"
            else (case.metrics[metric].score if metric in case.metrics else None)
        )
        rows.append(
            {
                "id": case.id,
                "prompt": case.prompt,
                "version": case.prompt_version or "",
                "base": d.get("base"),
                "head": head_value,
                "delta": d.get("delta"),
                "latency": case.latency_ms,
                "output_tokens": case.output_tokens,
                "finish": case.blocked or case.finish_reason or "",
                "error": case.error or "",
            }
        )
    return rows


# --- environment ---------------------------------------------------------------------------------


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=False,  # Markdown, not HTML: escaping is explicit, per context, through the filters below
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    return env


def _render(template: str, c: Comparison, view: _View) -> str:
    text = _env().get_template(template).render(c=c, v=view)
    return _squeeze_blank_lines(text).strip() + "\n"


_FENCE_LINE = re.compile(r"^(`{3,})[A-Za-z0-9_+-]*$")


def _squeeze_blank_lines(text: str) -> str:
    """Collapse runs of blank lines left by template logic, but never inside a code fence (content is verbatim)."""
    out: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        m = _FENCE_LINE.match(line)
        if fence is None:
            if m:
                fence = m.group(1)
            elif not line.strip() and out and not out[-1].strip():
                continue
        elif line.startswith(fence) and line.strip("`") == "":
            fence = None
        out.append(line)
    return "\n".join(out)


def render_pending(
    *,
    suite: str,
    head_sha: str | None,
    reason: str,
    message: str,
    provider: str,
    notes: list[str],
    unverified: list[tuple[str, str]],
    unverified_label: str,
) -> str:
    """The comment of a review that could not evaluate here (core/trust.py: NEEDS_MAINTAINER)."""
    text = (
        _env()
        .get_template("pending.md.j2")
        .render(
            marker=comment_marker(suite),
            suite=suite,
            head_sha=head_sha,
            reason=reason,
            message=message,
            provider=provider,
            notes=notes,
            unverified=unverified,
            unverified_label=unverified_label,
        )
    )
    return _squeeze_blank_lines(text).strip() + "\n"
