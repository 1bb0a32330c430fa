"""The review core (review_pull_request, review_push) on real temporary git repositories with a small
offline project."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from llmops_action.adapters.baseline.dir import DirBaselineStore
from llmops_action.adapters.baseline.git_branch import GitBranchBaselineStore
from llmops_action.core.events import EventFacts
from llmops_action.core.trust import FIRST_RUN
from llmops_action.errors import EXIT_GATE_FAILED, EXIT_OK, UserInputError
from llmops_action.review import PullSources, Review, Services, review_pull_request, review_push
from tests.support.gitrepo import GitRepo, clone, init_repo, remote_with_clones
from tests.support.pr_project import degrade_prompt, write_project

pytestmark = pytest.mark.slow  # each test evaluates a 36-case project once or twice


@pytest.fixture(autouse=True)
def _fresh_app_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test's project has its own `app` module; one process must not reuse another test's."""
    monkeypatch.delitem(sys.modules, "app", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))


def run_pr(config: Path, *, base_ref: str = "main", out_dir: Path, **services: object) -> Review:
    """What `llmops-action pr` does: the checkout's head against a base branch."""
    sources = PullSources.for_checkout(config)
    return review_pull_request(
        EventFacts(event="local"), sources, Services(out_dir=out_dir, base_ref=base_ref, **services)
    )


def run_push(config: Path, *, out_dir: Path, **kw: object) -> Review:
    """What `llmops-action baseline save` does."""
    sources = PullSources.for_checkout(config)
    return review_push(EventFacts(event="manual"), sources, Services(out_dir=out_dir), **kw)


def project_repo(tmp_path: Path, **project: str) -> tuple[GitRepo, Path]:
    repo = init_repo(tmp_path / "repo")
    config = write_project(repo.path / "llm", **project)
    repo.write("README.md", "demo\n")
    repo.commit("project")
    return repo, config


def break_python_app(folder: Path) -> None:
    app = folder / "app.py"
    app.write_text(app.read_text().replace("FOLLOW = True", "FOLLOW = False"))
    # A CI job is a fresh process; here an earlier flow in this process may have imported the old app.
    sys.modules.pop("app", None)


def test_a_degraded_prompt_without_a_baseline_reruns_the_base_and_blocks(tmp_path: Path) -> None:
    repo, config = project_repo(tmp_path)
    main_sha = repo.head()
    repo.checkout("feature", new=True)
    degrade_prompt(config.parent)
    head_sha = repo.commit("answer prompt 1.1.0: friendlier")
    out = tmp_path / "out"

    outcome = run_pr(config, base_ref="main", out_dir=out)

    c = outcome.comparison
    assert (c.base_source, outcome.base_sha, outcome.merge_base) == ("rerun", main_sha, main_sha)
    assert (c.head.sha, c.base.sha if c.base else None) == (head_sha, main_sha)
    assert c.like_for_like, c.not_comparable
    gate = next(g for g in c.gates if g.name == "regression/score")
    assert gate.status == "fail" and gate.delta is not None and gate.delta < -0.5
    assert [(p.name, p.old_version, p.new_version) for p in c.prompt_changes] == [
        ("answer", "1.0.0", "1.1.0")
    ]
    assert outcome.exit_code == EXIT_GATE_FAILED
    assert {p.name for p in out.iterdir()} >= {
        "comment.md",
        "summary.md",
        "comparison.json",
        "junit.xml",
        "results.json",
        "base-results.json",
    }
    base_results = json.loads((out / "base-results.json").read_text())
    assert base_results["run"]["git_sha"] == main_sha and base_results["aggregates"]["score"] == 1.0
    assert repo.current_branch() == "feature" and repo.status() == ""  # the checkout is untouched


def test_a_stored_baseline_at_the_merge_base_is_used_and_a_harmless_change_passes(tmp_path: Path) -> None:
    repo, config = project_repo(tmp_path, provider="python")
    pushed = run_push(config, out_dir=tmp_path / "push")
    assert pushed.exit_code == EXIT_OK and pushed.location is not None
    assert Path(pushed.location).is_relative_to(config.parent / ".llmops" / "baselines")

    repo.checkout("docs", new=True)
    repo.write("README.md", "better docs\n")
    repo.commit("docs")
    outcome = run_pr(config, base_ref="main", out_dir=tmp_path / "out")

    assert outcome.comparison.base_source == "stored"
    assert outcome.base_sha == pushed.head.run.git_sha
    assert outcome.exit_code == EXIT_OK and outcome.comparison.verdict in ("pass", "warn")
    assert not (tmp_path / "out" / "base-results.json").exists()


def test_the_nearest_ancestor_with_a_baseline_is_used(tmp_path: Path) -> None:
    repo, config = project_repo(tmp_path, provider="python")
    saved = run_push(config, out_dir=tmp_path / "push").head.run.git_sha
    repo.write("README.md", "main moved on\n")
    repo.commit("main without a baseline")
    repo.checkout("feature", new=True)
    break_python_app(config.parent)
    repo.commit("refactor the app")

    outcome = run_pr(config, base_ref="main", out_dir=tmp_path / "out")

    assert (outcome.comparison.base_source, outcome.base_sha) == ("ancestor", saved)
    assert outcome.exit_code == EXIT_GATE_FAILED


def test_rerun_mode_evaluates_the_base_commits_own_code(tmp_path: Path) -> None:
    """Head's app is already imported when the base runs; the base must still call its own copy."""
    repo, config = project_repo(tmp_path, provider="python", mode="rerun")
    repo.checkout("feature", new=True)
    break_python_app(config.parent)
    repo.commit("refactor the app")

    outcome = run_pr(config, base_ref="main", out_dir=tmp_path / "out")

    assert outcome.comparison.base_source == "rerun"
    assert outcome.base is not None and outcome.base.aggregates["score"] == 1.0
    assert outcome.head.aggregates["score"] == 0.0
    assert outcome.exit_code == EXIT_GATE_FAILED
    app = sys.modules.get("app")
    assert app is None or Path(app.__file__ or "").parent == config.parent.resolve()


def test_a_base_without_the_project_compares_with_nothing(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    repo.write("README.md", "before llm\n")
    repo.commit("init")
    repo.checkout("add-llm", new=True)
    config = write_project(repo.path / "llm", provider="python")
    repo.commit("add the llm project")

    outcome = run_pr(config, base_ref="main", out_dir=tmp_path / "out")

    assert outcome.comparison.base is None and outcome.comparison.base_source == "none"
    assert any(FIRST_RUN in w for w in outcome.comparison.warnings)
    assert outcome.statuses["regression"] == ("success", f"llmops regression: {FIRST_RUN}")
    regression = [g for g in outcome.comparison.gates if g.family == "regression"]
    assert regression and all(g.status == "skipped" for g in regression)
    assert outcome.exit_code == EXIT_OK


def test_uncommitted_edits_are_named_in_the_report(tmp_path: Path) -> None:
    _, config = project_repo(tmp_path, provider="python")
    degrade_prompt(config.parent)
    outcome = run_pr(config, base_ref="main", out_dir=tmp_path / "out")
    assert any("working tree" in w and "answer.yml" in w for w in outcome.comparison.warnings)


def test_push_saves_once_and_refuses_a_dirty_tree(tmp_path: Path) -> None:
    repo, config = project_repo(tmp_path, provider="python")
    store = DirBaselineStore(config.parent / ".llmops" / "baselines")
    first = run_push(config, out_dir=tmp_path / "a")
    again = run_push(config, out_dir=tmp_path / "b")
    assert first.location == again.location
    assert [r.sha for r in store.list()] == [repo.head()]
    assert (tmp_path / "a" / "results.json").is_file()

    degrade_prompt(config.parent)
    with pytest.raises(UserInputError, match="uncommitted changes"):
        run_push(config, out_dir=tmp_path / "c")


def test_push_then_pr_through_the_git_branch_store_across_clones(tmp_path: Path) -> None:
    """The Action's path: a push job saves to llmops-baselines, a later PR job in another clone reads it."""
    seed_dir = tmp_path / "seed-project"
    write_project(seed_dir, provider="python", store="git-branch")
    files = {str(p.relative_to(seed_dir)): p.read_text() for p in seed_dir.rglob("*") if p.is_file()}
    remote, (pusher, pr_job) = remote_with_clones(tmp_path, 2, seed_files=files)

    pushed = run_push(pusher.path / ".llmops.yml", out_dir=tmp_path / "push")
    assert (
        pushed.location
        == f"origin/llmops-baselines:capitals/{pusher.head()}/{pushed.head.run.config_hash}.json"
    )

    pr_job.checkout("feature", new=True)
    pr_job.write("README.md", "docs only\n")
    pr_job.commit("docs")
    outcome = run_pr(pr_job.path / ".llmops.yml", base_ref="main", out_dir=tmp_path / "out")
    assert outcome.comparison.base_source == "stored" and outcome.exit_code == EXIT_OK
    assert pr_job.status() == "" and pr_job.current_branch() == "feature"
    late = clone(remote, tmp_path / "late")
    assert GitBranchBaselineStore(late.path).list()[0].sha == pusher.head()


def test_an_unreachable_store_falls_back_to_re_evaluating_the_base(tmp_path: Path) -> None:
    seed_dir = tmp_path / "seed-project"
    write_project(seed_dir, provider="python", store="git-branch")
    files = {str(p.relative_to(seed_dir)): p.read_text() for p in seed_dir.rglob("*") if p.is_file()}
    remote, (job,) = remote_with_clones(tmp_path, 1, seed_files=files)
    job.checkout("feature", new=True)
    job.write("README.md", "docs\n")
    job.commit("docs")
    shutil.rmtree(remote)  # the remote is gone: fetching the baseline branch fails

    outcome = run_pr(job.path / ".llmops.yml", base_ref="main", out_dir=tmp_path / "out")

    assert outcome.comparison.base_source == "rerun"
    assert any("could not be read" in w for w in outcome.comparison.warnings)
    assert outcome.exit_code == EXIT_OK


def test_a_stored_baseline_scored_under_another_measurement_is_rescored_not_rerun(tmp_path: Path) -> None:
    """A record at the merge-base under another config (a metric the base branch has since added): its
    stored outputs are scored under the measurement in force; the base is not evaluated again."""
    from llmops_action.engine.evaluate import evaluate
    from llmops_action.engine.workspace import load_workspace

    repo, config = project_repo(tmp_path)
    main_sha = repo.head()
    store = DirBaselineStore(tmp_path / "store")
    older = evaluate(load_workspace(config), git_sha=main_sha, git_branch="main")
    older.run.config_hash = "0ldc0nf1g0000000"
    older.run.metrics_hash = "0ldmetr1cs000000"
    for case in older.cases:
        case.output = "The capital is somewhere."  # what the stored record says, not what a re-run would give
    store.save(older)
    repo.checkout("feature", new=True)
    repo.write("README.md", "docs\n")
    repo.commit("docs")

    outcome = run_pr(config, base_ref="main", out_dir=tmp_path / "out", store=store)

    c = outcome.comparison
    assert c.base_source == "stored" and outcome.base_sha == main_sha
    assert any("re-scored" in w for w in c.warnings)
    assert "base_results" not in outcome.files
    assert (
        outcome.base is not None and outcome.base.metrics["keyword_recall"].mean == 0.0
    )  # stored outputs, re-scored
