"""`llmops-action baseline save | show | list` on a real temporary git repository."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from llmops_action.cli.main import main
from llmops_action.core.results import RunResult
from tests.support.gitrepo import GitRepo, init_repo
from tests.support.pr_project import write_project


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[GitRepo, Path]:
    monkeypatch.delitem(sys.modules, "app", raising=False)  # each project has its own `app`
    monkeypatch.setattr(sys, "path", list(sys.path))
    repo = init_repo(tmp_path / "repo")
    config = write_project(repo.path, provider="python")
    repo.commit("project")
    return repo, config


def test_save_show_list(
    project: tuple[GitRepo, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, config = project
    sha = repo.head()

    assert (
        main(["baseline", "save", "--config", str(config), "--out", str(tmp_path / "out"), "--no-progress"])
        == 0
    )
    saved = capsys.readouterr().out
    assert f"saved baseline for {sha}" in saved and "score 1.0000" in saved
    assert (tmp_path / "out" / "results.json").is_file()

    assert main(["baseline", "save", "--config", str(config), "--out", str(tmp_path / "again")]) == 0
    again, err = capsys.readouterr()
    assert saved.split(" at ")[-1] == again.split(" at ")[-1]  # same location: write-once
    assert f"baseline for {sha} (suite capitals" in again and "already exists; not re-evaluated" in again
    assert not (tmp_path / "again").exists() and "evaluating" not in err

    assert main(["baseline", "list", "--config", str(config)]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert len(rows) == 2 and rows[1].startswith(sha[:12]) and "capitals" in rows[1]

    assert main(["baseline", "list", "--config", str(config), "--json"]) == 0
    [record] = json.loads(capsys.readouterr().out)
    assert (record["sha"], record["suite"], record["score"]) == (sha, "capitals", 1.0)

    assert main(["baseline", "show", "HEAD", "--config", str(config)]) == 0
    shown = capsys.readouterr().out
    assert f"sha:          {sha}" in shown and "keyword_recall" in shown

    assert main(["baseline", "show", sha[:8], "--config", str(config), "--json"]) == 0
    assert RunResult.from_json(capsys.readouterr().out).run.git_sha == sha


def test_show_without_a_record_says_how_to_make_one(
    project: tuple[GitRepo, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = project
    assert main(["baseline", "show", "HEAD", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "no baseline for" in err and "baseline save" in err


def test_list_when_empty(project: tuple[GitRepo, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, config = project
    assert main(["baseline", "list", "--config", str(config)]) == 0
    assert capsys.readouterr().out.strip() == "no baselines stored yet"


def test_save_given_results_stores_them_under_their_own_sha(
    project: tuple[GitRepo, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, config = project
    assert main(["eval", "--config", str(config), "--out", str(tmp_path / "eval"), "--no-progress"]) == 0
    capsys.readouterr()
    repo.write("README.md", "later\n")
    repo.commit("later")  # HEAD moves on; the results still belong to the commit they were made at
    results = tmp_path / "eval" / "results.json"
    evaluated_at = RunResult.read(results).run.git_sha
    assert main(["baseline", "save", "--config", str(config), "--results", str(results)]) == 0
    assert f"saved baseline for {evaluated_at}" in capsys.readouterr().out
    assert evaluated_at != repo.head()


def test_save_refuses_a_sharded_run(
    project: tuple[GitRepo, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = project
    assert main(["eval", "--config", str(config), "--out", str(tmp_path / "s"), "--shard", "1/2"]) in (0, 1)
    capsys.readouterr()
    assert (
        main(["baseline", "save", "--config", str(config), "--results", str(tmp_path / "s" / "results.json")])
        == 2
    )
    assert "shard" in capsys.readouterr().err
