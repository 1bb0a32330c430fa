"""Check in a real browser that MLflow's UI lists a quickstart run's cases as traces and its evaluation
dataset on the experiment's Datasets tab, and save screenshots.

Evaluates a copy of the quickstart (judge answered by the local Gemini server), opens its embedded store
with `mlflow ui` (as the README says), loads the run's traces view in headless chromium (Debian's
`chromium`), checks that the rendered page names the cases, and writes the screenshot.

Run: .venv/bin/python benchmarks/ui_traces_screenshot.py [screenshot.png]
"""

from __future__ import annotations

import html
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.chromium import HEADLESS_FLAGS  # noqa: E402

QUICKSTART = REPO / "examples" / "quickstart"
FLAGS = [
    *HEADLESS_FLAGS,
    "--window-size=1600,1000",
    "--virtual-time-budget=20000",
]


def chromium(url: str, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        sys.exit("chromium not found: apt-get install chromium")
    return subprocess.run(
        [exe, *FLAGS, f"--user-data-dir={profile}", *extra, url],
        capture_output=True,
        text=True,
        timeout=180,
    )


def main() -> None:
    sys.path.insert(0, str(REPO))
    from tests.support.gemini_server import GeminiServer
    from tests.support.mlflow_server import free_port, stop_mlflow_server

    shot = Path(sys.argv[1] if len(sys.argv) > 1 else "mlflow-traces.png").resolve()
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        qs = tmp / "quickstart"
        shutil.copytree(QUICKSTART, qs, ignore=shutil.ignore_patterns(".llmops", "__pycache__"))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "GEMINI_", "GOOGLE_"))}
        with GeminiServer() as gemini:
            env.update(GEMINI_API_KEY="ui-check-key", GOOGLE_GEMINI_BASE_URL=gemini.url)
            proc = subprocess.run(
                [str(bin_dir / "llmops-action"), "eval", "--no-progress"],
                cwd=qs,
                env=env,
                capture_output=True,
                text=True,
            )
        line = next(x for x in proc.stdout.splitlines() if x.startswith("mlflow: run "))
        run_id = line.split()[2]
        rows = [json.loads(x) for x in (qs / "datasets" / "support.jsonl").read_text().splitlines() if x]
        questions = [r["vars"]["question"] for r in rows]
        print(line)

        port = free_port()
        store = qs / ".llmops" / "mlflow.db"
        ui = subprocess.Popen(
            [str(bin_dir / "mlflow"), "ui", "--backend-store-uri", f"sqlite:///{store}", "--port", str(port)],
            cwd=qs,
            stdout=(tmp / "ui.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(240):
                try:
                    with urllib.request.urlopen(f"{base}/health", timeout=2):
                        break
                except OSError:
                    time.sleep(0.5)
            from mlflow.tracking import MlflowClient

            exp_id = MlflowClient(tracking_uri=f"sqlite:///{store}").get_run(run_id).info.experiment_id
            url = f"{base}/#/experiments/{exp_id}/runs/{run_id}/traces"
            dom = html.unescape(chromium(url, tmp / "profile-dom", "--dump-dom").stdout)
            # The traces table shows each case's request (its vars) and the count of traces it holds.
            listed = [q for q in questions if q in dom]
            counted = f"{len(rows)} of {len(rows)}" in dom
            chromium(url, tmp / "profile-shot", f"--screenshot={shot}")
            # The experiment's Datasets tab lists the run's evaluation dataset.
            meta = json.loads((qs / ".llmops" / "out" / "results.json").read_text())["run"]
            dataset = f"{meta['suite']}-cases-{meta['dataset_hash'][:8]}"
            datasets_url = f"{base}/#/experiments/{exp_id}/datasets"
            datasets_dom = html.unescape(chromium(datasets_url, tmp / "profile-ds", "--dump-dom").stdout)
            ds_shot = shot.with_name(f"{shot.stem}-datasets{shot.suffix}")
            chromium(datasets_url, tmp / "profile-ds-shot", f"--screenshot={ds_shot}")
        finally:
            stop_mlflow_server(ui)
    print(f"traces view: {url}")
    print(
        f"traces listed: {'all ' + str(len(rows)) if counted else 'count not shown'}; questions visible in the "
        f"rendered rows: {len(listed)} of {len(rows)} (the table is virtualised: the rest are below the fold)"
    )
    print(f"screenshot: {shot} ({shot.stat().st_size if shot.exists() else 0} bytes)")
    shown = dataset in datasets_dom
    print(
        f"datasets view: {datasets_url}: evaluation dataset {dataset} {'listed' if shown else 'NOT listed'}"
    )
    print(f"screenshot: {ds_shot} ({ds_shot.stat().st_size if ds_shot.exists() else 0} bytes)")
    if not listed or not counted:
        sys.exit("the traces view does not list the run's cases")
    if not shown:
        sys.exit("the datasets view does not list the run's evaluation dataset")


if __name__ == "__main__":
    main()
