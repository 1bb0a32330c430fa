"""An experiment's lifecycle, kept in the repository beside the prompt registry.

`.llmops/experiments/<name>.json` (relative to the config's folder) holds the state and an append-only
log, so starting, pausing and completing an experiment is reviewed in a PR like any other change:

    {"name": "rag-answer-v2", "state": "completed", "winner": "treatment",
     "log": [{"state": "running", "previous": "draft", "at": "2026-01-01T12:00:00Z", "by": "Ada",
              "note": "", "winner": null}, ...]}

draft -> running -> paused -> running -> completed (with a winner) | cancelled. No file means draft.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from llmops_action.core.experiment_config import VARIANTS
from llmops_action.errors import UserInputError

if TYPE_CHECKING:
    from llmops_action.core.config import LlmopsConfig
    from llmops_action.core.experiment_config import ExperimentConfig

EXPERIMENTS_DIR = Path(".llmops") / "experiments"
State = Literal["draft", "running", "paused", "completed", "cancelled"]
STATES = ("draft", "running", "paused", "completed", "cancelled")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("running", "cancelled"),
    "running": ("paused", "completed", "cancelled"),
    "paused": ("running", "completed", "cancelled"),
    "completed": (),
    "cancelled": (),
}


@dataclass(frozen=True)
class StateChange:
    state: str
    previous: str
    at: str  # UTC, ISO 8601
    by: str
    note: str = ""
    winner: str | None = None


@dataclass(frozen=True)
class Experiment:
    """An experiment's config with the state its log gives it."""

    config: ExperimentConfig
    state: str = "draft"
    winner: str | None = None
    log: tuple[StateChange, ...] = field(default_factory=tuple)

    @property
    def name(self) -> str:
        return self.config.name

    def to_json(self) -> str:
        data = {
            "name": self.name,
            "state": self.state,
            "winner": self.winner,
            "log": [asdict(e) for e in self.log],
        }
        return json.dumps(data, indent=2) + "\n"


def state_file(root: Path, name: str) -> Path:
    return root / EXPERIMENTS_DIR / f"{name}.json"


def find_config(config: LlmopsConfig, name: str) -> ExperimentConfig:
    import difflib

    for e in config.experiments:
        if e.name == name:
            return e
    names = [e.name for e in config.experiments]
    close = difflib.get_close_matches(name, names, n=1)
    raise UserInputError(
        f"no experiment named '{name}' in the config (have: {', '.join(names) or 'none'})",
        key="experiments",
        hint=f"did you mean '{close[0]}'?" if close else "Add it under `experiments:` in .llmops.yml.",
    )


def _parse(text: str, source: str, config: ExperimentConfig) -> Experiment:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserInputError(
            f"experiment state is not JSON: {exc.msg}", file=source, line=exc.lineno
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("log", []), list):
        raise UserInputError(
            "experiment state must be an object with 'state', 'winner' and 'log'", file=source
        )
    log: list[StateChange] = []
    for i, raw in enumerate(data.get("log", [])):
        try:
            entry = StateChange(**raw)
        except TypeError as exc:
            raise UserInputError(f"bad log entry: {exc}", file=source, key=f"log[{i}]") from None
        if entry.state not in STATES or entry.previous not in STATES:
            raise UserInputError(f"unknown state '{entry.state}'", file=source, key=f"log[{i}].state")
        log.append(entry)
    state = data.get("state", "draft")
    if state not in STATES:
        raise UserInputError(
            f"unknown state '{state}' (one of {', '.join(STATES)})", file=source, key="state"
        )
    winner = data.get("winner")
    if winner is not None and winner not in VARIANTS:
        raise UserInputError("'winner' must be control or treatment", file=source, key="winner")
    return Experiment(config=config, state=state, winner=winner, log=tuple(log))


def load_experiment(root: Path, config: ExperimentConfig) -> Experiment:
    path = state_file(root, config.name)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Experiment(config=config)
    return _parse(text, str(path), config)


def transition(
    root: Path,
    config: ExperimentConfig,
    to: str,
    *,
    by: str | None = None,
    note: str = "",
    winner: str | None = None,
) -> Experiment:
    """Move the experiment to state `to`; refuse a move the lifecycle does not allow."""
    from llmops_action.adapters.registry import default_actor

    current = load_experiment(root, config)
    allowed = TRANSITIONS[current.state]
    if to not in allowed:
        raise UserInputError(
            f"experiment '{config.name}' is {current.state}: it cannot become {to}"
            + (f" (allowed: {', '.join(allowed)})" if allowed else " (it is over)"),
            file=str(state_file(root, config.name)),
            key="state",
        )
    if to == "completed" and winner not in VARIANTS:
        raise UserInputError("completing an experiment needs --winner control or treatment", key="winner")
    if to != "completed":
        winner = None
    entry = StateChange(
        state=to, previous=current.state, at=_now(), by=by or default_actor(root), note=note, winner=winner
    )
    new = Experiment(config=config, state=to, winner=winner, log=(*current.log, entry))
    path = state_file(root, config.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(new.to_json(), encoding="utf-8")
    tmp.replace(path)
    return new


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
