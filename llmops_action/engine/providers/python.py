"""`python` provider: a `module:function` in the user's repository, called with the case variables.

When the function also accepts `system` and/or `prompt` keywords (or `**kwargs`), it gets the rendered system
instruction and user prompt too, so an app's behaviour can follow the versioned prompt under test.

This serves apps with retrieval or tools: the function may return the answer as a string, or a dict
`{"output": str, "input_tokens"?: int, "output_tokens"?: int, "contexts"?: [str]}`; retrieved contexts land in
`ModelResponse.raw["contexts"]` for context-recall metrics.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llmops_action.engine.providers.base import ModelRequest, ModelResponse
from llmops_action.errors import ProviderError, UserInputError

_IMPORT_LOCK = threading.Lock()


def load_function(spec: str, root: Path) -> Callable[..., Any]:
    """Import `package.module:function` with the repository root first on sys.path."""
    module_name, _, attr = spec.partition(":")
    with _IMPORT_LOCK:
        root_s = str(root.resolve())
        # First, even when an earlier import put it further down: another workspace loaded in this process
        # (the bot, a test run) may have a same-named module ahead of it.
        if sys.path[:1] != [root_s]:
            if root_s in sys.path:
                sys.path.remove(root_s)
            sys.path.insert(0, root_s)
        _forget_foreign(module_name, Path(root_s))
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            raise UserInputError(
                f"cannot import '{module_name}' from {root_s}: {type(exc).__name__}: {exc}",
                key="provider.function",
            ) from None
    fn = module
    for part in attr.split("."):
        fn = getattr(fn, part, None)
        if fn is None:
            raise UserInputError(f"'{module_name}' has no attribute '{attr}'", key="provider.function")
    if not callable(fn):
        raise UserInputError(f"'{spec}' is not callable", key="provider.function")
    return fn


def _forget_foreign(module_name: str, root: Path) -> None:
    """A same-named module already imported from elsewhere (another workspace, in one process) must not shadow
    the repository's own."""
    top = module_name.split(".")[0]
    loaded = sys.modules.get(top)
    file = getattr(loaded, "__file__", None)
    if loaded is None or file is None or Path(file).resolve().is_relative_to(root):
        return
    if "site-packages" in file or "dist-packages" in file:
        return  # an installed library the app imports by name: keep it
    for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
        del sys.modules[name]


class PythonProvider:
    kind = "python"
    model: str | None = None
    # The function's behaviour depends on repository code the cache key cannot see: never cache it.
    cacheable = False

    def __init__(self, function: str, root: Path, timeout: float | None = None) -> None:
        self.function = function
        self.timeout = timeout
        self._fn = load_function(function, root)
        self._prompt_params = _prompt_params(self._fn)

    def cache_identity(self) -> dict[str, Any]:
        return {"type": self.kind, "function": self.function}

    def complete(self, request: ModelRequest) -> ModelResponse:
        start = time.perf_counter()
        kwargs = dict(request.variables)
        rendered = {"system": request.system, "prompt": request.user}
        kwargs.update({k: v for k, v in rendered.items() if k in self._prompt_params})
        value = self._call(kwargs)
        latency_ms = (time.perf_counter() - start) * 1000
        if isinstance(value, str):
            return ModelResponse(text=value, latency_ms=latency_ms)
        if isinstance(value, dict) and isinstance(value.get("output"), str):
            contexts = value.get("contexts")
            return ModelResponse(
                text=value["output"],
                latency_ms=latency_ms,
                input_tokens=_int_or_none(value.get("input_tokens")),
                output_tokens=_int_or_none(value.get("output_tokens")),
                raw={"contexts": [str(c) for c in contexts]} if isinstance(contexts, list) else None,
            )
        raise ProviderError(
            f"{self.function} returned {type(value).__name__}; expected a str or a dict with an 'output' string",
            retryable=False,
        )

    def _call(self, variables: dict[str, Any]) -> Any:
        if self.timeout is None:
            try:
                return self._fn(**variables)
            except Exception as exc:
                raise ProviderError(
                    f"{self.function} raised {type(exc).__name__}: {exc}", retryable=False
                ) from None
        # Python cannot interrupt a running function: run it in a daemon thread and abandon it on timeout.
        # Not retryable, since a retry would pile a second stuck call on the first.
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["value"] = self._fn(**variables)
            except Exception as exc:
                box["error"] = exc

        thread = threading.Thread(target=target, daemon=True, name=f"llmops-python-{self.function}")
        thread.start()
        thread.join(self.timeout)
        if thread.is_alive():
            raise ProviderError(f"{self.function} timed out after {self.timeout:g}s", retryable=False)
        if "error" in box:
            exc = box["error"]
            raise ProviderError(f"{self.function} raised {type(exc).__name__}: {exc}", retryable=False)
        return box.get("value")


def _prompt_params(fn: Callable[..., Any]) -> frozenset[str]:
    """Which of `system` / `prompt` the function takes by keyword."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature
        return frozenset()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return frozenset({"system", "prompt"})
    return frozenset(
        p.name
        for p in params
        if p.name in ("system", "prompt") and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    )


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
