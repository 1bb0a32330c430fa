"""compare: two results.json files -> comment.md, summary.md, comparison.json, junit.xml."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _run(args: argparse.Namespace) -> int:
    from llmops_action.core.config import DEFAULT_CONFIG_FILE, load_config
    from llmops_action.core.results import RunResult
    from llmops_action.publish import compare_and_report, format_outcome

    root = Path.cwd()  # the project's MLflow store is .llmops/ beside the config
    if args.config is not None:
        config = load_config(args.config)
        root = Path(args.config).resolve().parent
    elif Path(DEFAULT_CONFIG_FILE).is_file():
        config = load_config(DEFAULT_CONFIG_FILE)
    else:
        config = None
        sys.stderr.write(
            f"note: no --config and no {DEFAULT_CONFIG_FILE} here: using default gates "
            "(regression on 'score', practical threshold 0.05, alpha 0.05) and default drift thresholds.\n"
        )
    base = RunResult.read(args.base)
    head = RunResult.read(args.head)
    outcome = compare_and_report(
        base, head, config, Path(args.out), base_source="given", seed=args.seed, root=root
    )
    print(format_outcome(outcome))
    return outcome.exit_code


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from llmops_action.cli.main import add_command, out_dir

    p = add_command(
        sub,
        "compare",
        """Compare two results.json files and write the PR comment, the summary, comparison.json and junit.xml.

Pairs the cases by id and inputs, recomputes the composite score over the metrics both runs have, computes
per-metric deltas with one-sided p-values and intervals at 1 - 2 alpha, PSI drift and the gates
(absolute on the head, regression against the base, drift), and diffs the prompts stored in the two runs.
Gate settings come from --config, else from .llmops.yml in the current folder, else the defaults.
Exit codes: 0 pass or warn, 1 a blocking gate failed, 2 bad input, 3 the head run is incomplete.

Example:
  llmops-action compare --base base/results.json --head head/results.json --out .llmops/report""",
    )
    p.add_argument("--base", required=True, help="results.json of the base run")
    p.add_argument("--head", required=True, help="results.json of the head run")
    p.add_argument("--config", default=None, help="path to .llmops.yml (default: ./.llmops.yml if present)")
    p.add_argument(
        "--out", type=out_dir, default=".llmops/report", help="folder for the reports (default: %(default)s)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the permutation tests")
    p.set_defaults(handler=_run)
