"""GET /jobs: the operator page, as HTML in a real headless chromium and as JSON, behind the token."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.bot.test_pull_request import finished, setup_pr
from tests.support.bot import OPERATOR_TOKEN, BotEnv, deliver, get, pull_request_payload, wait_for
from tests.support.chromium import HEADLESS_FLAGS
from tests.support.github_app import FakeGitHubApp
from tests.support.github_server import GitHubServer

pytestmark = pytest.mark.slow


def dump_dom(url: str, profile: Path) -> str:
    exe = shutil.which("chromium")
    if exe is None:
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium)")
    flags = [*HEADLESS_FLAGS, f"--user-data-dir={profile}", "--dump-dom"]
    proc = subprocess.run([exe, *flags, url], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_the_jobs_page_shows_the_jobs_in_a_browser_and_as_json(
    bot: BotEnv, github: GitHubServer, tmp_path: Path
) -> None:
    fake: FakeGitHubApp = github.fake  # type: ignore[assignment]
    setup_pr(fake, tmp_path)
    server = bot.serve()
    bot.worker()
    deliver(server.url, "pull_request", pull_request_payload())
    (job,) = wait_for(lambda: finished(server.url), timeout=60)

    dom = dump_dom(f"{server.url}/jobs?token={OPERATOR_TOKEN}", tmp_path / "profile")
    assert "<h1>Recent jobs</h1>" in dom
    assert f'data-id="{job["id"]}"' in dom
    assert "octo-org/llmops-demo" in dom and job["head_sha"][:12] in dom
    assert 'class="state-done">done' in dom and 'class="verdict-fail">fail' in dom
    assert fake.bot_comments(7)[0]["html_url"] in dom

    status, body = get(
        f"{server.url}/jobs",
        headers={"Authorization": f"Bearer {OPERATOR_TOKEN}", "Accept": "application/json"},
    )
    assert status == 200 and json.loads(body)["jobs"][0]["id"] == job["id"]
    assert get(f"{server.url}/jobs")[0] == 401
    assert get(f"{server.url}/jobs?token=wrong")[0] == 401
