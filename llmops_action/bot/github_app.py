"""GitHub App authentication (PyGithub): a JWT from the App's key, installation tokens per repository.

Tokens are scoped to the one repository a job works on (`repositories: [name]` in the token request) and
cached until shortly before they expire (GitHub: one hour). Neither the key nor a token is ever logged:
they live in this object only, and its repr says nothing.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from github import Auth, GithubIntegration

from llmops_action.adapters.github import GitHubClient, RetryPolicy
from llmops_action.bot.settings import BotSettings

REFRESH_MARGIN = 300.0  # seconds before expiry at which a cached token is replaced


@dataclass(frozen=True)
class Token:
    value: str = field(repr=False)
    expires_at: float

    def fresh(self, now: float) -> bool:
        return now < self.expires_at - REFRESH_MARGIN


class GitHubApp:
    def __init__(
        self, settings: BotSettings, *, now: Any = time.time, policy: RetryPolicy | None = None
    ) -> None:
        settings.require_app()
        assert settings.app_id and settings.private_key
        self.settings = settings
        self._auth = Auth.AppAuth(int(settings.app_id), settings.private_key)
        self._integration = GithubIntegration(auth=self._auth, base_url=settings.api_url)
        self._tokens: dict[tuple[int, str], Token] = {}
        self._lock = threading.Lock()
        self._now = now
        self.minted = 0  # tokens requested from GitHub (tests check the cache)
        self.policy = policy

    def __repr__(self) -> str:
        return f"GitHubApp(app_id={self.settings.app_id!r})"

    def app_info(self) -> dict[str, Any]:
        """GET /app with the JWT: the readiness probe's proof that GitHub and the key work."""
        _, data = self._integration.requester.requestJsonAndCheck(
            "GET", "/app", headers={"Authorization": f"Bearer {self._auth.create_jwt()}"}
        )
        return dict(data)

    def token(self, installation_id: int, repo: str) -> str:
        key = (installation_id, repo)
        with self._lock:
            cached = self._tokens.get(key)
            if cached is not None and cached.fresh(self._now()):
                return cached.value
            name = repo.split("/", 1)[1]
            _, data = self._integration.requester.requestJsonAndCheck(
                "POST",
                f"/app/installations/{installation_id}/access_tokens",
                headers={"Authorization": f"Bearer {self._auth.create_jwt()}"},
                input={"repositories": [name]},
            )
            expires = datetime.fromisoformat(str(data["expires_at"]).replace("Z", "+00:00")).timestamp()
            token = Token(str(data["token"]), expires)
            self._tokens[key] = token
            self.minted += 1
            return token.value

    def client(self, installation_id: int, repo: str) -> GitHubClient:
        """A client for one repository, with the installation's token and our retry rules."""
        throttle = self.settings.throttle
        return GitHubClient(
            self.token(installation_id, repo),
            repo,
            api_url=self.settings.api_url,
            policy=self.policy or RetryPolicy(),
            seconds_between_requests=0.25 if throttle else None,
            seconds_between_writes=1.0 if throttle else None,
            bot_login=self.settings.bot_login,
        )
