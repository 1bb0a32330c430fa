from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LLMOPS_SHARED", REPO.parent / "shared"))
FIXTURES = SHARED / "fixtures"


def pytest_configure(config: pytest.Config) -> None:
    # The recorded GitHub and Gemini payloads live in the team's shared folder, beside the checkout.
    if not FIXTURES.is_dir():
        raise pytest.UsageError(
            f"the shared test fixtures are not at {FIXTURES}: check the repository out beside the shared/ "
            "folder, or set LLMOPS_SHARED to its path"
        )


@pytest.fixture(autouse=True)
def _no_real_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach a real Gemini or GitHub: drop whatever credentials the machine has."""
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GITHUB_TOKEN", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES
