"""`mlflow` baseline store against a real `mlflow server`: write-once runs keyed by sha, suite, config hash."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from llmops_action.adapters.baseline.mlflow import MlflowBaselineStore
from llmops_action.adapters.baseline.select import select_base
from llmops_action.adapters.baseline.store import BaselineStore
from llmops_action.errors import IncompleteRunError, UserInputError
from tests.support.gitrepo import init_repo
from tests.support.mlflow_server import MlflowServer, free_port, mlflow_server
from tests.support.results_factory import make_run

__all__ = ["mlflow_server"]  # a fixture, imported for pytest

pytestmark = pytest.mark.slow


@pytest.fixture
def store(mlflow_server: MlflowServer) -> MlflowBaselineStore:
    """A fresh experiment per test, so tests never see each other's baselines."""
    return MlflowBaselineStore(mlflow_server.uri, f"baselines-{uuid.uuid4().hex[:8]}")


def test_implements_the_port(store: MlflowBaselineStore) -> None:
    assert isinstance(store, BaselineStore)


def test_save_then_load_by_key(store: MlflowBaselineStore) -> None:
    run = make_run(n=6, sha="a" * 40, config_hash="cfgA")
    location = store.save(run)
    assert location.startswith("runs:/") and location.endswith("/results.json")
    assert store.load("a" * 40, "default", "cfgA") == run
    assert store.load("a" * 40, "default", "other") is None
    assert store.load("b" * 40, "default", "cfgA") is None
    assert store.load("a" * 40, "other-suite", "cfgA") is None


def test_save_is_write_once(store: MlflowBaselineStore) -> None:
    first = make_run(n=4, sha="c" * 40, run_seed=1)
    again = make_run(n=4, sha="c" * 40, run_seed=2)  # same key, different scores
    loc = store.save(first)
    assert store.save(again) == loc
    assert store.load("c" * 40, "default", first.run.config_hash) == first
    assert len(store.list()) == 1


def test_the_run_is_tagged_with_its_key(store: MlflowBaselineStore, mlflow_server: MlflowServer) -> None:
    from mlflow.tracking import MlflowClient

    run = make_run(n=3, sha="d" * 40, suite="rag", config_hash="cfgD")
    run_id = store.save(run).split("/")[1]
    tags = MlflowClient(tracking_uri=mlflow_server.uri).get_run(run_id).data.tags
    assert (
        tags["llmops.baseline"],
        tags["llmops.sha"],
        tags["llmops.suite"],
        tags["llmops.config_hash"],
    ) == (
        "true",
        "d" * 40,
        "rag",
        "cfgD",
    )


def test_list_is_newest_first_and_filters_by_suite(store: MlflowBaselineStore) -> None:
    older = make_run(n=3, sha="1" * 40, suite="rag")
    store.save(older)
    time.sleep(0.01)  # start times are in ms
    store.save(make_run(n=3, sha="2" * 40, suite="rag"))
    store.save(make_run(n=3, sha="3" * 40, suite="chat"))
    rag = store.list("rag")
    assert [r.sha for r in rag] == ["2" * 40, "1" * 40]
    assert rag[1].score == pytest.approx(older.aggregates["score"])
    assert rag[1].config_hash == older.run.config_hash and rag[1].saved_at
    assert {r.suite for r in store.list()} == {"rag", "chat"}


def test_incomplete_or_sharded_runs_are_refused(store: MlflowBaselineStore) -> None:
    with pytest.raises(UserInputError):
        store.save(make_run(n=2, verdict="incomplete"))
    run = make_run(n=2)
    with pytest.raises(UserInputError):
        store.save(run.model_copy(update={"run": run.run.model_copy(update={"shard": "1/2"})}))
    assert store.list() == []


def test_load_from_an_unknown_experiment_creates_nothing(mlflow_server: MlflowServer) -> None:
    from mlflow.tracking import MlflowClient

    name = f"never-{uuid.uuid4().hex[:8]}"
    assert MlflowBaselineStore(mlflow_server.uri, name).load("a" * 40, "default", "cfg") is None
    assert MlflowClient(tracking_uri=mlflow_server.uri).get_experiment_by_name(name) is None


def test_the_ancestor_walk_finds_an_older_baseline(store: MlflowBaselineStore, tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    shas = []
    for i in range(3):
        repo.write("f.txt", f"m{i}\n")
        shas.append(repo.commit(f"m{i}"))
    store.save(make_run(n=3, sha=shas[0], config_hash="walk"))
    repo.checkout("feature", new=True)
    repo.write("g.txt", "x\n")
    head = repo.commit("feature")
    choice = select_base(
        store, repo.path, head_sha=head, base_ref="main", suite="default", config_hash="walk"
    )
    assert (choice.source, choice.sha, choice.searched) == ("ancestor", shas[0], 3)


def test_a_dead_server_is_an_incomplete_run_not_a_hang() -> None:
    store = MlflowBaselineStore(f"http://127.0.0.1:{free_port()}", "x")
    started = time.monotonic()
    with pytest.raises(IncompleteRunError, match="mlflow baseline store"):
        store.load("a" * 40, "default", "cfg")
    assert time.monotonic() - started < 8


def test_no_uri_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with pytest.raises(UserInputError, match="tracking server"):
        MlflowBaselineStore(None, None)
