"""eval: run the evaluation and write results.json."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llmops_action.adapters.tracking_process import Tracker
    from llmops_action.core.results import RunResult
    from llmops_action.engine.workspace import Workspace


def after_results(
    ws: Workspace, result: RunResult, results_path: Path, tracker: Tracker | None = None
) -> str | None:
    """Log the run to MLflow when the config tracks; returns a line for the summary (or None)."""
    if not ws.config.tracking_config.enabled:
        return None
    from llmops_action.adapters.tracking import track_result, where_logged

    files = {results_path.name: results_path}
    if tracker is not None:
        outcome = tracker.finish(result, files)
    else:
        outcome = track_result(ws.config, result, ws.root, files=files)
    return where_logged(outcome)  # None when log_run has printed its one warning


def _git_info(root: Path) -> tuple[str | None, str | None]:
    from llmops_action.adapters import git as gitutil

    if not gitutil.is_repo(root):
        return None, None
    return gitutil.head_sha(root), gitutil.current_branch(root)


def _run(args: argparse.Namespace) -> int:
    from llmops_action.adapters.tracking_process import live_tracking
    from llmops_action.core.report.eval_summary import format_summary
    from llmops_action.core.shard import parse_shard
    from llmops_action.engine.evaluate import RESULTS_FILE, evaluate
    from llmops_action.engine.providers.gemini import api_key_from_env
    from llmops_action.engine.workspace import load_workspace
    from llmops_action.errors import exit_code_for

    shard = parse_shard(args.shard)
    ws = load_workspace(args.config)
    sha, branch = _git_info(ws.root)
    out_dir = Path(args.out)
    tracker = live_tracking(ws, ws.root)
    try:
        result = evaluate(
            ws,
            out_dir=out_dir,
            api_key=api_key_from_env(dict(os.environ)),
            use_cache=not args.no_cache,
            shard=shard,
            git_sha=sha,
            git_branch=branch,
            progress=not args.no_progress,
            on_case=tracker.add if tracker is not None else None,
        )
    except BaseException:
        if tracker is not None:
            tracker.abort()
        raise
    results_path = out_dir / RESULTS_FILE
    tracked = after_results(ws, result, results_path, tracker)
    print(format_summary(result, results_path))
    if tracked:
        print(tracked)
    return exit_code_for(result.verdict)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from llmops_action.cli.main import add_command, config_arg, out_dir

    p = add_command(
        sub,
        "eval",
        """Evaluate the prompts over the dataset, score the outputs, write results.json.

Reads .llmops.yml, renders each case's prompt, gets an output from the configured provider, scores it with the
configured metrics (judge metrics need GEMINI_API_KEY or GOOGLE_API_KEY; without one they are skipped), checks
the absolute gates and prints a summary. Exit codes: 0 pass, 1 a blocking gate failed, 2 bad input,
3 incomplete (error rate above max_error_rate).

Example:
  llmops-action eval --config examples/quickstart/.llmops.yml --out .llmops/out""",
    )
    config_arg(p)
    p.add_argument(
        "--out", type=out_dir, default=".llmops/out", help="folder for results.json (default: %(default)s)"
    )
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the response cache")
    p.add_argument("--shard", default=None, metavar="I/N", help="evaluate only shard I of N (e.g. 2/4)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar or progress lines")
    p.set_defaults(handler=_run)
