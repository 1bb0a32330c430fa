"""Run the Action the way the GitHub runner runs a container action: environment only, cwd = workspace.

`ActionProject` builds a real git setup (a bare remote and a clone per run) holding a copy of
examples/quickstart at the repository root, with base and head commits. `run_action()` starts
entrypoint/entrypoint.py in a subprocess with INPUT_* (hyphens kept), GITHUB_EVENT_NAME / _PATH (a real
webhook payload rewritten to the test repository's shas), GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files,
and GITHUB_API_URL pointing at the local fake GitHub server.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.github_server import load_payload
from tests.support.gitrepo import GitRepo, bare_remote, clone, init_repo

REPO_ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = REPO_ROOT / "examples" / "quickstart"
ENTRYPOINT = REPO_ROOT / "entrypoint" / "entrypoint.py"
# The interpreter that runs the tests runs the entrypoint too: its environment has the package installed.
PYTHON = Path(sys.executable)
REPO = "octo-org/llmops-demo"

# Gates the test controls, so a tuning of the quickstart's own thresholds cannot flip these tests:
# regression on score and keyword_recall; absolute gates that the quickstart's outputs meet.
GATES = """gates:
  absolute:
    - {metric: pii, min: 1.0}
    - {metric: error_rate, max: 0.0}
  regression:
    metrics: [score, keyword_recall]
    delta: 0.05
"""

# A change to the app's code that wrecks every answer: scores drop on every case, whatever the prompts say.
DEGRADE_APP = """

_original_answer = answer


def answer(question: str, **kw: object) -> dict[str, object]:  # noqa: F811 - a degrading change, for tests
    return {**_original_answer(question, **kw), "output": "Sorry, I cannot help with that."}
"""


def degraded_app() -> str:
    return (QUICKSTART / "app.py").read_text(encoding="utf-8") + DEGRADE_APP


def quickstart_config(cache_dir: Path) -> str:
    """The quickstart's config with the test's gates, the git-branch store, and a cache shared by every
    workspace of the test (what actions/cache restores on a real runner)."""
    text = (QUICKSTART / ".llmops.yml").read_text(encoding="utf-8")
    text = re.sub(r"(?ms)^cache:\n.*?(?=^\S)", f"cache:\n  dir: {cache_dir}\n\n", text)
    text = re.sub(r"(?ms)^gates:\n.*?(?=^\S)", GATES + "\n", text)
    text = re.sub(r"(?ms)^baseline:\n.*?(?=^\S)", "baseline:\n  store: git-branch\n\n", text)
    return text


@dataclass
class RunOutcome:
    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    workspace: Path

    @property
    def out_dir(self) -> Path:
        return self.workspace / ".llmops" / "out"

    def comparison(self) -> dict[str, Any]:
        return json.loads((self.out_dir / "comparison.json").read_text(encoding="utf-8"))


def parse_outputs(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT in the heredoc form `name<<DELIM\\nvalue\\nDELIM`."""
    out: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        if "<<" in lines[i]:
            name, delim = lines[i].split("<<", 1)
            j = lines.index(delim, i + 1)
            out[name] = "\n".join(lines[i + 1 : j])
            i = j + 1
        else:
            i += 1
    return out


class ActionProject:
    """The consumer's repository: main holds the quickstart (base); branches hold PR heads."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.home.mkdir(parents=True)
        (self.home / ".gitconfig").write_text("", encoding="utf-8")
        self.remote = bare_remote(root / "remote.git")
        self.dev = init_repo(root / "dev")
        self.dev.copy_tree(QUICKSTART)
        self.dev.write(".llmops.yml", quickstart_config(root / "cache"))
        self.base_sha = self.dev.commit("quickstart")
        self.dev.git("remote", "add", "origin", str(self.remote))
        self.dev.push("main")
        self.runs = 0

    def head(self, branch: str, files: dict[str, str] | None = None, message: str = "head") -> str:
        """A PR head on `branch` off main, with `files` changed (none: an empty commit)."""
        self.dev.git("checkout", "--quiet", "-B", branch, "main")
        for rel, text in (files or {}).items():
            self.dev.write(rel, text)
        sha = self.dev.commit(message)
        self.dev.git("push", "--quiet", "--force", "-u", "origin", branch)
        self.dev.git("checkout", "--quiet", "main")
        return sha

    def workspace(self, sha: str) -> GitRepo:
        """A fresh clone at `sha`, detached, as actions/checkout with fetch-depth: 0 leaves it."""
        self.runs += 1
        ws = clone(self.remote, self.root / f"ws{self.runs}", identity=False)
        ws.git("checkout", "--quiet", "--detach", sha)
        return ws

    def pr_payload(self, action: str, head_sha: str, *, number: int = 2, fork: str | None = None) -> dict:
        name = "opened" if action == "opened" else "synchronize"
        p = load_payload("pull_request", f"{name}.payload.json")
        p["action"] = action
        p["number"] = number
        pr = p["pull_request"]
        pr["number"] = number
        pr["head"]["sha"] = head_sha
        pr["head"]["ref"] = "feature"
        pr["base"]["sha"] = self.base_sha
        pr["base"]["ref"] = "main"
        pr["base"]["repo"]["full_name"] = REPO
        pr["head"]["repo"]["full_name"] = fork or REPO
        p["repository"]["full_name"] = REPO
        p["repository"]["default_branch"] = "main"
        if action == "synchronize":
            p["after"] = head_sha
        return p

    def push_payload(self, sha: str, before: str = "0" * 40) -> dict:
        p = load_payload("push", "with-new-branch.payload.json")
        p.update(ref="refs/heads/main", before=before, after=sha)
        p["repository"]["full_name"] = REPO
        p["repository"]["default_branch"] = "main"
        p["repository"]["master_branch"] = "main"
        return p

    def run(
        self,
        event: str,
        payload: dict,
        *,
        sha: str,
        api_url: str,
        inputs: dict[str, str] | None = None,
        extra_env: dict[str, str] | None = None,
        workspace: GitRepo | None = None,
        token: str = "ghs_fake",
    ) -> RunOutcome:
        ws = workspace or self.workspace(sha)
        runner_tmp = self.root / f"runner{self.runs}"
        runner_tmp.mkdir(exist_ok=True)
        event_path = runner_tmp / "event.json"
        event_path.write_text(json.dumps(payload), encoding="utf-8")
        output_file = runner_tmp / "output"
        summary_file = runner_tmp / "summary"
        output_file.write_text("", encoding="utf-8")
        summary_file.write_text("", encoding="utf-8")
        env = {
            "PATH": os.pathsep.join([str(PYTHON.parent), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": str(self.home),
            "GIT_CONFIG_NOSYSTEM": "1",
            "LANG": "C.UTF-8",
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(ws.path),
            "GITHUB_EVENT_NAME": event,
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_OUTPUT": str(output_file),
            "GITHUB_STEP_SUMMARY": str(summary_file),
            "GITHUB_API_URL": api_url,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_RUN_ID": str(1000 + self.runs),
            "GITHUB_SHA": sha,
            "GITHUB_REF": payload.get("ref") or "refs/pull/2/merge",
            "RUNNER_TEMP": str(runner_tmp),
            # What actions/cache restores between runs (action.yml): the cache and a dir baseline store,
            # outside every workspace, shared by the project's runs.
            "LLMOPS_STATE_DIR": str(self.root / "state"),
            # Test-speed knobs (documented): short backoff, short cap on Retry-After, no PyGithub throttle.
            "LLMOPS_GITHUB_BACKOFF": "0.05",
            "LLMOPS_GITHUB_MAX_WAIT": "5",
            "LLMOPS_GITHUB_THROTTLE": "false",
            "INPUT_GITHUB-TOKEN": token,
            "INPUT_CONFIG": ".llmops.yml",
            "INPUT_MODE": "auto",
            "INPUT_COMMENT": "true",
            "INPUT_STATUS": "true",
            "INPUT_FAIL-ON": "quality,regression",
            "INPUT_CACHE": "true",
            "INPUT_RUNTIME": "docker",
        }
        env.update({f"INPUT_{k.upper()}": v for k, v in (inputs or {}).items()})
        env.update(extra_env or {})
        proc = subprocess.run(
            [str(PYTHON), str(ENTRYPOINT)],
            cwd=ws.path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        return RunOutcome(
            code=proc.returncode,
            stdout=proc.stdout,
            stderr=proc.stderr,
            outputs=parse_outputs(output_file.read_text(encoding="utf-8")),
            summary=summary_file.read_text(encoding="utf-8"),
            workspace=ws.path,
        )


def copy_artifact(outcome: RunOutcome, dest: Path) -> Path:
    """What actions/upload-artifact + download-artifact carry from the PR run to the workflow_run."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("results.json", "comparison.json", "comment.md", "summary.md", "junit.xml", "pr.json"):
        src = outcome.out_dir / name
        if src.exists():
            shutil.copy2(src, dest / name)
    return dest
