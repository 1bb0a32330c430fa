"""Outcomes as MLflow traces: where teams already log production traffic (issue 15).

The app tags the trace of each request with the experiment and the variant, and logs what users said
as feedback assessments (`mlflow.log_feedback`), one per metric:

    from llmops_action.experiments import assign, load_experiment, record_outcome
    exp = load_experiment(".llmops.yml", "rag-answer-v2")
    variant = assign(exp, user_id)                  # serve this variant's prompt or model
    ...
    record_outcome(exp, user_id, "thumbs_up", 1, trace_id=trace_id)   # trace_id: the request's trace

Tags: llmops.experiment, llmops.variant, llmops.unit_id; the feedback's name is the metric and its
source is HUMAN with the unit id. Without a trace id a small trace is created for the outcome.
mlflow is imported inside the functions: `import mlflow` costs seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmops_action.core.experiment_analysis import ExperimentResult
    from llmops_action.core.experiment_config import ExperimentConfig
    from llmops_action.experiments.lifecycle import Experiment
    from llmops_action.experiments.outcomes import Outcome

TAG_EXPERIMENT = "llmops.experiment"
TAG_VARIANT = "llmops.variant"
TAG_UNIT = "llmops.unit_id"


def tag_trace(trace_id: str, experiment: str, variant: str, unit_id: str) -> None:
    import mlflow

    client = mlflow.MlflowClient()
    for key, value in ((TAG_EXPERIMENT, experiment), (TAG_VARIANT, variant), (TAG_UNIT, unit_id)):
        client.set_trace_tag(trace_id, key, value)


def record_outcome(
    experiment: Experiment | ExperimentConfig,
    unit_id: str,
    metric: str,
    value: float | bool,
    *,
    trace_id: str | None = None,
    variant: str | None = None,
    rationale: str | None = None,
) -> str:
    """Log one outcome as feedback on the unit's trace (tagged on the way); returns the trace id.

    `variant` defaults to what `assign` gives the unit now; pass the one that was served when the
    experiment may have changed state since.
    """
    import mlflow
    from mlflow.entities import AssessmentSource

    from llmops_action.experiments.assign import assign

    config = getattr(experiment, "config", experiment)
    name: str = config.name
    variant = variant or assign(experiment, unit_id)
    if trace_id is None:
        with mlflow.start_span(name=f"llmops.experiment.{name}") as span:
            span.set_inputs({"unit_id": unit_id, "metric": metric})
            span.set_outputs({"value": value})
            trace_id = span.trace_id
        # traces are exported in the background; the feedback below needs this one stored first
        mlflow.flush_trace_async_logging()
    tag_trace(trace_id, name, variant, str(unit_id))
    mlflow.log_feedback(
        trace_id=trace_id,
        name=metric,
        value=value,
        source=AssessmentSource(source_type="HUMAN", source_id=str(unit_id)),
        rationale=rationale,
    )
    return trace_id


def outcomes_from_traces(traces: list[Any], experiment: str) -> list[Outcome]:
    """Feedback assessments of the experiment's traces as outcome records (pure over Trace objects)."""
    from llmops_action.experiments.outcomes import VARIANT_CODE, Outcome

    out: list[Outcome] = []
    for trace in traces:
        tags = trace.info.tags or {}
        if tags.get(TAG_EXPERIMENT) != experiment or tags.get(TAG_VARIANT) not in VARIANT_CODE:
            continue
        unit = tags.get(TAG_UNIT)
        for a in trace.info.assessments or []:
            feedback = getattr(a, "feedback", None)
            value = getattr(feedback, "value", None)
            if feedback is None or isinstance(value, dict | list | str) or value is None:
                continue
            out.append(Outcome(str(unit), tags[TAG_VARIANT], a.name, float(value), a.create_time_ms / 1000.0))
    return out


def load_from_mlflow(tracking_uri: str, mlflow_experiment: str, experiment: str) -> list[Outcome]:
    """Every outcome logged to MLflow for this experiment (no MLflow experiment yet: none)."""
    import mlflow

    from llmops_action.adapters.tracking import mlflow_env

    with mlflow_env():
        client = mlflow.MlflowClient(tracking_uri=tracking_uri)
        exp = client.get_experiment_by_name(mlflow_experiment)
        if exp is None:
            return []
        query = f"tag.`{TAG_EXPERIMENT}` = '{experiment}'"
        traces: list[Any] = []
        token: str | None = None
        while True:
            page = client.search_traces(
                locations=[exp.experiment_id],
                filter_string=query,
                include_spans=False,
                max_results=500,
                page_token=token,
            )
            traces.extend(page)
            token = page.token
            if not token:
                break
    return outcomes_from_traces(list(traces), experiment)


def result_metrics(r: ExperimentResult) -> dict[str, float]:
    """The figures an MLflow run of the result carries (pure): per variant, per metric, and the checks."""
    out: dict[str, float] = {"units": float(r.units), "srm_p_value": r.srm.p_value}
    for m in [r.primary, *r.guardrails]:
        for variant, arm in m.arms.items():
            out[f"{m.name}.{variant}.n"] = float(arm.n)
            if arm.mean is not None:
                out[f"{m.name}.{variant}.mean"] = arm.mean
        if m.difference is not None:
            out[f"{m.name}.difference"] = m.difference
        if m.sequential is not None:
            out[f"{m.name}.sequential_p_value"] = m.sequential.p_value
        if m.fixed is not None:
            out[f"{m.name}.fixed_p_value"] = m.fixed.p_value
    return {k: v for k, v in out.items() if v == v}  # no NaN


def log_result(r: ExperimentResult, tracking_uri: str, mlflow_experiment: str, out_dir: Path) -> str:
    """One MLflow run per `experiment results --log-mlflow`, so the MLflow UI charts the experiment over time."""
    import json

    from llmops_action.adapters.tracking import client_for, ensure_experiment, mlflow_env

    with mlflow_env():
        client = client_for(tracking_uri)
        exp_id = ensure_experiment(client, mlflow_experiment, tracking_uri, out_dir)
        run = client.create_run(
            exp_id,
            run_name=f"experiment-{r.name}",
            tags={
                TAG_EXPERIMENT: r.name,
                "llmops.kind": "experiment-result",
                "llmops.decision": r.decision,
                "llmops.winner": r.recommended_winner or "",
            },
        )
        run_id = str(run.info.run_id)
        for key, value in r.variants.items():
            client.log_param(run_id, f"variant.{key}", value)
        for key, value in result_metrics(r).items():
            client.log_metric(run_id, key, value)
        client.log_text(run_id, json.dumps(r.to_dict(), indent=2), "experiment_result.json")
        client.set_terminated(run_id)
    return run_id
