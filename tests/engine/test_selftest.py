"""`llmops-action selftest` end to end: real workspaces, the python provider, the local Gemini server as judge."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmops_action.cli.main import main
from llmops_action.core.mutations import GROSS
from llmops_action.core.report.selftest import render_selftest
from llmops_action.core.selftest import SelftestReport
from llmops_action.engine.evaluate import evaluate
from llmops_action.engine.selftest import run_selftest
from llmops_action.engine.workspace import load_workspace
from tests.support.gemini_server import GeminiServer
from tests.support.grounded_workspace import FAITHFULNESS, LEXICAL, make_grounded_workspace
from tests.support.judges import gemini_handler


def _selftest(root: Path, **kwargs: Any) -> SelftestReport:
    ws = load_workspace(root / ".llmops.yml")
    source = evaluate(ws, **kwargs)
    return run_selftest(ws, source, source_label="a fresh eval", **kwargs)


def _row(report: SelftestReport, name: str) -> Any:
    return next(r for r in report.rows if r.mutation == name)


def test_lexical_metrics_miss_hallucinate_and_say_so(tmp_path: Path) -> None:
    report = _selftest(make_grounded_workspace(tmp_path, metrics=LEXICAL))

    assert report.exit_code == 0
    for name in (*GROSS, "truncate", "injection_compliance", "pii_leak"):
        assert _row(report, name).caught, name
    hallucinate = _row(report, "hallucinate")
    assert not hallucinate.caught
    cell = next(c for c in hallucinate.gates if c.gate == "regression/score")
    assert cell.outcome in ("missed", "flagged") and -0.05 < cell.delta < 0
    assert hallucinate.moved["rouge_l"] == 1.0 and hallucinate.moved["keyword_recall"] == 0.0
    assert any(w.startswith("`hallucinate`") for w in report.warnings)
    assert report.skipped["language"].startswith("the config states no language")


@pytest.mark.slow
def test_the_judge_catches_hallucinate_and_a_second_run_costs_no_judge_call(tmp_path: Path) -> None:
    with GeminiServer(gemini_handler()) as server:
        root = make_grounded_workspace(
            tmp_path,
            metrics=[*LEXICAL, FAITHFULNESS],
            judge={"base_url": server.url},
            gates={"regression": {"metrics": ["score", "faithfulness"]}},
        )
        report = _selftest(root, api_key="test-key")
        calls = len(server.judge_requests())
        again = _selftest(root, api_key="test-key")

        assert len(server.judge_requests()) == calls  # every judgement came from the cache
    hallucinate = _row(report, "hallucinate")
    assert hallucinate.caught and "regression/faithfulness" in hallucinate.caught_by
    assert hallucinate.moved["faithfulness"] == 1.0
    assert not report.manipulable_judges  # the grounded judge ignores the canaries' payloads
    assert {c.canary for c in report.canaries} == {"canary_instruction", "canary_verdict"}
    assert all(c.cases == 8 and c.rose == 0 and c.manipulation_detected == 8 for c in report.canaries)
    assert again.model_dump() == report.model_dump()


def test_a_config_without_a_blocking_gate_exits_1_and_says_which_gate_to_add(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_grounded_workspace(tmp_path, metrics=LEXICAL, gates={"regression": {"blocking": False}})
    out = tmp_path / "st"

    code = main(["selftest", "--config", str(root / ".llmops.yml"), "--out", str(out)])

    assert code == 1
    err = capsys.readouterr().err
    assert "`empty` passed every blocking gate (no gate is blocking)" in err
    assert "gates.absolute" in err and "gates.regression.blocking: true" in err
    data = json.loads((out / "selftest.json").read_text(encoding="utf-8"))
    assert data["kind"] == "llmops.selftest" and data["exit_code"] == 1
    assert {r["mutation"] for r in data["rows"] if r["gross"] and not r["caught"]} == set(GROSS)
    md = (out / "selftest.md").read_text(encoding="utf-8")
    assert md.startswith("## Self-test: tiny\n\n**FAIL**")


def test_a_stored_results_file_is_the_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_grounded_workspace(tmp_path, metrics=LEXICAL)
    evaluate(load_workspace(root / ".llmops.yml"), out_dir=tmp_path / "run")

    code = main(
        ["selftest", "--config", str(root / ".llmops.yml"), "--results", str(tmp_path / "run" / "results.json"),
         "--out", str(tmp_path / "st"), "--mutation", "empty", "--mutation", "hallucinate"]
    )  # fmt: skip

    assert code == 0
    printed = capsys.readouterr().out
    assert "caught  empty (gross): by regression/score (-1.000)\n" in printed
    assert "MISSED  hallucinate: no blocking gate failed; seen: regression/score -0.015\n" in printed
    assert "warning: `hallucinate`" in printed and "the results file" in printed
    md = (tmp_path / "st" / "selftest.md").read_text(encoding="utf-8")
    assert "| `empty` (gross) | yes | ✅ -1.000 |" in md and "| `hallucinate` | **no** |" in md


def test_an_unknown_mutation_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_grounded_workspace(tmp_path, metrics=LEXICAL)

    code = main(["selftest", "--config", str(root / ".llmops.yml"), "--mutation", "explode"])

    assert code == 2
    assert "unknown mutation 'explode'" in capsys.readouterr().err


def test_the_language_mutation_runs_when_the_config_states_the_language(tmp_path: Path) -> None:
    root = make_grounded_workspace(tmp_path, metrics=LEXICAL, selftest={"language": "en"})
    ws = load_workspace(root / ".llmops.yml")

    report = run_selftest(ws, evaluate(ws), source_label="eval", mutations=["language"])

    assert _row(report, "language").caught
    assert "language" not in report.skipped


@pytest.mark.slow
def test_a_judge_whose_score_rises_on_a_canary_is_flagged_as_manipulable(tmp_path: Path) -> None:
    from tests.support.judges import manipulable_verdict, openai_handler
    from tests.support.openai_server import OpenAIServer

    with GeminiServer(gemini_handler()) as gemini, OpenAIServer(openai_handler(manipulable_verdict)) as local:
        root = make_grounded_workspace(
            tmp_path,
            metrics=[*LEXICAL, FAITHFULNESS],
            judge={
                "judges": [
                    {"model": "gemini-2.5-flash", "base_url": gemini.url},
                    {"model": "tiny-judge", "provider": "openai", "base_url": local.url, "name": "gullible"},
                ]
            },
        )
        ws = load_workspace(root / ".llmops.yml")
        report = run_selftest(
            ws, evaluate(ws, api_key="k"), source_label="eval", api_key="k",
            mutations=["canary_instruction", "canary_verdict"],
        )  # fmt: skip

    assert report.manipulable_judges == ["gullible"]
    by = {(c.judge, c.canary): c for c in report.canaries}
    assert by[("gullible", "canary_instruction")].rose == 8 and by[("gullible", "canary_verdict")].rose == 8
    assert by[("gullible", "canary_instruction")].mean_rise == pytest.approx(1.0)  # 1 -> 5 on a 1-5 scale
    assert by[("gemini-2.5-flash", "canary_verdict")].rose == 0
    assert any(w.startswith("judge `gullible` is manipulable") for w in report.warnings)
    md = render_selftest(report)
    assert "| gullible | faithfulness | `canary_instruction` | 8 | 8 | +1.000 | 0 | **yes** |" in md


@pytest.mark.slow
def test_the_quickstart_readme_shows_the_self_tests_real_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    quickstart = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
    readme = (quickstart / "README.md").read_text(encoding="utf-8")

    code = main(
        ["selftest", "--config", str(quickstart / ".llmops.yml"), "--out", str(tmp_path), "--no-cache"]
    )

    assert code == 0
    printed = capsys.readouterr().out.replace(f"{tmp_path}/", ".llmops/selftest/")
    section = readme.split("## Would the gates catch a broken model?", 1)[1]
    shown = section.split("```text\n", 1)[1].split("```", 1)[0]
    assert shown == printed
    md = (tmp_path / "selftest.md").read_text(encoding="utf-8")
    table = md[md.index("| Mutation | Caught |") : md.index("### Share of cases")].strip()
    assert table in section


def test_the_bases_stored_baseline_is_the_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from tests.support.gitrepo import init_repo

    monkeypatch.setattr(sys, "path", list(sys.path))
    repo = init_repo(tmp_path / "repo")
    make_grounded_workspace(
        repo.path, metrics=LEXICAL, baseline={"store": "dir", "path": ".llmops/baselines"}
    )
    repo.write(".gitignore", ".llmops/\n")
    sha = repo.commit("project")
    config = str(repo.path / ".llmops.yml")
    assert (
        main(["baseline", "save", "--config", config, "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    )

    code = main(
        [
            "selftest",
            "--config",
            config,
            "--base-ref",
            sha,
            "--out",
            str(tmp_path / "st"),
            "--mutation",
            "empty",
        ]
    )

    assert code == 0
    assert f"cases from the stored baseline of {sha}" in capsys.readouterr().out
    with pytest.raises(SystemExit) as both:  # one source at a time
        main(["selftest", "--config", config, "--base-ref", sha, "--results", "x.json"])
    assert both.value.code == 2


@pytest.mark.slow
def test_a_lone_judge_that_obeys_the_payload_is_flagged(tmp_path: Path) -> None:
    from tests.support.judges import manipulable_verdict

    with GeminiServer(gemini_handler(manipulable_verdict)) as server:
        root = make_grounded_workspace(tmp_path, metrics=[FAITHFULNESS], judge={"base_url": server.url})
        ws = load_workspace(root / ".llmops.yml")
        report = run_selftest(
            ws, evaluate(ws, api_key="k"), source_label="eval", api_key="k", mutations=["canary_verdict"]
        )

    assert report.manipulable_judges == ["gemini-2.5-flash"]
    [finding] = report.canaries
    assert (finding.rose, finding.cases, finding.manipulation_detected) == (8, 8, 0)
    assert [r.mutation for r in report.rows] == ["canary_verdict"]  # off_topic ran only as its control
    assert not report.rows[0].caught  # the judge's 5s hide the wrong answers from every gate


def test_replayed_outputs_are_scored_with_what_the_app_retrieved() -> None:
    from llmops_action.engine.selftest import StoredOutputs, fresh_source

    ws = load_workspace(Path(__file__).resolve().parents[2] / "examples" / "quickstart" / ".llmops.yml")
    source, contexts = fresh_source(ws, api_key=None, use_cache=False)
    outputs = {c.id: c.output for c in source.cases if c.output is not None}

    with_contexts = evaluate(ws, use_cache=False, provider=StoredOutputs(source, outputs, contexts))
    without = evaluate(ws, use_cache=False, provider=StoredOutputs(source, outputs))

    assert len(contexts) == len(source.cases)
    assert with_contexts.aggregates["context_recall"] == source.aggregates["context_recall"]
    assert without.aggregates["context_recall"] != source.aggregates["context_recall"]
    assert with_contexts.aggregates["score"] == source.aggregates["score"]
