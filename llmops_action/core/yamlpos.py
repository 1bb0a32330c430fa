"""YAML loading that remembers where every key and item came from, so errors can name the line."""

from __future__ import annotations

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


def _construct(node: yaml.Node, path: Path, lines: dict[Path, int], loader: _Loader) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) and key is not None:
                raise UserInputError("mapping keys must be scalars", line=key_node.start_mark.line + 1)
            child = (*path, key if isinstance(key, str | int) else str(key))
            lines[child] = key_node.start_mark.line + 1
            out[key] = _construct(value_node, child, lines, loader)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            child = (*path, i)
            lines[child] = item.start_mark.line + 1
            items.append(_construct(item, child, lines, loader))
        return items
    return loader.construct_object(node, deep=True)


def load_yaml(text: str, file: str = "<string>") -> Located:
    """Parse one YAML document; a syntax error becomes a UserInputError naming file and line."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        lines: dict[Path, int] = {}
        data = None if node is None else _construct(node, (), lines, loader)
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
