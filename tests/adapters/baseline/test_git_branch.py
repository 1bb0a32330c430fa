from __future__ import annotations

import threading
from pathlib import Path

import pytest

from llmops_action.adapters.baseline.git_branch import DEFAULT_IDENTITY, GitBranchBaselineStore
from llmops_action.adapters.baseline.store import open_store
from llmops_action.core.config import BaselineConfig
from llmops_action.errors import UserInputError
from tests.support.baseline_runs import fake_sha, make_run
from tests.support.gitrepo import GitRepo, init_repo, isolate_git, remote_with_clones, run_git

KEY = "cfg0000000000001"


def remote_files(remote: Path, branch: str = "llmops-baselines") -> list[str]:
    return run_git(["ls-tree", "-r", "--name-only", branch], remote).split()


def test_first_save_creates_the_orphan_branch_and_leaves_the_checkout_alone(tmp_path: Path) -> None:
    remote, (a,) = remote_with_clones(tmp_path, 1)
    a.write("dirty.txt", "uncommitted work\n")
    a.git("add", "dirty.txt")
    status_before, head_before = a.status(), a.head()

    store = GitBranchBaselineStore(a.path)
    location = store.save(make_run(fake_sha(1)))

    assert location == f"origin/llmops-baselines:default/{fake_sha(1)}/{KEY}.json"
    assert remote_files(remote) == [f"default/{fake_sha(1)}/{KEY}.json"]
    # An orphan: the branch shares no history with main.
    assert run_git(["rev-list", "--count", "llmops-baselines"], remote).strip() == "1"
    assert len(run_git(["rev-list", "--parents", "-n1", "llmops-baselines"], remote).split()) == 1
    assert a.status() == status_before and a.head() == head_before
    assert a.current_branch() == "main"


def test_another_clone_reads_back_after_fetching(tmp_path: Path) -> None:
    _, (a, b) = remote_with_clones(tmp_path, 2)
    run = make_run(fake_sha(7), score=0.42)
    GitBranchBaselineStore(a.path).save(run)

    reader = GitBranchBaselineStore(b.path)
    assert reader.load(fake_sha(7), "default", KEY) == run
    assert reader.load(fake_sha(8), "default", KEY) is None
    assert reader.load(fake_sha(7), "default", "otherhash") is None
    assert reader.fetches == 1  # one fetch per store, however many lookups (an ancestor walk makes ~50)
    [record] = reader.list()
    assert (record.sha, record.score, record.suite) == (fake_sha(7), 0.42, "default")
    assert record.saved_at and record.saved_at[:4].isdigit()


def test_a_missing_branch_reads_as_empty(tmp_path: Path) -> None:
    _, (a,) = remote_with_clones(tmp_path, 1)
    store = GitBranchBaselineStore(a.path)
    assert store.load(fake_sha(1), "default", KEY) is None
    assert store.list() == []


def test_saving_an_existing_key_is_a_no_op(tmp_path: Path) -> None:
    remote, (a, b) = remote_with_clones(tmp_path, 2)
    first = GitBranchBaselineStore(a.path).save(make_run(fake_sha(1), score=0.9))
    tip = run_git(["rev-parse", "llmops-baselines"], remote)
    second = GitBranchBaselineStore(b.path).save(make_run(fake_sha(1), score=0.1))
    assert first == second
    assert run_git(["rev-parse", "llmops-baselines"], remote) == tip
    loaded = GitBranchBaselineStore(b.path).load(fake_sha(1), "default", KEY)
    assert loaded is not None and loaded.aggregates["score"] == 0.9


class RacedStore(GitBranchBaselineStore):
    """Lets another clone push between this store's first fetch and its push: a guaranteed race."""

    def __init__(self, root: Path, rival: GitRepo) -> None:
        super().__init__(root)
        self.rival = rival
        self.raced = False

    def _fetch(self) -> str | None:
        tip = super()._fetch()
        if not self.raced:
            self.raced = True
            GitBranchBaselineStore(self.rival.path).save(make_run(fake_sha(99)))
        return tip


def test_a_rejected_push_is_fetched_rebased_and_retried(tmp_path: Path) -> None:
    remote, (a, b) = remote_with_clones(tmp_path, 2)
    GitBranchBaselineStore(a.path).save(make_run(fake_sha(1)))  # the branch exists: a real non-fast-forward

    store = RacedStore(b.path, rival=a)
    store.save(make_run(fake_sha(2)))

    assert store.push_retries == 1 and store.push_attempts == 2
    assert sorted(remote_files(remote)) == sorted(f"default/{fake_sha(i)}/{KEY}.json" for i in (1, 2, 99))
    # History is linear: the retried commit sits on top of the rival's.
    assert run_git(["rev-list", "--count", "llmops-baselines"], remote).strip() == "3"


def test_two_clones_saving_concurrently_lose_nothing(tmp_path: Path) -> None:
    remote, clones = remote_with_clones(tmp_path, 2)
    per_clone = 6
    stores = [GitBranchBaselineStore(c.path, backoff=0.01, max_attempts=30) for c in clones]
    barrier = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def writer(index: int, store: GitBranchBaselineStore) -> None:
        barrier.wait()
        try:
            for j in range(per_clone):
                store.save(make_run(fake_sha(100 * (index + 1) + j)))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i, s)) for i, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    expected = {
        f"default/{fake_sha(100 * (i + 1) + j)}/{KEY}.json" for i in range(2) for j in range(per_clone)
    }
    assert set(remote_files(remote)) == expected
    assert run_git(["rev-list", "--count", "llmops-baselines"], remote).strip() == str(len(expected))
    reader = GitBranchBaselineStore(clones[0].path)
    assert {r.sha for r in reader.list()} == {k.split("/")[1] for k in expected}


def test_without_a_configured_identity_commits_as_the_bot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate_git(monkeypatch, tmp_path)
    remote, (a,) = remote_with_clones(tmp_path, 1)
    a.git("config", "--unset", "user.name")
    a.git("config", "--unset", "user.email")
    GitBranchBaselineStore(a.path).save(make_run(fake_sha(1)))
    author = run_git(["log", "-1", "--format=%an <%ae>|%cn <%ce>", "llmops-baselines"], remote).strip()
    bot = f"{DEFAULT_IDENTITY[0]} <{DEFAULT_IDENTITY[1]}>"
    assert author == f"{bot}|{bot}"


def test_with_a_configured_identity_commits_as_it(tmp_path: Path) -> None:
    remote, (a,) = remote_with_clones(tmp_path, 1)
    GitBranchBaselineStore(a.path).save(make_run(fake_sha(1)))
    assert run_git(["log", "-1", "--format=%an", "llmops-baselines"], remote).strip() == "Test Dev"


def test_a_repository_without_the_remote_keeps_the_branch_locally(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "solo")
    repo.write("README.md", "x\n")
    repo.commit("init")
    store = GitBranchBaselineStore(repo.path)
    store.save(make_run(fake_sha(1)))
    store.save(make_run(fake_sha(2)))
    assert sorted(repo.git("ls-tree", "-r", "--name-only", "llmops-baselines").split()) == [
        f"default/{fake_sha(i)}/{KEY}.json" for i in (1, 2)
    ]
    assert GitBranchBaselineStore(repo.path).load(fake_sha(2), "default", KEY) is not None
    assert repo.current_branch() == "main" and repo.status() == ""


def test_open_store_builds_the_configured_branch(tmp_path: Path) -> None:
    remote, (a,) = remote_with_clones(tmp_path, 1)
    store = open_store(BaselineConfig(store="git-branch", branch="my-baselines"), a.path)
    store.save(make_run(fake_sha(3)))
    assert remote_files(remote, "my-baselines") == [f"default/{fake_sha(3)}/{KEY}.json"]


def test_outside_a_git_checkout_the_error_says_what_to_use(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="needs a git checkout"):
        GitBranchBaselineStore(tmp_path)
