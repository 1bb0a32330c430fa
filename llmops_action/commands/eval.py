"""eval: not implemented yet."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from llmops_action.cli import add_command

    add_command(sub, "eval", """eval (under construction).

Example:
  llmops-action eval --help""")
