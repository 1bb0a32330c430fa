"""Jinja filters for the report templates: number formatting, and status cells that embed escaped text.

Every filter that shows untrusted text calls one of escape.py's functions; numbers are our own formatting.
"""

from __future__ import annotations

import re

from llmops_action.core.comparison import Comparison, DriftSignal, MetricDelta
from llmops_action.core.report import escape
from llmops_action.core.results import GateResult

VERDICT_ICON = {"pass": "✅", "warn": "⚠️", "fail": "❌", "incomplete": "⏸️"}
STATUS_ICON = {"pass": "✅", "warn": "⚠️", "fail": "❌", "skipped": "⏭️"}
DRIFT_ICON = {"ok": "✅", "warning": "⚠️", "critical": "❌", "skipped": "⏭️"}


def fmt(x: float) -> str:
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 10:
        return f"{x:.1f}"
    return f"{x:.3f}"


def num(x: float | int | None) -> str:
    if x is None:
        return "—"
    if isinstance(x, bool):
        return str(x).lower()
    return str(x) if isinstance(x, int) else fmt(float(x))


def signed(x: float | None) -> str:
    if x is None:
        return "—"
    return ("+" if x >= 0 else "-") + fmt(abs(float(x)))


def ci(interval: tuple[float, float] | None) -> str:
    return "" if not interval else f"[{signed(interval[0])}, {signed(interval[1])}]"


def pval(p: float | None) -> str:
    if p is None:
        return "—"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def ms(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f} ms"


def usd(x: float | None) -> str:
    return "—" if x is None else f"${x:.4f}"


def count(x: int | float | None) -> str:
    return "—" if x is None else f"{int(x):,}"


def sha(x: object) -> str:
    return f"`{escape.short_sha(x)}`" if x else "none"


def code(x: object) -> str:
    """A code span for identifiers that are plain (hashes, model ids); anything else is escaped prose."""
    if x is None or x == "":
        return "—"
    s = str(x)
    return f"`{s}`" if len(s) <= 80 and escape.code_span_ok(s) else escape.cell(s, 80)


def span(x: object, limit: int = 300) -> str:
    """Any text as one inline code span (nothing inside renders: no mention, no HTML, no link); one line,
    with a backtick fence longer than any run of backticks inside."""
    s = " ".join(escape.clean(x, limit).split())
    if not s:
        return "—"
    run = max((len(m) for m in re.findall(r"`+", s)), default=0)
    tick = "`" * (run + 1)
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return f"{tick}{pad}{s}{pad}{tick}"


def threshold(g: GateResult) -> str:
    if g.threshold is None:
        return "—"
    t = num(g.threshold)
    if g.op in (">=", "<=", ">", "<"):
        return f"{escape.escape_html(g.op)} {t}"
    if g.op == "delta":
        return f"drop < {num(abs(g.threshold))}"
    if g.op == "pct":
        return f"growth ≤ {t}%"
    if g.op == "psi":
        return f"PSI < {t}"
    if g.op:
        return f"{escape.cell(g.op, 20)} {t}"
    return t


def gate_status(g: GateResult, c: Comparison) -> str:
    text = f"{STATUS_ICON.get(g.status, '')} {g.status}"
    if not g.blocking and g.status in ("fail", "warn"):
        text += " (non-blocking)"
    if g.reason:
        text += f": {escape.cell(g.reason, 300)}"
    return text


def drift_status(s: DriftSignal) -> str:
    text = f"{DRIFT_ICON.get(s.status, '')} {s.status}"
    return text + (" (blocking)" if s.blocking else "")


def metric_notes(m: MetricDelta) -> str:
    parts = []
    if m.decision == "block":
        parts.append("❌ significant drop")
    elif m.decision == "warn" and m.delta is not None:
        parts.append("⚠️ drop (one criterion)")
    if m.mcnemar_p is not None:
        parts.append(f"McNemar p {pval(m.mcnemar_p)}")
    if m.ci_method and m.ci_method != "none":
        level = f"{m.confidence:.0%} " if m.confidence is not None else ""
        parts.append(f"n={m.n_paired}, {level}{m.ci_method} CI")
    if m.note:
        parts.append(escape.cell(m.note, 200))
    return "; ".join(parts) if parts else " "


def fence(text: object, info: str = "", limit: int = 4000) -> str:
    return escape.fence(text if text is not None else "(no output)", info, limit)


FILTERS = {
    "cell": escape.cell,
    "prose": escape.prose,
    "html_text": escape.html_text,
    "fence": fence,
    "code": code,
    "span": span,
    "sha": sha,
    "num": num,
    "signed": signed,
    "ci": ci,
    "pval": pval,
    "ms": ms,
    "usd": usd,
    "count": count,
    "threshold": threshold,
    "gate_status": gate_status,
    "drift_status": drift_status,
    "metric_notes": metric_notes,
    "verdict_icon": lambda v: VERDICT_ICON.get(v, ""),
}
