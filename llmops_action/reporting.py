"""Compare two runs and write the report set: the one function the `compare` and `pr` commands and the Action share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from llmops_action.core.comparison import Comparison, TrendPoint
from llmops_action.core.config import LlmopsConfig
from llmops_action.core.results import RunResult
from llmops_action.errors import EXIT_GATE_FAILED, EXIT_INCOMPLETE, EXIT_OK

VERDICT_EXIT = {"pass": EXIT_OK, "warn": EXIT_OK, "fail": EXIT_GATE_FAILED, "incomplete": EXIT_INCOMPLETE}


@dataclass(frozen=True)
class ReportOutcome:
    comparison: Comparison
    paths: dict[str, Path]  # keys: comment, summary, comparison, junit

    @property
    def exit_code(self) -> int:
        return VERDICT_EXIT[self.comparison.verdict]


def compare_and_report(
    base: RunResult | None,
    head: RunResult,
    config: LlmopsConfig | None,
    out_dir: Path,
    *,
    base_source: str = "given",
    trend: list[TrendPoint] | None = None,
    links: dict[str, str] | None = None,
    seed: int = 0,
) -> ReportOutcome:
    """Build the Comparison and write comment.md, summary.md, comparison.json and junit.xml into `out_dir`."""
    from llmops_action.core.compare import compare
    from llmops_action.core.report import write_reports

    c = compare(base, head, config, base_source=base_source, trend=trend, links=links, seed=seed)
    return ReportOutcome(comparison=c, paths=write_reports(c, head, Path(out_dir)))


def format_outcome(outcome: ReportOutcome) -> str:
    """What the CLI prints: the verdict, the gates that did not pass, and where the files are."""
    c = outcome.comparison
    base = (c.base.sha or "?")[:7] if c.base else "none"
    lines = [f"verdict: {c.verdict} (head {(c.head.sha or '?')[:7]} vs base {base}, {c.base_source})"]
    if c.base is not None and not c.like_for_like:
        lines.append("not like-for-like: " + "; ".join(c.not_comparable))
    for g in c.gates:
        if g.status in ("fail", "warn"):
            tag = g.status if g.blocking or g.status == "warn" else "fail, non-blocking"
            lines.append(f"  {tag}: {g.name}: {g.reason}")
    for key, path in outcome.paths.items():
        lines.append(f"{key}: {path}")
    return "\n".join(lines)
