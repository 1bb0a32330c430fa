"""The fake GitHub API of tests/support/github_server.py, extended with what a GitHub App uses.

App endpoints answer only to a JWT signed with the App's key (RS256, `iss` = App id); repository
endpoints only to an installation token this fake minted for that repository. Shapes come from
../shared/fixtures/github-api/endpoints.json: installation token, check runs (create, update, list for a
ref), the tarball (302 to a download link, then the archive), collaborator permission, PR files,
git refs and contents.
"""

from __future__ import annotations

import io
import re
import secrets
import tarfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.github_server import FakeGitHub, example

APP_ID = 424242
INSTALLATION_ID = 77


@dataclass(frozen=True)
class AppKey:
    private_pem: str
    public_pem: str


def make_key() -> AppKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return AppKey(private, public)


class FakeGitHubApp(FakeGitHub):
    def __init__(
        self,
        key: AppKey,
        repo: str = "octo-org/llmops-demo",
        *,
        app_id: int = APP_ID,
        installation_id: int = INSTALLATION_ID,
        slug: str = "llmops",
    ) -> None:
        super().__init__(repo, token="never-used")
        self.key, self.app_id, self.installation_id, self.slug = key, app_id, installation_id, slug
        self.trees: dict[str, dict[str, bytes]] = {}
        self.refs: dict[str, str] = {}  # "heads/main" -> sha
        self.contents: dict[tuple[str, str], bytes] = {}  # (ref, path) -> bytes
        self.permissions: dict[str, str] = {}  # login -> admin | write | read | none
        self.pr_files: dict[int, list[str]] = {}
        self.check_runs: list[dict[str, Any]] = []
        self.tokens: dict[str, dict[str, Any]] = {}  # token -> {repositories, expires}
        self.reactions: list[dict[str, Any]] = []
        self.downloads = 0
        self._dl_lock = threading.Lock()

    # -- scripting -----------------------------------------------------------------------------------

    def bot_login(self) -> str:
        return f"{self.slug}[bot]"

    def add_tree(self, sha: str, folder: Path) -> None:
        """The files of `folder` are the repository at commit `sha`."""
        self.trees[sha] = {
            p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
        }

    def runs(self, sha: str | None = None, name: str | None = None) -> list[dict[str, Any]]:
        return [
            r
            for r in self.check_runs
            if (sha is None or r["head_sha"] == sha) and (name is None or r["name"] == name)
        ]

    def bot_comments(self, number: int) -> list[dict[str, Any]]:
        return [c for c in self.comments.get(number, []) if c["user"]["login"] == self.bot_login()]

    # -- auth ----------------------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any, auth: str) -> tuple:
        if path.startswith("/_codeload/"):
            return self._download(path, query)
        if path.startswith("/app") or re.fullmatch(r"/repos/[^/]+/[^/]+/installation", path):
            if not self._jwt_ok(auth):
                return 401, {}, {"message": "A JSON web token could not be decoded"}
            return self._app_route(method, path, body)
        token = auth.removeprefix("token ").removeprefix("Bearer ").strip()
        grant = self.tokens.get(token)
        if grant is None or grant["expires"] < datetime.now(UTC):
            return (
                401,
                {},
                {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
            )
        if path.startswith("/repos/") and path.split("/")[3] not in grant["repositories"]:
            return 404, {}, {"message": "Not Found"}
        fault = self._fault(method, path)
        if fault is not None and not fault.apply_first:
            return fault.status, fault.headers, fault.body
        result = self._route(method, path, query, body)
        if fault is not None:
            return fault.status, fault.headers, fault.body
        return result

    def _jwt_ok(self, auth: str) -> bool:
        if not auth.startswith("Bearer "):
            return False
        try:
            claims = jwt.decode(auth[7:], self.key.public_pem, algorithms=["RS256"])
        except jwt.PyJWTError:
            return False
        return str(claims.get("iss")) == str(self.app_id)

    def _app_route(self, method: str, path: str, body: Any) -> tuple:
        if method == "GET" and path == "/app":
            app = example("apps/get-authenticated")
            app.update(id=self.app_id, slug=self.slug)
            return 200, {}, app
        if method == "GET" and path.endswith("/installation"):
            inst = example("apps/get-repo-installation")
            inst.update(id=self.installation_id, app_id=self.app_id)
            return 200, {}, inst
        if m := re.fullmatch(r"/app/installations/(\d+)/access_tokens", path):
            if method != "POST" or int(m[1]) != self.installation_id:
                return 404, {}, {"message": "Not Found"}
            names = (body or {}).get("repositories") or [self.repo.split("/")[1]]
            out = example("apps/create-installation-access-token")
            token = "ghs_" + secrets.token_hex(18)
            expires = datetime.now(UTC) + timedelta(hours=1)
            self.tokens[token] = {"repositories": list(names), "expires": expires}
            out.update(token=token, expires_at=expires.strftime("%Y-%m-%dT%H:%M:%SZ"))
            out["repositories"] = [dict(out["repositories"][0], name=n, full_name=self.repo) for n in names]
            return 201, {}, out
        return 404, {}, {"message": "Not Found"}

    # -- repository routes ---------------------------------------------------------------------------

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple:
        base = f"/repos/{self.repo}"
        rest = path[len(base) :] if path.startswith(base) else None
        if rest is None:
            return super()._route(method, path, query, body)
        if m := re.fullmatch(r"/tarball/([^/]+)", rest):
            if m[1] not in self.trees:
                return 404, {}, {"message": "Not Found"}
            # As GitHub: a 302 to a short-lived link on another path, which needs no Authorization.
            link = f"{self.base_url}/_codeload/{self.repo}/legacy.tar.gz/{m[1]}?token={secrets.token_hex(8)}"
            return 302, {"Location": link}, None
        if rest == "/check-runs" and method == "POST":
            return self._create_run(body)
        if m := re.fullmatch(r"/check-runs/(\d+)", rest):
            run = next((r for r in self.check_runs if r["id"] == int(m[1])), None)
            if run is None:
                return 404, {}, {"message": "Not Found"}
            if method == "PATCH":
                self._apply(run, body)
            return 200, {}, run
        if m := re.fullmatch(r"/commits/([^/]+)/check-runs", rest):
            return self._list_runs(m[1], query)
        if m := re.fullmatch(r"/collaborators/([^/]+)/permission", rest):
            out = example("repos/get-collaborator-permission-level")
            perm = self.permissions.get(m[1], "none")
            out.update(permission=perm, role_name={"none": "none"}.get(perm, perm))
            out["user"] = self._user(m[1], "User")
            return 200, {}, out
        if m := re.fullmatch(r"/pulls/(\d+)/files", rest):
            template = example("pulls/list-files")[0]
            files = [dict(template, filename=f, status="modified") for f in self.pr_files.get(int(m[1]), [])]
            return self._page(files, query, path)
        if m := re.fullmatch(r"/git/ref/(.+)", rest):
            sha = self.refs.get(m[1])
            if sha is None:
                return 404, {}, {"message": "Not Found"}
            ref = example("git/get-ref")
            ref.update(ref=f"refs/{m[1]}", url=f"{self.base_url}{base}/git/refs/{m[1]}")
            ref["object"].update(sha=sha, url=f"{self.base_url}{base}/git/commits/{sha}")
            return 200, {}, ref
        if m := re.fullmatch(r"/contents/(.+)", rest):
            ref = query.get("ref", [self.default_branch])[0]
            data = self.contents.get((ref, m[1]))
            if data is None:
                return 404, {}, {"message": "Not Found"}
            import base64

            out = example("repos/get-content")
            out.update(
                type="file",
                encoding="base64",
                path=m[1],
                name=m[1].rsplit("/", 1)[-1],
                content=base64.b64encode(data).decode(),
                size=len(data),
            )
            return 200, {}, out
        return super()._route(method, path, query, body)

    def _create_run(self, body: dict[str, Any]) -> tuple:
        run = example("checks/create")
        rid = next(self._ids)
        run.update(
            id=rid,
            name=body["name"],
            head_sha=body["head_sha"],
            status=body.get("status", "queued"),
            conclusion=None,
            started_at=body.get("started_at"),
            completed_at=None,
            url=f"{self.base_url}/repos/{self.repo}/check-runs/{rid}",
            html_url=f"https://github.com/{self.repo}/runs/{rid}",
            external_id=body.get("external_id", ""),
            output={"title": None, "summary": None, "text": None, "annotations_count": 0},
            annotations=[],
        )
        run["app"] = dict(run.get("app") or {}, id=self.app_id, slug=self.slug)
        self._apply(run, {k: v for k, v in body.items() if k not in ("name", "head_sha")})
        self.check_runs.append(run)
        return 201, {}, run

    def _apply(self, run: dict[str, Any], body: dict[str, Any]) -> None:
        for k in ("status", "conclusion", "started_at", "completed_at", "details_url", "external_id"):
            if k in body:
                run[k] = body[k]
        if "conclusion" in body and "status" not in body:
            run["status"] = "completed"
        out = body.get("output")
        if out:
            if len(out.get("summary") or "") > 65535:
                raise AssertionError("summary over GitHub's 65535 characters")
            run["annotations"] = run.get("annotations", []) + list(out.get("annotations") or [])
            run["output"] = {
                "title": out.get("title"),
                "summary": out.get("summary"),
                "text": out.get("text"),
                "annotations_count": len(run["annotations"]),
            }

    def _list_runs(self, ref: str, query: dict[str, list[str]]) -> tuple:
        runs = [r for r in self.check_runs if r["head_sha"] == ref]
        if "check_name" in query:
            runs = [r for r in runs if r["name"] == query["check_name"][0]]
        if "app_id" in query:
            runs = [r for r in runs if str(r["app"]["id"]) == query["app_id"][0]]
        if query.get("filter", ["latest"])[0] == "latest":
            latest: dict[str, dict[str, Any]] = {}
            for r in runs:
                latest[r["name"]] = r
            runs = list(latest.values())
        return 200, {}, {"total_count": len(runs), "check_runs": runs}

    def _download(self, path: str, query: dict[str, list[str]]) -> tuple:
        sha = path.rsplit("/", 1)[-1]
        files = self.trees.get(sha)
        if files is None or "token" not in query:
            return 404, {}, {"message": "Not Found"}
        owner, name = self.repo.split("/")
        top = f"{owner}-{name}-{sha[:7]}"
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for rel, data in files.items():
                info = tarfile.TarInfo(f"{top}/{rel}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        with self._dl_lock:
            self.downloads += 1
        return 200, {}, buf.getvalue()
