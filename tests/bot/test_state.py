"""The shared state's rules, on the embedded SQLite backend and on a real redis-server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmops_action.bot import jobs as J
from llmops_action.bot.execute import Executor, reap
from llmops_action.bot.jobs import Job
from llmops_action.bot.settings import BotSettings
from llmops_action.bot.state import RedisState, SqliteState, State
from tests.support.redis_server import RedisServer


@pytest.fixture(params=["sqlite", "redis"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[State]:
    if request.param == "sqlite":
        yield SqliteState(tmp_path / "bot.db")
        return
    with RedisServer(tmp_path / "redis") as srv:
        yield RedisState(srv.url)


def test_set_if_absent_is_first_writer_wins(state: State) -> None:
    assert state.set_if_absent("delivery:1", "a")
    assert not state.set_if_absent("delivery:1", "b")
    assert state.get("delivery:1") == "a"


def test_a_lease_is_exclusive_until_it_expires(state: State) -> None:
    assert state.lease("job:x", "w1", 0.3)
    assert not state.lease("job:x", "w2", 0.3)
    assert state.renew("job:x", "w1", 0.3) and not state.renew("job:x", "w2", 0.3)
    time.sleep(0.45)
    assert state.holder("job:x") is None
    assert state.lease("job:x", "w2", 5)
    state.release("job:x", "w1")  # not the owner: no effect
    assert state.holder("job:x") == "w2"


def test_one_job_per_head_and_a_newer_head_supersedes(state: State) -> None:
    old = Job(kind="pr", repo="o/r", installation_id=1, head_sha="a" * 40, pr=3)
    assert J.submit(state, old)
    assert not J.submit(state, Job(kind="pr", repo="o/r", installation_id=1, head_sha="a" * 40, pr=3))
    new = Job(kind="pr", repo="o/r", installation_id=1, head_sha="c" * 40, pr=3)
    assert J.submit(state, new)
    assert J.is_superseded(state, old) and not J.is_superseded(state, new)


def test_the_installation_bound_holds_and_frees(state: State, tmp_path: Path) -> None:
    settings = BotSettings(app_id="1", installation_concurrency=2, lease_seconds=30, data_dir=tmp_path)
    ex = Executor(settings, state, app=None, worker_id="w", submit=None)  # type: ignore[arg-type]
    busy_org = [Job(kind="pr", repo="big/r", installation_id=9, head_sha=f"{i}" * 40, pr=i) for i in range(3)]
    slots = [ex._slot(j) for j in busy_org]
    assert slots[0] and slots[1] and slots[2] is None  # the third waits
    other = Job(kind="pr", repo="small/r", installation_id=10, head_sha="e" * 40, pr=1)
    assert ex._slot(other) is not None  # another organisation is not starved
    state.release(slots[0], busy_org[0].id)
    assert ex._slot(busy_org[2]) is not None


def test_the_reaper_requeues_a_running_job_whose_lease_ran_out(state: State, tmp_path: Path) -> None:
    settings = BotSettings(app_id="1", lease_seconds=0.2, data_dir=tmp_path)
    job = Job(kind="pr", repo="o/r", installation_id=1, head_sha="a" * 40, pr=3)
    J.submit(state, job)
    J.update(state, job, state="running", started=time.time(), attempts=1)
    state.lease(f"job:{job.id}", "dead-worker", 0.2)
    queued: list[str] = []
    assert reap(state, settings, queued.append) == []  # still leased
    time.sleep(0.4)
    assert reap(state, settings, queued.append) == [job.id]
    assert reap(state, settings, queued.append) == []  # once per attempt, however many reapers
    assert queued == [job.id] and state.job(job.id)["state"] == "queued"
