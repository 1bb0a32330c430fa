"""experiment list | assign | start | pause | resume | cancel | import | results | complete."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmops_action.core.config import LlmopsConfig
    from llmops_action.experiments.lifecycle import Experiment


def _load(args: argparse.Namespace) -> tuple[Path, LlmopsConfig, Experiment]:
    from llmops_action.core.config import load_config
    from llmops_action.experiments.lifecycle import find_config, load_experiment

    config = load_config(args.config)
    root = Path(args.config).resolve().parent
    return root, config, load_experiment(root, find_config(config, args.name))


def _list(args: argparse.Namespace) -> int:
    from llmops_action.core.config import load_config
    from llmops_action.experiments.lifecycle import load_experiment

    config = load_config(args.config)
    root = Path(args.config).resolve().parent
    rows = []
    for cfg in config.experiments:
        e = load_experiment(root, cfg)
        rows.append(
            {
                "name": e.name,
                "state": e.state,
                "winner": e.winner,
                "control": cfg.variant_label("control"),
                "treatment": cfg.variant_label("treatment"),
                "split": list(cfg.split.weights()),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not rows:
        print("no experiments in the config")
    for r in rows if not args.json else []:
        winner = f" winner {r['winner']}" if r["winner"] else ""
        print(
            f"{r['name']}  {r['state']}{winner}  {r['control']} vs {r['treatment']}  split {r['split'][0]:.0%}/{r['split'][1]:.0%}"
        )
    return 0


def _assign(args: argparse.Namespace) -> int:
    from llmops_action.experiments.assign import assign, bucket

    _, _, e = _load(args)
    for unit in args.unit_id:
        variant = assign(e, unit)
        print(f"{unit}\t{variant}\t{e.config.variant_label(variant)}\tbucket {bucket(e.name, unit)}")
    return 0


def _move(to: str) -> Any:
    def handler(args: argparse.Namespace) -> int:
        from llmops_action.experiments.lifecycle import state_file, transition

        root, _, e = _load(args)
        new = transition(root, e.config, to, by=args.by, note=args.note or "")
        print(f"{e.name}: {e.state} -> {new.state}  (logged in {state_file(root, e.name).relative_to(root)})")
        return 0

    return handler


def _import(args: argparse.Namespace) -> int:
    from llmops_action.experiments.outcomes import import_outcomes, outcomes_file

    root, _, e = _load(args)
    n = import_outcomes(root, e.name, [Path(f) for f in args.files])
    print(f"{e.name}: imported {n} outcome record(s) into {outcomes_file(root, e.name).relative_to(root)}")
    return 0


def _results(args: argparse.Namespace) -> int:
    from llmops_action.alerts.render import render
    from llmops_action.experiments.results import experiment_alerts, gather, results

    root, config, e = _load(args)
    extra = []
    if args.mlflow:
        from llmops_action.adapters.tracking import experiment_name, resolve_uri, store_dir
        from llmops_action.experiments.mlflow_outcomes import load_from_mlflow

        tracking = config.tracking_config
        uri = resolve_uri(tracking, store_dir(root))
        extra = load_from_mlflow(
            uri,
            args.mlflow_experiment or experiment_name(tracking, config.suite, store=store_dir(root)),
            e.name,
        )
    r = results(e, gather(root, e, [Path(f) for f in args.outcomes], extra))
    if args.log_mlflow:
        from llmops_action.adapters.tracking import experiment_name, resolve_uri, store_dir
        from llmops_action.experiments.mlflow_outcomes import log_result

        tracking = config.tracking_config
        uri = resolve_uri(tracking, store_dir(root))
        run_id = log_result(
            r,
            uri,
            args.mlflow_experiment or experiment_name(tracking, config.suite, store=store_dir(root)),
            Path(args.out),
        )
        sys.stderr.write(f"logged to MLflow run {run_id}\n")
    if args.json:
        print(json.dumps(r.to_dict(), indent=2))
    else:
        sys.stdout.write(render("experiment_results.txt.j2", r=r, planned=e.config.planned_samples))
    if args.notify:
        import os

        from llmops_action.alerts.dispatch import Dispatcher

        alerts = experiment_alerts(r)
        dispatcher = Dispatcher(
            config.alerts, root, os.environ, repository=os.environ.get("GITHUB_REPOSITORY")
        )
        for d in dispatcher.raise_alerts(alerts):
            sys.stderr.write(f"alert {d.sink}: {d.status}{': ' + d.detail if d.detail else ''}\n")
    return 0


def _complete(args: argparse.Namespace) -> int:
    from llmops_action.experiments.results import complete

    root, config, e = _load(args)
    done = complete(root, config, e, args.winner, by=args.by, note=args.note or "")
    print(
        f"{e.name}: completed, winner {args.winner}"
        + (f"; {done.activated} is now active" if done.activated else "")
    )
    if done.activated is None:
        print(f"  serve the winning model ({e.config.variant_label(args.winner)}) from your app's config")
    if done.alias_note:
        print(f"  {done.alias_note}")
    return 0


# --- argparse -------------------------------------------------------------------------------------


def _common(p: argparse.ArgumentParser, *, name: bool = True) -> None:
    from llmops_action.cli.main import config_arg

    if name:
        p.add_argument("name", metavar="NAME", help="the experiment's name in .llmops.yml")
    config_arg(p)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from llmops_action.cli.main import add_command

    p = add_command(
        sub,
        "experiment",
        """A/B experiments on live traffic: assign units, record outcomes, read results, pick a winner.

Example:
  llmops-action experiment results rag-answer-v2 --config .llmops.yml""",
    )
    p.set_defaults(help_parser=p)
    inner = p.add_subparsers(dest="experiment_command", metavar="SUBCOMMAND")

    c = add_command(
        inner,
        "list",
        """List the configured experiments with their state and split.

Example:
  llmops-action experiment list --json""",
    )
    _common(c, name=False)
    c.add_argument("--json", action="store_true", help="print JSON")
    c.set_defaults(handler=_list)

    c = add_command(
        inner,
        "assign",
        """Print the variant of each unit id (the same hash the library uses).

Example:
  llmops-action experiment assign rag-answer-v2 user-1 user-2""",
    )
    _common(c)
    c.add_argument("unit_id", nargs="+", metavar="UNIT_ID")
    c.set_defaults(handler=_assign)

    for verb, to, what in (
        (
            "start",
            "running",
            "Start splitting traffic (draft -> running); logged in .llmops/experiments/NAME.json.",
        ),
        ("pause", "paused", "Pause: everyone gets the control until resumed (running -> paused)."),
        ("resume", "running", "Resume a paused experiment (paused -> running)."),
        ("cancel", "cancelled", "Cancel: no winner, everyone gets the control."),
    ):
        c = add_command(
            inner,
            verb,
            f"""{what}

Example:
  llmops-action experiment {verb} rag-answer-v2 --note 'why'""",
        )
        _common(c)
        c.add_argument("--note", help="why, recorded in the log")
        c.add_argument("--by", help="who (default: git user.name, else $USER)")
        c.set_defaults(handler=_move(to))

    c = add_command(
        inner,
        "import",
        """Import outcome records (JSONL or CSV: unit_id, variant, metric, value, time).

Every file is validated before anything is written; records are appended to
.llmops/experiments/NAME.outcomes.jsonl, which `experiment results` reads.

Example:
  llmops-action experiment import rag-answer-v2 feedback.jsonl""",
    )
    _common(c)
    c.add_argument("files", nargs="+", metavar="FILE")
    c.set_defaults(handler=_import)

    c = add_command(
        inner,
        "results",
        """Results: per-variant figures, the sequential decision, the split check and a recommendation.

Per variant: n, mean or rate, and a 95% interval. The running decision uses an always-valid
sequential test (mSPRT), so looking every day does not make false winners; the fixed-n test
(z-test with Newcombe's interval, or Welch's t-test) is shown once the planned sample is reached.
A sample-ratio mismatch invalidates the result. Reads the imported outcomes, --outcomes files and,
with --mlflow, the feedback logged on MLflow traces.

Example:
  llmops-action experiment results rag-answer-v2 --outcomes more.csv --json""",
    )
    _common(c)
    c.add_argument(
        "--outcomes", action="append", default=[], metavar="FILE", help="also read this JSONL/CSV file"
    )
    c.add_argument("--mlflow", action="store_true", help="also read the outcomes logged as MLflow traces")
    c.add_argument(
        "--mlflow-experiment", help="the MLflow experiment the app logs traces to (default: tracking's)"
    )
    c.add_argument(
        "--out", default=".llmops/out", help="folder holding the embedded MLflow store (default: %(default)s)"
    )
    c.add_argument(
        "--log-mlflow", action="store_true", help="log the result as an MLflow run (metrics per variant)"
    )
    c.add_argument("--json", action="store_true", help="print JSON")
    c.add_argument(
        "--notify", action="store_true", help="send experiment alerts (winner, SRM, guardrail) to the sinks"
    )
    c.set_defaults(handler=_results)

    c = add_command(
        inner,
        "complete",
        """Complete with a winner: activate the winning prompt version in the registry, then log it.

Example:
  llmops-action experiment complete rag-answer-v2 --winner treatment""",
    )
    _common(c)
    c.add_argument("--winner", required=True, choices=("control", "treatment"))
    c.add_argument("--note", help="why, recorded in both logs")
    c.add_argument("--by", help="who (default: git user.name, else $USER)")
    c.set_defaults(handler=_complete)
