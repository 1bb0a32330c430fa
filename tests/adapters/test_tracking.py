"""MLflow tracking: what one run logs, read back with MlflowClient from a real server and the embedded store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from llmops_action.adapters.tracking import (
    TABLE_FILE,
    _log_table_plain,
    case_table,
    experiment_name,
    global_store,
    log_run,
    public_uri,
    resolve_uri,
    run_metrics,
    run_name,
    run_tags,
    run_url,
)
from llmops_action.core.comparison import Comparison, DriftSignal, MetricDelta, RunRef
from llmops_action.core.config import TrackingConfig
from llmops_action.core.results import GateResult, RunResult
from tests.support.mlflow_server import MlflowServer, always_500_server, free_port, mlflow_server
from tests.support.results_factory import make_run

__all__ = ["always_500_server", "mlflow_server"]  # fixtures, imported for pytest

REPO = Path(__file__).resolve().parents[2]
FAKE_TOKEN = "mlflow-token-ZX81-do-not-log"
FAKE_GEMINI = "AIzaFAKE-gemini-key-0123456789"


def gated_run(**kw: Any) -> RunResult:
    run = make_run(n=12, errors=(3,), **kw)
    gate = GateResult(
        name="min-score", family="quality", metric="score", status="pass", op=">=", threshold=0.6
    )
    return run.model_copy(update={"gates": [gate]})


def comparison_for(run: RunResult) -> Comparison:
    return Comparison(
        suite=run.run.suite,
        head=RunRef(sha=run.run.git_sha, branch=run.run.git_branch),
        drift=[
            DriftSignal(signal="output_length", kind="numeric", psi=0.31),
            DriftSignal(signal="finish_reason", kind="categorical", psi=None, status="skipped"),
        ],
        metrics=[MetricDelta(name="faithfulness", delta=-0.125), MetricDelta(name="score", delta=None)],
    )


def artifact_files(tmp_path: Path, run: RunResult, comparison: Comparison) -> dict[str, Path]:
    files = {
        "results.json": run.write(tmp_path / "results.json"),
        "comparison.json": comparison.write(tmp_path / "comparison.json"),
        "comment.md": tmp_path / "comment.md",
        "summary.md": tmp_path / "summary.md",
    }
    files["comment.md"].write_text("## llmops-action\nverdict: pass\n", encoding="utf-8")
    files["summary.md"].write_text("# Summary\nscore 0.8\n", encoding="utf-8")
    return files


def load_table(uri: str, experiment_id: str, run_id: str) -> Any:
    """MlflowClient.load_table finds runs through the *fluent* tracking URI, so point it at `uri` meanwhile."""
    import mlflow

    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        return mlflow.MlflowClient(tracking_uri=uri).load_table(experiment_id, TABLE_FILE, run_ids=[run_id])
    finally:
        mlflow.set_tracking_uri(previous)


def check_logged(uri: str, outcome: Any, run: RunResult, files: dict[str, Path], experiment: str) -> None:
    """Read the run back with MlflowClient and check it field by field."""
    from mlflow.tracking import MlflowClient

    assert outcome.warning is None and outcome.run_id
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None and exp.experiment_id == outcome.experiment_id
    logged = client.get_run(outcome.run_id)
    assert logged.info.run_name == f"default pull_request main@{'c' * 7} 00:00:00"
    assert logged.info.status == "FINISHED"

    tags = logged.data.tags
    assert tags["llmops.sha"] == "c" * 40
    assert tags["llmops.branch"] == "main"
    assert tags["llmops.event"] == "pull_request"
    assert tags["llmops.config_hash"] == run.run.config_hash
    assert tags["prompt.rag_answer.hash"] == run.run.prompts[0].hash
    assert tags["llmops.provider.model"] == "gemini-2.5-flash"
    assert tags["llmops.provider.model_version"] == "gemini-2.5-flash-001"
    assert tags["llmops.judge.model"] == "gemini-2.5-pro"
    assert tags["llmops.judge.model_version"] == "gemini-2.5-pro-002"
    assert tags["llmops.tool_version"] == run.run.tool_version
    assert tags["llmops.verdict"] == "pass"
    assert tags["mlflow.runType"] == "genai_evaluate"  # listed under the experiment's Evaluation runs

    params = logged.data.params
    assert params["provider.type"] == "gemini"
    assert params["provider.model"] == "gemini-2.5-flash"
    assert params["judge.model"] == "gemini-2.5-pro"
    assert params["dataset.size"] == "12"
    assert params["metric.faithfulness.weight"] == "0.6"
    assert params["metric.keyword_recall.weight"] == "0.4"
    assert params["gate.min-score"] == "score >= 0.6"
    assert params["prompt.rag_answer.version"] == "1.2.0"  # params: the compare view shows them
    assert not [k for k in params if k.startswith("gate.") and k != "gate.min-score"]  # each gate once

    metrics = logged.data.metrics
    for name, value in run.aggregates.items():
        assert value is not None
        assert metrics[name] == pytest.approx(value)
    assert metrics["error_rate"] == pytest.approx(1 / 12)
    assert metrics["drift.output_length.psi"] == pytest.approx(0.31)
    assert metrics["delta.faithfulness"] == pytest.approx(-0.125)
    assert "drift.finish_reason.psi" not in metrics and "delta.score" not in metrics  # None is skipped

    names = {a.path for a in client.list_artifacts(outcome.run_id)}
    assert {"results.json", "comparison.json", "comment.md", "summary.md", TABLE_FILE} <= names
    local = Path(client.download_artifacts(outcome.run_id, "results.json"))
    assert RunResult.read(local) == run
    local = Path(client.download_artifacts(outcome.run_id, "comment.md"))
    assert local.read_text(encoding="utf-8") == files["comment.md"].read_text(encoding="utf-8")

    table = load_table(uri, outcome.experiment_id, outcome.run_id)
    assert list(table["id"]) == [c.id for c in run.cases]
    first = run.cases[0]
    row = table.iloc[0]
    assert row["prompt"] == "rag_answer" and row["prompt_version"] == "1.2.0"
    assert row["output"] == first.output
    assert row["score"] == pytest.approx(first.score)
    assert row["faithfulness"] == pytest.approx(first.metrics["faithfulness"].score)
    assert row["latency_ms"] == pytest.approx(first.latency_ms)
    assert table.iloc[3]["error"].startswith("ProviderError")
    assert json.loads(row["inputs"]) == first.vars and row["reference"] == first.reference

    check_traces(uri, outcome, run)
    check_prompts_and_dataset(client, outcome, run, uri)


def check_traces(uri: str, outcome: Any, run: RunResult) -> None:
    """One trace per case in the run, with its spans and assessments, read back through mlflow.search_traces."""
    import mlflow

    with global_store(uri):
        traces = mlflow.search_traces(
            locations=[outcome.experiment_id], run_id=outcome.run_id, return_type="list", max_results=500
        )
    by_case = {t.info.trace_metadata["llmops.case_id"]: t for t in traces}
    assert sorted(by_case) == sorted(c.id for c in run.cases)
    first, failed = run.cases[0], run.cases[3]

    t = by_case[first.id]
    assert t.info.state.value == "OK" and t.info.trace_metadata["mlflow.sourceRun"] == outcome.run_id
    names = [s.name for s in t.data.spans]
    assert names[0] == first.id and {"render prompt", "generate", "judge faithfulness"} <= set(names)
    root = t.data.spans[0]
    assert root.inputs == first.vars and root.outputs == first.output
    gen = next(s for s in t.data.spans if s.name == "generate")
    assert gen.parent_id == root.span_id
    assert gen.attributes["mlflow.llm.model"] == "gemini-2.5-flash"
    assert gen.attributes["llmops.finish_reason"] == "STOP"
    assert gen.attributes["mlflow.chat.tokenUsage"]["output_tokens"] == first.output_tokens
    assert (gen.end_time_ns - gen.start_time_ns) / 1e6 == pytest.approx(first.latency_ms, abs=0.01)
    render = next(s for s in t.data.spans if s.name == "render prompt")
    assert render.outputs["system"].startswith("You are a document search assistant")
    assert "question 0?" in render.outputs["user"]
    judge = next(s for s in t.data.spans if s.name == "judge faithfulness")
    assert judge.attributes["llmops.criterion"] == "faithfulness"
    assert judge.attributes["mlflow.chat.tokenUsage"]["input_tokens"] == 420

    feedback = {a.name: a for a in t.info.assessments if a.feedback is not None}
    assert set(feedback) == {"faithfulness", "keyword_recall", "json_valid", "score"}
    faith = feedback["faithfulness"]
    assert faith.value == pytest.approx(first.metrics["faithfulness"].score)
    assert faith.source.source_type == "LLM_JUDGE" and faith.source.source_id == "gemini-2.5-pro"
    assert faith.rationale == first.metrics["faithfulness"].details["reasoning"]
    recall = feedback["keyword_recall"]
    assert recall.source.source_type == "CODE" and recall.value == pytest.approx(
        first.metrics["keyword_recall"].score
    )
    assert feedback["score"].value == pytest.approx(first.score)
    expect = {a.name: a.value for a in t.info.assessments if a.expectation is not None}
    assert expect == {"expected_response": first.reference, "expected_keywords": first.keywords}

    bad = by_case[failed.id]
    assert bad.info.state.value == "ERROR"
    assert bad.data.spans[0].status.description.startswith("ProviderError")
    assert not [a for a in bad.info.assessments if a.feedback is not None]  # skipped metrics: no values
    assert bad.info.trace_metadata["llmops.skipped.faithfulness"] == "generation failed"


def check_prompts_and_dataset(client: Any, outcome: Any, run: RunResult, uri: str) -> None:
    prompt = run.run.prompts[0]
    # The server is shared by the session: other tests may have registered other rag_answer versions.
    versions = [
        v
        for v in client.search_prompt_versions(prompt.name)
        if (v.tags["llmops.version"], v.tags["llmops.hash"]) == (prompt.version, prompt.hash)
    ]
    assert len(versions) == 1  # registered once
    assert "{{ question }}" in json.dumps(versions[0].template)
    # What link_prompt_version_to_run writes and the run page's "Registered prompts" reads.
    linked = json.loads(client.get_run(outcome.run_id).data.tags["mlflow.linkedPrompts"])
    assert linked == [{"name": prompt.name, "version": str(versions[0].version)}]
    evaluation = linked_dataset(client, outcome.run_id, run)
    assert evaluation.name == f"default-cases-{run.run.dataset_hash[:8]}"
    assert evaluation.tags["llmops.dataset_hash"] == run.run.dataset_hash
    in_experiment = client.search_datasets(experiment_ids=[outcome.experiment_id])
    assert evaluation.dataset_id in {d.dataset_id for d in in_experiment}  # on the experiment's Datasets tab
    # One record per distinct inputs, with the reference and keywords as expectations.
    with global_store(uri):  # records load through mlflow's process-wide store
        stored = evaluation.records
    by_case = {cid: r for r in stored for cid in r.tags["llmops.case_ids"].split(", ")}
    assert sorted(by_case) == sorted(c.id for c in run.cases)
    first = run.cases[0]
    assert by_case[first.id].inputs == first.vars
    assert by_case[first.id].expectations == {
        "expected_response": first.reference,
        "expected_keywords": first.keywords,
    }
    assert len(stored) == len({json.dumps(c.vars, sort_keys=True) for c in run.cases})


def linked_dataset(client: Any, run_id: str, run: RunResult) -> Any:
    """The evaluation dataset the run's input names (its digest: our dataset hash)."""
    [dataset] = client.get_run(run_id).inputs.dataset_inputs
    assert dataset.dataset.digest == run.run.dataset_hash
    assert dataset.dataset.source_type == "mlflow_evaluation_dataset"
    evaluation = client.get_dataset(json.loads(dataset.dataset.source)["dataset_id"])
    assert evaluation.name == dataset.dataset.name
    return evaluation


def check_dataset_reuse(uri: str, tmp_path: Path, repo: str) -> None:
    """A second run on the same cases links the same evaluation dataset; other cases get their own."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    cfg = TrackingConfig(uri=uri)
    same = [gated_run(sha=c * 40) for c in "de"]
    other = make_run(n=5, sha="f" * 40, dataset_hash="ds00000000000099")
    outcomes = [log_run(r, cfg=cfg, out_dir=tmp_path, repo=repo) for r in (*same, other)]
    ids = [
        linked_dataset(client, o.run_id, r).dataset_id for o, r in zip(outcomes, (*same, other), strict=True)
    ]
    assert ids[0] == ids[1] != ids[2]
    named = client.search_datasets(experiment_ids=[outcomes[0].experiment_id])
    assert sorted(d.tags["llmops.dataset_hash"] for d in named) == sorted(
        {same[0].run.dataset_hash, other.run.dataset_hash}
    )


def test_runs_on_the_same_cases_reuse_one_evaluation_dataset(tmp_path: Path) -> None:
    check_dataset_reuse(f"sqlite:///{tmp_path}/mlflow.db", tmp_path, "acme/reuse")


# --- pure parts -------------------------------------------------------------------------------------


def test_uri_resolution_prefers_config_then_input_then_embedded_sqlite(tmp_path: Path) -> None:
    assert resolve_uri(
        TrackingConfig(uri="http://cfg:5000"), tmp_path, {"MLFLOW_TRACKING_URI": "http://env"}
    ) == ("http://cfg:5000")
    assert resolve_uri(TrackingConfig(), tmp_path, {"MLFLOW_TRACKING_URI": "http://env:1"}) == "http://env:1"
    assert (
        resolve_uri(TrackingConfig(), tmp_path, {"INPUT_MLFLOW-TRACKING-URI": "https://in"}) == "https://in"
    )
    assert resolve_uri(TrackingConfig(), tmp_path, {}) == f"sqlite:///{tmp_path.resolve()}/mlflow.db"


def test_experiment_is_per_repository_and_suite() -> None:
    assert experiment_name(TrackingConfig(), "rag", repo="acme/app") == "acme/app/rag"
    assert experiment_name(TrackingConfig(), "rag", environ={"GITHUB_REPOSITORY": "o/r"}) == "o/r/rag"
    assert experiment_name(TrackingConfig(experiment="mine"), "rag", repo="acme/app") == "mine"


def test_run_name_is_branch_or_pr_at_short_sha() -> None:
    run = make_run(n=2, sha="abcdef0123" + "0" * 30, branch="feature/x")
    assert run_name(run) == "default pull_request feature/x@abcdef0 00:00:00"
    pr = run.model_copy(update={"run": run.run.model_copy(update={"pr_number": 12})})
    assert run_name(pr) == "default pull_request pr-12@abcdef0 00:00:00"
    later = pr.run.model_copy(update={"started_at": "2025-01-01T09:30:05+00:00"})
    assert run_name(pr.model_copy(update={"run": later})) != run_name(pr)  # same commit, another run
    assert run_tags(pr)["llmops.pr_number"] == "12"


def test_run_url_only_for_http_and_without_credentials() -> None:
    assert run_url("sqlite:///x/mlflow.db", "1", "r") is None
    assert (
        run_url("https://u:pw@mlflow.example.com/", "3", "abc")
        == "https://mlflow.example.com/#/experiments/3/runs/abc"
    )
    assert public_uri("http://user:secret@host:5000/x") == "http://host:5000/x"


def test_metrics_add_psi_and_deltas_and_skip_missing_values() -> None:
    run = gated_run(sha="c" * 40)
    run = run.model_copy(update={"aggregates": {**run.aggregates, "bleu": None}})
    m = run_metrics(run, comparison_for(run))
    assert "bleu" not in m
    assert m["drift.output_length.psi"] == 0.31 and m["delta.faithfulness"] == -0.125
    assert m["tokens_total"] == run.aggregates["input_tokens_total"] + run.aggregates["output_tokens_total"]


def test_case_table_truncates_long_outputs() -> None:
    run = make_run(n=3, output=lambda i, f: "x" * 2000)
    table = case_table(run)
    assert len(table["output"][0]) == 501 and table["output"][0].endswith("…")
    assert set(table) >= {"id", "score", "faithfulness", "keyword_recall", "json_valid", "cost_usd"}
    assert all(len(col) == 3 for col in table.values())


def test_disabled_tracking_is_a_no_op(tmp_path: Path) -> None:
    outcome = log_run(make_run(n=2), cfg=TrackingConfig(enabled=False), out_dir=tmp_path / "out")
    assert outcome.run_id is None and outcome.warning is None
    assert not (tmp_path / "out").exists()


def test_tracking_off_never_imports_mlflow(tmp_path: Path) -> None:
    code = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from llmops_action.core.config import TrackingConfig
        from llmops_action.core.results import RunResult
        from llmops_action.adapters.tracking import log_run
        run = RunResult.read({str(tmp_path / "results.json")!r})
        log_run(run, cfg=TrackingConfig(enabled=False), out_dir=Path({str(tmp_path)!r}))
        print("mlflow" in sys.modules)
        """
    )
    make_run(n=2).write(tmp_path / "results.json")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.slow
def test_eval_with_tracking_off_never_imports_mlflow(tmp_path: Path) -> None:
    """`llmops-action eval` on a project with `tracking: false`, precomputed outputs, no network."""
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "greet.yaml").write_text(
        "name: greet\nversion: 1.0.0\nvariables:\n  - {name: who, type: string, required: true}\n"
        "template: 'Say hello to {{ who }}'\n",
        encoding="utf-8",
    )
    (tmp_path / "cases.jsonl").write_text(
        '{"id": "c1", "prompt": "greet", "vars": {"who": "Ada"}, "reference": "Hello Ada"}\n',
        encoding="utf-8",
    )
    (tmp_path / "outputs.jsonl").write_text('{"id": "c1", "output": "Hello Ada"}\n', encoding="utf-8")
    (tmp_path / ".llmops.yml").write_text(
        "datasets: [cases.jsonl]\nprovider: {type: outputs, path: outputs.jsonl}\n"
        "metrics: [{type: exact_match, weight: 1}]\ntracking: false\ncache: {enabled: false}\n",
        encoding="utf-8",
    )
    code = textwrap.dedent(
        f"""
        import sys
        from llmops_action.cli.main import main
        rc = main(["eval", "--config", {str(tmp_path / ".llmops.yml")!r}, "--out", {str(tmp_path / "out")!r}])
        print("RC", rc, "mlflow" in sys.modules)
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert out.stdout.strip().splitlines()[-1] == "RC 0 False", out.stdout + out.stderr


# --- embedded store ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_embedded_store_logs_everything(tmp_path: Path) -> None:
    run = gated_run(sha="c" * 40)
    comparison = comparison_for(run)
    files = artifact_files(tmp_path, run, comparison)
    out = tmp_path / "out"
    outcome = log_run(
        run,
        comparison=comparison,
        files=files,
        cfg=TrackingConfig(),
        out_dir=out,
        repo="acme/app",
        environ={},
    )
    uri = f"sqlite:///{out.resolve()}/mlflow.db"
    check_logged(uri, outcome, run, files, "acme/app/default")
    assert outcome.run_url is None  # no link to a sqlite file
    assert (out / "mlflow.db").is_file()
    assert (out / "mlartifacts" / outcome.run_id / "artifacts" / "results.json").is_file()


@pytest.mark.slow
def test_table_without_pandas_reads_back_like_log_table(tmp_path: Path) -> None:
    """mlflow-skinny has no pandas: the hand-written table must be what log_table would have written."""
    import pandas.testing as pandas_testing
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = MlflowClient(tracking_uri=uri)
    exp = client.create_experiment("t", artifact_location=(tmp_path / "art").as_uri())
    plain, native = client.create_run(exp), client.create_run(exp)
    table = case_table(make_run(n=4, errors=(1,)))
    _log_table_plain(client, plain.info.run_id, table, TABLE_FILE)
    client.log_table(native.info.run_id, data=table, artifact_file=TABLE_FILE)
    a = load_table(uri, exp, plain.info.run_id)
    b = load_table(uri, exp, native.info.run_id)
    # pandas writes floats with 10 significant digits; the plain writer keeps full precision.
    pandas_testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9)
    for r in (plain, native):
        tag = client.get_run(r.info.run_id).data.tags["mlflow.loggedArtifacts"]
        assert json.loads(tag) == [{"path": TABLE_FILE, "type": "table"}]


# --- real tracking server ---------------------------------------------------------------------------


@pytest.mark.slow
def test_server_run_is_logged_through_env_uri(
    mlflow_server: MlflowServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    run = gated_run(sha="c" * 40)
    comparison = comparison_for(run)
    files = artifact_files(tmp_path, run, comparison)
    outcome = log_run(
        run, comparison=comparison, files=files, cfg=TrackingConfig(), out_dir=tmp_path, repo="acme/srv"
    )
    check_logged(mlflow_server.uri, outcome, run, files, "acme/srv/default")
    assert (
        outcome.run_url == f"{mlflow_server.uri}/#/experiments/{outcome.experiment_id}/runs/{outcome.run_id}"
    )
    assert not (tmp_path / "mlflow.db").exists()  # nothing went to the embedded store


@pytest.mark.slow
def test_a_tracking_server_keeps_one_evaluation_dataset_that_later_runs_reuse(
    mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    check_dataset_reuse(mlflow_server.uri, tmp_path, f"acme/reuse-{time.time_ns()}")


@pytest.mark.slow
def test_secrets_never_reach_params_tags_or_artifacts(
    mlflow_server: MlflowServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", FAKE_TOKEN)
    monkeypatch.setenv("GEMINI_API_KEY", FAKE_GEMINI)
    # A model that echoes the key, and a report that quotes it: both must be scrubbed.
    run = make_run(n=3, sha="d" * 40, output=lambda i, f: f"my key is {FAKE_GEMINI}")
    files = {"comment.md": tmp_path / "comment.md", "results.json": run.write(tmp_path / "results.json")}
    files["comment.md"].write_text(f"token {FAKE_TOKEN}", encoding="utf-8")
    outcome = log_run(
        run, files=files, cfg=TrackingConfig(uri=mlflow_server.uri), out_dir=tmp_path, repo="acme/sec"
    )
    assert outcome.warning is None and outcome.run_id
    client = MlflowClient(tracking_uri=mlflow_server.uri)
    logged = client.get_run(outcome.run_id)
    blobs = [json.dumps(logged.data.params), json.dumps(logged.data.tags)]
    dst = tmp_path / "download"
    for a in client.list_artifacts(outcome.run_id):
        blobs.append(
            Path(client.download_artifacts(outcome.run_id, a.path, str(dst))).read_text(encoding="utf-8")
        )
    assert len(blobs) == 2 + 3  # params, tags, comment.md, results.json, cases.json
    for blob in blobs:
        assert FAKE_TOKEN not in blob and FAKE_GEMINI not in blob
    assert "***" in blobs[2 + [a.path for a in client.list_artifacts(outcome.run_id)].index(TABLE_FILE)]


# --- failures never fail the evaluation -------------------------------------------------------------


def _assert_warns_fast(uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = make_run(n=5)
    before = run.model_dump()
    started = time.monotonic()
    outcome = log_run(run, cfg=TrackingConfig(uri=uri), out_dir=tmp_path, repo="acme/down")
    elapsed = time.monotonic() - started
    assert outcome.run_id is None and outcome.warning
    assert "MLflow tracking" in outcome.warning and "unaffected" in outcome.warning
    assert run.model_dump() == before
    assert elapsed < 8, f"took {elapsed:.1f} s"
    assert capsys.readouterr().err.count("warning:") == 1
    for name in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT"):
        assert name not in os.environ  # restored after the call


@pytest.mark.slow
def test_server_down_gives_one_warning_fast(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _assert_warns_fast(f"http://127.0.0.1:{free_port()}", tmp_path, capsys)


@pytest.mark.slow
def test_server_answering_500_gives_one_warning_fast(
    always_500_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _assert_warns_fast(always_500_server, tmp_path, capsys)


@pytest.mark.slow
def test_eval_exit_code_and_results_survive_a_dead_tracking_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from llmops_action.cli.main import main

    (tmp_path / "cases.jsonl").write_text(
        '{"id": "c1", "prompt": "greet", "vars": {"name": "Ada"}, "reference": "Hello Ada"}\n',
        encoding="utf-8",
    )
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "greet.yaml").write_text(
        "name: greet\nversion: 1.0.0\ntemplate: 'Greet {{ name }}'\nvariables: [{name: name}]\n",
        encoding="utf-8",
    )
    (tmp_path / "outputs.jsonl").write_text('{"id": "c1", "output": "Hello Ada"}\n', encoding="utf-8")
    (tmp_path / ".llmops.yml").write_text(
        "datasets: [cases.jsonl]\nprovider: {type: outputs, path: outputs.jsonl}\n"
        "metrics: [{type: exact_match, weight: 1}]\ncache: {enabled: false}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")

    code = main(["eval", "--config", str(tmp_path / ".llmops.yml"), "--out", str(tmp_path / "out")])

    assert code == 0
    assert (tmp_path / "out" / "results.json").is_file()
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and "MLflow tracking" in err


def test_the_evaluation_dataset_gets_its_records_without_pandas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mlflow-skinny, the default install, has no pandas (EvaluationDataset.merge_records needs it)."""
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` now raises ImportError
    run = gated_run(sha="9" * 40)
    outcome = log_run(run, cfg=TrackingConfig(), out_dir=tmp_path, repo="acme/skinny", environ={})
    assert outcome.warning is None, outcome.warning
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    evaluation = linked_dataset(MlflowClient(tracking_uri=uri), outcome.run_id, run)
    with global_store(uri):
        stored = evaluation.records
    assert {r.source.source_type for r in stored} == {"HUMAN"}  # every case has a reference
    assert len(stored) == len({json.dumps(c.vars, sort_keys=True) for c in run.cases})
