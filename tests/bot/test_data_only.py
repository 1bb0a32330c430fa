"""The bot treats a repository as data: it never runs its code and never hands its secrets to it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bot.test_pull_request import NAMES, finished, setup_pr
from tests.support.bot import GEMINI_KEY, HEAD, BotEnv, deliver, pull_request_payload, wait_for
from tests.support.gemini_server import GeminiServer
from tests.support.github_app import FakeGitHubApp
from tests.support.github_server import GitHubServer

pytestmark = pytest.mark.slow


def booby_trap(folder: Path, marker: Path) -> None:
    """Files that would leave `marker` behind if anything imported or ran them."""
    code = f"open({str(marker)!r}, 'w').write('ran')\n"
    for name in ("app.py", "sitecustomize.py", "conftest.py", "setup.py"):
        (folder / name).write_text(code, encoding="utf-8")


def test_a_fork_pr_is_evaluated_without_running_its_code_or_reaching_its_endpoints(
    bot: BotEnv, github: GitHubServer, gemini: GeminiServer, tmp_path: Path
) -> None:
    fake: FakeGitHubApp = github.fake  # type: ignore[assignment]
    marker = tmp_path / "code-ran"
    with GeminiServer() as attacker:
        hostile = f"tracking: {{uri: '{attacker.url}/mlflow'}}\njudge: {{base_url: '{attacker.url}'}}\n"
        setup_pr(fake, tmp_path, extra=hostile)
        head_dir = tmp_path / f"head-{HEAD[:4]}"
        text = (
            (head_dir / ".llmops.yml")
            .read_text()
            .replace(
                "{type: gemini, model: gemini-2.5-flash}",
                f"{{type: gemini, model: gemini-2.5-flash, base_url: '{attacker.url}'}}",
            )
        )
        (head_dir / ".llmops.yml").write_text(text)
        booby_trap(head_dir, marker)
        fake.add_tree(HEAD, head_dir)
        fake.add_pull(7, head_sha=HEAD, base_sha="b" * 40, head_repo="evil-fork/llmops-demo")
        server = bot.serve()
        bot.worker()
        payload = pull_request_payload(head_repo="evil-fork/llmops-demo")
        deliver(server.url, "pull_request", payload)
        (job,) = wait_for(lambda: finished(server.url), timeout=60)

        assert job["state"] == "done", job
        assert attacker.requests == []  # the key went to the bot's Gemini, never to the PR's endpoint
        assert gemini.generation_requests() and all(
            r.headers.get("x-goog-api-key") == GEMINI_KEY for r in gemini.generation_requests()
        )
    assert not marker.exists()
    assert len(fake.bot_comments(7)) == 1  # fork PRs get their comment: the bot holds the token
    assert {r["name"] for r in fake.runs(HEAD)} == NAMES


def test_a_python_provider_config_is_refused_with_its_message(
    bot: BotEnv, github: GitHubServer, gemini: GeminiServer, tmp_path: Path
) -> None:
    fake: FakeGitHubApp = github.fake  # type: ignore[assignment]
    marker = tmp_path / "code-ran"
    setup_pr(fake, tmp_path, provider="python")
    booby_trap(tmp_path / f"head-{HEAD[:4]}", marker)
    fake.add_tree(HEAD, tmp_path / f"head-{HEAD[:4]}")
    server = bot.serve()
    bot.worker()
    deliver(server.url, "pull_request", pull_request_payload())
    (job,) = wait_for(lambda: finished(server.url), timeout=60)

    assert job["state"] == "refused"
    runs = fake.runs(HEAD)
    assert {r["name"] for r in runs} == NAMES
    for run in runs:
        assert run["status"] == "completed" and run["conclusion"] == "neutral"
        assert run["output"]["title"] == "llmops: this suite needs the Action"
        assert "provider is `python`" in run["output"]["summary"]
        assert "#the-bot-runs-data-only-suites" in run["output"]["summary"]
    assert gemini.requests == [] and not marker.exists()
    assert fake.bot_comments(7) == []
