from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from llmops_action.adapters.baseline.dir import DirBaselineStore
from llmops_action.adapters.baseline.store import open_store
from llmops_action.core.config import BaselineConfig
from llmops_action.errors import UserInputError
from tests.support.baseline_runs import fake_sha, make_run


def test_save_then_load_round_trips(tmp_path: Path) -> None:
    store = DirBaselineStore(tmp_path / "b")
    run = make_run(fake_sha(1), score=0.7)
    location = store.save(run)
    assert Path(location) == tmp_path / "b" / "default" / fake_sha(1) / "cfg0000000000001.json"
    loaded = store.load(fake_sha(1), "default", "cfg0000000000001")
    assert loaded == run
    assert store.load(fake_sha(1), "default", "otherhash") is None
    assert store.load(fake_sha(2), "default", "cfg0000000000001") is None


def test_saving_the_same_key_again_never_overwrites(tmp_path: Path) -> None:
    store = DirBaselineStore(tmp_path)
    first = store.save(make_run(fake_sha(1), score=0.9))
    second = store.save(make_run(fake_sha(1), score=0.1))
    assert first == second
    loaded = store.load(fake_sha(1), "default", "cfg0000000000001")
    assert loaded is not None and loaded.aggregates["score"] == 0.9


def test_racing_writers_for_one_key_leave_exactly_one_file(tmp_path: Path) -> None:
    store = DirBaselineStore(tmp_path)
    scores = [i / 20 for i in range(20)]
    threads = [threading.Thread(target=store.save, args=(make_run(fake_sha(1), score=s),)) for s in scores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    folder = tmp_path / "default" / fake_sha(1)
    assert [p.name for p in folder.iterdir()] == ["cfg0000000000001.json"]
    loaded = store.load(fake_sha(1), "default", "cfg0000000000001")
    assert loaded is not None and loaded.aggregates["score"] in scores


def test_list_filters_by_suite_and_reports_scores(tmp_path: Path) -> None:
    store = DirBaselineStore(tmp_path)
    store.save(make_run(fake_sha(1), suite="rag", score=0.5))
    store.save(make_run(fake_sha(2), suite="rag", score=0.6, config_hash="cfg2"))
    store.save(make_run(fake_sha(3), suite="chat", score=0.7))
    everything = store.list()
    assert {(r.suite, r.sha, r.score) for r in everything} == {
        ("rag", fake_sha(1), 0.5),
        ("rag", fake_sha(2), 0.6),
        ("chat", fake_sha(3), 0.7),
    }
    rag = store.list("rag")
    assert {r.config_hash for r in rag} == {"cfg0000000000001", "cfg2"}
    assert all(r.saved_at and Path(r.location).is_file() for r in rag)
    assert DirBaselineStore(tmp_path / "missing").list() == []


@pytest.mark.parametrize(
    ("run_kwargs", "message"),
    [({"shard": "1/2"}, "shard"), ({"verdict": "incomplete"}, "incomplete")],
)
def test_partial_or_incomplete_runs_are_refused(tmp_path: Path, run_kwargs: dict, message: str) -> None:
    store = DirBaselineStore(tmp_path)
    with pytest.raises(UserInputError, match=message):
        store.save(make_run(fake_sha(1), **run_kwargs))
    assert store.list() == []


def test_a_run_without_a_sha_or_with_an_unsafe_suite_is_refused(tmp_path: Path) -> None:
    store = DirBaselineStore(tmp_path)
    run = make_run(fake_sha(1))
    no_sha = run.model_copy(update={"run": run.run.model_copy(update={"git_sha": None})})
    with pytest.raises(UserInputError, match="no commit sha"):
        store.save(no_sha)
    with pytest.raises(UserInputError, match="unsafe"):
        store.load(fake_sha(1), "../escape", "cfg")


def test_open_store_resolves_dir_paths_against_the_config_folder(tmp_path: Path) -> None:
    store = open_store(BaselineConfig(store="dir", path="base"), tmp_path)
    assert isinstance(store, DirBaselineStore)
    assert store.path == tmp_path / "base"


def test_open_store_mlflow_without_the_backend_fails_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A None entry in sys.modules makes `import` raise ImportError: an installation without the backend.
    monkeypatch.setitem(sys.modules, "llmops_action.adapters.baseline.mlflow", None)
    with pytest.raises(UserInputError, match="mlflow baseline store is not available"):
        open_store(BaselineConfig(store="mlflow"), tmp_path)
