"""junit.xml from a Comparison: one testcase per gate, one per regressed case.

A failed blocking gate is a <failure>; a failed non-blocking gate or a warning is reported in system-out
(it must not turn a test reporter red when the job itself passes); a skipped gate is <skipped>. A regressed
case is a <failure> when it dropped by at least the regression gate's practical threshold for its metric,
otherwise a passing testcase whose system-out says by how much it dropped. Built with ElementTree, so every
untrusted string is XML-escaped; characters XML 1.0 cannot carry are removed first.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from llmops_action.core.comparison import Comparison
from llmops_action.core.report.escape import strip_invisible, truncate

DEFAULT_DELTA = 0.05
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _x(text: object, limit: int | None = 2000) -> str:
    return _XML_INVALID.sub("", truncate(strip_invisible("" if text is None else str(text)), limit))


def _n(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4g}"


def render_junit(c: Comparison) -> str:
    suite = ET.Element("testsuite", name=_x(f"llmops-action:{c.suite}", 200))
    tests = failures = skipped = 0

    for g in c.gates:
        tc = ET.SubElement(
            suite, "testcase", classname=_x(f"llmops.gates.{g.family}", 200), name=_x(g.name, 200)
        )
        tests += 1
        summary = f"{g.metric}: value {_n(g.value)}, base {_n(g.base)}, delta {_n(g.delta)}, threshold {_n(g.threshold)}"
        detail = f"{summary}. {g.reason}".strip()
        if g.status == "skipped":
            ET.SubElement(tc, "skipped", message=_x(g.reason or "skipped", 500))
            skipped += 1
        elif g.status == "fail" and g.blocking:
            f = ET.SubElement(tc, "failure", message=_x(detail, 500), type="gate")
            f.text = _x(detail)
            failures += 1
        else:
            out = ET.SubElement(tc, "system-out")
            nb = " (non-blocking)" if not g.blocking and g.status != "pass" else ""
            out.text = _x(f"{g.status}{nb}: {detail}")

    thresholds = {g.metric: g.threshold for g in c.gates if g.family == "regression" and g.op == "delta"}
    metric = str(c.extra.get("case_metric", "score"))
    threshold = thresholds.get(metric)
    threshold = DEFAULT_DELTA if threshold is None else abs(threshold)  # gates store the drop as -delta
    for d in _regressed(c):
        tc = ET.SubElement(
            suite, "testcase", classname=_x(f"llmops.cases.{d.get('prompt', '')}", 200), name=_x(d["id"], 200)
        )
        tests += 1
        text = f"{metric} {_n(d.get('base'))} -> {_n(d.get('head'))} (delta {_n(d['delta'])})"
        if d["delta"] <= -threshold:
            f = ET.SubElement(tc, "failure", message=_x(text, 500), type="case-regression")
            reason = d.get("judge_reason")
            f.text = _x(f"{text}\n{reason}" if reason else text)
            failures += 1
        else:
            out = ET.SubElement(tc, "system-out")
            out.text = _x(f"regressed below the practical threshold {threshold:g}: {text}")

    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))
    root = ET.Element("testsuites", name="llmops-action")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _regressed(c: Comparison) -> list[dict[str, Any]]:
    """Every case whose score dropped: all of them from extra["case_deltas"], else the worst cases."""
    reasons = {w.id: w.judge_reason for w in c.worst_cases}
    rows = c.extra.get("case_deltas")
    if not isinstance(rows, list):
        rows = [
            {"id": w.id, "prompt": w.prompt, "base": w.base_score, "head": w.head_score, "delta": w.delta}
            for w in c.worst_cases
        ]
    out = []
    for r in rows:
        if isinstance(r, dict) and isinstance(r.get("delta"), (int, float)) and r["delta"] < -1e-9:
            out.append({**r, "judge_reason": reasons.get(r.get("id"))})
    return out
