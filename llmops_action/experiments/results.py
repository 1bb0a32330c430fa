"""An experiment's result from its outcomes (imported files, extra files, MLflow traces), its alerts,
and its completion (the winner activated in the prompt registry)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from llmops_action.core.alerts import Alert
from llmops_action.core.experiment_analysis import ExperimentResult, analyse
from llmops_action.experiments.lifecycle import Experiment, transition
from llmops_action.experiments.outcomes import Outcome, outcomes_file, read_outcomes, to_table

if TYPE_CHECKING:
    from llmops_action.core.config import LlmopsConfig


def gather(
    root: Path, experiment: Experiment, files: Iterable[Path] = (), extra: Iterable[Outcome] = ()
) -> list[Outcome]:
    """The imported outcome file (when there is one), then `files`, then `extra` (e.g. from MLflow)."""
    records: list[Outcome] = []
    stored = outcomes_file(root, experiment.name)
    if stored.is_file():
        records.extend(read_outcomes(stored))
    for f in files:
        records.extend(read_outcomes(Path(f)))
    records.extend(extra)
    return records


def results(experiment: Experiment, records: Iterable[Outcome]) -> ExperimentResult:
    return analyse(experiment.config, to_table(records), state=experiment.state, winner=experiment.winner)


def experiment_alerts(r: ExperimentResult, *, links: dict[str, str] | None = None) -> list[Alert]:
    """A winner found (info), a sample-ratio mismatch (critical), a guardrail breach (critical)."""
    links = links or {}
    key = f"experiment:{r.name}"
    out: list[Alert] = []
    if r.decision == "winner" and r.recommended_winner:
        out.append(
            Alert(
                "experiment",
                "info",
                f"llmops: experiment {r.name} has a winner: {r.recommended_winner}",
                " ".join(r.reasons),
                f"{key}:winner",
                links,
                "experiment",
            )
        )
    if r.decision == "invalid":
        out.append(
            Alert(
                "experiment",
                "critical",
                f"llmops: experiment {r.name} failed its sample-ratio check",
                " ".join(r.reasons),
                f"{key}:srm",
                links,
                "experiment",
            )
        )
    for g in r.guardrails:
        if g.regressed:
            out.append(
                Alert(
                    "experiment",
                    "critical",
                    f"llmops: experiment {r.name}: guardrail {g.name} regressed",
                    f"{g.name} moved by {g.difference:+.4g} in the treatment ({g.direction} is better).",
                    f"{key}:guardrail:{g.name}",
                    links,
                    "experiment",
                )
            )
    return out


@dataclass(frozen=True)
class Completion:
    experiment: Experiment
    activated: str | None  # "prompt@version" put in place, None for a model experiment
    alias_note: str | None


def complete(
    root: Path,
    config: LlmopsConfig,
    experiment: Experiment,
    winner: str,
    *,
    by: str | None = None,
    note: str = "",
) -> Completion:
    """Activate the winner in the prompt registry (and its MLflow alias), then mark the experiment completed.

    The registry goes first: if the version is gone, the experiment stays open rather than claiming a
    winner nothing serves.
    """
    from llmops_action.errors import UserInputError

    cfg = experiment.config
    if winner not in ("control", "treatment"):
        raise UserInputError("--winner must be control or treatment", key="winner")
    activated = alias_note = None
    if cfg.prompt:
        from llmops_action.adapters.registry import activate
        from llmops_action.core.prompts import load_prompt_versions

        versions = load_prompt_versions(config.prompts, root).get(cfg.prompt, {})
        version = getattr(cfg.variants, winner).version
        activate(
            root,
            cfg.prompt,
            version,
            available=versions,
            by=by,
            note=note or f"experiment {cfg.name}: {winner} won",
        )
        activated = f"{cfg.prompt}@{version}"
        from llmops_action.adapters.tracking_prompts import mirror_activation

        # The registry's `production` alias follows the repository's activation, as `prompt activate` does.
        alias_note = mirror_activation(config, root, versions[version]) if version in versions else None
    done = transition(root, cfg, "completed", by=by, note=note, winner=winner)
    return Completion(done, activated, alias_note)
