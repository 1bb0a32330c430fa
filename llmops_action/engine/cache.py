"""Content-addressed on-disk cache of model responses, for generation and judging.

Key: sha256 of canonical JSON of {provider identity (type, model, base URL), rendered request, parameters,
sample index, kind}; a metric's weight or threshold is not part of any request, so it is not in the key. Only
accepted responses are stored: the caller says what it accepts (a judge verdict that parsed and is in schema, a
generation with a finish reason), and `put` is called only after that; errors never are. Writes are atomic (tmp + rename, so a concurrent
reader or a crash never sees half an entry), and an unreadable entry counts as a miss and is rewritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

from llmops_action.engine.providers.base import ModelRequest, ModelResponse

CACHE_FORMAT = 1
Kind = Literal["generation", "judge"]


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def key_material(identity: dict[str, Any], request: ModelRequest, kind: Kind) -> dict[str, Any]:
    return {
        "format": CACHE_FORMAT,
        "kind": kind,
        "provider": identity,
        "request": {"system": request.system, "user": request.user},
        "params": {
            "temperature": request.temperature,
            "seed": request.seed,
            "max_tokens": request.max_tokens,
            "response_schema": request.response_schema,
        },
        "sample": request.sample,
    }


def cache_key(identity: dict[str, Any], request: ModelRequest, kind: Kind) -> str:
    """Stable across processes and platforms (no hash(), no dict order)."""
    return hashlib.sha256(canonical_json(key_material(identity, request, kind)).encode("utf-8")).hexdigest()


class Cache:
    """Thread-safe. `hits` / `misses` count lookups by kind."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self._lock = threading.Lock()
        self.hits: dict[str, int] = {"generation": 0, "judge": 0}
        self.misses: dict[str, int] = {"generation": 0, "judge": 0}

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.json"

    def get(self, key: str, kind: Kind = "generation") -> ModelResponse | None:
        response = self._read(key)
        with self._lock:
            (self.hits if response is not None else self.misses)[kind] += 1
        return response

    def _read(self, key: str) -> ModelResponse | None:
        try:
            entry = json.loads(self._path(key).read_text(encoding="utf-8"))
            if entry.get("key") != key or entry.get("format") != CACHE_FORMAT:
                return None
            data = entry["response"]
            if not isinstance(data.get("text"), str):
                return None
            fields = {k: data.get(k) for k in ModelResponse.__dataclass_fields__ if k in data}
            response = ModelResponse(**fields)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # missing or corrupt: a miss; the next put rewrites it
        response.cache_hit = True
        return response

    def put(self, key: str, response: ModelResponse) -> None:
        if response.text is None:  # blocked or empty: an outcome worth re-asking, not caching
            return
        data = asdict(response)
        data["cache_hit"] = False
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(
            canonical_json({"format": CACHE_FORMAT, "key": key, "response": data}), encoding="utf-8"
        )
        os.replace(tmp, path)
