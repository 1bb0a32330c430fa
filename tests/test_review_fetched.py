"""The review core on two fetched file trees and no git repository at all (what the bot hands it)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from llmops_action.adapters.baseline.dir import DirBaselineStore
from llmops_action.adapters.git import is_repo
from llmops_action.core.events import EventFacts
from llmops_action.engine.sources import CheckoutSource
from llmops_action.errors import EXIT_GATE_FAILED
from llmops_action.review import PullSources, Services, review_pull_request, review_push
from tests.support.pr_project import degrade_prompt, write_project

pytestmark = pytest.mark.slow

BASE, HEAD = "b" * 40, "c" * 40


@pytest.fixture(autouse=True)
def _fresh_app_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "app", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))


def trees(tmp_path: Path) -> tuple[Path, Path]:
    base = write_project(tmp_path / "base").parent
    head = write_project(tmp_path / "head").parent
    degrade_prompt(head)
    assert not is_repo(base) and not is_repo(head)
    return base, head


def pr_facts() -> EventFacts:
    return EventFacts(
        "pull_request_target", repo="o/r", head_repo="o/r", pr_number=3, head_sha=HEAD, base_sha=BASE
    )


def test_two_fetched_trees_without_a_baseline_rerun_the_base_tree(tmp_path: Path) -> None:
    base, head = trees(tmp_path)
    sources = PullSources(repo=head, head=CheckoutSource(head), base=CheckoutSource(base), fetched=True)
    store = DirBaselineStore(tmp_path / "store")
    services = Services(out_dir=tmp_path / "out", store=store, state_dir=tmp_path / "state")

    review = review_pull_request(pr_facts(), sources, services)

    c = review.comparison
    assert c is not None and (c.base_source, review.base_sha, review.merge_base) == ("rerun", BASE, BASE)
    assert (c.head.sha, c.base.sha if c.base else None) == (HEAD, BASE)
    assert review.statuses["regression"][0] == "failure" and review.exit_code == EXIT_GATE_FAILED


def test_a_fetched_push_saves_the_baseline_the_next_pr_reads_by_the_base_sha(tmp_path: Path) -> None:
    base, head = trees(tmp_path)
    store = DirBaselineStore(tmp_path / "store")
    push = EventFacts("push", repo="o/r", default_branch="main", ref="refs/heads/main", head_sha=BASE)
    saved = review_push(
        push,
        PullSources(repo=base, head=CheckoutSource(base), fetched=True),
        Services(out_dir=tmp_path / "push-out", store=store, state_dir=tmp_path / "state"),
    )
    assert saved.location is not None and store.list()[0].sha == BASE

    sources = PullSources(repo=head, head=CheckoutSource(head), base=CheckoutSource(base), fetched=True)
    review = review_pull_request(
        pr_facts(), sources, Services(out_dir=tmp_path / "out", store=store, state_dir=tmp_path / "state")
    )

    assert review.comparison is not None and review.comparison.base_source == "stored"
    assert review.base_sha == BASE and review.statuses["regression"][0] == "failure"
