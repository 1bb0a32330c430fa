"""What a self-test costs and what it finds, through the real code path (issue 14).

1. The quickstart, offline (lexical metrics and guardrails; the judge is skipped): wall time, and per mutation
   whether a blocking gate caught it.
2. The 8-case grounded workspace of the tests with a faithfulness judge on the local Gemini server (a judge that
   checks every word against the context): the first self-test's judge calls and time, then the second's, which
   the cache must serve entirely (0 calls).

    .venv/bin/python benchmarks/bench_selftest.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from llmops_action.engine.evaluate import evaluate  # noqa: E402
from llmops_action.engine.selftest import fresh_source, run_selftest  # noqa: E402
from llmops_action.engine.workspace import load_workspace  # noqa: E402
from tests.support.gemini_server import GeminiServer  # noqa: E402
from tests.support.grounded_workspace import FAITHFULNESS, LEXICAL, make_grounded_workspace  # noqa: E402
from tests.support.judges import gemini_handler  # noqa: E402


def _rows(report) -> str:  # type: ignore[no-untyped-def]
    return ", ".join(f"{r.mutation}={'caught' if r.caught else 'MISSED'}" for r in report.rows)


def quickstart() -> None:
    ws = load_workspace(REPO / "examples" / "quickstart" / ".llmops.yml")
    start = time.perf_counter()
    source, contexts = fresh_source(ws, api_key=None, use_cache=False)
    report = run_selftest(ws, source, source_label="eval", use_cache=False, contexts=contexts)
    took = time.perf_counter() - start
    print(
        f"quickstart offline: {len(source.cases)} cases, {len(report.rows)} mutations, {took:.2f} s, exit {report.exit_code}"
    )
    print(f"  {_rows(report)}")


def judged() -> None:
    with tempfile.TemporaryDirectory() as tmp, GeminiServer(gemini_handler()) as server:
        root = make_grounded_workspace(
            Path(tmp),
            metrics=[*LEXICAL, FAITHFULNESS],
            judge={"base_url": server.url},
            gates={"regression": {"metrics": ["score", "faithfulness"]}},
        )
        ws = load_workspace(root / ".llmops.yml")
        source = evaluate(ws, api_key="bench")
        for label in ("first", "second"):
            before = len(server.judge_requests())
            start = time.perf_counter()
            report = run_selftest(ws, source, source_label="eval", api_key="bench")
            took = time.perf_counter() - start
            calls = len(server.judge_requests()) - before
            print(f"grounded workspace with judge, {label} self-test: {took:.2f} s, {calls} judge calls")
        print(f"  {_rows(report)}")
        print(f"  manipulable judges: {report.manipulable_judges or 'none'}")


if __name__ == "__main__":
    quickstart()
    judged()
