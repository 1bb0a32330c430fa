"""`llmops-action history` and the score trend, read back from runs logged by `log_run`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from llmops_action.adapters.history import HistoryRow, recent_runs, recent_trend, trend_points
from llmops_action.adapters.tracking import log_run
from llmops_action.cli.main import main
from llmops_action.core.config import TrackingConfig
from llmops_action.core.results import RunResult
from tests.support.mlflow_server import MlflowServer, free_port, mlflow_server
from tests.support.results_factory import make_run

__all__ = ["mlflow_server"]  # a fixture, imported for pytest

REPO = "acme/app"


def scored(sha: str, score: float, *, branch: str = "main", pr: int | None = None) -> RunResult:
    run = make_run(n=3, sha=sha * 40, branch=branch)
    meta = run.run.model_copy(update={"pr_number": pr, "event": "pull_request" if pr else "push"})
    return run.model_copy(update={"run": meta, "aggregates": {**run.aggregates, "score": score}})


# Oldest first, as they are logged: three main commits (one evaluated twice), a PR and a feature branch.
LOGGED = [
    scored("1", 0.70),
    scored("2", 0.72),
    scored("2", 0.74),  # a scheduled re-run of the same commit: the newer one counts
    scored("a", 0.40, branch="feature", pr=7),
    scored("3", 0.80),
    scored("b", 0.50, branch="feature"),
]


def log_all(cfg: TrackingConfig, out: Path) -> None:
    for run in LOGGED:
        outcome = log_run(run, cfg=cfg, out_dir=out, repo=REPO, environ={})
        assert outcome.warning is None
        time.sleep(0.01)  # distinct start times (ms)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An embedded store holding LOGGED; returns the output folder."""
    out = tmp_path_factory.mktemp("history") / "out"
    log_all(TrackingConfig(), out)
    return out


def test_trend_points_keep_one_point_per_main_commit_oldest_first() -> None:
    def row(sha: str, score: float | None, branch: str = "main", pr: int | None = None) -> HistoryRow:
        return HistoryRow(sha, "", sha, branch, pr, None, "", score, "pass")

    rows = [
        row("c", 0.8),
        row("x", 0.1, pr=3),
        row("b", 0.7),
        row("b", 0.6),
        row("f", 0.2, "dev"),
        row("z", None),
    ]
    points = trend_points(rows, branch="main", n=10)
    assert [(p.sha, p.score) for p in points] == [("b", 0.7), ("c", 0.8)]
    assert [p.sha for p in trend_points(rows, branch="main", n=1)] == ["c"]


def test_no_store_yet_means_no_history_and_creates_nothing(tmp_path: Path) -> None:
    head = scored("9", 0.9, branch="feature", pr=12)
    points = recent_trend(TrackingConfig(), tmp_path, suite="default", branch="main", head=head, environ={})
    assert [(p.label, p.score) for p in points] == [("PR #12", 0.9)]
    assert recent_runs(TrackingConfig(), tmp_path, suite="default", environ={}) == []
    assert not (tmp_path / "mlflow.db").exists()


@pytest.mark.slow
def test_recent_runs_newest_first_by_branch(store: Path) -> None:
    rows = recent_runs(TrackingConfig(), store, suite="default", branch="main", repo=REPO, environ={})
    assert [(r.sha[:1] if r.sha else None, r.score) for r in rows] == [
        ("3", 0.8),
        ("2", 0.74),
        ("2", 0.72),
        ("1", 0.7),
    ]
    assert rows[0].verdict == "pass" and rows[0].event == "push" and rows[0].url is None
    assert set(rows[0].metrics) == {"faithfulness", "keyword_recall", "json_valid"}
    every = recent_runs(TrackingConfig(), store, suite="default", n=2, repo=REPO, environ={})
    assert [r.branch for r in every] == ["feature", "main"]


@pytest.mark.slow
def test_recent_trend_is_main_baselines_then_this_pr(store: Path) -> None:
    head = scored("c", 0.6, branch="feature", pr=12)
    points = recent_trend(
        TrackingConfig(), store, suite="default", branch="main", repo=REPO, head=head, environ={}
    )
    assert [(p.label, p.score) for p in points] == [
        ("main@1111111", 0.7),
        ("main@2222222", 0.74),
        ("main@3333333", 0.8),
        ("PR #12", 0.6),
    ]
    last2 = recent_trend(TrackingConfig(), store, suite="default", branch="main", n=2, repo=REPO, environ={})
    assert [p.sha for p in last2] == ["2" * 40, "3" * 40]


@pytest.mark.slow
def test_history_command_prints_a_table_and_json(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / ".llmops.yml"
    cfg.write_text(
        "datasets: [cases.jsonl]\nprovider: {type: outputs, path: o.jsonl}\nmetrics: [{type: exact_match}]\n",
        encoding="utf-8",
    )
    base = ["history", "--config", str(cfg), "--out", str(store), "--repo", REPO]
    assert main([*base, "--branch", "main", "-n", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["sha", "branch", "started", "(UTC)", "score", "verdict", "top", "metrics"]
    assert lines[1].startswith("3333333  main") and "0.800" in lines[1] and "faithfulness=" in lines[1]
    assert len(lines) == 3
    assert main([*base, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["branch"] for d in data][:2] == ["feature", "main"]
    assert data[2]["pr_number"] == 7  # the PR run is listed too, with its number
    assert main([*base, "--branch", "nope"]) == 0
    assert "no runs of suite default on branch nope" in capsys.readouterr().out


@pytest.mark.slow
def test_trend_from_a_tracking_server_links_each_run(mlflow_server: MlflowServer, tmp_path: Path) -> None:
    cfg = TrackingConfig(uri=mlflow_server.uri, experiment=f"trend-{time.time_ns()}")
    log_all(cfg, tmp_path)
    rows = recent_runs(cfg, tmp_path, suite="default", branch="main", n=1)
    assert rows[0].url and rows[0].url.startswith(f"{mlflow_server.uri}/#/experiments/")
    points = recent_trend(cfg, tmp_path, suite="default", branch="main")
    assert [p.score for p in points] == [0.7, 0.74, 0.8]


@pytest.mark.slow
def test_server_down_trend_keeps_the_head_and_history_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = f"http://127.0.0.1:{free_port()}"
    cfg = TrackingConfig(uri=uri)
    head = scored("c", 0.6, pr=3)
    started = time.monotonic()
    points = recent_trend(cfg, tmp_path, suite="default", branch="main", head=head)
    assert time.monotonic() - started < 8
    assert [p.label for p in points] == ["PR #3"]
    assert "warning: no score trend" in capsys.readouterr().err
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    rc = main(["history", "--suite", "default", "--config", str(tmp_path / "none.yml")])
    assert rc == 3
    assert f"could not read runs from {uri}" in capsys.readouterr().err


@pytest.mark.slow
def test_history_finds_the_runs_of_eval_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.support.h6 import make_project

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    cfg = make_project(tmp_path / "project")
    (cfg.parent / "app.py").write_text("def answer(**kw):\n    return 'Hello'\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["eval", "--config", str(cfg), "--out", str(tmp_path / "out")]) in (0, 1)
    capsys.readouterr()
    # From the project's own folder, with the default config: the same experiment, the same run.
    monkeypatch.chdir(cfg.parent)
    assert main(["history", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 1 and rows[0]["score"] is not None
