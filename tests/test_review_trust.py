"""A pull request cannot decide its own checks: evidence on real git repositories (issue 10).

Each test is a PR doing what a hostile or careless PR would do: lower its gates, commit its own cache
entries and baseline, point the provider at a server it controls, read the environment from a command
provider, name files outside the repository. The review core must not be moved by any of it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from llmops_action.cli.main import main as cli_main
from llmops_action.core.events import EventFacts
from llmops_action.errors import EXIT_BAD_INPUT, EXIT_GATE_FAILED, UserInputError
from llmops_action.review import PullSources, Review, Services, review_pull_request
from tests.support.gemini_server import GeminiServer, response_body
from tests.support.gitrepo import GitRepo, init_repo
from tests.support.pr_project import (
    CAPITALS,
    FORGETS_THE_COUNTRY,
    degrade_prompt,
    gemini_prompt,
    write_gemini_project,
    write_project,
)

pytestmark = pytest.mark.slow  # each test evaluates a small project twice (head, then the base)

KEY = "AIzaSyFAKE-key-of-the-base-0123456789"
TOKEN = "ghs_FAKEtoken0123456789abcdefghijkl"


@pytest.fixture(autouse=True)
def _fresh_app_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "app", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))


def review(config: Path, out: Path, **services: object) -> Review:
    """The PR in the checkout (head) against main, as the Action reviews it: state kept outside the repo."""
    return review_pull_request(
        EventFacts(event="pull_request", pr_number=2, repo="octo/demo", head_repo="octo/demo"),
        PullSources.for_checkout(config),
        Services(out_dir=out, base_ref="main", **services),  # type: ignore[arg-type]
    )


# --- a gemini project: the fake Gemini echoes the prompt, so a prompt that drops the country degrades it ----


def gemini_project(tmp_path: Path) -> tuple[GitRepo, Path]:
    repo = init_repo(tmp_path / "repo")
    write_gemini_project(repo.path, store="store: dir, path: .llmops/baselines")
    repo.write(".gitignore", ".llmops/\n")
    repo.commit("the project")
    return repo, repo.path / ".llmops.yml"


def degrade(repo: GitRepo) -> None:
    repo.write("prompts/answer.yml", gemini_prompt("1.1.0", FORGETS_THE_COUNTRY))


@pytest.fixture
def gemini(monkeypatch: pytest.MonkeyPatch) -> GeminiServer:
    with GeminiServer() as server:
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.url)  # the environment is the runner's: trusted
        yield server


# --- tests --------------------------------------------------------------------------------------------------


def test_a_pr_that_lowers_its_gates_and_drops_the_regression_gate_still_fails(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    config = write_project(repo.path, provider="command")
    repo.commit("project")
    repo.checkout("feature", new=True)
    degrade_prompt(repo.path)
    text = config.read_text()
    text = text.replace("{metric: error_rate, max: 0.0}", "{metric: error_rate, max: 1.0}")
    config.write_text(text.replace("metrics: [score]", "metrics: []"))
    repo.commit("friendlier prompt, and gates that let it through")

    outcome = review(config, tmp_path / "out")

    c = outcome.comparison
    assert outcome.exit_code == EXIT_GATE_FAILED and c is not None
    assert next(g for g in c.gates if g.name == "regression/score").status == "fail"
    assert c.gate_changes == [
        "gates.absolute[0].max: 0.0 -> 1.0",
        "gates.regression.metrics: ['score'] -> []",
    ]
    comment = outcome.comment or ""
    assert "#### Changes to the gates (take effect after merge)" in comment
    assert "- `gates.regression.metrics: ['score'] -> []`" in comment
    assert outcome.statuses["regression"][0] == "failure"


def test_cache_entries_and_a_baseline_the_pr_commits_are_never_read(
    tmp_path: Path, gemini: GeminiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmops_action.adapters.baseline.dir import DirBaselineStore
    from llmops_action.engine.evaluate import evaluate
    from llmops_action.engine.workspace import load_workspace

    repo, config = gemini_project(tmp_path)
    base_sha = repo.head()
    repo.checkout("honest", new=True)
    degrade(repo)
    repo.commit("degrade")
    honest = review(config, tmp_path / "honest", api_key=KEY, state_dir=tmp_path / "state-1")

    repo.checkout("forged", new=True)
    # The forger answers every request perfectly on its own machine and commits that cache...
    echo = gemini.handler
    gemini.handler = lambda body, model: (200, response_body("Every country: " + " ".join(CAPITALS)), {})
    ws = load_workspace(config)
    forged_cache = evaluate(ws, api_key="forger", cache_dir=repo.path / ".llmops" / "cache", git_sha=base_sha)
    assert forged_cache.aggregates["score"] == 1.0  # what the PR would get if its cache were read
    gemini.handler = echo
    # ...and a baseline record for the merge-base that scores like the degraded head (no regression to see).
    fake_base = evaluate(ws, api_key="forger", use_cache=False, git_sha=base_sha)
    DirBaselineStore(repo.path / ".llmops" / "baselines").save(fake_base)
    repo.git("add", "-f", ".llmops")
    repo.commit("cache and baseline, forged")
    committed = repo.git("ls-files", ".llmops")
    assert ".llmops/cache/" in committed and ".llmops/baselines/capitals/" in committed
    gemini.requests.clear()

    forged = review(config, tmp_path / "forged", api_key=KEY, state_dir=tmp_path / "state-2")

    assert forged.comparison is not None and honest.comparison is not None
    assert forged.comparison.base_source == honest.comparison.base_source == "rerun"
    assert forged.comparison.verdict == honest.comparison.verdict == "fail"
    assert forged.head is not None and honest.head is not None
    assert forged.head.aggregates["score"] == honest.head.aggregates["score"] == 0.0
    assert not any("Every country" in (c.output or "") for c in forged.head.cases)
    assert gemini.generation_requests()  # the head really asked the model
    assert list((tmp_path / "state-2" / "cache").rglob("*.json"))  # the run's own cache, outside the repo


def test_a_provider_endpoint_set_by_the_pr_never_receives_the_key(
    tmp_path: Path, gemini: GeminiServer
) -> None:
    repo, config = gemini_project(tmp_path)
    repo.checkout("feature", new=True)
    with GeminiServer() as theirs:
        text = config.read_text().replace(
            "model: gemini-2.5-flash}", f"model: gemini-2.5-flash, base_url: '{theirs.url}'}}"
        )
        config.write_text(text)
        repo.commit("route the model through my proxy")

        with pytest.raises(UserInputError, match="evaluated without keys") as err:
            review(config, tmp_path / "out", api_key=KEY)

        assert err.value.key == "provider.base_url" and err.value.exit_code == EXIT_BAD_INPUT
        assert theirs.requests == []
    assert gemini.requests == []  # refused before any call


def test_a_judge_endpoint_set_by_the_pr_is_not_used(tmp_path: Path, gemini: GeminiServer) -> None:
    repo = init_repo(tmp_path / "repo")
    config = write_project(repo.path, provider="command")
    config.write_text(config.read_text().replace("  - {type: keyword_recall, weight: 1.0}", JUDGE_METRICS))
    repo.commit("project with a judge")
    repo.checkout("feature", new=True)
    with GeminiServer() as theirs:
        config.write_text(config.read_text() + f"judge: {{base_url: '{theirs.url}'}}\n")
        repo.commit("my judge")

        outcome = review(config, tmp_path / "out", api_key=KEY)

        assert theirs.requests == []
    assert outcome.comparison is not None
    assert any(c.startswith("judge.base_url: (none) -> ") for c in outcome.comparison.gate_changes)
    judged = gemini.judge_requests()
    assert judged and all(r.headers.get("x-goog-api-key") == KEY for r in judged)


JUDGE_METRICS = """  - {type: keyword_recall, weight: 1.0}
  - {type: judge, criterion: answer_relevance}"""

ENV_APP = """import json, os, sys
sys.stdin.read()
print(json.dumps(dict(os.environ)))
"""


def test_a_command_provider_sees_no_token_key_or_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = init_repo(tmp_path / "repo")
    config = write_project(repo.path, provider="command")
    repo.commit("project")
    repo.checkout("feature", new=True)
    repo.write("app.py", ENV_APP)
    repo.commit("an app that prints its environment")
    planted = {
        "INPUT_GITHUB-TOKEN": TOKEN,
        "INPUT_GEMINI-API-KEY": KEY,
        "GITHUB_TOKEN": TOKEN,
        "ACTIONS_RUNTIME_TOKEN": "runtime-" + TOKEN,
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "oidc-" + TOKEN,
        "GEMINI_API_KEY": KEY,
        "GOOGLE_API_KEY": KEY,
    }
    for name, value in planted.items():
        monkeypatch.setenv(name, value)

    outcome = review(config, tmp_path / "out", api_key=KEY)

    assert outcome.head is not None
    printed = [json.loads(c.output or "{}") for c in outcome.head.cases]
    assert printed and all("PATH" in env for env in printed)  # it really printed its environment
    for env in printed:
        assert not [k for k in env if k.startswith(("INPUT_", "ACTIONS_")) or k in planted]
        assert TOKEN not in json.dumps(env) and KEY not in json.dumps(env)
    assert os.environ["GITHUB_TOKEN"] == TOKEN  # the caller's own environment is left alone


@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink"])
def test_a_prompt_path_out_of_the_repository_is_bad_input(
    how: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = init_repo(tmp_path / "repo")
    config = write_project(repo.path, provider="command")
    repo.commit("project")
    repo.checkout("feature", new=True)
    if how == "symlink":
        outside = tmp_path / "outside.yml"
        outside.write_text((repo.path / "prompts" / "answer.yml").read_text().replace("1.0.0", "9.0.0"))
        os.symlink(outside, repo.path / "prompts" / "stolen.yml")
    else:
        target = "../../etc/passwd" if how == "dotdot" else "/etc/passwd"
        config.write_text(config.read_text().replace("prompts: [prompts]", f"prompts: ['{target}']"))
    repo.commit("read something else")

    code = cli_main(["pr", "--config", str(config), "--out", str(tmp_path / "out"), "--no-progress"])

    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT, err
    assert ("links outside the repository" if how == "symlink" else "leaves the repository") in err
    assert not (tmp_path / "out" / "comment.md").exists()
