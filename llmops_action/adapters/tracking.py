"""MLflow tracking: every run logged (tags, params, metrics, artifacts, a per-case table), a trace per
case with its assessments (tracking_traces), the prompt versions and the dataset (tracking_prompts).

One store per project: without a server, every command logs to the embedded sqlite file beside the
config (`.llmops/mlflow.db`), so `history` sees the runs of `eval`, `pr`, `compare` and the Action alike.

mlflow is imported only inside the functions that track: `import mlflow` costs about 2 s, and
`tracking: false` must never pay it. A failure to track never fails the evaluation: `log_run` catches
everything and returns one warning (issue 5). Credentials (MLFLOW_TRACKING_TOKEN or
MLFLOW_TRACKING_USERNAME/PASSWORD) are read by mlflow from the environment; they never go into
params, tags, artifacts or the warning.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from llmops_action.adapters.tracking_run import (
    OUTPUT_CHARS,
    case_table,
    run_metrics,
    run_name,
    run_params,
    run_tags,
)
from llmops_action.adapters.tracking_table import _log_table_plain, log_table
from llmops_action.engine.progress import slow_step

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from llmops_action.adapters.tracking_live import LiveRun
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
STORE_DIR = ".llmops"  # beside the config: the project's embedded store, .llmops/mlflow.db
STORE_FILE = "mlflow.db"
ARTIFACTS_DIR = "mlartifacts"
# re-exported: callers and tests import them from here
__all__ = [
    "OUTPUT_CHARS",
    "_log_table_plain",
    "case_table",
    "log_table",
    "run_metrics",
    "run_name",
    "run_params",
    "run_tags",
]
_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)", re.IGNORECASE)


@dataclass(frozen=True)
class TrackingOutcome:
    run_id: str | None = None
    run_url: str | None = None
    experiment_id: str | None = None
    warning: str | None = None
    store: str | None = None  # where the run went (the URI without credentials)


# --- resolution -------------------------------------------------------------------------------------


def store_dir(root: Path) -> Path:
    """The folder of a project's embedded store: `.llmops` beside the config (`root` holds the config)."""
    return Path(root) / STORE_DIR


def resolve_uri(cfg: TrackingConfig, store: Path, environ: Mapping[str, str] | None = None) -> str:
    """cfg.uri, else the input/env MLFLOW_TRACKING_URI, else the embedded sqlite file `store`/mlflow.db.

    `store` is the project's store folder (`store_dir(root)`), the same for every command.
    """
    env = os.environ if environ is None else environ
    if cfg.uri:
        return cfg.uri
    for name in URI_INPUTS:
        if env.get(name, "").strip():
            return env[name].strip()
    return f"sqlite:///{Path(store).resolve() / STORE_FILE}"


def is_embedded(uri: str) -> bool:
    return uri.startswith("sqlite:")


def experiment_name(
    cfg: TrackingConfig,
    suite: str,
    *,
    repo: str | None = None,
    environ: Mapping[str, str] | None = None,
    store: Path | None = None,
) -> str:
    """One experiment per repository and suite: `<owner/repo>/<suite>`. Outside Actions the project's folder
    names it (the one holding the store, i.e. the config's), never the folder a command happens to run in, so
    `history` finds the runs of `eval` wherever each was started."""
    if cfg.experiment:
        return cfg.experiment
    env = os.environ if environ is None else environ
    project = Path(store).resolve().parent.name if store is not None else Path.cwd().name
    owner_repo = repo or env.get("GITHUB_REPOSITORY") or project
    return f"{owner_repo}/{suite}"


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


@contextlib.contextmanager
def global_store(uri: str, experiment_id: str | None = None) -> Iterator[None]:
    """Point mlflow's process-wide store at `uri` for one call; restored after.

    Parts of the prompt registry ignore the client's URI and use the global one (linking a prompt to a
    run reads the run through it; registering a prompt looks up the active experiment): left alone,
    they would read, or create, a `mlflow.db` in the working folder. The environment is not changed
    for good, and mlflow's tracer is not touched (we log with the client APIs).
    """
    from mlflow.tracking._tracking_service import utils

    names = ("MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME")
    saved_env = {k: os.environ.get(k) for k in names}
    saved_uri = utils._tracking_uri
    utils._tracking_uri = uri
    os.environ.pop("MLFLOW_EXPERIMENT_NAME", None)
    if experiment_id is not None:
        os.environ["MLFLOW_EXPERIMENT_ID"] = experiment_id
    try:
        yield
    finally:
        utils._tracking_uri = saved_uri
        for k, old in saved_env.items():
            if old is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = old


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
        location = (Path(out_dir).resolve() / ARTIFACTS_DIR).as_uri()
    try:
        return str(client.create_experiment(name, artifact_location=location))
    except MlflowException:  # another job created it between our two calls
        exp = client.get_experiment_by_name(name)
        if exp is None:
            raise
        return str(exp.experiment_id)


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
    live: LiveRun | None = None,
) -> TrackingOutcome:
    """Log one evaluation to MLflow. Never raises: a failure comes back as `warning` (printed once).

    `live`: the run a LiveTracker opened during the evaluation (its traces already logged), completed here.

    `out_dir` is the project's store folder (`store_dir(root)`), used when no server is configured.
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
                result, comparison, files or {}, cfg, Path(out_dir), uri, repo, environ, config, secrets, live
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
    config: LlmopsConfig, result: RunResult, root: Path, *, files: Mapping[str, Path] | None = None
) -> TrackingOutcome:
    """log_run with the config's own tracking settings into the project's store (`root` holds the config)."""
    cfg = config.tracking_config
    if not cfg.enabled:
        return TrackingOutcome()
    return log_run(result, files=files, cfg=cfg, out_dir=store_dir(root), config=config)


def where_logged(outcome: TrackingOutcome) -> str | None:
    """The line a command prints: which run, in which store (None when nothing was logged)."""
    if outcome.run_id is None:
        return None
    return f"mlflow: run {outcome.run_id} in {outcome.run_url or outcome.store}"


def _base_run_id(client: MlflowClient, exp_id: str, comparison: Comparison | None) -> str | None:
    """The newest run of the base commit in this experiment, so head and base can be compared side by side."""
    sha = comparison.base.sha if comparison is not None and comparison.base is not None else None
    if not sha or not re.fullmatch(r"[0-9a-fA-F]{4,64}", sha):
        return None
    runs = client.search_runs(
        [exp_id], f"tags.`llmops.sha` = '{sha}'", max_results=5, order_by=["attributes.start_time DESC"]
    )
    return next((r.info.run_id for r in runs if not r.data.tags.get("llmops.pr_number")), None)


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
    live: LiveRun | None = None,
) -> TrackingOutcome:
    from mlflow.entities import Metric, Param, RunTag

    from llmops_action.adapters.tracking_dataset import DatasetCases, log_dataset
    from llmops_action.adapters.tracking_prompts import register_run_prompts
    from llmops_action.adapters.tracking_traces import TraceContext, log_traces, start_ms

    if live is not None:
        client, uri, exp_id = live.client, live.uri, live.experiment_id
    else:
        if is_embedded(uri):
            out_dir.mkdir(parents=True, exist_ok=True)
        client = client_for(uri)
        exp_id = ensure_experiment(
            client,
            experiment_name(cfg, result.run.suite, repo=repo, environ=environ, store=out_dir),
            uri,
            out_dir,
        )
    tags = {k: redact(v, secrets) for k, v in run_tags(result, comparison).items()}
    base_run = _base_run_id(client, exp_id, comparison)
    if base_run is not None:
        tags["llmops.base_run_id"] = base_run
    if live is not None:
        run_id = live.run_id
        client.update_run(run_id, name=run_name(result))
        run = client.get_run(run_id)
    else:
        run = client.create_run(exp_id, run_name=run_name(result), tags=tags)
        run_id = run.info.run_id
    try:
        params = [Param(k, redact(v, secrets)) for k, v in run_params(result, config).items()]
        ts = int(run.info.start_time or 0)
        metrics = [Metric(k, v, ts, 0) for k, v in run_metrics(result, comparison).items()]
        run_tag_list = [RunTag(k, v) for k, v in tags.items()] if live is not None else []
        for i in range(0, max(len(params), len(metrics), len(run_tag_list)), 100):  # mlflow's batch limits
            client.log_batch(
                run_id,
                metrics=metrics[i : i + 100],
                params=params[i : i + 100],
                tags=run_tag_list[i : i + 100],
            )

        def scrub(text: str) -> str:
            return redact(text, secrets)

        with global_store(uri, exp_id):
            if live is None or live.dataset_id is None:
                log_dataset(client, exp_id, run_id, DatasetCases.of(result), scrub)
            linked = dict(live.linked_prompts) if live is not None else {}
            todo_prompts = [p for p in result.run.prompts if p.name not in linked]
            linked.update(register_run_prompts(client, run_id, todo_prompts))
        ctx = TraceContext.of(result, exp_id, run_id, scrub, linked)
        done = live.logged if live is not None else set()
        first = (live.start_ms + len(done)) if live is not None else start_ms(result.run.started_at)
        todo = [c for c in result.cases if c.id not in done]
        log_traces(uri, todo, ctx, first, remote=not is_embedded(uri))
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
        for col in ("inputs", "reference", "output", "error"):
            table[col] = [None if v is None else redact(v, secrets) for v in table[col]]
        log_table(client, run_id, table, TABLE_FILE)
    except BaseException:
        with contextlib.suppress(Exception):  # the server may be the thing that failed
            client.set_terminated(run_id, status="FAILED")
        raise
    client.set_terminated(run_id, status="FINISHED")
    return TrackingOutcome(
        run_id=run_id, run_url=run_url(uri, exp_id, run_id), experiment_id=exp_id, store=public_uri(uri)
    )
