from __future__ import annotations

from pathlib import Path

import pytest

from llmops_action.adapters.prompt_refs import prompts_at_ref
from llmops_action.adapters.registry import activate
from llmops_action.core.prompts import load_prompt_versions
from llmops_action.errors import UserInputError
from tests.support.h6 import CONFIG, GREET_V1, GREET_V2, commit_all, init_repo, write


def test_reads_prompts_config_and_registry_at_a_ref(tmp_path: Path) -> None:
    init_repo(tmp_path)
    write(tmp_path / "prompts" / "greet_v1.yml", GREET_V1)
    write(tmp_path / "other" / "greet_v2.yml", GREET_V2)  # not under the prompt patterns yet
    cfg = write(tmp_path / ".llmops.yml", CONFIG)
    first = commit_all(tmp_path, "one")
    write(cfg, CONFIG.replace("prompts: [prompts]", "prompts: [prompts, 'other/*.yml']"))
    activate(
        tmp_path,
        "greet",
        "1.0.0",
        available=load_prompt_versions(["prompts", "other/*.yml"], tmp_path)["greet"],
        by="t",
    )
    second = commit_all(tmp_path, "two")

    at_first = prompts_at_ref(cfg, first)
    assert set(at_first.versions["greet"]) == {"1.0.0"} and at_first.active == {}
    at_second = prompts_at_ref(cfg, second)
    assert set(at_second.versions["greet"]) == {"1.0.0", "1.1.0"}
    running = at_second.running("greet")
    assert running is not None and running.version == "1.0.0"  # pinned by the registry at that ref
    assert running.source == f"{second}:prompts/greet_v1.yml"
    assert at_second.running("absent") is None


def test_a_ref_without_the_config_uses_the_default_prompt_folder(tmp_path: Path) -> None:
    init_repo(tmp_path)
    write(tmp_path / "prompts" / "greet_v1.yml", GREET_V1)
    sha = commit_all(tmp_path, "prompts only")
    cfg = write(tmp_path / ".llmops.yml", CONFIG)
    assert prompts_at_ref(cfg, sha).versions["greet"].keys() == {"1.0.0"}


def test_outside_git_or_unknown_ref(tmp_path: Path) -> None:
    cfg = write(tmp_path / ".llmops.yml", CONFIG)
    with pytest.raises(UserInputError, match="not inside a git repository"):
        prompts_at_ref(cfg, "HEAD")
    init_repo(tmp_path)
    commit_all(tmp_path, "c")
    with pytest.raises(UserInputError, match="unknown git ref 'nope'"):
        prompts_at_ref(cfg, "nope")
