from __future__ import annotations

from pathlib import Path

import pytest

from llmops_action.adapters.baseline.dir import DirBaselineStore
from llmops_action.adapters.baseline.select import select_base
from llmops_action.errors import UserInputError
from tests.support.baseline_runs import make_run
from tests.support.gitrepo import GitRepo, init_repo


@pytest.fixture
def history(tmp_path: Path) -> tuple[GitRepo, list[str]]:
    """main: m0 - m1 - m2 - m3 - m4, with a side branch merged at m3 (s1 is not first-parent)."""
    repo = init_repo(tmp_path / "repo")
    shas = []
    for i in range(3):
        repo.write("f.txt", f"m{i}\n")
        shas.append(repo.commit(f"m{i}"))
    repo.checkout("side", new=True)
    repo.write("side.txt", "s1\n")
    side = repo.commit("s1")
    repo.checkout("main")
    repo.git("merge", "--quiet", "--no-ff", "-m", "m3 merge side", "side")
    shas.append(repo.head())
    repo.write("f.txt", "m4\n")
    shas.append(repo.commit("m4"))
    shas.append(side)
    return repo, shas


def feature_branch(repo: GitRepo, name: str = "feature") -> str:
    repo.checkout(name, new=True)
    repo.write("g.txt", "feature\n")
    repo.commit("feature work")
    repo.write("g.txt", "feature 2\n")
    return repo.commit("more feature work")


def test_a_record_at_the_merge_base_is_used(tmp_path: Path, history: tuple[GitRepo, list[str]]) -> None:
    repo, shas = history
    store = DirBaselineStore(tmp_path / "b")
    store.save(make_run(shas[4], score=0.4))
    head = feature_branch(repo)
    choice = select_base(
        store, repo.path, head_sha=head, base_ref="main", suite="default", config_hash="cfg0000000000001"
    )
    assert (choice.source, choice.sha, choice.merge_base) == ("stored", shas[4], shas[4])
    assert choice.result is not None and choice.result.aggregates["score"] == 0.4


def test_the_walk_finds_the_nearest_ancestor_with_the_same_config_hash(
    tmp_path: Path, history: tuple[GitRepo, list[str]]
) -> None:
    repo, shas = history
    store = DirBaselineStore(tmp_path / "b")
    store.save(make_run(shas[1], config_hash="samecfg", score=0.1))
    store.save(make_run(shas[3], config_hash="othercfg", score=0.3))  # nearer, but another config
    store.save(make_run(shas[5], config_hash="samecfg", score=0.5))  # side branch: not first-parent
    head = feature_branch(repo)
    choice = select_base(
        store, repo.path, head_sha=head, base_ref="main", suite="default", config_hash="samecfg"
    )
    assert (choice.source, choice.sha, choice.merge_base) == ("ancestor", shas[1], shas[4])
    assert choice.searched == 4  # m4, m3, m2, m1
    other = select_base(
        store, repo.path, head_sha=head, base_ref="main", suite="default", config_hash="othercfg"
    )
    assert (other.source, other.sha) == ("ancestor", shas[3])


def test_the_walk_is_bounded(tmp_path: Path, history: tuple[GitRepo, list[str]]) -> None:
    repo, shas = history
    store = DirBaselineStore(tmp_path / "b")
    store.save(make_run(shas[0]))
    head = feature_branch(repo)
    kwargs = {"head_sha": head, "base_ref": "main", "suite": "default", "config_hash": "cfg0000000000001"}
    # m0 is the 4th first-parent ancestor of the merge-base m4.
    assert select_base(store, repo.path, max_ancestors=4, **kwargs).source == "ancestor"
    near = select_base(store, repo.path, max_ancestors=3, **kwargs)
    assert (near.result, near.sha, near.source, near.merge_base, near.searched) == (
        None,
        None,
        "none",
        shas[4],
        4,
    )


def test_the_suite_is_part_of_the_key(tmp_path: Path, history: tuple[GitRepo, list[str]]) -> None:
    repo, shas = history
    store = DirBaselineStore(tmp_path / "b")
    store.save(make_run(shas[4], suite="chat"))
    head = feature_branch(repo)
    choice = select_base(
        store, repo.path, head_sha=head, base_ref="main", suite="rag", config_hash="cfg0000000000001"
    )
    assert choice.source == "none"


def test_a_base_ref_that_only_exists_on_the_remote_resolves(
    tmp_path: Path, history: tuple[GitRepo, list[str]]
) -> None:
    repo, shas = history
    repo.git("update-ref", "refs/remotes/origin/release", shas[2])
    store = DirBaselineStore(tmp_path / "b")
    store.save(make_run(shas[2]))
    choice = select_base(
        store,
        repo.path,
        head_sha=shas[4],
        base_ref="release",
        suite="default",
        config_hash="cfg0000000000001",
    )
    assert (choice.source, choice.sha) == ("stored", shas[2])


def test_an_unknown_base_ref_is_a_user_error(history: tuple[GitRepo, list[str]]) -> None:
    repo, shas = history
    with pytest.raises(UserInputError, match="base ref 'nope'") as err:
        select_base(None, repo.path, head_sha=shas[4], base_ref="nope", suite="default", config_hash="x")
    assert err.value.hint and "fetch-depth: 0" in err.value.hint
