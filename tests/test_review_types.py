"""The review core's data: a Review's JSON form, check-run conclusions, and what a Source yields."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmops_action.core.statuses import final_statuses, pending_statuses
from llmops_action.core.trust import NEEDS_MAINTAINER, Trust
from llmops_action.engine.sources import CheckoutSource, FilesSource, GitTreeSource
from llmops_action.errors import UserInputError
from llmops_action.review_types import REVIEW_SCHEMA_VERSION, Review, Services
from tests.support.gitrepo import init_repo

TRUST = Trust(act=True, head_code_trusted=False, holds_secrets=True, head_as_data=True, post=True, reason="r")


def test_a_pending_review_asks_for_action_in_check_runs_and_says_why_in_json() -> None:
    review = Review(
        kind="pull_request",
        trust=TRUST,
        statuses=pending_statuses(NEEDS_MAINTAINER),
        exit_code=0,
        comment="body",
        pending=NEEDS_MAINTAINER,
        suite="s",
        head_sha="a" * 40,
    )

    data = json.loads(review.to_json())

    assert data["schema_version"] == REVIEW_SCHEMA_VERSION and data["kind"] == "llmops.review"
    assert data["verdict"] == "pending" and data["pending"] == NEEDS_MAINTAINER
    assert data["statuses"]["regression"] == {
        "state": "pending",
        "description": f"llmops regression: {NEEDS_MAINTAINER}",
    }
    assert {c["conclusion"] for c in data["check_runs"].values()} == {"action_required"}
    assert data["trust"] == {"reason": "r", "head_code_trusted": False, "head_as_data": True}


def test_final_statuses_fit_githubs_limit_and_name_the_first_run() -> None:
    states = final_statuses({"regression": "skipped"}, [], "pass", notes={"regression": "first run: x" * 40})
    assert states["regression"][0] == "success" and len(states["regression"][1]) == 140
    assert final_statuses({}, [], "incomplete")["quality"][0] == "error"


def test_services_hold_secrets_when_a_key_is_set_unless_told() -> None:
    assert Services(out_dir=Path("o"), api_key="k").secrets
    assert not Services(out_dir=Path("o")).secrets
    assert Services(out_dir=Path("o"), holds_secrets=True).secrets


def test_sources_yield_the_config_folder(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    repo.write("llm/.llmops.yml", "suite: x\n")
    sha = repo.commit("c")
    repo.write("llm/.llmops.yml", "suite: changed in the working tree\n")

    with GitTreeSource(repo.path, sha, "llm").open() as tree, CheckoutSource(repo.path / "llm").open() as co:
        assert tree is not None and (tree / ".llmops.yml").read_text() == "suite: x\n"
        assert co is not None and "working tree" in (co / ".llmops.yml").read_text()
    with GitTreeSource(repo.path, sha, "missing").open() as none:
        assert none is None
    with FilesSource({".llmops.yml": b"suite: api\n", "prompts/a.yml": b"x"}).open() as fetched:
        assert fetched is not None and (fetched / "prompts" / "a.yml").read_bytes() == b"x"
    with pytest.raises(UserInputError, match="outside the folder"), FilesSource({"../x": b""}).open():
        pass
