"""Outcomes logged where production traffic is: MLflow traces tagged with the experiment, feedback as assessments."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from llmops_action.cli.main import main
from llmops_action.core.experiment_config import ExperimentConfig
from llmops_action.experiments import Experiment, assign
from llmops_action.experiments.mlflow_outcomes import (
    TAG_EXPERIMENT,
    TAG_UNIT,
    TAG_VARIANT,
    load_from_mlflow,
    record_outcome,
)
from llmops_action.experiments.results import results

CFG = ExperimentConfig.model_validate(
    {
        "name": "exp",
        "variants": {"control": {"model": "a"}, "treatment": {"model": "b"}},
        "metric": {"name": "thumbs_up", "type": "rate"},
        "min_samples": 10,
        "planned_samples": 10,
    }
)

CONFIG = """\
datasets: [d.jsonl]
provider: {type: outputs, path: o.jsonl}
metrics: [{type: exact_match}]
experiments:
  - name: exp
    variants: {control: {model: a}, treatment: {model: b}}
    metric: {name: thumbs_up, type: rate}
    min_samples: 10
    planned_samples: 10
"""


def write_outcomes(folder: Path) -> Path:
    path = folder / "more.csv"
    rows = [
        f"u{i},{'control' if i % 2 else 'treatment'},thumbs_up,{i % 2},{1_700_000_000 + i}" for i in range(3)
    ]
    path.write_text("unit_id,variant,metric,value,time\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_feedback_on_tagged_traces_round_trips_into_the_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import mlflow

    previous = mlflow.get_tracking_uri()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    uri = os.environ["MLFLOW_TRACKING_URI"]
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("app")
    exp = Experiment(CFG, state="running")
    with mlflow.start_span("answer") as span:  # the app's own trace of one request
        span.set_inputs({"question": "why?"})
        request_trace = span.trace_id
    mlflow.flush_trace_async_logging()
    record_outcome(exp, "user-0", "thumbs_up", True, trace_id=request_trace)
    for i in range(1, 4):
        record_outcome(exp, f"user-{i}", "thumbs_up", i % 2 == 0)

    tagged = mlflow.get_trace(request_trace)
    assert tagged is not None
    assert tagged.info.tags[TAG_EXPERIMENT] == "exp" and tagged.info.tags[TAG_UNIT] == "user-0"
    assert tagged.info.tags[TAG_VARIANT] == assign(exp, "user-0")
    [feedback] = [a for a in tagged.info.assessments if a.name == "thumbs_up"]
    assert feedback.value is True and feedback.source.source_type == "HUMAN"

    outcomes = load_from_mlflow(uri, "app", "exp")
    assert sorted((o.unit_id, o.value) for o in outcomes) == [
        ("user-0", 1.0),
        ("user-1", 0.0),
        ("user-2", 1.0),
        ("user-3", 0.0),
    ]
    assert all(o.variant == assign(exp, o.unit_id) for o in outcomes)
    r = results(exp, outcomes)
    assert sum(a.n for a in r.primary.arms.values()) == 4 and r.decision == "keep-running"
    assert load_from_mlflow(uri, "no-such-experiment", "exp") == []

    # the command reads the same traces
    config = tmp_path / ".llmops.yml"
    config.write_text(CONFIG, encoding="utf-8")
    assert (
        main(
            [
                "experiment",
                "results",
                "exp",
                "--config",
                str(config),
                "--mlflow",
                "--mlflow-experiment",
                "app",
                "--json",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["units"] == 4 and data["decision"] == "keep-running"
    argv = [
        "experiment",
        "results",
        "exp",
        "--config",
        str(config),
        "--outcomes",
        str(write_outcomes(tmp_path)),
        "--log-mlflow",
        "--mlflow-experiment",
        "exp-results",
    ]
    assert main(argv) == 0
    [run] = mlflow.search_runs(experiment_names=["exp-results"], output_format="list")
    assert run.data.tags["llmops.decision"] == "keep-running" and run.data.params["variant.treatment"] == "b"
    assert run.data.metrics["thumbs_up.control.n"] + run.data.metrics["thumbs_up.treatment.n"] == 3
    mlflow.set_tracking_uri(previous)
