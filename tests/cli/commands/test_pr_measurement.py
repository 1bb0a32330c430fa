"""`llmops-action pr` scores both sides under the base's measurement, so the gate never switches itself off.

Each test makes a real git repository (base on `main`, head on a branch) with the offline capitals project and
runs the CLI the way a user would.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from llmops_action.cli.main import main
from tests.support.gemini_server import GeminiServer, default_handler, fixture, request_text, response_body
from tests.support.gitrepo import GitRepo, init_repo
from tests.support.pr_project import CAPITALS, degrade_prompt, prompt_yaml, write_project

pytestmark = pytest.mark.slow


def on_branch(tmp_path: Path, **project: Any) -> tuple[GitRepo, Path]:
    repo = init_repo(tmp_path / "repo")
    config = write_project(repo.path, **project)
    repo.commit("project")
    repo.checkout("feature", new=True)
    return repo, config


def edit_config(config: Path, old: str, new: str) -> None:
    text = config.read_text(encoding="utf-8")
    assert old in text, text
    config.write_text(text.replace(old, new, 1), encoding="utf-8")


def run_pr(config: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["pr", "--config", str(config), "--base-ref", "main", "--out", str(out), "--no-progress"])
    return code, capsys.readouterr().out, (out / "comment.md").read_text(encoding="utf-8")


def gate(out: Path, name: str) -> dict[str, Any]:
    comparison = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    return next(g for g in comparison["gates"] if g["name"] == name)


def test_a_degraded_prompt_with_a_temperature_change_still_fails_the_gate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, config = on_branch(tmp_path)
    degrade_prompt(repo.path)
    edit_config(config, "provider: {type: command,", "provider: {type: command, temperature: 0.2,")
    repo.commit("answer 1.1.0 at temperature 0.2")
    out = tmp_path / "out"

    code, printed, comment = run_pr(config, out, capsys)

    assert code == 1, printed
    assert re.search(r"^\s+FAIL\s+regression/score .*delta -1", printed, re.M), printed
    assert gate(out, "regression/score")["status"] == "fail"
    assert "not comparable" not in comment and "skipped" not in gate(out, "regression/score")["reason"]


def test_a_new_metric_in_the_head_config_is_previewed_and_the_base_measurement_gates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, config = on_branch(tmp_path)
    degrade_prompt(repo.path)
    edit_config(
        config,
        "  - {type: keyword_recall, weight: 1.0}\n",
        "  - {type: keyword_recall, weight: 1.0}\n  - {type: contains, value: country, weight: 3.0}\n",
    )
    repo.commit("answer 1.1.0 and a metric that likes it")
    out = tmp_path / "out"

    code, printed, comment = run_pr(config, out, capsys)

    assert code == 1, printed
    assert gate(out, "regression/score")["status"] == "fail"
    head = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert "contains" not in head["metrics"]  # the head ran under the base's measurement
    assert "### Under this PR's measurement (informational)" in comment
    section = comment[comment.index("### Under this PR's measurement") :]
    assert "adds metric 'contains'" in section
    assert re.search(r"^\| contains \|", section, re.M)  # both sides scored on the new metric
    assert "under this PR's measurement (informational)" in printed


def test_a_harmless_prompt_edit_with_ten_new_cases_passes_and_lists_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, config = on_branch(tmp_path)
    (repo.path / "prompts" / "answer.yml").write_text(
        prompt_yaml("1.0.1").replace("geography assistant.", "geography assistant. Be concise."),
        encoding="utf-8",
    )
    extra = [
        json.dumps(
            {"id": f"new-{i:02d}", "prompt": "answer", "vars": {"country": c}, "keywords": [CAPITALS[c]]}
        )
        for i, c in enumerate(list(CAPITALS)[:10])
    ]
    with (repo.path / "cases.jsonl").open("a", encoding="utf-8") as f:
        f.write("\n".join(extra) + "\n")
    repo.commit("answer 1.0.1 and ten more cases")
    out = tmp_path / "out"

    code, printed, comment = run_pr(config, out, capsys)

    assert code == 0, printed
    assert "36 paired, 10 added, 0 removed, 0 changed cases" in printed
    listed = "- This PR adds 10 cases (not gated: no base to pair with): " + ", ".join(
        f"`new-{i:02d}`" for i in range(10)
    )
    assert listed in comment
    assert gate(out, "regression/score")["status"] == "pass"


GEMINI_CONFIG = """suite: capitals
prompts: [prompts]
datasets: [cases.jsonl]
provider: {{type: gemini, model: gemini-2.5-flash, base_url: "{url}", temperature: 0.0}}
metrics:
  - {{type: keyword_recall, weight: 1.0}}
gates:
  regression:
    metrics: [score]
baseline: {{store: dir, path: .llmops/baselines}}
tracking: false
retries: {{attempts: 1, initial_delay: 0.0}}
"""
BLOCKED = ("Japan", "China")


def capitals_model(body: dict[str, Any], model: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Names the capital; the head's prompt ("Be thorough.") gets the two blocked countries safety-blocked."""
    text = request_text(body)
    country = next((c for c in CAPITALS if c in text), None)
    if country is None:
        return default_handler(body, model)
    system = json.dumps(body.get("systemInstruction") or body.get("system_instruction") or {})
    if "Be thorough." in system and country in BLOCKED:
        return 200, fixture("generateContent.response.prompt-blocked.json"), {}
    return 200, response_body(f"The capital of {country} is {CAPITALS[country]}."), {}


def test_safety_blocked_head_cases_are_scored_named_among_the_worst_and_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with GeminiServer(handler=capitals_model) as server:
        monkeypatch.setenv("GEMINI_API_KEY", "test-key")
        repo, config = on_branch(tmp_path)
        config.write_text(GEMINI_CONFIG.format(url=server.url), encoding="utf-8")
        repo.git("checkout", "--quiet", "main")
        repo.commit("gemini provider")
        repo.checkout("thorough", new=True)
        (repo.path / "prompts" / "answer.yml").write_text(
            prompt_yaml("1.0.1").replace("geography assistant.", "geography assistant. Be thorough."),
            encoding="utf-8",
        )
        repo.commit("answer 1.0.1: be thorough")
        out = tmp_path / "out"

        code, _printed, comment = run_pr(config, out, capsys)

    comparison = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    blocked_ids = {f"cap-{list(CAPITALS).index(c):02d}" for c in BLOCKED}
    worst = {w["id"]: w for w in comparison["worst_cases"]}
    assert blocked_ids <= set(worst), worst
    assert all(worst[i]["head_score"] == 0.0 and worst[i]["base_score"] == 1.0 for i in blocked_ids)
    score = next(m for m in comparison["metrics"] if m["name"] == "score")
    assert score["n_paired"] == len(CAPITALS)  # the blocked cases are in the test, not dropped as errors
    assert score["delta"] == pytest.approx(-len(BLOCKED) / len(CAPITALS))
    assert score["regressed"] == len(BLOCKED)
    assert gate(out, "regression/score")["delta"] == pytest.approx(-len(BLOCKED) / len(CAPITALS))
    assert code in (0, 1) and comparison["verdict"] != "incomplete"
    for cid in blocked_ids:
        assert cid in comment
