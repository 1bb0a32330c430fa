"""merge: not implemented yet."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from llmops_action.cli import add_command

    add_command(sub, "merge", """merge (under construction).

Example:
  llmops-action merge --help""")
