"""`llmops-action pr`: the local preview of the PR report, on real temporary git repositories."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from llmops_action.cli.main import main
from tests.conftest import REPO
from tests.support.gitrepo import GitRepo, init_repo
from tests.support.pr_project import INSTRUCTION, degrade_prompt, write_project

QUICKSTART = REPO / "examples" / "quickstart"


def project_on_branch(tmp_path: Path) -> tuple[GitRepo, Path]:
    repo = init_repo(tmp_path / "repo")
    config = write_project(repo.path)  # the command-provider app: it reads the rendered prompt
    repo.commit("project")
    repo.checkout("feature", new=True)
    return repo, config


@pytest.mark.slow
def test_pr_blocks_a_degraded_prompt_and_shows_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, config = project_on_branch(tmp_path)
    degrade_prompt(repo.path)
    repo.commit("answer 1.1.0")
    out = tmp_path / "out"

    code = main(["pr", "--config", str(config), "--base-ref", "main", "--out", str(out), "--no-progress"])

    printed = capsys.readouterr().out
    assert code == 1
    assert printed.startswith("verdict: FAIL")
    assert re.search(r"^\s+FAIL\s+regression/score .*delta -1", printed, re.M)
    assert f"comment: {out / 'comment.md'}" in printed
    comment = (out / "comment.md").read_text()
    assert "regression/score" in comment
    assert "1.0.0" in comment and "1.1.0" in comment
    diff = comment[comment.index("```diff") :]
    assert f"-You are a geography assistant. {INSTRUCTION}" in diff
    assert "+You are a geography assistant. Be friendly." in diff
    for name in ("summary.md", "comparison.json", "junit.xml", "results.json", "base-results.json"):
        assert (out / name).is_file(), name


@pytest.mark.slow
def test_pr_passes_a_harmless_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo, config = project_on_branch(tmp_path)
    repo.write("README.md", "How to run the demo.\n")
    repo.commit("docs")

    code = main(["pr", "--config", str(config), "--out", str(tmp_path / "out"), "--no-progress"])

    printed = capsys.readouterr().out
    assert code == 0, printed
    assert printed.startswith("verdict: PASS") or printed.startswith("verdict: WARN")
    assert (
        "both sides under the base's measurement; 36 paired, 0 added, 0 removed, 0 changed cases" in printed
    )


def test_pr_outside_a_git_checkout_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_project(tmp_path / "nogit", provider="python")
    assert main(["pr", "--config", str(config), "--out", str(tmp_path / "out")]) == 2
    assert "needs a git checkout" in capsys.readouterr().err


def test_pr_with_an_unknown_base_ref_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = init_repo(tmp_path / "repo")
    config = write_project(repo.path, provider="python")
    repo.commit("project")
    sys.modules.pop("app", None)
    code = main(["pr", "--config", str(config), "--base-ref", "trunk", "--out", str(tmp_path / "out")])
    sys.modules.pop("app", None)
    assert code == 2
    assert "base ref 'trunk'" in capsys.readouterr().err


# --- the quickstart, as a user would run it -----------------------------------------------------------


def _cli(repo: GitRepo, out: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "llmops_action",
            "pr",
            "--base-ref",
            "main",
            "--out",
            str(out),
            "--no-progress",
        ],
        cwd=repo.path,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )


def _active_prompt_file(root: Path, name: str) -> Path:
    from llmops_action.engine.workspace import load_workspace

    prompt = load_workspace(root / ".llmops.yml").prompts[name]
    assert prompt.source, "prompts record their source file"
    return Path(prompt.source.rsplit(":", 1)[0] if not Path(prompt.source).exists() else prompt.source)


def _degrade_active_prompt(repo: GitRepo, name: str) -> tuple[str, str]:
    """Add a new version of `name` that drops the instruction the app relies on ("Answer in one sentence").

    Prompts live as <name>/<version>.yaml and the highest version runs, so the new file becomes active."""
    path = _active_prompt_file(repo.path, name)
    text = path.read_text()
    dropped = [ln for ln in text.splitlines() if re.search(r"answer in one sentence", ln, re.I)]
    assert dropped, f"{path} has no instruction to drop"
    old = re.search(r"^version:\s*(\S+)", text, re.M)
    assert old
    major, minor, _patch = old[1].split(".")
    new = f"{major}.{int(minor) + 1}.0"
    kept = "\n".join(ln for ln in text.splitlines() if ln not in dropped)
    target = path.with_name(f"{new}{path.suffix}") if path.stem == old[1] else path
    target.write_text(re.sub(r"^version:\s*\S+", f"version: {new}", kept, count=1, flags=re.M) + "\n")
    return old[1], new


@pytest.mark.slow
def test_quickstart_pr_shows_a_prompt_regression_and_passes_a_harmless_change(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "quickstart")
    repo.copy_tree(QUICKSTART)
    repo.commit("quickstart")

    repo.checkout("docs", new=True)
    readme = repo.path / "README.md"
    repo.write("README.md", (readme.read_text() if readme.exists() else "") + "\nOne more line of docs.\n")
    repo.commit("docs only")
    harmless = _cli(repo, tmp_path / "harmless")
    assert harmless.returncode == 0, harmless.stdout + harmless.stderr

    repo.checkout("main")
    repo.checkout("worse-prompt", new=True)
    old, new = _degrade_active_prompt(repo, "rag_answer")
    repo.commit(f"rag_answer {new}: shorter instructions")
    worse = _cli(repo, tmp_path / "worse")
    assert worse.returncode == 1, worse.stdout + worse.stderr
    assert re.search(r"^\s+FAIL\s+regression/", worse.stdout, re.M), worse.stdout
    comment = (tmp_path / "worse" / "comment.md").read_text()
    assert "```diff" in comment and "rag_answer" in comment
    assert old in comment and new in comment
    assert re.search(r"❌.*(fail|regress)", comment, re.I)


@pytest.mark.slow
def test_quickstart_pr_logs_the_re_run_base_and_links_the_head_run_to_it(tmp_path: Path) -> None:
    """Both sides of the comparison are runs in the project's store, each with a trace per case; the head's
    run names the base's (llmops.base_run_id), so MLflow's compare view can put them side by side."""
    from mlflow.tracking import MlflowClient

    from tests.adapters.test_tracking_traces import traces_of

    repo = init_repo(tmp_path / "quickstart")
    repo.copy_tree(QUICKSTART)
    base_sha = repo.commit("quickstart")
    repo.checkout("docs", new=True)
    repo.write("NOTES.md", "a harmless change\n")
    head_sha = repo.commit("docs only")
    proc = _cli(repo, tmp_path / "out")
    assert proc.returncode == 0, proc.stdout + proc.stderr

    uri = f"sqlite:///{repo.path / '.llmops' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    runs = [r for e in client.search_experiments() for r in client.search_runs([e.experiment_id])]
    by_sha = {r.data.tags["llmops.sha"]: r for r in runs}
    assert set(by_sha) == {base_sha, head_sha}, [r.info.run_name for r in runs]
    head, base = by_sha[head_sha], by_sha[base_sha]
    assert head.data.tags["llmops.base_run_id"] == base.info.run_id
    assert "llmops.pr_number" not in base.data.tags and base.data.tags["llmops.branch"] == "main"
    assert {r.info.status for r in (head, base)} == {"FINISHED"}
    cases = len((repo.path / "datasets" / "support.jsonl").read_text().splitlines())
    assert len(traces_of(uri, head.info.run_id)) == len(traces_of(uri, base.info.run_id)) == cases
