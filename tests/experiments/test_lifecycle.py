"""The lifecycle log in the repository: draft -> running -> paused -> running -> completed | cancelled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmops_action.core.experiment_config import ExperimentConfig
from llmops_action.errors import UserInputError
from llmops_action.experiments.lifecycle import load_experiment, state_file, transition

CFG = ExperimentConfig.model_validate(
    {
        "name": "exp",
        "variants": {"control": {"model": "a"}, "treatment": {"model": "b"}},
        "metric": {"name": "up", "type": "rate"},
    }
)


def test_no_file_is_a_draft(tmp_path: Path) -> None:
    e = load_experiment(tmp_path, CFG)
    assert (e.state, e.winner, e.log) == ("draft", None, ())


def test_the_full_lifecycle_is_logged_in_order(tmp_path: Path) -> None:
    for to in ("running", "paused", "running"):
        transition(tmp_path, CFG, to, by="ada")
    done = transition(tmp_path, CFG, "completed", by="ada", winner="treatment", note="clear win")
    assert (done.state, done.winner) == ("completed", "treatment")
    data = json.loads(state_file(tmp_path, "exp").read_text(encoding="utf-8"))
    assert [(e["previous"], e["state"]) for e in data["log"]] == [
        ("draft", "running"),
        ("running", "paused"),
        ("paused", "running"),
        ("running", "completed"),
    ]
    assert load_experiment(tmp_path, CFG) == done


@pytest.mark.parametrize(
    ("path", "to", "message"),
    [
        ((), "paused", "draft: it cannot become paused"),
        ((), "completed", "allowed: running, cancelled"),
        (("running", "cancelled"), "running", "it is over"),
    ],
)
def test_a_move_the_lifecycle_forbids_is_refused(
    tmp_path: Path, path: tuple[str, ...], to: str, message: str
) -> None:
    for step in path:
        transition(tmp_path, CFG, step, by="ada")
    before = state_file(tmp_path, "exp").read_bytes() if path else None
    with pytest.raises(UserInputError, match=message):
        transition(tmp_path, CFG, to, by="ada", winner="control")
    assert (state_file(tmp_path, "exp").read_bytes() if path else None) == before


def test_completing_needs_a_winner(tmp_path: Path) -> None:
    transition(tmp_path, CFG, "running", by="ada")
    with pytest.raises(UserInputError, match="--winner"):
        transition(tmp_path, CFG, "completed", by="ada")


def test_a_hand_edited_state_file_with_an_unknown_state_names_the_key(tmp_path: Path) -> None:
    path = state_file(tmp_path, "exp")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"name": "exp", "state": "live", "log": []}), encoding="utf-8")
    with pytest.raises(UserInputError) as exc:
        load_experiment(tmp_path, CFG)
    assert exc.value.key == "state" and exc.value.file == str(path)
