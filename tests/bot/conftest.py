from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the bot extra is not installed: pip install -e '.[bot]'")

from tests.support.bot import BotEnv, geography_model
from tests.support.gemini_server import GeminiServer
from tests.support.github_app import FakeGitHubApp, make_key
from tests.support.github_server import GitHubServer

_KEY = make_key()  # RSA key generation is slow-ish: one per test session


@pytest.fixture
def github() -> Iterator[GitHubServer]:
    with GitHubServer(FakeGitHubApp(_KEY)) as srv:
        yield srv


@pytest.fixture
def gemini() -> Iterator[GeminiServer]:
    with GeminiServer(geography_model) as srv:
        yield srv


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An embedded MLflow store with its schema made once: each test's worker starts from a copy."""
    from mlflow.tracking import MlflowClient

    path = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def bot(
    tmp_path: Path, github: GitHubServer, gemini: GeminiServer, mlflow_template: Path
) -> Iterator[BotEnv]:
    import shutil

    env = BotEnv(tmp_path, github.url, _KEY.private_pem, gemini.url)
    env.data_dir.mkdir(parents=True)
    shutil.copy(mlflow_template, env.data_dir / "mlflow.db")
    yield env
    env.close()
