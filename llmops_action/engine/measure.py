"""Score both sides of a pull request under one measurement: the engine half of core/measurement.py.

- `base_config`: the base commit's own config, read through git (the measurement in force).
- `governed_workspace`: the head's workspace with the base's measurement, what the head is evaluated with.
- `ReplayProvider` / `rescore`: a stored run's outputs scored again under another measurement. It costs only
  judge calls, through the cache the head uses; the model is never asked again.
- `align`: a stored baseline scored under another measurement than the one in force is re-scored.
- `preview`: both sides under the head's own measurement, for the informational comment section.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from llmops_action.adapters.baseline.store import BaselineStore
from llmops_action.adapters.git import show_file
from llmops_action.core import measurement as ms
from llmops_action.core.config import LlmopsConfig, parse_config
from llmops_action.core.results import RunResult
from llmops_action.engine.providers.base import ModelRequest, ModelResponse
from llmops_action.engine.workspace import Workspace
from llmops_action.errors import LlmopsError, ProviderError, UserInputError


@dataclasses.dataclass(frozen=True)
class Preview:
    """Both sides under the head's measurement (compare_and_report turns it into the comment's section)."""

    base: RunResult
    head: RunResult
    config: LlmopsConfig
    changes: list[str]


def base_config(ws: Workspace, repo: Path, sha: str | None, warnings: list[str]) -> LlmopsConfig | None:
    """The config at `sha` in the same place as the head's; None (with a warning) when absent or broken."""
    if sha is None:
        return None
    rel = ws.config_path.resolve().relative_to(repo).as_posix()
    text = show_file(sha, rel, repo)
    if text is None:
        return None
    try:
        return parse_config(text, f"{rel}@{sha[:12]}")
    except UserInputError as exc:
        warnings.append(
            f"The base commit's config does not load ({exc.message}); the head's measurement is used."
        )
        return None


def governed_workspace(ws: Workspace, base: LlmopsConfig | None) -> Workspace:
    """The head's treatment under the base's measurement (the head's own config when there is no base)."""
    if base is None:
        return ws
    return dataclasses.replace(ws, config=ms.governed(ws.config, base))


class ReplayProvider:
    """Answers each case with what a stored run recorded; a recorded failure stays a failure."""

    cacheable = False  # reading the stored run is cheaper than the cache

    def __init__(self, run: RunResult) -> None:
        self._cases = run.case_map()
        self.kind = run.run.provider.type
        self.model = run.run.provider.model
        self._version = run.run.provider.model_version

    def cache_identity(self) -> dict[str, Any]:
        return {"type": "replay", "model": self.model}

    def complete(self, request: ModelRequest) -> ModelResponse:
        case = self._cases.get(request.case_id)
        if case is None:
            raise ProviderError(f"no stored output for case '{request.case_id}'", retryable=False)
        if case.error:
            raise ProviderError(case.error, retryable=False)
        return ModelResponse(
            text=case.output,
            latency_ms=case.latency_ms or 0.0,
            input_tokens=case.input_tokens,
            output_tokens=case.output_tokens,
            model_version=self._version,
            finish_reason=case.finish_reason,
            blocked=case.blocked,
        )


def rescore(
    run: RunResult,
    ws: Workspace,
    config: LlmopsConfig,
    *,
    api_key: str | None,
    use_cache: bool = True,
    cache_dir: Path | None = None,
) -> RunResult:
    """`run`'s stored outputs scored under `config`, with the case definitions of `ws`.

    Only the cases whose id and inputs `ws` defines are re-scored; the others (cases the head removed or
    changed) keep their stored scores, which no gate reads. Prompts and provider stay the run's own.
    """
    from llmops_action.engine.evaluate import evaluate

    stored = run.case_map()
    cases = [
        c for c in ws.cases if c.id in stored and stored[c.id].input_hash in (None, ms.case_input_hash(c))
    ]
    replay_ws = dataclasses.replace(ws, config=config, cases=cases)
    fresh = evaluate(
        replay_ws,
        provider=ReplayProvider(run),
        api_key=api_key,
        use_cache=use_cache,
        cache_dir=cache_dir,
        git_sha=run.run.git_sha,
        git_branch=run.run.git_branch,
        event=run.run.event,
        pr_number=run.run.pr_number,
    )
    by_id = fresh.case_map()
    merged = [
        by_id[c.id].model_copy(update={"prompt_version": c.prompt_version, "cache_hit": c.cache_hit})
        if c.id in by_id
        else c
        for c in run.cases
    ]
    meta = fresh.run.model_copy(update={"prompts": run.run.prompts, "provider": run.run.provider})
    return fresh.model_copy(update={"run": meta, "cases": merged})


def stored_at(store: BaselineStore | None, sha: str | None, suite: str) -> RunResult | None:
    """A record of `suite` stored at the merge-base `sha` under another config hash (a metric added on the
    base branch, a tool upgrade), or None. It holds the outputs of the base's own treatment at that commit,
    so re-scoring it (`align`) replaces a re-run."""
    if store is None or sha is None:
        return None
    try:
        records = [r for r in store.list(suite) if r.sha == sha]
        for record in records:
            found = store.load(record.sha, record.suite, record.config_hash)
            if found is not None:
                return found
    except (LlmopsError, OSError):
        return None  # the caller re-evaluates the base
    return None


def align(
    base: RunResult,
    ws: Workspace,
    config: LlmopsConfig,
    *,
    api_key: str | None,
    use_cache: bool,
    cache_dir: Path | None,
    warnings: list[str],
) -> RunResult:
    """A stored baseline scored under another measurement than `config` is re-scored from its outputs."""
    from llmops_action.engine.evaluate import metrics_hash

    if base.run.metrics_hash == metrics_hash(config):
        return base
    warnings.append(
        "The stored baseline was scored under another measurement; its stored outputs were re-scored "
        "under the one in force (judge calls only, through the cache)."
    )
    return rescore(base, ws, config, api_key=api_key, use_cache=use_cache, cache_dir=cache_dir)


def preview(
    base: RunResult | None,
    head: RunResult,
    ws: Workspace,
    governing: LlmopsConfig | None,
    *,
    api_key: str | None,
    use_cache: bool,
    cache_dir: Path | None,
) -> Preview | None:
    """Both sides under the head's own measurement, when it differs from the one in force; else None.

    The judge endpoint stays the base's: the PR chooses what to measure, never where the key is sent.
    """
    if base is None or governing is None:
        return None
    changes = ms.measurement_changes(governing, ws.config)
    if not changes:
        return None
    from llmops_action.engine.evaluate import metrics_hash

    own = ms.preview_config(ws.config, governing)
    if metrics_hash(own) == metrics_hash(governing):
        return Preview(base=base, head=head, config=own, changes=changes)  # only gates differ: no re-scoring
    kwargs: dict[str, Any] = {"api_key": api_key, "use_cache": use_cache, "cache_dir": cache_dir}
    head_own = rescore(head, dataclasses.replace(ws, config=own), own, **kwargs)
    base_own = rescore(base, dataclasses.replace(ws, config=own), own, **kwargs)
    return Preview(base=base_own, head=head_own, config=own, changes=changes)
