"""MLflow's prompt registry for a run: each evaluated prompt version registered once, and aliases that
mirror the repository's activation log.

MLflow numbers prompt versions 1, 2, 3...; our versions are semver. A registered version carries its
semver and content hash as tags, and is found again by them, so each (name, semver, hash) is registered
once however many runs evaluate it. A prompt edited without a version bump gets a new MLflow version with
the same semver tag and its own hash, so the registry never hides a change.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlflow.entities.model_registry import PromptVersion
    from mlflow.tracking import MlflowClient

    from llmops_action.core.config import LlmopsConfig
    from llmops_action.core.results import PromptInfo

SEMVER_TAG = "llmops.version"
HASH_TAG = "llmops.hash"
DEFAULT_ALIAS = "production"
_BAD_NAME = re.compile(r"[^A-Za-z0-9_.\-]")


def registry_name(prompt: str) -> str:
    """MLflow prompt names allow letters, digits, `_`, `-` and `.`."""
    return _BAD_NAME.sub("_", prompt)


def chat_template(p: PromptInfo) -> list[dict[str, str]] | str:
    """MLflow's chat template (system + user); both use `{{ var }}` like our jinja templates."""
    if not p.system:
        return p.template
    return [{"role": "system", "content": p.system}, {"role": "user", "content": p.template}]


def _versions(client: MlflowClient, name: str) -> list[PromptVersion]:
    from mlflow.exceptions import MlflowException

    found: list[PromptVersion] = []
    token = None
    try:
        while True:
            page = client.search_prompt_versions(name, max_results=100, page_token=token)
            found.extend(page)
            token = getattr(page, "token", None)
            if not token:
                return found
    except MlflowException as exc:
        if getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
            return found
        raise


def find_version(client: MlflowClient, name: str, semver: str, content_hash: str) -> PromptVersion | None:
    for v in _versions(client, registry_name(name)):
        if v.tags.get(SEMVER_TAG) == semver and v.tags.get(HASH_TAG) == content_hash:
            return v
    return None


def ensure_prompt(client: MlflowClient, p: PromptInfo) -> PromptVersion:
    """The registered version of `p`, registered now when it is not there yet."""
    existing = find_version(client, p.name, p.version, p.hash)
    if existing is not None:
        return existing
    return client.register_prompt(
        name=registry_name(p.name),
        template=chat_template(p),
        commit_message=f"{p.name} {p.version} (llmops-action)",
        tags={SEMVER_TAG: p.version, HASH_TAG: p.hash},
    )


def register_run_prompts(client: MlflowClient, run_id: str, prompts: list[PromptInfo]) -> dict[str, str]:
    """Register every prompt version the run used and link them to it; {our name: MLflow version}."""
    linked: dict[str, str] = {}
    for p in prompts:
        pv = ensure_prompt(client, p)
        client.link_prompt_version_to_run(run_id, pv)
        linked[p.name] = str(pv.version)
    return linked


def set_alias(client: MlflowClient, p: PromptInfo, alias: str = DEFAULT_ALIAS) -> str:
    """Point `alias` at `p`'s registered version (registering it first); returns the MLflow version."""
    pv = ensure_prompt(client, p)
    client.set_prompt_alias(registry_name(p.name), alias=alias, version=int(pv.version))
    return str(pv.version)


def prompt_info(prompt: Any) -> PromptInfo:
    """PromptInfo of a loaded Prompt (what `prompt activate` has in hand)."""
    from llmops_action.core.results import PromptInfo

    return PromptInfo(
        name=prompt.name,
        version=prompt.version,
        hash=prompt.content_hash,
        system=prompt.system,
        template=prompt.template,
        variables=[v.model_dump(mode="json", exclude_none=True) for v in prompt.variables],
    )


def mirror_activation(
    config: LlmopsConfig, root: Path, prompt: Any, alias: str = DEFAULT_ALIAS
) -> str | None:
    """With tracking on, move `alias` in MLflow's prompt registry to the version the repository just
    activated (`prompt activate` / `rollback`), and print where. None when tracking is off.

    The repository's activation log stays the source of truth: a failure here is one warning line,
    printed and returned instead of raised.
    """
    import sys

    if not config.tracking_config.enabled:
        return None
    cfg = config.tracking_config
    from llmops_action.adapters.tracking import (
        client_for,
        global_store,
        mlflow_env,
        public_uri,
        resolve_uri,
        store_dir,
    )

    uri = resolve_uri(cfg, store_dir(root))
    try:
        with mlflow_env():
            if uri.startswith("sqlite:"):
                store_dir(root).mkdir(parents=True, exist_ok=True)
            client = client_for(uri)
            with global_store(uri):
                version = set_alias(client, prompt_info(prompt), alias)
    except Exception as exc:  # the repository's log is what runs; the registry only mirrors it
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        line = (
            f"llmops-action: warning: MLflow prompt registry at {public_uri(uri)} not updated "
            f"({type(exc).__name__}: {first[:200]}); the activation itself is recorded"
        )
        print(line, file=sys.stderr)
        return line
    line = f"mlflow: prompt {registry_name(prompt.name)} alias '{alias}' -> version {version} in {public_uri(uri)}"
    print(line)
    return line
