"""`command` provider: one shell command per case, the case as JSON on stdin, the output on stdout.

The JSON is the case (`id`, `prompt`, `vars`, `reference`, ...) plus `rendered: {system, user}` so the command
can either call its own app with the variables or send the rendered prompt on.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from llmops_action.core.trust import provider_environment
from llmops_action.engine.providers.base import ModelRequest, ModelResponse
from llmops_action.errors import ProviderError

STDERR_TAIL = 500


class CommandProvider:
    kind = "command"
    model: str | None = None
    cacheable = False  # the command's behaviour is repository code the cache key cannot see

    def __init__(
        self, command: str, root: Path, timeout: float = 60.0, env: Mapping[str, str] | None = None
    ) -> None:
        self.command = command
        self.root = root
        self.timeout = timeout
        # Repository code: it never sees INPUT_*, ACTIONS_*, the token or our keys (core/trust.py).
        self.env = provider_environment(os.environ if env is None else env)

    def cache_identity(self) -> dict[str, Any]:
        return {"type": self.kind, "command": self.command}

    def complete(self, request: ModelRequest) -> ModelResponse:
        payload = {**request.case, "rendered": {"system": request.system, "user": request.user}}
        start = time.perf_counter()
        try:
            proc = subprocess.run(
                self.command,
                shell=True,
                input=json.dumps(payload),
                capture_output=True,
                text=True,
                timeout=self.timeout,
                cwd=self.root,
                env=self.env,
            )
        except subprocess.TimeoutExpired:
            raise ProviderError(f"command timed out after {self.timeout:g}s", retryable=True) from None
        latency_ms = (time.perf_counter() - start) * 1000
        if proc.returncode != 0:
            tail = proc.stderr.strip()[-STDERR_TAIL:]
            raise ProviderError(f"command exited {proc.returncode}: {tail or '(no stderr)'}", retryable=False)
        return ModelResponse(text=proc.stdout.removesuffix("\n"), latency_ms=latency_ms)
