"""MLflow tracking: every run logged (tags, params, metrics, artifacts, a per-case table).

mlflow is imported only inside the functions that track: `import mlflow` costs about 2 s, and
`tracking: false` must never pay it. A failure to track never fails the evaluation: `log_run` catches
everything and returns one warning (issue 5). Credentials (MLFLOW_TRACKING_TOKEN or
MLFLOW_TRACKING_USERNAME/PASSWORD) are read by mlflow from the environment; they never go into
params, tags, artifacts or the warning.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from llmops_action.progress import slow_step

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from llmops_action.core.comparison import Comparison
    from llmops_action.core.config import LlmopsConfig, TrackingConfig
    from llmops_action.core.results import RunResult

# Bounded retries so a dead server costs seconds, not mlflow's default of 7 retries x 120 s timeouts.
HTTP_LIMITS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.2",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}
CREDENTIAL_VARS = ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")
URI_INPUTS = ("MLFLOW_TRACKING_URI", "INPUT_MLFLOW-TRACKING-URI", "INPUT_MLFLOW_TRACKING_URI")
TABLE_FILE = "cases.json"
OUTPUT_CHARS = 500
_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)", re.IGNORECASE)
_BAD_KEY_CHARS = re.compile(r"[^A-Za-z0-9_\-. /]")


@dataclass(frozen=True)
class TrackingOutcome:
    run_id: str | None = None
    run_url: str | None = None
    experiment_id: str | None = None
    warning: str | None = None


# --- resolution -------------------------------------------------------------------------------------


def resolve_uri(cfg: TrackingConfig, out_dir: Path, environ: Mapping[str, str] | None = None) -> str:
    """cfg.uri, else the input/env MLFLOW_TRACKING_URI, else the embedded sqlite store in out_dir."""
    env = os.environ if environ is None else environ
    if cfg.uri:
        return cfg.uri
    for name in URI_INPUTS:
        if env.get(name, "").strip():
            return env[name].strip()
    return f"sqlite:///{Path(out_dir).resolve() / 'mlflow.db'}"


def is_embedded(uri: str) -> bool:
    return uri.startswith("sqlite:")


def experiment_name(
    cfg: TrackingConfig, suite: str, *, repo: str | None = None, environ: Mapping[str, str] | None = None
) -> str:
    """One experiment per repository and suite: `<owner/repo>/<suite>` (the folder name outside Actions)."""
    if cfg.experiment:
        return cfg.experiment
    env = os.environ if environ is None else environ
    owner_repo = repo or env.get("GITHUB_REPOSITORY") or Path.cwd().name
    return f"{owner_repo}/{suite}"


def run_name(result: RunResult) -> str:
    meta = result.run
    sha7 = (meta.git_sha or "nosha")[:7]
    if meta.pr_number is not None:
        return f"pr-{meta.pr_number}@{sha7}"
    return f"{meta.git_branch or 'local'}@{sha7}"


def public_uri(uri: str) -> str:
    """The URI without user:password@, fit for links and messages."""
    parts = urlsplit(uri)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit(parts._replace(netloc=netloc))
    return uri


def run_url(uri: str, experiment_id: str, run_id: str) -> str | None:
    if not uri.startswith(("http://", "https://")):
        return None
    return f"{public_uri(uri).rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


# --- what is logged (pure) --------------------------------------------------------------------------


def _metric_key(name: str) -> str:
    return _BAD_KEY_CHARS.sub("_", name)


def run_tags(result: RunResult) -> dict[str, str]:
    meta = result.run
    tags: dict[str, str] = {
        "llmops.suite": meta.suite,
        "llmops.config_hash": meta.config_hash,
        "llmops.dataset_hash": meta.dataset_hash,
        "llmops.metrics_hash": meta.metrics_hash,
        "llmops.tool_version": meta.tool_version,
        "llmops.verdict": result.verdict,
        "llmops.provider.type": meta.provider.type,
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
    tags.update({k: v for k, v in optional.items() if v})
    for p in meta.prompts:
        tags[f"prompt.{p.name}.version"] = p.version
        tags[f"prompt.{p.name}.hash"] = p.hash
    tags["llmops.prompts"] = ",".join(p.name for p in meta.prompts)
    return tags


def run_params(result: RunResult, config: LlmopsConfig | None = None) -> dict[str, str]:
    """A compact summary of the config. Built from named fields only, so no secret can slip in."""
    meta = result.run
    params: dict[str, str] = {
        "suite": meta.suite,
        "provider.type": meta.provider.type,
        "provider.model": meta.provider.model or "",
        "judge.model": meta.judge.model or "" if meta.judge else "",
        "dataset.size": str(len(result.cases)),
        "shard": meta.shard or "",
    }
    for name, agg in result.metrics.items():
        params[f"metric.{name}.weight"] = f"{agg.weight:g}"
    for gate in result.gates:
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
        for g in config.gates.absolute:
            bounds = [
                f">= {g.min:g}" if g.min is not None else "",
                f"<= {g.max:g}" if g.max is not None else "",
            ]
            params[f"gate.{g.name or g.metric}"] = f"{g.metric} {' '.join(b for b in bounds if b)}"
    return {_metric_key(k)[:250]: v[:6000] for k, v in params.items()}


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
    return {_metric_key(k): float(v) for k, v in values.items() if v is not None and math.isfinite(float(v))}


def case_table(result: RunResult) -> dict[str, list[Any]]:
    """Columns of the per-case table (one row per case), so MLflow's UI compares cases across runs."""
    base = [
        "id",
        "prompt",
        "prompt_version",
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
        output = (
            c.output if c.output is None or len(c.output) <= OUTPUT_CHARS else c.output[:OUTPUT_CHARS] + "…"
        )
        row: dict[str, Any] = {
            "id": c.id,
            "prompt": c.prompt,
            "prompt_version": c.prompt_version,
            "output": output,
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


# --- secrets ----------------------------------------------------------------------------------------


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of credential-looking variables, to scrub from anything logged (defence in depth)."""
    env = os.environ if environ is None else environ
    values = {v for k, v in env.items() if _SECRET_NAME.search(k) and len(v) >= 6}
    return sorted(values, key=len, reverse=True)


def redact(text: str, secrets: list[str]) -> str:
    for s in secrets:
        if s in text:
            text = text.replace(s, "***")
    return text


# --- the mlflow session -----------------------------------------------------------------------------


@contextlib.contextmanager
def mlflow_env(environ: Mapping[str, str] | None = None) -> Iterator[None]:
    """Bounded HTTP retries/timeouts and credentials from `environ` for one call; os.environ restored after.

    Variables the user set themselves win over our limits. mlflow's own loggers are quietened so a
    dead server yields our one warning, not a page of urllib3 retries.
    """
    wanted = {k: v for k, v in HTTP_LIMITS.items() if k not in os.environ}
    if environ is not None:
        wanted.update({k: environ[k] for k in CREDENTIAL_VARS if k in environ and k not in os.environ})
    saved = {k: os.environ.get(k) for k in wanted}
    import mlflow  # noqa: F401  (configures its loggers on import; quieten them after that)

    loggers = [logging.getLogger(n) for n in ("mlflow", "urllib3", "alembic")]
    levels = [lg.level for lg in loggers]
    try:
        os.environ.update(wanted)
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        yield
    finally:
        for k, old in saved.items():
            if old is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = old
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def client_for(uri: str) -> MlflowClient:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri if is_embedded(uri) else None)


def ensure_experiment(client: MlflowClient, name: str, uri: str, out_dir: Path | None) -> str:
    """The experiment's id, created on first use; the embedded store keeps artifacts in out_dir/mlartifacts."""
    from mlflow.exceptions import MlflowException

    exp = client.get_experiment_by_name(name)
    if exp is not None:
        if exp.lifecycle_stage == "deleted":
            client.restore_experiment(exp.experiment_id)
        return str(exp.experiment_id)
    location = None
    if is_embedded(uri) and out_dir is not None:
        location = (Path(out_dir).resolve() / "mlartifacts").as_uri()
    try:
        return str(client.create_experiment(name, artifact_location=location))
    except MlflowException:  # another job created it between our two calls
        exp = client.get_experiment_by_name(name)
        if exp is None:
            raise
        return str(exp.experiment_id)


def log_table(client: MlflowClient, run_id: str, table: dict[str, list[Any]], artifact_file: str) -> None:
    """`MlflowClient.log_table` when pandas is there (full mlflow); the same artifact and tag without it.

    mlflow-skinny (our runtime dependency) has no pandas; log_table's artifact is pandas'
    `to_json(orient="split", index=False)` plus the `mlflow.loggedArtifacts` tag the UI reads, so we
    write exactly that ourselves rather than pull in pandas.
    """
    try:
        import pandas  # noqa: F401
    except ImportError:
        _log_table_plain(client, run_id, table, artifact_file)
    else:
        client.log_table(run_id, data=table, artifact_file=artifact_file)


def _log_table_plain(
    client: MlflowClient, run_id: str, table: dict[str, list[Any]], artifact_file: str
) -> None:
    from mlflow.utils.mlflow_tags import MLFLOW_LOGGED_ARTIFACTS

    columns = list(table)
    rows = [list(r) for r in zip(*(table[c] for c in columns), strict=True)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / artifact_file
        path.write_text(json.dumps({"columns": columns, "data": rows}), encoding="utf-8")
        client.log_artifact(run_id, str(path))
    run = client.get_run(run_id)
    logged = json.loads(run.data.tags.get(MLFLOW_LOGGED_ARTIFACTS, "[]"))
    entry = {"path": artifact_file, "type": "table"}
    if entry not in logged:
        client.set_tag(run_id, MLFLOW_LOGGED_ARTIFACTS, json.dumps([*logged, entry]))


# --- log_run ----------------------------------------------------------------------------------------


def log_run(
    result: RunResult,
    *,
    comparison: Comparison | None = None,
    files: Mapping[str, Path] | None = None,
    cfg: TrackingConfig,
    out_dir: Path,
    repo: str | None = None,
    environ: Mapping[str, str] | None = None,
    config: LlmopsConfig | None = None,
) -> TrackingOutcome:
    """Log one evaluation to MLflow. Never raises: a failure comes back as `warning` (printed once).

    `files` maps artifact names (results.json, comparison.json, comment.md, summary.md) to paths;
    `config`, when given, adds judge samples, concurrency and gate settings to the params.
    """
    if not cfg.enabled:
        return TrackingOutcome()
    uri = resolve_uri(cfg, out_dir, environ)
    secrets = sorted({*secret_values(), *secret_values(environ or {})}, key=len, reverse=True)
    try:
        with mlflow_env(environ), slow_step(f"mlflow: logging the run to {public_uri(uri)}"):
            return _log(
                result, comparison, files or {}, cfg, Path(out_dir), uri, repo, environ, config, secrets
            )
    except Exception as exc:  # tracking is best effort by design: never fail the evaluation
        detail = redact(str(exc).strip().splitlines()[0] if str(exc).strip() else "", secrets)
        warning = redact(
            f"MLflow tracking to {public_uri(uri)} failed ({type(exc).__name__}: {detail[:300]}); "
            "the evaluation result is unaffected",
            secrets,
        )
        print(f"llmops-action: warning: {warning}", file=sys.stderr)
        return TrackingOutcome(warning=warning)


def track_result(
    config: LlmopsConfig, result: RunResult, out_dir: Path, *, files: Mapping[str, Path] | None = None
) -> TrackingOutcome:
    """log_run with the config's own tracking settings: what `eval` and the push flow call."""
    cfg = config.tracking_config
    if not cfg.enabled:
        return TrackingOutcome()
    return log_run(result, files=files, cfg=cfg, out_dir=Path(out_dir), config=config)


def _log(
    result: RunResult,
    comparison: Comparison | None,
    files: Mapping[str, Path],
    cfg: TrackingConfig,
    out_dir: Path,
    uri: str,
    repo: str | None,
    environ: Mapping[str, str] | None,
    config: LlmopsConfig | None,
    secrets: list[str],
) -> TrackingOutcome:
    if is_embedded(uri):
        out_dir.mkdir(parents=True, exist_ok=True)
    client = client_for(uri)
    exp_id = ensure_experiment(
        client, experiment_name(cfg, result.run.suite, repo=repo, environ=environ), uri, out_dir
    )
    tags = {k: redact(v, secrets) for k, v in run_tags(result).items()}
    run = client.create_run(exp_id, run_name=run_name(result), tags=tags)
    run_id = run.info.run_id
    try:
        from mlflow.entities import Metric, Param

        params = [Param(k, redact(v, secrets)) for k, v in run_params(result, config).items()]
        ts = int(run.info.start_time or 0)
        metrics = [Metric(k, v, ts, 0) for k, v in run_metrics(result, comparison).items()]
        for i in range(0, max(len(params), len(metrics)), 100):  # mlflow's batch limits
            client.log_batch(run_id, metrics=metrics[i : i + 100], params=params[i : i + 100])
        with tempfile.TemporaryDirectory() as tmp:
            for name, path in files.items():
                p = Path(path)
                if not p.is_file():
                    continue
                text = p.read_text(encoding="utf-8", errors="replace")
                clean = Path(tmp) / Path(name).name
                clean.write_text(redact(text, secrets), encoding="utf-8")
                client.log_artifact(run_id, str(clean))
        table = case_table(result)
        table["output"] = [None if o is None else redact(o, secrets) for o in table["output"]]
        table["error"] = [None if e is None else redact(e, secrets) for e in table["error"]]
        log_table(client, run_id, table, TABLE_FILE)
    except BaseException:
        with contextlib.suppress(Exception):  # the server may be the thing that failed
            client.set_terminated(run_id, status="FAILED")
        raise
    client.set_terminated(run_id, status="FINISHED")
    return TrackingOutcome(run_id=run_id, run_url=run_url(uri, exp_id, run_id), experiment_id=exp_id)
