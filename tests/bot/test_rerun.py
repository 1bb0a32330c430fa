"""Running a PR again: check_suite `rerequested` and `/llmops rerun` re-evaluate; posting stays single."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from tests.bot.test_pull_request import NAMES, finished, jobs, setup_pr
from tests.support.bot import BASE, HEAD, BotEnv, comment_payload, deliver, pull_request_payload, wait_for
from tests.support.github_app import INSTALLATION_ID, FakeGitHubApp
from tests.support.github_server import GitHubServer, load_payload

pytestmark = pytest.mark.slow


def rerequested(number: int = 7) -> dict:
    p = copy.deepcopy(load_payload("check_suite", "rerequested.payload.json"))
    (pr,) = p["check_suite"]["pull_requests"]
    pr["number"] = number
    pr["head"]["sha"], pr["base"]["sha"], pr["base"]["ref"] = HEAD, BASE, "main"
    p["repository"]["full_name"] = "octo-org/llmops-demo"
    p["installation"] = {"id": INSTALLATION_ID}
    return p


def attempts(url: str) -> int:
    (job,) = [j for j in jobs(url) if j["kind"] == "pr"]
    return int(job["attempts"]) if job["state"] == "done" else 0


def test_rerequested_checks_and_slash_rerun_evaluate_again_and_post_once(
    bot: BotEnv, github: GitHubServer, tmp_path: Path
) -> None:
    fake: FakeGitHubApp = github.fake  # type: ignore[assignment]
    setup_pr(fake, tmp_path)
    fake.permissions["writer"] = "write"
    server = bot.serve()
    bot.worker()
    deliver(server.url, "pull_request", pull_request_payload())
    wait_for(lambda: finished(server.url), timeout=60)

    assert deliver(server.url, "check_suite", rerequested()).body["result"] == "accepted"
    wait_for(lambda: attempts(server.url) == 2, timeout=60)
    deliver(server.url, "issue_comment", comment_payload("/llmops rerun", login="writer", comment_id=9))
    wait_for(lambda: attempts(server.url) == 3, timeout=60)

    assert len(fake.bot_comments(7)) == 1
    runs = fake.runs(HEAD)
    assert len(runs) == 3 and {r["name"] for r in runs} == NAMES
    assert all(r["status"] == "completed" for r in runs)
