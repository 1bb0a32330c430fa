"""The queue's rules with real processes: a newer head supersedes, a dead worker's job is finished by another."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bot.test_pull_request import NAMES, finished, jobs, setup_pr
from tests.support.bot import BASE, HEAD, BotEnv, deliver, pull_request_payload, wait_for, write_repo
from tests.support.gemini_server import GeminiServer
from tests.support.github_app import FakeGitHubApp
from tests.support.github_server import GitHubServer

pytestmark = pytest.mark.slow
NEWER = "c" * 40


def test_a_newer_head_supersedes_the_older_job_which_posts_nothing(
    bot: BotEnv, github: GitHubServer, tmp_path: Path
) -> None:
    fake: FakeGitHubApp = github.fake  # type: ignore[assignment]
    setup_pr(fake, tmp_path)
    fake.add_tree(NEWER, write_repo(tmp_path / "newer", version="1.2.0"))
    fake.add_pull(7, head_sha=NEWER, base_sha=BASE)
    server = bot.serve()
    assert (
        deliver(server.url, "pull_request", pull_request_payload("opened", head=HEAD)).body["result"]
        == "accepted"
    )
    sync = pull_request_payload("synchronize", head=NEWER)
    assert deliver(server.url, "pull_request", sync).body["result"] == "accepted"

    bot.worker()
    done = wait_for(lambda: finished(server.url, 2), timeout=60)
    states = {j["head_sha"]: j["state"] for j in done}
    assert states == {HEAD: "superseded", NEWER: "done"}
    assert fake.runs(HEAD) == []  # the older head got nothing posted
    assert {r["name"] for r in fake.runs(NEWER)} == NAMES
    (comment,) = fake.bot_comments(7)
    assert NEWER[:7] in comment["body"]


def test_a_worker_killed_mid_job_is_replaced_and_posts_exactly_once(
    bot: BotEnv, github: GitHubServer, gemini: GeminiServer, tmp_path: Path
) -> None:
    fake: FakeGitHubApp = github.fake  # type: ignore[assignment]
    setup_pr(fake, tmp_path)
    gemini.latency = 0.5  # long enough to kill the worker between "in progress" and "completed"
    server = bot.serve()
    deliver(server.url, "pull_request", pull_request_payload())
    first = bot.worker()
    wait_for(
        lambda: len(fake.runs(HEAD)) == 3 and all(r["status"] == "in_progress" for r in fake.runs(HEAD)), 60
    )
    first.kill()
    assert jobs(server.url)[0]["state"] == "running"

    bot.worker()
    (job,) = wait_for(lambda: finished(server.url), timeout=90)
    assert job["state"] == "done" and job["attempts"] == 2
    runs = fake.runs(HEAD)
    assert len(runs) == 3 and {r["name"] for r in runs} == NAMES  # found and updated, not created again
    assert all(r["status"] == "completed" for r in runs)
    assert len(fake.bot_comments(7)) == 1
