"""Benchmark: a run under a per-minute quota nobody told the runner about (issue 13).

    .venv/bin/python benchmarks/bench_quota.py [--quota-rpm 3000] [--latency 0.1] [--cases 400]

The local fake Gemini server (its own process) enforces Q requests per minute as the API answers it: 429
RESOURCE_EXHAUSTED with a per-minute QuotaFailure and a RetryInfo.retryDelay (a token bucket refilled at Q/60 per
second, one second's worth of burst). 400 cases x (generate + judge), concurrency 16, no `rpm` in the config.
Then the same cases as two shards in two processes at once, sharing the one quota.

Defaults Q = 2400 rpm and 200 ms latency keep each run near 20 s while the pool could send 80 requests a second,
twice the quota. Prints, for each scenario: wall time against the quota-bound ideal (requests x 60 / Q),
quota utilisation U (requests the server admitted per minute over the run, / Q), 429 share S (refused / all
requests the server saw) and cases lost L (a case without an output or without its judge score).
Targets: U >= 0.9, S <= 3%, L = 0. The one-second burst lets U exceed 1 by at most Q/60 / requests.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.eval_workspace import make_workspace  # noqa: E402

CONCURRENCY = 16


def worker(workspace: str, shard: str | None) -> None:
    """One evaluation (a whole run or a shard) in this process; prints one JSON line."""
    import google.genai  # noqa: F401  # its import (seconds, with two processes at once) is not the run's pacing

    from llmops_action.engine.evaluate import evaluate
    from llmops_action.engine.workspace import load_workspace

    ws = load_workspace(Path(workspace) / ".llmops.yml")
    part = tuple(int(x) for x in shard.split("/")) if shard else None
    start = time.time()
    result = evaluate(ws, api_key="k", use_cache=False, shard=part)  # type: ignore[arg-type]
    end = time.time()
    lost = [
        f"{c.id}: {c.error or next((m.error for m in c.metrics.values() if m.error), 'no output')}"
        for c in result.cases
        if c.error or c.output is None or any(m.error for m in c.metrics.values())
    ]
    calls = result.calls.model_dump() if result.calls else {}
    print(json.dumps({"start": start, "end": end, "cases": len(result.cases), "lost": lost, "calls": calls}))


def scenario(args: argparse.Namespace, root: Path, shards: list[str | None]) -> None:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.gemini_server",
            "--latency",
            str(args.latency),
            "--quota-rpm",
            str(args.quota_rpm),
        ],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdin is not None and server.stdout is not None
    url = server.stdout.readline().strip()
    ws = root / f"ws-{len(shards)}"
    make_workspace(
        ws,
        n_cases=args.cases,
        provider={"type": "gemini", "model": "gemini-2.5-flash", "base_url": url},
        metrics=[
            {"type": "contains", "value": "item", "weight": 0.4},
            {"type": "judge", "criterion": "answer_relevance", "weight": 0.6},
        ],
        extra={"concurrency": CONCURRENCY, "judge": {"model": "gemini-2.5-flash", "base_url": url}},
    )
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", str(ws), *(["--shard", s] if s else [])],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        for s in shards
    ]
    runs = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    server.stdin.close()
    counts = json.loads(server.stdout.read().strip().splitlines()[-1])
    server.wait(timeout=10)

    wall = max(r["end"] for r in runs) - min(r["start"] for r in runs)
    seen = counts["admitted"] + counts["refused"]
    ideal = args.cases * 2 * 60 / args.quota_rpm
    utilisation = counts["admitted"] / (wall / 60) / args.quota_rpm
    lost = sum(len(r["lost"]) for r in runs)
    waited = sum(r["calls"].get("waited_s", 0.0) for r in runs)
    learned = [r["calls"].get("allowed_rpm") for r in runs]
    label = (
        "one process" if len(shards) == 1 else f"{len(shards)} processes at once (shards {', '.join(shards)})"
    )  # type: ignore[arg-type]
    print(label)
    print(f"  wall time            {wall:.1f} s  (quota-bound ideal {ideal:.1f} s, ratio {wall / ideal:.2f})")
    print(f"  quota utilisation U  {utilisation:.2f}  (target >= 0.9)")
    print(
        f"  429 share S          {counts['refused'] / seen:.1%}  ({counts['refused']} of {seen} requests; "
        "target <= 3%)"
    )
    print(f"  cases lost L         {lost} of {sum(r['cases'] for r in runs)}  (target 0)")
    for why in [w for r in runs for w in r["lost"]][:3]:
        print(f"    {why[:150]}")
    print(
        f"  runner               allowed rate at the end {', '.join(f'{x:.0f}' if x else '-' for x in learned)} "
        f"rpm; waited {waited:.1f} s summed over workers; "
        f"retries {sum(r['calls'].get('retries', 0) for r in runs)} "
        f"({sum(r['calls'].get('free_retries', 0) for r in runs)} free)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quota-rpm", type=float, default=2400.0)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--cases", type=int, default=400)
    parser.add_argument("--processes", default="1,2", help="scenarios to run: 1, 2 or 1,2 (default)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--shard", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.shard)
        return
    print(
        f"quota: Q = {args.quota_rpm:.0f} requests/min, {args.latency * 1000:.0f} ms latency, {args.cases} cases "
        f"x (generate + judge), concurrency {CONCURRENCY}, no rpm set"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(x) for x in args.processes.split(",")):
            scenario(args, Path(tmp), [f"{i}/{n}" for i in range(1, n + 1)] if n > 1 else [None])


if __name__ == "__main__":
    main()
