"""A local fake of the GitHub REST API on 127.0.0.1, answering with the shapes in
../shared/fixtures/github-api/endpoints.json and keeping everything it was sent.

Scriptable faults: answer the Nth matching request with a status (e.g. 502, or 403 secondary rate limit
with Retry-After), optionally after applying it (a create that lands but whose answer is lost).
Reached by PyGithub through `base_url` exactly as GitHub Enterprise Server is (GITHUB_API_URL).
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.conftest import FIXTURES

ENDPOINTS = json.loads((FIXTURES / "github-api" / "endpoints.json").read_text(encoding="utf-8"))
_OPS = {op["operationId"]: op for op in ENDPOINTS["operations"]}
_ERRORS = ENDPOINTS["errors_and_rate_limits"]["docs_example_error_responses"]
SECONDARY_RATE_LIMIT_BODY = _ERRORS["secondary_rate_limit_403"]["body"]
NOT_ACCESSIBLE = "Resource not accessible by integration"


def example(operation_id: str) -> Any:
    """A deep copy of the spec's own example response for an operation."""
    return copy.deepcopy(_OPS[operation_id]["success_response"]["example"])


@dataclass
class Fault:
    """Answer the `nth` (1-based) request matching method+path regex with `status`."""

    method: str
    path: str  # regex searched in the path
    nth: int = 1
    status: int = 502
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = field(default_factory=lambda: {"message": "Server Error"})
    apply_first: bool = False  # do the work, then fail: the client cannot know it landed
    seen: int = 0
    fired: bool = False


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    status: int = 0


class FakeGitHub:
    """State of one repository as GitHub would hold it."""

    def __init__(
        self,
        repo: str = "octo-org/llmops-demo",
        *,
        token: str = "ghs_fake",
        login: str | None = None,
        default_branch: str = "main",
    ) -> None:
        self.repo = repo
        self.token = token
        self.login = login  # None: /user answers 403 as for an installation token (GITHUB_TOKEN)
        self.default_branch = default_branch
        self.pulls: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.statuses: list[dict[str, Any]] = []
        self.issues: dict[int, dict[str, Any]] = {}
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        self.denied: set[str] = set()  # "comment", "status", "alert"
        self.permissions: dict[str, str] = {}  # login -> admin | maintain | write | triage | read (else none)
        self._ids = itertools.count(1001)
        self._clock = datetime(2026, 1, 1, tzinfo=UTC)
        self._lock = threading.Lock()
        self.base_url = ""

    # -- scripting -------------------------------------------------------------------------------

    def add_pull(
        self,
        number: int,
        *,
        head_sha: str,
        base_sha: str,
        base_ref: str = "main",
        head_ref: str = "feature",
        head_repo: str | None = None,
    ) -> None:
        self.pulls[number] = {
            "head_sha": head_sha,
            "base_sha": base_sha,
            "base_ref": base_ref,
            "head_ref": head_ref,
            "head_repo": head_repo or self.repo,
        }

    def fail(self, method: str, path: str, **kw: Any) -> Fault:
        f = Fault(method=method, path=path, **kw)
        self.faults.append(f)
        return f

    def add_comment(self, number: int, body: str, *, login: str = "someone", user_type: str = "User") -> dict:
        with self._lock:
            return self._new_comment(number, body, login, user_type)

    def bot_login(self) -> str:
        return self.login or "github-actions[bot]"

    def status_posts(self, sha: str | None = None) -> list[dict[str, Any]]:
        return [s for s in self.statuses if sha is None or s["sha"] == sha]

    def latest_statuses(self, sha: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for s in self.status_posts(sha):
            out[s["context"]] = s["state"]
        return out

    def sent_text(self) -> str:
        """Everything clients sent (headers apart from Authorization, and bodies): for secret scans."""
        parts = []
        for r in self.requests:
            parts.append(json.dumps(r.body))
            parts.extend(v for k, v in r.headers.items() if k.lower() != "authorization")
        return "\n".join(parts)

    # -- shapes ----------------------------------------------------------------------------------

    def _user(self, login: str, user_type: str) -> dict[str, Any]:
        user = example("issues/create-comment")["user"]
        user.update(login=login, type=user_type, id=abs(hash(login)) % 10**8)
        return user

    def _tick(self) -> str:
        self._clock += timedelta(seconds=1)
        return self._clock.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _new_comment(self, number: int, body: str, login: str, user_type: str) -> dict[str, Any]:
        cid = next(self._ids)
        c = example("issues/create-comment")
        now = self._tick()
        c.update(
            id=cid,
            body=body,
            url=f"{self.base_url}/repos/{self.repo}/issues/comments/{cid}",
            html_url=f"https://github.com/{self.repo}/pull/{number}#issuecomment-{cid}",
            issue_url=f"{self.base_url}/repos/{self.repo}/issues/{number}",
            created_at=now,
            updated_at=now,
            user=self._user(login, user_type),
        )
        self.comments.setdefault(number, []).append(c)
        return c

    def _pull(self, number: int) -> dict[str, Any]:
        p = self.pulls[number]
        pr = example("pulls/get")
        owner, name = self.repo.split("/")
        head_owner = p["head_repo"].split("/")[0]
        pr.update(
            number=number,
            state="open",
            url=f"{self.base_url}/repos/{self.repo}/pulls/{number}",
            html_url=f"https://github.com/{self.repo}/pull/{number}",
        )
        pr["head"].update(sha=p["head_sha"], ref=p["head_ref"], label=f"{head_owner}:{p['head_ref']}")
        pr["head"]["repo"].update(full_name=p["head_repo"], name=p["head_repo"].split("/")[1])
        pr["base"].update(sha=p["base_sha"], ref=p["base_ref"], label=f"{owner}:{p['base_ref']}")
        pr["base"]["repo"].update(full_name=self.repo, name=name)
        return pr

    def _repo_shape(self) -> dict[str, Any]:
        r = example("repos/get")
        owner, name = self.repo.split("/")
        r.update(
            full_name=self.repo,
            name=name,
            default_branch=self.default_branch,
            url=f"{self.base_url}/repos/{self.repo}",
        )
        r["owner"]["login"] = owner
        return r

    def _issue_shape(self, issue: dict[str, Any]) -> dict[str, Any]:
        # issues/get is not in endpoints.json; an issue is the PR example minus the pull-request parts.
        pr = example("pulls/get")
        keep = [
            "id",
            "node_id",
            "url",
            "html_url",
            "number",
            "state",
            "locked",
            "title",
            "user",
            "body",
            "labels",
            "assignees",
            "milestone",
            "created_at",
            "updated_at",
            "closed_at",
            "author_association",
            "comments",
        ]
        shape = {k: pr.get(k) for k in keep}
        shape.update(issue)
        shape["comments"] = len(self.comments.get(issue["number"], []))
        return shape

    # -- routing ---------------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any, auth: str) -> tuple:
        """Returns (status, headers, json-able body or None)."""
        if auth not in (f"token {self.token}", f"Bearer {self.token}"):
            return (
                401,
                {},
                {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
            )
        fault = self._fault(method, path)
        if fault is not None and not fault.apply_first:
            return fault.status, fault.headers, fault.body
        result = self._route(method, path, query, body)
        if fault is not None:
            return fault.status, fault.headers, fault.body
        return result

    def _fault(self, method: str, path: str) -> Fault | None:
        for f in self.faults:
            if f.fired or f.method != method or not re.search(f.path, path):
                continue
            f.seen += 1
            if f.seen == f.nth:
                f.fired = True
                return f
        return None

    def _denied(self, kind: str) -> tuple | None:
        if kind in self.denied:
            return 403, {}, {"message": NOT_ACCESSIBLE, "documentation_url": "https://docs.github.com/rest"}
        return None

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple:
        base = f"/repos/{self.repo}"
        if method == "GET" and path == "/user":
            if self.login is None:
                return (
                    403,
                    {},
                    {"message": NOT_ACCESSIBLE, "documentation_url": "https://docs.github.com/rest"},
                )
            return 200, {}, self._user(self.login, "User")
        if not path.startswith(base):
            return 404, {}, {"message": "Not Found"}
        rest = path[len(base) :]
        if method == "GET" and rest == "":
            return 200, {}, self._repo_shape()
        if m := re.fullmatch(r"/pulls/(\d+)", rest):
            n = int(m[1])
            return (200, {}, self._pull(n)) if n in self.pulls else (404, {}, {"message": "Not Found"})
        if m := re.fullmatch(r"/collaborators/([^/]+)/permission", rest):
            shape = example("repos/get-collaborator-permission-level")
            level = self.permissions.get(m[1], "none")
            # The API's `permission` knows four levels; role_name keeps maintain and triage apart.
            shape.update(permission={"maintain": "write", "triage": "read"}.get(level, level))
            shape["role_name"] = level
            shape["user"]["login"] = m[1]
            return 200, {}, shape
        if m := re.fullmatch(r"/issues/(\d+)/comments", rest):
            n = int(m[1])
            if method == "GET":
                return self._page(self.comments.get(n, []), query, path)
            if method == "POST":
                denied = self._denied("alert" if n in self.issues else "comment")
                if denied:
                    return denied
                return 201, {}, self._new_comment(n, body["body"], self.bot_login(), self._bot_type())
        if m := re.fullmatch(r"/issues/comments/(\d+)", rest):
            cid = int(m[1])
            found = [(n, c) for n, cs in self.comments.items() for c in cs if c["id"] == cid]
            if not found:
                return 404, {}, {"message": "Not Found"}
            n, c = found[0]
            if method == "GET":
                return 200, {}, c
            denied = self._denied("comment")
            if denied:
                return denied
            if method == "PATCH":
                c.update(body=body["body"], updated_at=self._tick())
                return 200, {}, c
            if method == "DELETE":
                self.comments[n].remove(c)
                return 204, {}, None
        if m := re.fullmatch(r"/statuses/([0-9a-f]{40})", rest):
            denied = self._denied("status")
            if denied:
                return denied
            s = example("repos/create-commit-status")
            s.update(
                id=next(self._ids),
                sha=m[1],
                state=body["state"],
                context=body.get("context", "default"),
                description=body.get("description"),
                target_url=body.get("target_url"),
                created_at=self._tick(),
            )
            self.statuses.append(s)
            return 201, {}, s
        if m := re.fullmatch(r"/commits/([^/]+)/statuses", rest):
            return self._page([s for s in reversed(self.statuses) if s["sha"] == m[1]], query, path)
        if rest == "/issues":
            if method == "GET":
                state = query.get("state", ["open"])[0]
                items = [self._issue_shape(i) for i in self.issues.values() if state in ("all", i["state"])]
                return self._page(items, query, path)
            if method == "POST":
                denied = self._denied("alert")
                if denied:
                    return denied
                n = max([*self.issues, *self.pulls, 0]) + 1
                self.issues[n] = {
                    "number": n,
                    "title": body["title"],
                    "body": body.get("body"),
                    "state": "open",
                    "user": self._user(self.bot_login(), self._bot_type()),
                    "url": f"{self.base_url}{base}/issues/{n}",
                    "html_url": f"https://github.com/{self.repo}/issues/{n}",
                    "labels": [],
                }
                return 201, {}, self._issue_shape(self.issues[n])
        if m := re.fullmatch(r"/issues/(\d+)", rest):
            n = int(m[1])
            if n not in self.issues:
                return 404, {}, {"message": "Not Found"}
            if method == "PATCH":
                denied = self._denied("alert")
                if denied:
                    return denied
                self.issues[n].update({k: v for k, v in body.items() if k in ("title", "body", "state")})
            return 200, {}, self._issue_shape(self.issues[n])
        return 404, {}, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}

    def _bot_type(self) -> str:
        return "User" if self.login else "Bot"

    def _page(self, items: list[Any], query: dict[str, list[str]], path: str) -> tuple:
        per_page = int(query.get("per_page", ["30"])[0])
        page = int(query.get("page", ["1"])[0])
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        links = []
        if page < last:
            links.append(f'<{self.base_url}{path}?per_page={per_page}&page={page + 1}>; rel="next"')
            links.append(f'<{self.base_url}{path}?per_page={per_page}&page={last}>; rel="last"')
        if page > 1:
            links.append(f'<{self.base_url}{path}?per_page={per_page}&page=1>; rel="first"')
            links.append(f'<{self.base_url}{path}?per_page={per_page}&page={page - 1}>; rel="prev"')
        return 200, ({"Link": ", ".join(links)} if links else {}), chunk


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _serve(self) -> None:
        fake = self.server.fake
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        query = parse_qs(url.query)
        headers = dict(self.headers.items())
        rec = Recorded(self.command, url.path, query, headers, body)
        with fake._lock:
            fake.requests.append(rec)
            status, extra, payload = fake.handle(
                self.command, url.path, query, body, self.headers.get("Authorization", "")
            )
        rec.status = status
        raw_bytes = isinstance(payload, bytes)  # an archive download (the bot's tarball), not JSON
        data = payload if raw_bytes else (b"" if payload is None else json.dumps(payload).encode())
        self.send_response(status)
        self.send_header(
            "Content-Type", "application/gzip" if raw_bytes else "application/json; charset=utf-8"
        )
        self.send_header("Content-Length", str(len(data)))
        given = {k.lower() for k in extra}
        for name, value in (("x-ratelimit-limit", "1000"), ("x-ratelimit-remaining", "999")):
            if name not in given:  # a scripted fault's own rate-limit headers win
                self.send_header(name, value)
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_DELETE = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeGitHub


class GitHubServer:
    """`with GitHubServer(FakeGitHub(...)) as srv:` -> srv.url is the GITHUB_API_URL."""

    def __init__(self, fake: FakeGitHub | None = None) -> None:
        self.fake = fake or FakeGitHub()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self.fake
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self.fake.base_url = self.url
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> GitHubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def load_payload(event: str, name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "github-webhooks" / event / name).read_text(encoding="utf-8"))


def write_payload(path: Path, payload: dict[str, Any]) -> Path:
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path
