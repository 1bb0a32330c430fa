"""`/llmops ...` slash commands: permission read through the API, replies once, bots ignored."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bot.test_pull_request import finished, setup_pr
from tests.support.bot import (
    BASE,
    HEAD,
    BotEnv,
    comment_payload,
    deliver,
    pull_request_payload,
    wait_for,
    write_repo,
)
from tests.support.github_app import FakeGitHubApp
from tests.support.github_server import GitHubServer

pytestmark = pytest.mark.slow
NEWER = "d" * 40


def regression(fake: FakeGitHubApp, sha: str) -> dict:
    (run,) = fake.runs(sha, "llmops/regression")
    return run


def test_accept_from_a_reader_is_refused_and_from_a_writer_turns_regression_green(
    bot: BotEnv, github: GitHubServer, tmp_path: Path
) -> None:
    fake: FakeGitHubApp = github.fake  # type: ignore[assignment]
    setup_pr(fake, tmp_path)
    fake.permissions.update(writer="write", reader="read")
    server = bot.serve()
    bot.worker()
    deliver(server.url, "pull_request", pull_request_payload())
    wait_for(lambda: finished(server.url), timeout=60)
    assert regression(fake, HEAD)["conclusion"] == "failure"

    deliver(
        server.url, "issue_comment", comment_payload("/llmops accept I like it", login="reader", comment_id=1)
    )
    wait_for(lambda: finished(server.url, 2), timeout=30)
    (reply,) = [c for c in fake.bot_comments(7) if "reply comment=1" in c["body"]]
    assert "needs write access" in reply["body"] and "`read`" in reply["body"]
    assert regression(fake, HEAD)["conclusion"] == "failure"

    accept = comment_payload("/llmops accept the friendlier tone is intended", login="writer", comment_id=2)
    deliver(server.url, "issue_comment", accept)
    wait_for(lambda: regression(fake, HEAD)["conclusion"] == "success", timeout=30)
    assert regression(fake, HEAD)["output"]["title"] == "accepted by @writer: the friendlier tone is intended"
    assert not [
        c for c in fake.bot_comments(7) if "reply comment=2" in c["body"]
    ]  # a writer gets no scolding

    # The acceptance belongs to that head: a new push needs a new one.
    fake.add_tree(NEWER, write_repo(tmp_path / "newer", version="1.2.0", instruction=False))
    fake.add_pull(7, head_sha=NEWER, base_sha=BASE)
    deliver(server.url, "pull_request", pull_request_payload("synchronize", head=NEWER))
    wait_for(lambda: finished(server.url, 4), timeout=60)
    assert regression(fake, NEWER)["conclusion"] == "failure"


def test_help_replies_once_and_bots_are_ignored(bot: BotEnv, github: GitHubServer, tmp_path: Path) -> None:
    fake: FakeGitHubApp = github.fake  # type: ignore[assignment]
    setup_pr(fake, tmp_path)
    fake.permissions.update(writer="admin")
    server = bot.serve()
    own = comment_payload("/llmops rerun", login="llmops[bot]", user_type="Bot", comment_id=3)
    assert deliver(server.url, "issue_comment", own).body["result"] == "ignored"
    other_bot = comment_payload("/llmops rerun", login="dependabot[bot]", user_type="Bot", comment_id=4)
    assert deliver(server.url, "issue_comment", other_bot).body["result"] == "ignored"
    chatter = comment_payload("looks good to me", login="writer", comment_id=5)
    assert deliver(server.url, "issue_comment", chatter).body["result"] == "ignored"

    assert deliver(server.url, "issue_comment", comment_payload("/llmops help", comment_id=6)).status == 202
    bot.worker()
    wait_for(lambda: finished(server.url), timeout=30)
    (reply,) = fake.bot_comments(7)
    assert "/llmops rerun" in reply["body"] and "/llmops accept REASON" in reply["body"]
    assert fake.runs(HEAD) == []  # help evaluates nothing
