"""The terminal summary of a RunResult: per-metric table, skipped metrics with reasons, gates, errors, cache.

Plain text (no colours) so it reads the same in a terminal, a CI log and a test assertion.
"""

from __future__ import annotations

from pathlib import Path

from llmops_action.core.results import GateResult, RunResult

MAX_ERRORS_SHOWN = 10


_LABEL = {"pass": "PASS", "fail": "FAIL", "warn": "WARN", "skipped": "SKIP"}


def gate_line(g: GateResult) -> str:
    """One gate as `eval`, `compare` and `pr` all print it: `[FAIL] name: why`, the why saying what failed."""
    label = _LABEL.get(g.status, g.status.upper())
    nb = " (non-blocking)" if not g.blocking and g.status in ("fail", "warn") else ""
    return f"  [{label}] {g.name}{nb}: {g.reason or g.status}"


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_summary(result: RunResult, results_path: Path | None = None) -> str:
    run = result.run
    lines = [
        f"suite {run.suite}: {result.counts.cases} cases, provider {run.provider.type}"
        + (f" ({run.provider.model})" if run.provider.model else "")
        + (f", judge {run.judge.model}" if run.judge else "")
        + (f", shard {run.shard}" if run.shard else ""),
        "",
        f"{'metric':<24} {'mean':>7} {'n':>5} {'errors':>6} {'weight':>6}",
    ]
    skipped: list[str] = []
    for key, agg in result.metrics.items():
        if key == "score":
            continue
        if agg.skipped and agg.n == 0:
            skipped.append(f"  {key}: skipped: {agg.skipped}")
            continue
        lines.append(f"{key:<24} {_fmt(agg.mean):>7} {agg.n:>5} {agg.errors:>6} {agg.weight:>6g}")
    score = result.metrics.get("score")
    if score is not None and (score.n or score.errors):
        lines.append(f"{'score (weighted)':<24} {_fmt(score.mean):>7} {score.n:>5} {score.errors:>6}")
    elif score is not None and score.skipped:
        skipped.append(f"  score: skipped: {score.skipped}")
    a = result.aggregates
    cost = a.get("cost_usd")
    lines.append("")
    lines.append(
        f"latency p50 {_fmt(a.get('latency_p50_ms'), 0)} ms, p95 {_fmt(a.get('latency_p95_ms'), 0)} ms; "
        # Unknown (a python app that reports none) reads "-", never 0.
        f"tokens in {_fmt(a.get('input_tokens_total'), 0)}, out {_fmt(a.get('output_tokens_total'), 0)}; "
        f"cost {'-' if cost is None else f'{cost:.4f} USD'}"
    )
    c = result.counts
    lines.append(
        f"cache hits: {c.cache_hits} generation, {c.judge_cache_hits} judge; judge calls {c.judge_calls}"
    )
    calls = result.calls
    if calls is not None and calls.requests:
        allowed = f"; the server allowed about {calls.allowed_rpm:.0f} rpm" if calls.allowed_rpm else ""
        lines.append(
            f"requests {calls.requests}, {calls.throttled} refused by a quota "
            f"({calls.throttled / calls.requests:.1%}), {calls.retries} retries ({calls.free_retries} free); "
            f"waited {calls.waited_s:.1f} s summed over workers{allowed}"
        )
    if skipped:
        lines += ["", "skipped metrics:", *skipped]
    if result.gates:
        lines += ["", "gates:"]
        lines += [gate_line(g) for g in result.gates]
    failed = [case for case in result.cases if case.error or any(s.error for s in case.metrics.values())]
    if failed:
        lines += ["", f"errors ({len(failed)} cases):"]
        for case in failed[:MAX_ERRORS_SHOWN]:
            if case.error:
                lines.append(f"  {case.id}: {case.error}")
            else:
                first = next((k, s.error) for k, s in case.metrics.items() if s.error)
                lines.append(f"  {case.id}: {first[0]}: {first[1]}")
        if len(failed) > MAX_ERRORS_SHOWN:
            lines.append(f"  ... and {len(failed) - MAX_ERRORS_SHOWN} more (see results.json)")
    blocked = [case.id for case in result.cases if case.blocked]
    if blocked:
        lines.append(f"blocked prompts: {', '.join(blocked[:MAX_ERRORS_SHOWN])}")
    lines += ["", f"verdict: {result.verdict}"]
    if results_path is not None:
        lines.append(f"results: {results_path}")
    return "\n".join(lines)
