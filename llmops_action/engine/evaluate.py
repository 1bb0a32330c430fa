"""The evaluation orchestrator: render every case, get its output, score it, aggregate, gate -> RunResult.

Each case runs as one pipeline on a worker thread (generate, then deterministic metrics, then the judge calls), so
judge calls overlap other cases' generation and the pool stays full. Every provider and judge call goes through
one Runner (shared rate limit, retries) and one Cache. A case whose generation fails keeps its error and gets no
score; a judge call that fails is an error on that metric. Nothing is dropped.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llmops_action import __version__
from llmops_action.core.config import JudgeSpec, LlmopsConfig, MetricConfig, Price
from llmops_action.core.dataset import Case, format_bytes
from llmops_action.core.measurement import case_input_hash
from llmops_action.core.metrics import score_deterministic
from llmops_action.core.metrics.aggregate import case_score
from llmops_action.core.metrics.lexical import retrieved_contexts
from llmops_action.core.outcome import is_incomplete_case, run_outcome
from llmops_action.core.prompts import RenderedPrompt
from llmops_action.core.results import (
    CaseResult,
    MetricScore,
    ModelInfo,
    PromptInfo,
    RunMeta,
    RunResult,
)
from llmops_action.core.shard import in_shard
from llmops_action.engine.cache import Cache, Kind, cache_key
from llmops_action.engine.consensus import judge_panel
from llmops_action.engine.judge import acceptable, judge_case, no_answer, skipped_judge
from llmops_action.engine.progress import Progress
from llmops_action.engine.providers import make_judge_provider, make_panel_judge, make_provider
from llmops_action.engine.providers.base import ModelRequest, ModelResponse, Provider
from llmops_action.engine.runner import RetryPolicy, Runner, quota_of
from llmops_action.engine.workspace import Workspace, render_cases
from llmops_action.errors import ProviderError

RESULTS_FILE = "results.json"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _sha(value: Any) -> str:
    blob = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def dataset_hash(cases: list[Case]) -> str:
    """Of the whole dataset (not the shard), so shards of one run and the unsharded run agree."""
    return _sha(sorted((c.model_dump(mode="json") for c in cases), key=lambda c: c["id"]))


def metrics_hash(config: LlmopsConfig) -> str:
    judge = config.judge.model_dump(mode="json", include={"model", "samples", "temperature"})
    # A panel's settings; left out for one judge, so single-judge hashes (and their baselines) stay as they were.
    if config.judge.judges:
        judge.update(config.judge.model_dump(mode="json", include={"judges", "combine", "min_judges"}))
    return _sha(
        {"metrics": [m.model_dump(mode="json", by_alias=True) for m in config.metrics], "judge": judge}
    )


def case_cost(price: Price | None, response: ModelResponse | None) -> float | None:
    """USD from the per-model price table (per 1M tokens); None when the price or the token counts are unknown."""
    if price is None or response is None or response.input_tokens is None or response.output_tokens is None:
        return None
    return (response.input_tokens * price.input + response.output_tokens * price.output) / 1_000_000


@dataclass
class _Tally:
    """Counters shared by worker threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    judge_calls: int = 0
    provider_version: str | None = None
    judge_version: str | None = None


class _Calls:
    """Provider and judge calls through the cache and the runner."""

    def __init__(self, runner: Runner, cache: Cache | None, tally: _Tally) -> None:
        self.runner = runner
        self.cache = cache
        self.tally = tally

    def complete(
        self,
        provider: Provider,
        request: ModelRequest,
        kind: Kind,
        accept: Callable[[ModelResponse], bool] | None = None,
    ) -> ModelResponse:
        """`accept`: whether the response may be cached (after it validated); default: it has a finish reason."""
        use_cache = self.cache is not None and getattr(provider, "cacheable", True)
        key = cache_key(provider.cache_identity(), request, kind) if use_cache else ""
        if use_cache and self.cache is not None:
            hit = self.cache.get(key, kind)
            if hit is not None:
                self._note_version(kind, hit)  # a run served from the cache still names its model version
                return hit
        response = self.runner.call(lambda: provider.complete(request), quota=quota_of(provider))
        with self.tally.lock:
            if kind == "judge":
                self.tally.judge_calls += 1
        self._note_version(kind, response)
        accepted = accept(response) if accept is not None else response.finish_reason is not None
        if use_cache and self.cache is not None and accepted:
            self.cache.put(key, response)
        return response

    def _note_version(self, kind: Kind, response: ModelResponse) -> None:
        with self.tally.lock:
            if kind == "judge":
                self.tally.judge_version = self.tally.judge_version or response.model_version
            else:
                self.tally.provider_version = self.tally.provider_version or response.model_version


def _request(config: LlmopsConfig, case: Case, rendered: RenderedPrompt) -> ModelRequest:
    return ModelRequest(
        system=rendered.system,
        user=rendered.user,
        case_id=case.id,
        variables=dict(case.vars),
        case=case.model_dump(mode="json"),
        temperature=config.provider.temperature,
        seed=config.provider.seed,
        max_tokens=config.provider.max_tokens,
    )


def _no_output_reason(error: str | None, response: ModelResponse | None) -> str:
    if error:
        return f"no output: generation failed: {error}"
    if response is not None and response.blocked:
        return f"no output: prompt blocked ({response.blocked})"
    finish = response.finish_reason if response is not None else None
    return f"no output: empty answer (finish reason {finish or 'unknown'})"


def _score_case(
    ws: Workspace,
    case: Case,
    rendered: RenderedPrompt,
    provider: Provider,
    judge_provider: Provider | None,
    calls: _Calls,
    panel: Sequence[tuple[JudgeSpec, Provider | None]] | None = None,
) -> CaseResult:
    config = ws.config
    prompt = ws.prompts[case.prompt]
    response: ModelResponse | None = None
    error: str | None = None
    try:
        response = calls.complete(provider, _request(config, case, rendered), "generation")
    except ProviderError as exc:
        error = exc.message
    output = response.text if response is not None else None
    limit = config.limits.max_field_bytes
    if output is not None and len(output.encode("utf-8")) > limit:
        # kept out of results.json: one runaway answer must not make a 21 MB file
        size = format_bytes(len(output.encode("utf-8")))
        error = f"output is {size}, over the {format_bytes(limit)} limit (limits.max_field_bytes)"
        output = None

    retrieved = retrieved_contexts(response.raw if response else None)[1]
    plain = [m for m in config.metrics if m.type != "judge"]
    # No answer (a safety block, an empty reply) is what the model did: the metrics score the empty text.
    answered = output if output is not None or response is None else ""
    scores: dict[str, MetricScore] = dict(score_deterministic(plain, case, answered, response))
    judge_hits = 0
    judge_price = config.pricing.get(config.judge.model)
    judge_costs: list[float | None] = []
    for metric in config.judge_metrics:
        if judge_provider is None and not panel:
            scores[metric.key] = skipped_judge(metric)
        elif error is not None or response is None:
            scores[metric.key] = MetricScore(error=_no_output_reason(error, response))
        elif not (output or "").strip():
            scores[metric.key] = no_answer(metric, _no_output_reason(None, response))
        elif panel:
            hits = [0]

            def complete_for(
                spec: JudgeSpec, judge: Provider, hits: list[int] = hits, metric: MetricConfig = metric
            ) -> Callable[..., Any]:
                return _judge_complete(
                    judge, calls, hits, config.pricing.get(spec.model), judge_costs, metric
                )

            scores[metric.key] = judge_panel(
                metric, case, output, panel, complete_for, config.judge, retrieved=retrieved or None
            )
            judge_hits += hits[0]
        else:
            assert output is not None
            hits = [0]
            complete = _judge_complete(judge_provider, calls, hits, judge_price, judge_costs, metric)
            scores[metric.key] = judge_case(
                metric, case, output, complete, config.judge, retrieved=retrieved or None
            )
            judge_hits += hits[0]
    ordered = {m.key: scores[m.key] for m in config.metrics if m.key in scores}

    model = getattr(provider, "model", None)
    price = config.pricing.get(model) if model else None
    return CaseResult(
        id=case.id,
        prompt=case.prompt,
        prompt_version=prompt.version,
        tags=list(case.tags),
        vars=dict(case.vars),
        reference=case.reference,
        keywords=list(case.keywords),
        input_hash=case_input_hash(case),
        output=output,
        error=error,
        finish_reason=response.finish_reason if response else None,
        blocked=response.blocked if response else None,
        latency_ms=response.latency_ms
        if response
        else None,  # a cache hit keeps the latency it was measured at
        input_tokens=response.input_tokens if response else None,
        output_tokens=response.output_tokens if response else None,
        cost_usd=case_cost(price, response),
        judge_cost_usd=None if not judge_costs or None in judge_costs else sum(c or 0.0 for c in judge_costs),
        cache_hit=bool(response and response.cache_hit),
        judge_cache_hits=judge_hits,
        metrics=ordered,
        score=case_score(config.metrics, ordered),
    )


def _judge_complete(
    judge: Provider,
    calls: _Calls,
    hits: list[int],
    price: Price | None,
    costs: list[float | None],
    metric: MetricConfig,
) -> Callable[[ModelRequest], ModelResponse]:
    """`complete` for judge_case, through the runner and the cache, counting hits and pricing every call.

    Only a verdict that parses is cached: a malformed reply is re-asked on the next run, never replayed."""

    def complete(request: ModelRequest) -> ModelResponse:
        response = calls.complete(judge, request, "judge", accept=lambda r: acceptable(r, metric))
        if response.cache_hit:
            hits[0] += 1
        costs.append(case_cost(price, response))
        return response

    return complete


def _failed_case(ws: Workspace, case: Case, exc: BaseException) -> CaseResult:
    """A bug or an unexpected exception in one case's pipeline: recorded on the case, never lost."""
    return _error_case(ws, case, f"internal error: {type(exc).__name__}: {exc}")


def _error_case(ws: Workspace, case: Case, reason: str, *, keep_fields: bool = True) -> CaseResult:
    metrics = {m.key: MetricScore(error=reason) for m in ws.config.metrics}
    prompt = ws.prompts.get(case.prompt)
    return CaseResult(
        id=case.id,
        prompt=case.prompt,
        prompt_version=prompt.version if prompt else None,
        tags=list(case.tags),
        vars=dict(case.vars) if keep_fields else {},
        reference=case.reference if keep_fields else None,
        keywords=list(case.keywords) if keep_fields else [],
        input_hash=case_input_hash(case),
        error=reason,
        metrics=metrics,
    )


def evaluate(
    ws: Workspace,
    *,
    out_dir: Path | None = None,
    api_key: str | None = None,
    use_cache: bool = True,
    shard: tuple[int, int] | None = None,
    git_sha: str | None = None,
    git_branch: str | None = None,
    event: str | None = None,
    pr_number: int | None = None,
    progress: bool = False,
    provider: Provider | None = None,
    judge_provider: Provider | None = None,
    runner: Runner | None = None,
    on_case: Callable[[CaseResult], None] | None = None,
    cache_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> RunResult:
    """Evaluate the workspace's cases (those in `shard`, when given) and return the RunResult.

    `provider` / `judge_provider` override what the config names (tests, custom apps). Without an api key and
    without a judge_provider, judge metrics are skipped ("no judge credentials"). Writes `out_dir/results.json`
    atomically when out_dir is given. Raises UserInputError before any call when a case cannot be rendered.
    `on_case` gets each case as soon as it is scored (live MLflow tracking).
    `cache_dir` overrides the config's cache folder (the Action keeps it outside the workspace, so nothing a
    pull request commits is read as a cache entry: core/trust.py).
    """

    config = ws.config
    started = _now()
    cases = [c for c in ws.cases if in_shard(c.id, shard)]
    # Render everything first: a template error is bad input (exit 2) and must stop the run before any call.
    rendered_cases = render_cases(ws, cases)
    rendered = rendered_cases.prompts

    timeout = config.retries.timeout
    provider = provider or make_provider(config.provider, root=ws.root, api_key=api_key, timeout=timeout)
    panel = judge_panel_members(config, api_key, env, timeout) if judge_provider is None else None
    if judge_provider is None and api_key and config.judge_metrics and not config.judge.judges:
        judge_provider = make_judge_provider(config.judge, api_key=api_key, timeout=timeout)
    runner = runner or Runner(
        concurrency=config.concurrency,
        policy=RetryPolicy(config.retries.attempts, config.retries.initial_delay, config.retries.max_delay),
        rpm=config.rpm,
    )
    # `cache_dir`: a base evaluated from another tree shares the head's cache, so unchanged requests are free
    cache_folder = cache_dir or ws.root / config.cache.dir
    cache = Cache(cache_folder) if use_cache and config.cache.enabled else None
    tally = _Tally()
    calls = _Calls(runner, cache, tally)

    def work(case: Case) -> CaseResult:
        too_big = rendered_cases.oversized.get(case.id)
        if too_big is not None:  # an error on this case, with its fields left out of results.json
            return _error_case(ws, case, too_big, keep_fields=False)
        return _score_case(ws, case, rendered[case.id], provider, judge_provider, calls, panel)

    results: dict[str, CaseResult] = {}
    with Progress("eval", len(cases), enabled=progress) as shown:
        for case, fut in runner.map_unordered(work, cases):
            exc = fut.exception()
            results[case.id] = done = _failed_case(ws, case, exc) if exc is not None else fut.result()
            done.render_ms = rendered_cases.render_ms.get(case.id)
            if on_case is not None:
                on_case(done)
            shown.update(errors=int(is_incomplete_case(done)))
    ordered = [results[c.id] for c in cases]

    outcome = run_outcome(config, ordered, judge_calls=tally.judge_calls)

    used_prompts = sorted({c.prompt for c in cases} or set(ws.prompts))
    meta = RunMeta(
        suite=config.suite,
        tool_version=__version__,
        config_hash=config.config_hash(),
        dataset_hash=dataset_hash(ws.cases),
        metrics_hash=metrics_hash(config),
        git_sha=git_sha,
        git_branch=git_branch,
        event=event,
        pr_number=pr_number,
        prompts=[_prompt_info(ws, name) for name in used_prompts],
        provider=ModelInfo(
            type=getattr(provider, "kind", config.provider.type),
            model=getattr(provider, "model", None),
            model_version=tally.provider_version,
        ),
        judge=ModelInfo(
            type="panel" if config.judge.judges else "gemini",
            model="+".join(j.label for j in config.judge.judges)
            if config.judge.judges
            else config.judge.model,
            model_version=tally.judge_version,
        )
        if config.judge_metrics
        else None,
        started_at=started,
        finished_at=_now(),
        shard=f"{shard[0]}/{shard[1]}" if shard else None,
    )
    result = RunResult(
        run=meta,
        cases=ordered,
        metrics=outcome.metrics,
        aggregates=outcome.aggregates,
        counts=outcome.counts,
        calls=runner.stats(),
        gates=outcome.gates,
        verdict=outcome.verdict,  # type: ignore[arg-type]
    )
    if out_dir is not None:
        result.write(Path(out_dir) / RESULTS_FILE)
    return result


def judge_panel_members(
    config: LlmopsConfig, api_key: str | None, env: Mapping[str, str] | None, timeout: float
) -> list[tuple[JudgeSpec, Provider | None]] | None:
    """The panel's judges with their providers (None: that judge has no credentials); None without a panel.
    A panel none of whose judges has credentials is skipped, as a lone judge is offline."""
    if not config.judge.judges or not config.judge_metrics:
        return None
    environ = dict(os.environ) if env is None else env
    members = [
        (spec, make_panel_judge(spec, gemini_key=api_key, env=environ, timeout=timeout))
        for spec in config.judge.judges
    ]
    return members if any(p is not None for _, p in members) else None


def _prompt_info(ws: Workspace, name: str) -> PromptInfo:
    p = ws.prompts[name]
    return PromptInfo(
        name=p.name,
        version=p.version,
        hash=p.content_hash,
        system=p.system,
        template=p.template,
        variables=[v.model_dump(mode="json", exclude_none=True) for v in p.variables],
    )
