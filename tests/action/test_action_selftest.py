"""The Action with `selftest: true` on a schedule, run the way the runner runs the container."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.action_runner import REPO, ActionProject
from tests.support.github_server import FakeGitHub, GitHubServer

pytestmark = pytest.mark.slow


def test_a_scheduled_selftest_reports_in_the_summary_and_posts_nothing(tmp_path: Path) -> None:
    project = ActionProject(tmp_path)
    fake = FakeGitHub(REPO)
    event = {"schedule": "17 4 * * 1", "repository": {"full_name": REPO, "default_branch": "main"}}
    with GitHubServer(fake) as server:
        run = project.run(
            "schedule", event, sha=project.base_sha, api_url=server.url, inputs={"SELFTEST": "true"}
        )

    assert run.code == 0, run.stdout + run.stderr
    assert "## Self-test: quickstart" in run.summary and "**PASS**" in run.summary
    assert "| `empty` (gross) | yes |" in run.summary
    assert [r for r in fake.requests if r.method != "GET"] == []
    report = json.loads((run.out_dir / "selftest.json").read_text(encoding="utf-8"))
    assert report["kind"] == "llmops.selftest" and report["exit_code"] == 0
    assert run.outputs["verdict"] in ("pass", "warn")
