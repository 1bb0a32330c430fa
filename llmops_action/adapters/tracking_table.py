"""The per-case table of a run, as MLflow's UI reads it (`cases.json`, shown under the run's artifacts)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient


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
