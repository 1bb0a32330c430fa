"""Re-scoring a stored run under another measurement: its outputs replayed, only the metrics run again."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from llmops_action.core.config import MetricConfig
from llmops_action.engine.evaluate import evaluate
from llmops_action.engine.measure import align, rescore
from llmops_action.engine.workspace import load_workspace
from tests.support.pr_project import write_project


def test_a_stored_run_is_rescored_from_its_outputs_without_calling_the_app(tmp_path: Path) -> None:
    ws = load_workspace(write_project(tmp_path / "p"))
    stored = evaluate(ws)
    (tmp_path / "p" / "app.py").write_text("raise SystemExit('the app must not run again')\n")
    metrics = [*ws.config.metrics, MetricConfig(type="contains", value="capital", weight=1.0)]
    other = ws.config.model_copy(update={"metrics": metrics})

    again = rescore(stored, ws, other, api_key=None)

    assert [c.output for c in again.cases] == [c.output for c in stored.cases]
    assert all(c.metrics["contains"].score == 1.0 for c in again.cases)
    assert again.run.prompts == stored.run.prompts and again.run.git_sha == stored.run.git_sha
    warnings: list[str] = []
    assert (
        align(stored, ws, ws.config, api_key=None, use_cache=False, cache_dir=None, warnings=warnings)
        is stored
    )
    realigned = align(stored, ws, other, api_key=None, use_cache=False, cache_dir=None, warnings=warnings)
    assert "contains" in realigned.metrics and "re-scored" in warnings[0]


def test_cases_whose_inputs_changed_keep_their_stored_scores(tmp_path: Path) -> None:
    ws = load_workspace(write_project(tmp_path / "p"))
    stored = evaluate(ws)
    edited = [c.model_copy(update={"keywords": ["nowhere"]}) if c.id == "cap-00" else c for c in ws.cases]
    again = rescore(stored, dataclasses.replace(ws, cases=edited), ws.config, api_key=None)
    first = again.case_map()["cap-00"]
    assert (
        first.metrics == stored.case_map()["cap-00"].metrics
    )  # not re-scored with another case's definition
