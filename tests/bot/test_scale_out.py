"""Scale-out: one Redis, one server, two worker processes sharing the queue, the state and the leases."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bot.test_pull_request import NAMES, finished
from tests.support.bot import BASE, BotEnv, deliver, pull_request_payload, wait_for, write_repo
from tests.support.github_app import FakeGitHubApp
from tests.support.github_server import GitHubServer
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.slow


def test_two_workers_on_redis_share_the_jobs_and_post_each_once(
    bot: BotEnv, github: GitHubServer, tmp_path: Path
) -> None:
    fake: FakeGitHubApp = github.fake  # type: ignore[assignment]
    fake.add_tree(BASE, write_repo(tmp_path / "base"))
    heads = {}
    for number in (1, 2, 3, 4):
        sha = f"{number}" * 40
        fake.add_tree(sha, write_repo(tmp_path / f"head{number}", version=f"1.{number}.0", cases=6))
        fake.add_pull(number, head_sha=sha, base_sha=BASE)
        heads[number] = sha
    with RedisServer(tmp_path / "redis") as redis_server:
        bot.redis_url = redis_server.url
        server = bot.serve()
        workers = [bot.worker(), bot.worker()]
        for number, sha in heads.items():
            deliver(server.url, "pull_request", pull_request_payload(number=number, head=sha))
        done = wait_for(lambda: finished(server.url, 4), timeout=120)

        assert all(j["state"] == "done" for j in done), [(j["state"], j["message"]) for j in done]
        ran_on = {j["worker"] for j in done}
        assert len(ran_on) == 2, f"one worker did everything: {ran_on}"
        for number, sha in heads.items():
            assert len(fake.bot_comments(number)) == 1
            assert sorted(r["name"] for r in fake.runs(sha)) == sorted(NAMES)
        assert not (bot.data_dir / "queue.db").exists()  # the queue was Redis, not the embedded one
        for w in workers:
            w.stop()
