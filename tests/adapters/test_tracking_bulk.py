"""The one-transaction trace writer stores exactly what mlflow's own start_trace stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmops_action.adapters.tracking import client_for, global_store
from llmops_action.adapters.tracking_bulk import bulk_start_traces
from llmops_action.adapters.tracking_traces import TraceContext, build_traces, start_ms
from tests.support.results_factory import make_run


def write(tmp: Path, name: str, *, bulk: bool) -> list[Any]:
    import mlflow
    from mlflow.tracing.client import TracingClient

    uri = f"sqlite:///{tmp / name}"
    client = client_for(uri)
    exp = client.create_experiment("e", artifact_location=(tmp / f"{name}-art").as_uri())
    run = client.create_run(exp)
    result = make_run(n=6, errors=(2,))
    ctx = TraceContext.of(result, exp, run.info.run_id, lambda t: t, {"rag_answer": "1"})
    infos, spans = build_traces(result.cases, ctx, start_ms(result.run.started_at))
    tracing = TracingClient(uri)
    if bulk:
        assert bulk_start_traces(tracing.store, exp, infos)
    else:
        for info in infos:
            tracing.start_trace(info)
    tracing.log_spans(exp, spans)
    with global_store(uri):
        return list(mlflow.search_traces(locations=[exp], run_id=run.info.run_id, return_type="list"))


def summary(traces: list[Any]) -> list[Any]:
    out = []
    for t in sorted(traces, key=lambda t: t.info.trace_metadata["llmops.case_id"]):
        i = t.info
        out.append(
            (
                i.state.value,
                i.request_time,
                i.execution_duration,
                i.request_preview,
                i.response_preview,
                {k: v for k, v in i.tags.items() if k != "mlflow.artifactLocation"},
                {
                    k: v
                    for k, v in i.trace_metadata.items()
                    if not k.startswith("mlflow.trace.size") and k != "mlflow.sourceRun"  # 2 runs
                },
                sorted(
                    (a.name, a.source.source_type, a.source.source_id, str(a.value), a.rationale)
                    for a in i.assessments
                ),
                [(s.name, s.span_type, s.status.status_code) for s in t.data.spans],
            )
        )
    return out


@pytest.mark.slow
def test_bulk_writer_reads_back_like_start_trace(tmp_path: Path) -> None:
    assert summary(write(tmp_path, "bulk.db", bulk=True)) == summary(write(tmp_path, "api.db", bulk=False))


def test_an_unknown_store_falls_back_to_the_public_api() -> None:
    assert bulk_start_traces(object(), "1", []) is False
