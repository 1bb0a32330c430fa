"""config check | schema."""

from __future__ import annotations

import argparse


def _check(args: argparse.Namespace) -> int:
    from llmops_action.engine.workspace import load_workspace, render_cases

    ws = load_workspace(args.config)
    rendered = render_cases(ws)  # every case once, no provider call: template errors surface here
    by_id = {c.id: c for c in ws.cases}
    for case_id, why in rendered.oversized.items():
        print(f"warning: {by_id[case_id].source}: case '{case_id}': {why}; eval records it as an error")
    print(
        f"{ws.config_path}: ok (suite {ws.config.suite}, {len(ws.prompts)} prompts, {len(ws.cases)} cases "
        f"rendered, {len(ws.config.metrics)} metrics, config hash {ws.config.config_hash()})"
    )
    return 0


def _schema(args: argparse.Namespace) -> int:
    import json

    from llmops_action.core.config import json_schema

    print(json.dumps(json_schema(), indent=2))
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from llmops_action.cli.main import add_command, config_arg

    p = add_command(
        sub,
        "config",
        """Validate .llmops.yml or print its JSON Schema.

Example:
  llmops-action config check --config .llmops.yml
  llmops-action config schema > llmops.schema.json""",
    )
    p.set_defaults(help_parser=p)
    inner = p.add_subparsers(dest="config_command", metavar="SUBCOMMAND")
    c = add_command(
        inner,
        "check",
        """Load the config, its prompts and its datasets, render every case once (no model call); report the
first problem with file, line and key.

Example:
  llmops-action config check --config .llmops.yml""",
    )
    config_arg(c)
    c.set_defaults(handler=_check)
    s = add_command(
        inner,
        "schema",
        """Print the JSON Schema of .llmops.yml, for editors' autocompletion.

Example:
  llmops-action config schema > .llmops.schema.json""",
    )
    s.set_defaults(handler=_schema)
