"""Who may run what, with which secrets, under whose gates: the trust policy, pure and in one place.

A required check is only worth something if the pull request it judges cannot decide its outcome (issue 10):

- the base branch's config governs the measurement and the gates; a PR's changes to them are listed and take
  effect after merge (`govern`). A PR that adopts the tool (no config on the base) runs under its own config;
- `python` / `command` providers run only where the head is trusted code, never on a fork's code in a
  context that holds secrets (`decide`, `Trust.may_run`);
- those providers see a scrubbed environment (`provider_environment`);
- keys go only to endpoints the base's config or the environment names (`govern`: a head that changes
  `provider.base_url` is evaluated without keys);
- the cache and the baseline store live outside the workspace in the Action (`cache_dir`, `dir_store_path`);
- prompt, dataset and outputs paths stay inside the config's folder (core/paths.py).

Everything here takes data and returns data: the callers read the environment, git and GitHub.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmops_action.core.config import LlmopsConfig
from llmops_action.core.events import EventFacts
from llmops_action.core.measurement import governed
from llmops_action.core.paths import relative_inside

CODE_PROVIDERS = ("python", "command")
WRITE_PERMISSIONS = ("admin", "maintain", "write")
TRUSTED_LABEL = "llmops:trusted"
LOCAL_EVENTS = ("local", "manual")
FIRST_RUN = "first run: no base to compare with"
NEEDS_MAINTAINER = "needs a maintainer: this PR's app code has not been evaluated"
UNVERIFIED = "supplied by the fork, unverified"

# Where results and secrets go: also the base's, so a PR cannot point them at something it controls.
CUSTODY_KEYS = ("baseline", "tracking", "cache")
# Listed in the comment under "changes to the gates (take effect after merge)".
GATE_CHANGE_KEYS = ("gates", "max_error_rate", "baseline", "judge", "metrics", "drift")

# Never handed to code the PR controls. ACTIONS_* holds the runtime, cache and OIDC request tokens.
SECRET_PREFIXES = ("INPUT_", "ACTIONS_")
SECRET_NAMES = frozenset(
    {
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "MLFLOW_TRACKING_TOKEN",
        "MLFLOW_TRACKING_PASSWORD",
        "MLFLOW_TRACKING_USERNAME",
        "LLMOPS_WEBHOOK_SECRET",
        "LLMOPS_APP_PRIVATE_KEY",
    }
)


@dataclass(frozen=True)
class Trust:
    """What one event may do. `reason` is one sentence for the log and the comment."""

    act: bool  # evaluate at all (False: a push to another branch, a command from a non-writer...)
    head_code_trusted: bool  # the head's own code (python / command providers) may run here
    holds_secrets: bool  # this context has a key or a write token
    head_as_data: bool  # a fork's head in a privileged context: its files are read as data, never run
    post: bool  # a write token is expected: comment, statuses, alert issue
    save_baseline: bool = False
    reason: str = ""

    def may_run(self, provider_type: str) -> bool:
        """Code providers only on trusted code, or where nothing secret is held (a fork's own run)."""
        return provider_type not in CODE_PROVIDERS or self.head_code_trusted or not self.holds_secrets


def decide(
    facts: EventFacts,
    *,
    secrets: bool,
    permission: str | None = None,
    label_by_writer: bool = False,
) -> Trust:
    """The trust decision for an event.

    `secrets`: the context holds a key or a write token. `permission`: the commenter's (issue_comment) or
    labeller's repository permission as the collaborators API reports it. `label_by_writer`: the
    `llmops:trusted` label is on the PR and was added by someone with write permission (checked through the
    API by the caller): the maintainer's path to evaluate a fork's code on pull_request_target.
    """
    event = facts.event
    if event in LOCAL_EVENTS:  # the CLI on a developer's own checkout: their code, their keys
        return Trust(True, True, secrets, False, False, save_baseline=event == "manual", reason="a local run")
    if event == "push":
        if facts.deleted or facts.head_sha is None:
            return Trust(False, True, secrets, False, False, reason=f"{facts.ref} was deleted")
        if facts.branch is None:
            return Trust(False, True, secrets, False, False, reason=f"{facts.ref} is not a branch")
        if facts.default_branch and not facts.to_default_branch:
            return Trust(
                False,
                True,
                secrets,
                False,
                False,
                reason=f"'{facts.branch}' is not the default branch '{facts.default_branch}'",
            )
        return Trust(
            True, True, secrets, False, secrets, save_baseline=True, reason="a push to the default branch"
        )
    if event in ("schedule", "workflow_dispatch"):
        return Trust(True, True, secrets, False, secrets, reason=f"a {event} run of the default branch")
    if event == "pull_request":
        if facts.is_fork:
            return Trust(
                True,
                False,
                secrets,
                False,
                False,
                reason=f"a pull request from the fork {facts.head_repo or '(deleted)'}: no secrets, no write token",
            )
        return Trust(True, True, secrets, False, secrets, reason="a pull request from this repository")
    if event == "pull_request_target":
        if not facts.is_fork:
            return Trust(True, True, secrets, False, secrets, reason="a pull request from this repository")
        if label_by_writer:
            return Trust(
                True,
                True,
                secrets,
                False,
                secrets,
                reason=f"a maintainer labelled this fork PR `{TRUSTED_LABEL}`: its code runs with secrets",
            )
        return Trust(
            True, False, secrets, True, secrets, reason="a fork PR in the base's context: its files are data"
        )
    if event == "workflow_run":
        fork = facts.is_fork
        return Trust(
            True,
            not fork,
            secrets,
            fork,
            secrets,
            reason="a fork PR in the base's context: its files are data"
            if fork
            else "a run of this repository",
        )
    if event == "issue_comment":
        if facts.pr_number is None or facts.command is None:
            return Trust(False, False, secrets, False, False, reason="not a command on a pull request")
        if permission not in WRITE_PERMISSIONS:
            return Trust(
                False,
                False,
                secrets,
                False,
                False,
                reason=f"{facts.commenter or 'the commenter'} has {permission or 'no'} permission; commands need write",
            )
        fork = facts.is_fork  # the caller fills head_repo from the PR; unknown counts as a fork
        return Trust(
            True,
            not fork,
            secrets,
            fork,
            secrets,
            reason=f"a command from {facts.commenter}, who can write"
            + ("; the fork's files are data" if fork else ""),
        )
    return Trust(False, False, secrets, False, False, reason=f"the event '{event}' needs nothing from us")


# --- which config governs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Governance:
    """The config a run is measured and gated under, and what the PR changed that does not apply yet."""

    config: LlmopsConfig
    first_run: bool
    gate_changes: list[str] = field(default_factory=list)
    provider_key: bool = True  # False: the head points the provider somewhere else; no key goes there
    notes: list[str] = field(default_factory=list)


def govern(base: LlmopsConfig | None, head: LlmopsConfig) -> Governance:
    """Head's treatment (prompts, datasets, provider, parameters) under the base's measurement and custody."""
    if base is None:
        return Governance(
            head, True, notes=[f"{FIRST_RUN}: this pull request adds the config, so its own governs."]
        )
    # What scores and gates a run is the base's, always (core/measurement.py); so is where results go.
    effective = governed(head, base).model_copy(update={k: getattr(base, k) for k in CUSTODY_KEYS})
    changes = list(config_changes(base, head, GATE_CHANGE_KEYS))
    notes: list[str] = []
    provider_key = (head.provider.base_url or None) == (base.provider.base_url or None)
    if not provider_key:
        notes.append(
            f"provider.base_url: this PR sets {head.provider.base_url or '(default)'} instead of the base's "
            f"{base.provider.base_url or '(default)'}: it is evaluated without keys (none is sent to an endpoint "
            "a pull request names)."
        )
    return Governance(effective, False, changes, provider_key, notes)


def config_changes(base: LlmopsConfig, head: LlmopsConfig, keys: Iterable[str]) -> Iterable[str]:
    """`key.path: old -> new` for every leaf that differs between the two configs under `keys`."""
    old = base.model_dump(mode="json", by_alias=True, include=set(keys))
    new = head.model_dump(mode="json", by_alias=True, include=set(keys))
    a, b = dict(_flatten(old)), dict(_flatten(new))
    for path in sorted(set(a) | set(b), key=lambda p: (p.split(".")[0], p)):
        if a.get(path, _MISSING) != b.get(path, _MISSING):
            yield f"{path}: {_show(a.get(path, _MISSING))} -> {_show(b.get(path, _MISSING))}"


_MISSING = object()


def _flatten(value: Any, prefix: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        for k, v in value.items():
            yield from _flatten(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
        for i, v in enumerate(value):
            yield from _flatten(v, f"{prefix}[{i}]")
    else:
        yield prefix, value


def _show(value: Any) -> str:
    return "(none)" if value is _MISSING or value is None else repr(value)


# --- secrets ---------------------------------------------------------------------------------------------


def is_secret_name(name: str) -> bool:
    return name.upper() in SECRET_NAMES or name.upper().startswith(SECRET_PREFIXES)


def provider_environment(environ: Mapping[str, str], *, secrets: Iterable[str] = ()) -> dict[str, str]:
    """The environment a python / command provider gets: no INPUT_*, ACTIONS_*, tokens or our keys, and no
    variable whose value is one of `secrets` (a key copied under another name)."""
    values = {s for s in secrets if s}
    return {k: v for k, v in environ.items() if not is_secret_name(k) and v not in values}


# --- where state lives, and which files a config may name ------------------------------------------------


def cache_dir(configured: str, *, root: Path, state_dir: Path | None) -> Path:
    """The response cache. With a state folder (the Action: under RUNNER_TEMP, restored by actions/cache)
    nothing in the workspace is read as a cache entry; without one (a local run) the config's folder."""
    if state_dir is not None:
        return state_dir / "cache"
    p = Path(configured)
    return p if p.is_absolute() else root / p


def dir_store_path(configured: str, *, root: Path, state_dir: Path | None, file: str | None = None) -> Path:
    """A `dir` baseline store: resolved inside the repository (refused outside it), and kept under the state
    folder when there is one, so a record a pull request commits is never read as a baseline."""
    rel = relative_inside(configured, "baseline.path", file)
    return (state_dir / "baselines" if state_dir is not None else root) / rel
