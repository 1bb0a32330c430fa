"""The Action under the trust policy, run as the runner runs it, against the fake GitHub API.

Fork PRs: the trusted `workflow_run` (mode: report) evaluates the fork's prompts and datasets as data under
the base's config; the statuses come from that evaluation, never from the fork's artifact, and a config
that needs the fork's code stays pending for a maintainer. Same-repo PRs: the app's code runs, but never
sees the token, the key or any INPUT_*.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from llmops_action.core.comparison import Comparison, RunRef
from llmops_action.core.results import GateResult
from llmops_action.core.trust import NEEDS_MAINTAINER, UNVERIFIED
from tests.support.action_runner import REPO, ActionProject
from tests.support.gemini_server import GeminiServer
from tests.support.github_server import FakeGitHub, GitHubServer, load_payload
from tests.support.pr_project import FORGETS_THE_COUNTRY, gemini_prompt, write_gemini_project

pytestmark = pytest.mark.slow
CONTEXTS = ("llmops/quality", "llmops/regression", "llmops/drift")
KEY = "AIzaSyFAKE-base-key-0123456789abcdef"
TOKEN = "ghs_FAKEtoken0123456789abcdefghijkl"
FORK = "mallory/llmops-demo"


def gemini_main(project: ActionProject) -> None:
    """main becomes a project whose model is Gemini: the fake echoes the prompt, so dropping the country
    from the template loses every keyword."""
    dev = project.dev
    for p in dev.path.iterdir():
        if p.name != ".git":
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    write_gemini_project(dev.path, store="store: git-branch")
    project.base_sha = dev.commit("a gemini project")
    dev.push("main")


def workflow_run_event(head_sha: str) -> dict:
    event = load_payload("workflow_run", "completed.with-pull-requests.payload.json")
    # GitHub leaves pull_requests empty for a fork's run; the fork is the run's head repository.
    event["workflow_run"].update(head_sha=head_sha, pull_requests=[], event="pull_request")
    event["workflow_run"]["head_repository"]["full_name"] = FORK
    return event


def forged_artifact(folder: Path, head_sha: str, number: int) -> Path:
    """What a fork's own run can upload: a comparison that says everything passed."""
    folder.mkdir(parents=True)
    gate = GateResult(
        name="regression/score", family="regression", metric="score", status="pass", blocking=True
    )
    c = Comparison(suite="capitals", head=RunRef(sha=head_sha), verdict="pass", gates=[gate])
    (folder / "comparison.json").write_text(c.to_json(), encoding="utf-8")
    (folder / "pr.json").write_text(json.dumps({"number": number}), encoding="utf-8")
    return folder


def test_a_fork_whose_artifact_claims_pass_while_its_prompt_degrades_gets_failure(tmp_path: Path) -> None:
    project = ActionProject(tmp_path / "p")
    gemini_main(project)
    head = project.head("fork-prompt", {"prompts/answer.yml": gemini_prompt("1.1.0", FORGETS_THE_COUNTRY)})
    fake = FakeGitHub(REPO, token=TOKEN)
    fake.add_pull(6, head_sha=head, base_sha=project.base_sha, head_repo=FORK)
    artifact = forged_artifact(tmp_path / "artifact", head, 6)
    with GitHubServer(fake) as server, GeminiServer() as gemini:
        out = project.run(
            "workflow_run",
            workflow_run_event(head),
            sha=project.base_sha,  # the trusted workflow checks out the base, never the fork
            api_url=server.url,
            token=TOKEN,
            inputs={"MODE": "report", "ARTIFACT-PATH": str(artifact), "GEMINI-API-KEY": KEY},
            extra_env={"GOOGLE_GEMINI_BASE_URL": gemini.url},
        )
        asked = gemini.generation_requests()

    assert out.code == 1, out.stdout[-3000:] + out.stderr[-3000:]
    statuses = fake.latest_statuses(head)
    assert statuses["llmops/regression"] == "failure"
    assert "success" not in [
        s["state"] for s in fake.status_posts(head) if s["context"] == "llmops/regression"
    ]
    assert asked and all(
        r.headers.get("x-goog-api-key") == KEY for r in asked
    )  # evaluated here, with the key
    [comment] = fake.comments[6]
    assert UNVERIFIED in comment["body"] and "verdict pass" in comment["body"]
    assert "regression/score" in comment["body"] and "fail" in comment["body"]
    assert project.dev.git("rev-parse", "HEAD").strip() == project.base_sha  # nothing was merged or moved


def test_a_fork_whose_config_needs_its_own_code_stays_pending_for_a_maintainer(tmp_path: Path) -> None:
    project = ActionProject(tmp_path / "p")  # the quickstart: a `python` provider, the app's own code
    head = project.head("fork-code", {"app.py": "raise SystemExit('this must never run')\n"})
    fake = FakeGitHub(REPO, token=TOKEN)
    fake.add_pull(7, head_sha=head, base_sha=project.base_sha, head_repo=FORK)
    artifact = forged_artifact(tmp_path / "artifact", head, 7)
    with GitHubServer(fake) as server:
        out = project.run(
            "workflow_run",
            workflow_run_event(head),
            sha=project.base_sha,
            api_url=server.url,
            token=TOKEN,
            inputs={"MODE": "report", "ARTIFACT-PATH": str(artifact), "GEMINI-API-KEY": KEY},
        )

    assert out.code == 0, out.stdout[-3000:] + out.stderr[-3000:]
    latest = {s["context"]: s for s in fake.status_posts(head)}
    for ctx in ("llmops/quality", "llmops/regression"):
        assert latest[ctx]["state"] == "pending" and NEEDS_MAINTAINER in latest[ctx]["description"]
    assert all(s["state"] != "success" for s in fake.status_posts(head))
    [comment] = fake.comments[7]
    assert NEEDS_MAINTAINER in comment["body"] and "llmops:trusted" in comment["body"]
    assert UNVERIFIED in comment["body"]
    assert "this must never run" not in out.stdout + out.stderr


ENV_APPS = {
    "python": (
        "provider:\n  type: python\n  function: app:answer\n",
        "import json, os\n\n\ndef answer(question, **kw):\n    return json.dumps(dict(os.environ))\n",
    ),
    "command": (
        "provider:\n  type: command\n  command: python3 app.py\n",
        "import json, os, sys\nsys.stdin.read()\nprint(json.dumps(dict(os.environ)))\n",
    ),
}


@pytest.mark.parametrize("kind", list(ENV_APPS))
def test_the_apps_code_never_sees_the_token_the_key_or_any_input(kind: str, tmp_path: Path) -> None:
    project = ActionProject(tmp_path / "p")
    provider, app = ENV_APPS[kind]
    config = (project.dev.path / ".llmops.yml").read_text()
    start = config.index("provider:\n")
    end = config.index("\n\n", start)
    head = project.head(
        f"env-{kind}", {"app.py": app, ".llmops.yml": config[:start] + provider + config[end:]}
    )
    fake = FakeGitHub(REPO, token=TOKEN)
    fake.add_pull(8, head_sha=head, base_sha=project.base_sha)
    planted = {"GITHUB_TOKEN": TOKEN, "ACTIONS_RUNTIME_TOKEN": "rt-" + TOKEN, "GEMINI_API_KEY": KEY}
    with GitHubServer(fake) as server, GeminiServer() as gemini:  # the quickstart's judge runs with the key
        out = project.run(
            "pull_request",
            project.pr_payload("opened", head, number=8),
            sha=head,
            api_url=server.url,
            token=TOKEN,
            inputs={"GEMINI-API-KEY": KEY},
            extra_env={**planted, "GOOGLE_GEMINI_BASE_URL": gemini.url},
        )

    results = json.loads((out.out_dir / "results.json").read_text())
    printed = [json.loads(c["output"]) for c in results["cases"] if c.get("output")]
    assert printed and all("PATH" in env for env in printed), out.stdout[-3000:] + out.stderr[-3000:]
    for env in printed:
        assert [k for k in env if k.startswith(("INPUT_", "ACTIONS_")) or k in planted] == []
        assert TOKEN not in json.dumps(env) and KEY not in json.dumps(env)


@pytest.mark.parametrize(("sender", "permission"), [("maintainer", "maintain"), ("drive-by", "triage")])
def test_the_trusted_label_runs_a_forks_code_only_when_a_writer_adds_it(
    sender: str, permission: str, tmp_path: Path
) -> None:
    project = ActionProject(tmp_path / "p")
    head = project.head("fork-reviewed", {"NOTES.md": "reviewed by a maintainer\n"})
    fake = FakeGitHub(REPO, token=TOKEN)
    fake.add_pull(9, head_sha=head, base_sha=project.base_sha, head_repo=FORK)
    fake.permissions = {sender: permission}
    payload = project.pr_payload("opened", head, number=9, fork=FORK)
    payload.update(action="labeled", label={"name": "llmops:trusted"})
    payload["sender"]["login"] = sender
    with GitHubServer(fake) as server, GeminiServer() as gemini:
        out = project.run(
            "pull_request_target",
            payload,
            sha=head,  # the maintainer's workflow checks out the labelled head sha
            api_url=server.url,
            token=TOKEN,
            inputs={"GEMINI-API-KEY": KEY},
            extra_env={"GOOGLE_GEMINI_BASE_URL": gemini.url},
        )

    assert out.code == 0, out.stdout[-3000:] + out.stderr[-3000:]
    asked = [r.path for r in fake.requests if "/collaborators/" in r.path]
    assert asked == [f"/repos/{REPO}/collaborators/{sender}/permission"]  # from the API, not the payload
    latest = fake.latest_statuses(head)
    [comment] = fake.comments[9]
    if permission == "maintain":
        assert latest == dict.fromkeys(CONTEXTS, "success") and NEEDS_MAINTAINER not in comment["body"]
    else:
        assert latest["llmops/quality"] == latest["llmops/regression"] == "pending"
        assert NEEDS_MAINTAINER in comment["body"] and "only a writer's label counts" in out.stdout
