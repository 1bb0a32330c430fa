"""`llmops-action`: a thin shell. Each command parses, calls one library function, translates errors.

Command modules live in llmops_action/cli/commands/ and import nothing heavy at module level, so
`llmops-action --help` stays fast (no mlflow, no google-genai on this path).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from llmops_action import __version__
from llmops_action.errors import EXIT_BAD_INPUT, EXIT_INCOMPLETE, LlmopsError

# Order is the order of `--help`.
COMMAND_MODULES = (
    "eval",
    "compare",
    "pr",
    "config",
    "prompt",
    "baseline",
    "drift",
    "merge",
    "history",
    "experiment",
    "alerts",
    "serve",
    "worker",
    "selftest",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too; keep our own wording
        self.print_usage(sys.stderr)
        sys.stderr.write(f"llmops-action: error: {message}\n")
        raise SystemExit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="llmops-action",
        description="Evaluate versioned LLM prompts, compare with the base branch, gate the merge.",
        epilog="Example: llmops-action eval --config examples/quickstart/.llmops.yml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"llmops-action {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"llmops_action.cli.commands.{name}")
        module.register(sub)
    return parser


def add_command(
    sub: argparse._SubParsersAction,  # type: ignore[type-arg]
    name: str,
    doc: str,
) -> argparse.ArgumentParser:
    """A subcommand whose --help is its docstring: first line the summary, the rest (with an example) the body."""
    summary = doc.strip().partition("\n")[0]
    return sub.add_parser(
        name,
        help=summary,
        description=doc.strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def config_arg(p: argparse.ArgumentParser) -> None:
    """The --config option every command that reads the project's config takes."""
    p.add_argument("--config", default=".llmops.yml", help="path to .llmops.yml (default: %(default)s)")


def out_dir(value: str) -> Path:
    """argparse `type` for --out: a folder, checked before any evaluation starts (not after a long run)."""
    p = Path(value)
    for part in (p, *p.parents):
        if part.exists() and not part.is_dir():
            raise argparse.ArgumentTypeError(f"'{part}' is an existing file; --out needs a folder")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        target = getattr(args, "help_parser", parser)
        target.print_help()
        return 0 if args.command is None else EXIT_BAD_INPUT
    try:
        return int(handler(args) or 0)
    except LlmopsError as exc:
        sys.stderr.write(f"llmops-action: error: {exc.format()}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("llmops-action: interrupted\n")
        return EXIT_INCOMPLETE


if __name__ == "__main__":
    raise SystemExit(main())
