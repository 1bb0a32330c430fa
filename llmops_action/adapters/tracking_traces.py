"""One MLflow trace per evaluated case, with its assessments, linked to the run.

A trace holds a root span for the case (inputs: the vars; outputs: the output) and child spans for the
prompt render, the generation (model, latency, tokens, finish reason, cache hit) and each judge call
(criterion, latency, tokens). The evaluation measures each step's duration, not its wall-clock start, so
the spans are laid end to end from the case's place in the run: durations are measured, start times are
reconstructed. Every metric becomes a feedback assessment (source: the LLM judge and its model, or code;
the judge's reasoning as rationale; an error stays an error, never a value); a skipped metric is not
logged as a value (its reason is trace metadata); the reference and expected keywords are expectations.

Cost: the assessments travel inside each trace's TraceInfo (one `start_trace` per case, no call per
assessment) and the spans of all cases go in a few multi-trace `log_spans` batches. Against a server, the
`start_trace` calls run on a small thread pool.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlflow.entities import Assessment, Span, TraceInfo

    from llmops_action.core.results import CaseResult, PromptInfo, RunResult

PREVIEW_CHARS = 1000
TEXT_CHARS = 20_000
SPAN_BATCH = 1000
SERVER_WORKERS = 8
SCORE_FEEDBACK = "score"  # the case's weighted aggregate, beside each metric
CODE_SOURCE = "llmops-action"
DATASET_SOURCE = "dataset"
_MS = 1_000_000  # ns per ms

Redact = Callable[[str], str]


def _b64(value: int, size: int) -> str:
    return base64.b64encode(value.to_bytes(size, "big")).decode()


def _clip(text: str | None, limit: int = TEXT_CHARS) -> str | None:
    return text if text is None or len(text) <= limit else text[:limit] + "…"


def start_ms(iso: str) -> int:
    try:
        return int(datetime.fromisoformat(iso).timestamp() * 1000)
    except ValueError:
        return 0


@dataclass(frozen=True)
class TraceContext:
    """What every trace of one run shares: where it goes and what produced the outputs."""

    experiment_id: str
    run_id: str
    provider_type: str
    provider_model: str | None
    prompts: dict[str, PromptInfo]
    redact: Redact
    linked_prompts: dict[str, str] = field(default_factory=dict)  # our name -> MLflow prompt version

    @classmethod
    def of(
        cls, result: RunResult, experiment_id: str, run_id: str, redact: Redact, linked: dict[str, str]
    ) -> TraceContext:
        meta = result.run
        return cls(
            experiment_id,
            run_id,
            meta.provider.type,
            meta.provider.model,
            {p.name: p for p in meta.prompts},
            redact,
            linked,
        )


class _TraceBuilder:
    """Span dicts of one case, in MLflow's own span format (`Span.from_dict`)."""

    def __init__(self, trace_id: str, otel_trace_id: int, start_ns: int) -> None:
        self.trace_id = trace_id
        self.otel_trace_id = otel_trace_id
        self.cursor = start_ns
        self.spans: list[dict[str, Any]] = []
        self._json_trace_id = json.dumps(trace_id)

    def add(
        self,
        name: str,
        span_type: str,
        duration_ms: float,
        *,
        parent: int | None,
        inputs: Any = None,
        outputs: Any = None,
        attributes: dict[str, Any] | None = None,
        error: str | None = None,
        start_ns: int | None = None,
    ) -> int:
        span_id = random.getrandbits(63) or 1
        start = self.cursor if start_ns is None else start_ns
        end = start + max(int(duration_ms * _MS), 1)
        attrs = {
            "mlflow.traceRequestId": self._json_trace_id,
            "mlflow.spanType": json.dumps(span_type),
            "mlflow.spanInputs": json.dumps(inputs, ensure_ascii=False, default=str),
            "mlflow.spanOutputs": json.dumps(outputs, ensure_ascii=False, default=str),
        }
        for k, v in (attributes or {}).items():
            if v is not None:
                attrs[k] = json.dumps(v, ensure_ascii=False, default=str)
        self.spans.append(
            {
                "trace_id": _b64(self.otel_trace_id, 16),
                "span_id": _b64(span_id, 8),
                "parent_span_id": _b64(parent, 8) if parent else None,
                "name": name,
                "start_time_unix_nano": start,
                "end_time_unix_nano": end,
                "status": {
                    "code": "STATUS_CODE_ERROR" if error else "STATUS_CODE_OK",
                    "message": error or "",
                },
                "attributes": attrs,
                "events": [],
            }
        )
        if start_ns is None:
            self.cursor = end
        return span_id


def _render(prompt: PromptInfo | None, variables: dict[str, Any]) -> dict[str, str] | None:
    """The messages the case sent: the same render function on the same prompt and vars as the evaluation."""
    if prompt is None:
        return None
    try:
        from llmops_action.core.prompts import Prompt, render

        p = Prompt.model_validate(
            {
                "name": prompt.name,
                "version": prompt.version,
                "system": prompt.system,
                "template": prompt.template,
                "variables": prompt.variables,
            }
        )
        out = render(p, variables)
    except Exception:  # the evaluation rendered it; a trace without the text is still a trace
        return None
    return {"system": out.system, "user": out.user}


def _usage(input_tokens: int | None, output_tokens: int | None) -> dict[str, int] | None:
    if input_tokens is None and output_tokens is None:
        return None
    i, o = input_tokens or 0, output_tokens or 0
    return {"input_tokens": i, "output_tokens": o, "total_tokens": i + o}


def case_spans(
    case: CaseResult, ctx: TraceContext, trace_id: str, otel_trace_id: int, start_ns: int
) -> list[dict[str, Any]]:
    """The span dicts of one case's trace (root first)."""
    redact = ctx.redact
    b = _TraceBuilder(trace_id, otel_trace_id, start_ns)
    output = None if case.output is None else redact(_clip(case.output) or "")
    error = None if case.error is None else redact(case.error)
    judge_ms = sum(
        float(m.details.get("latency_ms") or 0.0) for m in case.metrics.values() if "judge_model" in m.details
    )
    total_ms = (case.render_ms or 0.0) + (case.latency_ms or 0.0) + judge_ms
    root = b.add(
        case.id,
        "CHAIN",
        total_ms,
        parent=None,
        inputs={k: redact(v) if isinstance(v, str) else v for k, v in case.vars.items()},
        outputs=output,
        attributes={"llmops.case_id": case.id, "llmops.prompt": case.prompt, "llmops.tags": case.tags},
        error=error,
        start_ns=start_ns,
    )
    prompt = ctx.prompts.get(case.prompt)
    messages = _render(prompt, case.vars)
    if messages is not None:
        messages = {k: redact(_clip(v) or "") for k, v in messages.items()}
    b.add(
        "render prompt",
        "PARSER",
        case.render_ms or 0.0,
        parent=root,
        inputs={"prompt": case.prompt, "version": case.prompt_version, "vars": list(case.vars)},
        outputs=messages,
        attributes={"llmops.prompt.hash": prompt.hash if prompt else None},
    )
    gen_error = error if case.error else (f"blocked: {case.blocked}" if case.blocked else None)
    b.add(
        "generate",
        "LLM",
        case.latency_ms or 0.0,
        parent=root,
        inputs=messages,
        outputs=output,
        attributes={
            "mlflow.llm.model": ctx.provider_model,
            "mlflow.chat.tokenUsage": _usage(case.input_tokens, case.output_tokens),
            "llmops.provider": ctx.provider_type,
            "llmops.latency_ms": case.latency_ms,
            "llmops.finish_reason": case.finish_reason,
            "llmops.cache_hit": case.cache_hit,
            "llmops.cost_usd": case.cost_usd,
        },
        error=gen_error,
    )
    for name, score in case.metrics.items():
        d = score.details
        if "judge_model" not in d:
            continue  # code metrics are assessments only; they make no call worth a span
        b.add(
            f"judge {name}",
            "EVALUATOR",
            float(d.get("latency_ms") or 0.0),
            parent=root,
            inputs={"criterion": d.get("criterion"), "output": output},
            outputs={"score": score.score, "reasoning": d.get("reasoning")},
            attributes={
                "mlflow.llm.model": d.get("judge_model"),
                "mlflow.chat.tokenUsage": _usage(d.get("input_tokens"), d.get("output_tokens")),
                "llmops.criterion": d.get("criterion"),
                "llmops.latency_ms": d.get("latency_ms"),
                "llmops.samples": d.get("samples"),
                "llmops.cache_hits": d.get("cache_hits"),
            },
            error=None if score.error is None else redact(score.error),
        )
    return b.spans


def case_assessments(case: CaseResult, trace_id: str, redact: Redact) -> list[Assessment]:
    """Feedback per metric (and the case score), expectations for the reference and the keywords."""
    from mlflow.entities import AssessmentError, AssessmentSource, Expectation, Feedback

    code = AssessmentSource(source_type="CODE", source_id=CODE_SOURCE)
    out: list[Assessment] = []
    for name, s in case.metrics.items():
        if s.skipped is not None or (s.score is None and s.error is None):
            continue  # skipped (its reason is trace metadata) or an info metric: no value to log
        judge = s.details.get("judge_model")
        source = AssessmentSource(source_type="LLM_JUDGE", source_id=str(judge)) if judge else code
        meta = {"passed": str(s.passed).lower()} if s.passed is not None else None
        if s.error is not None:
            err = AssessmentError(error_code="LLMOPS_METRIC_ERROR", error_message=redact(s.error))
            out.append(Feedback(name=name, error=err, source=source, trace_id=trace_id, metadata=meta))
            continue
        rationale = s.details.get("reasoning") if judge else None
        out.append(
            Feedback(
                name=name,
                value=s.score,
                source=source,
                rationale=redact(str(rationale)) if rationale else None,
                trace_id=trace_id,
                metadata=meta,
            )
        )
    if case.score is not None:
        out.append(Feedback(name=SCORE_FEEDBACK, value=case.score, source=code, trace_id=trace_id))
    dataset = AssessmentSource(source_type="HUMAN", source_id=DATASET_SOURCE)
    if case.reference is not None:
        out.append(
            Expectation(
                name="expected_response", value=redact(case.reference), source=dataset, trace_id=trace_id
            )
        )
    if case.keywords:
        out.append(
            Expectation(
                name="expected_keywords", value=list(case.keywords), source=dataset, trace_id=trace_id
            )
        )
    return out


def _preview(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text[:PREVIEW_CHARS]


def build_traces(
    cases: Iterable[CaseResult], ctx: TraceContext, first_ms: int
) -> tuple[list[TraceInfo], list[Span]]:
    """Every case's TraceInfo (with its assessments, linked to the run) and all their spans."""
    from mlflow.entities import Span, TraceInfo, TraceLocation, TraceState

    location = TraceLocation.from_experiment_id(ctx.experiment_id)
    infos: list[TraceInfo] = []
    spans: list[Span] = []
    for i, case in enumerate(cases):
        otel_id = random.getrandbits(128) or 1
        trace_id = f"tr-{otel_id:032x}"
        request_ms = first_ms + i  # keeps the cases' order in the traces list
        dicts = case_spans(case, ctx, trace_id, otel_id, request_ms * _MS)
        spans.extend(Span.from_dict(d) for d in dicts)
        root = dicts[0]
        duration = (root["end_time_unix_nano"] - root["start_time_unix_nano"]) // _MS
        metadata = {
            "mlflow.sourceRun": ctx.run_id,
            "llmops.case_id": case.id,
            "llmops.prompt": case.prompt,
            "llmops.prompt_version": case.prompt_version or "",
        }
        usage = _usage(case.input_tokens, case.output_tokens)
        if usage is not None:
            metadata["mlflow.trace.tokenUsage"] = json.dumps(usage)
        for name, s in case.metrics.items():
            if s.skipped is not None:
                metadata[f"llmops.skipped.{name}"] = s.skipped[:250]
        tags = {"mlflow.traceName": case.id[:250]}
        version = ctx.linked_prompts.get(case.prompt)
        if version is not None:
            tags["mlflow.linkedPrompts"] = json.dumps([{"name": case.prompt, "version": version}])
        infos.append(
            TraceInfo(
                trace_id=trace_id,
                trace_location=location,
                request_time=request_ms,
                state=TraceState.ERROR if case.error else TraceState.OK,
                request_preview=_preview(json.loads(root["attributes"]["mlflow.spanInputs"])),
                response_preview=_preview(case.error if case.output is None else case.output),
                execution_duration=int(duration),
                trace_metadata=metadata,
                tags=tags,
                assessments=case_assessments(case, trace_id, ctx.redact),
            )
        )
    return infos, spans


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def log_traces(
    uri: str, cases: list[CaseResult], ctx: TraceContext, first_ms: int, *, remote: bool = False
) -> int:
    """Log one trace per case; returns how many. Raises what mlflow raises (log_run turns it into a warning)."""
    from mlflow.tracing.client import TracingClient

    if not cases:
        return 0
    client = TracingClient(uri)
    infos, spans = build_traces(cases, ctx, first_ms)
    # TraceInfo first: start_trace on a trace that log_spans already created takes mlflow's slow merge path.
    if remote:
        with ThreadPoolExecutor(SERVER_WORKERS) as pool:
            list(pool.map(client.start_trace, infos))
    else:
        from llmops_action.adapters.tracking_bulk import bulk_start_traces

        if not bulk_start_traces(client.store, ctx.experiment_id, infos):
            for info in infos:
                client.start_trace(info)
    for batch in _chunks(spans, SPAN_BATCH):
        client.log_spans(ctx.experiment_id, batch)
    return len(infos)
