"""Push to the default branch stores the baseline; the config's cron re-evaluates the branch and alerts."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from llmops_action.bot.github_app import GitHubApp
from llmops_action.bot.queue import BotQueue, parse_cron
from llmops_action.bot.settings import BotSettings
from llmops_action.errors import UserInputError
from tests.bot.test_pull_request import NAMES, finished
from tests.support.bot import HEAD, BotEnv, deliver, wait_for, write_repo
from tests.support.github_app import INSTALLATION_ID, FakeGitHubApp
from tests.support.github_server import GitHubServer, load_payload

LATER = "e" * 40
CRON = "*/5 * * * *"


def push_payload(sha: str) -> dict:
    p = copy.deepcopy(load_payload("push", "to-default-branch.payload.json"))
    p.update(ref="refs/heads/main", after=sha, installation={"id": INSTALLATION_ID})
    p["repository"].update(full_name="octo-org/llmops-demo", default_branch="main")
    return p


def test_cron_expressions() -> None:
    due = parse_cron(CRON)
    assert due(datetime(2026, 1, 1, 4, 15)) and not due(datetime(2026, 1, 1, 4, 16))
    with pytest.raises(UserInputError, match="5 cron fields"):
        parse_cron("* * *")


@pytest.mark.slow
def test_push_saves_the_baseline_and_the_schedule_raises_an_alert_on_a_failing_gate(
    bot: BotEnv, github: GitHubServer, tmp_path: Path
) -> None:
    fake: FakeGitHubApp = github.fake  # type: ignore[assignment]
    fake.add_tree(HEAD, write_repo(tmp_path / "good", extra=f"schedule: '{CRON}'\n"))
    server = bot.serve()
    bot.worker()
    other_branch = push_payload(HEAD) | {"ref": "refs/heads/feature"}
    assert deliver(server.url, "push", other_branch).body["result"] == "ignored"
    assert deliver(server.url, "push", push_payload(HEAD)).body["result"] == "accepted"
    (job,) = wait_for(lambda: finished(server.url), timeout=60)
    assert job["state"] == "done" and job["kind"] == "push"
    assert {r["name"] for r in fake.runs(HEAD)} == NAMES

    settings = BotSettings.from_env(bot.env())
    queue = BotQueue(settings)
    entry = json.loads(queue.state.get("schedule:octo-org/llmops-demo") or "{}")
    assert entry["cron"] == CRON and entry["branch"] == "main"

    # The default branch moves on to a commit that degrades the answers; the cron fires.
    fake.add_tree(LATER, write_repo(tmp_path / "later", version="1.1.0", instruction=False))
    fake.refs["heads/main"] = LATER
    queue.executor = SimpleNamespace(app=GitHubApp(settings))
    assert not queue.schedule_due(entry, datetime(2026, 1, 1, 4, 16))
    assert queue.schedule_due(entry, datetime(2026, 1, 1, 4, 20))
    done = wait_for(lambda: finished(server.url, 2), timeout=60)
    scheduled = next(j for j in done if j["kind"] == "schedule")
    assert scheduled["state"] == "done" and scheduled["verdict"] == "fail", scheduled
    (issue,) = fake.issues.values()
    assert "llmops-action:alert" in issue["body"] and "regression" in issue["title"]
