"""Compare two runs, write the report set and log it to MLflow: the one function the `compare` and `pr`
commands and the Action share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from llmops_action.core.comparison import Comparison, TrendPoint
from llmops_action.core.config import LlmopsConfig
from llmops_action.core.results import RunResult
from llmops_action.errors import exit_code_for

if TYPE_CHECKING:
    from llmops_action.adapters.tracking import TrackingOutcome
    from llmops_action.adapters.tracking_process import Tracker
    from llmops_action.engine.measure import Preview


@dataclass(frozen=True)
class ReportOutcome:
    comparison: Comparison
    paths: dict[str, Path]  # keys: comment, summary, comparison, junit
    tracking: TrackingOutcome | None = None

    @property
    def exit_code(self) -> int:
        return exit_code_for(self.comparison.verdict)


def compare_and_report(
    base: RunResult | None,
    head: RunResult,
    config: LlmopsConfig | None,
    out_dir: Path,
    *,
    base_source: str = "given",
    trend: list[TrendPoint] | None = None,
    trend_branch: str | None = None,
    links: dict[str, str] | None = None,
    warnings: list[str] | None = None,
    extra_files: dict[str, Path] | None = None,
    seed: int = 0,
    gate_changes: list[str] | None = None,
    notes: list[str] | None = None,
    measurement: str = "given",
    preview: Preview | None = None,
    root: Path | None = None,
    live: Tracker | None = None,
) -> ReportOutcome:
    """Build the Comparison, write comment.md, summary.md, comparison.json and junit.xml into `out_dir`, and
    log the run to MLflow when the config tracks.

    With tracking on, the comment gets the score trend of `trend_branch` (default: the base run's branch) and,
    for an http(s) tracking server, a link to the MLflow run. Tracking never fails the report. Without a
    server, the run goes to the project's embedded store beside the config (`root`, default: here). `live`:
    the tracker that logged the head's cases while they ran; it reads the trend and completes the run.
    """
    from llmops_action.core.compare import compare
    from llmops_action.core.report import write_reports

    out_dir = Path(out_dir)
    from llmops_action.adapters.tracking import store_dir

    store = store_dir(Path(root) if root is not None else Path.cwd())
    tracking_cfg = config.tracking_config if config is not None else None
    tracks = tracking_cfg is not None and tracking_cfg.enabled
    if trend is None and tracks:
        from llmops_action.adapters.history import recent_trend

        branch = trend_branch or (base.run.git_branch if base is not None else None) or "main"
        trend = live.trend(branch=branch, head=head) if live is not None else None
        if trend is None:
            trend = recent_trend(tracking_cfg, store, suite=head.run.suite, branch=branch, head=head)
    c = compare(
        base,
        head,
        config,
        base_source=base_source,
        trend=trend,
        links=links,
        seed=seed,
        measurement=measurement,
    )
    if preview is not None:
        # The same comparison under the head's measurement: informational, it decides nothing.
        from llmops_action.core.compare import measurement_preview

        alt = compare(preview.base, preview.head, preview.config, base_source=base_source, seed=seed)
        c.head_measurement = measurement_preview(alt, preview.changes)
    if warnings:
        c.warnings = [*warnings, *c.warnings]
    c.gate_changes = list(gate_changes or [])
    c.trust_notes = list(notes or [])
    paths = write_reports(c, head, out_dir)
    tracked = None
    if tracks:
        from llmops_action.adapters.tracking import log_run

        artifacts = {p.name: p for p in [*paths.values(), *(extra_files or {}).values()]}
        if live is not None:
            tracked = live.finish(head, artifacts, comparison=c)
        else:
            tracked = log_run(
                head, comparison=c, files=artifacts, cfg=tracking_cfg, out_dir=store, config=config
            )
        if tracked.run_url:
            # The link names the run it lives in, so it can only be added once the run exists.
            c.links = {**c.links, "mlflow_run": tracked.run_url}
            paths = write_reports(c, head, out_dir)
    return ReportOutcome(comparison=c, paths=paths, tracking=tracked)


def format_outcome(outcome: ReportOutcome) -> str:
    """What the CLI prints: the verdict, the gates that did not pass, and where the files are."""
    from llmops_action.core.report.eval_summary import gate_line

    c = outcome.comparison
    source = "given results files" if c.base_source == "given" else c.base_source
    if not c.head.sha and (c.base is None or not c.base.sha):
        sides = source  # outside git there is no sha to show, and "head ? vs base ?" says nothing
    else:
        base = (c.base.sha or "no sha")[:7] if c.base else "none"
        sides = f"head {(c.head.sha or 'no sha')[:7]} vs base {base}, {source}"
    lines = [f"verdict: {c.verdict} ({sides})"]
    if c.base is not None and not c.like_for_like:
        lines.append("not like-for-like: " + "; ".join(c.not_comparable))
    lines += [gate_line(g) for g in c.gates if g.status in ("fail", "warn")]
    for key, path in outcome.paths.items():
        lines.append(f"{key}: {path}")
    if outcome.tracking is not None and outcome.tracking.run_id:
        from llmops_action.adapters.tracking import where_logged

        lines.append(where_logged(outcome.tracking) or "")
    return "\n".join(lines)
