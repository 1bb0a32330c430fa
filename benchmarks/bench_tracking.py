"""Wall time MLflow tracking adds to `llmops-action eval` and `pr`: a 400-case run with traces and assessments,
and the quickstart as shipped. Embedded sqlite store (the default), a fresh interpreter per run, `--no-cache`.

  - 400 cases: the quickstart's app and metrics over 400 cases (its dataset repeated under new ids), the judge
    answered by the local Gemini server with LATENCY s per call, so the evaluation waits on calls as a real
    one does. Tracking off vs on (a trace per case with its spans and assessments, prompts, dataset).
  - pr: the same 400 cases through `pr` (the review core the Action and the bot run): the head evaluated and
    logged, the base re-evaluated (no baseline stored), the comparison logged with the head's run.
  - quickstart: the example exactly as a new user runs it (offline: no judge), off vs on; then a second run
    on the same project, whose store already exists (what a developer iterating locally pays).
  - log_run after the fact: the same 400-case result logged with no evaluation to overlap (what the
    live tracker hides behind the evaluation).

Targets (issue 12): under 1.5 s on top of the 400-case evaluation, and under 15 % of it.

Run: .venv/bin/python benchmarks/bench_tracking.py
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QUICKSTART = REPO / "examples" / "quickstart"
CASES = 400
LATENCY = 0.25  # s per judge call at the fake Gemini server
REPEATS = 2


def project(dest: Path, *, cases: int | None, tracking: bool) -> Path:
    shutil.copytree(QUICKSTART, dest, ignore=shutil.ignore_patterns(".llmops", "__pycache__"))
    cfg = dest / ".llmops.yml"
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(
        text.replace("tracking:\n  enabled: true", f"tracking:\n  enabled: {str(tracking).lower()}")
    )
    assert f"enabled: {str(tracking).lower()}" in cfg.read_text(encoding="utf-8")
    if cases is not None:
        data = dest / "datasets" / "support.jsonl"
        rows = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines() if line.strip()]
        out = []
        for i in range(cases):
            row = dict(rows[i % len(rows)])
            row["id"] = f"{row['id']}-{i:03d}"
            out.append(json.dumps(row))
        data.write_text("\n".join(out) + "\n", encoding="utf-8")
    return cfg


def eval_time(cfg: Path, env: dict[str, str], command: str = "eval") -> float:
    exe = Path(sys.executable).with_name("llmops-action")
    args = ["--config", str(cfg), "--out", str(cfg.parent / "out"), "--no-cache", "--no-progress"]
    if command == "pr":
        args += ["--base-ref", "main"]
    t = time.perf_counter()
    proc = subprocess.run([str(exe), command, *args], cwd=cfg.parent, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    assert proc.returncode in (0, 1), proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "warning: MLflow" not in proc.stderr, proc.stderr[-2000:]
    assert ("mlflow: run " in proc.stdout) == ("enabled: true" in cfg.read_text(encoding="utf-8")), (
        proc.stdout
    )
    return elapsed


def as_pull_request(cfg: Path) -> Path:
    """The project as a git repository: main, and a feature branch that edits the app (a PR's head)."""
    root = cfg.parent
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "b"}
    env["GIT_COMMITTER_EMAIL"] = "b@x"

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-qm", "base")
    git("checkout", "-qb", "feature")
    app = root / "app.py"
    app.write_text(app.read_text(encoding="utf-8") + "\n# a harmless change\n", encoding="utf-8")
    git("commit", "-qam", "head")
    return cfg


def log_after(cfg: Path) -> float:
    """log_run of an existing 400-case result, nothing to overlap with (import excluded)."""
    code = (
        "import sys, time; from pathlib import Path\n"
        "import mlflow\n"
        "from llmops_action.core.config import load_config\n"
        "from llmops_action.core.results import RunResult\n"
        "from llmops_action.adapters.tracking import track_result\n"
        "cfg = Path(sys.argv[1]); r = RunResult.read(cfg.parent / 'out' / 'results.json')\n"
        "t = time.perf_counter(); o = track_result(load_config(cfg), r, cfg.parent)\n"
        "assert o.warning is None, o.warning; print(time.perf_counter() - t)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(cfg)], capture_output=True, text=True, check=True)
    return float(proc.stdout.strip().splitlines()[-1])


def pair(
    tmp: Path, label: str, cases: int | None, env: dict[str, str], command: str = "eval"
) -> tuple[list[float], list[float], Path]:
    off, on = [], []
    cfg_on = tmp
    prepare = as_pull_request if command == "pr" else (lambda cfg: cfg)
    for i in range(REPEATS):
        off.append(
            eval_time(prepare(project(tmp / f"{label}-off{i}", cases=cases, tracking=False)), env, command)
        )
        cfg_on = prepare(project(tmp / f"{label}-on{i}", cases=cases, tracking=True))
        on.append(eval_time(cfg_on, env, command))
    return off, on, cfg_on


def report(label: str, off: list[float], on: list[float]) -> None:
    m_off, m_on = statistics.median(off), statistics.median(on)
    extra = m_on - m_off
    print(f"{label}")
    print(f"  eval, tracking off    median {m_off:6.2f} s  ({', '.join(f'{x:.2f}' for x in off)})")
    print(f"  eval, tracking on     median {m_on:6.2f} s  ({', '.join(f'{x:.2f}' for x in on)})")
    print(f"  added by tracking     {extra:+.2f} s = {100 * extra / m_off:+.1f} % of the evaluation")


def main() -> None:
    sys.path.insert(0, str(REPO))
    from tests.support.gemini_server import GeminiServer

    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "GEMINI_", "GOOGLE_"))}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        with GeminiServer(latency=LATENCY) as gemini:
            env = {**base_env, "GEMINI_API_KEY": "bench-key", "GOOGLE_GEMINI_BASE_URL": gemini.url}
            off, on, cfg_on = pair(tmp, "big", CASES, env)
            pr_off, pr_on, _ = pair(tmp, "pr", CASES, env, command="pr")
        print(
            f"tracking on a {CASES}-case eval (judge {LATENCY:g} s/call, concurrency 8), embedded store, "
            f"{REPEATS} runs each"
        )
        report(f"{CASES} cases, traces + assessments:", off, on)
        print(f"  log_run after the fact (no overlap, mlflow already imported): {log_after(cfg_on):.2f} s")
        report(
            f"pr over {CASES} cases (head logged live, base re-evaluated, comparison logged):", pr_off, pr_on
        )
        q_off, q_on, q_cfg = pair(tmp, "qs", None, base_env)
        report("quickstart as shipped (offline, no judge):", q_off, q_on)
        again = [eval_time(q_cfg, base_env) for _ in range(REPEATS)]
        extra = statistics.median(again) - statistics.median(q_off)
        print(
            f"  tracking on, store already there  median {statistics.median(again):6.2f} s  "
            f"({', '.join(f'{x:.2f}' for x in again)}): {extra:+.2f} s = "
            f"{100 * extra / statistics.median(q_off):+.1f} %"
        )


if __name__ == "__main__":
    main()
