"""The quickstart in examples/quickstart/ is valid, big enough, and its app really depends on the prompt."""

from __future__ import annotations

import importlib.util
import time
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from llmops_action.core.prompts import load_prompt_versions, render
from llmops_action.core.results import RunResult
from llmops_action.engine.providers.base import ModelRequest, ModelResponse
from llmops_action.engine.workspace import Workspace, load_workspace

QUICKSTART = Path(__file__).resolve().parents[1] / "examples" / "quickstart"
CONFIG = QUICKSTART / ".llmops.yml"


@pytest.fixture(scope="module")
def ws() -> Workspace:
    return load_workspace(CONFIG)


@pytest.fixture(scope="module")
def app() -> ModuleType:
    spec = importlib.util.spec_from_file_location("quickstart_app", QUICKSTART / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_workspace_loads_with_enough_cases_and_versions(ws: Workspace) -> None:
    assert len(ws.cases) >= 30
    versions = load_prompt_versions(ws.config.prompts, ws.root)
    assert 2 <= len(versions) <= 3
    assert all(len(v) >= 2 for v in versions.values())
    assert {p.version for p in ws.prompts.values()} == {"1.1.0"}  # highest semver runs
    assert all(c.reference and c.tags for c in ws.cases)
    assert sum(1 for c in ws.cases if c.keywords and c.contexts) >= 30
    assert Counter(c.prompt for c in ws.cases).keys() == versions.keys()


def test_config_has_the_promised_parts(ws: Workspace) -> None:
    cfg = ws.config
    types = {m.type for m in cfg.metrics}
    assert {
        "bleu",
        "rouge_l",
        "keyword_recall",
        "context_recall",
        "regex",
        "pii",
        "prompt_injection",
    } <= types
    weights = {m.key: m.weight for m in cfg.metrics if m.weight > 0}
    assert weights == {"bleu": 0.2, "rouge_l": 0.2, "faithfulness": 0.6}
    assert cfg.provider.type == "python" and cfg.provider.function == "app:answer"
    assert {g.metric for g in cfg.gates.absolute} >= {"score", "error_rate"}
    assert "score" in cfg.gates.regression.metrics
    assert cfg.baseline.store == "dir"


def test_every_prompt_renders_for_its_cases(ws: Workspace) -> None:
    versions = load_prompt_versions(ws.config.prompts, ws.root)
    for case in ws.cases:
        for prompt in versions[case.prompt].values():
            assert case.vars["question"] in render(prompt, case.vars, case_id=case.id).user


def test_app_follows_the_system_instruction(app: ModuleType) -> None:
    q = "How long does a refund take?"
    cited = app.answer(q, system="Answer in one sentence. Cite the document id in square brackets.")
    plain = app.answer(q, system="Answer in a few sentences.")
    assert cited["output"].endswith("[KB-102].") and cited["output"].count(".") <= 2
    assert "[KB-" not in plain["output"] and len(plain["output"]) > len(cited["output"])
    short = app.answer(q, system="Answer in one sentence of at most 5 words.")
    assert len(short["output"].split()) == 5
    refuse = 'If the documents do not contain the answer, say "Not in the docs."'
    assert app.answer("Is there a phone hotline I can call?", system=refuse)["output"] == "Not in the docs."
    assert any(c.startswith("KB-102:") for c in cited["contexts"])


class _AppProvider:
    """The python-provider contract for apps that accept `system` and `prompt`: case variables plus the rendered
    prompt. Used here so this test holds whatever the provider module does."""

    kind = "python"
    model = None
    cacheable = False

    def __init__(self, app: ModuleType) -> None:
        self.app = app

    def cache_identity(self) -> dict[str, str]:
        return {"type": "quickstart-test"}

    def complete(self, request: ModelRequest) -> ModelResponse:
        start = time.perf_counter()
        value = self.app.answer(**request.variables, system=request.system, prompt=request.user)
        return ModelResponse(
            text=value["output"],
            latency_ms=(time.perf_counter() - start) * 1000,
            raw={"contexts": value["contexts"]},
        )


def _evaluate(ws: Workspace, app: ModuleType, tmp_path: Path, pin: str | None = None) -> RunResult:
    from llmops_action.engine.evaluate import evaluate

    if pin is not None:
        versions = load_prompt_versions(ws.config.prompts, ws.root)
        ws = Workspace(ws.config_path, ws.root, ws.config, {n: v[pin] for n, v in versions.items()}, ws.cases)
    return evaluate(ws, provider=_AppProvider(app), use_cache=False, out_dir=tmp_path)


@pytest.mark.slow
def test_offline_run_passes_its_gates_and_a_degraded_prompt_scores_worse(
    ws: Workspace, app: ModuleType, tmp_path: Path
) -> None:
    good = _evaluate(ws, app, tmp_path / "good")
    assert good.verdict in ("pass", "warn")
    assert all(g.status != "fail" for g in good.gates), [g.reason for g in good.gates]
    assert good.metrics["faithfulness"].skipped == "no judge credentials"
    assert "faithfulness" in good.metrics["score"].excluded
    assert good.aggregates["error_rate"] == 0.0 and good.aggregates["pii"] == 1.0
    old = _evaluate(ws, app, tmp_path / "old", pin="1.0.0")
    assert old.aggregates["score"] < good.aggregates["score"] - 0.2
    assert old.aggregates["cites_source"] == 0.0 < good.aggregates["cites_source"]
    assert any(g.status == "fail" and g.metric == "score" for g in old.gates)
