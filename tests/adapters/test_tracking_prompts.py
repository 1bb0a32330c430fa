"""MLflow's prompt registry mirrors the repository: versions registered once, `production` follows activations."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops_action.adapters.tracking import client_for, global_store
from llmops_action.adapters.tracking_prompts import DEFAULT_ALIAS, ensure_prompt, registry_name
from llmops_action.cli.main import main
from tests.support.h6 import make_project
from tests.support.mlflow_server import MlflowServer, mlflow_server
from tests.support.results_factory import prompt_info

__all__ = ["mlflow_server"]  # a fixture, imported for pytest


def production(uri: str, name: str) -> str:
    client = client_for(uri)
    with global_store(uri):
        return str(client.get_prompt_version_by_alias(name, DEFAULT_ALIAS).tags["llmops.version"])


def activate_then_rollback(cfg: Path, uri: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prompt", "activate", "greet", "1.0.0", "--by", "ada", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert f"alias '{DEFAULT_ALIAS}' -> version" in out
    assert production(uri, "greet") == "1.0.0"
    assert main(["prompt", "rollback", "greet", "--by", "bob", "--config", str(cfg)]) == 0
    assert production(uri, "greet") == "1.1.0"
    assert main(["prompt", "activate", "greet", "1.0.0", "--config", str(cfg)]) == 0
    assert production(uri, "greet") == "1.0.0"
    client = client_for(uri)
    with global_store(uri):
        versions = client.search_prompt_versions("greet")
    # Each (semver, content) registered once, however often it is activated.
    assert sorted(v.tags["llmops.version"] for v in versions) == ["1.0.0", "1.1.0"]


@pytest.mark.slow
def test_activate_and_rollback_move_the_alias_in_the_project_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = make_project(tmp_path)
    activate_then_rollback(cfg, f"sqlite:///{tmp_path / '.llmops' / 'mlflow.db'}", capsys)


@pytest.mark.slow
def test_activate_moves_the_alias_on_a_tracking_server(
    tmp_path: Path,
    mlflow_server: MlflowServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    cfg = make_project(tmp_path)
    activate_then_rollback(cfg, mlflow_server.uri, capsys)
    assert not (tmp_path / ".llmops" / "mlflow.db").exists()


def test_a_dead_registry_is_one_warning_and_the_activation_stands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.support.mlflow_server import free_port

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    cfg = make_project(tmp_path)
    assert main(["prompt", "activate", "greet", "1.0.0", "--config", str(cfg)]) == 0
    out, err = capsys.readouterr()
    assert "greet@1.1.0 -> greet@1.0.0" in out
    assert err.count("warning") == 1 and "not updated" in err and "Traceback" not in err
    assert '"active": "1.0.0"' in (tmp_path / ".llmops" / "registry" / "greet.json").read_text()


def test_registered_once_by_semver_and_hash(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = client_for(uri)
    with global_store(uri):
        first = ensure_prompt(client, prompt_info(version="1.2.0"))
        again = ensure_prompt(client, prompt_info(version="1.2.0"))
        edited = ensure_prompt(client, prompt_info(version="1.2.0", template="Q: {{ question }}"))
    assert again.version == first.version
    assert edited.version != first.version and edited.tags["llmops.version"] == "1.2.0"  # no hidden edit
    assert registry_name("team/rag answer") == "team_rag_answer"
