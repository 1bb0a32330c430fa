"""The facts of one GitHub event, from an Actions event file or a webhook body (the payloads have one shape).

Pure: `facts_from_payload(event_name, payload)` reads only the dict it is given. The Action passes
GITHUB_EVENT_NAME and the parsed GITHUB_EVENT_PATH file; the bot passes the `X-GitHub-Event` header and the
verified body. Every field says what GitHub (not the pull request) reported; nothing here is trusted code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ZERO_SHA = "0" * 40
PR_EVENTS = ("pull_request", "pull_request_target")
COMMAND_PREFIX = "/llmops"


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


@dataclass(frozen=True)
class EventFacts:
    """What one event says. `repo` is the base repository (the one the workflow or the bot runs for)."""

    event: str
    action: str | None = None
    repo: str | None = None
    default_branch: str | None = None
    sender: str | None = None
    # pull requests (also the pull request a comment, a label or a workflow_run belongs to)
    pr_number: int | None = None
    head_sha: str | None = None
    head_ref: str | None = None
    head_repo: str | None = None  # None on a pull request: the fork was deleted
    base_sha: str | None = None
    base_ref: str | None = None
    author_association: str | None = None
    labels: tuple[str, ...] = ()
    label_added: str | None = None
    # push
    ref: str | None = None
    deleted: bool = False
    # issue_comment on a pull request: a command such as "/llmops run"
    comment: str | None = None
    commenter: str | None = None
    commenter_association: str | None = None
    # workflow_run: the run that completed, and the event that started it
    triggering_event: str | None = None
    run_id: int | None = None
    run_url: str | None = None
    run_conclusion: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_pull_request(self) -> bool:
        return self.pr_number is not None or self.event in PR_EVENTS

    @property
    def is_fork(self) -> bool:
        """The head lives in another repository (or a deleted one): its code is not the base's to trust."""
        if not self.is_pull_request and self.event != "workflow_run":
            return False
        if self.head_repo is None:
            return self.is_pull_request
        return self.repo is not None and self.head_repo.lower() != self.repo.lower()

    @property
    def branch(self) -> str | None:
        """The pushed branch (push), without refs/heads/; None for tags and other refs."""
        if self.ref and self.ref.startswith("refs/heads/"):
            return self.ref.removeprefix("refs/heads/")
        return None

    @property
    def to_default_branch(self) -> bool:
        return self.branch is not None and self.branch == self.default_branch

    @property
    def command(self) -> str | None:
        """The `/llmops ...` command of a comment, first line only; None when the comment is not one."""
        first = (self.comment or "").strip().partition("\n")[0].strip()
        return first if first.split(" ")[0] == COMMAND_PREFIX else None


def _pull_request_facts(event: str, payload: Mapping[str, Any], base: dict[str, Any]) -> EventFacts:
    pr = _dict(payload.get("pull_request"))
    head, basep = _dict(pr.get("head")), _dict(pr.get("base"))
    label = _dict(payload.get("label"))
    return EventFacts(
        **base,
        pr_number=_int(pr.get("number")) or _int(payload.get("number")),
        head_sha=_str(head.get("sha")),
        head_ref=_str(head.get("ref")),
        head_repo=_str(_dict(head.get("repo")).get("full_name")),
        base_sha=_str(basep.get("sha")),
        base_ref=_str(basep.get("ref")),
        author_association=_str(pr.get("author_association")),
        labels=tuple(
            n for n in (_str(_dict(x).get("name")) for x in pr.get("labels") or []) if n is not None
        ),
        label_added=_str(label.get("name")),
    )


def _workflow_run_facts(payload: Mapping[str, Any], base: dict[str, Any]) -> EventFacts:
    run = _dict(payload.get("workflow_run"))
    prs = [p for p in run.get("pull_requests") or [] if isinstance(p, Mapping)]
    # GitHub leaves pull_requests empty for a fork's run; the number then comes from elsewhere, checked
    # against the API (the PR's head must be this run's head_sha).
    pr = prs[0] if prs else {}
    return EventFacts(
        **base,
        pr_number=_int(pr.get("number")),
        head_sha=_str(run.get("head_sha")),
        head_ref=_str(run.get("head_branch")),
        head_repo=_str(_dict(run.get("head_repository")).get("full_name")),
        base_sha=_str(_dict(pr.get("base")).get("sha")),
        base_ref=_str(_dict(pr.get("base")).get("ref")),
        triggering_event=_str(run.get("event")),
        run_id=_int(run.get("id")),
        run_url=_str(run.get("html_url")),
        run_conclusion=_str(run.get("conclusion")),
    )


def _comment_facts(payload: Mapping[str, Any], base: dict[str, Any]) -> EventFacts:
    issue, comment = _dict(payload.get("issue")), _dict(payload.get("comment"))
    on_pr = bool(issue.get("pull_request"))
    return EventFacts(
        **base,
        pr_number=_int(issue.get("number")) if on_pr else None,
        author_association=_str(issue.get("author_association")),
        comment=_str(comment.get("body")),
        commenter=_str(_dict(comment.get("user")).get("login")),
        commenter_association=_str(comment.get("author_association")),
        extra={"on_pull_request": on_pr},
    )


def facts_from_payload(event: str, payload: Mapping[str, Any], *, repo: str | None = None) -> EventFacts:
    """The facts of `event` (GITHUB_EVENT_NAME, or the X-GitHub-Event header) with its payload.

    `repo` (GITHUB_REPOSITORY) wins over the payload's repository when given: the runner says where it runs.
    """
    repository = _dict(payload.get("repository"))
    base: dict[str, Any] = {
        "event": event,
        "action": _str(payload.get("action")),
        "repo": repo or _str(repository.get("full_name")),
        "default_branch": _str(repository.get("default_branch")),
        "sender": _str(_dict(payload.get("sender")).get("login")),
    }
    if event in PR_EVENTS:
        return _pull_request_facts(event, payload, base)
    if event == "workflow_run":
        return _workflow_run_facts(payload, base)
    if event == "issue_comment":
        return _comment_facts(payload, base)
    if event == "push":
        after = _str(payload.get("after"))
        return EventFacts(
            **base,
            ref=_str(payload.get("ref")),
            head_sha=None if after == ZERO_SHA else after,
            deleted=bool(payload.get("deleted")) or after == ZERO_SHA,
        )
    return EventFacts(**base)
