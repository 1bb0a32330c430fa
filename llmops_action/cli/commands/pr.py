"""pr: preview the pull-request report locally, from a git checkout, with no GitHub involved."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llmops_action.review import Review

SOURCE_TEXT = {
    "stored": "stored baseline at the merge-base",
    "ancestor": "stored baseline of an earlier base-branch commit",
    "rerun": "base re-evaluated from git",
    "none": "no base",
    "given": "given base",
}


def format_outcome(outcome: Review) -> str:
    c = outcome.comparison
    assert c is not None
    lines = [f"verdict: {c.verdict.upper()}  (head {c.head.sha and c.head.sha[:12]})"]
    if c.base is not None:
        cc = c.case_changes
        scored = "both sides under the base's measurement" if c.measurement == "base" else "one measurement"
        lines.append(
            f"base: {(c.base.sha or '?')[:12]} ({SOURCE_TEXT.get(c.base_source, c.base_source)}), {scored}; "
            f"{c.paired_cases} paired, {len(cc.added)} added, {len(cc.removed)} removed, "
            f"{len(cc.changed)} changed cases"
        )
        if c.head_measurement is not None:
            lines.append(
                f"under this PR's measurement (informational): {c.head_measurement.verdict.upper()}; "
                + "; ".join(c.head_measurement.changes)
            )
    else:
        lines.append("base: none (regression gates skipped)")
    for g in c.gates:
        parts = [f"  {g.status.upper():7} {g.name}"]
        if g.value is not None:
            parts.append(f"value {g.value:.4g}")
        if g.delta is not None:
            parts.append(f"delta {g.delta:+.4g}")
        if g.ci is not None:
            parts.append(f"CI [{g.ci[0]:+.3g}, {g.ci[1]:+.3g}]")
        if g.p_value is not None:
            parts.append(f"p {g.p_value:.3g}")
        if not g.blocking:
            parts.append("(non-blocking)")
        if g.reason:
            parts.append(f"- {g.reason}")
        lines.append(" ".join(parts))
    for p in c.prompt_changes:
        lines.append(f"  prompt {p.name}: {p.status} {p.old_version or '-'} -> {p.new_version or '-'}")
    lines += [f"warning: {w}" for w in c.warnings]
    comment = outcome.files.get("comment")
    if comment is not None:
        lines.append(f"comment: {comment}")
    if outcome.tracking is not None and outcome.tracking.run_id:
        from llmops_action.adapters.tracking import where_logged

        lines.append(where_logged(outcome.tracking) or "")
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    from llmops_action.core.events import EventFacts
    from llmops_action.engine.providers.gemini import api_key_from_env
    from llmops_action.review import PullSources, Services, review_pull_request

    services = Services(
        out_dir=Path(args.out),
        api_key=api_key_from_env(dict(os.environ)),
        use_cache=not args.no_cache,
        progress=not args.no_progress,
        base_ref=args.base_ref,
    )
    outcome = review_pull_request(
        EventFacts(event="local"), PullSources.for_checkout(Path(args.config)), services
    )
    print(format_outcome(outcome))
    return outcome.exit_code


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from llmops_action.cli.main import add_command, config_arg, out_dir

    p = add_command(
        sub,
        "pr",
        """Preview the pull-request report locally: evaluate head, compare with the base, write the files.

From a git checkout: evaluates the working tree, takes the stored baseline of the merge-base with the base
branch (or of its nearest first-parent ancestor with the same config hash), or, when there is none or the
config says `baseline: {mode: rerun}`, evaluates the base commit's own prompts and dataset read through git.
Writes comment.md, summary.md, comparison.json, junit.xml and results.json (plus base-results.json when the
base was re-evaluated): the same files the Action posts. Nothing is sent to GitHub.
Exit codes: 0 pass or warn, 1 a blocking gate failed, 2 bad input, 3 incomplete.

Example:
  llmops-action pr --config examples/quickstart/.llmops.yml --base-ref main --out .llmops/pr""",
    )
    config_arg(p)
    p.add_argument("--base-ref", default="main", help="branch the PR targets (default: %(default)s)")
    p.add_argument(
        "--out", type=out_dir, default=".llmops/pr", help="folder for the reports (default: %(default)s)"
    )
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the response cache")
    p.add_argument("--no-progress", action="store_true", help="no progress bar or progress lines")
    p.set_defaults(handler=_run)
