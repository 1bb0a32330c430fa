"""Live tracking in a child process: cases go in as they are scored, the run comes back complete.

The tracker is driven as the evaluation drives it (add each case, then finish with the result), against the
quickstart's embedded store, and read back with mlflow's own API. A child that dies, a dead server and an
aborted evaluation each end in a defined state.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from llmops_action.adapters.history import head_point
from llmops_action.adapters.tracking import store_dir
from llmops_action.adapters.tracking_process import TrackerProcess, live_tracking
from llmops_action.cli.main import main
from llmops_action.core.results import RunResult
from llmops_action.engine.workspace import load_workspace
from tests.adapters.test_tracking_traces import traces_of
from tests.support.gemini_server import GeminiServer

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunResult]:
    """The quickstart evaluated once offline with tracking off: its result is what the trackers log."""
    project = tmp_path_factory.mktemp("tp") / "qs"
    shutil.copytree(QUICKSTART, project, ignore=shutil.ignore_patterns(".llmops", "__pycache__"))
    out = project / "out"
    config = project / ".llmops.yml"
    config.write_text(config.read_text(encoding="utf-8").replace("enabled: true", "enabled: false"))
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("GEMINI_API_KEY", raising=False)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        assert main(["eval", "--config", str(config), "--out", str(out), "--no-progress"]) in (0, 1)
    config.write_text(config.read_text(encoding="utf-8").replace("enabled: false", "enabled: true"))
    return project, RunResult.read(out / "results.json")


def tracker_for(project: Path) -> TrackerProcess:
    """The tracker `eval` starts for this project (a child process, its store beside the config)."""
    tracker = live_tracking(load_workspace(project / ".llmops.yml"), project)
    assert isinstance(tracker, TrackerProcess)
    return tracker


def uri_of(project: Path) -> str:
    return f"sqlite:///{(store_dir(project) / 'mlflow.db').resolve()}"


def runs_in(client: Any) -> list[Any]:
    return [r for e in client.search_experiments() for r in client.search_runs([e.experiment_id])]


def fresh_copy(project: Path, dest: Path) -> Path:
    """The scored project without its store or outputs: a store of its own."""
    shutil.copytree(project, dest, ignore=shutil.ignore_patterns(".llmops", "o2", "out"))
    return dest


def clean_env() -> dict[str, str]:
    """This environment without MLflow or Gemini settings: the project's own store, the judge offline."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "GEMINI_"))}


def test_cases_fed_to_the_child_come_back_as_one_trace_each(
    scored: tuple[Path, RunResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    project, result = scored
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    tracker = tracker_for(project)
    for case in result.cases:
        tracker.add(case)
    tracker.trend(branch="main")  # returns once the child has opened the run
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri_of(project))
    [dataset] = [d for e in client.search_experiments() for d in client.search_datasets([e.experiment_id])]
    assert dataset.tags["llmops.dataset_hash"] == result.run.dataset_hash  # created before the run ends
    outcome = tracker.finish(result, {"results.json": project / "out" / "results.json"})

    assert outcome.warning is None and outcome.run_id is not None
    traces = traces_of(uri_of(project), outcome.run_id)
    assert sorted(t.info.trace_metadata["llmops.case_id"] for t in traces) == sorted(
        c.id for c in result.cases
    )
    assert tracker._proc.returncode == 0


def test_the_trend_is_read_by_the_child_from_the_store_it_logs_to(
    scored: tuple[Path, RunResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    project, result = scored
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    on_main = result.model_copy(update={"run": result.run.model_copy(update={"git_branch": "main"})})
    first = tracker_for(project)
    first.add(on_main.cases[0])
    assert first.finish(on_main).run_id is not None

    second = tracker_for(project)
    second.add(on_main.cases[0])
    points = second.trend(branch="main", head=on_main)
    second.finish(on_main)
    assert points is not None and len(points) >= 2  # the stored run(s) of main, then this head
    assert points[-1] == head_point(on_main)


def test_a_child_that_dies_leaves_the_parent_to_log_the_whole_run(
    scored: tuple[Path, RunResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    project, result = scored
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    tracker = tracker_for(project)
    tracker._proc.kill()
    for case in result.cases:
        tracker.add(case)
    outcome = tracker.finish(result)

    assert outcome.warning is None and outcome.run_id is not None
    assert len(traces_of(uri_of(project), outcome.run_id)) == len(result.cases)


def test_the_childs_warning_reaches_the_parents_stderr_once(
    scored: tuple[Path, RunResult], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project, result = scored
    with socket.socket() as s:  # a port nobody listens on: a dead tracking server
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    tracker = tracker_for(project)
    tracker.add(result.cases[0])
    outcome = tracker.finish(result)

    assert outcome.run_id is None and outcome.warning is not None
    err = capsys.readouterr().err
    assert err.count(f"warning: MLflow tracking to http://127.0.0.1:{port} failed") == 1, err


def test_an_aborted_evaluation_leaves_its_run_killed_not_running(
    scored: tuple[Path, RunResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    project, result = scored
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri_of(project))
    before = {r.info.run_id for r in runs_in(client)}
    tracker = tracker_for(project)
    tracker.add(result.cases[0])
    tracker.abort()
    assert tracker._proc.wait(timeout=120) == 0

    runs = runs_in(client)
    [new] = [r for r in runs if r.info.run_id not in before]
    assert new.info.status == "KILLED"


def test_eval_with_tracking_never_imports_mlflow_in_its_own_process(scored: tuple[Path, RunResult]) -> None:
    project, _ = scored
    code = textwrap.dedent(
        f"""
        import sys
        from llmops_action.cli.main import main
        code = main(["eval", "--config", {str(project / ".llmops.yml")!r}, "--out", {str(project / "o2")!r},
                     "--no-progress"])
        print("mlflow imported:", "mlflow" in sys.modules)
        sys.exit(code)
        """
    )
    env = clean_env()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    assert "mlflow imported: False" in proc.stdout
    assert "mlflow: run " in proc.stdout  # and the run was logged, by the child


def test_a_message_that_cannot_travel_ends_in_the_in_process_fallback_not_a_hang(
    scored: tuple[Path, RunResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    project, result = scored
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    tracker = tracker_for(project)
    tracker.add(result.cases[0])
    tracker._outbox.put(("case", lambda: None))  # not picklable: the writer gives up on the child
    outcome = tracker.finish(result)

    assert outcome.warning is None and outcome.run_id is not None
    assert len(traces_of(uri_of(project), outcome.run_id)) == len(result.cases)


def test_a_tracking_server_that_never_answers_costs_the_timeout_and_one_warning(
    scored: tuple[Path, RunResult],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project, result = scored
    slow = fresh_copy(project, tmp_path / "qs")
    config = slow / ".llmops.yml"
    config.write_text(
        config.read_text(encoding="utf-8").replace("enabled: true", "enabled: true\n  timeout: 3")
    )
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        uri = f"http://127.0.0.1:{silent.getsockname()[1]}"
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
        tracker = tracker_for(slow)
        tracker.add(result.cases[0])
        started = time.monotonic()
        outcome = tracker.finish(result)
        waited = time.monotonic() - started

    assert outcome.run_id is None and outcome.warning is not None
    assert "did not finish within 3 s" in outcome.warning and uri in outcome.warning
    assert waited < 10, waited  # the timeout, not mlflow's retries
    assert capsys.readouterr().err.count("warning: MLflow tracking") == 1
    assert tracker._proc.wait(timeout=10) != 0  # the child was stopped


def test_ctrl_c_ends_the_run_killed_without_a_traceback(
    scored: tuple[Path, RunResult], tmp_path: Path
) -> None:
    """Ctrl-C signals the whole foreground process group, the tracking child included."""
    project, _ = scored
    copy = fresh_copy(project, tmp_path / "qs")
    env = clean_env()
    with GeminiServer(latency=0.5) as gemini:  # a judge slow enough to interrupt the run midway
        env.update(GEMINI_API_KEY="k-test", GOOGLE_GEMINI_BASE_URL=gemini.url)
        command = [sys.executable, "-m", "llmops_action", "eval", "--no-progress", "--no-cache"]
        proc = subprocess.Popen(
            command,
            cwd=copy,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own group, as a terminal's foreground job is
        )
        store = copy / ".llmops" / "mlflow.db"
        deadline = time.monotonic() + 60
        while not gemini.judge_requests() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2)  # the tracker has opened the run by now
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=120)

    assert proc.returncode == 3 and "interrupted" in err and "Traceback" not in err, err[-3000:]
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{store}")
    deadline = time.monotonic() + 30  # the child finishes its last write after the parent has gone
    while time.monotonic() < deadline:
        runs = runs_in(client)
        if runs and all(r.info.status == "KILLED" for r in runs):
            break
        time.sleep(0.5)
    assert [r.info.status for r in runs] == ["KILLED"]


def test_eval_tracks_everything_without_pandas_as_on_mlflow_skinny(
    scored: tuple[Path, RunResult], tmp_path: Path
) -> None:
    """The README's first command installs mlflow-skinny, which has no pandas; the suite's venv has it."""
    project, result = scored
    copy = fresh_copy(project, tmp_path / "qs")
    blocker = tmp_path / "no-pandas"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['pandas'] = None\n", encoding="utf-8")
    env = clean_env()
    env["PYTHONPATH"] = str(blocker)  # this process and the tracking child both start without pandas
    proc = subprocess.run(
        [sys.executable, "-m", "llmops_action", "eval", "--no-progress"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode in (0, 1) and "warning" not in proc.stderr, (
        proc.stdout[-2000:] + proc.stderr[-2000:]
    )

    from mlflow.tracking import MlflowClient

    from llmops_action.adapters.tracking import global_store

    uri = uri_of(copy)
    client = MlflowClient(tracking_uri=uri)
    [run] = runs_in(client)
    assert run.info.status == "FINISHED"
    assert len(traces_of(uri, run.info.run_id)) == len(result.cases)
    [dataset] = client.search_datasets([run.info.experiment_id])
    with global_store(uri):
        assert len(dataset.records) == len({json.dumps(c.vars, sort_keys=True) for c in result.cases})


def test_a_failure_on_the_last_batch_still_lets_the_run_finish(
    scored: tuple[Path, RunResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The in-process tracker (what the child runs) fails while writing the batch that holds the end mark."""
    from llmops_action.adapters.tracking_live import LiveTracker

    project, result = scored
    copy = fresh_copy(project, tmp_path / "qs")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)

    def broken(*_args: Any) -> None:
        raise RuntimeError("the store failed mid-batch")

    monkeypatch.setattr(LiveTracker, "_log", broken)
    ws = load_workspace(copy / ".llmops.yml")
    tracker = LiveTracker(ws.config, copy, [], suite=ws.config.suite)
    tracker.add(result.cases[0])  # queued with the end mark before the thread has opened the store
    done: list[Any] = []
    finisher = threading.Thread(target=lambda: done.append(tracker.finish(result)), daemon=True)
    finisher.start()
    finisher.join(timeout=120)

    assert done, "finish() hung on a tracker whose last write failed"
    assert isinstance(tracker.error, RuntimeError) and done[0].run_id is not None  # logged by the fallback
    assert len(traces_of(uri_of(copy), done[0].run_id)) == len(result.cases)


def test_an_error_after_the_run_finished_does_not_mark_it_killed(
    scored: tuple[Path, RunResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review aborts its tracker on any error; one raised after finish() must leave the run FINISHED."""
    from mlflow.tracking import MlflowClient

    from llmops_action.adapters.tracking_live import LiveTracker

    project, result = scored
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    for kind in ("process", "thread"):
        copy = fresh_copy(project, tmp_path / kind)
        ws = load_workspace(copy / ".llmops.yml")
        tracker = (
            tracker_for(copy) if kind == "process" else LiveTracker(ws.config, copy, [], suite="quickstart")
        )
        tracker.add(result.cases[0])
        outcome = tracker.finish(result)
        tracker.abort()
        time.sleep(1)  # a stray abort message would have reached the store by now
        run = MlflowClient(tracking_uri=uri_of(copy)).get_run(outcome.run_id)
        assert run.info.status == "FINISHED", kind
