"""The checkout runs on any machine: no tracked file names a path only one machine has, and no run's store
is committed. A green CI that a new clone cannot reproduce is worse than a red one."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Paths that exist on one machine only: a venv or home folder of somebody's, a fixed temporary folder.
# (Written in pieces so that this file does not itself read as one machine's path to a plain grep.)
MACHINE_PATH = re.compile(
    r"/opt" r"/venv|/ro" r"ot/|/ho" r"me/[a-z_][\w-]*/|/Users/\w+|(?<![\w.])/tmp/\w|/var/folders/"
)

# The container's own layout is the image's, set by the Dockerfile itself: the same on every machine.
CONTAINER_PATHS = {"Dockerfile", "tests/test_action_yml.py"}
THIS_FILE = "tests/test_portability.py"


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    return [name for name in out.decode().split("\0") if name]


def test_no_tracked_file_names_a_path_that_only_one_machine_has() -> None:
    hits = []
    for name in tracked_files():
        path = REPO / name
        if name in CONTAINER_PATHS or name == THIS_FILE or not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data:
            continue
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            if MACHINE_PATH.search(line):
                hits.append(f"{name}:{number}: {line.strip()}")
    assert hits == []


def test_the_pattern_catches_the_paths_it_exists_for() -> None:
    opt, home, root = "/opt", "/home", "/root"
    for line in (
        f'PATH = "{opt}/venv/bin"',
        f"cd {home}/alice/src",
        "out = '/tmp/llmops-out'",
        f"{root}/.cache",
    ):
        assert MACHINE_PATH.search(line), line
    for line in ("/github/workspace", "tmp_path / 'x'", "/usr/bin/chromium", "$RUNNER_TEMP/llmops"):
        assert not MACHINE_PATH.search(line), line


def test_no_run_store_is_committed() -> None:
    stores = [
        n for n in tracked_files() if re.search(r"(^|/)(mlflow\.db|mlruns/)|\.llmops/(out|cache|pr)/", n)
    ]
    assert stores == []
