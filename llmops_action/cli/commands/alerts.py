"""alerts test | list | ack | resolve."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from llmops_action.errors import EXIT_INCOMPLETE


def _setup(args: argparse.Namespace) -> tuple[Path, Any]:
    from llmops_action.core.config import load_config

    return Path(args.config).resolve().parent, load_config(args.config).alerts


def _test(args: argparse.Namespace) -> int:
    from llmops_action.alerts.dispatch import Dispatcher, github_from_env, make_test_alert

    root, cfg = _setup(args)
    repo = os.environ.get("GITHUB_REPOSITORY")
    client = github_from_env(os.environ)
    dispatcher = Dispatcher(cfg, root, os.environ, github=client, repository=repo)
    alert = make_test_alert(repo)
    deliveries = dispatcher.raise_alerts([alert], force=True)
    if client is not None and any(s.type == "github-issue" for s in cfg.sinks):
        dispatcher.github.client.close_issue(alert.marker(), "Test alert: closed automatically.")  # type: ignore[union-attr]
    failed = False
    for d in deliveries:
        failed = failed or d.status == "failed"
        extra = f" after {d.attempts} attempt(s)" if d.attempts > 1 else ""
        print(f"{d.sink}: {d.status}{extra}" + (f" ({d.detail})" if d.detail else ""))
    if not cfg.sinks:
        print("no sinks configured under alerts.sinks")
    return EXIT_INCOMPLETE if failed else 0


def _list(args: argparse.Namespace) -> int:
    from llmops_action.alerts.state import AlertStore

    root, cfg = _setup(args)
    alerts = AlertStore(root / cfg.state_file).load()
    if args.json:
        print(json.dumps(alerts, indent=2, sort_keys=True))
        return 0
    if not alerts:
        print("no alerts recorded")
    for key, rec in sorted(alerts.items()):
        print(f"{rec.get('state', '?'):<12} {rec.get('severity', '?'):<8} {key}  {rec.get('title', '')}")
    return 0


def _set(state: str) -> Any:
    def handler(args: argparse.Namespace) -> int:
        from llmops_action.adapters.registry import default_actor
        from llmops_action.alerts.state import AlertStore

        root, cfg = _setup(args)
        AlertStore(root / cfg.state_file).set_state(args.key, state, by=args.by or default_actor(root))
        sys.stdout.write(f"{args.key}: {state}\n")
        return 0

    return handler


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from llmops_action.cli.main import add_command, config_arg

    p = add_command(
        sub,
        "alerts",
        """Alerts: send a test alert to every sink, list recorded alerts, acknowledge or resolve one.

Example:
  llmops-action alerts test --config .llmops.yml""",
    )
    p.set_defaults(help_parser=p)
    inner = p.add_subparsers(dest="alerts_command", metavar="SUBCOMMAND")

    c = add_command(
        inner,
        "test",
        """Send one test alert to every configured sink, whatever its min_severity; exit 3 if one fails.

URLs and signing keys come from the environment variables the sinks name (url_env, secret_env);
the GitHub issue sink needs GITHUB_TOKEN and GITHUB_REPOSITORY and closes its test issue at once.

Example:
  llmops-action alerts test""",
    )
    config_arg(c)
    c.set_defaults(handler=_test)

    c = add_command(
        inner,
        "list",
        """List recorded alerts: state, severity, dedupe key and title.

Example:
  llmops-action alerts list --json""",
    )
    config_arg(c)
    c.add_argument("--json", action="store_true", help="print JSON")
    c.set_defaults(handler=_list)

    for verb, state in (("ack", "acknowledged"), ("resolve", "resolved")):
        c = add_command(
            inner,
            verb,
            f"""Mark an alert {state} by its dedupe key ({"no repeat notifications while it stays so" if verb == "ack" else "the next occurrence fires again"}).

Example:
  llmops-action alerts {verb} quickstart:schedule""",
        )
        c.add_argument("key", metavar="KEY")
        c.add_argument("--by", help="who (default: git user.name, else $USER)")
        config_arg(c)
        c.set_defaults(handler=_set(state))
