from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmops_action.adapters.registry import (
    LogEntry,
    activate,
    active_versions,
    history,
    registry_file,
    rollback,
    rollback_target,
)
from llmops_action.core.prompts import load_prompt_versions, load_prompts
from llmops_action.engine.workspace import load_workspace
from llmops_action.errors import UserInputError
from tests.support.h6 import make_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    make_project(tmp_path, v3=True)
    return tmp_path


def versions(root: Path) -> dict:
    return load_prompt_versions(["prompts"], root)["greet"]


def test_activate_writes_active_and_log(project: Path) -> None:
    entry = activate(project, "greet", "1.0.0", available=versions(project), by="ada", note="pin old")
    assert entry.active == "1.0.0"
    data = json.loads(registry_file(project, "greet").read_text())
    assert data["name"] == "greet" and data["active"] == "1.0.0"
    [log] = data["log"]
    # previous is what ran before: the highest version, since nothing was pinned
    assert log == {**log, "version": "1.0.0", "previous": "2.0.0", "action": "activate", "by": "ada"}
    assert log["note"] == "pin old" and log["at"].endswith("Z")
    assert active_versions(project) == {"greet": "1.0.0"}


def test_workspace_runs_the_active_version(project: Path) -> None:
    assert load_workspace(project / ".llmops.yml").prompts["greet"].version == "2.0.0"
    activate(project, "greet", "1.1.0", available=versions(project), by="ada")
    assert load_workspace(project / ".llmops.yml").prompts["greet"].version == "1.1.0"


def test_unknown_version_is_an_error_naming_it(project: Path) -> None:
    with pytest.raises(UserInputError) as exc:
        activate(project, "greet", "3.0.0", available=versions(project), by="ada")
    assert "3.0.0" in exc.value.message and "1.0.0, 1.1.0, 2.0.0" in exc.value.message
    assert not registry_file(project, "greet").exists()


def test_rollback_walks_back_like_undo(project: Path) -> None:
    av = versions(project)
    activate(project, "greet", "1.0.0", available=av, by="a")
    activate(project, "greet", "1.1.0", available=av, by="a")
    activate(project, "greet", "2.0.0", available=av, by="a")
    assert rollback(project, "greet", by="b").active == "1.1.0"
    assert rollback(project, "greet", by="b").active == "1.0.0"
    # 1.0.0 was activated while 2.0.0 ran implicitly (highest version): undo goes there
    assert rollback(project, "greet", by="b").active == "2.0.0"
    with pytest.raises(UserInputError, match="no earlier active version"):
        rollback(project, "greet", by="b")
    actions = [(e.action, e.previous, e.version) for e in history(project, "greet")]
    assert actions == [
        ("activate", "2.0.0", "1.0.0"),
        ("activate", "1.0.0", "1.1.0"),
        ("activate", "1.1.0", "2.0.0"),
        ("rollback", "2.0.0", "1.1.0"),
        ("rollback", "1.1.0", "1.0.0"),
        ("rollback", "1.0.0", "2.0.0"),
    ]


def test_rollback_after_reactivation_returns_to_the_version_it_replaced(project: Path) -> None:
    av = versions(project)
    for v in ("1.0.0", "2.0.0", "1.0.0"):
        activate(project, "greet", v, available=av, by="a")
    assert rollback(project, "greet", by="a").active == "2.0.0"


def test_rollback_to_a_named_version(project: Path) -> None:
    av = versions(project)
    for v in ("1.0.0", "1.1.0"):
        activate(project, "greet", v, available=av, by="a")
    assert rollback(project, "greet", to="2.0.0", by="a", note="incident").active == "2.0.0"
    assert history(project, "greet")[-1].note == "incident"
    with pytest.raises(UserInputError, match=r"never active at version 9\.9\.9"):
        rollback(project, "greet", to="9.9.9", by="a")
    with pytest.raises(UserInputError, match=r"already at version 2\.0\.0"):
        rollback(project, "greet", to="2.0.0", by="a")


def test_rollback_without_history_is_an_error(project: Path) -> None:
    with pytest.raises(UserInputError, match="never been activated"):
        rollback(project, "greet", by="a")


def test_rollback_target_must_still_have_a_prompt_file(project: Path) -> None:
    av = versions(project)
    activate(project, "greet", "1.0.0", available=av, by="a")
    activate(project, "greet", "1.1.0", available=av, by="a")
    (project / "prompts" / "greet_v1.yml").unlink()
    with pytest.raises(UserInputError, match=r"no version 1\.0\.0"):
        rollback(project, "greet", available=versions(project), by="a")
    assert active_versions(project) == {"greet": "1.1.0"}


def test_log_is_append_only(project: Path) -> None:
    av = versions(project)
    activate(project, "greet", "1.0.0", available=av, by="a", note="first")
    first = json.loads(registry_file(project, "greet").read_text())["log"]
    activate(project, "greet", "1.1.0", available=av, by="a")
    rollback(project, "greet", by="a")
    activate(project, "greet", "2.0.0", available=av, by="a")
    log = json.loads(registry_file(project, "greet").read_text())["log"]
    assert len(log) == 4
    assert log[:1] == first  # old entries are byte-for-byte what they were


def test_reactivating_the_active_version_logs_nothing(project: Path) -> None:
    av = versions(project)
    activate(project, "greet", "1.0.0", available=av, by="a")
    before = registry_file(project, "greet").read_bytes()
    assert activate(project, "greet", "1.0.0", available=av, by="a").active == "1.0.0"
    assert registry_file(project, "greet").read_bytes() == before


def test_pinning_the_running_version_has_no_previous(project: Path) -> None:
    entry = activate(project, "greet", "2.0.0", available=versions(project), by="a")
    assert entry.log[-1].previous is None


def test_write_leaves_no_temp_files(project: Path) -> None:
    activate(project, "greet", "1.0.0", available=versions(project), by="a")
    assert sorted(p.name for p in registry_file(project, "greet").parent.iterdir()) == ["greet.json"]


def test_corrupt_registry_file_names_the_file(project: Path) -> None:
    path = registry_file(project, "greet")
    path.parent.mkdir(parents=True)
    path.write_text('{"name": "greet",\n "active": 1.0.0}')
    with pytest.raises(UserInputError) as exc:
        active_versions(project)
    assert exc.value.file == str(path) and exc.value.line == 2


def test_registry_pointing_at_a_missing_version_fails_loading(project: Path) -> None:
    path = registry_file(project, "greet")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"name": "greet", "active": "7.0.0", "log": []}))
    with pytest.raises(UserInputError, match=r"greet@7\.0\.0"):
        load_prompts(["prompts"], project, active_versions(project))


def test_by_defaults_to_git_user_or_env(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("USER", "release-bot")
    entry = activate(project, "greet", "1.0.0", available=versions(project))
    assert entry.log[-1].by == "release-bot"


def e(version: str, previous: str | None, action: str = "activate") -> LogEntry:
    return LogEntry(version=version, previous=previous, action=action, at="t", by="x")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("log", "target"),
    [
        ([], None),
        ([e("1", None)], None),
        ([e("1", "0")], "0"),
        ([e("1", "0"), e("2", "1")], "1"),
        ([e("1", "0"), e("2", "1"), e("1", "2", "rollback")], "0"),
        ([e("1", "0"), e("2", "1"), e("3", "2"), e("2", "3", "rollback"), e("1", "2", "rollback")], "0"),
        ([e("1", "0"), e("2", "1"), e("1", "2", "rollback"), e("3", "1")], "1"),
    ],
)
def test_rollback_target(log: list[LogEntry], target: str | None) -> None:
    assert rollback_target(log) == target
