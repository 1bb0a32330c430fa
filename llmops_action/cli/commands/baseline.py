"""baseline save | show | list: the write-once baselines pull requests are compared with."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llmops_action.adapters.baseline.store import BaselineStore
    from llmops_action.engine.workspace import Workspace


def _save(args: argparse.Namespace) -> int:
    from llmops_action.core.events import EventFacts
    from llmops_action.engine.providers.gemini import api_key_from_env
    from llmops_action.review import PullSources, Services, review_push

    services = Services(
        out_dir=Path(args.out),
        api_key=api_key_from_env(dict(os.environ)),
        use_cache=not args.no_cache,
        progress=not args.no_progress,
    )
    outcome = review_push(
        EventFacts(event="manual"),
        PullSources.for_checkout(Path(args.config)),
        services,
        results=Path(args.results) if args.results else None,
        allow_dirty=args.allow_dirty,
        reuse_existing=True,
        notify=lambda message: print(f"baseline save: {message}", file=sys.stderr, flush=True),
    )
    assert outcome.head is not None
    run = outcome.head.run
    if outcome.existing:
        print(
            f"baseline for {run.git_sha} (suite {run.suite}, config {run.config_hash}) already exists; "
            f"not re-evaluated (baselines are write-once) at {outcome.location}"
        )
    elif outcome.location is None:
        print(f"not saved: the run is {outcome.head.verdict} (sha {run.git_sha}, suite {run.suite})")
    else:
        score = outcome.head.aggregates.get("score")
        print(
            f"saved baseline for {run.git_sha} (suite {run.suite}, config {run.config_hash}, "
            f"score {_num(score)}) at {outcome.location}"
        )
    return outcome.exit_code


def _store_for(config: str) -> tuple[Workspace, BaselineStore]:
    from llmops_action.engine.workspace import load_workspace
    from llmops_action.review import open_configured_store

    ws = load_workspace(config)
    return ws, open_configured_store(ws)


def _show(args: argparse.Namespace) -> int:
    from llmops_action.adapters.git import is_repo, rev_parse
    from llmops_action.errors import UserInputError

    ws, store = _store_for(args.config)
    sha = args.sha
    if is_repo(ws.root):
        sha = rev_parse(args.sha, ws.root) or args.sha  # accept HEAD, main, a short sha
    suite = args.suite or ws.config.suite
    config_hash = args.config_hash or ws.config.config_hash()
    result = store.load(sha, suite, config_hash)
    if result is None:
        others = [r for r in store.list(suite) if r.sha == sha]
        hint = (
            "Records for this commit exist with config hash " + ", ".join(r.config_hash for r in others) + "."
            if others
            else "Save one with `llmops-action baseline save` on that commit."
        )
        raise UserInputError(
            f"no baseline for {sha} (suite {suite}, config hash {config_hash})", key="SHA", hint=hint
        )
    if args.json:
        print(result.to_json())
        return 0
    run = result.run
    print(f"sha:          {run.git_sha}")
    print(f"suite:        {run.suite}")
    print(f"config hash:  {run.config_hash}")
    print(f"dataset hash: {run.dataset_hash}")
    print(f"finished at:  {run.finished_at}")
    print(f"verdict:      {result.verdict}")
    print(f"cases:        {result.counts.cases or len(result.cases)} ({result.counts.errors} errors)")
    for name, value in sorted(result.aggregates.items()):
        print(f"  {name:24} {_num(value)}")
    return 0


def _list(args: argparse.Namespace) -> int:
    _, store = _store_for(args.config)
    records = store.list(args.suite)
    if args.json:
        print(json.dumps([r.to_dict() for r in records], indent=2))
        return 0
    if not records:
        print("no baselines stored yet")
        return 0
    print(f"{'sha':12}  {'suite':16}  {'config hash':16}  {'score':>7}  saved at")
    for r in records:
        print(f"{r.sha[:12]:12}  {r.suite:16}  {r.config_hash:16}  {_num(r.score):>7}  {r.saved_at or '-'}")
    return 0


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from llmops_action.cli.main import add_command, config_arg, out_dir

    p = add_command(
        sub,
        "baseline",
        """Save, show or list the write-once baselines (one per commit, suite and config hash).

The store is the one .llmops.yml names under `baseline:` (default: the git branch llmops-baselines).

Example:
  llmops-action baseline save --config .llmops.yml
  llmops-action baseline list
  llmops-action baseline show HEAD --json""",
    )
    p.set_defaults(help_parser=p)
    inner = p.add_subparsers(dest="baseline_command", metavar="SUBCOMMAND")

    s = add_command(
        inner,
        "save",
        """Evaluate the checked-out commit (or take --results) and save it as that commit's baseline.

Write-once: saving a key that exists already changes nothing. An incomplete or sharded run is never saved.
Uncommitted changes to tracked files under the config's folder are refused (the baseline must be the commit).

Example:
  llmops-action baseline save --config .llmops.yml
  llmops-action baseline save --results .llmops/out/results.json""",
    )
    config_arg(s)
    s.add_argument("--results", default=None, help="save this results.json instead of evaluating")
    s.add_argument(
        "--out", type=out_dir, default=".llmops/out", help="folder for results.json (default: %(default)s)"
    )
    s.add_argument("--no-cache", action="store_true", help="neither read nor write the response cache")
    s.add_argument("--allow-dirty", action="store_true", help="save even with uncommitted changes")
    s.add_argument("--no-progress", action="store_true", help="no progress bar or progress lines")
    s.set_defaults(handler=_save)

    sh = add_command(
        inner,
        "show",
        """Print the stored baseline of one commit (a sha, or any ref such as HEAD or main).

Example:
  llmops-action baseline show HEAD
  llmops-action baseline show 3f2c1ab --suite rag --json""",
    )
    sh.add_argument("sha", metavar="SHA", help="commit sha or ref")
    config_arg(sh)
    sh.add_argument("--suite", default=None, help="suite (default: the config's)")
    sh.add_argument("--config-hash", default=None, help="config hash (default: the config's current one)")
    sh.add_argument("--json", action="store_true", help="print the whole stored results.json")
    sh.set_defaults(handler=_show)

    ls = add_command(
        inner,
        "list",
        """List stored baselines, newest first.

Example:
  llmops-action baseline list --suite default""",
    )
    config_arg(ls)
    ls.add_argument("--suite", default=None, help="only this suite")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(handler=_list)
