"""prompt activate | rollback | history: the registry's active version per prompt and its append-only log."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from llmops_action.adapters.tracking_prompts import (
    mirror_activation,  # light: mlflow loads only when it tracks
)
from llmops_action.cli.commands.prompt_common import load_all, rel, running, versions_of


def activate_cmd(args: argparse.Namespace) -> int:
    from llmops_action.adapters.registry import activate, load_entry, registry_file
    from llmops_action.errors import UserInputError

    name, _, version = args.name.partition("@")
    if version and args.version and version != args.version:
        raise UserInputError(f"two versions given: {version} and {args.version}", key="VERSION")
    version = version or args.version
    if not version:
        raise UserInputError("name the version: prompt activate NAME@VERSION", key="NAME@VERSION")
    root, config, all_versions = load_all(args)
    versions = versions_of(name, all_versions)
    logged_before = len(load_entry(root, name).log)
    before = running(name, versions, root)
    entry = activate(root, name, version, available=versions, by=args.by, note=args.note or "")
    if len(entry.log) == logged_before:
        print(f"{name}@{version} is already active; nothing changed")
        return 0
    where = rel(str(registry_file(root, name)), root)
    mirror_activation(config, root, versions[version])
    if before == entry.active:
        print(f"{name}: pinned {name}@{entry.active}, which was running as the latest  (logged in {where})")
        return 0
    print(f"{name}: active {name}@{before} -> {name}@{entry.active}  (logged in {where})")
    return 0


def rollback_cmd(args: argparse.Namespace) -> int:
    from llmops_action.adapters.registry import rollback

    root, config, all_versions = load_all(args)
    versions = versions_of(args.name, all_versions)
    entry = rollback(root, args.name, to=args.to, available=versions, by=args.by, note=args.note or "")
    last = entry.log[-1]
    print(f"{args.name}: rolled back {args.name}@{last.previous} -> {args.name}@{entry.active}")
    mirror_activation(config, root, versions[str(entry.active)])  # rollback() checked it is in `versions`
    return 0


def history_cmd(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from llmops_action.adapters.registry import load_entry, registry_file

    root = Path(args.config).resolve().parent
    if not registry_file(root, args.name).is_file():
        # no log: the name must at least be a prompt, or a typo would read as "never activated"
        versions_of(args.name, load_all(args)[2])
    entry = load_entry(root, args.name)
    if args.json:
        print(json.dumps([asdict(e) for e in entry.log], indent=2))
        return 0
    if not entry.log:
        print(f"{args.name}: never activated; the highest version runs")
        return 0
    print(f"{args.name}: active {entry.active}")
    for e in entry.log:
        note = f"  {e.note}" if e.note else ""
        print(f"  {e.at}  {e.action:<8}  {e.previous or '-'} -> {e.version}  by {e.by}{note}")
    return 0


# --- argparse -------------------------------------------------------------------------------------
