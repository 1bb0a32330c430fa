"""The bot's configuration, read from the environment in one place into one frozen object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from llmops_action.errors import UserInputError

DEFAULT_API_URL = "https://api.github.com"
README_DATA_ONLY = "https://github.com/org/llmops-action#the-bot-runs-data-only-suites"


@dataclass(frozen=True)
class BotSettings:
    app_id: str | None
    private_key: str | None = field(default=None, repr=False)
    webhook_secrets: tuple[str, ...] = field(default=(), repr=False)  # current first, then the previous one
    api_url: str = DEFAULT_API_URL
    gemini_api_key: str | None = field(default=None, repr=False)
    mlflow_tracking_uri: str | None = None
    redis_url: str | None = None
    data_dir: Path = Path(".llmops-bot")
    operator_token: str | None = field(default=None, repr=False)
    app_slug: str = "llmops"
    config_path: str = ".llmops.yml"
    installation_concurrency: int = 2
    lease_seconds: float = 60.0
    reap_interval: float = 10.0
    throttle: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BotSettings:
        env = os.environ if env is None else env
        key = env.get("GITHUB_APP_PRIVATE_KEY") or None
        key_file = env.get("GITHUB_APP_PRIVATE_KEY_FILE")
        if key is None and key_file:
            try:
                key = Path(key_file).read_text(encoding="utf-8")
            except OSError as exc:
                raise UserInputError(
                    f"GITHUB_APP_PRIVATE_KEY_FILE cannot be read ({exc.strerror})", file=key_file
                ) from None
        secrets = tuple(
            s for s in (env.get("GITHUB_WEBHOOK_SECRET"), env.get("GITHUB_WEBHOOK_SECRET_PREVIOUS")) if s
        )
        return cls(
            app_id=env.get("GITHUB_APP_ID") or None,
            private_key=key,
            webhook_secrets=secrets,
            api_url=(env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"),
            gemini_api_key=env.get("GEMINI_API_KEY") or None,
            mlflow_tracking_uri=env.get("MLFLOW_TRACKING_URI") or None,
            redis_url=env.get("REDIS_URL") or None,
            data_dir=Path(env.get("LLMOPS_DATA_DIR") or ".llmops-bot"),
            operator_token=env.get("LLMOPS_OPERATOR_TOKEN") or None,
            app_slug=env.get("LLMOPS_APP_SLUG") or "llmops",
            config_path=env.get("LLMOPS_BOT_CONFIG") or ".llmops.yml",
            installation_concurrency=_int(env, "LLMOPS_INSTALLATION_CONCURRENCY", 2),
            lease_seconds=_float(env, "LLMOPS_JOB_LEASE_SECONDS", 60.0),
            reap_interval=_float(env, "LLMOPS_REAP_INTERVAL_SECONDS", 10.0),
            throttle=(env.get("LLMOPS_GITHUB_THROTTLE", "true").lower() != "false"),
        )

    @property
    def bot_login(self) -> str:
        return f"{self.app_slug}[bot]"

    @property
    def tracking_uri(self) -> str:
        """The bot's own MLflow: never a URI from a repository's config (a PR controls that)."""
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        return f"sqlite:///{(self.data_dir / 'mlflow.db').resolve()}"

    def require_webhook_secret(self) -> None:
        if not self.webhook_secrets:
            raise UserInputError(
                "GITHUB_WEBHOOK_SECRET is not set: the bot will not accept unsigned webhooks",
                key="GITHUB_WEBHOOK_SECRET",
                hint="Set it to the webhook secret of the GitHub App (Settings > Developer settings > "
                "GitHub Apps > your app > Webhook secret).",
            )

    def require_app(self) -> None:
        if not self.app_id or not self.private_key:
            raise UserInputError(
                "GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY (or GITHUB_APP_PRIVATE_KEY_FILE) must be set",
                key="GITHUB_APP_ID",
                hint="Both come from the GitHub App's settings page (App ID, and a generated private key).",
            )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise UserInputError(f"{name} must be a whole number, not {raw!r}", key=name) from None
    if value < 1:
        raise UserInputError(f"{name} must be at least 1", key=name)
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise UserInputError(f"{name} must be a number of seconds, not {raw!r}", key=name) from None
