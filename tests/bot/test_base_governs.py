"""The bot reviews through the review core: the base's config gates the PR, whatever the head's says."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bot.test_pull_request import finished, setup_pr
from tests.support.bot import HEAD, BotEnv, deliver, pull_request_payload, wait_for
from tests.support.github_app import FakeGitHubApp
from tests.support.github_server import GitHubServer

pytestmark = pytest.mark.slow


def test_a_pr_that_lowers_its_own_gates_while_degrading_still_fails_regression(
    bot: BotEnv, github: GitHubServer, tmp_path: Path
) -> None:
    fake: FakeGitHubApp = github.fake  # type: ignore[assignment]
    setup_pr(fake, tmp_path)  # the head degrades the prompt: the answers stop naming the capital
    head_dir = tmp_path / f"head-{HEAD[:4]}"
    config = (head_dir / ".llmops.yml").read_text(encoding="utf-8")
    lowered = config.replace("  regression:\n    metrics: [score]\n", "").replace(
        "{metric: error_rate, max: 0.0}", "{metric: error_rate, max: 1.0}"
    )
    assert lowered != config and "regression:" not in lowered
    (head_dir / ".llmops.yml").write_text(lowered, encoding="utf-8")
    fake.add_tree(HEAD, head_dir)
    server = bot.serve()
    worker = bot.worker()

    deliver(server.url, "pull_request", pull_request_payload())
    (job,) = wait_for(lambda: finished(server.url), timeout=60)

    assert job["state"] == "done" and job["verdict"] == "fail", (job, worker.output())
    (run,) = fake.runs(HEAD, "llmops/regression")
    assert run["conclusion"] == "failure"
    (comment,) = fake.bot_comments(7)
    assert "take effect after merge" in comment["body"]
