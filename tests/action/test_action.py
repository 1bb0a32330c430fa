"""Runner emulation: the entrypoint runs as GitHub runs a container action, against a local fake GitHub.

Each run is a subprocess with only environment variables (INPUT_* with hyphens kept, GITHUB_EVENT_PATH
pointing at a real webhook payload rewritten to this repository's shas), cwd = a fresh clone of a real
git repository holding the quickstart, and GITHUB_API_URL pointing at tests/support/github_server.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmops_action.action.io import Console, escape_data, escape_property
from llmops_action.action.main import main
from tests.support.action_runner import REPO, ActionProject, copy_artifact, degraded_app
from tests.support.github_server import SECONDARY_RATE_LIMIT_BODY, FakeGitHub, GitHubServer, load_payload

pytestmark = pytest.mark.slow
CONTEXTS = ("llmops/quality", "llmops/regression", "llmops/drift")
MARKER = "<!-- llmops-action:comment suite=quickstart -->"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> ActionProject:
    return ActionProject(tmp_path_factory.mktemp("action"))


@pytest.fixture
def github() -> tuple[FakeGitHub, GitHubServer]:
    fake = FakeGitHub(REPO)
    with GitHubServer(fake) as server:
        yield fake, server


def writes(fake: FakeGitHub) -> list[str]:
    return [f"{r.method} {r.path}" for r in fake.requests if r.method != "GET"]


def assert_pending_then_final(fake: FakeGitHub, sha: str) -> dict[str, str]:
    posts = fake.status_posts(sha)
    for ctx in CONTEXTS:
        states = [s["state"] for s in posts if s["context"] == ctx]
        assert states[0] == "pending" and len(states) == 2 and states[1] != "pending", (ctx, states)
    for s in posts:
        assert s["description"].isascii() and len(s["description"]) <= 140
        assert s["target_url"].startswith(f"https://github.com/{REPO}/actions/runs/")
    return fake.latest_statuses(sha)


def test_first_pr_run_creates_one_comment_and_three_statuses_then_updates_it(project, github) -> None:
    fake, server = github
    head = project.head("feature-same", {"NOTES.md": "a docs-only change\n"})
    fake.add_pull(2, head_sha=head, base_sha=project.base_sha)

    first = project.run("pull_request", project.pr_payload("opened", head), sha=head, api_url=server.url)

    assert first.code == 0, first.stdout + first.stderr
    [comment] = fake.comments[2]
    assert comment["body"].startswith(MARKER) and comment["user"]["login"] == "github-actions[bot]"
    assert assert_pending_then_final(fake, head) == dict.fromkeys(CONTEXTS, "success")
    assert first.outputs["verdict"] in ("pass", "warn")
    assert first.outputs["comment-url"] == comment["html_url"]
    assert first.outputs["results-path"] == ".llmops/out/results.json"
    assert float(first.outputs["score"]) > 0 and first.outputs["score-delta"] == "0.0000"
    assert "quickstart" in first.summary and len(first.summary) > 200
    assert {"comparison.json", "comment.md", "summary.md", "junit.xml", "results.json", "pr.json"} <= {
        p.name for p in first.out_dir.iterdir()
    }

    second = project.run(
        "pull_request", project.pr_payload("synchronize", head), sha=head, api_url=server.url
    )

    assert second.code == 0, second.stdout + second.stderr
    assert [c["id"] for c in fake.comments[2]] == [comment["id"]]
    assert writes(fake).count(f"POST /repos/{REPO}/issues/2/comments") == 1
    assert writes(fake).count(f"PATCH /repos/{REPO}/issues/comments/{comment['id']}") == 1


def test_a_degrading_head_sets_failure_and_exits_1(project, github) -> None:
    fake, server = github
    head = project.head("feature-bad", {"app.py": degraded_app()})
    fake.add_pull(3, head_sha=head, base_sha=project.base_sha)

    out = project.run(
        "pull_request", project.pr_payload("opened", head, number=3), sha=head, api_url=server.url
    )

    assert out.code == 1, out.stdout + out.stderr
    assert assert_pending_then_final(fake, head)["llmops/regression"] == "failure"
    assert out.outputs["verdict"] == "fail" and float(out.outputs["score-delta"]) < 0
    adjusted = [d["psi_adjusted"] for d in out.comparison()["drift"] if d["psi_adjusted"] is not None]
    assert float(out.outputs["psi-max"]) == pytest.approx(max(adjusted), abs=1e-4)  # as documented
    assert "::error file=.llmops.yml,title=llmops regression::gate regression/" in out.stdout
    assert len(fake.comments[3]) == 1


def test_a_push_saves_the_baseline_and_the_next_pr_uses_it(tmp_path: Path, github) -> None:
    fake, server = github
    project = ActionProject(tmp_path)  # its own remote: no baseline exists before this push

    pushed = project.run(
        "push", project.push_payload(project.base_sha), sha=project.base_sha, api_url=server.url
    )

    assert pushed.code == 0, pushed.stdout + pushed.stderr
    assert project.dev.git("ls-remote", "origin", "llmops-baselines").strip()
    assert assert_pending_then_final(fake, project.base_sha)["llmops/quality"] == "success"
    assert "baseline" in pushed.summary and "llmops-baselines" in pushed.summary

    head = project.head("feature", {"NOTES.md": "x\n"})
    fake.add_pull(4, head_sha=head, base_sha=project.base_sha)
    pr = project.run(
        "pull_request", project.pr_payload("opened", head, number=4), sha=head, api_url=server.url
    )

    assert pr.code == 0, pr.stdout + pr.stderr
    comparison = pr.comparison()
    assert comparison["base_source"] == "stored" and comparison["base"]["sha"] == project.base_sha


def test_tag_pushes_deleted_refs_and_other_branches_are_skipped(project, github) -> None:
    fake, server = github
    deleted = load_payload("push", "payload.json")  # the fixture deletes refs/tags/simple-tag
    out = project.run("push", deleted, sha=project.base_sha, api_url=server.url)
    other = project.run(
        "push",
        {**project.push_payload(project.base_sha), "ref": "refs/heads/dev"},
        sha=project.base_sha,
        api_url=server.url,
    )

    assert (out.code, other.code) == (0, 0)
    assert "deleted" in out.stdout and "not the default branch" in other.stdout
    assert writes(fake) == []


def test_a_fork_pr_posts_nothing_and_explains_report_mode(project, github) -> None:
    fake, server = github
    head = project.head("fork-feature", {"NOTES.md": "from a fork\n"})
    payload = project.pr_payload("opened", head, number=5, fork="mallory/llmops-demo")

    out = project.run("pull_request", payload, sha=head, api_url=server.url)

    assert out.code == 0, out.stdout + out.stderr
    assert fake.requests == []
    assert (
        "::notice title=llmops-action%3A report mode::Report only: this pull request comes from the fork"
        in out.stdout
    )
    assert "mode: report" in out.stdout and len(out.summary) > 200
    assert json.loads((out.out_dir / "pr.json").read_text())["number"] == 5


def test_report_mode_validates_the_fork_artifact_and_never_posts_from_it(
    project, github, tmp_path: Path
) -> None:
    fake, server = github
    head = project.head("fork-feature-2", {"NOTES.md": "from a fork, again\n"})
    fork_run = project.run(
        "pull_request",
        project.pr_payload("opened", head, number=6, fork="mallory/x"),
        sha=head,
        api_url=server.url,
    )
    artifact = copy_artifact(fork_run, tmp_path / "artifact")
    (artifact / "comment.md").write_text(
        "@everyone free money <!-- llmops-action:comment suite=quickstart -->"
    )
    fake.add_pull(6, head_sha=head, base_sha=project.base_sha, head_repo="mallory/x")
    run_event = load_payload("workflow_run", "completed.with-pull-requests.payload.json")
    run_event["workflow_run"].update(head_sha=head, pull_requests=[])  # GitHub leaves it empty for forks
    inputs = {"MODE": "report", "ARTIFACT-PATH": str(artifact)}

    out = project.run("workflow_run", run_event, sha=project.base_sha, api_url=server.url, inputs=inputs)

    assert out.code == 0, out.stdout + out.stderr
    [comment] = fake.comments[6]
    assert comment["body"].startswith(MARKER) and "free money" not in comment["body"]
    # The quickstart's provider is the app's own code: a trusted run never executes a fork's code.
    assert fake.latest_statuses(head) == dict.fromkeys(CONTEXTS, "pending")

    tampered = json.loads((artifact / "comparison.json").read_text())
    tampered["head"]["sha"] = "f" * 40
    (artifact / "comparison.json").write_text(json.dumps(tampered))
    before = len(fake.requests)
    refused = project.run("workflow_run", run_event, sha=project.base_sha, api_url=server.url, inputs=inputs)

    assert refused.code == 2 and "refusing it" in refused.stdout
    assert fake.requests[before:] == []


def test_502s_and_a_secondary_rate_limit_while_posting_leave_exactly_one_comment(project, github) -> None:
    fake, server = github
    head = project.head("feature-flaky", {"NOTES.md": "flaky network\n"})
    fake.add_pull(7, head_sha=head, base_sha=project.base_sha)
    comments = r"/issues/7/comments$"
    fake.fail("GET", comments, nth=1, status=502)
    fake.fail("POST", comments, nth=1, status=502, apply_first=True)  # landed, but the answer was lost
    fake.fail(
        "PATCH",
        r"/issues/comments/",
        nth=1,
        status=403,
        headers={"Retry-After": "1"},
        body=SECONDARY_RATE_LIMIT_BODY,
    )
    fake.fail(
        "POST", r"/statuses/", nth=4, status=403, headers={"Retry-After": "1"}, body=SECONDARY_RATE_LIMIT_BODY
    )

    out = project.run(
        "pull_request", project.pr_payload("opened", head, number=7), sha=head, api_url=server.url
    )

    assert out.code == 0, out.stdout + out.stderr
    assert all(f.fired for f in fake.faults)
    assert len(fake.comments[7]) == 1
    assert writes(fake).count(f"POST /repos/{REPO}/issues/7/comments") == 1
    assert fake.latest_statuses(head) == dict.fromkeys(CONTEXTS, "success")


def test_a_bad_config_ends_every_pending_status_in_error_and_exits_2(project, github) -> None:
    fake, server = github
    head = project.head(
        "feature-typo",
        {
            ".llmops.yml": "version: 1\ndatasets: [datasets/support.jsonl]\nprovider: {type: python, function: app:answer}\nmetrics: [{type: bleu}]\ngatez: {}\n"
        },
    )
    fake.add_pull(8, head_sha=head, base_sha=project.base_sha)

    out = project.run(
        "pull_request", project.pr_payload("opened", head, number=8), sha=head, api_url=server.url
    )

    assert out.code == 2
    assert "::error file=.llmops.yml,line=5" in out.stdout and "gatez" in out.stdout
    assert assert_pending_then_final(fake, head) == dict.fromkeys(CONTEXTS, "error")
    assert 8 not in fake.comments


def test_a_token_that_cannot_write_falls_back_to_report_only(project, github) -> None:
    fake, server = github
    fake.denied = {"status", "comment"}
    head = project.head("feature-readonly", {"NOTES.md": "read-only token\n"})
    fake.add_pull(9, head_sha=head, base_sha=project.base_sha)

    out = project.run(
        "pull_request", project.pr_payload("opened", head, number=9), sha=head, api_url=server.url
    )

    assert out.code == 0, out.stdout + out.stderr
    assert "statuses: write is missing" in out.stdout and fake.statuses == [] and 9 not in fake.comments


# --- in-process: inputs and workflow-command formatting --------------------------------------------------


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"INPUT_COMMENT": "yes"}, "input 'comment': must be true or false, got 'yes'"),
        ({"INPUT_FAIL-ON": "quality,speed"}, "input 'fail-on': unknown gate family speed"),
        ({"INPUT_MODE": "nightly"}, "input 'mode': must be one of auto, pr, push, schedule, report"),
        ({"INPUT_SHARD": "3/2"}, "input 'shard': shard must look like 'i/n'"),
    ],
)
def test_bad_inputs_exit_2_naming_the_input(
    env: dict[str, str], message: str, capsys, tmp_path: Path
) -> None:
    code = main({**env, "GITHUB_WORKSPACE": str(tmp_path), "HOME": str(tmp_path)})

    assert code == 2
    assert message in capsys.readouterr().out


def test_secret_inputs_are_redacted_and_never_echoed_in_add_mask(capsys, tmp_path: Path) -> None:
    env = {"INPUT_GITHUB-TOKEN": "ghs_abc%def", "INPUT_GEMINI_API_KEY": "AIza-k", "INPUT_COMMENT": "AIza-k"}

    main({**env, "GITHUB_WORKSPACE": str(tmp_path), "HOME": str(tmp_path)})

    out = capsys.readouterr().out
    assert "::add-mask::" not in out  # the runner masks secrets.* itself; this line would print the value
    assert "got '***'" in out and "AIza-k" not in out and "ghs_abc" not in out


def test_a_derived_value_is_masked_once_and_redacted(capsys) -> None:
    console = Console()
    console.add_mask("derived-1")
    console.add_mask("derived-1")
    console.info("value derived-1 here")
    assert capsys.readouterr().out.splitlines() == ["::add-mask::derived-1", "value *** here"]


def test_workflow_command_escaping() -> None:
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("a:b,c") == "a%3Ab%2Cc"


def test_unsupported_events_are_bad_input(capsys, tmp_path: Path) -> None:
    env = {"GITHUB_EVENT_NAME": "issues", "GITHUB_WORKSPACE": str(tmp_path), "HOME": str(tmp_path)}
    assert main(env) == 2
    assert "the event 'issues' is not supported" in capsys.readouterr().out


# --- secrets ------------------------------------------------------------------------------------------------

FAKE_TOKEN = "ghs_SECRETtoken0123456789abcdef"
FAKE_GEMINI_KEY = "AIzaSyFAKE-gemini-key-0123456789"


def _files_text(folder: Path) -> str:
    return "\n".join(
        p.read_text(encoding="utf-8", errors="replace") for p in sorted(folder.rglob("*")) if p.is_file()
    )


def test_no_secret_reaches_comments_summaries_outputs_logs_results_artifacts_or_mlflow(
    tmp_path: Path,
) -> None:
    from tests.support.gemini_server import GeminiServer

    project = ActionProject(tmp_path / "p")
    fake = FakeGitHub(REPO, token=FAKE_TOKEN)
    inputs = {"GEMINI-API-KEY": FAKE_GEMINI_KEY}
    with GitHubServer(fake) as server, GeminiServer() as gemini:
        env = {"GOOGLE_GEMINI_BASE_URL": gemini.url}
        kw = {"api_url": server.url, "inputs": inputs, "extra_env": env, "token": FAKE_TOKEN}
        runs = [project.run("push", project.push_payload(project.base_sha), sha=project.base_sha, **kw)]
        head = project.head("feature", {"app.py": degraded_app()})
        fake.add_pull(2, head_sha=head, base_sha=project.base_sha)
        runs.append(project.run("pull_request", project.pr_payload("opened", head), sha=head, **kw))
        fork_head = project.head("fork", {"NOTES.md": "fork\n"})
        fork = project.run(
            "pull_request", project.pr_payload("opened", fork_head, number=3, fork="m/x"), sha=fork_head, **kw
        )
        runs.append(fork)
        fake.add_pull(3, head_sha=fork_head, base_sha=project.base_sha, head_repo="m/x")
        event = load_payload("workflow_run", "completed.with-pull-requests.payload.json")
        event["workflow_run"].update(head_sha=fork_head, pull_requests=[])
        artifact = copy_artifact(fork, tmp_path / "artifact")
        report_inputs = {**inputs, "MODE": "report", "ARTIFACT-PATH": str(artifact)}
        runs.append(
            project.run("workflow_run", event, sha=project.base_sha, **{**kw, "inputs": report_inputs})
        )
        assert gemini.judge_requests(), "the judge ran with the key, so the key was really in play"

    # The report run's code follows the fork's gates (its judge was skipped); what matters is that it posted.
    codes = [r.code for r in runs]
    assert codes[:3] == [0, 1, 0] and codes[3] in (0, 1), [r.stdout[-2000:] + r.stderr[-2000:] for r in runs]
    assert fake.comments[2] and fake.comments[3] and fake.statuses
    haystacks = {
        "comments": json.dumps(fake.comments),
        "statuses": json.dumps(fake.statuses),
        "sent to GitHub (bodies, headers but Authorization)": fake.sent_text(),
        "baseline branch": project.dev.git("log", "-p", "origin/llmops-baselines")
        if project.dev.git("fetch", "--quiet", "origin") == ""
        else "",
    }
    for i, r in enumerate(runs):
        haystacks[f"run {i} log"] = r.stdout + r.stderr
        haystacks[f"run {i} outputs"] = json.dumps(r.outputs)
        haystacks[f"run {i} summary"] = r.summary
        # .llmops/ holds out/ and the project's embedded MLflow store (mlflow.db: traces, assessments,
        # params, tags; mlartifacts/: the files and the table).
        haystacks[f"run {i} results, artifacts and MLflow store"] = _files_text(r.workspace / ".llmops")
    assert haystacks["baseline branch"]
    store = runs[1].workspace / ".llmops"
    assert (store / "mlflow.db").is_file() and (store / "mlartifacts").is_dir()
    for where, text in haystacks.items():
        for secret in (FAKE_TOKEN, FAKE_GEMINI_KEY):
            assert secret not in text, f"{secret[:8]}... leaked into {where}"
    for r in runs:
        assert "::add-mask::" not in r.stdout


def test_a_scheduled_run_opens_one_alert_issue_on_a_regression_and_updates_it(tmp_path: Path, github) -> None:
    fake, server = github
    project = ActionProject(tmp_path)
    saved = project.run(
        "push", project.push_payload(project.base_sha), sha=project.base_sha, api_url=server.url
    )
    assert saved.code == 0, saved.stdout + saved.stderr
    project.dev.write("app.py", degraded_app())
    main_sha = project.dev.commit("a regression lands on main without a baseline")
    project.dev.push("main")
    event = {"schedule": "17 4 * * *", "repository": {"full_name": REPO, "default_branch": "main"}}

    runs = [project.run("schedule", event, sha=main_sha, api_url=server.url) for _ in range(2)]

    assert [r.code for r in runs] == [1, 1], runs[0].stdout + runs[0].stderr
    [issue] = fake.issues.values()
    assert issue["state"] == "open" and "regression" in issue["title"]
    assert "llmops-action:alert suite=quickstart" in issue["body"] and "/actions/runs/" in issue["body"]
    assert writes(fake).count(f"POST /repos/{REPO}/issues") == 1
