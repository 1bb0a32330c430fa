"""The package's shape: the pure core does no I/O, and no two modules import each other in a circle.

Read from the source with `ast` (no import runs), so the test is fast and names the offending line.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "llmops_action"
# I/O the core must not touch: GitHub, Gemini, MLflow, processes, sockets, the environment.
FORBIDDEN_IN_CORE = (
    "github",
    "google.genai",
    "google",
    "mlflow",
    "subprocess",
    "socket",
    "requests",
    "httpx",
)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


MODULES = modules()


def _type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def imports(path: Path, *, top_level_only: bool) -> Iterator[tuple[str, int]]:
    """(module imported, line), skipping `if TYPE_CHECKING:` blocks (annotations only, never run)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else module_name(path)

    def visit(nodes: list[ast.stmt], top: bool) -> Iterator[tuple[str, int]]:
        for node in nodes:
            if isinstance(node, ast.If) and _type_checking(node):
                continue
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield alias.name, node.lineno
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(
                        package.split(".")[: len(package.split(".")) - node.level + 1]
                        + ([base] if base else [])
                    )
                # `from pkg import module` depends on that module (the package's __init__ runs first anyway)
                subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES]
                for name in subs or [base]:
                    yield name, node.lineno
            if top_level_only and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            for field in ("body", "orelse", "finalbody", "handlers"):
                children = getattr(node, field, None)
                if (
                    isinstance(children, list)
                    and children
                    and isinstance(children[0], (ast.stmt, ast.ExceptHandler))
                ):
                    inner = [c for c in children if isinstance(c, ast.stmt)]
                    for handler in (c for c in children if isinstance(c, ast.ExceptHandler)):
                        inner += handler.body
                    yield from visit(inner, top)

    yield from visit(tree.body, True)


def graph(*, top_level_only: bool) -> dict[str, set[str]]:
    mods = modules()
    return {
        name: {imp for imp, _ in imports(path, top_level_only=top_level_only) if imp in mods and imp != name}
        for name, path in mods.items()
    }


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            walk(node)
    return found


def test_no_module_imports_another_in_a_circle() -> None:
    assert cycles(graph(top_level_only=True)) == []


LAYERED = (
    "llmops_action.core",
    "llmops_action.action.main",
    "llmops_action.review",
    "llmops_action.engine.sources",
)


def test_the_action_the_review_core_and_the_core_have_no_circle_even_through_deferred_imports() -> None:
    """A deferred import cannot fail at import time, but a circle still says two layers lean on each other."""
    edges = {
        k: {v for v in vs if v.startswith(LAYERED)}
        for k, vs in graph(top_level_only=False).items()
        if k.startswith(LAYERED)
    }
    assert cycles(edges) == []


def test_the_core_does_no_io() -> None:
    offenders = []
    for name, path in modules().items():
        if not name.startswith("llmops_action.core"):
            continue
        for imp, line in imports(path, top_level_only=False):
            if imp.split(".")[0] in FORBIDDEN_IN_CORE or imp in FORBIDDEN_IN_CORE:
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {imp}")
            if imp.startswith("llmops_action.") and not imp.startswith(
                ("llmops_action.core", "llmops_action.errors", "llmops_action.__version__")
            ):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {imp}, outside the core")
        text = path.read_text(encoding="utf-8")
        for n, src in enumerate(text.splitlines(), 1):
            if "os.environ" in src or "os.getenv" in src or "getenv(" in src:
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{n} reads the environment")
    assert offenders == []


def test_the_checker_sees_a_circle_and_an_io_import(tmp_path: Path) -> None:
    """The tests above could pass by seeing nothing: show they find what they look for."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    sample = PACKAGE / "review_steps.py"
    found = {imp for imp, _ in imports(sample, top_level_only=True)}
    assert "llmops_action.core.trust" in found and "llmops_action.engine.evaluate" not in found  # deferred
    assert "llmops_action.engine.evaluate" in {imp for imp, _ in imports(sample, top_level_only=False)}
    assert "subprocess" in {imp for imp, _ in imports(PACKAGE / "adapters" / "git.py", top_level_only=False)}


def test_modules_stay_small() -> None:
    big = {
        str(p.relative_to(PACKAGE.parent)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 460
    }
    assert big == {}


# Each layer imports only the layers below it (deferred imports included): entry points on top, then the
# review core and the services it uses, then the engine and the adapters, then the pure core.
LAYER_RANK = {
    "core": 0,
    "errors": 0,
    "engine": 1,
    "adapters": 1,
    "review": 2,
    "review_steps": 2,
    "review_types": 2,
    "publish": 2,
    "alerts": 2,
    "experiments": 2,
    "action": 3,
    "cli": 3,
    "bot": 3,
}


def layer_violations(edges: dict[str, set[str]]) -> list[str]:
    def layer(module: str) -> str:
        parts = module.split(".")
        return parts[1] if len(parts) > 1 else ""

    return sorted(
        f"{a} imports {b}"
        for a, targets in edges.items()
        for b in targets
        if layer(a) in LAYER_RANK and layer(b) in LAYER_RANK and LAYER_RANK[layer(b)] > LAYER_RANK[layer(a)]
    )


def test_each_layer_imports_only_the_layers_below_it() -> None:
    assert set(LAYER_RANK) >= {p.stem for p in PACKAGE.iterdir() if not p.name.startswith(("_", "py."))}
    assert layer_violations(graph(top_level_only=False)) == []
    assert layer_violations({"llmops_action.engine.x": {"llmops_action.cli.main"}}) == [
        "llmops_action.engine.x imports llmops_action.cli.main"
    ]
