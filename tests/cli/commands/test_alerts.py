"""`llmops-action alerts test | list | ack | resolve` against local receivers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmops_action.alerts.sinks import SIGNATURE_HEADER, verify
from llmops_action.cli.main import main
from tests.support.alert_receiver import AlertReceiver
from tests.support.h6 import make_project

ALERTS = """
alerts:
  sinks:
    - {type: webhook, url_env: TEST_HOOK_URL, secret_env: TEST_HOOK_KEY, min_severity: critical}
    - {type: slack, name: team-slack, url_env: TEST_SLACK_URL, min_severity: critical}
  retries: {initial_delay: 0.01}
"""


@pytest.fixture
def cfg(tmp_path: Path) -> str:
    path = make_project(tmp_path)
    path.write_text(path.read_text(encoding="utf-8") + ALERTS, encoding="utf-8")
    return str(path)


def test_alerts_test_reaches_every_sink_whatever_its_min_severity(
    cfg: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with AlertReceiver() as hook, AlertReceiver(statuses=[502]) as slack:
        monkeypatch.setenv("TEST_HOOK_URL", hook.url)
        monkeypatch.setenv("TEST_HOOK_KEY", "k")
        monkeypatch.setenv("TEST_SLACK_URL", slack.url)
        code = main(["alerts", "test", "--config", cfg])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "webhook: sent" in out and "team-slack: sent after 2 attempt(s)" in out
    (got,) = hook.requests
    assert verify(got.body, "k", got.headers[SIGNATURE_HEADER])
    assert json.loads(got.body)["alert"]["source"] == "test"
    assert len(slack.accepted()) == 1
    # a test alert leaves no state behind
    assert main(["alerts", "list", "--config", cfg]) == 0 and "no alerts recorded" in capsys.readouterr().out


def test_alerts_test_fails_with_exit_3_when_a_sink_fails(
    cfg: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with AlertReceiver(statuses=[403]) as hook:
        monkeypatch.setenv("TEST_HOOK_URL", hook.url)
        monkeypatch.setenv("TEST_HOOK_KEY", "k")
        code = main(["alerts", "test", "--config", cfg])
    out = capsys.readouterr().out
    assert (
        code == 3
        and "webhook: failed (refused with HTTP 403)" in out
        and "team-slack: skipped ($TEST_SLACK_URL is not set)" in out
    )
    assert hook.url not in out


def test_ack_and_resolve_change_the_recorded_state(cfg: str, capsys: pytest.CaptureFixture[str]) -> None:
    from llmops_action.alerts.state import AlertStore
    from llmops_action.core.alerts import Alert

    store = AlertStore(Path(cfg).parent / ".llmops" / "alerts" / "state.json")
    store.open(Alert("anomaly", "warning", "score fell", "m", "greet:anomaly:score"))
    assert main(["alerts", "ack", "greet:anomaly:score", "--config", cfg, "--by", "ada"]) == 0
    assert store.state_of("greet:anomaly:score") == "acknowledged"
    assert main(["alerts", "resolve", "greet:anomaly:score", "--config", cfg]) == 0
    capsys.readouterr()
    assert main(["alerts", "list", "--config", cfg]) == 0
    assert capsys.readouterr().out.split()[:3] == ["resolved", "warning", "greet:anomaly:score"]
    assert main(["alerts", "ack", "nope", "--config", cfg]) == 2


def test_alerts_test_opens_and_closes_a_test_issue_on_github(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.support.action_runner import REPO
    from tests.support.github_server import FakeGitHub, GitHubServer

    config = make_project(tmp_path)
    config.write_text(
        config.read_text(encoding="utf-8")
        + "alerts:\n  sinks: [{type: github-issue, min_severity: critical}]\n",
        encoding="utf-8",
    )
    fake = FakeGitHub(REPO)
    with GitHubServer(fake) as server:
        monkeypatch.setenv("GITHUB_TOKEN", "ghs_fake")
        monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
        monkeypatch.setenv("GITHUB_API_URL", server.url)
        monkeypatch.setenv("LLMOPS_GITHUB_THROTTLE", "false")
        code = main(["alerts", "test", "--config", str(config)])
    out = capsys.readouterr().out
    assert code == 0 and "github-issue: sent (issue created:" in out
    [issue] = fake.issues.values()
    assert issue["title"] == "llmops-action test alert" and issue["state"] == "closed"
    assert "llmops-action:alert key=llmops:test" in issue["body"]
