"""The Action's inputs, read in one place into one frozen object.

GitHub passes `with:` inputs to a Docker action as `INPUT_<NAME>` with the name upper-cased and hyphens
kept (`INPUT_GITHUB-TOKEN`); the composite action.yml passes them the same way, and underscores are
accepted too for shells that cannot export a hyphenated name. Booleans are strict (`true` / `false`):
a typo such as `flase` is an error naming the input, never a silent default (pypa/gh-action-pypi-publish
does the same). A test checks that action.yml's inputs are exactly this dataclass's fields.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from llmops_action.core.shard import parse_shard
from llmops_action.errors import UserInputError

MODES = ("auto", "pr", "push", "schedule", "report")
RUNTIMES = ("docker", "python")
FAMILIES = ("quality", "regression", "drift")
SECRET_INPUTS = ("github-token", "gemini-api-key")
Mode = Literal["auto", "pr", "push", "schedule", "report"]


def _meta(default: str, description: str, *, secret: bool = False) -> dict[str, object]:
    return {"default": default, "description": description, "secret": secret}


@dataclass(frozen=True)
class ActionInputs:
    """One field per action.yml input (snake_case here, kebab-case there). Defaults match action.yml."""

    config: str = field(default=".llmops.yml", metadata=_meta(".llmops.yml", "Path to .llmops.yml."))
    github_token: str = field(
        default="",
        repr=False,
        metadata=_meta(
            "${{ github.token }}",
            "Token for the PR comment, commit statuses and the alert issue. Empty: report only.",
            secret=True,
        ),
    )
    gemini_api_key: str = field(
        default="",
        repr=False,
        metadata=_meta(
            "",
            "Gemini API key for the provider and the judge. Empty: judge metrics are skipped.",
            secret=True,
        ),
    )
    mode: Mode = field(
        default="auto",
        metadata=_meta("auto", "auto | pr | push | schedule | report. auto follows the triggering event."),
    )
    comment: bool = field(default=True, metadata=_meta("true", "Create or update the sticky PR comment."))
    status: bool = field(
        default=True,
        metadata=_meta("true", "Set commit statuses llmops/quality, llmops/regression, llmops/drift."),
    )
    fail_on: tuple[str, ...] = field(
        default=("quality", "regression"),
        metadata=_meta(
            "quality,regression", "Gate families that fail the job: any of quality, regression, drift."
        ),
    )
    baseline_branch: str = field(
        default="",
        metadata=_meta("", "Branch holding stored baselines (default: the config's baseline.branch)."),
    )
    mlflow_tracking_uri: str = field(
        default="",
        metadata=_meta("", "MLflow tracking server. Empty: MLFLOW_TRACKING_URI, else a local sqlite file."),
    )
    shard: str = field(default="", metadata=_meta("", "Evaluate one share of the cases, as i/n (1-based)."))
    cache: bool = field(default=True, metadata=_meta("true", "Reuse cached model outputs and judgements."))
    runtime: Literal["docker", "python"] = field(
        default="docker",
        metadata=_meta("docker", "docker (the released image) or python (setup-python on the runner)."),
    )
    out_dir: str = field(
        default=".llmops/out",
        metadata=_meta(".llmops/out", "Where results.json, comparison.json, comment.md, summary.md go."),
    )
    base_ref: str = field(
        default="",
        metadata=_meta("", "Git ref to compare with (default: the PR's base sha, or the previous baseline)."),
    )
    artifact_path: str = field(
        default="",
        metadata=_meta("", "mode: report only: the folder holding the PR run's downloaded artifact."),
    )
    pr_number: str = field(
        default="",
        metadata=_meta("", "mode: report only: the PR number (default: read from the workflow_run event)."),
    )
    selftest: bool = field(
        default=False,
        metadata=_meta(
            "false",
            "Instead of gating: mutate the outputs of a fresh evaluation and report which gate catches each "
            "degradation (selftest.json, selftest.md). For a scheduled run.",
        ),
    )

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.github_token, self.gemini_api_key) if s)

    def config_path(self, workspace: Path) -> Path:
        p = Path(self.config)
        return p if p.is_absolute() else workspace / p

    def output_dir(self, workspace: Path) -> Path:
        p = Path(self.out_dir)
        return p if p.is_absolute() else workspace / p


def input_names() -> list[str]:
    """action.yml's input names, kebab-case, in declaration order."""
    return [f.name.replace("_", "-") for f in dataclasses.fields(ActionInputs)]


def _raw(environ: Mapping[str, str], name: str) -> str | None:
    for key in (f"INPUT_{name.upper()}", f"INPUT_{name.upper().replace('-', '_')}"):
        if key in environ:
            return environ[key].strip()
    return None


def _bool(name: str, value: str) -> bool:
    if value.lower() == "true":
        return True
    if value.lower() == "false":
        return False
    raise UserInputError(f"must be true or false, got {value!r}", key=name)


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise UserInputError(f"must be one of {', '.join(allowed)}; got {value!r}", key=name)
    return value


def _families(name: str, value: str) -> tuple[str, ...]:
    items = tuple(dict.fromkeys(x.strip() for x in value.replace("\n", ",").split(",") if x.strip()))
    bad = [x for x in items if x not in FAMILIES]
    if bad:
        raise UserInputError(
            f"unknown gate famil{'y' if len(bad) == 1 else 'ies'} {', '.join(bad)}; use any of {', '.join(FAMILIES)}",
            key=name,
        )
    return items


def read_inputs(environ: Mapping[str, str]) -> ActionInputs:
    """INPUT_* -> ActionInputs. Empty values take the default, as GitHub's own toolkit does."""
    values: dict[str, object] = {}
    for f in dataclasses.fields(ActionInputs):
        name = f.name.replace("_", "-")
        raw = _raw(environ, name)
        if raw is None or raw == "":
            continue
        if f.type in ("bool",):
            values[f.name] = _bool(name, raw)
        elif name == "mode":
            values[f.name] = _choice(name, raw, MODES)
        elif name == "runtime":
            values[f.name] = _choice(name, raw, RUNTIMES)
        elif name == "fail-on":
            values[f.name] = _families(name, raw)
        elif name == "shard":
            try:
                parse_shard(raw)
            except UserInputError as exc:
                raise UserInputError(exc.message, key=name) from None
            values[f.name] = raw
        elif name == "pr-number":
            if not raw.isdigit():
                raise UserInputError(f"must be a PR number, got {raw!r}", key=name)
            values[f.name] = raw
        else:
            values[f.name] = raw
    return ActionInputs(**values)  # type: ignore[arg-type]
