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
    return "—" if x is None else f"{x:.4f} USD"


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
    """The whole rule: what the value must meet (quality) or what makes the gate fail (regression, drift)."""
    if g.threshold is None:
        return "—"
    t = num(g.threshold)
    p = f" and p &lt; {g.alpha:g}" if g.alpha is not None else ""
    outcome = "fails" if g.blocking else "warns"
    if g.op in (">=", "<=", ">", "<"):
        return f"{escape.escape_html(g.op)} {t}"
    if g.op == "delta":
        return f"{outcome} on a drop ≥ {num(abs(g.threshold))}{p}"
    if g.op == "pct":
        floor = f" and ≥ {num(g.min_delta)} ms" if g.min_delta is not None else ""
        return f"{outcome} on growth &gt; {t}%{floor}"
    if g.op == "psi":
        return f"{outcome} on adjusted PSI ≥ {t}{p}"
    if g.op:
        return f"{escape.cell(g.op, 20)} {t}"
    return t


def gate_rank(g: GateResult) -> int:
    """Failing gates first, then warnings, skipped, passing: the reviewer reads what blocks at the top."""
    if g.status == "fail":
        return 0 if g.blocking else 1
    return {"warn": 2, "skipped": 3}.get(g.status, 4)


def gate_status(g: GateResult, c: Comparison) -> str:
    """Short: an icon and a word or three. The why goes below the table (`gate_reason`)."""
    if g.status == "skipped" and g.family == "regression" and c.base is not None and not c.like_for_like:
        return "⏭️ not comparable"
    if g.status == "fail" and not g.blocking:
        return "⚠️ fail (non-blocking)"
    if g.status == "skipped":
        return "⏭️ " + ("no baseline" if "baseline" in g.reason else "skipped")
    return f"{STATUS_ICON.get(g.status, '')} {g.status}"


def drift_status(s: DriftSignal) -> str:
    """One icon per state, and the same one the gate shows: critical only reads ❌ when it blocks."""
    if s.status == "critical" and not s.blocking:
        return "⚠️ critical (non-blocking)"
    text = f"{DRIFT_ICON.get(s.status, '')} {s.status}"
    return text + (" (blocking)" if s.blocking and s.status == "critical" else "")


def mde(m: MetricDelta) -> str:
    """Undefined (zero variance, or too few cases for the test to ever reach alpha) reads n/a, never 0;
    "—" when nothing was tested at all (no base, a skipped metric)."""
    if m.mde is not None:
        return fmt(float(m.mde))
    return "n/a" if m.n_paired >= 2 and m.p_value is not None else "—"


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
    "mde": mde,
    "gate_status": gate_status,
    "drift_status": drift_status,
    "metric_notes": metric_notes,
    "verdict_icon": lambda v: VERDICT_ICON.get(v, ""),
}
