"""The GitHub Action: read the runner's environment, call the review core the CLI calls, talk back to GitHub.

`python -m llmops_action.action.main` (entrypoint/entrypoint.sh) runs `main()` with the process environment.
Routes (action_routes.py, action_report.py), each a call of the review core (review.py) and a publish:
pull_request -> evaluate, compare, sticky comment, statuses; push to the default branch -> save the
baseline; schedule / workflow_dispatch -> compare the default branch with its last baseline and raise an
alert issue on a failing gate; a fork PR or a token that cannot write -> report only (summary and artifact,
nothing posted); mode report (a trusted workflow_run) -> evaluate the fork's prompts and datasets as data
under the base's config and post that (core/trust.py decides what may run).
Exit codes: 0 pass, 1 a gate family in fail-on failed, 2 bad input, 3 incomplete.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from llmops_action.action import report as action_report
from llmops_action.action import routes as action_routes
from llmops_action.action.context import Context
from llmops_action.action.inputs import SECRET_INPUTS, ActionInputs, read_inputs
from llmops_action.action.io import Console, relative_to_workspace, write_outputs
from llmops_action.core.trust import TRUSTED_LABEL, provider_environment
from llmops_action.errors import EXIT_BAD_INPUT, EXIT_INCOMPLETE, EXIT_OK, LlmopsError, UserInputError

log = logging.getLogger("llmops_action.action.main")

PR_ACTIONS = ("opened", "synchronize", "reopened")


# --- entry --------------------------------------------------------------------------------------------


def main(environ: Mapping[str, str] | None = None) -> int:
    env: Mapping[str, str] = dict(os.environ if environ is None else environ)
    console = Console()
    # Redact first: nothing may be printed before the console knows which values to hide.
    for name in SECRET_INPUTS:
        for key in (f"INPUT_{name.upper()}", f"INPUT_{name.upper().replace('-', '_')}"):
            console.add_secret(env.get(key, "").strip())
    if environ is None:  # the real process; in-process callers (tests) keep their own logging
        _quiet_logging(console)
    workspace = Path(env.get("GITHUB_WORKSPACE") or os.getcwd())
    try:
        inputs = read_inputs(env)
    except UserInputError as exc:
        console.error(f"input '{exc.key}': {exc.message}", title="llmops-action: bad input")
        return EXIT_BAD_INPUT
    _trust_workspace(workspace, {**os.environ, **env})
    if environ is None:
        _scrub_process_environment(inputs)
    if inputs.mlflow_tracking_uri:
        os.environ["MLFLOW_TRACKING_URI"] = inputs.mlflow_tracking_uri
    ctx: Context | None = None
    try:
        ctx = Context(
            env=env,
            inputs=inputs,
            console=console,
            workspace=workspace,
            event_name=env.get("GITHUB_EVENT_NAME", ""),
            payload=_payload(env),
            repo=env.get("GITHUB_REPOSITORY", ""),
            run_url=_run_url(env),
        )
        code = route(ctx)
    except LlmopsError as exc:
        report_error(exc, console, workspace)
        code = exc.exit_code
    except Exception as exc:  # a bug or an infrastructure failure: say so, keep the traceback, exit 3
        import traceback

        sys.stderr.write(console.redact(traceback.format_exc()))
        console.error(f"llmops-action crashed: {type(exc).__name__}: {exc}", title="llmops-action")
        code = EXIT_INCOMPLETE
    write_outputs(env.get("GITHUB_OUTPUT"), ctx.outputs if ctx is not None else {}, console)
    return code


def _scrub_process_environment(inputs: ActionInputs) -> None:
    """The inputs are read: drop INPUT_*, ACTIONS_*, the token and the keys from this process's environment,
    so a `python` provider (repository code imported here) cannot read them from os.environ, and nothing
    this process starts inherits them (core/trust.py). The Action keeps what it needs in `inputs`."""
    keep = provider_environment(os.environ, secrets=inputs.secrets)
    for name in [n for n in os.environ if n not in keep]:
        del os.environ[name]


def _run_url(env: Mapping[str, str]) -> str | None:
    from llmops_action.adapters.github import run_url

    return run_url(env)


def _quiet_logging(console: Console) -> None:
    """Library logs go to stderr, redacted; a secret inside an exception text never reaches the log."""

    class Redact(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            record.msg = console.redact(record.getMessage())
            record.args = ()
            return True

    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(Redact())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)


def _trust_workspace(workspace: Path, env: Mapping[str, str]) -> None:
    """Docker actions run as root on a workspace owned by the runner user: git calls it "dubious ownership"
    until it is a safe.directory (https://github.blog/2022-04-12-git-security-vulnerability-announced/)."""
    for path in dict.fromkeys([str(workspace), "/github/workspace"]):
        try:
            have = subprocess.run(
                ["git", "config", "--global", "--get-all", "safe.directory"],
                capture_output=True,
                text=True,
                check=False,
                env=dict(env),
            ).stdout.split("\n")
            if path not in have:
                subprocess.run(
                    ["git", "config", "--global", "--add", "safe.directory", path],
                    capture_output=True,
                    check=False,
                    env=dict(env),
                )
        except FileNotFoundError:  # no git: the flows will say so where it matters
            return


def _payload(env: Mapping[str, str]) -> dict[str, Any]:
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UserInputError(f"cannot read the event payload: {exc}", file=path) from None
    return data if isinstance(data, dict) else {}


def report_error(exc: LlmopsError, console: Console, workspace: Path) -> None:
    if isinstance(exc, UserInputError):
        file = relative_to_workspace(exc.file, workspace)
        message = exc.message if not exc.key else f"{exc.key}: {exc.message}"
        console.error(
            message + (f"\n{exc.hint}" if exc.hint else ""), file=file, line=exc.line, title="llmops-action"
        )
    else:
        console.error(exc.format(), title="llmops-action")


# --- routing ------------------------------------------------------------------------------------------


def decide_mode(inputs: ActionInputs, event: str, payload: Mapping[str, Any]) -> str | None:
    """The flow to run, or None when this event needs nothing from us (a tag push, a label change)."""
    if inputs.mode != "auto":
        return inputs.mode
    if event in ("pull_request", "pull_request_target"):
        if payload.get("action") in PR_ACTIONS:
            return "pr"
        # The maintainer's path for a fork (README.md#forks): the label, on pull_request_target only.
        label = (payload.get("label") or {}).get("name")
        trusted = (
            event == "pull_request_target" and payload.get("action") == "labeled" and label == TRUSTED_LABEL
        )
        return "pr" if trusted else None
    if event == "push":
        return "push"
    if event in ("schedule", "workflow_dispatch"):
        return "schedule"
    if event == "workflow_run":
        return "report"
    raise UserInputError(
        f"the event '{event or '(none)'}' is not supported",
        key="mode",
        hint="Trigger on pull_request, push, schedule, workflow_dispatch or workflow_run, or set `mode:`.",
    )


def route(ctx: Context) -> int:
    mode = decide_mode(ctx.inputs, ctx.event_name, ctx.payload)
    if mode is None:
        ctx.console.notice(
            f"Nothing to evaluate for {ctx.event_name} '{ctx.payload.get('action')}'; "
            f"pull requests are evaluated on {', '.join(PR_ACTIONS)}."
        )
        return EXIT_OK
    if ctx.inputs.selftest:
        from llmops_action.action.selftest import selftest_flow

        return selftest_flow(ctx)
    if ctx.inputs.shard:
        return action_routes.shard_flow(ctx)
    flow = {
        "pr": action_routes.pr_flow,
        "push": action_routes.push_flow,
        "schedule": action_routes.schedule_flow,
        "report": action_report.report_flow,
    }[mode]
    return flow(ctx)


if __name__ == "__main__":
    sys.exit(main())
