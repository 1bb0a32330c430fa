"""Unit tests of the GitHub client with `responses`, using the REST shapes from endpoints.json.

PyGithub sends `https://api.github.com:443/...`, so every mock is registered with a regex.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import responses

from llmops_action.adapters.github import (
    GitHubClient,
    GitHubPermissionError,
    GitHubUnavailableError,
    RetryPolicy,
    run_url,
    sanitize_description,
)
from tests.support.github_server import NOT_ACCESSIBLE, SECONDARY_RATE_LIMIT_BODY, example

API = r"https://api\.github\.com(:443)?"
REPO = "octo-org/llmops-demo"
HEAD = "a" * 40
MARKER = "<!-- llmops-action:comment suite=default -->"


def url(path: str) -> re.Pattern[str]:
    return re.compile(API + re.escape(f"/repos/{REPO}{path}") + r"(\?.*)?$")


def comment(
    cid: int, body: str, login: str = "github-actions[bot]", user_type: str = "Bot"
) -> dict[str, Any]:
    c = example("issues/create-comment")
    c.update(id=cid, body=body, created_at=f"2026-01-01T00:{cid // 60 % 60:02d}:{cid % 60:02d}Z")
    c["url"] = f"https://api.github.com/repos/{REPO}/issues/comments/{cid}"
    c["user"].update(login=login, type=user_type)
    return c


def pull(head_sha: str = HEAD) -> dict[str, Any]:
    pr = example("pulls/get")
    pr["head"]["sha"] = head_sha
    return pr


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps: list[float]) -> GitHubClient:
    return GitHubClient(
        "ghs_unit",
        REPO,
        policy=RetryPolicy(sleep=sleeps.append, now=lambda: 1_000_000.0),
        seconds_between_requests=None,
        seconds_between_writes=None,
    )


def installation_token_user() -> None:
    """GITHUB_TOKEN cannot read /user: the client falls back to the github-actions[bot] identity."""
    responses.get(re.compile(API + "/user$"), status=403, json={"message": NOT_ACCESSIBLE})


def calls(method: str, pattern: str) -> list[Any]:
    return [c for c in responses.calls if c.request.method == method and re.search(pattern, c.request.url)]


@responses.activate
def test_sticky_comment_is_found_on_a_later_page_and_updated_in_place(client: GitHubClient) -> None:
    installation_token_user()
    responses.get(url("/pulls/7"), json=pull())
    page2 = f"https://api.github.com/repos/{REPO}/issues/7/comments?per_page=100&page=2"
    first_page = [comment(i, f"chatter {i}", "someone", "User") for i in range(1, 101)]
    responses.get(
        url("/issues/7/comments"),
        json=first_page,
        headers={"Link": f'<{page2}>; rel="next", <{page2}>; rel="last"'},
        match=[responses.matchers.query_param_matcher({"per_page": "100"})],
    )
    responses.get(
        url("/issues/7/comments"),
        json=[comment(555, f"{MARKER}\nold report")],
        match=[responses.matchers.query_param_matcher({"per_page": "100", "page": "2"})],
    )
    responses.patch(url("/issues/comments/555"), json=comment(555, "new"))

    out = client.upsert_comment(7, f"{MARKER}\nnew report", MARKER, evaluated_sha=HEAD)

    assert (out.action, out.comment_id) == ("updated", 555)
    assert json.loads(calls("PATCH", "/comments/555")[0].request.body) == {"body": f"{MARKER}\nnew report"}
    assert calls("POST", "/comments") == []


@responses.activate
def test_a_quote_of_the_marker_by_someone_else_is_not_ours(client: GitHubClient) -> None:
    installation_token_user()
    responses.get(url("/pulls/7"), json=pull())
    quoted = comment(10, f"> {MARKER}\n> looks wrong?", "mallory", "User")
    listings = [[quoted], [quoted, comment(11, f"{MARKER}\nreport")]]
    responses.add_callback(
        responses.GET, url("/issues/7/comments"), callback=lambda req: (200, {}, json.dumps(listings.pop(0)))
    )
    responses.post(url("/issues/7/comments"), status=201, json=comment(11, f"{MARKER}\nreport"))

    out = client.upsert_comment(7, "report", MARKER, evaluated_sha=HEAD)

    assert (out.action, out.comment_id) == ("created", 11)
    assert json.loads(calls("POST", "/comments")[0].request.body)["body"].startswith(MARKER)
    assert calls("PATCH", "/comments/10") == [] and calls("DELETE", "/comments") == []


@responses.activate
def test_a_resolvable_login_is_matched_exactly(client: GitHubClient) -> None:
    me = example("issues/create-comment")["user"]
    me["login"] = "llmops-bot"
    responses.get(re.compile(API + "/user$"), json=me)
    responses.get(url("/pulls/7"), json=pull())
    responses.get(
        url("/issues/7/comments"),
        json=[comment(3, f"{MARKER} by actions"), comment(4, f"{MARKER} mine", "llmops-bot", "User")],
    )
    responses.patch(url("/issues/comments/4"), json=comment(4, "x", "llmops-bot", "User"))

    assert client.upsert_comment(7, f"{MARKER} v2", MARKER, evaluated_sha=HEAD).comment_id == 4


@responses.activate
def test_no_overwrite_when_the_head_moved_past_the_evaluated_sha(client: GitHubClient) -> None:
    responses.get(url("/pulls/7"), json=pull("c" * 40))

    out = client.upsert_comment(7, f"{MARKER} stale", MARKER, evaluated_sha=HEAD)

    assert out.action == "skipped-stale" and out.current_head == "c" * 40
    assert [c.request.method for c in responses.calls] == ["GET"]


@responses.activate
def test_a_create_that_landed_behind_a_502_is_not_sent_twice(
    client: GitHubClient, sleeps: list[float]
) -> None:
    installation_token_user()
    responses.get(url("/pulls/7"), json=pull())
    listings: list[list[dict[str, Any]]] = [[], [comment(21, f"{MARKER}\nreport")]]
    responses.add_callback(
        responses.GET, url("/issues/7/comments"), callback=lambda req: (200, {}, json.dumps(listings.pop(0)))
    )
    responses.post(url("/issues/7/comments"), status=502, json={"message": "Server Error"})
    responses.patch(url("/issues/comments/21"), json=comment(21, "x"))

    out = client.upsert_comment(7, "report", MARKER, evaluated_sha=HEAD)

    assert out.comment_id == 21 and out.action == "created"
    assert len(calls("POST", "/comments")) == 1, "PyGithub must not re-send the POST, nor may we"
    assert sleeps == [1.0]


@responses.activate
def test_duplicates_from_a_concurrent_run_are_deleted_keeping_the_oldest(client: GitHubClient) -> None:
    installation_token_user()
    responses.get(url("/pulls/7"), json=pull())
    mine = comment(40, f"{MARKER}\nreport")
    theirs = comment(30, f"{MARKER}\nother run")
    listings: list[list[dict[str, Any]]] = [[], [theirs, mine]]
    responses.add_callback(
        responses.GET, url("/issues/7/comments"), callback=lambda req: (200, {}, json.dumps(listings.pop(0)))
    )
    responses.post(url("/issues/7/comments"), status=201, json=mine)
    responses.delete(url("/issues/comments/40"), status=204)
    responses.patch(url("/issues/comments/30"), json=theirs)

    out = client.upsert_comment(7, "report", MARKER, evaluated_sha=HEAD)

    assert (out.comment_id, out.deleted_duplicates) == (30, 1)
    assert json.loads(calls("PATCH", "/comments/30")[0].request.body)["body"].endswith("report")


@responses.activate
def test_status_is_ascii_at_most_140_chars_with_the_run_link(client: GitHubClient) -> None:
    responses.post(url(f"/statuses/{HEAD}"), status=201, json=example("repos/create-commit-status"))

    client.set_status(HEAD, "quality", "failure", "Qualité — score 0.61 < 0.70 🚨 " * 10, "https://x/run/1")

    sent = json.loads(responses.calls[0].request.body)
    assert sent["context"] == "llmops/quality" and sent["state"] == "failure"
    assert sent["target_url"] == "https://x/run/1"
    assert sent["description"].isascii() and len(sent["description"]) <= 140
    assert sent["description"].startswith("Qualite - score 0.61 < 0.70")


@responses.activate
def test_secondary_rate_limit_waits_retry_after_then_succeeds(
    client: GitHubClient, sleeps: list[float]
) -> None:
    responses.post(
        url(f"/statuses/{HEAD}"), status=403, json=SECONDARY_RATE_LIMIT_BODY, headers={"Retry-After": "7"}
    )
    responses.post(url(f"/statuses/{HEAD}"), status=201, json=example("repos/create-commit-status"))

    client.set_status(HEAD, "drift", "pending", "evaluating")

    assert sleeps == [7.0] and len(responses.calls) == 2


@responses.activate
def test_primary_rate_limit_waits_until_reset(client: GitHubClient, sleeps: list[float]) -> None:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(1_000_000 + 30)}
    responses.get(url("/pulls/7"), status=403, json={"message": "API rate limit exceeded"}, headers=headers)
    responses.get(url("/pulls/7"), json=pull())

    assert client.pull(7).head_sha == HEAD
    assert sleeps == [31.0]


@responses.activate
def test_a_reset_beyond_the_cap_gives_up_instead_of_hanging(
    client: GitHubClient, sleeps: list[float]
) -> None:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(1_000_000 + 3600)}
    responses.get(url("/pulls/7"), status=403, json={"message": "API rate limit exceeded"}, headers=headers)

    with pytest.raises(GitHubUnavailableError, match="wait 3601 s"):
        client.pull(7)
    assert sleeps == []


@responses.activate
def test_5xx_backs_off_then_gives_up_with_a_clear_error(client: GitHubClient, sleeps: list[float]) -> None:
    responses.post(url(f"/statuses/{HEAD}"), status=503, json={"message": "Service unavailable"})

    with pytest.raises(GitHubUnavailableError, match="5 attempts"):
        client.set_status(HEAD, "quality", "pending", "x")
    assert sleeps == [1.0, 2.0, 4.0, 8.0]


@pytest.mark.parametrize(
    ("kind", "permission"),
    [("status", "statuses: write"), ("comment", "pull-requests: write"), ("alert", "issues: write")],
)
@responses.activate
def test_a_missing_permission_names_it(client: GitHubClient, kind: str, permission: str) -> None:
    installation_token_user()
    denied = {"status": 403, "json": {"message": NOT_ACCESSIBLE}}
    responses.post(url(f"/statuses/{HEAD}"), **denied)
    responses.get(url("/pulls/7"), json=pull())
    responses.get(url("/issues/7/comments"), json=[])
    responses.post(url("/issues/7/comments"), **denied)
    responses.get(url("/issues"), json=[])
    responses.post(url("/issues"), **denied)
    action = {
        "status": lambda: client.set_status(HEAD, "quality", "pending", "x"),
        "comment": lambda: client.upsert_comment(7, "x", MARKER, evaluated_sha=HEAD),
        "alert": lambda: client.upsert_issue("<!-- alert -->", "t", "b"),
    }[kind]

    with pytest.raises(GitHubPermissionError) as info:
        action()

    assert info.value.permission == permission and info.value.exit_code == 2
    assert (
        f"`{permission}`" in info.value.format() and f"permissions:\n    {permission}" in info.value.format()
    )


@responses.activate
def test_alert_issue_updates_our_open_issue_and_ignores_pull_requests(client: GitHubClient) -> None:
    installation_token_user()
    as_pr = example("pulls/get")
    as_pr.update(number=3, body="<!-- alert -->", pull_request={"url": "x"})
    as_pr["user"].update(login="github-actions[bot]", type="Bot")
    ours = {k: v for k, v in example("pulls/get").items() if k not in ("head", "base")}
    ours.update(number=9, body="<!-- alert -->\nold", url=f"https://api.github.com/repos/{REPO}/issues/9")
    ours["html_url"] = f"https://github.com/{REPO}/issues/9"
    ours["user"].update(login="github-actions[bot]", type="Bot")
    responses.get(url("/issues"), json=[as_pr, ours])
    responses.patch(url("/issues/9"), json=ours)

    out = client.upsert_issue("<!-- alert -->", "llmops: regression on main", "new body")

    assert (out.action, out.number) == ("updated", 9)
    assert json.loads(calls("PATCH", "/issues/9")[0].request.body)["title"] == "llmops: regression on main"


@responses.activate
def test_github_enterprise_base_url_is_used() -> None:
    client = GitHubClient("t", REPO, api_url="https://ghe.example.com/api/v3", seconds_between_requests=None)
    responses.get(
        re.compile(r"https://ghe\.example\.com(:443)?/api/v3/repos/" + REPO + "/pulls/1$"), json=pull()
    )

    assert client.pull(1).head_sha == HEAD


def test_run_url_points_at_the_workflow_run() -> None:
    env = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": REPO, "GITHUB_RUN_ID": "42"}
    assert run_url(env) == f"https://github.com/{REPO}/actions/runs/42"
    assert (
        run_url({**env, "GITHUB_RUN_ATTEMPT": "2"}) == f"https://github.com/{REPO}/actions/runs/42/attempts/2"
    )
    assert run_url({}) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("ok", "ok"), ("naïve\nline", "naive line"), ("🚀", ""), ("x" * 200, "x" * 137 + "...")],
)
def test_sanitize_description(text: str, expected: str) -> None:
    assert sanitize_description(text) == expected
