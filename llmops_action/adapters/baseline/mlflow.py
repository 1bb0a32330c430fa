"""`mlflow` baseline store: a baseline is an MLflow run tagged with its commit sha, suite and config hash.

The run carries `results.json` as an artifact. The `llmops.baseline=true` tag is set last, after the
artifact is uploaded, so a half-written run is never found by `load` (write-once, like the other
stores). The ancestor walk is select.py's: it calls `load` per ancestor, so `load` is one
`search_runs` call with a tag filter.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmops_action.adapters.baseline.store import BaselineKey, BaselineRecord, check_saveable
from llmops_action.adapters.tracking import (
    client_for,
    ensure_experiment,
    mlflow_env,
    public_uri,
    run_metrics,
    run_tags,
)
from llmops_action.core.results import RunResult
from llmops_action.errors import IncompleteRunError, UserInputError

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

DEFAULT_EXPERIMENT = "llmops-baselines"
RESULTS_ARTIFACT = "results.json"
TAG_BASELINE = "llmops.baseline"


class MlflowBaselineStore:
    def __init__(self, tracking_uri: str | None = None, experiment: str | None = None) -> None:
        uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI", "").strip()
        if not uri:
            raise UserInputError(
                "the mlflow baseline store needs a tracking server",
                key="baseline.store",
                hint="Set MLFLOW_TRACKING_URI (or the mlflow-tracking-uri input, or tracking.uri in .llmops.yml).",
            )
        self.tracking_uri = uri
        self.experiment = experiment or DEFAULT_EXPERIMENT
        self._client: MlflowClient | None = None
        self._experiment_id: str | None = None

    # --- plumbing -----------------------------------------------------------------------------------

    def _call(self, what: str, fn: Any, *args: Any) -> Any:
        """Run one store operation with bounded HTTP retries; mlflow errors become IncompleteRunError."""
        from mlflow.exceptions import MlflowException

        try:
            with mlflow_env():
                return fn(*args)
        except (MlflowException, OSError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise IncompleteRunError(
                f"mlflow baseline store at {public_uri(self.tracking_uri)}: {what} failed: {first[:300]}"
            ) from None

    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            self._client = client_for(self.tracking_uri)
        return self._client

    def _experiment(self, create: bool) -> str | None:
        if self._experiment_id is None:
            if create:
                self._experiment_id = ensure_experiment(self.client, self.experiment, self.tracking_uri, None)
            else:
                exp = self.client.get_experiment_by_name(self.experiment)
                self._experiment_id = None if exp is None else str(exp.experiment_id)
        return self._experiment_id

    def _find(self, key: BaselineKey | None, suite: str | None = None, max_results: int = 1) -> list[Any]:
        exp_id = self._experiment(create=False)
        if exp_id is None:
            return []
        # Values are validated by BaselineKey (hex sha, [A-Za-z0-9_.-]), so they cannot break out of the quotes.
        clauses = [f"tags.`{TAG_BASELINE}` = 'true'"]
        if key is not None:
            clauses += [
                f"tags.`llmops.sha` = '{key.sha}'",
                f"tags.`llmops.suite` = '{key.suite}'",
                f"tags.`llmops.config_hash` = '{key.config_hash}'",
            ]
        elif suite is not None:
            BaselineKey("0" * 7, suite, "x")  # validates the suite name
            clauses.append(f"tags.`llmops.suite` = '{suite}'")
        order = ["attributes.start_time ASC"] if key is not None else ["attributes.start_time DESC"]
        return list(
            self.client.search_runs([exp_id], " and ".join(clauses), max_results=max_results, order_by=order)
        )

    def _location(self, run_id: str) -> str:
        return f"runs:/{run_id}/{RESULTS_ARTIFACT}"

    # --- the port -----------------------------------------------------------------------------------

    def load(self, sha: str, suite: str, config_hash: str) -> RunResult | None:
        key = BaselineKey(sha, suite, config_hash)
        runs = self._call("lookup", self._find, key)
        if not runs:
            return None
        run_id = runs[0].info.run_id
        with tempfile.TemporaryDirectory() as tmp:
            path = self._call("download", self.client.download_artifacts, run_id, RESULTS_ARTIFACT, tmp)
            return RunResult.read(Path(path))

    def save(self, result: RunResult) -> str:
        key = check_saveable(result)
        existing = self._call("lookup", self._find, key)
        if existing:
            return self._location(existing[0].info.run_id)
        return str(self._call("save", self._save, key, result))

    def _save(self, key: BaselineKey, result: RunResult) -> str:
        from mlflow.entities import Metric

        exp_id = self._experiment(create=True)
        assert exp_id is not None
        tags = {**run_tags(result), "llmops.sha": key.sha, "llmops.suite": key.suite}
        tags["llmops.config_hash"] = key.config_hash
        run = self.client.create_run(exp_id, run_name=f"baseline {key.suite}@{key.sha[:7]}", tags=tags)
        run_id = run.info.run_id
        try:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / RESULTS_ARTIFACT
                path.write_text(result.to_json(), encoding="utf-8")
                self.client.log_artifact(run_id, str(path))
            ts = int(run.info.start_time or 0)
            metrics = [Metric(k, v, ts, 0) for k, v in run_metrics(result).items()]
            for i in range(0, len(metrics), 100):
                self.client.log_batch(run_id, metrics=metrics[i : i + 100])
        except BaseException:
            self.client.delete_run(run_id)
            raise
        self.client.set_terminated(run_id, status="FINISHED")
        # Two writers racing for one key: both runs become visible, and `load`/`save` pick the oldest,
        # so every reader agrees on one baseline; the younger twin is deleted by whoever sees it.
        self.client.set_tag(run_id, TAG_BASELINE, "true")
        winners = self._find(key, max_results=2)
        if winners and winners[0].info.run_id != run_id:
            self.client.delete_run(run_id)
            return self._location(winners[0].info.run_id)
        return self._location(run_id)

    def list(self, suite: str | None = None) -> list[BaselineRecord]:
        runs = self._call("list", self._find, None, suite, 1000)
        records = []
        for r in runs:
            tags = r.data.tags
            started = datetime.fromtimestamp((r.info.start_time or 0) / 1000, UTC)
            records.append(
                BaselineRecord(
                    sha=tags.get("llmops.sha", ""),
                    suite=tags.get("llmops.suite", ""),
                    config_hash=tags.get("llmops.config_hash", ""),
                    saved_at=started.isoformat(timespec="seconds"),
                    score=r.data.metrics.get("score"),
                    location=self._location(r.info.run_id),
                )
            )
        return records
