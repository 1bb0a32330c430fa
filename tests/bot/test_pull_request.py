"""A pull request end to end: delivery -> queue -> worker -> one sticky comment and three check runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.bot import (
    BASE,
    GEMINI_KEY,
    HEAD,
    OPERATOR_TOKEN,
    BotEnv,
    deliver,
    get,
    pull_request_payload,
    wait_for,
    write_repo,
)
from tests.support.gemini_server import GeminiServer
from tests.support.github_app import FakeGitHubApp
from tests.support.github_server import GitHubServer

pytestmark = pytest.mark.slow
NAMES = {"llmops/quality", "llmops/regression", "llmops/drift"}


def jobs(url: str) -> list[dict]:
    _, body = get(
        f"{url}/jobs", headers={"Accept": "application/json", "Authorization": f"Bearer {OPERATOR_TOKEN}"}
    )
    return json.loads(body)["jobs"]


def finished(url: str, n: int = 1) -> list[dict]:
    done = [j for j in jobs(url) if j["state"] not in ("queued", "running")]
    return done if len(done) >= n else []


def setup_pr(fake: FakeGitHubApp, tmp: Path, *, head: str = HEAD, degrade: bool = True, **kw: object) -> None:
    fake.add_tree(BASE, write_repo(tmp / f"base-{BASE[:4]}"))
    fake.add_tree(head, write_repo(tmp / f"head-{head[:4]}", version="1.1.0", instruction=not degrade, **kw))
    fake.add_pull(7, head_sha=head, base_sha=BASE)
    fake.pr_files[7] = ["prompts/answer.yml", "README.md"]


def test_a_degraded_prompt_gets_one_comment_and_failing_regression_check(
    bot: BotEnv, github: GitHubServer, tmp_path: Path
) -> None:
    fake: FakeGitHubApp = github.fake  # type: ignore[assignment]
    setup_pr(fake, tmp_path)
    server = bot.serve()
    worker = bot.worker()

    assert deliver(server.url, "pull_request", pull_request_payload()).status == 202
    (job,) = wait_for(lambda: finished(server.url), timeout=60)
    assert job["state"] == "done", (job, worker.output())

    comments = fake.bot_comments(7)
    assert len(comments) == 1
    assert "llmops-action:comment suite=capitals" in comments[0]["body"]
    runs = fake.runs(HEAD)
    assert {r["name"] for r in runs} == NAMES and len(runs) == 3
    by_name = {r["name"]: r for r in runs}
    assert all(r["status"] == "completed" for r in runs)
    assert by_name["llmops/regression"]["conclusion"] == "failure"
    assert by_name["llmops/quality"]["conclusion"] == "success"
    assert len(by_name["llmops/regression"]["output"]["summary"]) <= 65535
    assert [a["path"] for a in by_name["llmops/quality"]["annotations"]] == ["prompts/answer.yml"]
    assert job["verdict"] == "fail" and job["comment_url"] == comments[0]["html_url"]
    # the token was scoped to the one repository, and no secret reached GitHub
    assert all(t["repositories"] == ["llmops-demo"] for t in fake.tokens.values())
    assert GEMINI_KEY not in fake.sent_text()
    for secret in [GEMINI_KEY, *fake.tokens]:
        assert secret not in worker.output() and secret not in server.output()
        assert secret not in comments[0]["body"]
    _, metrics = get(f"{server.url}/metrics")
    assert 'llmops_job_outcomes_total{kind="pr",outcome="done"} 1.0' in metrics
    assert "llmops_job_duration_seconds_count 1.0" in metrics


def test_a_crash_completes_every_started_check_as_a_failure_with_the_reason(
    bot: BotEnv, github: GitHubServer, tmp_path: Path
) -> None:
    fake: FakeGitHubApp = github.fake  # type: ignore[assignment]
    setup_pr(fake, tmp_path)
    fake.denied.add("comment")  # the App lost pull_requests: write
    server = bot.serve()
    bot.worker()
    deliver(server.url, "pull_request", pull_request_payload())
    (job,) = wait_for(lambda: finished(server.url), timeout=60)

    assert job["state"] == "failed"
    runs = fake.runs(HEAD)
    assert {r["name"] for r in runs} == NAMES
    for run in runs:
        assert (run["status"], run["conclusion"]) == ("completed", "failure")
        assert "could not finish this evaluation" in run["output"]["summary"]
        assert "pull-requests: write" in run["output"]["summary"]


def test_the_base_comes_from_the_repositorys_baseline_branch_when_it_has_one(
    bot: BotEnv, github: GitHubServer, gemini: GeminiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmops_action.adapters.baseline.store import BaselineKey
    from llmops_action.engine.evaluate import evaluate
    from llmops_action.engine.workspace import load_workspace

    fake: FakeGitHubApp = github.fake  # type: ignore[assignment]
    setup_pr(fake, tmp_path)
    # What the Action pushed to `llmops-baselines` for the base commit.
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", gemini.url)
    base = evaluate(
        load_workspace(tmp_path / f"base-{BASE[:4]}" / ".llmops.yml"),
        api_key="k",
        git_sha=BASE,
        use_cache=False,
    )
    fake.contents[("llmops-baselines", BaselineKey.of(base).relpath)] = base.to_json().encode()
    calls_before = len(gemini.generation_requests())
    server = bot.serve()
    bot.worker()
    deliver(server.url, "pull_request", pull_request_payload())
    (job,) = wait_for(lambda: finished(server.url), timeout=60)

    assert job["state"] == "done" and job["verdict"] == "fail"
    assert len(gemini.generation_requests()) - calls_before == 12  # the head's cases only: no base re-run
    (run,) = fake.runs(HEAD, "llmops/regression")
    assert run["conclusion"] == "failure"
