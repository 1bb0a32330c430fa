"""prompt list | show | render | diff | activate | rollback | history."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmops_action.cli.commands.prompt_common import load_all, rel, resolve, running
from llmops_action.cli.commands.prompt_versions import activate_cmd, history_cmd, rollback_cmd

if TYPE_CHECKING:
    from llmops_action.core.prompts import Prompt


def _list(args: argparse.Namespace) -> int:
    from llmops_action.adapters.registry import active_versions
    from llmops_action.core.prompts import semver_key

    root, _, all_versions = load_all(args)
    pinned = active_versions(root)
    rows = []
    for name in sorted(all_versions):
        versions = all_versions[name]
        active = running(name, versions, root)
        p = versions[active]
        rows.append(
            {
                "name": name,
                "active": active,
                "pinned": name in pinned,
                "versions": sorted(versions, key=semver_key),
                "hash": p.content_hash,
                "file": rel(p.source, root),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no prompts found")
        return 0
    header = ("NAME", "ACTIVE", "VERSIONS", "HASH", "FILE")
    table = [
        (
            r["name"],
            r["active"] + ("" if r["pinned"] else " (latest)"),
            ", ".join(r["versions"]),
            r["hash"],
            r["file"],
        )
        for r in rows
    ]
    widths = [max(len(str(row[i])) for row in [header, *table]) for i in range(len(header))]
    for row in [header, *table]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _show(args: argparse.Namespace) -> int:
    root, _, all_versions = load_all(args)
    p = resolve(args.prompt, root, all_versions)
    data: dict[str, Any] = {
        "name": p.name,
        "version": p.version,
        "hash": p.content_hash,
        "file": rel(p.source, root),
        "description": p.description,
        "variables": [v.model_dump(mode="json", exclude_none=True) for v in p.variables],
        "system": p.system,
        "template": p.template,
    }
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    print(f"{p.name}@{p.version}  hash {p.content_hash}  ({data['file']})")
    if p.description:
        print(f"description: {p.description}")
    for v in p.variables:
        flag = "required" if v.required and v.default is None else f"default {json.dumps(v.default)}"
        print(f"  - {v.name}: {v.type}, {flag}" + (f"  # {v.description}" if v.description else ""))
    print("--- system")
    print(p.system.rstrip("\n"))
    print("--- template")
    print(p.template.rstrip("\n"))
    return 0


def _read_vars(text: str) -> dict[str, Any]:
    from llmops_action.errors import UserInputError

    source = "--vars"
    if text.startswith("@"):
        from llmops_action.core.textfile import read_text

        source = text[1:]
        text = read_text(source, "variables file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserInputError(f"variables are not JSON: {exc.msg}", file=source, line=exc.lineno) from None
    if not isinstance(data, dict):
        raise UserInputError("variables must be a JSON object", file=source)
    return data


def _no_extra_vars(p: Prompt, variables: dict[str, Any]) -> None:
    """A variable the prompt neither declares nor uses is a typo more often than not: say so."""
    from llmops_action.core.prompts import variable_names
    from llmops_action.errors import UserInputError

    known = variable_names(p)
    if extra := sorted(set(variables) - known):
        raise UserInputError(
            f"prompt {p.name}@{p.version} has no variable {', '.join(repr(e) for e in extra)}",
            key="--vars",
            hint=f"Its variables: {', '.join(sorted(known)) or 'none'}.",
        )


def _render(args: argparse.Namespace) -> int:
    from llmops_action.core.prompts import render
    from llmops_action.errors import UserInputError

    root, config, all_versions = load_all(args)
    case_id = None
    if args.case is not None:
        from llmops_action.core.dataset import load_dataset

        case = next((c for c in load_dataset(config.datasets, root) if c.id == args.case), None)
        if case is None:
            raise UserInputError(f"no case with id '{args.case}' in the datasets", key="--case")
        variables, case_id = case.vars, case.id
        spec = args.prompt or case.prompt
    elif args.vars is not None:
        variables = _read_vars(args.vars)
        spec = args.prompt
    else:
        raise UserInputError("give the variables with --vars JSON (or @file) or --case CASE_ID", key="--vars")
    if not spec:
        raise UserInputError("name the prompt: prompt render NAME[@VERSION]", key="NAME")
    p = resolve(spec, root, all_versions)
    if args.vars is not None:
        _no_extra_vars(p, variables)
    rendered = render(p, variables, case_id=case_id)
    if args.json:
        print(json.dumps({"prompt": p.name, "version": p.version, **rendered.model_dump()}, indent=2))
        return 0
    print(f"# {p.name}@{p.version}" + (f" for case {case_id}" if case_id else ""))
    print("--- system")
    print(rendered.system)
    print("--- user")
    print(rendered.user)
    return 0


# --- diff -----------------------------------------------------------------------------------------


def _label(p: Prompt, where: str) -> str:
    return f"{p.name}@{p.version} ({where})"


def _diff(args: argparse.Namespace) -> int:
    from llmops_action.core.prompt_diff import unified_prompt_diff
    from llmops_action.core.prompts import load_prompt
    from llmops_action.errors import UserInputError

    old: Prompt | None
    new: Prompt | None
    if args.ref is not None:
        if args.b is not None or "@" in args.a:
            raise UserInputError(
                "with --ref, name one prompt: prompt diff NAME --ref REF [--ref2 REF]", key="--ref"
            )
        old, old_label = _at_ref(args, args.ref)
        if args.ref2 is not None:
            new, new_label = _at_ref(args, args.ref2)
        else:
            root, _, all_versions = load_all(args)
            new = resolve(args.a, root, all_versions) if args.a in all_versions else None
            new_label = _label(new, "working tree") if new else f"{args.a} (working tree: absent)"
        if old is None and new is None:
            raise UserInputError(f"prompt '{args.a}' exists at neither side of the diff", key="NAME")
    else:
        if args.b is None:
            raise UserInputError("give two prompts (files, or NAME@VERSION), or one NAME with --ref", key="B")
        if Path(args.a).is_file() and Path(args.b).is_file():
            old, new = load_prompt(args.a), load_prompt(args.b)
            old_label, new_label = args.a, args.b
        else:
            loaded: list[tuple[Prompt, str]] = []
            for spec in (args.a, args.b):
                if Path(spec).is_file():
                    loaded.append((load_prompt(spec), spec))
                else:
                    root, _, all_versions = load_all(args)
                    p = resolve(spec, root, all_versions)
                    loaded.append((p, _label(p, rel(p.source, root))))
            (old, old_label), (new, new_label) = loaded
    text = unified_prompt_diff(
        old.content() if old else None, new.content() if new else None, old_label, new_label
    )
    if text:
        print(text)
    else:  # stdout stays empty, as `git diff` does, for scripts; the person reading is told
        sys.stderr.write(f"no difference: {old_label} and {new_label} have the same content\n")
    if old is not None and new is not None and old.version == new.version and old.name == new.name and text:
        sys.stderr.write(
            f"warning: {old.name} content changed but its version is still {old.version}; bump the version\n"
        )
    return 1 if args.exit_code and text else 0


def _at_ref(args: argparse.Namespace, ref: str) -> tuple[Prompt | None, str]:
    from llmops_action.adapters.prompt_refs import prompts_at_ref

    at = prompts_at_ref(args.config, ref)
    p = at.running(args.a)
    if p is None:
        return None, f"{args.a} ({ref}: absent)"
    return p, f"{p.name}@{p.version} ({p.source})"


# --- registry -------------------------------------------------------------------------------------


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from llmops_action.cli.main import add_command, config_arg

    p = add_command(
        sub,
        "prompt",
        """List, show, render and diff versioned prompts; activate, roll back and audit versions.

Example:
  llmops-action prompt list --config .llmops.yml
  llmops-action prompt diff rag_answer --ref origin/main""",
    )
    p.set_defaults(help_parser=p)
    inner = p.add_subparsers(dest="prompt_command", metavar="SUBCOMMAND")

    c = add_command(
        inner,
        "list",
        """List prompts: name, active version, all versions, content hash and file.

ACTIVE is the registry's pinned version, or the highest version (marked "latest") when none is pinned.

Example:
  llmops-action prompt list --config .llmops.yml""",
    )
    config_arg(c)
    c.add_argument("--json", action="store_true", help="print JSON instead of a table")
    c.set_defaults(handler=_list)

    c = add_command(
        inner,
        "show",
        """Show one prompt: metadata, variables, system instruction and template.

Example:
  llmops-action prompt show rag_answer@1.2.0""",
    )
    c.add_argument("prompt", metavar="NAME[@VERSION]", help="default version: the active one")
    config_arg(c)
    c.add_argument("--json", action="store_true", help="print JSON")
    c.set_defaults(handler=_show)

    c = add_command(
        inner,
        "render",
        """Render a prompt (sandboxed, undefined variables are errors) with given variables or a case's.

Example:
  llmops-action prompt render rag_answer --vars '{"question": "Why?", "context": "Because."}'
  llmops-action prompt render --case q-001""",
    )
    c.add_argument(
        "prompt", nargs="?", metavar="NAME[@VERSION]", help="default with --case: the case's prompt"
    )
    config_arg(c)
    src = c.add_mutually_exclusive_group()
    src.add_argument("--vars", help="JSON object, or @file.json")
    src.add_argument("--case", metavar="CASE_ID", help="use this dataset case's variables")
    c.add_argument("--json", action="store_true", help="print JSON")
    c.set_defaults(handler=_render)

    c = add_command(
        inner,
        "diff",
        """Unified diff of two prompts: two files, two versions, or one prompt at two git refs.

Without --ref2 the second side is the working tree (like `git diff REF`). Refs are read with
git show; nothing is checked out. Exit 0, or 1 with --exit-code when they differ.

Example:
  llmops-action prompt diff prompts/v1.yml prompts/v2.yml
  llmops-action prompt diff rag_answer@1.1.0 rag_answer@1.2.0
  llmops-action prompt diff rag_answer --ref origin/main --ref2 HEAD --exit-code""",
    )
    c.add_argument("a", metavar="A", help="file, NAME or NAME@VERSION")
    c.add_argument("b", metavar="B", nargs="?", help="file, NAME or NAME@VERSION (omit with --ref)")
    c.add_argument("--ref", help="git ref of the old side (A is then a prompt NAME)")
    c.add_argument("--ref2", help="git ref of the new side (default: the working tree)")
    c.add_argument("--exit-code", action="store_true", help="exit 1 when the prompts differ")
    config_arg(c)
    c.set_defaults(handler=_diff)

    c = add_command(
        inner,
        "activate",
        """Make a version the active one and append it to the registry log (.llmops/registry/NAME.json).

Example:
  llmops-action prompt activate rag_answer@1.2.0 --note 'better recall on golden set'""",
    )
    c.add_argument("name", metavar="NAME@VERSION", help="the prompt and version (NAME VERSION works too)")
    c.add_argument("version", metavar="VERSION", nargs="?", help=argparse.SUPPRESS)
    c.add_argument("--note", help="why, recorded in the log")
    c.add_argument("--by", help="who (default: git user.name, else $USER)")
    config_arg(c)
    c.set_defaults(handler=activate_cmd)

    c = add_command(
        inner,
        "rollback",
        """Go back to the previously active version (or --to one that was active before); logged.

Example:
  llmops-action prompt rollback rag_answer
  llmops-action prompt rollback rag_answer --to 1.0.0 --note 'incident 42'""",
    )
    c.add_argument("name", metavar="NAME")
    c.add_argument("--to", metavar="VERSION", help="a version that was active before")
    c.add_argument("--note", help="why, recorded in the log")
    c.add_argument("--by", help="who (default: git user.name, else $USER)")
    config_arg(c)
    c.set_defaults(handler=rollback_cmd)

    c = add_command(
        inner,
        "history",
        """Print a prompt's activation log, oldest first: time, action, previous -> version, who, note.

Example:
  llmops-action prompt history rag_answer""",
    )
    c.add_argument("name", metavar="NAME")
    c.add_argument("--json", action="store_true", help="print JSON")
    config_arg(c)
    c.set_defaults(handler=history_cmd)
