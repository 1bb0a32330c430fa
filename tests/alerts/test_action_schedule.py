"""The Action's scheduled run raises its alert through every sink: the alert issue and a signed webhook."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmops_action.alerts.sinks import SIGNATURE_HEADER, verify
from tests.support.action_runner import REPO, ActionProject, degraded_app
from tests.support.alert_receiver import AlertReceiver
from tests.support.github_server import FakeGitHub, GitHubServer

ALERTS = """
alerts:
  sinks:
    - {type: github-issue, min_severity: warning}
    - {type: webhook, url_env: LLMOPS_TEST_HOOK, secret_env: LLMOPS_TEST_HOOK_KEY}
"""


@pytest.fixture
def github() -> Iterator[tuple[FakeGitHub, GitHubServer]]:
    fake = FakeGitHub(REPO)
    with GitHubServer(fake) as server:
        yield fake, server


@pytest.mark.slow
def test_two_failing_scheduled_runs_send_one_signed_webhook_and_one_issue(tmp_path: Path, github) -> None:
    fake, server = github
    project = ActionProject(tmp_path)
    config = project.dev.path / ".llmops.yml"
    project.dev.write(".llmops.yml", config.read_text(encoding="utf-8") + ALERTS)
    project.base_sha = project.dev.commit("alerts to a webhook")
    project.dev.push("main")
    saved = project.run(
        "push", project.push_payload(project.base_sha), sha=project.base_sha, api_url=server.url
    )
    assert saved.code == 0, saved.stdout + saved.stderr
    project.dev.write("app.py", degraded_app())
    main_sha = project.dev.commit("a regression lands on main")
    project.dev.push("main")
    event = {"schedule": "17 4 * * *", "repository": {"full_name": REPO, "default_branch": "main"}}
    with AlertReceiver() as rx:
        env = {"LLMOPS_TEST_HOOK": rx.url, "LLMOPS_TEST_HOOK_KEY": "hook-key"}
        runs = [
            project.run("schedule", event, sha=main_sha, api_url=server.url, extra_env=env) for _ in range(2)
        ]
    assert [r.code for r in runs] == [1, 1], runs[0].stdout + runs[0].stderr
    [issue] = fake.issues.values()
    assert issue["state"] == "open" and "llmops-action:alert suite=quickstart" in issue["body"]
    # each run checks out afresh, so the open issue is what tells the second run the alert is already open
    (got,) = rx.requests
    assert verify(got.body, "hook-key", got.headers.get(SIGNATURE_HEADER))
    alert = json.loads(got.body)["alert"]
    assert (alert["type"], alert["severity"], alert["dedupe_key"]) == (
        "regression",
        "critical",
        "quickstart:schedule",
    )
    assert "/actions/runs/" in alert["links"]["run"]
    for r in runs:
        assert "hook-key" not in r.stdout + r.stderr and rx.url not in r.stdout + r.stderr
