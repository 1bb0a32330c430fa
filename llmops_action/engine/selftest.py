"""`llmops-action selftest`: inject degraded behaviour on purpose and show which gate blocks it (issue 14).

The stored outputs of a run (the base's baseline, or a fresh `eval`) are replayed through `evaluate` as the
provider's answers, once unmutated (the control) and once per mutation (core/mutations.py), so every output is
scored by exactly the configured metrics and judge, through the same runner and cache: a second self-test
costs no judge call. Each mutated run is compared with the control by core/compare.py, so the gates that
decide a pull request decide here too; core/selftest.py turns that into the table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from llmops_action.core.compare import compare
from llmops_action.core.mutations import BY_NAME, CANARY_CONTROL, MUTATIONS, SourceCase
from llmops_action.core.results import RunResult
from llmops_action.core.selftest import (
    SelftestReport,
    canary_findings,
    control_gate_map,
    finish,
    mutation_row,
)
from llmops_action.engine.evaluate import evaluate
from llmops_action.engine.providers.base import ModelRequest, ModelResponse, Provider
from llmops_action.engine.workspace import Workspace
from llmops_action.errors import ProviderError, UserInputError

SELFTEST_JSON = "selftest.json"
SELFTEST_MD = "selftest.md"


class StoredOutputs:
    """The provider port over a run's stored outputs (mutated or not). Latency and tokens are the stored ones,
    so latency and cost gates see the run as it was, and only the content changes."""

    kind = "stored"
    cacheable = False  # nothing to save: the text is given

    def __init__(
        self, source: RunResult, outputs: Mapping[str, str], contexts: Mapping[str, Any] | None = None
    ) -> None:
        self.model = source.run.provider.model
        self._cases = source.case_map()
        self._outputs = dict(outputs)
        self._contexts = dict(contexts or {})

    def cache_identity(self) -> dict[str, Any]:
        return {"type": self.kind}

    def complete(self, request: ModelRequest) -> ModelResponse:
        text = self._outputs.get(request.case_id)
        stored = self._cases.get(request.case_id)
        if text is None or stored is None:
            why = stored.error if stored is not None and stored.error else "no stored output for this case"
            raise ProviderError(f"self-test: {why}", retryable=False)
        contexts = self._contexts.get(request.case_id)
        return ModelResponse(
            text=text,
            latency_ms=stored.latency_ms or 0.0,
            input_tokens=stored.input_tokens,
            output_tokens=stored.output_tokens,
            raw={"contexts": contexts} if contexts is not None else None,
        )


class _Recording:
    """The configured provider, keeping what each case retrieved (raw["contexts"]): results.json does not store
    it, yet context_recall and the faithfulness judge need it to score the replayed outputs as the app's own."""

    def __init__(self, inner: Provider) -> None:
        self.inner = inner
        self.kind = inner.kind
        self.model = inner.model
        self.cacheable = getattr(inner, "cacheable", True)
        self.contexts: dict[str, Any] = {}

    def cache_identity(self) -> dict[str, Any]:
        return self.inner.cache_identity()

    def complete(self, request: ModelRequest) -> ModelResponse:
        response = self.inner.complete(request)
        if response.raw and response.raw.get("contexts") is not None:
            self.contexts[request.case_id] = response.raw["contexts"]
        return response


def fresh_source(
    ws: Workspace, *, api_key: str | None, use_cache: bool = True, out_dir: Path | None = None, **kwargs: Any
) -> tuple[RunResult, dict[str, Any]]:
    """A fresh `eval` of the workspace, and what each case retrieved."""
    from llmops_action.engine.providers import make_provider

    config = ws.config
    provider = _Recording(
        make_provider(config.provider, root=ws.root, api_key=api_key, timeout=config.retries.timeout)
    )
    result = evaluate(ws, api_key=api_key, use_cache=use_cache, out_dir=out_dir, provider=provider, **kwargs)
    return result, provider.contexts


def sources(ws: Workspace, run: RunResult) -> list[SourceCase]:
    """The workspace's cases that have a stored output, with the system prompt each ran with."""
    wanted = {c.id for c in ws.cases}
    prompts = {p.name: p.system for p in run.run.prompts}
    return [
        SourceCase(id=c.id, output=c.output, system=prompts.get(c.prompt, ""))
        for c in run.cases
        if c.id in wanted and c.output is not None and c.error is None
    ]


def plan(ws: Workspace, names: Sequence[str] | None, judged: bool) -> tuple[list[str], dict[str, str]]:
    """(mutations to run, {mutation: why skipped}). `judged`: judge metrics ran on the control."""
    config = ws.config
    chosen = list(names or config.selftest.mutations or [m.name for m in MUTATIONS])
    unknown = [n for n in chosen if n not in BY_NAME]
    if unknown:
        raise UserInputError(
            f"unknown mutation '{unknown[0]}'",
            key="selftest.mutations",
            hint=f"Valid mutations: {', '.join(BY_NAME)}.",
        )
    run, skipped = [], {}
    for name in chosen:
        m = BY_NAME[name]
        if m.needs_language and not config.selftest.language:
            skipped[name] = "the config states no language (selftest.language)"
        elif m.needs_judge and not judged:
            skipped[name] = "no judge metric ran (no judge configured, or no judge credentials)"
        else:
            run.append(name)
    return run, skipped


def run_selftest(
    ws: Workspace,
    source: RunResult,
    *,
    source_label: str,
    api_key: str | None = None,
    env: Mapping[str, str] | None = None,
    use_cache: bool = True,
    mutations: Sequence[str] | None = None,
    judge_provider: Provider | None = None,
    contexts: Mapping[str, Any] | None = None,
) -> SelftestReport:
    """`contexts`: what each case retrieved in the source run (from fresh_source); without it, context_recall
    and the judge see only the case's own contexts, the same for the control and every mutation."""
    config = ws.config
    cases = sources(ws, source)
    outputs = {c.id: c.output for c in cases}

    def scored(texts: Mapping[str, str]) -> RunResult:
        return evaluate(
            ws,
            api_key=api_key,
            env=env,
            use_cache=use_cache,
            provider=StoredOutputs(source, texts, contexts),
            judge_provider=judge_provider,
            git_sha=source.run.git_sha,
            git_branch=source.run.git_branch,
            event="selftest",
        )

    control = scored(outputs)
    judged = any(
        control.metrics.get(m.key) is not None and not control.metrics[m.key].skipped
        for m in config.judge_metrics
    )
    names, skipped = plan(ws, mutations, judged)
    control_gates = control_gate_map(control, config)
    report = SelftestReport(
        suite=config.suite,
        source=source_label,
        cases=len(cases),
        gates=list(control_gates),
        blocking_gates=[g.name for g in control_gates.values() if g.blocking],
        control={name: g.status for name, g in control_gates.items()},
        skipped=skipped,
    )
    if control.verdict == "incomplete":
        report.warnings.append(
            "the unmutated run is incomplete (errors above max_error_rate): its gates are not a fair reference"
        )
    runs: dict[str, RunResult] = {}
    for name in [*names, *([CANARY_CONTROL] if _needs_plain(names) else [])]:
        if name in runs:
            continue
        mutated = BY_NAME[name].apply(cases, config.selftest.language)
        runs[name] = scored({cid: mutated.get(cid, text) for cid, text in outputs.items()})
    for name in names:
        comparison = compare(control, runs[name], config, base_source="given")
        report.rows.append(mutation_row(name, control, runs[name], comparison, config, control_gates))
        if BY_NAME[name].kind == "canary":
            report.canaries += canary_findings(name, runs[name], runs[CANARY_CONTROL], config)
    return finish(report, config, control)


def _needs_plain(names: Sequence[str]) -> bool:
    return any(BY_NAME[n].kind == "canary" for n in names) and CANARY_CONTROL not in names
