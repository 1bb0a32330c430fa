"""What one run logs at run level (pure): its name, tags, params, metrics and the per-case table.

Built from named fields only, so no secret can slip in. Prompt versions and models are params (MLflow's
compare view shows params, not tags); each gate is one param; the verdict is a tag.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmops_action.core.comparison import Comparison
    from llmops_action.core.config import LlmopsConfig
    from llmops_action.core.results import RunResult

OUTPUT_CHARS = 500
RUN_TYPE_TAG = "mlflow.runType"
RUN_TYPE_EVAL = "genai_evaluate"  # what mlflow.genai.evaluate sets: the run lists under "Evaluation runs"
_BAD_KEY_CHARS = re.compile(r"[^A-Za-z0-9_\-. /]")


def metric_key(name: str) -> str:
    return _BAD_KEY_CHARS.sub("_", name)


def run_name(result: RunResult) -> str:
    """Unique and readable: suite, event, PR or branch at the short sha, and the start time (UTC).

    e.g. `default pull_request pr-12@abc1234 07:55:03`; two runs of one commit differ by their time.
    """
    meta = result.run
    sha7 = (meta.git_sha or "nosha")[:7]
    where = f"pr-{meta.pr_number}" if meta.pr_number is not None else (meta.git_branch or "local")
    clock = meta.started_at[11:19] if len(meta.started_at) >= 19 else meta.started_at
    parts = [meta.suite, meta.event or "local", f"{where}@{sha7}", clock]
    if meta.shard:
        parts.append(f"shard {meta.shard}")
    return " ".join(p for p in parts if p)


def run_tags(result: RunResult, comparison: Comparison | None = None) -> dict[str, str]:
    meta = result.run
    tags: dict[str, str] = {
        "llmops.suite": meta.suite,
        "llmops.config_hash": meta.config_hash,
        "llmops.dataset_hash": meta.dataset_hash,
        "llmops.metrics_hash": meta.metrics_hash,
        "llmops.tool_version": meta.tool_version,
        "llmops.verdict": comparison.verdict if comparison is not None else result.verdict,
        "llmops.provider.type": meta.provider.type,
        RUN_TYPE_TAG: RUN_TYPE_EVAL,
    }
    optional = {
        "llmops.sha": meta.git_sha,
        "mlflow.source.git.commit": meta.git_sha,
        "llmops.branch": meta.git_branch,
        "mlflow.source.git.branch": meta.git_branch,
        "llmops.event": meta.event,
        "llmops.pr_number": None if meta.pr_number is None else str(meta.pr_number),
        "llmops.shard": meta.shard,
        "llmops.provider.model": meta.provider.model,
        "llmops.provider.model_version": meta.provider.model_version,
        "llmops.judge.model": meta.judge.model if meta.judge else None,
        "llmops.judge.model_version": meta.judge.model_version if meta.judge else None,
    }
    if comparison is not None:
        optional["llmops.role"] = "head"
        optional["llmops.base.sha"] = comparison.base.sha if comparison.base else None
        optional["llmops.base.source"] = comparison.base_source
    tags.update({k: v for k, v in optional.items() if v})
    for p in meta.prompts:
        tags[f"prompt.{p.name}.hash"] = p.hash
    tags["llmops.prompts"] = ",".join(p.name for p in meta.prompts)
    return tags


def run_params(result: RunResult, config: LlmopsConfig | None = None) -> dict[str, str]:
    """A compact summary of the run and its config, each setting once."""
    meta = result.run
    params: dict[str, str] = {
        "suite": meta.suite,
        "provider.type": meta.provider.type,
        "provider.model": meta.provider.model or "",
        "judge.model": meta.judge.model or "" if meta.judge else "",
        "dataset.size": str(len(result.cases)),
        "dataset.hash": meta.dataset_hash,
        "shard": meta.shard or "",
    }
    for p in meta.prompts:
        params[f"prompt.{p.name}.version"] = p.version
    for name, agg in result.metrics.items():
        params[f"metric.{name}.weight"] = f"{agg.weight:g}"
    for gate in result.gates:  # every gate once, by its stable name
        if gate.op and gate.threshold is not None:
            params[f"gate.{gate.name}"] = f"{gate.metric} {gate.op} {gate.threshold:g}"
    if config is not None:
        params["judge.samples"] = str(config.judge.samples)
        params["concurrency"] = str(config.concurrency)
        params["rpm"] = str(config.rpm or "")
        params["baseline.store"] = config.baseline.store
        params["regression.metrics"] = ",".join(config.gates.regression.metrics)
        params["regression.delta"] = f"{config.gates.regression.delta:g}"
        params["drift.thresholds"] = f"{config.drift.warning:g}/{config.drift.critical:g}"
        for m in config.metrics:
            params[f"metric.{m.key}.weight"] = f"{m.weight:g}"
            params[f"metric.{m.key}.type"] = m.type
    return {metric_key(k)[:250]: v[:6000] for k, v in params.items()}


def run_metrics(result: RunResult, comparison: Comparison | None = None) -> dict[str, float]:
    """Every aggregate (latency p50/p95, tokens, cost and error rate among them); PSI per signal and delta
    per metric. An unknown figure (None) is left out, never logged as 0."""
    values: dict[str, float | None] = dict(result.aggregates)
    tokens = (values.get("input_tokens_total"), values.get("output_tokens_total"))
    values["tokens_total"] = None if None in tokens else sum(t or 0.0 for t in tokens)
    values["cases"] = float(result.counts.cases or len(result.cases))
    values["errors"] = float(result.counts.errors)
    values["cache_hits"] = float(result.counts.cache_hits)
    if comparison is not None:
        for d in comparison.drift:
            values[f"drift.{d.signal}.psi"] = d.psi
        for m in comparison.metrics:
            values[f"delta.{m.name}"] = m.delta
    return {metric_key(k): float(v) for k, v in values.items() if v is not None and math.isfinite(float(v))}


def _short(text: str | None, limit: int = OUTPUT_CHARS) -> str | None:
    return text if text is None or len(text) <= limit else text[:limit] + "…"


def case_table(result: RunResult) -> dict[str, list[Any]]:
    """Columns of the per-case table (one row per case): the question (vars) and reference beside the output."""
    base = [
        "id",
        "prompt",
        "prompt_version",
        "inputs",
        "reference",
        "output",
        "error",
        "latency_ms",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "score",
    ]
    names = list(dict.fromkeys(m for c in result.cases for m in c.metrics))
    cols = {n: (f"metric_{n}" if n in base else n) for n in names}
    table: dict[str, list[Any]] = {k: [] for k in [*base, *cols.values()]}
    for c in result.cases:
        row: dict[str, Any] = {
            "id": c.id,
            "prompt": c.prompt,
            "prompt_version": c.prompt_version,
            "inputs": _short(_vars_text(c.vars)),
            "reference": _short(c.reference),
            "output": _short(c.output),
            "error": c.error,
            "latency_ms": c.latency_ms,
            "input_tokens": c.input_tokens,
            "output_tokens": c.output_tokens,
            "cost_usd": c.cost_usd,
            "score": c.score,
        }
        for n, col in cols.items():
            ms = c.metrics.get(n)
            row[col] = ms.score if ms is not None else None
        for k in table:
            table[k].append(row[k])
    return table


def _vars_text(variables: dict[str, Any]) -> str:
    import json

    return json.dumps(variables, ensure_ascii=False, default=str)
