"""The run's dataset as an MLflow evaluation dataset, created once per content and reused by later runs.

MLflow 3 keeps evaluation datasets (records of inputs with their expectations) in the tracking store, on a
server as in the embedded sqlite file, and lists them on the experiment's Datasets tab. Each distinct
content (the dataset hash) is one evaluation dataset, found again by its `llmops.dataset_hash` tag: a run on
cases already stored writes nothing, so every run on the same cases links the same dataset. The run's input
names it (source: the evaluation dataset; digest: our dataset hash).

A record holds a case's inputs (its vars: what the app receives) and expectations (its reference and
keywords). MLflow keys records by their inputs, so cases with the same vars share one record, which names
them all (`llmops.case_ids`) and keeps the first one's expectations; every case still has its own trace.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from mlflow.entities import DatasetInput, EvaluationDataset
    from mlflow.tracking import MlflowClient

    from llmops_action.core.results import RunResult

HASH_TAG = "llmops.dataset_hash"
SUITE_TAG = "llmops.suite"
CASES_TAG = "llmops.cases"
CASE_IDS_TAG = "llmops.case_ids"


class CaseLike(Protocol):
    """A dataset case (core/dataset.Case) or an evaluated one (core/results.CaseResult)."""

    id: str
    prompt: str
    vars: dict[str, Any]
    reference: str | None
    keywords: list[str]


@dataclass(frozen=True)
class DatasetCases:
    """What a run evaluates, known before its first case runs: enough to create the dataset early."""

    suite: str
    digest: str  # the dataset hash
    cases: Sequence[CaseLike]

    @classmethod
    def of(cls, result: RunResult) -> DatasetCases:
        return cls(result.run.suite, result.run.dataset_hash, result.cases)

    @property
    def name(self) -> str:
        return f"{self.suite}-cases-{self.digest[:8]}"


def records(data: DatasetCases, redact: Callable[[str], str]) -> list[dict[str, Any]]:
    """One record per distinct inputs (MLflow's own key), naming every case that has them."""
    by_inputs: dict[str, dict[str, Any]] = {}
    for case in data.cases:
        inputs = {k: redact(v) if isinstance(v, str) else v for k, v in case.vars.items()}
        key = json.dumps(inputs, sort_keys=True, default=str)
        if key in by_inputs:
            by_inputs[key]["tags"][CASE_IDS_TAG] += f", {case.id}"
            continue
        expectations: dict[str, Any] = {}
        if case.reference is not None:
            expectations["expected_response"] = redact(case.reference)
        if case.keywords:
            expectations["expected_keywords"] = list(case.keywords)
        record: dict[str, Any] = {
            "inputs": inputs,
            "tags": {CASE_IDS_TAG: case.id, "llmops.prompt": case.prompt},
            # MLflow's own rule (EvaluationDataset._infer_source_types): ground truth is HUMAN, inputs alone CODE.
            "source": {"source_type": "HUMAN" if expectations else "CODE", "source_data": {}},
        }
        if expectations:
            record["expectations"] = expectations
        by_inputs[key] = record
    return list(by_inputs.values())


def ensure_dataset(
    client: MlflowClient, experiment_id: str, data: DatasetCases, redact: Callable[[str], str]
) -> EvaluationDataset:
    """The experiment's evaluation dataset of this content, created (with its records) on first use."""
    name = data.name.replace("'", "")
    found = client.search_datasets(
        experiment_ids=[experiment_id], filter_string=f"name = '{name}'", order_by=["created_time ASC"]
    )
    for dataset in found:
        if (dataset.tags or {}).get(HASH_TAG) == data.digest:
            return dataset
    tags = {SUITE_TAG: data.suite, CASES_TAG: str(len(data.cases))}
    dataset = client.create_dataset(name=name, experiment_id=[experiment_id], tags=tags)
    if data.cases:
        # The store's own upsert, which EvaluationDataset.merge_records ends in: merge_records imports pandas
        # first, and mlflow-skinny (our dependency) has none.
        client._tracking_client.store.upsert_dataset_records(dataset.dataset_id, records(data, redact))
    # Tagged with its content only once its records are in: a run that died halfway is never reused.
    client.set_dataset_tags(dataset.dataset_id, {HASH_TAG: data.digest})
    return client.get_dataset(dataset.dataset_id)


def run_input(dataset: EvaluationDataset, data: DatasetCases) -> DatasetInput:
    """The run's input naming the evaluation dataset, with our dataset hash as its digest."""
    from mlflow.data.evaluation_dataset_source import EvaluationDatasetSource
    from mlflow.entities import Dataset, DatasetInput, InputTag

    profile = {"num_rows": len(data.cases), "prompts": sorted({c.prompt for c in data.cases})}
    source = EvaluationDatasetSource(dataset.dataset_id)
    entity = Dataset(
        name=dataset.name,
        digest=data.digest[:36],
        source_type=source._get_source_type(),
        source=source.to_json(),
        schema=dataset.schema,
        profile=json.dumps(profile),
    )
    return DatasetInput(dataset=entity, tags=[InputTag(key="mlflow.data.context", value="evaluation")])


def log_dataset(
    client: MlflowClient, experiment_id: str, run_id: str, data: DatasetCases, redact: Callable[[str], str]
) -> str:
    """Link the run to its evaluation dataset (created when new); returns the dataset's id."""
    dataset = ensure_dataset(client, experiment_id, data, redact)
    client.log_inputs(run_id, datasets=[run_input(dataset, data)])
    return str(dataset.dataset_id)
