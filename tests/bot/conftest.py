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


@pytest.fixture
def bot(tmp_path: Path, github: GitHubServer, gemini: GeminiServer) -> Iterator[BotEnv]:
    env = BotEnv(tmp_path, github.url, _KEY.private_pem, gemini.url)
    yield env
    env.close()
