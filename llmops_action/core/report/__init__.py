"""Reports rendered from one Comparison: the PR comment, the job summary, comparison.json and junit.xml."""

from __future__ import annotations

from llmops_action.core.report.render import (
    comment_marker,
    render_comment,
    render_junit,
    render_summary,
    write_reports,
)

__all__ = ["comment_marker", "render_comment", "render_junit", "render_summary", "write_reports"]
