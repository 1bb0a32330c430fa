"""Extra wall time MLflow tracking adds to a quickstart-sized run (~50 cases), embedded sqlite store.

Each figure runs in a fresh interpreter, so `import mlflow` is paid the way one `llmops-action eval` pays it:
  - off:          log_run with tracking disabled (must not import mlflow)
  - import:       `import mlflow` alone
  - first run:    log_run into a new store (import + database creation + logging)
  - next run:     log_run into an existing store (import + logging)
  - log only:     a second log_run in the same process (logging cost alone)

Run: .venv/bin/python benchmarks/bench_tracking.py
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CASES = 50
REPEATS = 3

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
from llmops_action.core.config import TrackingConfig
from llmops_action.core.results import RunResult
from llmops_action.tracking import log_run
run = RunResult.read(sys.argv[2])
mode, out = sys.argv[1], Path(sys.argv[3])
figures = {}
t = time.perf_counter()
if mode == "import":
    import mlflow  # noqa: F401
    figures["import"] = time.perf_counter() - t
else:
    o = log_run(run, cfg=TrackingConfig(enabled=(mode != "off")), out_dir=out, repo="bench/app", environ={})
    assert o.warning is None, o.warning
    figures["log_run"] = time.perf_counter() - t
    if mode != "off":
        t = time.perf_counter()
        log_run(run, cfg=TrackingConfig(), out_dir=out, repo="bench/app", environ={})
        figures["log_only"] = time.perf_counter() - t
figures["mlflow_imported"] = "mlflow" in sys.modules
print(json.dumps(figures))
"""


def child(mode: str, results: Path, out: Path) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(results), str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    sys.path.insert(0, str(REPO))
    from tests.support.results_factory import make_run

    with tempfile.TemporaryDirectory() as tmp:
        results = make_run(n=CASES).write(Path(tmp) / "results.json")
        off = [child("off", results, Path(tmp) / "off")["log_run"] for _ in range(REPEATS)]
        assert not child("off", results, Path(tmp) / "off")["mlflow_imported"]
        imports = [child("import", results, Path(tmp))["import"] for _ in range(REPEATS)]
        first, nxt, only = [], [], []
        for i in range(REPEATS):
            out = Path(tmp) / f"store{i}"
            f = child("on", results, out)
            first.append(f["log_run"])
            only.append(f["log_only"])
            nxt.append(child("on", results, out)["log_run"])

    def show(label: str, values: list[float]) -> None:
        print(
            f"  {label:<34} median {statistics.median(values):6.2f} s   (min {min(values):.2f}, max {max(values):.2f})"
        )

    print(f"tracking overhead, {CASES}-case run, embedded sqlite store, {REPEATS} fresh interpreters each")
    show("tracking off (no mlflow import)", off)
    show("import mlflow", imports)
    show("first run (new store)", first)
    show("next run (existing store)", nxt)
    show("logging alone (mlflow loaded)", only)
    extra = statistics.median(nxt) - statistics.median(off)
    print(
        f"  extra wall time per eval with tracking on: {extra:.2f} s "
        f"(of which import ~{statistics.median(imports):.2f} s)"
    )


if __name__ == "__main__":
    main()
