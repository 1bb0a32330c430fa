"""The trust policy as a table: who may run what, with which secrets, under whose gates."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from llmops_action.core.config import parse_config
from llmops_action.core.events import EventFacts, facts_from_payload
from llmops_action.core.paths import check_inside, confine
from llmops_action.core.trust import (
    FIRST_RUN,
    cache_dir,
    decide,
    dir_store_path,
    govern,
    provider_environment,
)
from llmops_action.errors import UserInputError
from tests.support.github_server import load_payload

REPO = "octo-org/llmops-demo"


def pr(event: str = "pull_request", *, fork: bool = False) -> EventFacts:
    p = load_payload("pull_request", "opened.payload.json")
    p["pull_request"]["head"]["repo"]["full_name"] = "mallory/llmops-demo" if fork else REPO
    return facts_from_payload(event, p, repo=REPO)


def workflow_run(*, fork: bool) -> EventFacts:
    p = load_payload("workflow_run", "completed.with-pull-requests.payload.json")
    p["workflow_run"].update(event="pull_request", pull_requests=[])
    p["workflow_run"]["head_repository"]["full_name"] = "mallory/llmops-demo" if fork else REPO
    return facts_from_payload("workflow_run", p, repo=REPO)


def push(branch: str) -> EventFacts:
    p = load_payload("push", "to-default-branch.payload.json")
    p["ref"] = f"refs/heads/{branch}"
    return facts_from_payload("push", p, repo=REPO)


def comment(*, same_repo: bool) -> EventFacts:
    p = load_payload("issue_comment", "created.on-pull-request.payload.json")
    p["comment"]["body"] = "/llmops run"
    f = facts_from_payload("issue_comment", p, repo=REPO)
    # The comment payload does not say where the head lives: the caller fills it from the PR.
    return EventFacts(**{**f.__dict__, "head_repo": REPO if same_repo else None})


SCHEDULE = facts_from_payload("schedule", {"repository": {"full_name": REPO, "default_branch": "main"}})

# event, secrets, permission/label, act, runs python/command, head read as data, posts, saves a baseline
TABLE = [
    ("same-repo PR", pr(), True, {}, True, True, False, True, False),
    ("fork PR (no secrets)", pr(fork=True), False, {}, True, True, False, False, False),
    ("fork PR with secrets sent to forks", pr(fork=True), True, {}, True, False, False, False, False),
    ("fork PR via workflow_run", workflow_run(fork=True), True, {}, True, False, True, True, False),
    ("same-repo PR via workflow_run", workflow_run(fork=False), True, {}, True, True, False, True, False),
    (
        "pull_request_target from a fork",
        pr("pull_request_target", fork=True),
        True,
        {},
        True,
        False,
        True,
        True,
        False,
    ),
    (
        "pull_request_target, labelled llmops:trusted by a writer",
        pr("pull_request_target", fork=True),
        True,
        {"label_by_writer": True},
        True,
        True,
        False,
        True,
        False,
    ),
    ("pull_request_target, same repo", pr("pull_request_target"), True, {}, True, True, False, True, False),
    ("push to the default branch", push("master"), True, {}, True, True, False, True, True),
    ("push elsewhere", push("feature"), True, {}, False, True, False, False, False),
    ("schedule", SCHEDULE, True, {}, True, True, False, True, False),
    (
        "command from a writer, same repo",
        comment(same_repo=True),
        True,
        {"permission": "write"},
        True,
        True,
        False,
        True,
        False,
    ),
    (
        "command from a writer, fork",
        comment(same_repo=False),
        True,
        {"permission": "admin"},
        True,
        False,
        True,
        True,
        False,
    ),
    (
        "command from a reader",
        comment(same_repo=True),
        True,
        {"permission": "read"},
        False,
        False,
        False,
        False,
        False,
    ),
    (
        "command from a stranger",
        comment(same_repo=True),
        True,
        {"permission": None},
        False,
        False,
        False,
        False,
        False,
    ),
]


@pytest.mark.parametrize(
    ("case", "facts", "secrets", "extra", "act", "code", "as_data", "post", "save"),
    TABLE,
    ids=[row[0] for row in TABLE],
)
def test_the_trust_table(
    case: str,
    facts: EventFacts,
    secrets: bool,
    extra: dict,
    act: bool,
    code: bool,
    as_data: bool,
    post: bool,
    save: bool,
) -> None:
    t = decide(facts, secrets=secrets, **extra)

    assert (t.act, t.may_run("python"), t.may_run("command")) == (act, code, code), t
    assert (t.head_as_data, t.post, t.save_baseline) == (as_data, post, save), t
    assert t.may_run("gemini") and t.may_run("outputs")  # data-only providers run anywhere
    assert t.reason


def test_a_fork_never_runs_code_where_secrets_are_held() -> None:
    for facts in (pr(fork=True), workflow_run(fork=True), pr("pull_request_target", fork=True)):
        assert not decide(facts, secrets=True).may_run("python")


def test_a_comment_command_needs_write_permission_and_says_who() -> None:
    t = decide(comment(same_repo=True), secrets=True, permission="triage")
    assert not t.act and "chhsia0 has triage permission; commands need write" in t.reason


# --- which config governs --------------------------------------------------------------------------------

BASE = """suite: s
datasets: [cases.jsonl]
provider: {type: gemini, model: gemini-2.5-flash}
metrics: [{type: keyword_recall, weight: 1}]
gates:
  absolute: [{metric: score, min: 0.8}]
  regression: {metrics: [score], delta: 0.05}
max_error_rate: 0.05
"""


def test_the_bases_gates_govern_and_the_heads_changes_are_listed() -> None:
    head = BASE.replace("min: 0.8", "min: 0.1").replace("metrics: [score], delta", "metrics: [], delta")
    head = head.replace("max_error_rate: 0.05", "max_error_rate: 1.0").replace(
        "gemini-2.5-flash", "gemini-2.5-pro"
    )
    g = govern(parse_config(BASE), parse_config(head))

    assert g.config.gates == parse_config(BASE).gates and g.config.max_error_rate == 0.05
    assert g.config.provider.model == "gemini-2.5-pro"  # the treatment is the head's
    assert g.gate_changes == [
        "gates.absolute[0].min: 0.8 -> 0.1",
        "gates.regression.metrics: ['score'] -> []",
        "max_error_rate: 0.05 -> 1.0",
    ]
    assert not g.first_run and g.provider_key


def test_a_pr_that_adopts_the_tool_runs_under_its_own_config() -> None:
    g = govern(None, parse_config(BASE))
    assert g.first_run and g.config == parse_config(BASE) and FIRST_RUN in g.notes[0]


def test_a_head_that_moves_the_provider_endpoint_gets_no_key_and_cannot_move_the_judge() -> None:
    head = BASE.replace("model: gemini-2.5-flash}", "model: gemini-2.5-flash, base_url: 'http://evil'}")
    head += "judge: {base_url: 'http://evil'}\n"
    g = govern(parse_config(BASE), parse_config(head))
    assert not g.provider_key and "evaluated without keys" in g.notes[0]
    assert g.config.judge.base_url is None  # the base's judge, at the base's endpoint
    assert "judge.base_url: (none) -> 'http://evil'" in g.gate_changes


# --- secrets, state and paths --------------------------------------------------------------------------


def test_providers_get_no_input_actions_token_or_key() -> None:
    env = {
        "PATH": "/usr/bin",
        "HOME": "/home/runner",
        "INPUT_GITHUB-TOKEN": "ghs_1",
        "INPUT_GEMINI_API_KEY": "AIza1",
        "GITHUB_TOKEN": "ghs_2",
        "ACTIONS_RUNTIME_TOKEN": "rt",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "oidc",
        "GEMINI_API_KEY": "AIza2",
        "GOOGLE_API_KEY": "AIza3",
        "COPIED": "AIza1",
        "OPENAI_API_KEY": "the app's own",
    }
    assert provider_environment(env, secrets=["AIza1"]) == {
        "PATH": "/usr/bin",
        "HOME": "/home/runner",
        "OPENAI_API_KEY": "the app's own",
    }


def test_the_action_keeps_cache_and_baselines_outside_the_workspace(tmp_path: Path) -> None:
    state = tmp_path / "runner-temp" / "llmops"
    assert cache_dir(".llmops/cache", root=tmp_path / "ws", state_dir=state) == state / "cache"
    assert dir_store_path(".llmops/baselines", root=tmp_path / "ws", state_dir=state) == (
        state / "baselines" / ".llmops/baselines"
    )
    assert dir_store_path("b", root=tmp_path, state_dir=None) == tmp_path / "b"


@pytest.mark.parametrize("path", ["../elsewhere", "/etc", "a/../../b"])
def test_a_dir_store_outside_the_repository_is_refused(path: str, tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="leaves the repository") as err:
        dir_store_path(path, root=tmp_path, state_dir=None)
    assert err.value.key == "baseline.path" and err.value.exit_code == 2


def test_paths_are_confined_and_symlinks_out_refused(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "prompts").mkdir(parents=True)
    (tmp_path / "outside.yml").write_text("x")
    os.symlink(tmp_path / "outside.yml", root / "prompts" / "link.yml")
    assert confine(root, "prompts", key="prompts") == root / "prompts"
    for bad in ("../../etc/passwd", "/etc/passwd"):
        with pytest.raises(UserInputError, match="leaves the repository"):
            confine(root, bad, key="prompts")
    with pytest.raises(UserInputError, match="links outside the repository"):
        check_inside(root, root / "prompts" / "link.yml", key="prompts")
