"""`alerts:` in `.llmops.yml` (issue 15): where alerts go and when they count as anomalies.

    alerts:
      sinks:
        - type: github-issue              # the alert issue the scheduled run opens (the default sink)
          min_severity: warning
        - type: webhook                   # JSON, signed with HMAC-SHA256 in X-Llmops-Signature-256
          url_env: LLMOPS_ALERT_WEBHOOK_URL
          secret_env: LLMOPS_ALERT_WEBHOOK_SECRET
        - type: slack                     # a Slack-compatible incoming webhook (text + blocks)
          url_env: SLACK_WEBHOOK_URL
          min_severity: critical
      anomaly: {window: 10, k: 3}

Webhook URLs and signing keys are secrets: the config names the environment variable (a repository
secret passed through `env:`), never the value, so a pull request cannot point them elsewhere or read them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Severity = Literal["info", "warning", "critical"]
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SinkConfig(_Strict):
    type: Literal["github-issue", "webhook", "slack"]
    name: str | None = Field(None, description="Label in logs; default: the type.")
    min_severity: Severity = "info"
    url_env: str | None = Field(None, pattern=_ENV_NAME, description="Environment variable holding the URL.")
    secret_env: str | None = Field(
        None, pattern=_ENV_NAME, description="Environment variable holding the HMAC signing key (webhook)."
    )
    # Accepted only to reject them with a message that says where secrets go.
    url: Any = Field(None, exclude=True, description="Not allowed: use url_env.")
    secret: Any = Field(None, exclude=True, description="Not allowed: use secret_env.")

    @model_validator(mode="after")
    def _check(self) -> SinkConfig:
        for key in ("url", "secret"):
            if getattr(self, key) is not None:
                raise ValueError(
                    f"'{key}' would put a secret in the repository: store it as a secret, pass it to the "
                    f"step's env, and name the variable with '{key}_env'"
                )
        if self.type == "github-issue":
            if self.url_env or self.secret_env:
                raise ValueError(
                    "a github-issue sink takes no url_env or secret_env (it uses the github-token)"
                )
        elif not self.url_env:
            raise ValueError(f"a {self.type} sink needs 'url_env', the environment variable with its URL")
        if self.type == "slack" and self.secret_env:
            raise ValueError("Slack incoming webhooks are not signed: drop 'secret_env'")
        return self

    @property
    def label(self) -> str:
        return self.name or self.type


class AlertRetryConfig(_Strict):
    attempts: int = Field(4, ge=1, le=10, description="Deliveries tried per sink, the first included.")
    initial_delay: float = Field(1.0, ge=0, description="Seconds before the first retry; doubled each time.")
    max_delay: float = Field(30.0, ge=0)
    timeout: float = Field(10.0, gt=0, description="Seconds one delivery may take.")


class AnomalyConfig(_Strict):
    """A scheduled run's score outside mean +- k standard deviations of the last `window` baselines."""

    enabled: bool = True
    window: int = Field(10, ge=3, le=100)
    min_history: int = Field(5, ge=3, description="Fewer baselines than this: no anomaly check.")
    k: float = Field(3.0, gt=0)
    severity: Severity = "warning"


def _default_sinks() -> list[SinkConfig]:
    return [SinkConfig(type="github-issue", min_severity="warning")]


class AlertsConfig(_Strict):
    sinks: list[SinkConfig] = Field(default_factory=_default_sinks)
    state_file: str = Field(
        ".llmops/alerts/state.json",
        description="Open, acknowledged and resolved alerts, relative to the config's folder (dedupe).",
    )
    retries: AlertRetryConfig = Field(default_factory=AlertRetryConfig)
    anomaly: AnomalyConfig = Field(default_factory=AnomalyConfig)
