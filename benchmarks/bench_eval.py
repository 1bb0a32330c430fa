"""Benchmark: 400 cases x (generate + judge) against the local fake Gemini server with 50 ms injected latency at
concurrency 16; then `llmops-action --help` start-up time and its imports.

    .venv/bin/python benchmarks/bench_eval.py

Prints figures; targets: wall / ideal <= 1.3 where ideal = 400*2*0.05/16 s; --help < 0.3 s with neither
google.genai nor mlflow imported.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from llmops_action.engine.evaluate import evaluate  # noqa: E402
from llmops_action.engine.workspace import load_workspace  # noqa: E402
from tests.support.eval_workspace import make_workspace  # noqa: E402

CASES = 400
LATENCY = 0.05
CONCURRENCY = 16


class ServerProcess:
    """The fake server in its own process: in-process, client and server would share one GIL and the figure
    would measure GIL contention, not the runner."""

    def __enter__(self) -> ServerProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.gemini_server", "--latency", str(LATENCY)],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def bench_eval() -> None:
    with tempfile.TemporaryDirectory() as tmp, ServerProcess() as server:
        root = Path(tmp)
        make_workspace(
            root,
            n_cases=CASES,
            provider={"type": "gemini", "model": "gemini-2.5-flash", "base_url": server.url},
            metrics=[
                {"type": "contains", "value": "item", "weight": 0.4},
                {"type": "judge", "criterion": "answer_relevance", "weight": 0.6},
            ],
            extra={
                "concurrency": CONCURRENCY,
                "judge": {"model": "gemini-2.5-flash", "base_url": server.url},
            },
        )
        ws = load_workspace(root / ".llmops.yml")
        # Warm the SDK import and one client so the figure is the run, not google.genai's import time.
        evaluate(ws, api_key="k", shard=(1, CASES), use_cache=False)
        load = os.getloadavg()[0]
        start, cpu = time.perf_counter(), time.process_time()
        result = evaluate(ws, api_key="k", use_cache=False, out_dir=root / "out")
        wall = time.perf_counter() - start
        cpu = time.process_time() - cpu
        # tracemalloc slows every allocation several-fold: measure memory in a second, separate run.
        tracemalloc.start()
        evaluate(ws, api_key="k", use_cache=False)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        ideal = CASES * 2 * LATENCY / CONCURRENCY
        scored = sum(1 for c in result.cases if c.metrics["answer_relevance"].score is not None)
        print(
            f"eval: {CASES} cases x (generate + judge), {LATENCY * 1000:.0f} ms latency, concurrency {CONCURRENCY}"
        )
        print(f"  judged cases         {scored}/{CASES}, errors {result.counts.errors}")
        print(f"  wall time            {wall:.2f} s")
        print(f"  ideal                {ideal:.2f} s")
        print(f"  ratio to ideal       {wall / ideal:.2f}  (target <= 1.3)")
        # The load-independent figure: CPU of this process (all threads) per call. Under one GIL it caps the
        # rate at 1/cpu calls per second even on an idle machine; other processes' load stretches the wall.
        print(
            f"  client CPU per call  {cpu / (CASES * 2) * 1000:.2f} ms  (load average {load:.1f} on "
            f"{os.cpu_count()} cores at the start)"
        )
        print(f"  peak traced memory   {peak / 1e6:.1f} MB (tracemalloc, during the run)")
        print(
            f"  max RSS              {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB (process)"
        )


CHECK_IMPORTS = """
import sys
from llmops_action.cli.main import main
try:
    main(["--help"])
except SystemExit:
    pass
heavy = [m for m in ("google.genai", "mlflow", "numpy", "github", "jinja2") if m in sys.modules]
sys.stderr.write("HEAVY=" + ",".join(heavy) + "\\n")
"""


def bench_help() -> None:
    times = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "llmops_action", "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    proc = subprocess.run([sys.executable, "-c", CHECK_IMPORTS], capture_output=True, text=True, check=True)
    heavy = next(line for line in proc.stderr.splitlines() if line.startswith("HEAVY=")).removeprefix(
        "HEAVY="
    )
    print("llmops-action --help")
    print(
        f"  best of 5            {min(times):.3f} s  (target < 0.3 s; all: {json.dumps([round(t, 3) for t in times])})"
    )
    print(f"  heavy modules loaded {heavy or 'none'} (google.genai and mlflow must not be)")


if __name__ == "__main__":
    bench_eval()
    bench_help()
