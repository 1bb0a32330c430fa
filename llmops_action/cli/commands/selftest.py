"""selftest: inject degraded outputs and show which gate catches each (selftest.json, selftest.md)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmops_action.core.results import RunResult
    from llmops_action.engine.workspace import Workspace


def source_run(
    ws: Workspace, args: argparse.Namespace, api_key: str | None
) -> tuple[RunResult, str, dict[str, Any] | None]:
    """The run whose outputs are mutated (a results file, the base's stored baseline, or a fresh eval), its
    label, and what each case retrieved (known for a fresh eval only)."""
    from llmops_action.core.results import RunResult

    if args.results:
        return RunResult.read(args.results), f"the results file {args.results}", None
    if args.base_ref:
        from llmops_action.adapters import git as gitutil
        from llmops_action.adapters.baseline.select import select_base
        from llmops_action.errors import UserInputError
        from llmops_action.review_steps import open_configured_store

        head = gitutil.head_sha(ws.root) if gitutil.is_repo(ws.root) else None
        if head is None:
            raise UserInputError("--base-ref needs a git checkout", key="--base-ref")
        repo = gitutil.toplevel(ws.root)
        choice = select_base(
            open_configured_store(ws),
            repo,
            head_sha=head,
            base_ref=args.base_ref,
            suite=ws.config.suite,
            config_hash=ws.config.config_hash(),
            max_ancestors=ws.config.baseline.max_ancestors,
        )
        if choice.result is None:
            raise UserInputError(
                f"no stored baseline of suite '{ws.config.suite}' for {args.base_ref} or its ancestors",
                key="--base-ref",
                hint="Run `llmops-action baseline save` on the base branch, or drop --base-ref for a fresh eval.",
            )
        return choice.result, f"the stored baseline of {choice.sha}", None
    from llmops_action.engine.selftest import fresh_source

    result, contexts = fresh_source(ws, api_key=api_key, use_cache=not args.no_cache)
    return result, "a fresh evaluation of this checkout", contexts


def _run(args: argparse.Namespace) -> int:
    from llmops_action.core.report.selftest import selftest_text, write_selftest
    from llmops_action.engine.providers.gemini import api_key_from_env
    from llmops_action.engine.selftest import run_selftest
    from llmops_action.engine.workspace import load_workspace

    ws = load_workspace(args.config)
    api_key = api_key_from_env(dict(os.environ))
    source, label, contexts = source_run(ws, args, api_key)
    report = run_selftest(
        ws,
        source,
        source_label=label,
        contexts=contexts,
        api_key=api_key,
        use_cache=not args.no_cache,
        mutations=args.mutation or None,
    )
    files = write_selftest(report, Path(args.out))
    print(selftest_text(report), end="")
    print(f"full table: {files['selftest.md']} (and {files['selftest.json']})")
    for error in report.errors:
        sys.stderr.write(f"llmops-action: error: {error}\n")
    return report.exit_code


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from llmops_action.cli.main import add_command, config_arg

    p = add_command(
        sub,
        "selftest",
        """Prove the gates catch a degraded model: mutate stored outputs, re-score them, gate them.

Takes a run's outputs (--results, the base's stored baseline with --base-ref, or a fresh eval), applies each
mutation (empty, refusal, truncate, hallucinate, off_topic, injection_compliance, pii_leak, language, and the
judge canaries) to every case's output, scores the mutated outputs with the configured metrics and judge
(cached: a second self-test makes no new judge call) and runs the config's gates against the unmutated run.
Prints and writes selftest.json and selftest.md: mutation x gate, caught or missed, the delta each gate saw,
the share of cases where each metric moved, and which judge a canary could manipulate.
Exit codes: 0 every gross mutation (empty, refusal, off_topic) is caught by a blocking gate (other misses are
warnings); 1 a gross mutation passed every blocking gate (the message says which gate to add); 2 bad input.

Example:
  llmops-action selftest --config examples/quickstart/.llmops.yml --out .llmops/selftest""",
    )
    config_arg(p)
    source = p.add_mutually_exclusive_group()
    source.add_argument("--results", default=None, help="results.json whose outputs are mutated")
    source.add_argument(
        "--base-ref", default=None, help="mutate the stored baseline of this ref's merge-base"
    )
    p.add_argument(
        "--out", default=".llmops/selftest", help="folder for selftest.json/.md (default: %(default)s)"
    )
    p.add_argument("--mutation", action="append", metavar="NAME", help="run only this mutation (repeatable)")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the response cache")
    p.set_defaults(handler=_run)
