"""history: recent runs and their scores, from the MLflow store tracking writes to."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llmops_action.adapters.history import HistoryRow


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_rows(rows: list[HistoryRow], top: int = 3) -> str:
    """A plain-text table, newest first."""
    header = ["sha", "branch", "started (UTC)", "score", "verdict", "top metrics"]
    lines = [header]
    for r in rows:
        metrics = " ".join(f"{k}={v:.3f}" for k, v in list(r.metrics.items())[:top])
        branch = r.branch or "-"
        if r.pr_number is not None:
            branch = f"{branch} (PR #{r.pr_number})"
        when = r.started_at.replace("T", " ").removesuffix("+00:00")
        lines.append([(r.sha or "-")[:7], branch, when, _fmt(r.score), r.verdict or "-", metrics])
    widths = [max(len(row[i]) for row in lines) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join([*(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)), row[-1]]).rstrip()
        for row in lines
    )


def _run(args: argparse.Namespace) -> int:
    import json

    from llmops_action.adapters.history import recent_runs
    from llmops_action.adapters.tracking import public_uri, resolve_uri, store_dir
    from llmops_action.core.config import TrackingConfig, load_config
    from llmops_action.errors import IncompleteRunError, UserInputError

    if args.n < 1:
        raise UserInputError("-n must be at least 1", key="-n")
    config_path = Path(args.config)
    if args.suite and not config_path.is_file():
        suite, cfg = args.suite, TrackingConfig()
    else:
        config = load_config(config_path)
        suite, cfg = args.suite or config.suite, config.tracking_config
    # The project's store, beside the config: where eval, pr, compare and the Action log.
    out_dir = Path(args.store) if args.store else store_dir(config_path.resolve().parent)
    where = public_uri(resolve_uri(cfg, out_dir))
    print(
        f"history: reading the last {args.n} runs of suite {suite} from {where}", file=sys.stderr, flush=True
    )
    try:
        rows = recent_runs(cfg, out_dir, suite=suite, branch=args.branch, n=args.n, repo=args.repo)
    except Exception as exc:  # mlflow's errors: one line naming the store, no traceback
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise IncompleteRunError(
            f"could not read runs from {public_uri(resolve_uri(cfg, out_dir))}: {first[:300]}"
        ) from None
    if args.json:
        print(json.dumps([r.to_dict() for r in rows], indent=2))
    elif not rows:
        where = f" on branch {args.branch}" if args.branch else ""
        print(f"no runs of suite {suite}{where} in {public_uri(resolve_uri(cfg, out_dir))}")
    else:
        print(format_rows(rows))
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from llmops_action.cli.main import add_command, config_arg

    p = add_command(
        sub,
        "history",
        """List recent runs of this suite with their scores, from MLflow (newest first).

Reads the store every command logs to: tracking.uri in .llmops.yml, else MLFLOW_TRACKING_URI, else the
project's embedded sqlite file .llmops/mlflow.db beside the config. Shows sha, branch, time, score,
verdict and the top metrics.

Example:
  llmops-action history --branch main -n 10
  MLFLOW_TRACKING_URI=http://mlflow:5000 llmops-action history --json""",
    )
    config_arg(p)
    p.add_argument(
        "--store",
        "--out",
        dest="store",
        default=None,
        help="folder holding the embedded store's mlflow.db (default: .llmops beside the config)",
    )
    p.add_argument("--branch", default=None, help="only runs of this branch (default: every branch)")
    p.add_argument("-n", type=int, default=10, help="how many runs (default: %(default)s)")
    p.add_argument("--suite", default=None, help="suite name (default: the config's suite)")
    p.add_argument(
        "--repo", default=None, help="owner/repo naming the experiment (default: GITHUB_REPOSITORY)"
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=_run)
