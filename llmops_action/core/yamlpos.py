"""YAML loading that remembers where every key and item came from, so errors can name the line."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from llmops_action.errors import UserInputError

Path = tuple[str | int, ...]


@dataclass
class Located:
    """Plain Python data plus a map from key path to 1-based line number."""

    data: Any
    lines: dict[Path, int] = field(default_factory=dict)
    file: str = "<string>"

    def line_of(self, path: Path) -> int | None:
        # Walk up to the nearest ancestor we know: pydantic may name a key that is absent.
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), None)


class _Loader(yaml.SafeLoader):
    pass


# Aliases let a small file expand to a huge tree ("billion laughs"); files here are small.
MAX_NODES = 200_000


def _construct(
    node: yaml.Node,
    path: Path,
    lines: dict[Path, int],
    loader: _Loader,
    open_nodes: frozenset[int] = frozenset(),
    budget: list[int] | None = None,
) -> Any:
    budget = budget if budget is not None else [MAX_NODES]
    budget[0] -= 1
    if budget[0] < 0:
        raise UserInputError(
            "YAML expands to too many nodes (aliases nested too deep)", line=node.start_mark.line + 1
        )
    if id(node) in open_nodes:
        raise UserInputError(
            "YAML alias refers to itself", line=node.start_mark.line + 1, key=format_path(path)
        )
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
        open_nodes = open_nodes | {id(node)}
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        own = sum(1 for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge")
        loader.flatten_mapping(node)
        first_own = len(node.value) - own  # merged (<<) pairs come first and may be overridden
        out: dict[Any, Any] = {}
        seen: dict[Any, int] = {}
        for i, (key_node, value_node) in enumerate(node.value):
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str | int | float | bool) and key is not None:
                raise UserInputError("mapping keys must be scalars", line=line)
            child = (*path, key if isinstance(key, str | int) else str(key))
            if i >= first_own:
                # PyYAML keeps the last of two equal keys silently; a repeated gate would vanish
                if key in seen:
                    raise UserInputError(
                        f"duplicate key '{key}' (first at line {seen[key]})",
                        line=line,
                        key=format_path(child),
                    )
                seen[key] = line
            lines[child] = line
            out[key] = _construct(value_node, child, lines, loader, open_nodes, budget)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            child = (*path, i)
            lines[child] = item.start_mark.line + 1
            items.append(_construct(item, child, lines, loader, open_nodes, budget))
        return items
    return loader.construct_object(node, deep=True)


def load_yaml(text: str, file: str = "<string>") -> Located:
    """Parse one YAML document; a syntax error becomes a UserInputError naming file and line."""
    try:
        loader = _Loader(text)  # the reader rejects control characters already here
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        raise UserInputError(
            f"invalid YAML: {exc.reason} (character #x{exc.character:04x})", file=file, line=line
        ) from None
    try:
        node = loader.get_single_node()
        lines: dict[Path, int] = {}
        data = None if node is None else _construct(node, (), lines, loader)
    except UserInputError as exc:
        exc.file = exc.file or file
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise UserInputError(
            f"invalid YAML: {exc.problem or exc}", file=file, line=(mark.line + 1) if mark else None
        ) from None
    except yaml.YAMLError as exc:
        raise UserInputError(f"invalid YAML: {exc}", file=file) from None
    finally:
        loader.dispose()
    return Located(data=data, lines=lines, file=file)


def format_path(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def error_message(err: Mapping[str, Any]) -> str:
    """One pydantic error as a sentence a user can act on."""
    loc = tuple(err.get("loc") or ())
    last = loc[-1] if loc else "?"
    if err.get("type") == "extra_forbidden":
        return f"unknown key '{last}'"
    if err.get("type") == "missing":
        return f"missing required key '{last}'"
    return str(err.get("msg", "invalid value")).removeprefix("Value error, ")
