"""GitHub App auth and the check runs against the fake GitHub API (real HTTP, the spec's shapes)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmops_action.adapters.github import RetryPolicy
from llmops_action.bot.checks import SUMMARY_MAX, Annotation, CheckRuns
from llmops_action.bot.github_app import GitHubApp
from llmops_action.bot.settings import BotSettings
from tests.bot.conftest import _KEY
from tests.support.github_app import APP_ID, INSTALLATION_ID, FakeGitHubApp
from tests.support.github_server import SECONDARY_RATE_LIMIT_BODY, GitHubServer

REPO = "octo-org/llmops-demo"
SHA = "a" * 40


@pytest.fixture
def server() -> Iterator[GitHubServer]:
    with GitHubServer(FakeGitHubApp(_KEY)) as srv:
        yield srv


def make_app(server: GitHubServer, tmp_path: Path, **kw: object) -> tuple[GitHubApp, list[float]]:
    waits: list[float] = []
    settings = BotSettings(
        app_id=str(APP_ID),
        private_key=_KEY.private_pem,
        api_url=server.url,
        data_dir=tmp_path,
        throttle=False,
    )
    return GitHubApp(settings, policy=RetryPolicy(sleep=waits.append), **kw), waits  # type: ignore[arg-type]


def test_tokens_are_scoped_to_the_repository_and_cached_until_near_expiry(
    server: GitHubServer, tmp_path: Path
) -> None:
    clock = [time.time()]
    app, _ = make_app(server, tmp_path, now=lambda: clock[0])
    first = app.token(INSTALLATION_ID, REPO)
    assert app.token(INSTALLATION_ID, REPO) == first and app.minted == 1
    fake: FakeGitHubApp = server.fake  # type: ignore[assignment]
    assert fake.tokens[first]["repositories"] == ["llmops-demo"]
    clock[0] += 3600 - 200  # inside the refresh margin before GitHub's one hour
    assert app.token(INSTALLATION_ID, REPO) != first and app.minted == 2
    assert first not in repr(app) and _KEY.private_pem[40:80] not in repr(app.settings)


def test_the_jwt_is_checked_by_the_fake_and_app_info_works(server: GitHubServer, tmp_path: Path) -> None:
    app, _ = make_app(server, tmp_path)
    assert app.app_info()["id"] == APP_ID


def test_check_runs_are_found_not_duplicated_and_summaries_are_clipped(
    server: GitHubServer, tmp_path: Path
) -> None:
    app, _ = make_app(server, tmp_path)
    fake: FakeGitHubApp = server.fake  # type: ignore[assignment]
    client = app.client(INSTALLATION_ID, REPO)
    CheckRuns(client, SHA, app_id=str(APP_ID), known={}).start()
    again = CheckRuns(client, SHA, app_id=str(APP_ID), known={})  # another worker, knowing nothing
    again.start()
    assert len(fake.runs(SHA)) == 3
    notes = [Annotation("prompts/answer.yml", f"note {i}") for i in range(60)]
    again.complete("quality", "success", "ok", "x" * (SUMMARY_MAX + 10), annotations=notes)
    (quality,) = fake.runs(SHA, "llmops/quality")
    assert quality["conclusion"] == "success" and len(quality["output"]["summary"]) == SUMMARY_MAX
    assert len(quality["annotations"]) == 60  # sent in batches of 50, as GitHub takes them
    again.crash("boom")
    assert {r["conclusion"] for r in fake.runs(SHA)} == {"success", "failure"}
    assert all(r["status"] == "completed" for r in fake.runs(SHA))


def test_5xx_and_rate_limits_are_retried_honouring_retry_after(server: GitHubServer, tmp_path: Path) -> None:
    app, waits = make_app(server, tmp_path)
    fake: FakeGitHubApp = server.fake  # type: ignore[assignment]
    client = app.client(INSTALLATION_ID, REPO)
    fake.fail("PATCH", r"/check-runs/\d+", status=502)
    fake.fail(
        "GET", r"/check-runs$", status=403, headers={"Retry-After": "7"}, body=SECONDARY_RATE_LIMIT_BODY
    )
    reset = int(time.time()) + 30
    fake.fail(
        "POST",
        r"/check-runs$",
        status=403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
        body={"message": "API rate limit exceeded"},
    )
    checks = CheckRuns(client, SHA, app_id=str(APP_ID), known={})
    checks.start(("quality",))
    checks.complete("quality", "success", "ok", "fine")
    assert 7.0 in waits  # Retry-After
    assert any(25 <= w <= 32 for w in waits)  # until x-ratelimit-reset
    assert len(fake.runs(SHA)) == 1 and fake.runs(SHA)[0]["conclusion"] == "success"


def test_a_superseded_job_cancels_its_started_checks(server: GitHubServer, tmp_path: Path) -> None:
    app, _ = make_app(server, tmp_path)
    fake: FakeGitHubApp = server.fake  # type: ignore[assignment]
    checks = CheckRuns(app.client(INSTALLATION_ID, REPO), SHA, app_id=str(APP_ID), known={})
    checks.start()
    checks.crash("a newer head", conclusion="cancelled")
    assert {(r["status"], r["conclusion"]) for r in fake.runs(SHA)} == {("completed", "cancelled")}
