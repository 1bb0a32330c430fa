"""The facts of an event read from real webhook bodies: an Actions event file has the same shape."""

from __future__ import annotations

import json

import pytest

from llmops_action.core.events import EventFacts, facts_from_payload
from tests.support.github_server import load_payload


def test_a_pull_request_opened_payload() -> None:
    f = facts_from_payload("pull_request", load_payload("pull_request", "opened.payload.json"))

    assert (f.pr_number, f.action, f.repo, f.head_repo) == (
        2,
        "opened",
        "Codertocat/Hello-World",
        "Codertocat/Hello-World",
    )
    assert f.head_sha == "ec26c3e57ca3a959ca5aad62de7213c562f8c821" and f.base_ref == "master"
    assert f.author_association == "OWNER" and not f.is_fork and f.labels == ("bug",)


def test_a_fork_and_a_deleted_fork_are_forks() -> None:
    p = load_payload("pull_request", "synchronize.payload.json")
    p["pull_request"]["head"]["repo"]["full_name"] = "mallory/Hello-World"
    assert facts_from_payload("pull_request_target", p).is_fork
    p["pull_request"]["head"]["repo"] = None
    deleted = facts_from_payload("pull_request", p)
    assert deleted.head_repo is None and deleted.is_fork


def test_the_runners_repository_wins_over_the_payloads() -> None:
    p = load_payload("pull_request", "opened.payload.json")
    f = facts_from_payload("pull_request", p, repo="octo-org/llmops-demo")
    assert f.repo == "octo-org/llmops-demo" and f.is_fork  # the head lives in Codertocat/Hello-World


def test_a_label_event_names_the_label() -> None:
    f = facts_from_payload("pull_request_target", load_payload("pull_request", "labeled.payload.json"))
    assert f.label_added == "bug" and f.sender == "Codertocat"


@pytest.mark.parametrize(
    ("name", "ref", "deleted", "default", "to_default"),
    [
        ("to-default-branch.payload.json", "refs/heads/master", False, "master", True),
        ("payload.json", "refs/tags/simple-tag", True, "master", False),
    ],
)
def test_pushes(name: str, ref: str, deleted: bool, default: str, to_default: bool) -> None:
    f = facts_from_payload("push", load_payload("push", name))
    assert (f.ref, f.deleted, f.default_branch, f.to_default_branch) == (ref, deleted, default, to_default)
    assert (f.head_sha is None) == deleted


def test_a_workflow_run_names_the_run_and_its_pull_request() -> None:
    f = facts_from_payload(
        "workflow_run", load_payload("workflow_run", "completed.with-pull-requests.payload.json")
    )
    assert f.run_id == 289782451 and f.run_conclusion == "success" and f.pr_number == 2
    assert f.head_sha == "3484a3fb816e0859fd6e1cea078d76385ff50625" and f.base_ref == "master"
    assert f.triggering_event == "repository_dispatch"


def test_a_comment_on_a_pull_request_is_a_command_only_when_it_starts_with_llmops() -> None:
    p = load_payload("issue_comment", "created.on-pull-request.payload.json")
    f = facts_from_payload("issue_comment", p)
    assert (f.pr_number, f.commenter, f.commenter_association) == (3, "chhsia0", "OWNER")
    assert f.comment == "/build" and f.command is None
    p["comment"]["body"] = "/llmops run\nplease"
    assert facts_from_payload("issue_comment", p).command == "/llmops run"


def test_a_comment_on_an_issue_has_no_pull_request() -> None:
    f = facts_from_payload("issue_comment", load_payload("issue_comment", "created.payload.json"))
    assert f.pr_number is None and not f.is_pull_request


def test_an_actions_event_file_and_a_webhook_body_give_the_same_facts(tmp_path) -> None:
    body = load_payload("pull_request", "synchronize.payload.json")
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(body), encoding="utf-8")
    from_file = facts_from_payload("pull_request", json.loads(event_file.read_text(encoding="utf-8")))
    assert from_file == facts_from_payload("pull_request", body)
    assert isinstance(from_file, EventFacts)


def test_junk_never_raises() -> None:
    f = facts_from_payload("pull_request", {"pull_request": {"number": "7", "head": None}, "repository": []})
    assert f.pr_number is None and f.head_sha is None
