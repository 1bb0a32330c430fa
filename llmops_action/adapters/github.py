"""The GitHub edge (PyGithub): the sticky PR comment, commit statuses per gate family, the alert issue.

Retries are ours, not PyGithub's: its default retry re-sends POST on 5xx, which can leave two comments
when the first POST did land. So PyGithub runs with `retry=None`; reads and idempotent writes (PATCH,
DELETE, statuses, which GitHub keeps per context) are retried here on 5xx and rate limits, honouring
`Retry-After` / `x-ratelimit-reset` as GitHub's docs ask
(https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api), and a comment create is
never re-sent before the comments were listed again to see whether the first attempt landed.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import requests
from github import Auth, Github, GithubException
from github.Issue import Issue
from github.IssueComment import IssueComment

from llmops_action.errors import EXIT_BAD_INPUT, IncompleteRunError, LlmopsError

T = TypeVar("T")

DEFAULT_API_URL = "https://api.github.com"
ACTIONS_BOT_LOGIN = "github-actions[bot]"
STATUS_CONTEXT_PREFIX = "llmops/"
STATUS_DESCRIPTION_MAX = 140
FAMILIES = ("quality", "regression", "drift")

StatusState = Literal["pending", "success", "failure", "error"]

# What each kind of write needs in the workflow's `permissions:` block.
PERMISSIONS = {
    "comment": "pull-requests: write",
    "status": "statuses: write",
    "baseline": "contents: write",
    "alert": "issues: write",
    "read": "pull-requests: read",
}
_WHAT = {
    "comment": "create or update the PR comment",
    "status": "set commit statuses",
    "baseline": "push the baseline branch",
    "alert": "open or update the alert issue",
    "read": "read the pull request",
}


class GitHubPermissionError(LlmopsError):
    """The token lacks a permission. The workflow must grant it: the user's input to fix, so exit 2."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, kind: str, detail: str = "") -> None:
        perm = PERMISSIONS.get(kind, kind)
        super().__init__(
            f"The GitHub token cannot {_WHAT.get(kind, kind)}: it needs the permission `{perm}`"
            + (f" ({detail})" if detail else "")
            + ".",
            hint=f"Add to the workflow (or the job):\n  permissions:\n    {perm}",
        )
        self.kind = kind
        self.permission = perm


class GitHubUnavailableError(IncompleteRunError):
    """GitHub kept failing (5xx, rate limits) past the retry budget."""


# Punctuation NFKD cannot fold to ASCII but a reader still wants to see.
_PUNCT = str.maketrans(
    {
        "—": "-",
        "–": "-",
        "−": "-",
        "“": '"',
        "”": '"',
        "‘": "'",
        "’": "'",
        "…": "...",
        "×": "x",
        "≥": ">=",
        "≤": "<=",
    }
)


def sanitize_description(text: str, limit: int = STATUS_DESCRIPTION_MAX) -> str:
    """ASCII only, one line, at most `limit` chars: GitHub rejects longer status descriptions."""
    text = text.translate(_PUNCT)
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    one_line = " ".join(ascii_text.split())
    if len(one_line) <= limit:
        return one_line
    return one_line[: limit - 3].rstrip() + "..."


@dataclass(frozen=True)
class PullInfo:
    number: int
    head_sha: str
    head_repo: str | None
    base_repo: str | None
    base_ref: str
    base_sha: str
    state: str

    @property
    def is_fork(self) -> bool:
        return self.head_repo is not None and self.head_repo != self.base_repo


@dataclass(frozen=True)
class CommentOutcome:
    action: Literal["created", "updated", "skipped-stale"]
    url: str | None
    comment_id: int | None
    deleted_duplicates: int = 0
    current_head: str | None = None


@dataclass(frozen=True)
class IssueOutcome:
    action: Literal["created", "updated", "closed", "none"]
    url: str | None
    number: int | None


@dataclass
class RetryPolicy:
    """How long to keep trying. `sleep` is injectable so tests never really wait."""

    attempts: int = 5
    backoff: float = 1.0  # first 5xx backoff; doubles each time
    max_wait: float = 120.0  # longest single wait we accept (Retry-After / reset); beyond it we give up
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], float] = time.time


def _header(exc: GithubException, name: str) -> str | None:
    headers = exc.headers or {}
    for k, v in headers.items():
        if k.lower() == name:
            return str(v)
    return None


def _message(exc: GithubException) -> str:
    data = exc.data
    if isinstance(data, dict):
        return str(data.get("message") or "")
    return str(data or "")


def is_permission_error(exc: GithubException) -> bool:
    """403 'Resource not accessible by integration' (GITHUB_TOKEN / app tokens) or 'Must have admin rights'."""
    if exc.status not in (403, 404):
        return False
    msg = _message(exc).lower()
    return "not accessible by integration" in msg or ("must have" in msg and "access" in msg)


def retry_wait(exc: BaseException, attempt: int, policy: RetryPolicy) -> float | None:
    """Seconds to wait before retrying `exc`, or None when it must not be retried."""
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return policy.backoff * 2**attempt
    if not isinstance(exc, GithubException):
        return None
    status = exc.status
    msg = _message(exc).lower()
    retry_after = _header(exc, "retry-after")
    remaining = _header(exc, "x-ratelimit-remaining")
    reset = _header(exc, "x-ratelimit-reset")
    if status in (403, 429):
        if retry_after is not None:
            try:
                return max(0.0, float(retry_after))
            except ValueError:
                return None
        if remaining == "0" and reset and reset.isdigit():
            return max(0.0, int(reset) - policy.now()) + 1.0
        if "secondary rate limit" in msg or status == 429:
            # No header: the docs say wait at least a minute, then back off exponentially.
            return 60.0 * 2**attempt
        return None
    if status >= 500:
        return policy.backoff * 2**attempt
    return None


class GitHubClient:
    """One repository, one token. Every write goes through `_call` (retries) or `_create_once`."""

    def __init__(
        self,
        token: str,
        repo: str,
        *,
        api_url: str = DEFAULT_API_URL,
        policy: RetryPolicy | None = None,
        seconds_between_requests: float | None = 0.25,
        seconds_between_writes: float | None = 1.0,
        bot_login: str = ACTIONS_BOT_LOGIN,
        timeout: int = 30,
    ) -> None:
        self.repo_name = repo
        self.policy = policy or RetryPolicy()
        self.bot_login = bot_login
        self._gh = Github(
            auth=Auth.Token(token),
            base_url=api_url.rstrip("/"),
            retry=None,  # see the module docstring: never let a POST be re-sent blindly
            per_page=100,
            timeout=timeout,
            seconds_between_requests=seconds_between_requests,
            seconds_between_writes=seconds_between_writes,
            lazy=True,
        )
        self._repo = self._gh.get_repo(repo)
        self._login: str | bool | None = False  # False: not resolved yet

    # -- plumbing ---------------------------------------------------------------------------------

    def _call(self, kind: str, fn: Callable[[], T]) -> T:
        for attempt in range(self.policy.attempts):
            try:
                return fn()
            except (GithubException, requests.ConnectionError, requests.Timeout) as exc:
                self._raise_if_fatal(kind, exc, attempt)
                self.policy.sleep(self._wait(exc, attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _raise_if_fatal(self, kind: str, exc: BaseException, attempt: int) -> None:
        if isinstance(exc, GithubException) and is_permission_error(exc):
            raise GitHubPermissionError(kind, _message(exc)) from None
        wait = retry_wait(exc, attempt, self.policy)
        if wait is None:
            status = getattr(exc, "status", None)
            raise GitHubUnavailableError(
                f"GitHub API error while trying to {_WHAT.get(kind, kind)}: "
                f"{status or type(exc).__name__} {_message(exc) if isinstance(exc, GithubException) else exc}"
            ) from None
        if wait > self.policy.max_wait:
            raise GitHubUnavailableError(
                f"GitHub asked us to wait {wait:.0f} s (rate limit) before we {_WHAT.get(kind, kind)}; "
                f"that is over the {self.policy.max_wait:.0f} s limit, giving up"
            ) from None
        if attempt + 1 >= self.policy.attempts:
            raise GitHubUnavailableError(
                f"GitHub kept failing while trying to {_WHAT.get(kind, kind)} "
                f"({self.policy.attempts} attempts; last: {getattr(exc, 'status', type(exc).__name__)})"
            ) from None

    def _wait(self, exc: BaseException, attempt: int) -> float:
        wait = retry_wait(exc, attempt, self.policy)
        return 0.0 if wait is None else min(wait, self.policy.max_wait)

    # -- identity and reads -----------------------------------------------------------------------

    def login(self) -> str | None:
        """The token's own login, or None when GitHub will not say (installation tokens get 403 on /user)."""
        if self._login is False:
            try:
                self._login = self._call("read", lambda: self._gh.get_user().login)
            except (GitHubPermissionError, GitHubUnavailableError):
                self._login = None
        return self._login if isinstance(self._login, str) else None

    def is_own(self, user: Any) -> bool:
        if user is None:
            return False
        login = self.login()
        if login is not None:
            return bool(user.login == login)
        return bool(user.type == "Bot" and user.login == self.bot_login)

    def pull(self, number: int) -> PullInfo:
        def fetch() -> PullInfo:
            pr = self._repo.get_pull(number)
            return PullInfo(
                number=number,
                head_sha=pr.head.sha,
                head_repo=pr.head.repo.full_name if pr.head.repo else None,
                base_repo=pr.base.repo.full_name if pr.base.repo else None,
                base_ref=pr.base.ref,
                base_sha=pr.base.sha,
                state=pr.state,
            )

        return self._call("read", fetch)

    def permission(self, login: str) -> str:
        """The repository permission of `login` (admin, maintain, write, triage, read, none), from the API:
        who may turn a fork's code into trusted code (the `llmops:trusted` label, core/trust.py)."""
        return self._call("read", lambda: self._repo.get_collaborator_permission(login))

    def default_branch(self) -> str:
        return self._call("read", lambda: self._gh.get_repo(self.repo_name).default_branch)

    # -- sticky comment ---------------------------------------------------------------------------

    def _issue(self, number: int) -> Issue:
        return self._repo.get_issue(number)

    def own_comments(self, number: int, marker: str) -> list[IssueComment]:
        """Our comments carrying `marker`, oldest first, across every page."""

        def fetch() -> list[IssueComment]:
            found = [
                c
                for c in self._issue(number).get_comments()
                if marker in (c.body or "") and self.is_own(c.user)
            ]
            return sorted(found, key=lambda c: (c.created_at, c.id))

        return self._call("read", fetch)

    def upsert_comment(
        self, number: int, body: str, marker: str, *, evaluated_sha: str | None = None
    ) -> CommentOutcome:
        """Create or update the one comment holding `marker`; never overwrite a newer head's comment."""
        if marker not in body:
            body = f"{marker}\n{body}"
        if evaluated_sha is not None:
            head = self.pull(number).head_sha
            if head != evaluated_sha:
                return CommentOutcome("skipped-stale", None, None, current_head=head)
        for attempt in range(self.policy.attempts):
            # Look before (re-)creating: a create that failed on our side may have landed on GitHub's.
            existing = self.own_comments(number, marker)
            if existing:
                kept, deleted = self._keep_oldest(existing)
                self._call("comment", lambda kept=kept: kept.edit(body))
                action: Literal["created", "updated"] = "updated" if attempt == 0 else "created"
                return CommentOutcome(action, kept.html_url, kept.id, deleted)
            try:
                created = self._issue(number).create_comment(body)
            except (GithubException, requests.ConnectionError, requests.Timeout) as exc:
                self._raise_if_fatal("comment", exc, attempt)
                self.policy.sleep(self._wait(exc, attempt))
                continue
            # A concurrent run may have created one too: keep the oldest, carry our body there.
            after = self.own_comments(number, marker)
            if not any(c.id == created.id for c in after):
                after = sorted([*after, created], key=lambda c: (c.created_at, c.id))
            kept, deleted = self._keep_oldest(after)
            if kept.id != created.id:
                self._call("comment", lambda kept=kept: kept.edit(body))
            return CommentOutcome("created", kept.html_url, kept.id, deleted)
        raise GitHubUnavailableError("GitHub kept failing while creating the PR comment")

    def _keep_oldest(self, comments: list[IssueComment]) -> tuple[IssueComment, int]:
        kept, *dupes = comments
        for dupe in dupes:
            self._delete_comment(dupe)
        return kept, len(dupes)

    def _delete_comment(self, comment: IssueComment) -> None:
        def delete() -> None:
            try:
                comment.delete()
            except GithubException as exc:
                if exc.status != 404:  # 404: another run deleted it already
                    raise

        self._call("comment", delete)

    # -- commit statuses --------------------------------------------------------------------------

    def set_status(
        self,
        sha: str,
        family: str,
        state: StatusState,
        description: str,
        target_url: str | None = None,
    ) -> None:
        payload: dict[str, Any] = {
            "state": state,
            "context": f"{STATUS_CONTEXT_PREFIX}{family}",
            "description": sanitize_description(description),
        }
        if target_url:
            payload["target_url"] = target_url
        url = f"{self._repo.url}/statuses/{sha}"
        # Statuses are idempotent per context (the latest wins), so a re-sent POST is harmless.
        self._call("status", lambda: self._gh.requester.requestJsonAndCheck("POST", url, input=payload))

    def set_statuses(
        self,
        sha: str,
        states: dict[str, tuple[StatusState, str]],
        target_url: str | None = None,
    ) -> None:
        for family, (state, description) in states.items():
            self.set_status(sha, family, state, description, target_url)

    # -- alert issue (scheduled runs) -------------------------------------------------------------

    def _own_open_issues(self, marker: str) -> list[Issue]:
        def fetch() -> list[Issue]:
            issues = self._repo.get_issues(state="open")
            found = [
                i
                for i in issues
                # The issues list also holds PRs; their html_url says /pull/ (no extra request needed).
                if "/pull/" not in (i.html_url or "") and marker in (i.body or "") and self.is_own(i.user)
            ]
            return sorted(found, key=lambda i: i.number)

        return self._call("read", fetch)

    def upsert_issue(self, marker: str, title: str, body: str) -> IssueOutcome:
        """Open the alert issue, or update the open one carrying `marker` (the oldest if several)."""
        if marker not in body:
            body = f"{marker}\n{body}"
        for attempt in range(self.policy.attempts):
            existing = self._own_open_issues(marker)
            if existing:
                issue = existing[0]
                self._call("alert", lambda issue=issue: issue.edit(title=title, body=body))
                return IssueOutcome("updated" if attempt == 0 else "created", issue.html_url, issue.number)
            try:
                issue = self._repo.create_issue(title=title, body=body)
            except (GithubException, requests.ConnectionError, requests.Timeout) as exc:
                self._raise_if_fatal("alert", exc, attempt)
                self.policy.sleep(self._wait(exc, attempt))
                continue
            return IssueOutcome("created", issue.html_url, issue.number)
        raise GitHubUnavailableError("GitHub kept failing while opening the alert issue")

    def close_issue(self, marker: str, comment: str) -> IssueOutcome:
        """Close the open alert issue (a later run passed): say why, then close."""
        existing = self._own_open_issues(marker)
        if not existing:
            return IssueOutcome("none", None, None)
        issue = existing[0]
        self._call("alert", lambda: issue.create_comment(comment))
        self._call("alert", lambda: issue.edit(state="closed"))
        return IssueOutcome("closed", issue.html_url, issue.number)


def run_url(environ: Mapping[str, str]) -> str | None:
    """$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID, the statuses' target_url."""
    server = environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    repo = environ.get("GITHUB_REPOSITORY")
    run_id = environ.get("GITHUB_RUN_ID")
    if not repo or not run_id:
        return None
    url = f"{server}/{repo}/actions/runs/{run_id}"
    attempt = environ.get("GITHUB_RUN_ATTEMPT")
    return f"{url}/attempts/{attempt}" if attempt and attempt != "1" else url
