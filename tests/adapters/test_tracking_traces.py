"""After a quickstart `eval`, MLflow holds a trace per case with its assessments, in the project's one store.

The quickstart runs as a user runs it (the CLI, its python app), with the judge answered by the local Gemini
server, then everything is read back with mlflow's own search API, from the embedded store and from a real
`mlflow server`.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmops_action.adapters.tracking import global_store
from llmops_action.cli.main import main
from llmops_action.core.results import RunResult
from tests.support.gemini_server import GeminiServer
from tests.support.mlflow_server import MlflowServer, mlflow_server

__all__ = ["mlflow_server"]  # a fixture, imported for pytest

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"


@pytest.fixture
def quickstart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the quickstart, the judge on, the working folder at its root (as a user runs it)."""
    project = tmp_path / "qs"
    shutil.copytree(QUICKSTART, project, ignore=shutil.ignore_patterns(".llmops", "__pycache__"))
    monkeypatch.chdir(project)
    for name in (
        "MLFLOW_TRACKING_URI",
        "MLFLOW_EXPERIMENT_ID",
        "MLFLOW_EXPERIMENT_NAME",
        "GITHUB_REPOSITORY",
    ):
        monkeypatch.delenv(name, raising=False)
    with GeminiServer() as gemini:
        monkeypatch.setenv("GEMINI_API_KEY", "k-test-judge")
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", gemini.url)
        yield project


def eval_quickstart(capsys: pytest.CaptureFixture[str]) -> tuple[str, RunResult]:
    code = main(["eval", "--no-progress"])
    out = capsys.readouterr().out
    assert code in (0, 1), out
    [line] = [x for x in out.splitlines() if x.startswith("mlflow: run ")]
    return line, RunResult.read(Path(".llmops/out/results.json"))


def traces_of(uri: str, run_id: str) -> list[Any]:
    import mlflow
    from mlflow.tracking import MlflowClient

    run = MlflowClient(tracking_uri=uri).get_run(run_id)
    with global_store(uri):  # search_traces reads the global store; mlflow.set_tracking_uri would stay set
        return list(
            mlflow.search_traces(
                locations=[run.info.experiment_id], run_id=run_id, return_type="list", max_results=1000
            )
        )


def check_assessments(traces: list[Any], result: RunResult) -> None:
    """Every case's trace holds its metrics as feedback and its references as expectations."""
    by_case = {t.info.trace_metadata["llmops.case_id"]: t for t in traces}
    assert sorted(by_case) == sorted(c.id for c in result.cases)
    judged = 0
    for case in result.cases:
        t = by_case[case.id]
        feedback = {a.name: a for a in t.info.assessments if a.feedback is not None}
        expected = {
            name for name, s in case.metrics.items() if s.skipped is None and (s.score is not None or s.error)
        }
        assert set(feedback) == expected | ({"score"} if case.score is not None else set()), case.id
        for name, a in feedback.items():
            if name == "score":
                assert a.value == pytest.approx(case.score) and a.source.source_type == "CODE"
                continue
            s = case.metrics[name]
            if s.error is not None:
                assert a.value is None and a.error.error_message == s.error
            else:
                assert a.value == pytest.approx(s.score)
            if "judge_model" in s.details:
                judged += 1
                assert a.source.source_type == "LLM_JUDGE" and a.source.source_id == "gemini-2.5-flash"
                assert a.rationale == s.details.get("reasoning")
            else:
                assert a.source.source_type == "CODE" and a.rationale is None
        expectations = {a.name: a.value for a in t.info.assessments if a.expectation is not None}
        if case.reference is not None:
            assert expectations["expected_response"] == case.reference
        if case.keywords:
            assert expectations["expected_keywords"] == case.keywords
        spans = {s.name for s in t.data.spans}
        assert {case.id, "render prompt", "generate"} <= spans
        assert ("judge faithfulness" in spans) == ("judge_model" in case.metrics["faithfulness"].details)
    assert judged == len(result.cases), "the judge ran on every case"


@pytest.mark.slow
def test_quickstart_eval_logs_a_trace_per_case_to_the_project_store(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line, result = eval_quickstart(capsys)
    store = quickstart / ".llmops" / "mlflow.db"
    assert line.endswith(f"in sqlite:///{store}") and store.is_file()
    run_id = line.split()[2]
    check_assessments(traces_of(f"sqlite:///{store}", run_id), result)

    # `compare` logs to the same store, and `history` from the project root sees both runs.
    results = ".llmops/out/results.json"
    assert main(["compare", "--base", results, "--head", results, "--out", ".llmops/cmp"]) in (0, 1)
    cmp_out = capsys.readouterr().out
    assert "mlflow: run " in cmp_out
    assert main(["history", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 2 and run_id in {r["run_id"] for r in rows}, (rows, cmp_out)
    assert not (quickstart / ".llmops" / "out" / "mlflow.db").exists()  # one store, not one per folder

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{store}")
    run = client.get_run(run_id)
    linked = {p["name"]: p["version"] for p in json.loads(run.data.tags["mlflow.linkedPrompts"])}
    assert set(linked) == {p.name for p in result.run.prompts}
    for p in result.run.prompts:
        pv = client.get_prompt_version(p.name, linked[p.name])
        assert pv.tags["llmops.version"] == p.version and pv.tags["llmops.hash"] == p.hash
    [dataset] = run.inputs.dataset_inputs
    assert dataset.dataset.digest == result.run.dataset_hash


@pytest.mark.slow
def test_quickstart_eval_traces_reach_a_tracking_server(
    quickstart: Path,
    mlflow_server: MlflowServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    line, result = eval_quickstart(capsys)
    assert f"in {mlflow_server.uri}/#/experiments/" in line
    assert not (quickstart / ".llmops" / "mlflow.db").exists()
    run_id = line.split()[2]
    check_assessments(traces_of(mlflow_server.uri, run_id), result)
